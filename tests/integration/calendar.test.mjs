// calendar.test.mjs - the per-user calendar feed (calendar.h) against the
// real binary and PostgreSQL: the URL from POST /me/calendar serves
// RFC 5545 text without a session (CRLF, lines of at most 75 octets,
// UID, DTSTAMP, DTSTART in UTC) holding exactly the meetings the user may
// see and the due dates of the open action items assigned to the user,
// titled without case content; a new URL replaces the old one; DELETE,
// the user's password change and an administrator's reset revoke it;
// unknown tokens are 404, audited as denied, and rate-limited.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, flushAudit, psql, startServer } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login, todayIn } from './lib/board_fixtures.mjs';
import { wallTime } from './lib/clock.mjs';
import { DEFAULT_PASSWORD } from './lib/fixtures.mjs';

const TZ = 'America/New_York';
const ALIAS = 'K.W.';
const SECRET = 'Interview at Maple Street shelter';
const MEETING_TITLE = 'Review of the Okafor siblings';
const HIDDEN_MEETING = 'Police-only review';

let dbUrl, server, w, caseNumber;
const as = {};
const ids = {};

// parseIcs(text) - checks the framing and unfolds; resolves the events as
// objects of property name (with parameters) -> value.
function parseIcs(text) {
    assert.ok(text.endsWith('\r\n'), 'ends with CRLF');
    const physical = text.slice(0, -2).split('\r\n');
    for (const line of physical) {
        assert.ok(!line.includes('\n') && !line.includes('\r'), 'no bare line ends');
        assert.ok(Buffer.byteLength(line) <= 75, `line of at most 75 octets: ${line}`);
    }
    const lines = [];
    for (const line of physical) {
        if (line.startsWith(' ')) lines[lines.length - 1] += line.slice(1);
        else lines.push(line);
    }
    assert.equal(lines[0], 'BEGIN:VCALENDAR');
    assert.equal(lines.at(-1), 'END:VCALENDAR');
    assert.ok(lines.includes('VERSION:2.0'));
    assert.ok(lines.some((l) => l.startsWith('PRODID:')));
    const events = [];
    let cur = null;
    for (const line of lines) {
        if (line === 'BEGIN:VEVENT') cur = {};
        else if (line === 'END:VEVENT') events.push(cur), (cur = null);
        else if (cur) {
            const i = line.indexOf(':');
            cur[line.slice(0, i)] = line.slice(i + 1);
        }
    }
    return events;
}

const icsUtc = (iso) => iso.replace(/[-:]/g, '').replace(/\.\d+/, '');

async function feed(url) {
    const res = await fetch(url);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ, MDT_CALENDAR_RATE: '100000' } });
    w = await boardWorld(dbUrl);
    for (const key of ['cacMember', 'cacSupervisor', 'policeSupervisor', 'cacAdmin']) as[key] = await login(server.url, w.users[key]);
    const a = w.agencies;
    const caseA = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [a.cac, a.police], alias: ALIAS });
    const caseB = await createCase(server.url, dbUrl, { lead: w.users.policeSupervisor, agencies: [a.police], alias: 'P.O.' });
    caseNumber = (await as.cacMember.get(`/api/v1/cases/${caseA}`)).json.case.case_number;
    const me = w.users.cacMember.userId;
    const make = async (name, body) => {
        const r = await as.cacMember.post(`/api/v1/cases/${caseA}/actions`, { assignee_agency_id: a.cac, ...body });
        assert.equal(r.status, 201, r.text);
        ids[name] = r.json.id;
    };
    await make('due', { title: SECRET, assignee_id: me, due_date: todayIn(TZ, 4) });
    await make('overdue', { title: 'Overdue, secret; too', assignee_id: me, due_date: todayIn(TZ, -2) });
    await make('undated', { title: 'no date', assignee_id: me });
    await make('done', { title: 'finished', assignee_id: me, due_date: todayIn(TZ, 3) });
    await make('others', { title: 'the agency, not me', due_date: todayIn(TZ, 3) });
    const r = await as.cacMember.patch(`/api/v1/actions/${ids.done}`, { version: 1, status: 'done' });
    assert.equal(r.status, 200, r.text);
    ids.meetingAt = wallTime(todayIn(TZ, 3), '09:30', TZ);
    let m = await as.cacSupervisor.post('/api/v1/meetings', { title: MEETING_TITLE, scheduled_at: ids.meetingAt, case_ids: [caseA] });
    assert.equal(m.status, 201, m.text);
    ids.meeting = m.json.id;
    m = await as.policeSupervisor.post('/api/v1/meetings', { title: HIDDEN_MEETING, scheduled_at: ids.meetingAt, case_ids: [caseB] });
    assert.equal(m.status, 201, m.text);
    ids.hidden = m.json.id;
});

after(async () => {
    if (server) await server.stop();
});

test('the feed: iCalendar with the visible meetings and own due dates, no case content', async () => {
    const r = await as.cacMember.post('/api/v1/me/calendar', {});
    assert.equal(r.status, 201, r.text);
    const url = r.json.url;
    assert.match(url, new RegExp(`^${server.url}/api/v1/calendar/[0-9a-f]{64}\\.ics$`));
    const token = url.match(/([0-9a-f]{64})\.ics$/)[1];
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM calendar_tokens WHERE token_hash = '${token}'`), '0', 'only a hash is stored');
    assert.equal((await as.cacMember.get('/api/v1/me/notification-settings')).json.calendar_active, true);

    const f = await feed(url); // no cookie
    assert.equal(f.status, 200, f.text);
    assert.match(f.type, /^text\/calendar/);
    const events = parseIcs(f.text);
    const uids = events.map((e) => e.UID).sort();
    const host = new URL(server.url).host;
    assert.deepEqual(
        uids,
        [`action-${ids.due}@${host}`, `action-${ids.overdue}@${host}`, `meeting-${ids.meeting}@${host}`].sort(),
        'own open dated items and the meeting the user may see; not the done, undated, unassigned items or the police meeting',
    );
    const meeting = events.find((e) => e.UID.startsWith('meeting-'));
    assert.equal(meeting.DTSTART, icsUtc(ids.meetingAt));
    assert.equal(meeting.SUMMARY, 'MDT case review');
    assert.match(meeting.DTSTAMP, /^\d{8}T\d{6}Z$/);
    assert.equal(meeting.URL, `${server.url}/#/meetings/${ids.meeting}`);
    const due = events.find((e) => e.UID === `action-${ids.due}@${host}`);
    assert.equal(due['DTSTART;VALUE=DATE'], todayIn(TZ, 4).replace(/-/g, ''));
    assert.equal(due.SUMMARY, 'Action item due');
    for (const s of [caseNumber, ALIAS, SECRET, 'secret', MEETING_TITLE, 'Okafor', HIDDEN_MEETING, w.users.cacMember.username]) {
        assert.ok(!f.text.includes(s), `no "${s}" in the feed`);
    }
    await flushAudit(server);
    const audit = await psql(dbUrl, `SELECT user_id || ' ' || detail::text FROM audit WHERE action = 'calendar.read' AND outcome = 'ok'`);
    assert.equal(audit, `${w.users.cacMember.userId} {"actions": 3, "meetings": 1}`);
});

test('a new URL replaces the old one; DELETE revokes it', async () => {
    const first = (await as.cacMember.post('/api/v1/me/calendar', {})).json.url;
    const second = (await as.cacMember.post('/api/v1/me/calendar', {})).json.url;
    assert.notEqual(first, second);
    assert.equal((await feed(first)).status, 404);
    assert.equal((await feed(second)).status, 200);
    const r = await as.cacMember.del('/api/v1/me/calendar');
    assert.equal(r.status, 204, r.text);
    assert.equal((await feed(second)).status, 404);
    assert.equal((await as.cacMember.get('/api/v1/me/notification-settings')).json.calendar_active, false);
});

test('a password change and an administrator reset revoke the feed', async () => {
    const c = await login(server.url, w.users.cacSupervisor);
    let url = (await c.post('/api/v1/me/calendar', {})).json.url;
    assert.equal((await feed(url)).status, 200);
    const r = await c.put('/api/v1/me/password', { current_password: DEFAULT_PASSWORD, new_password: 'a brand new long passphrase' });
    assert.equal(r.status, 204, r.text);
    assert.equal((await feed(url)).status, 404, 'rotated on password change');

    const m = await login(server.url, w.users.cacMember);
    url = (await m.post('/api/v1/me/calendar', {})).json.url;
    assert.equal((await feed(url)).status, 200);
    const reset = await as.cacAdmin.post(`/api/v1/admin/users/${w.users.cacMember.userId}/reset-password`, {});
    assert.equal(reset.status, 200, reset.text);
    assert.equal((await feed(url)).status, 404, 'revoked by the reset');
});

test('unknown and malformed tokens: 404, audited as denied', async () => {
    await flushAudit(server); // the revoked URLs above were denied reads too
    const before = Number(await psql(dbUrl, `SELECT count(*) FROM audit WHERE action = 'calendar.read' AND outcome = 'denied'`));
    const unknown = await feed(`${server.url}/api/v1/calendar/${'ab'.repeat(32)}.ics`);
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.text).error.code, 'not_found');
    assert.equal((await feed(`${server.url}/api/v1/calendar/NOT-A-TOKEN.ics`)).status, 404);
    await flushAudit(server);
    const after = Number(await psql(dbUrl, `SELECT count(*) FROM audit WHERE action = 'calendar.read' AND outcome = 'denied'`));
    assert.equal(after, before + 2);
});

test('feed requests are rate-limited per address', async () => {
    const limited = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ, MDT_CALENDAR_RATE: '3' } });
    try {
        const url = `${limited.url}/api/v1/calendar/${'cd'.repeat(32)}.ics`;
        const statuses = [];
        for (let i = 0; i < 4; i++) {
            const res = await fetch(url);
            statuses.push(res.status);
            if (res.status === 429) assert.ok(Number(res.headers.get('retry-after')) >= 1);
        }
        assert.deepEqual(statuses, [404, 404, 404, 429]);
    } finally {
        await limited.stop();
    }
});
