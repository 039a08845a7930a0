// identity_admin.test.mjs - the admin API, the directory, account changes
// and the audit log, against the real binary and a real PostgreSQL:
// bootstrapping an admin with the command line, admin-only routes, CSRF,
// agencies and users (201, 422 with `field`, 409 on duplicates and stale
// versions), deactivation ending sessions at once, one-time passwords, MFA
// resets, /account-changes for the target agency's supervisors only, the
// audit reader (order, paging, filters, supervisors and redaction) and the
// audit hash chain (`mdtboard audit verify` against a tampered row).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { api, BIN, cliEnv, createDatabase, flushAudit, psql, startServer } from './lib/harness.mjs';
import { appendAudit } from './lib/auditchain.mjs';
import { today } from './lib/clock.mjs';

const PASSWORD = 'correct horse battery staple';
const ENV = { MDT_LOGIN_RATE: 100000 };

let dbUrl;
let server;
let admin; // {client, userId, agencyId}

// cli(url, args, input) - runs mdtboard; resolves {code, stdout, stderr}.
function cli(url, args, input = '') {
    return new Promise((resolve) => {
        const child = execFile(BIN, args, { env: cliEnv(url) }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
        );
        child.stdin.on('error', () => {}); // the command may exit before reading
        child.stdin.end(input);
    });
}

async function cliId(url, args, input) {
    const r = await cli(url, args, input);
    assert.equal(r.code, 0, `mdtboard ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^\d+\n$/);
    return Number(r.stdout);
}

let counter = 0;
const unique = (p) => `${p}${process.pid}_${++counter}`;

function assertError(res, status, code, field) {
    assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
    assert.equal(res.json?.error?.code, code, res.text);
    assert.equal(typeof res.json.error.message, 'string');
    if (field !== undefined) assert.equal(res.json.error.field, field, res.text);
}

async function login(username, password = PASSWORD) {
    const client = api(server.url);
    const res = await client.post('/api/v1/login', { username, password });
    return { client, res };
}

async function loginOk(username, password = PASSWORD) {
    const { client, res } = await login(username, password);
    assert.equal(res.status, 200, res.text);
    return client;
}

// newAgency / newUser through the admin API.
async function newAgency(kind = 'cac') {
    const res = await admin.client.post('/api/v1/admin/agencies', { name: unique('Agency '), kind });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

async function newUser(agencyId, role = 'member', extra = {}) {
    const username = unique('user');
    const res = await admin.client.post('/api/v1/admin/users', {
        username,
        display_name: `Name of ${username}`,
        password: PASSWORD,
        agency_id: agencyId,
        role,
        ...extra,
    });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: ENV });
    const agencyId = await cliId(dbUrl, ['agency', 'add', '--name', 'Admin Agency', '--kind', 'cac']);
    const username = unique('admin');
    const userId = await cliId(
        dbUrl,
        ['user', 'add', '--username', username, '--display-name', 'The Admin', '--agency-id', String(agencyId), '--role', 'admin', '--password-stdin'],
        `${PASSWORD}\n`,
    );
    admin = { client: await loginOk(username), userId, agencyId, username };
});

after(async () => {
    if (server) await server.stop();
});

// ---- bootstrap, directory -------------------------------------------------------

test('bootstrap: the admin made with the command line signs in and sees itself', async () => {
    const me = await admin.client.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.id, admin.userId);
    assert.equal(me.json.user.role, 'admin');
    assert.equal(me.json.user.agency_id, admin.agencyId);
});

test('directory: every user lists agencies and the active users of an agency', async () => {
    const agency = await newAgency('medical');
    const m = await newUser(agency.id, 'member');
    const gone = await newUser(agency.id, 'interviewer');
    const off = await admin.client.patch(`/api/v1/admin/users/${gone.id}`, { active: false, version: gone.version });
    assert.equal(off.status, 200, off.text);

    const member = await loginOk(m.username);
    const agencies = await member.get('/api/v1/agencies');
    assert.equal(agencies.status, 200, agencies.text);
    assert.equal(agencies.json.next, null);
    const mine = agencies.json.items.find((a) => a.id === agency.id);
    assert.deepEqual(mine, { id: agency.id, name: agency.name, kind: 'medical', active: true });

    const users = await member.get(`/api/v1/users?agency_id=${agency.id}`);
    assert.equal(users.status, 200, users.text);
    assert.deepEqual(users.json, {
        items: [{ id: m.id, display_name: m.display_name, agency_id: agency.id, role: 'member' }],
        next: null,
    });
    const all = await member.get('/api/v1/users?limit=1');
    assert.equal(all.json.items.length, 1);
    assert.equal(typeof all.json.next, 'string');
    const page2 = await member.get(`/api/v1/users?limit=1&cursor=${all.json.next}`);
    assert.equal(page2.status, 200, page2.text);
    assert.ok(page2.json.items[0].id > all.json.items[0].id);

    assertError(await member.get('/api/v1/users?agency_id=abc'), 400, 'bad_request', 'agency_id');
    assertError(await member.get('/api/v1/users?limit=501'), 422, 'validation', 'limit');
    assertError(await api(server.url).get('/api/v1/agencies'), 401, 'unauthenticated');
});

// ---- who may ----------------------------------------------------------------------

test('admin-only routes refuse a member (and a supervisor) with 403 forbidden', async () => {
    const agency = await newAgency();
    for (const role of ['member', 'supervisor']) {
        const u = await newUser(agency.id, role);
        const c = await loginOk(u.username);
        assertError(await c.get('/api/v1/admin/users'), 403, 'forbidden');
        assertError(await c.get('/api/v1/admin/agencies'), 403, 'forbidden');
        assertError(await c.post('/api/v1/admin/agencies', { name: unique('X'), kind: 'cac' }), 403, 'forbidden');
        assertError(await c.patch(`/api/v1/admin/agencies/${agency.id}`, { active: false }), 403, 'forbidden');
        assertError(
            await c.post('/api/v1/admin/users', { username: unique('x'), display_name: 'X', password: PASSWORD, agency_id: agency.id, role: 'admin' }),
            403,
            'forbidden',
        );
        assertError(await c.patch(`/api/v1/admin/users/${u.id}`, { role: 'admin', version: u.version }), 403, 'forbidden');
        assertError(await c.post(`/api/v1/admin/users/${u.id}/reset-mfa`, {}), 403, 'forbidden');
        assertError(await c.post(`/api/v1/admin/users/${u.id}/reset-password`, {}), 403, 'forbidden');
        assertError(await c.get('/api/v1/audit'), 403, 'forbidden');
    }
    // nothing changed
    const list = await admin.client.get(`/api/v1/admin/users?agency_id=${agency.id}`);
    assert.ok(list.json.items.every((u) => u.role !== 'admin'));
});

test('CSRF: an admin POST or PATCH without X-CSRF-Token is 403 csrf and changes nothing', async () => {
    const name = unique('NoCsrf ');
    assertError(await admin.client.post('/api/v1/admin/agencies', { name, kind: 'cac' }, { csrf: false }), 403, 'csrf');
    assertError(
        await admin.client.post('/api/v1/admin/agencies', { name, kind: 'cac' }, { headers: { 'X-CSRF-Token': 'f'.repeat(64) } }),
        403,
        'csrf',
    );
    const agency = await newAgency();
    assertError(await admin.client.patch(`/api/v1/admin/agencies/${agency.id}`, { active: false }, { csrf: false }), 403, 'csrf');
    const list = await admin.client.get('/api/v1/admin/agencies');
    assert.ok(!list.json.items.some((a) => a.name === name));
    assert.equal(list.json.items.find((a) => a.id === agency.id).active, true);
});

// ---- agencies ---------------------------------------------------------------------

test('agencies: create 201; 422 with field; 409 on a duplicate name with error.current', async () => {
    const name = unique('Hospital ');
    const res = await admin.client.post('/api/v1/admin/agencies', { name, kind: 'medical' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json, { ...res.json, name, kind: 'medical', active: true, version: 1 });
    assert.ok(Number.isInteger(res.json.id));

    const c = admin.client;
    assertError(await c.post('/api/v1/admin/agencies', { kind: 'medical' }), 422, 'validation', 'name');
    assertError(await c.post('/api/v1/admin/agencies', { name: '', kind: 'medical' }), 422, 'validation', 'name');
    assertError(await c.post('/api/v1/admin/agencies', { name: 'x'.repeat(201), kind: 'medical' }), 422, 'validation', 'name');
    assertError(await c.post('/api/v1/admin/agencies', { name: unique('A'), kind: 'hospital' }), 422, 'validation', 'kind');
    assertError(await c.post('/api/v1/admin/agencies', { name: unique('A') }), 422, 'validation', 'kind');
    assertError(await c.post('/api/v1/admin/agencies', { name: 7, kind: 'cac' }), 400, 'bad_request', 'name');

    const dup = await c.post('/api/v1/admin/agencies', { name: name.toUpperCase(), kind: 'cac' });
    assertError(dup, 409, 'conflict');
    assert.equal(dup.json.error.current.id, res.json.id);
    assert.equal(dup.json.error.current.name, name);
});

test('agencies: PATCH renames and deactivates; a stale version is 409 with error.current; kind never changes', async () => {
    const a = await newAgency('victim_advocacy');
    const c = admin.client;
    const renamed = await c.patch(`/api/v1/admin/agencies/${a.id}`, { name: `${a.name} (renamed)`, version: a.version });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.json.name, `${a.name} (renamed)`);
    assert.equal(renamed.json.version, a.version + 1);

    const stale = await c.patch(`/api/v1/admin/agencies/${a.id}`, { active: false, version: a.version });
    assertError(stale, 409, 'conflict');
    assert.deepEqual(stale.json.error.current, renamed.json);

    const other = await newAgency();
    assertError(await c.patch(`/api/v1/admin/agencies/${a.id}`, { name: other.name }), 409, 'conflict');
    assertError(await c.patch(`/api/v1/admin/agencies/${a.id}`, { kind: 'cac' }), 422, 'validation', 'kind');
    assertError(await c.patch(`/api/v1/admin/agencies/${a.id}`, { active: 'no' }), 400, 'bad_request', 'active');
    assertError(await c.patch('/api/v1/admin/agencies/999999', { active: false }), 404, 'not_found');
    assertError(await c.patch(`/api/v1/admin/agencies/${admin.agencyId}`, { active: false }), 422, 'validation', 'active');

    // deactivating (version optional) ends the sessions of its users at once
    const u = await newUser(a.id);
    const uc = await loginOk(u.username);
    const off = await c.patch(`/api/v1/admin/agencies/${a.id}`, { active: false });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.active, false);
    assertError(await uc.get('/api/v1/me'), 401, 'unauthenticated');
    assertError((await login(u.username)).res, 401, 'unauthenticated');
    // and no user can be created in it
    assertError(
        await c.post('/api/v1/admin/users', { username: unique('u'), display_name: 'X', password: PASSWORD, agency_id: a.id, role: 'member' }),
        422,
        'validation',
        'agency_id',
    );
});

// ---- users ------------------------------------------------------------------------

test('users: create 201 with the User shape; 422 with field; 409 on a duplicate username', async () => {
    const agency = await newAgency();
    const c = admin.client;
    const username = unique('Case.Worker-');
    const res = await c.post('/api/v1/admin/users', {
        username,
        display_name: 'Casey Worker',
        password: PASSWORD,
        agency_id: agency.id,
        role: 'interviewer',
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json, {
        ...res.json,
        username,
        display_name: 'Casey Worker',
        agency_id: agency.id,
        role: 'interviewer',
        active: true,
        mfa_enabled: false,
        version: 1,
    });
    assert.equal(res.json.password, undefined);
    assert.equal(res.json.password_hash, undefined);
    // the new user signs in
    await loginOk(username);

    const base = { username: unique('u'), display_name: 'X Y', password: PASSWORD, agency_id: agency.id, role: 'member' };
    const bad = [
        [{ password: 'short' }, 'password'],
        [{ password: undefined }, 'password'],
        [{ username: 'has space' }, 'username'],
        [{ username: 'x'.repeat(65) }, 'username'],
        [{ username: undefined }, 'username'],
        [{ display_name: '' }, 'display_name'],
        [{ role: 'boss' }, 'role'],
        [{ agency_id: 999999 }, 'agency_id'],
        [{ agency_id: 0 }, 'agency_id'],
    ];
    for (const [over, field] of bad) {
        assertError(await c.post('/api/v1/admin/users', { ...base, ...over }), 422, 'validation', field);
    }
    assertError(await c.post('/api/v1/admin/users', { ...base, agency_id: 'one' }), 400, 'bad_request', 'agency_id');

    const dup = await c.post('/api/v1/admin/users', { ...base, username: username.toLowerCase() });
    assertError(dup, 409, 'conflict');
    assert.equal(dup.json.error.current.id, res.json.id);

    // none of the refused ones exists
    const list = await c.get(`/api/v1/admin/users?agency_id=${agency.id}`);
    assert.deepEqual(
        list.json.items.map((u) => u.username),
        [username],
    );
});

test('users: list filters by agency and active, pages with limit/cursor', async () => {
    const agency = await newAgency();
    const a = await newUser(agency.id);
    const b = await newUser(agency.id, 'supervisor');
    const cUser = await newUser(agency.id);
    await admin.client.patch(`/api/v1/admin/users/${b.id}`, { active: false, version: b.version });
    const c = admin.client;
    const all = await c.get(`/api/v1/admin/users?agency_id=${agency.id}`);
    assert.deepEqual(
        all.json.items.map((u) => u.id),
        [a.id, b.id, cUser.id],
    );
    for (const u of all.json.items) {
        for (const k of ['id', 'username', 'display_name', 'agency_id', 'role', 'active', 'mfa_enabled']) assert.ok(k in u, k);
    }
    const active = await c.get(`/api/v1/admin/users?agency_id=${agency.id}&active=true`);
    assert.deepEqual(
        active.json.items.map((u) => u.id),
        [a.id, cUser.id],
    );
    const inactive = await c.get(`/api/v1/admin/users?agency_id=${agency.id}&active=false`);
    assert.deepEqual(
        inactive.json.items.map((u) => u.id),
        [b.id],
    );
    const p1 = await c.get(`/api/v1/admin/users?agency_id=${agency.id}&limit=2`);
    assert.equal(p1.json.items.length, 2);
    assert.equal(p1.json.next, String(b.id));
    const p2 = await c.get(`/api/v1/admin/users?agency_id=${agency.id}&limit=2&cursor=${p1.json.next}`);
    assert.deepEqual(
        p2.json.items.map((u) => u.id),
        [cUser.id],
    );
    assert.equal(p2.json.next, null);
    assertError(await c.get('/api/v1/admin/users?active=maybe'), 400, 'bad_request', 'active');
    assertError(await c.get('/api/v1/admin/users?cursor=-4'), 422, 'validation', 'cursor');
});

test('users: PATCH changes display name and role with version; stale 409; agency_id 422; no self-deactivation', async () => {
    const agency = await newAgency();
    const u = await newUser(agency.id);
    const c = admin.client;
    const r1 = await c.patch(`/api/v1/admin/users/${u.id}`, { display_name: 'New Name', role: 'supervisor', version: u.version });
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.display_name, 'New Name');
    assert.equal(r1.json.role, 'supervisor');
    assert.equal(r1.json.version, u.version + 1);

    const stale = await c.patch(`/api/v1/admin/users/${u.id}`, { role: 'member', version: u.version });
    assertError(stale, 409, 'conflict');
    assert.equal(stale.json.error.current.version, r1.json.version);
    assert.equal(stale.json.error.current.role, 'supervisor');

    assertError(await c.patch(`/api/v1/admin/users/${u.id}`, { agency_id: admin.agencyId, version: r1.json.version }), 422, 'validation', 'agency_id');
    assertError(await c.patch(`/api/v1/admin/users/${u.id}`, { role: 'member' }), 422, 'validation', 'version');
    assertError(await c.patch(`/api/v1/admin/users/${u.id}`, { role: 'root', version: r1.json.version }), 422, 'validation', 'role');
    assertError(await c.patch('/api/v1/admin/users/999999', { role: 'member', version: 1 }), 404, 'not_found');

    const me = (await c.get(`/api/v1/admin/users?agency_id=${admin.agencyId}`)).json.items.find((x) => x.id === admin.userId);
    assertError(await c.patch(`/api/v1/admin/users/${admin.userId}`, { active: false, version: me.version }), 422, 'validation', 'active');
    assertError(await c.patch(`/api/v1/admin/users/${admin.userId}`, { role: 'member', version: me.version }), 422, 'validation', 'role');

    // a role change reaches the user's session at once
    const uc = await loginOk(u.username);
    const r2 = await c.patch(`/api/v1/admin/users/${u.id}`, { role: 'admin', version: r1.json.version });
    assert.equal(r2.status, 200, r2.text);
    assert.equal((await uc.get('/api/v1/admin/users')).status, 200);
    const r3 = await c.patch(`/api/v1/admin/users/${u.id}`, { role: 'member', version: r2.json.version });
    assert.equal(r3.status, 200, r3.text);
    assertError(await uc.get('/api/v1/admin/users'), 403, 'forbidden');
});

test('users: deactivating a user makes its existing session fail with 401 on the next request', async () => {
    const agency = await newAgency();
    const u = await newUser(agency.id);
    const uc = await loginOk(u.username);
    assert.equal((await uc.get('/api/v1/me')).status, 200);

    const off = await admin.client.patch(`/api/v1/admin/users/${u.id}`, { active: false, version: u.version });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.active, false);
    assertError(await uc.get('/api/v1/me'), 401, 'unauthenticated');
    assertError(await uc.get('/api/v1/agencies'), 401, 'unauthenticated');
    assertError((await login(u.username)).res, 401, 'unauthenticated');
    const revoked = await psql(dbUrl, `SELECT count(*) FROM sessions WHERE user_id = ${u.id} AND revoked_at IS NULL`);
    assert.equal(revoked, '0');

    const on = await admin.client.patch(`/api/v1/admin/users/${u.id}`, { active: true, version: off.json.version });
    assert.equal(on.status, 200, on.text);
    assert.equal(on.json.active, true);
    await loginOk(u.username);
});

test('reset-password: a one-time password signs in; then only /me, /me/password, /logout until it is changed', async () => {
    const agency = await newAgency();
    const u = await newUser(agency.id, 'supervisor');
    const old = await loginOk(u.username);

    const res = await admin.client.post(`/api/v1/admin/users/${u.id}/reset-password`, {});
    assert.equal(res.status, 200, res.text);
    const otp = res.json.one_time_password;
    assert.match(otp, /^[A-Za-z0-9]{20}$/);
    assert.equal(res.json.user.id, u.id);
    assert.equal(res.json.user.must_change_password, true);

    assertError(await old.get('/api/v1/me'), 401, 'unauthenticated'); // sessions ended
    assertError((await login(u.username, PASSWORD)).res, 401, 'unauthenticated'); // old password gone

    const c = await loginOk(u.username, otp);
    const me = await c.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.password_change_required, true);
    for (const p of ['/api/v1/agencies', '/api/v1/users', '/api/v1/account-changes']) {
        assertError(await c.get(p), 403, 'password_change_required');
    }
    const newPassword = 'my very own new passphrase';
    const ch = await c.put('/api/v1/me/password', { current_password: otp, new_password: newPassword });
    assert.equal(ch.status, 204, ch.text);
    assert.equal((await c.get('/api/v1/agencies')).status, 200);
    assert.equal((await c.get('/api/v1/account-changes')).status, 200);
    await loginOk(u.username, newPassword);

    // two resets give two different passwords; an unknown user is 404
    const again = await admin.client.post(`/api/v1/admin/users/${u.id}/reset-password`, {});
    assert.notEqual(again.json.one_time_password, otp);
    assertError(await admin.client.post('/api/v1/admin/users/999999/reset-password', {}), 404, 'not_found');
});

test('reset-mfa: clears the TOTP enrolment; the user signs in without a code', async () => {
    const agency = await newAgency();
    const u = await newUser(agency.id);
    await psql(dbUrl, `UPDATE users SET mfa_enabled = true, mfa_secret = 'JBSWY3DPEHPK3PXP', mfa_last_step = 5 WHERE id = ${u.id}`);
    assertError((await login(u.username)).res, 401, 'mfa_required');

    const res = await admin.client.post(`/api/v1/admin/users/${u.id}/reset-mfa`, {});
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, u.id);
    assert.equal(res.json.mfa_enabled, false);
    const row = await psql(dbUrl, `SELECT mfa_enabled, mfa_secret IS NULL, mfa_pending_secret IS NULL, mfa_last_step FROM users WHERE id = ${u.id}`);
    assert.equal(row, 'f|t|t|0');
    await loginOk(u.username);
    assertError(await admin.client.post('/api/v1/admin/users/999999/reset-mfa', {}), 404, 'not_found');
});

// ---- account changes ----------------------------------------------------------------

test("account-changes: a creation, role change and reactivation are listed to that agency's supervisors only", async () => {
    const a = await newAgency();
    const b = await newAgency();
    const supA = await newUser(a.id, 'supervisor');
    const supB = await newUser(b.id, 'supervisor');
    const memA = await newUser(a.id, 'member');
    const created = await newUser(a.id, 'member');
    const promoted = await admin.client.patch(`/api/v1/admin/users/${created.id}`, { role: 'interviewer', version: created.version });
    const off = await admin.client.patch(`/api/v1/admin/users/${created.id}`, { active: false, version: promoted.json.version });
    await admin.client.patch(`/api/v1/admin/users/${created.id}`, { active: true, version: off.json.version });

    const ca = await loginOk(supA.username);
    const res = await ca.get('/api/v1/account-changes');
    assert.equal(res.status, 200, res.text);
    const mine = res.json.items.filter((r) => r.object_id === created.id);
    assert.deepEqual(
        mine.map((r) => r.action),
        ['user.reactivate', 'user.role_change', 'user.create'],
    );
    for (const r of res.json.items) {
        assert.equal(r.detail.target_agency_id, a.id);
        for (const k of ['id', 'at', 'user_id', 'username', 'agency_id', 'address', 'action', 'object_type', 'object_id', 'case_id', 'outcome', 'detail']) {
            assert.ok(k in r, k);
        }
    }
    const create = mine[2];
    assert.equal(create.user_id, admin.userId);
    assert.equal(create.agency_id, admin.agencyId);
    assert.equal(create.object_type, 'user');
    assert.equal(create.detail.role, 'member');
    assert.deepEqual(mine[1].detail, { from: 'member', to: 'interviewer', target_agency_id: a.id });
    // the users made in A before (supA, memA) are listed too, newest first
    assert.deepEqual(
        res.json.items.filter((r) => r.action === 'user.create').map((r) => r.object_id),
        [created.id, memA.id, supA.id],
    );
    const p1 = await ca.get('/api/v1/account-changes?limit=2');
    assert.equal(p1.json.items.length, 2);
    const p2 = await ca.get(`/api/v1/account-changes?limit=2&cursor=${p1.json.next}`);
    assert.deepEqual(
        [...p1.json.items, ...p2.json.items].map((r) => r.id),
        res.json.items.slice(0, 4).map((r) => r.id),
    );

    const cb = await loginOk(supB.username);
    const resB = await cb.get('/api/v1/account-changes');
    assert.equal(resB.status, 200, resB.text);
    assert.ok(!resB.json.items.some((r) => r.detail.target_agency_id === a.id), resB.text);
    assert.deepEqual(
        resB.json.items.map((r) => r.object_id),
        [supB.id],
    );

    assertError(await (await loginOk(memA.username)).get('/api/v1/account-changes'), 403, 'forbidden');
    assertError(await admin.client.get('/api/v1/account-changes'), 403, 'forbidden');
});

// ---- the audit log ------------------------------------------------------------------

test('audit: an admin sees the scripted sequence in order, with details but never a password', async () => {
    const agency = await newAgency('child_welfare');
    const u = await newUser(agency.id, 'member');
    const c = admin.client;
    const r1 = await c.patch(`/api/v1/admin/users/${u.id}`, { role: 'supervisor', display_name: 'Renamed', version: u.version });
    const r2 = await c.patch(`/api/v1/admin/users/${u.id}`, { active: false, version: r1.json.version });
    await c.patch(`/api/v1/admin/users/${u.id}`, { active: true, version: r2.json.version });
    await c.post(`/api/v1/admin/users/${u.id}/reset-mfa`, {});
    const otp = (await c.post(`/api/v1/admin/users/${u.id}/reset-password`, {})).json.one_time_password;

    const res = await c.get(`/api/v1/audit?user_id=${admin.userId}&limit=500`);
    assert.equal(res.status, 200, res.text);
    const rows = res.json.items;
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].id > rows[i].id, 'newest first');
    const about = rows.filter((r) => r.object_type === 'user' && r.object_id === u.id).reverse();
    assert.deepEqual(
        about.map((r) => r.action),
        [
            'user.create',
            'user.update',
            'user.role_change',
            'user.update',
            'user.deactivate',
            'user.update',
            'user.reactivate',
            'user.reset_mfa',
            'user.reset_password',
        ],
    );
    for (const r of about) {
        assert.equal(r.user_id, admin.userId);
        assert.equal(r.username, admin.username);
        assert.equal(r.agency_id, admin.agencyId);
        assert.equal(r.outcome, 'ok');
        assert.equal(r.case_id, null);
        assert.equal(r.detail.target_agency_id, agency.id);
        assert.match(r.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(typeof r.address, 'string');
    }
    assert.deepEqual(about[1].detail, {
        fields: ['display_name', 'role'],
        role: { from: 'member', to: 'supervisor' },
        target_agency_id: agency.id,
    });
    assert.deepEqual(about[3].detail, { fields: ['active'], active: { from: true, to: false }, target_agency_id: agency.id });
    assert.ok(!res.text.includes(otp), 'the one-time password is in the audit log');
    assert.ok(!res.text.includes(PASSWORD), 'a password is in the audit log');
    const agencyRow = rows.find((r) => r.action === 'agency.create' && r.object_id === agency.id);
    assert.equal(agencyRow.object_type, 'agency');

    // paging walks the same rows
    const p1 = await c.get(`/api/v1/audit?user_id=${admin.userId}&limit=3`);
    const p2 = await c.get(`/api/v1/audit?user_id=${admin.userId}&limit=3&cursor=${p1.json.next}`);
    assert.equal(p1.json.next, String(p1.json.items[2].id));
    assert.ok(p2.json.items.every((r) => r.id < p1.json.items[2].id));

    // reading the log is itself audited (buffered: within 200 ms)
    await flushAudit(server);
    const reads = await c.get(`/api/v1/audit?user_id=${admin.userId}&limit=50`);
    const read = reads.json.items.find((r) => r.action === 'audit.read' && r.detail.view === 'audit');
    assert.ok(read, reads.text);
    // the newest one is the second page's: which filters, not their values
    assert.deepEqual(read.detail, { view: 'audit', filters: ['user_id', 'cursor'], count: p2.json.items.length });
    assert.equal(read.outcome, 'ok');

    // since and validation
    const future = await c.get('/api/v1/audit?since=2199-01-01T00:00:00Z');
    assert.deepEqual(future.json, { items: [], next: null });
    const offset = await c.get('/api/v1/audit?since=2199-01-01T00:00:00.5%2B01:00');
    assert.deepEqual(offset.json, { items: [], next: null });
    const past = await c.get(`/api/v1/audit?since=${today(-3650)}&limit=1`);
    assert.equal(past.json.items.length, 1);
    assertError(await c.get('/api/v1/audit?since=yesterday'), 422, 'validation', 'since');
    assertError(await c.get('/api/v1/audit?case_id=x'), 400, 'bad_request', 'case_id');
    assertError(await c.get('/api/v1/audit?limit=0'), 422, 'validation', 'limit');
});

// A case led by `lead`, with `other` on it too, made in SQL (the case API
// is another module's). Returns the case id.
async function makeCase(lead, other) {
    const id = Number(
        await psql(
            dbUrl,
            `INSERT INTO cases (case_number, alias, referral_date, lead_agency_id, pii_owner_identity, pii_owner_contact,
                pii_owner_immigration, pii_owner_health)
             VALUES ('${unique('C-')}', 'A.B.', '${today(-30)}', ${lead}, ${lead}, ${lead}, ${lead}, ${lead}) RETURNING id`,
        ),
    );
    await psql(dbUrl, `INSERT INTO case_agencies (case_id, agency_id) VALUES (${id}, ${lead}), (${id}, ${other})`);
    return id;
}

async function makeEntry(caseId, author, visibility) {
    return Number(
        await psql(
            dbUrl,
            `INSERT INTO entries (case_id, kind, author_id, agency_id, body_md, body_html, visibility)
             VALUES (${caseId}, 'note', ${author.id}, ${author.agency_id}, 'x', '<p>x</p>', '${visibility}') RETURNING id`,
        ),
    );
}

test('audit: a supervisor reads only the rows of a case its agency leads, with ids it may not see redacted', async () => {
    const lead = await newAgency();
    const other = await newAgency('mental_health');
    const supLead = await newUser(lead.id, 'supervisor');
    const supOther = await newUser(other.id, 'supervisor');
    const authorOther = await newUser(other.id, 'member');
    const caseId = await makeCase(lead.id, other.id);
    const hidden = await makeEntry(caseId, authorOther, 'agency');
    const shared = await makeEntry(caseId, authorOther, 'mdt');
    const rows = [hidden, shared].map((id) => ({
        user_id: authorOther.id,
        username: authorOther.username,
        agency_id: other.id,
        action: 'entry.create',
        object_type: 'entry',
        object_id: id,
        case_id: caseId,
        detail: { kind: 'note' },
    }));
    await appendAudit(dbUrl, rows);

    const cl = await loginOk(supLead.username);
    assertError(await cl.get('/api/v1/audit'), 403, 'forbidden');
    assertError(await cl.get('/api/v1/audit?case_id=999999'), 403, 'forbidden');
    const res = await cl.get(`/api/v1/audit?case_id=${caseId}`);
    assert.equal(res.status, 200, res.text);
    const entries = res.json.items.filter((r) => r.action === 'entry.create');
    assert.equal(entries.length, 2);
    const [second, first] = entries; // newest first
    assert.equal(first.object_id, null);
    assert.equal(first.redacted, true);
    assert.deepEqual(first.detail, {});
    assert.equal(second.object_id, shared);
    assert.deepEqual(second.detail, { kind: 'note' });
    assert.ok(res.json.items.every((r) => r.case_id === caseId));

    // the other agency's supervisor is on the case but does not lead it
    assertError(await (await loginOk(supOther.username)).get(`/api/v1/audit?case_id=${caseId}`), 403, 'forbidden');

    // an admin sees everything unredacted, on the case or not
    const adm = await admin.client.get(`/api/v1/audit?case_id=${caseId}`);
    const ids = adm.json.items.filter((r) => r.action === 'entry.create').map((r) => r.object_id);
    assert.deepEqual(ids, [shared, hidden]);

    // the supervisor's reads and the denied attempts are audited
    await flushAudit(server);
    const reads = await admin.client.get(`/api/v1/audit?user_id=${supLead.id}`);
    const outcomes = reads.json.items.filter((r) => r.action === 'audit.read').map((r) => r.outcome);
    assert.deepEqual(outcomes, ['ok', 'denied', 'denied']);
});

// ---- the audit chain ------------------------------------------------------------------

test('audit chain: verify passes, an UPDATE or DELETE is refused, a tampered row is named', async () => {
    // a database of its own: this test breaks the chain on purpose
    const url = await createDatabase();
    const agencyId = await cliId(url, ['agency', 'add', '--name', 'Chain Agency', '--kind', 'cac']);
    const username = unique('chain');
    await cliId(
        url,
        ['user', 'add', '--username', username, '--display-name', 'Chain', '--agency-id', String(agencyId), '--role', 'admin', '--password-stdin'],
        `${PASSWORD}\n`,
    );
    const srv = await startServer({ dbUrl: url, env: ENV });
    try {
        const c = api(srv.url);
        assert.equal((await c.post('/api/v1/login', { username, password: 'wrong password here' })).status, 401);
        assert.equal((await c.post('/api/v1/login', { username, password: PASSWORD })).status, 200);
        assert.equal((await c.post('/api/v1/admin/agencies', { name: 'Another', kind: 'medical' })).status, 201);
    } finally {
        await srv.stop();
    }
    const rows = Number(await psql(url, 'SELECT count(*) FROM audit'));
    const ok = await cli(url, ['audit', 'verify']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), `audit chain ok: ${rows} rows`);

    const failed = Number(await psql(url, "SELECT id FROM audit WHERE action = 'login' AND outcome = 'failure'"));
    await assert.rejects(psql(url, `UPDATE audit SET outcome = 'ok' WHERE id = ${failed}`), /append-only/);
    await assert.rejects(psql(url, `DELETE FROM audit WHERE id = ${failed}`), /append-only/);
    await assert.rejects(psql(url, 'TRUNCATE audit'), /append-only/);
    assert.equal((await cli(url, ['audit', 'verify'])).code, 0);

    await psql(
        url,
        `ALTER TABLE audit DISABLE TRIGGER USER; UPDATE audit SET outcome = 'ok' WHERE id = ${failed}; ALTER TABLE audit ENABLE TRIGGER USER`,
    );
    const bad = await cli(url, ['audit', 'verify']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, new RegExp(`audit chain broken at row ${failed}\\b`));
});
