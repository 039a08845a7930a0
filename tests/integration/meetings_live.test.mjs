// meetings_live.test.mjs - the facilitator's "now discussing" reaches every
// meeting subscriber live, filtered: a subscriber whose agency is not on the
// case under discussion gets current_case_id null and a restricted agenda
// item, and no frame it receives ever holds that case's id, number or alias.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from './lib/board_fixtures.mjs';
import { localDate, today, wallTime } from './lib/clock.mjs';

let dbUrl, server, w;

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
});

after(async () => {
    if (server) await server.stop();
});

// A meeting subscriber: /me first (loads the session on this node), then the socket.
async function subscriber(user, meetingId) {
    const client = await login(server.url, user);
    assert.equal((await client.get('/api/v1/me')).status, 200);
    const ws = await wsConnect(server.url, { cookie: client.cookie(), origin: server.url });
    ws.send({ type: 'subscribe_meeting', meeting_id: meetingId });
    const sub = await ws.next((f) => f.type === 'subscribed' || f.type === 'error', 3000);
    assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
    assert.equal(sub.meeting_id, meetingId);
    return { client, ws };
}

test('now discussing is pushed live to every subscriber; a restricted case never leaks', async () => {
    const lead = w.users.cacSupervisor;
    const shared = await createCase(server.url, dbUrl, { lead, agencies: [w.agencies.police], alias: 'Shared' });
    const secretAlias = `Secret${process.pid}`;
    const secret = await createCase(server.url, dbUrl, { lead, agencies: [w.agencies.dcf], alias: secretAlias });
    const fac = await login(server.url, lead);
    // planned for tomorrow morning in the installation's time zone
    const scheduledDay = today(2);
    const created = await fac.post('/api/v1/meetings', {
        title: 'Weekly review',
        scheduled_at: wallTime(scheduledDay, '10:00'),
        case_ids: [shared, secret],
    });
    assert.equal(created.status, 201, created.text);
    const meeting = created.json;
    const secretNumber = (await fac.get(`/api/v1/cases/${secret}`)).json.case.case_number;
    const row = async () => (await fac.get('/api/v1/cases')).json.items.find((c) => c.id === shared);
    assert.equal((await row()).next_review, scheduledDay, 'next review: the day of the planned meeting');

    const cac = await subscriber(w.users.cacMember, meeting.id);
    const police = await subscriber(w.users.policeMember, meeting.id);

    // the facilitator moves to the secret case (position 2)
    const moved = await fac.patch(`/api/v1/meetings/${meeting.id}`, {
        status: 'in_progress',
        current_position: 2,
        version: meeting.version,
    });
    assert.equal(moved.status, 200, moved.text);

    const isMove = (f) => f.type === 'event' && f.meeting_id === meeting.id && f.data?.current_position === 2;
    const cacEv = await cac.ws.next(isMove, 3000);
    const policeEv = await police.ws.next(isMove, 3000);
    assert.equal(cacEv.data.current_case_id, secret, 'the CAC is on the case: it sees which one');
    assert.equal(policeEv.data.current_case_id, null, 'police may not see that case');
    const restricted = policeEv.data.agenda.find((a) => a.position === 2);
    assert.deepEqual(restricted, { position: 2, restricted: true });
    assert.ok(policeEv.seq > 0 && cacEv.seq === policeEv.seq, 'one event, two shapes, same seq');

    // back to the shared case: both see it
    const back = await fac.patch(`/api/v1/meetings/${meeting.id}`, {
        current_position: 1,
        version: moved.json.version,
    });
    assert.equal(back.status, 200, back.text);
    const isBack = (f) => f.type === 'event' && f.data?.current_position === 1;
    assert.equal((await police.ws.next(isBack, 3000)).data.current_case_id, shared);
    assert.equal((await cac.ws.next(isBack, 3000)).data.current_case_id, shared);

    // every byte police received: never the secret case's id, number or alias
    const all = JSON.stringify(police.ws.frames);
    assert.ok(!all.includes(secretAlias), 'alias leaked');
    assert.ok(!all.includes(secretNumber), 'case number leaked');
    for (const f of police.ws.frames) {
        assert.notEqual(f.data?.current_case_id, secret);
        for (const a of f.data?.agenda ?? []) assert.notEqual(a.case_id, secret);
    }
    // the case list's review dates: not yet reviewed; the meeting was started
    // early (it is in progress), so the case is on no planned meeting
    assert.equal((await row()).last_reviewed, null);
    assert.equal((await row()).next_review, null);
    const out = await fac.put(`/api/v1/meetings/${meeting.id}/cases/${shared}/outcome`, {
        outcome_md: 'Reviewed; **no change**.',
    });
    assert.equal(out.status, 200, out.text);
    // reviewed on the day the meeting was held (started), not the day it was planned for
    const startedAt = (await fac.get(`/api/v1/meetings/${meeting.id}`)).json.started_at;
    const startedDay = localDate(Date.parse(startedAt));
    assert.notEqual(startedDay, scheduledDay);
    assert.equal((await row()).last_reviewed, startedDay);
    cac.ws.ws.close();
    police.ws.ws.close();
});

test('subscribe_meeting to a meeting the user may not see is not_found', async () => {
    const lead = w.users.cacSupervisor;
    const only = await createCase(server.url, dbUrl, { lead, agencies: [], alias: 'OnlyCac' });
    const fac = await login(server.url, lead);
    const created = await fac.post('/api/v1/meetings', {
        title: 'CAC only',
        scheduled_at: wallTime(today(3), '10:00'),
        case_ids: [only],
    });
    assert.equal(created.status, 201, created.text);
    const hospital = await login(server.url, w.users.hospitalMember);
    assert.equal((await hospital.get('/api/v1/me')).status, 200);
    const ws = await wsConnect(server.url, { cookie: hospital.cookie(), origin: server.url });
    ws.send({ type: 'subscribe_meeting', meeting_id: created.json.id });
    const f = await ws.next((x) => x.type === 'error' || x.type === 'subscribed', 3000);
    assert.equal(f.type, 'error');
    assert.equal(f.code, 'not_found');
    ws.ws.close();
});
