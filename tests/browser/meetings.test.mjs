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
    await sel.selectOption(opt);
    await current(police).filter({ hasText: 'Aspen' }).waitFor({ timeout: 5000 });
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
