// records.test.mjs - a case's tracking data and services log against the
// real binary and a real PostgreSQL: tracking defaults before anything is
// saved, PUT replacing the whole object with every enum validated (422
// naming the field path, such as "child.gender"), optimistic concurrency
// with `current`, services with entry-style visibility (mdt, agencies,
// agency) in lists and their pages, one events row and one audit row per
// change and none for a refused one, and SQL-injection-shaped text stored
// literally.
//
// One database and one server; a police-led case with DCF, the legal-aid
// agency and a hospital on it, and a CAC that is not.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, createDatabase, psql, sleep, startServer } from './lib/harness.mjs';
import { addAgency, addUser, DEFAULT_PASSWORD } from './lib/fixtures.mjs';
import { today } from './lib/clock.mjs';

let dbUrl;
let server;
const A = {};
const U = {};

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: { MDT_MFA_REQUIRED_KINDS: 'other', MDT_LOGIN_RATE: 100000 } });
    const kinds = { police: 'law_enforcement', dcf: 'child_welfare', legal: 'immigration_legal', hospital: 'medical', cac: 'cac' };
    for (const [name, kind] of Object.entries(kinds)) {
        A[name] = await addAgency(dbUrl, { name: `${name} ${process.pid}`, kind });
    }
    const users = {
        policeSup: ['police', 'supervisor'],
        police: ['police', 'member'],
        dcf: ['dcf', 'member'],
        legal: ['legal', 'member'],
        hospital: ['hospital', 'member'],
        cac: ['cac', 'supervisor'],
    };
    for (const [name, [agency, role]] of Object.entries(users)) {
        const username = `r_${name}_${process.pid}`;
        await addUser(dbUrl, { username, agencyId: A[agency], role });
        const client = api(server.url);
        const res = await client.post('/api/v1/login', { username, password: DEFAULT_PASSWORD });
        assert.equal(res.status, 200, res.text);
        U[name] = client;
    }
});

after(async () => {
    if (server) await server.stop();
});

let caseCounter = 0;

// newCase() - POST /api/v1/cases when the server has it, else psql.
async function newCase() {
    const number = `R-${process.pid}-${++caseCounter}`;
    const agencies = [A.police, A.dcf, A.legal, A.hospital];
    const res = await U.policeSup.post('/api/v1/cases', {
        case_number: number,
        alias: `K.L. ${caseCounter}`,
        referral_date: today(-60),
        agencies,
    });
    assert.equal(res.status, 201, `POST /cases: ${res.status} ${res.text}`);
    return res.json.id;
}

function assertError(res, status, code, field) {
    assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
    assert.equal(res.json?.error?.code, code, res.text);
    if (field !== undefined) assert.equal(res.json.error.field, field, res.text);
}

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

// fn must write exactly one events row of kind and one audit row of
// action (none of either when kind is null).
async function expectChange(caseId, kind, action, fn) {
    const before = await changeRows(caseId);
    const res = await fn();
    const n = kind ? 1 : 0;
    assert.deepEqual(await changeRows(caseId), { events: before.events + n, audit: before.audit + n }, res.text);
    if (kind) {
        assert.equal(
            await psql(dbUrl, `SELECT kind FROM events WHERE case_id = ${caseId} ORDER BY seq DESC LIMIT 1`),
            kind,
        );
        assert.equal(
            await psql(
                dbUrl,
                `SELECT action FROM audit WHERE case_id = ${caseId} AND action NOT LIKE '%.read'
                   AND action NOT LIKE '%.list' AND outcome <> 'denied' ORDER BY id DESC LIMIT 1`,
            ),
            action,
        );
    }
    return res;
}

const DEFAULTS = {
    version: 0,
    abuse_types: [],
    trafficking_type: null,
    child: { gender: null, age_group: null, race_ethnicity: [], language: null },
    alleged_offenders: [],
    outcomes: {
        charges_filed: null,
        criminal_disposition: null,
        child_protection_outcome: null,
        medical_referral: null,
        mental_health_referral: null,
    },
};

const FULL = {
    abuse_types: ['sex_trafficking', 'exploitation_online', 'sex_trafficking'],
    trafficking_type: 'sex',
    child: { gender: 'female', age_group: '13-17', race_ethnicity: ['hispanic_latino'], language: 'Spanish' },
    alleged_offenders: [{ relationship: 'intimate_partner', gender: 'male', age_range: '25-29' }],
    outcomes: {
        charges_filed: true,
        criminal_disposition: 'pending',
        child_protection_outcome: 'in_home_services',
        medical_referral: 'completed',
        mental_health_referral: 'engaged',
    },
};

// ---- tracking ---------------------------------------------------------------------------

test('tracking: defaults before anything is saved; PUT replaces it; any case member reads and writes', async () => {
    const id = await newCase();
    let r = await U.hospital.get(`/api/v1/cases/${id}/tracking`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, DEFAULTS);

    r = await expectChange(id, 'tracking.updated', 'tracking.update', () =>
        U.dcf.put(`/api/v1/cases/${id}/tracking`, { version: 0, ...FULL }),
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
        ...FULL,
        version: 1,
        abuse_types: ['sex_trafficking', 'exploitation_online'], // duplicates dropped
    });
    for (const who of ['police', 'legal', 'hospital']) {
        const g = await U[who].get(`/api/v1/cases/${id}/tracking`);
        assert.deepEqual(g.json, r.json, who);
    }
    // a PUT replaces the whole object: what it leaves out goes back to its default
    r = await U.police.put(`/api/v1/cases/${id}/tracking`, { version: 1, trafficking_type: 'labor' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ...DEFAULTS, version: 2, trafficking_type: 'labor' });
    assertError(await U.cac.get(`/api/v1/cases/${id}/tracking`), 404, 'not_found');
    assertError(await U.cac.put(`/api/v1/cases/${id}/tracking`, { version: 2 }), 404, 'not_found');
    const detail = await psql(dbUrl, `SELECT detail::text FROM audit WHERE case_id = ${id} AND action = 'tracking.update' ORDER BY id LIMIT 1`);
    assert.deepEqual(JSON.parse(detail), { version: 1 });
});

test('tracking: stale version → 409 with current; nothing written', async () => {
    const id = await newCase();
    assert.equal((await U.police.put(`/api/v1/cases/${id}/tracking`, { version: 0, trafficking_type: 'both' })).status, 200);
    for (const version of [0, 5]) {
        const r = await expectChange(id, null, null, () =>
            U.dcf.put(`/api/v1/cases/${id}/tracking`, { version, trafficking_type: 'none' }),
        );
        assertError(r, 409, 'conflict');
        assert.deepEqual(r.json.error.current, { ...DEFAULTS, version: 1, trafficking_type: 'both' });
    }
    // a first save based on a version that never existed
    const other = await newCase();
    const r = await U.dcf.put(`/api/v1/cases/${other}/tracking`, { version: 3 });
    assertError(r, 409, 'conflict');
    assert.deepEqual(r.json.error.current, DEFAULTS);
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM tracking WHERE case_id = ${other}`), '0');
});

test('tracking: every enum is validated, 422 naming the field path; wrong types 400; nothing written', async () => {
    const id = await newCase();
    const bad = [
        [{ child: { gender: 'girl' } }, 422, 'validation', 'child.gender'],
        [{ child: { age_group: '12-17' } }, 422, 'validation', 'child.age_group'],
        [{ child: { race_ethnicity: ['asian', 'martian'] } }, 422, 'validation', 'child.race_ethnicity[1]'],
        [{ child: { language: 'x'.repeat(65) } }, 422, 'validation', 'child.language'],
        [{ child: { gender: 3 } }, 400, 'bad_request', 'child.gender'],
        [{ child: { name: 'Maria' } }, 422, 'validation', 'child.name'],
        [{ child: 'female' }, 400, 'bad_request', 'child'],
        [{ abuse_types: ['trafficking'] }, 422, 'validation', 'abuse_types[0]'],
        [{ abuse_types: 'neglect' }, 400, 'bad_request', 'abuse_types'],
        [{ trafficking_type: 'Sex' }, 422, 'validation', 'trafficking_type'],
        [{ alleged_offenders: [{ relationship: 'uncle' }] }, 422, 'validation', 'alleged_offenders[0].relationship'],
        [{ alleged_offenders: [{}, { age_range: '30' }] }, 422, 'validation', 'alleged_offenders[1].age_range'],
        [{ alleged_offenders: [{ gender: 'male', name: 'X' }] }, 422, 'validation', 'alleged_offenders[0].name'],
        [{ alleged_offenders: ['x'] }, 400, 'bad_request', 'alleged_offenders[0]'],
        [{ alleged_offenders: Array(21).fill({}) }, 422, 'validation', 'alleged_offenders'],
        [{ outcomes: { medical_referral: 'done' } }, 422, 'validation', 'outcomes.medical_referral'],
        [{ outcomes: { mental_health_referral: 'maybe' } }, 422, 'validation', 'outcomes.mental_health_referral'],
        [{ outcomes: { criminal_disposition: 'guilty' } }, 422, 'validation', 'outcomes.criminal_disposition'],
        [{ outcomes: { child_protection_outcome: 'yes' } }, 422, 'validation', 'outcomes.child_protection_outcome'],
        [{ outcomes: { charges_filed: 'yes' } }, 400, 'bad_request', 'outcomes.charges_filed'],
        [{ notes: 'free text' }, 422, 'validation', 'notes'],
    ];
    for (const [body, status, code, field] of bad) {
        const r = await expectChange(id, null, null, () => U.police.put(`/api/v1/cases/${id}/tracking`, { version: 0, ...body }));
        assertError(r, status, code, field);
    }
    assertError(await U.police.put(`/api/v1/cases/${id}/tracking`, {}), 422, 'validation', 'version');
    assert.deepEqual((await U.police.get(`/api/v1/cases/${id}/tracking`)).json, DEFAULTS);
});

// ---- services -----------------------------------------------------------------------------

const svc = (c, id, body) => c.post(`/api/v1/cases/${id}/services`, body);
const list = async (c, id, q = '') => {
    const r = await c.get(`/api/v1/cases/${id}/services${q}`);
    assert.equal(r.status, 200, r.text);
    return r.json;
};

test('services: created with entry-style visibility; lists show only what the caller may see', async () => {
    const id = await newCase();
    let r = await expectChange(id, 'service.created', 'service.create', () =>
        svc(U.legal, id, { date: today(-3), category: 'immigration_legal', service: 'T visa intake', minutes: 90 }),
    );
    assert.equal(r.status, 201, r.text);
    const mdt = r.json;
    assert.equal(mdt.case_id, id);
    assert.equal(mdt.agency_id, A.legal);
    assert.equal(mdt.date, today(-3));
    assert.equal(mdt.category, 'immigration_legal');
    assert.equal(mdt.service, 'T visa intake');
    assert.equal(mdt.minutes, 90);
    assert.equal(mdt.note, null);
    assert.equal(mdt.visibility, 'mdt');
    assert.deepEqual(mdt.visible_to, []);
    assert.equal(typeof mdt.created_by, 'number');

    const own = (await svc(U.legal, id, { date: today(-2), category: 'personal_advocacy', service: 'court prep', visibility: 'agency', note: 'private' })).json;
    const shared = (
        await svc(U.hospital, id, {
            date: today(-4),
            category: 'medical',
            service: 'exam',
            visibility: 'agencies',
            visible_to: [A.dcf],
        })
    ).json;
    assert.deepEqual(shared.visible_to, [A.dcf]);

    const ids = async (c) => (await list(c, id)).items.map((s) => s.id);
    assert.deepEqual(await ids(U.legal), [mdt.id, own.id]);
    assert.deepEqual(await ids(U.hospital), [shared.id, mdt.id]); // oldest date first
    assert.deepEqual(await ids(U.dcf), [shared.id, mdt.id]);
    assert.deepEqual(await ids(U.police), [mdt.id]);
    assert.ok(!JSON.stringify(await list(U.police, id)).includes('private'));
    assertError(await U.cac.get(`/api/v1/cases/${id}/services`), 404, 'not_found');
    assertError(await svc(U.cac, id, { date: today(-3), category: 'medical', service: 'x' }), 404, 'not_found');
    const detail = await psql(dbUrl, `SELECT detail::text FROM audit WHERE object_type = 'service' AND object_id = ${own.id}`);
    assert.deepEqual(JSON.parse(detail), { category: 'personal_advocacy', visibility: 'agency' });
});

test('services: pages with limit and cursor count only visible items', async () => {
    const id = await newCase();
    for (let d = 1; d <= 7; d++) {
        const vis = d % 2 ? { visibility: 'mdt' } : { visibility: 'agency' };
        const r = await svc(U.dcf, id, { date: today(d - 10), category: 'emotional_support_safety', service: `s${d}`, ...vis });
        assert.equal(r.status, 201, r.text);
    }
    // police sees s1, s3, s5, s7
    let page = await list(U.police, id, '?limit=2');
    assert.deepEqual(page.items.map((s) => s.service), ['s1', 's3']);
    assert.equal(typeof page.next, 'string');
    page = await list(U.police, id, `?limit=2&cursor=${encodeURIComponent(page.next)}`);
    assert.deepEqual(page.items.map((s) => s.service), ['s5', 's7']);
    assert.equal(page.next, null);
    // dcf sees all seven
    const seen = [];
    let next = '';
    do {
        page = await list(U.dcf, id, `?limit=3${next ? `&cursor=${encodeURIComponent(next)}` : ''}`);
        seen.push(...page.items.map((s) => s.service));
        next = page.next;
    } while (next);
    assert.deepEqual(seen, ['s1', 's2', 's3', 's4', 's5', 's6', 's7']);
    assertError(await U.dcf.get(`/api/v1/cases/${id}/services?limit=0`), 422, 'validation', 'limit');
    assertError(await U.dcf.get(`/api/v1/cases/${id}/services?cursor=garbage`), 400, 'bad_request', 'cursor');
    assert.equal((await list(U.dcf, id, '?limit=100000')).items.length, 7);
});

test('services: validation, 422 naming the field; nothing written', async () => {
    const id = await newCase();
    const ok = { date: today(-3), category: 'medical', service: 'exam' };
    const bad = [
        [{ ...ok, date: '2026-02-30' }, 422, 'validation', 'date'],
        [{ ...ok, date: undefined }, 422, 'validation', 'date'],
        [{ ...ok, category: 'therapy' }, 422, 'validation', 'category'],
        [{ ...ok, service: '' }, 422, 'validation', 'service'],
        [{ ...ok, service: 'x'.repeat(201) }, 422, 'validation', 'service'],
        [{ ...ok, minutes: -1 }, 422, 'validation', 'minutes'],
        [{ ...ok, minutes: '30' }, 400, 'bad_request', 'minutes'],
        [{ ...ok, visibility: 'public' }, 422, 'validation', 'visibility'],
        [{ ...ok, visibility: 'agencies', visible_to: [A.cac] }, 422, 'validation', 'visible_to'],
        [{ ...ok, visibility: 'mdt', visible_to: [A.dcf] }, 422, 'validation', 'visible_to'],
        [{ ...ok, visibility: 'agencies', visible_to: ['dcf'] }, 400, 'bad_request', 'visible_to'],
    ];
    for (const [body, status, code, field] of bad) {
        const r = await expectChange(id, null, null, () => svc(U.police, id, body));
        assertError(r, status, code, field);
    }
    assert.equal(await psql(dbUrl, `SELECT count(*) FROM services WHERE case_id = ${id}`), '0');
});

test('services and tracking: SQL-injection-shaped strings are stored literally', async () => {
    const id = await newCase();
    const evil = "'); DELETE FROM services; --";
    const r = await svc(U.police, id, { date: today(-3), category: 'information_referral', service: evil, note: `${evil} \\x00'` });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.service, evil);
    assert.equal(r.json.note, `${evil} \\x00'`);
    const t = await U.police.put(`/api/v1/cases/${id}/tracking`, { version: 0, child: { language: "Mam'; --" } });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.child.language, "Mam'; --");
    assert.equal((await list(U.police, id)).items[0].service, evil);
    await sleep(10);
});
