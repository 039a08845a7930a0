// faults.test.mjs - writes and live delivery survive a PostgreSQL restart
// and a SIGKILL of the server in the middle of traffic.
//
// Ten writers post entries (visible to every agency, or to the author's
// agency only) into one case while three subscribers of three agencies
// follow it. PostgreSQL is restarted, then the server is killed with
// SIGKILL and started again on the same port; the subscribers reconnect by
// themselves and resume with `since`. Afterwards: every acknowledged write
// is in the database exactly once, no write is there twice, and every
// subscriber received exactly the events its agency may see, each once, in
// seq order — nothing lost, nothing duplicated, nothing leaked.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, freePort, psql, sleep, startCluster, startServer, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from './lib/board_fixtures.mjs';

const WRITERS = 10;
const PHASE_MS = 1500;

let cluster, dbUrl, port, server, w, caseId;

before(async () => {
    cluster = await startCluster();
    dbUrl = await createDatabase({ adminUrl: cluster.adminUrl });
    port = await freePort();
    server = await startServer({ dbUrl, port, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
    caseId = await createCase(server.url, dbUrl, {
        lead: w.users.cacSupervisor,
        agencies: [w.agencies.police, w.agencies.dcf],
    });
});

after(async () => {
    await server?.stop();
    await cluster?.destroy();
});

// A writer posts entries one after another until stopped, and remembers
// what it attempted and what was acknowledged (201 with the entry).
function writer(client, n, stopped) {
    const log = { attempted: [], acked: new Map() }; // acked: marker -> entry id
    const done = (async () => {
        for (let i = 0; !stopped(); i++) {
            const marker = `W${n}x${i}x${process.pid}`;
            const visibility = i % 3 === 2 ? 'agency' : 'mdt';
            log.attempted.push(marker);
            try {
                const res = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: marker, visibility });
                if (res.status === 201) log.acked.set(marker, res.json.id);
                else await sleep(50); // 503 while the database or the server is down
            } catch {
                await sleep(50); // the server is not there
            }
        }
    })();
    return { log, done };
}

// A subscriber that reconnects by itself (/me first, then the socket) and
// resumes with since = the last seq it saw, like the web app does. It keeps
// the seqs of the entry.created events it receives; sub.ready resolves at
// the first `subscribed`.
function subscriber(client) {
    const sub = { events: [], frames: [], lastSeq: null, conn: null, stopped: false, reconnects: 0 };
    let ready;
    sub.ready = new Promise((resolve) => (ready = resolve));
    sub.done = (async () => {
        while (!sub.stopped) {
            try {
                const me = await client.get('/api/v1/me');
                if (me.status !== 200) throw new Error(`/me ${me.status}`);
                const conn = await wsConnect(server.url, { cookie: client.cookie(), origin: server.url });
                sub.conn = conn;
                conn.ws.on('message', (data) => {
                    const f = JSON.parse(data.toString());
                    // every frame but events and pongs, for the failure message
                    if (f.type !== 'event' && f.type !== 'pong') sub.frames.push(JSON.stringify(f).slice(0, 200));
                    if (f.type !== 'event' || f.case_id !== caseId) return;
                    if (f.kind === 'entry.created') sub.events.push(f.seq);
                    sub.lastSeq = Math.max(sub.lastSeq, f.seq);
                });
                const msg = { type: 'subscribe', case_id: caseId };
                if (sub.lastSeq !== null) msg.since = sub.lastSeq;
                conn.send(msg);
                const f = await conn.next((x) => x.type === 'subscribed' || x.type === 'resync' || x.type === 'error', 10000);
                assert.equal(f.type, 'subscribed', JSON.stringify(f));
                sub.lastSeq = Math.max(sub.lastSeq ?? 0, f.seq);
                ready();
                await conn.closed;
                if (!sub.stopped) sub.reconnects++;
            } catch (err) {
                sub.frames.push(`(reconnect failed: ${String(err?.message ?? err).slice(0, 120)})`);
                await sleep(100);
            }
        }
    })();
    return sub;
}

// The seqs of the case's entry events that the given agency may see.
async function visibleSeqs(agencyId) {
    const out = await psql(
        dbUrl,
        `SELECT coalesce(string_agg(ev.seq::text, ',' ORDER BY ev.seq), '')
           FROM events ev JOIN entries e ON e.id = ev.object_id
          WHERE ev.case_id = ${caseId} AND ev.kind = 'entry.created'
            AND (e.visibility = 'mdt' OR e.agency_id = ${agencyId})`,
    );
    return out ? out.split(',').map(Number) : [];
}

test('PostgreSQL restart and SIGKILL mid-traffic: acknowledged writes kept once, events delivered once, in order', async (t) => {
    const agencies = { cac: w.agencies.cac, police: w.agencies.police, dcf: w.agencies.dcf };
    const members = { cac: w.users.cacMember, police: w.users.policeMember, dcf: w.users.dcfMember };
    const subs = {};
    for (const key of Object.keys(members)) subs[key] = subscriber(await login(server.url, members[key]));
    await Promise.all(Object.values(subs).map((x) => x.ready));
    const keys = Object.keys(members);
    const writers = [];
    let stop = false;
    for (let n = 0; n < WRITERS; n++) writers.push(writer(await login(server.url, members[keys[n % 3]]), n, () => stop));

    const t0 = Date.now();
    const took = [];
    const mark = (what) => took.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(PHASE_MS);
    await cluster.stop(); // the database goes away mid-traffic ...
    mark('database stopped');
    await sleep(500);
    await cluster.start(); // ... and comes back
    mark('database started');
    await sleep(PHASE_MS);
    assert.equal(await server.stop('SIGKILL'), 'SIGKILL');
    server = await startServer({ dbUrl, port, env: BOARD_ENV });
    mark('server killed and started');
    await sleep(PHASE_MS);
    stop = true;
    await Promise.all(writers.map((x) => x.done));
    mark('writers done');

    // Every write: acknowledged ones exactly once, the others at most once.
    // Read back through the API (bodies are sealed at rest): the three
    // agencies' boards together hold every entry of the case.
    const byId = new Map();
    for (const key of keys) {
        const board = await (await login(server.url, members[key])).get(`/api/v1/cases/${caseId}`);
        assert.equal(board.status, 200, board.text);
        for (const e of board.json.entries) byId.set(e.id, e.body_md);
    }
    assert.equal(Number(await psql(dbUrl, `SELECT count(*) FROM entries WHERE case_id = ${caseId}`)), byId.size);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM entries WHERE case_id = ${caseId} AND body_md NOT LIKE 'mdtenc1:%'`), '0');
    const counts = new Map();
    for (const m of byId.values()) counts.set(m, (counts.get(m) ?? 0) + 1);
    let attempted = 0;
    let acked = 0;
    for (const { log } of writers) {
        attempted += log.attempted.length;
        acked += log.acked.size;
        for (const m of log.attempted) assert.ok((counts.get(m) ?? 0) <= 1, `${m} stored twice`);
        for (const [m, id] of log.acked) {
            assert.equal(counts.get(m), 1, `acknowledged ${m} not found exactly once`);
            assert.equal(byId.get(id), m);
        }
    }
    const found = [...counts.values()].reduce((a, b) => a + b, 0);
    assert.ok(acked > 0 && acked < attempted + 1);

    // Every subscriber: exactly its agency's events, once each, in order.
    const totals = { delivered: 0, duplicated: 0, lost: 0, reconnects: 0 };
    for (const key of keys) {
        const expected = await visibleSeqs(agencies[key]);
        const sub = subs[key];
        const deadline = Date.now() + 20000;
        while (sub.lastSeq < expected.at(-1) && Date.now() < deadline) await sleep(50);
        await sub.conn.barrier();
        sub.stopped = true;
        sub.conn.close();
        await sub.done;
        const got = sub.events;
        totals.delivered += got.length;
        totals.duplicated += got.length - new Set(got).size;
        totals.lost += expected.filter((s) => !got.includes(s)).length;
        totals.reconnects += sub.reconnects;
        const missing = expected.filter((s) => !got.includes(s));
        assert.deepEqual(
            got,
            expected,
            `${key}: every visible event once, in order; missing ${missing.length} ` +
                `(first ${missing.slice(0, 5)}), last seen ${sub.lastSeq}, reconnects ${sub.reconnects}, ` +
                `other frames: ${sub.frames.slice(-12).join(' ')}`,
        );
    }
    assert.ok(totals.reconnects >= 3, 'every subscriber reconnected after the SIGKILL');
    mark('subscribers checked');
    t.diagnostic(took.join(', '));
    t.diagnostic(
        `writes attempted ${attempted}, acknowledged ${acked}, found ${found}; ` +
            `events delivered ${totals.delivered}, duplicated ${totals.duplicated}, lost ${totals.lost}; reconnects ${totals.reconnects}`,
    );
});
