// workers.test.mjs - `mdtboard serve` with MDT_WORKERS=2: a supervisor and
// two worker processes sharing one port with SO_REUSEPORT (server/workers.c,
// docs/architecture.md "Process model").
//
// The kernel picks a worker per new TCP connection by a hash of the
// 4-tuple, so each probe here opens a fresh connection (httpRaw: no
// keep-alive agent). With two workers, 40 fresh connections all landing on
// one worker has probability 2 * 2^-40: "both workers answered" is
// asserted after at most that many.
//
// A worker authenticates a WebSocket upgrade from its own session cache
// (docs/architecture.md "Sessions"), as a node does: warm() loads a session
// into both workers' caches with GET /api/v1/me over fresh connections
// before sockets are opened. A socket on a worker that has not seen its
// session is let in while that worker loads it (its own tests below).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { BIN, childEnv, createDatabase, freePort, httpRaw, keyFile, psql, sleep, startServer, until, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, login } from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';

const ENV = { ...BOARD_ENV, MDT_WORKERS: '2' };
const FRESH_TRIES = 40;

let dbUrl, server, w;
const as = {};

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: ENV });
    w = await boardWorld(dbUrl);
    for (const key of ['cacSupervisor', 'cacMember', 'policeMember']) as[key] = await login(server.url, w.users[key]);
});

after(async () => {
    if (server?.alive()) await server.stop();
});

// healthz() - /healthz over a new TCP connection: {status, json}.
const healthz = () => httpRaw(`${server.url}/healthz`);

// warm(client) - GET /me over fresh connections until both workers have
// surely been asked (FRESH_TRIES of them; see the header).
async function warm(client) {
    for (let i = 0; i < FRESH_TRIES; i++) {
        const r = await httpRaw(`${server.url}/api/v1/me`, { headers: { Cookie: client.cookie() } });
        assert.equal(r.status, 200, r.text);
    }
}

// workerOf(conn) - the worker holding a socket, from its pong.
async function workerOf(conn) {
    const id = `w-${Math.random().toString(36).slice(2)}`;
    conn.send({ type: 'ping', id });
    const pong = await conn.next((f) => f.type === 'pong' && f.id === id, 5000);
    assert.equal(typeof pong.worker, 'number', JSON.stringify(pong));
    return pong.worker;
}

const open = (client) => wsConnect(server.url, { cookie: client.cookie(), origin: server.url });

// openOn(client, k) - a socket that landed on worker k (fresh connections
// until one does); the others are closed.
async function openOn(client, k) {
    for (let i = 0; i < FRESH_TRIES; i++) {
        const conn = await open(client);
        if ((await workerOf(conn)) === k) return conn;
        await conn.close();
    }
    throw new Error(`no socket landed on worker ${k} in ${FRESH_TRIES} tries`);
}

// postFresh(client, path, body) - a POST over a new connection (so the
// posts of a test go through either worker).
async function postFresh(client, p, body) {
    const r = await httpRaw(`${server.url}${p}`, {
        method: 'POST',
        headers: { Cookie: client.cookie(), 'X-CSRF-Token': client.csrf, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
    });
    assert.equal(r.status, 201, r.text);
    return r.json;
}

// workerPids() - worker index -> pid of its latest start, from the
// supervisor's "worker ready" lines.
function workerPids() {
    const pids = new Map();
    for (const m of server.stderr().matchAll(/msg="worker ready" worker_index=(\d+) pid=(\d+)/g)) pids.set(Number(m[1]), Number(m[2]));
    return pids;
}

const alive = (pid) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

test('/healthz over fresh connections is answered by both workers, each naming itself', async () => {
    const seen = new Set();
    for (let i = 0; i < FRESH_TRIES && seen.size < 2; i++) {
        const r = await healthz();
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.workers, 2);
        seen.add(r.json.worker);
    }
    assert.deepEqual([...seen].sort(), [0, 1]);
    // /metrics: every sample of the worker that answered carries its label
    const m = await httpRaw(`${server.url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.text, /^mdt_ws_connections\{worker="[01]"\} \d+$/m);
    assert.match(m.text, /^mdt_http_requests_total\{worker="[01]",route="\/healthz",method="GET",status="200"\} \d+$/m);
    // each worker's log lines carry its index; the supervisor's do not
    assert.match(server.stderr(), /msg="listening" worker=0 /);
    assert.match(server.stderr(), /msg="listening" worker=1 /);
    assert.match(server.stderr(), /msg="workers ready" workers=2/);
});

test('sockets on both workers get every entry once and in order; a restricted one only where allowed', { timeout: 120000 }, async () => {
    const created = await as.cacSupervisor.post('/api/v1/cases', {
        case_number: `W-${process.pid}`,
        alias: 'W.W.',
        referral_date: today(-30),
        agencies: [w.agencies.police],
    });
    assert.equal(created.status, 201, created.text);
    const caseId = created.json.id;
    const since = (await as.cacSupervisor.get(`/api/v1/cases/${caseId}`)).json.seq;
    await warm(as.cacMember);
    await warm(as.policeMember);
    const socks = [];
    for (let i = 0; i < 20; i++) {
        const who = i % 2 ? 'policeMember' : 'cacMember';
        const conn = await open(as[who]);
        conn.send({ type: 'subscribe', case_id: caseId, since });
        const f = await conn.next((x) => ['subscribed', 'error'].includes(x.type), 10000);
        assert.equal(f.type, 'subscribed', JSON.stringify(f));
        socks.push({ who, conn, worker: await workerOf(conn) });
    }
    // 20 sockets all on one worker: probability 2 * 2^-20
    assert.deepEqual([...new Set(socks.map((s) => s.worker))].sort(), [0, 1]);

    const posted = [];
    for (let i = 0; i < 4; i++) {
        const client = i % 2 ? as.policeMember : as.cacMember;
        posted.push(await postFresh(client, `/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: `shared ${i}`, visibility: 'mdt' }));
    }
    const secret = await postFresh(as.policeMember, `/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: 'police only', visibility: 'agency' });
    const tail = await postFresh(as.cacMember, `/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: 'tail', visibility: 'mdt' });
    const rows = await psql(
        dbUrl,
        `SELECT string_agg(seq || ':' || object_id, ',' ORDER BY seq) FROM events WHERE case_id = ${caseId} AND seq > ${since} AND kind = 'entry.created'`,
    );
    const bySeq = rows.split(',').map((x) => x.split(':').map(Number));
    const secretSeq = bySeq.find(([, id]) => id === secret.id)[0];
    const all = bySeq.map(([seq]) => seq);
    assert.equal(all.length, posted.length + 2);
    for (const s of socks) {
        await s.conn.next((f) => f.type === 'event' && f.kind === 'entry.created' && f.data.id === tail.id, 10000);
        await s.conn.barrier();
        const got = s.conn.frames.filter((f) => f.type === 'event' && f.kind === 'entry.created').map((f) => f.seq);
        const want = s.who === 'policeMember' ? all : all.filter((q) => q !== secretSeq);
        assert.deepEqual(got, want, `${s.who} on worker ${s.worker}`);
    }
    for (const s of socks) await s.conn.close();
});

// A worker authenticates an upgrade from its own session cache, and the
// kernel (not a cookie hash) picks the worker, so the client's GET /me or
// login may have reached the other one. With MDT_WORKERS > 1 such a socket
// is upgraded with reading paused while the worker loads the session from
// the database (docs/architecture.md "Process model"): it gets in at once,
// and a frame it sends meanwhile is read once the session is known.
test('a socket on a worker that has not seen its session gets in at once, without GET /me', async () => {
    const fresh = await login(server.url, w.users.policeMember); // cached by the worker that answered the login only
    const workers = new Set();
    for (let i = 0; i < FRESH_TRIES && workers.size < 2; i++) {
        const conn = await open(fresh); // throws on a refused upgrade (401)
        conn.send({ type: 'ping', id: `first-${i}` }); // sent while the session may still be loading
        const pong = await conn.next((f) => f.type === 'pong' && f.id === `first-${i}`, 5000);
        workers.add(pong.worker);
        await conn.close();
    }
    assert.deepEqual([...workers].sort(), [0, 1]);
});

// The same path never lets in a session that is not live: a logged-out
// session's socket is upgraded (the worker cannot know before asking the
// database), sent nothing, and closed 4401 "session ended" on either
// worker; a request without a well-formed session cookie is still 401.
test('a dead session\'s socket on a worker that has not seen it is closed 4401 and sent nothing', async () => {
    const gone = await login(server.url, w.users.policeMember);
    const cookie = gone.cookie(); // the logout answer clears it from the client
    const out = await gone.post('/api/v1/logout', {});
    assert.ok(out.status === 200 || out.status === 204, out.text);
    const codes = new Set();
    for (let i = 0; i < 12; i++) {
        let conn;
        try {
            conn = await wsConnect(server.url, { cookie, origin: server.url });
        } catch (e) {
            assert.equal(e.status, 401, e.message); // a worker that still knew it was ended
            codes.add(401);
            continue;
        }
        conn.send({ type: 'ping', id: 'never' });
        const closed = await conn.closed;
        assert.equal(closed.code, 4401);
        assert.equal(closed.reason, 'session ended');
        assert.deepEqual(conn.frames, [], 'nothing is sent before the session is known');
        codes.add(4401);
    }
    assert.ok(codes.has(4401), [...codes].join(','));
    await assert.rejects(
        wsConnect(server.url, { cookie: 'mdt_session=not-a-session-token', origin: server.url }),
        (e) => e.status === 401,
    );
});

test('SIGHUP reaches both workers: each reloads the key file', async () => {
    server.proc.kill('SIGHUP');
    await until(() => /msg="key file reloaded[^"]*" worker=0 /.test(server.stderr()), 10000, 'worker 0 to reload');
    await until(() => /msg="key file reloaded[^"]*" worker=1 /.test(server.stderr()), 10000, 'worker 1 to reload');
    assert.match(server.stderr(), /msg="forwarding SIGHUP to the workers" workers=2/);
    assert.ok(server.alive());
});

test('kill -9 of a worker: logged and restarted, /healthz answers throughout, a new socket works', { timeout: 120000 }, async () => {
    await warm(as.policeMember);
    const victim = workerPids().get(1);
    assert.ok(victim > 0);
    const conn = await openOn(as.policeMember, 1);

    // /healthz one fresh connection at a time while the worker dies and
    // comes back. SO_REUSEPORT: a connection the kernel queued on the dead
    // worker's socket before the process's descriptors were closed (its
    // exit can take a while, e.g. under ASan) is reset; every connection
    // begun after that reaches a live worker. The supervisor logs the death
    // only after the exit (SIGCHLD), so every failed request must have
    // begun before that line appeared.
    const answers = [];
    const failedAt = [];
    let diedSeenAt = Infinity;
    let polling = true;
    const poller = (async () => {
        while (polling) {
            const t0 = Date.now();
            const r = await healthz().catch(() => null);
            if (r?.status === 200) answers.push(r.json.worker);
            else failedAt.push(t0);
        }
    })();
    await sleep(100);
    process.kill(victim, 'SIGKILL');
    await until(() => server.stderr().includes(`msg="worker died: restarting it" worker_index=1 pid=${victim}`), 30000, 'the death to be logged');
    diedSeenAt = Date.now();
    const closed = await conn.closed;
    assert.equal(closed.code, 1006);
    await until(() => workerPids().get(1) !== victim, 30000, 'worker 1 to be restarted');
    const before = answers.length;
    await until(() => answers.slice(before).includes(1), 20000, 'the new worker 1 to answer /healthz');
    polling = false;
    await poller;
    assert.ok(failedAt.every((t) => t < diedSeenAt), `requests failed after the death was logged: ${failedAt.map((t) => t - diedSeenAt)} ms`);
    assert.ok(answers.length > 10);
    assert.match(server.stderr(), new RegExp(`msg="worker died: restarting it" worker_index=1 pid=${victim} exit=-1 signal=9`));
    assert.ok(!alive(victim));

    await warm(as.policeMember);
    const again = await openOn(as.policeMember, 1); // answered its ping: it works
    await again.close();
});

test('SIGTERM to the supervisor: both workers drain, it exits 0, no process is left', async () => {
    const pids = [...workerPids().values()];
    assert.equal(pids.length, 2);
    assert.ok(pids.every(alive));
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.ok(!alive(server.proc.pid));
    for (const pid of pids) assert.ok(!alive(pid), `worker ${pid} still running`);
    const stops = server.stderr().match(/msg="worker stopped" worker_index=\d pid=\d+ exit=0 signal=0/g) ?? [];
    assert.equal(stops.length, 2);
});

test('MDT_WORKERS outside 1..64 or not a number is refused with exit code 2', async () => {
    for (const v of ['0', '65', 'abc', '2x', '-1']) {
        const proc = spawn(BIN, ['serve'], {
            env: childEnv({ MDT_WORKERS: v, MDT_DATABASE_URL: 'postgresql:///nowhere', MDT_KEY_FILE: keyFile() }),
            stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        proc.stderr.setEncoding('utf8').on('data', (d) => (err += d));
        const code = await new Promise((resolve) => proc.on('exit', resolve));
        assert.equal(code, 2, `MDT_WORKERS=${v}: ${err}`);
        assert.match(err, /MDT_WORKERS must be an integer from 1 to 64, or auto/);
    }
    const proc = spawn(BIN, ['serve'], {
        env: childEnv({ MDT_WORKERS: '2', MDT_LISTEN: '127.0.0.1:0', MDT_DATABASE_URL: 'postgresql:///nowhere', MDT_KEY_FILE: keyFile() }),
        stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    assert.equal(await new Promise((resolve) => proc.on('exit', resolve)), 2);
    assert.match(err, /needs a fixed port/);
});

test('MDT_WORKERS=auto runs one worker per online CPU', async () => {
    const cpus = os.cpus().length; // sysconf(_SC_NPROCESSORS_ONLN), as the server reads it
    const auto = await startServer({ dbUrl, env: { ...ENV, MDT_WORKERS: 'auto' } });
    try {
        const r = await httpRaw(`${auto.url}/healthz`);
        assert.equal(r.status, 200);
        assert.equal(r.json.workers, cpus > 1 ? Math.min(cpus, 64) : undefined); // one CPU: the single process
    } finally {
        assert.equal(await auto.stop(), 0);
    }
});

test('a worker that cannot start stops the others and the supervisor exits non-zero with its reason', async () => {
    const bad = await createDatabase({ migrate: false });
    const proc = spawn(BIN, ['serve'], {
        env: childEnv({ ...ENV, MDT_LISTEN: `127.0.0.1:${await freePort()}`, MDT_DATABASE_URL: bad, MDT_KEY_FILE: keyFile() }),
        stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const code = await new Promise((resolve) => proc.on('exit', resolve));
    assert.equal(code, 1, err);
    assert.match(err, /mdtboard: reading the schema version failed/); // the worker's own reason
    assert.match(err, /msg="worker failed to start: stopping the others" worker_index=\d pid=\d+ exit=1/);
});

// The restart budget (docs/architecture.md, "Process model"): a worker that
// dies after start-up is restarted, up to 5 times in 60 s; the sixth death
// within the window stops everything with exit 1, so systemd's
// Restart=on-failure takes over instead of a crash loop inside the unit.
test('a worker that keeps dying: restarted five times, the sixth death stops the supervisor with exit 1', { timeout: 120000 }, async () => {
    const own = await startServer({ dbUrl, env: ENV });
    const pidsOf = () => {
        const m = new Map();
        for (const x of own.stderr().matchAll(/msg="worker ready" worker_index=(\d+) pid=(\d+)/g)) m.set(Number(x[1]), Number(x[2]));
        return m;
    };
    try {
        // startServer returns once one worker answers: wait for both to have said ready
        await until(() => pidsOf().size === 2, 30000, 'both workers ready');
        for (let death = 1; death <= 6; death++) {
            const victim = pidsOf().get(0);
            assert.ok(victim > 0, `death ${death}: worker 0 is running`);
            process.kill(victim, 'SIGKILL');
            await until(() => own.stderr().includes(`msg="worker died: restarting it" worker_index=0 pid=${victim}`), 30000, `death ${death} to be logged`);
            if (death < 6) {
                await until(() => pidsOf().get(0) !== victim, 30000, `restart ${death}`);
                assert.ok(own.alive(), `the supervisor is still up after death ${death}`);
            }
        }
        assert.equal(await own.exited, 1);
        assert.match(own.stderr(), /msg="workers keep dying: stopping" restarts=5 window_s=60/);
        const restarts = own.stderr().match(/msg="worker ready" worker_index=0 /g) ?? [];
        assert.equal(restarts.length, 6, 'the first start and five restarts');
        for (const pid of pidsOf().values()) {
            let gone = false;
            try {
                process.kill(pid, 0);
            } catch {
                gone = true;
            }
            assert.ok(gone, `worker ${pid} left running`);
        }
    } finally {
        if (own.alive()) await own.stop();
    }
});
