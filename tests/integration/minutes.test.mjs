// minutes.test.mjs - decisions recorded in a meeting (entries with
// meeting_id) and the minutes workflow: draft, approved by the facilitator
// (only once, only when the meeting has ended), immutable after that except
// through corrections (each one a new minutes version with who, when and
// why, audited without text), and the minutes as they were at any version.
// A correction of a case another agency may not see never reaches that
// agency: not in its Meeting JSON, its minutes or its WebSocket frames.
//
// The world (board_fixtures.mjs): case A has the CAC, the police and the
// hospital on it; case C only the CAC and the police. The CAC supervisor
// runs the meeting; the hospital member attends (so it sees the meeting,
// with C as {position, restricted: true}).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, flushAudit, psql, startServer, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, createCase, login } from './lib/board_fixtures.mjs';
import { today, wallTime } from './lib/clock.mjs';

const TZ = 'America/New_York';
let dbUrl, server, w, A, C, meeting;
const as = {};
const tag = `${process.pid}`;
const C_ALIAS = `Zulu-Hidden-${tag}`;
let cNumber;

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ } });
    w = await boardWorld(dbUrl);
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);
    const a = w.agencies;
    const lead = w.users.cacSupervisor;
    A = await createCase(server.url, dbUrl, { lead, agencies: [a.police, a.hospital], alias: 'Alpha-A' });
    C = await createCase(server.url, dbUrl, { lead, agencies: [a.police], alias: C_ALIAS });
    cNumber = await psql(dbUrl, `SELECT case_number FROM cases WHERE id = ${C}`);
    const created = await as.cacSupervisor.post('/api/v1/meetings', {
        title: 'Weekly review',
        scheduled_at: wallTime(today(), '10:00', TZ),
        case_ids: [A, C],
    });
    assert.equal(created.status, 201, created.text);
    meeting = created.json;
    const att = await as.cacSupervisor.post(`/api/v1/meetings/${meeting.id}/attendance`, {
        user_id: w.users.hospitalMember.userId,
    });
    assert.equal(att.status, 200, att.text);
    meeting = att.json;
});

after(async () => {
    if (server) await server.stop();
});

const url = (id, tail = '') => `/api/v1/meetings/${id}${tail}`;
const entry = (client, caseId, body) => client.post(`/api/v1/cases/${caseId}/entries`, body);
const action = (client, caseId, body) => client.post(`/api/v1/cases/${caseId}/actions`, body);

// The hidden case never shows through: not its id, number or alias.
function assertNoTraceOfC(text) {
    assert.ok(!new RegExp(`"case_id":${C}[^0-9]`).test(text), `case C's id leaked: ${text}`);
    assert.ok(!text.includes(C_ALIAS), `case C's alias leaked: ${text}`);
    assert.ok(!text.includes(cNumber), `case C's number leaked: ${text}`);
}

test('a new meeting has draft minutes', () => {
    assert.deepEqual(meeting.minutes, { status: 'draft', version: 0, approved_by: null, approved_at: null, corrections: [] });
});

test('entries take meeting_id: decisions recorded in the meeting are in its minutes', async () => {
    const made = await entry(as.cacMember, A, { kind: 'decision', body_md: 'LINKED-DECISION: refer', visibility: 'mdt', meeting_id: meeting.id });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.json.meeting_id, meeting.id);
    const plain = await entry(as.cacMember, A, { kind: 'note', body_md: 'a note', visibility: 'mdt' });
    assert.equal(plain.status, 201, plain.text);
    assert.equal(plain.json.meeting_id, null, 'no meeting: null');
    const board = await as.cacMember.get(`/api/v1/cases/${A}`);
    const onBoard = board.json.entries.find((e) => e.id === made.json.id);
    assert.equal(onBoard.meeting_id, meeting.id, 'the board shows the link too');
    // a decision of the meeting made on another day is still in its minutes
    await psql(dbUrl, `UPDATE entries SET created_at = now() - interval '3 days' WHERE id = ${made.json.id}`);
    const md = (await as.hospitalMember.get(url(meeting.id, '/minutes'))).text;
    assert.ok(md.includes('LINKED-DECISION: refer'), md);
    // a decision of the same day without a meeting: there as before
    const sameDay = await entry(as.cacMember, A, { kind: 'decision', body_md: 'SAME-DAY-DECISION', visibility: 'mdt' });
    assert.equal(sameDay.status, 201, sameDay.text);
    const md2 = (await as.hospitalMember.get(url(meeting.id, '/minutes'))).text;
    assert.ok(md2.includes('SAME-DAY-DECISION'), md2);
    // a note linked to the meeting is not a decision
    const note = await entry(as.cacMember, A, { kind: 'note', body_md: 'LINKED-NOTE', visibility: 'mdt', meeting_id: meeting.id });
    assert.equal(note.status, 201, note.text);
    assert.ok(!(await as.hospitalMember.get(url(meeting.id, '/minutes'))).text.includes('LINKED-NOTE'));
});

test('entries: a bad meeting_id is 422 meeting_id; an interview is never linked to a meeting', async () => {
    const before = await psql(dbUrl, `SELECT count(*) FROM entries`);
    assertError(await entry(as.cacMember, A, { kind: 'decision', body_md: 'x', visibility: 'mdt', meeting_id: 999999 }), 422, 'validation', 'meeting_id');
    const other = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [] });
    assertError(await entry(as.cacMember, other, { kind: 'decision', body_md: 'x', visibility: 'mdt', meeting_id: meeting.id }), 422, 'validation', 'meeting_id');
    // a meeting the caller may not see (the DCF is on neither case and does not attend)
    const dcfCase = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.dcf] });
    assertError(await entry(as.dcfMember, dcfCase, { kind: 'decision', body_md: 'x', visibility: 'mdt', meeting_id: meeting.id }), 422, 'validation', 'meeting_id');
    const interview = {
        kind: 'interview', body_md: 'x', visibility: 'mdt', meeting_id: meeting.id,
        interview: { date: today(0, TZ), interviewer_id: w.users.cacInterviewer.userId, disclosure: 'none' },
    };
    assertError(await entry(as.cacInterviewer, A, interview), 422, 'validation', 'meeting_id');
    assertError(await entry(as.cacMember, A, { kind: 'decision', body_md: 'x', visibility: 'mdt', meeting_id: 'seven' }), 400, 'bad_request', 'meeting_id');
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM entries`), before, 'nothing was written');
});
