// meeting_page.js - one meeting's page (#/meetings/{id}), which runs the
// meeting: the "Now discussing" card (the facilitator's Start / Previous /
// Next / End, the current case's summary, its outcome editor and the forms
// that record decisions and action items in the meeting), the agenda and
// its builder (meeting_agenda.js), attendance picked per agency, the
// facilitator hand-over, and the ended state (minutes ready, approval,
// corrections).
//
// Live: the page subscribes with subscribe_meeting (live.js); every
// meeting.updated / meeting.current_case event carries the whole meeting
// as this user may see it. The page is a fixed skeleton whose parts are
// re-rendered from it; what a person types lives in objects kept for the
// page's lifetime (OutcomeEditor, CurrentCase) and in drafts (drafts.js),
// so no update, Next/Previous or reload discards it. When "now discussing"
// moves, the card scrolls into view for everyone and the move is announced.

import { api } from '../api.js';
import { ctx, agencyName, announce, userName } from '../ctx.js';
import { h, clear, field, select, serverHtml, busy, showFormError } from '../dom.js';
import { dateTime } from '../format.js';
import { loadDirectory } from './board.js';
import { AgendaView } from './meeting_agenda.js';
import { OutcomeEditor } from './meeting_outcome.js';
import { CurrentCase } from './meeting_summary.js';

export const STATUS = { planned: 'Planned', in_progress: 'In progress', ended: 'Ended' };

// statusBadge(status) - words and a distinct shape per status, never colour alone.
export function statusBadge(status) {
    return h('span', { class: ['badge', 'meeting-status', `meeting-${status}`], text: STATUS[status] ?? status });
}

export class MeetingPage {
    constructor(root, id) {
        this.root = root;
        this.id = id;
        this.m = null;
        this.destroyed = false;
        this.editors = new Map(); // case id -> OutcomeEditor
        this.cases = new Map(); // case id -> CurrentCase
        this.caseAgencies = new Map(); // case id -> agency ids (facilitator: for attendance)
    }

    async load() {
        await loadDirectory().catch(() => {}); // names fall back to "User #id"
        this.m = await api.get(`/api/v1/meetings/${this.id}`);
        this.build();
        this.render();
        this.showCurrent();
        if (this.isFacilitator()) this.loadCaseAgencies();
    }

    follow() {
        ctx.live?.subscribeMeeting(this.id, {
            event: (msg) => this.apply(msg.data),
            resync: () => this.reload(),
            reconnected: () => this.reload(),
        });
    }

    destroy() {
        this.destroyed = true;
        ctx.live?.unsubscribeMeeting(this.id);
        for (const cc of this.cases.values()) cc.unfollow();
    }

    async reload() {
        if (this.destroyed) return;
        try {
            const m = await api.get(`/api/v1/meetings/${this.id}`);
            if (!this.destroyed) this.apply(m);
        } catch {
            // the next event or reconnect tries again
        }
    }

    // apply(m) - a newer state of the meeting (REST answer or event).
    apply(m) {
        if (this.destroyed || !m) return;
        // The same version is the same state (for this user): nothing to redo.
        if (this.m && m.version !== undefined && this.m.version !== undefined && m.version <= this.m.version) return;
        const before = this.m;
        this.m = m;
        const moved = before.current_position !== m.current_position || before.current_case_id !== m.current_case_id || before.status !== m.status;
        this.render();
        if (moved) this.followCurrent(before);
        if (before.facilitator_id !== m.facilitator_id) {
            announce(`${userName(m.facilitator_id)} now facilitates this meeting`);
            if (this.isFacilitator()) this.loadCaseAgencies();
        }
    }

    // followCurrent(before) - "now discussing" moved (or the status changed):
    // the card comes into view for everyone, unless the person is typing
    // somewhere else on the page; the move is announced.
    followCurrent(before) {
        const m = this.m;
        const item = this.currentItem();
        this.showCurrent();
        const active = document.activeElement;
        const typing = active && active !== document.body && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName) && !this.nowEl.contains(active);
        if (!typing) {
            this.nowEl.scrollIntoView({ block: 'start' });
            if (!active || active === document.body || !active.isConnected) this.nowTitle.focus({ preventScroll: true });
        }
        if (before.status !== m.status) announce(`Meeting ${STATUS[m.status]?.toLowerCase() ?? m.status}`);
        if (m.status !== 'in_progress') return;
        if (!item) announce('Now discussing: nothing');
        else if (item.restricted) announce(`Now discussing agenda item ${item.position}: a case not shared with your agency`);
        else announce(`Now discussing agenda item ${item.position}: ${item.case_number} ${item.alias}`);
    }

    isFacilitator() {
        return this.m.facilitator_id === ctx.me?.user?.id;
    }

    currentItem() {
        const pos = this.m.current_position;
        if (this.m.status !== 'in_progress' || pos === null || pos === undefined) return null;
        return (this.m.agenda ?? []).find((i) => i.position === pos) ?? null;
    }

    // patch(body, button, {keepFocus}) - one PATCH with the meeting's
    // version. Returns the new meeting, or null after showing the error (a
    // conflict reloads the meeting first).
    async patch(body, button, { keepFocus = true } = {}) {
        this.showError(null);
        try {
            const m = await busy(button, () => api.patch(`/api/v1/meetings/${this.id}`, { ...body, version: this.m.version }));
            this.apply(m);
            if (keepFocus) {
                const again = button?.id ? document.getElementById(button.id) : null;
                (again && !again.disabled ? again : (document.getElementById('m-select') ?? this.nowTitle))?.focus({ preventScroll: true });
            }
            return m;
        } catch (e) {
            if (e.code === 'conflict' || e.status === 409) await this.reload();
            this.showError(e);
            return null;
        }
    }

    showError(e) {
        this.errorEl.hidden = !e;
        this.errorEl.textContent = e ? e.message ?? String(e) : '';
    }

    // ---- the skeleton, built once ----

    build() {
        this.headEl = h('div', { class: 'meeting-head' });
        this.errorEl = h('p', { id: 'meeting-error', class: 'form-error', role: 'alert', hidden: true });
        this.nowTitle = h('h2', { id: 'now-title', tabindex: '-1' });
        this.nowItemEl = h('div', { class: 'now-item' });
        this.controlsEl = h('div', { class: 'meeting-controls' });
        this.currentEl = h('div', { class: 'now-case' });
        this.nowEl = h('section', { class: 'now-discussing card', 'aria-labelledby': 'now-title' }, this.nowTitle, this.nowItemEl, this.controlsEl, this.currentEl);
        this.agenda = new AgendaView(this);
        this.attEl = h('section', { 'aria-labelledby': 'att-title' });
        this.handoverEl = h('section', { class: 'handover', 'aria-labelledby': 'handover-title' });
        this.minutesEl = h('section', { 'aria-labelledby': 'minutes-title' });
        clear(
            this.root,
            h('p', { class: 'crumbs' }, h('a', { href: '#/meetings', text: 'All meetings' })),
            this.headEl,
            this.errorEl,
            h('div', { class: 'meeting-grid' }, h('div', { class: 'meeting-main' }, this.nowEl), h('div', { class: 'meeting-side' }, this.agenda.el, this.attEl, this.handoverEl, this.minutesEl)),
        );
    }

    render() {
        const active = document.activeElement;
        const sel = active && 'selectionStart' in active ? [active.selectionStart, active.selectionEnd] : null;
        this.renderHead();
        this.renderNow();
        this.agenda.render((item) => this.agendaSlot(item));
        this.renderAttendance();
        this.renderHandover();
        this.renderMinutes();
        // Moving a persistent editor blurs it: give the focus back; a
        // rebuilt control gets it on its successor (same id or name).
        if (active && active.isConnected && document.activeElement !== active) {
            active.focus({ preventScroll: true });
            if (sel && sel[0] !== null) active.setSelectionRange?.(sel[0], sel[1]);
        } else if (active && !active.isConnected) this.successor(active)?.focus({ preventScroll: true });
    }

    successor(el) {
        if (el.id) return document.getElementById(el.id);
        const name = el.getAttribute('aria-label');
        return name ? [...this.root.querySelectorAll(`${el.tagName}[aria-label]`)].find((x) => x.getAttribute('aria-label') === name && !x.disabled) : null;
    }

    renderHead() {
        const m = this.m;
        document.title = `${m.title} · Meeting · MDT Board`;
        clear(this.headEl, h('h1', { text: m.title }), h('p', { class: 'meeting-meta' }, `${dateTime(m.scheduled_at)} · `, statusBadge(m.status), ` · Facilitator: ${userName(m.facilitator_id)}`));
    }

    // editorSlot(item) - the case's persistent outcome editor (facilitator)
    // or null. In an ended meeting it is a closed "Edit outcome" / "Correct
    // this outcome" disclosure (a reason is asked once minutes are approved).
    editorSlot(item) {
        if (!this.isFacilitator()) return null;
        let ed = this.editors.get(item.case_id);
        if (!ed) {
            ed = new OutcomeEditor(this, item);
            this.editors.set(item.case_id, ed);
        } else ed.update(item);
        return ed.el;
    }

    // agendaSlot(item) - in the agenda an editor stays open only while it
    // holds unsaved text.
    agendaSlot(item) {
        const el = this.editorSlot(item);
        if (el && !this.editors.get(item.case_id).dirty() && !el.contains(document.activeElement)) el.open = false;
        return el;
    }

    renderNow() {
        const m = this.m;
        const cur = this.currentItem();
        this.nowEl.classList.toggle('is-ended', m.status === 'ended');
        if (m.status === 'ended') {
            this.nowTitle.textContent = 'Meeting ended';
            clear(
                this.nowItemEl,
                h('p', {}, `Ended ${dateTime(m.ended_at)}. Outcomes are read-only now; the facilitator can still correct one${m.minutes?.status === 'approved' ? ', giving a reason' : ''}.`),
                h('p', { class: 'minutes-ready' }, h('strong', { text: 'Minutes ready: ' }), h('a', { href: `/api/v1/meetings/${m.id}/minutes?format=html`, target: '_blank', rel: 'noopener', text: 'read or print them (new tab)' })),
            );
            clear(this.controlsEl, this.approval());
            clear(this.currentEl);
            return;
        }
        this.nowTitle.textContent = 'Now discussing';
        clear(
            this.nowItemEl,
            h(
                'p',
                { class: 'now-line' },
                !cur
                    ? h('span', { class: 'muted', text: m.status === 'planned' ? 'Nothing yet: the meeting has not started.' : 'Nothing: choose an agenda item.' })
                    : cur.restricted
                      ? h('span', { class: 'restricted-item', text: `${cur.position}. Restricted case — not shared with your agency` })
                      : h('a', { href: `#/cases/${cur.case_id}`, text: `${cur.position}. ${cur.case_number} ${cur.alias} — open the board` }),
            ),
        );
        clear(this.controlsEl, this.isFacilitator() ? this.controls() : null);
        if (!cur || cur.restricted) {
            clear(this.currentEl);
            return;
        }
        const cc = this.currentCase(cur.case_id);
        cc.showForms(m.status === 'in_progress');
        const out = h('div', { class: 'outcome' });
        if (cur.outcome_html) out.append(h('h3', { class: 'outcome-title', text: 'Outcome' }), serverHtml(h('div', { class: 'md' }), cur.outcome_html));
        else if (!this.isFacilitator()) out.append(h('p', { class: 'muted', text: 'No outcome recorded yet.' }));
        const editor = this.editorSlot(cur);
        if (editor) editor.open = true;
        clear(this.currentEl, cc.summaryEl, out, editor, cc.recordedEl, cc.formsEl);
    }

    currentCase(caseId) {
        let cc = this.cases.get(caseId);
        if (!cc) {
            cc = new CurrentCase(this, caseId);
            this.cases.set(caseId, cc);
        }
        return cc;
    }

    // showCurrent() - (re)loads the summary of the case now discussed and
    // follows it live; the case discussed before is no longer followed.
    showCurrent() {
        const cur = this.currentItem();
        const id = cur && !cur.restricted ? cur.case_id : null;
        for (const [cid, cc] of this.cases) if (cid !== id) cc.unfollow();
        if (id) this.currentCase(id).load();
    }

    controls() {
        const m = this.m;
        const agenda = m.agenda ?? [];
        const positions = agenda.map((i) => i.position);
        const idx = positions.indexOf(m.current_position);
        const box = h('div');
        if (m.status === 'planned') {
            const b = h('button', { type: 'button', class: 'primary', id: 'm-start', text: 'Start meeting' });
            b.addEventListener('click', () => this.patch({ status: 'in_progress', ...(positions.length && m.current_position == null ? { current_position: positions[0] } : {}) }, b));
            box.append(b);
            return box;
        }
        const prev = h('button', { type: 'button', id: 'm-prev', text: 'Previous', disabled: idx <= 0 });
        const next = h('button', { type: 'button', class: 'primary', id: 'm-next', text: 'Next', disabled: !positions.length || idx >= positions.length - 1 });
        prev.addEventListener('click', () => this.patch({ current_position: positions[idx - 1] }, prev));
        next.addEventListener('click', () => this.patch({ current_position: idx < 0 ? positions[0] : positions[idx + 1] }, next));
        const sel = select([['', '— choose an agenda item —'], ...agenda.map((i) => [i.position, i.restricted ? `${i.position}. Restricted case` : `${i.position}. ${i.case_number} ${i.alias}`])], m.current_position ?? '', { id: 'm-select' });
        // Choosing an item changes nothing until Apply (WCAG 3.2.2): moving
        // "now discussing" moves every participant's screen.
        const apply = h('button', { type: 'button', id: 'm-apply', class: 'small', text: 'Apply', disabled: true });
        sel.addEventListener('change', () => (apply.disabled = sel.value === '' || Number(sel.value) === m.current_position));
        apply.addEventListener('click', () => this.patch({ current_position: Number(sel.value) }, apply));
        const end = h('button', { type: 'button', id: 'm-end', class: 'secondary', text: 'End meeting' });
        end.addEventListener('click', () => {
            if (confirm('End the meeting for everyone? The agenda and "now discussing" are then fixed, and the minutes are ready for approval.')) this.patch({ status: 'ended' }, end);
        });
        box.append(h('div', { class: 'row' }, prev, next), h('div', { class: 'row apply-row' }, field('Set now discussing', sel), apply), h('div', { class: 'row' }, end));
        return box;
    }

    // approval() - the ended meeting's minutes state; the facilitator
    // approves draft minutes (once the server supports it).
    approval() {
        const mins = this.m.minutes;
        if (!mins) return null;
        if (mins.status === 'approved') {
            return h('p', { class: 'minutes-state' }, h('span', { class: 'badge ok', text: 'Minutes approved' }), ` by ${userName(mins.approved_by)} on ${dateTime(mins.approved_at)} (version ${mins.version}). A change now is a correction with a reason.`);
        }
        const p = h('p', { class: 'minutes-state' }, h('span', { class: 'badge muted', text: 'Draft — not approved' }));
        if (!this.isFacilitator()) return p;
        const b = h('button', { type: 'button', class: 'primary', id: 'm-approve', text: 'Approve minutes' });
        b.addEventListener('click', async () => {
            if (!confirm('Approve the minutes? After approval they cannot be changed, only corrected with a reason.')) return;
            this.showError(null);
            try {
                const m = await busy(b, () => api.post(`/api/v1/meetings/${this.id}/minutes/approve`, { version: this.m.version }));
                this.apply(m);
                announce('Minutes approved');
                this.nowTitle.focus();
            } catch (e) {
                if (e.status === 409) await this.reload();
                this.showError(e);
            }
        });
        return h('div', {}, p, b);
    }

    // ---- attendance, per agency ----

    // The directory grouped by agency: agencies of the agenda's cases first
    // (as far as the facilitator knows them), then the others by name.
    usersByAgency(exclude) {
        const groups = new Map();
        for (const u of ctx.users?.values() ?? []) {
            if (exclude.has(u.id)) continue;
            if (!groups.has(u.agency_id)) groups.set(u.agency_id, []);
            groups.get(u.agency_id).push(u);
        }
        const onAgenda = new Set([this.m.agency_id]);
        for (const item of this.m.agenda ?? []) for (const a of this.caseAgencies.get(item.case_id) ?? []) onAgenda.add(a);
        return [...groups.entries()]
            .map(([aid, users]) => ({ aid, name: agencyName(aid), first: onAgenda.has(aid), users: users.sort((a, b) => a.display_name.localeCompare(b.display_name)) }))
            .sort((a, b) => Number(b.first) - Number(a.first) || a.name.localeCompare(b.name));
    }

    peopleSelect(id, exclude, placeholder) {
        const groups = this.usersByAgency(exclude);
        return h(
            'select',
            { id },
            h('option', { value: '', text: placeholder }),
            groups.map((g) => h('optgroup', { label: g.first ? `${g.name} (on this agenda)` : g.name }, g.users.map((u) => h('option', { value: String(u.id), text: `${u.display_name} — ${g.name}` })))),
        );
    }

    // loadCaseAgencies() - which agencies are on the agenda's cases (one
    // page of the case list), to put them first in the pickers.
    async loadCaseAgencies() {
        try {
            const res = await api.get('/api/v1/cases?limit=200');
            for (const c of res.items) this.caseAgencies.set(c.id, c.agencies ?? []);
            if (!this.destroyed) {
                this.renderAttendance();
                this.renderHandover();
            }
        } catch {
            // the pickers stay ordered by name
        }
    }

    renderAttendance() {
        const m = this.m;
        const attendees = m.attendees ?? [];
        const byAgency = new Map();
        for (const id of attendees) {
            const aid = ctx.users.get(id)?.agency_id ?? null;
            if (!byAgency.has(aid)) byAgency.set(aid, []);
            byAgency.get(aid).push(userName(id));
        }
        clear(
            this.attEl,
            h('h2', { id: 'att-title', text: `Attendance (${attendees.length})` }),
            attendees.length
                ? h('ul', { class: 'plain attendees' }, [...byAgency.entries()].map(([aid, names]) => h('li', {}, h('strong', { text: `${aid === null ? 'Unknown agency' : agencyName(aid)}: ` }), names.join(', '))))
                : h('p', { class: 'empty', text: 'Nobody has checked in yet.' }),
        );
        const me = ctx.me?.user?.id;
        if (m.status !== 'ended') {
            if (!attendees.includes(me)) {
                const b = h('button', { type: 'button', id: 'm-checkin', class: 'primary', text: "I'm here" });
                b.addEventListener('click', () => this.checkIn(null, b));
                this.attEl.append(b);
            } else this.attEl.append(h('p', { class: 'hint', text: 'You are checked in.' }));
        }
        if (!this.isFacilitator()) return;
        const wasValue = this.attEl.querySelector('#m-mark')?.value;
        const sel = this.peopleSelect('m-mark', new Set(attendees), '— choose a person —');
        if (sel.querySelectorAll('option').length <= 1) return;
        const b = h('button', { type: 'submit', text: 'Mark present' });
        const form = h('form', { class: 'row mark-present' }, field('Mark someone present (grouped by agency)', sel), b);
        form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            if (sel.value) this.checkIn(Number(sel.value), b);
        });
        if (wasValue) sel.value = wasValue;
        this.attEl.append(form);
    }

    async checkIn(userId, button) {
        this.showError(null);
        try {
            const res = await busy(button, () => api.post(`/api/v1/meetings/${this.id}/attendance`, userId ? { user_id: userId } : {}));
            if (res && res.id === this.id) this.apply(res);
            else await this.reload();
            announce(userId ? `${userName(userId)} marked present` : 'You are checked in');
            document.getElementById(userId ? 'm-mark' : 'att-title')?.focus();
        } catch (e) {
            this.showError(e);
        }
    }

    // ---- hand-over ----

    renderHandover() {
        if (!this.isFacilitator()) {
            clear(this.handoverEl);
            return;
        }
        const wasOpen = this.handoverEl.querySelector('details')?.open ?? false;
        const wasValue = this.handoverEl.querySelector('#m-handover')?.value;
        const sel = this.peopleSelect('m-handover', new Set([ctx.me.user.id]), '— choose the new facilitator —');
        if (wasValue) sel.value = wasValue;
        const b = h('button', { type: 'submit', text: 'Hand over' });
        const form = h(
            'form',
            { class: 'stack' },
            h('p', { class: 'hint', text: 'Anyone who can open this meeting may take over: a person of an agency on one of its cases, of the meeting’s agency, or of an agency that attends. After the hand-over you can no longer move the agenda, record outcomes or approve the minutes.' }),
            field('New facilitator', sel),
            h('div', { class: 'actions' }, b),
        );
        form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            showFormError(form, null);
            const uid = Number(sel.value);
            if (!uid) {
                showFormError(form, { message: 'Choose the new facilitator.', field: 'facilitator_id' });
                return;
            }
            if (!confirm(`Hand this meeting over to ${userName(uid)}? They will run it from now on.`)) return;
            const m = await this.patch({ facilitator_id: uid }, b, { keepFocus: false });
            if (m) this.nowTitle.focus(); // apply() announced the new facilitator
        });
        clear(this.handoverEl, h('details', { class: 'add-box', open: wasOpen }, h('summary', { id: 'handover-title', text: 'Hand over facilitation' }), form));
    }

    // ---- minutes ----

    renderMinutes() {
        const m = this.m;
        const corrections = m.minutes?.corrections ?? [];
        clear(
            this.minutesEl,
            h('h2', { id: 'minutes-title', text: 'Minutes' }),
            m.minutes ? h('p', { class: 'hint', text: m.minutes.status === 'approved' ? `Approved by ${userName(m.minutes.approved_by)} on ${dateTime(m.minutes.approved_at)}.` : 'Draft — not approved.' }) : null,
            h(
                'ul',
                { class: 'plain minutes-links' },
                h('li', {}, h('a', { href: `/api/v1/meetings/${m.id}/minutes?format=html`, target: '_blank', rel: 'noopener', text: 'Minutes (web page, printable, opens in a new tab)' })),
                h('li', {}, h('a', { href: `/api/v1/meetings/${m.id}/minutes?format=md`, download: `minutes-${m.id}.md`, text: 'Minutes (Markdown file)' })),
                m.minutes?.version > 1
                    ? h(
                          'li',
                          {},
                          'Earlier versions (as approved, then as each correction left them): ',
                          Array.from({ length: m.minutes.version - 1 }, (_, i) => [i ? ', ' : '', h('a', { href: `/api/v1/meetings/${m.id}/minutes?format=html&version=${i + 1}`, target: '_blank', rel: 'noopener', text: `version ${i + 1}` })]),
                      )
                    : null,
            ),
            corrections.length
                ? [
                      h('h3', { text: 'Corrections' }),
                      h(
                          'ul',
                          { class: 'plain corrections' },
                          corrections.map((c) => {
                              const item = (m.agenda ?? []).find((i) => i.case_id === c.case_id);
                              return h('li', { text: `Version ${c.version}: ${item ? item.case_number : `case #${c.case_id}`} — ${c.reason} (${userName(c.by)}, ${dateTime(c.at)})` });
                          }),
                      ),
                  ]
                : null,
        );
    }
}
