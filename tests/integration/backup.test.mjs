// backup.test.mjs - scripts/backup and scripts/restore (docs/operations.md):
// a database with audit rows written by the server and the command line is
// dumped, restored into a fresh cluster, and `mdtboard audit verify` passes
// there with the same key file (and fails without the right one); the
// restored installation serves as the serving role; restore refuses a
// database that is not empty, and backup never overwrites a file.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
    BIN,
    SOURCE_DIR,
    api,
    cliEnv,
    createDatabase,
    ownerUrl,
    psql,
    servingUrl,
    startCluster,
    startServer,
} from './lib/harness.mjs';
import { addAgencyUser } from './lib/fixtures.mjs';
import { appendAudit } from './lib/auditchain.mjs';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mdt-backup-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// script(name, args, env) - runs scripts/NAME; resolves {code, stdout, stderr}.
function script(name, args, env) {
    return new Promise((resolve) => {
        execFile(path.join(SOURCE_DIR, 'scripts', name), args, { env }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
        );
    });
}

function verify(url, env = {}) {
    return new Promise((resolve) => {
        execFile(BIN, ['audit', 'verify'], { env: cliEnv(servingUrl(url), env) }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
        );
    });
}

test('backup, restore into a fresh cluster: the audit chain verifies there with the same key file', async () => {
    const source = await createDatabase();
    const user = await addAgencyUser(source, { role: 'admin' });
    const server = await startServer({ dbUrl: source, env: { MDT_MFA_REQUIRED_KINDS: 'other' } });
    const client = api(server.url);
    assert.equal((await client.post('/api/v1/login', { username: user.username, password: user.password })).status, 200);
    assert.equal((await client.get('/api/v1/audit')).status, 200);
    await appendAudit(source, [{ action: 'login', outcome: 'failure', address: '192.0.2.1' }]);
    assert.equal(await server.stop(), 0);
    const rows = await psql(source, 'SELECT count(*) FROM audit');
    assert.ok(Number(rows) >= 4, rows);
    const head = await psql(source, 'SELECT audit_id || \' \' || audit_hash FROM ledger');

    const file = path.join(tmp, 'mdtboard.dump');
    const env = (url, extra = {}) => cliEnv(ownerUrl(url), { MDT_BIN: BIN, ...extra });
    const b = await script('backup', [file], env(source));
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, new RegExp(`audit log up to row ${head.split(' ')[0]}\\b`));
    assert.match(b.stdout, /key file is not in it/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = await script('backup', [file], env(source));
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /exists/);

    const cluster = await startCluster();
    try {
        const target = await createDatabase({ adminUrl: cluster.adminUrl, migrate: false });
        const r = await script('restore', [file], env(target));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`audit chain ok: ${rows} rows`));
        assert.equal(await psql(target, 'SELECT audit_id || \' \' || audit_hash FROM ledger'), head);
        const ok = await verify(target);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(ok.stdout, `audit chain ok: ${rows} rows\n`);
        // the tables belong to the owner role, the serving role has its grants
        assert.equal(await psql(target, "SELECT tableowner FROM pg_tables WHERE tablename = 'audit'"), 'mdtboard_owner');
        const restored = await startServer({ dbUrl: target, env: { MDT_MFA_REQUIRED_KINDS: 'other' } });
        try {
            const c2 = api(restored.url);
            const login = await c2.post('/api/v1/login', { username: user.username, password: user.password });
            assert.equal(login.status, 200, login.text);
        } finally {
            await restored.stop();
        }
        assert.equal((await verify(target)).code, 0);

        // without the installation's key file the restored log does not
        // verify: the chain's key is stored wrapped under the KEK, which
        // another key file does not open (refused before the walk)
        const otherKey = path.join(tmp, 'other.key');
        const made = await new Promise((resolve) =>
            execFile(BIN, ['keys', 'init', '--file', otherKey], (err) => resolve(!err)),
        );
        assert.ok(made && existsSync(otherKey));
        const wrong = await verify(target, { MDT_KEY_FILE: otherKey });
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, /is not the key of this database/);

        // restore refuses a database that already has tables
        const before = await psql(target, 'SELECT count(*) FROM audit');
        const twice = await script('restore', [file], env(target));
        assert.notEqual(twice.code, 0);
        assert.match(twice.stderr, /restore only into an empty one/);
        assert.equal(await psql(target, 'SELECT count(*) FROM audit'), before);
    } finally {
        await cluster.destroy();
    }
});
