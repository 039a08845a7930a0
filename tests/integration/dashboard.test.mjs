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
import { createDatabase, flushAudit, psql, startServer } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, createCase, login, todayIn } from './lib/board_fixtures.mjs';
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
    const { case_number, alias, ...rest } = r.items.find((i) => i.id === I.soon.id);
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
