// meeting_agenda.js - a meeting's agenda: the list everyone sees, and for
// the facilitator of a planned or running meeting the agenda builder —
// add a case (search by number or alias), remove, reorder by drag and drop
// and by keyboard (Move up / Move down, focus kept on the moved item,
// announced), and suggestions with their reasons in words
// (GET /meetings/agenda-suggestions). Every change is one PATCH with the
// case ids in order; restricted items ({position, restricted: true}) are
// never named, moved or removed: the server keeps them in their places
// (docs/meetings.md "Decision — cases the facilitator may not see").

import { api, qs } from '../api.js';
import { announce } from '../ctx.js';
import { h, clear, field, serverHtml, busy } from '../dom.js';
import { date, label, list, zoneDay } from '../format.js';

const SUGGEST = { not_reviewed_days: 14, with_overdue_actions: true, review_due: true, carry_over: true };

// reasonsText(reasons) - why a case is on the agenda, in words.
export function reasonsText(reasons) {
    return list((reasons ?? []).map((r) => label('agendaReason', r)));
}

export class AgendaView {
    constructor(page) {
        this.page = page;
        this.dragged = null;
        this.listEl = h('ol', { class: 'agenda plain', 'aria-label': 'Agenda, in order' });
        this.emptyEl = h('p', { class: 'empty', text: 'The agenda is empty.' });
        this.builderEl = this.buildBuilder();
        this.el = h('section', { class: 'agenda-section', 'aria-labelledby': 'agenda-title' }, h('h2', { id: 'agenda-title', text: 'Agenda' }), this.listEl, this.emptyEl, this.builderEl);
    }

    building() {
        return this.page.isFacilitator() && this.page.m.status !== 'ended';
    }

    visibleIds() {
        return (this.page.m.agenda ?? []).filter((i) => !i.restricted).map((i) => i.case_id);
    }

    // render(slot) - rebuilds the list; slot(item) gives the persistent
    // element (outcome editor) to show inside a visible, non-current item.
    render(slot) {
        const agenda = this.page.m.agenda ?? [];
        const build = this.building();
        clear(this.listEl, agenda.map((item) => this.item(item, build, slot)));
        this.emptyEl.hidden = agenda.length > 0;
        this.builderEl.hidden = !build;
        if (build) this.renderResults();
    }

    item(item, build, slot) {
        const m = this.page.m;
        const current = m.status === 'in_progress' && item.position === m.current_position;
        const li = h('li', {
            class: ['card', 'agenda-item', current ? 'is-current' : null, item.restricted ? 'is-restricted' : null],
            dataset: { position: String(item.position), ...(item.restricted ? {} : { case: String(item.case_id) }) },
            'aria-current': current ? 'true' : null,
        });
        const head = h('div', { class: 'agenda-head' }, h('span', { class: 'agenda-pos', text: `${item.position}.` }));
        if (item.restricted) {
            head.append(h('span', { class: 'restricted-item', text: 'Restricted case — not shared with your agency' }));
            if (current) head.append(h('span', { class: 'badge ok', text: 'Now discussing' }));
            li.append(head);
            return li;
        }
        head.append(h('a', { href: `#/cases/${item.case_id}`, text: `${item.case_number} ${item.alias}` }));
        if (current) head.append(h('span', { class: 'badge ok', text: 'Now discussing' }));
        li.append(head);
        if (item.reasons?.length) li.append(h('p', { class: 'agenda-reasons hint', text: `Why: ${reasonsText(item.reasons)}.` }));
        if (build) li.append(this.tools(item), h('p', { class: 'visually-hidden', text: 'Drag to reorder, or use Move up and Move down.' }));
        if (build) this.draggable(li, item);
        if (!current) {
            const out = h('div', { class: 'outcome' });
            if (item.outcome_html) out.append(h('h3', { class: 'outcome-title', text: 'Outcome' }), serverHtml(h('div', { class: 'md' }), item.outcome_html));
            else out.append(h('p', { class: 'muted', text: 'No outcome recorded yet.' }));
            li.append(out);
            const editor = slot(item);
            if (editor) li.append(editor);
        }
        return li;
    }

    tools(item) {
        const ids = this.visibleIds();
        const at = ids.indexOf(item.case_id);
        const name = `${item.case_number} ${item.alias}`;
        const up = h('button', { type: 'button', class: 'secondary small move-up', text: 'Move up', 'aria-label': `Move up: ${name}`, disabled: at <= 0 });
        const down = h('button', { type: 'button', class: 'secondary small move-down', text: 'Move down', 'aria-label': `Move down: ${name}`, disabled: at >= ids.length - 1 });
        const remove = h('button', { type: 'button', class: 'link danger remove', text: 'Remove', 'aria-label': `Remove ${name} from the agenda` });
        up.addEventListener('click', () => this.move(item, at - 1, 'move-up', up));
        down.addEventListener('click', () => this.move(item, at + 1, 'move-down', down));
        remove.addEventListener('click', () => this.remove(item, remove));
        return h('div', { class: 'agenda-tools row' }, up, down, remove);
    }

    // move(item, to, focusClass, button) - puts the case at index `to` among
    // the visible ids; focus stays on the same control of the moved item.
    async move(item, to, focusClass, button) {
        const ids = this.visibleIds().filter((id) => id !== item.case_id);
        ids.splice(Math.max(0, Math.min(to, ids.length)), 0, item.case_id);
        const m = await this.page.patch({ agenda: ids }, button, { keepFocus: false });
        if (!m) return;
        const moved = (m.agenda ?? []).find((i) => i.case_id === item.case_id);
        const li = this.listEl.querySelector(`[data-case="${item.case_id}"]`);
        const target = li?.querySelector(`.${focusClass}:not([disabled])`) ?? li?.querySelector('.move-up:not([disabled]), .move-down:not([disabled])');
        target?.focus();
        if (moved) announce(`${item.case_number} moved to position ${moved.position} of ${(m.agenda ?? []).length}`);
    }

    async remove(item, button) {
        const ids = this.visibleIds().filter((id) => id !== item.case_id);
        const m = await this.page.patch({ agenda: ids }, button, { keepFocus: false });
        if (!m) return;
        announce(`${item.case_number} removed from the agenda`);
        (this.listEl.querySelector('.remove') ?? this.search).focus();
    }

    draggable(li, item) {
        li.draggable = true;
        li.classList.add('is-draggable');
        li.addEventListener('dragstart', (ev) => {
            this.dragged = item.case_id;
            ev.dataTransfer.effectAllowed = 'move';
            ev.dataTransfer.setData('text/plain', String(item.case_id));
            li.classList.add('is-dragging');
        });
        li.addEventListener('dragend', () => li.classList.remove('is-dragging'));
        li.addEventListener('dragover', (ev) => {
            if (this.dragged === null || this.dragged === item.case_id) return;
            ev.preventDefault();
            li.classList.add('is-drop-target');
        });
        li.addEventListener('dragleave', () => li.classList.remove('is-drop-target'));
        li.addEventListener('drop', (ev) => {
            ev.preventDefault();
            li.classList.remove('is-drop-target');
            const from = this.dragged;
            this.dragged = null;
            if (from === null || from === item.case_id) return;
            const ids = this.visibleIds();
            const dragged = (this.page.m.agenda ?? []).find((i) => i.case_id === from);
            if (dragged) this.move(dragged, ids.indexOf(item.case_id), 'move-up', null);
        });
    }

    // ---- adding cases: search and suggestions ----

    buildBuilder() {
        this.search = h('input', { type: 'search', name: 'agenda_q', maxlength: '100', autocomplete: 'off' });
        this.results = h('ul', { class: 'plain agenda-results', 'aria-label': 'Cases found' });
        this.found = [];
        let timer = null;
        this.search.addEventListener('input', () => {
            clearTimeout(timer);
            timer = setTimeout(() => this.find(), 300);
        });
        const searchForm = h('form', { class: 'stack', role: 'search', 'aria-label': 'Find cases for the agenda' }, field('Add a case: search by case number or alias', this.search, { hint: 'Only cases your agency is on are found.' }), this.results);
        searchForm.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.find();
        });
        this.suggestBtn = h('button', { type: 'button', class: 'secondary', text: 'Suggest cases' });
        this.suggestions = h('div', { class: 'agenda-suggestions' });
        this.suggestBtn.addEventListener('click', () => this.suggest());
        return h(
            'div',
            { class: 'agenda-builder card' },
            h('h3', { text: 'Build the agenda' }),
            searchForm,
            h(
                'div',
                { class: 'stack' },
                h('p', { class: 'hint', text: 'Suggestions: cases not reached at your agency’s last meeting, cases with overdue action items, cases whose review is due, and open cases not reviewed in 14 days.' }),
                h('div', { class: 'actions' }, this.suggestBtn),
                this.suggestions,
            ),
        );
    }

    async find() {
        const q = this.search.value.trim();
        if (!q) {
            this.found = [];
            this.renderResults();
            return;
        }
        try {
            const res = await api.get(`/api/v1/cases${qs({ q, limit: 10 })}`);
            if (q !== this.search.value.trim()) return;
            this.found = res.items;
            this.renderResults();
        } catch (e) {
            clear(this.results, h('li', { class: 'field-error', text: e.message }));
        }
    }

    renderResults() {
        const on = new Set(this.visibleIds());
        if (!this.search.value.trim()) {
            clear(this.results);
            return;
        }
        clear(
            this.results,
            this.found.length
                ? this.found.map((c) => {
                      const name = `${c.case_number} ${c.alias}`;
                      if (on.has(c.id)) return h('li', {}, `${name} — `, h('span', { class: 'badge muted', text: 'On the agenda' }));
                      const b = h('button', { type: 'button', class: 'small', text: 'Add to agenda', 'aria-label': `Add to agenda: ${name}` });
                      b.addEventListener('click', () => this.add([c.id], {}, b, name));
                      return h('li', {}, `${name} `, b);
                  })
                : h('li', { class: 'empty', text: 'No case matches.' }),
        );
    }

    async add(caseIds, reasons, button, what) {
        const ids = [...this.visibleIds(), ...caseIds.filter((id) => !this.visibleIds().includes(id))];
        const body = { agenda: ids };
        if (Object.keys(reasons).length) body.agenda_reasons = reasons;
        const m = await this.page.patch(body, button, { keepFocus: false });
        if (!m) return;
        announce(`${what} added to the agenda`);
        this.search.focus();
    }

    async suggest() {
        const params = { ...SUGGEST, on: zoneDay(this.page.m.scheduled_at) };
        clear(this.suggestions, h('p', { class: 'hint', text: 'Looking for cases…' }));
        let res;
        try {
            res = await busy(this.suggestBtn, () => api.get(`/api/v1/meetings/agenda-suggestions${qs(params)}`));
        } catch (e) {
            clear(this.suggestions, h('p', { class: 'field-error', role: 'alert', text: e.status === 404 ? 'This server does not suggest cases yet: add them by search.' : e.message }));
            return;
        }
        const on = new Set(this.visibleIds());
        const items = res.items.filter((s) => !on.has(s.case_id));
        if (!items.length) {
            clear(this.suggestions, h('p', { class: 'empty', role: 'status', text: 'No further cases to suggest: every candidate is on the agenda.' }));
            return;
        }
        const reasonsOf = (s) => ({ [s.case_id]: s.reasons });
        const all = h('button', { type: 'button', text: `Add all ${items.length} suggested` });
        all.addEventListener('click', () => this.add(items.map((s) => s.case_id), Object.assign({}, ...items.map(reasonsOf)), all, `${items.length} cases`).then(() => clear(this.suggestions)));
        clear(
            this.suggestions,
            h(
                'ul',
                { class: 'plain suggestion-list', 'aria-label': 'Suggested cases' },
                items.map((s) => {
                    const name = `${s.case_number} ${s.alias}`;
                    const b = h('button', { type: 'button', class: 'small', text: 'Add', 'aria-label': `Add to agenda: ${name}` });
                    b.addEventListener('click', () => this.add([s.case_id], reasonsOf(s), b, name).then(() => b.closest('li')?.remove()));
                    const due = s.review_due ? ` Review due ${date(s.review_due)}.` : '';
                    const last = s.last_reviewed ? ` Last reviewed ${date(s.last_reviewed)}.` : ' Never reviewed.';
                    return h('li', { class: 'card suggestion' }, h('p', {}, h('strong', { text: name }), ' ', b), h('p', { class: 'hint', text: `${reasonsText(s.reasons)}.${due}${last}` }));
                }),
            ),
            h('div', { class: 'actions' }, all),
        );
    }
}
