// setup.mjs - what every fan-out benchmark run starts from (fanout.mjs,
// fanout_c.mjs): a fresh database, three agencies (CAC lead, police, child
// welfare) with `perAgency` users each, one `mdtboard serve`, and one case
// all three agencies are on.
import { createDatabase, startServer, api } from '../../integration/lib/harness.mjs';
import { addAgency, addUser, DEFAULT_PASSWORD } from '../../integration/lib/fixtures.mjs';
import { today } from '../../integration/lib/clock.mjs';

export const KINDS = { cac: 'cac', police: 'law_enforcement', dcf: 'child_welfare' };

// setupRun(perAgency, tag, env, bin) - {dbUrl, agencies: {cac, police, dcf},
// users: [{agency, username}], server}: bin (default MDT_BIN) serving. The
// caller stops the server.
export async function setupRun(perAgency, tag, env = {}, bin = undefined) {
    // migrated and filled by the binary that serves it (the before one has its own schema)
    const dbUrl = await createDatabase({ bin });
    const agencies = {};
    for (const [k, kind] of Object.entries(KINDS)) agencies[k] = await addAgency(dbUrl, { name: `${k} ${tag}`, kind, bin });
    const users = [];
    for (const k of Object.keys(KINDS)) {
        for (let i = 0; i < perAgency; i++) {
            const username = `${k}${i}_${tag}`;
            const role = k === 'cac' && i === 0 ? 'supervisor' : 'member';
            await addUser(dbUrl, { username, displayName: `${k} user ${i}`, agencyId: agencies[k], role, bin });
            users.push({ agency: k, username });
        }
    }
    const server = await startServer({
        dbUrl,
        bin,
        // every socket subscribes once: no bucket may refuse the benchmark's own sockets
        env: { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOGIN_RATE: 100000, MDT_WS_SUBSCRIBE_RATE: 1000000, MDT_LOG_LEVEL: process.env.MDT_BENCH_LOG_LEVEL ?? 'warn', ...env },
    });
    return { dbUrl, agencies, users, server };
}

// login(base, username) - an api() client signed in as username.
export async function login(base, username) {
    const c = api(base);
    const res = await c.post('/api/v1/login', { username, password: DEFAULT_PASSWORD });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`);
    return c;
}

// createCase(lead, agencies, tag) - the run's case, created by the lead
// client; {caseId, since: the board's seq}.
export async function createCase(lead, agencies, tag) {
    const { caseIds, since } = await createCases(lead, agencies, tag, 1);
    return { caseId: caseIds[0], since };
}

// createCases(lead, agencies, tag, count) - count cases every agency is on,
// created by the lead client 8 at a time; {caseIds, since: the ledger seq
// after the last one (the seq is global: one `since` for all of them)}.
export async function createCases(lead, agencies, tag, count) {
    const caseIds = [];
    const one = async (i) => {
        const res = await lead.post('/api/v1/cases', {
            case_number: count === 1 ? `B-${tag}` : `B-${tag}-${i}`,
            alias: 'B.B.',
            referral_date: today(-30),
            agencies: Object.values(agencies),
        });
        if (res.status !== 201) throw new Error(`create case: ${res.status} ${res.text}`);
        caseIds[i] = res.json.id;
    };
    for (let i = 0; i < count; i += 8) await Promise.all(Array.from({ length: Math.min(8, count - i) }, (_, k) => one(i + k)));
    const boards = await Promise.all(caseIds.slice(-8).map((id) => lead.get(`/api/v1/cases/${id}`)));
    return { caseIds, since: Math.max(...boards.map((b) => b.json.seq)) };
}

// benchArgs(script, defaults) - `--name N` / `--name=N` options over
// defaults (numbers parsed where the default is a number); exits 2 with a
// usage line naming script on anything else.
export function benchArgs(script, defaults) {
    const out = { ...defaults };
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
        if (!m || !(m[1] in out)) {
            console.error(`usage: node ${script} ${Object.keys(out).map((k) => `[--${k} X]`).join(' ')}`);
            process.exit(2);
        }
        const v = m[2] ?? argv[++i];
        out[m[1]] = typeof defaults[m[1]] === 'number' ? Number(v) : v;
    }
    return out;
}
