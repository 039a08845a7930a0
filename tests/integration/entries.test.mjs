// entries.test.mjs - board entries against the real binary and PostgreSQL:
// posting notes, interviews, decisions and updates; who sees what (404 for
// entries a caller may not see, also on the board); validation (422 with
// the field, nothing written); edits with versions and 409 on a stale one;
// retraction that keeps history and hides the body from other agencies;
// history in full for the author's agency, who and when for others; Markdown that never lets script,
// javascript: or data: URLs or event handlers through; SQL-shaped text
// stored as typed; exactly one event and one audit row per change; and
// POST /render.
//
// The world (board_fixtures.mjs): a CAC-led case with the police, child
// welfare (DCF) and immigration legal aid on it; the hospital is not.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, createDatabase, psql, startServer } from './lib/harness.mjs';
import {
    BOARD_ENV,
    assertError,
    boardWorld,
    changeCounts,
    createCase,
    expectNoChange,
    expectOneChange,
    login,
} from './lib/board_fixtures.mjs';
import { today } from './lib/clock.mjs';
import { assertSafeHtml } from './lib/html.mjs';

const MARKDOWN_MAX = 64 * 1024; // MDT_MARKDOWN_MAX_SOURCE, bytes
const MARKDOWN_MAX_HTML = 32 * 1024; // MDT_MARKDOWN_MAX_HTML, bytes

let dbUrl, server, w, caseId;
const as = {}; // logged-in clients by user key

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: BOARD_ENV });
    w = await boardWorld(dbUrl);
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);
    const a = w.agencies;
    caseId = await createCase(server.url, dbUrl, {
        lead: w.users.cacSupervisor,
        agencies: [a.cac, a.police, a.dcf, a.legal],
    });
});

after(async () => {
    if (server) await server.stop();
});

const entriesUrl = () => `/api/v1/cases/${caseId}/entries`;

// post(client, body) - POST an entry; asserts 201 and one event + audit row.
async function post(client, body) {
    const before = await changeCounts(dbUrl, caseId);
    const res = await client.post(entriesUrl(), body);
    assert.equal(res.status, 201, res.text);
    await expectOneChange(dbUrl, caseId, before, {
        event: 'entry.created',
        audit: 'entry.create',
        objectType: 'entry',
        objectId: res.json.id,
    });
    return res.json;
}

// The board's entries for client, or null when the board is not served yet.
async function boardEntries(client) {
    const res = await client.get(`/api/v1/cases/${caseId}`);
    if (res.status === 404 && res.json?.error?.message === 'no such resource') return null;
    assert.equal(res.status, 200, res.text);
    return res.json.entries;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

test('a member posts a note: 201 with the Entry shape, one event and one audit row', async () => {
    const e = await post(as.policeMember, { kind: 'note', body_md: 'Met the **family**.', visibility: 'mdt' });
    assert.equal(e.case_id, caseId);
    assert.equal(e.kind, 'note');
    assert.equal(e.author_id, w.users.policeMember.userId);
    assert.equal(e.agency_id, w.agencies.police);
    assert.equal(e.body_md, 'Met the **family**.');
    assert.equal(e.body_html, '<p>Met the <strong>family</strong>.</p>\n');
    assert.equal(e.visibility, 'mdt');
    assert.deepEqual(e.visible_to, []);
    assert.equal(e.version, 1);
    assert.match(e.created_at, RFC3339);
    assert.equal(e.edited_at, null);
    assert.equal(e.retracted_at, null);
    assert.equal(e.interview, undefined);

    const last = await psql(dbUrl, `SELECT detail::text FROM audit WHERE action = 'entry.create' AND object_id = ${e.id}`);
    assert.deepEqual(JSON.parse(last), { kind: 'note', visibility: 'mdt' }, 'audit detail holds no case text');
    const versions = await psql(dbUrl, `SELECT count(*) FROM entry_versions WHERE entry_id = ${e.id}`);
    assert.equal(versions, '1');

    const board = await boardEntries(as.dcfMember);
    if (board) assert.ok(board.some((x) => x.id === e.id), 'an mdt entry is on every member agency\'s board');
});

test('decisions and updates; the admin of a member agency posts as a member', async () => {
    const d = await post(as.cacSupervisor, { kind: 'decision', body_md: 'Refer to DCF.', visibility: 'mdt' });
    assert.equal(d.kind, 'decision');
    const u = await post(as.cacAdmin, { kind: 'update', body_md: 'Scheduled.', visibility: 'agency' });
    assert.equal(u.kind, 'update');
    assert.equal(u.agency_id, w.agencies.cac);
});

test('an agency entry of the police is 404 to the CAC everywhere and absent from its board', async () => {
    const e = await post(as.policeMember, { kind: 'note', body_md: 'Warrant pending.', visibility: 'agency' });
    const cac = as.cacSupervisor; // the lead's supervisor: still may not see it
    const before = await changeCounts(dbUrl, caseId);
    assertError(await cac.patch(`/api/v1/entries/${e.id}`, { body_md: 'x', version: 1 }), 404, 'not_found');
    assertError(await cac.del(`/api/v1/entries/${e.id}`), 404, 'not_found');
    assertError(await cac.get(`/api/v1/entries/${e.id}/history`), 404, 'not_found');
    await expectNoChange(dbUrl, caseId, before);
    // The answers are the same as for an entry that does not exist.
    const missing = await cac.get('/api/v1/entries/999999999/history');
    assertError(missing, 404, 'not_found');
    const board = await boardEntries(cac);
    if (board) assert.ok(!board.some((x) => x.id === e.id), 'hidden from the CAC board');
    const own = await boardEntries(as.policeSupervisor);
    if (own) assert.ok(own.some((x) => x.id === e.id), 'on the police board');
});

test('visibility agencies: the named agencies and the author agency see it, no one else', async () => {
    const e = await post(as.policeMember, {
        kind: 'note',
        body_md: 'For DCF only.',
        visibility: 'agencies',
        visible_to: [w.agencies.dcf],
    });
    assert.deepEqual(e.visible_to, [w.agencies.dcf]);
    // DCF sees it (it may not edit it: 403, not 404), the CAC does not.
    assertError(await as.dcfMember.patch(`/api/v1/entries/${e.id}`, { body_md: 'x', version: 1 }), 403, 'forbidden');
    assertError(await as.cacMember.patch(`/api/v1/entries/${e.id}`, { body_md: 'x', version: 1 }), 404, 'not_found');
    const dcfBoard = await boardEntries(as.dcfMember);
    if (dcfBoard) assert.ok(dcfBoard.some((x) => x.id === e.id));
    const cacBoard = await boardEntries(as.cacMember);
    if (cacBoard) assert.ok(!cacBoard.some((x) => x.id === e.id));
    // An agency not on the case sees nothing of the case at all.
    assertError(await as.hospitalMember.post(entriesUrl(), { kind: 'note', body_md: 'x', visibility: 'mdt' }), 404, 'not_found');
    assertError(await as.hospitalMember.get(`/api/v1/entries/${e.id}/history`), 404, 'not_found');
});

test('invalid input: 422 with the field (400 for wrong types), and nothing written', async () => {
    const c = as.policeMember;
    const before = await changeCounts(dbUrl, caseId);
    const cases = [
        [{ kind: 'note', body_md: 'x', visibility: 'public' }, 422, 'visibility'],
        [{ kind: 'note', body_md: 'x' }, 422, 'visibility'],
        [{ kind: 'memo', body_md: 'x', visibility: 'mdt' }, 422, 'kind'],
        [{ kind: 'note', body_md: '', visibility: 'mdt' }, 422, 'body_md'],
        [{ kind: 'note', body_md: '  \n\t ', visibility: 'mdt' }, 422, 'body_md'],
        [{ kind: 'note', visibility: 'mdt' }, 422, 'body_md'],
        [{ kind: 'note', body_md: 'x'.repeat(MARKDOWN_MAX + 1), visibility: 'mdt' }, 422, 'body_md'],
        [{ kind: 'note', body_md: 'x', visibility: 'agencies', visible_to: [w.agencies.hospital] }, 422, 'visible_to'],
        [{ kind: 'note', body_md: 'x', visibility: 'agencies', visible_to: [] }, 422, 'visible_to'],
        [{ kind: 'note', body_md: 'x', visibility: 'agencies' }, 422, 'visible_to'],
        [{ kind: 'note', body_md: 'x', visibility: 'mdt', visible_to: [w.agencies.dcf] }, 422, 'visible_to'],
        [{ kind: 'note', body_md: 'x', visibility: 'mdt', interview: { date: today(-1) } }, 422, 'interview'],
        [{ kind: 7, body_md: 'x', visibility: 'mdt' }, 400, 'kind'],
        [{ kind: 'note', body_md: ['x'], visibility: 'mdt' }, 400, 'body_md'],
        [{ kind: 'note', body_md: 'x', visibility: 'agencies', visible_to: ['2'] }, 400, 'visible_to'],
    ];
    for (const [body, status, field] of cases) {
        assertError(await c.post(entriesUrl(), body), status, status === 422 ? 'validation' : 'bad_request', field);
    }
    // Exactly the size limit is fine (checked last so the count above holds).
    await expectNoChange(dbUrl, caseId, before);
    // (trailing blanks, so its HTML stays within MARKDOWN_MAX_HTML)
    const src = 'y' + ' '.repeat(MARKDOWN_MAX - 1);
    const big = await post(c, { kind: 'note', body_md: src, visibility: 'agency' });
    assert.equal(big.body_md.length, MARKDOWN_MAX);
    assert.equal(big.body_html, '<p>y</p>\n');
});

test('Markdown is bounded: HTML over 32 KiB or nesting over 32 levels is 422 body_md, nothing written', async () => {
    const c = as.cacMember;
    const before = await changeCounts(dbUrl, caseId);
    const nested = (n) => Array.from({ length: n }, (_, i) => `${' '.repeat(2 * i)}- a\n`).join('');
    const refused = [
        '>'.repeat(60000), // the example: 1.6 MB of HTML before
        nested(16), // 16 list levels: 34 tree levels
        '- '.repeat(20000) + 'x',
        '&'.repeat(12000), // 60 KB of "&amp;"
        'z'.repeat(MARKDOWN_MAX_HTML), // "<p>" + 32 KiB + "</p>"
    ];
    for (const md of refused) {
        assertError(await c.post(entriesUrl(), { kind: 'note', body_md: md, visibility: 'mdt' }), 422, 'validation', 'body_md');
        assertError(await c.post('/api/v1/render', { body_md: md }), 422, 'validation', 'body_md');
    }
    await expectNoChange(dbUrl, caseId, before);
    // A legitimate large note (~20 KB of visits, lists, links, quotes) passes.
    const visit =
        '## Visit\n\nMet the *family* at home; **school** attendance was discussed with ' +
        '[the counsellor](https://example.org/c).\n\n- follow-up call\n  - with the aunt\n' +
        '- services referral\n\n> Quote from the interview, kept as said.\n\n';
    const note = visit.repeat(90);
    assert.ok(note.length > 18000);
    const e = await post(c, { kind: 'note', body_md: note, visibility: 'mdt' });
    assert.ok(e.body_html.length <= MARKDOWN_MAX_HTML && e.body_html.includes('<blockquote>'));
    const preview = await c.post('/api/v1/render', { body_md: note });
    assert.equal(preview.status, 200, preview.text);
    assert.equal(preview.json.body_html, e.body_html);
    const deep = await c.post('/api/v1/render', { body_md: nested(15) });
    assert.equal(deep.status, 200, deep.text);
});

test('interview entries: interviewers only; the interview object is required and checked', async () => {
    const interview = { date: today(-2), interviewer_id: w.users.cacInterviewer.userId, disclosure: 'partial' };
    const before = await changeCounts(dbUrl, caseId);
    const body = { kind: 'interview', body_md: 'Forensic interview held.', visibility: 'mdt', interview };
    assertError(await as.cacMember.post(entriesUrl(), body), 422, 'validation', 'kind');
    assertError(await as.cacSupervisor.post(entriesUrl(), body), 422, 'validation', 'kind');
    assertError(await as.cacAdmin.post(entriesUrl(), body), 422, 'validation', 'kind');
    const ci = as.cacInterviewer;
    const bad = [
        [{ ...body, interview: undefined }, 'interview'],
        [{ ...body, interview: { ...interview, date: '2026-02-30' } }, 'interview.date'],
        [{ ...body, interview: { ...interview, disclosure: 'some' } }, 'interview.disclosure'],
        [{ ...body, interview: { ...interview, interviewer_id: undefined } }, 'interview.interviewer_id'],
        [{ ...body, interview: { ...interview, interviewer_id: w.users.hospitalMember.userId } }, 'interview.interviewer_id'],
    ];
    for (const [b, field] of bad) assertError(await ci.post(entriesUrl(), b), 422, 'validation', field);
    assertError(await ci.post(entriesUrl(), { ...body, interview: 'yes' }), 400, 'bad_request', 'interview');
    await expectNoChange(dbUrl, caseId, before);

    const e = await post(ci, { ...body, interview: { ...interview, recording_ref: 'DVD-12', extra: 'dropped' } });
    assert.equal(e.kind, 'interview');
    assert.deepEqual(e.interview, { ...interview, recording_ref: 'DVD-12' });
    const p = await post(as.policeInterviewer, { ...body, interview: { ...interview, disclosure: 'none' } });
    assert.equal(p.interview.disclosure, 'none');
});

test('interview facts are corrected like the text: versioned, author only, checked, history keeps the old facts', async () => {
    const ci = as.cacInterviewer;
    const facts = { date: today(-3), interviewer_id: w.users.cacInterviewer.userId, disclosure: 'none' };
    const e = await post(ci, { kind: 'interview', body_md: 'Interview summary.', visibility: 'mdt', interview: facts });
    const url = `/api/v1/entries/${e.id}`;
    const corrected = { date: today(-2), interviewer_id: w.users.cacInterviewer.userId, disclosure: 'partial', recording_ref: 'DVD-31' };
    const note = await post(ci, { kind: 'note', body_md: 'Not an interview.', visibility: 'mdt' });

    const before = await changeCounts(dbUrl, caseId);
    // Refused, and nothing changes: another user, a bad fact, an interviewer
    // not on the case, facts on a note, a stale version.
    assertError(await as.cacMember.patch(url, { interview: corrected, version: 1 }), 403, 'forbidden');
    assertError(await ci.patch(url, { interview: { ...corrected, disclosure: 'most' }, version: 1 }), 422, 'validation', 'interview.disclosure');
    assertError(await ci.patch(url, { interview: { ...corrected, date: 'soon' }, version: 1 }), 422, 'validation', 'interview.date');
    assertError(await ci.patch(url, { interview: { ...corrected, interviewer_id: w.users.hospitalMember.userId }, version: 1 }), 422, 'validation', 'interview.interviewer_id');
    assertError(await ci.patch(`/api/v1/entries/${note.id}`, { interview: corrected, version: 1 }), 422, 'validation', 'interview');
    assertError(await ci.patch(url, { interview: corrected, version: 7 }), 409, 'conflict');
    await expectNoChange(dbUrl, caseId, before);

    // The author corrects the facts alone: a new version, the text kept.
    const fixed = await ci.patch(url, { interview: corrected, version: 1 });
    assert.equal(fixed.status, 200, fixed.text);
    assert.equal(fixed.json.version, 2);
    assert.deepEqual(fixed.json.interview, corrected);
    assert.equal(fixed.json.body_md, 'Interview summary.');
    await expectOneChange(dbUrl, caseId, before, { event: 'entry.updated', audit: 'entry.update', objectType: 'entry', objectId: e.id });
    const detail = JSON.parse(await psql(dbUrl, `SELECT detail::text FROM audit WHERE action = 'entry.update' AND outcome = 'ok' AND object_id = ${e.id} ORDER BY id DESC LIMIT 1`));
    assert.deepEqual(detail.fields, ['interview']);
    assert.ok(!JSON.stringify(detail).includes('DVD-31'), 'the audit row holds field names, not facts');

    // History: the author's agency sees each version's facts; others who see
    // the entry see who changed it and when, not the earlier facts.
    const hist = await as.cacSupervisor.get(`${url}/history`);
    assert.deepEqual(hist.json.items.map((v) => v.interview), [facts, corrected]);
    const theirs = await as.policeMember.get(`${url}/history`);
    assert.equal(theirs.status, 200, theirs.text);
    assert.equal(theirs.json.items[0].interview, undefined);
    assert.deepEqual(theirs.json.items[1].interview, corrected);
    // The board shows the corrected facts to every agency that sees the entry.
    const board = await boardEntries(as.policeMember);
    if (board) assert.deepEqual(board.find((x) => x.id === e.id).interview, corrected);
});

test('editing: author only, a new version row each time, 409 with error.current on a stale version', async () => {
    const e = await post(as.policeMember, { kind: 'note', body_md: 'First draft.', visibility: 'mdt' });
    const url = `/api/v1/entries/${e.id}`;
    let before = await changeCounts(dbUrl, caseId);
    // Others who see it may not edit it; the same agency's supervisor neither.
    assertError(await as.cacMember.patch(url, { body_md: 'x', version: 1 }), 403, 'forbidden');
    assertError(await as.policeSupervisor.patch(url, { body_md: 'x', version: 1 }), 403, 'forbidden');
    assertError(await as.policeMember.patch(url, { version: 1 }), 422, 'validation');
    assertError(await as.policeMember.patch(url, { body_md: 'x' }), 422, 'validation', 'version');
    assertError(await as.policeMember.patch(url, { visibility: 'agencies', version: 1 }), 422, 'validation', 'visible_to');
    await expectNoChange(dbUrl, caseId, before);

    const edited = await as.policeMember.patch(url, { body_md: 'Second _draft_.', version: 1 });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(edited.json.version, 2);
    assert.equal(edited.json.body_html, '<p>Second <em>draft</em>.</p>\n');
    assert.match(edited.json.edited_at, RFC3339);
    await expectOneChange(dbUrl, caseId, before, { event: 'entry.updated', audit: 'entry.update', objectType: 'entry', objectId: e.id });
    const detail = await psql(dbUrl, `SELECT detail::text FROM audit WHERE action = 'entry.update' AND outcome = 'ok' AND object_id = ${e.id}`);
    assert.deepEqual(JSON.parse(detail), { fields: ['body_md'] });

    before = await changeCounts(dbUrl, caseId);
    const stale = await as.policeMember.patch(url, { body_md: 'Lost update.', version: 1 });
    assertError(stale, 409, 'conflict');
    assert.equal(stale.json.error.current.id, e.id);
    assert.equal(stale.json.error.current.version, 2);
    assert.equal(stale.json.error.current.body_md, 'Second _draft_.');
    await expectNoChange(dbUrl, caseId, before);

    const narrowed = await as.policeMember.patch(url, { visibility: 'agencies', visible_to: [w.agencies.legal], version: 2 });
    assert.equal(narrowed.status, 200, narrowed.text);
    assert.equal(narrowed.json.version, 3);
    assert.deepEqual(narrowed.json.visible_to, [w.agencies.legal]);
    assert.equal(narrowed.json.body_md, 'Second _draft_.', 'an edit without body_md keeps the body');
    // Now the CAC no longer sees it at all.
    assertError(await as.cacMember.patch(url, { body_md: 'x', version: 3 }), 404, 'not_found');
    // Back to mdt: visible_to is cleared.
    const wide = await as.policeMember.patch(url, { visibility: 'mdt', version: 3 });
    assert.equal(wide.status, 200, wide.text);
    assert.deepEqual(wide.json.visible_to, []);

    const hist = await as.policeSupervisor.get(`${url}/history`);
    assert.equal(hist.status, 200, hist.text);
    assert.deepEqual(hist.json.items.map((h) => h.version), [1, 2, 3, 4]);
    assert.equal(hist.json.items[0].body_md, 'First draft.');
    assert.equal(hist.json.items[0].body_html, '<p>First draft.</p>\n');
    assert.equal(hist.json.items[0].edited_by, w.users.policeMember.userId);
    assert.deepEqual(hist.json.items[2].visible_to, [w.agencies.legal]);
    assert.equal(hist.json.items[2].visibility, 'agencies');
    for (const h of hist.json.items) assert.match(h.edited_at, RFC3339);
    // Others who see the entry know it was edited, and by whom and when: the
    // current version in full, the earlier ones without their text.
    for (const other of [as.cacMember, as.dcfSupervisor]) {
        const theirs = await other.get(`${url}/history`);
        assert.equal(theirs.status, 200, theirs.text);
        assert.deepEqual(theirs.json.items.map((h) => h.version), [1, 2, 3, 4]);
        for (const h of theirs.json.items.slice(0, 3)) {
            assert.deepEqual(Object.keys(h).sort(), ['edited_at', 'edited_by', 'version'], 'an earlier version: who and when only');
            assert.equal(h.edited_by, hist.json.items[h.version - 1].edited_by);
            assert.equal(h.edited_at, hist.json.items[h.version - 1].edited_at);
        }
        assert.deepEqual(theirs.json.items[3], hist.json.items[3], 'the current version in full');
        assert.ok(!theirs.text.includes('First draft'), 'no earlier text anywhere in the answer');
    }
});

test('retraction: author, its agency supervisor or the lead supervisor; history kept; body hidden from others', async () => {
    const mk = async (client, extra = {}) =>
        post(client, { kind: 'note', body_md: 'Sensitive detail.', visibility: 'mdt', ...extra });
    const e1 = await mk(as.policeMember);
    // Plain members of other agencies, and another agency's supervisor, may not.
    let before = await changeCounts(dbUrl, caseId);
    assertError(await as.cacMember.del(`/api/v1/entries/${e1.id}`), 403, 'forbidden');
    assertError(await as.dcfSupervisor.del(`/api/v1/entries/${e1.id}`), 403, 'forbidden');
    assertError(await as.policeInterviewer.del(`/api/v1/entries/${e1.id}`), 403, 'forbidden');
    await expectNoChange(dbUrl, caseId, before);

    // The lead agency's supervisor (CAC) retracts a police entry.
    const r = await as.cacSupervisor.del(`/api/v1/entries/${e1.id}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.retracted_at, RFC3339);
    assert.equal(r.json.retracted_by, w.users.cacSupervisor.userId);
    assert.equal(r.json.body_md ?? null, null, 'the lead supervisor is not of the author agency');
    assert.equal(r.json.body_html ?? null, null);
    await expectOneChange(dbUrl, caseId, before, { event: 'entry.retracted', audit: 'entry.retract', objectType: 'entry', objectId: e1.id });

    // Retracting twice: 409 with the current entry; editing it: 409.
    before = await changeCounts(dbUrl, caseId);
    const again = await as.policeMember.del(`/api/v1/entries/${e1.id}`);
    assertError(again, 409, 'conflict');
    assert.equal(again.json.error.current.body_md, 'Sensitive detail.', 'the author agency still sees the body');
    assertError(await as.policeMember.patch(`/api/v1/entries/${e1.id}`, { body_md: 'x', version: 1 }), 409, 'conflict');
    await expectNoChange(dbUrl, caseId, before);

    // The author agency keeps the history; the row and its versions stay.
    const hist = await as.policeSupervisor.get(`/api/v1/entries/${e1.id}/history`);
    assert.equal(hist.status, 200, hist.text);
    assert.equal(hist.json.items[0].body_md, 'Sensitive detail.');
    // Others who see the (retracted) entry see who edited it and when, never its text.
    const theirs = await as.cacSupervisor.get(`/api/v1/entries/${e1.id}/history`);
    assert.equal(theirs.status, 200, theirs.text);
    assert.deepEqual(theirs.json.items, hist.json.items.map(({ version, edited_by, edited_at }) => ({ version, edited_by, edited_at })));
    assert.ok(!theirs.text.includes('Sensitive detail'));
    // The row and its body stay (sealed at rest: never the plain text in the database).
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM entries WHERE id = ${e1.id} AND body_md LIKE 'mdtenc1:%' AND body_md NOT LIKE '%Sensitive%'`), '1');

    // On the boards: retracted for everyone, the body only for the police.
    const cacBoard = await boardEntries(as.dcfMember);
    if (cacBoard) {
        const seen = cacBoard.find((x) => x.id === e1.id);
        assert.ok(seen && seen.retracted_at, 'others see that it was retracted');
        assert.equal(seen.body_md ?? null, null);
        assert.equal(seen.body_html ?? null, null);
        const own = (await boardEntries(as.policeMember)).find((x) => x.id === e1.id);
        assert.equal(own.body_md, 'Sensitive detail.');
    }

    // The author itself, and the author agency's supervisor.
    const e2 = await mk(as.policeMember);
    assert.equal((await as.policeMember.del(`/api/v1/entries/${e2.id}`)).status, 200);
    const e3 = await mk(as.policeMember);
    const r3 = await as.policeSupervisor.del(`/api/v1/entries/${e3.id}`);
    assert.equal(r3.status, 200, r3.text);
    assert.equal(r3.json.body_md, 'Sensitive detail.');

    // An interview retracted: its details are hidden from other agencies too.
    const iv = await post(as.policeInterviewer, {
        kind: 'interview',
        body_md: 'Interview.',
        visibility: 'mdt',
        interview: { date: today(-1), interviewer_id: w.users.policeInterviewer.userId, disclosure: 'full', recording_ref: 'R-9' },
    });
    const ri = await as.cacSupervisor.del(`/api/v1/entries/${iv.id}`);
    assert.equal(ri.status, 200, ri.text);
    assert.equal(ri.json.interview ?? null, null);

    // A lead supervisor cannot retract what it cannot see.
    const hidden = await mk(as.policeMember, { visibility: 'agency' });
    assertError(await as.cacSupervisor.del(`/api/v1/entries/${hidden.id}`), 404, 'not_found');
});

test('Markdown: script, javascript: links, event handlers and data: URLs never reach body_html', async () => {
    const payloads = [
        '<script>alert(1)</script>',
        '[click](javascript:alert(1))',
        '[click](JaVaScRiPt:alert(1))',
        '[click](&#106;avascript:alert(1))',
        '<img src=x onerror=alert(1)>',
        '<a href="https://x" onclick="alert(1)">x</a>',
        '![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)',
        '[doc](data:text/html,<script>alert(1)</script>)',
        '<iframe src="https://evil.example"></iframe>',
        '[x](//evil.example/a)',
        '<svg onload=alert(1)>',
    ];
    for (const md of payloads) {
        const e = await post(as.cacMember, { kind: 'note', body_md: `before ${md} after`, visibility: 'mdt' });
        assert.equal(e.body_md, `before ${md} after`, 'the source is stored as typed');
        assertSafeHtml(e.body_html, `${md} -> ${e.body_html}`);
        const stored = await psql(dbUrl, `SELECT body_html FROM entries WHERE id = ${e.id}`);
        assertSafeHtml(stored);
        const edited = await as.cacMember.patch(`/api/v1/entries/${e.id}`, { body_md: md, version: 1 });
        assertSafeHtml(edited.json.body_html);
        const preview = await as.cacMember.post('/api/v1/render', { body_md: md });
        assert.equal(preview.status, 200, preview.text);
        assertSafeHtml(preview.json.body_html);
        assert.equal(preview.json.body_html, edited.json.body_html, 'the preview renders as the entry does');
    }
    const ok = await post(as.cacMember, { kind: 'note', body_md: '[site](https://example.org/a?b=1)', visibility: 'mdt' });
    assert.match(ok.body_html, /href="https:\/\/example.org\/a\?b=1"/);
});

test('Markdown: text in angle brackets is shown as typed, escaped, never as markup', async () => {
    const cases = [
        ['known only as <Beto>', '<p>known only as &lt;Beto&gt;</p>'],
        ['<redacted>', '<p>&lt;redacted&gt;</p>'],
        ['a <b>bold</b> c', '<p>a &lt;b&gt;bold&lt;/b&gt; c</p>'],
        ['<div>\nblock\n</div>', '<p>&lt;div&gt;<br />\nblock<br />\n&lt;/div&gt;</p>'],
    ];
    for (const [md, html] of cases) {
        const e = await post(as.cacMember, { kind: 'note', body_md: md, visibility: 'mdt' });
        assert.equal(e.body_html.trim(), html);
        const preview = await as.cacMember.post('/api/v1/render', { body_md: md });
        assert.equal(preview.json.body_html.trim(), html);
    }
});

test('SQL-shaped text is stored and returned exactly as typed', async () => {
    const texts = [
        "Robert'); DROP TABLE entries; --",
        "' OR '1'='1",
        "x'; UPDATE users SET role = 'admin'; --",
        '$1 $2 \\x00 %s %n',
    ];
    const admins = await psql(dbUrl, `SELECT count(*) FROM users WHERE role = 'admin'`);
    for (const t of texts) {
        const e = await post(as.dcfMember, { kind: 'note', body_md: t, visibility: 'mdt' });
        assert.equal(e.body_md, t);
        const hist = await as.dcfMember.get(`/api/v1/entries/${e.id}/history`);
        assert.equal(hist.json.items[0].body_md, t);
    }
    assert.equal(await psql(dbUrl, `SELECT to_regclass('entries') IS NOT NULL`), 't');
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM users WHERE role = 'admin'`), admins);
});

test('POST /render: the same renderer for any signed-in user; limits; auth and CSRF', async () => {
    const res = await as.hospitalMember.post('/api/v1/render', { body_md: '# Title\n\n- a\n- b' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.body_html, '<h1>Title</h1>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n');
    const empty = await as.cacMember.post('/api/v1/render', { body_md: '' });
    assert.equal(empty.status, 200);
    assert.equal(empty.json.body_html, '');
    assertError(await as.cacMember.post('/api/v1/render', { body_md: 'x'.repeat(MARKDOWN_MAX + 1) }), 422, 'validation', 'body_md');
    assertError(await as.cacMember.post('/api/v1/render', {}), 422, 'validation', 'body_md');
    assertError(await as.cacMember.post('/api/v1/render', { body_md: 5 }), 400, 'bad_request', 'body_md');
    assertError(await api(server.url).post('/api/v1/render', { body_md: 'x' }), 401, 'unauthenticated');
    assertError(await as.cacMember.post('/api/v1/render', { body_md: 'x' }, { csrf: false }), 403, 'csrf');
});

test('unknown ids and cases are 404; every change of this file wrote one version row per version', async () => {
    assertError(await as.cacMember.post('/api/v1/cases/999999999/entries', { kind: 'note', body_md: 'x', visibility: 'mdt' }), 404, 'not_found');
    assertError(await as.cacMember.patch('/api/v1/entries/999999999', { body_md: 'x', version: 1 }), 404, 'not_found');
    assertError(await as.cacMember.del('/api/v1/entries/999999999'), 404, 'not_found');
    const mismatch = await psql(
        dbUrl,
        `SELECT count(*) FROM entries e WHERE (SELECT max(version) FROM entry_versions v WHERE v.entry_id = e.id) <> e.version
            OR (SELECT count(*) FROM entry_versions v WHERE v.entry_id = e.id) <> e.version`,
    );
    assert.equal(mismatch, '0');
});
