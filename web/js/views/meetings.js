// meetings.js - meeting mode: the list of meetings (and "New meeting" for
// supervisors), and one meeting's page: agenda, attendance, status, the
// facilitator's "now discussing" that moves everyone's screen live,
// outcomes per agenda case, and the minutes.
//
// Live: the page subscribes with subscribe_meeting (live.js), and every
// meeting.updated / meeting.current_case event carries the whole meeting as
// this user may see it, so the page just re-renders from it. Agenda items
// the user may not see arrive as {position, restricted: true}: no alias,
// no case number, no link, ever.

import { api } from '../api.js';
import { ctx, announce, myRole, userName } from '../ctx.js';
import { h, clear, field, select, serverHtml, showFormError, busy, uid } from '../dom.js';
import { dateTime } from '../format.js';
import { loadDirectory } from './board.js';

const STATUS = { planned: 'Planned', in_progress: 'In progress', ended: 'Ended' };

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
                  res.items.map((m) =>
                      h('li', { class: 'card' }, h('a', { href: `#/meetings/${m.id}`, text: m.title }), ` · ${dateTime(m.scheduled_at)} · ${STATUS[m.status] ?? m.status ?? ''}`),
                  ),
              )
            : h('p', { class: 'empty', text: 'No meetings in the last two months or planned.' }),
    );
}

function newMeetingForm() {
    const title = h('input', { type: 'text', name: 'title', required: true, maxlength: '200', autocomplete: 'off' });
    const when = h('input', { type: 'datetime-local', name: 'scheduled_at', required: true });
    const dflt = h('input', { type: 'checkbox', name: 'default_agenda', id: uid('f'), checked: true });
    const submit = h('button', { type: 'submit', class: 'primary', text: 'Create meeting' });
    const form = h(
        'form',
        { class: 'stack', novalidate: true },
        field('Title', title),
        field('Date and time', when),
        h('div', { class: 'field check' }, dflt, h('label', { for: dflt.id, text: 'Default agenda: open cases not reviewed in 14 days, and cases with overdue action items' })),
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
        if (dflt.checked) body.default_agenda = { not_reviewed_days: 14, with_overdue_actions: true };
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

class MeetingPage {
    constructor(root, id) {
        this.root = root;
        this.id = id;
        this.m = null;
        this.destroyed = false;
        this.editing = new Set(); // case ids whose outcome editor is open
    }

    async load() {
        try {
            await loadDirectory();
        } catch {
            // names fall back to "User #id"
        }
        this.m = await api.get(`/api/v1/meetings/${this.id}`);
        this.render();
    }

    follow() {
        ctx.live?.subscribeMeeting(this.id, {
            event: (msg) => this.apply(msg.data, msg.kind),
            resync: () => this.reload(),
            reconnected: () => this.reload(),
        });
    }

    destroy() {
        this.destroyed = true;
        ctx.live?.unsubscribeMeeting(this.id);
    }

    async reload() {
        if (this.destroyed) return;
        try {
            const m = await api.get(`/api/v1/meetings/${this.id}`);
            if (!this.destroyed) this.apply(m, 'reload');
        } catch {
            // the next event or reconnect tries again
        }
    }

    apply(m, kind) {
        if (this.destroyed || !m) return;
        if (this.m && m.version !== undefined && this.m.version !== undefined && m.version < this.m.version) return;
        const before = this.m;
        this.m = m;
        const moved = before && (before.current_position !== m.current_position || before.current_case_id !== m.current_case_id);
        const focusedId = document.activeElement?.id;
        this.render();
        if (focusedId) document.getElementById(focusedId)?.focus();
        if (moved) {
            const item = this.currentItem();
            if (!item) announce('Now discussing: nothing');
            else if (item.restricted) announce(`Now discussing agenda item ${item.position}: a case not shared with your agency`);
            else announce(`Now discussing agenda item ${item.position}: ${item.case_number} ${item.alias}`);
        } else if (before && before.status !== m.status) announce(`Meeting ${STATUS[m.status]?.toLowerCase() ?? m.status}`);
        void kind;
    }

    isFacilitator() {
        return this.m.facilitator_id === ctx.me?.user?.id;
    }

    currentItem() {
        const pos = this.m.current_position;
        if (pos === null || pos === undefined) return null;
        return (this.m.agenda ?? []).find((i) => i.position === pos) ?? null;
    }

    async patch(body, button) {
        try {
            const m = await busy(button, () => api.patch(`/api/v1/meetings/${this.id}`, { ...body, version: this.m.version }));
            this.apply(m, 'patch');
            // The re-rendered button keeps the focus (or the picker, at an end).
            const again = button?.id ? document.getElementById(button.id) : null;
            (again && !again.disabled ? again : (document.getElementById('m-select') ?? document.getElementById('now-title')))?.focus();
        } catch (e) {
            if (e.code === 'conflict' || e.status === 409) await this.reload();
            this.showError(e);
        }
    }

    showError(e) {
        const box = this.root.querySelector('#meeting-error');
        if (box) {
            box.hidden = false;
            box.textContent = e.message ?? String(e);
        }
    }

    render() {
        const m = this.m;
        const fac = this.isFacilitator();
        const agenda = m.agenda ?? [];
        const cur = this.currentItem();
        clear(
            this.root,
            h('p', { class: 'crumbs' }, h('a', { href: '#/meetings', text: 'All meetings' })),
            h('h1', { text: m.title }),
            h(
                'p',
                { class: 'meeting-meta' },
                `${dateTime(m.scheduled_at)} · `,
                h('span', { class: ['badge', m.status === 'in_progress' ? 'ok' : 'muted'], text: STATUS[m.status] ?? m.status }),
                ` · Facilitator: ${userName(m.facilitator_id)}`,
            ),
            h('p', { id: 'meeting-error', class: 'form-error', role: 'alert', hidden: true }),
            h(
                'section',
                { class: 'now-discussing card', 'aria-labelledby': 'now-title' },
                h('h2', { id: 'now-title', text: 'Now discussing' }),
                h(
                    'p',
                    { class: 'now-item' },
                    !cur
                        ? h('span', { class: 'muted', text: m.status === 'ended' ? 'The meeting has ended.' : 'Nothing yet.' })
                        : cur.restricted
                          ? h('span', { class: 'restricted-item', text: `${cur.position}. Restricted case — not shared with your agency` })
                          : h('a', { href: `#/cases/${cur.case_id}`, text: `${cur.position}. ${cur.case_number} ${cur.alias} — open the board` }),
                ),
                fac ? this.controls(agenda) : null,
            ),
            h('section', { 'aria-labelledby': 'agenda-title' }, h('h2', { id: 'agenda-title', text: 'Agenda' }), agenda.length ? h('ol', { class: 'agenda plain' }, agenda.map((i) => this.agendaItem(i, fac))) : h('p', { class: 'empty', text: 'The agenda is empty.' })),
            this.attendance(fac),
            h(
                'section',
                { 'aria-labelledby': 'minutes-title' },
                h('h2', { id: 'minutes-title', text: 'Minutes' }),
                h(
                    'ul',
                    { class: 'plain minutes-links' },
                    h('li', {}, h('a', { href: `/api/v1/meetings/${m.id}/minutes?format=html`, target: '_blank', rel: 'noopener', text: 'Minutes (web page, opens in a new tab)' })),
                    h('li', {}, h('a', { href: `/api/v1/meetings/${m.id}/minutes?format=md`, download: `minutes-${m.id}.md`, text: 'Minutes (Markdown file)' })),
                ),
            ),
        );
    }

    controls(agenda) {
        const m = this.m;
        const positions = agenda.map((i) => i.position);
        const idx = positions.indexOf(m.current_position);
        const box = h('div', { class: 'meeting-controls' });
        if (m.status === 'planned') {
            const b = h('button', { type: 'button', class: 'primary', id: 'm-start', text: 'Start meeting' });
            b.addEventListener('click', () => this.patch({ status: 'in_progress', ...(positions.length && m.current_position == null ? { current_position: positions[0] } : {}) }, b));
            box.append(b);
        }
        if (m.status === 'in_progress') {
            const prev = h('button', { type: 'button', id: 'm-prev', text: 'Previous', disabled: idx <= 0 });
            const next = h('button', { type: 'button', class: 'primary', id: 'm-next', text: 'Next', disabled: !positions.length || idx >= positions.length - 1 });
            prev.addEventListener('click', () => this.patch({ current_position: positions[idx - 1] }, prev));
            next.addEventListener('click', () => this.patch({ current_position: idx < 0 ? positions[0] : positions[idx + 1] }, next));
            const sel = select(
                [['', '— choose an agenda item —'], ...agenda.map((i) => [i.position, i.restricted ? `${i.position}. Restricted case` : `${i.position}. ${i.case_number} ${i.alias}`])],
                m.current_position ?? '',
                { id: 'm-select' },
            );
            sel.addEventListener('change', () => {
                if (sel.value !== '') this.patch({ current_position: Number(sel.value) }, sel);
            });
            const end = h('button', { type: 'button', id: 'm-end', text: 'End meeting' });
            end.addEventListener('click', () => {
                if (confirm('End the meeting for everyone?')) this.patch({ status: 'ended' }, end);
            });
            box.append(h('div', { class: 'row' }, prev, next), field('Set now discussing', sel), h('div', { class: 'row' }, end));
        }
        return box.childElementCount ? box : null;
    }

    agendaItem(item, fac) {
        const current = item.position === this.m.current_position;
        const li = h('li', { class: ['card', 'agenda-item', current ? 'is-current' : null, item.restricted ? 'is-restricted' : null], dataset: { position: String(item.position) }, 'aria-current': current ? 'true' : null });
        const headRow = h('div', { class: 'agenda-head' }, h('span', { class: 'agenda-pos', text: `${item.position}.` }));
        if (item.restricted) {
            headRow.append(h('span', { class: 'restricted-item', text: 'Restricted case — not shared with your agency' }));
            if (current) headRow.append(h('span', { class: 'badge ok', text: 'Now discussing' }));
            li.append(headRow);
            return li;
        }
        headRow.append(h('a', { href: `#/cases/${item.case_id}`, text: `${item.case_number} ${item.alias}` }));
        if (current) headRow.append(h('span', { class: 'badge ok', text: 'Now discussing' }));
        li.append(headRow);
        const out = h('div', { class: 'outcome' });
        if (item.outcome_html) out.append(h('h3', { class: 'outcome-title', text: 'Outcome' }), serverHtml(h('div', { class: 'md' }), item.outcome_html));
        else out.append(h('p', { class: 'muted', text: 'No outcome recorded yet.' }));
        li.append(out);
        if (fac && this.m.status !== 'ended') li.append(this.outcomeEditor(item));
        return li;
    }

    outcomeEditor(item) {
        const ta = h('textarea', { name: 'outcome_md', rows: '4', id: `outcome-${item.case_id}`, value: item.outcome_md ?? '' });
        const save = h('button', { type: 'submit', class: 'primary', text: 'Save outcome' });
        const form = h('form', { class: 'stack' }, field(`Outcome for ${item.case_number} (Markdown)`, ta), h('div', { class: 'actions' }, save));
        form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            showFormError(form, null);
            try {
                await busy(save, () => api.put(`/api/v1/meetings/${this.id}/cases/${item.case_id}/outcome`, { outcome_md: ta.value }));
                this.editing.delete(item.case_id);
                announce(`Outcome saved for ${item.case_number}`);
                await this.reload();
            } catch (e) {
                showFormError(form, e);
            }
        });
        const d = h('details', { class: 'add-box', open: this.editing.has(item.case_id) }, h('summary', { text: item.outcome_md ? 'Edit outcome' : 'Record outcome' }), form);
        d.addEventListener('toggle', () => (d.open ? this.editing.add(item.case_id) : this.editing.delete(item.case_id)));
        return d;
    }

    attendance(fac) {
        const m = this.m;
        const me = ctx.me?.user?.id;
        const here = (m.attendees ?? []).includes(me);
        const sec = h('section', { 'aria-labelledby': 'att-title' }, h('h2', { id: 'att-title', text: `Attendance (${(m.attendees ?? []).length})` }));
        sec.append(
            (m.attendees ?? []).length
                ? h('ul', { class: 'plain attendees' }, (m.attendees ?? []).map((uidv) => h('li', { text: userName(uidv) })))
                : h('p', { class: 'empty', text: 'Nobody has checked in yet.' }),
        );
        if (m.status !== 'ended') {
            if (!here) {
                const b = h('button', { type: 'button', id: 'm-checkin', class: 'primary', text: "I'm here" });
                b.addEventListener('click', () => this.checkIn(null, b));
                sec.append(b);
            } else sec.append(h('p', { class: 'hint', text: 'You are checked in.' }));
            if (fac) {
                const others = [...(ctx.users?.values() ?? [])].filter((u) => !(m.attendees ?? []).includes(u.id)).sort((a, b) => a.display_name.localeCompare(b.display_name));
                if (others.length) {
                    const sel = select([['', '— choose a person —'], ...others.map((u) => [u.id, u.display_name])], '', { id: 'm-mark' });
                    const b = h('button', { type: 'submit', text: 'Mark present' });
                    const form = h('form', { class: 'row mark-present' }, field('Mark someone present', sel), b);
                    form.addEventListener('submit', (ev) => {
                        ev.preventDefault();
                        if (sel.value) this.checkIn(Number(sel.value), b);
                    });
                    sec.append(form);
                }
            }
        }
        return sec;
    }

    async checkIn(userId, button) {
        try {
            const res = await busy(button, () => api.post(`/api/v1/meetings/${this.id}/attendance`, userId ? { user_id: userId } : {}));
            if (res && res.id === this.id) this.apply(res, 'attendance');
            else await this.reload();
            announce(userId ? `${userName(userId)} marked present` : 'You are checked in');
        } catch (e) {
            this.showError(e);
        }
    }
}
