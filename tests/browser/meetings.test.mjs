// meetings.test.mjs - meeting mode: a facilitator (CAC supervisor) and a
// police member on the same meeting page; "Start" / "Next" / the picker
// move the police page's highlighted agenda item live; a case the police
// are not on shows as restricted and its alias never reaches the police
// page (DOM or WebSocket frames); check-in; outcomes; axe-core.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDatabase, freePort, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { axe, fitsWidth, launch, newPage, noProblems, recordFrames, shoot, signIn } from './lib/browser.mjs';
import { today } from '../integration/lib/clock.mjs';

const SECRET_ALIAS = 'Nightshade-Secret';

let dbUrl;
let port;
let world;
let server;
let browser;
let fac; // facilitator's page (CAC supervisor)
let police; // police member's page
let policeFrames;
let meetingId;
let shared1;
let secret;
let shared2;

const current = (page) => page.locator('.agenda-item.is-current');

async function openMeeting(page) {
    await page.goto(`${server.url}/#/meetings/${meetingId}`);
    await page.locator('#agenda-title').waitFor();
    await page.locator('#conn-state.is-online').waitFor();
}

before(async () => {
    dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    port = await freePort();
    server = await startServer({ dbUrl, port, env: BOARD_ENV });
    const lead = world.users.cacSupervisor;
    shared1 = await createCase(server.url, dbUrl, { lead, agencies: [world.agencies.police], alias: 'Aspen' });
    secret = await createCase(server.url, dbUrl, { lead, agencies: [world.agencies.dcf], alias: SECRET_ALIAS });
    shared2 = await createCase(server.url, dbUrl, { lead, agencies: [world.agencies.police], alias: 'Birch' });
    const sup = await login(server.url, lead);
    const res = await sup.post('/api/v1/meetings', { title: 'Weekly MDT review', scheduled_at: new Date(Date.now() + 3600000).toISOString(), case_ids: [shared1, secret, shared2] });
    assert.equal(res.status, 201, res.text);
    meetingId = res.json.id;
    browser = await launch();
    fac = await newPage(browser);
    police = await newPage(browser, { width: 390 });
    policeFrames = recordFrames(police);
    await signIn(fac, server.url, lead);
    await signIn(police, server.url, world.users.policeMember);
    await openMeeting(fac);
    await openMeeting(police);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

test('the list shows the meeting; supervisors get "New meeting"', async () => {
    await police.goto(`${server.url}/#/meetings`);
    await police.getByRole('link', { name: 'Weekly MDT review' }).waitFor();
    assert.equal(await police.locator('summary', { hasText: 'New meeting' }).count(), 0);
    await fac.goto(`${server.url}/#/meetings`);
    await fac.locator('summary', { hasText: 'New meeting' }).click();
    await fac.getByLabel('Title').fill('Extra review');
    await fac.getByLabel('Date and time').fill(`${today(30)}T10:00`);
    assert.ok(await fac.getByLabel(/default agenda/i).isChecked());
    await fac.getByRole('button', { name: 'Create meeting' }).click();
    await fac.getByRole('heading', { level: 1, name: 'Extra review' }).waitFor();
    await openMeeting(fac);
    await openMeeting(police);
});

test('the restricted case shows as restricted for the police, with no alias', async () => {
    const items = police.locator('.agenda-item');
    assert.equal(await items.count(), 3);
    assert.match(await items.nth(1).textContent(), /Restricted case — not shared with your agency/);
    await fac.locator('.agenda-item', { hasText: SECRET_ALIAS }).waitFor();
    assert.equal(await police.locator('body', { hasText: SECRET_ALIAS }).count(), 0);
});

test('Start / Next / the picker move the police page live', async () => {
    await fac.getByRole('button', { name: 'Start meeting' }).click();
    await current(police).filter({ hasText: 'Aspen' }).waitFor({ timeout: 5000 });
    await police.locator('.now-item a', { hasText: 'Aspen' }).waitFor();

    await fac.getByRole('button', { name: 'Next' }).click();
    await current(fac).filter({ hasText: SECRET_ALIAS }).waitFor();
    await current(police).filter({ hasText: 'Restricted case' }).waitFor({ timeout: 5000 });
    assert.equal(await police.locator('.now-item a').count(), 0, 'no board link for a restricted case');
    await police.locator('#live-region', { hasText: /Now discussing agenda item .*not shared with your agency/ }).waitFor({ state: 'attached' });
    assert.equal(await police.locator('body', { hasText: SECRET_ALIAS }).count(), 0);

    await fac.getByRole('button', { name: 'Next' }).click();
    await current(police).filter({ hasText: 'Birch' }).waitFor({ timeout: 5000 });
    assert.equal(await police.locator('.agenda-item.is-current').count(), 1);

    const sel = fac.getByLabel('Set now discussing');
    const opt = await sel.locator('option', { hasText: 'Aspen' }).getAttribute('value');
    // Choosing moves nothing (WCAG 3.2.2): Apply does. The change handler
    // would have issued its PATCH before the page's next frame.
    const patches = [];
    const onRequest = (r) => r.method() === 'PATCH' && patches.push(r.url());
    fac.on('request', onRequest);
    await sel.selectOption(opt);
    await fac.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    assert.deepEqual(patches, []);
    await fac.getByRole('button', { name: 'Apply' }).click();
    await current(police).filter({ hasText: 'Aspen' }).waitFor({ timeout: 5000 });
    fac.off('request', onRequest);
    assert.equal(patches.length, 1);
    await shoot(fac, 'meeting');
    await shoot(police, 'meeting');
});

test("check-in, outcome, minutes links", async () => {
    await police.getByRole('button', { name: "I'm here" }).click();
    await police.locator('.attendees li').first().waitFor();
    await fac.locator('#att-title', { hasText: 'Attendance (1)' }).waitFor({ timeout: 5000 });

    // Aspen is being discussed: its outcome editor is open in the card.
    const now = fac.locator('.now-discussing');
    await now.getByLabel(/Outcome for/).fill('Refer to **counseling**; review in 30 days');
    await now.getByRole('button', { name: 'Save outcome' }).click();
    await now.locator('.outcome strong', { hasText: 'counseling' }).waitFor();
    await police.locator('.now-discussing .outcome strong', { hasText: 'counseling' }).waitFor({ timeout: 5000 });

    for (const format of ['md', 'html']) assert.equal(await police.locator(`a[href="/api/v1/meetings/${meetingId}/minutes?format=${format}"]`).count(), 1);
    const minutes = await police.request.get(`${server.url}/api/v1/meetings/${meetingId}/minutes?format=md`);
    assert.equal(minutes.status(), 200);
    assert.ok(!(await minutes.text()).includes(SECRET_ALIAS));
});

test('after a server restart the page subscribes to the meeting again and follows it', async () => {
    const sentBefore = policeFrames.sent.length;
    assert.equal(await server.stop('SIGTERM'), 0);
    await police.locator('#conn-state.is-offline').waitFor();
    server = await startServer({ dbUrl, port, env: BOARD_ENV });
    for (const page of [fac, police]) await page.locator('#conn-state.is-online').waitFor({ timeout: 45000 });
    const resub = () => policeFrames.sent.slice(sentBefore).map((t) => JSON.parse(t)).filter((f) => f.type === 'subscribe_meeting');
    for (let i = 0; i < 50 && !resub().length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(resub()[0], { type: 'subscribe_meeting', meeting_id: meetingId });
    await fac.getByRole('button', { name: 'Next' }).click();
    await current(police).filter({ hasText: 'Restricted case' }).waitFor({ timeout: 5000 });
});

// A second meeting, running, on the two cases the police share.
async function runningMeeting(title, caseIds) {
    const sup = await login(server.url, world.users.cacSupervisor);
    const res = await sup.post('/api/v1/meetings', { title, scheduled_at: new Date(Date.now() + 3600000).toISOString(), case_ids: caseIds });
    assert.equal(res.status, 201, res.text);
    const started = await sup.patch(`/api/v1/meetings/${res.json.id}`, { status: 'in_progress', current_position: 1, version: res.json.version });
    assert.equal(started.status, 200, started.text);
    return { id: res.json.id, sup };
}

async function openMeetingId(page, id) {
    await page.goto(`${server.url}/#/meetings/${id}`);
    await page.locator('#agenda-title').waitFor();
    await page.locator('#conn-state.is-online').waitFor();
}

test("a draft survives another member's check-in, Next / Previous and a reload", async () => {
    const { id } = await runningMeeting('Draft review', [shared1, shared2]);
    await openMeetingId(fac, id);
    await openMeetingId(police, id);
    const mine = 'Mother agreed to **weekly** sessions; school to be told';
    const outcome = fac.locator('.now-discussing').getByLabel(/Outcome for/);
    await outcome.fill(mine);
    const now = fac.locator('.now-discussing');
    await now.locator('summary', { hasText: 'Record a decision' }).click();
    await now.locator('.decision-form textarea').fill('Decision draft: refer to counseling');

    // Another member checks in: the facilitator's page re-renders live.
    await police.getByRole('button', { name: "I'm here" }).click();
    await fac.locator('#att-title', { hasText: 'Attendance (1)' }).waitFor({ timeout: 5000 });
    assert.equal(await outcome.inputValue(), mine);
    assert.equal(await now.locator('.decision-form textarea').inputValue(), 'Decision draft: refer to counseling');

    // Next: the draft goes with its case into the agenda, still open.
    await fac.getByRole('button', { name: 'Next' }).click();
    await current(police).filter({ hasText: 'Birch' }).waitFor({ timeout: 5000 });
    const aspen = fac.locator(`.agenda-item[data-case="${shared1}"]`);
    assert.equal(await aspen.locator('textarea[name="outcome_md"]').inputValue(), mine);
    // the current item stays in view on the other page (scrolled to the bottom before)
    await police.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await fac.getByRole('button', { name: 'Previous' }).click();
    await current(police).filter({ hasText: 'Aspen' }).waitFor({ timeout: 5000 });
    await police.waitForFunction(() => {
        const r = document.querySelector('.now-discussing').getBoundingClientRect();
        return r.top >= 0 && r.top < window.innerHeight;
    });
    await police.locator('#live-region', { hasText: /Now discussing agenda item 1: .*Aspen/ }).waitFor({ state: 'attached' });
    assert.equal(await outcome.inputValue(), mine);
    assert.equal(await now.locator('.decision-form textarea').inputValue(), 'Decision draft: refer to counseling');

    // A reload of the tab keeps both drafts (sessionStorage).
    await fac.reload();
    await fac.locator('#agenda-title').waitFor();
    await fac.locator('.decision-form').waitFor();
    assert.equal(await outcome.inputValue(), mine);
    assert.equal(await now.locator('.decision-form textarea').inputValue(), 'Decision draft: refer to counseling');

    // Saved, the draft is gone: the outcome shows on both pages.
    await now.getByRole('button', { name: 'Save outcome' }).click();
    await now.locator('.outcome strong', { hasText: 'weekly' }).waitFor();
    await police.locator('.now-discussing .outcome strong', { hasText: 'weekly' }).waitFor({ timeout: 5000 });
    assert.equal(await fac.evaluate(() => Object.keys(sessionStorage).filter((k) => k.includes(':outcome:')).length), 0);
});

test('"Changed by" on a concurrent outcome edit: keep mine, or reload theirs', async () => {
    const { id, sup } = await runningMeeting('Concurrent review', [shared1, shared2]);
    await openMeetingId(fac, id);
    const outcome = fac.locator('.now-discussing').getByLabel(/Outcome for/);
    await outcome.fill('My version of the outcome');
    // The same facilitator saves from another window (the API here).
    const put = await sup.put(`/api/v1/meetings/${id}/cases/${shared1}/outcome`, { outcome_md: 'Their version' });
    assert.equal(put.status, 200, put.text);
    const notice = fac.locator('.now-discussing .changed-notice');
    await notice.filter({ hasText: /Changed by cacSupervisor/ }).waitFor({ timeout: 5000 });
    assert.equal(await outcome.inputValue(), 'My version of the outcome', 'nothing overwritten silently');
    await notice.getByRole('button', { name: 'Keep mine' }).click();
    await fac.locator('.now-discussing').getByRole('button', { name: 'Save outcome' }).click();
    await fac.locator('.now-discussing .outcome', { hasText: 'My version of the outcome' }).waitFor();
    let m = (await sup.get(`/api/v1/meetings/${id}`)).json;
    assert.equal(m.agenda[0].outcome_md, 'My version of the outcome');

    await outcome.fill('Another draft of mine');
    assert.equal((await sup.put(`/api/v1/meetings/${id}/cases/${shared1}/outcome`, { outcome_md: 'Their second version' })).status, 200);
    await notice.filter({ hasText: /Changed by/ }).waitFor({ timeout: 5000 });
    await notice.getByRole('button', { name: 'Reload their version' }).click();
    assert.equal(await outcome.inputValue(), 'Their second version');
    m = (await sup.get(`/api/v1/meetings/${id}`)).json;
    assert.equal(m.agenda[0].outcome_md, 'Their second version', 'reloading saved nothing');
});

test('the agenda builder: search and add, keyboard and drag-and-drop reorder, remove', async () => {
    const sup = await login(server.url, world.users.cacSupervisor);
    const third = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.police], alias: 'Cedar' });
    const res = await sup.post('/api/v1/meetings', { title: 'Builder review', scheduled_at: new Date(Date.now() + 7200000).toISOString(), case_ids: [shared1, secret] });
    assert.equal(res.status, 201, res.text);
    const id = res.json.id;
    const order = async () => (await sup.get(`/api/v1/meetings/${id}`)).json.agenda.map((i) => i.case_id);
    await openMeetingId(fac, id);
    await fac.getByLabel(/Add a case/).fill('Birch');
    await fac.getByRole('button', { name: /Add to agenda: .*Birch/ }).click();
    await fac.locator(`.agenda-item[data-case="${shared2}"]`).waitFor();
    await fac.getByLabel(/Add a case/).fill('Cedar');
    await fac.getByRole('button', { name: /Add to agenda: .*Cedar/ }).click();
    await fac.locator(`.agenda-item[data-case="${third}"]`).waitFor();
    assert.deepEqual(await order(), [shared1, secret, shared2, third]);

    // Keyboard: Move down on Aspen, focus stays on Aspen's control.
    await fac.getByRole('button', { name: /Move down: .*Aspen/ }).focus();
    await fac.keyboard.press('Enter');
    await fac.waitForFunction((cid) => document.querySelector('.agenda-item')?.dataset.case === String(cid), secret);
    assert.deepEqual(await order(), [secret, shared1, shared2, third]);
    // focus stays on the moved item's control (set once the PATCH answers)
    await fac.waitForFunction(() => /^Move (down|up): .*Aspen/.test(document.activeElement?.getAttribute('aria-label') ?? ''));
    await fac.locator('#live-region', { hasText: /moved to position 2/ }).waitFor({ state: 'attached' });

    // Drag Cedar onto Aspen: Cedar takes Aspen's place.
    await fac.locator(`.agenda-item[data-case="${third}"]`).dragTo(fac.locator(`.agenda-item[data-case="${shared1}"]`));
    await fac.waitForFunction((cid) => document.querySelectorAll('.agenda-item')[1]?.dataset.case === String(cid), third);
    assert.deepEqual(await order(), [secret, third, shared1, shared2]);

    await fac.getByRole('button', { name: /Remove .*Birch/ }).click();
    await fac.locator(`.agenda-item[data-case="${shared2}"]`).waitFor({ state: 'detached' });
    assert.deepEqual(await order(), [secret, third, shared1]);

    // The police see the same order with the restricted case as a placeholder, no tools.
    await openMeetingId(police, id);
    const items = police.locator('.agenda-item');
    assert.equal(await items.count(), 3);
    assert.match(await items.nth(0).textContent(), /Restricted case/);
    assert.equal(await police.locator('.move-up, .move-down, .agenda-builder:visible').count(), 0);
    assert.equal(await police.locator('body', { hasText: SECRET_ALIAS }).count(), 0);
});

test('an action item made in meeting mode appears in the minutes', async () => {
    const { id, sup } = await runningMeeting('Actions review', [shared1, shared2]);
    await openMeetingId(fac, id);
    const now = fac.locator('.now-discussing');
    await now.locator('summary', { hasText: 'New action item from this meeting' }).click();
    await now.getByLabel('What needs to be done').fill('Call the school counselor');
    await now.getByLabel('Agency responsible').selectOption(String(world.agencies.police));
    await now.getByRole('button', { name: 'Add action item' }).click();
    await now.locator('.recorded-list', { hasText: 'Call the school counselor' }).or(now.locator('.action-form .form-error:visible')).waitFor();
    assert.equal(await now.locator('.action-form .form-error:visible').count(), 0, await now.locator('.action-form .form-error').textContent().catch(() => ''));
    const action = (await sup.get(`/api/v1/cases/${shared1}`)).json.actions.find((a) => a.title === 'Call the school counselor');
    assert.equal(action.meeting_id, id);
    for (const client of [sup, await login(server.url, world.users.policeMember)]) {
        const md = await client.get(`/api/v1/meetings/${id}/minutes?format=md`);
        assert.equal(md.status, 200);
        assert.match(md.text, /Call the school counselor/);
    }
});

test('facilitator hand-over: confirmed, explained, and the controls move', async () => {
    const { id, sup } = await runningMeeting('Hand-over review', [shared1, shared2]);
    await openMeetingId(fac, id);
    await fac.locator('summary', { hasText: 'Hand over facilitation' }).click();
    await fac.locator('.handover', { hasText: 'Anyone who can open this meeting may take over' }).waitFor();
    const sel = fac.getByLabel('New facilitator');
    // grouped by agency: the police (on the agenda's cases, known once the
    // page has read the case list) come before agencies not on it
    await sel.locator('optgroup[label^="police"][label$="(on this agenda)"]').waitFor({ state: 'attached' });
    const groups = await sel.locator('optgroup').evaluateAll((gs) => gs.map((g) => g.label));
    const policeGroup = groups.findIndex((l) => l.startsWith('police') && l.includes('on this agenda'));
    const legalGroup = groups.findIndex((l) => l.startsWith('legal'));
    assert.ok(policeGroup >= 0 && legalGroup > policeGroup, groups.join(' | '));
    await sel.selectOption(String(world.users.policeSupervisor.userId));
    let asked = '';
    fac.once('dialog', (d) => {
        asked = d.message();
        d.accept();
    });
    await fac.getByRole('button', { name: 'Hand over' }).click();
    await fac.locator('.meeting-meta', { hasText: 'Facilitator: policeSupervisor' }).waitFor();
    assert.match(asked, /Hand this meeting over to policeSupervisor/);
    assert.equal((await sup.get(`/api/v1/meetings/${id}`)).json.facilitator_id, world.users.policeSupervisor.userId);
    assert.equal(await fac.getByRole('button', { name: 'Next' }).count(), 0, 'the old facilitator has no controls');
    assert.equal(await fac.locator('.handover details').count(), 0);
});

test('suggestions say their reasons in words; an added case keeps them on the agenda', async () => {
    const sup = await login(server.url, world.users.cacSupervisor);
    const rowan = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.police], alias: 'Rowan' });
    const act = await sup.post(`/api/v1/cases/${rowan}/actions`, { title: 'Overdue check', assignee_agency_id: world.agencies.cac, due_date: today(-3), visibility: 'mdt' });
    assert.equal(act.status, 201, act.text);
    const res = await sup.post('/api/v1/meetings', { title: 'Suggested review', scheduled_at: new Date(Date.now() + 3600000).toISOString() });
    assert.equal(res.status, 201, res.text);
    const id = res.json.id;
    await openMeetingId(fac, id);
    await fac.getByRole('button', { name: 'Suggest cases' }).click();
    const sug = fac.locator('.suggestion', { hasText: 'Rowan' });
    await sug.waitFor();
    assert.match(await sug.textContent(), /Has overdue action items.*Not reviewed in the last 14 days.*Never reviewed/);
    // the restricted case is the facilitator's own: it may be suggested to it, never to anyone else
    await sug.getByRole('button', { name: /Add to agenda: .*Rowan/ }).click();
    await fac.locator(`.agenda-item[data-case="${rowan}"] .agenda-reasons`, { hasText: 'Why: Has overdue action items and Not reviewed' }).waitFor();
    const item = (await sup.get(`/api/v1/meetings/${id}`)).json.agenda.find((i) => i.case_id === rowan);
    assert.deepEqual(item.reasons, ['overdue_actions', 'not_reviewed']);
    assert.equal(await fac.locator('.suggestion', { hasText: 'Rowan' }).count(), 0, 'an added suggestion leaves the list');
});

test('accessibility, 360 px, no alias in any police frame, no page errors', async () => {
    await axe(fac, 'meeting page (facilitator)');
    await axe(police, 'meeting page (member)');
    await fitsWidth(fac, 360);
    await fitsWidth(police, 360);
    for (const raw of policeFrames.received) assert.ok(!raw.includes(SECRET_ALIAS), `a police frame carried the restricted alias: ${raw}`);
    assert.ok(policeFrames.sent.some((t) => JSON.parse(t).type === 'subscribe_meeting'), 'subscribed to the meeting');
    noProblems(fac);
    noProblems(police);
});
