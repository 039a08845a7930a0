// board.mjs - board reads (GET /api/v1/cases/{id}) under wrk, with the
// board cache off (MDT_BOARD_CACHE_MB=0: every read queries and serializes)
// and on (the default), interleaved on the same database and case in one
// run. Not a test: `scripts/bench board` runs it.
//
//   node tests/bench/board.mjs [--entries 200] [--runs 3] [--seconds 10]
//        [--threads 2] [--connections 64]
//
// The case has --entries entries (every 10th a police `agency` entry),
// read by one police user's session. Per run and mode: a fresh server,
// one warm-up read, then wrk for --seconds; reads/s, latency p50/p99 (wrk
// --latency), non-2xx answers, and the server's CPU per read
// (/proc/PID/stat). Prints one line per run and a summary with the medians
// and the load average.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startServer } from '../integration/lib/harness.mjs';
import { benchArgs, createCase, login, setupRun } from './lib/setup.mjs';

const args = () => benchArgs('tests/bench/board.mjs', { entries: 200, runs: 3, seconds: 10, threads: 2, connections: 64 });

const cpuMs = (pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (s) => {
    const m = /^([\d.]+)(us|ms|s)$/.exec(s);
    return m ? Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3 }[m[2]] : NaN;
};

function wrk(opt, url, cookie) {
    const argv = [`-t${opt.threads}`, `-c${opt.connections}`, `-d${opt.seconds}s`, '--latency', '-H', `Cookie: ${cookie}`, url];
    return new Promise((resolve, reject) => {
        execFile('wrk', argv, (err, stdout) => {
            if (err) return reject(err);
            resolve({
                requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0),
                rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0),
                p50: ms(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
                p99: ms(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
                non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
            });
        });
    });
}

async function oneRun(opt, world, mode) {
    const server = await startServer({
        dbUrl: world.dbUrl,
        env: { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOG_LEVEL: 'warn', MDT_BOARD_CACHE_MB: mode === 'cache' ? 32 : 0 },
    });
    try {
        const url = `${server.url}/api/v1/cases/${world.caseId}`;
        const warm = await fetch(url, { headers: { Cookie: world.cookie } });
        const bytes = (await warm.arrayBuffer()).byteLength;
        if (warm.status !== 200) throw new Error(`board: ${warm.status}`);
        const cpu0 = cpuMs(server.proc.pid);
        const load = loadavg();
        const x = await wrk(opt, url, world.cookie);
        return { ...x, mode, bytes, load, cpu_ms_per_read: (cpuMs(server.proc.pid) - cpu0) / Math.max(1, x.requests) };
    } finally {
        await server.stop();
    }
}

async function makeWorld(opt) {
    const tag = `${process.pid}b`;
    const { dbUrl, agencies, users, server } = await setupRun(2, tag);
    try {
        const lead = await login(server.url, users.find((u) => u.username.startsWith('cac0_')).username);
        const police = await login(server.url, users.find((u) => u.username.startsWith('police0_')).username);
        const { caseId } = await createCase(lead, agencies, tag);
        const text = 'Spoke with the family and the school counselor; the next review is on Tuesday. '.repeat(2);
        for (let n = 0; n < opt.entries; n += 8) {
            await Promise.all(
                Array.from({ length: Math.min(8, opt.entries - n) }, (_, k) => {
                    const restricted = (n + k) % 10 === 9;
                    const c = restricted ? police : lead;
                    return c.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: `**${n + k}** ${text}`, visibility: restricted ? 'agency' : 'mdt' });
                }),
            );
        }
        return { dbUrl, caseId, cookie: police.cookie() };
    } finally {
        await server.stop();
    }
}

const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : String(v));
const opt = args();
const world = await makeWorld(opt);
const runs = { nocache: [], cache: [] };
for (let r = 1; r <= opt.runs; r++) {
    for (const mode of ['nocache', 'cache']) {
        const x = await oneRun(opt, world, mode);
        runs[mode].push(x);
        console.log(
            `board run ${r} ${mode}: ${f1(x.rps)} reads/s, p50 ${f1(x.p50)} ms, p99 ${f1(x.p99)} ms, non-2xx ${x.non2xx}, ` +
                `server cpu ${x.cpu_ms_per_read.toFixed(3)} ms/read, board ${(x.bytes / 1024).toFixed(1)} KiB; load ${x.load}`,
        );
    }
}
let bad = 0;
for (const mode of ['nocache', 'cache']) {
    const xs = runs[mode];
    const med = (k) => median(xs.map((x) => x[k]));
    bad += xs.reduce((n, x) => n + x.non2xx, 0);
    console.log(
        `board summary ${mode} (median of ${xs.length}, wrk ${opt.threads}x${opt.connections}, ${opt.entries} entries, ${(xs[0].bytes / 1024).toFixed(1)} KiB): ` +
            `reads/s=${f1(med('rps'))} p50=${f1(med('p50'))}ms p99=${f1(med('p99'))}ms server_cpu=${med('cpu_ms_per_read').toFixed(3)}ms/read ` +
            `non2xx=${xs.reduce((n, x) => n + x.non2xx, 0)} loadavg="${loadavg()}"`,
    );
}
process.exit(bad > 0 ? 1 : 0);
