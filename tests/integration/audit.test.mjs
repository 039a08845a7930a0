// audit.test.mjs - the audit trail survives its own database (docs/security.md):
// rows written by the server and by the command line are chained with
// HMAC-SHA-256 under the installation key; `mdtboard audit verify` finds an
// edited row re-hashed without the key (plain SHA-256, or another key file),
// rows removed from the end, and, given a checkpoint, a log truncated or cut
// back with the ledger's head moved to match; the serving role can neither
// change nor empty the log nor disable its triggers; an installation with
// plain SHA-256 rows keeps them, checked as before, after a switch-over row.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
    BIN,
    SOURCE_DIR,
    OWNER_ROLE,
    adminUrl,
    api,
    cliEnv,
    createDatabase,
    migrate,
    ownerUrl,
    psql,
    servingUrl,
    startServer,
    withDatabase,
} from './lib/harness.mjs';
import { addAgency, addAgencyUser } from './lib/fixtures.mjs';
import { appendAudit, rehash } from './lib/auditchain.mjs';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mdt-audit-'));
let base; // a database whose log the server and the CLI wrote; stopped
let baseRows = 0;
let copies = 0;

// mdt(args, url, env) - runs mdtboard as the serving role; {code, stdout, stderr}.
function mdt(args, url, env = {}) {
    return new Promise((resolve) => {
        execFile(BIN, args, { env: cliEnv(servingUrl(url), env) }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
        );
    });
}

const verify = (url, args = [], env) => mdt(['audit', 'verify', ...args], url, env);

const dbName = (url) => decodeURIComponent(/^postgres(?:ql)?:\/\/[^/?]*\/([^?]*)/.exec(url)[1]);

// copyOfBase() - a fresh database holding base's log (CREATE DATABASE ... TEMPLATE).
async function copyOfBase() {
    const admin = await adminUrl();
    const name = `${dbName(base)}_c${++copies}`;
    await psql(admin, `CREATE DATABASE "${name}" TEMPLATE "${dbName(base)}" OWNER ${OWNER_ROLE}`);
    return withDatabase(admin, name);
}

const count = async (url) => Number(await psql(url, 'SELECT count(*) FROM audit'));

before(async () => {
    base = await createDatabase();
    const user = await addAgencyUser(base, { role: 'admin', kind: 'cac' }); // CLI rows
    await addAgency(base);
    const server = await startServer({ dbUrl: base, env: { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOGIN_RATE: 100000, MDT_LOCKOUT_FAILURES: 100 } });
    try {
        const client = api(server.url);
        for (let i = 0; i < 8; i++) {
            const bad = await client.post('/api/v1/login', { username: user.username, password: `wrong ${i} password` });
            assert.equal(bad.status, 401, bad.text);
        }
        const ok = await client.post('/api/v1/login', { username: user.username, password: user.password });
        assert.equal(ok.status, 200, ok.text);
        for (let i = 0; i < 14; i++) assert.equal((await client.get('/api/v1/audit')).status, 200);
    } finally {
        assert.equal(await server.stop(), 0); // flushes the buffered reads
    }
    baseRows = await count(base);
    assert.ok(baseRows >= 20, `only ${baseRows} audit rows`);
    assert.equal(
        await psql(base, 'SELECT count(DISTINCT username) FILTER (WHERE username = \'cli\') FROM audit'),
        '1',
        'the command line wrote rows too',
    );
});

test('untouched: verify is ok and names the row count; the server and the CLI keyed every row', async () => {
    const r = await verify(base);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `audit chain ok: ${baseRows} rows\n`);
    assert.equal(await psql(base, 'SELECT keyed_from FROM audit_chain'), '1');
    // none of the rows is a plain SHA-256 link
    const plain = await psql(
        base,
        `SELECT count(*) FROM audit a
          WHERE hash = encode(sha256(convert_to(prev_hash || E'\\n' || mdt_audit_canonical(a), 'UTF8')), 'hex')`,
    );
    assert.equal(plain, '0');
});

test('an edited row re-hashed with plain SHA-256 (and the ledger moved to match) fails at that row', async () => {
    const url = await copyOfBase();
    const target = Math.floor(baseRows / 2);
    await psql(url, `ALTER TABLE audit DISABLE TRIGGER audit_no_update;
        UPDATE audit SET outcome = 'ok', detail = '{"forged": true}' WHERE id = ${target};
        ALTER TABLE audit ENABLE TRIGGER audit_no_update`);
    const edited = await verify(url);
    assert.equal(edited.code, 1);
    assert.match(edited.stderr, new RegExp(`^audit chain broken at row ${target}: `));
    await rehash(url, target, null);
    const r = await verify(url);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`^audit chain broken at row ${target}: its HMAC does not match`));
});

test('an edited row re-hashed under another key file fails at that row; so does verify with the wrong key', async () => {
    const url = await copyOfBase();
    const otherKey = path.join(tmp, `other-${copies}.key`);
    const made = await mdt(['keys', 'init', '--file', otherKey], url);
    assert.equal(made.code, 0, made.stderr);
    const { auditKey } = await import('./lib/auditchain.mjs');
    const target = baseRows - 3;
    await psql(url, `ALTER TABLE audit DISABLE TRIGGER audit_no_update;
        UPDATE audit SET username = 'someone else' WHERE id = ${target};
        ALTER TABLE audit ENABLE TRIGGER audit_no_update`);
    await rehash(url, target, auditKey(otherKey));
    const r = await verify(url);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^audit chain broken at row ${target}: its HMAC does not match`));
    // the untouched log with the wrong key file: refused before the walk
    // (the chain's key is stored wrapped under the database's KEK, which
    // another key file does not open)
    const wrong = await verify(base, ['--key-file', otherKey]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /is not the key of this database/);
});

test('deleting the last 5 rows fails: the log no longer ends at the ledger\'s head', async () => {
    const url = await copyOfBase();
    await psql(url, `ALTER TABLE audit DISABLE TRIGGER audit_no_update;
        DELETE FROM audit WHERE id > ${baseRows - 5};
        ALTER TABLE audit ENABLE TRIGGER audit_no_update`);
    const r = await verify(url);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^audit chain broken at row ${baseRows - 4}: the row is missing: the log ends at row ${baseRows - 5} but the ledger's head is row ${baseRows}`));
});

test('a checkpoint catches a log truncated or cut back with the ledger moved to match', async () => {
    const url = await copyOfBase();
    const cp = await mdt(['audit', 'checkpoint'], url);
    assert.equal(cp.code, 0, cp.stderr);
    const head = await psql(url, `SELECT id || ' ' || hash FROM audit ORDER BY id DESC LIMIT 1`);
    const [id, hash] = head.split(' ');
    assert.match(cp.stdout, new RegExp(`^audit checkpoint id=${id} hash=${hash} at=\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z\n$`));
    const file = path.join(tmp, `checkpoint-${copies}.txt`);
    writeFileSync(file, `kept by the operator\n${cp.stdout}`);
    const ok = await verify(url, ['--checkpoint', file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `audit chain ok: ${baseRows} rows\ncheckpoint row ${id}: ok\n`);

    // later rows keep the checkpoint valid
    await appendAudit(url, [{ action: 'login', outcome: 'failure', address: '127.0.0.1' }]);
    assert.equal((await verify(url, ['--checkpoint', file])).code, 0);

    // cut back to before the checkpoint, the ledger's head moved to match:
    // the chain alone looks whole, the checkpoint does not
    const cut = Number(id) - 4;
    await psql(url, `ALTER TABLE audit DISABLE TRIGGER audit_no_update;
        DELETE FROM audit WHERE id > ${cut};
        ALTER TABLE audit ENABLE TRIGGER audit_no_update;
        UPDATE ledger SET audit_id = ${cut}, audit_hash = (SELECT hash FROM audit WHERE id = ${cut})`);
    assert.equal((await verify(url)).code, 0, 'without the checkpoint the shorter log verifies');
    const r = await verify(url, ['--checkpoint', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^audit chain broken at row ${id}: the checkpointed row is missing`));

    // truncated, the ledger reset
    await psql(url, `ALTER TABLE audit DISABLE TRIGGER audit_no_truncate; TRUNCATE audit;
        ALTER TABLE audit ENABLE TRIGGER audit_no_truncate;
        UPDATE ledger SET audit_id = 0, audit_hash = repeat('0', 64)`);
    const empty = await verify(url, ['--checkpoint', file]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, new RegExp(`^audit chain broken at row ${id}: the checkpointed row is missing`));

    // a checkpoint whose row is there with another hash
    writeFileSync(file, `audit checkpoint id=${id} hash=${'0'.repeat(64)} at=-\n`);
    const other = await copyOfBase();
    const differs = await verify(other, ['--checkpoint', file]);
    assert.equal(differs.code, 1);
    assert.match(differs.stderr, new RegExp(`^audit chain broken at row ${id}: its hash differs from the checkpoint's`));
    writeFileSync(file, 'nothing here\n');
    assert.equal((await verify(other, ['--checkpoint', file])).code, 2);
});

test('the serving role may read and append the log but not change, empty or unguard it', async () => {
    const url = servingUrl(await copyOfBase());
    for (const sql of [
        'ALTER TABLE audit DISABLE TRIGGER audit_no_update',
        'ALTER TABLE audit DISABLE TRIGGER ALL',
        'UPDATE audit SET outcome = \'ok\' WHERE id = 1',
        'DELETE FROM audit WHERE id = 1',
        'TRUNCATE audit',
        'DROP TABLE audit',
        'UPDATE audit_chain SET keyed_from = 1000000',
        'DROP TRIGGER audit_no_update ON audit',
    ]) {
        await assert.rejects(psql(url, sql), /permission denied|must be owner/, sql);
    }
    assert.equal(await psql(url, 'SELECT count(*) FROM audit'), String(baseRows));
    // grants follow every table: DML everywhere but the log and the
    // migration-only tables, TRUNCATE nowhere
    const grants = await psql(
        url,
        `SELECT string_agg(tablename || ':' ||
                  has_table_privilege(tablename, 'SELECT')::text || has_table_privilege(tablename, 'INSERT')::text ||
                  has_table_privilege(tablename, 'UPDATE')::text || has_table_privilege(tablename, 'DELETE')::text ||
                  has_table_privilege(tablename, 'TRUNCATE')::text, ' ' ORDER BY tablename)
           FROM pg_tables WHERE schemaname = 'public'`,
    );
    const tables = Object.fromEntries(grants.split(' ').map((g) => g.split(':')));
    assert.ok(Object.keys(tables).length > 10, grants);
    for (const [t, g] of Object.entries(tables)) {
        const want = t === 'audit' ? 'truetruefalsefalsefalse'
            : ['audit_chain', 'schema_migrations'].includes(t) ? 'truefalsefalsefalsefalse'
            : 'truetruetruetruefalse';
        assert.equal(g, want, `${t}: ${g}`);
    }
    const who = await psql(url, 'SELECT current_user');
    assert.equal(who, 'mdtboard_serve');
    assert.equal((await verify(url)).code, 0);
});

test('serve warns once, at warn level, when its role owns the tables or is a superuser', async () => {
    const url = await copyOfBase();
    const serving = await startServer({ dbUrl: url }); // the serving role: no warning
    await serving.stop();
    assert.ok(!/can rewrite the audit log/.test(serving.stderr()), serving.stderr());
    // the harness always connects as the serving role; run one as the owner by hand
    const { spawn } = await import('node:child_process');
    const { freePort } = await import('./lib/harness.mjs');
    const port = await freePort();
    const proc = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`], {
        env: cliEnv(ownerUrl(url), { MDT_WEB_ROOT: path.join(SOURCE_DIR, 'web') }),
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    proc.stdout.setEncoding('utf8').on('data', (d) => (err += d));
    const deadline = Date.now() + 10000;
    while (!/serving/.test(err) && Date.now() < deadline && proc.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
    const warnings = err.split('\n').filter((l) => /can rewrite the audit log/.test(l));
    assert.equal(warnings.length, 1, err);
    assert.match(warnings[0], /warn/i);
    assert.match(warnings[0], /mdtboard_owner \(owns the audit table\)/);
    assert.ok(!/master|[0-9a-f]{64}/.test(err), 'no key material in the log');
});

test('an installation with plain SHA-256 rows keeps them: a switch-over row, then keyed rows', async () => {
    const url = await createDatabase({ migrate: false });
    // the schema as an older binary left it (migrations 1 to 5), with rows
    const sql = (f) => readFileSync(path.join(SOURCE_DIR, 'schema', f), 'utf8');
    await psql(ownerUrl(url), `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const [v, f] of [[1, '001_foundation.sql'], [2, '002_identity.sql'], [3, '003_cases.sql'], [4, '004_meetings.sql'], [5, '005_meeting_outcomes.sql']]) {
        await psql(ownerUrl(url), `${sql(f)}; INSERT INTO schema_migrations VALUES (${v}, '${f}')`);
    }
    await psql(ownerUrl(url), `SELECT mdt_audit_append('[{"action":"login","outcome":"failure"},{"action":"login","outcome":"ok"},{"action":"case.read","case_id":7}]'::jsonb)`);
    assert.match(await migrate(url), /schema version \d+ \(\d+ migrations? applied\)/);
    assert.equal(await psql(url, 'SELECT keyed_from FROM audit_chain'), '5');
    assert.equal(await psql(url, `SELECT action || ' ' || (detail->>'keyed_from') FROM audit WHERE id = 4`), 'audit.keyed 5');
    await appendAudit(url, [{ action: 'login', outcome: 'ok' }]);
    const r = await verify(url);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'audit chain ok: 5 rows\n');
    // a legacy row edited and the whole chain re-hashed with SHA-256: the
    // first keyed row no longer matches
    await psql(url, `ALTER TABLE audit DISABLE TRIGGER audit_no_update; UPDATE audit SET outcome = 'ok' WHERE id = 1;
        ALTER TABLE audit ENABLE TRIGGER audit_no_update`);
    await rehash(url, 1, null);
    const bad = await verify(url);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^audit chain broken at row 5: its HMAC does not match/);
});
