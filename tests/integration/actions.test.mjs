// actions.test.mjs - action items against the real binary and PostgreSQL:
// creating (who may assign to whom), updating with versions (who may, 409 on
// a stale version with error.current), status and completed_at, `overdue`
// against today in MDT_TIME_ZONE, retraction that keeps the versions, 404
// for items a caller may not see (the assignee agency always sees its
// item), validation with the field, SQL-shaped and script-shaped text, and
// exactly one event and one audit row per change.
//
// The world (board_fixtures.mjs): a CAC-led case with the police, child
// welfare (DCF) and immigration legal aid on it; the hospital is not.
// The server runs in Pacific/Kiritimati (UTC+14), a second one on the same
// database in Pacific/Pago_Pago (UTC-11): their "today"s always differ.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, psql, startServer } from './lib/harness.mjs';
import {
    BOARD_ENV,
    assertError,
    boardWorld,
    changeCounts,
    createCase,
    expectNoChange,
    expectOneChange,
    login,
    todayIn,
} from './lib/board_fixtures.mjs';
import { assertSafeHtml } from './lib/html.mjs';

const EAST = 'Pacific/Kiritimati';
const WEST = 'Pacific/Pago_Pago';

let dbUrl, server, west, w, caseId;
const as = {};

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: EAST } });
    west = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: WEST } });
    w = await boardWorld(dbUrl);
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);
    const a = w.agencies;
    caseId = await createCase(server.url, dbUrl, {
        lead: w.users.cacSupervisor,
        agencies: [a.cac, a.police, a.dcf, a.legal],
    });
});

after(async () => {
    if (server) await server.stop();
    if (west) await west.stop();
});

const actionsUrl = () => `/api/v1/cases/${caseId}/actions`;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

// create(client, body) - POST an item; asserts 201 and one event + audit row.
async function create(client, body) {
    const before = await changeCounts(dbUrl, caseId);
    const res = await client.post(actionsUrl(), body);
    assert.equal(res.status, 201, res.text);
    await expectOneChange(dbUrl, caseId, before, {
        event: 'action.created',
        audit: 'action.create',
        objectType: 'action',
        objectId: res.json.id,
    });
    return res.json;
}

// update(client, id, body) - PATCH an item; asserts 200 and one event + audit row.
async function update(client, id, body) {
    const before = await changeCounts(dbUrl, caseId);
    const res = await client.patch(`/api/v1/actions/${id}`, body);
    assert.equal(res.status, 200, res.text);
    await expectOneChange(dbUrl, caseId, before, {
        event: 'action.updated',
        audit: 'action.update',
        objectType: 'action',
        objectId: id,
    });
    return res.json;
}

const versionRows = (id) => psql(dbUrl, `SELECT count(*) FROM action_versions WHERE action_id = ${id}`).then(Number);

async function boardActions(client) {
    const res = await client.get(`/api/v1/cases/${caseId}`);
    if (res.status === 404 && res.json?.error?.message === 'no such resource') return null;
    assert.equal(res.status, 200, res.text);
    return res.json.actions;
}

test('a member creates an item for its own agency: 201 with the Action item shape', async () => {
    const a = await create(as.cacMember, {
        title: 'Schedule the forensic interview',
        details_md: 'Call **Tuesday**.',
        assignee_agency_id: w.agencies.cac,
        assignee_id: w.users.cacInterviewer.userId,
        due_date: todayIn(EAST, 400),
    });
    assert.equal(a.case_id, caseId);
    assert.equal(a.title, 'Schedule the forensic interview');
    assert.equal(a.details_md, 'Call **Tuesday**.');
    assert.equal(a.details_html, '<p>Call <strong>Tuesday</strong>.</p>\n');
    assert.equal(a.assignee_id, w.users.cacInterviewer.userId);
    assert.equal(a.assignee_agency_id, w.agencies.cac);
    assert.equal(a.due_date, todayIn(EAST, 400));
    assert.equal(a.status, 'open');
    assert.equal(a.visibility, 'mdt');
    assert.deepEqual(a.visible_to, []);
    assert.equal(a.meeting_id, null);
    assert.equal(a.overdue, false);
    assert.equal(a.version, 1);
    assert.equal(a.created_by, w.users.cacMember.userId);
    assert.match(a.created_at, RFC3339);
    assert.equal(a.retracted_at, null);
    assert.equal(await versionRows(a.id), 1);
    const detail = await psql(dbUrl, `SELECT detail::text FROM audit WHERE action = 'action.create' AND object_id = ${a.id}`);
    assert.deepEqual(JSON.parse(detail), { assignee_agency_id: w.agencies.cac, visibility: 'mdt' });
    const min = await create(as.dcfMember, { title: 'Home visit', assignee_agency_id: w.agencies.dcf });
    assert.equal(min.assignee_id, null);
    assert.equal(min.due_date, null);
    assert.equal(min.details_md, '');
    assert.equal(min.details_html, '');
    const board = await boardActions(as.legalMember);
    if (board) assert.ok(board.some((x) => x.id === a.id));
});

test('who may assign to whom: members to their own agency, supervisors to any agency on the case', async () => {
    const before = await changeCounts(dbUrl, caseId);
    assertError(await as.cacMember.post(actionsUrl(), { title: 'x', assignee_agency_id: w.agencies.police }), 403, 'forbidden');
    assertError(await as.cacAdmin.post(actionsUrl(), { title: 'x', assignee_agency_id: w.agencies.police }), 403, 'forbidden');
    assertError(await as.hospitalMember.post(actionsUrl(), { title: 'x', assignee_agency_id: w.agencies.hospital }), 404, 'not_found');
    await expectNoChange(dbUrl, caseId, before);
    const bySup = await create(as.dcfSupervisor, {
        title: 'Police report to DCF',
        assignee_agency_id: w.agencies.police,
        assignee_id: w.users.policeMember.userId,
    });
    assert.equal(bySup.assignee_agency_id, w.agencies.police);
    const byLead = await create(as.cacSupervisor, { title: 'Legal screening', assignee_agency_id: w.agencies.legal });
    assert.equal(byLead.assignee_agency_id, w.agencies.legal);
});

test('invalid input: 422 with the field (400 for wrong types), and nothing written', async () => {
    const c = as.cacSupervisor;
    const a = w.agencies;
    const base = { title: 'x', assignee_agency_id: a.cac };
    const before = await changeCounts(dbUrl, caseId);
    const cases = [
        [{ ...base, assignee_agency_id: a.hospital }, 422, 'assignee_agency_id'],
        [{ ...base, assignee_agency_id: 999999999 }, 422, 'assignee_agency_id'],
        [{ title: 'x' }, 422, 'assignee_agency_id'],
        [{ ...base, assignee_id: w.users.policeMember.userId }, 422, 'assignee_id'],
        [{ ...base, assignee_id: 999999999 }, 422, 'assignee_id'],
        [{ ...base, due_date: 'next tuesday' }, 422, 'due_date'],
        [{ ...base, due_date: '2026-02-30' }, 422, 'due_date'],
        [{ ...base, due_date: '2026-2-3' }, 422, 'due_date'],
        [{ ...base, title: '' }, 422, 'title'],
        [{ ...base, title: '   ' }, 422, 'title'],
        [{ ...base, title: 't'.repeat(301) }, 422, 'title'],
        [{ assignee_agency_id: a.cac }, 422, 'title'],
        [{ ...base, visibility: 'everyone' }, 422, 'visibility'],
        [{ ...base, visibility: 'agencies' }, 422, 'visible_to'],
        [{ ...base, visibility: 'agencies', visible_to: [a.hospital] }, 422, 'visible_to'],
        [{ ...base, details_md: 'd'.repeat(64 * 1024 + 1) }, 422, 'details_md'],
        [{ ...base, details_md: '>'.repeat(60000) }, 422, 'details_md'],
        [{ ...base, due_date: 20260203 }, 400, 'due_date'],
        [{ ...base, assignee_agency_id: String(a.cac) }, 400, 'assignee_agency_id'],
        [{ ...base, title: 5 }, 400, 'title'],
    ];
    for (const [body, status, field] of cases) {
        assertError(await c.post(actionsUrl(), body), status, status === 422 ? 'validation' : 'bad_request', field);
    }
    await expectNoChange(dbUrl, caseId, before);
    // 300 characters (not bytes) is the limit.
    const long = await create(c, { ...base, title: 'é'.repeat(300) });
    assert.equal(long.title, 'é'.repeat(300));
});

test('updating: versions, status and completed_at, 409 with error.current on a stale version', async () => {
    const a = await create(as.cacSupervisor, {
        title: 'Medical exam',
        assignee_agency_id: w.agencies.police,
        assignee_id: w.users.policeMember.userId,
        due_date: todayIn(EAST, 365),
    });
    const url = `/api/v1/actions/${a.id}`;
    let before = await changeCounts(dbUrl, caseId);
    // Someone who sees it but is none of assignee, its supervisor, creator, lead supervisor.
    assertError(await as.dcfMember.patch(url, { status: 'done', version: 1 }), 403, 'forbidden');
    assertError(await as.policeInterviewer.patch(url, { status: 'done', version: 1 }), 403, 'forbidden');
    assertError(await as.dcfSupervisor.patch(url, { status: 'done', version: 1 }), 403, 'forbidden');
    assertError(await as.policeMember.patch(url, { status: 'finished', version: 1 }), 422, 'validation', 'status');
    assertError(await as.policeMember.patch(url, { due_date: '31/12/2026', version: 1 }), 422, 'validation', 'due_date');
    assertError(await as.policeMember.patch(url, { version: 1 }), 422, 'validation');
    assertError(await as.policeMember.patch(url, { status: 'done' }), 422, 'validation', 'version');
    assertError(await as.policeMember.patch(url, { assignee_id: w.users.dcfMember.userId, version: 1 }), 422, 'validation', 'assignee_id');
    // The assignee (a member) may not hand it to another agency.
    assertError(await as.policeMember.patch(url, { assignee_agency_id: w.agencies.dcf, version: 1 }), 403, 'forbidden');
    await expectNoChange(dbUrl, caseId, before);

    const started = await update(as.policeMember, a.id, { status: 'in_progress', version: 1 });
    assert.equal(started.version, 2);
    assert.equal(started.status, 'in_progress');
    assert.equal(started.completed_at, null);
    const detail = await psql(dbUrl, `SELECT detail::text FROM audit WHERE action = 'action.update' AND outcome = 'ok' AND object_id = ${a.id}`);
    assert.deepEqual(JSON.parse(detail), { fields: ['status'], status: 'in_progress' });

    before = await changeCounts(dbUrl, caseId);
    const stale = await as.policeMember.patch(url, { status: 'done', version: 1 });
    assertError(stale, 409, 'conflict');
    assert.equal(stale.json.error.current.id, a.id);
    assert.equal(stale.json.error.current.version, 2);
    assert.equal(stale.json.error.current.status, 'in_progress');
    await expectNoChange(dbUrl, caseId, before);

    const done = await update(as.policeSupervisor, a.id, { status: 'done', version: 2 });
    assert.equal(done.status, 'done');
    assert.match(done.completed_at, RFC3339);
    const reopened = await update(as.cacSupervisor, a.id, { status: 'open', due_date: null, title: 'Medical exam (2nd)', version: 3 });
    assert.equal(reopened.completed_at, null);
    assert.equal(reopened.due_date, null);
    assert.equal(reopened.title, 'Medical exam (2nd)');
    assert.equal(reopened.assignee_id, w.users.policeMember.userId, 'unnamed fields are kept');
    // The lead supervisor reassigns to DCF: the police user is dropped.
    const moved = await update(as.cacSupervisor, a.id, { assignee_agency_id: w.agencies.dcf, version: 4 });
    assert.equal(moved.assignee_agency_id, w.agencies.dcf);
    assert.equal(moved.assignee_id, null);
    // Assigned to DCF but to no one: any DCF user may take it.
    const taken = await update(as.dcfMember, a.id, { assignee_id: w.users.dcfMember.userId, version: 5 });
    assert.equal(taken.assignee_id, w.users.dcfMember.userId);
    const detailed = await update(as.dcfMember, a.id, { details_md: 'Bring the *file*.', version: 6 });
    assert.equal(detailed.details_html, '<p>Bring the <em>file</em>.</p>\n');

    assert.equal(await versionRows(a.id), 7);
    const data = JSON.parse(await psql(dbUrl, `SELECT data::text FROM action_versions WHERE action_id = ${a.id} AND version = 3`));
    assert.equal(data.status, 'done');
    assert.equal(data.version, 3);
});

test('overdue: due before today in MDT_TIME_ZONE while open or in progress', async () => {
    const todayWest = todayIn(WEST); // always before today in EAST
    const a = await create(as.cacMember, { title: 'Due today out west', assignee_agency_id: w.agencies.cac, due_date: todayWest });
    assert.equal(a.overdue, true, `${todayWest} is before today in ${EAST}`);
    // The same item as the Pago Pago server sees it: due today, not overdue.
    const westClient = await login(west.url, w.users.cacMember);
    const seen = await westClient.patch(`/api/v1/actions/${a.id}`, { title: 'x', version: 99 });
    assertError(seen, 409, 'conflict');
    assert.equal(seen.json.error.current.overdue, false, `${todayWest} is today in ${WEST}`);

    const past = await create(as.cacMember, { title: 'Long past', assignee_agency_id: w.agencies.cac, due_date: todayIn(EAST, -2000) });
    assert.equal(past.overdue, true);
    const future = await create(as.cacMember, { title: 'Future', assignee_agency_id: w.agencies.cac, due_date: todayIn(EAST, 1) });
    assert.equal(future.overdue, false);
    const today = await create(as.cacMember, { title: 'Today', assignee_agency_id: w.agencies.cac, due_date: todayIn(EAST) });
    assert.equal(today.overdue, false, 'due today is not overdue yet');
    const none = await create(as.cacMember, { title: 'No date', assignee_agency_id: w.agencies.cac });
    assert.equal(none.overdue, false);

    const inProgress = await update(as.cacMember, past.id, { status: 'in_progress', version: 1 });
    assert.equal(inProgress.overdue, true);
    const done = await update(as.cacMember, past.id, { status: 'done', version: 2 });
    assert.equal(done.overdue, false);
    const cancelled = await update(as.cacMember, a.id, { status: 'cancelled', version: 1 });
    assert.equal(cancelled.overdue, false);
});

test('visibility: hidden items are 404; the assignee agency always sees its item', async () => {
    // A police-only item for the police: the CAC (even the lead supervisor) gets 404.
    const own = await create(as.policeMember, { title: 'Interview the suspect', assignee_agency_id: w.agencies.police, visibility: 'agency' });
    const before = await changeCounts(dbUrl, caseId);
    assertError(await as.cacSupervisor.patch(`/api/v1/actions/${own.id}`, { status: 'done', version: 1 }), 404, 'not_found');
    assertError(await as.cacSupervisor.del(`/api/v1/actions/${own.id}`), 404, 'not_found');
    assertError(await as.dcfMember.patch(`/api/v1/actions/${own.id}`, { status: 'done', version: 1 }), 404, 'not_found');
    await expectNoChange(dbUrl, caseId, before);
    const cacBoard = await boardActions(as.cacSupervisor);
    if (cacBoard) assert.ok(!cacBoard.some((x) => x.id === own.id));

    // A CAC-only item assigned to the police: the police sees it (and, as
    // no user is named, any police user may work on it); DCF does not.
    const forPolice = await create(as.cacSupervisor, { title: 'Get the 911 tape', assignee_agency_id: w.agencies.police, visibility: 'agency' });
    const taken = await update(as.policeMember, forPolice.id, { status: 'in_progress', assignee_id: w.users.policeMember.userId, version: 1 });
    assert.equal(taken.assignee_id, w.users.policeMember.userId);
    assertError(await as.dcfSupervisor.patch(`/api/v1/actions/${forPolice.id}`, { status: 'done', version: 2 }), 404, 'not_found');
    const policeBoard = await boardActions(as.policeMember);
    if (policeBoard) assert.ok(policeBoard.some((x) => x.id === forPolice.id));

    // visibility agencies with visible_to.
    const shared = await create(as.cacMember, {
        title: 'Shared with legal aid',
        assignee_agency_id: w.agencies.cac,
        visibility: 'agencies',
        visible_to: [w.agencies.legal],
    });
    assert.deepEqual(shared.visible_to, [w.agencies.legal]);
    assertError(await as.legalMember.patch(`/api/v1/actions/${shared.id}`, { status: 'done', version: 1 }), 403, 'forbidden');
    assertError(await as.dcfMember.patch(`/api/v1/actions/${shared.id}`, { status: 'done', version: 1 }), 404, 'not_found');
});

test('retraction: kept with its versions; twice is 409; no more updates', async () => {
    const a = await create(as.dcfMember, { title: 'Safety plan', assignee_agency_id: w.agencies.dcf });
    await update(as.dcfMember, a.id, { status: 'in_progress', version: 1 });
    const url = `/api/v1/actions/${a.id}`;
    let before = await changeCounts(dbUrl, caseId);
    assertError(await as.cacMember.del(url), 403, 'forbidden');
    assertError(await as.policeSupervisor.del(url), 403, 'forbidden');
    await expectNoChange(dbUrl, caseId, before);

    const r = await as.dcfMember.del(url);
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.retracted_at, RFC3339);
    assert.equal(r.json.retracted_by, w.users.dcfMember.userId);
    assert.equal(r.json.title, 'Safety plan');
    assert.equal(r.json.overdue, false);
    await expectOneChange(dbUrl, caseId, before, { event: 'action.retracted', audit: 'action.retract', objectType: 'action', objectId: a.id });

    before = await changeCounts(dbUrl, caseId);
    const again = await as.dcfMember.del(url);
    assertError(again, 409, 'conflict');
    assert.match(again.json.error.current.retracted_at, RFC3339);
    assertError(await as.dcfMember.patch(url, { status: 'done', version: 2 }), 409, 'conflict');
    await expectNoChange(dbUrl, caseId, before);
    assert.equal(await versionRows(a.id), 2);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM actions WHERE id = ${a.id}`), '1');

    // The lead supervisor and the assignee agency's supervisor may retract too.
    const b = await create(as.dcfMember, { title: 'Two', assignee_agency_id: w.agencies.dcf });
    assert.equal((await as.cacSupervisor.del(`/api/v1/actions/${b.id}`)).status, 200);
    const c = await create(as.dcfMember, { title: 'Three', assignee_agency_id: w.agencies.dcf });
    assert.equal((await as.dcfSupervisor.del(`/api/v1/actions/${c.id}`)).status, 200);
    // Agency-only assignment lets any user of the agency update, not retract.
    const d = await create(as.cacSupervisor, { title: 'Four', assignee_agency_id: w.agencies.dcf });
    assertError(await as.dcfMember.del(`/api/v1/actions/${d.id}`), 403, 'forbidden');
    assertError(await as.cacMember.del('/api/v1/actions/999999999'), 404, 'not_found');
});

test('SQL-shaped and script-shaped text is stored as typed and rendered safely', async () => {
    const title = "Call back'); DELETE FROM actions; --";
    const details = '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> ![p](data:image/png;base64,AAAA)';
    const a = await create(as.legalMember, { title, details_md: details, assignee_agency_id: w.agencies.legal });
    assert.equal(a.title, title);
    assert.equal(a.details_md, details);
    assertSafeHtml(a.details_html);
    assert.match(a.details_html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'raw HTML is shown as text');
    assert.ok(Number(await psql(dbUrl, 'SELECT count(*) FROM actions')) > 1);
    const u = await update(as.legalMember, a.id, { title: "' OR 1=1 --", details_md: '<a href="javascript:x">y</a>', version: 1 });
    assert.equal(u.title, "' OR 1=1 --");
    assertSafeHtml(u.details_html);
    assert.doesNotMatch(u.details_html, /<a /i);
});
