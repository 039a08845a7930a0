// audit_log.js - the audit log for people (docs/admin.md, "The web app's
// audit log"): filters picked by name (a case by number or alias, a user,
// an agency, an action, an outcome, days), kept in the URL hash so Back
// keeps them; rows that say names; routine reads folded; Next/Previous
// with the cursor; a CSV link with the same filters. Admins read every
// row (#/admin/audit), supervisors the trail of a case their agency leads
// (#/audit).

import { api, qs } from '../api.js';
import { ctx, agencyName, myRole } from '../ctx.js';
import { h, clear, field, select, showFormError } from '../dom.js';
import { dateTime } from '../format.js';

// Known actions by topic; a value ending in "." is every action under it.
const ACTIONS = [
    ['Sign-in', ['login', 'logout', 'lockout', 'mfa.', 'mfa.enrol_start', 'mfa.enrol', 'password.change']],
    ['Cases', ['case.', 'case.create', 'case.read', 'case.list', 'case.update', 'case.subscribe', 'case.legal_hold.set', 'case.legal_hold.clear', 'case.purged']],
    ['Entries', ['entry.', 'entry.create', 'entry.update', 'entry.retract', 'entry.history.read']],
    ['Action items', ['action.', 'action.create', 'action.update', 'action.retract', 'action.list', 'action.export']],
    ['Protected details and consents', ['pii.', 'pii.read', 'pii.update', 'consent.', 'consent.create', 'consent.revoke', 'consent.list']],
    ['Tracking and services', ['tracking.read', 'tracking.update', 'service.', 'service.create', 'service.list']],
    [
        'Meetings',
        ['meeting.', 'meeting.create', 'meeting.read', 'meeting.list', 'meeting.update', 'meeting.attendance', 'meeting.current_case', 'meeting.outcome', 'meeting.minutes'],
    ],
    ['Reports', ['report.read']],
    [
        'Accounts and agencies',
        ['user.', 'user.create', 'user.update', 'user.role_change', 'user.deactivate', 'user.reactivate', 'user.reset_mfa', 'user.reset_password', 'agency.', 'agency.create', 'agency.update'],
    ],
    ['Audit log', ['audit.read']],
];

const OUTCOMES = [
    ['', 'Any outcome'],
    ['denied', 'Denied only'],
    ['failure', 'Failed only'],
    ['mfa_required', 'Asked for a sign-in code'],
    ['ok', 'Allowed only'],
];

const PAGE = 50;

function actionLabel(a) {
    return a.endsWith('.') ? `All ${a}* actions` : a;
}

function actionSelect(value) {
    const sel = h('select', { name: 'action' }, h('option', { value: '', text: 'Any action' }));
    for (const [group, actions] of ACTIONS) {
        sel.append(h('optgroup', { label: group }, actions.map((a) => h('option', { value: a, text: actionLabel(a), selected: a === value }))));
    }
    return sel;
}

// ---- days in the installation's time zone ------------------------------------------------

// zoneOffset(ms, tz) - how far tz's wall clock is ahead of UTC at ms.
function zoneOffset(ms, tz) {
    const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - ms;
}

// dayStart('2026-11-28', n) - the first instant of that day + n days in the
// installation's zone, as RFC 3339 UTC; '' for no day.
function dayStart(ymd, addDays = 0) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd ?? '');
    if (!m) return '';
    const tz = ctx.me?.time_zone || 'America/New_York';
    const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + addDays);
    let t = wall - zoneOffset(wall, tz);
    t = wall - zoneOffset(t, tz);
    return new Date(t).toISOString().replace('.000Z', 'Z');
}

// ---- who and what ------------------------------------------------------------------------

// whoText(row) - "Dana Ruiz (DCF)", else the user name, else "the command line".
export function whoText(r) {
    const agency = r.agency_name ?? (r.agency_id ? agencyName(r.agency_id) : null);
    const name = r.display_name ?? r.username ?? (r.user_id ? `a removed user (${r.user_id})` : 'the command line');
    return agency ? `${name} (${agency})` : name;
}

function caseText(r) {
    if (!r.case_id) return '—';
    return r.case_number ?? `case #${r.case_id} (not visible to your agency)`;
}

// detailText(detail) - "view: audit; count: 3" (keys and values as stored).
export function detailText(d) {
    if (!d || typeof d !== 'object') return '';
    return Object.entries(d)
        .map(([k, v]) => (k.endsWith('agency_id') && Number.isInteger(v) ? `${k.replace(/_id$/, '')}: ${agencyName(v)}` : `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`))
        .join('; ');
}

function outcomeText(o) {
    return { ok: 'Allowed', denied: 'Denied', failure: 'Failed', mfa_required: 'Code asked' }[o] ?? o;
}

function auditRow(r) {
    const folded = (r.count ?? 1) > 1;
    const when = folded
        ? h('span', {}, h('time', { datetime: r.first_at, text: dateTime(r.first_at) }), ' – ', h('time', { datetime: r.at, text: dateTime(r.at) }))
        : h('time', { datetime: r.at, text: dateTime(r.at) });
    const action = folded
        ? h('span', {}, h('strong', { text: `${r.count} routine reads: ` }), r.actions.map((a, i) => [i ? ', ' : '', h('code', { text: a })]))
        : h('code', { text: r.action });
    const object = r.redacted ? 'hidden from your agency' : r.object_type ? `${r.object_type}${r.object_id ? ` ${r.object_id}` : ''}` : '—';
    const caseCell = r.case_id && r.case_number ? h('a', { class: 'case-ref', href: `#/cases/${r.case_id}`, text: r.case_number }) : caseText(r);
    return h(
        'tr',
        { class: [r.outcome !== 'ok' && 'is-denied', folded && 'is-folded'] },
        h('td', { 'data-label': 'When' }, when),
        h('td', { 'data-label': 'Who' }, whoText(r), r.address ? h('span', { class: 'hint', text: ` from ${r.address}` }) : null),
        h('td', { 'data-label': 'Action' }, action),
        h('td', { 'data-label': 'Object', text: object }),
        h('td', { 'data-label': 'Case' }, caseCell),
        h('td', { 'data-label': 'Outcome', text: outcomeText(r.outcome) }),
        h('td', { 'data-label': 'Detail', class: 'detail', text: detailText(r.detail) }),
    );
}

// ---- pickers -----------------------------------------------------------------------------

// The users to pick from, sorted by name: every account for an admin, the
// directory's active users otherwise.
async function loadUsers(admin) {
    const out = [];
    let cursor = null;
    for (let page = 0; page < 20; page++) {
        const res = await api.get(`${admin ? '/api/v1/admin/users' : '/api/v1/users'}${qs({ limit: 500, cursor })}`);
        out.push(...res.items);
        cursor = res.next;
        if (!cursor) break;
    }
    return out.sort((a, b) => a.display_name.localeCompare(b.display_name));
}

function userLabel(u) {
    return `${u.display_name} (${agencyName(u.agency_id)})${u.active === false ? ', inactive' : ''}`;
}

// A case picked by number or alias (GET /cases?q=: the reader's agency's
// cases), or by id ("#12") for a case the reader was told about.
function casePicker(initialId) {
    const known = new Map(); // case number (lower case) -> id
    const list = h('datalist', { id: 'audit-case-options' });
    const input = h('input', {
        type: 'text',
        name: 'case',
        list: list.id,
        autocomplete: 'off',
        value: initialId ? `#${initialId}` : '',
    });
    let timer = null;
    let seq = 0;
    input.addEventListener('input', () => {
        clearTimeout(timer);
        const q = input.value.trim();
        if (q.length < 2 || /^#?\d+$/.test(q)) return;
        timer = setTimeout(async () => {
            const mine = ++seq;
            try {
                const res = await api.get(`/api/v1/cases${qs({ q })}`);
                if (mine !== seq) return;
                for (const c of res.items) known.set(c.case_number.toLowerCase(), c.id);
                clear(list, res.items.map((c) => h('option', { value: c.case_number, text: c.alias ? `${c.case_number} — ${c.alias}` : c.case_number })));
            } catch {
                // the list stays as it was; Apply says what is wrong
            }
        }, 250);
    });
    return {
        input,
        list,
        // id of the picked case: null for none, undefined when nothing matches
        resolve() {
            const v = input.value.trim();
            if (!v) return null;
            const m = /^#?(\d+)$/.exec(v);
            if (m) return Number(m[1]);
            return known.get(v.toLowerCase());
        },
        // once a row names the case, show its number instead of "#12"
        name(rows) {
            const id = this.resolve();
            const row = rows.find((r) => r.case_id === id && r.case_number);
            if (row && input.value.trim().startsWith('#')) {
                known.set(row.case_number.toLowerCase(), id);
                input.value = row.case_number;
            }
        },
    };
}

// ---- the view ----------------------------------------------------------------------------

// The API's query for the hash's filters (f), without paging.
function apiQuery(f) {
    return {
        case_id: f.get('case_id') ?? '',
        user_id: f.get('user_id') ?? '',
        agency_id: f.get('agency_id') ?? '',
        action: f.get('action') ?? '',
        outcome: f.get('outcome') ?? '',
        since: dayStart(f.get('from')),
        until: dayStart(f.get('to'), 1),
        fold_reads: f.get('fold') === '0' ? '' : 'true',
    };
}

export async function renderAudit(root, query, { caseOnly = false, embedded = false } = {}) {
    const base = embedded ? '#/admin/audit' : '#/audit';
    const admin = myRole() === 'admin';
    const picker = casePicker(query.get('case_id'));
    const users = await loadUsers(admin).catch(() => []);
    const userSel = select([['', 'Any user'], ...users.map((u) => [u.id, userLabel(u)])], query.get('user_id') ?? '', { name: 'user_id' });
    const agencies = [...ctx.agencies.values()].sort((a, b) => a.name.localeCompare(b.name));
    const agencySel = select([['', 'Any agency'], ...agencies.map((a) => [a.id, a.name])], query.get('agency_id') ?? '', { name: 'agency_id' });
    const actionSel = actionSelect(query.get('action') ?? '');
    const outcomeSel = select(OUTCOMES, query.get('outcome') ?? '', { name: 'outcome' });
    const from = h('input', { type: 'date', name: 'since', value: query.get('from') ?? '' });
    const to = h('input', { type: 'date', name: 'until', value: query.get('to') ?? '' });
    const fold = h('input', { type: 'checkbox', name: 'fold_reads', checked: query.get('fold') !== '0' });
    const form = h(
        'form',
        { class: 'filters audit-filters', 'aria-label': 'Filter the audit log', novalidate: true },
        field('Case', picker.input, { hint: admin ? 'Number or alias, or #id.' : 'Number or alias.' }),
        picker.list,
        field('User', userSel),
        field('Agency', agencySel),
        field('Action', actionSel),
        field('Outcome', outcomeSel),
        field('From day', from),
        field('To day', to),
        h('label', { class: 'check' }, fold, ' Fold routine reads'),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Apply filters' })),
    );
    form.addEventListener('submit', (e) => {
        e.preventDefault();
        showFormError(form, null);
        const caseId = picker.resolve();
        if (caseId === undefined) {
            showFormError(form, { field: 'case', message: `No case of yours matches “${picker.input.value.trim()}”. Pick one from the list, or type #id for a case you were told about.` });
            return;
        }
        if (from.value && to.value && from.value > to.value) {
            showFormError(form, { field: 'until', message: 'The last day is before the first day.' });
            return;
        }
        location.hash = `${base}${qs({
            case_id: caseId,
            user_id: userSel.value,
            agency_id: agencySel.value,
            action: actionSel.value,
            outcome: outcomeSel.value,
            from: from.value,
            to: to.value,
            fold: fold.checked ? '' : '0',
        })}`;
    });

    const status = h('p', { class: 'summary', role: 'status' });
    const table = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Audit rows', tabindex: '0' });
    const pager = h('nav', { class: 'actions pager', 'aria-label': 'Pages of the audit log' });
    const head = embedded ? null : h('h1', { text: caseOnly ? 'Audit trail of a case' : 'Audit log' });
    clear(
        root,
        head,
        h('p', { class: 'hint', text: 'Every sign-in, read and change is recorded here, with who, from where and the outcome — never case text or protected details.' }),
        form,
        status,
        table,
        pager,
    );

    const params = apiQuery(query);
    if (caseOnly && !params.case_id) {
        status.textContent = 'Pick a case your agency leads.';
        return;
    }
    const cursor = query.get('cursor') ?? '';
    const prev = (query.get('prev') ?? '').split(',').filter(Boolean);
    let res;
    try {
        res = await api.get(`/api/v1/audit${qs({ ...params, limit: PAGE, cursor })}`);
    } catch (err) {
        status.textContent = err.status === 403 ? 'You may read the audit trail of cases your agency leads only.' : err.message;
        return;
    }
    picker.name(res.items);
    const page = prev.length + 1;
    status.textContent = res.items.length
        ? `Page ${page}: ${res.items.length} ${res.items.length === 1 ? 'row' : 'rows'}, newest first${params.outcome === 'denied' ? ', denied only' : ''}.`
        : 'No audit rows match these filters.';
    clear(
        table,
        res.items.length
            ? h(
                  'table',
                  { class: 'table audit responsive' },
                  h('caption', { class: 'visually-hidden', text: 'Audit rows' }),
                  h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Object', 'Case', 'Outcome', 'Detail'].map((t) => h('th', { scope: 'col', text: t })))),
                  h('tbody', {}, res.items.map(auditRow)),
              )
            : null,
    );
    const here = Object.fromEntries(query.entries());
    const pageHash = (c, p) => `${base}${qs({ ...here, cursor: c, prev: p.join(',') })}`;
    const csvHref = `/api/v1/audit${qs({ ...params, format: 'csv' })}`;
    clear(
        pager,
        prev.length ? h('a', { class: 'button secondary', href: pageHash(prev.at(-1) === '0' ? '' : prev.at(-1), prev.slice(0, -1)), text: 'Previous page' }) : null,
        res.next ? h('a', { class: 'button secondary', href: pageHash(res.next, [...prev, cursor || '0']), text: 'Next page' }) : null,
        h('a', { class: 'button secondary', href: csvHref, download: 'audit-log.csv', text: 'Download CSV (these filters)' }),
    );
}
