// digest.test.mjs - the content-free email digest (digest.h, smtp.h)
// against the real binary, PostgreSQL and a local SMTP sink
// (lib/smtpsink.mjs): per-user settings and their validation; one digest
// per user who asked for it, with counts and the app's link and none of
// the case numbers, aliases, titles, entry text or names in the data;
// nothing for users with the digest off; two nodes running the job at
// once send one message; a second run the same day sends nothing; each
// digest is audited without content; plain SMTP is refused unless the
// relay is on loopback and MDT_SMTP_INSECURE_LOOPBACK=1, and a failed
// send is recorded, retried on a later run and does not take the server
// down; STARTTLS with a certificate the server verifies (a self-signed
// one made by scripts/tls-selfsigned.sh, trusted through MDT_SMTP_CA_FILE
// or not at all); the schedule itself (a tick past MDT_DIGEST_HOUR) sends the day's
// digests without the hook, never to a deactivated user.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SOURCE_DIR, createDatabase, ownerUrl, psql, startServer, until } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, createCase, login, todayIn } from './lib/board_fixtures.mjs';
import { wallTime } from './lib/clock.mjs';
import { startSmtpSink } from './lib/smtpsink.mjs';

const TZ = 'America/New_York';
const ALIAS = 'Q.Z.';
const SECRET_TITLES = ['Visit the grandmother in Elmwood', 'Forensic interview Tuesday', 'Call the school nurse', 'Older and mine', 'Older, reassigned'];
const ENTRY_TEXT = 'Disclosed the uncle drives a blue van';
const MEETING_TITLE = 'Northside review of the Harlow family';

let dbUrl, sink, nodeA, nodeB, w, caseNumber;
const as = {};

const smtpEnv = (port, extra = {}) => ({
    ...BOARD_ENV,
    MDT_TIME_ZONE: TZ,
    MDT_SMTP_URL: `smtp://127.0.0.1:${port}`,
    MDT_SMTP_FROM: 'mdtboard@example.test',
    MDT_SMTP_INSECURE_LOOPBACK: '1',
    MDT_DIGEST_TICK: '0', // only the test hook runs the job, except in the schedule test
    ...extra,
});

async function runDigest(server) {
    const res = await fetch(`${server.url}/api/v1/_test/digest-run`, { method: 'POST', signal: AbortSignal.timeout(60000) });
    assert.equal(res.status, 200, await res.clone().text());
    return res.json();
}

before(async () => {
    dbUrl = await createDatabase();
    sink = await startSmtpSink();
    nodeA = await startServer({ dbUrl, env: smtpEnv(sink.port) });
    nodeB = await startServer({ dbUrl, env: smtpEnv(sink.port) });
    w = await boardWorld(dbUrl);
    for (const key of ['cacMember', 'cacSupervisor', 'dcfMember', 'policeMember']) as[key] = await login(nodeA.url, w.users[key]);
    const a = w.agencies;
    const caseId = await createCase(nodeA.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [a.cac, a.dcf, a.police], alias: ALIAS });
    caseNumber = (await as.cacMember.get(`/api/v1/cases/${caseId}`)).json.case.case_number;
    assert.ok(caseNumber);
    const me = w.users.cacMember.userId;
    const dues = [todayIn(TZ, -3), todayIn(TZ, 1), todayIn(TZ, 10)];
    for (let i = 0; i < 3; i++) {
        const r = await as.cacMember.post(`/api/v1/cases/${caseId}/actions`, {
            title: SECRET_TITLES[i],
            assignee_agency_id: a.cac,
            assignee_id: me,
            due_date: dues[i],
        });
        assert.equal(r.status, 201, r.text);
    }
    // Two older items (their versions moved back 3 days): one assigned to
    // the member from the start (not new), one to the agency and assigned
    // to the member today (new).
    const older = [];
    for (const [title, assignee] of [['Older and mine', me], ['Older, reassigned', undefined]]) {
        const o = await as.cacMember.post(`/api/v1/cases/${caseId}/actions`, { title, assignee_agency_id: a.cac, assignee_id: assignee });
        assert.equal(o.status, 201, o.text);
        older.push(o.json.id);
    }
    await psql(
        ownerUrl(dbUrl),
        `UPDATE action_versions SET edited_at = edited_at - interval '3 days' WHERE action_id IN (${older.join(',')});
         UPDATE actions SET created_at = created_at - interval '3 days' WHERE id IN (${older.join(',')})`,
    );
    const re = await as.cacMember.patch(`/api/v1/actions/${older[1]}`, { version: 1, assignee_id: me });
    assert.equal(re.status, 200, re.text);
    let r = await as.cacMember.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: ENTRY_TEXT, visibility: 'mdt' });
    assert.equal(r.status, 201, r.text);
    r = await as.cacSupervisor.post('/api/v1/meetings', {
        title: MEETING_TITLE,
        scheduled_at: wallTime(todayIn(TZ, 2), '10:00', TZ),
        case_ids: [caseId],
    });
    assert.equal(r.status, 201, r.text);
});

after(async () => {
    for (const s of [nodeA, nodeB]) if (s) await s.stop();
    if (sink) await sink.close();
});

test('settings: off by default, validated, saved, audited without the address', async () => {
    const c = as.dcfMember;
    let r = await c.get('/api/v1/me/notification-settings');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { email: null, digest: 'off', calendar_active: false, email_configured: true });
    assertError(await c.put('/api/v1/me/notification-settings', { email: 'not an address', digest: 'daily' }), 422, 'validation', 'email');
    assertError(await c.put('/api/v1/me/notification-settings', { email: 'a@b.test\r\nBcc: x@y.test', digest: 'daily' }), 422, 'validation', 'email');
    assertError(await c.put('/api/v1/me/notification-settings', { email: 'dcf@example.test', digest: 'hourly' }), 422, 'validation', 'digest');
    assertError(await c.put('/api/v1/me/notification-settings', { digest: 'daily' }), 422, 'validation', 'email');
    assertError(await c.put('/api/v1/me/notification-settings', { email: 7, digest: 'off' }), 400, 'bad_request', 'email');
    r = await c.get('/api/v1/me/notification-settings');
    assert.equal(r.json.digest, 'off', 'refused changes changed nothing');
    // The DCF member keeps an address but turns the digest off.
    r = await c.put('/api/v1/me/notification-settings', { email: 'dcf@example.test', digest: 'off' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.email, 'dcf@example.test');
    assert.equal(r.json.digest, 'off');
    r = await as.cacMember.put('/api/v1/me/notification-settings', { email: 'cac.member@example.test', digest: 'daily' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { email: 'cac.member@example.test', digest: 'daily', calendar_active: false, email_configured: true });
    r = await as.policeMember.put('/api/v1/me/notification-settings', { email: 'police@example.test', digest: 'weekly' });
    assert.equal(r.status, 200, r.text);
    const audit = await psql(
        dbUrl,
        `SELECT detail::text FROM audit WHERE action = 'notification_settings.update' AND user_id = ${w.users.cacMember.userId}`,
    );
    assert.match(audit, /"digest": "daily"/);
    assert.doesNotMatch(audit, /example\.test/);
});

test('two nodes run the job at once: one content-free digest per user who asked, none for the others', async () => {
    const monday = new Date(`${todayIn(TZ, 0)}T12:00:00Z`).getUTCDay() === 1;
    const [ra, rb] = await Promise.all([runDigest(nodeA), runDigest(nodeB)]);
    assert.equal(Number(ra.claimed) + Number(rb.claimed), 1, 'exactly one node claimed the day');
    assert.equal(ra.failed + rb.failed, 0);
    const expected = ['cac.member@example.test', ...(monday ? ['police@example.test'] : [])];
    assert.equal(ra.sent + rb.sent, expected.length);
    const to = sink.messages.flatMap((m) => m.to).sort();
    assert.deepEqual(to, expected.sort(), 'one message per user who asked for a digest today');

    const msg = sink.messages.find((m) => m.to[0] === 'cac.member@example.test');
    assert.equal(msg.from, 'mdtboard@example.test');
    const body = msg.data;
    assert.match(body, /^Subject: MDT Board: your daily summary\r$/m);
    assert.match(body, /1 overdue, 4 new assignments, 1 due soon, 1 meeting this week \u2014 open MDT Board: /);
    // The link to the app: the sending node's MDT_ORIGIN (here each node's own).
    assert.ok([nodeA, nodeB].some((n) => body.includes(`open MDT Board: ${n.url}/\r\n`)), 'the link to the app');
    const forbidden = [
        caseNumber,
        ALIAS,
        ...SECRET_TITLES,
        ENTRY_TEXT,
        MEETING_TITLE,
        'Harlow',
        w.users.cacMember.username,
        `cacMember `,
        w.users.cacSupervisor.username,
    ];
    for (const s of forbidden) assert.ok(!body.includes(s), `the message carries no "${s}"`);

    const rows = await psql(
        dbUrl,
        `SELECT object_id || ' ' || outcome || ' ' || detail::text FROM audit WHERE action = 'digest.send' ORDER BY id`,
    );
    const lines = rows.split('\n').filter(Boolean);
    assert.equal(lines.length, expected.length);
    assert.ok(lines.some((l) => l.startsWith(`${w.users.cacMember.userId} ok `)), rows);
    for (const s of forbidden) assert.ok(!rows.includes(s));
});

test('a second run the same day sends nothing more', async () => {
    const before = sink.messages.length;
    const r = await runDigest(nodeB);
    assert.deepEqual(r, { claimed: false, sent: 0, failed: 0 });
    assert.equal(sink.messages.length, before);
});

test('plain SMTP is refused off loopback; without the loopback flag a send fails, is kept and retried later', async () => {
    // The loopback exception applies only to a loopback relay.
    await assert.rejects(
        startServer({ dbUrl, env: smtpEnv(sink.port, { MDT_SMTP_URL: 'smtp://mail.example.test:25' , MDT_SMTP_INSECURE_LOOPBACK: '1' }) }),
        /MDT_SMTP_INSECURE_LOOPBACK applies only to a loopback relay/,
    );
    await assert.rejects(startServer({ dbUrl, env: smtpEnv(sink.port, { MDT_SMTP_URL: 'http://127.0.0.1:1' }) }), /MDT_SMTP_URL must be/);

    const db2 = await createDatabase();
    const w2 = await boardWorld(db2);
    const strict = await startServer({ dbUrl: db2, env: smtpEnv(sink.port, { MDT_SMTP_INSECURE_LOOPBACK: '0' }) });
    try {
        const c = await login(strict.url, w2.users.cacMember);
        assert.equal((await c.put('/api/v1/me/notification-settings', { email: 'strict@example.test', digest: 'daily' })).status, 200);
        const before = sink.messages.length;
        const r = await runDigest(strict);
        assert.deepEqual(r, { claimed: true, sent: 0, failed: 1 }, 'the sink offers no STARTTLS: TLS is required');
        assert.equal(sink.messages.length, before, 'nothing went out in clear');
        assert.ok(strict.alive(), 'a failed send never takes the server down');
        assert.match(strict.stderr(), /digest send failed/);
        const row = await psql(db2, `SELECT attempts || ' ' || (sent_at IS NULL) FROM digest_outbox`);
        assert.equal(row, '1 true');
        assert.equal(await psql(db2, `SELECT count(*) FROM audit WHERE action = 'digest.send' AND outcome = 'failure'`), '1');
        // Taken again only after 5 minutes: a run now leaves it alone.
        assert.deepEqual(await runDigest(strict), { claimed: false, sent: 0, failed: 0 });
        await strict.stop();
        // The relay is reachable again (here: the loopback exception), and
        // five minutes have passed: the next run sends it.
        await psql(ownerUrl(db2), `UPDATE digest_outbox SET attempt_at = now() - interval '6 minutes'`);
        const relaxed = await startServer({ dbUrl: db2, env: smtpEnv(sink.port) });
        try {
            assert.deepEqual(await runDigest(relaxed), { claimed: false, sent: 1, failed: 0 });
            assert.deepEqual(sink.messages.slice(before).map((m) => m.to[0]), ['strict@example.test']);
            assert.equal(await psql(db2, `SELECT attempts || ' ' || (sent_at IS NOT NULL) FROM digest_outbox`), '2 true');
        } finally {
            await relaxed.stop();
        }
    } finally {
        if (strict.alive()) await strict.stop();
    }
});

test('the schedule: a tick past the hour mails the day once, never a deactivated user', async () => {
    const db3 = await createDatabase();
    const w3 = await boardWorld(db3);
    const before = sink.messages.length;
    const seed = await startServer({ dbUrl: db3, env: smtpEnv(sink.port) });
    for (const [key, email] of [['cacMember', 'sched@example.test'], ['dcfMember', 'gone@example.test']]) {
        const c = await login(seed.url, w3.users[key]);
        assert.equal((await c.put('/api/v1/me/notification-settings', { email, digest: 'daily' })).status, 200);
    }
    await seed.stop();
    await psql(ownerUrl(db3), `UPDATE users SET active = false WHERE id = ${w3.users.dcfMember.userId}`);
    // Hour 0: any time of day is past it; a tick every second.
    const ticking = await startServer({ dbUrl: db3, env: smtpEnv(sink.port, { MDT_DIGEST_TICK: '1', MDT_DIGEST_HOUR: '0' }) });
    try {
        await until(() => sink.messages.slice(before).some((m) => m.to[0] === 'sched@example.test'), 30000, 'the scheduled digest');
        assert.equal(await psql(db3, `SELECT count(*) FROM job_claims WHERE job = 'digest'`), '1');
        assert.equal(await psql(db3, `SELECT string_agg(user_id::text, ',') FROM digest_outbox`), String(w3.users.cacMember.userId), 'no row for the deactivated user');
        // Nothing is left to send: a run now (after the tick's lease) sends nothing.
        assert.deepEqual(await runDigest(ticking), { claimed: false, sent: 0, failed: 0 });
        assert.deepEqual(sink.messages.slice(before).map((m) => m.to[0]), ['sched@example.test']);
    } finally {
        await ticking.stop();
    }
});

test('STARTTLS: the relay certificate is verified; trusted through MDT_SMTP_CA_FILE the digest goes over TLS', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'mdt-smtp-tls-'));
    const out = await new Promise((resolve, reject) =>
        execFile(path.join(SOURCE_DIR, 'scripts', 'tls-selfsigned.sh'), [tmp], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
    );
    const cert = /^MDT_TLS_CERT=(.+)$/m.exec(out)[1];
    const key = /^MDT_TLS_KEY=(.+)$/m.exec(out)[1];
    const tlsSink = await startSmtpSink({ tls: { cert: readFileSync(cert), key: readFileSync(key) } });
    const db4 = await createDatabase();
    const w4 = await boardWorld(db4);
    const strict = { MDT_SMTP_INSECURE_LOOPBACK: '0' };
    const untrusting = await startServer({ dbUrl: db4, env: smtpEnv(tlsSink.port, strict) });
    try {
        const c = await login(untrusting.url, w4.users.cacMember);
        assert.equal((await c.put('/api/v1/me/notification-settings', { email: 'tls@example.test', digest: 'daily' })).status, 200);
        assert.deepEqual(await runDigest(untrusting), { claimed: true, sent: 0, failed: 1 }, 'a certificate nobody vouches for fails the send');
        assert.equal(tlsSink.messages.length, 0);
        await untrusting.stop();
        await psql(ownerUrl(db4), `UPDATE digest_outbox SET attempt_at = now() - interval '6 minutes'`);
        const trusting = await startServer({ dbUrl: db4, env: smtpEnv(tlsSink.port, { ...strict, MDT_SMTP_CA_FILE: cert }) });
        try {
            assert.deepEqual(await runDigest(trusting), { claimed: false, sent: 1, failed: 0 });
            assert.equal(tlsSink.messages.length, 1);
            assert.equal(tlsSink.messages[0].tls, true, 'the message went after STARTTLS');
            assert.deepEqual(tlsSink.messages[0].to, ['tls@example.test']);
        } finally {
            await trusting.stop();
        }
    } finally {
        if (untrusting.alive()) await untrusting.stop();
        await tlsSink.close();
        rmSync(tmp, { recursive: true, force: true });
    }
});
