// cases.js - the case list (#/cases?q=&status=) and new-case form (#/cases/new).

import { api, qs } from '../api.js';
import { ctx, agencyName, myRole, myAgencyId } from '../ctx.js';
import { h, clear, field, select, showFormError, busy } from '../dom.js';
import { date, label, options, today } from '../format.js';
import { navigate } from '../app.js';

const STATUS_FILTERS = [
    ['', 'All statuses'],
    ['referred,active,monitoring', 'Open (not closed)'],
    ['referred', 'Referred'],
    ['active', 'Active'],
    ['monitoring', 'Monitoring'],
    ['closed', 'Closed'],
];

export async function render(root, { query, mode }) {
    if (mode === 'new') return renderNew(root);
    const q = query.get('q') ?? '';
    const status = query.get('status') ?? '';

    const search = h('input', { type: 'search', name: 'q', value: q, maxlength: '100', autocomplete: 'off' });
    const statusSel = select(STATUS_FILTERS, status, { name: 'status' });
    const filters = h(
        'form',
        { class: 'filters', role: 'search', 'aria-label': 'Find cases' },
        field('Case number or alias', search),
        field('Status', statusSel),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Search' })),
    );
    // A debounced search may fire after the user has left the list: it must
    // then do nothing (rewriting the URL would send a reload of the next
    // view back to the list).
    let left = false;
    const apply = () => {
        if (left) return;
        const hash = `#/cases${qs({ q: search.value.trim(), status: statusSel.value })}`;
        if (location.hash !== hash) history.replaceState(null, '', hash);
        load();
    };
    filters.addEventListener('submit', (e) => {
        e.preventDefault();
        apply();
    });
    statusSel.addEventListener('change', apply);
    let debounce = null;
    search.addEventListener('input', () => {
        clearTimeout(debounce);
        debounce = setTimeout(apply, 350);
    });

    const summary = h('p', { class: 'summary', role: 'status' });
    const body = h('div', { class: 'case-list' });
    const more = h('div', { class: 'actions' });
    const header = h(
        'div',
        { class: 'page-head' },
        h('h1', { text: 'Cases' }),
        myRole() === 'supervisor' ? h('a', { href: '#/cases/new', class: 'button', text: 'New case' }) : null,
    );
    clear(root, header, filters, summary, body, more);

    let items = [];
    let token = 0;
    async function load(cursor) {
        const t = ++token;
        const params = { q: search.value.trim(), status: statusSel.value, limit: 50, cursor };
        if (!cursor) summary.textContent = 'Loading cases…';
        const res = await api.get(`/api/v1/cases${qs(params)}`);
        if (t !== token) return;
        items = cursor ? items.concat(res.items) : res.items;
        renderTable();
        const open = items.reduce((n, c) => n + (c.open_actions ?? 0), 0);
        const overdue = items.reduce((n, c) => n + (c.overdue_actions ?? 0), 0);
        summary.textContent = items.length
            ? `${items.length}${res.next ? '+' : ''} case${items.length === 1 ? '' : 's'} · ${open} open action item${open === 1 ? '' : 's'} · ${overdue} overdue`
            : params.q || params.status
              ? 'No case matches this search.'
              : 'Your agency is not on any case yet.';
        clear(more, res.next ? h('button', { type: 'button', class: 'secondary', text: 'Show more cases', on: { click: () => load(res.next) } }) : null);
    }

    function renderTable() {
        if (!items.length) {
            clear(body);
            return;
        }
        const rows = items.map((c) =>
            h(
                'tr',
                { class: c.overdue_actions > 0 ? 'has-overdue' : null },
                h('th', { scope: 'row', 'data-label': 'Case' }, h('a', { href: `#/cases/${c.id}`, class: 'case-link' }, h('span', { class: 'case-number', text: c.case_number }), ' ', h('span', { class: 'case-alias', text: c.alias }))),
                h('td', { 'data-label': 'Status' }, h('span', { class: `status status-${c.status}`, text: label('status', c.status) })),
                h('td', { 'data-label': 'Municipality', text: c.municipality ?? '—' }),
                h('td', { 'data-label': 'Lead agency', text: agencyName(c.lead_agency_id) }),
                h('td', { 'data-label': 'Open actions', class: 'num', text: String(c.open_actions ?? 0) }),
                h(
                    'td',
                    { 'data-label': 'Overdue', class: 'num' },
                    c.overdue_actions > 0 ? h('span', { class: 'badge overdue', text: `${c.overdue_actions} overdue` }) : h('span', { text: '0' }),
                ),
                h('td', { 'data-label': 'Next review', text: c.next_review ? date(c.next_review) : 'Not scheduled' }),
                h('td', { 'data-label': 'Last reviewed', text: c.last_reviewed ? date(c.last_reviewed) : '—' }),
                h('td', { 'data-label': 'Review due' }, reviewDue(c)),
            ),
        );
        clear(
            body,
            h(
                'table',
                { class: 'table responsive' },
                h('caption', { class: 'visually-hidden', text: 'Your cases' }),
                h(
                    'thead',
                    {},
                    h(
                        'tr',
                        {},
                        ['Case', 'Status', 'Municipality', 'Lead agency', 'Open actions', 'Overdue', 'Next review', 'Last reviewed', 'Review due'].map((t) => h('th', { scope: 'col', text: t })),
                    ),
                ),
                h('tbody', {}, rows),
            ),
        );
    }

    await load();
    return () => {
        left = true;
        clearTimeout(debounce);
    };
}

// reviewDue(c) - the date a review is due (review every N weeks), with
// "Due" in words once it is today or past, in the installation's zone.
export function reviewDue(c) {
    if (!c.review_due) return h('span', { text: c.review_every_weeks ? '—' : 'No cadence' });
    const due = c.review_due <= today();
    return h('span', { class: due ? 'review-due is-due' : 'review-due' }, date(c.review_due), due ? h('span', { class: 'badge overdue', text: 'Due' }) : null);
}

async function renderNew(root) {
    const number = h('input', { type: 'text', name: 'case_number', required: true, maxlength: '64' });
    const alias = h('input', { type: 'text', name: 'alias', required: true, maxlength: '100' });
    const muni = h('input', { type: 'text', name: 'municipality', maxlength: '100' });
    const referral = h('input', { type: 'date', name: 'referral_date', required: true, value: today() });
    const status = select(options('status'), 'referred', { name: 'status' });
    const mine = myAgencyId();
    const others = [...ctx.agencies.values()].filter((a) => a.active && a.id !== mine).sort((a, b) => a.name.localeCompare(b.name));
    const agencyBoxes = h(
        'fieldset',
        { class: 'checks' },
        h('legend', { text: 'Agencies on the case' }),
        h('p', { class: 'hint', text: `${agencyName(mine)} leads the case and is always on it. Every agency you tick can open the board.` }),
        others.map((a) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'agencies', value: String(a.id) }), ` ${a.name}`)),
    );
    const submit = h('button', { type: 'submit', text: 'Create case' });
    const form = h(
        'form',
        { class: 'stack card', novalidate: true },
        field('Case number', number, { hint: 'Your agency’s own number; unique within your agency.' }),
        field('Alias', alias, { hint: 'Initials or a pseudonym used in meetings. Never the child’s name.' }),
        field('Municipality', muni),
        field('Referral date', referral),
        field('Status', status),
        agencyBoxes,
        h('div', { class: 'actions' }, submit, h('a', { href: '#/cases', class: 'button secondary', text: 'Cancel' })),
    );
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        showFormError(form, null);
        const body = {
            case_number: number.value.trim(),
            alias: alias.value.trim(),
            referral_date: referral.value,
            status: status.value,
            agencies: [...form.querySelectorAll('input[name="agencies"]:checked')].map((i) => Number(i.value)),
        };
        if (muni.value.trim()) body.municipality = muni.value.trim();
        await busy(submit, async () => {
            try {
                const c = await api.create('/api/v1/cases', body);
                navigate(`#/cases/${c.id}`);
            } catch (err) {
                showFormError(form, err.status === 409 ? { ...err, message: 'Your agency already has a case with this number.' } : err);
            }
        });
    });
    clear(root, h('h1', { text: 'New case' }), form);
}
