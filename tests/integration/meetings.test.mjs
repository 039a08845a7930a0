// meetings.test.mjs - weekly case reviews against the real binary and
// PostgreSQL: a meeting over three cases where one attendee's agency may
// see only two (the third is exactly {position, restricted: true}, and its
// id, number and alias appear nowhere in what that attendee gets); the
// facilitator's pointer, persisted and versioned (409 on a stale version);
// who may change a meeting (403) and who may know of it (404); attendance
// by oneself and by the facilitator; outcomes with their history; minutes
// in Markdown and HTML with only what the reader may see; the default
// agenda (not reviewed lately, overdue action items); action items that
// name a meeting; and exactly one event (meeting_id set, no case) and one
// audit row per change.
//
// The world (board_fixtures.mjs): cases A and B have the CAC, the police
// and the hospital on them; case C only the CAC and the police. The CAC
// supervisor runs the meeting; the hospital member attends.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, ownerUrl, psql, startServer } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, createCase, login, todayIn } from './lib/board_fixtures.mjs';
import { DAY_MS, iso, nowIso as nowPlus, today, wallTime } from './lib/clock.mjs';

const TZ = 'America/New_York';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const C_ID = 987654;
let dbUrl, server, w, A, B, C, meeting;
const as = {};
const tag = `${process.pid}`;
const names = {
    A: { alias: 'Alpha-A', number: null },
    B: { alias: 'Bravo-B', number: null },
    C: { alias: `Zulu-Secret-${tag}`, number: null },
};

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ } });
    w = await boardWorld(dbUrl);
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);
    const a = w.agencies;
    const lead = w.users.cacSupervisor;
    A = await createCase(server.url, dbUrl, { lead, agencies: [a.police, a.hospital], alias: names.A.alias });
    B = await createCase(server.url, dbUrl, { lead, agencies: [a.police, a.hospital], alias: names.B.alias });
    // C gets an id no other number in an answer can share (ids, versions
    // and positions stay small; no timestamp holds a 6-digit run).
    await psql(dbUrl, `SELECT setval('cases_id_seq', ${C_ID - 1})`);
    C = await createCase(server.url, dbUrl, { lead, agencies: [a.police], alias: names.C.alias });
    assert.equal(C, C_ID);
    await psql(dbUrl, `SELECT setval('cases_id_seq', 100)`);
    for (const [k, id] of Object.entries({ A, B, C })) {
        names[k].number = await psql(dbUrl, `SELECT case_number FROM cases WHERE id = ${id}`);
    }
});

after(async () => {
    if (server) await server.stop();
});

const url = (id, tail = '') => `/api/v1/meetings/${id}${tail}`;

// meetingCounts(id) - events of the meeting, and audit rows of its changes.
async function meetingCounts(id) {
    const out = await psql(
        dbUrl,
        `SELECT (SELECT count(*) FROM events WHERE meeting_id = ${Number(id)}) || ',' ||
                (SELECT count(*) FROM audit WHERE object_type = 'meeting' AND object_id = ${Number(id)}
                  AND action IN ('meeting.create', 'meeting.update', 'meeting.attendance', 'meeting.outcome')
                  AND outcome <> 'denied')`,
    );
    const [events, audit] = out.split(',').map(Number);
    return { events, audit };
}

// expectOneMeetingChange(id, before, {kind, action}) - exactly one event
// (meeting_id set, no case, data {object_type, id}) and one audit row.
async function expectOneMeetingChange(id, before, { kind, action }) {
    assert.deepEqual(await meetingCounts(id), { events: before.events + 1, audit: before.audit + 1 }, `one event and one audit row for ${action}`);
    const last = JSON.parse(
        await psql(
            dbUrl,
            `SELECT json_build_object(
                'event', (SELECT json_build_object('kind', kind, 'case_id', case_id, 'meeting_id', meeting_id,
                          'object_type', object_type, 'object_id', object_id, 'data', data)
                          FROM events WHERE meeting_id = ${Number(id)} ORDER BY seq DESC LIMIT 1),
                'audit', (SELECT json_build_object('action', action, 'object_type', object_type,
                          'object_id', object_id, 'detail', detail) FROM audit
                          WHERE object_type = 'meeting' AND object_id = ${Number(id)}
                          AND action LIKE 'meeting.%' AND action NOT IN ('meeting.read', 'meeting.list', 'meeting.minutes') AND outcome <> 'denied'
                          ORDER BY id DESC LIMIT 1))`,
        ),
    );
    assert.equal(last.event.kind, kind);
    assert.equal(last.event.case_id, null);
    assert.equal(Number(last.event.meeting_id), id);
    assert.equal(last.event.object_type, 'meeting');
    assert.deepEqual(last.event.data, { object_type: 'meeting', id });
    assert.equal(last.audit.action, action);
    assert.equal(Number(last.audit.object_id), id);
    return last;
}

async function expectNoMeetingChange(id, before) {
    assert.deepEqual(await meetingCounts(id), before, 'the refused request changed nothing');
}

// The restricted case never shows through: not its id (as any number in
// the text), its number or its alias.
function assertNoTraceOfC(text) {
    assert.ok(!new RegExp(`(^|[^0-9])${C}([^0-9]|$)`).test(text), `case C's id leaked: ${text}`);
    assert.ok(!text.includes(names.C.alias), `case C's alias leaked: ${text}`);
    assert.ok(!text.includes(names.C.number), `case C's number leaked: ${text}`);
}

// nowIso(offsetDays) - now, plus offsetDays, as RFC 3339 UTC.
function nowIso(offsetDays = 0) {
    return nowPlus(offsetDays * DAY_MS);
}

// ---- creating ------------------------------------------------------------

test('a supervisor creates a meeting over three cases and facilitates it', async () => {
    const res = await as.cacSupervisor.post('/api/v1/meetings', {
        title: 'Weekly review <b>&</b>',
        scheduled_at: nowIso(),
        case_ids: [A, B, C],
    });
    assert.equal(res.status, 201, res.text);
    meeting = res.json;
    assert.equal(meeting.status, 'planned');
    assert.equal(meeting.facilitator_id, w.users.cacSupervisor.userId);
    assert.equal(meeting.title, 'Weekly review <b>&</b>');
    assert.match(meeting.scheduled_at, RFC3339);
    assert.equal(meeting.current_position, null);
    assert.equal(meeting.current_case_id, null);
    assert.deepEqual(meeting.attendees, []);
    assert.equal(meeting.version, 1);
    assert.deepEqual(
        meeting.agenda.map((x) => [x.position, x.case_id, x.alias, x.case_number, x.outcome_md, x.outcome_html]),
        [
            [1, A, names.A.alias, names.A.number, null, null],
            [2, B, names.B.alias, names.B.number, null, null],
            [3, C, names.C.alias, names.C.number, null, null],
        ],
    );
    const last = await expectOneMeetingChange(meeting.id, { events: 0, audit: 0 }, { kind: 'meeting.updated', action: 'meeting.create' });
    assert.ok(!JSON.stringify(last.audit.detail).includes('Weekly'), 'no meeting text in the audit detail');
});

test('creating: supervisors only (403), visible cases only (422 case_ids), valid input (422/400)', async () => {
    for (const key of ['cacMember', 'cacInterviewer', 'cacAdmin', 'hospitalMember']) {
        assertError(await as[key].post('/api/v1/meetings', { title: 'x', scheduled_at: nowIso() }), 403, 'forbidden');
    }
    // The DCF supervisor's agency is on none of A, B, C.
    assertError(
        await as.dcfSupervisor.post('/api/v1/meetings', { title: 'x', scheduled_at: nowIso(), case_ids: [A] }),
        422,
        'validation',
        'case_ids',
    );
    assertError(await as.cacSupervisor.post('/api/v1/meetings', { title: 'x', scheduled_at: nowIso(), case_ids: [999999] }), 422, 'validation', 'case_ids');
    assertError(await as.cacSupervisor.post('/api/v1/meetings', { title: 'x', scheduled_at: '2099-11-28 14:00' }), 422, 'validation', 'scheduled_at');
    assertError(await as.cacSupervisor.post('/api/v1/meetings', { title: '   ', scheduled_at: nowIso() }), 422, 'validation', 'title');
    assertError(await as.cacSupervisor.post('/api/v1/meetings', { scheduled_at: nowIso() }), 422, 'validation', 'title');
    assertError(await as.cacSupervisor.post('/api/v1/meetings', { title: 'x', scheduled_at: nowIso(), case_ids: 'A' }), 400, 'bad_request', 'case_ids');
    assertError(await as.cacSupervisor.post('/api/v1/meetings', { title: 'x', scheduled_at: nowIso(), default_agenda: 3 }), 400, 'bad_request', 'default_agenda');
});

// ---- what each caller sees -------------------------------------------------

test('an attendee whose agency sees two of the three cases gets exactly {position, restricted: true} for the third', async () => {
    const res = await as.hospitalMember.get(url(meeting.id));
    assert.equal(res.status, 200, res.text);
    const m = res.json;
    assert.equal(m.agenda.length, 3);
    assert.equal(m.agenda[0].case_id, A);
    assert.equal(m.agenda[1].case_id, B);
    assert.deepEqual(m.agenda[2], { position: 3, restricted: true });
    assertNoTraceOfC(res.text);
    // The police sees all three.
    const police = await as.policeMember.get(url(meeting.id));
    assert.equal(police.status, 200);
    assert.deepEqual(police.json.agenda.map((x) => x.case_id), [A, B, C]);
});

test('a user whose agency neither sees a case of the agenda nor attends gets 404', async () => {
    for (const key of ['dcfMember', 'legalMember']) {
        assertError(await as[key].get(url(meeting.id)), 404, 'not_found');
        assertError(await as[key].get(url(meeting.id, '/minutes')), 404, 'not_found');
        const list = await as[key].get('/api/v1/meetings');
        assert.equal(list.status, 200);
        assert.ok(!list.json.items.some((x) => x.id === meeting.id));
    }
    assertError(await as.hospitalMember.get(url(999999)), 404, 'not_found');
});

// ---- the pointer -------------------------------------------------------------

test('current_position: persisted, versioned (409 stale), current_case_id null where restricted', async () => {
    const before = await meetingCounts(meeting.id);
    const res = await as.cacSupervisor.patch(url(meeting.id), { current_position: 3, status: 'in_progress', version: meeting.version });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.current_position, 3);
    assert.equal(res.json.current_case_id, C);
    assert.equal(res.json.status, 'in_progress');
    assert.match(res.json.started_at, RFC3339);
    assert.equal(res.json.version, meeting.version + 1);
    await expectOneMeetingChange(meeting.id, before, { kind: 'meeting.current_case', action: 'meeting.update' });

    const hosp = await as.hospitalMember.get(url(meeting.id));
    assert.equal(hosp.json.current_position, 3);
    assert.equal(hosp.json.current_case_id, null);
    assertNoTraceOfC(hosp.text);

    // A stale version: 409 with the current meeting; nothing changes.
    const mid = await meetingCounts(meeting.id);
    const stale = await as.cacSupervisor.patch(url(meeting.id), { current_position: 1, version: meeting.version });
    assertError(stale, 409, 'conflict');
    assert.equal(stale.json.error.current.version, meeting.version + 1);
    assert.equal(stale.json.error.current.current_position, 3);
    await expectNoMeetingChange(meeting.id, mid);

    const move = await as.cacSupervisor.patch(url(meeting.id), { current_position: 1, version: meeting.version + 1 });
    assert.equal(move.status, 200, move.text);
    assert.equal(move.json.current_case_id, A);
    await expectOneMeetingChange(meeting.id, mid, { kind: 'meeting.current_case', action: 'meeting.update' });
    const again = await as.hospitalMember.get(url(meeting.id));
    assert.equal(again.json.current_position, 1);
    assert.equal(again.json.current_case_id, A);
    meeting = move.json;
});

test('PATCH: the facilitator only (403 for anyone else who sees it), valid input only', async () => {
    const before = await meetingCounts(meeting.id);
    for (const key of ['policeSupervisor', 'hospitalMember', 'cacMember', 'cacAdmin']) {
        assertError(await as[key].patch(url(meeting.id), { current_position: 2, version: meeting.version }), 403, 'forbidden');
    }
    assertError(await as.dcfSupervisor.patch(url(meeting.id), { current_position: 2, version: meeting.version }), 404, 'not_found');
    const fac = as.cacSupervisor;
    assertError(await fac.patch(url(meeting.id), { current_position: 4, version: meeting.version }), 422, 'validation', 'current_position');
    assertError(await fac.patch(url(meeting.id), { current_position: 0, version: meeting.version }), 422, 'validation', 'current_position');
    assertError(await fac.patch(url(meeting.id), { status: 'planned', version: meeting.version }), 422, 'validation', 'status');
    assertError(await fac.patch(url(meeting.id), { status: 'cancelled', version: meeting.version }), 422, 'validation', 'status');
    assertError(await fac.patch(url(meeting.id), { current_position: 2 }), 422, 'validation', 'version');
    assertError(await fac.patch(url(meeting.id), { version: meeting.version }), 422, 'validation');
    assertError(await fac.patch(url(meeting.id), { agenda: [A, 999999], version: meeting.version }), 422, 'validation', 'agenda');
    assertError(await fac.patch(url(meeting.id), { facilitator_id: 999999, version: meeting.version }), 422, 'validation', 'facilitator_id');
    // The legal-aid agency is on no case of the agenda and attends nothing.
    assertError(await fac.patch(url(meeting.id), { facilitator_id: w.users.legalMember.userId, version: meeting.version }), 422, 'validation', 'facilitator_id');
    await expectNoMeetingChange(meeting.id, before);
    const now = await as.hospitalMember.get(url(meeting.id));
    assert.equal(now.json.version, meeting.version);
});

// ---- attendance ---------------------------------------------------------------

test('attendance: oneself, or anyone by the facilitator; an agency that attends sees the meeting', async () => {
    let before = await meetingCounts(meeting.id);
    const self = await as.hospitalMember.post(url(meeting.id, '/attendance'), {});
    assert.equal(self.status, 200, self.text);
    assert.deepEqual(self.json.attendees, [w.users.hospitalMember.userId]);
    assertNoTraceOfC(self.text);
    await expectOneMeetingChange(meeting.id, before, { kind: 'meeting.updated', action: 'meeting.attendance' });

    // Checking in twice changes nothing.
    before = await meetingCounts(meeting.id);
    const twice = await as.hospitalMember.post(url(meeting.id, '/attendance'), { user_id: w.users.hospitalMember.userId });
    assert.equal(twice.status, 200, twice.text);
    await expectNoMeetingChange(meeting.id, before);

    // Another user: the facilitator only.
    assertError(await as.hospitalMember.post(url(meeting.id, '/attendance'), { user_id: w.users.cacMember.userId }), 403, 'forbidden');
    assertError(await as.dcfMember.post(url(meeting.id, '/attendance'), {}), 404, 'not_found');
    assertError(await as.cacSupervisor.post(url(meeting.id, '/attendance'), { user_id: 999999 }), 422, 'validation', 'user_id');
    await expectNoMeetingChange(meeting.id, before);

    const byFac = await as.cacSupervisor.post(url(meeting.id, '/attendance'), { user_id: w.users.dcfMember.userId });
    assert.equal(byFac.status, 200, byFac.text);
    assert.deepEqual(byFac.json.attendees, [w.users.hospitalMember.userId, w.users.dcfMember.userId]);
    await expectOneMeetingChange(meeting.id, before, { kind: 'meeting.updated', action: 'meeting.attendance' });
    const marked = await psql(dbUrl, `SELECT marked_by FROM meeting_attendance WHERE meeting_id = ${meeting.id} AND user_id = ${w.users.dcfMember.userId}`);
    assert.equal(Number(marked), w.users.cacSupervisor.userId);

    // The child-welfare agency sees no case of the agenda, but now attends.
    const dcf = await as.dcfMember.get(url(meeting.id));
    assert.equal(dcf.status, 200, dcf.text);
    assert.deepEqual(dcf.json.agenda, [1, 2, 3].map((position) => ({ position, restricted: true })));
    assert.equal(dcf.json.current_case_id, null);
    for (const k of ['A', 'B', 'C']) {
        assert.ok(!dcf.text.includes(names[k].alias));
        assert.ok(!dcf.text.includes(names[k].number));
    }
    meeting = byFac.json;
});

// ---- outcomes -----------------------------------------------------------------

test('outcomes: the facilitator records them (rendered, versioned, kept), others may not', async () => {
    const fac = as.cacSupervisor;
    let before = await meetingCounts(meeting.id);
    const put = await fac.put(url(meeting.id, `/cases/${A}/outcome`), {
        outcome_md: '**Agreed**: ALPHA-OUTCOME <script>alert(1)</script> [x](javascript:alert(1))',
    });
    assert.equal(put.status, 200, put.text);
    const a = put.json.agenda[0];
    assert.equal(a.case_id, A);
    assert.match(a.outcome_md, /ALPHA-OUTCOME/);
    assert.match(a.outcome_html, /<strong>Agreed<\/strong>/);
    assert.ok(!a.outcome_html.includes('<script'));
    assert.ok(!a.outcome_html.includes('javascript:'));
    assert.equal(a.outcome_version, 1);
    assert.equal(a.outcome_by, w.users.cacSupervisor.userId);
    const last = await expectOneMeetingChange(meeting.id, before, { kind: 'meeting.updated', action: 'meeting.outcome' });
    assert.ok(!JSON.stringify(last.audit.detail).includes('ALPHA'));

    before = await meetingCounts(meeting.id);
    const secret = await fac.put(url(meeting.id, `/cases/${C}/outcome`), { outcome_md: 'SECRET-C-OUTCOME' });
    assert.equal(secret.status, 200, secret.text);
    await expectOneMeetingChange(meeting.id, before, { kind: 'meeting.updated', action: 'meeting.outcome' });

    // A second version keeps the first; a stale outcome_version or version is a 409.
    before = await meetingCounts(meeting.id);
    const v2 = await fac.put(url(meeting.id, `/cases/${A}/outcome`), { outcome_md: 'ALPHA-OUTCOME, revised', outcome_version: 1, version: secret.json.version });
    assert.equal(v2.status, 200, v2.text);
    assert.equal(v2.json.agenda[0].outcome_version, 2);
    await expectOneMeetingChange(meeting.id, before, { kind: 'meeting.updated', action: 'meeting.outcome' });
    // Both versions are kept, each sealed at rest (docs/security.md): two
    // different ciphertexts, neither holding the text.
    const hist = await psql(dbUrl, `SELECT string_agg(version || ':' || outcome_md, '|' ORDER BY version) FROM meeting_outcome_versions WHERE meeting_id = ${meeting.id} AND case_id = ${A}`);
    assert.match(hist, /^1:mdtenc1:[^|]+\|2:mdtenc1:[^|]+$/);
    assert.ok(!hist.includes('ALPHA-OUTCOME'));
    before = await meetingCounts(meeting.id);
    const stale = await fac.put(url(meeting.id, `/cases/${A}/outcome`), { outcome_md: 'lost?', outcome_version: 1 });
    assertError(stale, 409, 'conflict');
    assert.equal(stale.json.error.current.agenda[0].outcome_version, 2);
    assertError(await fac.put(url(meeting.id, `/cases/${A}/outcome`), { outcome_md: 'lost?', version: 1 }), 409, 'conflict');

    // Not the facilitator: 403; not on the agenda / not visible: 404; bad input: 422/400.
    assertError(await as.policeSupervisor.put(url(meeting.id, `/cases/${A}/outcome`), { outcome_md: 'x' }), 403, 'forbidden');
    assertError(await as.hospitalMember.put(url(meeting.id, `/cases/${C}/outcome`), { outcome_md: 'x' }), 404, 'not_found');
    const other = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [] });
    assertError(await fac.put(url(meeting.id, `/cases/${other}/outcome`), { outcome_md: 'x' }), 404, 'not_found');
    assertError(await fac.put(url(meeting.id, `/cases/${A}/outcome`), {}), 422, 'validation', 'outcome_md');
    assertError(await fac.put(url(meeting.id, `/cases/${A}/outcome`), { outcome_md: 7 }), 400, 'bad_request', 'outcome_md');
    assertError(await fac.put(url(meeting.id, `/cases/${A}/outcome`), { outcome_md: 'x'.repeat(65 * 1024) }), 422, 'validation', 'outcome_md');
    assertError(await fac.put(url(meeting.id, `/cases/${A}/outcome`), { outcome_md: '>'.repeat(60000) }), 422, 'validation', 'outcome_md');
    await expectNoMeetingChange(meeting.id, before);

    // The hospital sees A's outcome and nothing of C's.
    const hosp = await as.hospitalMember.get(url(meeting.id));
    assert.match(hosp.json.agenda[0].outcome_md, /ALPHA-OUTCOME, revised/);
    assert.deepEqual(hosp.json.agenda[2], { position: 3, restricted: true });
    assert.ok(!hosp.text.includes('SECRET-C-OUTCOME'));
    assertNoTraceOfC(hosp.text);
    meeting = v2.json;
});

// ---- action items and decisions made in the meeting -----------------------------

test('action items name a meeting only when it is one the caller sees with that case on its agenda', async () => {
    const create = (client, caseId, body) => client.post(`/api/v1/cases/${caseId}/actions`, body);
    const due = todayIn(TZ, 7);
    const okA = await create(as.cacSupervisor, A, {
        title: 'ALPHA-ACTION follow up', assignee_agency_id: w.agencies.hospital, assignee_id: w.users.hospitalMember.userId, due_date: due, meeting_id: meeting.id,
    });
    assert.equal(okA.status, 201, okA.text);
    assert.equal(okA.json.meeting_id, meeting.id);
    const okC = await create(as.cacSupervisor, C, { title: 'C-ACTION-SECRET', assignee_agency_id: w.agencies.police, meeting_id: meeting.id });
    assert.equal(okC.status, 201, okC.text);
    // An agency-only item of the CAC on A: the hospital may not see it.
    const hidden = await create(as.cacMember, A, { title: 'CAC-ONLY-ACTION', assignee_agency_id: w.agencies.cac, visibility: 'agency', meeting_id: meeting.id });
    assert.equal(hidden.status, 201, hidden.text);
    // An item of the meeting that was retracted: not in the minutes.
    const gone = await create(as.cacSupervisor, A, { title: 'RETRACTED-ACTION', assignee_agency_id: w.agencies.cac, meeting_id: meeting.id });
    assert.equal((await as.cacSupervisor.del(`/api/v1/actions/${gone.json.id}`)).status, 200);

    assertError(await create(as.cacSupervisor, A, { title: 'x', assignee_agency_id: w.agencies.cac, meeting_id: 999999 }), 422, 'validation', 'meeting_id');
    const other = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [] });
    assertError(await create(as.cacSupervisor, other, { title: 'x', assignee_agency_id: w.agencies.cac, meeting_id: meeting.id }), 422, 'validation', 'meeting_id');

    // Decisions of the day on A: one for the whole team, one for the CAC only; one note.
    const entry = (client, body) => client.post(`/api/v1/cases/${A}/entries`, body);
    assert.equal((await entry(as.cacMember, { kind: 'decision', body_md: 'ALPHA-DECISION: *refer* to therapy', visibility: 'mdt' })).status, 201);
    assert.equal((await entry(as.cacMember, { kind: 'decision', body_md: 'CAC-ONLY-DECISION', visibility: 'agency' })).status, 201);
    assert.equal((await entry(as.cacMember, { kind: 'note', body_md: 'ALPHA-NOTE-NOT-A-DECISION', visibility: 'mdt' })).status, 201);
    const onC = await as.cacMember.post(`/api/v1/cases/${C}/entries`, { kind: 'decision', body_md: 'C-DECISION-SECRET', visibility: 'mdt' });
    assert.equal(onC.status, 201);
});

// ---- minutes ---------------------------------------------------------------------

const SECRETS = ['SECRET-C-OUTCOME', 'C-ACTION-SECRET', 'C-DECISION-SECRET', 'CAC-ONLY-DECISION', 'CAC-ONLY-ACTION'];

test('minutes in Markdown: only what the reader may see', async () => {
    const res = await as.hospitalMember.get(url(meeting.id, '/minutes?format=md'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'text/markdown; charset=utf-8');
    const md = res.text;
    assert.match(md, /^# Minutes: Weekly review \\<b\\>\\&\\<\/b\\>/);
    assert.ok(md.includes(`- Date: ${todayIn(TZ)}`), md);
    // Attendees by agency, with display names.
    const hospName = await psql(dbUrl, `SELECT name FROM agencies WHERE id = ${w.agencies.hospital}`);
    const [dcfName, hospMember] = (
        await psql(dbUrl, `SELECT a.name || '|' || u.display_name FROM users u JOIN agencies a ON a.id = u.agency_id
                           WHERE u.id IN (${w.users.dcfMember.userId}, ${w.users.hospitalMember.userId}) ORDER BY u.id`)
    ).split('\n');
    assert.ok(md.includes(`- ${hospName}: ${hospMember.split('|')[1]}`), md);
    assert.ok(md.includes(`- ${dcfName.split('|')[0]}: ${dcfName.split('|')[1]}`), md);
    // The cases the hospital sees, numbered 1..2; C is not there at all.
    assert.ok(md.includes(`### 1. ${names.A.alias} (${names.A.number.replace(/-/g, '-')})`), md);
    assert.ok(md.includes(`### 2. ${names.B.alias}`), md);
    assert.ok(!md.includes('### 3.'), md);
    assert.ok(!/restricted/i.test(md), md);
    assert.ok(md.includes('ALPHA-OUTCOME, revised'), md);
    assert.ok(md.includes('ALPHA-DECISION: refer to therapy'), md);
    assert.ok(!md.includes('ALPHA-NOTE-NOT-A-DECISION'), md);
    assert.ok(md.includes('ALPHA-ACTION follow up'), md);
    assert.ok(md.includes(`due: ${todayIn(TZ, 7)}`), md);
    assert.ok(!md.includes('RETRACTED-ACTION'), md);
    for (const s of SECRETS) assert.ok(!md.includes(s), `${s} leaked into the hospital's minutes:\n${md}`);
    assertNoTraceOfC(md);

    // The CAC sees everything, C included, and its own agency-only items.
    const cac = await as.cacMember.get(url(meeting.id, '/minutes'));
    assert.equal(cac.status, 200);
    for (const s of ['SECRET-C-OUTCOME', 'C-ACTION-SECRET', 'C-DECISION-SECRET', 'CAC-ONLY-DECISION', 'CAC-ONLY-ACTION', names.C.alias]) {
        assert.ok(cac.text.includes(s), `${s} missing from the CAC's minutes`);
    }
    assertError(await as.cacMember.get(url(meeting.id, '/minutes?format=pdf')), 422, 'validation', 'format');
});

test('minutes in HTML: a whole document with the print stylesheet, text escaped, outcomes sanitized', async () => {
    const res = await as.hospitalMember.get(url(meeting.id, '/minutes?format=html'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = res.text;
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.ok(html.includes('<link rel="stylesheet" href="/minutes.css">'));
    assert.ok(html.includes('<title>Minutes: Weekly review &lt;b&gt;&amp;&lt;/b&gt;</title>'));
    assert.ok(!/<b>/.test(html));
    assert.ok(!/style=|<style|<script/i.test(html), 'no inline style or script');
    assert.ok(html.includes('ALPHA-OUTCOME, revised'));
    assert.ok(html.includes('<em>refer</em>'), 'decisions as their sanitized HTML');
    assert.ok(html.includes('ALPHA-ACTION follow up'));
    assert.ok(html.trimEnd().endsWith('</html>'));
    for (const s of SECRETS) assert.ok(!html.includes(s), `${s} leaked into the hospital's HTML minutes`);
    assertNoTraceOfC(html);
    const css = await fetch(new URL('/minutes.css', server.url));
    assert.equal(css.status, 200);
    assert.match(await css.text(), /@media print/);
});

// ---- the agenda ----------------------------------------------------------------------

test('PATCH agenda: reorder; a facilitator who cannot see a case keeps it in its place', async () => {
    const fac = as.cacSupervisor;
    let before = await meetingCounts(meeting.id);
    // Before: A(1, current), B(2), C(3). Reordered: C, A, B - the pointer follows A.
    const re = await fac.patch(url(meeting.id), { agenda: [C, A, B], version: meeting.version });
    assert.equal(re.status, 200, re.text);
    assert.deepEqual(re.json.agenda.map((x) => x.case_id), [C, A, B]);
    assert.equal(re.json.current_position, 2);
    assert.equal(re.json.current_case_id, A);
    await expectOneMeetingChange(meeting.id, before, { kind: 'meeting.current_case', action: 'meeting.update' });
    const hosp = await as.hospitalMember.get(url(meeting.id));
    assert.deepEqual(hosp.json.agenda[0], { position: 1, restricted: true });
    assertNoTraceOfC(hosp.text);

    // Hand the meeting to the hospital member (active, attends).
    before = await meetingCounts(meeting.id);
    const hand = await fac.patch(url(meeting.id), { facilitator_id: w.users.hospitalMember.userId, version: re.json.version });
    assert.equal(hand.status, 200, hand.text);
    await expectOneMeetingChange(meeting.id, before, { kind: 'meeting.updated', action: 'meeting.update' });
    assertError(await fac.patch(url(meeting.id), { current_position: 1, version: hand.json.version }), 403, 'forbidden');

    // It may not name C, and what it sends leaves C in its place.
    const h = as.hospitalMember;
    let v = (await h.get(url(meeting.id))).json.version;
    assertError(await h.patch(url(meeting.id), { agenda: [C, B, A], version: v }), 422, 'validation', 'agenda');
    const swap = await h.patch(url(meeting.id), { agenda: [B, A], version: v });
    assert.equal(swap.status, 200, swap.text);
    assert.deepEqual(swap.json.agenda.map((x) => x.case_id ?? 'restricted'), ['restricted', B, A]);
    assertNoTraceOfC(swap.text);
    const drop = await h.patch(url(meeting.id), { agenda: [A], version: swap.json.version });
    assert.equal(drop.status, 200, drop.text);
    const cac = await as.cacMember.get(url(meeting.id));
    assert.deepEqual(cac.json.agenda.map((x) => x.case_id), [C, A]);
    // B was taken off, not deleted: back on the agenda with its row kept.
    const removed = await psql(dbUrl, `SELECT removed_by FROM meeting_cases WHERE meeting_id = ${meeting.id} AND case_id = ${B}`);
    assert.equal(Number(removed), w.users.hospitalMember.userId);
    const back = await h.patch(url(meeting.id), { agenda: [A, B], facilitator_id: w.users.cacSupervisor.userId, version: drop.json.version });
    assert.equal(back.status, 200, back.text);
    const final = await as.cacMember.get(url(meeting.id));
    assert.deepEqual(final.json.agenda.map((x) => x.case_id), [C, A, B]);
    assert.equal(final.json.facilitator_id, w.users.cacSupervisor.userId);
    meeting = final.json;
});

test('status: planned → in_progress → ended only; after the end the agenda and pointer are fixed', async () => {
    const fac = as.cacSupervisor;
    const end = await fac.patch(url(meeting.id), { status: 'ended', version: meeting.version });
    assert.equal(end.status, 200, end.text);
    assert.match(end.json.ended_at, RFC3339);
    const before = await meetingCounts(meeting.id);
    assertError(await fac.patch(url(meeting.id), { status: 'in_progress', version: end.json.version }), 422, 'validation', 'status');
    assertError(await fac.patch(url(meeting.id), { current_position: 1, version: end.json.version }), 422, 'validation', 'current_position');
    assertError(await fac.patch(url(meeting.id), { agenda: [A], version: end.json.version }), 422, 'validation', 'agenda');
    // Self check-in after the end: no; the facilitator may still record it.
    assertError(await as.policeMember.post(url(meeting.id, '/attendance'), {}), 422, 'validation');
    await expectNoMeetingChange(meeting.id, before);
    const late = await fac.post(url(meeting.id, '/attendance'), { user_id: w.users.policeMember.userId });
    assert.equal(late.status, 200, late.text);
    // A planned meeting cannot skip to ended.
    const m2 = await fac.post('/api/v1/meetings', { title: 'skip', scheduled_at: nowIso(1), case_ids: [A] });
    assertError(await fac.patch(url(m2.json.id), { status: 'ended', version: 1 }), 422, 'validation', 'status');
    meeting = late.json;
});

// ---- the list ---------------------------------------------------------------------------

test('GET /meetings: the caller\'s meetings in time order, from/to, paging', async () => {
    const fac = as.cacSupervisor;
    const pastDay = today(-300);
    const pastAt = wallTime(pastDay, '10:00');
    const past = await fac.post('/api/v1/meetings', { title: 'past', scheduled_at: pastAt, case_ids: [B] });
    const later = await fac.post('/api/v1/meetings', { title: 'later', scheduled_at: wallTime(today(90), '10:00'), case_ids: [C] });
    assert.equal(past.status, 201, past.text);
    assert.equal(later.status, 201, later.text);
    const hosp = await as.hospitalMember.get(`/api/v1/meetings?from=${today(-400)}&to=${today(400)}`);
    assert.equal(hosp.status, 200, hosp.text);
    const ids = hosp.json.items.map((x) => x.id);
    assert.ok(ids.includes(past.json.id) && ids.includes(meeting.id));
    assert.ok(!ids.includes(later.json.id), 'a meeting over a case the hospital is not on stays hidden');
    const times = hosp.json.items.map((x) => x.scheduled_at);
    assert.deepEqual(times, [...times].sort());
    assertNoTraceOfC(hosp.text);

    // A date `to` includes that whole day (in the installation's time zone).
    const day = await as.hospitalMember.get(`/api/v1/meetings?from=${pastDay}&to=${pastDay}`);
    assert.deepEqual(day.json.items.map((x) => x.id), [past.json.id]);
    const before = await as.hospitalMember.get(`/api/v1/meetings?to=${iso(Date.parse(pastAt) - 1000)}`);
    assert.ok(!before.json.items.some((x) => x.id === past.json.id));

    // Paging, one at a time.
    const seen = [];
    let cursor = null;
    do {
        const page = await as.cacSupervisor.get(`/api/v1/meetings?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200, page.text);
        assert.ok(page.json.items.length <= 1);
        seen.push(...page.json.items.map((x) => x.id));
        cursor = page.json.next;
    } while (cursor);
    const all = await as.cacSupervisor.get('/api/v1/meetings?limit=500');
    assert.deepEqual(seen, all.json.items.map((x) => x.id));
    assert.ok(seen.includes(later.json.id));

    assertError(await as.hospitalMember.get('/api/v1/meetings?from=yesterday'), 422, 'validation', 'from');
    assertError(await as.hospitalMember.get('/api/v1/meetings?to=2026-02-30'), 422, 'validation', 'to');
    assertError(await as.hospitalMember.get('/api/v1/meetings?limit=0'), 422, 'validation', 'limit');
});

// ---- the default agenda ---------------------------------------------------------------------

test('default agenda: open cases not reviewed in the last N days, plus cases with overdue action items', async () => {
    const sup = as.dcfSupervisor;
    const a = w.agencies;
    const mk = async (alias, referral_date, status = 'active') => {
        const res = await sup.post('/api/v1/cases', {
            case_number: `DA-${tag}-${alias}`, alias, referral_date, status, agencies: [a.cac],
        });
        assert.equal(res.status, 201, res.text);
        return res.json.id;
    };
    const D = await mk('D-never-reviewed', today(-200));
    const E = await mk('E-reviewed-today', today(-205));
    const F = await mk('F-closed', today(-209), 'closed');
    const G = await mk('G-reviewed-overdue', today(-178));
    const H = await mk('H-closed-overdue', today(-150), 'closed');
    const I = await mk('I-reviewed-long-ago', today(-190));
    const J = await mk('J-outcome-empty', today(-120));
    // Reviews: E and G today, I thirty days ago; J has an empty outcome (not a review).
    // A review is an outcome in a meeting that was held: each one is started.
    const review = async (cases, when) => {
        const m = await sup.post('/api/v1/meetings', { title: 'review', scheduled_at: when, case_ids: cases });
        assert.equal(m.status, 201, m.text);
        const started = await sup.patch(url(m.json.id), { status: 'in_progress', version: m.json.version });
        assert.equal(started.status, 200, started.text);
        await psql(ownerUrl(dbUrl), `UPDATE meetings SET started_at = '${when}' WHERE id = ${m.json.id}`);
        for (const id of cases) {
            const r = await sup.put(url(m.json.id, `/cases/${id}/outcome`), { outcome_md: id === J ? '' : 'reviewed' });
            assert.equal(r.status, 200, r.text);
        }
    };
    await review([E, G, J], nowIso());
    await review([I], nowIso(-30));
    // Overdue items on G and H (due before today in MDT_TIME_ZONE); one not yet due on D.
    for (const [id, due] of [[G, todayIn(TZ, -2)], [H, todayIn(TZ, -1)], [D, todayIn(TZ, 3)]]) {
        const r = await sup.post(`/api/v1/cases/${id}/actions`, { title: 'owed', assignee_agency_id: a.dcf, due_date: due });
        assert.equal(r.status, 201, r.text);
    }

    const res = await sup.post('/api/v1/meetings', {
        title: 'weekly', scheduled_at: nowIso(7), default_agenda: { not_reviewed_days: 14, with_overdue_actions: true },
    });
    assert.equal(res.status, 201, res.text);
    // Overdue action items first, then not reviewed; each group by referral
    // date: G (178 days ago), H (150); D (200), I (190), J (120).
    assert.deepEqual(res.json.agenda.map((x) => x.case_id), [G, H, D, I, J]);
    assert.equal(res.json.facilitator_id, w.users.dcfSupervisor.userId);

    const noOverdue = await sup.post('/api/v1/meetings', {
        title: 'weekly', scheduled_at: nowIso(7), default_agenda: { not_reviewed_days: 14 },
    });
    assert.deepEqual(noOverdue.json.agenda.map((x) => x.case_id), [D, I, J]);
    const wide = await sup.post('/api/v1/meetings', {
        title: 'weekly', scheduled_at: nowIso(7), default_agenda: { not_reviewed_days: 60, with_overdue_actions: false },
    });
    assert.deepEqual(wide.json.agenda.map((x) => x.case_id), [D, J]);
    // Given cases first, then the default agenda without duplicates.
    const mixed = await sup.post('/api/v1/meetings', {
        title: 'weekly', scheduled_at: nowIso(7), case_ids: [G, F], default_agenda: { not_reviewed_days: 14, with_overdue_actions: true },
    });
    assert.deepEqual(mixed.json.agenda.map((x) => x.case_id), [G, F, H, D, I, J]);
    assertError(
        await sup.post('/api/v1/meetings', { title: 'x', scheduled_at: nowIso(), default_agenda: { not_reviewed_days: -1 } }),
        422,
        'validation',
        'not_reviewed_days',
    );
    // A default agenda holds only cases the creator's agency is on: the
    // police is on none of these.
    const police = await as.policeSupervisor.post('/api/v1/meetings', {
        title: 'police', scheduled_at: nowIso(7), default_agenda: { not_reviewed_days: 14, with_overdue_actions: true },
    });
    assert.equal(police.status, 201, police.text);
    assert.ok(!police.json.agenda.some((x) => [D, E, F, G, H, I, J].includes(x.case_id)));
});
