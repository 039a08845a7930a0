// dashboard.test.mjs - a DCF supervisor's Monday morning on the action-item
// dashboard: the default view (DCF's items and the cases DCF leads),
// filtering to "overdue" (kept in the URL), an explicit status change with
// Save and then Undo (nothing is saved on change), the same by keyboard
// only, closing two items in bulk after a confirmation that says how many,
// sorting by a column heading (aria-sort), and Back from a case board
// keeping the filters. Screenshots at 1280 and 390 px; axe-core; nothing
// sticks out at 390 px.
//
// The world: case X led by DCF with the police and the CAC on it; case Y
// led by the police with DCF. Due dates come from the clock.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDatabase, psql, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { today } from '../integration/lib/clock.mjs';
import { atWidths, axe, fitsWidth, launch, newPage, noProblems, shoot, signIn } from './lib/browser.mjs';

let dbUrl, server, browser, page, w, X, Y;
const I = {};

const status = async (id) => psql(dbUrl, `SELECT status || ',' || coalesce(closed_by::text, '') FROM actions WHERE id = ${id}`);
const row = (title) => page.locator('.dash-list tbody tr', { has: page.getByRole('link', { name: title, exact: true }) });

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
    const a = w.agencies;
    X = await createCase(server.url, dbUrl, { lead: w.users.dcfSupervisor, agencies: [a.dcf, a.police, a.cac], alias: 'Osprey' });
    Y = await createCase(server.url, dbUrl, { lead: w.users.policeSupervisor, agencies: [a.police, a.dcf], alias: 'Tern' });
    const dcf = await login(server.url, w.users.dcfMember);
    const police = await login(server.url, w.users.policeMember);
    const make = async (client, caseId, title, body) => {
        const r = await client.post(`/api/v1/cases/${caseId}/actions`, { title, ...body });
        assert.equal(r.status, 201, r.text);
        I[title] = r.json;
    };
    const me = w.users.dcfMember.userId;
    await make(dcf, Y, 'Court filing for custody', { assignee_agency_id: a.dcf, assignee_id: me, due_date: today(-3) });
    await make(dcf, Y, 'Home visit report', { assignee_agency_id: a.dcf, due_date: today(-1) });
    await make(dcf, X, 'Safety plan review', { assignee_agency_id: a.dcf, assignee_id: me, due_date: today(-6) });
    await make(dcf, X, 'School enrolment', { assignee_agency_id: a.dcf, due_date: today(9) });
    await make(police, X, 'Interview second witness', { assignee_agency_id: a.police, due_date: today(-4) });
    await make(police, Y, 'Phone extraction', { assignee_agency_id: a.police, due_date: today(-2) });
    browser = await launch();
    page = await newPage(browser);
    await signIn(page, server.url, w.users.dcfSupervisor);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

test('the default view: DCF items and every item of the case DCF leads', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Action items' }).click();
    await page.getByRole('heading', { level: 1, name: 'Action items' }).waitFor();
    await row('Interview second witness').waitFor();
    for (const t of ['Court filing for custody', 'Home visit report', 'Safety plan review', 'School enrolment']) await row(t).waitFor();
    assert.equal(await row('Phone extraction').count(), 0, 'a police item of a police-led case is not in the default view');
    assert.equal(await page.getByLabel('Show', { exact: true }).inputValue(), 'supervisor');
});

test('filter to overdue: in the URL, the CSV link, days overdue', async () => {
    await page.getByLabel('Due', { exact: true }).selectOption('overdue');
    await page.waitForFunction(() => location.hash.includes('due=overdue'));
    await row('School enrolment').waitFor({ state: 'detached' });
    assert.match(await row('Safety plan review').textContent(), /6 days/);
    assert.match(await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href'), /due=overdue/);
    assert.match(await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href'), /scope=supervisor/);
    await page.locator('.summary', { hasText: '4 action items, 4 overdue.' }).waitFor();
    await atWidths(page, [1280], async () => {
        await shoot(page, 'dashboard-overdue');
    });
});

test('a status change is explicit: pick, Save, then Undo', async () => {
    const r = row('Home visit report');
    await r.getByLabel('Status of “Home visit report”', { exact: true }).selectOption('in_progress');
    assert.equal(await status(I['Home visit report'].id), 'open,', 'nothing is saved on change');
    await r.getByRole('button', { name: 'Save the status of “Home visit report”' }).click();
    await page.locator('.undo-bar', { hasText: '“Home visit report” is now In progress.' }).waitFor();
    assert.equal(await status(I['Home visit report'].id), 'in_progress,');
    await page.locator('.undo-bar').getByRole('button', { name: 'Undo' }).click();
    await page.locator('.undo-bar').waitFor({ state: 'hidden' });
    assert.equal(await status(I['Home visit report'].id), 'open,');
    assert.equal(await row('Home visit report').getByRole('combobox', { name: /^Status of/ }).inputValue(), 'open');
});

test('keyboard only: the status select, Save and Undo', async () => {
    const sel = row('Court filing for custody').getByRole('combobox', { name: /^Status of/ });
    await sel.focus();
    await page.keyboard.press('ArrowDown'); // open -> in progress, without saving
    assert.equal(await status(I['Court filing for custody'].id), 'open,');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Save');
    await page.keyboard.press('Enter');
    await page.locator('.undo-bar', { hasText: 'is now In progress' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Undo', 'focus goes to Undo');
    await page.keyboard.press('Enter');
    await page.locator('.undo-bar').waitFor({ state: 'hidden' });
    assert.equal(await status(I['Court filing for custody'].id), 'open,');
});

test('bulk: select two, mark them done after a confirmation that says how many', async () => {
    await row('Court filing for custody').getByRole('checkbox').check();
    await row('Safety plan review').getByRole('checkbox').check();
    await page.locator('.bulk-count', { hasText: '2 items selected' }).waitFor();
    await page.getByLabel('New status').selectOption('done');
    await page.getByRole('button', { name: 'Apply…' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByText('Change 2 action items: mark them as Done?').waitFor();
    await atWidths(page, [1280], async () => {
        await shoot(page, 'dashboard-bulk-confirm');
    });
    await dlg.getByRole('button', { name: 'Change 2 items' }).click();
    await page.locator('.undo-bar', { hasText: '2 action items changed.' }).waitFor();
    const sup = String(w.users.dcfSupervisor.userId);
    assert.equal(await status(I['Court filing for custody'].id), `done,${sup}`);
    assert.equal(await status(I['Safety plan review'].id), `done,${sup}`);
    // done items leave the "open and in progress" list; "Done" shows who closed them
    await row('Safety plan review').waitFor({ state: 'detached' });
    await page.getByLabel('Due', { exact: true }).selectOption('');
    await page.getByLabel('Agency', { exact: true }).selectOption(String(w.agencies.dcf));
    await page.getByLabel('Status', { exact: true }).selectOption('done');
    await row('Safety plan review').waitFor();
    assert.match(await row('Safety plan review').textContent(), new RegExp(`dcfSupervisor ${w.users.dcfSupervisor.username.split('_')[1]}`));
});

test('sorting by a column heading sets aria-sort; Back from a board keeps the filters', async () => {
    await page.getByRole('button', { name: /^Due/ }).click();
    await page.locator('th[data-sort="due"][aria-sort="ascending"]').waitFor();
    await page.getByRole('button', { name: /^Due/ }).click();
    await page.locator('th[data-sort="due"][aria-sort="descending"]').waitFor();
    const hash = await page.evaluate(() => location.hash);
    assert.match(hash, new RegExp(`agency=${w.agencies.dcf}(&|$)`));
    assert.match(hash, /status=done/);
    assert.match(hash, /sort=due/);
    assert.match(hash, /order=desc/);
    await row('Safety plan review').getByRole('link', { name: 'Safety plan review' }).click();
    await page.locator('#sec-timeline-title').waitFor();
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Action items' }).waitFor();
    await row('Safety plan review').waitFor();
    assert.equal(await page.evaluate(() => location.hash), hash);
    assert.equal(await page.getByLabel('Agency', { exact: true }).inputValue(), String(w.agencies.dcf));
    assert.equal(await page.getByLabel('Status', { exact: true }).inputValue(), 'done');
    assert.equal(await page.locator('th[data-sort="due"]').getAttribute('aria-sort'), 'descending');
    // Back once more: the previous sort
    await page.goBack();
    await page.locator('th[data-sort="due"][aria-sort="ascending"]').waitFor();
});

test('1280 and 390 px: screenshots, axe, nothing cut off', async () => {
    await page.goto(`${server.url}/#/dashboard`);
    await row('Interview second witness').waitFor();
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'dashboard');
        await shoot(page, 'dashboard-work');
    });
    await fitsWidth(page, 390);
    // each filter's select is inside the page at 390 px
    await page.setViewportSize({ width: 390, height: 900 });
    for (const name of ['Show', 'Agency', 'Person', 'Case', 'Sort by']) {
        const box = await page.getByLabel(name, { exact: true }).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${name}: ${JSON.stringify(box)}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    noProblems(page);
});
