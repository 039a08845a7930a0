// live_nodes.test.mjs - two `mdtboard serve` nodes on one database: a
// change made through node A reaches a subscriber on node B (LISTEN/NOTIFY,
// each node loads the event by seq); a client that reconnects to the other
// node with `since` resumes without a gap; a user deactivated through A has
// its socket on B closed with 4401. Concurrent creates through both nodes
// (some mentioning a user, whose notification event shares the create's
// ledger lock) leave the installation's seqs gap-free, each mention's event
// right after its entry's, one audit row per create and a chain that
// `mdtboard audit verify` accepts (docs/performance.md, "The create path").
//
// The WebSocket upgrade is authenticated from the node's session cache
// only, so a client calls GET /api/v1/me on a node (with the same cookie)
// before it opens a socket there (docs/architecture.md, "Sessions").

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { BIN, cliEnv, createDatabase, psql, servingUrl, sleep, startServer, wsConnect } from './lib/harness.mjs';
import { addUser } from './lib/fixtures.mjs';
import { BOARD_ENV, boardWorld, login, onNode } from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';

let dbUrl, A, B, w;
const as = {}; // sessions made on node A

before(async () => {
    dbUrl = await createDatabase();
    A = await startServer({ dbUrl, env: BOARD_ENV });
    B = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
    for (const key of ['cacSupervisor', 'cacMember', 'policeMember', 'cacAdmin']) as[key] = await login(A.url, w.users[key]);
});

after(async () => {
    for (const s of [A, B]) if (s) await s.stop();
});

async function open(client, node) {
    return wsConnect(node.url, { cookie: client.cookie(), origin: node.url });
}

async function subscribe(conn, caseId, since) {
    conn.send({ type: 'subscribe', case_id: caseId, since });
    const f = await conn.next((x) => ['subscribed', 'resync', 'error'].includes(x.type), 10000);
    assert.equal(f.type, 'subscribed', JSON.stringify(f));
    return f;
}

let n = 0;
async function newCase() {
    const res = await as.cacSupervisor.post('/api/v1/cases', {
        case_number: `N-${process.pid}-${++n}`,
        alias: 'N.N.',
        referral_date: today(-30),
        agencies: [w.agencies.police],
    });
    assert.equal(res.status, 201, res.text);
    const board = await as.cacSupervisor.get(`/api/v1/cases/${res.json.id}`);
    return { caseId: res.json.id, seq: board.json.seq };
}

async function postEntry(client, caseId, body_md) {
    const res = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md, visibility: 'mdt' });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

async function dbSeqs(caseId, since) {
    const out = await psql(
        dbUrl,
        `SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM events WHERE case_id = ${caseId} AND seq > ${since}`,
    );
    return out ? out.split(',').map(Number) : [];
}

const eventSeqs = (conn, caseId) => conn.frames.filter((f) => f.type === 'event' && f.case_id === caseId).map((f) => f.seq);

async function until(fn, ms, what) {
    const deadline = Date.now() + ms;
    while (!(await fn())) {
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await sleep(20);
    }
}

// streamReport(conns, names, caseId, expected) - for a failure message: per
// socket, the seqs of the case it lacks or got twice and every frame that is
// not an event (resync, error, close), beside what the events table holds.
async function streamReport(conns, names, caseId, expected) {
    const lines = [];
    for (const [i, c] of conns.entries()) {
        const got = eventSeqs(c, caseId);
        const have = new Set(got);
        const missing = expected.filter((s) => !have.has(s));
        const dup = got.filter((s, k) => got.indexOf(s) !== k);
        const other = c.frames.filter((f) => f.type !== 'event').map((f) => JSON.stringify(f));
        lines.push(`${names[i]}: ${got.length} events, last ${got.at(-1)}, missing [${missing}], twice [${dup}], socket ${c.ws.readyState === 1 ? 'open' : 'closed'}, other frames ${other.join(' ')}`);
    }
    const rows = await psql(dbUrl, `SELECT string_agg(seq || ':' || kind || ':' || coalesce(case_id::text, '-'), ' ' ORDER BY seq) FROM events WHERE seq > ${expected[0] - 1}`);
    lines.push(`events from seq ${expected[0]}: ${rows}`);
    return lines.join('\n');
}

test('the upgrade on node B needs the session in B\'s cache: 401 before GET /me there, open after', async () => {
    const fresh = await login(A.url, w.users.policeMember);
    await assert.rejects(open(fresh, B), (e) => e.status === 401);
    await onNode(fresh, B);
    const conn = await open(fresh, B);
    conn.send({ type: 'ping', id: 'b' });
    assert.deepEqual(await conn.next('pong'), { type: 'pong', id: 'b' });
    await conn.close();
});

test('an entry posted through node A reaches a subscriber on node B, as that subscriber may see it', async () => {
    const { caseId, seq } = await newCase();
    const policeB = await onNode(as.policeMember, B);
    const conn = await open(policeB, B);
    await subscribe(conn, caseId, seq);
    const e = await postEntry(as.cacMember, caseId, 'posted through A');
    const f = await conn.next((x) => x.type === 'event' && x.kind === 'entry.created', 5000);
    assert.equal(f.case_id, caseId);
    assert.deepEqual(f.data, e);
    assert.deepEqual(eventSeqs(conn, caseId), await dbSeqs(caseId, seq));
    // and the other way round: posted on B, seen on A
    const connA = await open(as.cacMember, A);
    await subscribe(connA, caseId, f.seq);
    const e2 = await postEntry(policeB, caseId, 'posted through B');
    const g = await connA.next((x) => x.type === 'event' && x.kind === 'entry.created', 5000);
    assert.deepEqual(g.data, e2);
    await conn.close();
    await connA.close();
});

test('a client that reconnects to the other node with since resumes without a gap', { timeout: 60000 }, async () => {
    const { caseId, seq } = await newCase();
    const policeB = await onNode(as.policeMember, B);
    // first on A
    let conn = await open(as.policeMember, A);
    await subscribe(conn, caseId, seq);
    const first = await postEntry(as.cacMember, caseId, 'first');
    await conn.next((x) => x.type === 'event' && x.data?.id === first.id, 5000);
    let seen = Math.max(...eventSeqs(conn, caseId));
    await conn.close();

    // missed while away, posted through A; back on B
    const watcherB = await open(policeB, B); // tells when B's feed has them
    await subscribe(watcherB, caseId, seen);
    for (let i = 0; i < 5; i++) await postEntry(as.cacMember, caseId, `away ${i}`);
    const missed = await dbSeqs(caseId, seen);
    assert.equal(missed.length, 5);
    await until(() => eventSeqs(watcherB, caseId).length === 5, 5000, 'node B to have the events');
    conn = await open(policeB, B);
    const sub = await subscribe(conn, caseId, seen);
    assert.deepEqual(eventSeqs(conn, caseId), missed, 'exactly the missed events, in order, before subscribed');
    assert.equal(sub.seq, missed.at(-1));

    // and without the sync: disconnect from B, post on A, resume on B at once
    seen = sub.seq;
    await conn.close();
    for (let i = 0; i < 20; i++) await postEntry(as.cacMember, caseId, `burst ${i}`);
    conn = await open(policeB, B);
    await subscribe(conn, caseId, seen);
    const expected = await dbSeqs(caseId, seen);
    await until(() => eventSeqs(conn, caseId).at(-1) === expected.at(-1), 5000, 'the resumed stream to catch up');
    await conn.barrier();
    assert.deepEqual(eventSeqs(conn, caseId), expected, 'no gap, no duplicate');
    await conn.close();
    await watcherB.close();
});

// auditVerify() - `mdtboard audit verify` on the test database as the
// serving role: {code, stdout, stderr}.
function auditVerify() {
    return new Promise((resolve) => {
        execFile(BIN, ['audit', 'verify'], { env: cliEnv(servingUrl(dbUrl)) }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
        );
    });
}

// The installation's events after seq as rows "seq kind case_id user_id object_id".
async function eventsAfter(seq) {
    const out = await psql(
        dbUrl,
        `SELECT string_agg(concat_ws(' ', seq, kind, coalesce(case_id, 0), coalesce(user_id, 0), coalesce(object_id, 0)), E'\\n' ORDER BY seq) FROM events WHERE seq > ${seq}`,
    );
    return out.split('\n').map((l) => {
        const [s, kind, caseId, userId, objectId] = l.split(' ');
        return { seq: Number(s), kind, caseId: Number(caseId), userId: Number(userId), objectId: Number(objectId) };
    });
}

test('concurrent writers on both nodes: subscribers on each node get every event once, in order; seqs gap-free, audit chain intact', { timeout: 60000 }, async () => {
    const { caseId, seq } = await newCase();
    const cacB = await onNode(as.cacMember, B);
    const policeB = await onNode(as.policeMember, B);
    const subs = [await open(as.cacMember, A), await open(policeB, B), await open(cacB, B)];
    for (const c of subs) await subscribe(c, caseId, seq);
    const mentioned = w.users.cacSupervisor;
    await Promise.all(
        [as.cacMember, as.policeMember, cacB, policeB].map(async (client, j) => {
            // every 4th entry mentions the supervisor: a notification event in the same transaction
            for (let i = 0; i < 40; i++) await postEntry(client, caseId, i % 4 === 0 ? `w${j} ${i} @${mentioned.username}` : `w${j} ${i}`);
        }),
    );
    const expected = await dbSeqs(caseId, seq);
    assert.equal(expected.length, 160);
    // installation-wide: no seq skipped or taken twice, each mention's event right after its entry's
    const events = await eventsAfter(seq);
    assert.deepEqual(events.map((e) => e.seq), events.map((_, k) => seq + 1 + k), 'gap-free seqs');
    const mentions = events.filter((e) => e.kind === 'notification.created');
    assert.equal(mentions.length, 40);
    for (const m of mentions) {
        const prev = events.find((e) => e.seq === m.seq - 1);
        assert.equal(prev.kind, 'entry.created', `the event before notification ${m.seq}`);
        assert.equal(m.userId, mentioned.userId);
    }
    const audited = await psql(dbUrl, `SELECT count(*) FROM audit WHERE action = 'entry.create' AND case_id = ${caseId} AND outcome = 'ok'`);
    assert.equal(Number(audited), 160);
    const v = await auditVerify();
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const names = ['cac on A', 'police on B', 'cac on B'];
    try {
        const caughtUp = () => {
            // a resync ends the subscription: waiting on would only time out
            if (subs.some((c) => c.frames.some((f) => f.type === 'resync'))) throw new Error('a subscriber was told to resync');
            return subs.every((c) => eventSeqs(c, caseId).at(-1) === expected.at(-1));
        };
        await until(caughtUp, 30000, 'every subscriber to catch up');
    } catch (err) {
        err.message += `\n${await streamReport(subs, names, caseId, expected)}`;
        throw err;
    }
    for (const c of subs) await c.barrier();
    for (const [i, c] of subs.entries()) assert.deepEqual(eventSeqs(c, caseId), expected, names[i]);
    for (const c of subs) await c.close();
});

test('a user deactivated through node A has its socket on node B closed with 4401', async () => {
    const username = `nodes_gone_${process.pid}`;
    const userId = await addUser(dbUrl, { agencyId: w.agencies.police, username });
    const client = await login(A.url, { username, password: w.users.policeMember.password });
    const onB = await onNode(client, B);
    const connB = await open(onB, B);
    const connA = await open(client, A);
    const list = await as.cacAdmin.get(`/api/v1/admin/users?agency_id=${w.agencies.police}&limit=500`);
    const u = list.json.items.find((x) => x.id === userId);
    const res = await as.cacAdmin.patch(`/api/v1/admin/users/${userId}`, { active: false, version: u.version });
    assert.equal(res.status, 200, res.text);
    for (const [where, c] of [['B', connB], ['A', connA]]) {
        const r = await Promise.race([c.closed, sleep(6000).then(() => null)]);
        assert.equal(r?.code, 4401, `node ${where}: ${JSON.stringify(r)}`);
    }
    assert.equal((await onB.get('/api/v1/me')).status, 401);
});

test('logout through node A closes that session\'s socket on node B with 4401', async () => {
    const client = await login(A.url, w.users.cacMember);
    const onB = await onNode(client, B);
    const connB = await open(onB, B);
    const out = await client.post('/api/v1/logout', {});
    assert.ok(out.status < 300, out.text);
    const r = await Promise.race([connB.closed, sleep(6000).then(() => null)]);
    assert.equal(r?.code, 4401, JSON.stringify(r));
});
