// board_review.js - the board's review line: last reviewed, next review,
// review due (GET /cases/{id} `review`, docs/cases.md) and, for a
// supervisor of the lead agency, "Review every N weeks" (PATCH /cases/{id}
// review_every_weeks). The element and its form are built once and kept
// across re-renders of the board's head, so a number being typed survives
// live updates. Before the server sends `review` nothing is shown.

import { api } from '../api.js';
import { announce } from '../ctx.js';
import { h, clear, field, showFormError, busy } from '../dom.js';
import { date } from '../format.js';
import { reviewDue } from './cases.js';

export class Review {
    constructor(board) {
        this.board = board;
        this.facts = h('dl', { class: 'facts inline review-facts' });
        this.input = h('input', { type: 'number', name: 'review_every_weeks', min: '1', max: '52', step: '1', inputmode: 'numeric', class: 'narrow' });
        this.save = h('button', { type: 'submit', class: 'secondary small', text: 'Save cadence' });
        this.form = h(
            'form',
            { class: 'row review-form', novalidate: true, 'aria-label': 'Review cadence' },
            field('Review every N weeks (1–52; empty: no cadence)', this.input),
            this.save,
        );
        this.dirty = false;
        this.input.addEventListener('input', () => (this.dirty = true));
        this.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.submit();
        });
        this.el = h('div', { class: 'review-line' }, this.facts, this.form);
    }

    render() {
        const d = this.board.data;
        this.el.hidden = !d.review;
        if (!d.review) return;
        const r = d.review;
        clear(
            this.facts,
            h('div', {}, h('dt', { text: 'Last reviewed' }), h('dd', { text: r.last_reviewed ? date(r.last_reviewed) : 'Never' })),
            h('div', {}, h('dt', { text: 'Next review' }), h('dd', { text: r.next_review ? date(r.next_review) : 'Not scheduled' })),
            h('div', {}, h('dt', { text: 'Review every' }), h('dd', { text: r.every_weeks ? `${r.every_weeks} week${r.every_weeks === 1 ? '' : 's'}` : 'No cadence' })),
            h('div', {}, h('dt', { text: 'Review due' }), h('dd', {}, reviewDue({ review_due: r.review_due, review_every_weeks: r.every_weeks }))),
        );
        this.form.hidden = !this.board.isLeadSupervisor();
        if (document.activeElement !== this.input && !this.dirty) this.input.value = r.every_weeks ?? '';
    }

    async submit() {
        showFormError(this.form, null);
        const raw = this.input.value.trim();
        const n = raw === '' ? null : Number(raw);
        if (n !== null && !(Number.isInteger(n) && n >= 1 && n <= 52)) {
            showFormError(this.form, { message: 'Enter a whole number of weeks from 1 to 52, or leave it empty for no cadence.', field: 'review_every_weeks' });
            this.input.focus();
            return;
        }
        const c = this.board.data.case;
        await busy(this.save, async () => {
            try {
                this.board.data.case = await api.patch(`/api/v1/cases/${c.id}`, { review_every_weeks: n, version: c.version });
                this.dirty = false;
                await this.board.reload();
                announce(n ? `This case is reviewed every ${n} weeks.` : 'This case has no review cadence now.');
            } catch (err) {
                showFormError(this.form, err.status === 409 ? { message: 'The case was changed by someone else meanwhile: reload the page and try again.' } : err);
            }
        });
    }
}
