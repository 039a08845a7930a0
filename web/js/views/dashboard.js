// dashboard.js - action items across the caller's cases (GET /api/v1/actions):
// overdue first, grouped by case or by assignee, with a CSV download of the
// same selection. Shown in the navigation only when the server has the
// endpoint (app.js probes it).

import { api, qs } from '../api.js';
import { ctx, agencyName, myAgencyId, myRole } from '../ctx.js';
import { h, clear, field, select } from '../dom.js';
import { date, label } from '../format.js';

export async function render(root, { query }) {
    const whose = select(
        [
            ['', 'Everyone, on my agency’s cases'],
            ['agency', `Assigned to ${agencyName(myAgencyId())}`],
            ['me', 'Assigned to me'],
        ],
        query.get('whose') ?? (myRole() === 'supervisor' ? 'agency' : 'me'),
        { name: 'whose' },
    );
    const status = select(
        [
            ['open,in_progress', 'Open and in progress'],
            ['', 'Any status'],
            ['open', 'Open'],
            ['in_progress', 'In progress'],
            ['done', 'Done'],
            ['cancelled', 'Cancelled'],
        ],
        query.get('status') ?? 'open,in_progress',
        { name: 'status' },
    );
    const overdue = h('input', { type: 'checkbox', name: 'overdue', checked: query.get('overdue') === 'true' });
    const group = select(
        [
            ['case', 'Case'],
            ['assignee', 'Person responsible'],
        ],
        query.get('group') ?? 'case',
        { name: 'group' },
    );
    const csv = h('a', { class: 'button secondary', download: 'action-items.csv', text: 'Download CSV' });
    const filters = h(
        'form',
        { class: 'filters', 'aria-label': 'Filter action items' },
        field('Whose items', whose),
        field('Status', status),
        field('Group by', group),
        h('label', { class: 'check' }, overdue, ' Overdue only'),
        h('div', { class: 'actions' }, csv),
    );
    const summary = h('p', { class: 'summary', role: 'status' });
    const body = h('div', { class: 'dashboard' });
    const more = h('div', { class: 'actions' });
    clear(root, h('h1', { text: 'Action items' }), filters, summary, body, more);

    let items = [];
    const params = (cursor) => ({
        assignee: whose.value === 'me' ? 'me' : '',
        agency_id: whose.value === 'agency' ? myAgencyId() : '',
        status: status.value,
        overdue: overdue.checked ? 'true' : '',
        cursor,
    });
    async function load(cursor) {
        const p = params(cursor);
        csv.href = `/api/v1/actions.csv${qs({ ...p, cursor: '' })}`;
        history.replaceState(null, '', `#/dashboard${qs({ whose: whose.value, status: status.value, overdue: overdue.checked ? 'true' : '', group: group.value })}`);
        const res = await api.get(`/api/v1/actions${qs({ ...p, limit: 200 })}`);
        items = cursor ? items.concat(res.items) : res.items;
        const total = res.total ?? items.length;
        const od = res.overdue_total ?? items.filter((a) => a.overdue).length;
        summary.textContent = total ? `${total} action item${total === 1 ? '' : 's'}, ${od} overdue.` : 'No action items match.';
        draw();
        clear(more, res.next ? h('button', { type: 'button', class: 'secondary', text: 'Show more', on: { click: () => load(res.next) } }) : null);
    }
    function draw() {
        const groups = new Map();
        for (const a of items) {
            const k = group.value === 'case' ? `c${a.case_id}` : `u${a.assignee_id ?? `a${a.assignee_agency_id ?? 0}`}`;
            if (!groups.has(k)) groups.set(k, { items: [], first: a });
            groups.get(k).items.push(a);
        }
        // Groups keep the server's order: the group with the most urgent item first.
        clear(
            body,
            [...groups.values()].map(({ items: list, first }) => {
                const heading =
                    group.value === 'case'
                        ? h('h2', {}, h('a', { href: `#/cases/${first.case_id}`, text: `${first.case_number ?? `Case #${first.case_id}`} ${first.alias ?? ''}` }))
                        : h('h2', { text: first.assignee_id ? `${first.assignee_name ?? `User #${first.assignee_id}`} · ${agencyName(first.assignee_agency_id)}` : first.assignee_agency_id ? `Anyone at ${agencyName(first.assignee_agency_id)}` : 'Not assigned' });
                const od = list.filter((a) => a.overdue).length;
                return h(
                    'section',
                    { class: 'dash-group card' },
                    heading,
                    od ? h('p', {}, h('span', { class: 'badge overdue', text: `${od} overdue` })) : null,
                    h(
                        'table',
                        { class: 'table responsive' },
                        h('thead', {}, h('tr', {}, ['Action item', group.value === 'case' ? 'Assigned to' : 'Case', 'Due', 'Status'].map((t) => h('th', { scope: 'col', text: t })))),
                        h(
                            'tbody',
                            {},
                            list.map((a) =>
                                h(
                                    'tr',
                                    { class: a.overdue ? 'has-overdue' : null },
                                    h('th', { scope: 'row', 'data-label': 'Action item' }, a.overdue ? h('span', { class: 'badge overdue', text: 'Overdue' }) : null, ' ', h('a', { href: `#/cases/${a.case_id}`, text: a.title })),
                                    group.value === 'case'
                                        ? h('td', { 'data-label': 'Assigned to', text: a.assignee_agency_id ? `${a.assignee_name ?? 'anyone'} · ${agencyName(a.assignee_agency_id)}` : 'Not assigned' })
                                        : h('td', { 'data-label': 'Case' }, h('a', { href: `#/cases/${a.case_id}`, text: `${a.case_number ?? `#${a.case_id}`} ${a.alias ?? ''}` })),
                                    h('td', { 'data-label': 'Due', class: a.overdue ? 'overdue-text' : null, text: a.due_date ? date(a.due_date) : '—' }),
                                    h('td', { 'data-label': 'Status', text: label('actionStatus', a.status) }),
                                ),
                            ),
                        ),
                    ),
                );
            }),
        );
    }
    for (const c of [whose, status, overdue]) c.addEventListener('change', () => load());
    group.addEventListener('change', () => {
        history.replaceState(null, '', `#/dashboard${qs({ whose: whose.value, status: status.value, overdue: overdue.checked ? 'true' : '', group: group.value })}`);
        draw();
    });
    filters.addEventListener('submit', (e) => e.preventDefault());
    void ctx;
    await load();
}
