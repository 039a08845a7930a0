// fanout.mjs - live fan-out benchmark: one event to many subscribers of one
// case, on loopback. Not a test (ctest does not run it): `scripts/bench`
// runs it and prints its figures.
//
//   node tests/bench/fanout.mjs [--subscribers 1000] [--entries 200]
//        [--runs 3] [--users 10] [--restricted-every 10] [--client raw|ws]
//
// Each run: a fresh database and one `mdtboard serve`; three agencies (CAC
// lead, police, child welfare) with --users users each, one session per
// user; --subscribers sockets spread round-robin over those sessions, every
// one subscribed to the one case. Then --entries entries are posted one at a
// time (the next only once the previous reached every socket that may see
// it, or after 5 s); every --restricted-every-th is a police `agency` entry
// that only the police sockets may receive.
//
// Per event, latency = delivery at the last subscriber (the client's
// receive time) minus the commit instant, taken two ways:
//   db:   the commit timestamp of the event row's transaction
//         (pg_xact_commit_timestamp, when the cluster has
//         track_commit_timestamp on, as scripts/bench sets it), else the
//         row's created_at (its transaction's start, a few ms before the
//         commit, so that overstates the latency);
//   http: the arrival of the 201 answer (after the commit; the answer and
//         the events race, so this understates it and may be negative).
// Also counted: lost (a socket that may see an event did not get it),
// duplicated (got it twice), leaked (a socket of another agency got a
// restricted entry, its seq or its text), and the server's RSS (VmRSS,
// idle with every socket subscribed, and peak while posting).
// Prints one line per run and a summary line with the median of the runs.
// Exits 1 when anything was lost, duplicated or leaked.
//
// The client is one Node process: its own handling of 1,000 frames per
// event is included in "last subscriber" latency. By default it uses a lean
// WebSocket client (rawWebSocket below: a few µs of CPU per frame);
// --client ws uses the `ws` package instead (several times that).

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { psql, sleep } from '../integration/lib/harness.mjs';
import { benchArgs, createCase, login, setupRun } from './lib/setup.mjs';

const args = () =>
    benchArgs('tests/bench/fanout.mjs', { subscribers: 1000, entries: 200, runs: 3, users: 10, 'restricted-every': 10, client: 'raw' });

const now = () => performance.timeOrigin + performance.now(); // ms since the epoch, sub-ms

function rssMiB(pid) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
}

// utime + stime of a process, ms.
function cpuMs(pid) {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks (USER_HZ 100)
}

function pct(sorted, p) {
    if (!sorted.length) return NaN;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[i];
}

// rawWebSocket(server, cookie, onFrame, onError) - a lean WebSocket client
// for the benchmark (the `ws` package costs more CPU per frame than the
// server spends sending it, which would measure the client): the RFC 6455
// handshake, unmasked server frames parsed in place, masked client text
// frames. onFrame(payload Buffer) per text frame. Returns {sendText,
// destroy, onOpen}.
function rawWebSocket(server, cookie, onFrame, onError) {
    const sock = net.connect(server.port, '127.0.0.1');
    sock.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    const conn = { onOpen: null };
    let open = false;
    let pending = null;
    const frame = (opcode, payload) => {
        const mask = randomBytes(4);
        const len = payload.length;
        const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255]);
        const body = Buffer.alloc(len);
        for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
        sock.write(Buffer.concat([head, mask, body]));
    };
    conn.sendText = (text) => frame(1, Buffer.from(text));
    conn.destroy = () => sock.destroy();
    sock.on('connect', () =>
        sock.write(
            `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mdtboard.v1\r\n` +
                `Origin: ${server.url}\r\nCookie: ${cookie}\r\n\r\n`,
        ),
    );
    sock.on('error', onError);
    sock.on('data', (chunk) => {
        let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
        pending = null;
        if (!open) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) {
                pending = buf;
                return;
            }
            const head = buf.subarray(0, end).toString('latin1');
            if (!/^HTTP\/1\.1 101 /.test(head)) {
                onError(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
                sock.destroy();
                return;
            }
            open = true;
            buf = buf.subarray(end + 4);
            conn.onOpen?.();
        }
        let off = 0;
        while (buf.length - off >= 2) {
            const b0 = buf[off];
            let len = buf[off + 1] & 0x7f;
            let hdr = 2;
            if (len === 126) {
                if (buf.length - off < 4) break;
                len = buf.readUInt16BE(off + 2);
                hdr = 4;
            } else if (len === 127) {
                if (buf.length - off < 10) break;
                len = Number(buf.readBigUInt64BE(off + 2));
                hdr = 10;
            }
            if (buf.length - off < hdr + len) break;
            const payload = buf.subarray(off + hdr, off + hdr + len);
            off += hdr + len;
            const opcode = b0 & 0x0f;
            if (opcode === 1) onFrame(payload);
            else if (opcode === 9) frame(10, payload);
            else if (opcode === 8) sock.end();
            else if (opcode !== 10) onError(new Error(`unexpected opcode ${opcode} (fragmented frame?)`));
        }
        if (off < buf.length) pending = buf.subarray(off);
    });
    return conn;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

// Reads the integer after `key` in buf (a Buffer), or -1.
function intAfter(buf, key) {
    const i = buf.indexOf(key);
    if (i < 0) return -1;
    let n = 0;
    let j = i + key.length;
    for (; j < buf.length; j++) {
        const c = buf[j];
        if (c < 48 || c > 57) break;
        n = n * 10 + (c - 48);
    }
    return j === i + key.length ? -1 : n;
}

async function oneRun(opt, runNo) {
    const tag = `${process.pid}r${runNo}`;
    const { dbUrl, agencies, users, server } = await setupRun(opt.users, tag);
    try {
        const sessions = [];
        for (let i = 0; i < users.length; i += 4) {
            sessions.push(...(await Promise.all(users.slice(i, i + 4).map(async (u) => ({ ...u, client: await login(server.url, u.username) })))));
        }
        const lead = sessions.find((s) => s.username.startsWith('cac0_')).client;
        const { caseId, since } = await createCase(lead, agencies, tag);

        // ---- connect and subscribe every socket
        const wsUrl = server.url.replace(/^http/, 'ws') + '/ws';
        const byEntry = new Map(); // entry id -> {count, target, last, resolve}
        const sockets = [];
        const tConnect = now();
        const connectOne = (i) =>
            new Promise((resolve, reject) => {
                const s = sessions[i % sessions.length];
                const sock = { agency: s.agency, seen: new Map(), dups: 0, leaks: 0, other: 0, subscribed: false };
                const onFrame = (buf) => {
                    const t = now();
                    if (buf.indexOf('{"type":"event"') === 0) {
                        const seq = intAfter(buf, '"seq":');
                        const id = intAfter(buf, '"data":{"id":');
                        if (sock.seen.has(seq)) sock.dups++;
                        else sock.seen.set(seq, id);
                        if (sock.agency !== 'police' && buf.indexOf('RESTRICTED') >= 0) sock.leaks++;
                        let e = byEntry.get(id);
                        if (!e) byEntry.set(id, (e = { count: 0, target: Infinity, last: 0, resolve: null }));
                        e.count++;
                        if (t > e.last) e.last = t;
                        if (!e.first) e.first = t;
                        if (e.count === e.target && e.resolve) e.resolve();
                    } else if (buf.indexOf('{"type":"subscribed"') === 0) {
                        sock.subscribed = true;
                        resolve(sock);
                    } else if (buf.indexOf('{"type":"presence"') !== 0) {
                        sock.other++;
                        if (!sock.subscribed) reject(new Error(`socket ${i}: ${buf.toString()}`));
                    }
                };
                const subscribeMsg = JSON.stringify({ type: 'subscribe', case_id: caseId, since });
                if (opt.client === 'ws') {
                    const ws = new WebSocket(wsUrl, ['mdtboard.v1'], {
                        headers: { Cookie: s.client.cookie() },
                        origin: server.url,
                        perMessageDeflate: false,
                    });
                    ws.on('message', onFrame);
                    ws.on('open', () => ws.send(subscribeMsg));
                    ws.on('unexpected-response', (req, r) => reject(new Error(`socket ${i}: upgrade refused ${r.statusCode}`)));
                    ws.on('error', reject);
                    sock.close = () => ws.terminate();
                } else {
                    const conn = rawWebSocket(server, s.client.cookie(), onFrame, reject);
                    conn.onOpen = () => conn.sendText(subscribeMsg);
                    sock.close = () => conn.destroy();
                }
                sockets.push(sock);
            });
        for (let i = 0; i < opt.subscribers; i += 100) {
            await Promise.all(Array.from({ length: Math.min(100, opt.subscribers - i) }, (_, k) => connectOne(i + k)));
        }
        const connectS = (now() - tConnect) / 1000;
        await sleep(1500); // presence settles
        const rssIdle = rssMiB(server.proc.pid);
        const nPolice = sockets.filter((s) => s.agency === 'police').length;

        // ---- post, one at a time
        const posters = sessions.filter((s) => s.agency === 'police').map((s) => s.client);
        const others = sessions.filter((s) => s.agency !== 'police').map((s) => s.client);
        let rssPeak = rssIdle;
        const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(server.proc.pid))), 100);
        const posted = []; // {id, restricted, t0, t201, last}
        const srvCpu0 = cpuMs(server.proc.pid);
        const cliCpu0 = process.cpuUsage();
        let timeouts = 0;
        for (let n = 0; n < opt.entries; n++) {
            const restricted = opt['restricted-every'] > 0 && n % opt['restricted-every'] === opt['restricted-every'] - 1;
            const pool = restricted || n % 2 ? posters : others;
            const client = pool[n % pool.length];
            const body_md = restricted
                ? `RESTRICTED police note ${n}: the warrant is pending; do not share.`
                : `Update ${n}: spoke with the family; the next review is on Tuesday. **Bold** and _emphasis_ for the renderer.`;
            const t0 = now();
            const r = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md, visibility: restricted ? 'agency' : 'mdt' });
            const t201 = now();
            if (r.status !== 201) throw new Error(`post ${n}: ${r.status} ${r.text}`);
            const target = restricted ? nPolice : sockets.length;
            let e = byEntry.get(r.json.id);
            if (!e) byEntry.set(r.json.id, (e = { count: 0, target, last: 0, resolve: null }));
            e.target = target;
            const done = new Promise((resolve) => (e.resolve = resolve));
            // frames that arrived before the 201 were counted already
            if (e.count >= target) e.resolve();
            const ok = await Promise.race([done.then(() => true), sleep(5000).then(() => false)]);
            if (!ok) timeouts++;
            posted.push({ id: r.json.id, restricted, t0, t201, entry: e });
            await sleep(10);
        }
        const srvCpu = cpuMs(server.proc.pid) - srvCpu0;
        const cliCpu = process.cpuUsage(cliCpu0);
        await sleep(500);
        clearInterval(sampler);

        // ---- figures
        const commitTs = (await psql(dbUrl, 'SHOW track_commit_timestamp')) === 'on';
        const rows = await psql(
            dbUrl,
            `SELECT object_id || ' ' || seq || ' ' || (extract(epoch FROM ${commitTs ? 'pg_xact_commit_timestamp(xmin)' : 'created_at'}) * 1000)::numeric(20,3)
               FROM events WHERE case_id = ${caseId} AND kind = 'entry.created' ORDER BY seq`,
        );
        const dbInfo = new Map(rows.split('\n').map((l) => l.split(' ').map(Number)).map(([id, seq, at]) => [id, { seq, at }]));
        const latDb = [];
        const latHttp = [];
        const latFirst = [];
        let lost = 0;
        let leaked = 0;
        const restrictedSeqs = new Set();
        for (const p of posted) {
            const info = dbInfo.get(p.id);
            if (p.restricted) restrictedSeqs.add(info.seq);
            for (const s of sockets) {
                const may = !p.restricted || s.agency === 'police';
                const got = s.seen.has(info.seq);
                if (may && !got) lost++;
                if (!may && got) leaked++;
            }
            if (p.entry.target > 0 && p.entry.count >= p.entry.target) {
                latDb.push(p.entry.last - info.at);
                latHttp.push(p.entry.last - p.t201);
                latFirst.push(p.entry.first - info.at);
            }
        }
        leaked += sockets.reduce((n, s) => n + s.leaks, 0);
        const duplicated = sockets.reduce((n, s) => n + s.dups, 0);
        const unexpected = sockets.reduce((n, s) => n + s.other, 0);
        latDb.sort((a, b) => a - b);
        latHttp.sort((a, b) => a - b);
        latFirst.sort((a, b) => a - b);
        const out = {
            run: runNo,
            commit_from: commitTs ? 'commit timestamp' : 'created_at',
            subscribers: sockets.length,
            police: nPolice,
            entries: posted.length,
            restricted: restrictedSeqs.size,
            p50: pct(latDb, 50),
            p99: pct(latDb, 99),
            max: latDb.at(-1),
            p50_first: pct(latFirst, 50),
            p99_first: pct(latFirst, 99),
            p50_http: pct(latHttp, 50),
            p99_http: pct(latHttp, 99),
            lost,
            duplicated,
            leaked,
            unexpected,
            timeouts,
            rss_idle: rssIdle,
            rss_peak: rssPeak,
            connect_s: connectS,
            server_cpu_ms: srvCpu / posted.length,
            client_cpu_ms: (cliCpu.user + cliCpu.system) / 1000 / posted.length,
        };
        for (const s of sockets) s.close();
        return out;
    } finally {
        await server.stop();
    }
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : String(x));

const opt = args();
const runs = [];
for (let r = 1; r <= opt.runs; r++) {
    const x = await oneRun(opt, r);
    runs.push(x);
    console.log(
        `fanout run ${r}: ${x.subscribers} subscribers (${x.police} police), ${x.entries} entries (${x.restricted} police-only): ` +
            `commit->last delivery p50 ${f1(x.p50)} ms p99 ${f1(x.p99)} ms max ${f1(x.max)} ms (commit instant: ${x.commit_from}); ` +
            `first delivery p50 ${f1(x.p50_first)} ms p99 ${f1(x.p99_first)} ms; 201->last p50 ${f1(x.p50_http)} ms p99 ${f1(x.p99_http)} ms; lost ${x.lost} duplicated ${x.duplicated} leaked ${x.leaked} ` +
            `unexpected ${x.unexpected} timeouts ${x.timeouts}; server RSS idle ${f1(x.rss_idle)} MiB peak ${f1(x.rss_peak)} MiB; ` +
            `connect+subscribe ${f1(x.connect_s)} s; cpu per entry: server ${f1(x.server_cpu_ms)} ms, client ${f1(x.client_cpu_ms)} ms`,
    );
}
const med = (k) => median(runs.map((x) => x[k]));
const sum = (k) => runs.reduce((n, x) => n + x[k], 0);
console.log(
    `fanout summary (median of ${runs.length} runs): subscribers=${opt.subscribers} entries=${opt.entries} commit_instant=${runs[0].commit_from.replace(' ', '_')} ` +
        `p50=${f1(med('p50'))}ms p99=${f1(med('p99'))}ms p50_from_201=${f1(med('p50_http'))}ms p99_from_201=${f1(med('p99_http'))}ms ` +
        `lost=${sum('lost')} duplicated=${sum('duplicated')} leaked=${sum('leaked')} ` +
        `rss_idle=${f1(med('rss_idle'))}MiB rss_peak=${f1(med('rss_peak'))}MiB connect_subscribe=${f1(med('connect_s'))}s`,
);
process.exit(sum('lost') + sum('duplicated') + sum('leaked') + sum('unexpected') > 0 ? 1 : 0);
