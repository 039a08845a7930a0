// tls.test.mjs - mdtboard serving HTTPS itself (MDT_TLS_CERT/MDT_TLS_KEY)
// with a certificate from scripts/tls-selfsigned.sh: TLS 1.2 and 1.3 only,
// ALPN http/1.1 only (never h2), HSTS on every answer, and a Secure session
// cookie because the origin is https://.
//
// The harness's startServer waits on plain http, so this file spawns its
// server itself and waits on https.
//
// When testssl (Debian package testssl.sh) is installed, the last test runs
// it against the listener (about 30 s; MDT_TESTSSL=0 skips it). docs/tls.md
// has the full manual run.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { BIN, SOURCE_DIR, childEnv, createDatabase, freePort, keyFile as installationKey, servingUrl, sleep } from './lib/harness.mjs';
import { addAgencyUser } from './lib/fixtures.mjs';

let tmp;
let certFile;
let keyFile;
let dbUrl;
let proc;
let port;
let serverErr = '';

function runScript(dir) {
    return new Promise((resolve, reject) => {
        execFile(path.join(SOURCE_DIR, 'scripts', 'tls-selfsigned.sh'), [dir], (err, stdout, stderr) => {
            if (err) reject(new Error(`tls-selfsigned.sh failed: ${err.message}\n${stderr}`));
            else resolve(stdout);
        });
    });
}

// request(p, {method, headers, body}) - one HTTPS request that trusts our
// self-signed certificate. Resolves {status, headers, text, json, socket facts}.
function request(p, { method = 'GET', headers = {}, body } = {}) {
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: '127.0.0.1',
                port,
                path: p,
                method,
                headers,
                agent: false,
                ca: readFileSync(certFile), // verified, for the IP address in the SAN
            },
            (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (d) => (text += d));
                res.on('end', () => {
                    let json = null;
                    try {
                        json = JSON.parse(text);
                    } catch {
                        // not JSON
                    }
                    resolve({
                        status: res.statusCode,
                        headers: res.headers,
                        text,
                        json,
                        protocol: res.socket.getProtocol?.(),
                    });
                });
            },
        );
        req.on('error', reject);
        req.end(body);
    });
}

// handshake(opts) - a bare TLS connection to the server; resolves
// {protocol, alpn, cipher} or rejects with the handshake's error.
function handshake(opts = {}, target = { host: '127.0.0.1', port: () => port }) {
    return new Promise((resolve, reject) => {
        const sock = tls.connect({
            host: target.host,
            port: target.port(),
            rejectUnauthorized: false,
            servername: 'localhost',
            ...opts,
        });
        const timer = setTimeout(() => {
            sock.destroy();
            reject(new Error('handshake timed out'));
        }, 5000);
        sock.once('secureConnect', () => {
            clearTimeout(timer);
            const out = { protocol: sock.getProtocol(), alpn: sock.alpnProtocol, cipher: sock.getCipher() };
            sock.end();
            resolve(out);
        });
        sock.once('error', (err) => {
            clearTimeout(timer);
            reject(err);
        });
    });
}

before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mdt-tls-'));
    const out = await runScript(path.join(tmp, 'tls'));
    certFile = /^MDT_TLS_CERT=(.+)$/m.exec(out)?.[1];
    keyFile = /^MDT_TLS_KEY=(.+)$/m.exec(out)?.[1];
    assert.ok(certFile && keyFile, `tls-selfsigned.sh printed: ${out}`);

    dbUrl = await createDatabase();
    port = await freePort();
    const env = childEnv({
        MDT_LISTEN: `127.0.0.1:${port}`,
        MDT_DATABASE_URL: servingUrl(dbUrl),
        MDT_KEY_FILE: installationKey(),
        MDT_TLS_CERT: certFile,
        MDT_TLS_KEY: keyFile,
        MDT_TEST_HOOKS: '1',
        MDT_WEB_ROOT: path.join(SOURCE_DIR, 'web'),
        MDT_LOGIN_RATE: '100000',
    });
    proc = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stderr.setEncoding('utf8').on('data', (d) => (serverErr += d));
    proc.stdout.setEncoding('utf8').on('data', (d) => (serverErr += d));
    const deadline = Date.now() + 10000;
    for (;;) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`mdtboard exited:\n${serverErr}`);
        try {
            const res = await request('/healthz');
            if (res.status === 200) break;
        } catch {
            // not up yet
        }
        if (Date.now() > deadline) throw new Error(`mdtboard over TLS did not answer /healthz:\n${serverErr}`);
        await sleep(100);
    }
});

after(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
        await new Promise((resolve) => proc.once('exit', resolve));
        clearTimeout(timer);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// After a failed test, show what the server said (and whether it still runs).
afterEach((t) => {
    if (t.passed === false && proc) {
        const running = proc.exitCode === null && proc.signalCode === null;
        const state = running ? 'running' : `exited ${proc.exitCode ?? proc.signalCode}`;
        const tail = serverErr.split('\n').slice(-100).join('\n');
        process.stderr.write(`\n---- mdtboard over TLS (${state}) ----\n${tail}\n---- end ----\n`);
    }
});

process.on('exit', () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
});

test('tls-selfsigned.sh: CN=localhost, SAN localhost and 127.0.0.1, 825 days; a second run keeps the pair', async () => {
    const cert = new (await import('node:crypto')).X509Certificate(readFileSync(certFile));
    assert.match(cert.subject, /CN=localhost/);
    assert.match(cert.subjectAltName, /DNS:localhost/);
    assert.match(cert.subjectAltName, /IP Address:127\.0\.0\.1/);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86400000;
    assert.ok(Math.abs(days - 825) <= 1, `valid for ${days} days`);
    assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(keyFile))));

    const before = readFileSync(certFile, 'utf8');
    const again = await runScript(path.dirname(certFile));
    assert.equal(again, `MDT_TLS_CERT=${certFile}\nMDT_TLS_KEY=${keyFile}\n`);
    assert.equal(readFileSync(certFile, 'utf8'), before, 'a second run replaced a valid pair');
});

test('the certificate from the script verifies for 127.0.0.1 and localhost', async () => {
    const res = await request('/healthz');
    assert.equal(res.status, 200, res.text);
    const viaName = await handshake({ rejectUnauthorized: true, ca: readFileSync(certFile), servername: 'localhost' });
    assert.ok(viaName.protocol);
});

test('TLS 1.2 and TLS 1.3 handshakes succeed', async () => {
    const v12 = await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    assert.equal(v12.protocol, 'TLSv1.2');
    assert.match(v12.cipher.name, /^ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/, v12.cipher.name);
    const v13 = await handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    assert.equal(v13.protocol, 'TLSv1.3');
    const dflt = await handshake();
    assert.equal(dflt.protocol, 'TLSv1.3');
});

test('a TLS 1.1 handshake is refused by the server', async () => {
    // The client must really offer TLS 1.1 (OpenSSL 3 refuses it at its
    // default security level): prove the same client options work against a
    // server that accepts TLS 1.1, then that mdtboard refuses them.
    const old = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' };
    const control = tls.createServer({
        cert: readFileSync(certFile),
        key: readFileSync(keyFile),
        minVersion: 'TLSv1.1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    control.on('tlsClientError', () => {});
    await new Promise((resolve) => control.listen(0, '127.0.0.1', resolve));
    try {
        const ok = await handshake(old, { host: '127.0.0.1', port: () => control.address().port });
        assert.equal(ok.protocol, 'TLSv1.1', 'the control server should have spoken TLS 1.1');
    } finally {
        control.close();
    }
    // the server itself refuses: a protocol_version alert (70)
    await assert.rejects(handshake(old), (err) => {
        assert.equal(err.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', `${err.code}: ${err.message}`);
        return true;
    });
    await assert.rejects(handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }), {
        code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
});

test('ALPN: offering h2 and http/1.1 negotiates http/1.1', async () => {
    const r = await handshake({ ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(r.alpn, 'http/1.1');
    const h2only = await handshake({ ALPNProtocols: ['h2'] }).catch((err) => ({ err }));
    assert.ok(h2only.err || h2only.alpn !== 'h2', `h2 was negotiated: ${JSON.stringify(h2only)}`);
});

test('answers carry Strict-Transport-Security, errors too', async () => {
    for (const p of ['/healthz', '/api/v1/me', '/api/v1/nope']) {
        const res = await request(p);
        const hsts = res.headers['strict-transport-security'];
        assert.ok(hsts, `${p} (${res.status}) has no Strict-Transport-Security`);
        const maxAge = Number(/max-age=(\d+)/i.exec(hsts)?.[1]);
        assert.ok(maxAge >= 15552000, `HSTS max-age too short: ${hsts}`);
    }
});

test('the login cookie is Secure over https (MDT_ORIGIN defaults to https://127.0.0.1:PORT)', async () => {
    const u = await addAgencyUser(dbUrl, { kind: 'cac' });
    const res = await request('/api/v1/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ username: u.username, password: u.password }),
    });
    assert.equal(res.status, 200, res.text);
    const cookies = [].concat(res.headers['set-cookie'] ?? []);
    const line = cookies.find((c) => c.startsWith('mdt_session='));
    assert.ok(line, `no session cookie: ${JSON.stringify(cookies)}`);
    const attrs = line.split(';').map((s) => s.trim().toLowerCase());
    assert.ok(attrs.includes('secure'), line);
    assert.ok(attrs.includes('httponly'), line);
    assert.ok(attrs.includes('samesite=strict'), line);

    // and the session works over https
    const token = /^mdt_session=([^;]+)/.exec(line)[1];
    const me = await request('/api/v1/me', { headers: { Cookie: `mdt_session=${token}` } });
    assert.equal(me.status, 200, me.text);
    // the CSP names the wss:// origin
    assert.match(me.headers['content-security-policy'] ?? '', new RegExp(`wss://127\\.0\\.0\\.1:${port}`));
});

test('plain http on the TLS port gets no answer in clear text', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
        (r) => r.status,
        () => null,
    );
    assert.equal(res, null, `plain http was answered with ${res}`);
});

const TESTSSL = ['/usr/bin/testssl', '/usr/bin/testssl.sh', '/usr/local/bin/testssl.sh'].find((p) => existsSync(p));

test(
    'testssl: only TLS 1.2 and 1.3, strong ciphers, no known vulnerability',
    {
        skip: !TESTSSL
            ? 'testssl is not installed (apt-get install testssl.sh)'
            : process.env.MDT_TESTSSL === '0'
              ? 'MDT_TESTSSL=0'
              : false,
        timeout: 240000,
    },
    async () => {
        const json = path.join(tmp, 'testssl.json');
        await new Promise((resolve, reject) => {
            execFile(
                TESTSSL,
                ['--quiet', '--color', '0', '--warnings', 'batch', '--ip', 'one', '-p', '-s', '-f', '-U', '--jsonfile', json,
                    `https://127.0.0.1:${port}`],
                { maxBuffer: 16 << 20, timeout: 230000 },
                // testssl's exit status counts findings; the JSON is what we judge
                (err, stdout, stderr) => {
                    if (err?.killed) reject(new Error(`testssl did not finish within 230 s (a loaded machine?)\n${stderr}`));
                    else if (existsSync(json)) resolve();
                    else reject(new Error(`testssl wrote no JSON: ${err?.message}\n${stderr}`));
                },
            );
        });
        const findings = JSON.parse(readFileSync(json, 'utf8'));
        const by = new Map(findings.map((f) => [f.id, f]));
        const finding = (id) => by.get(id)?.finding ?? '(missing)';
        for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(finding(id), /^not offered/, `${id}: ${finding(id)}`);
        for (const id of ['TLS1_2', 'TLS1_3']) assert.match(finding(id), /^offered/, `${id}: ${finding(id)}`);
        const bad = findings.filter((f) => !['OK', 'INFO'].includes(f.severity));
        assert.deepEqual(bad, [], `testssl findings: ${JSON.stringify(bad, null, 1)}`);
    },
);
