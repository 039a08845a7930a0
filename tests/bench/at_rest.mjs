// at_rest.mjs - what encryption at rest costs a board read (issue #16:
// under 10 %). Not a test: `scripts/bench at_rest` runs it.
//
//   node tests/bench/at_rest.mjs [--entries 200] [--seconds 4] [--rounds 5]
//        [--concurrency 4] [--cache 0]
//
// The server's board cache is off (MDT_BOARD_CACHE_MB=0) unless --cache
// gives it megabytes: with it on, every read after the first is served
// from the cache and never opens a sealed value, so the figure would be the
// cache's, not encryption's.
//
// One database, one case with --entries notes of about 500 bytes of Markdown
// each (a board of roughly 110 KB of JSON, as in issue #17), written through
// the API (so sealed). Each round measures board reads (GET
// /api/v1/cases/{id}, --concurrency requests in flight, --seconds long)
// twice, in alternating order: "sealed" with the rows as the server wrote
// them, and "plain" with the same bodies written back in plain text through
// SQL (a value without the prefix is read as it is, so the server skips
// opening it). Everything else is identical, so the ratio of the two is the
// cost of opening. Prints each round and the medians. Also prints the
// median latency of entry writes (POST, sealed; one extra nextval round
// trip and two seals per write) over --entries writes.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createDatabase, psql, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';

function args() {
    const out = { entries: 200, seconds: 4, rounds: 5, concurrency: 4, cache: 0 };
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        const m = /^--([a-z]+)(?:=(.*))?$/.exec(argv[i]);
        if (!m || !(m[1] in out)) {
            console.error('usage: node tests/bench/at_rest.mjs [--entries N] [--seconds S] [--rounds N] [--concurrency N] [--cache MB]');
            process.exit(2);
        }
        out[m[1]] = Number(m[2] ?? argv[++i]);
    }
    return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// CPU time (user + system, ms) the process has used so far (/proc/PID/stat).
function cpuMs(pid) {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks of 1/100 s
}

const BODY = (i) =>
    `**Update ${i}** — contact with the school counselor about attendance; the child ` +
    'reports feeling safer at the placement and asked about a visit with a sibling. ' +
    'Follow-up: confirm the interpreter for the next interview, ask the advocate about ' +
    'transport, and check the status of the medical referral. '.repeat(2);

async function reads(client, caseId, seconds, concurrency) {
    const until = performance.now() + seconds * 1000;
    let n = 0;
    let bytes = 0;
    const worker = async () => {
        while (performance.now() < until) {
            const r = await client.get(`/api/v1/cases/${caseId}`);
            if (r.status !== 200) throw new Error(`board read: ${r.status} ${r.text.slice(0, 200)}`);
            bytes = r.text.length;
            n++;
        }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { rate: n / ((performance.now() - t0) / 1000), bytes, n };
}

async function main() {
    const a = args();
    const dbUrl = await createDatabase();
    const w = await boardWorld(dbUrl);
    const server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_BOARD_CACHE_MB: a.cache } });
    try {
        const caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police] });
        const cac = await login(server.url, w.users.cacMember);
        const writes = [];
        const plain = new Map(); // entry id -> [md, html]
        for (let i = 0; i < a.entries; i++) {
            const t0 = performance.now();
            const r = await cac.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: BODY(i), visibility: 'mdt' });
            writes.push(performance.now() - t0);
            if (r.status !== 201) throw new Error(`write: ${r.status} ${r.text}`);
            plain.set(r.json.id, [r.json.body_md, r.json.body_html]);
        }
        const sealedRows = await psql(dbUrl, `SELECT id || ' ' || body_md || ' ' || body_html FROM entries WHERE case_id = ${caseId}`);
        const sealed = new Map(sealedRows.split('\n').filter(Boolean).map((l) => { const [id, md, html] = l.split(' '); return [Number(id), [md, html]]; }));
        const q = (s) => `'${s.replaceAll("'", "''")}'`;
        const setRows = async (m) => {
            const rows = [...m];
            for (let i = 0; i < rows.length; i += 20) { // one argument stays under the kernel's 128 KiB
                const values = rows.slice(i, i + 20).map(([id, [md, html]]) => `(${id}, ${q(md)}, ${q(html)})`).join(',');
                await psql(dbUrl, `UPDATE entries e SET body_md = v.md, body_html = v.html FROM (VALUES ${values}) v(id, md, html) WHERE e.id = v.id`);
            }
        };
        const res = { sealed: [], plain: [] };
        const cpu = { sealed: [], plain: [] }; // server CPU ms per read
        let bytes = 0;
        await reads(cac, caseId, 1, a.concurrency); // warm up
        for (let round = 0; round < a.rounds; round++) {
            const order = round % 2 ? ['plain', 'sealed'] : ['sealed', 'plain'];
            for (const kind of order) {
                await setRows(kind === 'sealed' ? sealed : plain);
                const c0 = cpuMs(server.proc.pid);
                const r = await reads(cac, caseId, a.seconds, a.concurrency);
                cpu[kind].push((cpuMs(server.proc.pid) - c0) / r.n);
                res[kind].push(r.rate);
                bytes = r.bytes;
            }
            console.log(
                `round ${round + 1}: sealed ${res.sealed.at(-1).toFixed(0)}/s (${cpu.sealed.at(-1).toFixed(2)} ms server CPU a read), ` +
                    `plain ${res.plain.at(-1).toFixed(0)}/s (${cpu.plain.at(-1).toFixed(2)} ms)`,
            );
        }
        const s = median(res.sealed);
        const p = median(res.plain);
        console.log(
            `at_rest: board ${a.entries} entries (${(bytes / 1024).toFixed(0)} KiB), ${a.concurrency} in flight, board cache ${a.cache} MB, ` +
                `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}: ` +
                `sealed ${s.toFixed(0)}/s, plain ${p.toFixed(0)}/s (median of ${a.rounds}); ` +
                `cost of opening ${((1 - s / p) * 100).toFixed(1)} % of the rate; server CPU a read ` +
                `${median(cpu.sealed).toFixed(2)} ms sealed, ${median(cpu.plain).toFixed(2)} ms plain ` +
                `(+${((median(cpu.sealed) / median(cpu.plain) - 1) * 100).toFixed(1)} %); entry write median ${median(writes).toFixed(1)} ms`,
        );
    } finally {
        await server.stop();
    }
}

await main();
