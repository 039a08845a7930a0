// isolation.mjs - do slow queries of some clients delay everyone's reads?
// Board reads (GET /api/v1/cases/{id}, 200 entries) under wrk, alone and
// while --slow clients each hold a --hold-ms query in a loop (the test hook
// GET /api/v1/_test/sleep?ms=, a pg_sleep on a pool connection: the server
// must be built with -DMDT_TEST_HOOKS=ON), interleaved in every run on the
// same server. Not a test: `scripts/bench isolation` runs it.
//
//   node tests/bench/isolation.mjs [--entries 200] [--runs 3] [--seconds 10]
//        [--threads 2] [--connections 64] [--slow 4] [--hold-ms 2000] [--cache 0]
//        [--timeout 60s]
//
// One line per run and phase (reads/s, p50/p99, server CPU per read, how
// many slow queries completed), then a summary: median p99 alone and with
// the slow clients, and how far it moved (issue 17's target: < 20 %).
// --cache MB is MDT_BOARD_CACHE_MB (0: every read queries the database).
// --timeout is wrk's: long enough that a read queued behind the held
// queries is counted in the latency instead of dropped as a timeout.
import { startServer } from '../integration/lib/harness.mjs';
import { benchArgs } from './lib/setup.mjs';
import { cpuMs, f1, loadavg, makeWorld, median, wrk } from './lib/board.mjs';

const opt = benchArgs('tests/bench/isolation.mjs', {
    entries: 200,
    runs: 3,
    seconds: 10,
    threads: 2,
    connections: 64,
    slow: 4,
    'hold-ms': 2000,
    cache: 0,
    timeout: '60s',
});

// slowClients(base, n, holdMs) - n loops of one held query each, until
// stop(); {stop() -> resolves with the number of completed queries}.
function slowClients(base, n, holdMs) {
    let running = true;
    let done = 0;
    const loop = async () => {
        while (running) {
            const res = await fetch(`${base}/api/v1/_test/sleep?ms=${holdMs}`);
            await res.arrayBuffer();
            if (res.status === 404) throw new Error('isolation: no /api/v1/_test/sleep (build with -DMDT_TEST_HOOKS=ON)');
            if (res.status === 200) done++;
        }
    };
    const loops = Array.from({ length: n }, loop);
    return {
        stop: async () => {
            running = false;
            await Promise.all(loops);
            return done;
        },
    };
}

async function phase(server, world, withSlow) {
    const url = `${server.url}/api/v1/cases/${world.caseId}`;
    const slow = withSlow ? slowClients(server.url, opt.slow, opt['hold-ms']) : null;
    if (slow) await new Promise((r) => setTimeout(r, 200)); // the held queries are on the pool
    const cpu0 = cpuMs(server.proc.pid);
    const load = loadavg();
    const x = await wrk(opt, url, world.cookie);
    const cpu = cpuMs(server.proc.pid) - cpu0;
    const held = slow ? await slow.stop() : 0;
    return { ...x, held, load, cpu_ms_per_read: cpu / Math.max(1, x.requests) };
}

const world = await makeWorld(opt);
const runs = { alone: [], slow: [] };
for (let r = 1; r <= opt.runs; r++) {
    const server = await startServer({
        dbUrl: world.dbUrl,
        env: { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOG_LEVEL: 'warn', MDT_BOARD_CACHE_MB: opt.cache },
    });
    try {
        const warm = await fetch(`${server.url}/api/v1/cases/${world.caseId}`, { headers: { Cookie: world.cookie } });
        await warm.arrayBuffer();
        if (warm.status !== 200) throw new Error(`isolation: board ${warm.status}`);
        // alternate which phase goes first, so neither always has the warmer server
        const order = r % 2 ? ['alone', 'slow'] : ['slow', 'alone'];
        for (const p of order) {
            const x = await phase(server, world, p === 'slow');
            runs[p].push(x);
            console.log(
                `isolation run ${r} ${p}: ${f1(x.rps)} reads/s, p50 ${f1(x.p50)} ms, p99 ${f1(x.p99)} ms, non-2xx ${x.non2xx}, timeouts ${x.timeouts}, ` +
                    `server cpu ${x.cpu_ms_per_read.toFixed(3)} ms/read${p === 'slow' ? `, ${x.held} held queries of ${opt['hold-ms']} ms done` : ''}; load ${x.load}`,
            );
        }
    } finally {
        await server.stop();
    }
}
const med = (p, k) => median(runs[p].map((x) => x[k]));
const moved = (med('slow', 'p99') / med('alone', 'p99') - 1) * 100;
const bad = [...runs.alone, ...runs.slow].reduce((n, x) => n + x.non2xx + x.timeouts, 0);
console.log(
    `isolation summary (median of ${opt.runs}, wrk ${opt.threads}x${opt.connections}, ${opt.slow} clients holding ${opt['hold-ms']} ms, cache ${opt.cache} MB): ` +
        `alone reads/s=${f1(med('alone', 'rps'))} p99=${f1(med('alone', 'p99'))}ms; with slow reads/s=${f1(med('slow', 'rps'))} p99=${f1(med('slow', 'p99'))}ms; ` +
        `p99 moved ${moved >= 0 ? '+' : ''}${f1(moved)}% (target < 20 %), reads/s ${f1((med('slow', 'rps') / med('alone', 'rps') - 1) * 100)}%; ` +
        `max p99 ${f1(Math.max(...runs.slow.map((x) => x.p99)))}ms; non2xx+timeouts=${bad} loadavg="${loadavg()}"`,
);
process.exit(bad > 0 ? 1 : 0);
