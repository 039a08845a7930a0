// pgbench.mjs - PostgreSQL alone running the SQL of one entry create
// (tests/bench/create_entry.sql), the reference the creates/s scenario is
// compared with (issue 17: creates/s >= 0.8 x pgbench on the same SQL).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { psql, servingUrl, SOURCE_DIR } from '../../integration/lib/harness.mjs';

const PGBENCH = existsSync('/usr/lib/postgresql/15/bin/pgbench') ? '/usr/lib/postgresql/15/bin/pgbench' : 'pgbench';

// pgbench(dbUrl, script, clients, seconds, caseId) - runs script (a path
// under the source tree, or an absolute one) against dbUrl as the serving role, as a cac user
// of caseId's lead agency, with `clients` connections (2 threads) for
// `seconds` (at least 3); {pgbench_tps, pgbench_tx}. The serving role is
// what the server uses, so grants and row-level rules are the same.
export async function pgbench(dbUrl, script, clients, seconds, caseId) {
    const row = await psql(dbUrl, `SELECT u.id || ' ' || u.agency_id FROM users u JOIN cases c ON c.lead_agency_id = u.agency_id WHERE c.id = ${Number(caseId)} ORDER BY u.id LIMIT 1`);
    const [userId, agencyId] = String(row).trim().split(/\s+/).map(Number);
    if (!userId || !agencyId) throw new Error(`pgbench: no user of case ${caseId}'s lead agency`);
    const argv = ['-n', '-M', 'simple', '-c', String(clients), '-j', '2', '-T', String(Math.max(3, Math.round(seconds))), '-f', path.resolve(SOURCE_DIR, script)];
    argv.push('-D', `case_id=${caseId}`, '-D', `user_id=${userId}`, '-D', `agency_id=${agencyId}`, servingUrl(dbUrl));
    const out = await new Promise((resolve, reject) =>
        execFile(PGBENCH, argv, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`pgbench: ${stderr || err.message}`)) : resolve(stdout))),
    );
    const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
    const tx = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN);
    return { pgbench_tps: tps, pgbench_tx: tx };
}
