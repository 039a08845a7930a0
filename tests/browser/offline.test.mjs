// offline.test.mjs - a network drop is visible within 5 s, and what is
// written during it is kept and sent exactly once afterwards (issue 15,
// item 1; docs/web.md "Offline and resume", "Outbox").
//
// How the drop is made. Two things fail together, as they do when a
// laptop's Wi-Fi goes away:
// - the server process is stopped with SIGSTOP: the page's WebSocket stays
//   "open" but nothing comes back (no pong, no close), exactly what a dead
//   link or a sleeping NAT looks like; only the app's heartbeat can see it
//   (the first test measures that alone);
// - the browser's own view: context.setOffline(true) makes navigator.onLine
//   false, fires the `offline` event and fails every request at once.
// SIGCONT and setOffline(false) end the drop. During the 10 s drop the page
// is reloaded: a reload needs the page shell, which a browser in that
// situation would have in its cache. For the reload the server process is
// let go on (SIGCONT) to serve the shell — serving it from disk through a
// route instead makes Chromium's local-network checks refuse the later
// WebSocket to 127.0.0.1 — while a route fails every /api/ request as
// offline until the 10 s are over (the page opens no WebSocket before
// GET /me answers), so the page still cannot reach the server. Rows are counted in the database after
// a later write that went through the same queue, so "exactly once" is not
// timed.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createDatabase, sleep, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardOf, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { ARTIFACTS, axe, launch, newPage, openBoard, shoot, signIn } from './lib/browser.mjs';

const OFFLINE = 'Offline — changes will be sent when the connection is back';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DROP_MS = 10000;

let dbUrl, server, browser, caseId, world, page;

before(async () => {
    dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: BOARD_ENV });
    caseId = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.police] });
    browser = await launch();
    page = await newPage(browser);
    page.expectErrors = true; // requests fail during the drop, on purpose
    await signIn(page, server.url, world.users.cacMember);
    await openBoard(page, server.url, caseId);
});

after(async () => {
    if (server?.alive()) process.kill(server.proc.pid, 'SIGCONT');
    await browser?.close();
    await server?.stop();
});

const stopServer = () => process.kill(server.proc.pid, 'SIGSTOP');
const contServer = () => process.kill(server.proc.pid, 'SIGCONT');
// What the case holds, read through the API as the lead's supervisor (the
// tables hold sealed text): entries with this body, items with this title.
const lead = () => login(server.url, world.users.cacSupervisor);
const entriesWith = async (text) => (await boardOf(await lead(), caseId)).entries.filter((e) => e.body_md === text).length;
const actionsWith = async (title) => (await boardOf(await lead(), caseId)).actions.filter((a) => a.title === title).length;
const bodyOf = async (id) => (await boardOf(await lead(), caseId)).entries.find((e) => e.id === id)?.body_md;

// offlineShown(page) - ms from now until both the pill and the banner say offline.
async function offlineShown(p, t0) {
    await p.locator('#conn-state.is-offline', { hasText: OFFLINE }).waitFor({ timeout: 15000 });
    await p.locator('#offline-banner.is-offline #offline-text', { hasText: OFFLINE }).waitFor({ timeout: 15000 });
    return Date.now() - t0;
}

// Every API request fails as offline (the shell still loads).
async function apiUnreachable(context) {
    await context.route(`${server.url}/api/**`, (route) => route.abort('internetdisconnected'));
}

async function viewportShot(p, name) {
    await p.screenshot({ path: path.join(ARTIFACTS, `${name}-${p.viewportSize().width}.png`) });
}

test('a silent drop (server stopped, browser online) is seen by the heartbeat within 5 s', async () => {
    const t0 = Date.now();
    stopServer();
    const ms = await offlineShown(page, t0);
    contServer();
    console.log(`heartbeat: offline shown ${ms} ms after the server stopped`);
    assert.ok(ms <= 5000, `offline shown after ${ms} ms`);
    await page.locator('#conn-state.is-online').waitFor({ timeout: 30000 });
});

test('a request that cannot reach the server flips the page to offline at once', async () => {
    const context = page.context();
    await context.route(`${server.url}/api/v1/agencies`, (route) => route.abort('internetdisconnected'));
    // The pill right after the failed request returns, in the same task.
    const pill = await page.evaluate(async () => {
        const { api } = await import('/js/api.js');
        await api.get('/api/v1/agencies').catch(() => {});
        return document.getElementById('conn-state').textContent;
    });
    await context.unrouteAll({ behavior: 'wait' });
    assert.equal(pill, OFFLINE);
    await page.locator('#conn-state.is-online').waitFor({ timeout: 30000 });
});

test('a 10 s drop: offline within 5 s, a note and an action item queued, kept over a reload, each sent exactly once', async () => {
    const context = page.context();
    const note = `OFFLINE-NOTE ${process.pid}: written during the drop`;
    const action = `OFFLINE-ACTION ${process.pid}: call the school`;
    const posts = []; // Idempotency-Keys of the creates that left the page
    page.on('request', (r) => {
        if (r.method() === 'POST' && /\/api\/v1\/cases\/\d+\/(entries|actions)$/.test(new URL(r.url()).pathname)) posts.push(r.headers()['idempotency-key']);
    });

    const t0 = Date.now();
    stopServer();
    await context.setOffline(true);
    const ms = await offlineShown(page, t0);
    console.log(`drop: offline shown ${ms} ms after the drop`);
    assert.ok(ms <= 5000, `offline shown after ${ms} ms`);

    // A note, then an action item, written during the drop.
    await page.getByLabel('Text', { exact: true }).fill(note);
    await page.getByRole('button', { name: 'Post to the timeline' }).click();
    const noteItem = page.locator('#sec-timeline .outbox-item', { hasText: 'OFFLINE-NOTE' });
    await noteItem.locator('.outbox-state', { hasText: 'Sending…' }).waitFor();
    await page.locator('.composer .flash', { hasText: 'sent when the connection is back' }).waitFor();
    await page.locator('#sec-actions summary', { hasText: 'New action item' }).click();
    await page.getByLabel('What needs to be done').fill(action);
    await page.locator('#sec-actions').getByLabel('Agency responsible').selectOption(String(world.agencies.cac));
    await page.getByRole('button', { name: 'Add action item' }).click();
    await page.locator('#sec-actions .outbox-item', { hasText: 'OFFLINE-ACTION' }).locator('.outbox-state', { hasText: 'Sending…' }).waitFor();
    assert.equal(posts.length, 0, 'nothing is sent while offline');

    const stored = JSON.parse(await page.evaluate(() => sessionStorage.getItem('mdt.outbox')));
    assert.equal(stored.userId, world.users.cacMember.userId);
    assert.deepEqual(
        stored.items.map((i) => [i.kind, i.body.body_md ?? i.body.title]),
        [
            ['entry', note],
            ['action', action],
        ],
    );
    for (const i of stored.items) assert.match(i.key, UUID);
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');

    // The banner stays in view however far the page is scrolled.
    for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 800 });
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        await page.waitForFunction(() => window.scrollY > 0);
        const box = await page.locator('#offline-banner').boundingBox();
        assert.ok(box && box.y >= 0 && box.y + box.height <= 800, `banner in view at ${width} px: ${JSON.stringify(box)}`);
        await viewportShot(page, 'offline-scrolled');
        await page.evaluate(() => window.scrollTo(0, 0));
        await viewportShot(page, 'offline-top');
        await shoot(page, 'offline-outbox');
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await axe(page, 'board offline, two items queued');

    // A reload during the drop: the shell loads, the server does not answer.
    await apiUnreachable(context);
    await context.setOffline(false);
    contServer();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'MDT Board cannot be reached right now' }).waitFor();
    await page.locator('#offline-banner #offline-text', { hasText: OFFLINE }).waitFor();
    const kept = JSON.parse(await page.evaluate(() => sessionStorage.getItem('mdt.outbox')));
    assert.equal(kept.items.length, 2, 'the queue survived the reload');
    await shoot(page, 'offline-reload');

    // The connection comes back after the 10 s.
    await sleep(Math.max(0, t0 + DROP_MS - Date.now()));
    await context.unrouteAll({ behavior: 'wait' });
    const back = Date.now();
    await page.locator('.timeline > li', { hasText: 'OFFLINE-NOTE' }).waitFor({ timeout: 30000 });
    await page.locator('.actions-list > li', { hasText: 'OFFLINE-ACTION' }).waitFor({ timeout: 30000 });
    console.log(`back: both creates on the board ${Date.now() - back} ms after the connection returned`);
    await page.locator('#offline-banner.is-back', { hasText: 'Back online' }).waitFor();
    await page.locator('#sec-timeline .outbox-item', { hasText: 'OFFLINE-NOTE' }).waitFor({ state: 'detached', timeout: 15000 });

    // A later note through the same path is on the board: the queue is done.
    await page.getByLabel('Text', { exact: true }).fill(`AFTER ${process.pid}`);
    await page.getByRole('button', { name: 'Post to the timeline' }).click();
    await page.locator('.timeline > li', { hasText: `AFTER ${process.pid}` }).waitFor();
    assert.equal(await entriesWith(note), 1, 'the note exists once');
    assert.equal(await actionsWith(action), 1, 'the action item exists once');
    assert.equal(await page.locator('.timeline > li', { hasText: 'OFFLINE-NOTE' }).count(), 1, 'shown once');
    assert.deepEqual(posts.slice(0, 2), stored.items.map((i) => i.key), 'sent with the keys kept in the queue');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mdt.outbox')), null, 'the queue is empty');
    await page.locator('#conn-state.is-online', { hasText: 'Live' }).waitFor({ timeout: 10000 });
});

test('an edit made offline that meets another change comes back failed, keeps the text, and Retry (by keyboard) saves it', async () => {
    const context = page.context();
    const me = await login(server.url, world.users.cacMember);
    const res = await me.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: `EDIT-ME ${process.pid}`, visibility: 'mdt' });
    assert.equal(res.status, 201);
    const entry = page.locator('.timeline > li', { hasText: `EDIT-ME ${process.pid}` });
    await entry.waitFor();

    await context.setOffline(true);
    await page.locator('#conn-state.is-offline').waitFor();
    await entry.getByRole('button', { name: 'Edit' }).click();
    const mine = `EDIT-ME ${process.pid}: my correction, typed offline`;
    await entry.locator('.edit-form textarea').fill(mine);
    await entry.getByRole('button', { name: 'Save changes' }).click();
    const item = page.locator('#sec-timeline .outbox-item', { hasText: 'Edit of the note' });
    await item.locator('.outbox-state', { hasText: 'Sending…' }).waitFor();

    // Meanwhile the same entry is changed from elsewhere.
    const other = await me.patch(`/api/v1/entries/${res.json.id}`, { version: 1, body_md: `EDIT-ME ${process.pid}: changed elsewhere` });
    assert.equal(other.status, 200);
    await context.setOffline(false);
    await item.locator('.outbox-state', { hasText: 'Failed — someone else changed this meanwhile' }).waitFor({ timeout: 30000 });
    assert.equal(await item.locator('.outbox-text').textContent(), mine, 'the person’s text is shown');
    assert.match(await bodyOf(res.json.id), /changed elsewhere/, 'not overwritten by itself');
    await shoot(page, 'offline-conflict');
    await axe(page, 'board with a failed edit');

    // Keyboard: Tab from the composer's button reaches a labelled Retry.
    await page.getByRole('button', { name: 'Post to the timeline' }).focus();
    let label = null;
    for (let i = 0; i < 40 && !label?.startsWith('Retry'); i++) {
        await page.keyboard.press('Tab');
        label = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent);
    }
    assert.match(label ?? '', /^Retry: Edit of the note of /);
    await page.keyboard.press('Enter');
    await entry.locator('.entry-body', { hasText: 'my correction, typed offline' }).waitFor({ timeout: 15000 });
    assert.equal(await bodyOf(res.json.id), mine);
    // Focus stays on the item while it says Sent, then returns to the form.
    await item.locator('.outbox-state', { hasText: 'Sent' }).waitFor();
    assert.ok(await item.evaluate((el) => el.contains(document.activeElement)), 'focus on the sent item');
    await item.waitFor({ state: 'detached', timeout: 15000 });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Post to the timeline');
});

test('a note whose answers are all lost is queued and replayed with its key when the connection is back: one note', async () => {
    const context = page.context();
    const text = `LOST-THRICE ${process.pid}`;
    const sent = []; // [key, status, replayed] of each POST that reached the server
    await context.route(`${server.url}/api/v1/cases/${caseId}/entries`, async (route) => {
        const req = route.request();
        if (req.method() !== 'POST') return route.continue();
        const response = await route.fetch();
        sent.push([req.headers()['idempotency-key'], response.status(), response.headers()['idempotency-replayed'] ?? null]);
        // The create and its two quick retries reach the server, their answers never reach the page.
        if (sent.length <= 3) return route.abort('connectionreset');
        return route.fulfill({ response });
    });
    await page.getByLabel('Text', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Post to the timeline' }).click();
    // The note may show early (the live event of the first create); the
    // queued item says Sent once the replay answered.
    const item = page.locator('#sec-timeline .outbox-item', { hasText: 'LOST-THRICE' });
    await item.locator('.outbox-state', { hasText: 'Sending…' }).waitFor({ timeout: 15000 });
    await item.locator('.outbox-state', { hasText: 'Sent' }).waitFor({ timeout: 30000 });
    await context.unrouteAll({ behavior: 'wait' });
    assert.equal(sent.length, 4, JSON.stringify(sent));
    assert.ok(sent.every(([key]) => key === sent[0][0]), 'one key throughout');
    assert.deepEqual(
        sent.map(([, status, replayed]) => [status, replayed]),
        [
            [201, null],
            [201, 'true'],
            [201, 'true'],
            [201, 'true'],
        ],
    );
    assert.equal(await entriesWith(text), 1);
    assert.equal(await page.locator('.timeline > li', { hasText: text }).count(), 1, 'shown once');
});

test('a rate_limited frame shows a polite notice, and live updates resume by themselves', async () => {
    await page.locator('#conn-state.is-online', { hasText: 'Live' }).waitFor({ timeout: 10000 });
    // Subscribe messages sent fast from the page's own socket (the module
    // instance app.js uses): beyond the socket's burst the server answers
    // rate_limited, socket open.
    const codes = await page.evaluate(async (id) => {
        const { ctx } = await import('/js/ctx.js');
        const ws = ctx.live.ws;
        const got = [];
        const limited = new Promise((resolve) => {
            const seen = (ev) => {
                const f = JSON.parse(ev.data);
                if (f.type !== 'error') return;
                got.push(f.code);
                if (f.code === 'rate_limited') {
                    ws.removeEventListener('message', seen);
                    resolve();
                }
            };
            ws.addEventListener('message', seen);
        });
        for (let i = 0; i < 80; i++) ws.send(JSON.stringify({ type: 'subscribe', case_id: id }));
        await limited;
        return got;
    }, caseId);
    assert.ok(codes.includes('rate_limited'), `the server answered rate_limited: ${codes.join(',')}`);
    const banner = page.locator('#offline-banner.is-busy #offline-text', { hasText: 'Live updates are busy for a moment' });
    await banner.waitFor();
    assert.equal(await page.locator('#offline-banner').getAttribute('class'), 'offline-banner is-busy');
    await viewportShot(page, 'offline-busy');
    await page.locator('#offline-banner').waitFor({ state: 'hidden', timeout: 45000 });

    // Still live: another user's note arrives.
    const sup = await login(server.url, world.users.cacSupervisor);
    const r = await sup.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: `AFTER-BUSY ${process.pid}`, visibility: 'mdt' });
    assert.equal(r.status, 201);
    await page.locator('.timeline > li', { hasText: `AFTER-BUSY ${process.pid}` }).waitFor();
    assert.deepEqual(
        page.problems.filter((p) => p.startsWith('pageerror')),
        [],
        'no script errors',
    );
});

test('sign-out clears the queue; another user\'s queue is never taken over', async () => {
    await page.evaluate(() => sessionStorage.setItem('mdt.outbox', JSON.stringify({ userId: 0, items: [] })));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('User name').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mdt.outbox')), null);

    // A queue left by someone else in this tab is dropped, never sent.
    const foreign = { userId: world.users.policeMember.userId, items: [{ id: 'x', key: 'k', method: 'POST', path: `/api/v1/cases/${caseId}/entries`, body: { kind: 'note', body_md: `FOREIGN ${process.pid}`, visibility: 'mdt' }, kind: 'entry', caseId, label: 'Note: FOREIGN', state: 'queued' }] };
    await page.evaluate((v) => sessionStorage.setItem('mdt.outbox', JSON.stringify(v)), foreign);
    await signIn(page, server.url, world.users.cacMember);
    await openBoard(page, server.url, caseId);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mdt.outbox')), null);
    assert.equal(await page.locator('.outbox-item').count(), 0);
    assert.equal(await entriesWith(`FOREIGN ${process.pid}`), 0);
});
