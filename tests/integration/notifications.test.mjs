// notifications.test.mjs - the in-app inbox (server/notify*.c, docs/api.md
// "Notifications"): each kind made for the right people and nobody else;
// a mention of a user who may not see the entry notifies nobody and is
// reported to the author; a notification whose object the reader lost
// sight of reads without content; the daily job once per node cluster (two
// nodes on one database); the per-user stream (`subscribe_user`) replays
// with `since` without a gap and never carries another user's
// notification; marking read, audited.
//
// The world (board_fixtures.mjs): cac, police, dcf, legal, hospital
// agencies and their users; each test makes its own case. The daily job is
// run through the test hook POST /api/v1/_test/daily-jobs?day=D with days
// taken from the clock (each test its own days, so claims do not collide).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, flushAudit, psql, startServer, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, login } from './lib/board_fixtures.mjs';
import { today, addDays } from './lib/clock.mjs';

let dbUrl, server, w;
const as = {}; // logged-in clients by user key

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

// newCase(agencyKeys, lead) - a case led by lead's agency with those
// agencies on it; resolves {id, number, alias}.
async function newCase(agencyKeys, lead = as.cacSupervisor) {
    const n = ++caseCounter;
    const body = {
        case_number: `N-${process.pid}-${n}`,
        alias: `N.T. ${n}`,
        referral_date: today(-30),
        agencies: agencyKeys.map((k) => w.agencies[k]),
    };
    const res = await lead.post('/api/v1/cases', body);
    assert.equal(res.status, 201, res.text);
    return { id: res.json.id, number: body.case_number, alias: body.alias };
}

async function inbox(client, query = '') {
    const res = await client.get(`/api/v1/notifications${query}`);
    assert.equal(res.status, 200, res.text);
    return res.json;
}

// mine(client, pred) - the caller's notifications matching pred.
async function mine(client, pred = () => true) {
    return (await inbox(client, '?limit=500')).items.filter(pred);
}

async function addAction(client, caseId, body) {
    const res = await client.post(`/api/v1/cases/${caseId}/actions`, body);
    assert.equal(res.status, 201, res.text);
    return res.json;
}

let dayOffset = 100;
// freshDay() - a day from the clock no other test of this file claims.
function freshDay() {
    dayOffset += 10;
    return today(dayOffset);
}

async function runDaily(base, day) {
    const res = await fetch(`${base}/api/v1/_test/daily-jobs?day=${day}`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
    return res.json();
}

async function openUserStream(client, since) {
    const conn = await wsConnect(server.url, { cookie: client.cookie(), origin: server.url });
    const msg = { type: 'subscribe_user' };
    if (since !== undefined) msg.since = since;
    conn.send(msg);
    const f = await conn.next((x) => x.type === 'subscribed_user' || x.type === 'error' || x.type === 'resync', 10000);
    assert.equal(f.type, 'subscribed_user', JSON.stringify(f));
    assert.equal(f.user_id, client.user.userId);
    conn.subscribedSeq = f.seq;
    return conn;
}

// ---- action.assigned ---------------------------------------------------------------------------

test('an assignment by someone else notifies the assignee only; self-assignment nobody', async () => {
    const c = await newCase(['cac', 'dcf']);
    const before = (await inbox(as.dcfMember)).unread_count;
    const item = await addAction(as.cacSupervisor, c.id, {
        title: 'Schedule the forensic interview',
        assignee_agency_id: w.agencies.dcf,
        assignee_id: w.users.dcfMember.userId,
    });
    const got = await mine(as.dcfMember, (n) => n.kind === 'action.assigned' && n.object_id === item.id);
    assert.equal(got.length, 1);
    const n = got[0];
    assert.equal(n.read, false);
    assert.equal(n.case_id, c.id);
    assert.equal(n.object_type, 'action');
    assert.equal(n.link, `#/cases/${c.id}`);
    assert.match(n.text, /Schedule the forensic interview/);
    assert.ok(n.text.includes(c.number) && n.text.includes(c.alias), n.text);
    assert.equal((await inbox(as.dcfMember)).unread_count, before + 1);
    // nobody else got it
    for (const key of ['cacSupervisor', 'cacMember', 'dcfSupervisor', 'policeMember']) {
        assert.equal((await mine(as[key], (x) => x.object_id === item.id)).length, 0, key);
    }
    // assigning oneself notifies nobody
    const own = await addAction(as.dcfMember, c.id, {
        title: 'My own item',
        assignee_agency_id: w.agencies.dcf,
        assignee_id: w.users.dcfMember.userId,
    });
    assert.equal((await mine(as.dcfMember, (x) => x.object_id === own.id)).length, 0);
    // a reassignment by PATCH notifies the new assignee
    const res = await as.cacSupervisor.patch(`/api/v1/actions/${own.id}`, {
        version: own.version,
        assignee_id: w.users.dcfSupervisor.userId,
    });
    assert.equal(res.status, 200, res.text);
    assert.equal((await mine(as.dcfSupervisor, (x) => x.kind === 'action.assigned' && x.object_id === own.id)).length, 1);
});

test('the list pages with cursor and filters unread; bad parameters are refused', async () => {
    const c = await newCase(['cac', 'hospital']);
    for (let i = 0; i < 3; i++) {
        await addAction(as.cacSupervisor, c.id, {
            title: `Paged ${i}`,
            assignee_agency_id: w.agencies.hospital,
            assignee_id: w.users.hospitalMember.userId,
        });
    }
    const all = await inbox(as.hospitalMember, '?limit=500');
    const p1 = await inbox(as.hospitalMember, '?limit=2');
    assert.equal(p1.items.length, 2);
    assert.equal(typeof p1.next, 'string');
    const p2 = await inbox(as.hospitalMember, `?limit=500&cursor=${p1.next}`);
    assert.deepEqual([...p1.items, ...p2.items].map((x) => x.id), all.items.map((x) => x.id));
    assert.equal(p2.next, null);
    assertError(await as.hospitalMember.get('/api/v1/notifications?unread=yes'), 400, 'bad_request', 'unread');
    assertError(await as.hospitalMember.get('/api/v1/notifications?limit=0'), 422, 'validation', 'limit');
    assertError(await as.hospitalMember.post('/api/v1/notifications/read', {}), 422, 'validation');
    assertError(await as.hospitalMember.post('/api/v1/notifications/read', { ids: [1], all: true }), 422, 'validation');
});

test('marking read: one, then all; other users\' ids are ignored; audited', async () => {
    const c = await newCase(['cac', 'legal']);
    for (let i = 0; i < 2; i++) {
        await addAction(as.cacSupervisor, c.id, {
            title: `Read me ${i}`,
            assignee_agency_id: w.agencies.legal,
            assignee_id: w.users.legalMember.userId,
        });
    }
    const unread = await inbox(as.legalMember, '?unread=true');
    assert.ok(unread.items.length >= 2);
    const first = unread.items[0];
    // someone else's ids change nothing for them
    const other = await as.cacMember.post('/api/v1/notifications/read', { ids: [first.id] });
    assert.equal(other.status, 200, other.text);
    assert.equal(other.json.marked, 0);
    const one = await as.legalMember.post('/api/v1/notifications/read', { ids: [first.id] });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.marked, 1);
    assert.equal(one.json.unread_count, unread.unread_count - 1);
    const after1 = await inbox(as.legalMember, '?unread=true');
    assert.ok(!after1.items.some((x) => x.id === first.id));
    const all = await as.legalMember.post('/api/v1/notifications/read', { all: true });
    assert.equal(all.json.unread_count, 0);
    assert.equal((await inbox(as.legalMember, '?unread=true')).items.length, 0);
    await flushAudit(server);
    const rows = await psql(
        dbUrl,
        `SELECT action || ':' || (detail->>'count') FROM audit WHERE user_id = ${w.users.legalMember.userId}
         AND action LIKE 'notification.%' ORDER BY id`,
    );
    assert.match(rows, /notification\.list/);
    assert.match(rows, /notification\.read:1/);
});

// ---- the per-user stream ----------------------------------------------------------------------

test('subscribe_user: live events for me only, replay with since has no gap', async () => {
    const c = await newCase(['cac', 'dcf', 'police']);
    const a = as.dcfMember;
    const b = as.policeMember;
    const sa = await openUserStream(a);
    const sb = await openUserStream(b);
    // one for A, then one for B: when B has its own, A's was fanned out before it
    const itemA = await addAction(as.cacSupervisor, c.id, {
        title: 'For A only',
        assignee_agency_id: w.agencies.dcf,
        assignee_id: w.users.dcfMember.userId,
    });
    const evA = await sa.next((f) => f.type === 'event' && f.kind === 'notification.created' && f.data.object_id === itemA.id, 10000);
    assert.equal(evA.user_id, w.users.dcfMember.userId);
    assert.match(evA.data.text, /For A only/);
    assert.equal(typeof evA.data.unread_count, 'number');
    const itemB = await addAction(as.cacSupervisor, c.id, {
        title: 'For B only',
        assignee_agency_id: w.agencies.police,
        assignee_id: w.users.policeMember.userId,
    });
    const evB = await sb.next((f) => f.type === 'event' && f.kind === 'notification.created' && f.data.object_id === itemB.id, 10000);
    assert.ok(evB.seq > evA.seq);
    await sb.barrier();
    await sa.barrier();
    assert.ok(!sb.frames.some((f) => f.type === 'event' && f.user_id !== w.users.policeMember.userId), 'B got nothing of A');
    assert.ok(!sb.frames.some((f) => JSON.stringify(f).includes('For A only')));
    assert.ok(!sa.frames.some((f) => JSON.stringify(f).includes('For B only')));
    // marking read is streamed too
    const rd = await a.post('/api/v1/notifications/read', { ids: [evA.data.id] });
    assert.equal(rd.status, 200, rd.text);
    const evRead = await sa.next((f) => f.type === 'event' && f.kind === 'notification.read', 10000);
    assert.deepEqual(evRead.data.ids, [evA.data.id]);
    assert.equal(evRead.data.unread_count, rd.json.unread_count);
    sa.close();
    // more while A is away, then resume from the last seq A had
    const missed = [];
    for (let i = 0; i < 3; i++) {
        missed.push(
            await addAction(as.cacSupervisor, c.id, {
                title: `Missed ${i}`,
                assignee_agency_id: w.agencies.dcf,
                assignee_id: w.users.dcfMember.userId,
            }),
        );
    }
    const resumed = await openUserStream(a, evRead.seq);
    const replayed = resumed.frames.filter((f) => f.type === 'event');
    assert.deepEqual(replayed.map((f) => f.data.object_id), missed.map((m) => m.id));
    const expected = await psql(
        dbUrl,
        `SELECT string_agg(seq::text, ',' ORDER BY seq) FROM events WHERE user_id = ${w.users.dcfMember.userId}
         AND seq > ${evRead.seq} AND seq <= ${resumed.subscribedSeq}`,
    );
    assert.equal(replayed.map((f) => f.seq).join(','), expected);
    assert.ok(replayed.every((f) => f.seq <= resumed.subscribedSeq));
    resumed.close();
    sb.close();
});
