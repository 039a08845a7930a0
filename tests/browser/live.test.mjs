// live.test.mjs - two users of different agencies on the same board:
// restricted entries reach only the agencies that may see them (checked in
// the DOM and in every WebSocket frame), action items appear live, the
// page rides out a server restart (offline banner, reconnect by itself,
// resume with `since`, every missed entry exactly once), a deactivated
// user's page returns to sign-in, and the idle-timeout notice shows.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDatabase, freePort, startServer, sleep } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { launch, newPage, noProblems, openBoard, recordFrames, shoot, signIn } from './lib/browser.mjs';
import { today } from '../integration/lib/clock.mjs';

let dbUrl;
let world;
let port;
let server;
let browser;
let caseId;
let cac; // page of a CAC member
let police; // page of a police member
let cacFrames;
let policeFrames;

const seqOf = (frames) =>
    frames
        .map((t) => JSON.parse(t))
        .filter((f) => (f.type === 'event' && f.kind !== 'access.revoked') || f.type === 'subscribed')
        .reduce((m, f) => Math.max(m, f.seq), 0);

async function post(client, body_md, visibility = 'mdt', extra = {}) {
    const res = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md, visibility, ...extra });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

before(async () => {
    dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    port = await freePort();
    server = await startServer({ dbUrl, port, env: BOARD_ENV });
    caseId = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.police, world.agencies.dcf], alias: 'Juniper' });
    browser = await launch();
    cac = await newPage(browser);
    police = await newPage(browser, { width: 390 });
    cacFrames = recordFrames(cac);
    policeFrames = recordFrames(police);
    await signIn(cac, server.url, world.users.cacMember);
    await signIn(police, server.url, world.users.policeMember);
    await openBoard(cac, server.url, caseId);
    await openBoard(police, server.url, caseId);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

test('presence: each sees the other on the board', async () => {
    // boardWorld's display names are the user names with a space for the underscore.
    const name = (u) => u.username.replace('_', ' ');
    await cac.locator('.presence-users', { hasText: name(world.users.policeMember) }).waitFor();
    await police.locator('.presence-users', { hasText: name(world.users.cacMember) }).waitFor();
});

test('a CAC-only note appears live for CAC and never for the police; a note for all reaches both', async () => {
    const sup = await login(server.url, world.users.cacSupervisor);
    const secret = await post(sup, 'SECRET-CAC-ONLY: the **forensic** interview is being scheduled', 'agency');
    const item = cac.locator('.timeline > li', { hasText: 'SECRET-CAC-ONLY' });
    await item.locator('strong', { hasText: 'forensic' }).waitFor();
    assert.match(await item.locator('.vis-badge').textContent(), /Restricted: only cac /);
    assert.ok(await item.evaluate((el) => el.classList.contains('is-fresh')), 'a live change is highlighted');
    await cac.locator('#live-region', { hasText: /New note by cacSupervisor/ }).waitFor({ state: 'attached' });

    // A later note for everyone reaches the police page: its socket was live
    // all along, so the CAC-only note was filtered, not lost.
    await post(sup, 'FOR-ALL: multidisciplinary review on Thursday');
    await police.locator('.timeline > li', { hasText: 'FOR-ALL' }).waitFor();
    await cac.locator('.timeline > li', { hasText: 'FOR-ALL' }).waitFor();
    assert.equal(await police.locator('body', { hasText: 'SECRET-CAC-ONLY' }).count(), 0, 'not in the police DOM');
    for (const raw of policeFrames.received) {
        assert.ok(!raw.includes('SECRET-CAC-ONLY'), `a police frame carried the CAC-only text: ${raw}`);
        const f = JSON.parse(raw);
        assert.ok(!(f.type === 'event' && f.kind.startsWith('entry.') && f.data?.id === secret.id), `a police frame named the CAC-only entry: ${raw}`);
    }
    // The police page never asked the server for it either.
    assert.equal(await police.evaluate(() => document.querySelectorAll('.timeline > li').length), 1);
});

test('an action item created on the police page appears live on the CAC page', async () => {
    await police.locator('#sec-actions summary', { hasText: 'New action item' }).click();
    const form = police.locator('#sec-actions form').last();
    await form.getByLabel('What needs to be done').fill('Request phone records from the carrier');
    await form.getByLabel('Agency responsible').selectOption({ label: `police ${world.users.policeMember.username.split('_')[1]}` });
    await form.getByLabel('Due date (optional)').fill(today(90));
    assert.match(await form.locator('.vis-statement').textContent(), /Will be visible to: all 3 agencies on this case/);
    await form.getByRole('button', { name: 'Add action item' }).click();
    await police.locator('#sec-actions .action', { hasText: 'Request phone records' }).waitFor();
    const onCac = cac.locator('#sec-actions .action', { hasText: 'Request phone records' });
    await onCac.waitFor();
    assert.match(await onCac.textContent(), /anyone · police/);
    assert.equal(await cac.locator('#sec-actions .action', { hasText: 'Request phone records' }).count(), 1);
    await shoot(cac, 'board-live');
    await shoot(police, 'board-live');
});

test('protected details: the owner edits identity, records a consent for the police, revokes it — live', async () => {
    // The CAC leads the case and owns every category (no legal-aid or medical agency on it).
    const card = (page) => page.locator('.pii-cat', { has: page.getByRole('heading', { name: /^Identity/ }) });
    await card(police).locator('.pii-hidden', { hasText: 'Not shared with your agency' }).waitFor();

    await card(cac).getByRole('button', { name: 'Edit identity details' }).click();
    await card(cac).getByLabel('Legal name').fill('Rosa Demo-Lopez');
    await card(cac).getByLabel('Date of birth').fill(today(-14 * 365));
    await card(cac).getByRole('button', { name: 'Save' }).click();
    await card(cac).locator('dd', { hasText: 'Rosa Demo-Lopez' }).waitFor();
    assert.match(await card(cac).locator('.share-line').textContent(), /^Not shared: only cac /);

    await cac.locator('#sec-pii summary', { hasText: 'Record a consent' }).click();
    const form = cac.locator('#sec-pii details.add-box form');
    await form.getByRole('checkbox', { name: 'Identity' }).check();
    await form.getByLabel('Share with').selectOption({ label: `police ${world.users.policeMember.username.split('_')[1]}` });
    await form.getByLabel('Role').selectOption('guardian');
    await form.getByLabel('Name', { exact: true }).fill('Maria Demo-Lopez');
    await form.getByLabel('Purpose').fill('Investigation of the referral');
    const validThrough = today(200);
    // as the app shows a date: "Jun 30, 2031"
    const shown = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric', year: 'numeric' })
        .format(new Date(`${validThrough}T12:00:00Z`));
    const esc = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await form.getByLabel('Valid through').fill(validThrough);
    await form.getByRole('button', { name: 'Record consent' }).click();
    await card(cac).locator('.share-line', { hasText: new RegExp(`^Shared with police \\S+ until ${esc(shown)}\\.$`) }).waitFor();

    // The police page gets the category live, and says under what.
    await card(police).locator('dd', { hasText: 'Rosa Demo-Lopez' }).waitFor();
    assert.match(await card(police).locator('.share-line').textContent(), new RegExp(`Shared with your agency by cac \\S+ under a consent until ${esc(shown)}`));
    await police.locator('.consent.is-active', { hasText: 'may see Identity' }).waitFor();

    // Revoked: it disappears from the police page at once, which says so.
    cac.once('dialog', (d) => d.accept());
    // Each page reloads the protected details on the consent.changed that
    // follows; the test waits for both answers, so that no request is in
    // flight when the next test stops the server.
    const reloaded = [cac, police].map((p) => p.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1/cases/${caseId}/pii`));
    await cac.locator('.consent.is-active').getByRole('button', { name: 'Revoke consent' }).click();
    await card(police).locator('.pii-hidden', { hasText: 'No longer shared with your agency since' }).waitFor();
    assert.equal(await police.locator('body', { hasText: 'Rosa Demo-Lopez' }).count(), 0);
    await police.locator('.consent.is-inactive', { hasText: 'Revoked' }).waitFor();
    await Promise.all(reloaded);
});

test('server restart: offline banner, automatic reconnect, resume with since, each missed entry exactly once', async () => {
    const cacSeq = seqOf(cacFrames.received);
    const policeSeq = seqOf(policeFrames.received);
    assert.ok(cacSeq > 0 && policeSeq > 0);
    const sentBefore = cacFrames.sent.length;

    assert.equal(await server.stop('SIGTERM'), 0, 'mdtboard exits cleanly on SIGTERM');
    await cac.locator('#offline-banner', { hasText: 'Offline — changes will be sent when the connection is back' }).waitFor();
    await police.locator('#offline-banner', { hasText: 'Offline — changes will be sent when the connection is back' }).waitFor();
    await cac.locator('#conn-state.is-offline').waitFor();
    await shoot(cac, 'board-offline');

    // While the pages' server is down, changes are made through another
    // node on the same database.
    const other = await startServer({ dbUrl, env: BOARD_ENV });
    const sup = await login(other.url, world.users.cacSupervisor);
    const missed = [];
    missed.push(await post(sup, 'MISSED-1 school enrolment confirmed'));
    missed.push(await post(sup, 'MISSED-2 interpreter booked for Tuesday'));
    const cacOnly = await post(sup, 'MISSED-3-CAC-ONLY advocate notes', 'agency');
    const act = await sup.post(`/api/v1/cases/${caseId}/actions`, { title: 'MISSED action: update the safety plan', assignee_agency_id: world.agencies.police });
    assert.equal(act.status, 201, act.text);
    await other.stop();

    // The same server comes back on the same port.
    server = await startServer({ dbUrl, port, env: BOARD_ENV });
    for (const page of [cac, police]) {
        await page.locator('#conn-state.is-online').waitFor({ timeout: 45000 });
        for (const e of missed) await page.locator('.timeline > li', { hasText: e.body_md.slice(0, 8) }).waitFor();
        await page.locator('#sec-actions .action', { hasText: 'MISSED action' }).waitFor();
    }
    await cac.locator('.timeline > li', { hasText: 'MISSED-3-CAC-ONLY' }).waitFor();
    await cac.locator('#offline-banner', { hasText: 'Back online' }).waitFor();

    // One more, live after the reconnect.
    const sup2 = await login(server.url, world.users.cacSupervisor);
    await post(sup2, 'AFTER-RESTART live again');
    for (const page of [cac, police]) await page.locator('.timeline > li', { hasText: 'AFTER-RESTART' }).waitFor();
    await sleep(300);

    for (const page of [cac, police]) {
        for (const text of ['MISSED-1', 'MISSED-2', 'AFTER-RESTART', 'FOR-ALL']) {
            assert.equal(await page.locator('.timeline > li', { hasText: text }).count(), 1, `${text} shown exactly once`);
        }
        assert.equal(await page.locator('#sec-actions .action', { hasText: 'MISSED action' }).count(), 1);
        const keys = await page.evaluate(() => [...document.querySelectorAll('.timeline > li')].map((li) => li.dataset.key));
        assert.equal(new Set(keys).size, keys.length, 'no entry twice');
    }
    assert.equal(await police.locator('body', { hasText: 'MISSED-3-CAC-ONLY' }).count(), 0);
    assert.ok(!policeFrames.received.some((t) => t.includes('MISSED-3-CAC-ONLY') || (JSON.parse(t).data?.id === cacOnly.id && JSON.parse(t).kind?.startsWith('entry.'))));

    // It subscribed again from the last seq it had seen.
    const resub = cacFrames.sent
        .slice(sentBefore)
        .map((t) => JSON.parse(t))
        .filter((f) => f.type === 'subscribe');
    assert.ok(resub.length >= 1, 'subscribed again');
    assert.deepEqual(resub[0], { type: 'subscribe', case_id: caseId, since: cacSeq });
    assert.ok(cacFrames.sockets >= 2, 'a new socket was opened');
    noProblems(cac);
});

test('a deactivated user is returned to sign-in (close code 4401)', async () => {
    const admin = await login(server.url, world.users.cacAdmin);
    const list = await admin.get(`/api/v1/admin/users?agency_id=${world.agencies.police}`);
    const u = list.json.items.find((x) => x.id === world.users.policeMember.userId);
    const res = await admin.patch(`/api/v1/admin/users/${u.id}`, { active: false, version: u.version });
    assert.equal(res.status, 200, res.text);
    await police.getByRole('heading', { name: 'Sign in to MDT Board' }).waitFor();
    await police.locator('.notice', { hasText: 'Your session has ended' }).waitFor();
    assert.equal(await police.locator('.timeline').count(), 0, 'the board is gone from the page');
});

test('the idle-timeout notice warns before the session idles out', async () => {
    const idleServer = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_SESSION_IDLE: '64' } });
    const page = await newPage(browser);
    await signIn(page, idleServer.url, world.users.dcfMember);
    const dialog = page.getByRole('dialog', { name: 'Are you still there?' });
    await dialog.waitFor({ timeout: 15000 });
    assert.match(await dialog.textContent(), /signed out in \d+ seconds/);
    await shoot(page, 'idle-notice');
    await dialog.getByRole('button', { name: 'Stay signed in' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.context().close();
    await idleServer.stop();
});
