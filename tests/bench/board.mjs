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
import { startServer } from '../integration/lib/harness.mjs';
import { benchArgs } from './lib/setup.mjs';
import { cpuMs, f1, loadavg, makeWorld, median, wrk } from './lib/board.mjs';

const args = () => benchArgs('tests/bench/board.mjs', { entries: 200, runs: 3, seconds: 10, threads: 2, connections: 64 });

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
