// idempotency.test.mjs - the web app's creates carry an Idempotency-Key,
// and a create whose answer is lost on the way back is retried with the
// same key: the note posted from the board reaches the server, its answer
// is dropped (request interception resets the connection after the
// server answered), the app retries by itself with the same key, the
// server replays, and the note exists once — in the database and on the
// page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDatabase, psql, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardOf, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';
import { launch, newPage, openBoard, signIn } from './lib/browser.mjs';

let dbUrl, server, browser, caseId, world;

before(async () => {
    dbUrl = await createDatabase();
    world = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: BOARD_ENV });
    caseId = await createCase(server.url, dbUrl, { lead: world.users.cacSupervisor, agencies: [world.agencies.police] });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('a note whose answer was lost is retried with the same key and posted once', async () => {
    const page = await newPage(browser);
    page.expectErrors = true; // the dropped answer is a network error on purpose
    await signIn(page, server.url, world.users.cacMember);
    await openBoard(page, server.url, caseId);

    const sent = []; // [{key, status}] of each POST that reached the server
    await page.route(`**/api/v1/cases/${caseId}/entries`, async (route) => {
        const req = route.request();
        if (req.method() !== 'POST') return route.continue();
        const response = await route.fetch();
        sent.push({ key: req.headers()['idempotency-key'], status: response.status(), replayed: response.headers()['idempotency-replayed'] });
        if (sent.length === 1) return route.abort('connectionreset'); // created, but the page never hears it
        return route.fulfill({ response });
    });

    const text = `LOST-ANSWER note ${process.pid}`;
    await page.getByLabel('Text', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Post to the timeline' }).click();
    await page.locator('.composer .flash', { hasText: 'Posted.' }).waitFor();

    assert.equal(sent.length, 2, 'one retry');
    assert.match(sent[0].key, UUID);
    assert.equal(sent[1].key, sent[0].key, 'the retry reuses the key');
    assert.deepEqual(
        sent.map((s) => [s.status, s.replayed ?? null]),
        [
            [201, null],
            [201, 'true'],
        ],
    );
    // Counted through the API: the bodies are sealed in the tables.
    const board = await boardOf(await login(server.url, world.users.cacSupervisor), caseId);
    assert.equal(board.entries.filter((e) => e.body_md === text).length, 1, 'one note in the database');
    assert.equal(Number(await psql(dbUrl, `SELECT count(*) FROM entries WHERE case_id = ${caseId}`)), board.entries.length);
    assert.equal(await page.locator('.timeline > li', { hasText: text }).count(), 1, 'shown once');

    // The next note is a new create with a new key.
    await page.getByLabel('Text', { exact: true }).fill(`${text} (second)`);
    await page.getByRole('button', { name: 'Post to the timeline' }).click();
    await page.locator('.timeline > li', { hasText: `${text} (second)` }).waitFor();
    assert.equal(sent.length, 3);
    assert.match(sent[2].key, UUID);
    assert.notEqual(sent[2].key, sent[0].key);
});
