// failover.test.mjs - PostgreSQL's own replication under two nodes: a
// primary and a synchronous streaming standby (pg_basebackup -R), the
// nodes connected with a libpq multi-host URL and
// target_session_attrs=read-write. The test kills the primary (immediate
// shutdown) while writes go on through both nodes, promotes the standby,
// and checks that the nodes reconnect by themselves (LISTEN included), that
// no acknowledged write is lost, that a subscriber's stream has every event
// once and in order (answering a `resync`, which an event whose render
// failed during the outage causes, by subscribing again with `since`), and
// how long the writes stopped. docs/deploy.md.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, metrics, psql, startCluster, startServer, until, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, login } from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';

const PGBIN = '/usr/lib/postgresql/15/bin';
const root = process.getuid?.() === 0;

let primary, standbyDir, standbyPort, dbName, dbUrl, w;
const nodes = [];

function run(file, args, opts = {}) {
    const [f, a] = root ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    return new Promise((resolve, reject) => {
        execFile(f, a, { cwd: os.tmpdir(), ...opts }, (err, stdout, stderr) =>
            err ? reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
        );
    });
}

const urlOn = (dir, port, db, role = 'mdt') => `postgresql://${role}@/${db}?host=${dir}&port=${port}`;

// makeStandby() - a streaming standby of the primary in a new directory,
// its own socket and port, started.
async function makeStandby() {
    standbyDir = mkdtempSync(path.join(os.tmpdir(), 'mdt-standby-'));
    if (root) chownSync(standbyDir, Number(await run('id', ['-u', 'postgres']).then((s) => s.trim())), 0);
    const pport = readFileSync(path.join(primary.dir, 'port'), 'utf8').trim();
    await run(`${PGBIN}/pg_basebackup`, ['-h', primary.dir, '-p', pport, '-U', 'mdt', '-D', `${standbyDir}/data`, '-R', '-X', 'stream', '-c', 'fast']);
    standbyPort = Number(pport) + 1;
    // the copied mdt.conf names the primary's socket and port
    const conf = `listen_addresses = ''\nunix_socket_directories = '${standbyDir}'\nunix_socket_permissions = 0777\nport = ${standbyPort}\nmax_connections = 200\n`;
    writeFileSync(path.join(standbyDir, 'mdt.conf.new'), conf);
    await run('cp', [path.join(standbyDir, 'mdt.conf.new'), `${standbyDir}/data/mdt.conf`]);
    await run(`${PGBIN}/pg_ctl`, ['-D', `${standbyDir}/data`, '-l', `${standbyDir}/log`, '-w', '-t', '60', 'start']);
}

before(async () => {
    primary = await startCluster();
    dbUrl = await createDatabase({ adminUrl: primary.adminUrl });
    dbName = /^postgres(?:ql)?:\/\/[^/]*\/([^?]+)/.exec(dbUrl)[1];
    await makeStandby();
    await psql(primary.adminUrl, "ALTER SYSTEM SET synchronous_commit = 'on'");
    await psql(primary.adminUrl, "ALTER SYSTEM SET synchronous_standby_names = '*'");
    await psql(primary.adminUrl, 'SELECT pg_reload_conf()');
    await until(
        async () => (await psql(primary.adminUrl, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")) === '1',
        20000,
        'the standby to be synchronous',
    );
    w = await boardWorld(dbUrl);
    const pport = readFileSync(path.join(primary.dir, 'port'), 'utf8').trim();
    const multi = `postgresql://mdtboard_serve@/${dbName}?host=${primary.dir},${standbyDir}&port=${pport},${standbyPort}&target_session_attrs=read-write`;
    for (let i = 0; i < 2; i++) nodes.push(await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_DATABASE_URL: multi } }));
});

after(async () => {
    for (const n of nodes) await n.stop();
    if (standbyDir) {
        await run(`${PGBIN}/pg_ctl`, ['-D', `${standbyDir}/data`, '-m', 'immediate', 'stop']).catch(() => {});
        rmSync(standbyDir, { recursive: true, force: true });
    }
    if (primary) await primary.destroy();
});

test('the primary dies mid-traffic, the standby is promoted: no acknowledged write lost, no event missed', { timeout: 180000 }, async () => {
    const [A, B] = nodes;
    const sup = await login(A.url, w.users.cacSupervisor);
    const res = await sup.post('/api/v1/cases', { case_number: `F-${process.pid}`, alias: 'F.F.', referral_date: today(-30), agencies: [w.agencies.police] });
    assert.equal(res.status, 201, res.text);
    const caseId = res.json.id;
    const seq0 = (await sup.get(`/api/v1/cases/${caseId}`)).json.seq;

    const police = await login(B.url, w.users.policeMember);
    const conn = await wsConnect(B.url, { cookie: police.cookie(), origin: B.url });
    conn.send({ type: 'subscribe', case_id: caseId, since: seq0 });
    assert.equal((await conn.next((x) => x.type === 'subscribed', 10000)).type, 'subscribed');

    const writers = [await login(A.url, w.users.cacMember), await login(B.url, w.users.cacMember)];
    const acked = [];
    let failed = 0;
    let stop = false;
    let killedAt = 0;
    let firstAfter = 0;
    const writing = writers.map(async (client, j) => {
        for (let i = 0; !stop; i++) {
            const sentAt = Date.now();
            const r = await client.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: `w${j} ${i}`, visibility: 'mdt' });
            if (r.status === 201) {
                acked.push(r.json.id);
                // the first write sent after the primary was gone
                if (killedAt && sentAt > killedAt && !firstAfter) firstAfter = Date.now();
            } else {
                failed++;
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        }
    });
    await until(() => acked.length >= 10, 20000, 'writes before the failover');
    await run(`${PGBIN}/pg_ctl`, ['-D', `${primary.dir}/data`, '-m', 'immediate', 'stop']);
    killedAt = Date.now();
    await run(`${PGBIN}/pg_ctl`, ['-D', `${standbyDir}/data`, '-w', 'promote']);
    const n0 = acked.length;
    await until(() => firstAfter && acked.length >= n0 + 10, 60000, 'writes after the promotion');
    stop = true;
    await Promise.all(writing);

    const newPrimary = urlOn(standbyDir, standbyPort, dbName);
    const found = await psql(newPrimary, `SELECT count(*) FROM entries WHERE id IN (${acked.join(',')})`);
    assert.equal(Number(found), acked.length, 'acknowledged writes lost');
    const expected = (await psql(newPrimary, `SELECT string_agg(seq::text, ',' ORDER BY seq) FROM events WHERE case_id = ${caseId} AND seq > ${seq0}`)).split(',').map(Number);
    const seqs = () => conn.frames.filter((f) => f.type === 'event' && f.case_id === caseId).map((f) => f.seq);
    // An event whose render failed while the database was away resyncs its
    // subscribers (nothing is skipped silently, docs/live.md); the client
    // subscribes again with `since` = the last seq it has, as after a reconnect.
    let resyncs = 0;
    await until(
        async () => {
            const n = conn.frames.filter((f) => f.type === 'resync' && f.case_id === caseId).length;
            if (n > resyncs) {
                resyncs = n;
                conn.send({ type: 'subscribe', case_id: caseId, since: seqs().at(-1) ?? seq0 });
            }
            return seqs().at(-1) === expected.at(-1);
        },
        30000,
        'the subscriber to catch up',
    ).catch((e) => {
        const other = conn.frames.filter((f) => f.type !== 'event');
        throw new Error(`${e.message}: got ${seqs()}, expected ${expected}; other frames ${JSON.stringify(other)}`);
    });
    await conn.barrier();
    assert.deepEqual(seqs(), expected, 'every event once, in order');
    for (const n of nodes) {
        assert.equal((await (await fetch(`${n.url}/healthz`)).json()).db, 'ok');
        await until(async () => (await metrics(n.url)).get('mdt_listen_up') === 1, 10000, 'LISTEN up again');
        assert.ok((await metrics(n.url)).get('mdt_db_reconnects_total') > 0, 'the pool reconnected');
    }
    const recoverS = ((firstAfter - killedAt) / 1000).toFixed(1);
    process.stdout.write(`# writes acknowledged ${acked.length}, found ${found}; failed ${failed}; events ${expected.length} delivered, ${seqs().length - new Set(seqs()).size} duplicated, ${expected.filter((x) => !seqs().includes(x)).length} lost; ${resyncs} resync(s) answered by subscribing with since; writes resumed ${recoverS} s after the primary was gone (promotion included)\n`);
    await conn.close();
});
