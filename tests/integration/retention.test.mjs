// retention.test.mjs - retention by crypto-shredding (docs/retention.md):
// `mdtboard retention run` purges a closed case past MDT_RETENTION (its
// board answers 410 with the tombstone, an open subscriber gets
// case.purged, a pg_dump afterwards holds none of its tokens, nor its old
// wrapped key in any form pg_dump could print, nor its data_keys row);
// a case under legal hold is skipped and `--dry-run` says why; a case not
// yet past retention and an open case are untouched; only a supervisor of
// the lead agency sets or clears a hold (others 403, audited as refused);
// `audit verify` still passes after a purge; MDT_RETENTION is strictly
// parsed. Closing dates come from the clock (now minus N days, set in the
// database: the server stamps closed_at itself).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, cliEnv, createDatabase, flushAudit, ownerUrl, psql, startServer, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from './lib/board_fixtures.mjs';
import { DAY_MS, localDate, today } from './lib/clock.mjs';

const run = promisify(execFile);
const PG_BIN = process.env.MDT_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const RETENTION = '90d';

let dbUrl, server, w;
let tokenCount = 0;

before(async () => {
    dbUrl = await createDatabase();
    w = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: BOARD_ENV });
});

after(async () => {
    await server?.stop();
});

// retention(args, env) - `mdtboard retention run ARGS` as the owner:
// {code, stdout, stderr}, whatever the exit status.
async function retention(args = [], env = {}) {
    const e = cliEnv(ownerUrl(dbUrl), { MDT_RETENTION: RETENTION, ...env });
    try {
        const { stdout, stderr } = await run(BIN, ['retention', 'run', ...args], { env: e });
        return { code: 0, stdout, stderr };
    } catch (err) {
        return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
}

async function dump() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-dump-'));
    const file = path.join(dir, 'dump.sql');
    await run(`${PG_BIN}/pg_dump`, ['--no-password', '--file', file, '--dbname', ownerUrl(dbUrl)]);
    return readFileSync(file, 'utf8');
}

const caseNumber = async (id) => (await psql(dbUrl, `SELECT case_number FROM cases WHERE id = ${id}`)).trim();
const count = async (sql) => Number((await psql(dbUrl, sql)).trim());

// closeCase(lead, id, daysAgo) - closes the case through the API, then
// moves its closing time daysAgo days back from now. Resolves the closing
// day as the CLI prints it (the installation's zone).
async function closeCase(lead, id, daysAgo) {
    const b = await lead.get(`/api/v1/cases/${id}`);
    const res = await lead.patch(`/api/v1/cases/${id}`, { status: 'closed', version: b.json.case.version });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.closed_at, 'a closed case has closed_at');
    const ms = Date.now() - daysAgo * DAY_MS;
    await psql(dbUrl, `UPDATE cases SET closed_at = '${new Date(ms).toISOString()}' WHERE id = ${id}`);
    return localDate(ms);
}

// fill(caseId) - unique tokens written through the API into every sealed
// field and protected category of the case (and interview facts, which
// stay clear, and an attachment). Resolves the tokens.
async function fill(caseId) {
    const tokens = [];
    const token = (what) => {
        const t = `RET${what}${process.pid}x${++tokenCount}Z`;
        tokens.push(t);
        return t;
    };
    const url = (p) => `/api/v1/cases/${caseId}${p}`;
    const lead = await login(server.url, w.users.cacSupervisor);
    const cac = await login(server.url, w.users.cacInterviewer);
    const legal = await login(server.url, w.users.legalMember);
    const hospital = await login(server.url, w.users.hospitalMember);

    const e = await cac.post(url('/entries'), { kind: 'note', body_md: `**${token('note')}**`, visibility: 'mdt' });
    assert.equal(e.status, 201, e.text);
    assert.equal((await cac.patch(`/api/v1/entries/${e.json.id}`, { body_md: token('edit'), version: 1 })).status, 200);
    const iv = await cac.post(url('/entries'), {
        kind: 'interview',
        body_md: token('interview'),
        visibility: 'mdt',
        interview: { date: today(-1), interviewer_id: w.users.cacInterviewer.userId, disclosure: 'partial', recording_ref: token('rec') },
    });
    assert.equal(iv.status, 201, iv.text);
    const s = await cac.post(url('/services'), { date: today(-1), category: 'personal_advocacy', service: token('svc'), minutes: 30, note: token('svcnote'), visibility: 'mdt' });
    assert.equal(s.status, 201, s.text);

    let pii = await lead.get(url('/pii'));
    let put = await lead.put(url('/pii'), { version: pii.json.version, identity: { legal_name: token('name') }, contact: { address: token('addr') } });
    assert.equal(put.status, 200, put.text);
    put = await legal.put(url('/pii'), { version: put.json.version, immigration: { status: token('imm') } });
    assert.equal(put.status, 200, put.text);
    put = await hospital.put(url('/pii'), { version: put.json.version, health: { notes: token('health') } });
    assert.equal(put.status, 200, put.text);

    const consent = await lead.post(url('/consents'), {
        categories: ['identity'],
        agency_id: w.agencies.police,
        consented_by: [{ role: 'guardian', name: token('guardian') }],
        purpose: token('purpose'),
        signed_on: today(-1),
        expires_on: today(30),
        document_ref: token('doc'),
        note: token('cnote'),
    });
    assert.equal(consent.status, 201, consent.text);
    const act = await lead.post(url('/actions'), { title: token('title'), details_md: token('details'), assignee_agency_id: w.agencies.police });
    assert.equal(act.status, 201, act.text);
    assert.equal((await lead.patch(`/api/v1/actions/${act.json.id}`, { title: token('retitle'), version: 1 })).status, 200);

    const name = `${token('file')}.txt`;
    const file = Buffer.from(`scan of ${token('filebody')}\n`);
    const up = await cac.post(`${url('/attachments')}?${new URLSearchParams({ filename: name, visibility: 'mdt' })}`, file, {
        headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(up.status, 201, up.text);

    // A meeting's outcome, the minutes' approval and a correction.
    let m = await lead.post('/api/v1/meetings', { title: 'Weekly review', scheduled_at: new Date(Date.now() + 3600_000).toISOString(), case_ids: [caseId] });
    assert.equal(m.status, 201, m.text);
    const mid = m.json.id;
    m = await lead.patch(`/api/v1/meetings/${mid}`, { status: 'in_progress', version: m.json.version });
    m = await lead.put(`/api/v1/meetings/${mid}/cases/${caseId}/outcome`, { outcome_md: token('outcome') });
    assert.equal(m.status, 200, m.text);
    m = await lead.patch(`/api/v1/meetings/${mid}`, { status: 'ended', version: m.json.version });
    m = await lead.post(`/api/v1/meetings/${mid}/minutes/approve`, { version: m.json.version });
    assert.equal(m.status, 200, m.text);
    m = await lead.put(`/api/v1/meetings/${mid}/cases/${caseId}/outcome`, { outcome_md: token('fixed'), correction_reason: token('reason') });
    assert.equal(m.status, 200, m.text);

    // Everything reads back before the purge (the tokens are real).
    const board = await lead.get(url(''));
    assert.equal(board.status, 200, board.text);
    assert.ok(board.text.includes(tokens[1]) && board.text.includes(tokens.find((t) => t.includes('retitle'))));
    return { tokens, meetingId: mid };
}

// The forms in which pg_dump could print a bytea value (hex is its
// default; escape and base64 for completeness) and the raw hex digits.
function byteForms(hex) {
    const buf = Buffer.from(hex, 'hex');
    const escape = [...buf].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`)).join('');
    return { hex, base64: buf.toString('base64'), escape };
}

test('a closed case past retention is purged: tombstone, close event, nothing left in pg_dump', async () => {
    const lead = await login(server.url, w.users.cacSupervisor);
    const member = await login(server.url, w.users.cacMember);
    const caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police, w.agencies.legal, w.agencies.hospital] });
    const other = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police] });
    const { tokens, meetingId } = await fill(caseId);
    const otherNote = `RETother${process.pid}Z`;
    assert.equal((await member.post(`/api/v1/cases/${other}/entries`, { kind: 'note', body_md: otherNote, visibility: 'mdt' })).status, 201);
    const wrapped = (await psql(dbUrl, `SELECT encode(wrapped, 'hex') FROM data_keys WHERE owner = ${caseId}`)).trim();
    assert.match(wrapped, /^[0-9a-f]{40,}$/, 'the case has a wrapped data key');
    const closed = await closeCase(lead, caseId, 100);
    const number = await caseNumber(caseId);
    await flushAudit(server);
    const auditMax = await count(`SELECT max(id) FROM audit WHERE case_id = ${caseId}`);
    const auditBefore = await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId}`);

    // A board open on the case: its subscriber is told when it is purged.
    const conn = await wsConnect(server.url, { cookie: member.cookie(), origin: server.url });
    conn.send({ type: 'subscribe', case_id: caseId });
    await conn.next((f) => f.type === 'subscribed' && f.case_id === caseId, 10000);

    const t0 = Date.now();
    const r = await retention();
    console.log(`retention run: one case with every kind of content purged in ${Date.now() - t0} ms (the process included)`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`case ${number} (id ${caseId}), closed ${closed}: purged`), r.stdout);
    assert.match(r.stdout, /retention 90d: 1 case purged, 0 skipped, 0 failed/);

    const ev = await conn.next((f) => f.type === 'event' && f.kind === 'case.purged', 10000);
    assert.equal(ev.case_id, caseId);
    assert.equal(ev.data.status, 'purged');
    assert.ok(ev.data.purged_at);
    conn.close();

    // The board answers the tombstone; nothing can be written into it.
    const board = await member.get(`/api/v1/cases/${caseId}`);
    assert.equal(board.status, 410, board.text);
    assert.equal(board.json.error.code, 'gone');
    const t = board.json.error.tombstone;
    assert.equal(t.id, caseId);
    assert.equal(t.case_number, number);
    assert.equal(t.status, 'purged');
    assert.ok(t.purged_at && t.closed_at && t.referral_date && t.created_at);
    assert.equal(t.lead_agency_id, w.agencies.cac);
    for (const tok of tokens) assert.ok(!board.text.includes(tok));
    const write = await member.post(`/api/v1/cases/${caseId}/entries`, { kind: 'note', body_md: 'after', visibility: 'mdt' });
    assert.equal(write.status, 410, write.text);
    assert.equal((await member.get(`/api/v1/cases/${caseId}/pii`)).status, 410);
    const outsider = await login(server.url, w.users.dcfMember);
    assert.equal((await outsider.get(`/api/v1/cases/${caseId}`)).status, 404, 'a non-member learns nothing');
    const list = await member.get('/api/v1/cases?limit=500');
    assert.ok(!list.json.items.some((c) => c.id === caseId), 'a tombstone is not in the case list');
    const meeting = await lead.get(`/api/v1/meetings/${meetingId}`);
    assert.equal(meeting.status, 200, meeting.text);
    for (const tok of tokens) assert.ok(!meeting.text.includes(tok), `${tok} in the meeting`);

    // pg_dump: no token, no data key row, the old wrapped key in no form.
    const text = await dump();
    for (const tok of tokens) assert.ok(!text.includes(tok), `${tok} is in the dump`);
    const forms = byteForms(wrapped);
    for (const [form, v] of Object.entries(forms)) assert.ok(!text.includes(v), `the wrapped key is in the dump (${form})`);
    assert.equal(await count(`SELECT count(*) FROM data_keys WHERE owner = ${caseId}`), 0);
    const keysCopy = text.slice(text.indexOf('COPY public.data_keys'));
    assert.ok(!new RegExp(`^${caseId}\\t`, 'm').test(keysCopy.slice(0, keysCopy.indexOf('\\.'))), 'a data_keys row of the case is in the dump');
    assert.ok(text.includes(number), 'the tombstone keeps the case number');

    // The audit trail stays (every row), with the purge's row, and the chain verifies.
    await flushAudit(server);
    assert.equal(await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId} AND id <= ${auditMax}`), auditBefore);
    assert.equal(await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId} AND action = 'case.purged' AND object_id = ${caseId}`), 1);
    const verify = await run(BIN, ['audit', 'verify'], { env: cliEnv(ownerUrl(dbUrl)) });
    assert.match(verify.stdout, /^audit chain ok: \d+ rows/);

    // The other case is untouched; a second run finds nothing and changes nothing.
    const ob = await member.get(`/api/v1/cases/${other}`);
    assert.equal(ob.status, 200);
    assert.ok(ob.text.includes(otherNote));
    const again = await retention();
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!again.stdout.includes(`(id ${caseId})`), again.stdout);
    assert.equal(await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId} AND action = 'case.purged'`), 1);
});

test('legal hold: only a supervisor of the lead agency; refused attempts audited; shown on the case', async () => {
    const caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police] });
    const path_ = `/api/v1/cases/${caseId}`;
    for (const u of ['policeSupervisor', 'cacMember', 'policeMember']) {
        const c = await login(server.url, w.users[u]);
        const b = await c.get(path_);
        const res = await c.patch(path_, { legal_hold: true, version: b.json.case.version });
        assert.equal(res.status, 403, `${u}: ${res.text}`);
        assert.equal(res.json.error.field, 'legal_hold');
    }
    await flushAudit(server);
    assert.equal(await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId} AND action = 'case.legal_hold.set' AND outcome = 'denied'`), 3);
    assert.equal(await count(`SELECT count(*) FROM cases WHERE id = ${caseId} AND legal_hold`), 0, 'a refused hold changes nothing');

    const lead = await login(server.url, w.users.cacSupervisor);
    const updates = await count(`SELECT count(*) FROM events WHERE case_id = ${caseId} AND kind = 'case.updated'`);
    let b = await lead.get(path_);
    const bad = await lead.patch(path_, { legal_hold: 'yes', version: b.json.case.version });
    assert.ok(bad.status === 400 || bad.status === 422, bad.text);
    let res = await lead.patch(path_, { legal_hold: true, version: b.json.case.version });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.legal_hold, true);
    assert.equal(res.json.legal_hold_set_by, w.users.cacSupervisor.userId);
    assert.match(res.json.legal_hold_set_by_name, /cacSupervisor/);
    assert.ok(Math.abs(Date.parse(res.json.legal_hold_set_at) - Date.now()) < 5 * 60_000);
    assert.equal(res.json.version, b.json.case.version + 1);
    assert.equal(await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId} AND action = 'case.legal_hold.set' AND outcome = 'ok'`), 1);
    assert.equal(await count(`SELECT count(*) FROM events WHERE case_id = ${caseId} AND kind = 'case.updated'`), updates + 1);
    b = await lead.get(path_);
    assert.equal(b.json.case.legal_hold, true);
    res = await lead.patch(path_, { legal_hold: false, version: b.json.case.version });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.legal_hold, false);
    assert.equal(res.json.legal_hold_set_by, null);
    assert.equal(await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId} AND action = 'case.legal_hold.clear' AND outcome = 'ok'`), 1);

    // With another field in the same request: one version, both audit rows, one event.
    const events = await count(`SELECT count(*) FROM events WHERE case_id = ${caseId}`);
    res = await lead.patch(path_, { legal_hold: true, status: 'active', version: res.json.version });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.legal_hold, true);
    assert.equal(res.json.status, 'active');
    assert.equal(res.json.version, b.json.case.version + 2);
    assert.equal(await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId} AND action = 'case.legal_hold.set' AND outcome = 'ok'`), 2);
    assert.equal(await count(`SELECT count(*) FROM audit WHERE case_id = ${caseId} AND action = 'case.update' AND detail->'fields' ? 'status'`), 1);
    assert.equal(await count(`SELECT count(*) FROM events WHERE case_id = ${caseId}`), events + 1);
});

test('a held case is skipped and --dry-run says why; recent and open cases are untouched', async () => {
    const lead = await login(server.url, w.users.cacSupervisor);
    const mk = () => createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police] });
    const [held, due, recent, open] = [await mk(), await mk(), await mk(), await mk()];
    const notes = {};
    for (const id of [held, due, recent, open]) {
        notes[id] = `RETkeep${process.pid}c${id}Z`;
        assert.equal((await lead.post(`/api/v1/cases/${id}/entries`, { kind: 'note', body_md: notes[id], visibility: 'mdt' })).status, 201);
    }
    let b = await lead.get(`/api/v1/cases/${held}`);
    assert.equal((await lead.patch(`/api/v1/cases/${held}`, { legal_hold: true, version: b.json.case.version })).status, 200);
    const heldClosed = await closeCase(lead, held, 200);
    const dueClosed = await closeCase(lead, due, 91);
    await closeCase(lead, recent, 89);
    // an open case whose stale closing time says long ago is still open
    await psql(dbUrl, `UPDATE cases SET closed_at = now() - interval '400 days' WHERE id = ${open}`);
    const keysBefore = await count(`SELECT count(*) FROM data_keys`);

    const dry = await retention(['--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    const holder = w.users.cacSupervisor.username.replace('_', ' ');
    assert.ok(dry.stdout.includes(`case ${await caseNumber(held)} (id ${held}), closed ${heldClosed}: skipped: legal hold (set by ${holder} on ${today()})`), dry.stdout);
    assert.ok(dry.stdout.includes(`case ${await caseNumber(due)} (id ${due}), closed ${dueClosed}: would purge`), dry.stdout);
    assert.ok(!dry.stdout.includes(`(id ${recent})`) && !dry.stdout.includes(`(id ${open})`), dry.stdout);
    assert.match(dry.stdout, /1 case would be purged, 1 skipped, 0 failed/);
    assert.equal(await count(`SELECT count(*) FROM data_keys`), keysBefore, 'a dry run changes nothing');
    assert.equal((await lead.get(`/api/v1/cases/${due}`)).status, 200);

    const r = await retention();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`(id ${held}), closed ${heldClosed}: skipped: legal hold`), r.stdout);
    assert.ok(r.stdout.includes(`(id ${due}), closed ${dueClosed}: purged`), r.stdout);
    assert.equal((await lead.get(`/api/v1/cases/${due}`)).status, 410);
    for (const id of [held, recent, open]) {
        const board = await lead.get(`/api/v1/cases/${id}`);
        assert.equal(board.status, 200, `case ${id}: ${board.text}`);
        assert.ok(board.text.includes(notes[id]), `case ${id} lost its content`);
        assert.equal(await count(`SELECT count(*) FROM data_keys WHERE owner = ${id}`), 1);
    }

    // The hold cleared, the next run purges it.
    b = await lead.get(`/api/v1/cases/${held}`);
    assert.equal((await lead.patch(`/api/v1/cases/${held}`, { legal_hold: false, version: b.json.case.version })).status, 200);
    const again = await retention();
    assert.ok(again.stdout.includes(`(id ${held}), closed ${heldClosed}: purged`), again.stdout);
    assert.equal((await lead.get(`/api/v1/cases/${held}`)).status, 410);
});

test('MDT_RETENTION is strictly parsed: a bad value refuses to run or serve; off purges nothing; another key file is refused', async () => {
    for (const bad of ['7 years', '0d', '7', '7w', '-90d']) {
        const r = await retention([], { MDT_RETENTION: bad });
        assert.equal(r.code, 2, `${bad}: ${r.stdout}`);
        assert.match(r.stderr, /MDT_RETENTION must be off, or a whole number of years, months or days/);
    }
    // Another installation's key file: refused before anything is purged.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-otherkey-'));
    const other = path.join(dir, 'other.key');
    await run(BIN, ['keys', 'init', '--file', other]);
    const wrongKey = await retention([], { MDT_KEY_FILE: other });
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /is not the key of this database/);
    const off = await retention([], { MDT_RETENTION: 'off' });
    assert.equal(off.code, 0);
    assert.match(off.stdout, /MDT_RETENTION is off/);
    const err = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_RETENTION: '7yrs' } }).then(
        (s) => s.stop().then(() => null),
        (e) => e,
    );
    assert.ok(err instanceof Error, 'the server started with a bad MDT_RETENTION');
    assert.match(String(err.message), /MDT_RETENTION must be/);
});
