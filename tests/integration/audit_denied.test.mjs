// audit_denied.test.mjs - every refused access attempt is on the record
// (issue 12, point 2): a DCF member's reads of a case it is not on (board,
// PII, consents, tracking, services, entry history, a meeting and its
// minutes), its refused PATCH and its refused WebSocket subscribe each leave
// exactly one audit row with outcome "denied" naming the object and, where
// the server knows it, the case; allowed reads are still "ok"; no denied
// row holds case text. A member's refused role change (the gate's
// administrators-only refusal) is a denied row too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, flushAudit, psql, startServer, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from './lib/board_fixtures.mjs';

let dbUrl, server, w;

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
});

after(async () => {
    if (server) await server.stop();
});

// The audit rows of user matching where, after every read buffered so far
// is committed (flushAudit: a deterministic point, never a sleep).
async function rowsOf(userId, where) {
    await flushAudit(server);
    const out = await psql(
        dbUrl,
        `SELECT coalesce(json_agg(json_build_object('action', action, 'object_type', object_type,
                'object_id', object_id, 'case_id', case_id, 'outcome', outcome, 'detail', detail) ORDER BY id), '[]')
           FROM audit WHERE user_id = ${Number(userId)} AND ${where}`,
    );
    return JSON.parse(out);
}

test('refused reads, a refused change and a refused subscribe each leave one denied row naming the object and case', async () => {
    const alias = `Secret ${process.pid}`;
    const caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police], alias });
    const sup = await login(server.url, w.users.cacSupervisor);
    const entry = await sup.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: `text ${alias}`, visibility: 'mdt' });
    assert.equal(entry.status, 201, entry.text);
    const reviewDay = new Date(Date.now() + 7 * 86400e3).toISOString().slice(0, 10);
    const meeting = await sup.post('/api/v1/meetings', { title: 'Review', scheduled_at: `${reviewDay}T15:00:00Z`, case_ids: [caseId] });
    assert.equal(meeting.status, 201, meeting.text);
    const mid = meeting.json.id;

    const dcf = await login(server.url, w.users.dcfMember);
    const uid = w.users.dcfMember.userId;
    const attempts = [
        // [path, action, object_type, object_id, case_id]
        [`/api/v1/cases/${caseId}`, 'case.read', 'case', 0, caseId],
        [`/api/v1/cases/${caseId}/pii`, 'pii.read', 'pii', 0, caseId],
        [`/api/v1/cases/${caseId}/consents`, 'consent.list', 'case', 0, caseId],
        [`/api/v1/cases/${caseId}/tracking`, 'tracking.read', 'tracking', 0, caseId],
        [`/api/v1/cases/${caseId}/services`, 'service.list', 'case', 0, caseId],
        [`/api/v1/entries/${entry.json.id}/history`, 'entry.history.read', 'entry', entry.json.id, caseId],
        [`/api/v1/meetings/${mid}`, 'meeting.read', 'meeting', mid, 0],
        [`/api/v1/meetings/${mid}/minutes`, 'meeting.minutes', 'meeting', mid, 0],
    ];
    for (const [path] of attempts) {
        const res = await dcf.get(path);
        assert.equal(res.status, 404, `${path}: ${res.status} ${res.text}`);
    }
    const patch = await dcf.patch(`/api/v1/cases/${caseId}`, { alias: 'Changed', version: 1 });
    assert.equal(patch.status, 404, patch.text);
    assert.equal((await dcf.get('/api/v1/me')).status, 200);
    const conn = await wsConnect(server.url, { cookie: dcf.cookie(), origin: server.url });
    conn.send({ type: 'subscribe', case_id: caseId });
    const err = await conn.next('error', 5000);
    assert.equal(err.code, 'not_found');
    await conn.close();

    const total = attempts.length + 2;
    const rows = await rowsOf(uid, `outcome = 'denied'`);
    for (const [path, action, objectType, objectId, expectCase] of attempts) {
        const mine = rows.filter((r) => r.action === action && r.object_type === objectType);
        assert.equal(mine.length, 1, `${path}: one denied ${action} row, got ${JSON.stringify(rows)}`);
        const r = mine[0];
        if (objectId) assert.equal(Number(r.object_id), objectId, `${path}: object id`);
        assert.equal(Number(r.case_id || 0), expectCase, `${path}: case id`);
        assert.equal(r.detail.method, 'GET');
        assert.equal(r.detail.status, 404);
    }
    const upd = rows.filter((r) => r.action === 'case.update');
    assert.equal(upd.length, 1, `one denied case.update: ${JSON.stringify(rows)}`);
    assert.equal(Number(upd[0].case_id), caseId);
    assert.equal(upd[0].detail.method, 'PATCH');
    const sub = rows.filter((r) => r.action === 'case.subscribe');
    assert.equal(sub.length, 1, `one denied case.subscribe: ${JSON.stringify(rows)}`);
    assert.equal(Number(sub[0].case_id), caseId);
    assert.equal(Number(sub[0].object_id), caseId);
    assert.equal(rows.length, total, `exactly one row per attempt: ${JSON.stringify(rows)}`);
    assert.ok(!JSON.stringify(rows).includes(alias), 'no case text in a denied row');
    // nothing the member did is recorded as a successful read of the case
    const ok = await psql(dbUrl, `SELECT count(*) FROM audit WHERE user_id = ${uid} AND case_id = ${caseId} AND outcome = 'ok'`);
    assert.equal(ok, '0');
});

test("a member's refused role change leaves one denied user.update row naming the user", async () => {
    const member = await login(server.url, w.users.legalMember);
    const target = w.users.hospitalMember.userId;
    const res = await member.patch(`/api/v1/admin/users/${target}`, { role: 'admin', version: 1 });
    assert.equal(res.status, 403, res.text);
    const rows = await rowsOf(w.users.legalMember.userId, `outcome = 'denied'`);
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].action, 'user.update');
    assert.equal(rows[0].object_type, 'user');
    assert.equal(Number(rows[0].object_id), target);
    assert.equal(rows[0].case_id, null);
    assert.deepEqual(rows[0].detail, { method: 'PATCH', route: '/api/v1/admin/users/{id}', status: 403 });
    const role = await psql(dbUrl, `SELECT role FROM users WHERE id = ${target}`);
    assert.equal(role, 'member', 'nothing changed');
});

test('allowed reads and an allowed subscribe are still audited ok', async () => {
    const caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police] });
    const police = await login(server.url, w.users.policeMember);
    const uid = w.users.policeMember.userId;
    assert.equal((await police.get(`/api/v1/cases/${caseId}`)).status, 200);
    assert.equal((await police.get(`/api/v1/cases/${caseId}/tracking`)).status, 200);
    const conn = await wsConnect(server.url, { cookie: police.cookie(), origin: server.url });
    conn.send({ type: 'subscribe', case_id: caseId });
    assert.equal((await conn.next((f) => f.type === 'subscribed' || f.type === 'error', 5000)).type, 'subscribed');
    await conn.close();
    const rows = await rowsOf(uid, `case_id = ${caseId}`);
    assert.deepEqual(
        rows.map((r) => [r.action, r.outcome]).sort(),
        [
            ['case.read', 'ok'],
            ['case.subscribe', 'ok'],
            ['tracking.read', 'ok'],
        ],
    );
});
