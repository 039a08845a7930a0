// key_rotation.test.mjs - rotating the key-encryption key online
// (docs/security.md "Rotating the KEK", docs/operations.md): two `mdtboard
// serve` nodes on one database, each with its own MDT_KEY_FILE path, and
// live traffic (a writer posting entries through both nodes without pause,
// a subscriber on each node, board reads of cases made through the other
// node, so their data keys are not cached where they are read) while the
// operator does (a) `keys init --file new`, (b) the new file at
// MDT_KEY_FILE on each node and SIGHUP, (c) `keys rotate-kek --old --new`.
//
// Proves: no request fails; each subscriber gets every event of the case
// once, in order; every board reads back the same on both nodes; `audit
// verify` passes under the new file; `keys status` shows every data key
// under the new id and the audit key stored; a node restarted with only the
// new file starts and reads everything. Refusals that change nothing: a
// SIGHUP with an unfit file (the node keeps working), a restart with only
// the new file between (b) and (c), rotate-kek with a wrong --old or the
// same key twice, serve with the old file after the rotation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, childEnv, createDatabase, keyFile, ownerUrl, psql, startServer, until, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, boardOf, login, onNode } from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';

let dir, dbUrl, w, A, B;
let oldFile, newFile; // the database's key file, the rotation's new one
let rewrapped = -1; // data keys rotate-kek said it re-wrapped
const nodeFile = {}; // node name -> its MDT_KEY_FILE path
const as = {}; // name -> client on A or B
const made = []; // {caseId, via, token}: cases made before the rotation

// mdt(args, extra) - runs mdtboard with MDT_DATABASE_URL (the owner role);
// resolves {code, stdout, stderr}.
function mdt(args, extra = {}) {
    return new Promise((resolve) => {
        execFile(BIN, args, { env: childEnv({ MDT_DATABASE_URL: ownerUrl(dbUrl), ...extra }) }, (err, stdout, stderr) =>
            resolve({ code: err ? err.code : 0, stdout, stderr }),
        );
    });
}

// place(src, dst) - puts a copy of key file src at dst (mode 0600) in one
// rename, as an operator's deployment would.
function place(src, dst) {
    const tmp = `${dst}.tmp`;
    copyFileSync(src, tmp);
    chmodSync(tmp, 0o600);
    renameSync(tmp, dst);
}

async function startNode(file) {
    return startServer({ dbUrl, env: { ...BOARD_ENV, MDT_KEY_FILE: file } });
}

let caseNo = 0;
// newCase(client, token) - a case made through client's node, police on
// it, with one entry holding token. Resolves its id.
async function newCase(client, token) {
    const res = await client.post('/api/v1/cases', {
        case_number: `KR-${process.pid}-${++caseNo}`,
        alias: 'K.R.',
        referral_date: today(-20),
        agencies: [w.agencies.police],
    });
    assert.equal(res.status, 201, res.text);
    const e = await client.post(`/api/v1/cases/${res.json.id}/entries`, { kind: 'note', body_md: token, visibility: 'mdt' });
    assert.equal(e.status, 201, e.text);
    return res.json.id;
}

// sighup(node, pattern) - sends SIGHUP and waits for the log line.
async function sighup(node, pattern) {
    const before = node.stderr().length;
    node.proc.kill('SIGHUP');
    await until(() => pattern.test(node.stderr().slice(before)), 10000, `${pattern} in the node's log`);
    return node.stderr().slice(before);
}

const dataKeys = () => psql(dbUrl, `SELECT string_agg(owner || ':' || kek_id || ':' || encode(wrapped, 'hex'), ',' ORDER BY owner) FROM data_keys`);
const keyId = (file) => /^key-id ([0-9a-f]{16})$/m.exec(readFileSync(file, 'utf8'))[1];
const entryBodies = (board) => board.entries.map((e) => e.body_md).sort();

before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-rotate-'));
    dbUrl = await createDatabase();
    oldFile = path.join(dir, 'old.key');
    place(keyFile(), oldFile);
    for (const n of ['A', 'B']) place(oldFile, (nodeFile[n] = path.join(dir, `node${n}.key`)));
    [A, B] = await Promise.all([startNode(nodeFile.A), startNode(nodeFile.B)]);
    w = await boardWorld(dbUrl);
    as.supA = await login(A.url, w.users.cacSupervisor);
    as.supB = await onNode(as.supA, B);
    as.memberA = await login(A.url, w.users.cacMember);
    as.memberB = await onNode(as.memberA, B);
    as.policeA = await login(A.url, w.users.policeMember);
    as.policeB = await onNode(as.policeA, B);
    for (let i = 0; i < 6; i++) {
        const via = i % 2 ? 'B' : 'A';
        const token = `ROT${process.pid}case${i}Z`;
        made.push({ caseId: await newCase(via === 'A' ? as.supA : as.supB, token), via, token });
    }
});

after(async () => {
    for (const s of [A, B]) if (s?.alive()) await s.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
});

test('rotate-kek with a wrong --old, or the same key twice, refuses and changes nothing', async () => {
    const stranger = path.join(dir, 'stranger.key');
    const spare = path.join(dir, 'spare.key');
    assert.equal((await mdt(['keys', 'init', '--file', stranger])).code, 0);
    assert.equal((await mdt(['keys', 'init', '--file', spare])).code, 0);
    const before = await dataKeys();
    const check = await psql(dbUrl, 'SELECT kek_id || encode(check_value, \'hex\') FROM kek_check');
    const wrong = await mdt(['keys', 'rotate-kek', '--old', stranger, '--new', spare]);
    assert.equal(wrong.code, 1, wrong.stdout);
    assert.match(wrong.stderr, /--old .* is not the key of this database \(its keys are wrapped by key id [0-9a-f]{16}\); nothing changed/);
    const same = await mdt(['keys', 'rotate-kek', '--old', oldFile, '--new', oldFile]);
    assert.equal(same.code, 1, same.stdout);
    assert.match(same.stderr, /the same key as --old/);
    chmodSync(spare, 0o644);
    const open = await mdt(['keys', 'rotate-kek', '--old', oldFile, '--new', spare]);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /chmod 600/);
    const missing = await mdt(['keys', 'rotate-kek', '--old', path.join(dir, 'nope.key'), '--new', oldFile]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot open the key file/);
    assert.equal((await mdt(['keys', 'rotate-kek', '--old', oldFile])).code, 2);
    assert.equal((await mdt(['keys', 'rotate-kek', '--old', oldFile, '--new', stranger, '--batch', '0'])).code, 2);
    assert.equal(await dataKeys(), before);
    assert.equal(await psql(dbUrl, 'SELECT kek_id || encode(check_value, \'hex\') FROM kek_check'), check);
});

test('a SIGHUP with an unfit key file is refused with a log line; the node keeps working', async () => {
    writeFileSync(nodeFile.A, 'not a key file\n', { mode: 0o600 });
    const log = await sighup(A, /key file reload refused/);
    assert.match(log, /not an mdtboard key file/);
    place(oldFile, nodeFile.A);
    const board = await boardOf(as.memberA, made[1].caseId);
    assert.ok(entryBodies(board).includes(made[1].token));
});

test('(a)-(c) under live traffic on two nodes: no request fails, no event missed or repeated, boards read the same', { timeout: 120000 }, async (t) => {
    const live = await newCase(as.supA, `ROT${process.pid}liveZ`);
    const seq0 = (await boardOf(as.supA, live)).seq;
    const subs = [];
    for (const [client, node] of [[as.policeA, A], [as.policeB, B]]) {
        const conn = await wsConnect(node.url, { cookie: client.cookie(), origin: node.url });
        conn.send({ type: 'subscribe', case_id: live, since: seq0 });
        const f = await conn.next((x) => ['subscribed', 'resync', 'error'].includes(x.type), 10000);
        assert.equal(f.type, 'subscribed', JSON.stringify(f));
        subs.push(conn);
    }
    const failures = [];
    let stop = false, posted = 0;
    const writer = (async () => {
        for (let i = 0; !stop; i++) {
            const client = i % 2 ? as.memberB : as.memberA;
            const res = await client.post(`/api/v1/cases/${live}/entries`, { kind: 'note', body_md: `live ${i}`, visibility: 'mdt' });
            if (res.status !== 201) failures.push(`POST entry ${i}: ${res.status} ${res.text}`);
            else posted++;
        }
    })();
    // reads through the node that did not make the case (its key not cached there)
    const readAcross = async ({ caseId, via, token }) => {
        const client = via === 'A' ? as.memberB : as.memberA;
        const res = await client.get(`/api/v1/cases/${caseId}`);
        if (res.status !== 200) failures.push(`GET case ${caseId}: ${res.status} ${res.text}`);
        else if (!entryBodies(res.json).includes(token)) failures.push(`case ${caseId} lacks its entry`);
    };
    await until(() => posted >= 5, 20000, 'the writer to get going');

    // (a) the new key file
    newFile = path.join(dir, 'new.key');
    const init = await mdt(['keys', 'init', '--file', newFile]);
    assert.equal(init.code, 0, init.stderr);
    await readAcross(made[0]);

    // (b) the new file at MDT_KEY_FILE on each node, SIGHUP
    for (const [n, node] of [['A', A], ['B', B]]) {
        place(newFile, nodeFile[n]);
        const log = await sighup(node, /key file reloaded|key file reload refused/);
        assert.match(log, new RegExp(`key file reloaded.*key id ${keyId(newFile)} is current`));
    }
    await readAcross(made[1]);
    // a case made now has its key wrapped under the new KEK, and the other node reads it
    const fresh = { caseId: await newCase(as.supB, `ROT${process.pid}freshZ`), via: 'B', token: `ROT${process.pid}freshZ` };
    made.push(fresh);
    const freshRow = `SELECT kek_id || encode(wrapped, 'hex') || coalesce(rewrapped_at::text, '-') FROM data_keys WHERE owner = ${fresh.caseId}`;
    const freshKey = await psql(dbUrl, freshRow);
    assert.ok(freshKey.startsWith(keyId(newFile)), freshKey);
    await readAcross(fresh);

    // a node restarted between (b) and (c) with only the new file refuses, saying what to do
    const early = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_KEY_FILE: newFile } }).then(
        (s) => s.stop().then(() => null),
        (e) => e,
    );
    assert.ok(early instanceof Error, 'a node started with only the new key before rotate-kek');
    assert.match(early.message, /is not the key of this database.*rotate-kek --old/);

    // (c) re-wrap, while reads of not-yet-cached keys go on
    const reads = (async () => {
        for (const m of made.slice(2, 5)) await readAcross(m);
    })();
    const postedBefore = posted, t0 = Date.now();
    const rot = await mdt(['keys', 'rotate-kek', '--old', oldFile, '--new', newFile, '--batch', '2']);
    const rotMs = Date.now() - t0, postedDuring = posted - postedBefore;
    await reads;
    assert.equal(rot.code, 0, rot.stderr);
    const progress = rot.stdout.match(/re-wrapped \d+ data keys? under key id/g) ?? [];
    assert.ok(progress.length >= 4, `one progress line per batch of 2:\n${rot.stdout}`);
    const done = new RegExp(`done: (\\d+) data keys? re-wrapped; the database's key is now key id ${keyId(newFile)}`).exec(rot.stdout);
    assert.ok(done, rot.stdout);
    rewrapped = Number(done[1]);
    assert.ok(rewrapped >= made.length, rot.stdout);
    await readAcross(made[5]);
    assert.equal(await psql(dbUrl, freshRow), freshKey, 'a key already under the new id is skipped');
    await until(() => posted >= 10, 20000, 'more writes after the rotation');
    stop = true;
    await writer;
    assert.deepEqual(failures, []);
    t.diagnostic(`rotate-kek: ${rewrapped} keys in ${progress.length} batches, ${rotMs} ms; entries posted: ${posted} (${postedDuring} while rotate-kek ran)`);

    // every event once, in order, on both nodes
    const seqs = (await psql(dbUrl, `SELECT string_agg(seq::text, ',' ORDER BY seq) FROM events WHERE case_id = ${live} AND seq > ${seq0}`)).split(',').map(Number);
    assert.ok(seqs.length >= posted, `${seqs.length} events for ${posted} entries`);
    for (const conn of subs) {
        const got = () => conn.frames.filter((f) => f.type === 'event' && f.case_id === live).map((f) => f.seq);
        await until(() => got().length >= seqs.length, 20000, 'every event at the subscriber');
        assert.deepEqual(got(), seqs);
        await conn.close();
    }
    // every board the same on both nodes
    for (const { caseId } of [...made, { caseId: live }]) {
        const [a, b] = [await boardOf(as.memberA, caseId), await boardOf(as.memberB, caseId)];
        assert.deepEqual(entryBodies(a), entryBodies(b));
    }
});

test('after the rotation: every key under the new id, audit verify passes, status says so; rotate again is a no-op', async () => {
    const newId = keyId(newFile), oldId = keyId(oldFile);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM data_keys WHERE kek_id <> '${newId}'`), '0');
    assert.equal(await psql(dbUrl, 'SELECT count(*) FROM data_keys WHERE rewrapped_at IS NOT NULL'), String(rewrapped));
    assert.equal(await psql(dbUrl, 'SELECT kek_id FROM kek_check'), newId);
    const status = await mdt(['keys', 'status'], { MDT_KEY_FILE: newFile });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`data keys wrapped by key id ${newId}: \\d+ \\(\\d+ case keys, \\d installation key, 1 audit chain key\\)`));
    assert.ok(!status.stdout.includes(oldId), status.stdout);
    assert.match(status.stdout, /audit chain key: stored/);
    const verify = await mdt(['audit', 'verify', '--key-file', newFile]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /^audit chain ok: \d+ rows/);
    const stale = await mdt(['audit', 'verify', '--key-file', oldFile]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /is not the key of this database/);
    const before = await dataKeys();
    const again = await mdt(['keys', 'rotate-kek', '--old', oldFile, '--new', newFile]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already key id .*\n.*done: 0 data keys re-wrapped/);
    assert.equal(await dataKeys(), before);
});

test('serve with the old file refuses after the rotation; a node restarted with only the new file reads everything', async () => {
    const err = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_KEY_FILE: oldFile } }).then(
        (s) => s.stop().then(() => null),
        (e) => e,
    );
    assert.ok(err instanceof Error, 'a node started with the old key file');
    assert.match(err.message, new RegExp(`key id ${keyId(oldFile)}\\) is not the key of this database \\(its keys are wrapped by key id ${keyId(newFile)}`));
    assert.equal(await B.stop(), 0);
    B = await startNode(nodeFile.B);
    const member = await login(B.url, w.users.cacMember);
    for (const { caseId, token } of made) assert.ok(entryBodies(await boardOf(member, caseId)).includes(token));
    const e = await member.post(`/api/v1/cases/${made[0].caseId}/entries`, { kind: 'note', body_md: 'after restart', visibility: 'mdt' });
    assert.equal(e.status, 201, e.text);
});
