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

// ---- approval ------------------------------------------------------------------

// The audit rows and events of the meeting so far, and the last of each.
async function lastChange(id) {
    return JSON.parse(
        await psql(
            dbUrl,
            `SELECT json_build_object(
                'events', (SELECT count(*) FROM events WHERE meeting_id = ${id}),
                'audit', (SELECT count(*) FROM audit WHERE object_type = 'meeting' AND object_id = ${id}
                          AND action NOT IN ('meeting.read', 'meeting.list', 'meeting.minutes') AND outcome <> 'denied'),
                'event', (SELECT json_build_object('kind', kind, 'case_id', case_id) FROM events
                          WHERE meeting_id = ${id} ORDER BY seq DESC LIMIT 1),
                'row', (SELECT json_build_object('action', action, 'case_id', case_id, 'detail', detail) FROM audit
                        WHERE object_type = 'meeting' AND object_id = ${id}
                        AND action NOT IN ('meeting.read', 'meeting.list', 'meeting.minutes') AND outcome <> 'denied'
                        ORDER BY id DESC LIMIT 1))`,
        ),
    );
}

const outcome = (client, caseId, body) => client.put(url(meeting.id, `/cases/${caseId}/outcome`), body);

test('approval: the facilitator only, only after the end, only once, on the current version', async () => {
    const fac = as.cacSupervisor;
    assert.equal((await outcome(fac, A, { outcome_md: 'ALPHA-OUTCOME-V1' })).status, 200);
    const wrote = await outcome(fac, C, { outcome_md: 'C-OUTCOME-V1', correction_reason: 'ignored while a draft' });
    assert.equal(wrote.status, 200, wrote.text);
    assert.deepEqual(wrote.json.minutes.corrections, [], 'before approval correction_reason is ignored');
    meeting = wrote.json;
    const approve = (client, body) => client.post(url(meeting.id, '/minutes/approve'), body);

    assertError(await approve(fac, { version: meeting.version }), 422, 'validation', 'status');
    for (const status of ['in_progress', 'ended']) {
        const res = await fac.patch(url(meeting.id), { status, version: meeting.version });
        assert.equal(res.status, 200, res.text);
        meeting = res.json;
    }
    const before = await lastChange(meeting.id);
    assertError(await approve(as.cacMember, { version: meeting.version }), 403, 'forbidden');
    assertError(await approve(as.hospitalMember, { version: meeting.version }), 403, 'forbidden');
    assertError(await approve(as.dcfMember, { version: meeting.version }), 404, 'not_found');
    assertError(await approve(fac, {}), 422, 'validation', 'version');
    const stale = await approve(fac, { version: meeting.version - 1 });
    assertError(stale, 409, 'conflict');
    assert.equal(stale.json.error.current.version, meeting.version);
    const still = await lastChange(meeting.id);
    assert.deepEqual([still.events, still.audit], [before.events, before.audit], 'refusals changed nothing');

    const ok = await approve(fac, { version: meeting.version });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.version, meeting.version + 1);
    const { approved_at, ...rest } = ok.json.minutes;
    assert.deepEqual(rest, { status: 'approved', version: 1, approved_by: w.users.cacSupervisor.userId, corrections: [] });
    assert.ok(Math.abs(Date.parse(approved_at) - Date.now()) < 10 * 60 * 1000, approved_at);
    const after = await lastChange(meeting.id);
    assert.deepEqual([after.events, after.audit], [before.events + 1, before.audit + 1]);
    assert.deepEqual(after.event, { kind: 'meeting.updated', case_id: null });
    assert.equal(after.row.action, 'meeting.minutes.approve');
    meeting = ok.json;

    const again = await approve(fac, { version: meeting.version });
    assertError(again, 409, 'conflict');
    assert.equal(again.json.error.current.minutes.status, 'approved');
    assert.equal((await as.hospitalMember.get(url(meeting.id))).json.minutes.status, 'approved');

    const md = (await as.hospitalMember.get(url(meeting.id, '/minutes'))).text;
    assert.match(md, new RegExp(`Minutes: Approved by cacSupervisor ${tag}w1 on \\d{4}-\\d{2}-\\d{2}`));
});

test('a draft says so and has no versions', async () => {
    const draft = await as.cacSupervisor.post('/api/v1/meetings', {
        title: 'Another', scheduled_at: wallTime(today(1), '10:00', TZ), case_ids: [A],
    });
    assert.equal(draft.status, 201, draft.text);
    assert.ok((await as.cacMember.get(url(draft.json.id, '/minutes'))).text.includes('Draft — not approved'));
    assertError(await as.cacMember.get(url(draft.json.id, '/minutes?version=1')), 422, 'validation', 'version');
});

// ---- corrections -----------------------------------------------------------------

// A meeting subscriber: /me first (loads the session on this node), then the socket.
async function subscriber(client) {
    assert.equal((await client.get('/api/v1/me')).status, 200);
    const ws = await wsConnect(server.url, { cookie: client.cookie(), origin: server.url });
    ws.send({ type: 'subscribe_meeting', meeting_id: meeting.id });
    const sub = await ws.next((f) => f.type === 'subscribed' || f.type === 'error', 3000);
    assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
    return ws;
}

test('after approval an outcome changes only as a correction: a new minutes version, audited without text', async () => {
    const fac = as.cacSupervisor;
    const before = await lastChange(meeting.id);
    assertError(await outcome(fac, A, { outcome_md: 'ALPHA-OUTCOME-V2' }), 422, 'validation', 'correction_reason');
    assertError(await outcome(fac, A, { outcome_md: 'ALPHA-OUTCOME-V2', correction_reason: '   ' }), 422, 'validation', 'correction_reason');
    assertError(await outcome(fac, A, { outcome_md: 'ALPHA-OUTCOME-V2', correction_reason: 'x'.repeat(501) }), 422, 'validation', 'correction_reason');
    assertError(await outcome(fac, A, { outcome_md: 'ALPHA-OUTCOME-V2', correction_reason: 7 }), 422, 'validation', 'correction_reason');
    assertError(await outcome(as.cacMember, A, { outcome_md: 'x', correction_reason: 'why' }), 403, 'forbidden');
    const still = await lastChange(meeting.id);
    assert.deepEqual([still.events, still.audit], [before.events, before.audit], 'refusals changed nothing');

    const reason = `ALPHA-REASON-${tag}: the age was wrong`;
    const res = await outcome(fac, A, { outcome_md: 'ALPHA-OUTCOME-V2', correction_reason: reason, version: meeting.version });
    assert.equal(res.status, 200, res.text);
    const item = res.json.agenda.find((x) => x.case_id === A);
    assert.equal(item.outcome_md, 'ALPHA-OUTCOME-V2');
    assert.equal(item.outcome_version, 2);
    assert.equal(res.json.minutes.version, 2);
    assert.equal(res.json.minutes.corrections.length, 1);
    const [k] = res.json.minutes.corrections;
    assert.deepEqual({ ...k, at: undefined }, { version: 2, case_id: A, by: w.users.cacSupervisor.userId, at: undefined, reason });
    const after = await lastChange(meeting.id);
    assert.deepEqual([after.events, after.audit], [before.events + 1, before.audit + 1]);
    assert.deepEqual(after.event, { kind: 'meeting.updated', case_id: null });
    assert.equal(after.row.action, 'meeting.minutes.correct');
    assert.equal(Number(after.row.case_id), A);
    assert.deepEqual(after.row.detail, { case_id: A, outcome_version: 2, minutes_version: 2 });
    assert.ok(!JSON.stringify(after.row).includes('ALPHA'), 'no text in the audit row');
    meeting = res.json;
});

test('minutes?version=1 is the approved text; the default is the corrected one; out of range is 422', async () => {
    const get = (q) => as.hospitalMember.get(url(meeting.id, `/minutes${q}`));
    const v1 = (await get('?version=1')).text;
    assert.ok(v1.includes('ALPHA-OUTCOME-V1') && !v1.includes('ALPHA-OUTCOME-V2'), v1);
    assert.ok(v1.includes('version 1 of 2 (corrected since)'), v1);
    assert.ok(!v1.includes('ALPHA-REASON'), 'a later correction is not in version 1');
    const latest = (await get('')).text;
    assert.ok(latest.includes('ALPHA-OUTCOME-V2') && !latest.includes('ALPHA-OUTCOME-V1'), latest);
    assert.ok(latest.includes(`ALPHA\\-REASON\\-${tag}: the age was wrong`) || latest.includes(`ALPHA-REASON-${tag}: the age was wrong`), latest);
    assert.equal((await get('?version=2')).text, latest);
    const html = (await get('?version=1&format=html')).text;
    assert.ok(html.startsWith('<!DOCTYPE html>') && html.includes('<p>ALPHA-OUTCOME-V1</p>'), html);
    assert.ok(html.includes('<dt>Minutes</dt><dd>Approved by'), html);
    assertError(await get('?version=3'), 422, 'validation', 'version');
    assertError(await get('?version=0'), 422, 'validation', 'version');
    assertError(await get('?version=two'), 400, 'bad_request', 'version');
});

test('a correction of a case restricted for an agency never reaches it: meeting JSON, minutes, frames', async () => {
    const hospitalWs = await subscriber(as.hospitalMember);
    const cacWs = await subscriber(as.cacMember);
    const reason = `C-SECRET-REASON-${tag}`;
    const res = await outcome(as.cacSupervisor, C, { outcome_md: 'C-OUTCOME-V2', correction_reason: reason });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.minutes.version, 3);
    meeting = res.json;

    const isV3 = (f) => f.type === 'event' && f.meeting_id === meeting.id && f.data?.minutes?.version === 3;
    const cacEv = await cacWs.next(isV3, 3000);
    assert.deepEqual(cacEv.data.minutes.corrections.map((k) => k.case_id), [A, C]);
    const hospitalEv = await hospitalWs.next(isV3, 3000);
    assert.deepEqual(hospitalEv.data.minutes.corrections.map((k) => k.case_id), [A], 'no placeholder for C');
    await hospitalWs.barrier();
    const frames = JSON.stringify(hospitalWs.frames);
    assert.ok(!frames.includes(reason) && !frames.includes('C-OUTCOME'), frames);
    assertNoTraceOfC(frames);

    const json = await as.hospitalMember.get(url(meeting.id));
    assert.deepEqual(json.json.minutes.corrections.map((k) => k.version), [2]);
    assert.ok(!json.text.includes(reason));
    assertNoTraceOfC(json.text);
    for (const q of ['', '?format=html', '?version=3']) {
        const text = (await as.hospitalMember.get(url(meeting.id, `/minutes${q}`))).text;
        assert.ok(!text.includes(reason) && !text.includes('C-OUTCOME') && !text.includes('Version 3'), text);
        assertNoTraceOfC(text);
    }
    const cacMinutes = (await as.cacMember.get(url(meeting.id, '/minutes'))).text;
    assert.ok(cacMinutes.includes(reason) && cacMinutes.includes('C-OUTCOME-V2'), cacMinutes);
    hospitalWs.ws.close();
    cacWs.ws.close();
});

test('after approval nothing new is recorded in the meeting: action items and entries are 422 meeting_id', async () => {
    const before = await psql(dbUrl, `SELECT (SELECT count(*) FROM entries) || ',' || (SELECT count(*) FROM actions)`);
    const refused = await entry(as.cacMember, A, { kind: 'decision', body_md: 'late', visibility: 'mdt', meeting_id: meeting.id });
    assertError(refused, 422, 'validation', 'meeting_id');
    assert.match(refused.json.error.message, /approved/);
    assertError(await action(as.cacSupervisor, A, { title: 'late', assignee_agency_id: w.agencies.cac, meeting_id: meeting.id }), 422, 'validation', 'meeting_id');
    assert.equal(await psql(dbUrl, `SELECT (SELECT count(*) FROM entries) || ',' || (SELECT count(*) FROM actions)`), before);
    // a decision of the same day without a meeting, made after the approval, does not change the minutes
    const after = await entry(as.cacMember, A, { kind: 'decision', body_md: 'AFTER-APPROVAL-DECISION', visibility: 'mdt' });
    assert.equal(after.status, 201, after.text);
    assert.ok(!(await as.cacMember.get(url(meeting.id, '/minutes'))).text.includes('AFTER-APPROVAL-DECISION'));
});
