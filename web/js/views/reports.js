// reports.js - the place for supervisors' reports (NCA case statistics,
// TIMS trafficking grant report). Reached only when app.js found the
// endpoint; shows a report's groups as tables and offers its CSV.

import { api, qs } from '../api.js';
import { h, clear, field, select } from '../dom.js';

export async function render(root, { query }) {
    const month = new Date().toISOString().slice(0, 7);
    const report = select(
        [
            ['nca', 'NCA case statistics'],
            ['tims', 'TIMS trafficking grant report'],
        ],
        query.get('report') ?? 'nca',
        { name: 'report' },
    );
    const from = h('input', { type: 'month', name: 'from', value: query.get('from') ?? `${month.slice(0, 4)}-01` });
    const to = h('input', { type: 'month', name: 'to', value: query.get('to') ?? month });
    const csv = h('a', { class: 'button secondary', download: 'report.csv', text: 'Download CSV' });
    const form = h('form', { class: 'filters', 'aria-label': 'Choose a report' }, field('Report', report), field('From month', from), field('To month', to), h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Show' }), csv));
    const out = h('div', { 'aria-live': 'polite' });
    clear(root, h('h1', { text: 'Reports' }), h('p', { class: 'hint', text: 'Counts over your agency’s cases, from tracking data and services only. Counts from 1 to 4 are shown as “<5”.' }), form, out);
    async function load() {
        const p = { from: from.value, to: to.value };
        csv.href = `/api/v1/reports/${report.value}${qs({ ...p, format: 'csv' })}`;
        history.replaceState(null, '', `#/reports${qs({ report: report.value, ...p })}`);
        try {
            const r = await api.get(`/api/v1/reports/${report.value}${qs({ ...p, format: 'json' })}`);
            const groups = r.groups ?? {};
            clear(
                out,
                Object.entries(groups).map(([name, g]) =>
                    h(
                        'table',
                        { class: 'table report' },
                        h('caption', { text: `${name.replace(/_/g, ' ')}${g.of ? ` — ${g.of}` : ''}` }),
                        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Value' }), h('th', { scope: 'col', text: 'Count' }))),
                        h('tbody', {}, Object.entries(g.counts ?? {}).map(([k, v]) => h('tr', {}, h('th', { scope: 'row', text: k.replace(/_/g, ' ') }), h('td', { class: 'num', text: typeof v === 'object' ? JSON.stringify(v) : String(v) })))),
                    ),
                ),
            );
        } catch (err) {
            clear(out, h('p', { role: 'alert', text: err.message }));
        }
    }
    form.addEventListener('submit', (e) => {
        e.preventDefault();
        load();
    });
    report.addEventListener('change', load);
    await load();
}
