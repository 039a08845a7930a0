// bounds.test.mjs - hostile-input bounds against the real binary and
// PostgreSQL: an event whose frame would exceed the 64 KiB WebSocket
// message limit reaches subscribers as `resync` (never a bigger frame,
// never a silent gap); chunked request bodies are refused with 411;
// an oversize URL is 414 and oversize headers 431, in the error shape; a
// failed event-feed load is retried with backoff (without another
// notification) and counted in /metrics.
//
// The world (board_fixtures.mjs): a CAC-led case with the police on it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createDatabase, metrics, psql, servingUrl, sleep, startServer, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from './lib/board_fixtures.mjs';

const WS_MAX_FRAME = 64 * 1024; // MDT_WS_MAX_FRAME

let dbUrl, server, w, caseId;
const as = {};

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
    for (const key of ['cacMember', 'policeMember', 'cacSupervisor']) as[key] = await login(server.url, w.users[key]);
    caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.cac, w.agencies.police] });
});

after(async () => {
    if (server) await server.stop();
});

// rawRequest(text) - writes text on a fresh TCP connection and resolves
// {status, json, closed}: the first answer's status line and JSON body,
// and whether the server closed the connection (it must, after refusing a
// request whose remaining bytes it did not read).
function rawRequest(text) {
    const { port } = new URL(server.url);
    return new Promise((resolve, reject) => {
        const sock = net.connect(Number(port), '127.0.0.1');
        let data = '';
        sock.on('data', (d) => (data += d.toString('latin1')));
        sock.on('error', () => {}); // a reset after the answer is fine
        sock.on('close', () => {
            const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
            const body = data.slice(data.indexOf('\r\n\r\n') + 4);
            let json = null;
            try {
                json = JSON.parse(body);
            } catch {
                json = null;
            }
            resolve({ status: m ? Number(m[1]) : 0, json, raw: data });
        });
        sock.setTimeout(10000, () => reject(new Error(`no close after ${text.slice(0, 60)}`)));
        sock.write(text);
    });
}

test('an event frame over 64 KiB becomes resync for its case; later events still arrive', async () => {
    const conn = await wsConnect(server.url, { cookie: as.policeMember.cookie(), origin: server.url });
    let biggest = 0;
    conn.ws.on('message', (data) => (biggest = Math.max(biggest, data.length)));
    conn.send({ type: 'subscribe', case_id: caseId });
    const sub = await conn.next('subscribed', 5000);
    // 31 KiB of text and 31 KiB of paragraphs that are each an image with
    // a relative URL and no alt text (each renders to nothing): the HTML is
    // within its bound, the event (source + HTML) is not.
    const md = 'a'.repeat(31 * 1024) + '\n\n' + '![](p.png)\n\n'.repeat(2650);
    const big = await as.cacMember.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: md, visibility: 'mdt' });
    assert.equal(big.status, 201, big.text);
    const resync = await conn.next((f) => f.type === 'resync' || f.kind === 'entry.created', 5000);
    assert.deepEqual(resync, { type: 'resync', case_id: caseId });
    // The client reloads and subscribes again from the board's seq.
    const board = await as.policeMember.get(`/api/v1/cases/${caseId}`);
    assert.ok(board.json.seq > sub.seq);
    conn.send({ type: 'subscribe', case_id: caseId, since: board.json.seq });
    await conn.next('subscribed', 5000);
    const small = await as.cacMember.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: 'after', visibility: 'mdt' });
    assert.equal(small.status, 201, small.text);
    const ev = await conn.next((f) => f.kind === 'entry.created', 5000);
    assert.equal(ev.data.id, small.json.id);
    assert.ok(biggest <= WS_MAX_FRAME, `a frame of ${biggest} bytes was sent`);
    conn.close();
});

test('a chunked request body is refused with 411 and the connection closed; nothing is written', async () => {
    const cookie = as.cacMember.cookie();
    const body = JSON.stringify({ kind: 'note', body_md: 'chunked note', visibility: 'mdt' });
    const count = () => psql(dbUrl, `SELECT count(*) FROM entries WHERE case_id = ${caseId}`);
    const before = await count();
    const res = await rawRequest(
        `POST /api/v1/cases/${caseId}/entries HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n` +
            `X-CSRF-Token: ${as.cacMember.csrf}\r\nContent-Type: application/json\r\n` +
            `Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    assert.equal(res.status, 411, res.raw);
    assert.equal(res.json?.error?.code, 'length_required');
    assert.equal(await count(), before);
    // Content-Length as well does not help (Transfer-Encoding would win).
    const both = await rawRequest(
        `POST /api/v1/render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            `Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    );
    assert.equal(both.status, 411, both.raw);
});

test('an oversize URL is 414 and oversize headers 431, in the error shape; beyond the buffer lws closes', async () => {
    const long = await rawRequest(`GET /api/v1/cases?status=${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(long.status, 414, long.raw.slice(0, 200));
    assert.equal(long.json?.error?.code, 'uri_too_long');
    const path = await rawRequest(`GET /api/v1/${'p'.repeat(600)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(path.status, 414);
    const cookie = await rawRequest(`GET /api/v1/me HTTP/1.1\r\nHost: x\r\nCookie: a=${'c'.repeat(20000)}\r\n\r\n`);
    assert.equal(cookie.status, 431, cookie.raw.slice(0, 200));
    assert.equal(cookie.json?.error?.code, 'headers_too_large');
    // Just under both bounds is an ordinary request.
    const fine = await rawRequest(
        `GET /api/v1/cases?status=${'a'.repeat(7000)} HTTP/1.1\r\nHost: x\r\nCookie: a=${'c'.repeat(15000)}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(fine.status, 401);
    // Over the 32 KiB header buffer libwebsockets closes without an answer
    // (docs/api.md); the server goes on serving.
    const huge = await rawRequest(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'z'.repeat(40000)}\r\n\r\n`);
    assert.equal(huge.status, 0);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
});

test('a failed feed load is retried with backoff until it succeeds, and counted in /metrics', async () => {
    const conn = await wsConnect(server.url, { cookie: as.policeMember.cookie(), origin: server.url });
    conn.send({ type: 'subscribe', case_id: caseId });
    await conn.next('subscribed', 5000);
    const e = await as.cacMember.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: 'seen', visibility: 'mdt' });
    assert.equal(e.status, 201, e.text);
    await conn.next((f) => f.kind === 'entry.created' && f.data.id === e.json.id, 5000);
    const failures = async () => (await metrics(server.url)).get('mdt_feed_load_failures_total') ?? 0;
    const before = await failures();
    // The server's role finds "events" in its own schema first ("$user" in
    // search_path): a view there that always fails breaks every feed load.
    const role = await psql(servingUrl(dbUrl), 'SELECT current_user');
    await psql(dbUrl, `CREATE SCHEMA "${role}";
        GRANT USAGE ON SCHEMA "${role}" TO "${role}";
        CREATE FUNCTION "${role}".refuse() RETURNS SETOF public.events LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'feed load refused by the test'; END $$;
        CREATE VIEW "${role}".events AS SELECT * FROM "${role}".refuse();
        GRANT SELECT ON "${role}".events TO "${role}";`);
    try {
        // Another node's write: the event row and its one notification.
        const seq = await psql(dbUrl, `WITH s AS (UPDATE ledger SET seq = seq + 1 RETURNING seq)
            INSERT INTO public.events (seq, case_id, kind, object_type, object_id, actor_id)
            SELECT seq, ${caseId}, 'entry.updated', 'entry', ${e.json.id}, ${w.users.cacMember.userId} FROM s
            RETURNING seq`);
        await psql(dbUrl, `SELECT pg_notify('mdt_events', '${seq.trim()}')`);
        // Two failures at least: the second came from the retry timer.
        for (let i = 0; i < 100 && (await failures()) < before + 2; i++) await sleep(100);
        assert.ok((await failures()) >= before + 2, 'the load was retried without another notification');
    } finally {
        await psql(dbUrl, `DROP SCHEMA "${role}" CASCADE`);
    }
    const ev = await conn.next((f) => f.kind === 'entry.updated', 10000);
    assert.equal(ev.data.id, e.json.id);
    conn.close();
});
