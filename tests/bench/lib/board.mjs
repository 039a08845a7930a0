// board.mjs - what the board-read benchmarks share (board.mjs,
// isolation.mjs): the 200-entry case they read, wrk and its figures, the
// server's CPU from /proc.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createCase, login, setupRun } from './setup.mjs';

export const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : String(v));
export const cpuMs = (pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (s) => {
    const m = /^([\d.]+)(us|ms|s)$/.exec(s);
    return m ? Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3 }[m[2]] : NaN;
};

// wrk(opt, url, cookie) - wrk -t threads -c connections -d seconds
// --latency on url with the session cookie (and --timeout opt.timeout when
// given: wrk leaves a request that timed out out of its latency figures);
// {requests, rps, p50, p99 (ms), non2xx, timeouts}.
export function wrk(opt, url, cookie) {
    const argv = [`-t${opt.threads}`, `-c${opt.connections}`, `-d${opt.seconds}s`, '--latency', '-H', `Cookie: ${cookie}`, url];
    if (opt.timeout) argv.splice(-1, 0, '--timeout', String(opt.timeout));
    return new Promise((resolve, reject) => {
        execFile('wrk', argv, (err, stdout) => {
            if (err) return reject(err);
            resolve({
                requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0),
                rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0),
                p50: ms(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
                p99: ms(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
                non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
                timeouts: Number(/timeout (\d+)/.exec(stdout)?.[1] ?? 0),
            });
        });
    });
}

// makeWorld(opt) - one database whose case has opt.entries entries (every
// 10th police-only), made through a server that is stopped again;
// {dbUrl, caseId, cookie: a police reader's session}.
export async function makeWorld(opt) {
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

