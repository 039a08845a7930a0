// pii.test.mjs - protected victim details and consents against the real
// binary and a real PostgreSQL: only the categories the caller may see now
// (absent, never null), writes only by each category's owner agency,
// optimistic concurrency with a filtered `current`, consents recorded by the
// owner (403 for a case member who is not, 404 for an outsider), consent
// expiry evaluated at read time (an expiry 2 s ahead hides the category
// right after it passes, with nothing run in between), revocation, consenting
// parties' names only for callers who see identity, expires_on as the end of
// that day in MDT_TIME_ZONE, one events row and one audit row per change and
// none for a refused one, history in pii_versions, and SQL-injection-shaped
// text stored literally.
//
// One database and one server. The world: a police-led case with child
// welfare (DCF), the immigration legal-aid agency and a hospital on it, and
// a CAC that is not on it. Default owners: identity and contact → police,
// immigration → legal aid, health → hospital.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, createDatabase, psql, sleep, startServer } from './lib/harness.mjs';
import { addAgency, addUser, DEFAULT_PASSWORD } from './lib/fixtures.mjs';
import { nowIso, today, wallTime } from './lib/clock.mjs';

let dbUrl;
let server;
const A = {}; // agency ids
const U = {}; // logged-in clients by name

const TZ = 'America/New_York';

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({
        dbUrl,
        env: { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOGIN_RATE: 100000, MDT_TIME_ZONE: TZ },
    });
    const kinds = {
        police: 'law_enforcement',
        dcf: 'child_welfare',
        legal: 'immigration_legal',
        hospital: 'medical',
        cac: 'cac',
    };
    for (const [name, kind] of Object.entries(kinds)) {
        A[name] = await addAgency(dbUrl, { name: `${name} ${process.pid}`, kind });
    }
    const users = {
        policeSup: ['police', 'supervisor'],
        police: ['police', 'member'],
        dcf: ['dcf', 'member'],
        legal: ['legal', 'member'],
        legalAdmin: ['legal', 'admin'],
        hospital: ['hospital', 'interviewer'],
        cac: ['cac', 'supervisor'],
    };
    for (const [name, [agency, role]] of Object.entries(users)) {
        const username = `${name}_${process.pid}`;
        await addUser(dbUrl, { username, agencyId: A[agency], role });
        U[name] = await login(username);
    }
});

after(async () => {
    if (server) await server.stop();
});

async function login(username) {
    const client = api(server.url);
    const res = await client.post('/api/v1/login', { username, password: DEFAULT_PASSWORD });
    assert.equal(res.status, 200, res.text);
    return client;
}

let caseCounter = 0;

// newCase() - a police-led case with DCF, legal aid and the hospital, made
// with POST /api/v1/cases (with the default PII owners). Resolves its id.
async function newCase() {
    const number = `P-${process.pid}-${++caseCounter}`;
    const agencies = [A.police, A.dcf, A.legal, A.hospital];
    const res = await U.policeSup.post('/api/v1/cases', {
        case_number: number,
        alias: `J.D. ${caseCounter}`,
        referral_date: today(-60),
        agencies,
    });
    if (res.status === 201) {
        assert.deepEqual(res.json.pii_owners, {
            identity: A.police,
            contact: A.police,
            immigration: A.legal,
            health: A.hospital,
        });
        return res.json.id;
    }
    assert.fail(`POST /cases: ${res.status} ${res.text}`);
}

function assertError(res, status, code, field) {
    assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
    assert.equal(res.json?.error?.code, code, res.text);
    assert.equal(typeof res.json.error.message, 'string');
    if (field !== undefined) assert.equal(res.json.error.field, field, res.text);
}

const pii = (c, id) => c.get(`/api/v1/cases/${id}/pii`);
const putPii = (c, id, body) => c.put(`/api/v1/cases/${id}/pii`, body);
const consent = (c, id, body) => c.post(`/api/v1/cases/${id}/consents`, body);
const consents = (c, id) => c.get(`/api/v1/cases/${id}/consents`);

// Counts of change rows for a case: events, and audit rows that are not
// (buffered) reads.
async function changeRows(caseId) {
    const out = await psql(
        dbUrl,
        `SELECT (SELECT count(*) FROM events WHERE case_id = ${caseId}) || ',' ||
                (SELECT count(*) FROM audit WHERE case_id = ${caseId}
                   AND action NOT LIKE '%.read' AND action NOT LIKE '%.list' AND outcome <> 'denied')`,
    );
    const [events, audit] = out.split(',').map(Number);
    return { events, audit };
}

// Runs fn (a change) and checks it wrote exactly one events row of kind and
// one audit row of action (or none of either when kind is null).
async function expectChange(caseId, kind, action, fn) {
    const before = await changeRows(caseId);
    const res = await fn();
    const afterRows = await changeRows(caseId);
    const n = kind ? 1 : 0;
    assert.deepEqual(afterRows, { events: before.events + n, audit: before.audit + n }, res.text);
    if (kind) {
        const last = await psql(
            dbUrl,
            `SELECT kind || '|' || data::text FROM events WHERE case_id = ${caseId} ORDER BY seq DESC LIMIT 1`,
        );
        const [k, data] = last.split('|');
        assert.equal(k, kind);
        assert.deepEqual(Object.keys(JSON.parse(data)).sort(), ['id', 'object_type']);
        const act = await psql(
            dbUrl,
            `SELECT action FROM audit WHERE case_id = ${caseId} AND action NOT LIKE '%.read'
               AND action NOT LIKE '%.list' AND outcome <> 'denied' ORDER BY id DESC LIMIT 1`,
        );
        assert.equal(act, action);
    }
    return res;
}

const inFuture = (ms) => new Date(Date.now() + ms).toISOString();
const PARTIES = [
    { role: 'guardian', name: 'Ana Guardian' },
    { role: 'minor', name: 'Jo Minor' },
];
const consentBody = (over = {}) => ({
    categories: ['immigration'],
    agency_id: A.police,
    consented_by: PARTIES,
    purpose: 'coordinate the T visa certification',
    signed_on: today(-1),
    expires_at: inFuture(3600_000),
    ...over,
});

// ---- reading and writing by category -------------------------------------------------

test('each agency sees only its categories and language; a category it may not see is absent, not null', async () => {
    const id = await newCase();
    let r = await pii(U.police, id);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['contact', 'identity', 'language', 'version']);
    assert.equal(r.json.version, 0);
    assert.deepEqual(r.json.identity, { legal_name: null, date_of_birth: null });
    assert.deepEqual(r.json.language, { preferred: null, interpreter_needed: null });

    r = await putPii(U.police, id, {
        version: 0,
        identity: { legal_name: 'Maria Example', date_of_birth: today(-14 * 365) },
        contact: { address: '1 Main St, Stamford', phone: '203-555-0100', school: 'Lincoln MS' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 1);
    assert.equal(r.json.immigration, undefined);
    r = await putPii(U.legal, id, {
        version: 1,
        immigration: {
            status: 'undocumented',
            country_of_birth: 'Guatemala',
            foreign_born: true,
            unaccompanied_minor: true,
            pending_applications: ['T visa', 'SIJS'],
        },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['immigration', 'language', 'version']);
    r = await putPii(U.hospital, id, { version: 2, health: { notes: 'asthma' } });
    assert.equal(r.status, 200, r.text);
    r = await putPii(U.dcf, id, { version: 3, language: { preferred: 'Spanish', interpreter_needed: true } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { version: 4, language: { preferred: 'Spanish', interpreter_needed: true } });

    const seen = {
        police: ['contact', 'identity', 'language', 'version'],
        legal: ['immigration', 'language', 'version'],
        hospital: ['health', 'language', 'version'],
        dcf: ['language', 'version'],
        legalAdmin: ['immigration', 'language', 'version'], // an admin on the case reads as a member
    };
    for (const [who, keys] of Object.entries(seen)) {
        r = await pii(U[who], id);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(Object.keys(r.json).sort(), keys, who);
        if (who === 'dcf') assert.ok(!/Guatemala|asthma|Maria/.test(r.text), r.text);
    }
    r = await pii(U.police, id);
    assert.equal(r.json.identity.legal_name, 'Maria Example');
    assert.ok(!r.text.includes('Guatemala') && !r.text.includes('asthma'), r.text);
    r = await pii(U.legal, id);
    assert.deepEqual(r.json.immigration.pending_applications, ['T visa', 'SIJS']);
    assert.ok(!r.text.includes('Maria') && !r.text.includes('asthma'), r.text);

    // an agency not on the case: 404, as if the case did not exist
    assertError(await pii(U.cac, id), 404, 'not_found');
    assertError(await pii(U.police, 987654321), 404, 'not_found');

    // history keeps every write
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM pii_versions WHERE case_id = ${id}`), '5');
    assert.equal(
        await psql(dbUrl, `SELECT string_agg(version::text, ',' ORDER BY version) FROM pii_versions WHERE case_id = ${id}`),
        '1,1,2,3,4',
    );
});

test("PUT of another owner's category is refused with 403 naming the category, and changes nothing", async () => {
    const id = await newCase();
    const cases = [
        [U.police, { immigration: { status: 'x' } }, 'immigration'],
        [U.policeSup, { health: { notes: 'x' } }, 'health'],
        [U.legal, { identity: { legal_name: 'x' } }, 'identity'],
        [U.dcf, { contact: { phone: '1' } }, 'contact'],
        [U.legalAdmin, { immigration: { status: 'x' } }, 'immigration'], // admins never write PII
        [U.police, { identity: { legal_name: 'ok' }, immigration: { status: 'x' } }, 'immigration'],
    ];
    for (const [client, body, field] of cases) {
        const res = await expectChange(id, null, null, () => putPii(client, id, { version: 0, ...body }));
        assertError(res, 403, 'forbidden', field);
    }
    const r = await pii(U.police, id);
    assert.equal(r.json.version, 0);
    assert.equal(r.json.identity.legal_name, null);
    assertError(await putPii(U.cac, id, { version: 0, language: { preferred: 'x' } }), 404, 'not_found');
});

test('stale version: 409 with error.current filtered for the caller; nothing written', async () => {
    const id = await newCase();
    assert.equal((await putPii(U.legal, id, { version: 0, immigration: { status: 'asylee' } })).status, 200);
    assert.equal((await putPii(U.police, id, { version: 1, identity: { legal_name: 'Ana' } })).status, 200);
    const res = await expectChange(id, null, null, () =>
        putPii(U.police, id, { version: 1, identity: { legal_name: 'Other' } }),
    );
    assertError(res, 409, 'conflict');
    assert.equal(res.json.error.current.version, 2);
    assert.equal(res.json.error.current.identity.legal_name, 'Ana');
    assert.equal(res.json.error.current.immigration, undefined);
    assert.ok(!res.text.includes('asylee'));
    const legal = await putPii(U.legal, id, { version: 0, immigration: { status: 'y' } });
    assertError(legal, 409, 'conflict');
    assert.equal(legal.json.error.current.immigration.status, 'asylee');
    assert.equal(legal.json.error.current.identity, undefined);
});

test('PII validation: types, dates, lengths, unknown fields; nothing written', async () => {
    const id = await newCase();
    const bad = [
        [{ identity: { date_of_birth: '2011-02-30' } }, 422, 'validation', 'identity.date_of_birth'],
        [{ identity: { date_of_birth: '04/02/2011' } }, 422, 'validation', 'identity.date_of_birth'],
        [{ identity: { legal_name: 'x'.repeat(501) } }, 422, 'validation', 'identity.legal_name'],
        [{ identity: { legal_name: 42 } }, 400, 'bad_request', 'identity.legal_name'],
        [{ identity: { nickname: 'x' } }, 422, 'validation', 'identity.nickname'],
        [{ identity: 'Maria' }, 400, 'bad_request', 'identity'],
        [{ immigration: { foreign_born: 'yes' } }, 400, 'bad_request', 'immigration.foreign_born'],
        [{ immigration: { pending_applications: 'T visa' } }, 400, 'bad_request', 'immigration.pending_applications'],
        [{ immigration: { pending_applications: [''] } }, 422, 'validation', 'immigration.pending_applications'],
        [{ language: { interpreter_needed: 1 } }, 400, 'bad_request', 'language.interpreter_needed'],
        [{ secrets: {} }, 422, 'validation', 'secrets'],
        [{}, 422, 'validation'],
    ];
    for (const [body, status, code, field] of bad) {
        const res = await expectChange(id, null, null, () => putPii(U.police, id, { version: 0, ...body }));
        assertError(res, status, code, field);
    }
    assertError(await putPii(U.police, id, { identity: {} }), 422, 'validation', 'version');
    assertError(await putPii(U.police, id, { version: '0', identity: {} }), 400, 'bad_request', 'version');
    assert.equal((await pii(U.police, id)).json.version, 0);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM pii_versions WHERE case_id = ${id}`), '0');
});

test('every PII change writes one pii.updated event and one audit row naming only categories; reads are audited', async () => {
    const id = await newCase();
    await expectChange(id, 'pii.updated', 'pii.update', () =>
        putPii(U.police, id, { version: 0, identity: { legal_name: 'Secret Name' }, language: { preferred: 'Mam' } }),
    );
    const detail = JSON.parse(
        await psql(dbUrl, `SELECT detail::text FROM audit WHERE case_id = ${id} AND action = 'pii.update'`),
    );
    assert.deepEqual(detail, { categories: ['identity', 'language'], version: 1 });
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM audit WHERE detail::text LIKE '%Secret%' OR detail::text LIKE '%Mam%'`), '0');
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM events WHERE data::text LIKE '%Secret%'`), '0');
    await pii(U.dcf, id);
    for (let i = 0; i < 50; i++) {
        const n = await psql(dbUrl, `SELECT count(*) FROM audit WHERE case_id = ${id} AND action = 'pii.read'`);
        if (n === '1') return;
        await sleep(100);
    }
    assert.fail('the read was not audited');
});

test('SQL-injection-shaped strings are stored and answered literally', async () => {
    const id = await newCase();
    const evil = "Robert'); DROP TABLE cases; --";
    const evil2 = "x' OR '1'='1";
    let r = await putPii(U.police, id, { version: 0, identity: { legal_name: evil }, contact: { school: evil2 } });
    assert.equal(r.status, 200, r.text);
    r = await pii(U.police, id);
    assert.equal(r.json.identity.legal_name, evil);
    assert.equal(r.json.contact.school, evil2);
    r = await consent(U.legal, id, consentBody({ purpose: evil, consented_by: [{ role: 'self', name: evil2 }], note: evil }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.purpose, evil);
    r = await consents(U.police, id); // the identity owner sees the names
    assert.equal(r.json.items[0].consented_by[0].name, evil2);
    assert.equal(r.json.items[0].note, evil);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM cases WHERE id = ${id}`), '1');
});

// ---- consents ------------------------------------------------------------------------------

test('a police-led case never shows immigration to police without a consent from the legal-aid agency', async () => {
    const id = await newCase();
    assert.equal((await putPii(U.legal, id, { version: 0, immigration: { status: 'pending' } })).status, 200);
    for (const who of ['police', 'policeSup']) {
        const r = await pii(U[who], id);
        assert.equal(r.json.immigration, undefined, who);
        assert.ok(!r.text.includes('pending'));
    }
    // a consent from the wrong party, for the wrong agency, or for another category gives nothing
    assertError(await consent(U.police, id, consentBody()), 403, 'forbidden');
    assert.equal((await consent(U.legal, id, consentBody({ agency_id: A.dcf }))).status, 201);
    assert.equal((await putPii(U.police, id, { version: 1, identity: { legal_name: 'N' } })).status, 200);
    assert.equal((await consent(U.police, id, consentBody({ categories: ['identity'], agency_id: A.legal }))).status, 201);
    assert.equal((await pii(U.police, id)).json.immigration, undefined);

    // the owner's consent makes it visible to the recipient, and to it only
    const res = await expectChange(id, 'consent.changed', 'consent.create', () => consent(U.legal, id, consentBody()));
    assert.equal(res.status, 201, res.text);
    const c = res.json;
    assert.equal(c.case_id, id);
    assert.equal(c.agency_id, A.police);
    assert.deepEqual(c.categories, ['immigration']);
    assert.equal(c.active, true);
    assert.equal(c.revoked_at, null);
    assert.equal(c.signed_on, today(-1));
    assert.match(c.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(typeof c.granted_by, 'number');
    const r = await pii(U.police, id);
    assert.equal(r.json.immigration.status, 'pending');
    assert.equal((await pii(U.hospital, id)).json.immigration, undefined);
    // a consent grants reading, not writing
    assertError(await putPii(U.police, id, { version: 2, immigration: { status: 'x' } }), 403, 'forbidden', 'immigration');
});

test('consent by a non-owner: 403 for a case member, 404 for an agency not on the case', async () => {
    const id = await newCase();
    const refused = [
        [U.police, consentBody()],
        [U.dcf, consentBody({ agency_id: A.hospital })],
        [U.legalAdmin, consentBody()], // admins never record consent
        [U.legal, consentBody({ categories: ['immigration', 'identity'] })], // must own every category
        [U.hospital, consentBody({ categories: ['health', 'immigration'] })],
    ];
    for (const [client, body] of refused) {
        const res = await expectChange(id, null, null, () => consent(client, id, body));
        assertError(res, 403, 'forbidden', 'categories');
    }
    assertError(await consent(U.cac, id, consentBody()), 404, 'not_found');
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM consents WHERE case_id = ${id}`), '0');
});

test('consent validation: an expiry is required and in the future; recipient on the case and not the owner', async () => {
    const id = await newCase();
    const noExpiry = consentBody();
    delete noExpiry.expires_at;
    const bad = [
        [noExpiry, 422, 'validation', 'expires_on'],
        [consentBody({ expires_on: today(30) }), 422, 'validation', 'expires_on'], // both given
        [consentBody({ expires_at: nowIso(-60_000) }), 422, 'validation', 'expires_at'], // a minute ago
        [consentBody({ expires_at: undefined, expires_on: today(-1) }), 422, 'validation', 'expires_on'],
        [consentBody({ expires_at: 'tomorrow' }), 422, 'validation', 'expires_at'],
        [consentBody({ expires_at: '2030-02-30T00:00:00Z' }), 422, 'validation', 'expires_at'],
        [consentBody({ expires_at: undefined, expires_on: '2030-13-01' }), 422, 'validation', 'expires_on'],
        [consentBody({ agency_id: A.cac }), 422, 'validation', 'agency_id'],
        [consentBody({ agency_id: A.legal }), 422, 'validation', 'agency_id'],
        [consentBody({ agency_id: 'police' }), 400, 'bad_request', 'agency_id'],
        [consentBody({ categories: [] }), 422, 'validation', 'categories'],
        [consentBody({ categories: ['language'] }), 422, 'validation', 'categories'],
        [consentBody({ categories: 'immigration' }), 400, 'bad_request', 'categories'],
        [consentBody({ consented_by: [] }), 422, 'validation', 'consented_by'],
        [consentBody({ consented_by: [{ role: 'aunt', name: 'A' }] }), 422, 'validation', 'consented_by[0].role'],
        [consentBody({ consented_by: [PARTIES[0], { role: 'self' }] }), 422, 'validation', 'consented_by[1].name'],
        [consentBody({ consented_by: [{ role: 'self', name: 'A', ssn: '1' }] }), 422, 'validation', 'consented_by[0].ssn'],
        [consentBody({ purpose: '' }), 422, 'validation', 'purpose'],
        [consentBody({ purpose: undefined }), 422, 'validation', 'purpose'],
        [consentBody({ signed_on: '20-01-2026' }), 422, 'validation', 'signed_on'],
        [consentBody({ document_ref: 'x'.repeat(501) }), 422, 'validation', 'document_ref'],
    ];
    for (const [body, status, code, field] of bad) {
        const res = await expectChange(id, null, null, () => consent(U.legal, id, body));
        assertError(res, status, code, field);
    }
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM consents WHERE case_id = ${id}`), '0');
});

test('expires_on is the end of that day in MDT_TIME_ZONE (the first instant of the next day, exclusive)', async () => {
    const id = await newCase();
    // mid-June (EDT, UTC-4) and mid-January (EST, UTC-5) of years to come
    const y = Number(today().slice(0, 4)) + 2;
    let r = await consent(U.legal, id, consentBody({ expires_at: undefined, expires_on: `${y}-06-15` }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.expires_at, `${y}-06-16T04:00:00Z`);
    r = await consent(U.legal, id, consentBody({ expires_at: undefined, expires_on: `${y + 1}-01-15` }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.expires_at, `${y + 1}-01-16T05:00:00Z`);
    r = await consent(U.legal, id, consentBody({ expires_at: `${y + 1}-03-01T12:00:00+02:00` }));
    assert.equal(r.json.expires_at, `${y + 1}-03-01T10:00:00Z`);
    // today's end: the first instant of tomorrow in the zone
    r = await consent(U.legal, id, consentBody({ expires_at: undefined, expires_on: today() }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.expires_at, wallTime(today(1), '00:00'));
});

test('a consent whose expiry is 2 s ahead hides the category right after it passes', async () => {
    const id = await newCase();
    assert.equal((await putPii(U.legal, id, { version: 0, immigration: { status: 'asylee' } })).status, 200);
    const expiresAt = Date.now() + 2000;
    const r = await consent(U.legal, id, consentBody({ agency_id: A.dcf, expires_at: new Date(expiresAt).toISOString() }));
    assert.equal(r.status, 201, r.text);
    assert.equal((await pii(U.dcf, id)).json.immigration?.status, 'asylee');
    const before = await changeRows(id);
    let goneAt = null;
    while (Date.now() < expiresAt + 4000) {
        const g = await pii(U.dcf, id);
        assert.equal(g.status, 200);
        if (g.json.immigration === undefined) {
            goneAt = Date.now();
            break;
        }
        await sleep(50);
    }
    assert.ok(goneAt, 'immigration still visible 4 s after the consent expired');
    assert.ok(goneAt >= expiresAt - 1000, 'hidden before its expiry');
    assert.deepEqual(await changeRows(id), before, 'expiry needs no job and writes nothing');
    const list = await consents(U.legal, id);
    assert.equal(list.json.items.find((c) => c.id === r.json.id).active, false);
});

test('revocation hides the category at once; revoking twice is 409; only the owner revokes', async () => {
    const id = await newCase();
    assert.equal((await putPii(U.legal, id, { version: 0, immigration: { status: 'asylee' } })).status, 200);
    const c = (await consent(U.legal, id, consentBody())).json;
    assert.equal((await pii(U.police, id)).json.immigration.status, 'asylee');

    for (const client of [U.police, U.policeSup, U.dcf, U.legalAdmin]) {
        const res = await expectChange(id, null, null, () => client.del(`/api/v1/consents/${c.id}`));
        assertError(res, 403, 'forbidden');
    }
    assertError(await U.cac.del(`/api/v1/consents/${c.id}`), 404, 'not_found');
    assertError(await U.legal.del('/api/v1/consents/987654321'), 404, 'not_found');

    const res = await expectChange(id, 'consent.changed', 'consent.revoke', () => U.legal.del(`/api/v1/consents/${c.id}`));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, c.id);
    assert.equal(res.json.active, false);
    assert.match(res.json.revoked_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal((await pii(U.police, id)).json.immigration, undefined);

    const again = await expectChange(id, null, null, () => U.legal.del(`/api/v1/consents/${c.id}`));
    assertError(again, 409, 'conflict');
    assert.equal(again.json.error.current.revoked_at, res.json.revoked_at);
    // the record is kept
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM consents WHERE id = ${c.id} AND revoked_at IS NOT NULL`), '1');
});

test('consenting parties are named only to callers who see identity; everyone on the case sees the consent', async () => {
    const id = await newCase();
    const c = (await consent(U.legal, id, consentBody({ agency_id: A.dcf, document_ref: 'DCF-REL-114', note: 'by phone' }))).json;
    // legal aid does not own identity: it recorded the consent but gets roles only
    assert.deepEqual(c.consented_by, [{ role: 'guardian' }, { role: 'minor' }]);
    assert.equal(c.document_ref, null);
    for (const who of ['dcf', 'hospital', 'legal']) {
        const r = await consents(U[who], id);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.items.length, 1);
        assert.deepEqual(r.json.items[0].consented_by, [{ role: 'guardian' }, { role: 'minor' }], who);
        assert.ok(!r.text.includes('Ana Guardian') && !r.text.includes('DCF-REL-114'), r.text);
    }
    let r = await consents(U.police, id); // owns identity
    assert.deepEqual(r.json.items[0].consented_by, PARTIES);
    assert.equal(r.json.items[0].document_ref, 'DCF-REL-114');
    assert.equal(r.json.items[0].note, 'by phone');
    assertError(await consents(U.cac, id), 404, 'not_found');

    // identity shared with the hospital by consent: now it sees the names too
    assert.equal((await consent(U.police, id, consentBody({ categories: ['identity'], agency_id: A.hospital }))).status, 201);
    r = await consents(U.hospital, id);
    assert.deepEqual(r.json.items[0].consented_by, PARTIES);
});
