// foundation.test.mjs - the server's foundations, against the real binary
// and a real PostgreSQL: health, static files and security headers, the
// error shape and body limits, metrics, LISTEN/NOTIFY, surviving a database
// restart, a slow query not blocking the loop, the WebSocket ping, and a
// clean SIGTERM shutdown.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import {
    SOURCE_DIR,
    api,
    createDatabase,
    httpRaw,
    metrics,
    psql,
    sleep,
    startCluster,
    startServer,
    wsConnect,
} from './lib/harness.mjs';
import { addAgency, addUser, DEFAULT_PASSWORD } from './lib/fixtures.mjs';

let dbUrl;
let server;

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl });
});

after(async () => {
    if (server) await server.stop();
});

// pollUntil(fn, ms) - calls fn every 25 ms until it returns a truthy value,
// which it resolves with; resolves with the last value after ms.
async function pollUntil(fn, ms, every = 25) {
    const deadline = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v.ok || Date.now() >= deadline) return v;
        await sleep(every);
    }
}

function assertError(res, status, code) {
    assert.equal(res.status, status, `status ${res.status}, body ${res.text}`);
    assert.ok(res.json && typeof res.json.error === 'object', `error body expected, got ${res.text}`);
    assert.equal(res.json.error.code, code);
    assert.equal(typeof res.json.error.message, 'string');
}

test('/healthz answers 200 {"status":"ok","db":"ok"}', async () => {
    const res = await api(server.url).get('/healthz');
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.json.status, 'ok');
    assert.equal(res.json.db, 'ok');
});

test('GET /api/v1/openapi.json is an OpenAPI 3.1 document of the real routes', async () => {
    const res = await fetch(`${server.url}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/cases/{id}'].get, 'the board route is listed');
    assert.ok(doc.paths['/api/v1/cases/{id}'].patch, 'and its PATCH');
    assert.ok(doc.paths['/api/v1/login'].post);
    assert.deepEqual(doc.paths['/api/v1/login'].post.security, [], 'login needs no session');
    for (const p of Object.keys(doc.paths)) assert.ok(!p.includes('_test'), `test hook ${p} must not be listed`);
    // the schemas of server/openapi/ are served with it
    const board = doc.paths['/api/v1/cases/{id}'].get.responses;
    assert.equal(board['200'].content['application/json'].schema.$ref, '#/components/schemas/Board');
    assert.equal(board['404'].content['application/json'].schema.$ref, '#/components/schemas/Error');
    assert.ok(doc.paths['/api/v1/cases'].post.requestBody.content['application/json'].schema.required.includes('case_number'));
    for (const name of ['Case', 'Entry', 'Action', 'Error', 'WsClientMessage', 'WsServerMessage'])
        assert.ok(doc.components.schemas[name], name);
    // path parameters are named once per path (creates also list the Idempotency-Key header)
    for (const [p, item] of Object.entries(doc.paths)) {
        for (const op of Object.values(item)) {
            const names = op.parameters.filter((x) => x.in === 'path').map((x) => x.name);
            assert.equal(new Set(names).size, names.length, p);
            assert.equal(names.length, (p.match(/\{/g) || []).length, p);
        }
    }
});

test('GET / serves web/index.html with the security headers', async () => {
    const index = path.join(SOURCE_DIR, 'web', 'index.html');
    assert.ok(existsSync(index), `${index} is missing from the repository`);
    const res = await api(server.url).get('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.text, readFileSync(index, 'utf8'));
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /(^|;)\s*default-src 'self'(\s*;|$)/, `CSP: ${csp}`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
});

test('an unknown API route is 404 not_found in the error shape', async () => {
    const res = await api(server.url).get('/api/v1/nope');
    assertError(res, 404, 'not_found');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
});

test('a body over 256 KiB is 413 too_large', async () => {
    const body = JSON.stringify({ username: 'x', password: 'a'.repeat(300 * 1024) });
    const res = await httpRaw(`${server.url}/api/v1/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        body,
    });
    assertError(res, 413, 'too_large');
});

test('a text/plain body is 415 unsupported_media_type', async () => {
    const res = await api(server.url).post('/api/v1/login', 'username=x&password=y', {
        headers: { 'Content-Type': 'text/plain' },
    });
    assertError(res, 415, 'unsupported_media_type');
});

test('/metrics from loopback is Prometheus text with mdt_http_requests_total', async () => {
    const res = await api(server.url).get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(res.text, /^mdt_http_requests_total[{ ]/m);
});

test('a NOTIFY mdt_events reaches the server (LISTEN)', async () => {
    const before = await metrics(server.url);
    const count0 = before.get('mdt_listen_notifications_total') ?? 0;
    const seq = 1000 + Math.floor(Math.random() * 1e6);
    await psql(dbUrl, `NOTIFY mdt_events, '${seq}'`);
    const seen = await pollUntil(async () => {
        const m = await metrics(server.url);
        const count = m.get('mdt_listen_notifications_total') ?? 0;
        const last = m.get('mdt_events_last_notified_seq');
        return { ok: count > count0 && last === seq, count, last };
    }, 2000);
    assert.ok(seen.count > count0, `mdt_listen_notifications_total stayed at ${count0}`);
    assert.equal(seen.last, seq, 'mdt_events_last_notified_seq');
});

// The loop is not held by a query: every /healthz is answered while the
// 2 s query is still running (an ordering, not a timing: the box may be
// loaded; how fast is measured in scripts/bench, never here).
test('/healthz answers while a 2 s query is in flight', async () => {
    const t0 = performance.now();
    let sleepDoneAt = null;
    const slow = fetch(`${server.url}/api/v1/_test/sleep?ms=2000`).then(async (res) => {
        sleepDoneAt = performance.now();
        return { status: res.status, text: await res.text() };
    });
    await sleep(200); // let the query reach PostgreSQL
    const times = [];
    for (let i = 0; i < 5; i++) {
        const s = performance.now();
        const res = await fetch(`${server.url}/healthz`);
        await res.text();
        times.push(performance.now() - s);
        assert.equal(res.status, 200);
    }
    const triesDoneAt = performance.now();
    const slowRes = await slow;
    assert.equal(slowRes.status, 200, `sleep hook: ${slowRes.status} ${slowRes.text}`);
    assert.ok(sleepDoneAt - t0 >= 2000, `the sleep request took only ${Math.round(sleepDoneAt - t0)} ms`);
    assert.ok(
        triesDoneAt < sleepDoneAt,
        `the /healthz tries ended after the slow query (${times.map((x) => x.toFixed(1))} ms)`,
    );
});

// Heavy requests (reports, exports, the audit log; here the test hook) have
// their own queue and hold at most half the pool (MDT_DB_HEAVY_MAX, default
// pool / 2 = 2 of 4): four of them never stand in front of a light request.
// Orderings and lower bounds only, no upper time limits.
test('four held heavy requests take half the pool; /healthz is answered before the first ends', async () => {
    const t0 = performance.now();
    const ends = [];
    const slow = [0, 1, 2, 3].map(() =>
        fetch(`${server.url}/api/v1/_test/sleep?ms=2000`).then(async (res) => {
            ends.push(performance.now() - t0);
            return { status: res.status, text: await res.text() };
        }),
    );
    await sleep(300); // let them reach the pool
    for (let i = 0; i < 3; i++) {
        const res = await fetch(`${server.url}/healthz`);
        await res.text();
        assert.equal(res.status, 200);
    }
    const healthzDone = performance.now() - t0;
    const results = await Promise.all(slow);
    for (const r of results) assert.equal(r.status, 200, r.text);
    ends.sort((a, b) => a - b);
    assert.ok(healthzDone < ends[0], `/healthz done at ${Math.round(healthzDone)} ms, the first heavy request ended at ${Math.round(ends[0])} ms`);
    // two at a time: the last two could not start before the first two ended
    assert.ok(ends[3] >= 4000, `four 2 s heavy requests ended by ${Math.round(ends[3])} ms: more than two ran at once`);
});

test('WebSocket /ws: 401 without a session; ping answered with pong on a signed-in socket', async () => {
    await assert.rejects(wsConnect(`${server.url}/ws`, { origin: server.url }), (err) => {
        assert.equal(err.status, 401);
        return true;
    });

    const agencyId = await addAgency(dbUrl, { name: `Ping CAC ${process.pid}`, kind: 'cac' });
    const username = `ping${process.pid}`;
    await addUser(dbUrl, { username, displayName: 'Ping', agencyId, role: 'member' });
    const client = api(server.url);
    const login = await client.post('/api/v1/login', { username, password: DEFAULT_PASSWORD });
    assert.equal(login.status, 200, login.text);
    assert.equal((await client.get('/api/v1/me')).status, 200);
    const conn = await wsConnect(`${server.url}/ws`, { origin: server.url, cookie: client.cookie() });
    try {
        assert.equal(conn.protocol, 'mdtboard.v1');
        conn.send({ type: 'ping', id: 'x' });
        assert.deepEqual(await conn.next('pong', 2000), { type: 'pong', id: 'x' });
        conn.send({ type: 'ping', id: 'second' });
        assert.deepEqual(await conn.next('pong', 2000), { type: 'pong', id: 'second' });
    } finally {
        await conn.close();
    }
});

test('the server survives a PostgreSQL restart', async () => {
    const cluster = await startCluster();
    let srv;
    try {
        const db = await createDatabase({ adminUrl: cluster.adminUrl });
        srv = await startServer({ dbUrl: db });
        // /healthz polled until it answers `status` (or ms pass).
        const healthUntil = (status, ms, every) =>
            pollUntil(async () => {
                const res = await api(srv.url).get('/healthz');
                return { ...res, ok: res.status === status };
            }, ms, every);
        assert.equal((await healthUntil(200, 0)).status, 200);

        await cluster.stop();
        const down = await healthUntil(503, 1000);
        assert.equal(down.status, 503, `/healthz with the database down: ${down.status} ${down.text}`);
        assert.equal(down.json?.db, 'down', down.text);
        assert.ok(srv.alive(), 'the server exited when PostgreSQL stopped');

        await cluster.start();
        const up = await healthUntil(200, 10000, 100);
        assert.equal(up.status, 200, `/healthz 10 s after PostgreSQL came back: ${up.status} ${up.text}`);
        assert.equal(up.json?.db, 'ok');
        assert.ok(srv.alive());
    } finally {
        if (srv) await srv.stop();
        await cluster.destroy();
    }
});

test('SIGTERM: the server exits with code 0 within 5 s', async () => {
    const srv = await startServer({ dbUrl });
    const t0 = Date.now();
    const code = await srv.stop('SIGTERM', 5000); // 'SIGKILL' when it had to be killed
    assert.equal(code, 0, `exit ${code} after ${Date.now() - t0} ms`);
});
