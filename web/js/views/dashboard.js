// dashboard.js - action items across the caller's cases (GET /api/v1/actions),
// a list to work from: filters by view, agency, person, case, status and due
// window, all kept in the URL hash (#/dashboard?view=&agency=&assignee=&case=
// &status=&due=&sort=&order=) so Back and bookmarks keep them; sortable
// columns; days overdue; who closed an item and when; an explicit status
// change per row (pick, then Save, then Undo for a few seconds); bulk
// changes of the selected rows (status, assignee, due date) after a
// confirmation that says how many (POST /api/v1/actions/bulk, all or
// nothing, Undo too); the CSV with the same filters. Defaults per role: see
// docs/web.md ("Action items"). Shown in the navigation only when the
// server has the endpoint (app.js probes it).

import { api, qs } from '../api.js';
import { ctx, agencyName, announce, myRole } from '../ctx.js';
import { h, clear, field, select, busy } from '../dom.js';
import { date, dateTime, label, options } from '../format.js';
import { loadDirectory } from './board.js';

const UNDO_MS = 10000;
const STATUS_CHOICES = [
    ['open,in_progress', 'Open and in progress'],
    ['any', 'Any status'],
    ['open', 'Open'],
    ['in_progress', 'In progress'],
    ['done', 'Done'],
    ['cancelled', 'Cancelled'],
    ['done,cancelled', 'Done or cancelled'],
];
const DUE_CHOICES = [
    ['', 'Any due date'],
    ['overdue', 'Overdue'],
    ['week', 'Due this week'],
    ['14d', 'Due in the next 14 days'],
];
// The sortable columns: [sort key, column heading].
const SORTS = [
    ['case', 'Case'],
    ['assignee', 'Assigned to'],
    ['agency', 'Agency'],
    ['due', 'Due'],
    ['status', 'Status'],
    ['closed', 'Closed'],
];

// filtersFrom(query) - the filters of the URL hash, with the role's
// defaults: a supervisor's view is its agency's items plus every item on
// the cases its agency leads, anyone else's the items assigned to them.
export function filtersFrom(query) {
    const get = (k, def = '') => (query.has(k) ? query.get(k) : def);
    return {
        view: get('view', myRole() === 'supervisor' ? 'supervisor' : 'me'),
        agency: get('agency'),
        assignee: get('assignee'),
        case: get('case'),
        status: get('status', 'open,in_progress'),
        due: get('due'),
        sort: get('sort'),
        order: get('order') === 'desc' ? 'desc' : 'asc',
    };
}

// The API query of the filters (GET /api/v1/actions and .csv).
function apiParams(f) {
    return {
        scope: f.view === 'supervisor' ? 'supervisor' : '',
        assignee: f.view === 'me' ? 'me' : '',
        agency_id: f.agency,
        assignee_id: f.assignee,
        case_id: f.case,
        status: f.status === 'any' ? '' : f.status,
        due: f.due,
        sort: f.sort,
        order: f.sort ? f.order : '',
    };
}

const hashOf = (f) => `#/dashboard${qs({ ...f, order: f.sort ? f.order : '' })}`;
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export async function render(root, { query }) {
    const dash = new Dashboard(root, filtersFrom(query));
    await dash.start();
    return () => dash.destroy();
}

class Dashboard {
    constructor(root, filters) {
        this.root = root;
        this.f = filters;
        this.items = [];
        this.selected = new Set();
        this.undoTimer = null;
        this.gone = false;
    }

    destroy() {
        this.gone = true;
        clearTimeout(this.undoTimer);
    }

    async start() {
        const [cases] = await Promise.all([api.get('/api/v1/cases?limit=500').catch(() => ({ items: [] })), loadDirectory().catch(() => null)]);
        this.cases = cases.items ?? [];
        this.build();
        await this.load();
    }

    // ---- the page ---------------------------------------------------------------

    filterControls() {
        const f = this.f;
        const views = [
            ['supervisor', 'Our agency’s items, cases we lead'],
            ['me', 'Assigned to me'],
            ['all', 'Everything I can see'],
        ];
        const agencies = [...ctx.agencies.values()].sort((a, b) => a.name.localeCompare(b.name));
        const users = [...ctx.users.values()].sort((a, b) => a.display_name.localeCompare(b.display_name));
        const sorts = [['', 'Most urgent first'], ...SORTS.flatMap(([k, t]) => [[`${k}:asc`, `${t}, ascending`], [`${k}:desc`, `${t}, descending`]])];
        return {
            view: select(views, f.view, { name: 'view' }),
            agency: select([['', 'Any agency'], ...agencies.map((a) => [a.id, a.name])], f.agency, { name: 'agency' }),
            assignee: select([['', 'Anyone'], ...users.map((u) => [u.id, `${u.display_name} · ${agencyName(u.agency_id)}`])], f.assignee, { name: 'assignee' }),
            case: select([['', 'Any case'], ...this.cases.map((c) => [c.id, `${c.case_number} ${c.alias ?? ''}`.trim()])], f.case, { name: 'case' }),
            status: select(STATUS_CHOICES, f.status, { name: 'status' }),
            due: select(DUE_CHOICES, f.due, { name: 'due' }),
            sort: select(sorts, f.sort ? `${f.sort}:${f.order}` : '', { name: 'sort' }),
        };
    }

    build() {
        const c = (this.controls = this.filterControls());
        this.csv = h('a', { class: 'button secondary', download: 'action-items.csv', text: 'Download CSV' });
        const form = h(
            'form',
            { class: 'filters dash-filters', 'aria-label': 'Filter action items' },
            field('Show', c.view),
            field('Agency', c.agency),
            field('Person', c.assignee),
            field('Case', c.case),
            field('Status', c.status),
            field('Due', c.due),
            field('Sort by', c.sort, { className: 'sort-field' }),
            h('div', { class: 'actions' }, this.csv, h('a', { href: '#/dashboard?view=' + encodeURIComponent(filtersFrom(new URLSearchParams()).view), class: 'button secondary', text: 'Reset filters' })),
        );
        form.addEventListener('submit', (e) => e.preventDefault());
        form.addEventListener('change', (e) => this.onFilter(e.target));
        this.summary = h('p', { class: 'summary', role: 'status' });
        this.undoBar = h('div', { class: 'undo-bar', role: 'status', hidden: true });
        this.selectAll = h('input', { type: 'checkbox', id: 'dash-select-all', on: { change: () => this.toggleAll() } });
        this.bulkCount = h('span', { class: 'bulk-count', text: 'None selected' });
        this.bulkBar = this.buildBulk();
        this.tableBox = h('div', { class: 'dash-table' });
        this.more = h('div', { class: 'actions' });
        this.dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'dash-confirm-text' });
        clear(
            this.root,
            h('h1', { text: 'Action items' }),
            form,
            this.summary,
            this.undoBar,
            h('div', { class: 'bulk-bar', role: 'group', 'aria-label': 'Change the selected items' }, h('label', { class: 'check', for: 'dash-select-all' }, this.selectAll, ' Select all shown'), this.bulkCount, this.bulkBar),
            this.tableBox,
            this.more,
            this.dialog,
        );
    }

    // A filter changed: a new history entry (Back returns to the previous
    // filters), then the list again.
    onFilter(el) {
        if (!el?.name || !(el.name in this.f)) return;
        if (el.name === 'sort') {
            const [sort, order] = el.value.split(':');
            Object.assign(this.f, { sort: sort ?? '', order: order ?? 'asc' });
        } else {
            this.f[el.name] = el.value;
        }
        history.pushState(null, '', hashOf(this.f));
        this.load();
    }

    setSort(key) {
        const order = this.f.sort === key && this.f.order === 'asc' ? 'desc' : 'asc';
        Object.assign(this.f, { sort: key, order });
        this.controls.sort.value = `${key}:${order}`;
        history.pushState(null, '', hashOf(this.f));
        this.load().then(() => this.root.querySelector(`th[data-sort="${key}"] button`)?.focus());
    }

    // ---- loading ----------------------------------------------------------------

    async load(cursor) {
        const p = apiParams(this.f);
        this.csv.href = `/api/v1/actions.csv${qs(p)}`;
        // Filters changed quickly send several requests: only the newest
        // one's answer is shown, whatever order the answers come in.
        const seq = (this.loadSeq = (this.loadSeq ?? 0) + 1);
        const res = await api.get(`/api/v1/actions${qs({ ...p, limit: 200, cursor })}`);
        if (this.gone || seq !== this.loadSeq) return;
        this.items = cursor ? this.items.concat(res.items) : res.items;
        if (!cursor) this.selected.clear();
        const total = res.total ?? this.items.length;
        const od = res.overdue_total ?? this.items.filter((a) => a.overdue).length;
        this.summary.textContent = total ? `${plural(total, 'action item')}, ${od} overdue.` : 'No action items match these filters.';
        this.draw();
        clear(this.more, res.next ? h('button', { type: 'button', class: 'secondary', text: 'Show more', on: { click: () => this.load(res.next) } }) : null);
    }

    // ---- the table --------------------------------------------------------------

    headCell(text, key) {
        if (!key) return h('th', { scope: 'col', text });
        const on = this.f.sort === key;
        const dir = on ? (this.f.order === 'desc' ? 'descending' : 'ascending') : 'none';
        return h(
            'th',
            { scope: 'col', 'aria-sort': dir, dataset: { sort: key } },
            h('button', { type: 'button', class: 'sort-button', on: { click: () => this.setSort(key) } }, text, h('span', { class: 'sort-mark', 'aria-hidden': 'true', text: on ? (dir === 'ascending' ? ' ▲' : ' ▼') : ' ↕' })),
        );
    }

    draw() {
        const heads = [
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden', text: 'Select' })),
            this.headCell('Action item'),
            ...SORTS.slice(0, 4).map(([k, t]) => this.headCell(t, k)),
            this.headCell('Days overdue'),
            this.headCell('Status', 'status'),
            this.headCell('Closed', 'closed'),
        ];
        clear(
            this.tableBox,
            this.items.length
                ? h('table', { class: 'table responsive dash-list' }, h('caption', { class: 'visually-hidden', text: 'Action items; column headings with buttons sort the list' }), h('thead', {}, h('tr', {}, heads)), h('tbody', {}, this.items.map((a) => this.row(a))))
                : null,
        );
        this.syncSelection();
    }

    row(a) {
        const box = h('input', { type: 'checkbox', checked: this.selected.has(a.id), 'aria-label': `Select “${a.title}”`, on: { change: (e) => this.toggle(a.id, e.target.checked) } });
        const od = a.days_overdue;
        return h(
            'tr',
            { class: a.overdue ? 'has-overdue' : null, dataset: { id: a.id } },
            h('td', { class: 'pick', 'data-label': 'Select' }, box),
            h('th', { scope: 'row', 'data-label': 'Action item' }, h('a', { href: `#/cases/${a.case_id}`, text: a.title })),
            h('td', { 'data-label': 'Case' }, h('a', { href: `#/cases/${a.case_id}`, class: 'case-link' }, h('span', { class: 'case-number', text: a.case_number ?? `#${a.case_id}` }), ' ', h('span', { class: 'case-alias', text: a.case_alias ?? a.alias ?? '' }))),
            h('td', { 'data-label': 'Assigned to', text: a.assignee_name ?? 'Anyone at the agency' }),
            h('td', { 'data-label': 'Agency', text: a.assignee_agency_name ?? agencyName(a.assignee_agency_id) }),
            h('td', { 'data-label': 'Due', class: a.overdue ? 'overdue-text' : null, text: a.due_date ? date(a.due_date) : '—' }),
            h('td', { 'data-label': 'Days overdue', class: od ? 'overdue-text num' : 'num', text: od ? plural(od, 'day') : '—' }),
            h('td', { 'data-label': 'Status' }, this.statusEditor(a)),
            h('td', { 'data-label': 'Closed', text: a.closed_at ? `${a.closed_by_name ?? 'someone'}, ${dateTime(a.closed_at)}` : '—' }),
        );
    }

    // The explicit status change of one row: pick, then Save (never on change).
    statusEditor(a) {
        const sel = select(options('actionStatus'), a.status, { 'aria-label': `Status of “${a.title}”`, class: 'status-pick' });
        const save = h('button', { type: 'button', class: 'small', text: 'Save', disabled: true, 'aria-label': `Save the status of “${a.title}”` });
        sel.addEventListener('change', () => {
            save.disabled = sel.value === a.status;
        });
        save.addEventListener('click', () =>
            busy(save, async () => {
                const prev = a.status;
                const next = await this.patchOne(a, { status: sel.value });
                if (next) this.offerUndo(`“${a.title}” is now ${label('actionStatus', next.status)}.`, () => this.patchOne(next, { status: prev }, true));
            }),
        );
        return h('div', { class: 'status-edit' }, sel, save);
    }

    // PATCHes one item with its version and redraws it; the item or null.
    async patchOne(a, change, undoing = false) {
        try {
            const next = await api.patch(`/api/v1/actions/${a.id}`, { ...change, version: a.version });
            const keep = { case_number: a.case_number, case_alias: a.case_alias, alias: a.alias };
            const merged = { ...next, ...keep };
            this.items = this.items.map((x) => (x.id === a.id ? merged : x));
            this.draw();
            if (undoing) {
                this.hideUndo();
                announce(`“${a.title}” is ${label('actionStatus', merged.status)} again.`);
                this.root.querySelector(`tr[data-id="${a.id}"] .status-pick`)?.focus();
            }
            return merged;
        } catch (e) {
            this.showError(e, a);
            return null;
        }
    }

    showError(e, a) {
        const msg = e.status === 409 ? `“${a?.title ?? 'An item'}” was changed meanwhile; the list is reloaded.` : e.message;
        this.undoBar.hidden = false;
        clear(this.undoBar, h('p', { class: 'form-error', role: 'alert', text: msg }));
        if (e.status === 409) this.load();
    }

    // A note with an Undo button for UNDO_MS; undo() does the reverse change.
    offerUndo(text, undo) {
        clearTimeout(this.undoTimer);
        const btn = h('button', { type: 'button', class: 'secondary small', text: 'Undo' });
        btn.addEventListener('click', () => busy(btn, undo));
        this.undoBar.hidden = false;
        clear(this.undoBar, h('p', {}, text, ' ', btn));
        btn.focus();
        this.undoTimer = setTimeout(() => this.hideUndo(), UNDO_MS);
    }

    hideUndo() {
        clearTimeout(this.undoTimer);
        this.undoBar.hidden = true;
        clear(this.undoBar);
    }

    // ---- selection and bulk changes ------------------------------------------------

    toggle(id, on) {
        if (on) this.selected.add(id);
        else this.selected.delete(id);
        this.syncSelection();
    }

    toggleAll() {
        for (const a of this.items) this.toggle(a.id, this.selectAll.checked);
        for (const box of this.tableBox.querySelectorAll('td.pick input')) box.checked = this.selectAll.checked;
    }

    syncSelection() {
        const n = this.selected.size;
        this.selectAll.checked = n > 0 && n === this.items.length;
        this.selectAll.indeterminate = n > 0 && n < this.items.length;
        this.bulkCount.textContent = n ? `${plural(n, 'item')} selected` : 'None selected';
        this.bulkApply.disabled = n === 0;
    }

    buildBulk() {
        const what = select(
            [
                ['status', 'Set status'],
                ['assignee', 'Assign to'],
                ['due', 'Set due date'],
            ],
            'status',
            { name: 'bulk-what', 'aria-label': 'Change' },
        );
        const status = select(options('actionStatus'), 'done', { 'aria-label': 'New status' });
        const users = [...ctx.users.values()].sort((a, b) => a.display_name.localeCompare(b.display_name));
        const person = select(users.map((u) => [u.id, `${u.display_name} · ${agencyName(u.agency_id)}`]), '', { 'aria-label': 'New person responsible', hidden: true });
        const due = h('input', { type: 'date', 'aria-label': 'New due date', hidden: true });
        what.addEventListener('change', () => {
            status.hidden = what.value !== 'status';
            person.hidden = what.value !== 'assignee';
            due.hidden = what.value !== 'due';
        });
        this.bulkApply = h('button', { type: 'button', text: 'Apply…', disabled: true });
        this.bulkApply.addEventListener('click', () => {
            const set = what.value === 'status' ? { status: status.value } : what.value === 'due' ? { due_date: due.value || null } : this.assigneeSet(person.value);
            const words =
                what.value === 'status' ? `mark it as ${label('actionStatus', status.value)}` : what.value === 'due' ? (due.value ? `make it due on ${date(due.value)}` : 'remove its due date') : `assign it to ${person.selectedOptions[0]?.textContent ?? ''}`;
            this.confirmBulk(set, words);
        });
        return h('span', { class: 'bulk-controls' }, what, status, person, due, this.bulkApply);
    }

    assigneeSet(userId) {
        const u = ctx.users.get(Number(userId));
        return u ? { assignee_agency_id: u.agency_id, assignee_id: u.id } : { assignee_id: null };
    }

    // The confirmation that says how many; Confirm runs the bulk change.
    confirmBulk(set, words) {
        const n = this.selected.size;
        const text = n === 1 ? `Change 1 action item: ${words}?` : `Change ${n} action items: ${words.replace(/\bit\b/, 'them').replace(/\bits\b/, 'their')}?`;
        const ok = h('button', { type: 'button', text: `Change ${plural(n, 'item')}` });
        const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel', on: { click: () => this.dialog.close() } });
        ok.addEventListener('click', () => busy(ok, () => this.runBulk(set)));
        clear(this.dialog, h('p', { id: 'dash-confirm-text', text }), h('div', { class: 'actions' }, ok, cancel));
        this.dialog.showModal();
        cancel.focus();
    }

    async runBulk(set) {
        const chosen = this.items.filter((a) => this.selected.has(a.id));
        try {
            const res = await this.bulk(chosen, set);
            this.dialog.close();
            await this.load();
            const undo = groupUndo(chosen, set);
            this.offerUndo(`${plural(res.items.length, 'action item')} changed.`, async () => {
                const now = new Map(res.items.map((a) => [a.id, a]));
                try {
                    for (const g of undo) await this.bulk(g.items.map((a) => now.get(a.id) ?? a), g.set);
                } catch (e) {
                    this.showError(e);
                }
                this.hideUndo();
                await this.load();
                announce(`${plural(chosen.length, 'action item')} changed back.`);
            });
        } catch (e) {
            this.dialog.close();
            this.showError(e, chosen.find((a) => a.id === Number(/action item (\d+)/.exec(e.message)?.[1])));
        }
    }

    // POST /actions/bulk with each item's version.
    bulk(items, set) {
        const versions = Object.fromEntries(items.map((a) => [String(a.id), a.version]));
        return api.post('/api/v1/actions/bulk', { ids: items.map((a) => a.id), set, versions });
    }
}

// The reverse of a bulk change of the fields in `set`: the items grouped by
// what those fields were before (one bulk change per group).
function groupUndo(items, set) {
    const groups = new Map();
    for (const a of items) {
        const before = Object.fromEntries(Object.keys(set).map((k) => [k, a[k] ?? null]));
        const k = JSON.stringify(before);
        if (!groups.has(k)) groups.set(k, { set: before, items: [] });
        groups.get(k).items.push(a);
    }
    return [...groups.values()];
}
