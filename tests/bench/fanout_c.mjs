// fanout_c.mjs - live fan-out measured with the C load generator
// (tests/bench/mdt_load.c): this script makes each run's database, users,
// server and case (lib/setup.mjs), then runs mdt_load against them, which
// logs the users in, subscribes the sockets and posts at a fixed open-loop
// rate. Not a test: `scripts/bench fanout-c` runs it.
//
//   node tests/bench/fanout_c.mjs --load BIN [--subscribers 100,1000]
//        [--entries 200] [--rate 20] [--runs 3] [--users 10] [--before BIN]
//        [--cases 1] [--concurrency 0] [--pgbench SCRIPT] [--name fanout-c]
//        [--workers N[,N...]]
//
// --workers N: the server runs as N worker processes (MDT_WORKERS; default
// the MDT_WORKERS of this environment, else 1); the server's CPU is summed
// over the supervisor and its workers, and mdt_load loads each session into
// every worker's cache (--warm). A list (--workers 1,2) makes each run once
// per count, interleaved like --before, one summary line each
// ("workers=N"), printed on every line.
//
// --cases N (statewide): N cases every agency is on; the sockets spread over
// them (socket i on case i mod N, users interleaved by agency so each case
// has sockets of every agency) and so do the entries (mdt_load, multi-case).
// --concurrency C: closed loop, C POSTs in flight (creates/s) instead of
// --rate. --pgbench SCRIPT: after mdt_load, in the same run and on the same
// database, pgbench runs SCRIPT (the SQL of one create, tests/bench/
// create_entry.sql) with C clients for as long as the creates took; the
// line reports creates/s, pgbench tps and their ratio.
//
// Per subscriber count, --runs runs (fresh database and server each); one
// line per run, then a summary line with the median over the runs of each
// figure (per-delivery p50/p99/max, last-delivery p99, REST p99, CPU per
// delivery of client and server, the event loop thread's share of the
// server's), the sums of lost/duplicated/leaked and the load average. Exits 1 when anything was lost, duplicated or leaked.
//
// --before BIN: each run is made twice, first with BIN ("before") then with
// MDT_BIN ("after"), interleaved, so before and after share the box and its
// load; one summary line each. --pgbench-before SCRIPT: what pgbench runs
// in the "before" runs (the create transaction of BIN's schema, when it
// differs; default --pgbench).
import { appendFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DEFAULT_PASSWORD } from '../integration/lib/fixtures.mjs';
import { benchArgs, createCases, login, setupRun } from './lib/setup.mjs';
import { pgbench } from './lib/pgbench.mjs';

function args() {
    const defaults = {
        load: '',
        before: '',
        subscribers: '100,1000',
        entries: 200,
        rate: 20,
        runs: 3,
        users: 10,
        'restricted-every': 10,
        cases: 1,
        concurrency: 0,
        pgbench: '',
        'pgbench-before': '',
        name: 'fanout-c',
        workers: process.env.MDT_WORKERS || '1',
    };
    const out = benchArgs('tests/bench/fanout_c.mjs', defaults);
    if (!out.load) throw new Error('fanout_c: --load names the mdt_load binary');
    return out;
}

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

function runLoad(bin, argv) {
    return new Promise((resolve, reject) => {
        execFile(bin, argv, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
            if (stderr) process.stderr.write(stderr);
            const line = stdout.trim().split('\n').pop();
            if (!line) return reject(err ?? new Error('mdt_load printed nothing'));
            resolve(JSON.parse(line));
        });
    });
}

// serverPids(pid) - the server's processes: pid and its children (the
// workers of MDT_WORKERS > 1).
function serverPids(pid) {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(kids ? kids.split(/\s+/).map(Number) : [])];
}

async function oneRun(opt, subscribers, runNo, bin, workers) {
    const tag = `${process.pid}c${subscribers}r${runNo}${bin ? 'b' : ''}w${workers}`;
    const { dbUrl, agencies, users, server } = await setupRun(opt.users, tag, { MDT_WORKERS: workers }, bin);
    let result, caseIds;
    try {
        const pids = serverPids(server.proc.pid); // the workers are up: startServer saw /healthz
        const lead = await login(server.url, users.find((u) => u.username.startsWith('cac0_')).username);
        let since;
        ({ caseIds, since } = await createCases(lead, agencies, tag, opt.cases));
        const argv = ['--port', String(server.port), '--since', String(since)];
        for (const id of caseIds) argv.push('--case', String(id));
        argv.push('--password', DEFAULT_PASSWORD, '--restricted-agency', 'police');
        for (const pid of pids) argv.push('--server-pid', String(pid));
        if (workers > 1) argv.push('--warm', String(16 * workers));
        argv.push('--sockets', String(subscribers), '--entries', String(opt.entries), '--rate', String(opt.rate));
        argv.push('--restricted-every', String(opt['restricted-every']), '--concurrency', String(opt.concurrency));
        // interleaved by agency: consecutive sockets (one case's) are of every agency
        const order = [...users].sort((a, b) => Number(/\d+/.exec(a.username)) - Number(/\d+/.exec(b.username)));
        for (const u of order) argv.push('--user', `${u.agency}:${u.username}`);
        const rss = () => pids.reduce((n, pid) => n + rssMiB(pid), 0); // summed over the workers
        let rssPeak = rss();
        const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 100);
        const load0 = loadavg();
        const x = await runLoad(opt.load, argv).finally(() => clearInterval(sampler));
        result = { ...x, rss_peak: rssPeak, load: load0, workers };
    } finally {
        await server.stop();
        // MDT_BENCH_SERVER_LOG=FILE: the server's log of the run (its last MiB), appended
        if (process.env.MDT_BENCH_SERVER_LOG) appendFileSync(process.env.MDT_BENCH_SERVER_LOG, server.stderr());
    }
    if (!opt.pgbench) return result;
    // after the server stopped: PostgreSQL alone, as long as the creates took
    const script = (bin && opt['pgbench-before']) || opt.pgbench;
    const pg = await pgbench(dbUrl, script, opt.concurrency, result.entries / result.creates_per_s, caseIds[0]);
    return { ...result, ...pg, ratio: result.creates_per_s / pg.pgbench_tps };
}

const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : String(v));

const creates = (x) =>
    x.concurrency > 0
        ? `${x.concurrency} concurrent: ${f1(x.creates_per_s)} creates/s` + (x.pgbench_tps ? `, pgbench ${f1(x.pgbench_tps)} tps, ratio ${x.ratio.toFixed(2)}` : '') + '; '
        : '';

function runLine(label, r, x) {
    return (
        `${opt.name} ${label}run ${r}: workers=${x.workers} ${x.sockets} subscribers over ${x.cases} cases, ${x.entries} entries ${x.concurrency > 0 ? '' : `@ ${x.rate}/s`}: ${creates(x)}delivery p50 ${f1(x.p50)} p99 ${f1(x.p99)} max ${f1(x.max)} ms; ` +
        `last delivery p99 ${f1(x.last_p99)} ms; REST p99 ${f1(x.rest_p99)} ms; lost ${x.lost} dup ${x.duplicated} leaked ${x.leaked} errors ${x.errors}; ` +
        `cpu per delivery: client ${f1(x.client_cpu_us_per_delivery)} us, server ${f1(x.server_cpu_us_per_delivery)} us (${f1(x.server_cpu_ms_per_entry)} ms/entry); ` +
        `event loop thread ${Math.round(x.server_loop_share * 100)}% of it; connect+subscribe ${x.connect_s.toFixed(2)} s (${x.resubscribes} subscribes pushed back and resent); RSS peak ${f1(x.rss_peak)} MiB; load ${x.load}`
    );
}

function summaryLine(label, subscribers, runs) {
    const med = (k) => f1(median(runs.map((x) => x[k])));
    const sum = (k) => runs.reduce((n, x) => n + x[k], 0);
    const pg = opt.pgbench ? `pgbench_tps=${med('pgbench_tps')} ratio=${median(runs.map((x) => x.ratio)).toFixed(2)} ` : '';
    return (
        `${opt.name} ${label}summary subscribers=${subscribers} workers=${runs[0].workers} cases=${opt.cases} entries=${opt.entries} ` +
        (opt.concurrency > 0 ? `concurrency=${opt.concurrency} creates_per_s=${med('creates_per_s')} ${pg}` : `rate=${opt.rate}/s `) +
        `runs=${runs.length}: ` +
        `p50=${med('p50')}ms p99=${med('p99')}ms max=${med('max')}ms last_p99=${med('last_p99')}ms rest_p99=${med('rest_p99')}ms ` +
        `lost=${sum('lost')} duplicated=${sum('duplicated')} leaked=${sum('leaked')} errors=${sum('errors')} ` +
        `client_cpu=${med('client_cpu_us_per_delivery')}us/delivery server_cpu=${med('server_cpu_us_per_delivery')}us/delivery loop_share=${med('server_loop_share')} ` +
        `connect=${med('connect_s')}s rss_peak=${med('rss_peak')}MiB loadavg="${loadavg()}"`
    );
}

const opt = args();
// label -> [binary, workers]; "" is MDT_BIN alone (no comparison)
const counts = String(opt.workers).split(',').map(Number);
if (counts.some((n) => !(n >= 1 && n <= 64))) throw new Error('fanout_c: --workers takes counts from 1 to 64');
const bins = (opt.before ? [['before ', opt.before], ['after ', undefined]] : [['', undefined]]).flatMap(([label, bin]) =>
    counts.map((n) => [counts.length > 1 ? `${label}workers=${n} ` : label, bin, n]),
);
let bad = 0;
for (const subscribers of String(opt.subscribers).split(',').map(Number)) {
    const runs = new Map(bins.map(([label]) => [label, []]));
    for (let r = 1; r <= opt.runs; r++) {
        for (const [label, bin, workers] of bins) {
            const x = await oneRun(opt, subscribers, r, bin, workers);
            runs.get(label).push(x);
            bad += x.lost + x.duplicated + x.leaked + x.errors;
            console.log(runLine(label, r, x));
        }
    }
    for (const [label] of bins) console.log(summaryLine(label, subscribers, runs.get(label)));
}
process.exit(bad > 0 ? 1 : 0);
