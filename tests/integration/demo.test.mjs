// demo.test.mjs - `mdtboard demo`: on an empty, migrated database it loads
// the demo installation in one transaction and prints the logins; a second
// run (or any database with an agency) is refused with exit 1 and changes
// nothing; the printed logins work: a demo user signs in and lists exactly
// its agency's cases, with the overdue items the demo promises; the police
// users must enrol MFA first; audit rows are written by "demo" and every
// change emitted its event.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { BIN, api, cliEnv, createDatabase, psql, startServer } from './lib/harness.mjs';

let dbUrl, server, logins, firstRun;

// demo(url) - runs `mdtboard demo`; resolves {code, stdout, stderr}.
function demo(url, args = []) {
    return new Promise((resolve) => {
        execFile(BIN, ['demo', ...args], { env: cliEnv(url) }, (err, stdout, stderr) => {
            resolve({ code: err ? err.code : 0, stdout, stderr });
        });
    });
}

// The login table: "username password role agency name".
function parseLogins(stdout) {
    const out = [];
    for (const line of stdout.split('\n')) {
        const m = /^(\S+)\s+(\S+)\s+(admin|supervisor|interviewer|member)\s+(.+)$/.exec(line);
        if (m) out.push({ username: m[1], password: m[2], role: m[3], agency: m[4].trim() });
    }
    return out;
}

async function signIn(user) {
    const client = api(server.url);
    const res = await client.post('/api/v1/login', { username: user.username, password: user.password });
    assert.equal(res.status, 200, `login ${user.username}: ${res.text}`);
    return { client, res };
}

const counts = async () =>
    psql(
        dbUrl,
        `SELECT (SELECT count(*) FROM agencies) || ',' || (SELECT count(*) FROM users) || ',' ||
                (SELECT count(*) FROM cases) || ',' || (SELECT count(*) FROM audit) || ',' ||
                (SELECT seq FROM ledger)`,
    );

before(async () => {
    dbUrl = await createDatabase();
    firstRun = await demo(dbUrl);
    logins = parseLogins(firstRun.stdout);
    server = await startServer({ dbUrl, env: { MDT_MFA_REQUIRED_KINDS: undefined, MDT_LOGIN_RATE: 100000 } });
});

after(async () => {
    if (server) await server.stop();
});

test('demo on an empty database loads the installation and prints the logins', async () => {
    assert.equal(firstRun.code, 0, firstRun.stderr);
    const roles = new Set(logins.map((l) => l.role));
    for (const r of ['admin', 'supervisor', 'interviewer', 'member']) assert.ok(roles.has(r), `a ${r} login`);
    for (const l of logins) assert.ok([...l.password].length >= 12, `${l.username}: password of 12+ characters`);
    assert.match(firstRun.stdout, /must enrol/i, 'says the police users must enrol MFA');
    const kinds = (await psql(dbUrl, 'SELECT kind FROM agencies ORDER BY kind')).split('\n');
    for (const k of ['cac', 'child_welfare', 'law_enforcement', 'prosecution', 'medical', 'mental_health', 'victim_advocacy', 'immigration_legal']) {
        assert.ok(kinds.includes(k), `an agency of kind ${k}`);
    }
    assert.equal(Number(await psql(dbUrl, 'SELECT count(*) FROM users')), logins.length);
    const towns = (await psql(dbUrl, 'SELECT DISTINCT municipality FROM cases ORDER BY 1')).split('\n');
    assert.deepEqual(towns, ['Bridgeport', 'Norwalk', 'Stamford']);
    assert.ok(Number(await psql(dbUrl, 'SELECT count(*) FROM cases')) >= 10);
    for (const table of ['entries', 'entry_versions', 'actions', 'action_versions', 'pii', 'pii_versions', 'consents', 'tracking', 'services']) {
        assert.ok(Number(await psql(dbUrl, `SELECT count(*) FROM ${table}`)) > 0, `${table} has rows`);
    }
    // consents: one active, one expired, one revoked (at least)
    const states = await psql(
        dbUrl,
        `SELECT count(*) FILTER (WHERE revoked_at IS NULL AND expires_at > now()) || ',' ||
                count(*) FILTER (WHERE revoked_at IS NULL AND expires_at <= now()) || ',' ||
                count(*) FILTER (WHERE revoked_at IS NOT NULL) FROM consents`,
    );
    for (const n of states.split(',').map(Number)) assert.ok(n >= 1, `consent states ${states}`);
    // Sealed at rest once loaded (docs/security.md): no body in plain text.
    assert.equal(await psql(dbUrl, "SELECT count(*) FROM entries WHERE body_md NOT LIKE 'mdtenc1:%' OR body_html NOT LIKE 'mdtenc1:%'"), '0');
    // Nor an interview's recording reference (its other facts stay clear).
    assert.equal(
        await psql(dbUrl, "SELECT count(*) FROM entries WHERE kind = 'interview' AND (interview->>'recording_ref' NOT LIKE 'mdtenc1:%' OR interview->>'disclosure' IS NULL)"),
        '0',
    );
    assert.ok(Number(await psql(dbUrl, "SELECT count(*) FROM entry_versions WHERE interview->>'recording_ref' LIKE 'mdtenc1:%'")) >= 1, 'the versions are sealed too');
    // Interviews only by interviewers (the rendering is read back through
    // the API by the last test: the bodies are sealed here)
    assert.equal(
        await psql(dbUrl, "SELECT count(*) FROM entries e JOIN users u ON u.id = e.author_id WHERE e.kind = 'interview' AND u.role <> 'interviewer'"),
        '0',
    );
});

test('every change wrote an audit row by "demo" and an event; the audit chain holds', async () => {
    const actors = await psql(dbUrl, 'SELECT DISTINCT username FROM audit');
    assert.equal(actors, 'demo');
    const auditCount = async (where) => Number(await psql(dbUrl, `SELECT count(*) FROM audit WHERE ${where}`));
    const eventCount = async (kind) => Number(await psql(dbUrl, `SELECT count(*) FROM events WHERE kind = '${kind}'`));
    for (const [action, kind] of [
        ['entry.create', 'entry.created'],
        ['action.create', 'action.created'],
        ['service.create', 'service.created'],
        ['tracking.update', 'tracking.updated'],
        ['pii.update', 'pii.updated'],
    ]) {
        const n = await auditCount(`action = '${action}'`);
        assert.ok(n > 0, `${action} audited`);
        assert.equal(await eventCount(kind), n, `${kind} for every ${action}`);
    }
    assert.equal(await eventCount('case.updated'), await auditCount("action IN ('case.create', 'case.update')"));
    const consentAudit = Number(await psql(dbUrl, "SELECT count(*) FROM audit WHERE action IN ('consent.create', 'consent.revoke')"));
    assert.equal(Number(await psql(dbUrl, "SELECT count(*) FROM events WHERE kind = 'consent.changed'")), consentAudit);
    // every event of a case has a case; seq is gapless
    assert.equal(await psql(dbUrl, 'SELECT count(*) = max(seq) FROM events'), 't');
    // the chain: each row's prev_hash is the previous row's hash
    const broken = await psql(dbUrl, 'SELECT count(*) FROM audit a JOIN audit b ON b.id = a.id - 1 WHERE a.prev_hash <> b.hash');
    assert.equal(broken, '0');
});

test('a second run is refused with exit 1 and changes nothing', async () => {
    const before = await counts();
    const again = await demo(dbUrl);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already has agencies/);
    assert.equal(again.stdout, '');
    assert.equal(await counts(), before);
});

test('demo refuses a database that is not migrated, and unknown flags', async () => {
    const bare = await createDatabase({ migrate: false });
    const res = await demo(bare);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /migrate/);
    const flag = await demo(bare, ['--force']);
    assert.equal(flag.code, 2);
    const help = await demo(bare, ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: mdtboard demo/);
});

test("a demo user signs in and lists exactly its agency's cases, overdue items counted", async () => {
    for (const username of ['cac.supervisor', 'dcf.worker', 'legalaid.attorney']) {
        const user = logins.find((l) => l.username === username);
        assert.ok(user, `${username} printed`);
        const { client } = await signIn(user);
        const res = await client.get('/api/v1/cases?limit=500');
        assert.equal(res.status, 200, res.text);
        const expected = (
            await psql(
                dbUrl,
                `SELECT ca.case_id FROM case_agencies ca JOIN users u ON u.agency_id = ca.agency_id
                 WHERE u.username = '${username}' ORDER BY 1 DESC`,
            )
        )
            .split('\n')
            .map(Number);
        assert.deepEqual(res.json.items.map((c) => c.id), expected);
        assert.ok(res.json.items.some((c) => c.overdue_actions > 0), `${username} sees an overdue item`);
        const board = await client.get(`/api/v1/cases/${expected[0]}`);
        assert.equal(board.status, 200, board.text);
    }
});

test('the police users sign in but must enrol MFA before they see any case', async () => {
    const user = logins.find((l) => l.username === 'spd.detective');
    assert.ok(user);
    const { client } = await signIn(user);
    const me = await client.get('/api/v1/me');
    assert.equal(me.json.mfa_required, true);
    const res = await client.get('/api/v1/cases');
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json.error.code, 'mfa_enrolment_required');
});

test('the demo board of case Heron shows each agency what it may see', async () => {
    const heron = Number(await psql(dbUrl, "SELECT id FROM cases WHERE alias = 'Heron'"));
    const board = async (username) => {
        const { client } = await signIn(logins.find((l) => l.username === username));
        const res = await client.get(`/api/v1/cases/${heron}`);
        assert.equal(res.status, 200, res.text);
        return res.json;
    };
    const cac = await board('cac.supervisor');
    assert.equal(cac.case.alias, 'Heron');
    assert.equal(cac.agencies.length, 8);
    assert.equal(cac.entries.length, 5, 'not the police-only note');
    assert.equal(cac.actions.length, 5);
    assert.equal(cac.actions.filter((a) => a.overdue).length, 2);
    assert.deepEqual(Object.keys(cac.pii).filter((k) => k !== 'version').sort(), ['contact', 'identity', 'language']);
    assert.equal(cac.consents.length, 3);
    assert.ok(cac.consents.some((c) => c.consented_by.some((p) => p.name)), 'names shown with identity');
    assert.ok(cac.tracking.abuse_types.includes('labor_trafficking'));
    assert.equal(cac.services.length, 4);

    const legal = await board('legalaid.attorney');
    assert.equal(legal.entries.length, 4, 'neither the police-only note nor the SA note for police and CAC');
    assert.deepEqual(Object.keys(legal.pii).filter((k) => k !== 'version').sort(), ['immigration', 'language']);
    assert.ok(legal.consents.every((c) => c.consented_by.every((p) => !p.name)), 'no names without identity');

    const mh = await board('coastal.therapist');
    assert.ok(!('health' in mh.pii), 'the health consent has expired');
    const va = await board('advocate');
    assert.ok(!('identity' in va.pii) && !('contact' in va.pii), 'the identity/contact consent was revoked');
});

test("the supervisors' default dashboard (their agency's items and the cases it leads) is not empty", async () => {
    // the web app's default for a supervisor (docs/web.md): scope=supervisor, open and in progress
    const query = '/api/v1/actions?scope=supervisor&status=open,in_progress';
    const { client: cac } = await signIn(logins.find((l) => l.username === 'cac.supervisor'));
    const mine = await cac.get(query);
    assert.equal(mine.status, 200, mine.text);
    const cacLeads = (await psql(dbUrl, "SELECT c.alias FROM cases c JOIN agencies a ON a.id = c.lead_agency_id WHERE a.kind = 'cac'")).split('\n');
    const aliases = new Set(mine.json.items.map((i) => i.case_alias));
    assert.ok(mine.json.items.length >= 5, `the CAC coordinator sees ${mine.json.items.length} items`);
    assert.ok([...aliases].some((a) => cacLeads.includes(a)), 'items of the cases the CAC leads');
    for (const it of mine.json.items) assert.equal(typeof it.assignee_agency_name, 'string');
    const { client: dcf } = await signIn(logins.find((l) => l.username === 'dcf.supervisor'));
    assert.ok((await dcf.get(query)).json.items.length > 0, 'the DCF supervisor too');
    // the demo's done item says who closed it and when
    const done = await cac.get('/api/v1/actions?status=done');
    assert.ok(done.json.items.length > 0);
    for (const it of done.json.items) {
        assert.equal(typeof it.closed_by_name, 'string');
        assert.match(it.closed_at, /^\d{4}-\d{2}-\d{2}T/);
    }
});

// Last, because its sign-in and reads add audit rows the tests above count.
test('the sealed demo reads back through the API: every entry rendered, nothing raw', async () => {
    const sup = logins.find((u) => u.username === 'cac.supervisor');
    const { client } = await signIn(sup);
    const cases = await client.get('/api/v1/cases');
    const refs = [];
    let read = 0;
    for (const c of cases.json.items) {
        const board = await client.get(`/api/v1/cases/${c.id}`);
        assert.equal(board.status, 200, board.text);
        for (const e of board.json.entries) {
            if (e.retracted_at) continue;
            assert.ok(e.body_html && !/<script/i.test(e.body_html), `entry ${e.id} rendered`);
            const ref = e.interview?.recording_ref;
            if (ref !== undefined) assert.ok(!ref.startsWith('mdtenc1:'), `entry ${e.id}: recording_ref opened`), refs.push(ref);
            read++;
        }
    }
    assert.ok(read > 0, 'entries read back');
    assert.ok(refs.includes('HCAC-REC-2026-0311'), `the seeded recording references read back: ${refs}`);
});
