// reports.test.mjs - the NCA and TIMS reports against the real binary and
// PostgreSQL. The test creates 18 cases with tracking data, services,
// action items (through the API) and meeting outcomes (straight into the
// tables: the meetings module is tested on its own), keeps its own model
// of every row it made, and computes each figure from that model - which
// cases the agency is on, which services and action items the caller may
// see, the range in whole months - and suppresses it with its own copy of
// the documented rule. The server's reports must equal that, in JSON and
// in CSV, at the default threshold (5) and at MDT_SUPPRESS_BELOW=2 (a
// second server on the same database: nearly raw figures). Also: small
// cells and a complementary suppression where the model predicts one,
// only supervisors (others 403), range validation. The immigration facts
// (foreign_born, unaccompanied_minor) are counted over the cases whose
// immigration details the caller's agency may see now (owner, or a live
// consent): the model follows consents, their expiry and revocation; a
// tripwire view on the pii tables proves that reports read the immigration
// category only, of those cases only, and corrupted sealed values prove
// that no other protected detail is opened.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SOURCE_DIR, createDatabase, flushAudit, psql, startServer } from './lib/harness.mjs';
import { BOARD_ENV, assertError, boardWorld, login, todayIn } from './lib/board_fixtures.mjs';

const TZ = 'America/New_York';

// ---- dates (YYYY-MM-DD strings, calendar arithmetic in UTC) -----------------------

const toDate = (s) => new Date(`${s}T00:00:00Z`);
const fmt = (d) => d.toISOString().slice(0, 10);
const addDays = (s, n) => fmt(new Date(toDate(s).getTime() + n * 86400000));
const month = (s) => s.slice(0, 7);
const daysBetween = (a, b) => Math.round((toDate(b) - toDate(a)) / 86400000);
function monthEnd(m) {
    const [y, mo] = m.split('-').map(Number);
    return fmt(new Date(Date.UTC(y, mo, 0)));
}

const TODAY = todayIn(TZ);
const FROM = month(addDays(TODAY, -150));
const TO = month(addDays(TODAY, 40));
const F = `${FROM}-01`; // the range's first day
const L = monthEnd(TO); // its last day
const inRange = (d) => d >= F && d <= L;

// ---- the model ----------------------------------------------------------------------

let dbUrl, server, server2, w, A, as;
const cases = []; // {id, referral, municipality, agencies, tracking, immigrationOwner, consents}
const immigration = new Map(); // case id -> the immigration details written
const services = []; // {caseId, date, category, visibility, agency}
const actions = []; // {caseId, due, status, visibility, agency, retracted}
const outcomes = []; // {caseId, date}

const rep = (arr, pairs) => pairs.flatMap(([v, n]) => Array(n).fill(v)).forEach((v) => arr.push(v));
function column(pairs) {
    const out = [];
    rep(out, pairs);
    return out;
}

// 14 tracked cases referred in the range; columns are rotated so the
// attributes do not line up.
const GENDER = column([['female', 9], ['male', 3], ['unknown', 2]]);
const AGE = column([['13-17', 8], ['6-12', 5], ['18+', 1]]);
const TT = column([['sex', 6], ['labor', 5], ['both', 2], ['none', 1]]);
const MUNI = column([['Stamford', 8], ['Norwalk', 4], ['Bridgeport', 2]]);
const CHARGES = column([[true, 6], [false, 8]]);
const DISP = column([['pending', 7], ['plea', 4], ['convicted', 3]]);
const CP = column([['pending', 5], ['in_home_services', 6], ['out_of_home_placement', 3]]);
const MED = column([['completed', 10], ['referred', 4]]);
const MH = column([['engaged', 7], ['referred', 5], ['declined', 2]]);
const ABUSE = [['sex_trafficking', 'exploitation_online'], ['labor_trafficking'], ['sex_trafficking', 'sexual_abuse']];
const rot = (arr, i, k) => arr[(i * k) % arr.length];

function trackingFor(i) {
    return {
        abuse_types: ABUSE[i % 3],
        trafficking_type: rot(TT, i, 3),
        child: { gender: GENDER[i], age_group: rot(AGE, i, 5) },
        outcomes: {
            charges_filed: rot(CHARGES, i, 3),
            criminal_disposition: rot(DISP, i, 5),
            child_protection_outcome: rot(CP, i, 3),
            medical_referral: rot(MED, i, 5),
            mental_health_referral: rot(MH, i, 3),
        },
    };
}

async function newCase(lead, { referral, municipality = null, agencies, tracking = null }) {
    const client = as[lead];
    const r = await client.post('/api/v1/cases', {
        case_number: `R-${cases.length + 1}-${process.pid}`,
        alias: `C${cases.length + 1}`,
        referral_date: referral,
        municipality,
        agencies,
    });
    assert.equal(r.status, 201, r.text);
    const c = {
        id: r.json.id,
        referral,
        municipality,
        agencies: r.json.agencies,
        tracking,
        immigrationOwner: r.json.pii_owners.immigration,
        consents: [], // {id, agency, expiresMs, revoked}
    };
    if (tracking) {
        const t = await client.put(`/api/v1/cases/${c.id}/tracking`, { version: 0, ...tracking });
        assert.equal(t.status, 200, t.text);
    }
    cases.push(c);
    return c;
}

async function addService(who, c, { date, category, visibility = 'mdt' }) {
    const r = await as[who].post(`/api/v1/cases/${c.id}/services`, { date, category, service: 'svc', visibility });
    assert.equal(r.status, 201, r.text);
    services.push({ caseId: c.id, date, category, visibility, agency: w.users[who].agencyId });
}

async function addAction(who, c, { due, status = 'open', visibility = 'mdt', retract = false }) {
    const body = { title: `a${actions.length}`, assignee_agency_id: w.users[who].agencyId, visibility };
    if (due) body.due_date = due;
    let r = await as[who].post(`/api/v1/cases/${c.id}/actions`, body);
    assert.equal(r.status, 201, r.text);
    if (status !== 'open') {
        r = await as[who].patch(`/api/v1/actions/${r.json.id}`, { version: 1, status });
        assert.equal(r.status, 200, r.text);
    }
    if (retract) assert.equal((await as[who].del(`/api/v1/actions/${r.json.id}`)).status, 200);
    actions.push({ caseId: c.id, due, status, visibility, agency: w.users[who].agencyId, retracted: retract });
}

// A meeting on `date` (15:00 UTC: the same day in New York) with outcomes
// for some cases and an agenda case without one.
async function meeting(date, withOutcome, without = []) {
    const u = w.users.cacSupervisor;
    const id = Number(
        await psql(
            dbUrl,
            `INSERT INTO meetings (title, scheduled_at, facilitator_id, agency_id, created_by)
             VALUES ('review', '${date}T15:00:00Z', ${u.userId}, ${u.agencyId}, ${u.userId}) RETURNING id`,
        ),
    );
    let pos = 0;
    for (const c of [...withOutcome, ...without]) {
        const has = withOutcome.includes(c);
        await psql(
            dbUrl,
            `INSERT INTO meeting_cases (meeting_id, case_id, position, outcome_md, outcome_html)
             VALUES (${id}, ${c.id}, ${++pos}, ${has ? "'discussed'" : 'NULL'}, ${has ? "'<p>discussed</p>'" : 'NULL'})`,
        );
        if (has) outcomes.push({ caseId: c.id, date });
    }
}

before(async () => {
    dbUrl = await createDatabase();
    server = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ } });
    server2 = await startServer({ dbUrl, env: { ...BOARD_ENV, MDT_TIME_ZONE: TZ, MDT_SUPPRESS_BELOW: 2 } });
    w = await boardWorld(dbUrl);
    A = w.agencies;
    as = {};
    for (const key of Object.keys(w.users)) as[key] = await login(server.url, w.users[key]);

    const on = [A.cac, A.police, A.dcf];
    const tracked = [];
    for (let i = 0; i < 14; i++) {
        const referral = addDays(F, i < 6 ? 2 * i : 30 + 6 * (i - 6));
        tracked.push(await newCase('cacSupervisor', { referral, municipality: MUNI[(i * 3) % 14], agencies: on, tracking: trackingFor(i) }));
    }
    const untracked = await newCase('cacSupervisor', { referral: addDays(F, 3), municipality: '  ', agencies: on });
    const older = await newCase('cacSupervisor', {
        referral: addDays(F, -10),
        municipality: 'Stamford',
        agencies: on,
        tracking: trackingFor(0),
    });
    // the police's case without the CAC: never in the CAC's reports
    const policeCase = await newCase('policeSupervisor', {
        referral: addDays(F, 5),
        municipality: 'Darien',
        agencies: [A.police, A.dcf],
        tracking: trackingFor(1),
    });

    const cats = ['personal_advocacy', 'medical', 'mental_health', 'immigration_legal', 'shelter_housing'];
    for (let i = 0; i < 10; i++) {
        await addService('cacMember', tracked[i], { date: addDays(F, 20 + i), category: cats[i % 5] });
        if (i % 2 === 0) await addService('cacMember', tracked[i], { date: addDays(F, 40 + i), category: 'personal_advocacy' });
    }
    await addService('cacMember', tracked[12], { date: addDays(F, 25), category: 'medical' });
    await addService('policeMember', tracked[0], { date: addDays(F, 22), category: 'criminal_civil_justice', visibility: 'agency' });
    await addService('policeMember', tracked[1], { date: addDays(F, 23), category: 'criminal_civil_justice' });
    await addService('dcfMember', tracked[11], { date: addDays(F, -3), category: 'shelter_housing' }); // before the range
    await addService('cacMember', untracked, { date: addDays(F, 30), category: 'emotional_support_safety' });
    await addService('cacMember', older, { date: addDays(F, 31), category: 'information_referral' });
    await addService('policeMember', policeCase, { date: addDays(F, 32), category: 'medical' });

    const c0 = tracked[0];
    for (let i = 0; i < 6; i++) await addAction('cacMember', c0, { due: addDays(TODAY, 3 + i) });
    for (let i = 0; i < 2; i++) await addAction('cacMember', c0, { due: addDays(TODAY, 10 + i), status: 'done' });
    for (let i = 0; i < 3; i++) await addAction('cacMember', tracked[1], { due: addDays(TODAY, -2 - i), status: 'done' });
    await addAction('cacMember', c0, { due: addDays(TODAY, 4), status: 'cancelled' });
    await addAction('policeMember', c0, { due: addDays(TODAY, 5), visibility: 'agency' });
    await addAction('cacMember', c0, { due: addDays(TODAY, 6), retract: true });
    await addAction('cacMember', c0, { due: addDays(F, -5) });
    await addAction('cacMember', c0, {});

    await meeting(addDays(F, 20), [...tracked.slice(0, 6), policeCase]);
    await meeting(addDays(F, 50), [...tracked.slice(0, 3), untracked], [tracked[9]]);
    await meeting(addDays(F, -20), [older]);
    // another reporting range's reviews of an in-range case do not count as held in this one
    await meeting(addDays(L, 3), [tracked[7]]);
});

after(async () => {
    if (server) await server.stop();
    if (server2) await server2.stop();
});

// ---- the expected reports ------------------------------------------------------------

// The documented suppression rule, written again here.
function suppress(counts, below, complement) {
    const hide = counts.map((c) => c >= 1 && c < below);
    const recoverable = () => {
        const idx = hide.flatMap((h, i) => (h ? [i] : []));
        const sum = idx.reduce((s, i) => s + counts[i], 0);
        const small = idx.every((i) => counts[i] >= 1 && counts[i] < below);
        return idx.length === 1 || (idx.length > 1 && small && (sum === idx.length || sum === idx.length * (below - 1)));
    };
    while (complement && hide.some(Boolean) && recoverable()) {
        let best = -1;
        for (let i = 0; i < counts.length; i++) {
            if (hide[i]) continue;
            const nz = counts[i] !== 0;
            if (best < 0 || (nz && counts[best] === 0) || (nz === (counts[best] !== 0) && counts[i] < counts[best])) best = i;
        }
        if (best < 0) break;
        hide[best] = true;
    }
    return hide;
}

const K = {
    abuse: ['sex_trafficking', 'labor_trafficking', 'sexual_abuse', 'physical_abuse', 'neglect', 'exploitation_online', 'other'],
    tt: ['sex', 'labor', 'both', 'unknown', 'none'],
    gender: ['female', 'male', 'nonbinary', 'unknown'],
    age: ['0-5', '6-12', '13-17', '18+'],
    disp: ['pending', 'no_charges', 'plea', 'convicted', 'acquitted', 'dismissed', 'unknown'],
    cp: ['pending', 'in_home_services', 'out_of_home_placement', 'case_closed', 'not_investigated', 'unknown'],
    ref: ['not_needed', 'referred', 'engaged', 'completed', 'declined'],
    cat: [
        'information_referral',
        'personal_advocacy',
        'emotional_support_safety',
        'shelter_housing',
        'criminal_civil_justice',
        'immigration_legal',
        'medical',
        'mental_health',
    ],
};

// A group from the values (one per counted thing; null = not recorded).
// keys: the fixed items (null: items from the data, sorted).
function group(values, keys, { total = true, notRecorded = true, below }) {
    const counts = new Map((keys ?? []).map((k) => [k, 0]));
    const dynamic = [];
    for (const v of values) {
        if (v === null && !notRecorded) continue;
        const k = v === null ? 'not_recorded' : String(v);
        if (!counts.has(k)) {
            if (k !== 'not_recorded') dynamic.push(k);
            counts.set(k, 0);
        }
        counts.set(k, counts.get(k) + 1);
    }
    const order = [...(keys ?? []), ...dynamic.sort()];
    if (notRecorded) order.push('not_recorded');
    const list = order.map((k) => counts.get(k) ?? 0);
    const sum = list.reduce((a, b) => a + b, 0);
    const totalHidden = sum >= 1 && sum < below;
    const hide = suppress(list, below, total && !totalHidden);
    const out = { counts: Object.fromEntries(order.map((k, i) => [k, hide[i] ? `<${below}` : list[i]])) };
    if (total) out.total = totalHidden ? `<${below}` : sum;
    return out;
}

const visibleTo = (item, agency) => item.visibility === 'mdt' || item.agency === agency;

// May agency see c's immigration details now: owner, or a consent neither
// revoked nor expired.
const immigrationSeen = (c, agency) =>
    c.immigrationOwner === agency || c.consents.some((k) => k.agency === agency && !k.revoked && k.expiresMs > Date.now());

// The two immigration groups and their basis over a report's population.
function immigrationFigures(population, agency, g, below) {
    const seen = population.filter((c) => immigrationSeen(c, agency));
    const flag = (c, f) => (typeof immigration.get(c.id)?.[f] === 'boolean' ? immigration.get(c.id)[f] : null);
    return {
        groups: {
            foreign_born: g(seen.map((c) => flag(c, 'foreign_born')), ['true', 'false']),
            unaccompanied_minor: g(seen.map((c) => flag(c, 'unaccompanied_minor')), ['true', 'false']),
        },
        basis: seen.length >= 1 && seen.length < below ? `<${below}` : seen.length,
        seen,
    };
}

function expectedNca(agency, below) {
    const mine = cases.filter((c) => c.agencies.includes(agency));
    const mineIds = new Set(mine.map((c) => c.id));
    const fresh = mine.filter((c) => inRange(c.referral));
    const t = (c, f) => (c.tracking ? f(c.tracking) ?? null : null);
    const g = (values, keys, opts = {}) => group(values, keys, { below, ...opts });
    const plain = (obj) => ({
        counts: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, v >= 1 && v < below ? `<${below}` : v])),
    });
    const reviews = outcomes.filter((o) => mineIds.has(o.caseId));
    const held = reviews.filter((o) => inRange(o.date));
    const perCase = fresh.map((c) => {
        const k = reviews.filter((o) => o.caseId === c.id).length;
        return k >= 3 ? '3+' : String(k);
    });
    const due = actions.filter((a) => mineIds.has(a.caseId) && !a.retracted && a.due && inRange(a.due) && visibleTo(a, agency));
    const state = (a) =>
        a.status === 'done' ? (TODAY <= a.due ? 'completed_on_time' : 'completed_late') : a.status === 'cancelled' ? 'cancelled' : 'not_completed';
    const svc = services.filter((s) => mineIds.has(s.caseId) && inRange(s.date) && visibleTo(s, agency));
    const muni = (c) => (c.municipality && c.municipality.trim() ? c.municipality.trim() : null);
    const firsts = fresh
        .map((c) => reviews.filter((o) => o.caseId === c.id).map((o) => daysBetween(c.referral, o.date)))
        .filter((d) => d.length)
        .map((d) => Math.min(...d))
        .sort((a, b) => a - b);
    const mid = firsts.length / 2;
    const median = firsts.length % 2 ? firsts[Math.floor(mid)] : (firsts[mid - 1] + firsts[mid]) / 2;
    const imm = immigrationFigures(fresh, agency, g, below);
    return {
        basis: imm.basis,
        seen: imm.seen,
        groups: {
            ...imm.groups,
            cases: plain({ new: fresh.length, total: mine.filter((c) => c.referral <= L).length }),
            abuse_type: g(
                fresh.flatMap((c) => (c.tracking?.abuse_types?.length ? c.tracking.abuse_types : [null])),
                K.abuse,
                { total: false },
            ),
            trafficking_type: g(fresh.map((c) => t(c, (x) => x.trafficking_type)), K.tt),
            child_gender: g(fresh.map((c) => t(c, (x) => x.child.gender)), K.gender),
            age_group: g(fresh.map((c) => t(c, (x) => x.child.age_group)), K.age),
            municipality: g(fresh.map(muni), null),
            reviews: plain({ held_in_range: held.length, cases_reviewed_in_range: new Set(held.map((o) => o.caseId)).size }),
            reviews_per_case: g(perCase, ['0', '1', '2', '3+'], { notRecorded: false }),
            action_items: g(due.map(state), ['completed_on_time', 'completed_late', 'not_completed', 'cancelled'], { notRecorded: false }),
            charges_filed: g(fresh.map((c) => t(c, (x) => x.outcomes.charges_filed)), ['true', 'false']),
            criminal_disposition: g(fresh.map((c) => t(c, (x) => x.outcomes.criminal_disposition)), K.disp),
            child_protection_outcome: g(fresh.map((c) => t(c, (x) => x.outcomes.child_protection_outcome)), K.cp),
            medical_referral: g(fresh.map((c) => t(c, (x) => x.outcomes.medical_referral)), K.ref),
            mental_health_referral: g(fresh.map((c) => t(c, (x) => x.outcomes.mental_health_referral)), K.ref),
            services_by_category: g(svc.map((s) => s.category), K.cat, { notRecorded: false }),
        },
        median: firsts.length >= below ? median : null,
    };
}

function expectedTims(agency, below) {
    const mine = cases.filter((c) => c.agencies.includes(agency));
    const svc = services.filter((s) => inRange(s.date) && visibleTo(s, agency));
    const clients = mine.filter((c) => svc.some((s) => s.caseId === c.id) && c.tracking?.trafficking_type !== 'none');
    const ids = new Set(clients.map((c) => c.id));
    const s2 = svc.filter((s) => ids.has(s.caseId));
    const g = (values, keys, opts = {}) => group(values, keys, { below, ...opts });
    const t = (c, f) => (c.tracking ? f(c.tracking) ?? null : null);
    const minor = (a) => (a === null ? null : a === '18+' ? 'adult' : 'minor');
    const imm = immigrationFigures(clients, agency, g, below);
    return {
        basis: imm.basis,
        seen: imm.seen,
        groups: {
            ...imm.groups,
            clients: g(clients.map((c) => (inRange(c.referral) ? 'new' : 'continuing')), ['new', 'continuing'], { notRecorded: false }),
            minor_adult: g(clients.map((c) => minor(t(c, (x) => x.child.age_group))), ['minor', 'adult']),
            trafficking_type: g(clients.map((c) => t(c, (x) => x.trafficking_type)), ['sex', 'labor', 'both', 'unknown']),
            child_gender: g(clients.map((c) => t(c, (x) => x.child.gender)), K.gender),
            clients_by_service_category: g(
                K.cat.flatMap((cat) => [...new Set(s2.filter((s) => s.category === cat).map((s) => s.caseId))].map(() => cat)),
                K.cat,
                { total: false, notRecorded: false },
            ),
            services_by_category: g(s2.map((s) => s.category), K.cat, { notRecorded: false }),
        },
    };
}

// Only counts and totals are compared (`of` is prose).
const figures = (doc) =>
    Object.fromEntries(
        Object.entries(doc.groups).map(([name, grp]) => [
            name,
            grp.total === undefined ? { counts: grp.counts } : { counts: grp.counts, total: grp.total },
        ]),
    );

async function report(client, kind, query = `from=${FROM}&to=${TO}`) {
    const r = await client.get(`/api/v1/reports/${kind}?${query}`);
    assert.equal(r.status, 200, r.text);
    return r;
}

// ---- tests -------------------------------------------------------------------------------

test('NCA: every figure equals the count computed from the rows the test made (threshold 5 and 2)', async () => {
    for (const [srv, below] of [
        [server, 5],
        [server2, 2],
    ]) {
        const sup = await login(srv.url, w.users.cacSupervisor);
        const doc = (await report(sup, 'nca')).json;
        const want = expectedNca(A.cac, below);
        assert.deepEqual(figures(doc), want.groups, `threshold ${below}`);
        assert.equal(doc.median_days_referral_to_first_review, want.median);
        assert.equal(doc.report, 'nca');
        assert.equal(doc.agency_id, A.cac);
        assert.equal(doc.from, FROM);
        assert.equal(doc.to, TO);
        assert.equal(doc.first_day, F);
        assert.equal(doc.last_day, L);
        assert.equal(doc.suppress_below, below);
        assert.equal(doc.suppressed, `<${below}`);
        assert.equal(doc.immigration_basis.cases_visible, want.basis);
        assert.equal(doc.not_available, undefined);
    }
    // the model itself: the figures it checks are the ones meant
    const raw = expectedNca(A.cac, 2).groups;
    assert.equal(raw.cases.counts.new, 15);
    assert.equal(raw.cases.counts.total, 16);
    assert.equal(raw.services_by_category.total, 19);
    assert.equal(raw.reviews.counts.held_in_range, 10);
    assert.equal(raw.reviews.counts.cases_reviewed_in_range, 7);
    // cancelled (1) alone would follow from the total: on time (2) is hidden with it
    assert.deepEqual(raw.action_items.counts, { completed_on_time: '<2', completed_late: 3, not_completed: 6, cancelled: '<2' });
    assert.deepEqual(raw.reviews_per_case.counts, { 0: 7, 1: 5, 2: 3, '3+': 0 });
    assert.equal(expectedNca(A.cac, 5).median, 17);
});

test('NCA: what the caller may not see is not counted; another agency gets its own cases', async () => {
    const police = (await report(as.policeSupervisor, 'nca')).json;
    const want = expectedNca(A.police, 5);
    assert.deepEqual(figures(police), want.groups);
    assert.equal(police.agency_id, A.police);
    // the police see their agency-only service and their own case; the CAC does not
    const raw = (await report(await login(server2.url, w.users.policeSupervisor), 'nca')).json;
    assert.equal(raw.groups.cases.counts.new, 16);
    assert.equal(raw.groups.services_by_category.total, 21);
    assert.equal(raw.groups.municipality.counts.Darien, '<2');
    const cac = (await report(as.cacSupervisor, 'nca')).json;
    assert.equal(cac.groups.municipality.counts.Darien, undefined);
});

test('small cells are suppressed, with a complementary cell where one alone could be recovered', async () => {
    const doc = (await report(as.cacSupervisor, 'nca')).json;
    // age group: 18+ = 1 and not recorded = 1 sum to 2 (each must be 1): 6-12 (5) is hidden too
    const fresh = cases.filter((c) => c.agencies.includes(A.cac) && inRange(c.referral));
    const age = (v) => fresh.filter((c) => (c.tracking?.child.age_group ?? null) === v).length;
    assert.deepEqual([age('18+'), age(null), age('6-12'), age('13-17')], [1, 1, 5, 8]);
    assert.equal(doc.groups.age_group.counts['18+'], '<5');
    assert.equal(doc.groups.age_group.counts.not_recorded, '<5');
    assert.equal(doc.groups.age_group.counts['6-12'], '<5');
    assert.equal(doc.groups.age_group.counts['13-17'], 8);
    assert.equal(doc.groups.age_group.total, 15);
    // no cell from 1 to 4 is ever shown, anywhere
    for (const [name, grp] of Object.entries(doc.groups)) {
        for (const [k, v] of Object.entries(grp.counts)) {
            assert.ok(!(typeof v === 'number' && v >= 1 && v < 5), `${name}.${k} = ${v}`);
        }
        if (typeof grp.total === 'number') assert.ok(!(grp.total >= 1 && grp.total < 5), `${name}.total`);
        // with a shown total, a lone hidden cell would be recoverable
        const hidden = Object.values(grp.counts).filter((v) => v === '<5').length;
        if (typeof grp.total === 'number' && grp.total > 0) assert.notEqual(hidden, 1, `${name}: one hidden cell beside a total`);
    }
});

test('TIMS: every figure equals the count computed from the rows the test made', async () => {
    for (const [srv, below] of [
        [server, 5],
        [server2, 2],
    ]) {
        const sup = await login(srv.url, w.users.cacSupervisor);
        const doc = (await report(sup, 'tims')).json;
        const want = expectedTims(A.cac, below);
        assert.deepEqual(figures(doc), want.groups, `threshold ${below}`);
        assert.equal(doc.immigration_basis.cases_visible, want.basis);
        assert.equal(doc.report, 'tims');
    }
    const raw = expectedTims(A.cac, 2).groups;
    assert.equal(raw.clients.total, 12); // 10 tracked with services (one is `none`), the untracked and the older case
    assert.equal(raw.clients.counts.continuing, '<2');
    assert.deepEqual(figures((await report(as.policeSupervisor, 'tims')).json), expectedTims(A.police, 5).groups);
});

// A small RFC 4180 reader (quoted cells, doubled quotes, CRLF rows).
function parseCsv(text) {
    const rows = [];
    const re = /("(?:[^"]|"")*"|[^,\r\n]*)(,|\r\n)/gy;
    let row = [];
    let m;
    while ((m = re.exec(text))) {
        row.push(m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]);
        if (m[2] === '\r\n') {
            rows.push(row);
            row = [];
        }
        if (re.lastIndex === text.length) break;
    }
    assert.equal(re.lastIndex, text.length, 'the whole CSV parses');
    return rows;
}

test('CSV: a header row, then the same figures as the JSON, as group,item,value rows', async () => {
    for (const kind of ['nca', 'tims']) {
        const json = (await report(as.cacSupervisor, kind)).json;
        const r = await report(as.cacSupervisor, kind, `from=${FROM}&to=${TO}&format=csv`);
        assert.match(r.headers.get('content-type'), /^text\/csv; charset=utf-8/);
        assert.equal(r.headers.get('content-disposition'), `attachment; filename="${kind}-report-${FROM}-to-${TO}.csv"`);
        assert.ok(r.text.endsWith('\r\n'));
        const rows = parseCsv(r.text);
        assert.deepEqual(rows[0], ['group', 'item', 'value']);
        const cell = new Map(rows.slice(1).map(([g, i, v]) => [`${g}/${i}`, v]));
        assert.equal(cell.get('report/report'), kind);
        assert.equal(cell.get('report/from'), FROM);
        assert.equal(cell.get('report/suppress_below'), '5');
        let n = 0;
        for (const [name, grp] of Object.entries(json.groups)) {
            for (const [k, v] of Object.entries(grp.counts)) {
                assert.equal(cell.get(`${name}/${k}`), String(v), `${name}/${k}`);
                n++;
            }
            if (grp.total !== undefined) assert.equal(cell.get(`${name}/total`), String(grp.total));
        }
        assert.ok(n > 30);
        assert.equal(cell.get('immigration_basis/cases_visible'), String(json.immigration_basis.cases_visible));
        if (kind === 'nca') assert.equal(cell.get('first_review/median_days'), '17.0');
    }
});

test('only supervisors: members, interviewers and admins get 403', async () => {
    for (const who of ['cacMember', 'cacInterviewer', 'cacAdmin', 'policeMember']) {
        for (const kind of ['nca', 'tims']) {
            assertError(await as[who].get(`/api/v1/reports/${kind}?from=${FROM}&to=${TO}`), 403, 'forbidden');
            assertError(await as[who].get(`/api/v1/reports/${kind}?from=${FROM}&to=${TO}&format=csv`), 403, 'forbidden');
        }
    }
    const anon = await fetch(`${server.url}/api/v1/reports/nca?from=${FROM}&to=${TO}`);
    assert.equal(anon.status, 401);
});

test('ranges are whole months: malformed or reversed → 422 naming the field', async () => {
    const bad = [
        ['to=2026-03', 'from'],
        ['from=2026-03', 'to'],
        ['from=2026-3&to=2026-04', 'from'],
        ['from=2026-03-01&to=2026-04', 'from'],
        ['from=2026-13&to=2027-01', 'from'],
        ['from=2026-01&to=2026-00', 'to'],
        ['from=2026-05&to=2026-04', 'to'],
        ['from=2026-01&to=2026-02&format=xlsx', 'format'],
    ];
    for (const [q, field] of bad) {
        const r = await as.cacSupervisor.get(`/api/v1/reports/nca?${q}`);
        assert.equal(r.status, 422, q);
        assertError(r, 422, 'validation', field);
    }
    // a single month, and a leap February
    const one = (await report(as.cacSupervisor, 'nca', 'from=2024-02&to=2024-02')).json;
    assert.equal(one.first_day, '2024-02-01');
    assert.equal(one.last_day, '2024-02-29');
    assert.equal(one.groups.cases.counts.new, 0);
});

test('reports read the immigration category only, only of cases the predicate lets the caller see; the dashboard reads no PII', async () => {
    const c = cases[0];
    const put = await as.cacMember.put(`/api/v1/cases/${c.id}/pii`, {
        version: 0,
        identity: { legal_name: 'Ana Example', date_of_birth: todayIn(TZ, -14 * 365) },
        immigration: { foreign_born: true, unaccompanied_minor: true, country_of_birth: 'Honduras' },
    });
    assert.equal(put.status, 200, put.text);
    immigration.set(c.id, { foreign_born: true, unaccompanied_minor: true });
    // Every row read through the views is counted; a row of another
    // category, or the immigration row of a case whose category the CAC may
    // not see now (the predicate's own inputs: owner), is counted apart.
    await psql(
        dbUrl,
        `CREATE SEQUENCE pii_reads; CREATE SEQUENCE pii_reads_denied;
         CREATE FUNCTION pii_tripwire(cat text, case_id bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS
           'BEGIN PERFORM nextval(''pii_reads'');
              IF cat <> ''immigration'' OR NOT EXISTS (SELECT 1 FROM cases k WHERE k.id = case_id
                   AND k.pii_owner_immigration = ${A.cac}) THEN PERFORM nextval(''pii_reads_denied''); END IF;
              RETURN true; END';
         ALTER TABLE pii RENAME TO pii_guarded;
         CREATE VIEW pii AS SELECT * FROM pii_guarded WHERE pii_tripwire(category, case_id);
         ALTER TABLE pii_versions RENAME TO pii_versions_guarded;
         CREATE VIEW pii_versions AS SELECT * FROM pii_versions_guarded WHERE pii_tripwire('version', case_id);
         GRANT SELECT ON pii, pii_versions TO mdtboard_app;
         GRANT USAGE ON SEQUENCE pii_reads, pii_reads_denied TO mdtboard_app;`,
    );
    const counter = async (seq) => Number(await psql(dbUrl, `SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ${seq}`));
    try {
        // the tripwire works: a PII read of identity trips both counters
        const seen = await as.cacMember.get(`/api/v1/cases/${c.id}/pii`);
        assert.equal(seen.status, 200, seen.text);
        assert.equal(seen.json.identity.legal_name, 'Ana Example');
        const reads0 = await counter('pii_reads');
        const denied0 = await counter('pii_reads_denied');
        assert.ok(reads0 > 0 && denied0 > 0, 'the tripwire counts reads');
        // the dashboard reads nothing
        assert.equal((await as.cacSupervisor.get('/api/v1/actions')).status, 200);
        assert.equal((await as.cacSupervisor.get('/api/v1/actions.csv')).status, 200);
        assert.equal(await counter('pii_reads'), reads0, 'the dashboard reads no PII row');
        // the reports read the CAC's own immigration rows (case 0 has one), nothing else
        for (const kind of ['nca', 'tims']) {
            const doc = (await report(as.cacSupervisor, kind)).json;
            await report(as.cacSupervisor, kind, `from=${FROM}&to=${TO}&format=csv`);
            const want = kind === 'nca' ? expectedNca(A.cac, 5) : expectedTims(A.cac, 5);
            assert.deepEqual(figures(doc), want.groups, kind);
        }
        assert.ok((await counter('pii_reads')) > reads0, 'the reports read immigration rows');
        assert.equal(await counter('pii_reads_denied'), denied0, 'no other category, no case the CAC may not see');
    } finally {
        await psql(
            dbUrl,
            `DROP VIEW pii; ALTER TABLE pii_guarded RENAME TO pii;
             DROP VIEW pii_versions; ALTER TABLE pii_versions_guarded RENAME TO pii_versions;`,
        );
    }
    // no statement in their sources names the PII tables or consents: they
    // ask pii.c (immigration facts) and caseset.c (the predicate's inputs)
    for (const file of ['server/reports.c', 'server/dashboard.c']) {
        const src = readFileSync(path.join(SOURCE_DIR, file), 'utf8').replace(/^#include .*$/gm, '');
        const strings = src.match(/"(?:[^"\\\n]|\\.)*"/g) ?? [];
        const sql = strings.join(' ');
        assert.match(sql, /\bSELECT\b[^]*\bFROM\b/, `${file}: the check sees its statements`);
        assert.ok(!/\b(FROM|JOIN|UPDATE|INTO)\s+(pii(_versions)?|consents)\b/i.test(sql), file);
    }
});

test('reads are audited with the report name, range and format only', async () => {
    await report(as.dcfSupervisor, 'tims', `from=${FROM}&to=${TO}&format=csv`);
    await flushAudit(server);
    const row = JSON.parse(
        await psql(
            dbUrl,
            `SELECT json_build_object('action', action, 'object_type', object_type, 'detail', detail)
               FROM audit WHERE user_id = ${w.users.dcfSupervisor.userId} AND action = 'report.read'
               ORDER BY id DESC LIMIT 1`,
        ),
    );
    assert.deepEqual(row, {
        action: 'report.read',
        object_type: 'report',
        detail: { report: 'tims', from: FROM, to: TO, format: 'csv' },
    });
});

// ---- the immigration facts across agencies and consents -----------------------------------

// Seven cases led by the CAC with the immigration legal agency on them (so
// it owns their immigration details), each with recorded facts; consents
// from it to the CAC (cases 0-4) and to the police (cases 0-1).
const IMM = [
    [true, true],
    [true, false],
    [false, false],
    [true, true],
    [null, true],
    [true, null],
    [false, true],
];
const imm = []; // the cases

async function consent(c, agency, expiresMs) {
    const r = await as.legalMember.post(`/api/v1/cases/${c.id}/consents`, {
        categories: ['immigration'],
        agency_id: agency,
        consented_by: [{ role: 'guardian', name: 'A. Guardian' }],
        purpose: 'T visa certification',
        signed_on: TODAY,
        expires_at: new Date(expiresMs).toISOString(),
    });
    assert.equal(r.status, 201, r.text);
    c.consents.push({ id: r.json.id, agency, expiresMs, revoked: false });
}

// Both reports of agency, on both servers, against the model.
async function assertImmigration(agency, who) {
    for (const [srv, below] of [
        [server, 5],
        [server2, 2],
    ]) {
        const sup = await login(srv.url, w.users[who]);
        for (const [kind, expected] of [
            ['nca', expectedNca],
            ['tims', expectedTims],
        ]) {
            const doc = (await report(sup, kind)).json;
            const want = expected(agency, below);
            assert.deepEqual(figures(doc), want.groups, `${who} ${kind} at ${below}`);
            assert.equal(doc.immigration_basis.cases_visible, want.basis, `${who} ${kind} basis at ${below}`);
        }
    }
}

test('foreign_born and unaccompanied_minor: counted over the cases whose immigration details the caller may see now, per agency', async () => {
    for (let i = 0; i < IMM.length; i++) {
        const c = await newCase('cacSupervisor', {
            referral: addDays(F, 70 + i),
            municipality: 'Stamford',
            agencies: [A.cac, A.police, A.legal],
            tracking: trackingFor(i),
        });
        assert.equal(c.immigrationOwner, A.legal);
        const [fb, um] = IMM[i];
        const r = await as.legalMember.put(`/api/v1/cases/${c.id}/pii`, {
            version: 0,
            immigration: { foreign_born: fb, unaccompanied_minor: um, country_of_birth: 'Guatemala' },
        });
        assert.equal(r.status, 200, r.text);
        immigration.set(c.id, { foreign_born: fb, unaccompanied_minor: um });
        const id = await as.cacMember.put(`/api/v1/cases/${c.id}/pii`, { version: 1, identity: { legal_name: `Child ${i}` } });
        assert.equal(id.status, 200, id.text);
        await addService('cacMember', c, { date: addDays(F, 75), category: 'immigration_legal' });
        imm.push(c);
    }
    const later = Date.now() + 30 * 86400000;
    for (const c of imm.slice(0, 5)) await consent(c, A.cac, later);
    for (const c of imm.slice(0, 2)) await consent(c, A.police, later);

    await assertImmigration(A.cac, 'cacSupervisor');
    await assertImmigration(A.police, 'policeSupervisor');
    // the model's figures are the ones meant: the CAC sees its own cases and
    // five consented ones; the police their own case and two consented ones
    const cac = expectedNca(A.cac, 2);
    const mine = cases.filter((c) => c.agencies.includes(A.cac) && inRange(c.referral));
    assert.equal(cac.basis, mine.length - 2);
    // true 4 (case 0 and three consented), false 1: the lone small cell
    // beside a shown total takes the next smallest with it
    assert.deepEqual(cac.groups.foreign_born.counts, { true: '<2', false: '<2', not_recorded: mine.length - 7 });
    assert.equal(cac.groups.foreign_born.total, mine.length - 2);
    const police = expectedNca(A.police, 5);
    assert.equal(police.basis, '<5');
    assert.deepEqual(police.groups.foreign_born.counts, { true: '<5', false: 0, not_recorded: '<5' });
    assert.equal(police.groups.foreign_born.total, '<5');
    // the DCF, on none of these cases' immigration, counts none of them
    assert.equal(expectedNca(A.dcf, 2).basis, 0);
    await assertImmigration(A.dcf, 'dcfSupervisor');
});

test('a consent that expires or is revoked drops its case from the basis at once', async () => {
    const before = expectedNca(A.cac, 2).basis;
    // expiry: the consent's end moved to a minute ago (the clock's, relative)
    const expiring = imm[0].consents.find((k) => k.agency === A.cac);
    await psql(dbUrl, `UPDATE consents SET expires_at = now() - interval '1 minute' WHERE id = ${expiring.id}`);
    expiring.expiresMs = Date.now() - 60000;
    assert.equal(expectedNca(A.cac, 2).basis, before - 1);
    await assertImmigration(A.cac, 'cacSupervisor');
    // revocation by the owner agency
    const revoked = imm[1].consents.find((k) => k.agency === A.cac);
    const r = await as.legalMember.del(`/api/v1/consents/${revoked.id}`);
    assert.equal(r.status, 200, r.text);
    revoked.revoked = true;
    assert.equal(expectedNca(A.cac, 2).basis, before - 2);
    await assertImmigration(A.cac, 'cacSupervisor');
    // the police's consents on the same cases are untouched
    await assertImmigration(A.police, 'policeSupervisor');
});

test('no other protected detail is opened: corrupted values elsewhere leave the report working, a corrupted counted one refuses', async () => {
    const counted = imm[2]; // consented to the CAC, live
    const hidden = imm[6]; // no consent to anyone
    const sealedOf = async (c, cat) => psql(dbUrl, `SELECT data #>> '{}' FROM pii WHERE case_id = ${c.id} AND category = '${cat}'`);
    const setSealed = (c, cat, v) => psql(dbUrl, `UPDATE pii SET data = to_jsonb('${v}'::text) WHERE case_id = ${c.id} AND category = '${cat}'`);
    const identity = await sealedOf(counted, 'identity');
    const hiddenImm = await sealedOf(hidden, 'immigration');
    const countedImm = await sealedOf(counted, 'immigration');
    assert.match(identity, /^mdtenc1:/);
    try {
        // another case's sealed identity in a counted case, another case's immigration in a hidden one
        await setSealed(counted, 'identity', await sealedOf(imm[3], 'identity'));
        await setSealed(hidden, 'immigration', countedImm);
        const broken = await as.cacMember.get(`/api/v1/cases/${counted.id}/pii`);
        assert.equal(broken.status, 500, 'the identity value really does not open');
        await assertImmigration(A.cac, 'cacSupervisor');
        await assertImmigration(A.police, 'policeSupervisor');
        // a counted immigration value that does not open is an error, never a figure
        await setSealed(counted, 'immigration', hiddenImm);
        const r = await as.cacSupervisor.get(`/api/v1/reports/nca?from=${FROM}&to=${TO}`);
        assert.equal(r.status, 500, r.text);
        assert.ok(!/Guatemala|foreign_born":\s*true/.test(r.text));
    } finally {
        await setSealed(counted, 'identity', identity);
        await setSealed(counted, 'immigration', countedImm);
        await setSealed(hidden, 'immigration', hiddenImm);
    }
    await assertImmigration(A.cac, 'cacSupervisor');
});

test('reading the immigration facts is audited as a PII read of each case counted, without values', async () => {
    await flushAudit(server);
    await flushAudit(server2);
    const since = Number(await psql(dbUrl, 'SELECT coalesce(max(id), 0) FROM audit'));
    await report(as.policeSupervisor, 'tims');
    await flushAudit(server);
    const rows = JSON.parse(
        await psql(
            dbUrl,
            `SELECT coalesce(json_agg(json_build_object('object_type', object_type, 'object_id', object_id,
                    'case_id', case_id, 'detail', detail) ORDER BY case_id), '[]')
               FROM audit WHERE id > ${since} AND user_id = ${w.users.policeSupervisor.userId} AND action = 'pii.read'`,
        ),
    );
    const seen = expectedTims(A.police, 5).seen.map((c) => c.id).sort((a, b) => a - b);
    assert.ok(seen.length >= 2);
    assert.deepEqual(
        rows,
        seen.map((id) => ({ object_type: 'pii', object_id: id, case_id: id, detail: { categories: ['immigration'], report: 'tims' } })),
    );
});
