// meetings.js - meeting mode's entry: the list of meetings (and "New
// meeting" for supervisors, with the default agenda explained) and the
// route to one meeting's page (meeting_page.js).

import { api } from '../api.js';
import { myRole } from '../ctx.js';
import { h, clear, field, showFormError, busy, uid } from '../dom.js';
import { dateTime } from '../format.js';
import { MeetingPage, statusBadge } from './meeting_page.js';

export async function render(root, { parts }) {
    if (parts[1] && /^\d+$/.test(parts[1])) return renderMeeting(root, Number(parts[1]));
    return renderList(root);
}

async function renderList(root) {
    const from = new Date(Date.now() - 60 * 86400000).toISOString().slice(0, 10);
    const res = await api.get(`/api/v1/meetings?from=${from}`);
    const supervisor = myRole() === 'supervisor';
    clear(
        root,
        h('h1', { text: 'Meetings' }),
        supervisor ? newMeetingForm() : null,
        res.items.length
            ? h(
                  'ul',
                  { class: 'plain meeting-list' },
                  res.items.map((m) => h('li', { class: 'card' }, h('a', { href: `#/meetings/${m.id}`, text: m.title }), ` · ${dateTime(m.scheduled_at)} · `, statusBadge(m.status))),
              )
            : h('p', { class: 'empty', text: 'No meetings in the last two months or planned.' }),
    );
}

// The default agenda, in the order the server builds it (docs/meetings.md).
const DEFAULT_AGENDA = { not_reviewed_days: 14, with_overdue_actions: true, review_due: true, carry_over: true };

function newMeetingForm() {
    const title = h('input', { type: 'text', name: 'title', required: true, maxlength: '200', autocomplete: 'off' });
    const when = h('input', { type: 'datetime-local', name: 'scheduled_at', required: true });
    const dflt = h('input', { type: 'checkbox', name: 'default_agenda', id: uid('f'), checked: true, 'aria-describedby': 'dflt-explained' });
    const submit = h('button', { type: 'submit', class: 'primary', text: 'Create meeting' });
    const form = h(
        'form',
        { class: 'stack', novalidate: true },
        field('Title', title),
        field('Date and time', when),
        h('div', { class: 'field check' }, dflt, h('label', { for: dflt.id, text: 'Start from the default agenda' })),
        h(
            'div',
            { class: 'hint', id: 'dflt-explained' },
            h('p', { text: 'The default agenda takes the cases your agency is on, in this order:' }),
            h(
                'ol',
                {},
                h('li', { text: 'carried over: on your agency’s last ended meeting but given no outcome there;' }),
                h('li', { text: 'cases with overdue action items;' }),
                h('li', { text: 'cases whose review is due by the meeting’s day (their “review every N weeks”);' }),
                h('li', { text: 'open cases not reviewed in the last 14 days.' }),
            ),
            h('p', { text: 'Each case shows why it is there. You can add, remove and reorder cases on the meeting’s page.' }),
        ),
        h('div', { class: 'actions' }, submit),
    );
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        showFormError(form, null);
        if (!title.value.trim() || !when.value) {
            showFormError(form, { message: 'Enter a title and a date and time.', field: !title.value.trim() ? 'title' : 'scheduled_at' });
            return;
        }
        const body = { title: title.value.trim(), scheduled_at: new Date(when.value).toISOString() };
        if (dflt.checked) body.default_agenda = DEFAULT_AGENDA;
        try {
            const m = await busy(submit, () => api.create('/api/v1/meetings', body));
            location.hash = `#/meetings/${m.id}`;
        } catch (e) {
            showFormError(form, e);
        }
    });
    return h('details', { class: 'add-box' }, h('summary', { text: 'New meeting' }), form);
}

async function renderMeeting(root, id) {
    const page = new MeetingPage(root, id);
    await page.load();
    page.follow();
    return () => page.destroy();
}
