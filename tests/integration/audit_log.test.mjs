// audit_log.test.mjs - the audit log for people (issue 15, item 7):
// GET /api/v1/audit's filters (agency_id, action exact or by prefix,
// outcome, until), names in its rows (display_name, agency_name and
// case_number only for a reader who may see the case), fold_reads (runs of
// routine reads by one user on one case become one row with a count and
// a time range; denied rows never fold; paging over folded rows), the CSV
// export (header, names, formula-safe cells, the same filters and the
// supervisor's redaction), 422 for bad parameters, and the audit row of
// the read naming filters, never their values. Rows are appended to the
// chain the way the server writes them (lib/auditchain.mjs) so each test
// knows exactly what the log holds for its own fresh user.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, flushAudit, psql, startServer } from './lib/harness.mjs';
import { appendAudit } from './lib/auditchain.mjs';
import { addUser } from './lib/fixtures.mjs';
import { BOARD_ENV, assertError, boardWorld, createCase, login } from './lib/board_fixtures.mjs';
import { DAY_MS, iso, today } from './lib/clock.mjs';
import { parseCsv } from './lib/csv.mjs';

let dbUrl;
let server;
let w; // boardWorld
let admin; // cac's admin: its agency is on the case
let caseId;
let otherCase; // a case cac is not on
let counter = 0;

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
    caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police] });
    otherCase = await createCase(server.url, dbUrl, { lead: w.users.dcfSupervisor, agencies: [w.agencies.legal] });
    admin = await login(server.url, w.users.cacAdmin);
});

after(async () => {
    if (server) await server.stop();
});

// A fresh user of agency (a board-world agency id) with its own name;
// resolves {id, username, agencyId, displayName}.
async function freshUser(agencyId, displayName = `Reader ${process.pid} ${++counter}`) {
    const username = `reader_${process.pid}_${++counter}`;
    const id = await addUser(dbUrl, { username, displayName, agencyId, role: 'member' });
    return { id, username, agencyId, displayName };
}

// Rows of user u, oldest first: [action, outcome, case_id, at?].
async function appendFor(u, rows) {
    await appendAudit(
        dbUrl,
        rows.map(([action, outcome, case_id, at]) => ({
            ...(at ? { at } : {}),
            user_id: u.id,
            username: u.username,
            agency_id: u.agencyId,
            address: '192.0.2.7',
            action,
            object_type: 'case',
            object_id: case_id ?? null,
            case_id: case_id ?? null,
            outcome,
            detail: {},
        })),
    );
    const ids = await psql(dbUrl, `SELECT string_agg(id::text, ',' ORDER BY id) FROM audit WHERE user_id = ${u.id}`);
    return ids.split(',').map(Number);
}

async function read(client, query) {
    const res = await client.get(`/api/v1/audit?${query}`);
    assert.equal(res.status, 200, res.text);
    return res.json;
}


// csvObjects(res) - the CSV answer as objects keyed by the header row.
function csvObjects(res) {
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type'), /^text\/csv; charset=utf-8/);
    assert.match(res.headers.get('content-disposition'), /^attachment; filename="audit-log\.csv"$/);
    const [header, ...rows] = parseCsv(res.text);
    return { header, rows: rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))) };
}

test('filters: agency, action exact and by prefix, outcome, until; rows carry names', async () => {
    const u = await freshUser(w.agencies.police, 'Dana Ruiz');
    const old = iso(Date.now() - 3 * DAY_MS);
    const ids = await appendFor(u, [
        ['meeting.read', 'ok', null, old],
        ['meeting.list', 'ok', null],
        ['case.read', 'denied', caseId],
        ['meetingx.read', 'ok', null],
        ['case.read', 'ok', caseId],
        ['case.read', 'ok', otherCase],
    ]);

    const all = await read(admin, `user_id=${u.id}`);
    assert.deepEqual(all.items.map((r) => r.id), [...ids].reverse());
    assert.ok(all.items.every((r) => r.display_name === 'Dana Ruiz'));
    const agencyName = await psql(dbUrl, `SELECT name FROM agencies WHERE id = ${w.agencies.police}`);
    assert.ok(all.items.every((r) => r.agency_name === agencyName));
    // case_number only for a case the reader's agency is on
    const caseNumber = await psql(dbUrl, `SELECT case_number FROM cases WHERE id = ${caseId}`);
    assert.deepEqual(
        all.items.filter((r) => r.case_id).map((r) => [r.case_id, r.case_number]),
        [
            [otherCase, null],
            [caseId, caseNumber],
            [caseId, caseNumber],
        ],
    );
    assert.ok(all.items.filter((r) => !r.case_id).every((r) => r.case_number === null));

    const prefix = await read(admin, `user_id=${u.id}&action=meeting.`);
    assert.deepEqual(prefix.items.map((r) => r.action), ['meeting.list', 'meeting.read']);
    const exact = await read(admin, `user_id=${u.id}&action=meeting.read`);
    assert.deepEqual(exact.items.map((r) => r.id), [ids[0]]);
    const denied = await read(admin, `user_id=${u.id}&outcome=denied`);
    assert.deepEqual(denied.items.map((r) => [r.action, r.outcome]), [['case.read', 'denied']]);
    const ok = await read(admin, `user_id=${u.id}&outcome=ok`);
    assert.equal(ok.items.length, 5);

    // agency_id: the acting user's agency
    const byAgency = await read(admin, `agency_id=${w.agencies.police}&action=meetingx.read`);
    assert.deepEqual(byAgency.items.map((r) => r.id), [ids[3]]);
    const otherAgency = await read(admin, `agency_id=${w.agencies.dcf}&user_id=${u.id}`);
    assert.deepEqual(otherAgency.items, []);

    // until: a date counts as the whole day; a time is exclusive
    const before = await read(admin, `user_id=${u.id}&until=${today(-2)}`);
    assert.deepEqual(before.items.map((r) => r.id), [ids[0]]);
    const untilTime = await read(admin, `user_id=${u.id}&until=${encodeURIComponent(old)}`);
    assert.deepEqual(untilTime.items, []);
    const window = await read(admin, `user_id=${u.id}&since=${today(-4)}&until=${today(-2)}&action=meeting.`);
    assert.deepEqual(window.items.map((r) => r.id), [ids[0]]);

    // an admin of an agency that is not on the case sees no case number
    const dcfAdmin = await login(server.url, {
        username: `dcfadmin_${process.pid}`,
        password: 'correct horse battery staple',
        userId: await addUser(dbUrl, { username: `dcfadmin_${process.pid}`, agencyId: w.agencies.dcf, role: 'admin' }),
    });
    const seen = await read(dcfAdmin, `user_id=${u.id}&case_id=${caseId}`);
    assert.equal(seen.items.length, 2);
    assert.ok(seen.items.every((r) => r.case_number === null && r.display_name === 'Dana Ruiz'));
    const theirs = await read(dcfAdmin, `user_id=${u.id}&case_id=${otherCase}`);
    assert.equal(theirs.items[0].case_number, await psql(dbUrl, `SELECT case_number FROM cases WHERE id = ${otherCase}`));
});

test('fold_reads: runs of routine reads by one user on one case fold; denied rows and other reads never do', async () => {
    const u = await freshUser(w.agencies.cac);
    const ids = await appendFor(u, [
        ['case.read', 'ok', caseId], // r1
        ['case.subscribe', 'ok', caseId], // r2
        ['service.list', 'ok', caseId], // r3
        ['case.read', 'denied', caseId], // r4
        ['case.read', 'ok', caseId], // r5
        ['case.read', 'ok', caseId], // r6
        ['pii.read', 'ok', caseId], // r7
        ['case.read', 'ok', otherCase], // r8
        ['case.read', 'ok', otherCase], // r9
        ['case.read', 'denied', otherCase], // r10
        ['case.read', 'denied', otherCase], // r11
    ]);
    const [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11] = ids;
    const at = Object.fromEntries((await read(admin, `user_id=${u.id}`)).items.map((r) => [r.id, r.at]));

    const folded = await read(admin, `user_id=${u.id}&fold_reads=true`);
    assert.equal(folded.next, null);
    assert.deepEqual(
        folded.items.map((r) => [r.id, r.count, r.first_id, r.outcome]),
        [
            [r11, 1, r11, 'denied'],
            [r10, 1, r10, 'denied'],
            [r9, 2, r8, 'ok'],
            [r7, 1, r7, 'ok'],
            [r6, 2, r5, 'ok'],
            [r4, 1, r4, 'denied'],
            [r3, 3, r1, 'ok'],
        ],
    );
    const big = folded.items.at(-1);
    assert.deepEqual(big.actions, ['service.list', 'case.subscribe', 'case.read']);
    assert.equal(big.at, at[r3]);
    assert.equal(big.first_at, at[r1]);
    assert.deepEqual(big.detail, {});
    assert.equal(big.display_name, u.displayName);
    // the counts cover every row exactly once
    assert.equal(folded.items.reduce((n, r) => n + r.count, 0), ids.length);

    // pages of folded rows: the cursor is the oldest row a page covers
    const p1 = await read(admin, `user_id=${u.id}&fold_reads=true&limit=3`);
    assert.deepEqual(p1.items.map((r) => r.id), [r11, r10, r9]);
    assert.equal(p1.next, String(r8));
    const p2 = await read(admin, `user_id=${u.id}&fold_reads=true&limit=3&cursor=${p1.next}`);
    assert.deepEqual(p2.items.map((r) => [r.id, r.count]), [
        [r7, 1],
        [r6, 2],
        [r4, 1],
    ]);
    const p3 = await read(admin, `user_id=${u.id}&fold_reads=true&limit=3&cursor=${p2.next}`);
    assert.deepEqual(p3.items.map((r) => [r.id, r.count]), [[r3, 3]]);
    assert.equal(p3.next, null);

    // with the outcome filter only denied rows remain, each on its own
    const denied = await read(admin, `user_id=${u.id}&fold_reads=true&outcome=denied`);
    assert.deepEqual(denied.items.map((r) => [r.id, r.count]), [
        [r11, 1],
        [r10, 1],
        [r4, 1],
    ]);
});

test('CSV: header, names, formula-safe cells, the same filters as JSON', async () => {
    const u = await freshUser(w.agencies.cac, '=HYPERLINK("http://x.invalid")');
    const ids = await appendFor(u, [
        ['case.read', 'ok', caseId],
        ['case.read', 'ok', caseId],
        ['case.read', 'denied', caseId],
        ['meeting.read', 'ok', null],
    ]);
    const res = await admin.get(`/api/v1/audit?user_id=${u.id}&format=csv`);
    const { header, rows } = csvObjects(res);
    assert.deepEqual(header, [
        'id', 'at', 'first_at', 'count', 'user_id', 'username', 'display_name', 'agency_id', 'agency_name', 'address',
        'action', 'actions', 'object_type', 'object_id', 'case_id', 'case_number', 'outcome', 'redacted', 'detail',
    ]);
    assert.deepEqual(rows.map((r) => Number(r.id)), [...ids].reverse());
    const json = await read(admin, `user_id=${u.id}`);
    for (const [i, r] of rows.entries()) {
        const j = json.items[i];
        assert.equal(r.display_name, `'=HYPERLINK("http://x.invalid")`, 'a formula is shown as text');
        assert.equal(r.agency_name, j.agency_name);
        assert.equal(r.username, u.username);
        assert.equal(r.case_number, j.case_number ?? '');
        assert.equal(r.outcome, j.outcome);
        assert.equal(r.count, '1');
        assert.equal(r.detail, '{}');
    }
    assert.match(res.text, /^id,at,first_at,count,/);
    assert.ok(res.text.includes(`"'=HYPERLINK(""http://x.invalid"")"`), 'the quotes of the cell are doubled');

    const denied = csvObjects(await admin.get(`/api/v1/audit?user_id=${u.id}&format=csv&outcome=denied`));
    assert.deepEqual(denied.rows.map((r) => Number(r.id)), [ids[2]]);
    const prefix = csvObjects(await admin.get(`/api/v1/audit?user_id=${u.id}&format=csv&action=meeting.`));
    assert.deepEqual(prefix.rows.map((r) => r.action), ['meeting.read']);
    const folded = csvObjects(await admin.get(`/api/v1/audit?user_id=${u.id}&format=csv&fold_reads=true`));
    assert.deepEqual(folded.rows.map((r) => [Number(r.id), r.count, r.actions]), [
        [ids[3], '1', 'meeting.read'],
        [ids[2], '1', 'case.read'],
        [ids[1], '2', 'case.read'],
    ]);
    assert.ok(folded.rows[2].first_at <= folded.rows[2].at);
    const paged = await admin.get(`/api/v1/audit?user_id=${u.id}&format=csv&limit=2`);
    assert.equal(csvObjects(paged).rows.length, 2);
    assert.equal(paged.headers.get('x-next-cursor'), String(ids[2]));

    // the export is audited as a read, with format csv and filter names only
    await flushAudit(server);
    const reads = await read(admin, `user_id=${w.users.cacAdmin.userId}&action=audit.read&limit=20`);
    const exp = reads.items.find((r) => r.detail.format === 'csv' && r.detail.filters.includes('action'));
    assert.ok(exp, 'the export with an action filter is audited');
    assert.deepEqual(exp.detail.filters, ['user_id', 'action']);
    assert.ok(!JSON.stringify(exp.detail).includes('meeting.'), 'the filter value is not in the audit row');
});

test("a supervisor's redaction holds in JSON and CSV, and it reads only with a case it leads", async () => {
    const author = w.users.policeMember;
    const hidden = Number(
        await psql(
            dbUrl,
            `INSERT INTO entries (case_id, kind, author_id, agency_id, body_md, body_html, visibility)
             VALUES (${caseId}, 'note', ${author.userId}, ${author.agencyId}, 'x', '<p>x</p>', 'agency') RETURNING id`,
        ),
    );
    await appendAudit(dbUrl, [
        {
            user_id: author.userId,
            username: author.username,
            agency_id: author.agencyId,
            action: 'entry.create',
            object_type: 'entry',
            object_id: hidden,
            case_id: caseId,
            outcome: 'ok',
            detail: { kind: 'note' },
        },
    ]);
    const sup = await login(server.url, w.users.cacSupervisor);
    const q = `case_id=${caseId}&user_id=${author.userId}&action=entry.create`;
    const json = await read(sup, q);
    assert.equal(json.items.length, 1);
    const [row] = json.items;
    assert.equal(row.redacted, true);
    assert.equal(row.object_id, null);
    assert.deepEqual(row.detail, {});
    assert.equal(row.case_number, await psql(dbUrl, `SELECT case_number FROM cases WHERE id = ${caseId}`));
    assert.equal(row.display_name, await psql(dbUrl, `SELECT display_name FROM users WHERE id = ${author.userId}`));

    const csv = csvObjects(await sup.get(`/api/v1/audit?${q}&format=csv`));
    assert.equal(csv.rows.length, 1);
    assert.equal(csv.rows[0].object_id, '');
    assert.equal(csv.rows[0].redacted, 'true');
    assert.equal(csv.rows[0].detail, '{}');
    assert.ok(!csv.rows.some((r) => r.object_id === String(hidden)));

    // the admin sees it unredacted
    const adm = await read(admin, q);
    assert.equal(adm.items[0].object_id, hidden);

    assertError(await sup.get('/api/v1/audit?format=csv'), 403, 'forbidden');
    assertError(await sup.get(`/api/v1/audit?case_id=${otherCase}&format=csv`), 403, 'forbidden');
    assertError(await sup.get(`/api/v1/audit?agency_id=${w.agencies.cac}`), 403, 'forbidden');
});

test('bad parameters: 422 naming the parameter', async () => {
    const bad = [
        ['action=Meeting.read', 'action'],
        ['action=.read', 'action'],
        ['action=meeting%25', 'action'],
        [`action=${'a'.repeat(65)}`, 'action'],
        ['outcome=maybe', 'outcome'],
        ['outcome=OK', 'outcome'],
        ['until=tomorrow', 'until'],
        ['until=2026-02-30', 'until'],
        ['fold_reads=yes', 'fold_reads'],
        ['format=xml', 'format'],
        ['limit=501', 'limit'],
        ['format=csv&limit=10001', 'limit'],
        ['agency_id=0', 'agency_id'],
    ];
    for (const [query, field] of bad) assertError(await admin.get(`/api/v1/audit?${query}`), 422, 'validation', field);
    assertError(await admin.get('/api/v1/audit?agency_id=x'), 400, 'bad_request', 'agency_id');
});

test('account changes name who made them', async () => {
    const created = await admin.post('/api/v1/admin/users', {
        username: `named_${process.pid}`,
        display_name: 'Named Newcomer',
        password: 'correct horse battery staple',
        agency_id: w.agencies.cac,
        role: 'member',
    });
    assert.equal(created.status, 201, created.text);
    const sup = await login(server.url, w.users.cacSupervisor);
    const res = await sup.get('/api/v1/account-changes?limit=5');
    assert.equal(res.status, 200, res.text);
    const row = res.json.items.find((r) => r.object_id === created.json.id);
    assert.equal(row.action, 'user.create');
    assert.equal(row.display_name, await psql(dbUrl, `SELECT display_name FROM users WHERE id = ${w.users.cacAdmin.userId}`));
    assert.equal(row.agency_name, await psql(dbUrl, `SELECT name FROM agencies WHERE id = ${w.agencies.cac}`));
});
