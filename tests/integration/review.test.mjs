// review.test.mjs - the review cadence and review dates of a case, and the
// agenda built from them (issue 13, server part A), against the real binary
// and PostgreSQL in America/New_York:
//
// - PATCH /cases/{id} review_every_weeks: the lead agency's supervisor only
//   (403 naming the field), 1-52 or null (422), with version (409), one
//   case.update audit row (field names only) and one case.updated event;
// - review dates from the one SQL definition (mdt_case_review), the same
//   in the case list and on the board: next_review (earliest planned
//   meeting), last_reviewed (the day a held meeting recorded a non-empty
//   outcome, in the installation's zone, also across midnight), review_due;
// - the default agenda's reasons and order, carry-over from the agency's
//   last ended meeting, GET /meetings/agenda-suggestions agreeing with it
//   and never offering a case (or an overdue item) the caller may not see;
// - PATCH /meetings/{id} agenda_reasons, and restricted agenda items never
//   carrying reasons.
//
// Every date comes from clock.mjs (today in the zone, calendar arithmetic).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, flushAudit, ownerUrl, psql, startServer } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, changeCounts, expectNoChange, expectOneChange, login } from './lib/board_fixtures.mjs';
import { addDays, localDate, today, wallTime } from './lib/clock.mjs';

const TZ = 'America/New_York';

let dbUrl, server, w;
const as = {};
let counter = 0;

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ } });
    w = await boardWorld(dbUrl);
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);
});

after(async () => {
    if (server) await server.stop();
});

const uniq = (prefix) => `${prefix}-${process.pid}-${++counter}`;

// mkCase(client, {referral, status, agencies, cadence}) - a case led by the
// client's agency; resolves the Case.
async function mkCase(client, { referral = today(-30), status = 'active', agencies = [], cadence, alias } = {}) {
    const res = await client.post('/api/v1/cases', {
        case_number: uniq('R'),
        alias: alias ?? uniq('Alias'),
        referral_date: referral,
        status,
        agencies,
    });
    assert.equal(res.status, 201, res.text);
    if (cadence === undefined) return res.json;
    const set = await client.patch(`/api/v1/cases/${res.json.id}`, { review_every_weeks: cadence, version: res.json.version });
    assert.equal(set.status, 200, set.text);
    return set.json;
}

// listItem(client, id) - the case's item of GET /cases.
async function listItem(client, id) {
    const res = await client.get('/api/v1/cases?limit=500');
    assert.equal(res.status, 200, res.text);
    return res.json.items.find((x) => x.id === id);
}

// reviewOf(client, id) - the review dates as the list and the board give
// them; asserts that the two agree.
async function reviewOf(client, id) {
    const item = await listItem(client, id);
    const board = await client.get(`/api/v1/cases/${id}`);
    assert.equal(board.status, 200, board.text);
    const r = board.json.review;
    assert.deepEqual(
        { every_weeks: item.review_every_weeks, last_reviewed: item.last_reviewed, next_review: item.next_review, review_due: item.review_due },
        r,
        'the case list and the board give the same review dates',
    );
    assert.equal(board.json.case.review_every_weeks, r.every_weeks);
    return r;
}

// meeting(client, cases, day) - a planned meeting at 10:00 on day (in the zone).
async function meeting(client, cases, day = today(3)) {
    const res = await client.post('/api/v1/meetings', { title: uniq('Review'), scheduled_at: wallTime(day, '10:00'), case_ids: cases });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

// patchMeeting(client, m, body) - PATCH with the meeting's current version;
// resolves the new meeting.
async function patchMeeting(client, m, body) {
    const now = await client.get(`/api/v1/meetings/${m.id}`);
    assert.equal(now.status, 200, now.text);
    const res = await client.patch(`/api/v1/meetings/${m.id}`, { ...body, version: now.json.version });
    assert.equal(res.status, 200, res.text);
    return res.json;
}

async function outcome(client, m, caseId, md) {
    const res = await client.put(`/api/v1/meetings/${m.id}/cases/${caseId}/outcome`, { outcome_md: md });
    assert.equal(res.status, 200, res.text);
    return res.json;
}

// ---- the cadence ------------------------------------------------------------

test('review_every_weeks: the lead supervisor sets it (1-52 or null) with version; audited and emitted', async () => {
    const a = w.agencies;
    const c = await mkCase(as.cacSupervisor, { agencies: [a.police] });
    assert.equal(c.review_every_weeks, null);
    const path = `/api/v1/cases/${c.id}`;
    const before = await changeCounts(dbUrl, c.id);
    for (const key of ['cacMember', 'policeSupervisor', 'policeMember']) {
        assertError(await as[key].patch(path, { review_every_weeks: 4, version: c.version }), 403, 'forbidden', 'review_every_weeks');
    }
    for (const bad of [0, 53, -1, 2.5, '4', true, [4], {}]) {
        assertError(await as.cacSupervisor.patch(path, { review_every_weeks: bad, version: c.version }), 422, 'validation', 'review_every_weeks');
    }
    assertError(await as.cacSupervisor.patch(path, { review_every_weeks: 4 }), 422, 'validation', 'version');
    assertError(await as.dcfSupervisor.patch(path, { review_every_weeks: 4, version: c.version }), 404, 'not_found');
    await expectNoChange(dbUrl, c.id, before);

    const res = await as.cacSupervisor.patch(path, { review_every_weeks: 4, version: c.version });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.review_every_weeks, 4);
    assert.equal(res.json.version, c.version + 1);
    const last = await expectOneChange(dbUrl, c.id, before, { event: 'case.updated', audit: 'case.update', objectType: 'case', objectId: c.id });
    assert.deepEqual(last.audit.detail.fields, ['review_every_weeks']);
    assert.ok(!('review_every_weeks' in last.audit.detail), 'field names only, not the value');

    // a stale version is 409 with the case as it is; the same value is no change
    const stale = await as.cacSupervisor.patch(path, { review_every_weeks: 8, version: c.version });
    assertError(stale, 409, 'conflict');
    assert.equal(stale.json.error.current.review_every_weeks, 4);
    const mid = await changeCounts(dbUrl, c.id);
    const same = await as.cacSupervisor.patch(path, { review_every_weeks: 4, version: res.json.version });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.json.version, res.json.version);
    await expectNoChange(dbUrl, c.id, mid);
    // null clears it; 52 is the most
    const cleared = await as.cacSupervisor.patch(path, { review_every_weeks: null, version: res.json.version });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal(cleared.json.review_every_weeks, null);
    const most = await as.cacSupervisor.patch(path, { review_every_weeks: 52, version: cleared.json.version });
    assert.equal(most.json.review_every_weeks, 52);
});

// ---- review dates -----------------------------------------------------------

test('review_due: referral (or last review) + 7 x N days, from the clock; null without a cadence or when closed', async () => {
    const sup = as.cacSupervisor;
    const c = await mkCase(sup, { referral: today(-30), cadence: 2 });
    assert.deepEqual(await reviewOf(sup, c.id), { every_weeks: 2, last_reviewed: null, next_review: null, review_due: today(-16) });
    const none = await mkCase(sup, { referral: today(-30) });
    assert.equal((await reviewOf(sup, none.id)).review_due, null);
    const closed = await mkCase(sup, { referral: today(-30), status: 'closed', cadence: 2 });
    assert.deepEqual(await reviewOf(sup, closed.id), { every_weeks: 2, last_reviewed: null, next_review: null, review_due: null });
    // reviewed today: due again in two weeks
    let m = await meeting(sup, [c.id], today());
    m = await patchMeeting(sup, m, { status: 'in_progress' });
    await outcome(sup, m, c.id, 'Reviewed.');
    assert.deepEqual(await reviewOf(sup, c.id), { every_weeks: 2, last_reviewed: today(), next_review: null, review_due: today(14) });
});

test('next_review is the earliest planned meeting with the case on its agenda; last_reviewed the day a held meeting gave it an outcome', async () => {
    const sup = as.cacSupervisor;
    const c = await mkCase(sup);
    const other = await mkCase(sup);
    const later = await meeting(sup, [c.id], today(10));
    assert.equal((await reviewOf(sup, c.id)).next_review, today(10));
    let soon = await meeting(sup, [c.id, other.id], today(3));
    assert.equal((await reviewOf(sup, c.id)).next_review, today(3), 'the earliest planned meeting');
    // taken off the earlier agenda: no longer counted
    soon = await patchMeeting(sup, soon, { agenda: [other.id] });
    assert.equal((await reviewOf(sup, c.id)).next_review, today(10));
    // an outcome in a meeting that was never held is not a review
    await outcome(sup, later, c.id, 'Noted early.');
    assert.equal((await reviewOf(sup, c.id)).last_reviewed, null);
    // held today (planned for in ten days): reviewed today, not on the planned day
    let held = await patchMeeting(sup, later, { status: 'in_progress' });
    assert.deepEqual(await reviewOf(sup, c.id), { every_weeks: null, last_reviewed: today(), next_review: null, review_due: null });
    // an empty outcome is not a review
    const d = await mkCase(sup);
    let m2 = await meeting(sup, [d.id], today());
    m2 = await patchMeeting(sup, m2, { status: 'in_progress' });
    await outcome(sup, m2, d.id, '');
    assert.equal((await reviewOf(sup, d.id)).last_reviewed, null);
    // an outcome of a case then taken off the agenda is not counted
    await outcome(sup, m2, d.id, 'Discussed.');
    assert.equal((await reviewOf(sup, d.id)).last_reviewed, today());
    m2 = await patchMeeting(sup, m2, { agenda: [] });
    assert.equal((await reviewOf(sup, d.id)).last_reviewed, null);
    held = await patchMeeting(sup, held, { status: 'ended' });
    assert.equal((await reviewOf(sup, c.id)).last_reviewed, today(), 'an ended meeting still counts');
});

test('across midnight in America/New_York: held at 23:30 yesterday there (already today in UTC) is reviewed yesterday', async () => {
    const sup = as.cacSupervisor;
    const c = await mkCase(sup);
    let m = await meeting(sup, [c.id], today(2));
    m = await patchMeeting(sup, m, { status: 'in_progress' });
    await outcome(sup, m, c.id, 'Late review.');
    const lateLast = wallTime(today(-1), '23:30');
    assert.notEqual(lateLast.slice(0, 10), today(-1), 'the instant is on another day in UTC');
    await psql(ownerUrl(dbUrl), `UPDATE meetings SET started_at = '${lateLast}' WHERE id = ${m.id}`);
    assert.equal(localDate(Date.parse(lateLast), TZ), today(-1));
    assert.equal((await reviewOf(sup, c.id)).last_reviewed, today(-1));
    // and a few minutes past midnight there is today
    await psql(ownerUrl(dbUrl), `UPDATE meetings SET started_at = '${wallTime(today(), '00:05')}' WHERE id = ${m.id}`);
    assert.equal((await reviewOf(sup, c.id)).last_reviewed, today());
});

// ---- the default agenda and suggestions --------------------------------------

test('default agenda: reasons and order, carry-over from the last ended meeting; suggestions agree and never offer what the caller may not see', async () => {
    const a = w.agencies;
    const sup = as.dcfSupervisor;
    // The DCF's last ended meeting: K and P got no outcome, L did; Q was there
    // too but the DCF has since been taken off Q.
    const K = await mkCase(sup, { referral: today(-30), cadence: 1 });
    const L = await mkCase(sup, { referral: today(-300) });
    const P = await mkCase(sup, { referral: today(-300) });
    const Q = await mkCase(as.cacSupervisor, { referral: today(-300), agencies: [a.dcf] });
    let last = await meeting(sup, [K.id, L.id, P.id, Q.id], today(-7));
    last = await patchMeeting(sup, last, { status: 'in_progress' });
    await outcome(sup, last, L.id, 'Stable.');
    last = await patchMeeting(sup, last, { status: 'ended' });
    // held three weeks ago: L was reviewed then (not within 14 days)
    await psql(ownerUrl(dbUrl), `UPDATE meetings SET started_at = '${wallTime(today(-21), '10:00')}' WHERE id = ${last.id}`);
    const closedP = await sup.patch(`/api/v1/cases/${P.id}`, { status: 'closed', version: P.version });
    assert.equal(closedP.status, 200, closedP.text);
    const q = (await as.cacSupervisor.get(`/api/v1/cases/${Q.id}`)).json.case;
    const cacOwns = { identity: a.cac, contact: a.cac, immigration: a.cac, health: a.cac };
    const offQ = await as.cacSupervisor.patch(`/api/v1/cases/${Q.id}`, { agencies: [a.cac], pii_owners: cacOwns, version: q.version });
    assert.equal(offQ.status, 200, offQ.text);
    // An earlier ended meeting (not the last one) with M and no outcome: not carried over.
    const M = await mkCase(sup, { referral: today(-30), agencies: [a.cac] });
    let older = await meeting(sup, [M.id], today(-14));
    older = await patchMeeting(sup, older, { status: 'in_progress' });
    older = await patchMeeting(sup, older, { status: 'ended' });
    await psql(ownerUrl(dbUrl), `UPDATE meetings SET ended_at = now() - interval '10 days' WHERE id = ${older.id}`);
    // M: an overdue item the DCF sees; R: only one hidden from the DCF.
    const overdue = await sup.post(`/api/v1/cases/${M.id}/actions`, { title: 'owed', assignee_agency_id: a.dcf, due_date: today(-2) });
    assert.equal(overdue.status, 201, overdue.text);
    const R = await mkCase(sup, { referral: today(-20), agencies: [a.cac] });
    const cacUser = w.users.cacMember;
    await psql(
        ownerUrl(dbUrl),
        `INSERT INTO actions (case_id, title, assignee_agency_id, agency_id, due_date, status, visibility, visible_to, created_by)
         VALUES (${R.id}, 'cac only', ${a.cac}, ${a.cac}, '${today(-3)}', 'open', 'agency', '{}', ${cacUser.userId})`,
    );
    // Review due (on or before the meeting's day, a week from now): N2 due
    // earlier than N though referred later; V due only after the meeting.
    const N = await mkCase(sup, { referral: today(-100), cadence: 14 }); // due today(-2)
    const N2 = await mkCase(sup, { referral: today(-40), cadence: 1 }); // due today(-33)
    const V = await mkCase(sup, { referral: today(-60), cadence: 10 }); // due today(10)
    // Reviewed recently (not "not reviewed"), review due later: nothing.
    const X = await mkCase(sup, { referral: today(-400) });
    let recent = await meeting(sup, [X.id], today());
    recent = await patchMeeting(sup, recent, { status: 'in_progress' });
    await outcome(sup, recent, X.id, 'Fine.');
    // Another agency's case that would qualify for every reason: never the DCF's.
    const S = await mkCase(as.cacSupervisor, { referral: today(-500), cadence: 1 });

    const day = today(7);
    const flags = { not_reviewed_days: 14, with_overdue_actions: true, review_due: true, carry_over: true };
    const res = await sup.post('/api/v1/meetings', { title: 'weekly', scheduled_at: wallTime(day, '10:00'), default_agenda: flags });
    assert.equal(res.status, 201, res.text);
    const got = res.json.agenda.map((x) => [x.case_id, x.reasons]);
    assert.deepEqual(got, [
        [K.id, ['carried_over', 'review_due', 'not_reviewed']],
        [M.id, ['overdue_actions', 'not_reviewed']],
        [N2.id, ['review_due', 'not_reviewed']],
        [N.id, ['review_due', 'not_reviewed']],
        [V.id, ['not_reviewed']], // review due after the meeting: first in its group
        [L.id, ['not_reviewed']],
        [R.id, ['not_reviewed']],
    ]);
    for (const id of [P.id, Q.id, X.id, S.id]) assert.ok(!got.some(([c]) => c === id), `case ${id} must not be on the agenda`);

    // the suggestions for that day: the same cases, order and reasons
    const qs = `not_reviewed_days=14&with_overdue_actions=true&review_due=true&carry_over=true&on=${day}`;
    const sug = await sup.get(`/api/v1/meetings/agenda-suggestions?${qs}`);
    assert.equal(sug.status, 200, sug.text);
    assert.deepEqual(sug.json.items.map((x) => [x.case_id, x.reasons]), got);
    const byId = Object.fromEntries(sug.json.items.map((x) => [x.case_id, x]));
    assert.deepEqual(byId[N.id], {
        case_id: N.id, case_number: N.case_number, alias: N.alias, status: 'active', reasons: ['review_due', 'not_reviewed'],
        last_reviewed: null, next_review: day, review_due: addDays(today(-100), 98), overdue_actions: 0, // on the new meeting
    });
    assert.equal(byId[M.id].overdue_actions, 1);
    assert.equal(byId[R.id].overdue_actions, 0, 'an overdue item the DCF may not see is not counted');
    // the CAC sees R's hidden item; the DCF's suggestions hold no CAC-only case
    const cacSug = await as.cacSupervisor.get(`/api/v1/meetings/agenda-suggestions?${qs}`);
    const cacR = cacSug.json.items.find((x) => x.case_id === R.id);
    assert.deepEqual([cacR.reasons, cacR.overdue_actions], [['overdue_actions', 'not_reviewed'], 1]);
    assert.ok(cacSug.json.items.some((x) => x.case_id === S.id));
    assert.ok(!JSON.stringify(sug.json).includes(S.case_number) && !JSON.stringify(sug.json).includes(Q.case_number));
    // only the reasons asked for
    const dueOnly = await sup.get(`/api/v1/meetings/agenda-suggestions?review_due=true&on=${day}`);
    assert.deepEqual(dueOnly.json.items.map((x) => [x.case_id, x.reasons]), [[N2.id, ['review_due']], [K.id, ['review_due']], [N.id, ['review_due']]]);
    const carried = await sup.get('/api/v1/meetings/agenda-suggestions?carry_over=true');
    assert.deepEqual(carried.json.items.map((x) => x.case_id), [K.id]);
    // the day defaults to today: V is due after it, and on the day it is due
    const dueToday = await sup.get('/api/v1/meetings/agenda-suggestions?review_due=true');
    assert.ok(!dueToday.json.items.some((x) => x.case_id === V.id));
    const dueThen = await sup.get(`/api/v1/meetings/agenda-suggestions?review_due=true&on=${today(10)}`);
    assert.ok(dueThen.json.items.some((x) => x.case_id === V.id));
    assert.deepEqual((await sup.get('/api/v1/meetings/agenda-suggestions')).json, { items: [] });

    // audited as a read, without the query
    await flushAudit(server);
    const rows = JSON.parse(
        await psql(
            dbUrl,
            `SELECT coalesce(json_agg(detail ORDER BY id), '[]') FROM audit WHERE action = 'meeting.suggestions' AND user_id = ${w.users.dcfSupervisor.userId}`,
        ),
    );
    assert.ok(rows.length >= 6);
    assert.deepEqual(rows[0], { count: got.length });
});

test('agenda-suggestions: supervisors only; bad parameters are 422 naming the field', async () => {
    const base = '/api/v1/meetings/agenda-suggestions';
    assertError(await as.cacMember.get(`${base}?review_due=true`), 403, 'forbidden');
    assertError(await as.cacAdmin.get(`${base}?review_due=true`), 403, 'forbidden');
    const bad = [
        ['not_reviewed_days=-1', 'not_reviewed_days'],
        ['not_reviewed_days=3651', 'not_reviewed_days'],
        ['not_reviewed_days=abc', 'not_reviewed_days'],
        ['with_overdue_actions=yes', 'with_overdue_actions'],
        ['review_due=1', 'review_due'],
        ['carry_over=TRUE', 'carry_over'],
        ['on=2026-02-30', 'on'],
        ['on=tomorrow', 'on'],
    ];
    for (const [qs, field] of bad) assertError(await as.cacSupervisor.get(`${base}?${qs}`), 422, 'validation', field);
});

test('agenda_reasons: set for cases named in agenda, kept otherwise, [] when added by hand; restricted items never carry reasons', async () => {
    const a = w.agencies;
    const sup = as.policeSupervisor;
    const A = await mkCase(sup, { referral: today(-30), agencies: [a.hospital] });
    const B = await mkCase(sup, { referral: today(-30) });
    const C = await mkCase(sup, { referral: today(-30), agencies: [a.hospital] });
    let m = await meeting(sup, [A.id, B.id]);
    assert.deepEqual(m.agenda.map((x) => x.reasons), [[], []], 'cases given by hand have no reasons');
    const before = m.version;
    const path = `/api/v1/meetings/${m.id}`;
    const bad = [
        { agenda: [A.id, B.id], agenda_reasons: { [A.id]: ['urgent'] } },
        { agenda: [A.id, B.id], agenda_reasons: { [C.id]: ['review_due'] } },
        { agenda: [A.id, B.id], agenda_reasons: { abc: ['review_due'] } },
        { agenda: [A.id, B.id], agenda_reasons: { [A.id]: 'review_due' } },
        { agenda: [A.id, B.id], agenda_reasons: [['review_due']] },
        { current_position: 1, agenda_reasons: { [A.id]: ['review_due'] } },
    ];
    for (const body of bad) assertError(await sup.patch(path, { ...body, version: m.version }), 422, 'validation', 'agenda_reasons');
    assert.equal((await sup.get(path)).json.version, before, 'a refused PATCH changed nothing');

    m = await patchMeeting(sup, m, { agenda: [B.id, A.id], agenda_reasons: { [A.id]: ['not_reviewed', 'carried_over', 'not_reviewed'] } });
    assert.deepEqual(m.agenda.map((x) => [x.case_id, x.reasons]), [[B.id, []], [A.id, ['carried_over', 'not_reviewed']]]);
    // reordered and C added without reasons: A keeps its reasons, C gets []
    m = await patchMeeting(sup, m, { agenda: [A.id, C.id, B.id] });
    assert.deepEqual(m.agenda.map((x) => [x.case_id, x.reasons]), [[A.id, ['carried_over', 'not_reviewed']], [C.id, []], [B.id, []]]);
    // given again: replaced; taken off and put back without: []
    m = await patchMeeting(sup, m, { agenda: [A.id, C.id, B.id], agenda_reasons: { [C.id]: ['review_due'] } });
    m = await patchMeeting(sup, m, { agenda: [C.id, B.id] });
    m = await patchMeeting(sup, m, { agenda: [C.id, B.id, A.id] });
    assert.deepEqual(m.agenda.map((x) => [x.case_id, x.reasons]), [[C.id, ['review_due']], [B.id, []], [A.id, []]]);
    m = await patchMeeting(sup, m, { agenda: [C.id, B.id, A.id], agenda_reasons: { [B.id]: ['overdue_actions'] } });
    // the hospital sees A and C: B is exactly {position, restricted: true}
    const hosp = await as.hospitalMember.get(path);
    assert.equal(hosp.status, 200, hosp.text);
    assert.deepEqual(hosp.json.agenda[1], { position: 2, restricted: true });
    assert.ok(!JSON.stringify(hosp.json).includes('overdue_actions'), 'the restricted case\'s reasons never reach the hospital');
    assert.deepEqual(hosp.json.agenda[0].reasons, ['review_due']);
});
