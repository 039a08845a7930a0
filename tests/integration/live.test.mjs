// live.test.mjs - the live board over WebSocket (/ws, subprotocol
// mdtboard.v1) against the real binary and PostgreSQL: the upgrade's
// checks; frames and errors; subscriptions with `since` replay; per-agency
// filtering of every event (no byte of a restricted entry reaches another
// agency); ordering and exactly-once delivery under concurrent writers and
// while a replay runs; access.revoked on consent revocation, consent
// expiry, narrowing and removal from the case; a reader that never reads
// (resync, bounded server memory); sockets closed with 4401 when their
// session ends; presence.
//
// The world (board_fixtures.mjs): five agencies (cac, police, dcf, legal,
// hospital); each test makes its own case. Servers run with
// MDT_MFA_REQUIRED_KINDS=other so police users need no TOTP.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { createDatabase, psql, sleep, startServer, until, wsConnect } from './lib/harness.mjs';
import { addUser } from './lib/fixtures.mjs';
import { BOARD_ENV, boardWorld, login } from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';

let dbUrl, server, w;
const as = {}; // logged-in clients by user key (sessions on `server`)

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);
});

after(async () => {
    if (server) await server.stop();
});

// ---- helpers -------------------------------------------------------------------------------

let caseCounter = 0;

// newCase(agencyKeys, lead) - a case led by lead's agency (a supervisor's
// client) with those agencies on it. Resolves its id.
async function newCase(agencyKeys, lead = as.cacSupervisor) {
    const agencies = agencyKeys.map((k) => w.agencies[k]);
    const res = await lead.post('/api/v1/cases', {
        case_number: `L-${process.pid}-${++caseCounter}`,
        alias: `L.V. ${caseCounter}`,
        referral_date: today(-30),
        agencies,
    });
    assert.equal(res.status, 201, res.text);
    return res.json.id;
}

async function boardSeq(client, caseId) {
    const res = await client.get(`/api/v1/cases/${caseId}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof res.json.seq, 'number');
    return res.json;
}

// open(client, base) - a socket with client's session cookie and the right
// Origin; conn.raw keeps every byte read from the TCP connection after the
// upgrade, to scan for what must never arrive.
async function open(client, base = server.url) {
    const conn = await wsConnect(base, { cookie: client.cookie(), origin: base });
    conn.raw = [];
    conn.ws._socket.on('data', (b) => conn.raw.push(Buffer.from(b)));
    conn.rawText = () => Buffer.concat(conn.raw).toString('latin1');
    return conn;
}

// subscribe(conn, caseId, since) - resolves the `subscribed` frame.
async function subscribe(conn, caseId, since, ms = 10000) {
    const msg = { type: 'subscribe', case_id: caseId };
    if (since !== undefined) msg.since = since;
    conn.send(msg);
    const f = await conn.next((x) => (x.type === 'subscribed' || x.type === 'error' || x.type === 'resync') && (x.case_id === caseId || x.type === 'error'), ms);
    assert.equal(f.type, 'subscribed', `subscribe ${caseId}: ${JSON.stringify(f)}`);
    return f;
}

const eventsOf = (conn, caseId) => conn.frames.filter((f) => f.type === 'event' && f.case_id === caseId);
const lastSeq = (conn, caseId) => eventsOf(conn, caseId).reduce((m, f) => Math.max(m, f.seq), 0);

async function postEntry(client, caseId, body_md, visibility = 'mdt', extra = {}) {
    const res = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md, visibility, ...extra });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

// The seq of the event that created/changed object (kind, id).
async function seqOf(kind, id) {
    return Number(await psql(dbUrl, `SELECT max(seq) FROM events WHERE kind = '${kind}' AND object_id = ${Number(id)}`));
}

// Every event seq of the case after `since`, from the events table.
async function dbSeqs(caseId, since) {
    const out = await psql(
        dbUrl,
        `SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM events WHERE case_id = ${Number(caseId)} AND seq > ${Number(since)}`,
    );
    return out ? out.split(',').map(Number) : [];
}

// Strictly increasing, no duplicates, and exactly `expected`.
function assertExactly(seqs, expected, who) {
    for (let i = 1; i < seqs.length; i++) {
        assert.ok(seqs[i] > seqs[i - 1], `${who}: seq ${seqs[i]} after ${seqs[i - 1]} (not strictly increasing)`);
    }
    const got = new Set(seqs);
    const missing = expected.filter((s) => !got.has(s));
    const exp = new Set(expected);
    const extra = seqs.filter((s) => !exp.has(s));
    assert.deepEqual({ missing: missing.slice(0, 20), extra: extra.slice(0, 20) }, { missing: [], extra: [] }, `${who}: ${seqs.length} received, ${expected.length} expected`);
    assert.equal(seqs.length, expected.length, `${who}: count`);
}

// A light socket for heavy streams: keeps only what each frame is, not its data.
function lightConnect(base, client, { origin = base } = {}) {
    const ws = new WebSocket(base.replace(/^http/, 'ws'), ['mdtboard.v1'], {
        headers: { Cookie: client.cookie() },
        origin,
        perMessageDeflate: false,
    });
    const conn = { ws, frames: [], bytes: 0, closeInfo: null };
    conn.closed = new Promise((resolve) =>
        ws.on('close', (code, reason) => resolve((conn.closeInfo = { code, reason: reason.toString() }))),
    );
    ws.on('message', (data) => {
        conn.bytes += data.length;
        // events can be large: read what we keep from their head only (the
        // server writes type, seq, case_id, kind, then data starting with id)
        const head = data.subarray(0, 300).toString('latin1');
        if (head.startsWith('{"type":"event"')) {
            const num = (re) => (re.exec(head) ? Number(re.exec(head)[1]) : undefined);
            conn.frames.push({
                type: 'event',
                seq: num(/"seq":(\d+)/),
                case_id: num(/"case_id":(\d+)/),
                kind: /"kind":"([a-z_.]+)"/.exec(head)?.[1],
                id: num(/"data":\{"id":(\d+)/),
                code: undefined,
            });
            return;
        }
        const f = JSON.parse(data.toString());
        conn.frames.push({ type: f.type, seq: f.seq, case_id: f.case_id, kind: f.kind, id: f.data?.id, code: f.code });
    });
    ws.on('error', () => {});
    conn.opened = new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('unexpected-response', (req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    conn.send = (o) => ws.send(JSON.stringify(o));
    return conn;
}

// Every object (deep) in frames whose `id` is id.
function objectsWithId(frames, id) {
    const out = [];
    const walk = (v) => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
            if (v.id === id) out.push(v);
            Object.values(v).forEach(walk);
        }
    };
    walk(frames);
    return out;
}

function rssMiB(pid) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
}

// ---- the upgrade and frames ----------------------------------------------------------------

test('upgrade: wrong Origin 403, no or unknown session 401, a valid one opens; ping, bad frames, errors', async () => {
    const caseId = await newCase(['police']);
    const cookie = as.cacMember.cookie();
    await assert.rejects(wsConnect(server.url, { cookie, origin: 'http://evil.example' }), (e) => e.status === 403);
    await assert.rejects(wsConnect(server.url, { cookie }), (e) => e.status === 403, 'no Origin at all');
    await assert.rejects(wsConnect(server.url, { origin: server.url }), (e) => e.status === 401);
    await assert.rejects(wsConnect(server.url, { cookie, origin: server.url, protocol: null }), (e) => e.status === 400, 'no subprotocol');
    await assert.rejects(wsConnect(server.url, { cookie, origin: server.url, protocol: 'mdtboard.v2' }), (e) => e.status === 400, 'another subprotocol');
    await assert.rejects(
        wsConnect(server.url, { cookie: `mdt_session=${'ab'.repeat(32)}`, origin: server.url }),
        (e) => e.status === 401,
    );
    await assert.rejects(
        wsConnect(server.url, { cookie: `other=1; x_mdt_session=${cookie.split('=')[1]}`, origin: server.url }),
        (e) => e.status === 401,
        'the cookie is matched by its exact name',
    );

    const conn = await open(as.cacMember);
    assert.equal(conn.protocol, 'mdtboard.v1');
    conn.send({ type: 'ping', id: 'x' });
    assert.deepEqual(await conn.next('pong'), { type: 'pong', id: 'x' });

    conn.send('this is not json');
    let err = await conn.next('error');
    assert.equal(err.code, 'bad_request', JSON.stringify(err));
    assert.equal(typeof err.message, 'string');
    for (const bad of ['[1,2]', '{"no_type":1}', '{"type":"frobnicate"}', '{"type":"subscribe","case_id":"x"}',
        '{"type":"subscribe","case_id":-3}', `{"type":"subscribe","case_id":${caseId},"since":"yesterday"}`]) {
        conn.send(bad);
        err = await conn.next('error');
        assert.equal(err.code, 'bad_request', `${bad}: ${JSON.stringify(err)}`);
    }
    conn.send({ type: 'ping', id: 'still-there' });
    assert.deepEqual(await conn.next('pong'), { type: 'pong', id: 'still-there' }, 'the socket stays usable');

    // a case the user's agency is not on, and one that does not exist, answer the same
    const hidden = await newCase(['dcf'], as.policeSupervisor);
    for (const id of [hidden, 987654321]) {
        conn.send({ type: 'subscribe', case_id: id, since: 0 });
        err = await conn.next('error', 5000);
        assert.equal(err.code, 'not_found', JSON.stringify(err));
        assert.ok(!JSON.stringify(err).includes('L-'), 'nothing about the case is told');
    }
    assert.ok(!conn.frames.some((f) => f.type === 'event'), 'no event of a case the user may not see');

    // 64 subscriptions per socket, the 65th is refused; the socket stays usable
    const ids = [];
    for (let i = 0; i < 64; i++) ids.push(await newCase(['police']));
    // one at a time (subscribe messages are rate limited: flood.test.mjs),
    // again after a `rate_limited` once the bucket refilled
    for (const id of ids) {
        for (;;) {
            conn.send({ type: 'subscribe', case_id: id });
            const f = await conn.next((x) => (x.type === 'subscribed' && x.case_id === id) || x.type === 'error', 10000);
            if (f.type === 'subscribed') break;
            assert.equal(f.code, 'rate_limited', JSON.stringify(f));
            await sleep(200);
        }
    }
    await sleep(1000); // the buckets refill
    conn.send({ type: 'subscribe', case_id: ids[0] }); // again: a no-op answered subscribed, does not count twice
    await conn.next((f) => f.type === 'subscribed' && f.case_id === ids[0], 5000);
    conn.send({ type: 'subscribe', case_id: caseId });
    err = await conn.next('error', 5000);
    assert.equal(err.code, 'too_many_subscriptions', JSON.stringify(err));
    conn.send({ type: 'unsubscribe', case_id: ids[5] });
    await subscribe(conn, caseId);
    conn.send({ type: 'ping', id: 'y' });
    assert.deepEqual(await conn.next('pong'), { type: 'pong', id: 'y' });
    await conn.close();
});

// ---- who sees what ---------------------------------------------------------------------------

test('two agencies on one case receive exactly the events each may see; not one byte of a police-only entry reaches the CAC', async () => {
    const caseId = await newCase(['police']);
    const since = (await boardSeq(as.policeMember, caseId)).seq;
    const police = await open(as.policeMember);
    const cac = await open(as.cacMember);
    const ps = await subscribe(police, caseId, since);
    const cs = await subscribe(cac, caseId, since);
    assert.deepEqual(ps, { type: 'subscribed', case_id: caseId, seq: since });
    assert.deepEqual(cs, { type: 'subscribed', case_id: caseId, seq: since });

    const marker = `WARRANT-${Math.random().toString(36).slice(2)}-PENDING`;
    const secret = await postEntry(as.policeMember, caseId, `Police only: ${marker}`, 'agency');
    const shared = await postEntry(as.policeMember, caseId, 'Shared with the team.', 'mdt');
    const actRes = await as.policeMember.post(`/api/v1/cases/${caseId}/actions`, {
        title: 'Schedule the interview',
        assignee_agency_id: w.agencies.police,
        visibility: 'mdt',
    });
    assert.equal(actRes.status, 201, actRes.text);
    const action = actRes.json;
    const actMarker = `ACT-${Math.random().toString(36).slice(2)}`;
    const secretAct = await as.policeMember.post(`/api/v1/cases/${caseId}/actions`, {
        title: `Surveillance ${actMarker}`,
        assignee_agency_id: w.agencies.police,
        visibility: 'agency',
    });
    assert.equal(secretAct.status, 201, secretAct.text);
    const tail = await postEntry(as.cacMember, caseId, 'The last one.', 'mdt');
    const seqs = {
        secret: await seqOf('entry.created', secret.id),
        shared: await seqOf('entry.created', shared.id),
        action: await seqOf('action.created', action.id),
        secretAct: await seqOf('action.created', secretAct.json.id),
        tail: await seqOf('entry.created', tail.id),
    };

    // everyone gets events in seq order, so once the tail arrived nothing earlier is still coming
    await until(() => lastSeq(police, caseId) >= seqs.tail && lastSeq(cac, caseId) >= seqs.tail, 5000, 'the tail entry on both sockets');
    await police.barrier();
    await cac.barrier();

    const pe = eventsOf(police, caseId);
    assert.deepEqual(pe.map((f) => [f.seq, f.kind, f.data.id]), [
        [seqs.secret, 'entry.created', secret.id],
        [seqs.shared, 'entry.created', shared.id],
        [seqs.action, 'action.created', action.id],
        [seqs.secretAct, 'action.created', secretAct.json.id],
        [seqs.tail, 'entry.created', tail.id],
    ]);
    // data is the object as REST gives it to that caller
    assert.deepEqual(pe[0].data, secret);
    assert.deepEqual(pe[1].data, shared);
    assert.deepEqual(pe[2].data, action);
    const board = await boardSeq(as.policeMember, caseId);
    assert.deepEqual(pe[0].data, board.entries.find((e) => e.id === secret.id));
    for (const f of pe) assert.deepEqual(Object.keys(f).sort(), ['case_id', 'data', 'kind', 'seq', 'type']);

    const ce = eventsOf(cac, caseId);
    assert.deepEqual(ce.map((f) => [f.seq, f.kind, f.data.id]), [
        [seqs.shared, 'entry.created', shared.id],
        [seqs.action, 'action.created', action.id],
        [seqs.tail, 'entry.created', tail.id],
    ]);
    const cacBoard = await boardSeq(as.cacMember, caseId);
    assert.deepEqual(ce[0].data, cacBoard.entries.find((e) => e.id === shared.id));
    assert.deepEqual(ce[1].data, cacBoard.actions.find((a) => a.id === action.id));

    // scan every byte the CAC received: no marker, no id, no seq of the restricted items
    const raw = cac.rawText();
    assert.ok(!raw.includes(marker), 'the restricted entry\'s text reached the CAC');
    assert.ok(!raw.includes(actMarker), 'the restricted action\'s title reached the CAC');
    // an id may legitimately appear as another object's id (a user, an agency): every raw
    // occurrence of `"id":N` must be one of the parsed objects, and none of them the item
    for (const [what, id, isItem] of [
        ['entry', secret.id, (o) => 'body_md' in o],
        ['action', secretAct.json.id, (o) => 'title' in o || 'assignee_agency_id' in o],
    ]) {
        const objs = objectsWithId(cac.frames, id);
        assert.deepEqual(objs.filter(isItem), [], `the restricted ${what} reached the CAC`);
        const rawCount = (raw.match(new RegExp(`"id":${id}(?=[,}])`, 'g')) ?? []).length;
        assert.equal(rawCount, objs.length, `a raw "id":${id} that is no visible object`);
    }
    for (const s of [seqs.secret, seqs.secretAct]) {
        assert.ok(!new RegExp(`"seq":${s}[,}]`).test(raw), `the restricted event's seq ${s} reached the CAC`);
    }
    assert.ok(!cac.frames.some((f) => JSON.stringify(f).includes(marker)));
    // and the police got them whole
    assert.ok(police.rawText().includes(marker));
    await police.close();
    await cac.close();
});

// ---- replay ----------------------------------------------------------------------------------

test('after a disconnect, subscribing with since = the last seen seq replays exactly the missed events in order', async () => {
    const caseId = await newCase(['police']);
    const watcher = await open(as.cacMember);
    await subscribe(watcher, caseId, (await boardSeq(as.cacMember, caseId)).seq);
    let police = await open(as.policeMember);
    await subscribe(police, caseId, (await boardSeq(as.policeMember, caseId)).seq);
    const first = await postEntry(as.cacMember, caseId, 'before the disconnect');
    await until(() => eventsOf(police, caseId).length === 1, 5000, 'the first event');
    const seen = lastSeq(police, caseId);
    assert.equal(seen, await seqOf('entry.created', first.id));
    await police.close();

    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await postEntry(as.cacMember, caseId, `while away ${i}`));
    const missedSeqs = [];
    for (const e of missed) missedSeqs.push(await seqOf('entry.created', e.id));
    // the watcher on the same node has them: this node's feed is past them
    await until(() => lastSeq(watcher, caseId) >= missedSeqs[4], 5000, 'the watcher to see the 5 entries');

    police = await open(as.policeMember);
    police.send({ type: 'subscribe', case_id: caseId, since: seen });
    const sub = await police.next('subscribed', 10000);
    const upTo = police.frames.filter((f) => f.type !== 'presence');
    assert.deepEqual(
        upTo.map((f) => [f.type, f.seq, f.kind, f.data?.id]),
        [...missed.map((e, i) => ['event', missedSeqs[i], 'entry.created', e.id]), ['subscribed', missedSeqs[4], undefined, undefined]],
    );
    assert.deepEqual(sub, { type: 'subscribed', case_id: caseId, seq: missedSeqs[4] });
    for (let i = 0; i < 5; i++) assert.deepEqual(upTo[i].data, missed[i]);

    // and live events continue after the replay without a gap
    const next = await postEntry(as.cacMember, caseId, 'after the reconnect');
    const nextSeq = await seqOf('entry.created', next.id);
    await until(() => lastSeq(police, caseId) === nextSeq, 5000, 'the live event after the replay');
    assertExactly(eventsOf(police, caseId).map((f) => f.seq), [...missedSeqs, nextSeq], 'police');
    // since = the current seq: nothing replayed
    const again = await open(as.policeMember);
    assert.deepEqual(await subscribe(again, caseId, nextSeq), { type: 'subscribed', case_id: caseId, seq: nextSeq });
    await again.barrier();
    assert.equal(eventsOf(again, caseId).length, 0);
    for (const c of [watcher, police, again]) await c.close();
});

// ---- ordering and exactly-once -------------------------------------------------------------

test('8 concurrent writers x 50 entries: 3 subscribers receive every event exactly once, in strictly increasing seq', { timeout: 120000 }, async () => {
    const caseId = await newCase(['police', 'dcf']);
    const since = (await boardSeq(as.cacMember, caseId)).seq;
    const subs = [];
    for (const key of ['cacMember', 'policeMember', 'dcfMember']) {
        const c = await open(as[key]);
        await subscribe(c, caseId, since);
        subs.push([key, c]);
    }
    const writerKeys = ['cacMember', 'cacInterviewer', 'cacSupervisor', 'policeMember', 'policeInterviewer', 'policeSupervisor', 'dcfMember', 'dcfSupervisor'];
    await Promise.all(
        writerKeys.map(async (key) => {
            for (let i = 0; i < 50; i++) await postEntry(as[key], caseId, `${key} #${i}`, 'mdt');
        }),
    );
    const expected = await dbSeqs(caseId, since);
    assert.equal(expected.length, 400);
    const max = expected[expected.length - 1];
    await until(() => subs.every(([, c]) => lastSeq(c, caseId) >= max), 15000, 'every subscriber to reach the last seq');
    for (const [, c] of subs) await c.barrier();
    for (const [key, c] of subs) {
        assertExactly(eventsOf(c, caseId).map((f) => f.seq), expected, key);
        assert.ok(eventsOf(c, caseId).every((f) => f.kind === 'entry.created'));
        assert.ok(!c.frames.some((f) => f.type === 'resync' || f.type === 'error'), `${key}: no resync or error`);
    }
    for (const [, c] of subs) await c.close();
});

test('events committed while a replay runs are neither lost nor duplicated', { timeout: 180000 }, async () => {
    const caseId = await newCase(['police']);
    const writers = ['cacMember', 'cacInterviewer', 'policeMember', 'policeInterviewer'];
    // many events first (fewer than a socket's queue holds: see the next test)
    await Promise.all(writers.map(async (key) => {
        for (let i = 0; i < 125; i++) await postEntry(as[key], caseId, `${key} early ${i}`);
    }));
    let stop = false;
    let posted = 0;
    const posting = Promise.all(['cacSupervisor', 'policeSupervisor'].map(async (key) => {
        while (!stop) {
            await postEntry(as[key], caseId, `${key} during ${posted++}`);
        }
    }));
    const subs = [];
    try {
        // subscribe since=0 at staggered moments while the writers go on
        for (let i = 0; i < 6; i++) {
            const key = i % 2 ? 'policeMember' : 'cacMember';
            const c = await open(as[key]);
            c.send({ type: 'subscribe', case_id: caseId, since: 0 });
            subs.push([`${key}#${i}`, c]);
            await sleep(150);
        }
        for (const [who, c] of subs) {
            const f = await c.next((x) => x.type === 'subscribed' || x.type === 'resync' || x.type === 'error', 30000);
            assert.equal(f.type, 'subscribed', `${who}: ${JSON.stringify(f)}`);
        }
        await sleep(500);
    } finally {
        stop = true;
        await posting;
    }
    assert.ok(posted > 20, `only ${posted} entries were posted during the replays`);
    const expected = await dbSeqs(caseId, 0);
    const max = expected[expected.length - 1];
    await until(() => subs.every(([, c]) => lastSeq(c, caseId) >= max), 20000, 'every subscriber to reach the last seq');
    for (const [, c] of subs) await c.barrier();
    for (const [who, c] of subs) {
        assertExactly(eventsOf(c, caseId).map((f) => f.seq), expected, who);
        const sub = c.frames.find((f) => f.type === 'subscribed');
        const before = c.frames.slice(0, c.frames.indexOf(sub)).filter((f) => f.type === 'event');
        assert.ok(before.length > 0 && before.every((f) => f.seq <= sub.seq), `${who}: replayed events up to subscribed.seq`);
        assert.ok(c.frames.slice(c.frames.indexOf(sub)).filter((f) => f.type === 'event').every((f) => f.seq > sub.seq), `${who}: live events after it`);
    }
    for (const [, c] of subs) await c.close();
});

test('a client back after missing 1,500 events gets them replayed (not resync: the replay limit is 5,000)', { timeout: 180000 }, async () => {
    const caseId = await newCase(['police']);
    const since = (await boardSeq(as.policeMember, caseId)).seq;
    const watcher = lightConnect(server.url, as.cacMember);
    await watcher.opened;
    watcher.send({ type: 'subscribe', case_id: caseId, since });
    const writers = ['cacMember', 'cacInterviewer', 'cacSupervisor', 'policeMember', 'policeInterviewer', 'policeSupervisor', 'dcfMember', 'dcfSupervisor'];
    const writerKeys = writers.filter((k) => !k.startsWith('dcf'));
    let n = 0;
    await Promise.all(writerKeys.concat(writerKeys).map(async (key) => {
        while (n < 1500) {
            n++;
            await postEntry(as[key], caseId, `missed ${n}`);
        }
    }));
    const expected = await dbSeqs(caseId, since);
    assert.equal(expected.length, 1500);
    await until(() => watcher.frames.filter((f) => f.type === 'event').at(-1)?.seq >= expected.at(-1), 20000, 'the watcher to see them all');
    const back = lightConnect(server.url, as.policeMember);
    await back.opened;
    back.send({ type: 'subscribe', case_id: caseId, since });
    await until(() => back.frames.some((f) => f.type !== 'event' && f.type !== 'presence'), 30000, 'subscribed (or resync)');
    const answer = back.frames.find((f) => f.type !== 'event' && f.type !== 'presence');
    const replayed = back.frames.filter((f) => f.type === 'event').length;
    assert.equal(answer.type, 'subscribed', `the server answered ${JSON.stringify(answer)} after replaying ${replayed} events`);
    assertExactly(back.frames.filter((f) => f.type === 'event').map((f) => f.seq), expected, 'replay');
    assert.equal(answer.seq, expected.at(-1));
    watcher.ws.terminate();
    back.ws.terminate();
});

// ---- access.revoked ----------------------------------------------------------------------------

const consentBody = (agencyId, expiresAt) => ({
    categories: ['immigration'],
    agency_id: agencyId,
    consented_by: [{ role: 'guardian', name: 'Ana Guardian' }],
    purpose: 'coordinate services',
    signed_on: today(-1),
    expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
});

test('revoking a consent: access.revoked {pii, case id, category} reaches the recipient agency within 1 s', async () => {
    const caseId = await newCase(['police', 'legal']);
    const put = await as.legalMember.put(`/api/v1/cases/${caseId}/pii`, { version: 0, immigration: { status: 'asylee-PENDING-X' } });
    assert.equal(put.status, 200, put.text);
    const since = (await boardSeq(as.policeMember, caseId)).seq;
    const police = await open(as.policeMember);
    const cac = await open(as.cacMember);
    await subscribe(police, caseId, since);
    await subscribe(cac, caseId, since);
    const c = await as.legalMember.post(`/api/v1/cases/${caseId}/consents`, consentBody(w.agencies.police, Date.now() + 3600_000));
    assert.equal(c.status, 201, c.text);
    const granted = await police.next((f) => f.type === 'event' && f.kind === 'consent.changed', 5000);
    assert.equal(granted.data.id, c.json.id);
    assert.equal((await as.policeMember.get(`/api/v1/cases/${caseId}/pii`)).json.immigration.status, 'asylee-PENDING-X');

    const t0 = Date.now();
    const del = await as.legalMember.del(`/api/v1/consents/${c.json.id}`);
    assert.equal(del.status, 200, del.text);
    const rev = await police.next((f) => f.type === 'event' && f.kind === 'access.revoked', 1000);
    assert.ok(Date.now() - t0 <= 1000, `access.revoked after ${Date.now() - t0} ms`);
    assert.deepEqual(rev.data, { entity: 'pii', id: caseId, category: 'immigration' });
    assert.equal(rev.case_id, caseId);
    const revokeSeq = await seqOf('consent.changed', c.json.id);
    assert.equal(rev.seq, revokeSeq, 'it travels with the revocation event');
    const after = await police.next((f) => f.type === 'event' && f.seq === revokeSeq && f.kind === 'consent.changed', 2000);
    assert.equal(after.data.active, false);
    assert.ok(police.frames.indexOf(rev) < police.frames.indexOf(after), 'access.revoked comes before the event that caused it');
    // the CAC never had it: nothing revoked there, and it never saw the value
    await cac.next((f) => f.type === 'event' && f.seq === revokeSeq && f.kind === 'consent.changed', 2000);
    assert.ok(!cac.frames.some((f) => f.kind === 'access.revoked'));
    assert.ok(!cac.rawText().includes('asylee-PENDING-X'));
    await police.close();
    await cac.close();
});

test('a consent expiring 2 s ahead: access.revoked at its expiry (within 1 s) with nothing else happening', { timeout: 60000 }, async () => {
    // its own server: a failure here must not take the shared one down
    const srv = await startServer({ dbUrl, env: BOARD_ENV });
    try {
        const cl = {};
        for (const key of ['cacSupervisor', 'policeMember', 'legalMember', 'dcfMember']) cl[key] = await login(srv.url, w.users[key]);
        const caseId = await newCase(['police', 'legal', 'dcf'], cl.cacSupervisor);
        const put = await cl.legalMember.put(`/api/v1/cases/${caseId}/pii`, { version: 0, immigration: { status: 'parolee' } });
        assert.equal(put.status, 200, put.text);
        const police = await open(cl.policeMember, srv.url);
        await subscribe(police, caseId, (await boardSeq(cl.policeMember, caseId)).seq);
        const expiresAt = Math.ceil((Date.now() + 2000) / 1000) * 1000; // whole seconds
        // police is subscribed when its consent is recorded; DCF subscribes after its own
        const c = await cl.legalMember.post(`/api/v1/cases/${caseId}/consents`, consentBody(w.agencies.police, expiresAt));
        assert.equal(c.status, 201, c.text);
        const d = await cl.legalMember.post(`/api/v1/cases/${caseId}/consents`, consentBody(w.agencies.dcf, expiresAt));
        assert.equal(d.status, 201, d.text);
        await police.next((f) => f.type === 'event' && f.kind === 'consent.changed' && f.data.id === d.json.id, 5000);
        const dcf = await open(cl.dcfMember, srv.url);
        await subscribe(dcf, caseId, (await boardSeq(cl.dcfMember, caseId)).seq);
        assert.equal((await cl.dcfMember.get(`/api/v1/cases/${caseId}/pii`)).json.immigration?.status, 'parolee');
        const eventsBefore = await dbSeqs(caseId, 0);
        // no request of any kind from here on
        const got = await Promise.allSettled(
            [police, dcf].map((conn) =>
                conn.next((f) => f.type === 'event' && f.kind === 'access.revoked', 6000).then((f) => ({ ...f, at: Date.now() })),
            ),
        );
        const health = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, (e) => e.name);
        assert.equal(health, 200, 'the server still answers /healthz after the consents expired');
        for (const [who, r] of [['police', got[0]], ['dcf', got[1]]]) {
            assert.equal(r.status, 'fulfilled', `${who}: ${r.reason?.message}`);
            const f = r.value;
            assert.ok(Math.abs(f.at - expiresAt) <= 1000, `${who}: access.revoked ${f.at - expiresAt} ms from the expiry`);
            assert.deepEqual(f.data, { entity: 'pii', id: caseId, category: 'immigration' }, who);
            assert.equal(f.case_id, caseId);
        }
        assert.deepEqual(await dbSeqs(caseId, 0), eventsBefore, 'the expiry wrote no event');
        assert.equal((await cl.policeMember.get(`/api/v1/cases/${caseId}/pii`)).json.immigration, undefined);
        await sleep(1500);
        assert.equal(police.frames.filter((f) => f.kind === 'access.revoked').length, 1, 'revoked once');
        assert.equal(dcf.frames.filter((f) => f.kind === 'access.revoked').length, 1, 'revoked once');
        // (its seq is that of the last event the socket was sent: see docs/live.md)
        await police.close();
        await dcf.close();
    } finally {
        await srv.stop('SIGTERM', 3000);
    }
});

test('narrowing an entry from mdt to agency: the other agency gets access.revoked {entry, id} and nothing more about it', async () => {
    const caseId = await newCase(['police']);
    const since = (await boardSeq(as.policeMember, caseId)).seq;
    const police = await open(as.policeMember);
    const cac = await open(as.cacMember);
    await subscribe(police, caseId, since);
    await subscribe(cac, caseId, since);
    const e = await postEntry(as.policeMember, caseId, 'Visible at first.', 'mdt');
    await cac.next((f) => f.type === 'event' && f.kind === 'entry.created' && f.data.id === e.id, 5000);

    const narrowed = await as.policeMember.patch(`/api/v1/entries/${e.id}`, { visibility: 'agency', version: 1 });
    assert.equal(narrowed.status, 200, narrowed.text);
    const narrowSeq = await seqOf('entry.updated', e.id);
    const rev = await cac.next((f) => f.type === 'event' && f.kind === 'access.revoked', 5000);
    assert.deepEqual(rev, { type: 'event', seq: narrowSeq, case_id: caseId, kind: 'access.revoked', data: { entity: 'entry', id: e.id } });
    const upd = await police.next((f) => f.type === 'event' && f.kind === 'entry.updated', 5000);
    assert.equal(upd.data.visibility, 'agency');
    const revokedAt = cac.raw.reduce((n, b) => n + b.length, 0);

    const marker = `NARROW-${Math.random().toString(36).slice(2)}`;
    const edit = await as.policeMember.patch(`/api/v1/entries/${e.id}`, { body_md: `Now secret ${marker}`, version: 2 });
    assert.equal(edit.status, 200, edit.text);
    assert.equal((await as.policeMember.del(`/api/v1/entries/${e.id}`)).status, 200);
    const tail = await postEntry(as.policeMember, caseId, 'tail', 'mdt');
    await cac.next((f) => f.type === 'event' && f.data?.id === tail.id, 5000);
    await police.next((f) => f.type === 'event' && f.data?.id === tail.id, 5000);
    const after = cac.frames.slice(cac.frames.indexOf(rev) + 1).filter((f) => f.type === 'event');
    assert.deepEqual(after.map((f) => [f.kind, f.data.id]), [['entry.created', tail.id]], 'nothing more about the entry');
    const rawAfter = Buffer.concat(cac.raw).subarray(revokedAt).toString('latin1');
    assert.ok(!rawAfter.includes(marker) && !new RegExp(`"id":${e.id}[,}]`).test(rawAfter));
    assert.ok(police.frames.some((f) => f.kind === 'entry.retracted' && f.data.id === e.id));
    await police.close();
    await cac.close();
});

test('removing an agency from the case: its subscriber gets access.revoked {case} and nothing after', async () => {
    const caseId = await newCase(['police', 'dcf']);
    const since = (await boardSeq(as.policeMember, caseId)).seq;
    const police = await open(as.policeMember);
    const dcf = await open(as.dcfMember);
    await subscribe(police, caseId, since);
    await subscribe(dcf, caseId, since);
    const board = await boardSeq(as.cacSupervisor, caseId);
    const res = await as.cacSupervisor.patch(`/api/v1/cases/${caseId}`, {
        agencies: [w.agencies.cac, w.agencies.dcf],
        version: board.case.version,
    });
    assert.equal(res.status, 200, res.text);
    const rev = await police.next((f) => f.type === 'event' && f.kind === 'access.revoked', 5000);
    assert.deepEqual(rev.data, { entity: 'case', id: caseId });
    assert.equal(rev.case_id, caseId);
    const upd = await dcf.next((f) => f.type === 'event' && f.kind === 'case.updated', 5000);
    assert.equal(upd.seq, rev.seq);
    assert.ok(!upd.data.agencies.includes(w.agencies.police));

    const marker = `AFTER-${Math.random().toString(36).slice(2)}`;
    const e = await postEntry(as.cacMember, caseId, marker, 'mdt');
    await dcf.next((f) => f.type === 'event' && f.data?.id === e.id, 5000);
    await police.barrier();
    const after = police.frames.slice(police.frames.indexOf(rev) + 1);
    assert.deepEqual(after.filter((f) => f.type === 'event' || f.case_id === caseId).map((f) => f.type), [], JSON.stringify(after));
    assert.ok(!police.rawText().includes(marker));
    assert.equal((await as.policeMember.get(`/api/v1/cases/${caseId}`)).status, 404);
    police.send({ type: 'subscribe', case_id: caseId, since: 0 });
    assert.equal((await police.next('error', 5000)).code, 'not_found');
    await police.close();
    await dcf.close();
});

// ---- a reader that never reads ----------------------------------------------------------------

test('a subscriber that never reads gets resync (or is closed), the server\'s memory stays bounded, others get everything', { timeout: 540000 }, async () => {
    const slowSrv = await startServer({ dbUrl, env: BOARD_ENV });
    const cl = {};
    for (const key of ['cacMember', 'cacInterviewer', 'policeMember', 'policeInterviewer']) cl[key] = await login(slowSrv.url, w.users[key]);
    const caseId = await newCase(['police']);
    const quiet = await newCase(['police']); // a second case on the slow socket, with no traffic
    const since = (await boardSeq(cl.cacMember, caseId)).seq;

    const slow = lightConnect(slowSrv.url, cl.policeMember);
    await slow.opened;
    slow.send({ type: 'subscribe', case_id: caseId, since });
    slow.send({ type: 'subscribe', case_id: quiet });
    await until(() => slow.frames.filter((f) => f.type === 'subscribed').length === 2, 5000, 'the slow reader to be subscribed');
    slow.ws._socket.pause(); // from here on it reads nothing
    const normal = lightConnect(slowSrv.url, cl.cacMember);
    await normal.opened;
    normal.send({ type: 'subscribe', case_id: caseId, since });
    await until(() => normal.frames.some((f) => f.type === 'subscribed'), 5000, 'the normal reader to be subscribed');

    const N = 3000;
    const filler = 'lorem ipsum dolor sit amet consectetur '.repeat(Math.ceil(30 * 1024 / 39)).slice(0, 30 * 1024);
    let next = 0;
    let maxRss = rssMiB(slowSrv.proc.pid);
    const sampler = setInterval(() => {
        maxRss = Math.max(maxRss, rssMiB(slowSrv.proc.pid));
    }, 100);
    const t0 = Date.now();
    try {
        await Promise.all(Object.values(cl).map(async (client) => {
            while (next < N) {
                const i = next++;
                const res = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: `${i} ${filler}`, visibility: 'mdt' });
                assert.equal(res.status, 201, res.text);
            }
        }));
        const expected = await dbSeqs(caseId, since);
        assert.equal(expected.length, N);
        const max = expected[expected.length - 1];
        await until(() => normal.frames.some((f) => f.type === 'resync') || normal.frames.filter((f) => f.type === 'event').at(-1)?.seq >= max,
            60000, 'the normal reader to get every event');
        process.stderr.write(`# slow reader: ${N} entries posted in ${Date.now() - t0} ms; server RSS peak ${maxRss.toFixed(1)} MiB; ` +
            `normal reader got ${(normal.bytes / 1048576).toFixed(1)} MiB\n`);
        const normalEvents = normal.frames.filter((f) => f.type === 'event').length;
        assert.deepEqual(normal.frames.filter((f) => f.type === 'resync'), [], `a reader that keeps up is not resynced (it was, after ${normalEvents} events)`);
        assertExactly(normal.frames.filter((f) => f.type === 'event').map((f) => f.seq), expected, 'normal reader');
        assert.ok(slowSrv.alive());
        // Under ASan, freed memory sits in its quarantine (256 MiB by default), so
        // RSS says nothing about the server's own bound there; the normal build
        // (the same suite, run first by .ci/run) holds it to 300 MiB.
        const rssBound = process.env.ASAN_OPTIONS ? 1024 : 300;
        assert.ok(maxRss < rssBound, `server RSS peaked at ${maxRss.toFixed(1)} MiB`);

        // the slow reader now reads what is waiting for it: a prefix of the stream without gaps, then resync (or a close)
        slow.ws._socket.resume();
        await until(() => slow.frames.some((f) => f.type === 'resync') || slow.closeInfo, 20000, 'resync or close on the slow reader');
        await sleep(500);
        const evs = slow.frames.filter((f) => f.type === 'event').map((f) => f.seq);
        process.stderr.write(`# slow reader got ${evs.length} events then ${slow.closeInfo ? `close ${slow.closeInfo.code}` : 'resync'}\n`);
        assert.ok(evs.length < N, 'it did not get everything');
        assert.deepEqual(evs, expected.slice(0, evs.length), 'what it got is the stream\'s beginning, without gaps');
        const resyncs = slow.frames.filter((f) => f.type === 'resync');
        if (resyncs.length) {
            assert.deepEqual(resyncs.map((f) => f.case_id).sort((a, b) => a - b), [caseId, quiet], 'resync for every case on the socket');
            const after = slow.frames.slice(slow.frames.indexOf(resyncs[0]) + 1).filter((f) => f.type === 'event');
            assert.deepEqual(after, [], 'nothing after resync');
            slow.send({ type: 'ping', id: 'after-resync' });
            await until(() => slow.frames.some((f) => f.type === 'pong'), 5000, 'the socket to answer a ping after resync');
        }
    } finally {
        clearInterval(sampler);
        slow.ws.terminate();
        normal.ws.terminate();
        await slowSrv.stop();
    }
});

// ---- sessions ----------------------------------------------------------------------------------

test('session idle expiry closes the socket with 4401; activity frames keep it open', { timeout: 60000 }, async () => {
    const idleSrv = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_SESSION_IDLE: 2 } });
    try {
        const c1 = await login(idleSrv.url, w.users.policeMember);
        const idle = await open(c1, idleSrv.url);
        const t0 = Date.now();
        idle.send({ type: 'ping', id: 'pings do not count' });
        const closed = await Promise.race([idle.closed, sleep(8000).then(() => null)]);
        assert.ok(closed, 'the idle socket was not closed within 8 s');
        assert.equal(closed.code, 4401);
        assert.ok(Date.now() - t0 >= 1500, `closed after ${Date.now() - t0} ms, before the idle timeout`);

        const c2 = await login(idleSrv.url, w.users.policeMember);
        const busy = await open(c2, idleSrv.url);
        const timer = setInterval(() => busy.send({ type: 'activity' }), 500);
        let closedEarly = null;
        busy.closed.then((x) => (closedEarly = x));
        await sleep(5000);
        clearInterval(timer);
        assert.equal(closedEarly, null, `closed while active: ${JSON.stringify(closedEarly)}`);
        busy.send({ type: 'ping', id: 'alive' });
        assert.equal((await busy.next('pong')).id, 'alive');
        const later = await Promise.race([busy.closed, sleep(8000).then(() => null)]);
        assert.equal(later?.code, 4401, 'closed with 4401 once the activity stopped');
    } finally {
        await idleSrv.stop();
    }
});

test('logout closes that session\'s sockets with 4401, not the user\'s other sessions', async () => {
    const caseId = await newCase(['police']);
    const mine = await login(server.url, w.users.cacMember);
    const a = await open(mine);
    const b = await open(mine);
    await subscribe(a, caseId);
    const other = await open(as.cacMember);
    const oldCookie = mine.cookie();
    const t0 = Date.now();
    const out = await mine.post('/api/v1/logout', {});
    assert.ok(out.status < 300, out.text);
    for (const c of [a, b]) {
        const r = await Promise.race([c.closed, sleep(5000).then(() => null)]);
        assert.equal(r?.code, 4401, JSON.stringify(r));
    }
    assert.ok(Date.now() - t0 < 5000);
    other.send({ type: 'ping', id: 'other' });
    assert.equal((await other.next('pong')).id, 'other', 'another session of the same user stays open');
    await assert.rejects(wsConnect(server.url, { cookie: oldCookie, origin: server.url }), (e) => e.status === 401);
    await other.close();
});

test('deactivating a user closes its sockets with 4401', async () => {
    const userId = await addUser(dbUrl, { agencyId: w.agencies.police, role: 'member', username: `gone${process.pid}` });
    const client = await login(server.url, { username: `gone${process.pid}`, password: w.users.policeMember.password });
    const a = await open(client);
    const b = await open(client);
    const list = await as.cacAdmin.get(`/api/v1/admin/users?agency_id=${w.agencies.police}&limit=500`);
    assert.equal(list.status, 200, list.text);
    const u = list.json.items.find((x) => x.id === userId);
    const res = await as.cacAdmin.patch(`/api/v1/admin/users/${userId}`, { active: false, version: u.version });
    assert.equal(res.status, 200, res.text);
    for (const c of [a, b]) {
        const r = await Promise.race([c.closed, sleep(5000).then(() => null)]);
        assert.equal(r?.code, 4401, JSON.stringify(r));
    }
    await assert.rejects(wsConnect(server.url, { cookie: client.cookie(), origin: server.url }), (e) => e.status === 401);
});

// ---- presence ------------------------------------------------------------------------------------

test('presence: two users subscribed -> count 2 with both users (id, display_name, agency_id)', async () => {
    const caseId = await newCase(['police']);
    const me = {};
    for (const key of ['cacMember', 'policeMember']) me[key] = (await as[key].get('/api/v1/me')).json.user;
    const a = await open(as.cacMember);
    const b = await open(as.policeMember);
    const b2 = await open(as.policeMember); // the same user twice counts once
    await subscribe(a, caseId);
    await subscribe(b, caseId);
    await subscribe(b2, caseId);
    const want = ['cacMember', 'policeMember'].map((k) => ({ id: me[k].id, display_name: me[k].display_name, agency_id: me[k].agency_id }));
    const sortUsers = (us) => [...us].sort((x, y) => x.id - y.id);
    for (const c of [a, b]) {
        const p = await c.next((f) => f.type === 'presence' && f.case_id === caseId && f.count === 2, 4000);
        assert.deepEqual(Object.keys(p).sort(), ['case_id', 'count', 'type', 'users']);
        assert.deepEqual(sortUsers(p.users), sortUsers(want));
    }
    await b.close();
    await b2.close();
    const p = await a.next((f) => f.type === 'presence' && f.case_id === caseId && f.count === 1, 4000);
    assert.deepEqual(p.users, [want[0]]);
    await a.close();
});

// The feed renders the events of one load in batches, one snapshot each
// (docs/live.md, "Rendering in batches"). Four events committed together
// are loaded together and rendered as two batches of two. A render that
// fails first in its batch must fail only its own event (its case's
// subscribers resync) while the next event of the same batch, in another
// case, and the other batch are delivered in order. Two ways to fail:
// a sealed body copied from another case (it does not open: the snapshot
// is still sound), and a statement that errors (a row-level security
// policy dividing by zero on that one row: the snapshot is aborted, and
// the batch must go on in a new one).
for (const how of ['a sealed body that does not open', 'a statement that fails']) {
    test(`a render that fails inside a batch fails only its own event: ${how}`, async () => {
        const caseA = await newCase(['cac', 'police']);
        const caseB = await newCase(['cac', 'police']);
        const a1 = await postEntry(as.cacMember, caseA, 'batch A one');
        const a2 = await postEntry(as.cacMember, caseA, 'batch A two');
        const b1 = await postEntry(as.cacMember, caseB, 'batch B one');
        const connA = await open(as.policeMember);
        const connB = await open(as.policeMember);
        const subA = await subscribe(connA, caseA);
        await subscribe(connB, caseB);
        // the creates may come live after `subscribed` (a slow node's feed): take them first
        const pre = await dbSeqs(caseA, subA.seq);
        await until(() => eventsOf(connA, caseA).length >= pre.length, 10000, 'case A: the creates');
        const mark = Math.max(subA.seq, ...pre);
        const sealed = await psql(dbUrl, `SELECT body_md FROM entries WHERE id = ${b1.id}`);
        const breakIt =
            how === 'a statement that fails'
                ? `CREATE POLICY batch_all ON entries USING (true) WITH CHECK (true);
                   CREATE POLICY batch_boom ON entries AS RESTRICTIVE FOR SELECT USING (id <> ${b1.id} OR 1 / (id - ${b1.id}) = 1);
                   ALTER TABLE entries ENABLE ROW LEVEL SECURITY;`
                : `UPDATE entries SET body_md = (SELECT body_md FROM entries WHERE id = ${a1.id}) WHERE id = ${b1.id};`;
        const mendIt =
            how === 'a statement that fails'
                ? 'ALTER TABLE entries DISABLE ROW LEVEL SECURITY; DROP POLICY batch_boom ON entries; DROP POLICY batch_all ON entries;'
                : `UPDATE entries SET body_md = '${sealed}' WHERE id = ${b1.id};`;
        await psql(dbUrl, breakIt);
        const emit = (c, id) => `SELECT mdt_emit_event(${c}, NULL, 'entry.updated', 'entry', ${id}, NULL, NULL);`;
        try {
            await psql(dbUrl, `BEGIN; ${emit(caseB, b1.id)} ${emit(caseA, a1.id)} ${emit(caseA, a2.id)} ${emit(caseA, a1.id)} COMMIT;`);
            const expected = await dbSeqs(caseA, mark);
            assert.equal(expected.length, 3);
            const resync = await connB.next((f) => f.type === 'resync' && f.case_id === caseB, 10000);
            assert.equal(resync.type, 'resync');
            const after = () => eventsOf(connA, caseA).filter((f) => f.seq > mark);
            await until(() => after().length >= 3 || connA.frames.some((f) => f.type === 'resync'), 10000, 'case A: three events');
            assert.ok(!connA.frames.some((f) => f.type === 'resync'), 'case A never resynced');
            const got = after();
            assertExactly(got.map((f) => f.seq), expected, 'case A');
            assert.deepEqual(got.map((f) => f.data.id), [a1.id, a2.id, a1.id]);
            assert.deepEqual(got.map((f) => f.data.body_md), ['batch A one', 'batch A two', 'batch A one']);
        } finally {
            await psql(dbUrl, mendIt);
            connA.close();
            connB.close();
        }
    });
}
