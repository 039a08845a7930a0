// meeting_outcome.js - the facilitator's outcome editor for one agenda case.
//
// One editor object per case lives as long as the meeting page, so its DOM
// (and what is typed in it) survives every re-render, live update and
// Next/Previous; the page only moves the element to where the case is
// shown (the "Now discussing" card or the agenda). What is typed is also a
// draft (drafts.js), so a reload of the tab keeps it. The draft's base is
// {version, text}: the outcome it was started from. When the outcome
// changes live under a draft, the editor says "Changed by NAME" and lets the
// person reload their version or keep theirs (which then overwrites it,
// knowingly: the save names the new outcome_version).

import { api } from '../api.js';
import { announce, userName } from '../ctx.js';
import { h, field, showFormError, busy } from '../dom.js';
import { getDraft, setDraftBase, clearDraft, keepForm, changedNotice } from '../drafts.js';

export class OutcomeEditor {
    // page: the MeetingPage (id, m, apply()); item: the visible agenda item.
    constructor(page, item) {
        this.page = page;
        this.caseId = item.case_id;
        this.key = `outcome:m${page.id}:c${item.case_id}`;
        this.textarea = h('textarea', { name: 'outcome_md', rows: '4', id: `outcome-${item.case_id}`, value: item.outcome_md ?? '' });
        this.reason = h('input', { type: 'text', name: 'correction_reason', maxlength: '500', autocomplete: 'off' });
        this.reasonField = field('Reason for the correction (required: the minutes are approved)', this.reason);
        this.save = h('button', { type: 'submit', class: 'primary', text: 'Save outcome' });
        this.label = field(`Outcome for ${item.case_number} (Markdown)`, this.textarea);
        this.form = h('form', { class: 'stack outcome-form', novalidate: true }, this.label, this.reasonField, h('div', { class: 'actions' }, this.save));
        this.summary = h('summary');
        this.el = h('details', { class: 'add-box outcome-editor', dataset: { case: String(item.case_id) } }, this.summary, this.form);
        const draft = getDraft(this.key);
        keepForm(this.form, this.key);
        this.base = draft?.base ?? { version: item.outcome_version ?? 0, text: item.outcome_md ?? '' };
        if (!draft) setDraftBase(this.key, this.base);
        this.el.open = Boolean(draft);
        this.noticed = null; // the outcome_version already reported as changed
        this.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.submit();
        });
        this.update(item);
    }

    dirty() {
        return this.textarea.value !== this.base.text;
    }

    // update(item) - the agenda item as the page has it now. Without a
    // draft the editor simply follows it; under a draft a newer outcome
    // raises the "Changed by" notice once per version.
    update(item) {
        this.item = item;
        const approved = this.page.m.minutes?.status === 'approved';
        this.reasonField.hidden = !approved;
        this.summary.textContent = approved || this.page.m.status === 'ended' ? 'Correct this outcome' : item.outcome_md ? 'Edit outcome' : 'Record outcome';
        const version = item.outcome_version ?? 0;
        if (version === this.base.version) return;
        // No draft, or the new outcome is exactly the text here (one's own
        // save, whose event may beat its answer): follow it silently.
        if (!this.dirty() || (item.outcome_md ?? '') === this.textarea.value) {
            this.adopt(item);
            return;
        }
        if (this.noticed === version) return;
        this.noticed = version;
        this.form.querySelector('.changed-notice')?.remove();
        this.form.prepend(
            changedNotice({
                who: userName(item.outcome_by),
                what: `the outcome for ${item.case_number}`,
                onReload: () => {
                    clearDraft(this.key);
                    this.adopt(this.item);
                    this.textarea.focus();
                },
                onKeep: () => {
                    this.base = { version: this.item.outcome_version ?? 0, text: this.item.outcome_md ?? '' };
                    setDraftBase(this.key, this.base);
                    this.textarea.focus();
                },
            }),
        );
    }

    adopt(item) {
        this.base = { version: item.outcome_version ?? 0, text: item.outcome_md ?? '' };
        this.textarea.value = this.base.text;
        this.noticed = null;
        setDraftBase(this.key, this.base);
    }

    async submit() {
        showFormError(this.form, null);
        const body = { outcome_md: this.textarea.value, outcome_version: this.base.version };
        if (!this.reasonField.hidden) {
            if (!this.reason.value.trim()) {
                showFormError(this.form, { message: 'Say why the approved minutes are corrected.', field: 'correction_reason' });
                this.reason.focus();
                return;
            }
            body.correction_reason = this.reason.value.trim();
        }
        try {
            const m = await busy(this.save, () => api.put(`/api/v1/meetings/${this.page.id}/cases/${this.caseId}/outcome`, body));
            clearDraft(this.key);
            this.reason.value = '';
            this.form.querySelector('.changed-notice')?.remove();
            const fresh = (m.agenda ?? []).find((i) => i.case_id === this.caseId);
            if (fresh) this.adopt(fresh);
            this.page.apply(m);
            announce(`Outcome saved for ${this.item.case_number}`);
        } catch (e) {
            if (e.status === 409 && e.current) {
                // Someone saved first: the notice offers both versions.
                this.page.apply(e.current);
            } else showFormError(this.form, e);
        }
    }
}
