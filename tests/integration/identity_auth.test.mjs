// identity_auth.test.mjs - sign-in and sessions against the real binary and
// a real PostgreSQL: login and its cookie, identical answers for a wrong
// password and an unknown user, CSRF, /me, the idle timeout and the
// absolute lifetime, lockout, the per-address login rate limit, TOTP
// enrolment and login (with replay refused), password change ending the
// other sessions, logout, reading the cookie by exact name, and password
// hashing kept off the event loop.
//
// One database; several servers on it, each with the settings its tests
// need (the rate limiter and the session cache live in each server).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, createDatabase, psql, sleep, startServer } from './lib/harness.mjs';
import { addAgency, addAgencyUser, addUser, DEFAULT_PASSWORD } from './lib/fixtures.mjs';
import { totp, totpStep } from './lib/totp.mjs';

let dbUrl;
let main; // defaults, except: a lockout period of 2 s and no practical rate limit
let cacAgency;

// Settings every server gets: the contract's defaults for MFA kinds, and a
// login rate high enough not to get in the way of the other tests.
const BASE_ENV = { MDT_MFA_REQUIRED_KINDS: undefined, MDT_LOGIN_RATE: 100000 };

before(async () => {
    dbUrl = await createDatabase();
    main = await startServer({ dbUrl, env: { ...BASE_ENV, MDT_LOCKOUT_PERIOD: 2 } });
    cacAgency = await addAgency(dbUrl, { name: `CAC ${process.pid}`, kind: 'cac' });
});

after(async () => {
    if (main) await main.stop();
});

let userCounter = 0;
// newUser({kind, role}) - a fresh user (in the shared CAC agency unless a
// kind is given, which gets its own agency). Resolves {userId, agencyId,
// username, password}.
async function newUser({ kind, role = 'member', password = DEFAULT_PASSWORD } = {}) {
    const username = `u${process.pid}_${++userCounter}`;
    if (kind) return addAgencyUser(dbUrl, { kind, role, username, password });
    const userId = await addUser(dbUrl, { username, agencyId: cacAgency, role, password });
    return { userId, agencyId: cacAgency, username, password };
}

// login(base, username, password, totp) - resolves {client, res}; the
// client keeps the cookie and the CSRF token.
async function login(base, username, password, code) {
    const client = api(base);
    const body = { username, password };
    if (code !== undefined) body.totp = code;
    const res = await client.post('/api/v1/login', body);
    return { client, res };
}

function assertError(res, status, code, field) {
    assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
    assert.ok(res.json && typeof res.json.error === 'object', `error body expected, got ${res.text}`);
    assert.equal(res.json.error.code, code, res.text);
    assert.equal(typeof res.json.error.message, 'string');
    if (field !== undefined) assert.equal(res.json.error.field, field, res.text);
}

// A request with exactly these headers (no jar): for cookie and CSRF tests.
async function rawGet(base, p, headers) {
    const res = await fetch(new URL(p, base), { headers, redirect: 'manual' });
    const text = await res.text();
    let json = null;
    try {
        json = JSON.parse(text);
    } catch {
        // not JSON
    }
    return { status: res.status, headers: res.headers, text, json };
}

// The server accepts the codes of the steps before, at and after its clock's
// step, each step once per user. The MFA tests spend the step before the
// current one on enrolment, the current one on a login and the next one on
// re-enrolment, so they never wait for the clock: codeAt(secret, step) is a
// step's code, and stableStep() the current step once at least 6 s of it
// remain (so the step cannot change under a short sequence of requests).
const codeAt = (secret, step) => totp(secret, { time: step * 30 + 1 });

async function stableStep() {
    const into = (Date.now() / 1000) % 30;
    if (into > 24) await sleep((30 - into) * 1000 + 100);
    return totpStep();
}

function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

// A 6-digit code that matches none of the steps around now (so it is wrong
// whichever step the server is at).
function wrongCode(secret) {
    const now = Date.now() / 1000;
    const near = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, { time: now + d * 30 })));
    for (let i = 0; ; i++) {
        const c = String((123456 + i * 7919) % 1000000).padStart(6, '0');
        if (!near.has(c)) return c;
    }
}

// ---- login, cookie, /me -------------------------------------------------------

test('login: 200 {user, csrf_token} and an HttpOnly SameSite=Strict mdt_session cookie, not Secure over http', async () => {
    const u = await newUser({ role: 'supervisor' });
    const { client, res } = await login(main.url, u.username, u.password);
    assert.equal(res.status, 200, res.text);
    assert.match(res.json.csrf_token, /^[0-9a-f]{64}$/);
    assert.deepEqual(res.json.user, {
        ...res.json.user,
        id: u.userId,
        username: u.username,
        agency_id: u.agencyId,
        role: 'supervisor',
        active: true,
        mfa_enabled: false,
    });
    assert.equal(typeof res.json.user.display_name, 'string');
    assert.equal(res.json.user.password_hash, undefined);

    const cookies = res.headers.getSetCookie();
    const line = cookies.find((c) => c.startsWith('mdt_session='));
    assert.ok(line, `no mdt_session cookie in ${JSON.stringify(cookies)}`);
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    assert.match(pair, /^mdt_session=[0-9a-f]{64}$/);
    const lower = attrs.map((a) => a.toLowerCase());
    assert.ok(lower.includes('httponly'), line);
    assert.ok(lower.includes('samesite=strict'), line);
    assert.ok(lower.includes('path=/'), line);
    assert.ok(!lower.includes('secure'), `Secure over plain http: ${line}`);
    assert.ok(!lower.some((a) => a.startsWith('domain=')), line);

    // the cookie works
    const me = await client.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
});

test('login: the username is matched case-insensitively', async () => {
    const u = await newUser();
    const { res } = await login(main.url, u.username.toUpperCase(), u.password);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.user.username, u.username);
});

test('login: wrong password and unknown user answer the same 401 unauthenticated', async () => {
    const u = await newUser();
    const wrong = await login(main.url, u.username, 'not the password at all');
    const unknown = await login(main.url, `nobody${process.pid}`, 'not the password at all');
    assertError(wrong.res, 401, 'unauthenticated');
    assertError(unknown.res, 401, 'unauthenticated');
    assert.equal(wrong.res.text, unknown.res.text);
    assert.equal(wrong.res.headers.get('content-type'), unknown.res.headers.get('content-type'));
    assert.equal(wrong.res.headers.getSetCookie().length, 0);
    assert.equal(unknown.res.headers.getSetCookie().length, 0);
});

test('login: malformed bodies are 400/415/422, not 401', async () => {
    const c = api(main.url);
    const json = { 'Content-Type': 'application/json' };
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    assertError(await c.post('/api/v1/login', '{"username":', { headers: json }), 400, 'bad_request');
    assertError(await c.post('/api/v1/login', 'username=a', { headers: form }), 415, 'unsupported_media_type');
    const missing = await c.post('/api/v1/login', { username: 'someone' });
    assert.ok([400, 422].includes(missing.status), missing.text);
});

test('GET /api/v1/me: {user, agency, csrf_token, mfa_required}; 401 without a session', async () => {
    const u = await newUser({ role: 'interviewer' });
    const { client, res } = await login(main.url, u.username, u.password);
    const me = await client.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.id, u.userId);
    assert.equal(me.json.user.username, u.username);
    assert.equal(me.json.user.role, 'interviewer');
    assert.equal(me.json.user.agency_id, cacAgency);
    assert.equal(me.json.user.mfa_enabled, false);
    assert.equal(me.json.agency.id, cacAgency);
    assert.equal(me.json.agency.kind, 'cac');
    assert.equal(typeof me.json.agency.name, 'string');
    assert.equal(me.json.csrf_token, res.json.csrf_token);
    assert.equal(me.json.mfa_required, false);
    assert.equal(me.json.time_zone, 'America/New_York', 'the installation time zone (default)');
    assertError(await api(main.url).get('/api/v1/me'), 401, 'unauthenticated');
});

// ---- CSRF ----------------------------------------------------------------------

test('CSRF: a state change without (or with a wrong) X-CSRF-Token is 403 csrf; with the token it works', async () => {
    const u = await newUser();
    const { client, res } = await login(main.url, u.username, u.password);
    const token = res.json.csrf_token;
    const newPw = 'a brand new passphrase 1';

    assertError(
        await client.put('/api/v1/me/password', { current_password: u.password, new_password: newPw }, { csrf: false }),
        403,
        'csrf',
    );
    assertError(
        await client.put(
            '/api/v1/me/password',
            { current_password: u.password, new_password: newPw },
            { headers: { 'X-CSRF-Token': 'f'.repeat(64) } },
        ),
        403,
        'csrf',
    );
    assertError(await client.post('/api/v1/logout', undefined, { csrf: false }), 403, 'csrf');
    // the refused requests changed nothing: still signed in, old password still valid
    assert.equal((await client.get('/api/v1/me')).status, 200);

    const ok = await client.put(
        '/api/v1/me/password',
        { current_password: u.password, new_password: newPw },
        { headers: { 'X-CSRF-Token': token } },
    );
    assert.equal(ok.status, 204, ok.text);
    const out = await client.post('/api/v1/logout', undefined, { headers: { 'X-CSRF-Token': token } });
    assert.equal(out.status, 204, out.text);
});

test('CSRF: the token of another session is refused', async () => {
    const u = await newUser();
    const a = await login(main.url, u.username, u.password);
    const b = await login(main.url, u.username, u.password);
    assert.notEqual(a.res.json.csrf_token, b.res.json.csrf_token);
    assertError(
        await a.client.post('/api/v1/logout', undefined, { headers: { 'X-CSRF-Token': b.res.json.csrf_token } }),
        403,
        'csrf',
    );
});

// ---- the cookie, read by exact name ------------------------------------------

test('cookie: xmdt_session=<token> is not accepted; a=b; mdt_session=<token> is', async () => {
    const u = await newUser();
    const { client } = await login(main.url, u.username, u.password);
    const token = client.jar.get('mdt_session');
    assert.match(token, /^[0-9a-f]{64}$/);

    for (const cookie of [
        `xmdt_session=${token}`,
        `a=b; xmdt_session=${token}`,
        `mdt_sessionx=${token}`,
        `mdt_session_x=${token}`,
        `x=mdt_session=${token}`,
        `mdt_session=${token.slice(0, 63)}`,
        `mdt_session=${token}0`,
    ]) {
        const res = await rawGet(main.url, '/api/v1/me', { Cookie: cookie });
        assertError(res, 401, 'unauthenticated');
    }
    for (const cookie of [`a=b; mdt_session=${token}`, `mdt_session=${token}; a=b`, `a=b;mdt_session=${token};c=d`]) {
        const res = await rawGet(main.url, '/api/v1/me', { Cookie: cookie });
        assert.equal(res.status, 200, `${cookie}: ${res.text}`);
        assert.equal(res.json.user.id, u.userId);
    }
});

// ---- logout --------------------------------------------------------------------

test('logout: 204, clears the cookie, and the old cookie is refused afterwards', async () => {
    const u = await newUser();
    const { client } = await login(main.url, u.username, u.password);
    const token = client.jar.get('mdt_session');
    const res = await client.post('/api/v1/logout');
    assert.equal(res.status, 204, res.text);
    const line = res.headers.getSetCookie().find((c) => c.startsWith('mdt_session='));
    assert.ok(line, 'logout sets an expiring mdt_session cookie');
    assert.match(line, /max-age=0/i);
    assertError(await rawGet(main.url, '/api/v1/me', { Cookie: `mdt_session=${token}` }), 401, 'unauthenticated');
});

// ---- sessions loaded from the database (another node, or after a restart) ----

test('a session used on a second server: works, and logout there ends it on both', async () => {
    const u = await newUser();
    const { client } = await login(main.url, u.username, u.password);
    const cookie = client.cookie();
    const other = await startServer({ dbUrl, env: BASE_ENV });
    try {
        const o = api(other.url);
        const me = await o.get('/api/v1/me', { headers: { Cookie: cookie } });
        assert.equal(me.status, 200, me.text);
        assert.equal(me.json.csrf_token, client.csrf);
        assert.equal((await o.get('/api/v1/me', { headers: { Cookie: cookie } })).status, 200);

        const out = await o.post('/api/v1/logout', undefined, { headers: { Cookie: cookie, 'X-CSRF-Token': client.csrf } });
        assert.equal(out.status, 204, out.text);
        assertError(await rawGet(other.url, '/api/v1/me', { Cookie: cookie }), 401, 'unauthenticated');
        // the first server hears of it through the event log
        let res;
        for (let i = 0; i < 40; i++) {
            res = await rawGet(main.url, '/api/v1/me', { Cookie: cookie });
            if (res.status === 401) break;
            await sleep(50);
        }
        assertError(res, 401, 'unauthenticated');
    } finally {
        await other.stop();
    }
});

test('a session loaded from the database is kept alive by activity (MDT_SESSION_IDLE=2 on both servers)', async () => {
    const env = { ...BASE_ENV, MDT_SESSION_IDLE: 2 };
    const a = await startServer({ dbUrl, env });
    const b = await startServer({ dbUrl, env });
    try {
        const u = await newUser();
        const { client } = await login(a.url, u.username, u.password);
        const cookie = client.cookie();
        const started = Date.now();
        while (Date.now() - started < 4000) {
            const r = await rawGet(b.url, '/api/v1/me', { Cookie: cookie });
            assert.equal(r.status, 200, `active session ended on the second server after ${Date.now() - started} ms: ${r.text}`);
            await sleep(900);
        }
    } finally {
        await a.stop();
        await b.stop();
    }
});

test('logout after a password change (the session re-read from the database) ends the session', async () => {
    const u = await newUser();
    const { client } = await login(main.url, u.username, u.password);
    const token = client.jar.get('mdt_session');
    const res = await client.put('/api/v1/me/password', { current_password: u.password, new_password: 'yet another passphrase' });
    assert.equal(res.status, 204, res.text);
    assert.equal((await client.get('/api/v1/me')).status, 200);
    assert.equal((await client.post('/api/v1/logout')).status, 204);
    assertError(await rawGet(main.url, '/api/v1/me', { Cookie: `mdt_session=${token}` }), 401, 'unauthenticated');
});

// ---- password change -----------------------------------------------------------

test('password change: ends the other sessions, keeps this one; policy and current password checked', async () => {
    const u = await newUser();
    const a = await login(main.url, u.username, u.password);
    const b = await login(main.url, u.username, u.password);
    assert.equal((await b.client.get('/api/v1/me')).status, 200);

    assertError(
        await a.client.put('/api/v1/me/password', { current_password: u.password, new_password: 'short' }),
        422,
        'validation',
        'new_password',
    );
    assertError(
        await a.client.put('/api/v1/me/password', { current_password: u.password, new_password: u.password }),
        422,
        'validation',
        'new_password',
    );
    const wrongCurrent = await a.client.put('/api/v1/me/password', {
        current_password: 'not my password!!',
        new_password: 'another long passphrase',
    });
    assert.equal(wrongCurrent.status, 403, wrongCurrent.text);
    assert.equal(wrongCurrent.json.error.field, 'current_password');
    // none of these ended b
    assert.equal((await b.client.get('/api/v1/me')).status, 200);

    const newPw = 'another long passphrase';
    const res = await a.client.put('/api/v1/me/password', { current_password: u.password, new_password: newPw });
    assert.equal(res.status, 204, res.text);

    assertError(await b.client.get('/api/v1/me'), 401, 'unauthenticated');
    const me = await a.client.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal((await a.client.get('/api/v1/me')).status, 200);

    assertError((await login(main.url, u.username, u.password)).res, 401, 'unauthenticated');
    assert.equal((await login(main.url, u.username, newPw)).res.status, 200);
});

test('re-authentication: 5 wrong passwords inside a session lock the account and end its sessions', async () => {
    const u = await newUser();
    const a = await login(main.url, u.username, u.password);
    const other = await login(main.url, u.username, u.password);
    for (let i = 0; i < 4; i++) {
        const r = await a.client.put('/api/v1/me/password', {
            current_password: `wrong guess number ${i}`,
            new_password: 'a brand new passphrase',
        });
        assertError(r, 403, 'forbidden', 'current_password');
    }
    // four misses: still signed in everywhere
    assert.equal((await other.client.get('/api/v1/me')).status, 200);
    const fifth = await a.client.post('/api/v1/me/mfa', { password: 'wrong guess number 5' });
    assertError(fifth, 403, 'forbidden', 'password');
    // the fifth locked the account and ended every session of it
    assertError(await a.client.get('/api/v1/me'), 401, 'unauthenticated');
    assertError(await other.client.get('/api/v1/me'), 401, 'unauthenticated');
    assertError((await login(main.url, u.username, u.password)).res, 401, 'unauthenticated');
    const rows = await psql(
        dbUrl,
        `SELECT count(*) FROM audit WHERE user_id = ${u.userId} AND action = 'lockout'`,
    );
    assert.equal(Number(rows.trim()), 1);
    await sleep(2100); // MDT_LOCKOUT_PERIOD=2 on this server
    assert.equal((await login(main.url, u.username, u.password)).res.status, 200);
});

// ---- the rest of the gate: one-time passwords, the admin flag ---------------

test('a one-time password: 403 password_change_required everywhere but /me, /me/password and /logout until changed', async () => {
    const u = await newUser();
    await psql(dbUrl, `UPDATE users SET must_change_password = true WHERE id = ${u.userId}`);
    const { client, res } = await login(main.url, u.username, u.password);
    assert.equal(res.status, 200, res.text);
    assertError(await client.get('/api/v1/agencies'), 403, 'password_change_required');
    const me = await client.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.password_change_required, true);
    const changed = await client.put('/api/v1/me/password', {
        current_password: u.password,
        new_password: 'my very own passphrase',
    });
    assert.equal(changed.status, 204, changed.text);
    assert.equal((await client.get('/api/v1/agencies')).status, 200);
    assert.equal((await client.get('/api/v1/me')).json.password_change_required, false);
});

test('admin routes: 403 forbidden for a supervisor, open to an admin', async () => {
    const sup = await newUser({ role: 'supervisor' });
    const adm = await newUser({ role: 'admin' });
    const s = (await login(main.url, sup.username, sup.password)).client;
    const a = (await login(main.url, adm.username, adm.password)).client;
    assertError(await s.get('/api/v1/admin/users'), 403, 'forbidden');
    assertError(await s.post('/api/v1/admin/agencies', { name: `Nope ${process.pid}`, kind: 'other' }), 403, 'forbidden');
    const list = await a.get('/api/v1/admin/users');
    assert.equal(list.status, 200, list.text);
});

// ---- lockout -------------------------------------------------------------------

test('lockout: 5 wrong passwords lock the account (same 401), MDT_LOCKOUT_PERIOD=2 later it opens again', async () => {
    const u = await newUser();
    const bodies = [];
    for (let i = 0; i < 5; i++) {
        const { res } = await login(main.url, u.username, `wrong password ${i}`);
        assertError(res, 401, 'unauthenticated');
        bodies.push(res.text);
    }
    const locked = await login(main.url, u.username, u.password);
    assertError(locked.res, 401, 'unauthenticated');
    assert.equal(locked.res.text, bodies[0], 'a locked account answers exactly like a wrong password');
    assert.equal(locked.res.headers.getSetCookie().length, 0);

    await sleep(2300);
    const { res } = await login(main.url, u.username, u.password);
    assert.equal(res.status, 200, res.text);

    // the success reset the count: 4 more failures do not lock
    for (let i = 0; i < 4; i++) assertError((await login(main.url, u.username, 'wrong again, sorry')).res, 401, 'unauthenticated');
    assert.equal((await login(main.url, u.username, u.password)).res.status, 200);
});

// ---- idle timeout and absolute lifetime -------------------------------------

test('idle timeout (MDT_SESSION_IDLE=2): 3 s without requests ends the session; a request every second keeps it', async () => {
    const srv = await startServer({ dbUrl, env: { ...BASE_ENV, MDT_SESSION_IDLE: 2 } });
    try {
        const u = await newUser();
        const idle = await login(srv.url, u.username, u.password);
        const busy = await login(srv.url, u.username, u.password);
        assert.equal(idle.res.status, 200);
        assert.equal(busy.res.status, 200);
        const started = Date.now();
        while (Date.now() - started < 4000) {
            await sleep(900);
            const r = await busy.client.get('/api/v1/me');
            assert.equal(r.status, 200, `active session ended after ${Date.now() - started} ms: ${r.text}`);
        }
        assertError(await idle.client.get('/api/v1/me'), 401, 'unauthenticated');
        assert.equal((await busy.client.get('/api/v1/me')).status, 200);
        // and once ended it stays ended
        await sleep(300);
        assertError(await idle.client.get('/api/v1/me'), 401, 'unauthenticated');
    } finally {
        await srv.stop();
    }
});

test('absolute lifetime (MDT_SESSION_MAX=3) ends a session even with steady activity', async () => {
    const srv = await startServer({ dbUrl, env: { ...BASE_ENV, MDT_SESSION_MAX: 3 } });
    try {
        const u = await newUser();
        const { client, res } = await login(srv.url, u.username, u.password);
        assert.equal(res.status, 200);
        const started = Date.now();
        let endedAt = null;
        while (Date.now() - started < 6000) {
            const r = await client.get('/api/v1/me');
            const t = Date.now() - started;
            if (r.status === 401) {
                assertError(r, 401, 'unauthenticated');
                endedAt = t;
                break;
            }
            assert.equal(r.status, 200, r.text);
            await sleep(400);
        }
        assert.ok(endedAt !== null, 'the session outlived MDT_SESSION_MAX=3 by 3 s');
        assert.ok(endedAt >= 2000, `the session ended too early (${endedAt} ms)`);
        assert.ok(endedAt <= 4500, `the session ended late (${endedAt} ms)`);
    } finally {
        await srv.stop();
    }
});

// ---- rate limit ----------------------------------------------------------------

test('rate limit (MDT_LOGIN_RATE=5): the 6th quick login from one address is 429 rate_limited with Retry-After', async () => {
    const srv = await startServer({ dbUrl, env: { ...BASE_ENV, MDT_LOGIN_RATE: 5 } });
    try {
        const u = await newUser();
        for (let i = 0; i < 5; i++) {
            const { res } = await login(srv.url, u.username, u.password);
            assert.equal(res.status, 200, `login ${i + 1}: ${res.text}`);
        }
        const { res } = await login(srv.url, u.username, u.password);
        assertError(res, 429, 'rate_limited');
        const retry = res.headers.get('retry-after');
        assert.match(retry ?? '', /^\d+$/, `Retry-After: ${retry}`);
        assert.ok(Number(retry) >= 1 && Number(retry) <= 60, `Retry-After: ${retry}`);
        assert.equal(res.headers.getSetCookie().length, 0);
        // unknown users and wrong passwords are limited just the same
        assertError((await login(srv.url, 'nobody-at-all', 'whatever it is')).res, 429, 'rate_limited');
        // the limit is on logins, not on the other requests of the address
        assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    } finally {
        await srv.stop();
    }
});

// ---- MFA -----------------------------------------------------------------------

test('MFA: law_enforcement must enrol; TOTP login; wrong, missing, replayed codes refused; re-enrolment needs a code', async () => {
    const u = await newUser({ kind: 'law_enforcement' });

    // password only: signed in, but only /me, /me/mfa and /logout are open
    const first = await login(main.url, u.username, u.password);
    assert.equal(first.res.status, 200, first.res.text);
    const c = first.client;
    assertError(await c.get('/api/v1/agencies'), 403, 'mfa_enrolment_required');
    assertError(await c.get('/api/v1/users'), 403, 'mfa_enrolment_required');
    const me = await c.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.mfa_required, true);
    assert.equal(me.json.user.mfa_enabled, false);

    // enrolment start needs the password
    const badPw = await c.post('/api/v1/me/mfa', { password: 'not the password!' });
    assertError(badPw, 403, 'forbidden', 'password');
    assertError(await c.put('/api/v1/me/mfa', { totp: '123456' }), 409, 'conflict'); // nothing started yet

    const start = await c.post('/api/v1/me/mfa', { password: u.password });
    assert.equal(start.status, 200, start.text);
    const { secret, otpauth_uri: uri } = start.json;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.ok(uri.startsWith('otpauth://totp/'), uri);
    assert.match(uri, new RegExp(`[?&]secret=${secret}(&|$)`));
    assert.match(uri, /[?&]issuer=/);
    // not enrolled until confirmed
    assertError(await c.get('/api/v1/agencies'), 403, 'mfa_enrolment_required');

    assertError(await c.put('/api/v1/me/mfa', { totp: wrongCode(secret) }), 422, 'validation', 'totp');
    // confirm with the code of the step before now (one step of drift allowed)
    const S = await stableStep();
    const confirm = await c.put('/api/v1/me/mfa', { totp: codeAt(secret, S - 1) });
    assert.equal(confirm.status, 200, confirm.text);
    assert.equal(confirm.json.user.mfa_enabled, true);
    // the same session may now use the rest of the API
    const agencies = await c.get('/api/v1/agencies');
    assert.notEqual(agencies.status, 403, agencies.text);
    assert.equal((await c.get('/api/v1/me')).json.user.mfa_enabled, true);

    assert.equal((await c.post('/api/v1/logout')).status, 204);

    // password alone, or a wrong code: 401 mfa_required and no cookie
    const noCode = await login(main.url, u.username, u.password);
    assertError(noCode.res, 401, 'mfa_required');
    assert.equal(noCode.res.headers.getSetCookie().length, 0);
    const badCode = await login(main.url, u.username, u.password, wrongCode(secret));
    assertError(badCode.res, 401, 'mfa_required');
    assert.equal(badCode.res.headers.getSetCookie().length, 0);
    // a right code with a wrong password is still just a wrong password
    assertError((await login(main.url, u.username, 'not the password!', totp(secret))).res, 401, 'unauthenticated');

    // the enrolment's code is spent, the current step's code is accepted
    assertError((await login(main.url, u.username, u.password, codeAt(secret, S - 1))).res, 401, 'mfa_required');
    const code = codeAt(secret, S);
    const ok = await login(main.url, u.username, u.password, code);
    assert.equal(ok.res.status, 200, ok.res.text);
    assert.equal(ok.res.json.user.mfa_enabled, true);
    assert.notEqual((await ok.client.get('/api/v1/agencies')).status, 403);

    // replay: the same code in a fresh login
    const replay = await login(main.url, u.username, u.password, code);
    assertError(replay.res, 401, 'mfa_required');

    // re-enrolment asks for the password and the current code
    const c2 = ok.client;
    const pwOnly = await c2.post('/api/v1/me/mfa', { password: u.password });
    assertError(pwOnly, 403, 'forbidden', 'totp');
    const spent = await c2.post('/api/v1/me/mfa', { password: u.password, totp: code });
    assertError(spent, 403, 'forbidden', 'totp');
    const again = await c2.post('/api/v1/me/mfa', { password: u.password, totp: codeAt(secret, S + 1) });
    assert.equal(again.status, 200, again.text);
    assert.match(again.json.secret, /^[A-Z2-7]{32}$/);
    assert.notEqual(again.json.secret, secret);
});

test('MFA: a re-enrolment can be confirmed with the new app\'s current code', async () => {
    const u = await newUser({ kind: 'law_enforcement' });
    const { client: c } = await login(main.url, u.username, u.password);
    const start = await c.post('/api/v1/me/mfa', { password: u.password });
    assert.equal(start.status, 200, start.text);
    const oldSecret = start.json.secret;
    const S = await stableStep();
    assert.equal((await c.put('/api/v1/me/mfa', { totp: codeAt(oldSecret, S - 1) })).status, 200);

    // re-enrol: the old app's current code, then the new app's current code,
    // both read off the apps within the same 30 s
    const again = await c.post('/api/v1/me/mfa', { password: u.password, totp: codeAt(oldSecret, S) });
    assert.equal(again.status, 200, again.text);
    const newSecret = again.json.secret;
    const res = await c.put('/api/v1/me/mfa', { totp: codeAt(newSecret, S) });
    assert.equal(res.status, 200, `the new app's current code was refused: ${res.text}`);
    // and from then on the new secret signs in, the old one does not
    assert.equal((await c.post('/api/v1/logout')).status, 204);
    assertError((await login(main.url, u.username, u.password, codeAt(oldSecret, S + 1))).res, 401, 'mfa_required');
    assert.equal((await login(main.url, u.username, u.password, codeAt(newSecret, S + 1))).res.status, 200);
});

test('MFA: not required for other agency kinds by default', async () => {
    const u = await newUser({ kind: 'victim_advocacy' });
    const { client } = await login(main.url, u.username, u.password);
    const me = await client.get('/api/v1/me');
    assert.equal(me.json.mfa_required, false);
    assert.notEqual((await client.get('/api/v1/agencies')).status, 403);
});

// ---- hashing off the loop ----------------------------------------------------

test('logins in progress do not delay /healthz (hashing runs on a worker pool)', async () => {
    const u = await newUser();
    // a baseline, and a warm connection
    for (let i = 0; i < 3; i++) await fetch(`${main.url}/healthz`).then((r) => r.text());

    let pending = 0;
    const logins = [];
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) {
        pending++;
        logins.push(
            login(main.url, i % 2 ? u.username : `unknown${i}`, u.password).finally(() => {
                pending--;
            }),
        );
    }
    const samples = [];
    while (pending > 0) {
        const t = performance.now();
        const r = await fetch(`${main.url}/healthz`);
        await r.text();
        if (pending > 0) samples.push(performance.now() - t);
        assert.equal(r.status, 200);
    }
    const results = await Promise.all(logins.map((p) => p.then((r) => ({ ...r, took: Date.now() - t0 }))));
    const took = Date.now() - t0;
    for (const [i, { res }] of results.entries()) assert.equal(res.status, i % 2 ? 200 : 401, res.text);
    assert.ok(samples.length >= 3, `only ${samples.length} /healthz samples while 5 logins ran for ${took} ms`);
    // Relative, not absolute (the box may be loaded): had the hashing run on
    // the loop, a /healthz sent while logins wait would wait for a whole hash,
    // about as long as the quickest login took. On the worker pool it waits
    // for no hash at all.
    const m = median(samples);
    const quickest = Math.min(...results.map((r) => r.took));
    assert.ok(
        m < quickest / 2,
        `/healthz median ${m.toFixed(1)} ms while logins ran, the quickest login ${quickest} ms (samples ${samples.map((s) => s.toFixed(1))})`,
    );
});
