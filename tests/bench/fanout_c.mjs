// fanout_c.mjs - live fan-out measured with the C load generator
// (tests/bench/mdt_load.c): this script makes each run's database, users,
// server and case (lib/setup.mjs), then runs mdt_load against them, which
// logs the users in, subscribes the sockets and posts at a fixed open-loop
// rate. Not a test: `scripts/bench fanout-c` runs it.
//
//   node tests/bench/fanout_c.mjs --load BIN [--subscribers 100,1000]
//        [--entries 200] [--rate 20] [--runs 3] [--users 10] [--before BIN]
//
// Per subscriber count, --runs runs (fresh database and server each); one
// line per run, then a summary line with the median over the runs of each
// figure (per-delivery p50/p99/max, last-delivery p99, REST p99, CPU per
// delivery of client and server, the event loop thread's share of the
// server's), the sums of lost/duplicated/leaked and the load average. Exits 1 when anything was lost, duplicated or leaked.
//
// --before BIN: each run is made twice, first with BIN ("before") then with
// MDT_BIN ("after"), interleaved, so before and after share the box and its
// load; one summary line each.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DEFAULT_PASSWORD } from '../integration/lib/fixtures.mjs';
import { benchArgs, createCase, login, setupRun } from './lib/setup.mjs';

function args() {
    const defaults = { load: '', before: '', subscribers: '100,1000', entries: 200, rate: 20, runs: 3, users: 10, 'restricted-every': 10 };
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

async function oneRun(opt, subscribers, runNo, bin) {
    const tag = `${process.pid}c${subscribers}r${runNo}${bin ? 'b' : ''}`;
    const { agencies, users, server } = await setupRun(opt.users, tag, {}, bin);
    try {
        const lead = await login(server.url, users.find((u) => u.username.startsWith('cac0_')).username);
        const { caseId, since } = await createCase(lead, agencies, tag);
        const argv = ['--port', String(server.port), '--case', String(caseId), '--since', String(since)];
        argv.push('--password', DEFAULT_PASSWORD, '--restricted-agency', 'police', '--server-pid', String(server.proc.pid));
        argv.push('--sockets', String(subscribers), '--entries', String(opt.entries), '--rate', String(opt.rate));
        argv.push('--restricted-every', String(opt['restricted-every']));
        for (const u of users) argv.push('--user', `${u.agency}:${u.username}`);
        let rssPeak = rssMiB(server.proc.pid);
        const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(server.proc.pid))), 100);
        const load0 = loadavg();
        const x = await runLoad(opt.load, argv).finally(() => clearInterval(sampler));
        return { ...x, rss_peak: rssPeak, load: load0 };
    } finally {
        await server.stop();
    }
}

const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : String(v));

function runLine(label, r, x) {
    return (
        `fanout-c ${label}run ${r}: ${x.sockets} subscribers, ${x.entries} entries @ ${x.rate}/s: delivery p50 ${f1(x.p50)} p99 ${f1(x.p99)} max ${f1(x.max)} ms; ` +
        `last delivery p99 ${f1(x.last_p99)} ms; REST p99 ${f1(x.rest_p99)} ms; lost ${x.lost} dup ${x.duplicated} leaked ${x.leaked} errors ${x.errors}; ` +
        `cpu per delivery: client ${f1(x.client_cpu_us_per_delivery)} us, server ${f1(x.server_cpu_us_per_delivery)} us (${f1(x.server_cpu_ms_per_entry)} ms/entry); ` +
        `event loop thread ${Math.round(x.server_loop_share * 100)}% of it; connect+subscribe ${x.connect_s.toFixed(2)} s (${x.resubscribes} subscribes pushed back and resent); RSS peak ${f1(x.rss_peak)} MiB; load ${x.load}`
    );
}

function summaryLine(label, subscribers, runs) {
    const med = (k) => f1(median(runs.map((x) => x[k])));
    const sum = (k) => runs.reduce((n, x) => n + x[k], 0);
    return (
        `fanout-c ${label}summary subscribers=${subscribers} entries=${opt.entries} rate=${opt.rate}/s runs=${runs.length}: ` +
        `p50=${med('p50')}ms p99=${med('p99')}ms max=${med('max')}ms last_p99=${med('last_p99')}ms rest_p99=${med('rest_p99')}ms ` +
        `lost=${sum('lost')} duplicated=${sum('duplicated')} leaked=${sum('leaked')} errors=${sum('errors')} ` +
        `client_cpu=${med('client_cpu_us_per_delivery')}us/delivery server_cpu=${med('server_cpu_us_per_delivery')}us/delivery loop_share=${med('server_loop_share')} ` +
        `connect=${med('connect_s')}s rss_peak=${med('rss_peak')}MiB loadavg="${loadavg()}"`
    );
}

const opt = args();
// label -> binary; "" is MDT_BIN alone (no comparison)
const bins = opt.before ? [['before ', opt.before], ['after ', undefined]] : [['', undefined]];
let bad = 0;
for (const subscribers of String(opt.subscribers).split(',').map(Number)) {
    const runs = new Map(bins.map(([label]) => [label, []]));
    for (let r = 1; r <= opt.runs; r++) {
        for (const [label, bin] of bins) {
            const x = await oneRun(opt, subscribers, r, bin);
            runs.get(label).push(x);
            bad += x.lost + x.duplicated + x.leaked + x.errors;
            console.log(runLine(label, r, x));
        }
    }
    for (const [label] of bins) console.log(summaryLine(label, subscribers, runs.get(label)));
}
process.exit(bad > 0 ? 1 : 0);
