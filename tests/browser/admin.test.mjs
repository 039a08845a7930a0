// admin.test.mjs - administration for people (issue 15, items 7, 8 and the
// Role control of item 3), on the demo installation: the audit log
// filtered by a user picked by name and by "Denied only", kept in the URL
// (Back keeps it), paged with Next/Previous, exported as CSV (downloaded and
// read); "Create a user" with no agency or role chosen for the admin (a
// field error when missing); a role changed only by "Save role" after a
// confirmation naming the user and the role (ArrowDown on the select sends
// nothing); the users table readable at 1280 and 390 px; axe clean;
// screenshots into tests/artifacts/.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, api, cliEnv, createDatabase, flushAudit, startServer } from '../integration/lib/harness.mjs';
import { ARTIFACTS, atWidths, axe, fitsWidth, launch, newPage, noProblems, shoot, signIn } from './lib/browser.mjs';
import { parseCsv } from '../integration/lib/csv.mjs';
import { addDays, today, wallTime } from '../integration/lib/clock.mjs';

const run = promisify(execFile);
const demo = (u) => ({ username: u, password: `${u}-demo-pw` });

let server;
let browser;
let dbUrl;
let admin; // an API client signed in as demo.admin

before(async () => {
    dbUrl = await createDatabase();
    await run(BIN, ['demo'], { env: cliEnv(dbUrl) });
    server = await startServer({ dbUrl, env: { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOGIN_RATE: 100000 } });
    browser = await launch();
    admin = api(server.url);
    assert.equal((await admin.post('/api/v1/login', demo('demo.admin'))).status, 200);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});


const hashParams = (page) => page.evaluate(() => Object.fromEntries(new URLSearchParams(location.hash.split('?')[1] ?? '')));

test('audit log: a user picked by name, denied only, paged, kept in the URL, exported as CSV', async () => {
    // Jordan Pell (DCF) asks for a case that does not exist, twice: denied rows.
    const jordan = api(server.url);
    await jordan.post('/api/v1/login', demo('dcf.worker'));
    for (let i = 0; i < 2; i++) assert.equal((await jordan.get('/api/v1/cases/99999999')).status, 404);
    for (let i = 0; i < 3; i++) assert.equal((await jordan.get('/api/v1/cases')).status, 200);
    await flushAudit(server);
    const me = (await jordan.get('/api/v1/me')).json.user;
    const jordanId = me.id;
    const dcf = (await jordan.get('/api/v1/agencies')).json.items.find((a) => a.id === me.agency_id).name;

    const page = await newPage(browser);
    await signIn(page, server.url, demo('demo.admin'));
    await page.goto(`${server.url}/#/admin/audit`);
    await page.getByRole('heading', { level: 1, name: 'Administration: Audit log' }).waitFor();
    const rows = page.locator('table.audit tbody tr');
    await rows.first().waitFor();
    // names, not ids
    assert.equal(await page.locator('table.audit', { hasText: /user #\d/ }).count(), 0);

    // Paging over the whole log: Next, then Previous.
    await page.locator('.summary', { hasText: 'Page 1:' }).waitFor();
    // A row from the middle of page 1: new rows (this page's own reads are
    // audited, and folded into the newest row, whose count changes) only
    // push it down, never off the page.
    const firstOnPage1 = await rows.nth(Math.floor((await rows.count()) / 2)).textContent();
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.locator('.summary', { hasText: 'Page 2:' }).waitFor();
    assert.ok(!(await rows.allTextContents()).includes(firstOnPage1));
    assert.ok((await hashParams(page)).cursor, 'the cursor is in the URL');
    await page.getByRole('link', { name: 'Previous page' }).click();
    await page.locator('.summary', { hasText: 'Page 1:' }).waitFor();
    // the log grows as it is read (each read is audited): the row is still on page 1
    assert.ok((await rows.allTextContents()).includes(firstOnPage1));

    // Pick the user by name and "Denied only".
    const form = page.getByRole('form', { name: 'Filter the audit log' });
    await form.getByLabel('User').selectOption({ label: `Jordan Pell (demo) (${dcf})` });
    await form.getByLabel('Outcome').selectOption({ label: 'Denied only' });
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('.summary', { hasText: 'denied only' }).waitFor();
    assert.deepEqual(await hashParams(page), { user_id: String(jordanId), outcome: 'denied' });
    const denied = await rows.allTextContents();
    assert.equal(denied.length, 2);
    for (const t of denied) {
        assert.ok(t.includes(`Jordan Pell (demo) (${dcf})`), t);
        assert.match(t, /Denied/);
        assert.match(t, /case\.read/);
    }
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'audit log filtered');
        await shoot(page, 'admin-audit-filtered');
    });

    // Export with the same filters: the downloaded file has the same rows.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV (these filters)' }).click()]);
    const [header, ...csvRows] = parseCsv(readFileSync(await download.path(), 'utf8'));
    const col = (name) => header.indexOf(name);
    assert.equal(download.suggestedFilename(), 'audit-log.csv');
    assert.equal(csvRows.length, 2);
    for (const r of csvRows) {
        assert.equal(r[col('display_name')], 'Jordan Pell (demo)');
        assert.equal(r[col('outcome')], 'denied');
        assert.equal(r[col('user_id')], String(jordanId));
    }

    // Clear the outcome: Jordan's routine reads are folded into one row.
    await form.getByLabel('Outcome').selectOption({ label: 'Any outcome' });
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('table.audit tbody tr', { hasText: '3 routine reads: case.list' }).waitFor();
    // Back returns to "Denied only", with the form showing it.
    await page.goBack();
    await page.locator('.summary', { hasText: 'denied only' }).waitFor();
    assert.equal(await form.getByLabel('Outcome').inputValue(), 'denied');
    assert.equal(await form.getByLabel('User').inputValue(), String(jordanId));

    // A case picked by its number (the search lists the admin's agency's cases).
    await form.getByLabel('Case').fill('HCAC-2026-014');
    await page.locator('#audit-case-options option[value="HCAC-2026-014"]').waitFor({ state: 'attached' });
    await form.getByLabel('User').selectOption('');
    await form.getByLabel('Outcome').selectOption('');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1] ?? '').get('case_id'));
    await page.locator('.summary', { hasText: 'Page 1:' }).waitFor();
    const caseCells = await page.locator('table.audit tbody td[data-label="Case"]').allTextContents();
    assert.ok(caseCells.length > 0 && caseCells.every((t) => t === 'HCAC-2026-014'), caseCells.join('|'));
    // A case that is not one of the admin's: a field error, nothing loaded.
    await form.getByLabel('Case').fill('no such case');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await form.locator('.field-error', { hasText: 'No case of yours matches' }).waitFor();

    // Days are days in the installation's zone: From is its first instant,
    // To counts as a whole day (the API's until is the next day's first instant).
    const [first, last] = [today(-3), today(-2)];
    await form.getByLabel('Case').fill('');
    await form.getByLabel('From day').fill(first);
    await form.getByLabel('To day').fill(last);
    const [req] = await Promise.all([
        page.waitForRequest((r) => r.url().includes('/api/v1/audit?')),
        form.getByRole('button', { name: 'Apply filters' }).click(),
    ]);
    const sent = new URL(req.url()).searchParams;
    assert.equal(sent.get('since'), wallTime(first, '00:00'));
    assert.equal(sent.get('until'), wallTime(addDays(last, 1), '00:00'));
    await page.locator('.summary', { hasText: 'No audit rows match these filters.' }).waitFor();
    noProblems(page);
    await page.context().close();
});

test("a supervisor's audit trail of a case it leads: names, the case's number", async () => {
    const page = await newPage(browser);
    await signIn(page, server.url, demo('cac.supervisor'));
    await page.getByRole('link', { name: /HCAC-2026-014/ }).click();
    await page.getByRole('link', { name: 'Audit trail of this case' }).waitFor();
    // The board read just made is a buffered audit row: flushed, so the
    // trail shows it (a deterministic flush, not a wait).
    await flushAudit(server);
    await page.getByRole('link', { name: 'Audit trail of this case' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit trail of a case' }).waitFor();
    await page.locator('table.audit tbody tr').first().waitFor();
    assert.equal(await page.getByLabel('Case').inputValue(), 'HCAC-2026-014');
    assert.equal(await page.locator('table.audit', { hasText: /user #\d/ }).count(), 0);
    await page.locator('table.audit tbody tr', { hasText: 'Morgan Ellery (demo)' }).first().waitFor();
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'audit trail of a case');
        await shoot(page, 'audit-trail-case');
    });
    noProblems(page);
    await page.context().close();
});

test('users: no agency or role chosen for you, a field error when missing; a role saved only with Save role', async () => {
    const page = await newPage(browser);
    await signIn(page, server.url, demo('demo.admin'));
    await page.goto(`${server.url}/#/admin/users`);
    await page.getByRole('heading', { level: 1, name: 'Administration: Users' }).waitFor();
    await page.locator('table tbody tr').nth(5).waitFor();

    const form = page.getByRole('form', { name: 'Create a user' });
    assert.equal(await form.getByLabel('Agency', { exact: true }).inputValue(), '', 'no agency is pre-selected');
    assert.equal(await form.getByLabel('Role', { exact: true }).inputValue(), '', 'no role is pre-selected');
    await form.getByLabel('User name', { exact: true }).fill('new.nurse');
    await form.getByLabel('Full name').fill('Pat Newcomb');
    await form.getByLabel('Initial password').fill('a long enough password');
    await form.getByRole('button', { name: 'Create user' }).click();
    const agencyError = form.locator('.field-error', { hasText: 'Choose the agency this person works for' });
    await agencyError.waitFor();
    assert.equal(await form.getByLabel('Agency', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.name), 'agency_id');
    await atWidths(page, [1280, 390], async () => {
        await axe(page, 'create a user with an error');
        await shoot(page, 'admin-user-error');
    });
    await form.getByLabel('Agency', { exact: true }).selectOption({ label: 'Lighthouse Pediatric Clinic' });
    await form.getByRole('button', { name: 'Create user' }).click();
    await form.locator('.field-error', { hasText: 'Choose what this person may do' }).waitFor();
    assert.ok(await agencyError.isHidden());
    await form.getByLabel('Role', { exact: true }).selectOption({ label: 'Member' });
    await form.getByRole('button', { name: 'Create user' }).click();
    const row = page.locator('table tbody tr', { hasText: 'new.nurse' });
    await row.waitFor();
    const created = (await admin.get('/api/v1/admin/users?limit=500')).json.items.find((u) => u.username === 'new.nurse');
    assert.equal(created.role, 'member');

    // ArrowDown on the role changes the select only; nothing is saved.
    const roleSel = page.getByLabel('Role of Pat Newcomb', { exact: true });
    await roleSel.focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await roleSel.inputValue(), 'interviewer');
    await row.locator('.hint', { hasText: 'Not saved: still Member.' }).waitFor();
    await row.screenshot({ path: `${ARTIFACTS}/admin-role-unsaved-1280.png` });
    const save = page.getByRole('button', { name: 'Save role of Pat Newcomb' });
    assert.ok(await save.isEnabled());
    // Save asks first, naming the user and the new role; dismissing keeps it unsaved.
    const messages = [];
    page.once('dialog', (d) => {
        messages.push(d.message());
        d.dismiss();
    });
    await save.click();
    assert.equal(await roleSel.inputValue(), 'interviewer');
    page.once('dialog', (d) => {
        messages.push(d.message());
        d.accept();
    });
    await save.click();
    await row.locator('select', { hasText: 'Interviewer' }).waitFor();
    await page.waitForFunction(() => !document.querySelector('table tbody tr .role-control .hint')?.textContent);
    assert.equal(messages.length, 2);
    assert.match(messages[0], /Pat Newcomb from Member to Interviewer/);
    const after = (await admin.get('/api/v1/admin/users?limit=500')).json.items.find((u) => u.username === 'new.nurse');
    assert.equal(after.role, 'interviewer');
    assert.equal(after.version, created.version + 1, 'one change: the ArrowDown saved nothing');
    const changes = await admin.get(`/api/v1/audit?action=user.role_change&limit=50`);
    assert.deepEqual(
        changes.json.items.filter((r) => r.object_id === created.id).map((r) => r.detail),
        [{ from: 'member', to: 'interviewer', target_agency_id: created.agency_id }],
    );

    // Readable from 1280 to 390 px: no role cut off, nothing sticking out.
    await atWidths(page, [1280, 1000, 800, 390], async (width) => {
        const clipped = await page.evaluate(() =>
            [...document.querySelectorAll('table tbody .role-control select')]
                .filter((s) => {
                    const probe = document.createElement('span');
                    probe.style.cssText = `font:${getComputedStyle(s).font};position:absolute;visibility:hidden;white-space:nowrap`;
                    probe.textContent = s.selectedOptions[0].textContent;
                    document.body.append(probe);
                    const need = probe.getBoundingClientRect().width;
                    probe.remove();
                    return s.clientWidth < need + 24; // the text plus the arrow
                })
                .map((s) => s.getAttribute('aria-label')),
        );
        assert.deepEqual(clipped, [], `role selects too narrow at ${width} px`);
        if (width !== 1280 && width !== 390) return;
        await axe(page, 'admin users');
        await shoot(page, 'admin-users');
    });
    await fitsWidth(page, 390);
    noProblems(page);
    await page.context().close();
});
