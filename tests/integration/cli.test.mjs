// cli.test.mjs - the administrative command line: `--help` of every
// subcommand, `agency add`, `user add --password-stdin`, `user reset-mfa`
// and `audit verify` against a real PostgreSQL: what they print, their exit
// statuses, the checks they share with the admin API, and the audit rows
// they write (actor "cli", address "local").

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, cliEnv, createDatabase, psql } from './lib/harness.mjs';

const PASSWORD = 'correct horse battery staple';
let dbUrl;

// cli(args, {input, url, env}) - runs mdtboard; resolves {code, stdout, stderr}.
function cli(args, { input = '', url = dbUrl, env = {} } = {}) {
    return new Promise((resolve) => {
        const fullEnv = cliEnv(url, env);
        const child = execFile(BIN, args, { env: fullEnv }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
        );
        child.stdin.on('error', () => {}); // the command may exit before reading
        child.stdin.end(input);
    });
}

let counter = 0;
const unique = (p) => `${p}${process.pid}_${++counter}`;

async function addAgency(kind = 'cac', name = unique('Agency ')) {
    const r = await cli(['agency', 'add', '--name', name, '--kind', kind]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\n$/);
    return Number(r.stdout);
}

function userArgs({ username = unique('u'), display = 'Some One', agency, role = 'member' } = {}) {
    return ['user', 'add', '--username', username, '--display-name', display, '--agency-id', String(agency), '--role', role, '--password-stdin'];
}

before(async () => {
    dbUrl = await createDatabase();
});

test('--help: mdtboard lists the subcommands; each subcommand lists its flags and exits 0', async () => {
    const top = await cli(['--help']);
    assert.equal(top.code, 0);
    for (const c of ['agency add', 'user add', 'user reset-mfa', 'audit verify', 'audit checkpoint', 'keys init']) {
        assert.ok(top.stdout.includes(c), top.stdout);
    }

    const expect = {
        'agency add': ['--name', '--kind', 'law_enforcement'],
        'user add': ['--username', '--display-name', '--agency-id', '--role', '--password-stdin'],
        'user reset-mfa': ['--username'],
        'audit verify': ['audit chain ok', '--key-file', '--checkpoint'],
        'audit checkpoint': ['--key-file', 'audit checkpoint id=N hash=H at=T'],
        'keys init': ['--file', '0600'],
    };
    for (const [cmd, words] of Object.entries(expect)) {
        // --help works without a database
        const r = await cli([...cmd.split(' '), '--help'], { url: undefined });
        assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^usage: mdtboard ${cmd}`));
        for (const w of words) assert.ok(r.stdout.includes(w), `${cmd} --help lacks ${w}: ${r.stdout}`);
        assert.equal(r.stderr, '');
    }
    const group = await cli(['user', '--help']);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /user add/);
    const none = await cli(['user']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /user add/);
    const unknown = await cli(['user', 'delete']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown command 'delete'/);
});

test('agency add: prints the new id; a bad kind, a missing flag, a duplicate name are refused', async () => {
    const name = unique('Stamford PD ');
    const id = await addAgency('law_enforcement', name);
    assert.equal(await psql(dbUrl, `SELECT name || '|' || kind || '|' || active FROM agencies WHERE id = ${id}`), `${name}|law_enforcement|true`);

    const bad = await cli(['agency', 'add', '--name', unique('X'), '--kind', 'police']);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /--kind must be one of: cac, child_welfare, law_enforcement/);

    const missing = await cli(['agency', 'add', '--kind', 'cac']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--name is required/);

    const dup = await cli(['agency', 'add', '--name', name.toUpperCase(), '--kind', 'cac']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);

    const stray = await cli(['agency', 'add', '--name', unique('Y'), '--kind', 'cac', '--colour', 'red']);
    assert.notEqual(stray.code, 0);
    assert.match(stray.stderr, /unknown argument '--colour'/);

    // --flag=value works too
    const eq = await cli(['agency', 'add', `--name=${unique('Eq ')}`, '--kind=medical']);
    assert.equal(eq.code, 0, eq.stderr);
});

test('user add: reads the password from stdin, prints the id; the user can be found', async () => {
    const agency = await addAgency();
    const username = unique('ada.');
    const r = await cli(userArgs({ username, display: 'Ada L.', agency, role: 'supervisor' }), { input: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\n$/);
    const id = Number(r.stdout);
    const row = await psql(
        dbUrl,
        `SELECT username, display_name, agency_id, role, active, must_change_password, password_hash LIKE '$scrypt$%'
         FROM users WHERE id = ${id}`,
    );
    assert.equal(row, `${username}|Ada L.|${agency}|supervisor|t|f|t`);
    assert.ok(!(await psql(dbUrl, `SELECT password_hash FROM users WHERE id = ${id}`)).includes(PASSWORD));

    // a Windows line end and no line end at all are fine
    assert.equal((await cli(userArgs({ agency }), { input: `${PASSWORD}\r\n` })).code, 0);
    assert.equal((await cli(userArgs({ agency }), { input: PASSWORD })).code, 0);
});

test('user add: a short password, no password, a bad role, username or agency are refused and create nothing', async () => {
    const agency = await addAgency();
    const before = await psql(dbUrl, 'SELECT count(*) FROM users');
    const cases = [
        [userArgs({ agency }), 'short\n', /at least 12 characters/],
        [userArgs({ agency }), '', /no password on standard input/],
        [userArgs({ agency, role: 'boss' }), `${PASSWORD}\n`, /--role must be one of/],
        [userArgs({ agency, username: 'has space' }), `${PASSWORD}\n`, /username must be/],
        [userArgs({ agency: 'abc' }), `${PASSWORD}\n`, /--agency-id must be a positive integer/],
        [userArgs({ agency: 999999 }), `${PASSWORD}\n`, /agency_id names no active agency/],
        [userArgs({ agency }).filter((a) => a !== '--password-stdin'), `${PASSWORD}\n`, /--password-stdin is required/],
        [userArgs({ agency }).slice(0, 4).concat(['--password-stdin']), `${PASSWORD}\n`, /--display-name is required/],
    ];
    for (const [args, input, message] of cases) {
        const r = await cli(args, { input });
        assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, message);
    }
    const username = unique('dup');
    assert.equal((await cli(userArgs({ agency, username }), { input: `${PASSWORD}\n` })).code, 0);
    const dup = await cli(userArgs({ agency, username: username.toUpperCase() }), { input: `${PASSWORD}\n` });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /username is taken/);
    assert.equal(await psql(dbUrl, 'SELECT count(*) FROM users'), String(Number(before) + 1));
});

test('user reset-mfa: clears the enrolment; an unknown user is refused', async () => {
    const agency = await addAgency();
    const username = unique('mfa');
    const id = Number((await cli(userArgs({ agency, username }), { input: `${PASSWORD}\n` })).stdout);
    await psql(dbUrl, `UPDATE users SET mfa_enabled = true, mfa_secret = 'JBSWY3DPEHPK3PXP', mfa_last_step = 9 WHERE id = ${id}`);
    const r = await cli(['user', 'reset-mfa', '--username', username]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(username));
    assert.equal(await psql(dbUrl, `SELECT mfa_enabled, mfa_secret IS NULL, mfa_last_step FROM users WHERE id = ${id}`), 'f|t|0');
    const seq = await psql(dbUrl, `SELECT count(*) FROM events WHERE kind = 'user.updated' AND object_id = ${id}`);
    assert.equal(seq, '1');

    const unknown = await cli(['user', 'reset-mfa', '--username', 'nobody-at-all']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no user named 'nobody-at-all'/);
});

test('the command line audits its changes as actor "cli" from "local"', async () => {
    const name = unique('Audited ');
    const agency = await addAgency('medical', name);
    const username = unique('aud');
    const id = Number((await cli(userArgs({ agency, username, role: 'interviewer' }), { input: `${PASSWORD}\n` })).stdout);
    await cli(['user', 'reset-mfa', '--username', username]);
    const rows = await psql(
        dbUrl,
        `SELECT action || '|' || coalesce(user_id::text, '-') || '|' || username || '|' || address || '|' || object_type || '|' || object_id || '|' || detail::text
         FROM audit WHERE (object_type = 'agency' AND object_id = ${agency}) OR (object_type = 'user' AND object_id = ${id}) ORDER BY id`,
    );
    assert.deepEqual(rows.split('\n'), [
        `agency.create|-|cli|local|agency|${agency}|{"kind": "medical", "name": "${name}"}`,
        `user.create|-|cli|local|user|${id}|{"role": "interviewer", "username": "${username}", "target_agency_id": ${agency}}`,
        `user.reset_mfa|-|cli|local|user|${id}|{"target_agency_id": ${agency}}`,
    ]);
    assert.ok(!(await psql(dbUrl, 'SELECT string_agg(detail::text, \' \') FROM audit')).includes(PASSWORD));
});

test('audit verify: ok on an intact chain; errors without a database', async () => {
    const r = await cli(['audit', 'verify']);
    assert.equal(r.code, 0, r.stderr);
    const rows = await psql(dbUrl, 'SELECT count(*) FROM audit');
    assert.equal(r.stdout, `audit chain ok: ${rows} rows\n`);

    const nourl = await cli(['audit', 'verify'], { url: undefined, env: { MDT_DATABASE_URL: undefined } });
    assert.notEqual(nourl.code, 0);
    assert.match(nourl.stderr, /MDT_DATABASE_URL is not set/);
    const down = await cli(['agency', 'add', '--name', 'X', '--kind', 'cac'], { url: 'postgresql://nobody@/nowhere?host=/nonexistent&port=1' });
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /cannot connect/);
});

test('keys init: a 0600 key file, never overwritten; commands that write audit rows need one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-cli-key-'));
    try {
        const file = path.join(dir, 'k');
        const r = await cli(['keys', 'init', '--file', file], { url: undefined });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^key file .* created \(key id [0-9a-f]{16}\)\n$/);
        assert.equal(statSync(file).mode & 0o777, 0o600);
        const text = readFileSync(file, 'utf8');
        assert.match(text, /^mdtboard-key 1$/m);
        assert.ok(!r.stdout.includes(/^master (\S+)$/m.exec(text)[1]), 'the secret is never printed');
        const again = await cli(['keys', 'init', '--file', file], { url: undefined });
        assert.equal(again.code, 1);
        assert.match(again.stderr, /already exists/);
        assert.equal(readFileSync(file, 'utf8'), text);
        assert.equal((await cli(['keys', 'init'], { url: undefined })).code, 2);

        const nokey = await cli(['agency', 'add', '--name', unique('NoKey '), '--kind', 'cac'], { env: { MDT_KEY_FILE: undefined } });
        assert.equal(nokey.code, 1);
        assert.match(nokey.stderr, /MDT_KEY_FILE is not set/);
        const serve = await cli(['serve', '--listen', '127.0.0.1:1'], { env: { MDT_KEY_FILE: undefined } });
        assert.equal(serve.code, 2);
        assert.match(serve.stderr, /MDT_KEY_FILE is not set/);
        chmodSync(file, 0o644);
        const open = await cli(['audit', 'verify'], { env: { MDT_KEY_FILE: file } });
        assert.equal(open.code, 1);
        assert.match(open.stderr, /chmod 600/);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});
