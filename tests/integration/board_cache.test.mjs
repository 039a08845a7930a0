// board_cache.test.mjs - the node's cache of serialized boards (issue 17,
// server/boardcache.c, docs/performance.md): an unchanged board is answered
// from the cache (a hit in /metrics, the same bytes as building it again,
// still audited), and every change that alters what a viewer sees misses:
// a new entry, a visibility edit (widened and narrowed), a consent expiring
// (no event), an agency renamed. Two agencies never share a board: the
// cache is keyed by the viewer's key, and a restricted entry never reaches
// another agency's board, cached or not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, flushAudit, metrics, psql, sleep, startServer } from './lib/harness.mjs';
import { boardWorld, BOARD_ENV, createCase, login } from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';

let dbUrl;
let server;
let w;
const U = {};

before(async () => {
    dbUrl = await createDatabase();
    w = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: BOARD_ENV });
    for (const k of ['cacSupervisor', 'policeMember', 'policeSupervisor', 'dcfMember', 'legalMember']) U[k] = await login(server.url, w.users[k]);
});

after(async () => {
    await server?.stop();
});

const hits = async () => (await metrics(server.url)).get('mdt_board_cache_hits_total') ?? 0;

// One board read: {text, json}; asserts 200.
async function board(c, id) {
    const r = await c.get(`/api/v1/cases/${id}`);
    assert.equal(r.status, 200, r.text);
    return r;
}

// Reads the board twice and asserts the second was a cache hit answering
// the same bytes; returns the board.
async function boardTwice(c, id) {
    const first = await board(c, id);
    const h0 = await hits();
    const again = await board(c, id);
    assert.equal(await hits(), h0 + 1, 'the second read of an unchanged board is a cache hit');
    assert.equal(again.text, first.text, 'a hit answers the same bytes');
    return again;
}

const entryIds = (b) => b.json.entries.map((e) => e.id);

async function newCase() {
    return createCase(server.url, dbUrl, {
        lead: w.users.cacSupervisor,
        agencies: [w.agencies.police, w.agencies.dcf, w.agencies.legal],
    });
}

test('an unchanged board is a hit with the same bytes and is still audited, once per read', async () => {
    const id = await newCase();
    const note = await U.policeMember.post(`/api/v1/cases/${id}/entries`, { kind: 'note', body_md: 'shared note', visibility: 'mdt' });
    assert.equal(note.status, 201, note.text);
    await boardTwice(U.policeMember, id);
    // another user of the same agency shares the key: a hit as well
    const h0 = await hits();
    const other = await board(U.policeSupervisor, id);
    assert.equal(await hits(), h0 + 1);
    assert.deepEqual(entryIds(other), [note.json.id]);
    await flushAudit(server);
    const reads = await psql(
        dbUrl,
        `SELECT count(*) FROM audit WHERE case_id = ${id} AND action = 'case.read' AND user_id IN (${w.users.policeMember.userId}, ${w.users.policeSupervisor.userId})`,
    );
    assert.equal(Number(reads), 3, 'every read is audited, hits included');
});

test('two agencies never share a board: a restricted entry stays with its agency, cached or not', async () => {
    const id = await newCase();
    const secret = 'RESTRICTED-police-only-warrant';
    const r = await U.policeMember.post(`/api/v1/cases/${id}/entries`, { kind: 'note', body_md: secret, visibility: 'agency' });
    assert.equal(r.status, 201, r.text);
    const police = await boardTwice(U.policeMember, id);
    assert.ok(police.text.includes(secret));
    const dcf = await boardTwice(U.dcfMember, id);
    assert.ok(!dcf.text.includes(secret), 'the restricted entry never reaches another agency');
    assert.ok(!entryIds(dcf).includes(r.json.id));
    // and the police board is still its own after the other agency's reads
    const policeAgain = await board(U.policeMember, id);
    assert.equal(policeAgain.text, police.text);
});

test('a new entry and a visibility edit (widened, then narrowed) each invalidate', async () => {
    const id = await newCase();
    const e = await U.policeMember.post(`/api/v1/cases/${id}/entries`, { kind: 'note', body_md: 'police note', visibility: 'agency' });
    assert.equal(e.status, 201, e.text);
    assert.ok(!entryIds(await boardTwice(U.dcfMember, id)).includes(e.json.id));

    const added = await U.cacSupervisor.post(`/api/v1/cases/${id}/entries`, { kind: 'note', body_md: 'cac note', visibility: 'mdt' });
    assert.equal(added.status, 201, added.text);
    assert.ok(entryIds(await boardTwice(U.dcfMember, id)).includes(added.json.id), 'a new entry is on the next read');

    const wide = await U.policeMember.patch(`/api/v1/entries/${e.json.id}`, { visibility: 'mdt', version: e.json.version });
    assert.equal(wide.status, 200, wide.text);
    assert.ok(entryIds(await boardTwice(U.dcfMember, id)).includes(e.json.id), 'widened: dcf sees it');

    const narrow = await U.policeMember.patch(`/api/v1/entries/${e.json.id}`, { visibility: 'agency', version: wide.json.version });
    assert.equal(narrow.status, 200, narrow.text);
    const dcf = await boardTwice(U.dcfMember, id);
    assert.ok(!entryIds(dcf).includes(e.json.id), 'narrowed: gone from the dcf board');
    assert.ok(!dcf.text.includes('police note'));
});

test('an agency renamed invalidates (no case event)', async () => {
    const id = await newCase();
    await boardTwice(U.dcfMember, id);
    const name = `Renamed DCF ${process.pid}`;
    await psql(dbUrl, `UPDATE agencies SET name = '${name}' WHERE id = ${w.agencies.dcf}`);
    const b = await board(U.dcfMember, id);
    assert.equal(b.json.agencies.find((a) => a.id === w.agencies.dcf).name, name);
});

test('a consent expiring invalidates the board at the expiry, with no event', async () => {
    const id = await newCase();
    const put = await U.legalMember.put(`/api/v1/cases/${id}/pii`, { version: 0, immigration: { status: 'undocumented', country_of_birth: 'Guatemala' } });
    assert.equal(put.status, 200, put.text);
    // whole seconds: the server keeps expiry to the second
    const expiresMs = (Math.floor(Date.now() / 1000) + 3) * 1000;
    const c = await U.legalMember.post(`/api/v1/cases/${id}/consents`, {
        categories: ['immigration'],
        agency_id: w.agencies.police,
        consented_by: [{ role: 'guardian', name: 'Ana Guardian' }],
        purpose: 'coordinate the T visa certification',
        signed_on: today(-1),
        expires_at: new Date(expiresMs).toISOString(),
    });
    assert.equal(c.status, 201, c.text);
    const live = await boardTwice(U.policeMember, id);
    assert.equal(live.json.pii.immigration?.country_of_birth, 'Guatemala', 'the consent lets police see it');
    const events = await psql(dbUrl, `SELECT count(*) FROM events WHERE case_id = ${id}`);
    while (Date.now() < expiresMs + 200) await sleep(100);
    const expired = await board(U.policeMember, id);
    assert.equal(expired.json.pii.immigration, undefined, 'expired: the category is gone');
    assert.notEqual(expired.text, live.text);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM events WHERE case_id = ${id}`), events, 'no event was needed');
});
