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
import { createDatabase, flushAudit, psql, startServer, until, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, createCase, login } from './lib/board_fixtures.mjs';
import { today, nowIso, DAY_MS } from './lib/clock.mjs';

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
// agencies on it (board_fixtures' createCase); resolves {id, number, alias}.
async function newCase(agencyKeys, lead = as.cacSupervisor) {
    const alias = `N.T. ${++caseCounter}`;
    const id = await createCase(server.url, dbUrl, { lead: lead.user, agencies: agencyKeys.map((k) => w.agencies[k]), alias });
    const res = await lead.get(`/api/v1/cases/${id}`);
    assert.equal(res.status, 200, res.text);
    return { id, number: res.json.case.case_number, alias };
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
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text);
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
    // the replay up to subscribed_user's seq, then live: together every one of A's events after
    // evRead.seq, in order, once
    const lastMissed = missed[missed.length - 1].id;
    await resumed.next((f) => f.type === 'event' && f.data.object_id === lastMissed, 10000);
    const got = resumed.frames.filter((f) => f.type === 'event');
    assert.deepEqual(got.map((f) => f.data.object_id), missed.map((m) => m.id));
    const expected = await psql(
        dbUrl,
        `SELECT string_agg(seq::text, ',' ORDER BY seq) FROM events WHERE user_id = ${w.users.dcfMember.userId}
         AND seq > ${evRead.seq}`,
    );
    assert.equal(got.map((f) => f.seq).join(','), expected);
    const subAt = resumed.frames.findIndex((f) => f.type === 'subscribed_user');
    assert.ok(resumed.frames.slice(0, subAt).every((f) => f.seq <= resumed.subscribedSeq), 'replayed before subscribed_user');
    assert.ok(resumed.frames.slice(subAt + 1).every((f) => f.seq > resumed.subscribedSeq), 'live after it');
    resumed.close();
    sb.close();
});

// ---- entry.mention -----------------------------------------------------------------------------

test('a mention notifies who may see the entry; one who may not is told to the author, nobody notified', async () => {
    const c = await newCase(['cac', 'police', 'dcf']);
    const police = w.users.policeMember;
    const dcf = w.users.dcfMember;
    const body = `Ask @${dcf.username} and @${police.username.toUpperCase()} and @nobody_${process.pid}. Thanks @${w.users.cacMember.username}.`;
    // visible to cac and dcf only: the police member may not see it
    const res = await as.cacMember.post(`/api/v1/cases/${c.id}/entries`, {
        kind: 'note',
        body_md: body,
        visibility: 'agencies',
        visible_to: [w.agencies.dcf],
    });
    assert.equal(res.status, 201, res.text);
    const entry = res.json;
    assert.deepEqual(entry.mentions.notified, [dcf.userId]);
    const nn = Object.fromEntries(entry.mentions.not_notified.map((x) => [x.username, x.reason]));
    assert.deepEqual(nn, { [police.username.toLowerCase()]: 'no_access', [`nobody_${process.pid}`]: 'unknown_user' });
    const got = await mine(as.dcfMember, (n) => n.kind === 'entry.mention' && n.object_id === entry.id);
    assert.equal(got.length, 1);
    assert.match(got[0].text, /mentioned you in a note/);
    assert.ok(!got[0].text.includes('Ask'), 'the text never carries the entry body');
    // the police member has nothing about it, not even an id
    const policeAll = await inbox(as.policeMember, '?limit=500');
    assert.ok(!JSON.stringify(policeAll).includes(c.number));
    assert.equal(
        await psql(dbUrl, `SELECT count(*) FROM notifications WHERE object_type = 'entry' AND object_id = ${entry.id} AND user_id = ${police.userId}`),
        '0',
    );
    // the author mentioning itself: nothing
    assert.equal((await mine(as.cacMember, (n) => n.object_id === entry.id)).length, 0);
    // widening the entry later: the police member may now see it and is notified, once
    const widened = await as.cacMember.patch(`/api/v1/entries/${entry.id}`, { version: entry.version, visibility: 'mdt' });
    assert.equal(widened.status, 200, widened.text);
    assert.ok(widened.json.mentions.notified.includes(police.userId));
    assert.equal((await mine(as.dcfMember, (n) => n.kind === 'entry.mention' && n.object_id === entry.id)).length, 1, 'dcf not twice');
    assert.equal((await mine(as.policeMember, (n) => n.kind === 'entry.mention' && n.object_id === entry.id)).length, 1);
});

test('a notification about something the reader can no longer see carries no content', async () => {
    const c = await newCase(['cac', 'police', 'dcf']);
    const res = await as.cacMember.post(`/api/v1/cases/${c.id}/entries`, {
        kind: 'note',
        body_md: `For @${w.users.dcfMember.username}: secret plan`,
        visibility: 'mdt',
    });
    assert.equal(res.status, 201, res.text);
    const entry = res.json;
    const item = await addAction(as.cacSupervisor, c.id, {
        title: 'Visit the secret address',
        assignee_agency_id: w.agencies.dcf,
        assignee_id: w.users.dcfMember.userId,
    });
    assert.equal((await mine(as.dcfMember, (n) => n.case_id === c.id)).length, 2);
    // dcf is taken off the case: both notifications lose their content
    const kase = (await as.cacSupervisor.get(`/api/v1/cases/${c.id}`)).json.case;
    const upd = await as.cacSupervisor.patch(`/api/v1/cases/${c.id}`, {
        version: kase.version,
        agencies: [w.agencies.cac, w.agencies.police],
    });
    assert.equal(upd.status, 200, upd.text);
    const all = await inbox(as.dcfMember, '?limit=500');
    const hidden = all.items.filter((n) => n.kind === 'entry.mention' || n.kind === 'action.assigned').filter((n) => n.visible === false);
    const ids = await psql(dbUrl, `SELECT string_agg(id::text, ',' ORDER BY id) FROM notifications WHERE case_id = ${c.id} AND user_id = ${w.users.dcfMember.userId}`);
    const mineIds = ids.split(',').map(Number);
    const gone = all.items.filter((n) => mineIds.includes(n.id));
    assert.equal(gone.length, 2);
    for (const n of gone) {
        assert.equal(n.text, 'An item you can no longer see');
        assert.equal(n.case_id, undefined);
        assert.equal(n.object_id, null);
        assert.equal(n.link, undefined);
        assert.equal(n.visible, false);
    }
    assert.ok(hidden.length >= 2);
    assert.ok(!JSON.stringify(all).includes(c.number) && !JSON.stringify(all).includes('secret'));
    assert.ok(!gone.some((n) => n.object_id === entry.id || n.object_id === item.id));
    const text = JSON.stringify(gone);
    for (const secret of [c.number, c.alias, 'secret', 'Visit the secret address', 'cacSupervisor']) {
        assert.ok(!text.includes(secret), secret);
    }
});

// ---- meeting.agenda ----------------------------------------------------------------------------

test('a case on a planned meeting\'s agenda notifies its assignees and its lead\'s supervisors, once', async () => {
    const c = await newCase(['cac', 'dcf', 'police'], as.cacSupervisor);
    await addAction(as.cacSupervisor, c.id, {
        title: 'Open item',
        assignee_agency_id: w.agencies.dcf,
        assignee_id: w.users.dcfMember.userId,
    });
    const other = await newCase(['cac', 'hospital']);
    // the police supervisor runs the meeting (not the lead's): the CAC supervisor is told
    const res = await as.policeSupervisor.post('/api/v1/meetings', {
        title: 'Weekly review',
        scheduled_at: nowIso(DAY_MS),
        case_ids: [c.id],
    });
    assert.equal(res.status, 201, res.text);
    const meeting = res.json;
    const isIt = (n) => n.kind === 'meeting.agenda' && n.case_id === c.id;
    const d = await mine(as.dcfMember, isIt);
    assert.equal(d.length, 1);
    assert.equal(d[0].object_type, 'meeting');
    assert.equal(d[0].link, `#/meetings/${meeting.id}`);
    assert.match(d[0].text, /Weekly review/);
    assert.equal((await mine(as.cacSupervisor, isIt)).length, 1);
    // not the police (no item, not the lead), not the meeting's runner, not other agencies
    for (const key of ['policeMember', 'policeSupervisor', 'cacMember', 'hospitalMember', 'dcfSupervisor']) {
        assert.equal((await mine(as[key], isIt)).length, 0, key);
    }
    // the agenda changed: the added case notifies, the kept one not again
    const upd = await as.policeSupervisor.patch(`/api/v1/meetings/${meeting.id}`, { version: meeting.version, agenda: [c.id] });
    assert.equal(upd.status, 200, upd.text);
    assert.equal((await mine(as.dcfMember, isIt)).length, 1);
    const m2 = await as.cacSupervisor.post('/api/v1/meetings', { title: 'Other review', scheduled_at: nowIso(DAY_MS), case_ids: [other.id] });
    assert.equal(m2.status, 201, m2.text);
    assert.equal((await mine(as.cacSupervisor, (n) => n.kind === 'meeting.agenda' && n.case_id === other.id)).length, 0, 'not the one who made it');
});

// ---- the daily job -----------------------------------------------------------------------------

test('daily job: due soon and overdue to the assignee, expiring consents to the owner\'s supervisors, once', async () => {
    const c = await newCase(['cac', 'dcf', 'police']);
    const day = freshDay();
    const offset = dayOffset;
    const at = (n) => today(offset + n);
    const soon = await addAction(as.cacSupervisor, c.id, { title: 'Due soon', assignee_agency_id: w.agencies.dcf, assignee_id: w.users.dcfMember.userId, due_date: at(2) });
    const late = await addAction(as.cacSupervisor, c.id, { title: 'Late', assignee_agency_id: w.agencies.dcf, assignee_id: w.users.dcfMember.userId, due_date: at(-1) });
    const far = await addAction(as.cacSupervisor, c.id, { title: 'Far', assignee_agency_id: w.agencies.dcf, assignee_id: w.users.dcfMember.userId, due_date: at(3) });
    const done = await addAction(as.cacSupervisor, c.id, { title: 'Done', assignee_agency_id: w.agencies.dcf, assignee_id: w.users.dcfMember.userId, due_date: at(-2) });
    const d = await as.dcfMember.patch(`/api/v1/actions/${done.id}`, { version: done.version, status: 'done' });
    assert.equal(d.status, 200, d.text);
    const consent = await as.cacMember.post(`/api/v1/cases/${c.id}/consents`, {
        categories: ['contact'],
        agency_id: w.agencies.police,
        consented_by: [{ role: 'guardian', name: 'A. Guardian' }],
        purpose: 'safety plan',
        signed_on: today(),
        expires_on: at(10),
    });
    assert.equal(consent.status, 201, consent.text);
    const first = await runDaily(server.url, day);
    assert.equal(first.claimed, true);
    const again = await runDaily(server.url, day);
    assert.deepEqual(again, { claimed: false, notified: 0 });
    const dcf = await mine(as.dcfMember, (n) => n.case_id === c.id && n.kind !== 'action.assigned');
    assert.deepEqual(
        dcf.map((n) => `${n.kind}:${n.object_id}`).sort(),
        [`action.due_soon:${soon.id}`, `action.overdue:${late.id}`].sort(),
    );
    assert.ok(!dcf.some((n) => n.object_id === far.id || n.object_id === done.id));
    const sup = await mine(as.cacSupervisor, (n) => n.kind === 'consent.expiring' && n.case_id === c.id);
    assert.equal(sup.length, 1);
    assert.equal(sup[0].object_id, consent.json.id);
    for (const key of ['cacMember', 'policeSupervisor', 'policeMember', 'dcfSupervisor']) {
        assert.equal((await mine(as[key], (n) => n.case_id === c.id && n.kind === 'consent.expiring')).length, 0, key);
    }
    // the next day: the late item is not notified twice
    await runDaily(server.url, at(1));
    assert.equal((await mine(as.dcfMember, (n) => n.kind === 'action.overdue' && n.object_id === late.id)).length, 1);
});

test('the daily job ran at start-up for today; two nodes on one database run it once', async () => {
    // start-up: node A claimed today (in MDT_TIME_ZONE) by itself
    const claimedToday = () => psql(dbUrl, `SELECT count(*) FROM daily_jobs WHERE day = '${today()}'`);
    await until(async () => (await claimedToday()) === '1', 10000, "start-up claim of today's job");
    const B = await startServer({ dbUrl, env: BOARD_ENV });
    try {
        const c = await newCase(['cac', 'dcf']);
        const day = freshDay();
        for (let i = 0; i < 3; i++) {
            await addAction(as.cacSupervisor, c.id, { title: `Two nodes ${i}`, assignee_agency_id: w.agencies.dcf, assignee_id: w.users.dcfMember.userId, due_date: day });
        }
        const [ra, rb] = await Promise.all([runDaily(server.url, day), runDaily(B.url, day)]);
        assert.equal([ra.claimed, rb.claimed].filter(Boolean).length, 1, JSON.stringify([ra, rb]));
        assert.equal(ra.notified + rb.notified >= 3, true);
        assert.equal((await mine(as.dcfMember, (n) => n.kind === 'action.due_soon' && n.case_id === c.id)).length, 3);
        assert.equal(await psql(dbUrl, `SELECT count(*) FROM daily_jobs WHERE day = '${day}'`), '1');
        // a notification made through node A reaches the user's socket on node B
        // B must have seen the session before the upgrade (docs/architecture.md, Sessions)
        assert.equal((await fetch(`${B.url}/api/v1/me`, { headers: { Cookie: as.dcfMember.cookie() } })).status, 200);
        const conn = await wsConnect(B.url, { cookie: as.dcfMember.cookie(), origin: B.url });
        conn.send({ type: 'subscribe_user' });
        const sub = await conn.next((f) => f.type === 'subscribed_user' || f.type === 'error', 10000);
        assert.equal(sub.type, 'subscribed_user');
        const item = await addAction(as.cacSupervisor, c.id, { title: 'Across nodes', assignee_agency_id: w.agencies.dcf, assignee_id: w.users.dcfMember.userId });
        const ev = await conn.next((f) => f.type === 'event' && f.data.object_id === item.id, 10000);
        assert.equal(ev.kind, 'notification.created');
        conn.close();
    } finally {
        await B.stop();
    }
});
