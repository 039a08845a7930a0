// idempotency.test.mjs - Idempotency-Key on every POST that creates
// (entries, action items, services, consents, meetings, cases, agencies) against the
// real binary and PostgreSQL: a retry with the same key and body answers
// the first status and body byte for byte (with Idempotency-Replayed) and
// writes nothing (no object, no event, no audit row); the same key with
// another body or on another route is 422; an empty key or one over 255
// characters is 400; keys are per account; a failed create leaves its key
// free; ten identical requests at once make one object (also split
// between two nodes on one database); a key whose first
// request is still running (held on a row lock from psql) is 409; a key
// older than 24 h is purged (test hook) and may then be used again.
//
// The world (board_fixtures.mjs): a CAC-led case with the police and child
// welfare (DCF) on it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createDatabase, psql, sleep, startServer } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, createCase, login, todayIn } from './lib/board_fixtures.mjs';
import { addUser, DEFAULT_PASSWORD } from './lib/fixtures.mjs';

let dbUrl, server, w, caseId;
const as = {}; // logged-in clients by user key

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
    const username = `cacSupervisor2_${process.pid}`;
    const userId = await addUser(dbUrl, { username, agencyId: w.agencies.cac, role: 'supervisor' });
    w.users.cacSupervisor2 = { userId, agencyId: w.agencies.cac, username, password: DEFAULT_PASSWORD };
    const admin2 = `policeAdmin_${process.pid}`;
    const admin2Id = await addUser(dbUrl, { username: admin2, agencyId: w.agencies.police, role: 'admin' });
    w.users.policeAdmin = { userId: admin2Id, agencyId: w.agencies.police, username: admin2, password: DEFAULT_PASSWORD };
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);
    const a = w.agencies;
    caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [a.cac, a.police, a.dcf] });
});

after(async () => {
    // 0: a clean exit (under --sanitize also no leak or error report)
    if (server) assert.equal(await server.stop(), 0);
});

const isoIn = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');
let serial = 0;
const uniq = (s) => `${s} ${process.pid}-${++serial}`;

// Every create route: who posts, who else (another account), a fresh valid
// body (and the other account's version of it where a name must be unique),
// the audit action its create writes (its object type before the dot), how
// many events it emits, and the table of its objects.
const ROUTES = {
    entry: {
        path: () => `/api/v1/cases/${caseId}/entries`,
        by: 'cacMember',
        other: 'cacSupervisor',
        body: () => ({ kind: 'note', body_md: uniq('retried note'), visibility: 'mdt' }),
        audit: 'entry.create',
        table: 'entries',
    },
    action: {
        path: () => `/api/v1/cases/${caseId}/actions`,
        by: 'cacMember',
        other: 'cacSupervisor',
        body: () => ({ title: uniq('call the school'), assignee_agency_id: w.agencies.cac, due_date: todayIn('America/New_York', 7) }),
        audit: 'action.create',
        table: 'actions',
    },
    service: {
        path: () => `/api/v1/cases/${caseId}/services`,
        by: 'cacMember',
        other: 'cacSupervisor',
        body: () => ({ date: todayIn('America/New_York'), category: 'personal_advocacy', service: uniq('court prep'), minutes: 30 }),
        audit: 'service.create',
        table: 'services',
    },
    consent: {
        path: () => `/api/v1/cases/${caseId}/consents`,
        by: 'cacMember',
        other: 'cacSupervisor',
        body: () => ({
            categories: ['contact'],
            agency_id: w.agencies.police,
            consented_by: [{ role: 'guardian', name: 'A. Guardian' }],
            purpose: uniq('school safety plan'),
            signed_on: todayIn('America/New_York'),
            expires_at: isoIn(30 * 86400000),
        }),
        audit: 'consent.create',
        table: 'consents',
    },
    meeting: {
        path: () => '/api/v1/meetings',
        by: 'cacSupervisor',
        other: 'cacSupervisor2',
        body: () => ({ title: uniq('weekly review'), scheduled_at: isoIn(86400000), case_ids: [caseId] }),
        audit: 'meeting.create',
        table: 'meetings',
    },
    case: {
        path: () => '/api/v1/cases',
        by: 'cacSupervisor',
        other: 'policeSupervisor',
        body: () => ({
            case_number: uniq('IDEM'),
            alias: 'R.T.',
            referral_date: todayIn('America/New_York', -3),
            agencies: [w.agencies.cac, w.agencies.police],
        }),
        otherBody: (b) => ({ ...b, case_number: uniq('IDEM') }),
        audit: 'case.create',
        table: 'cases',
    },
    agency: {
        path: () => '/api/v1/admin/agencies',
        by: 'cacAdmin',
        other: 'policeAdmin',
        body: () => ({ name: uniq('Agency'), kind: 'other' }),
        otherBody: (b) => ({ ...b, name: uniq('Agency') }),
        audit: 'agency.create',
        events: 0,
        table: 'agencies',
    },
};

const post = (who, route, body, key) =>
    as[who].post(route.path(), body, key === undefined ? {} : { headers: { 'Idempotency-Key': key } });

async function rows(table) {
    return Number(await psql(dbUrl, `SELECT count(*) FROM ${table}`));
}

// Change rows written for one created object: its events and create audit rows.
async function changesOf(route, id) {
    const type = route.audit.split('.')[0];
    const out = await psql(
        dbUrl,
        `SELECT (SELECT count(*) FROM events WHERE object_type = '${type}' AND object_id = ${Number(id)}) || ',' ||
                (SELECT count(*) FROM audit WHERE action = '${route.audit}' AND object_id = ${Number(id)})`,
    );
    const [events, audit] = out.split(',').map(Number);
    return { events, audit };
}

for (const [name, route] of Object.entries(ROUTES)) {
    test(`${name}: a retry with the same key answers the first status and body and creates nothing`, async () => {
        const key = randomUUID();
        const body = route.body();
        const before = await rows(route.table);
        const first = await post(route.by, route, body, key);
        assert.equal(first.status, 201, first.text);
        assert.equal(first.headers.get('idempotency-replayed'), null);
        for (let i = 0; i < 2; i++) {
            const again = await post(route.by, route, body, key);
            assert.equal(again.status, 201, again.text);
            assert.equal(again.text, first.text, 'the replay is the first answer, byte for byte');
            assert.equal(again.headers.get('idempotency-replayed'), 'true');
            assert.match(again.headers.get('content-type'), /^application\/json/);
        }
        assert.equal(await rows(route.table), before + 1, 'one object');
        assert.deepEqual(await changesOf(route, first.json.id), { events: route.events ?? 1, audit: 1 }, 'one event and one audit row');
    });

    test(`${name}: the same key with another body is 422; empty and 256-character keys are 400`, async () => {
        const key = randomUUID();
        const first = await post(route.by, route, route.body(), key);
        assert.equal(first.status, 201, first.text);
        const before = await rows(route.table);
        assertError(await post(route.by, route, route.body(), key), 422, 'validation');
        assertError(await post(route.by, route, route.body(), ''), 400, 'bad_request');
        assertError(await post(route.by, route, route.body(), 'k'.repeat(256)), 400, 'bad_request');
        assert.equal(await rows(route.table), before, 'nothing written');
        const longest = await post(route.by, route, route.body(), randomUUID().padEnd(255, 'k'));
        assert.equal(longest.status, 201, `a 255-character key is fine: ${longest.text}`);
        const none = await post(route.by, route, route.body());
        assert.equal(none.status, 201, `no key: a plain create: ${none.text}`);
    });

    test(`${name}: another account with the same key creates its own`, async () => {
        const key = randomUUID();
        const body = route.body();
        const mine = await post(route.by, route, body, key);
        assert.equal(mine.status, 201, mine.text);
        const before = await rows(route.table);
        const theirs = await post(route.other, route, route.otherBody ? route.otherBody(body) : body, key);
        assert.equal(theirs.status, 201, theirs.text);
        assert.equal(theirs.headers.get('idempotency-replayed'), null);
        assert.notEqual(theirs.json.id, mine.json.id);
        assert.equal(await rows(route.table), before + 1);
    });

    test(`${name}: ten identical requests at once make exactly one object`, async (t) => {
        const key = randomUUID();
        const body = route.body();
        const before = await rows(route.table);
        const answers = await Promise.all(Array.from({ length: 10 }, () => post(route.by, route, body, key)));
        const created = answers.filter((r) => r.status === 201);
        t.diagnostic(`answers: ${answers.map((r) => r.status).join(' ')}`);
        assert.ok(created.length >= 1, answers.map((r) => r.status).join(','));
        for (const r of answers) {
            if (r.status === 201) assert.equal(r.text, created[0].text);
            else assertError(r, 409, 'conflict');
        }
        assert.equal(await rows(route.table), before + 1, 'exactly one object');
        assert.deepEqual(await changesOf(route, created[0].json.id), { events: route.events ?? 1, audit: 1 });
        const later = await post(route.by, route, body, key);
        assert.equal(later.status, 201);
        assert.equal(later.text, created[0].text);
    });
}

test('a failed create leaves its key free: the corrected request with the same key creates', async () => {
    const route = ROUTES.entry;
    const key = randomUUID();
    const before = await rows(route.table);
    assertError(await post('cacMember', route, { kind: 'note', body_md: 'x', visibility: 'everyone' }, key), 422, 'validation', 'visibility');
    assertError(await post('hospitalMember', route, route.body(), key), 404, 'not_found');
    const fixed = await post('cacMember', route, route.body(), key);
    assert.equal(fixed.status, 201, fixed.text);
    assert.equal(fixed.headers.get('idempotency-replayed'), null);
    assert.equal(await rows(route.table), before + 1);
});

test('a key is bound to its route: the same key and body on another route is 422', async () => {
    const key = randomUUID();
    const body = ROUTES.service.body();
    assert.equal((await post('cacMember', ROUTES.service, body, key)).status, 201);
    const other = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.cac] });
    const res = await as.cacMember.post(`/api/v1/cases/${other}/services`, body, { headers: { 'Idempotency-Key': key } });
    assertError(res, 422, 'validation');
});

test('a key sent as a Structured Field string ("...") is the same key as the bare token', async () => {
    const key = randomUUID();
    const body = ROUTES.entry.body();
    const first = await post('cacMember', ROUTES.entry, body, `"${key}"`);
    assert.equal(first.status, 201, first.text);
    const again = await post('cacMember', ROUTES.entry, body, key);
    assert.equal(again.headers.get('idempotency-replayed'), 'true');
    assert.equal(again.text, first.text);
    assertError(await post('cacMember', ROUTES.entry, ROUTES.entry.body(), '""'), 400, 'bad_request');
    assertError(await post('cacMember', ROUTES.entry, ROUTES.entry.body(), 'caf\u00e9'), 400, 'bad_request');
});

test('the OpenAPI document names the header on the creates only', async () => {
    const doc = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
    const names = (op) => op.parameters.map((p) => `${p.in}:${p.name}`);
    for (const path of ['/api/v1/cases/{id}/entries', '/api/v1/meetings', '/api/v1/cases', '/api/v1/admin/agencies']) {
        assert.ok(names(doc.paths[path].post).includes('header:Idempotency-Key'), path);
    }
    assert.ok(!names(doc.paths['/api/v1/render'].post).includes('header:Idempotency-Key'));
});

test('other POSTs ignore the header: /render answers as always', async () => {
    const res = await as.cacMember.post('/api/v1/render', { body_md: '*x*' }, { headers: { 'Idempotency-Key': '' } });
    assert.equal(res.status, 200, res.text);
});

// A psql session holding the ledger row lock, which every create needs for
// its event: a create that got that far waits until release().
async function holdLedger() {
    const bin = existsSync('/usr/lib/postgresql/15/bin/psql') ? '/usr/lib/postgresql/15/bin/psql' : 'psql';
    const p = spawn(bin, ['-X', '-q', '-tA', '-d', dbUrl], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stdin.write("BEGIN;\nSELECT 'held' FROM ledger FOR UPDATE;\n");
    for (let i = 0; !out.includes('held'); i++) {
        assert.ok(i < 500, 'psql took the ledger lock');
        await sleep(20);
    }
    return {
        async release() {
            p.stdin.end('ROLLBACK;\n');
            await new Promise((resolve) => p.on('close', resolve));
        },
    };
}

// Waits until some backend of our database waits for a lock.
async function waitForLockWaiter() {
    for (let i = 0; ; i++) {
        const n = Number(
            await psql(
                dbUrl,
                `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            ),
        );
        if (n > 0) return;
        assert.ok(i < 500, 'the first request reached the lock');
        await sleep(20);
    }
}

test('a key whose first request is still running is 409; once it is done, the retry replays', async () => {
    const route = ROUTES.entry;
    const key = randomUUID();
    const body = route.body();
    const before = await rows(route.table);
    const lock = await holdLedger();
    let first;
    try {
        first = post('cacMember', route, body, key);
        await waitForLockWaiter();
        assertError(await post('cacMember', route, body, key), 409, 'conflict');
        assertError(await post('cacMember', route, route.body(), key), 409, 'conflict');
    } finally {
        await lock.release();
    }
    const done = await first;
    assert.equal(done.status, 201, done.text);
    const again = await post('cacMember', route, body, key);
    assert.equal(again.text, done.text);
    assert.equal(again.headers.get('idempotency-replayed'), 'true');
    assert.equal(await rows(route.table), before + 1);
});

test('keys live 24 hours: an older one is purged, then the key creates anew', async () => {
    const route = ROUTES.entry;
    const [oldKey, freshKey] = [randomUUID(), randomUUID()];
    const body = route.body();
    const first = await post('cacMember', route, body, oldKey);
    assert.equal(first.status, 201);
    assert.equal((await post('cacMember', route, route.body(), freshKey)).status, 201);
    const stored = (k) => psql(dbUrl, `SELECT count(*) FROM idempotency WHERE key = '${k}'`).then(Number);
    assert.equal(await stored(oldKey), 1);
    await psql(dbUrl, `UPDATE idempotency SET created_at = now() - interval '23 hours 59 minutes' WHERE key = '${oldKey}'`);
    let purge = await as.cacMember.post('/api/v1/_test/idem-purge', '');
    assert.equal(purge.status, 200, purge.text);
    assert.equal(await stored(oldKey), 1, 'still within 24 h');
    await psql(dbUrl, `UPDATE idempotency SET created_at = now() - interval '24 hours 1 minute' WHERE key = '${oldKey}'`);
    purge = await as.cacMember.post('/api/v1/_test/idem-purge', '');
    assert.equal(purge.status, 200, purge.text);
    assert.ok(purge.json.deleted >= 1, purge.text);
    assert.equal(await stored(oldKey), 0, 'purged');
    assert.equal(await stored(freshKey), 1, 'a fresh key stays');
    const again = await post('cacMember', route, body, oldKey);
    assert.equal(again.status, 201, again.text);
    assert.notEqual(again.json.id, first.json.id, 'a new create, not a replay');
});

test('an expired key that no purge removed yet is not replayed', async () => {
    const route = ROUTES.entry;
    const key = randomUUID();
    const body = route.body();
    const first = await post('cacMember', route, body, key);
    await psql(dbUrl, `UPDATE idempotency SET created_at = now() - interval '25 hours' WHERE key = '${key}'`);
    const again = await post('cacMember', route, body, key);
    assert.equal(again.status, 201, again.text);
    assert.notEqual(again.json.id, first.json.id);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM idempotency WHERE key = '${key}'`), '1');
});

test('two nodes on one database: ten requests with one key, split between them, make one object', async (t) => {
    const node2 = await startServer({ dbUrl, env: BOARD_ENV });
    try {
        const there = await login(node2.url, w.users.cacMember);
        const route = ROUTES.entry;
        const key = randomUUID();
        const body = route.body();
        const before = await rows(route.table);
        const send = (i) => (i % 2 ? there.post(route.path(), body, { headers: { 'Idempotency-Key': key } }) : post('cacMember', route, body, key));
        const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i)));
        t.diagnostic(`answers: ${answers.map((r) => r.status).join(' ')}`);
        const created = answers.filter((r) => r.status === 201);
        assert.ok(created.length >= 1);
        for (const r of answers) {
            if (r.status === 201) assert.equal(r.text, created[0].text);
            else assertError(r, 409, 'conflict');
        }
        assert.equal(await rows(route.table), before + 1);
        const later = await there.post(route.path(), body, { headers: { 'Idempotency-Key': key } });
        assert.equal(later.text, created[0].text, 'the other node replays it too');
    } finally {
        assert.equal(await node2.stop(), 0);
    }
});
