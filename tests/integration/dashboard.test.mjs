// dashboard.test.mjs - the action-item dashboard (GET /api/v1/actions) and
// its CSV twin (/api/v1/actions.csv) against the real binary and PostgreSQL:
// only the items the caller may see, across every case of its agency (an
// agency-only item of another agency, an item of a case the agency is not
// on, and retracted items never appear, and `total` counts only what is
// listed), overdue first then by due date (items without one last), the
// filters, pages that join up, validation with the field, and the CSV:
// a header row, CRLF, RFC 4180 quoting, formula-shaped titles defused
// with a leading apostrophe, the same rows as the JSON list.
//
// The world (board_fixtures.mjs): case A led by the CAC with the police and
// child welfare (DCF) on it; case B led by the police with DCF, without the
// CAC. The server runs in America/New_York.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SOURCE_DIR, createDatabase, flushAudit, psql, startServer } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, changeCounts, createCase, login, todayIn } from './lib/board_fixtures.mjs';
import { parseCsv } from './lib/csv.mjs';

const TZ = 'America/New_York';
const FORMULA = '=HYPERLINK("http://evil.example/?x","click me")';
const TRICKY = 'Call DCF, then "school"\nby Friday';

let dbUrl, server, w, caseA, caseB;
const as = {};
const I = {}; // items by name

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ } });
    w = await boardWorld(dbUrl);
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);
    const a = w.agencies;
    caseA = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [a.cac, a.police, a.dcf], alias: 'A.A.' });
    caseB = await createCase(server.url, dbUrl, { lead: w.users.policeSupervisor, agencies: [a.police, a.dcf], alias: 'B.B.' });

    const day = (n) => todayIn(TZ, n);
    const make = async (name, client, caseId, body) => {
        const r = await client.post(`/api/v1/cases/${caseId}/actions`, body);
        assert.equal(r.status, 201, `${name}: ${r.text}`);
        I[name] = r.json;
    };
    const cac = a.cac;
    await make('overdueOld', as.cacMember, caseA, { title: 'overdue old', assignee_agency_id: cac, due_date: day(-9) });
    await make('overdueNew', as.cacMember, caseA, { title: 'overdue new', assignee_agency_id: cac, due_date: day(-1) });
    await make('soon', as.cacMember, caseA, { title: 'soon', assignee_agency_id: cac, due_date: day(5) });
    await make('later', as.cacMember, caseA, { title: TRICKY, assignee_agency_id: cac, due_date: day(30) });
    await make('undated', as.cacMember, caseA, { title: 'no due date', assignee_agency_id: cac });
    await make('mine', as.cacMember, caseA, {
        title: FORMULA,
        assignee_agency_id: cac,
        assignee_id: w.users.cacMember.userId,
        due_date: day(5),
    });
    await make('dcfDone', as.dcfMember, caseA, { title: 'dcf done', assignee_agency_id: a.dcf, due_date: day(-3) });
    let r = await as.dcfMember.patch(`/api/v1/actions/${I.dcfDone.id}`, { version: 1, status: 'done' });
    assert.equal(r.status, 200, r.text);
    I.dcfDone = r.json;
    await make('policeOnly', as.policeMember, caseA, {
        title: 'police only',
        assignee_agency_id: a.police,
        due_date: day(-5),
        visibility: 'agency',
    });
    await make('toDcfOnly', as.policeMember, caseA, {
        title: 'shared with dcf',
        assignee_agency_id: a.police,
        due_date: day(-4),
        visibility: 'agencies',
        visible_to: [a.dcf],
    });
    await make('retracted', as.cacMember, caseA, { title: 'retracted', assignee_agency_id: cac, due_date: day(-20) });
    r = await as.cacMember.del(`/api/v1/actions/${I.retracted.id}`);
    assert.equal(r.status, 200, r.text);
    await make('otherCase', as.policeMember, caseB, { title: 'case b', assignee_agency_id: a.police, due_date: day(-2) });
    await setupWorld2();
});

after(async () => {
    if (server) await server.stop();
});

const ids = (items) => items.map((i) => i.id);

async function list(client, query = '') {
    const r = await client.get(`/api/v1/actions${query}`);
    assert.equal(r.status, 200, r.text);
    return r.json;
}

// Every page of a listing, following `next`.
async function allPages(client, query, limit) {
    const items = [];
    let cursor = null;
    for (let n = 0; n < 100; n++) {
        const sep = query ? '&' : '?';
        const r = await list(client, `${query}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.ok(r.items.length <= limit);
        items.push(...r.items);
        if (!r.next) return items;
        cursor = r.next;
    }
    throw new Error('pages never ended');
}

test('the CAC sees its visible items across its cases, overdue first, then by due date, undated last', async () => {
    const r = await list(as.cacMember);
    // dcfDone is past due but done: not overdue, so it sorts by its date among the rest;
    // soon and mine share a due date: by id
    const want = ['overdueOld', 'overdueNew', 'dcfDone', 'soon', 'mine', 'later', 'undated'].map((n) => I[n].id);
    assert.deepEqual(ids(r.items), want);
    assert.equal(r.total, 7);
    assert.equal(r.overdue_total, 2);
    assert.equal(r.next, null);
    for (const hidden of ['policeOnly', 'toDcfOnly', 'retracted', 'otherCase']) {
        assert.ok(!ids(r.items).includes(I[hidden].id), `${hidden} must not be listed`);
    }
    const first = r.items[0];
    assert.equal(first.case_id, caseA);
    assert.equal(first.alias, 'A.A.');
    assert.equal(typeof first.case_number, 'string');
    assert.equal(first.overdue, true);
    assert.equal(r.items[2].overdue, false);
    // the one Action serializer: the same object as the case endpoints give
    const { case_number, alias, case_alias, ...rest } = r.items.find((i) => i.id === I.soon.id);
    assert.deepEqual(rest, I.soon);
});

test('other agencies see what they may: the police its agency-only item and its own case; DCF the shared one', async () => {
    const police = await list(as.policeMember);
    for (const n of ['policeOnly', 'toDcfOnly', 'otherCase', 'overdueOld']) assert.ok(ids(police.items).includes(I[n].id), n);
    assert.equal(police.total, 10);
    const dcf = await list(as.dcfMember);
    assert.ok(ids(dcf.items).includes(I.toDcfOnly.id));
    assert.ok(ids(dcf.items).includes(I.otherCase.id));
    assert.ok(!ids(dcf.items).includes(I.policeOnly.id));
    assert.equal(dcf.total, 9);
    const hospital = await list(as.hospitalMember);
    assert.deepEqual(hospital, { items: [], next: null, total: 0, overdue_total: 0 });
});

test('filters: assignee=me, agency_id, status, overdue, case_id', async () => {
    assert.deepEqual(ids((await list(as.cacMember, '?assignee=me')).items), [I.mine.id]);
    assert.deepEqual(ids((await list(as.cacMember, `?assignee=${w.users.cacMember.userId}`)).items), [I.mine.id]);
    assert.deepEqual(ids((await list(as.cacInterviewer, '?assignee=me')).items), []);
    const dcfItems = await list(as.cacSupervisor, `?agency_id=${w.agencies.dcf}`);
    assert.deepEqual(ids(dcfItems.items), [I.dcfDone.id]);
    assert.equal(dcfItems.total, 1);
    // the supervisor's agency dashboard
    const own = await list(as.cacSupervisor, `?agency_id=${w.agencies.cac}`);
    assert.deepEqual(ids(own.items), [I.overdueOld.id, I.overdueNew.id, I.soon.id, I.mine.id, I.later.id, I.undated.id]);
    // the police's agency items, as the CAC may see them: none of them (agency-only, shared with DCF)
    assert.deepEqual((await list(as.cacSupervisor, `?agency_id=${w.agencies.police}`)).total, 0);
    assert.deepEqual(ids((await list(as.cacMember, '?status=done')).items), [I.dcfDone.id]);
    assert.deepEqual((await list(as.cacMember, '?status=open,in_progress')).total, 6);
    assert.deepEqual(ids((await list(as.cacMember, '?overdue=true')).items), [I.overdueOld.id, I.overdueNew.id]);
    assert.equal((await list(as.cacMember, '?overdue=false')).total, 5);
    assert.deepEqual(ids((await list(as.policeMember, `?case_id=${caseB}`)).items), [I.otherCase.id]);
    // a case the caller's agency is not on: an empty list, as if it did not exist
    assert.deepEqual(await list(as.cacMember, `?case_id=${caseB}`), { items: [], next: null, total: 0, overdue_total: 0 });
    assert.deepEqual((await list(as.cacMember, '?case_id=999999999')).items, []);
});

test('pages join up to the whole list; total and overdue_total stay the same on every page', async () => {
    const whole = (await list(as.policeMember)).items;
    for (const limit of [1, 2, 3]) {
        const paged = await allPages(as.policeMember, '', limit);
        assert.deepEqual(ids(paged), ids(whole), `limit ${limit}`);
    }
    const p1 = await list(as.policeMember, '?limit=4');
    assert.equal(p1.items.length, 4);
    assert.equal(typeof p1.next, 'string');
    const p2 = await list(as.policeMember, `?limit=4&cursor=${encodeURIComponent(p1.next)}`);
    assert.equal(p2.total, p1.total);
    assert.equal(p2.overdue_total, p1.overdue_total);
    const filtered = await allPages(as.cacMember, '?overdue=false', 2);
    assert.deepEqual(ids(filtered), ids((await list(as.cacMember, '?overdue=false')).items));
});

test('bad filters: 422 naming the parameter; no session: 401', async () => {
    const bad = [
        ['?status=late', 'status'],
        ['?status=,open', 'status'],
        ['?overdue=yes', 'overdue'],
        ['?assignee=you', 'assignee'],
        ['?assignee=0', 'assignee'],
        ['?case_id=-1', 'case_id'],
        ['?limit=0', 'limit'],
        ['?limit=501', 'limit'],
        ['?cursor=abc', 'cursor'],
        ['?cursor=2.2026-01-01.5', 'cursor'],
        ['?cursor=0.2026-02-30.5', 'cursor'],
        ['?cursor=0.-.0', 'cursor'],
    ];
    // not an integer at all: a wrong type (400), as everywhere in the API
    assertError(await as.cacMember.get('/api/v1/actions?agency_id=x'), 400, 'bad_request', 'agency_id');
    for (const [q, field] of bad) {
        const r = await as.cacMember.get(`/api/v1/actions${q}`);
        assert.equal(r.status, 422, q);
        assertError(r, 422, 'validation', field);
    }
    assertError(await as.cacMember.get('/api/v1/actions.csv?limit=10001'), 422, 'validation', 'limit');
    const anon = await fetch(`${server.url}/api/v1/actions`);
    assert.equal(anon.status, 401);
    const anonCsv = await fetch(`${server.url}/api/v1/actions.csv`);
    assert.equal(anonCsv.status, 401);
});


test('actions.csv: the same rows as CSV, a header row, CRLF, quoting and formula escaping', async () => {
    const r = await as.cacMember.get('/api/v1/actions.csv');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^text\/csv; charset=utf-8/);
    assert.match(
        r.headers.get('content-disposition'),
        new RegExp(`^attachment; filename="action-items-${todayIn(TZ)}\\.csv"$`),
    );
    assert.equal(r.headers.get('x-next-cursor'), null);
    // the raw cells, byte for byte
    assert.ok(r.text.includes(`,"'=HYPERLINK(""http://evil.example/?x"",""click me"")",`), r.text);
    assert.ok(r.text.includes(`,"Call DCF, then ""school""\nby Friday",`), r.text);
    assert.ok(!/(^|,)=/m.test(r.text), 'no cell starts with =');
    const rows = parseCsv(r.text);
    const [header, ...body] = rows;
    assert.deepEqual(header.slice(0, 8), ['id', 'case_id', 'case_number', 'alias', 'title', 'status', 'overdue', 'due_date']);
    for (const row of rows) assert.equal(row.length, header.length);
    const json = await list(as.cacMember);
    assert.deepEqual(body.map((row) => Number(row[0])), ids(json.items));
    const col = (name) => header.indexOf(name);
    for (const [k, row] of body.entries()) {
        const it = json.items[k];
        const title = it.title.startsWith('=') ? `'${it.title}` : it.title;
        assert.equal(row[col('title')], title);
        assert.equal(row[col('case_id')], String(it.case_id));
        assert.equal(row[col('alias')], it.alias);
        assert.equal(row[col('overdue')], String(it.overdue));
        assert.equal(row[col('due_date')], it.due_date ?? '');
        assert.equal(row[col('assignee_id')], it.assignee_id === null ? '' : String(it.assignee_id));
        assert.equal(row[col('status')], it.status);
    }
    assert.ok(!body.some((row) => row[col('title')] === 'police only'));
});

test('actions.csv: filters and pages like the list; the next cursor comes as a header', async () => {
    const r = await as.cacMember.get('/api/v1/actions.csv?overdue=true');
    const rows = parseCsv(r.text);
    assert.deepEqual(rows.slice(1).map((x) => Number(x[0])), [I.overdueOld.id, I.overdueNew.id]);
    const p1 = await as.cacMember.get('/api/v1/actions.csv?limit=3');
    assert.equal(parseCsv(p1.text).length, 4);
    const next = p1.headers.get('x-next-cursor');
    assert.ok(next);
    const p2 = await as.cacMember.get(`/api/v1/actions.csv?limit=10&cursor=${encodeURIComponent(next)}`);
    const all = [...parseCsv(p1.text).slice(1), ...parseCsv(p2.text).slice(1)].map((x) => Number(x[0]));
    assert.deepEqual(all, ids((await list(as.cacMember)).items));
    const empty = await as.hospitalMember.get('/api/v1/actions.csv');
    assert.equal(parseCsv(empty.text).length, 1, 'only the header row');
});

test('reads are audited with counts and filter names only', async () => {
    await list(as.cacSupervisor, `?agency_id=${w.agencies.cac}&status=open`);
    await as.cacSupervisor.get('/api/v1/actions.csv');
    await flushAudit(server);
    const rows = JSON.parse(
        await psql(
            dbUrl,
            `SELECT coalesce(json_agg(json_build_object('action', action, 'detail', detail) ORDER BY id), '[]')
               FROM audit WHERE user_id = ${w.users.cacSupervisor.userId} AND action IN ('action.list', 'action.export')`,
        ),
    );
    assert.ok(rows.length >= 2, JSON.stringify(rows));
    const listed = rows.filter((x) => x.action === 'action.list').at(-1);
    assert.deepEqual(listed.detail.filters, ['agency_id', 'status']);
    assert.equal(typeof listed.detail.count, 'number');
    assert.ok(rows.some((x) => x.action === 'action.export'));
    assert.ok(!JSON.stringify(rows).includes('HYPERLINK'));
});

// ---- a dashboard to work from (issue 14): due windows, lead/scope, sort,
// days_overdue, closed_by/closed_at, names, bulk changes --------------------
//
// A second world of its own: case X led by DCF with the CAC and the police,
// case Y led by the police with DCF, case Z led by the CAC with DCF. Due
// dates come from the clock; "this week" is Monday to Sunday in TZ.

let w2, X, Y, Z;
const as2 = {};
const J = {}; // items by name
const d2 = (n) => todayIn(TZ, n);
// Days from today to this week's Sunday (0 on a Sunday).
const toSunday = () => (7 - new Date(`${d2(0)}T12:00:00Z`).getUTCDay()) % 7;

// Called at the end of the file's before hook (hooks of one level may overlap).
async function setupWorld2() {
    w2 = await boardWorld(dbUrl);
    for (const key of Object.keys(w2.users)) as2[key] = await login(server.url, w2.users[key]);
    const a = w2.agencies;
    X = await createCase(server.url, dbUrl, { lead: w2.users.dcfSupervisor, agencies: [a.dcf, a.cac, a.police], alias: 'X.X.' });
    Y = await createCase(server.url, dbUrl, { lead: w2.users.policeSupervisor, agencies: [a.police, a.dcf], alias: 'Y.Y.' });
    Z = await createCase(server.url, dbUrl, { lead: w2.users.cacSupervisor, agencies: [a.cac, a.dcf], alias: 'Z.Z.' });
    const make = async (name, client, caseId, body) => {
        const r = await client.post(`/api/v1/cases/${caseId}/actions`, { title: name, ...body });
        assert.equal(r.status, 201, `${name}: ${r.text}`);
        J[name] = r.json;
    };
    const dcfMember = w2.users.dcfMember.userId;
    await make('dcfOverdue', as2.dcfMember, Y, { assignee_agency_id: a.dcf, assignee_id: dcfMember, due_date: d2(-3) });
    await make('dcfSunday', as2.dcfMember, Y, { assignee_agency_id: a.dcf, due_date: d2(toSunday()) });
    await make('dcfNextWeek', as2.dcfMember, X, { assignee_agency_id: a.dcf, assignee_id: dcfMember, due_date: d2(toSunday() + 1) });
    await make('dcfFar', as2.dcfMember, X, { assignee_agency_id: a.dcf, due_date: d2(30) });
    await make('policeOnX', as2.policeMember, X, { assignee_agency_id: a.police, assignee_id: w2.users.policeMember.userId, due_date: d2(0) });
    await make('policeOnY', as2.policeMember, Y, { assignee_agency_id: a.police, due_date: d2(toSunday() + 2) });
    await make('policeSecret', as2.policeMember, X, { assignee_agency_id: a.police, due_date: d2(-2), visibility: 'agency' });
    await make('cacOnZ', as2.cacMember, Z, { assignee_agency_id: a.cac, due_date: d2(-1) });
}

const names = (items) => items.map((i) => i.title);
const sorted = (xs) => [...xs].sort();

async function list2(client, query) {
    const r = await client.get(`/api/v1/actions${query}`);
    assert.equal(r.status, 200, `${query}: ${r.text}`);
    return r.json;
}

test('due windows from the clock: overdue, this week (Monday to Sunday), the next 14 days', async () => {
    const sup = as2.dcfSupervisor;
    // most overdue first
    assert.deepEqual(names((await list2(sup, '?due=overdue')).items), ['dcfOverdue', 'cacOnZ']);
    // this week: from today through Sunday; next Monday is not in it, whatever today is
    assert.deepEqual(sorted(names((await list2(sup, '?due=week')).items)), sorted(['dcfSunday', 'policeOnX']));
    assert.deepEqual(
        sorted(names((await list2(sup, '?due=14d')).items)),
        sorted(['dcfSunday', 'dcfNextWeek', 'policeOnX', 'policeOnY']),
    );
    // combined with the other filters
    assert.deepEqual(names((await list2(sup, `?due=14d&agency_id=${w2.agencies.police}&case_id=${Y}`)).items), ['policeOnY']);
});

test('days_overdue: whole days past due while open; null otherwise', async () => {
    const r = await list2(as2.dcfSupervisor, '');
    const by = Object.fromEntries(r.items.map((i) => [i.title, i]));
    assert.equal(by.dcfOverdue.days_overdue, 3);
    assert.equal(by.cacOnZ.days_overdue, 1);
    assert.equal(by.policeOnX.days_overdue, null, 'due today is not overdue');
    assert.equal(by.dcfFar.days_overdue, null);
    assert.equal(by.policeOnX.assignee_name, `policeMember ${w2.users.policeMember.username.split('_')[1]}`);
    assert.equal(typeof by.policeOnX.assignee_agency_name, 'string');
    assert.match(by.policeOnX.assignee_agency_name, /^police /);
    assert.equal(by.policeOnX.case_alias, 'X.X.');
    assert.match(by.policeOnX.case_number, /^T-/);
});

test('lead=mine, scope=supervisor (own agency or cases it leads), assignee_id', async () => {
    const sup = as2.dcfSupervisor;
    assert.deepEqual(sorted(names((await list2(sup, '?lead=mine')).items)), sorted(['dcfNextWeek', 'dcfFar', 'policeOnX']));
    assert.deepEqual(
        sorted(names((await list2(sup, '?scope=supervisor')).items)),
        sorted(['dcfOverdue', 'dcfSunday', 'dcfNextWeek', 'dcfFar', 'policeOnX']),
    );
    assert.deepEqual(
        sorted(names((await list2(sup, `?assignee_id=${w2.users.dcfMember.userId}`)).items)),
        sorted(['dcfOverdue', 'dcfNextWeek']),
    );
    // the police supervisor leads Y: its scope is the police's items and Y's
    assert.deepEqual(
        sorted(names((await list2(as2.policeSupervisor, '?scope=supervisor')).items)),
        sorted(['policeOnX', 'policeOnY', 'policeSecret', 'dcfOverdue', 'dcfSunday']),
    );
});

test('a filter never reveals an item the caller may not see', async () => {
    const queries = [
        '',
        '?lead=mine',
        '?scope=supervisor',
        `?agency_id=${w2.agencies.police}`,
        `?case_id=${X}`,
        `?assignee_id=${w2.users.policeMember.userId}`,
        '?due=overdue',
        '?due=week',
        '?due=14d',
        '?sort=agency&order=desc',
        `?status=open&case_id=${X}&agency_id=${w2.agencies.police}&due=overdue`,
    ];
    for (const who of ['dcfSupervisor', 'dcfMember', 'cacSupervisor']) {
        const all = new Set(ids((await list2(as2[who], '')).items));
        assert.ok(!all.has(J.policeSecret.id), `${who} must not see an agency-only item of the police`);
        for (const q of queries) {
            const r = await list2(as2[who], q);
            for (const it of r.items) assert.ok(all.has(it.id), `${who} ${q}: ${it.title}`);
            assert.equal(r.total, r.items.length, `${who} ${q}: total counts what is listed`);
        }
    }
    assert.deepEqual((await list2(as2.hospitalMember, '?scope=supervisor')).items, []);
});

test('sort and order: every column, both directions; sorted pages join up', async () => {
    const sup = as2.dcfSupervisor;
    const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
    const check = async (sort, key) => {
        for (const order of ['asc', 'desc']) {
            const r = await list2(sup, `?sort=${sort}&order=${order}`);
            const withKey = r.items.filter((i) => key(i) !== null);
            const keys = withKey.map(key);
            const want = [...keys].sort((p, q) => (order === 'asc' ? cmp(p, q) : cmp(q, p)));
            assert.deepEqual(keys, want, `${sort} ${order}`);
            // items without the key come last either way
            assert.deepEqual(r.items.slice(withKey.length).map(key).filter((k) => k !== null), [], `${sort} ${order}: nulls last`);
        }
    };
    await check('due', (i) => i.due_date);
    await check('case', (i) => i.case_number);
    await check('status', (i) => ['open', 'in_progress', 'done', 'cancelled'].indexOf(i.status));
    await check('assignee', (i) => i.assignee_name);
    await check('agency', (i) => i.assignee_agency_name);
    await check('closed', (i) => i.closed_at);
    const whole = (await list2(sup, '?sort=agency&order=desc')).items;
    const paged = [];
    let cursor = '';
    for (let n = 0; n < 20; n++) {
        const r = await list2(sup, `?sort=agency&order=desc&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        paged.push(...r.items);
        if (!r.next) break;
        assert.match(r.next, /^p\d+$/);
        cursor = encodeURIComponent(r.next);
    }
    assert.deepEqual(ids(paged), ids(whole));
});

test('closed_by and closed_at: set on done or cancelled, kept between them, cleared when reopened', async () => {
    const id = J.dcfFar.id;
    let r = await as2.dcfMember.patch(`/api/v1/actions/${id}`, { version: 1, status: 'done' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.closed_by, w2.users.dcfMember.userId);
    assert.equal(r.json.closed_by_name, `dcfMember ${w2.users.dcfMember.username.split('_')[1]}`);
    assert.match(r.json.closed_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const closedAt = r.json.closed_at;
    r = await as2.dcfSupervisor.patch(`/api/v1/actions/${id}`, { version: 2, status: 'cancelled' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.closed_by, w2.users.dcfMember.userId, 'kept: it was closed already');
    assert.equal(r.json.closed_at, closedAt);
    // the list shows it and sorts it first by closing
    const listed = await list2(as2.dcfSupervisor, '?sort=closed&order=desc');
    assert.equal(listed.items[0].id, id);
    assert.equal(listed.items[0].closed_by_name, r.json.closed_by_name);
    r = await as2.dcfSupervisor.patch(`/api/v1/actions/${id}`, { version: 3, status: 'in_progress' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.closed_by, null);
    assert.equal(r.json.closed_at, null);
    assert.equal(r.json.closed_by_name, null);
    // the history keeps who closed it, as the versions recorded it
    const hist = JSON.parse(
        await psql(dbUrl, `SELECT json_agg(json_build_object('v', version, 'by', data->'closed_by') ORDER BY version) FROM action_versions WHERE action_id = ${id}`),
    );
    assert.deepEqual(hist.map((h) => h.by), [null, w2.users.dcfMember.userId, w2.users.dcfMember.userId, null]);
});

test('migration 011 fills closed_by/closed_at from the version that closed an item last', async () => {
    const r = await as2.dcfMember.post(`/api/v1/cases/${Y}/actions`, { title: 'closed twice', assignee_agency_id: w2.agencies.dcf });
    assert.equal(r.status, 201, r.text);
    const id = r.json.id;
    const steps = [
        [as2.dcfMember, 'done'],
        [as2.dcfSupervisor, 'open'],
        [as2.dcfSupervisor, 'done'],
        [as2.dcfMember, 'cancelled'], // still closed: who closed it stays
    ];
    for (const [k, [client, st]] of steps.entries()) {
        const p = await client.patch(`/api/v1/actions/${id}`, { version: k + 1, status: st });
        assert.equal(p.status, 200, p.text);
    }
    const read = async () => psql(dbUrl, `SELECT closed_by || ' ' || closed_at FROM actions WHERE id = ${id}`);
    const served = await read();
    assert.match(served, new RegExp(`^${w2.users.dcfSupervisor.userId} `));
    // the migration's backfill, run again on this item with its columns emptied
    const sql = readFileSync(path.join(SOURCE_DIR, 'schema', '011_action_closed.sql'), 'utf8');
    const backfill = /^UPDATE actions a[\s\S]*?;$/m.exec(sql)?.[0];
    assert.ok(backfill, 'the backfill statement');
    await psql(dbUrl, `UPDATE actions SET closed_at = NULL, closed_by = NULL WHERE id = ${id}; ${backfill}`);
    assert.equal(await read(), served);
});

// Event and change-audit counts of every case of the second world.
async function counts2() {
    return Promise.all([X, Y, Z].map((c) => changeCounts(dbUrl, c)));
}

async function state(id) {
    return JSON.parse(await psql(dbUrl, `SELECT row_to_json(a) FROM (SELECT status, version, assignee_id, due_date FROM actions WHERE id = ${id}) a`));
}

test('bulk: every item changed in one transaction, audited and evented as a PATCH each', async () => {
    const before = await counts2();
    const r = await as2.dcfSupervisor.post('/api/v1/actions/bulk', {
        ids: [J.dcfSunday.id, J.dcfOverdue.id],
        set: { status: 'done' },
        versions: { [J.dcfOverdue.id]: J.dcfOverdue.version },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(ids(r.json.items), [J.dcfOverdue.id, J.dcfSunday.id].sort((p, q) => p - q));
    for (const it of r.json.items) {
        assert.equal(it.status, 'done');
        assert.equal(it.closed_by, w2.users.dcfSupervisor.userId);
        assert.equal(it.days_overdue, null);
    }
    const after = await counts2();
    assert.deepEqual(after[1], { events: before[1].events + 2, audit: before[1].audit + 2 });
    assert.deepEqual([after[0], after[2]], [before[0], before[2]]);
    const rows = JSON.parse(
        await psql(
            dbUrl,
            `SELECT json_agg(json_build_object('a', action, 'o', object_id, 'd', detail) ORDER BY id)
               FROM (SELECT * FROM audit WHERE case_id = ${Y} AND action = 'action.update' ORDER BY id DESC LIMIT 2) x`,
        ),
    );
    assert.deepEqual(sorted(rows.map((x) => Number(x.o))), sorted([J.dcfSunday.id, J.dcfOverdue.id]));
    for (const x of rows) assert.deepEqual([x.a, x.d.status, x.d.fields], ['action.update', 'done', ['status']]);
    // the same change as a bulk of assignee and due date
    const r2 = await as2.dcfSupervisor.post('/api/v1/actions/bulk', {
        ids: [J.dcfNextWeek.id],
        set: { assignee_id: w2.users.dcfSupervisor.userId, due_date: d2(2) },
    });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json.items[0].assignee_id, w2.users.dcfSupervisor.userId);
    assert.equal(r2.json.items[0].due_date, d2(2));
});

test('bulk is all or nothing: one item the caller may not change refuses the whole request', async () => {
    const sup = as2.dcfSupervisor;
    const watched = [J.policeOnX.id, J.policeOnY.id, J.cacOnZ.id, J.dcfNextWeek.id];
    const snap = async () => Promise.all(watched.map(state));
    const before = await counts2();
    const s0 = await snap();
    // policeOnX is on the case DCF leads (the lead supervisor may change it);
    // policeOnY is the police's on the police's case: 403, and policeOnX stays as it was
    let r = await sup.post('/api/v1/actions/bulk', { ids: [J.policeOnX.id, J.policeOnY.id], set: { status: 'done' } });
    assertError(r, 403, 'forbidden', 'ids');
    assert.match(r.json.error.message, new RegExp(`^action item ${J.policeOnY.id}: `));
    // an item the caller may not see: 404, as if it did not exist
    r = await sup.post('/api/v1/actions/bulk', { ids: [J.dcfNextWeek.id, J.policeSecret.id], set: { status: 'done' } });
    assertError(r, 404, 'not_found', 'ids');
    r = await sup.post('/api/v1/actions/bulk', { ids: [J.dcfNextWeek.id, 999999999], set: { status: 'done' } });
    assertError(r, 404, 'not_found', 'ids');
    // a stale version: 409 with the item as the caller sees it
    r = await sup.post('/api/v1/actions/bulk', {
        ids: [J.policeOnX.id, J.dcfNextWeek.id],
        set: { status: 'in_progress' },
        versions: { [J.dcfNextWeek.id]: 1 },
    });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.current.id, J.dcfNextWeek.id);
    // a check of the data: the assignee agency must be on the case (legal aid is on none)
    r = await sup.post('/api/v1/actions/bulk', { ids: [J.policeOnX.id, J.dcfNextWeek.id], set: { assignee_agency_id: w2.agencies.legal } });
    assertError(r, 422, 'validation', 'assignee_agency_id');
    assert.deepEqual(await snap(), s0, 'nothing changed');
    assert.deepEqual(await counts2(), before, 'no event, no audit row of a change');
    // the refused attempt is audited as denied
    await flushAudit(server);
    const denied = Number(
        await psql(dbUrl, `SELECT count(*) FROM audit WHERE user_id = ${w2.users.dcfSupervisor.userId} AND outcome = 'denied'`),
    );
    assert.ok(denied >= 2, `denied rows: ${denied}`);
});

test('bulk: bad requests are 422 (400 for a wrong type) naming the field, and change nothing', async () => {
    const sup = as2.dcfSupervisor;
    const id = J.policeOnX.id;
    const before = await counts2();
    const many = Array.from({ length: 201 }, (_, i) => i + 1);
    const cases = [
        [{ ids: [], set: { status: 'done' } }, 422, 'ids'],
        [{ ids: many, set: { status: 'done' } }, 422, 'ids'],
        [{ set: { status: 'done' } }, 422, 'ids'],
        [{ ids: [id] }, 422, 'set'],
        [{ ids: [id], set: {} }, 422, 'set'],
        [{ ids: [id], set: { title: 'x' } }, 422, 'set'],
        [{ ids: [id], set: { status: 'closed' } }, 422, 'status'],
        [{ ids: [id], set: { due_date: '2026-02-30' } }, 422, 'due_date'],
        [{ ids: [id], set: { status: 'done' }, versions: { 12345: 1 } }, 422, 'versions'],
        [{ ids: [id], set: { status: 'done' }, versions: { [id]: 0 } }, 422, 'versions'],
        [{ ids: ['x'], set: { status: 'done' } }, 400, 'ids'],
    ];
    for (const [body, status, field] of cases) {
        const r = await sup.post('/api/v1/actions/bulk', body);
        assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
        assert.equal(r.json.error.field, field, r.text);
    }
    assert.deepEqual(await counts2(), before);
});

test('actions.csv: names (case number, assignee, agencies, closed by/at, days overdue) and the same filters', async () => {
    const r = await as2.dcfSupervisor.get('/api/v1/actions.csv?scope=supervisor&sort=due');
    assert.equal(r.status, 200, r.text);
    const [header, ...body] = parseCsv(r.text);
    for (const col of ['case_number', 'assignee_name', 'assignee_agency_name', 'agency_name', 'closed_by_name', 'closed_at', 'days_overdue']) {
        assert.ok(header.includes(col), col);
    }
    const json = await list2(as2.dcfSupervisor, '?scope=supervisor&sort=due');
    assert.deepEqual(body.map((row) => Number(row[0])), ids(json.items));
    const col = (name) => header.indexOf(name);
    for (const [k, row] of body.entries()) {
        const it = json.items[k];
        assert.equal(row[col('case_number')], it.case_number);
        assert.equal(row[col('assignee_agency_name')], it.assignee_agency_name);
        assert.equal(row[col('assignee_name')], it.assignee_name ?? '');
        assert.equal(row[col('closed_by_name')], it.closed_by_name ?? '');
        assert.equal(row[col('closed_at')], it.closed_at ?? '');
        assert.equal(row[col('days_overdue')], it.days_overdue === null ? '' : String(it.days_overdue));
    }
    assert.ok(body.some((row) => row[col('closed_by_name')] !== ''), 'a closed item names who closed it');
    assert.ok(body.some((row) => /^police /.test(row[col('assignee_agency_name')])));
    const week = await as2.dcfSupervisor.get('/api/v1/actions.csv?due=week&status=open,in_progress');
    assert.deepEqual(
        parseCsv(week.text).slice(1).map((row) => Number(row[0])),
        ids((await list2(as2.dcfSupervisor, '?due=week&status=open,in_progress')).items),
    );
});

test('new bad filters: 422 naming the parameter', async () => {
    for (const [q, field] of [
        ['?due=tomorrow', 'due'],
        ['?lead=theirs', 'lead'],
        ['?scope=agency', 'scope'],
        ['?sort=title', 'sort'],
        ['?order=up', 'order'],
        ['?sort=due&cursor=1.-.5', 'cursor'],
        ['?sort=due&cursor=p0', 'cursor'],
        ['?cursor=p2', 'cursor'],
        ['?assignee_id=0', 'assignee_id'],
    ]) {
        assertError(await as2.dcfSupervisor.get(`/api/v1/actions${q}`), 422, 'validation', field);
        assertError(await as2.dcfSupervisor.get(`/api/v1/actions.csv${q}`), 422, 'validation', field);
    }
});
