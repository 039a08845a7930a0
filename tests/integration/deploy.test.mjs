// deploy.test.mjs - the deployment of docs/deploy.md on loopback: nginx
// (Debian's, started by this test unprivileged with its own prefix) with
// scripts/deploy/nginx/mdtboard.conf in front of two `mdtboard serve`
// nodes on one PostgreSQL database.
//
// The shipped nginx file is used as it is, with only its CHANGE names
// replaced (ports, server name, certificate, web root, the two nodes); the
// wrapper around it adds temp paths and `proxy_bind 127.0.0.2`, so the
// nodes see nginx as 127.0.0.2 (MDT_TRUSTED_PROXIES) and this process's
// direct requests as 127.0.0.1 (not trusted).
//
// Proves: login, REST and web/ through nginx (with mdtboard's own headers
// on the static files); an event written through one node reaches a
// subscriber that nginx put on the other; killing that node moves its
// client (GET /me and the upgrade through nginx, subscribe with `since`)
// with no gap and no duplicate; audit rows (HTTP and WebSocket) hold the
// X-Forwarded-For address only when the request came from the trusted
// proxy; /metrics from another host only with MDT_METRICS_TOKEN.
//
// The certificate is self-signed (scripts/tls-selfsigned.sh), so this
// process skips certificate verification for its own loopback requests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
    SOURCE_DIR,
    api,
    createDatabase,
    flushAudit,
    freePort,
    metrics,
    psql,
    startServer,
    until,
    wsConnect,
} from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, login } from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';

process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // the self-signed loopback certificate

const NGINX = '/usr/sbin/nginx';
const PROXY_ADDR = '127.0.0.2';
const METRICS_TOKEN = 'metrics-token-for-the-deploy-test-0123456789';

let tmp, dbUrl, w, nginx, nginxErr = '';
let base; // https://127.0.0.1:PORT, what browsers would use
let httpPort;
const nodes = []; // [A, B]

function runScript(file, args) {
    return new Promise((resolve, reject) => {
        execFile(file, args, (err, stdout, stderr) => (err ? reject(new Error(`${file}: ${err.message}\n${stderr}`)) : resolve(stdout)));
    });
}

// siteConfig(vars) - scripts/deploy/nginx/mdtboard.conf with its CHANGE
// names replaced; each replacement must match (the file may not drift).
function siteConfig({ port, certFile, keyFile, nodeA, nodeB }) {
    let conf = readFileSync(path.join(SOURCE_DIR, 'scripts/deploy/nginx/mdtboard.conf'), 'utf8');
    const swaps = [
        ['    listen [::]:80;\n', ''],
        ['    listen [::]:443 ssl;\n', ''],
        ['listen 80;', `listen 127.0.0.1:${httpPort};`],
        ['listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`],
        ['server_name mdtboard.example.org;', 'server_name localhost;'],
        ['wss://mdtboard.example.org', `wss://127.0.0.1:${port}`],
        ['/etc/ssl/mdtboard/cert.pem', certFile],
        ['/etc/ssl/mdtboard/key.pem', keyFile],
        ['/usr/share/mdtboard/web', path.join(tmp, 'web')],
        ['server 127.0.0.1:8080', `server ${nodeA}`],
        ['server 127.0.0.1:8081', `server ${nodeB}`],
    ];
    for (const [from, to] of swaps) {
        assert.ok(conf.includes(from), `mdtboard.conf no longer has "${from.trim()}"`);
        conf = conf.replaceAll(from, to);
    }
    assert.doesNotMatch(conf.replace(/#.*$/gm, ''), /example\.org/);
    return conf;
}

function wrapperConfig(dir) {
    const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((t) => `    ${t}_temp_path ${dir}/${t};`)
        .join('\n');
    return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${dir}/access.log;
${temps}
    proxy_bind ${PROXY_ADDR};
    include ${dir}/site.conf;
}
`;
}

// chownTree(dir, id) - dir and everything in it to uid/gid id.
function chownTree(dir, id) {
    chownSync(dir, id, id);
    for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) chownTree(p, id);
        else chownSync(p, id, id);
    }
}

async function startNginx(port, certFile, keyFile) {
    const dir = path.join(tmp, 'nginx');
    mkdirSync(dir);
    // nginx serves a copy of web/ beside its own files, as the package puts
    // web/ under /usr/share: as root it runs as nobody, who may not reach a
    // checkout under a private (0700) directory.
    cpSync(path.join(SOURCE_DIR, 'web'), path.join(tmp, 'web'), { recursive: true });
    const [A, B] = nodes;
    writeFileSync(path.join(dir, 'site.conf'), siteConfig({ port, certFile, keyFile, nodeA: `127.0.0.1:${A.port}`, nodeB: `127.0.0.1:${B.port}` }));
    writeFileSync(path.join(dir, 'nginx.conf'), wrapperConfig(dir));
    // Unprivileged: as root (a container), run it as nobody.
    const asNobody = process.getuid?.() === 0;
    if (asNobody) chownTree(tmp, 65534);
    nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
    });
    nginx.stderr.setEncoding('utf8').on('data', (d) => (nginxErr += d));
    await until(
        async () => {
            if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}:\n${nginxErr}`);
            return fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
        },
        10000,
        `nginx on ${base}:\n${nginxErr}`,
    );
}

before(async () => {
    assert.ok(existsSync(NGINX), 'nginx is not installed (scripts/setup.sh installs it)');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mdt-deploy-'));
    const out = await runScript(path.join(SOURCE_DIR, 'scripts', 'tls-selfsigned.sh'), [path.join(tmp, 'tls')]);
    const certFile = /^MDT_TLS_CERT=(.+)$/m.exec(out)[1];
    const keyFile = /^MDT_TLS_KEY=(.+)$/m.exec(out)[1];
    const port = await freePort();
    httpPort = await freePort();
    base = `https://127.0.0.1:${port}`;

    dbUrl = await createDatabase();
    w = await boardWorld(dbUrl);
    const env = { ...BOARD_ENV, MDT_ORIGIN: base, MDT_TRUSTED_PROXIES: PROXY_ADDR, MDT_METRICS_TOKEN: METRICS_TOKEN };
    for (let i = 0; i < 2; i++) nodes.push(await startServer({ dbUrl, env }));
    await startNginx(port, certFile, keyFile);
});

after(async () => {
    if (nginx && nginx.exitCode === null) {
        nginx.kill('SIGTERM');
        await new Promise((resolve) => nginx.once('exit', resolve));
    }
    for (const n of nodes) await n.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
});

process.on('exit', () => {
    if (nginx && nginx.exitCode === null) nginx.kill('SIGKILL');
});

// ---- helpers ---------------------------------------------------------------

let n = 0;
async function newCase(supervisor) {
    const res = await supervisor.post('/api/v1/cases', {
        case_number: `D-${process.pid}-${++n}`,
        alias: 'D.D.',
        referral_date: today(-30),
        agencies: [w.agencies.police],
    });
    assert.equal(res.status, 201, res.text);
    const board = await supervisor.get(`/api/v1/cases/${res.json.id}`);
    assert.equal(board.status, 200, board.text);
    return { caseId: res.json.id, seq: board.json.seq };
}

async function postEntry(client, caseId, body_md) {
    const res = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md, visibility: 'mdt' });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

// connect(client) - what the web app does before each (re)connect: GET /me
// (loads the session into the node nginx picks), then the upgrade at /ws.
async function connect(client) {
    const me = await client.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    return wsConnect(`${base}/ws`, { cookie: client.cookie(), origin: base });
}

async function subscribe(conn, caseId, since) {
    conn.send({ type: 'subscribe', case_id: caseId, since });
    const f = await conn.next((x) => ['subscribed', 'resync', 'error'].includes(x.type), 10000);
    assert.equal(f.type, 'subscribed', JSON.stringify(f));
    return f;
}

async function dbSeqs(caseId, since) {
    const out = await psql(dbUrl, `SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM events WHERE case_id = ${caseId} AND seq > ${since}`);
    return out ? out.split(',').map(Number) : [];
}

const eventSeqs = (conn, caseId) => conn.frames.filter((f) => f.type === 'event' && f.case_id === caseId).map((f) => f.seq);
const wsCount = async (node) => (await metrics(node.url)).get('mdt_ws_connections') ?? 0;

// nodeHolding() - the node whose gauge counts the one open socket.
async function nodeHolding() {
    return until(
        async () => {
            const counts = await Promise.all(nodes.map((x) => (x.alive() ? wsCount(x) : 0)));
            const holding = nodes.filter((_, i) => counts[i] === 1);
            return counts.reduce((a, b) => a + b, 0) === 1 ? holding[0] : null;
        },
        5000,
        'exactly one open socket on the nodes',
    );
}

// auditAddresses(action, username) - the address column of username's rows.
async function auditAddresses(action, username) {
    const out = await psql(dbUrl, `SELECT coalesce(string_agg(coalesce(address, '-'), ',' ORDER BY id), '') FROM audit WHERE action = '${action}' AND username = '${username}'`);
    return out ? out.split(',') : [];
}

// rawRequest(url, {method, headers, body, localAddress}) - one request with
// node:http from a chosen local address; resolves {status, text}.
function rawRequest(url, { method = 'GET', headers = {}, body, localAddress = '127.0.0.1' } = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, localAddress, agent: false, headers }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode, text }));
        });
        req.on('error', reject);
        req.end(body);
    });
}

// rawLogin(url, user, headers, localAddress) - POST /login; resolves the status.
async function rawLogin(url, user, headers = {}, localAddress = '127.0.0.1') {
    const body = JSON.stringify({ username: user.username, password: user.password });
    const res = await rawRequest(`${url}/api/v1/login`, { method: 'POST', localAddress, body, headers: { 'Content-Type': 'application/json', ...headers } });
    return res.status;
}

// ---- tests -----------------------------------------------------------------

test('through nginx: web/ with mdtboard\'s own headers, login and REST proxied, /metrics hidden, http redirected', async () => {
    const viaNginx = await fetch(`${base}/`);
    assert.equal(viaNginx.status, 200);
    assert.match(await viaNginx.text(), /<html/i);
    const direct = await fetch(`${nodes[0].url}/index.html`);
    for (const h of ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options',
        'cross-origin-opener-policy', 'cross-origin-resource-policy', 'permissions-policy', 'cache-control']) {
        assert.equal(viaNginx.headers.get(h), direct.headers.get(h), `${h} differs between nginx and mdtboard`);
    }
    assert.match(viaNginx.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
    assert.equal(viaNginx.headers.get('server'), 'nginx', 'server_tokens off: no version');
    const js = await fetch(`${base}/js/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);

    const sup = await login(base, w.users.cacSupervisor);
    const me = await sup.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user?.username ?? me.json.username, w.users.cacSupervisor.username);
    assert.match(me.headers.get('strict-transport-security') ?? '', /max-age/, 'HSTS on proxied answers too');
    const { caseId } = await newCase(sup);
    assert.ok(caseId > 0);
    // a state change without the CSRF token is refused by mdtboard, not nginx
    const noCsrf = await sup.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: 'x', visibility: 'mdt' }, { csrf: false });
    assert.equal(noCsrf.status, 403, noCsrf.text);

    assert.equal((await fetch(`${base}/metrics`)).status, 404);
    const plain = await fetch(`http://127.0.0.1:${httpPort}/api/v1/me`, { redirect: 'manual' });
    assert.equal(plain.status, 301);
    assert.match(plain.headers.get('location'), /^https:\/\//);
});

// routeCount(node, route, method) - mdt_http_requests_total of one route on a node.
async function routeCount(node, route, method) {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    let sum = 0;
    for (const m of text.matchAll(/^mdt_http_requests_total\{route="([^"]*)",method="([^"]*)",status="\d+"\} (\d+)$/gm)) {
        if (m[1] === route && m[2] === method) sum += Number(m[3]);
    }
    return sum;
}

test('nginx spreads logins over both nodes and keeps a session on one', async () => {
    const before = await Promise.all(nodes.map((x) => routeCount(x, '/api/v1/login', 'POST')));
    const clients = [];
    for (let i = 0; i < 16; i++) clients.push(await login(base, w.users.hospitalMember));
    const after = await Promise.all(nodes.map((x) => routeCount(x, '/api/v1/login', 'POST')));
    const logins = after.map((v, i) => v - before[i]);
    assert.equal(logins[0] + logins[1], 16);
    assert.ok(logins[0] > 0 && logins[1] > 0, `logins per node: ${logins}`);

    const meBefore = await Promise.all(nodes.map((x) => routeCount(x, '/api/v1/me', 'GET')));
    for (let i = 0; i < 10; i++) assert.equal((await clients[0].get('/api/v1/me')).status, 200);
    const meAfter = await Promise.all(nodes.map((x) => routeCount(x, '/api/v1/me', 'GET')));
    assert.deepEqual(meAfter.map((v, i) => v - meBefore[i]).sort((a, b) => a - b), [0, 10], 'one session, one node');
});

test('the WebSocket through nginx: Origin checked against MDT_ORIGIN, the upgrade needs the subprotocol', async () => {
    const police = await login(base, w.users.policeMember);
    await police.get('/api/v1/me');
    await assert.rejects(wsConnect(`${base}/ws`, { cookie: police.cookie(), origin: 'https://evil.example' }), (e) => e.status === 403);
    await assert.rejects(wsConnect(`${base}/ws`, { cookie: police.cookie(), origin: nodes[0].url }), (e) => e.status === 403);
    const conn = await connect(police);
    assert.equal(conn.protocol, 'mdtboard.v1');
    conn.send({ type: 'ping', id: 'via-nginx' });
    assert.deepEqual(await conn.next('pong'), { type: 'pong', id: 'via-nginx' });
    await conn.close();
});

test('audit rows hold X-Forwarded-For only from the trusted proxy, for HTTP and WebSocket alike', async () => {
    const user = w.users.dcfMember;
    // through nginx, with a forged header: nginx replaces it with the client
    const viaNginx = api(base);
    const res = await viaNginx.post('/api/v1/login', { username: user.username, password: user.password }, { headers: { 'X-Forwarded-For': '203.0.113.9' } });
    assert.equal(res.status, 200, res.text);
    // straight to a node from an untrusted address, forged: the TCP peer
    assert.equal(await rawLogin(nodes[0].url, user, { 'X-Forwarded-For': '203.0.113.7' }), 200);
    // straight to a node from the trusted address: believed (the rule, not nginx)
    assert.equal(await rawLogin(nodes[0].url, user, { 'X-Forwarded-For': '198.51.100.4' }, PROXY_ADDR), 200);
    // from the trusted address with something that is not an address: the peer
    assert.equal(await rawLogin(nodes[0].url, user, { 'X-Forwarded-For': 'not-an-address' }, PROXY_ADDR), 200);
    assert.deepEqual(await auditAddresses('login', user.username), ['127.0.0.1', '127.0.0.1', '198.51.100.4', PROXY_ADDR]);

    // WebSocket: a subscribe through nginx is audited with the client's address,
    // one straight to a node with a forged header with the peer's
    const sup = await login(base, w.users.cacSupervisor);
    const { caseId, seq } = await newCase(sup);
    const police = await login(base, w.users.policeMember);
    const subscribeAddresses = async () => {
        for (const x of nodes) await flushAudit(x);
        const out = await psql(dbUrl, `SELECT string_agg(address, ',' ORDER BY id) FROM audit WHERE action = 'case.subscribe' AND case_id = ${caseId}`);
        return out.split(',');
    };
    const conn = await connect(police);
    await subscribe(conn, caseId, seq);
    await conn.close();
    assert.deepEqual(await subscribeAddresses(), ['127.0.0.1'], `${PROXY_ADDR} before the WebSocket believed the proxy`);
    const node = nodes[0];
    const direct = api(node.url);
    for (const [k, v] of police.jar) direct.jar.set(k, v);
    assert.equal((await direct.get('/api/v1/me')).status, 200);
    const forged = await wsConnect(node.url, { cookie: police.cookie(), origin: base, headers: { 'X-Forwarded-For': '203.0.113.8' } });
    await subscribe(forged, caseId, seq);
    await forged.close();
    const rows = (await subscribeAddresses()).join(',');
    assert.equal(rows, '127.0.0.1,127.0.0.1');
});

test('/metrics from another host: only with MDT_METRICS_TOKEN as a bearer token; a short token is refused at start', async () => {
    const node = nodes[0];
    // a client at 198.51.100.4 as the node sees it (through the trusted address)
    const remote = (headers = {}) => rawRequest(`${node.url}/metrics`, { localAddress: PROXY_ADDR, headers: { 'X-Forwarded-For': '198.51.100.4', ...headers } });
    assert.equal((await remote()).status, 404);
    assert.equal((await remote({ Authorization: `Bearer ${METRICS_TOKEN}x` })).status, 404);
    assert.equal((await remote({ Authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` })).status, 404);
    assert.equal((await remote({ Authorization: `Basic ${METRICS_TOKEN}` })).status, 404);
    const ok = await remote({ Authorization: `Bearer ${METRICS_TOKEN}` });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /^mdt_ws_connections \d+/m);
    // loopback needs no token, as before
    assert.equal((await rawRequest(`${node.url}/metrics`)).status, 200);
    // and not through nginx, token or not
    assert.equal((await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status, 404);
    await assert.rejects(startServer({ dbUrl, env: { MDT_METRICS_TOKEN: 'too-short' } }), /MDT_METRICS_TOKEN must be 32 to 128 characters/);
});

test('an event written through one node reaches a subscriber nginx put on the other; killing that node moves it with no gap', { timeout: 120000 }, async () => {
    const sup = await login(base, w.users.cacSupervisor);
    const { caseId, seq } = await newCase(sup);
    const police = await login(base, w.users.policeMember);
    let conn = await connect(police);
    await subscribe(conn, caseId, seq);
    const holder = await nodeHolding();
    const other = nodes.find((x) => x !== holder);

    // written through the other node, straight to it
    const writer = await login(other.url, w.users.cacMember);
    const e = await postEntry(writer, caseId, 'written through the other node');
    const f = await conn.next((x) => x.type === 'event' && x.kind === 'entry.created', 5000);
    assert.deepEqual(f.data, e);

    // writes keep coming through nginx while the subscriber's node dies
    const writerViaNginx = await login(base, w.users.cacMember);
    // A POST in flight to the node at the moment it dies gets 502 from nginx
    // (nginx does not resend a non-idempotent request): not acknowledged.
    let stop = false;
    let written = 0;
    let unacknowledged = 0;
    const writing = (async () => {
        for (let i = 0; !stop; i++) {
            const client = i % 2 ? writerViaNginx : writer;
            const res = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: `during ${i}`, visibility: 'mdt' });
            if (res.status === 201) written++;
            else if (res.status === 502 && client === writerViaNginx) unacknowledged++;
            else assert.fail(`${res.status} ${res.text}`);
        }
    })();
    await until(() => written >= 5, 10000, 'writes before the kill');
    const firstSeqs = eventSeqs(conn, caseId);
    assert.equal(await holder.stop('SIGKILL'), 'SIGKILL');
    const closed = await conn.closed;
    assert.notEqual(closed.code, 1000);
    const seen = eventSeqs(conn, caseId);
    assert.ok(seen.length >= firstSeqs.length);

    // the web app's reconnect: GET /me and the upgrade, both through nginx
    const t0 = Date.now();
    conn = await connect(police);
    await subscribe(conn, caseId, seen.at(-1));
    const moveMs = Date.now() - t0;
    assert.equal(await nodeHolding(), other, 'the client is now on the surviving node');
    await until(() => written >= 15, 20000, 'writes after the move');
    stop = true;
    await writing;

    const expected = await dbSeqs(caseId, seq);
    await until(() => eventSeqs(conn, caseId).at(-1) === expected.at(-1), 10000, 'the resumed stream to catch up');
    await conn.barrier();
    const all = [...seen, ...eventSeqs(conn, caseId)];
    assert.deepEqual(all, expected, 'every event once, in order, across the move');
    assert.ok(unacknowledged <= 1, `${unacknowledged} writes answered 502`);
    process.stdout.write(`# moved in ${moveMs} ms; ${expected.length} events delivered once each; ${written} writes acknowledged around the kill, ${unacknowledged} answered 502\n`);
    await conn.close();
    // nginx still answers, from the surviving node
    assert.equal((await writerViaNginx.get('/api/v1/me')).status, 200);
});
