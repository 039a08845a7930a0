// cases.test.mjs - cases against the real binary and PostgreSQL: creating
// them (supervisors only; the creator's agency leads and default PII owners;
// 422 with the field; 409 with the existing case on a duplicate number),
// the list (only the caller's agency's cases, agreeing with what the board
// lets each caller open; q on case_number and alias only, wildcards taken
// literally; status filter; cursor paging; open/overdue counts of the action
// items the caller may see), edits (lead fields by the lead supervisor only,
// member fields by any member, 403 with the field, 409 with current on a
// stale version, the lead and PII owners kept on the case, related cases the
// caller cannot see kept and never shown), and the board (404 off the case,
// seq consistent with the ledger, audited as a read).
//
// The world (board_fixtures.mjs): agencies cac, police, dcf, legal,
// hospital with a user of each role in cac and police.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, flushAudit, psql, startServer } from './lib/harness.mjs';
import { today } from './lib/clock.mjs';
import { addAgency } from './lib/fixtures.mjs';
import {
    BOARD_ENV,
    assertError,
    boardWorld,
    changeCounts,
    expectNoChange,
    expectOneChange,
    login,
    todayIn,
} from './lib/board_fixtures.mjs';

const TZ = 'America/New_York';

let dbUrl, server, w;
const as = {}; // logged-in clients by user key
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

// create(client, body) - POST /cases with defaults; asserts 201.
async function create(client, body = {}) {
    const res = await client.post('/api/v1/cases', {
        case_number: uniq('C'),
        alias: uniq('Alias'),
        referral_date: today(-14),
        agencies: [],
        ...body,
    });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

async function listAll(client, query = '') {
    const items = [];
    let cursor = null;
    for (;;) {
        const sep = query ? '&' : '';
        const res = await client.get(`/api/v1/cases?${query}${sep}limit=500${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(res.status, 200, res.text);
        items.push(...res.json.items);
        if (!res.json.next) return items;
        cursor = res.json.next;
    }
}

async function caseCount() {
    return Number(await psql(dbUrl, 'SELECT count(*) FROM cases'));
}

// insertAction(caseId, {...}) - an action item written straight into the
// table (the counts must not depend on the actions module).
async function insertAction(caseId, { by, assigneeAgency, visibility = 'mdt', visibleTo = [], due = null, status = 'open', retracted = false }) {
    const dueSql = due === null ? 'NULL' : `'${due}'::date`;
    await psql(
        dbUrl,
        `INSERT INTO actions (case_id, title, assignee_agency_id, agency_id, due_date, status,
            visibility, visible_to, created_by, retracted_at, retracted_by)
         VALUES (${caseId}, 'test item', ${assigneeAgency}, ${by.agencyId}, ${dueSql}, '${status}',
            '${visibility}', ARRAY[${visibleTo.join(',')}]::bigint[], ${by.userId},
            ${retracted ? 'now()' : 'NULL'}, ${retracted ? by.userId : 'NULL'})`,
    );
}

// ---- POST /cases ----------------------------------------------------------

test('a supervisor creates a case: its agency leads, default PII owners, one audit row and event', async () => {
    const a = w.agencies;
    const number = uniq('HCAC');
    const res = await as.cacSupervisor.post('/api/v1/cases', {
        case_number: number,
        alias: 'J.M.',
        municipality: 'Stamford',
        referral_date: today(-20),
        agencies: [a.police, a.legal, a.hospital],
    });
    assert.equal(res.status, 201, res.text);
    const c = res.json;
    assert.equal(c.case_number, number);
    assert.equal(c.alias, 'J.M.');
    assert.equal(c.status, 'referred');
    assert.equal(c.municipality, 'Stamford');
    assert.equal(c.referral_date, today(-20));
    assert.equal(c.lead_agency_id, a.cac);
    assert.deepEqual([...c.agencies].sort((x, y) => x - y), [a.cac, a.police, a.legal, a.hospital].sort((x, y) => x - y));
    assert.deepEqual(c.pii_owners, { identity: a.cac, contact: a.cac, immigration: a.legal, health: a.hospital });
    assert.deepEqual(c.related_case_ids, []);
    assert.equal(c.version, 1);
    assert.match(c.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const last = await expectOneChange(dbUrl, c.id, { events: 0, audit: 0 }, {
        event: 'case.updated',
        audit: 'case.create',
        objectType: 'case',
        objectId: c.id,
    });
    assert.equal(Number(last.audit.user_id), w.users.cacSupervisor.userId);
    // no case text in the audit detail
    assert.ok(!JSON.stringify(last.audit.detail).includes(number));
    assert.ok(!JSON.stringify(last.audit.detail).includes('J.M.'));
});

test('without a lead agency of its own kind, every category defaults to the lead', async () => {
    const c = await create(as.policeSupervisor, { agencies: [w.agencies.dcf] });
    const p = w.agencies.police;
    assert.deepEqual(c.pii_owners, { identity: p, contact: p, immigration: p, health: p });
    assert.ok(c.agencies.includes(p));
});

test('only supervisors create cases: members, interviewers and admins get 403', async () => {
    const before = await caseCount();
    for (const key of ['cacMember', 'cacInterviewer', 'cacAdmin', 'policeMember']) {
        const res = await as[key].post('/api/v1/cases', {
            case_number: uniq('X'),
            alias: 'A.B.',
            referral_date: today(-14),
            agencies: [],
        });
        assertError(res, 403, 'forbidden');
    }
    assert.equal(await caseCount(), before);
});

test('bad input: 400 for wrong types, 422 naming the field, nothing created', async () => {
    const a = w.agencies;
    const inactive = await addAgency(dbUrl, { name: uniq('Closed agency'), kind: 'other' });
    await psql(dbUrl, `UPDATE agencies SET active = false WHERE id = ${inactive}`);
    const hidden = await create(as.policeSupervisor, { agencies: [] }); // cac is not on it
    const base = { case_number: uniq('V'), alias: 'A.B.', referral_date: today(-14), agencies: [] };
    const before = await caseCount();
    const cases = [
        [{ case_number: undefined }, 422, 'validation', 'case_number'],
        [{ case_number: '   ' }, 422, 'validation', 'case_number'],
        [{ case_number: 'x'.repeat(65) }, 422, 'validation', 'case_number'],
        [{ alias: '' }, 422, 'validation', 'alias'],
        [{ alias: 7 }, 400, 'bad_request', 'alias'],
        [{ status: 'open' }, 422, 'validation', 'status'],
        [{ referral_date: '2026-02-30' }, 422, 'validation', 'referral_date'],
        [{ referral_date: undefined }, 422, 'validation', 'referral_date'],
        [{ agencies: undefined }, 422, 'validation', 'agencies'],
        [{ agencies: 'all' }, 400, 'bad_request', 'agencies'],
        [{ agencies: [999999] }, 422, 'validation', 'agencies'],
        [{ agencies: [a.police, inactive] }, 422, 'validation', 'agencies'],
        [{ related_case_ids: [hidden.id] }, 422, 'validation', 'related_case_ids'],
        [{ related_case_ids: [999999] }, 422, 'validation', 'related_case_ids'],
        [{ municipality: 'm'.repeat(101) }, 422, 'validation', 'municipality'],
    ];
    for (const [patch, status, code, field] of cases) {
        const body = { ...base, ...patch };
        for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
        assertError(await as.cacSupervisor.post('/api/v1/cases', body), status, code, field);
    }
    assert.equal(await caseCount(), before);
});

test('a duplicate case_number of the same lead agency is 409 with the existing case; another lead may reuse it', async () => {
    const number = uniq('DUP');
    const first = await create(as.cacSupervisor, { case_number: number });
    const before = await caseCount();
    const res = await as.cacSupervisor.post('/api/v1/cases', {
        case_number: number.toLowerCase(),
        alias: 'Other',
        referral_date: today(-10),
        agencies: [],
    });
    assertError(res, 409, 'conflict');
    assert.equal(res.json.error.current.id, first.id);
    assert.equal(res.json.error.current.case_number, number);
    assert.equal(await caseCount(), before);
    const other = await create(as.policeSupervisor, { case_number: number });
    assert.equal(other.lead_agency_id, w.agencies.police);
});

test('related_case_ids of cases the caller sees are accepted', async () => {
    const a = await create(as.cacSupervisor);
    const b = await create(as.cacSupervisor, { related_case_ids: [a.id] });
    assert.deepEqual(b.related_case_ids, [a.id]);
});

// ---- GET /cases -------------------------------------------------------------

test("the list holds exactly the caller's agency's cases, and agrees with what the board opens", async () => {
    const a = w.agencies;
    const both = await create(as.cacSupervisor, { agencies: [a.police] });
    const cacOnly = await create(as.cacSupervisor, { agencies: [a.dcf] });
    const policeOnly = await create(as.policeSupervisor, { agencies: [a.legal] });
    const ids = (items) => new Set(items.map((c) => c.id));
    const cac = ids(await listAll(as.cacMember));
    const police = ids(await listAll(as.policeMember));
    assert.ok(cac.has(both.id) && cac.has(cacOnly.id) && !cac.has(policeOnly.id));
    assert.ok(police.has(both.id) && police.has(policeOnly.id) && !police.has(cacOnly.id));
    // Every case in the database: listed for a caller exactly when the board
    // (mdt_authz_case_visible through caseop) lets it in, and exactly when
    // its agency is in case_agencies.
    const rows = (await psql(dbUrl, 'SELECT c.id, array_to_string(array_agg(ca.agency_id), \',\') FROM cases c JOIN case_agencies ca ON ca.case_id = c.id GROUP BY c.id')).split('\n');
    for (const key of ['cacMember', 'policeMember', 'hospitalMember']) {
        const listed = ids(await listAll(as[key]));
        for (const row of rows) {
            const [id, agencies] = row.split('|');
            const member = agencies.split(',').map(Number).includes(w.users[key].agencyId);
            const board = await as[key].get(`/api/v1/cases/${id}`);
            assert.equal(board.status, member ? 200 : 404, `${key} board ${id}: ${board.text}`);
            assert.equal(listed.has(Number(id)), member, `${key} list ${id}`);
        }
    }
});

test('list items carry the Case shape plus counts and review dates', async () => {
    const c = await create(as.cacSupervisor, { agencies: [w.agencies.police] });
    const item = (await listAll(as.cacMember)).find((x) => x.id === c.id);
    for (const k of ['id', 'case_number', 'alias', 'status', 'municipality', 'referral_date', 'lead_agency_id', 'agencies', 'pii_owners', 'related_case_ids', 'version', 'created_at', 'review_every_weeks']) {
        assert.ok(k in item, `missing ${k}`);
    }
    assert.equal(item.open_actions, 0);
    assert.equal(item.overdue_actions, 0);
    assert.equal(item.next_review, null);
    assert.equal(item.last_reviewed, null);
    assert.equal(item.review_every_weeks, null);
    assert.equal(item.review_due, null);
});

test('q matches case_number and alias only, case-insensitively, wildcards taken literally', async () => {
    const tag = `q${process.pid}x${++counter}`;
    const byNumber = await create(as.cacSupervisor, { case_number: `NUM-${tag}-7`, alias: 'Plain' });
    const byAlias = await create(as.cacSupervisor, { alias: `Heron ${tag}` });
    const byTown = await create(as.cacSupervisor, { alias: 'Town', municipality: `Stamford ${tag}` });
    const pct = await create(as.cacSupervisor, { alias: `100% ${tag}` });
    const found = async (q) => new Set((await listAll(as.cacMember, `q=${encodeURIComponent(q)}`)).map((c) => c.id));
    let s = await found(tag.toUpperCase());
    assert.ok(s.has(byNumber.id) && s.has(byAlias.id) && s.has(pct.id));
    assert.ok(!s.has(byTown.id), 'municipality is not searched');
    s = await found(`num-${tag}`);
    assert.deepEqual([...s], [byNumber.id]);
    s = await found('%');
    assert.ok(s.has(pct.id) && !s.has(byAlias.id), '% matches itself only');
    s = await found('_');
    assert.ok(!s.has(byAlias.id), '_ matches itself only');
    s = await found("' OR 1=1 --");
    assert.equal(s.size, 0);
    // the search string never reaches the audit log
    await flushAudit(server);
    const audit = await psql(dbUrl, `SELECT count(*) FROM audit WHERE detail::text LIKE '%${tag}%'`);
    assert.equal(audit, '0');
    assertError(await as.cacMember.get(`/api/v1/cases?q=${'x'.repeat(101)}`), 422, 'validation', 'q');
});

test('status filter, limit and cursor paging', async () => {
    const tag = `p${process.pid}x${++counter}`;
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await create(as.cacSupervisor, { alias: `${tag} ${i}`, status: i < 2 ? 'closed' : 'active' }));
    const closed = await listAll(as.cacMember, `q=${tag}&status=closed`);
    assert.deepEqual(closed.map((c) => c.id).sort(), made.slice(0, 2).map((c) => c.id).sort());
    const either = await listAll(as.cacMember, `q=${tag}&status=closed,active`);
    assert.equal(either.length, 5);
    const seen = [];
    let url = `/api/v1/cases?q=${tag}&limit=2`;
    for (let page = 0; page < 5; page++) {
        const res = await as.cacMember.get(url);
        assert.equal(res.status, 200, res.text);
        assert.ok(res.json.items.length <= 2);
        seen.push(...res.json.items.map((c) => c.id));
        if (!res.json.next) break;
        assert.equal(typeof res.json.next, 'string');
        url = `/api/v1/cases?q=${tag}&limit=2&cursor=${encodeURIComponent(res.json.next)}`;
    }
    assert.deepEqual(seen, made.map((c) => c.id).sort((x, y) => y - x), 'newest first, each once');
    assertError(await as.cacMember.get('/api/v1/cases?status=open'), 422, 'validation', 'status');
    assertError(await as.cacMember.get('/api/v1/cases?limit=0'), 422, 'validation', 'limit');
    assertError(await as.cacMember.get('/api/v1/cases?limit=501'), 422, 'validation', 'limit');
    assertError(await as.cacMember.get('/api/v1/cases?cursor=abc'), 400, 'bad_request', 'cursor');
    assertError(await as.cacMember.get('/api/v1/cases?cursor=0'), 422, 'validation', 'cursor');
});

test('open and overdue counts include only the action items the caller may see', async () => {
    const a = w.agencies;
    const u = w.users;
    const c = await create(as.cacSupervisor, { agencies: [a.police, a.dcf] });
    const past = todayIn(TZ, -3);
    const future = todayIn(TZ, 5);
    await insertAction(c.id, { by: u.cacMember, assigneeAgency: a.cac, due: past }); // all: overdue
    await insertAction(c.id, { by: u.cacMember, assigneeAgency: a.cac, due: future, status: 'in_progress' }); // all: open
    await insertAction(c.id, { by: u.policeMember, assigneeAgency: a.police, visibility: 'agency', due: past }); // police
    await insertAction(c.id, { by: u.policeMember, assigneeAgency: a.dcf, visibility: 'agency', due: past }); // police + dcf (assignee)
    await insertAction(c.id, { by: u.policeMember, assigneeAgency: a.police, visibility: 'agencies', visibleTo: [a.cac] }); // police + cac
    await insertAction(c.id, { by: u.cacMember, assigneeAgency: a.cac, due: past, status: 'done' }); // not open
    await insertAction(c.id, { by: u.cacMember, assigneeAgency: a.cac, due: past, retracted: true }); // retracted
    const counts = async (key) => {
        const item = (await listAll(as[key])).find((x) => x.id === c.id);
        return [item.open_actions, item.overdue_actions];
    };
    assert.deepEqual(await counts('cacMember'), [3, 1]);
    assert.deepEqual(await counts('policeMember'), [5, 3]);
    assert.deepEqual(await counts('dcfMember'), [3, 2]);
});

// ---- PATCH /cases/{id} --------------------------------------------------------

test('lead fields: only the lead supervisor; a member or another supervisor gets 403 with the field', async () => {
    const a = w.agencies;
    const c = await create(as.cacSupervisor, { agencies: [a.police, a.dcf] });
    const before = await changeCounts(dbUrl, c.id);
    const attempts = [
        ['cacMember', { status: 'active' }, 'status'],
        ['cacAdmin', { status: 'active' }, 'status'],
        ['policeSupervisor', { status: 'active' }, 'status'],
        ['policeMember', { agencies: [a.cac, a.police] }, 'agencies'],
        ['policeSupervisor', { lead_agency_id: a.police }, 'lead_agency_id'],
        ['cacMember', { pii_owners: { contact: a.dcf } }, 'pii_owners'],
    ];
    for (const [key, patch, field] of attempts) {
        assertError(await as[key].patch(`/api/v1/cases/${c.id}`, { ...patch, version: 1 }), 403, 'forbidden', field);
    }
    await expectNoChange(dbUrl, c.id, before);
    // a lead field sent unchanged is not a change
    const same = await as.cacMember.patch(`/api/v1/cases/${c.id}`, { status: 'referred', version: 1 });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.json.version, 1);
    await expectNoChange(dbUrl, c.id, before);
    const res = await as.cacSupervisor.patch(`/api/v1/cases/${c.id}`, { status: 'active', version: 1 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'active');
    assert.equal(res.json.version, 2);
    const last = await expectOneChange(dbUrl, c.id, before, { event: 'case.updated', audit: 'case.update', objectType: 'case', objectId: c.id });
    assert.deepEqual(last.audit.detail.fields, ['status']);
});

test('member fields: any case member; a user off the case gets 404', async () => {
    const a = w.agencies;
    const c = await create(as.cacSupervisor, { agencies: [a.police], municipality: 'Norwalk' });
    const res = await as.policeMember.patch(`/api/v1/cases/${c.id}`, { alias: 'K.L.', municipality: 'Bridgeport', version: 1 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.alias, 'K.L.');
    assert.equal(res.json.municipality, 'Bridgeport');
    assert.equal(res.json.version, 2);
    const cleared = await as.policeMember.patch(`/api/v1/cases/${c.id}`, { municipality: null, version: 2 });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal(cleared.json.municipality, null);
    assertError(await as.dcfMember.patch(`/api/v1/cases/${c.id}`, { alias: 'X', version: 3 }), 404, 'not_found');
    assertError(await as.dcfMember.patch('/api/v1/cases/999999', { alias: 'X', version: 1 }), 404, 'not_found');
    assertError(await as.policeMember.patch(`/api/v1/cases/${c.id}`, { alias: '', version: 3 }), 422, 'validation', 'alias');
    assertError(await as.policeMember.patch(`/api/v1/cases/${c.id}`, { alias: 'x' }), 422, 'validation', 'version');
    assertError(await as.policeMember.patch(`/api/v1/cases/${c.id}`, { alias: 'x', version: '3' }), 400, 'bad_request', 'version');
});

test('a stale version is 409 with the current case as the caller sees it', async () => {
    const c = await create(as.cacSupervisor, { agencies: [w.agencies.police] });
    assert.equal((await as.cacMember.patch(`/api/v1/cases/${c.id}`, { alias: 'First', version: 1 })).status, 200);
    const before = await changeCounts(dbUrl, c.id);
    const res = await as.policeMember.patch(`/api/v1/cases/${c.id}`, { alias: 'Second', version: 1 });
    assertError(res, 409, 'conflict');
    assert.equal(res.json.error.current.id, c.id);
    assert.equal(res.json.error.current.alias, 'First');
    assert.equal(res.json.error.current.version, 2);
    await expectNoChange(dbUrl, c.id, before);
});

test('agencies, lead and PII owners: the lead and every owner stay on the case', async () => {
    const a = w.agencies;
    const c = await create(as.cacSupervisor, { agencies: [a.police, a.legal, a.hospital] });
    const url = `/api/v1/cases/${c.id}`;
    const sup = as.cacSupervisor;
    const before = await changeCounts(dbUrl, c.id);
    assertError(await sup.patch(url, { agencies: [a.police, a.legal, a.hospital], version: 1 }), 422, 'validation', 'agencies');
    assertError(await sup.patch(url, { agencies: [a.cac, a.police, a.hospital], version: 1 }), 422, 'validation', 'agencies');
    assertError(await sup.patch(url, { lead_agency_id: a.dcf, version: 1 }), 422, 'validation', 'lead_agency_id');
    assertError(await sup.patch(url, { pii_owners: { health: a.dcf }, version: 1 }), 422, 'validation', 'pii_owners.health');
    assertError(await sup.patch(url, { pii_owners: { shoe_size: a.cac }, version: 1 }), 422, 'validation', 'pii_owners');
    assertError(await sup.patch(url, { agencies: [a.cac, a.police, a.legal, a.hospital, 999999], version: 1 }), 422, 'validation', 'agencies');
    await expectNoChange(dbUrl, c.id, before);

    // removing legal aid together with giving immigration to the lead works
    let res = await sup.patch(url, { agencies: [a.cac, a.police, a.hospital, a.dcf], pii_owners: { immigration: a.cac }, version: 1 });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([...res.json.agencies].sort((x, y) => x - y), [a.cac, a.police, a.hospital, a.dcf].sort((x, y) => x - y));
    assert.equal(res.json.pii_owners.immigration, a.cac);
    const last = await expectOneChange(dbUrl, c.id, before, { event: 'case.updated', audit: 'case.update', objectType: 'case', objectId: c.id });
    assert.deepEqual(last.audit.detail.agencies_added, [a.dcf]);
    assert.deepEqual(last.audit.detail.agencies_removed, [a.legal]);
    assertError(await as.legalMember.get(url), 404, 'not_found');

    // handing the lead to the police: the police supervisor now holds the lead fields
    res = await sup.patch(url, { lead_agency_id: a.police, version: 2 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.lead_agency_id, a.police);
    assertError(await sup.patch(url, { status: 'closed', version: 3 }), 403, 'forbidden', 'status');
    res = await as.policeSupervisor.patch(url, { status: 'closed', version: 3 });
    assert.equal(res.status, 200, res.text);
});

test('related cases the caller cannot see are never shown and survive its edits', async () => {
    const a = w.agencies;
    const c = await create(as.cacSupervisor, { agencies: [a.police] });
    const seenByBoth = await create(as.cacSupervisor, { agencies: [a.police] });
    const policeOnly = await create(as.policeSupervisor, { agencies: [] });
    let res = await as.policeMember.patch(`/api/v1/cases/${c.id}`, { related_case_ids: [seenByBoth.id, policeOnly.id], version: 1 });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.related_case_ids.sort(), [seenByBoth.id, policeOnly.id].sort());
    // the CAC does not see the police-only case: absent for it, everywhere
    const board = await as.cacMember.get(`/api/v1/cases/${c.id}`);
    assert.deepEqual(board.json.case.related_case_ids, [seenByBoth.id]);
    const item = (await listAll(as.cacMember)).find((x) => x.id === c.id);
    assert.deepEqual(item.related_case_ids, [seenByBoth.id]);
    // ... cannot be named by it ...
    assertError(await as.cacMember.patch(`/api/v1/cases/${c.id}`, { related_case_ids: [policeOnly.id], version: 2 }), 422, 'validation', 'related_case_ids');
    assertError(await as.cacMember.patch(`/api/v1/cases/${c.id}`, { related_case_ids: [c.id], version: 2 }), 422, 'validation', 'related_case_ids');
    // ... and clearing the list keeps it
    res = await as.cacMember.patch(`/api/v1/cases/${c.id}`, { related_case_ids: [], version: 2 });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.related_case_ids, []);
    const stored = await psql(dbUrl, `SELECT related_case_ids FROM cases WHERE id = ${c.id}`);
    assert.equal(stored, `{${policeOnly.id}}`);
    const police = await as.policeMember.get(`/api/v1/cases/${c.id}`);
    assert.deepEqual(police.json.case.related_case_ids, [policeOnly.id]);
});

// ---- GET /cases/{id} -------------------------------------------------------------

test('the board: 404 for a case the caller is not on (or that does not exist), the parts for a member', async () => {
    const a = w.agencies;
    const c = await create(as.cacSupervisor, { agencies: [a.police] });
    assertError(await as.dcfMember.get(`/api/v1/cases/${c.id}`), 404, 'not_found');
    assertError(await as.hospitalMember.get(`/api/v1/cases/${c.id}`), 404, 'not_found');
    assertError(await as.cacMember.get('/api/v1/cases/999999'), 404, 'not_found');
    const res = await as.policeMember.get(`/api/v1/cases/${c.id}`);
    assert.equal(res.status, 200, res.text);
    for (const k of ['case', 'pii', 'agencies', 'entries', 'actions', 'consents', 'services', 'tracking', 'seq']) {
        assert.ok(k in res.json, `board lacks ${k}`);
    }
    assert.equal(res.json.case.id, c.id);
    assert.deepEqual(res.json.agencies.map((x) => x.id).sort(), [a.cac, a.police].sort());
    for (const ag of res.json.agencies) assert.deepEqual(Object.keys(ag).sort(), ['id', 'kind', 'name']);
    assert.ok(Array.isArray(res.json.entries) && Array.isArray(res.json.actions));
});

test("the board's seq is the ledger's seq when it was read, and moves with changes", async () => {
    const c = await create(as.cacSupervisor, { agencies: [w.agencies.police] });
    const ledger = async () => Number(await psql(dbUrl, 'SELECT seq FROM ledger'));
    let res = await as.policeMember.get(`/api/v1/cases/${c.id}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.seq, await ledger());
    const lastOfCase = Number(await psql(dbUrl, `SELECT max(seq) FROM events WHERE case_id = ${c.id}`));
    assert.ok(res.json.seq >= lastOfCase);
    const upd = await as.policeMember.patch(`/api/v1/cases/${c.id}`, { alias: 'Moved', version: 1 });
    assert.equal(upd.status, 200, upd.text);
    res = await as.policeMember.get(`/api/v1/cases/${c.id}`);
    assert.equal(res.json.seq, await ledger());
    assert.equal(res.json.seq, Number(await psql(dbUrl, `SELECT max(seq) FROM events WHERE case_id = ${c.id}`)));
    assert.equal(res.json.case.alias, 'Moved');
});

test('under concurrent edits every board is one snapshot: its case version matches its seq', async () => {
    const c = await create(as.cacSupervisor, { agencies: [w.agencies.police] });
    let stop = false;
    const writer = (async () => {
        for (let v = 1; v <= 15; v++) {
            const res = await as.policeMember.patch(`/api/v1/cases/${c.id}`, { alias: `Edit ${v}`, version: v });
            assert.equal(res.status, 200, res.text);
        }
        stop = true;
    })();
    const boards = [];
    while (!stop) {
        const got = await Promise.all([1, 2, 3].map(() => as.cacMember.get(`/api/v1/cases/${c.id}`)));
        for (const b of got) {
            assert.equal(b.status, 200, b.text);
            boards.push(b.json);
        }
    }
    await writer;
    assert.ok(boards.length > 0);
    for (const b of boards) {
        // creation and every edit each emitted one case.updated event
        const upTo = Number(await psql(dbUrl, `SELECT count(*) FROM events WHERE case_id = ${c.id} AND kind = 'case.updated' AND seq <= ${b.seq}`));
        assert.equal(b.case.version, upTo, `board at seq ${b.seq}`);
        assert.equal(b.case.alias, b.case.version === 1 ? c.alias : `Edit ${b.case.version - 1}`);
    }
});

test('reading the board is audited as case.read; a refused read is a denied row, never an ok case.read', async () => {
    const c = await create(as.cacSupervisor, { agencies: [] });
    assert.equal((await as.cacMember.get(`/api/v1/cases/${c.id}`)).status, 200);
    await flushAudit(server);
    const rows = await psql(dbUrl, `SELECT user_id FROM audit WHERE action = 'case.read' AND outcome = 'ok' AND case_id = ${c.id}`);
    assert.equal(Number(rows), w.users.cacMember.userId);
    assertError(await as.policeMember.get(`/api/v1/cases/${c.id}`), 404, 'not_found');
    await flushAudit(server);
    // the refused read is on the record as denied, never as a second ok read
    const denied = await psql(dbUrl, `SELECT user_id FROM audit WHERE action = 'case.read' AND outcome = 'denied' AND case_id = ${c.id}`);
    assert.equal(Number(denied), w.users.policeMember.userId);
    const reads = await psql(dbUrl, `SELECT count(*) FROM audit WHERE action = 'case.read' AND outcome = 'ok' AND case_id = ${c.id}`);
    assert.equal(reads, '1');
});
