// meetings.js - the place for meeting mode (agenda, attendance, "now
// discussing", outcomes, minutes). The meetings API is being built by
// another part of the team; this view lists what GET /api/v1/meetings
// answers and shows one meeting's agenda read-only, and is reached only
// when app.js found the endpoint. Live meeting events (subscribe_meeting)
// plug in here once the server sends them.

import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { dateTime, date } from '../format.js';

export async function render(root, { parts }) {
    if (parts[1] && /^\d+$/.test(parts[1])) return renderMeeting(root, Number(parts[1]));
    const from = new Date(Date.now() - 60 * 86400000).toISOString().slice(0, 10);
    const res = await api.get(`/api/v1/meetings?from=${from}`);
    clear(
        root,
        h('h1', { text: 'Meetings' }),
        res.items.length
            ? h(
                  'ul',
                  { class: 'plain meeting-list' },
                  res.items.map((m) => h('li', { class: 'card' }, h('a', { href: `#/meetings/${m.id}`, text: m.title }), ` · ${dateTime(m.scheduled_at)} · ${m.status?.replace('_', ' ') ?? ''}`)),
              )
            : h('p', { class: 'empty', text: 'No meetings in the last two months or planned.' }),
    );
}

async function renderMeeting(root, id) {
    const m = await api.get(`/api/v1/meetings/${id}`);
    clear(
        root,
        h('p', { class: 'crumbs' }, h('a', { href: '#/meetings', text: 'All meetings' })),
        h('h1', { text: m.title }),
        h('p', { text: `${dateTime(m.scheduled_at)} · ${m.status?.replace('_', ' ') ?? ''}` }),
        h('h2', { text: 'Agenda' }),
        h(
            'ol',
            { class: 'agenda' },
            (m.agenda ?? []).map((item) =>
                h(
                    'li',
                    { class: item.case_id && item.case_id === m.current_case_id ? 'is-current' : null },
                    item.restricted
                        ? h('span', { class: 'muted', text: 'A case your agency is not on' })
                        : h('a', { href: `#/cases/${item.case_id}`, text: `${item.case_number} ${item.alias}` }),
                    item.case_id && item.case_id === m.current_case_id ? h('span', { class: 'badge', text: 'Now discussing' }) : null,
                ),
            ),
        ),
        m.updated_at ? h('p', { class: 'hint', text: `Updated ${date(m.updated_at.slice(0, 10))}` }) : null,
    );
}
