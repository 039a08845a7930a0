// meeting_summary.js - the "Now discussing" case in meeting mode: a
// one-screen summary to talk from, and the forms that record a decision or
// an action item right there, linked to the meeting (meeting_id), so the
// minutes list them.
//
// The summary is built from GET /api/v1/cases/{id} — the board, already
// filtered by the server for this viewer — so it shows only what the viewer
// may see: status, review dates, what changed since the last review, open
// and overdue action items, recent decisions. One CurrentCase object per
// case lives as long as the meeting page; its forms are never rebuilt (and
// keep drafts, drafts.js), only the summary part is re-rendered. The page
// places its three parts: summaryEl, recordedEl and formsEl.

import { api } from '../api.js';
import { ctx, announce, agencyName, myAgencyId, userName } from '../ctx.js';
import { h, clear, filled, showFormError, busy, serverHtml } from '../dom.js';
import { date, dateTime, label, zoneDay } from '../format.js';
import { keepForm, clearDraft } from '../drafts.js';
import { caseAgenciesOf } from './board.js';
import { actionForm } from './board_actions.js';
import { markdownEditor } from './board_timeline.js';
import { chosenVisibility, picker } from './visibility.js';

const OPEN = new Set(['open', 'in_progress']);

export class CurrentCase {
    constructor(page, caseId) {
        this.page = page;
        this.caseId = caseId;
        this.data = null;
        this.following = false;
        this.summaryEl = h('div', { class: 'case-summary' }, h('p', { class: 'hint', text: 'Loading the case summary…' }));
        this.recordedEl = h('div', { class: 'recorded' });
        this.formsEl = h('div', { class: 'record-forms' });
    }

    // load() - (re)reads the board and follows the case live from its seq;
    // called whenever the case becomes current (unfollow() when it stops).
    async load() {
        try {
            const data = await api.get(`/api/v1/cases/${this.caseId}`);
            this.data = data;
            this.renderSummary();
            this.renderRecorded();
            if (!this.formsEl.childElementCount) this.buildForms();
            if (this.following) ctx.live?.resubscribe(this.caseId, data.seq);
            else {
                this.following = true;
                ctx.live?.subscribe(this.caseId, data.seq, { event: (msg) => this.onEvent(msg), resync: () => this.load(), error: () => this.unfollow() });
            }
        } catch (e) {
            clear(this.summaryEl, h('p', { class: 'field-error', text: `No summary: ${e.message}` }));
        }
    }

    unfollow() {
        if (this.following) ctx.live?.unsubscribe(this.caseId);
        this.following = false;
    }

    // A live change of the case: entries and action items by id (as the
    // board does, already filtered by the server for this viewer); anything
    // else (the case itself, access) reloads the summary.
    onEvent(msg) {
        const lists = { entry: 'entries', action: 'actions' };
        const [entity] = msg.kind.split('.');
        if (!this.data) return;
        if (lists[entity] && msg.data?.id) {
            const arr = this.data[lists[entity]];
            const i = arr.findIndex((x) => x.id === msg.data.id);
            if (i >= 0) arr[i] = msg.data;
            else arr.push(msg.data);
        } else if (entity === 'access' && msg.data?.entity in lists) {
            const arr = this.data[lists[msg.data.entity]];
            const i = arr.findIndex((x) => x.id === msg.data.id);
            if (i >= 0) arr.splice(i, 1);
        } else if (entity === 'case' || entity === 'access') {
            this.load();
            return;
        } else return;
        this.renderSummary();
        this.renderRecorded();
    }

    // showForms(on) - decisions and action items are recorded while the
    // meeting runs (not before it starts, not once it has ended).
    showForms(on) {
        this.formsEl.hidden = !on;
    }

    renderSummary() {
        const { case: c, entries = [], actions = [] } = this.data;
        const review = this.data.review ?? { last_reviewed: null, next_review: null, review_due: null, every_weeks: c.review_every_weeks ?? null };
        const since = review.last_reviewed;
        const live = entries.filter((e) => !e.retracted_at);
        const changed = since ? live.filter((e) => zoneDay(e.created_at) > since) : live;
        const open = actions.filter((a) => !a.retracted_at && OPEN.has(a.status)).sort((a, b) => Number(b.overdue) - Number(a.overdue) || String(a.due_date ?? '9').localeCompare(String(b.due_date ?? '9')));
        const overdue = open.filter((a) => a.overdue);
        const decisions = live.filter((e) => e.kind === 'decision').sort((a, b) => (a.created_at < b.created_at ? 1 : -1)).slice(0, 3);
        clear(
            this.summaryEl,
            h('h3', { class: 'summary-title', text: 'Case summary' }),
            h(
                'dl',
                { class: 'facts inline' },
                h('div', {}, h('dt', { text: 'Status' }), h('dd', {}, h('span', { class: `status status-${c.status}`, text: label('status', c.status) }))),
                h('div', {}, h('dt', { text: 'Lead agency' }), h('dd', { text: agencyName(c.lead_agency_id) })),
                h('div', {}, h('dt', { text: 'Last reviewed' }), h('dd', { text: since ? date(since) : 'Never' })),
                review.review_due ? h('div', {}, h('dt', { text: 'Review due' }), h('dd', { text: date(review.review_due) })) : null,
                h('div', {}, h('dt', { text: 'Open action items' }), h('dd', {}, String(open.length), overdue.length ? h('span', { class: 'badge overdue', text: `${overdue.length} overdue` }) : null)),
            ),
            h('h4', { text: since ? `Since the last review (${date(since)})` : 'On the timeline (never reviewed)' }),
            changed.length
                ? h(
                      'ul',
                      { class: 'plain summary-list' },
                      changed.slice(0, 5).map((e) => h('li', {}, h('span', { class: `kind-badge kind-${e.kind}`, text: label('entryKind', e.kind) }), ` ${e.author_name ?? userName(e.author_id)} (${agencyName(e.agency_id)}) · ${dateTime(e.created_at)}`)),
                      changed.length > 5 ? h('li', { class: 'hint', text: `and ${changed.length - 5} more on the board` }) : null,
                  )
                : h('p', { class: 'empty', text: 'Nothing new on the timeline.' }),
            h('h4', { text: 'Open action items' }),
            open.length
                ? h(
                      'ul',
                      { class: 'plain summary-list' },
                      open.slice(0, 6).map((a) =>
                          h('li', { class: a.overdue ? 'is-overdue' : null }, a.overdue ? h('span', { class: 'badge overdue', text: 'Overdue' }) : null, ` ${a.title} · ${a.assignee_agency_id ? agencyName(a.assignee_agency_id) : 'not assigned'} · ${a.due_date ? `due ${date(a.due_date)}` : 'no due date'}`),
                      ),
                  )
                : h('p', { class: 'empty', text: 'No open action items.' }),
            h('h4', { text: 'Recent decisions' }),
            decisions.length
                ? h(
                      'ul',
                      { class: 'plain summary-list' },
                      decisions.map((e) => h('li', {}, h('p', { class: 'hint', text: `${dateTime(e.created_at)} · ${e.author_name ?? userName(e.author_id)}` }), serverHtml(h('div', { class: 'md' }), e.body_html))),
                  )
                : h('p', { class: 'empty', text: 'No decisions yet.' }),
        );
    }

    // What this meeting recorded for the case (meeting_id = this meeting).
    renderRecorded() {
        const mid = this.page.id;
        const decisions = (this.data.entries ?? []).filter((e) => e.meeting_id === mid && e.kind === 'decision' && !e.retracted_at);
        const actions = (this.data.actions ?? []).filter((a) => a.meeting_id === mid && !a.retracted_at);
        clear(
            this.recordedEl,
            decisions.length || actions.length
                ? [
                      h('h4', { text: 'Recorded in this meeting' }),
                      h('ul', { class: 'plain summary-list recorded-list' }, decisions.map((e) => h('li', {}, h('span', { class: 'kind-badge kind-decision', text: 'Decision' }), serverHtml(h('div', { class: 'md' }), e.body_html))), actions.map((a) => h('li', {}, h('span', { class: 'badge', text: 'Action item' }), ` ${a.title}`))),
                  ]
                : null,
        );
    }

    buildForms() {
        const agencies = caseAgenciesOf(this.data);
        const base = `meeting:m${this.page.id}:c${this.caseId}`;
        const actForm = actionForm({
            agencies,
            caseId: this.caseId,
            meetingId: this.page.id,
            draftKey: `${base}:action`,
            onCreated: (a) => {
                this.data.actions.push(a);
                this.renderSummary();
                this.renderRecorded();
                announce(`Action item recorded: ${a.title}`);
            },
        });
        const decForm = this.decisionForm(agencies, `${base}:decision`);
        clear(
            this.formsEl,
            h('details', { class: 'add-box', open: decForm.dataset.restored === 'true' }, h('summary', { text: 'Record a decision' }), decForm),
            h('details', { class: 'add-box', open: actForm.dataset.restored === 'true' }, h('summary', { text: 'New action item from this meeting' }), actForm),
        );
    }

    decisionForm(agencies, draftKey) {
        const editor = markdownEditor({ name: 'body_md', labelText: 'Decision', rows: 3 });
        const pk = picker({ agencies, myAgency: myAgencyId(), noun: 'this decision' });
        const submit = h('button', { type: 'submit', text: 'Record decision' });
        const form = h('form', { class: 'stack decision-form', novalidate: true, 'aria-label': 'Record a decision' }, editor.el, pk.el, h('div', { class: 'actions' }, submit));
        if (keepForm(form, draftKey)) form.dataset.restored = 'true';
        form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            showFormError(form, null);
            const vis = filled(form, editor.textarea, 'Write the decision first.') && chosenVisibility(form, pk);
            if (!vis) return;
            const body = { kind: 'decision', body_md: editor.textarea.value, visibility: vis.visibility, meeting_id: this.page.id };
            if (vis.visibility === 'agencies') body.visible_to = vis.visible_to;
            await busy(submit, async () => {
                try {
                    const entry = await api.create(`/api/v1/cases/${this.caseId}/entries`, body);
                    clearDraft(draftKey);
                    editor.reset();
                    pk.reset();
                    this.data.entries.push(entry);
                    this.renderSummary();
                    this.renderRecorded();
                    announce('Decision recorded');
                    editor.textarea.focus();
                } catch (err) {
                    showFormError(form, err);
                }
            });
        });
        return form;
    }
}
