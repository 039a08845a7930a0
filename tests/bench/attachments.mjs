// attachments.mjs - attachment throughput (issue #19): upload and download
// of one file through the API (streamed both ways, sealed in 256 KiB
// chunks, SHA-256 checked on both ways) against psql's \copy of the same bytes into and out of a
// bytea column of the same database, in the same run. Not a test:
// `scripts/bench attachments` runs it.
//
//   node tests/bench/attachments.mjs [--mib 20] [--rounds 5]
//
// The file is a PDF header and random bytes (incompressible; libmagic takes
// it as a PDF). Each round uploads it, downloads it, then \copy's it in and
// out (hex text, the bytea COPY format); prints each round and the medians
// in MiB/s, the API's rate as a share of \copy's, and the server's peak
// resident memory above its level before the round (read from /proc: the
// streaming keeps it far under the file's size).

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createDatabase, ownerUrl, psql, startServer } from '../integration/lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from '../integration/lib/board_fixtures.mjs';

const run = promisify(execFile);
const PSQL = `${process.env.MDT_PG_BIN ?? '/usr/lib/postgresql/15/bin'}/psql`;

function args() {
    const out = { mib: 20, rounds: 5 };
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        const m = /^--([a-z]+)(?:=(.*))?$/.exec(argv[i]);
        if (!m || !(m[1] in out)) {
            console.error('usage: node tests/bench/attachments.mjs [--mib N] [--rounds N]');
            process.exit(2);
        }
        out[m[1]] = Number(m[2] ?? argv[++i]);
    }
    return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

// seconds(fn) - how long the promise fn() takes, in seconds.
async function seconds(fn) {
    const t0 = performance.now();
    await fn();
    return (performance.now() - t0) / 1000;
}

async function main() {
    const a = args();
    const file = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(a.mib * 1024 * 1024 - 9)]);
    const dbUrl = await createDatabase();
    const w = await boardWorld(dbUrl);
    const server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_ATTACHMENT_MAX: String(file.length + 1) } });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-bench-att-'));
    const hexIn = path.join(dir, 'in.txt');
    const hexOut = path.join(dir, 'out.txt');
    writeFileSync(hexIn, `\\\\x${file.toString('hex')}\n`);
    const owner = ownerUrl(dbUrl);
    await psql(owner, 'CREATE TABLE bench_blob (data bytea)');
    const copy = (cmd) => run(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', owner, '-c', cmd], { maxBuffer: 1 << 20 });
    try {
        const caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police] });
        const cac = await login(server.url, w.users.cacMember);
        const res = { up: [], down: [], copyIn: [], copyOut: [], rss: [] };
        const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))[1]) / 1024;
        for (let round = 0; round < a.rounds; round++) {
            let id = 0;
            const base = rss();
            let peak = base;
            const sampler = setInterval(() => (peak = Math.max(peak, rss())), 2);
            res.up.push(await seconds(async () => {
                const r = await cac.post(`/api/v1/cases/${caseId}/attachments?filename=bench.pdf&visibility=mdt`, file, {
                    headers: { 'Content-Type': 'application/octet-stream' },
                });
                if (r.status !== 201) throw new Error(`upload: ${r.status} ${r.text}`);
                id = r.json.id;
            }));
            res.down.push(await seconds(async () => {
                const r = await fetch(`${server.url}/api/v1/attachments/${id}/content`, { headers: { Cookie: cac.cookie() } });
                const body = Buffer.from(await r.arrayBuffer());
                if (r.status !== 200 || sha256(body) !== sha256(file)) throw new Error(`download: ${r.status}`);
            }));
            clearInterval(sampler);
            res.rss.push(Math.max(peak, rss()) - base);
            await psql(owner, 'TRUNCATE bench_blob');
            res.copyIn.push(await seconds(() => copy(`\\copy bench_blob FROM '${hexIn}'`)));
            res.copyOut.push(await seconds(() => copy(`\\copy bench_blob TO '${hexOut}'`)));
            if (readFileSync(hexOut, 'utf8').length !== file.length * 2 + 4) throw new Error('\\copy out: wrong size');
            const rate = (k) => (a.mib / res[k].at(-1)).toFixed(1);
            console.log(
                `round ${round + 1}: upload ${rate('up')}, download ${rate('down')}, \\copy in ${rate('copyIn')}, out ${rate('copyOut')} MiB/s;` +
                    ` server RSS +${res.rss.at(-1).toFixed(1)} MiB`,
            );
        }
        const m = (k) => (a.mib / median(res[k])).toFixed(1);
        const ratio = (k, c) => (median(res[c]) / median(res[k])).toFixed(2);
        console.log(
            `attachments: ${a.mib} MiB, median of ${a.rounds}: upload ${m('up')} MiB/s, download ${m('down')} MiB/s; ` +
                `psql \\copy bytea in ${m('copyIn')} MiB/s, out ${m('copyOut')} MiB/s; ` +
                `upload ${ratio('up', 'copyIn')}x \\copy in, download ${ratio('down', 'copyOut')}x \\copy out; ` +
                `server RSS peak +${Math.max(...res.rss).toFixed(1)} MiB over a round`,
        );
    } finally {
        await server.stop();
    }
}

await main();
