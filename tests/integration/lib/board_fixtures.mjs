// board_fixtures.mjs - a small MDT world for case-board tests, on top of
// fixtures.mjs (agencies and users through the `mdtboard` command line):
//
//   const w = await boardWorld(dbUrl);          // agencies and users below
//   const cac = await login(server.url, w.users.cacMember);
//   const caseId = await createCase(server.url, dbUrl, {lead: w.users.cacSupervisor,
//                                   agencies: [w.agencies.cac, w.agencies.police]});
//   const n = await changeCounts(dbUrl, caseId);   // {events, audit}
//
// Agencies (ids in w.agencies): cac, police (law_enforcement), dcf
// (child_welfare), legal (immigration_legal), hospital (medical). Users (in
// w.users, each {userId, agencyId, username, password, role}):
// cacMember, cacInterviewer, cacSupervisor, cacAdmin, policeMember,
// policeInterviewer, policeSupervisor, dcfMember, dcfSupervisor,
// legalMember, hospitalMember.
//
// law_enforcement needs MFA by default: start servers for these tests with
// BOARD_ENV (MDT_MFA_REQUIRED_KINDS=other, which no fixture agency has) so a
// plain password login suffices.

import assert from 'node:assert/strict';
import { api, psql } from './harness.mjs';
import { addAgency, addUser, DEFAULT_PASSWORD } from './fixtures.mjs';
import { today } from './clock.mjs';

export const BOARD_ENV = { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOGIN_RATE: 100000 };

const AGENCIES = {
    cac: 'cac',
    police: 'law_enforcement',
    dcf: 'child_welfare',
    legal: 'immigration_legal',
    hospital: 'medical',
};

const USERS = {
    cacMember: ['cac', 'member'],
    cacInterviewer: ['cac', 'interviewer'],
    cacSupervisor: ['cac', 'supervisor'],
    cacAdmin: ['cac', 'admin'],
    policeMember: ['police', 'member'],
    policeInterviewer: ['police', 'interviewer'],
    policeSupervisor: ['police', 'supervisor'],
    dcfMember: ['dcf', 'member'],
    dcfSupervisor: ['dcf', 'supervisor'],
    legalMember: ['legal', 'member'],
    hospitalMember: ['hospital', 'member'],
};

let worldCounter = 0;

// boardWorld(dbUrl) - makes the agencies and users above (unique names).
export async function boardWorld(dbUrl) {
    const tag = `${process.pid}w${++worldCounter}`;
    const agencies = {};
    for (const [key, kind] of Object.entries(AGENCIES)) {
        agencies[key] = await addAgency(dbUrl, { name: `${key} ${tag}`, kind });
    }
    const users = {};
    for (const [key, [agency, role]] of Object.entries(USERS)) {
        const username = `${key}_${tag}`;
        const agencyId = agencies[agency];
        const userId = await addUser(dbUrl, { username, displayName: `${key} ${tag}`, agencyId, role });
        users[key] = { userId, agencyId, username, password: DEFAULT_PASSWORD, role };
    }
    return { agencies, users };
}

// login(base, user) - an api client signed in as user (cookie and CSRF kept).
export async function login(base, user) {
    const client = api(base);
    const res = await client.post('/api/v1/login', { username: user.username, password: user.password });
    assert.equal(res.status, 200, `login ${user.username}: ${res.status} ${res.text}`);
    client.user = user;
    return client;
}

// onNode(client, node) - the same session (cookie and CSRF token) used
// against another node (two nodes on one database); GET /me there loads the
// session into that node's cache, which a WebSocket upgrade needs.
export async function onNode(client, node) {
    const other = api(node.url);
    for (const [k, v] of client.jar) other.jar.set(k, v);
    other.csrf = client.csrf;
    const me = await other.get('/api/v1/me');
    assert.equal(me.status, 200, me.text);
    return other;
}

let caseCounter = 0;

// createCase(base, dbUrl, {lead, agencies, alias}) - a new case led by the
// agency of `lead` (a supervisor) with `agencies` on it (the lead is added),
// referred a month ago. Resolves the case id.
export async function createCase(base, dbUrl, { lead, agencies, alias = 'J.D.' }) {
    const ids = [...new Set([lead.agencyId, ...agencies])];
    const number = `T-${process.pid}-${++caseCounter}`;
    const client = await login(base, lead);
    const res = await client.post('/api/v1/cases', {
        case_number: number,
        alias,
        referral_date: today(-30),
        agencies: ids,
    });
    assert.equal(res.status, 201, `POST /cases: ${res.status} ${res.text}`);
    return res.json.id;
}

// changeCounts(dbUrl, caseId) - rows that changes of the case wrote so far:
// events of the case and audit rows of the case that are not reads (nor
// lists, subscriptions or refused attempts: those are access records).
export async function changeCounts(dbUrl, caseId) {
    const out = await psql(
        dbUrl,
        `SELECT (SELECT count(*) FROM events WHERE case_id = ${Number(caseId)}) || ',' ||
                (SELECT count(*) FROM audit WHERE case_id = ${Number(caseId)} AND action NOT LIKE '%read'
                AND action NOT LIKE '%.list' AND action <> 'case.subscribe' AND outcome <> 'denied')`,
    );
    const [events, audit] = out.split(',').map(Number);
    return { events, audit };
}

// lastChange(dbUrl, caseId) - the newest event and audit change row of the case.
export async function lastChange(dbUrl, caseId) {
    const out = await psql(
        dbUrl,
        `SELECT json_build_object(
            'event', (SELECT json_build_object('kind', kind, 'object_type', object_type,
                      'object_id', object_id, 'data', data) FROM events
                      WHERE case_id = ${Number(caseId)} ORDER BY seq DESC LIMIT 1),
            'audit', (SELECT json_build_object('action', action, 'object_type', object_type,
                      'object_id', object_id, 'detail', detail, 'user_id', user_id) FROM audit
                      WHERE case_id = ${Number(caseId)} AND action NOT LIKE '%read'
                AND action NOT LIKE '%.list' AND action <> 'case.subscribe' AND outcome <> 'denied'
                      ORDER BY id DESC LIMIT 1))`,
    );
    return JSON.parse(out);
}

// expectOneChange(dbUrl, caseId, before, {event, audit, objectId}) - exactly
// one event and one audit row since `before`, of these kinds, on objectId.
export async function expectOneChange(dbUrl, caseId, before, { event, audit, objectType, objectId }) {
    const now = await changeCounts(dbUrl, caseId);
    assert.deepEqual(now, { events: before.events + 1, audit: before.audit + 1 }, `one event and one audit row for ${event}`);
    const last = await lastChange(dbUrl, caseId);
    assert.equal(last.event.kind, event);
    assert.equal(last.audit.action, audit);
    assert.deepEqual(last.event.data, { object_type: objectType, id: objectId });
    assert.equal(Number(last.event.object_id), objectId);
    assert.equal(Number(last.audit.object_id), objectId);
    return last;
}

// expectNoChange(dbUrl, caseId, before) - nothing was written.
export async function expectNoChange(dbUrl, caseId, before) {
    assert.deepEqual(await changeCounts(dbUrl, caseId), before, 'the refused request changed nothing');
}

// assertError(res, status, code, field) - the contract's error shape.
export function assertError(res, status, code, field) {
    assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
    assert.ok(res.json && typeof res.json.error === 'object', `error body expected, got ${res.text}`);
    assert.equal(res.json.error.code, code, res.text);
    assert.equal(typeof res.json.error.message, 'string');
    if (field !== undefined) assert.equal(res.json.error.field, field, res.text);
}

// todayIn(timeZone, offsetDays) - YYYY-MM-DD of today (+ offsetDays) in that zone.
export function todayIn(timeZone, offsetDays = 0) {
    return today(offsetDays, timeZone);
}

// boardOf(client, caseId) - the board as client sees it. Bodies and titles
// are sealed at rest (docs/security.md), so a test that looks for what was
// written reads it here, through the API, never from the tables.
export async function boardOf(client, caseId) {
    const res = await client.get(`/api/v1/cases/${caseId}`);
    assert.equal(res.status, 200, `board of case ${caseId}: ${res.status} ${res.text}`);
    return res.json;
}
