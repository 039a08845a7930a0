// at_rest.test.mjs - encryption at rest (docs/security.md "Encryption at
// rest"): unique tokens written through the API into every sealed field and
// protected category, and a TOTP secret, are nowhere in a pg_dump of the
// database, while the API reads them all back; a sealed value copied into
// another row or case is refused (an error, never the other place's text);
// a server started with another key file refuses to start; rows an older
// installation wrote in plain text are sealed by `mdtboard migrate`, and
// `keys status` counts them.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, api, cliEnv, createDatabase, migrate, ownerUrl, psql, startServer } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';
import { totp } from './lib/totp.mjs';

const run = promisify(execFile);
const PG_BIN = process.env.MDT_PG_BIN ?? '/usr/lib/postgresql/15/bin';

let dbUrl, server, w, caseA, caseB;
const tokens = []; // every unique string written into a sealed field
const token = (what) => {
    const t = `TOK${what}${process.pid}x${tokens.length}Q`;
    tokens.push(t);
    return t;
};

before(async () => {
    dbUrl = await createDatabase();
    w = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: BOARD_ENV });
    caseA = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police, w.agencies.legal, w.agencies.hospital] });
    caseB = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police] });
});

after(async () => {
    await server?.stop();
});

async function dump() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-dump-'));
    const file = path.join(dir, 'dump.sql');
    await run(`${PG_BIN}/pg_dump`, ['--no-password', '--file', file, '--dbname', ownerUrl(dbUrl)]);
    return readFileSync(file, 'utf8');
}

test('tokens in every sealed field and a TOTP secret are absent from pg_dump; the API reads them back', async () => {
    const cac = await login(server.url, w.users.cacInterviewer);
    const legal = await login(server.url, w.users.legalMember);
    const hospital = await login(server.url, w.users.hospitalMember);
    const url = (p) => `/api/v1/cases/${caseA}${p}`;

    const note = token('note');
    const e = await cac.post(url('/entries'), { kind: 'note', body_md: `**${note}**`, visibility: 'mdt' });
    assert.equal(e.status, 201, e.text);
    const edited = token('edit');
    assert.equal((await cac.patch(`/api/v1/entries/${e.json.id}`, { body_md: edited, version: 1 })).status, 200);
    const [interview, recording, rerecorded] = [token('interview'), token('recref'), token('recref2')];
    const facts = { date: today(-1), interviewer_id: w.users.cacInterviewer.userId, disclosure: 'partial' };
    const iv = await cac.post(url('/entries'), { kind: 'interview', body_md: interview, visibility: 'mdt', interview: { ...facts, recording_ref: recording } });
    assert.equal(iv.status, 201, iv.text);
    assert.equal(iv.json.interview.recording_ref, recording);
    // Correcting the facts makes a new version, which keeps the earlier reference.
    const ivEdit = await cac.patch(`/api/v1/entries/${iv.json.id}`, { interview: { ...facts, recording_ref: rerecorded }, version: 1 });
    assert.equal(ivEdit.status, 200, ivEdit.text);
    assert.equal(ivEdit.json.interview.recording_ref, rerecorded);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM entry_versions WHERE entry_id = ${iv.json.id} AND interview->>'recording_ref' LIKE 'mdtenc1:%' AND interview->>'disclosure' = 'partial'`), '2');
    const [svc, svcNote] = [token('service'), token('svcnote')];
    const s = await cac.post(url('/services'), { date: today(-1), category: 'personal_advocacy', service: svc, minutes: 30, note: svcNote, visibility: 'mdt' });
    assert.equal(s.status, 201, s.text);

    // Protected details, each category by its owner (immigration: legal aid; health: the hospital).
    const [legalName, address, immigration, health] = [token('name'), token('addr'), token('imm'), token('health')];
    const cacLead = await login(server.url, w.users.cacSupervisor);
    let pii = await cacLead.get(url('/pii'));
    let put = await cacLead.put(url('/pii'), { version: pii.json.version, identity: { legal_name: legalName }, contact: { address } });
    assert.equal(put.status, 200, put.text);
    put = await legal.put(url('/pii'), { version: put.json.version, immigration: { status: immigration } });
    assert.equal(put.status, 200, put.text);
    put = await hospital.put(url('/pii'), { version: put.json.version, health: { notes: health } });
    assert.equal(put.status, 200, put.text);

    const [guardian, purpose, docRef, consentNote] = [token('guardian'), token('purpose'), token('doc'), token('cnote')];
    const consent = await cacLead.post(url('/consents'), {
        categories: ['identity'],
        agency_id: w.agencies.police,
        consented_by: [{ role: 'guardian', name: guardian }],
        purpose,
        signed_on: today(-1),
        expires_on: today(30),
        document_ref: docRef,
        note: consentNote,
    });
    assert.equal(consent.status, 201, consent.text);

    // An action item; a meeting's outcome, its approval and a correction.
    const [title, details] = [token('title'), token('details')];
    const act = await cacLead.post(url('/actions'), { title, details_md: details, assignee_agency_id: w.agencies.police });
    assert.equal(act.status, 201, act.text);
    const retitled = token('retitle');
    assert.equal((await cacLead.patch(`/api/v1/actions/${act.json.id}`, { title: retitled, version: 1 })).status, 200);
    let m = await cacLead.post('/api/v1/meetings', { title: 'Weekly review', scheduled_at: new Date(Date.now() + 3600_000).toISOString(), case_ids: [caseA] });
    assert.equal(m.status, 201, m.text);
    const mid = m.json.id;
    m = await cacLead.patch(`/api/v1/meetings/${mid}`, { status: 'in_progress', version: m.json.version });
    const [outcome, fixedOutcome, reason] = [token('outcome'), token('fixed'), token('reason')];
    m = await cacLead.put(`/api/v1/meetings/${mid}/cases/${caseA}/outcome`, { outcome_md: outcome });
    assert.equal(m.status, 200, m.text);
    m = await cacLead.patch(`/api/v1/meetings/${mid}`, { status: 'ended', version: m.json.version });
    m = await cacLead.post(`/api/v1/meetings/${mid}/minutes/approve`, { version: m.json.version });
    assert.equal(m.status, 200, m.text);
    m = await cacLead.put(`/api/v1/meetings/${mid}/cases/${caseA}/outcome`, { outcome_md: fixedOutcome, correction_reason: reason });
    assert.equal(m.status, 200, m.text);

    // A TOTP secret (enrolment started and confirmed).
    const mfa = await cac.post('/api/v1/me/mfa', { password: w.users.cacInterviewer.password });
    assert.equal(mfa.status, 200, mfa.text);
    const secret = mfa.json.secret;
    const confirmed = await cac.put('/api/v1/me/mfa', { totp: totp(secret) });
    assert.ok(confirmed.status < 300, confirmed.text);

    const text = await dump();
    for (const t of tokens) assert.ok(!text.includes(t), `${t} is in the dump`);
    assert.ok(!text.includes(secret), 'the TOTP secret is in the dump');
    assert.ok(text.includes('mdtenc1:'), 'sealed values are in the dump');

    // The API reads every one of them back.
    const board = await cacLead.get(`/api/v1/cases/${caseA}`);
    assert.equal(board.status, 200, board.text);
    const all = JSON.stringify(board.json);
    for (const t of [edited, interview, rerecorded, svc, svcNote, legalName, address, guardian, purpose, docRef, consentNote]) assert.ok(all.includes(t), `${t} not read back`);
    assert.ok((await legal.get(url('/pii'))).text.includes(immigration));
    assert.ok((await hospital.get(url('/pii'))).text.includes(health));
    for (const t of [retitled, details]) assert.ok(all.includes(t), `${t} not read back`);
    const meeting = await cacLead.get(`/api/v1/meetings/${mid}`);
    assert.ok(meeting.text.includes(fixedOutcome) && meeting.text.includes(reason), 'outcome and correction read back');
    const v1 = await cacLead.get(`/api/v1/meetings/${mid}/minutes?format=md&version=1`);
    assert.ok(v1.text.includes(outcome), 'the approved version of the minutes reads back');
    const hist = await cac.get(`/api/v1/entries/${e.json.id}/history`);
    assert.ok(hist.text.includes(note) && hist.text.includes(edited), 'every version reads back');
    const ivHist = await cac.get(`/api/v1/entries/${iv.json.id}/history`);
    assert.equal(ivHist.status, 200, ivHist.text);
    assert.deepEqual(ivHist.json.items.map((v) => v.interview.recording_ref), [recording, rerecorded]);
    // Signing in with the sealed TOTP secret works (the next step's code: one
    // step of drift is accepted, and it was never used).
    const u = w.users.cacInterviewer;
    const again = await api(server.url).post('/api/v1/login', { username: u.username, password: u.password, totp: totp(secret, { time: Date.now() / 1000 + 30 }) });
    assert.equal(again.status, 200, again.text);
});

test('a sealed value copied into another row or case is refused, never shown', async () => {
    const cac = await login(server.url, w.users.cacMember);
    const secretText = token('copied');
    const src = await cac.post(`/api/v1/cases/${caseA}/entries`, { kind: 'note', body_md: secretText, visibility: 'mdt' });
    const sameCase = await cac.post(`/api/v1/cases/${caseA}/entries`, { kind: 'note', body_md: 'other row, same case', visibility: 'mdt' });
    const otherCase = await cac.post(`/api/v1/cases/${caseB}/entries`, { kind: 'note', body_md: 'other case', visibility: 'mdt' });
    const originals = new Map();
    for (const dst of [sameCase.json.id, otherCase.json.id]) {
        originals.set(dst, await psql(dbUrl, `SELECT body_md FROM entries WHERE id = ${dst}`));
        await psql(dbUrl, `UPDATE entries SET body_md = (SELECT body_md FROM entries WHERE id = ${src.json.id}) WHERE id = ${dst}`);
    }
    for (const [id, caseId] of [[sameCase.json.id, caseA], [otherCase.json.id, caseB]]) {
        const board = await cac.get(`/api/v1/cases/${caseId}`);
        assert.equal(board.status, 500, `board of case ${caseId} after a copy into entry ${id}: ${board.status}`);
        assert.ok(!board.text.includes(secretText));
        const hist = await cac.get(`/api/v1/entries/${id}/history`);
        assert.ok(!hist.text.includes(secretText));
    }
    // An interview's sealed recording_ref copied into another interview entry
    // (its live row and its first version): the board and the history refuse.
    // (The CAC interviewer has enrolled a TOTP above: the police one posts.)
    const interviewer = await login(server.url, w.users.policeInterviewer);
    const secretRef = token('copiedref');
    const facts = { date: today(-1), interviewer_id: w.users.policeInterviewer.userId, disclosure: 'none' };
    const ivSrc = await interviewer.post(`/api/v1/cases/${caseA}/entries`, { kind: 'interview', body_md: 'source', visibility: 'mdt', interview: { ...facts, recording_ref: secretRef } });
    const ivDst = await interviewer.post(`/api/v1/cases/${caseA}/entries`, { kind: 'interview', body_md: 'target', visibility: 'mdt', interview: { ...facts, recording_ref: 'its own reference' } });
    assert.equal(ivDst.status, 201, ivDst.text);
    const ownRef = await psql(dbUrl, `SELECT interview::text FROM entries WHERE id = ${ivDst.json.id}`);
    const liveAndFirst = [['entries', 'id'], ['entry_versions', 'entry_id']];
    for (const [table, key] of liveAndFirst)
        await psql(dbUrl, `UPDATE ${table} SET interview = (SELECT interview FROM entries WHERE id = ${ivSrc.json.id}) WHERE ${key} = ${ivDst.json.id}`);
    const refBoard = await interviewer.get(`/api/v1/cases/${caseA}`);
    assert.equal(refBoard.status, 500, `board after a copied recording_ref: ${refBoard.status}`);
    assert.ok(!refBoard.text.includes(secretRef));
    const refHist = await interviewer.get(`/api/v1/entries/${ivDst.json.id}/history`);
    assert.equal(refHist.status, 500, `history after a copied recording_ref: ${refHist.status}`);
    assert.ok(!refHist.text.includes(secretRef));
    for (const [table, key] of liveAndFirst) await psql(dbUrl, `UPDATE ${table} SET interview = '${ownRef}'::jsonb WHERE ${key} = ${ivDst.json.id}`);
    const restored = await interviewer.get(`/api/v1/entries/${ivDst.json.id}/history`);
    assert.equal(restored.status, 200, restored.text);
    assert.equal(restored.json.items[0].interview.recording_ref, 'its own reference');

    // A protected category copied into another case: refused the same way.
    await psql(dbUrl, `INSERT INTO pii (case_id, category, data, updated_by) SELECT ${caseB}, category, data, updated_by FROM pii WHERE case_id = ${caseA} AND category = 'identity'`);
    const lead = await login(server.url, w.users.cacSupervisor);
    const piiB = await lead.get(`/api/v1/cases/${caseB}/pii`);
    assert.equal(piiB.status, 500);
    assert.ok(!piiB.text.includes('TOKname'));
    // Put things back for the tests after this one.
    await psql(dbUrl, `DELETE FROM pii WHERE case_id = ${caseB}`);
    for (const [dst, sealed] of originals) await psql(dbUrl, `UPDATE entries SET body_md = '${sealed}' WHERE id = ${dst}`);
    assert.equal((await cac.get(`/api/v1/cases/${caseB}`)).status, 200, 'its own sealed value opens again');
});

test('another key file: serve refuses to start, saying why', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-otherkey-'));
    const other = path.join(dir, 'other.key');
    await run(BIN, ['keys', 'init', '--file', other]);
    const err = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_KEY_FILE: other } }).then(
        (s) => s.stop().then(() => null),
        (e) => e,
    );
    assert.ok(err instanceof Error, 'the server started with the wrong key file');
    assert.match(String(err.message), /is not the key of this database/);
});

test('plain rows of an older installation: counted by keys status, sealed by migrate, still read', async () => {
    const plain = token('legacy');
    const cac = await login(server.url, w.users.cacMember);
    const e = await cac.post(`/api/v1/cases/${caseB}/entries`, { kind: 'note', body_md: 'to be replaced', visibility: 'mdt' });
    await psql(dbUrl, `UPDATE entries SET body_md = '${plain}', body_html = '<p>${plain}</p>' WHERE id = ${e.json.id}`);
    await psql(dbUrl, `UPDATE entry_versions SET body_md = '${plain}', body_html = '<p>${plain}</p>' WHERE entry_id = ${e.json.id}`);
    const env = cliEnv(ownerUrl(dbUrl));
    let status = (await run(BIN, ['keys', 'status'], { env })).stdout;
    assert.match(status, /rows holding plain text: 2 /);
    assert.ok((await cac.get(`/api/v1/cases/${caseB}`)).text.includes(plain), 'a plain row is read as it is');
    const out = await migrate(dbUrl);
    assert.match(out, /migrate: sealed 1 row of entries/);
    assert.match(out, /migrate: sealed 1 row of entry_versions/);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM entries WHERE id = ${e.json.id} AND body_md LIKE 'mdtenc1:%' AND body_html LIKE 'mdtenc1:%'`), '1');
    status = (await run(BIN, ['keys', 'status'], { env })).stdout;
    assert.match(status, /rows holding plain text: 0\n/);
    assert.match(status, /data keys wrapped by key id [0-9a-f]{16}: \d+/);
    assert.ok((await cac.get(`/api/v1/cases/${caseB}`)).text.includes(plain), 'read back once sealed');
    assert.ok(!(await dump()).includes(plain));
});

test('a plain recording_ref written directly in SQL: counted, sealed by migrate, still read', async () => {
    const plain = token('legacyref');
    const cac = await login(server.url, w.users.policeInterviewer);
    const facts = { date: today(-2), interviewer_id: w.users.policeInterviewer.userId, disclosure: 'full' };
    const e = await cac.post(`/api/v1/cases/${caseB}/entries`, { kind: 'interview', body_md: 'interview held', visibility: 'mdt', interview: facts });
    assert.equal(e.status, 201, e.text);
    for (const [table, key] of [['entries', 'id'], ['entry_versions', 'entry_id']])
        await psql(dbUrl, `UPDATE ${table} SET interview = interview || jsonb_build_object('recording_ref', '${plain}') WHERE ${key} = ${e.json.id}`);
    const env = cliEnv(ownerUrl(dbUrl));
    assert.match((await run(BIN, ['keys', 'status'], { env })).stdout, /rows holding plain text: 2 /);
    assert.ok((await cac.get(`/api/v1/cases/${caseB}`)).text.includes(plain), 'a plain reference is read as it is');
    const out = await migrate(dbUrl);
    assert.match(out, /migrate: sealed 1 row of entries/);
    assert.match(out, /migrate: sealed 1 row of entry_versions/);
    for (const [table, key] of [['entries', 'id'], ['entry_versions', 'entry_id']]) {
        const sealed = `SELECT count(*) FROM ${table} WHERE ${key} = ${e.json.id} AND interview->>'recording_ref' LIKE 'mdtenc1:%' AND interview->>'disclosure' = 'full'`;
        assert.equal(await psql(dbUrl, sealed), '1', `${table} keeps its facts and seals the reference`);
    }
    assert.match((await run(BIN, ['keys', 'status'], { env })).stdout, /rows holding plain text: 0\n/);
    // Re-running seals nothing more and changes nothing.
    assert.doesNotMatch(await migrate(dbUrl), /sealed \d+ rows? of entr/);
    const board = await cac.get(`/api/v1/cases/${caseB}`);
    assert.equal(board.status, 200, board.text);
    assert.equal(board.json.entries.find((x) => x.id === e.json.id).interview.recording_ref, plain);
    const hist = await cac.get(`/api/v1/entries/${e.json.id}/history`);
    assert.equal(hist.json.items[0].interview.recording_ref, plain);
    assert.ok(!(await dump()).includes(plain));
});
