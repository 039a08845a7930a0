// fixtures.mjs - agencies and users for integration tests, made the
// supported way: with the `mdtboard` command line (`agency add`,
// `user add --password-stdin`) against the test's database.
//
//   const agencyId = await addAgency(dbUrl, { name: 'Police', kind: 'law_enforcement' });
//   const userId = await addUser(dbUrl, { username: 'ofc', agencyId, role: 'member', password });
//   const { agencyId, userId, username, password } = await addAgencyUser(dbUrl, { kind: 'cac' });
//
// Names are made unique per process so several fixtures can share a
// database. Passwords default to one that meets the policy (12+ characters).

import { execFile } from 'node:child_process';
import { BIN, cliEnv } from './harness.mjs';

export const DEFAULT_PASSWORD = 'correct horse battery staple';

let counter = 0;
const unique = (prefix) => `${prefix}${process.pid}x${++counter}`;

function cli(dbUrl, args, input, bin = BIN) {
    return new Promise((resolve, reject) => {
        const child = execFile(
            bin,
            args,
            { env: cliEnv(dbUrl), maxBuffer: 1 << 20 },
            (err, stdout, stderr) => {
                if (err) {
                    err.message = `mdtboard ${args.join(' ')} failed: ${err.message}\n${stderr}`;
                    reject(err);
                } else {
                    resolve(stdout);
                }
            },
        );
        // A command that does not read stdin may exit before we close it:
        // that EPIPE is not an error of the command.
        child.stdin.on('error', () => {});
        child.stdin.end(input ?? '');
    });
}

// The id a command printed: the last integer on its output.
function printedId(stdout, what) {
    const m = /(\d+)\s*$/.exec(stdout.trim());
    if (!m) throw new Error(`mdtboard ${what}: no id in its output: ${JSON.stringify(stdout)}`);
    return Number(m[1]);
}

// addAgency(dbUrl, {name, kind, bin}) - resolves the new agency's id (bin:
// the mdtboard that adds it, default BIN).
export async function addAgency(dbUrl, { name = unique('Agency '), kind = 'cac', bin } = {}) {
    return printedId(await cli(dbUrl, ['agency', 'add', '--name', name, '--kind', kind], undefined, bin), 'agency add');
}

// addUser(dbUrl, {username, displayName, agencyId, role, password, bin}) -
// resolves the new user's id (bin as for addAgency).
export async function addUser(
    dbUrl,
    { username = unique('user'), displayName, agencyId, role = 'member', password = DEFAULT_PASSWORD, bin } = {},
) {
    if (agencyId === undefined) throw new Error('addUser: agencyId is required');
    const out = await cli(
        dbUrl,
        [
            'user',
            'add',
            '--username',
            username,
            '--display-name',
            displayName ?? username,
            '--agency-id',
            String(agencyId),
            '--role',
            role,
            '--password-stdin',
        ],
        `${password}\n`,
        bin,
    );
    return printedId(out, 'user add');
}

// addAgencyUser(dbUrl, {kind, role, username, password}) - a fresh agency
// of that kind with one user in it. Resolves {agencyId, userId, username, password}.
export async function addAgencyUser(dbUrl, { kind = 'cac', role = 'member', username, password = DEFAULT_PASSWORD } = {}) {
    const agencyId = await addAgency(dbUrl, { kind });
    username ??= unique('user');
    const userId = await addUser(dbUrl, { username, agencyId, role, password });
    return { agencyId, userId, username, password };
}
