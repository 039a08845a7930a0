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
//
// Every date comes from clock.mjs (today in the zone, calendar arithmetic).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, ownerUrl, psql, startServer } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, changeCounts, expectNoChange, expectOneChange, login } from './lib/board_fixtures.mjs';
import { localDate, today, wallTime } from './lib/clock.mjs';

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
