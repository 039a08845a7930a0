// harness.mjs - what the integration tests need to run the real mdtboard
// against a real PostgreSQL.
//
// scripts/test.sh starts one throw-away cluster and passes its `postgres`
// database as MDT_TEST_ADMIN_URL; each test makes its own database there
// (createDatabase) and its own server (startServer). Run by hand, without
// MDT_TEST_ADMIN_URL, the harness starts a private cluster itself and
// removes it when the process exits, so
//   node --test tests/integration/foundation.test.mjs
// works on its own after a build (MDT_BIN defaults to build-test/mdtboard,
// then build/mdtboard).
//
// Roles and keys as in production (docs/operations.md): each database is
// owned by mdtboard_owner, which runs `mdtboard migrate`; servers connect
// as the serving role mdtboard_serve (member of mdtboard_app, the group
// migrations grant to); the URL createDatabase answers is the superuser's,
// for fixtures and tampering by psql. Every server and subcommand gets this
// process's installation key file (keyFile()) explicitly as MDT_KEY_FILE.
//
// Servers still running when the process exits are killed. When a test
// fails, the output of the servers it used is printed (see afterEach below).

import { spawn, execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'node:test';
import WebSocket from 'ws';
import { checkExchange, frameChecker } from './openapi.mjs';

export const SOURCE_DIR =
    process.env.MDT_SOURCE_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const BIN =
    process.env.MDT_BIN ??
    ['build-test', 'build'].map((d) => path.join(SOURCE_DIR, d, 'mdtboard')).find((p) => existsSync(p)) ??
    path.join(SOURCE_DIR, 'build', 'mdtboard');

const PG_SH = path.join(SOURCE_DIR, 'scripts', 'pg.sh');
const PSQL = existsSync('/usr/lib/postgresql/15/bin/psql') ? '/usr/lib/postgresql/15/bin/psql' : 'psql';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// until(fn, ms, what) - polls fn until it returns a truthy value (resolved),
// failing after ms with `what` in the message.
export async function until(fn, ms, what) {
    const deadline = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await sleep(20);
    }
}

function run(file, args, opts = {}) {
    return new Promise((resolve, reject) => {
        execFile(file, args, { maxBuffer: 64 << 20, ...opts }, (err, stdout, stderr) => {
            if (err) {
                err.message = `${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`;
                err.stdout = stdout;
                err.stderr = stderr;
                reject(err);
            } else {
                resolve({ stdout, stderr });
            }
        });
    });
}

export const OWNER_ROLE = 'mdtboard_owner';
export const SERVING_ROLE = 'mdtboard_serve';

// withUser(url, user) - the same libpq URI connecting as another role.
export function withUser(url, user) {
    const m = /^(postgres(?:ql)?:\/\/)(?:[^@/?]*@)?(.*)$/.exec(url);
    if (!m) throw new Error(`not a postgresql:// URI: ${url}`);
    return `${m[1]}${encodeURIComponent(user)}@${m[2]}`;
}

// withDatabase(url, db) - the same libpq URI with another database name.
export function withDatabase(url, db) {
    const m = /^(postgres(?:ql)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(url);
    if (!m) throw new Error(`not a postgresql:// URI: ${url}`);
    return `${m[1]}/${encodeURIComponent(db)}${m[2] ?? ''}`;
}

// psql(url, sql) - runs sql with psql; resolves with its unaligned output.
export async function psql(url, sql) {
    const { stdout } = await run(PSQL, ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
    return stdout.trim();
}

// ---- clusters ------------------------------------------------------------

const clusters = new Set();

// startCluster() - a private throw-away cluster (scripts/pg.sh --fast) for
// tests that stop and restart PostgreSQL. Removed when the process exits.
// Resolves {dir, url (database mdtboard), adminUrl (database postgres),
// stop(), start(), destroy()}.
export async function startCluster() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-pg-'));
    const cluster = {
        dir,
        url: null,
        adminUrl: null,
        async start() {
            const { stdout } = await run(PG_SH, ['start', dir, '--fast']);
            return stdout.trim();
        },
        async stop() {
            await run(PG_SH, ['stop', dir]);
        },
        async destroy() {
            clusters.delete(cluster);
            await run(PG_SH, ['destroy', dir]).catch(() => {});
            rmSync(dir, { recursive: true, force: true });
        },
    };
    clusters.add(cluster);
    cluster.url = await cluster.start();
    cluster.adminUrl = withDatabase(cluster.url, 'postgres');
    return cluster;
}

let ownAdminUrl = null;

// adminUrl() - the test cluster's `postgres` database: MDT_TEST_ADMIN_URL,
// or a private cluster started on first use.
export async function adminUrl() {
    if (process.env.MDT_TEST_ADMIN_URL) return process.env.MDT_TEST_ADMIN_URL;
    if (!ownAdminUrl) ownAdminUrl = startCluster().then((c) => c.adminUrl);
    return ownAdminUrl;
}

// ensureRoles(admin) - the owner, group and serving roles on admin's
// cluster (scripts/pg.sh makes them too); idempotent, safe in parallel.
const rolesReady = new Map();
function ensureRoles(admin) {
    if (!rolesReady.has(admin)) {
        const sql = `DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${OWNER_ROLE}') THEN CREATE ROLE ${OWNER_ROLE} LOGIN; END IF;
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mdtboard_app') THEN CREATE ROLE mdtboard_app NOLOGIN; END IF;
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${SERVING_ROLE}') THEN
                CREATE ROLE ${SERVING_ROLE} LOGIN IN ROLE mdtboard_app; END IF;
            EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$`;
        rolesReady.set(admin, psql(admin, sql));
    }
    return rolesReady.get(admin);
}

let dbCounter = 0;

// createDatabase({adminUrl?, migrate = true}) - a fresh, uniquely named
// database on the test cluster (or the given one), owned by the owner role
// and migrated as it with `mdtboard migrate`. Resolves with its URI as the
// superuser (servingUrl() gives the serving role's).
export async function createDatabase(opts = {}) {
    const admin = opts.adminUrl ?? (await adminUrl());
    await ensureRoles(admin);
    const name = `mdt_t${process.pid}_${++dbCounter}_${Math.random().toString(36).slice(2, 8)}`;
    await psql(admin, `CREATE DATABASE "${name}" OWNER ${OWNER_ROLE}`);
    const url = withDatabase(admin, name);
    if (opts.migrate !== false) await migrate(url, opts.bin ?? BIN);
    return url;
}

// servingUrl(url) - url as the serving role (what `mdtboard serve` uses).
export const servingUrl = (url) => withUser(url, SERVING_ROLE);
// ownerUrl(url) - url as the owner role (what `mdtboard migrate` uses).
export const ownerUrl = (url) => withUser(url, OWNER_ROLE);

function needBin() {
    if (!existsSync(BIN)) throw new Error(`no mdtboard binary at ${BIN}: build first (scripts/test.sh) or set MDT_BIN`);
}

const tempDirs = new Set(); // removed at exit
let ownKeyFile = null;

// keyFile() - this process's installation key file, made with `mdtboard
// keys init` in a temporary directory on first use (removed at exit).
export function keyFile() {
    if (!ownKeyFile) {
        needBin();
        const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-key-'));
        tempDirs.add(dir);
        const file = path.join(dir, 'mdtboard.key');
        execFileSync(BIN, ['keys', 'init', '--file', file], { stdio: 'ignore' });
        ownKeyFile = file;
    }
    return ownKeyFile;
}

// cliEnv(dbUrl, extra) - the environment for an mdtboard subcommand on
// dbUrl: MDT_DATABASE_URL and MDT_KEY_FILE set explicitly, then extra (a
// null or undefined value removes the variable).
export function cliEnv(dbUrl, extra = {}) {
    return childEnv({ MDT_DATABASE_URL: dbUrl, MDT_KEY_FILE: keyFile(), ...extra });
}

// migrate(url, bin) - runs `mdtboard migrate` (bin: another binary, e.g. a
// benchmark's "before" one) as the owner role; resolves with its stdout.
export async function migrate(url, bin = BIN) {
    needBin();
    const { stdout } = await run(bin, ['migrate'], { env: cliEnv(ownerUrl(url)) });
    return stdout;
}

// ---- servers ---------------------------------------------------------------

const servers = new Set(); // every server started by this process
let touched = new Set(); // servers used by the current test

// freePort() - a TCP port on 127.0.0.1 that was free a moment ago.
export async function freePort() {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const { port } = srv.address();
    await new Promise((resolve) => srv.close(resolve));
    return port;
}

// childEnv(overrides) - the environment of a process the tests start: this
// process's environment without any MDT_* variable (a developer's shell
// may export MDT_ORIGIN, MDT_TIME_ZONE, ... for a dev server; none of them
// may change what a test sees), plus overrides (undefined/null removes).
export function childEnv(overrides = {}) {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MDT_')) env[k] = v;
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined || v === null) delete env[k];
        else env[k] = String(v);
    }
    return env;
}

// startServer({dbUrl, env, args, port, readyTimeoutMs}) - spawns
// `mdtboard serve` on a free port, connected to dbUrl as the serving role
// with keyFile(), and waits until /healthz answers. MDT_TEST_WORKERS=N in
// this process's environment runs every server as N worker processes
// (MDT_WORKERS, docs/scaling.md) unless env sets MDT_WORKERS itself.
// Resolves {url, port, proc, stop(signal) -> exit code, stderr(), alive()}.
export async function startServer({ dbUrl, env = {}, args = [], port, readyTimeoutMs = 10000, bin = BIN } = {}) {
    if (!dbUrl) throw new Error('startServer: dbUrl is required');
    needBin();
    port ??= await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = spawn(bin, ['serve', ...args], {
        env: childEnv({
            MDT_LISTEN: `127.0.0.1:${port}`,
            MDT_DATABASE_URL: servingUrl(dbUrl),
            MDT_KEY_FILE: keyFile(),
            MDT_TEST_HOOKS: '1',
            MDT_WEB_ROOT: path.join(SOURCE_DIR, 'web'),
            MDT_WORKERS: process.env.MDT_TEST_WORKERS,
            ...env,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let errText = '';
    let outText = '';
    const keep = (s) => (s.length > 1 << 20 ? s.slice(-(1 << 20)) : s);
    proc.stderr.setEncoding('utf8').on('data', (d) => (errText = keep(errText + d)));
    proc.stdout.setEncoding('utf8').on('data', (d) => (outText = keep(outText + d)));
    const exited = new Promise((resolve) => {
        proc.on('exit', (code, signal) => resolve(code ?? signal));
    });
    const server = {
        url,
        port,
        proc,
        exited,
        stderr: () => errText,
        stdout: () => outText,
        alive: () => proc.exitCode === null && proc.signalCode === null,
        // stop(signal, timeoutMs) - sends signal (if still running) and
        // resolves with the exit code, or the signal's name when the process
        // died of a signal. A process still running after timeoutMs is
        // killed with SIGKILL (and so resolves 'SIGKILL').
        async stop(signal = 'SIGTERM', timeoutMs = 10000) {
            if (server.alive()) proc.kill(signal);
            const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
            const result = await exited;
            clearTimeout(timer);
            servers.delete(server);
            return result;
        },
    };
    servers.add(server);
    touched.add(server);

    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
        if (!server.alive()) {
            const code = await exited;
            throw new Error(`mdtboard serve exited (${code}) before /healthz answered:\n${errText}`);
        }
        try {
            await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
            return server;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) {
            proc.kill('SIGKILL');
            throw new Error(`mdtboard serve: /healthz did not answer within ${readyTimeoutMs} ms:\n${errText}`);
        }
        await sleep(50);
    }
}

// flushAudit(server) - resolves once every read audit row that the server
// buffered before this call is committed (a test hook): a test asserts that
// a read left no audit row only after this, never after a sleep.
export async function flushAudit(server) {
    const res = await fetch(`${server.url ?? server}/api/v1/_test/audit-flush`, { signal: AbortSignal.timeout(10000) });
    if (res.status !== 200) throw new Error(`audit flush answered ${res.status}: ${await res.text()}`);
    return (await res.json()).written;
}

// After a failed test, show what its servers said.
afterEach((t) => {
    if (t.passed === false) {
        for (const s of touched) {
            process.stderr.write(
                `\n---- mdtboard ${s.url} (${s.alive() ? 'running' : `exited ${s.proc.exitCode ?? s.proc.signalCode}`}) ----\n` +
                    `${s.stderr().split('\n').slice(-200).join('\n')}\n---- end of mdtboard output ----\n`,
            );
        }
    }
    touched = new Set([...servers].filter((s) => s.alive()));
});

process.on('exit', () => {
    for (const s of servers) if (s.alive()) s.proc.kill('SIGKILL');
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    for (const c of clusters) {
        try {
            execFileSync(PG_SH, ['destroy', c.dir], { stdio: 'ignore' });
        } catch {
            // already gone
        }
        rmSync(c.dir, { recursive: true, force: true });
    }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- HTTP ------------------------------------------------------------------

async function wrap(res) {
    const text = await res.text();
    let json = null;
    try {
        json = text ? JSON.parse(text) : null;
    } catch {
        json = null;
    }
    return { status: res.status, headers: res.headers, json, text };
}

// splitSetCookie(joined) - Set-Cookie lines from a comma-joined header (for
// a node without Headers.getSetCookie); commas inside Expires are skipped.
function splitSetCookie(joined) {
    return joined ? joined.split(/,(?=\s*[^;=\s]+=)/) : [];
}

// fetchOnce(url, init) - fetch, sent again once when the server had closed
// the kept-alive connection it went out on before reading it ("other side
// closed" with no answer: the server's idle timeout met a test process that
// was busy, e.g. spawning psql, when the close arrived). Only a request that
// may safely arrive twice is sent again: a GET or HEAD, or one carrying an
// Idempotency-Key. "Other side closed" is also what a client sees when the
// server dies after committing a request and before answering it (the
// faults test kills it mid-traffic): resending a plain POST then stores it
// twice, which is the client's doing, not the server's.
function mayResend(init = {}) {
    const method = (init.method ?? 'GET').toUpperCase();
    if (method === 'GET' || method === 'HEAD') return true;
    return Object.keys(init.headers ?? {}).some((h) => h.toLowerCase() === 'idempotency-key');
}

async function fetchOnce(url, init) {
    try {
        return await fetch(url, init);
    } catch (err) {
        if (err?.cause?.code !== 'UND_ERR_SOCKET' || !/other side closed/.test(err.cause.message)) throw err;
        if (!mayResend(init)) throw err;
        return fetch(url, init);
    }
}

// api(base) - a small fetch client with a cookie jar. Requests resolve
// {status, headers, json, text}; json is null when the body is not JSON.
// Every exchange is checked against the server's OpenAPI document
// (openapi.mjs): an answer the document does not describe fails the test.
// A csrf_token in any answer is remembered and sent as X-CSRF-Token on
// later state changes (set client.csrf yourself to override).
export function api(base) {
    const jar = new Map();
    const client = {
        base,
        jar,
        csrf: null,
        cookie() {
            return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
        },
        async request(method, p, { body, headers = {}, csrf = true } = {}) {
            const h = { ...headers };
            let payload = body;
            if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
                payload = JSON.stringify(body);
                h['Content-Type'] ??= 'application/json; charset=utf-8';
            }
            if (jar.size && !('Cookie' in h)) h.Cookie = client.cookie();
            if (csrf && client.csrf && !['GET', 'HEAD'].includes(method)) h['X-CSRF-Token'] ??= client.csrf;
            const res = await fetchOnce(new URL(p, base), { method, headers: h, body: payload, redirect: 'manual' });
            const setCookies = res.headers.getSetCookie?.() ?? splitSetCookie(res.headers.get('set-cookie'));
            for (const line of setCookies) {
                const [pair, ...attrs] = line.split(';');
                const eq = pair.indexOf('=');
                const name = pair.slice(0, eq).trim();
                const value = pair.slice(eq + 1).trim();
                const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-)/i.test(a));
                if (!value || expired) jar.delete(name);
                else jar.set(name, value);
            }
            const out = await wrap(res);
            await checkExchange({ base, method, url: p, reqBody: body, ...out });
            if (out.json && typeof out.json.csrf_token === 'string') client.csrf = out.json.csrf_token;
            return out;
        },
        get: (p, o) => client.request('GET', p, o),
        post: (p, body, o) => client.request('POST', p, { ...o, body }),
        put: (p, body, o) => client.request('PUT', p, { ...o, body }),
        patch: (p, body, o) => client.request('PATCH', p, { ...o, body }),
        del: (p, o) => client.request('DELETE', p, o),
    };
    return client;
}

// httpRaw(url, {method, headers, body}) - one request with node:http, for
// bodies the server may refuse before reading them (fetch would report the
// early close as an error). Resolves {status, headers, json, text}.
export function httpRaw(url, { method = 'GET', headers = {}, body } = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers, agent: false }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => {
                let json = null;
                try {
                    json = text ? JSON.parse(text) : null;
                } catch {
                    json = null;
                }
                resolve({ status: res.statusCode, headers: res.headers, json, text });
            });
            res.on('error', reject);
        });
        // The server may answer and close while we still send: only fail
        // when no answer came.
        req.on('error', (err) => setTimeout(() => reject(err), 200));
        if (body !== undefined) req.end(body);
        else req.end();
    });
}

// metrics(base) - GET /metrics parsed: Map name -> summed value over labels.
export async function metrics(base) {
    const res = await fetch(`${base}/metrics`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${text}`);
    return parseMetrics(text);
}

export function parseMetrics(text) {
    const out = new Map();
    for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
        if (!m) continue;
        out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[3]));
    }
    return out;
}

// ---- WebSocket -------------------------------------------------------------

// wsConnect(url, {cookie, origin, protocol, headers, timeoutMs}) - opens a
// WebSocket (http:// URLs are taken as ws://). Resolves a connection that
// collects every frame:
//   conn.frames            every parsed frame received, in order
//   conn.send(obj)         sends obj as JSON
//   conn.next(pred, ms)    the first not yet consumed frame matching pred (a
//                          function, or a string compared with frame.type),
//                          waiting up to ms (default 2000)
//   conn.closed            resolves {code, reason} when the socket closes
//   conn.close(code)
// A refused upgrade rejects with an Error carrying .status and .body.
// Every frame is checked against the OpenAPI document (WsServerMessage).
let barrierCount = 0;

export async function wsConnect(url, { cookie, origin, protocol = 'mdtboard.v1', headers = {}, timeoutMs = 5000 } = {}) {
    const wsUrl = url.replace(/^http/, 'ws');
    // every frame the server sends is checked against the OpenAPI
    // document's WsServerMessage (openapi.mjs); a server whose document
    // cannot be fetched from here (TLS with a private CA) is not checked
    const checkFrame = await frameChecker(new URL('/', url.replace(/^ws/, 'http'))).catch(() => null);
    const h = { ...headers };
    if (cookie) h.Cookie = cookie;
    const ws = new WebSocket(wsUrl, protocol ? [protocol] : [], {
        headers: h,
        origin,
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
    });
    const frames = [];
    const unconsumed = [];
    const waiters = new Set();
    let closeInfo = null;
    const closed = new Promise((resolve) => {
        ws.on('close', (code, reason) => {
            closeInfo = { code, reason: reason.toString() };
            for (const w of waiters) w.fail(new Error(`socket closed (${code}) while waiting for a frame`));
            resolve(closeInfo);
        });
    });
    ws.on('message', (data, isBinary) => {
        let frame;
        try {
            frame = JSON.parse(data.toString());
        } catch {
            frame = { type: '_unparsed', binary: isBinary, raw: data.toString() };
        }
        if (checkFrame && frame.type !== '_unparsed') checkFrame(frame);
        frames.push(frame);
        for (const w of waiters) {
            if (w.pred(frame)) {
                w.done(frame);
                return;
            }
        }
        unconsumed.push(frame);
    });
    const conn = {
        ws,
        frames,
        closed,
        get protocol() {
            return ws.protocol;
        },
        send(obj) {
            ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
        },
        next(pred, ms = 2000) {
            const match = typeof pred === 'string' ? (f) => f.type === pred : pred;
            const i = unconsumed.findIndex(match);
            if (i >= 0) return Promise.resolve(unconsumed.splice(i, 1)[0]);
            if (closeInfo) return Promise.reject(new Error(`socket closed (${closeInfo.code})`));
            return new Promise((resolve, reject) => {
                const w = {
                    pred: match,
                    done(f) {
                        clearTimeout(timer);
                        waiters.delete(w);
                        resolve(f);
                    },
                    fail(err) {
                        clearTimeout(timer);
                        waiters.delete(w);
                        reject(err);
                    },
                };
                const timer = setTimeout(
                    () => w.fail(new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(frames)}`)),
                    ms,
                );
                waiters.add(w);
            });
        },
        close(code = 1000) {
            ws.close(code);
            return closed;
        },
        // barrier(ms) - a ping answered by its pong: every frame the server
        // queued for this socket before it read the ping has arrived. An
        // absence on the socket is asserted after this, never after a sleep.
        async barrier(ms = 5000) {
            const id = `barrier-${++barrierCount}`;
            ws.send(JSON.stringify({ type: 'ping', id }));
            await conn.next((f) => f.type === 'pong' && f.id === id, ms);
        },
    };
    return new Promise((resolve, reject) => {
        ws.once('open', () => resolve(conn));
        ws.once('unexpected-response', (req, res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (body += d));
            res.on('end', () => {
                const err = new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`);
                err.status = res.statusCode;
                err.body = body;
                req.destroy();
                reject(err);
            });
        });
        ws.on('error', reject); // after open: settles nothing, but is handled
    });
}
