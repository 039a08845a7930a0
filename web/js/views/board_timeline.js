// board_timeline.js - the composer and the timeline of entries.

import { api } from '../api.js';
import { ctx, agencyName, myAgencyId, myRole, userName } from '../ctx.js';
import { h, clear, field, filled, requiredMessage, select, serverHtml, showFormError, busy, uid } from '../dom.js';
import { dateTime, date, label, options } from '../format.js';
import { badge, chosenVisibility, picker } from './visibility.js';
import { reconcile, highlight } from './keyed.js';
import { mentionNote } from './notifications.js';
import { wordDiff } from '../diff.js';
import { keepForm, clearDraft, changedNotice } from '../drafts.js';
import { excerpt, outboxList, write } from '../outbox.js';
import { fileLine } from './board_files.js';

const KIND_FILTER = [
    ['', 'All entries'],
    ['note', 'Notes'],
    ['interview', 'Forensic interviews'],
    ['decision', 'Decisions'],
    ['update', 'Updates'],
];

// markdownEditor({name, labelText, value, rows}) - a textarea with a
// server-rendered preview (POST /api/v1/render: the same renderer and
// sanitizer as saved entries).
export function markdownEditor({ name = 'body_md', labelText, value = '', rows = 6, required = true, hint }) {
    const ta = h('textarea', { name, rows: String(rows), required, value, spellcheck: 'true' });
    const previewBox = h('div', { class: 'md preview-body' });
    const previewId = uid('preview');
    const preview = h('div', { class: 'preview', id: previewId, hidden: true, 'aria-live': 'polite' }, h('p', { class: 'preview-label', text: 'Preview — how it will look once posted' }), previewBox);
    const toggle = h('button', { type: 'button', class: 'secondary small', 'aria-controls': previewId, 'aria-expanded': 'false', text: 'Show preview' });
    let timer = null;
    let seq = 0;
    async function renderPreview() {
        const n = ++seq;
        if (!ta.value.trim()) {
            clear(previewBox, h('p', { class: 'hint', text: 'Nothing to preview yet.' }));
            return;
        }
        try {
            const res = await api.post('/api/v1/render', { body_md: ta.value });
            if (n === seq) serverHtml(previewBox, res.body_html);
        } catch (e) {
            if (n === seq) clear(previewBox, h('p', { class: 'field-error', text: `No preview: ${e.message}` }));
        }
    }
    toggle.addEventListener('click', () => {
        const show = preview.hidden;
        preview.hidden = !show;
        toggle.setAttribute('aria-expanded', String(show));
        toggle.textContent = show ? 'Hide preview' : 'Show preview';
        if (show) renderPreview();
    });
    ta.addEventListener('input', () => {
        if (preview.hidden) return;
        clearTimeout(timer);
        timer = setTimeout(renderPreview, 500);
    });
    const help = h(
        'details',
        { class: 'md-help' },
        h('summary', { text: 'Formatting help' }),
        h(
            'ul',
            {},
            h('li', {}, h('code', { text: '**bold**' }), ', ', h('code', { text: '*italic*' })),
            h('li', {}, h('code', { text: '- item' }), ' for a list, ', h('code', { text: '1. item' }), ' for a numbered list'),
            h('li', {}, h('code', { text: '[text](https://…)' }), ' for a link; ', h('code', { text: '> text' }), ' for a quote'),
            h('li', { text: 'Images are shown as links. Text in angle brackets, like <redacted>, is shown as typed.' }),
        ),
    );
    const f = field(labelText, ta, { hint: hint ?? 'Markdown formatting is supported.' });
    const wrap = h('div', { class: 'md-editor' }, f, h('div', { class: 'md-tools' }, toggle, help), preview);
    return {
        el: wrap,
        textarea: ta,
        reset() {
            ta.value = '';
            preview.hidden = true;
            toggle.setAttribute('aria-expanded', 'false');
            toggle.textContent = 'Show preview';
            clear(previewBox);
        },
    };
}

// interviewFields(initial) - the forensic interview's date, disclosure and
// recording reference (the composer's and the edit form's). Nothing is
// pre-filled for a new interview: the date and the disclosure are required
// choices. Returns {el, check(form) -> true | shows the field error,
// value(interviewerId) -> the API's `interview` object, reset()}.
export function interviewFields(initial = null) {
    const ivDate = h('input', { type: 'date', name: 'interview.date', required: true, value: initial?.date ?? '' });
    const ivDisc = select([['', 'Choose what the child disclosed'], ...options('disclosure')], initial?.disclosure ?? '', { name: 'interview.disclosure', required: true });
    const ivRef = h('input', { type: 'text', name: 'interview.recording_ref', maxlength: '500', value: initial?.recording_ref ?? '' });
    const el = h(
        'fieldset',
        { class: 'interview-fields' },
        h('legend', { text: 'Forensic interview' }),
        field('Interview date', ivDate),
        field('Disclosure', ivDisc),
        field('Recording reference (optional)', ivRef, { hint: 'The recording’s number in your agency’s system; never a file or a link.' }),
    );
    return {
        el,
        check(form) {
            return filled(form, ivDate, requiredMessage('interview.date')) && filled(form, ivDisc, requiredMessage('interview.disclosure'));
        },
        value(interviewerId) {
            const v = { date: ivDate.value, interviewer_id: interviewerId, disclosure: ivDisc.value };
            if (ivRef.value.trim()) v.recording_ref = ivRef.value.trim();
            return v;
        },
        reset() {
            ivDate.value = '';
            ivDisc.value = '';
            ivRef.value = '';
        },
    };
}

// interviewFacts(iv) - an interview's facts as a definition list.
function interviewFacts(iv) {
    return h(
        'dl',
        { class: 'facts inline interview' },
        h('div', {}, h('dt', { text: 'Interview date' }), h('dd', { text: date(iv.date) })),
        h('div', {}, h('dt', { text: 'Interviewer' }), h('dd', { text: userName(iv.interviewer_id) })),
        h('div', {}, h('dt', { text: 'Disclosure' }), h('dd', { text: label('disclosure', iv.disclosure) })),
        iv.recording_ref ? h('div', {}, h('dt', { text: 'Recording' }), h('dd', { text: iv.recording_ref })) : null,
    );
}

// factChanges(before, after) - "Interview date: May 2 → May 3" lines for
// the interview facts that differ between two versions.
function factChanges(before, after) {
    if (!before || !after) return [];
    const shown = [
        ['Interview date', (x) => date(x.date)],
        ['Disclosure', (x) => label('disclosure', x.disclosure)],
        ['Recording', (x) => x.recording_ref || 'none'],
        ['Interviewer', (x) => userName(x.interviewer_id)],
    ];
    return shown.filter(([, f]) => f(before) !== f(after)).map(([name, f]) => h('li', {}, h('strong', { text: `${name}: ` }), h('del', { text: f(before) }), ' → ', h('ins', { text: f(after) })));
}

// versionChanges(prev, v) - what changed from the full version prev to the
// full version v: the interview facts and the text, word by word.
function versionChanges(prev, v) {
    const facts = factChanges(prev.interview, v.interview);
    const parts = wordDiff(prev.body_md, v.body_md);
    const textChanged = parts.some((p) => p.op !== 'same');
    if (!facts.length && !textChanged) return h('p', { class: 'hint', text: `The text is the same as in version ${prev.version}.` });
    return h(
        'div',
        { class: 'history-changes' },
        h('p', { class: 'history-changes-title', text: `Changes from version ${prev.version}` }),
        facts.length ? h('ul', { class: 'plain fact-changes' }, facts) : null,
        textChanged
            ? h(
                  'p',
                  { class: 'history-diff' },
                  parts.map((p) => (p.op === 'same' ? p.text : h(p.op, {}, h('span', { class: 'visually-hidden', text: p.op === 'del' ? '[removed: ' : '[added: ' }), p.text, h('span', { class: 'visually-hidden', text: ']' })))),
              )
            : null,
    );
}

// itemHead(titleId, kindBadge, item, meta) - the head of a timeline item
// (an entry or a file): kind, author and agency as its title, the meta
// line, the visibility badge.
function itemHead(titleId, kindBadge, item, meta) {
    return h(
        'header',
        { class: 'entry-head' },
        h(
            'h3',
            { id: titleId, class: 'entry-title' },
            kindBadge,
            ' ',
            h('span', { class: 'author', text: item.author_name ?? userName(item.author_id) }),
            h('span', { class: 'visually-hidden', text: ', ' }),
            ' ',
            h('span', { class: 'agency', text: agencyName(item.agency_id) }),
        ),
        h('p', { class: 'entry-meta' }, meta),
        badge(item, item.agency_id),
    );
}

export class Timeline {
    constructor(board) {
        this.board = board;
        this.list = h('ol', { class: 'timeline', 'aria-label': 'Entries, newest first' });
        this.filter = select(KIND_FILTER, '', { name: 'kind_filter' });
        this.filter.addEventListener('change', () => this.render());
        this.count = h('p', { class: 'hint', role: 'status' });
        this.composer = this.buildComposer();
        // Notes and edits made offline (or whose answer was lost) wait here.
        this.pending = outboxList({ caseId: board.caseId, kinds: ['entry', 'entry-edit'], onSent: (item, entry) => this.board.applyLocal('entries', entry) });
        this.el = h(
            'section',
            { id: 'sec-timeline', class: 'board-section', 'aria-labelledby': 'sec-timeline-title' },
            h('h2', { id: 'sec-timeline-title', text: 'Timeline' }),
            this.composer,
            this.pending,
            h('div', { class: 'timeline-tools' }, h('div', { class: 'field inline' }, h('label', { for: (this.filter.id = uid('kf')), text: 'Show' }), this.filter), this.count),
            this.list,
        );
    }

    agencies() {
        return this.board.caseAgencies();
    }

    agenciesChanged() {
        this.picker.setAgencies(this.agencies());
        this.render();
    }

    buildComposer() {
        const canInterview = myRole() === 'interviewer';
        const kinds = [
            ['note', 'Note'],
            ['update', 'Update'],
            ['decision', 'Decision'],
        ];
        if (canInterview) kinds.push(['interview', 'Forensic interview']);
        const kind = select(kinds, 'note', { name: 'kind' });
        const iv = interviewFields();
        const ivBox = iv.el;
        ivBox.hidden = true;
        // An interview's visibility is chosen, never defaulted; a note keeps
        // "all agencies" as its default.
        kind.addEventListener('change', () => {
            ivBox.hidden = kind.value !== 'interview';
            if (kind.value === 'interview') this.picker?.clearChoice();
            else if (!this.picker?.chosen()) this.picker?.reset();
        });
        this.editor = markdownEditor({ labelText: 'Text', rows: 5, hint: 'Markdown formatting is supported. Press Ctrl+Enter to post.' });
        this.picker = picker({ agencies: this.agencies(), myAgency: myAgencyId(), noun: 'this entry' });
        const submit = h('button', { type: 'submit', text: 'Post to the timeline' });
        const form = h(
            'form',
            { class: 'composer card', novalidate: true, 'aria-label': 'Add to the timeline' },
            h('h3', { text: 'Add to the timeline' }),
            field('Kind of entry', kind),
            ivBox,
            this.editor.el,
            this.picker.el,
            h('div', { class: 'actions' }, submit),
        );
        const draftKey = `board:c${this.board.caseId}:entry-new`;
        keepForm(form, draftKey);
        this.editor.textarea.addEventListener('keydown', (e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                form.requestSubmit();
            }
        });
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            const body_md = this.editor.textarea.value;
            const isIv = kind.value === 'interview';
            const vis = (!isIv || iv.check(form)) && filled(form, this.editor.textarea, requiredMessage('body_md')) && chosenVisibility(form, this.picker);
            if (!vis) return;
            const body = { kind: kind.value, body_md, ...vis };
            if (vis.visibility !== 'agencies') delete body.visible_to;
            if (isIv) body.interview = iv.value(ctx.me.user.id);
            await busy(submit, async () => {
                try {
                    const res = await write({
                        method: 'POST',
                        path: `/api/v1/cases/${this.board.caseId}/entries`,
                        body,
                        kind: 'entry',
                        caseId: this.board.caseId,
                        label: `${label('entryKind', body.kind)}: ${excerpt(body_md)}`,
                        text: body_md,
                    });
                    clearDraft(draftKey);
                    if (res.result) this.board.applyLocal('entries', res.result);
                    this.editor.reset();
                    this.picker.reset();
                    kind.value = 'note';
                    iv.reset();
                    ivBox.hidden = true;
                    form.append(h('p', { class: 'success flash', role: 'status', text: res.result ? 'Posted.' : 'Kept in this tab: it will be sent when the connection is back.' }));
                    setTimeout(() => form.querySelector('.flash')?.remove(), 3000);
                    this.showMentions(form, res.result?.mentions);
                } catch (err) {
                    showFormError(form, err);
                }
            });
        });
        return form;
    }

    // showMentions(form, mentions) - after a post or an edit: whom the
    // @mentions notified and whom not (and why), until the next post.
    showMentions(form, mentions) {
        form.querySelector('.mention-note')?.remove();
        const note = mentionNote(mentions);
        if (note) form.append(note);
    }

    // The entries of the chosen kind and, unshown only by a kind filter,
    // the case's files, newest first, each at its time.
    sorted() {
        const f = this.filter.value;
        const entries = this.board.data.entries.filter((e) => !f || e.kind === f);
        const files = f ? [] : (this.board.data.attachments ?? []).map((a) => ({ ...a, isFile: true }));
        return [...entries, ...files].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id));
    }

    render(liveIds = null) {
        const items = this.sorted();
        const changed = reconcile(this.list, items, { key: (e) => (e.isFile ? `f${e.id}` : e.id), render: (e) => (e.isFile ? this.renderFile(e) : this.renderEntry(e)) });
        if (liveIds) for (const c of changed) if (!c.item.isFile && liveIds.has(c.item.id)) highlight(c.el);
        const n = this.board.data.entries.length;
        const shown = items.filter((e) => !e.isFile).length;
        const files = items.length - shown;
        const entries = shown === n ? `${n} entr${n === 1 ? 'y' : 'ies'}` : `${shown} of ${n} entries`;
        this.count.textContent = files ? `${entries} and ${files} file${files === 1 ? '' : 's'}` : entries;
        if (!items.length) {
            if (!this.empty) this.empty = h('p', { class: 'empty', text: 'Nothing on the timeline yet.' });
            this.list.after(this.empty);
        } else this.empty?.remove();
    }

    // renderFile(a) - a file on the timeline: who, which agency, when, and
    // the file in a line (the Files section has its tools).
    renderFile(a) {
        const meta = [h('time', { datetime: a.created_at, text: dateTime(a.created_at) }), a.retracted_at ? ` · retracted ${dateTime(a.retracted_at)}` : ''];
        return h(
            'li',
            { class: ['entry', 'kind-file', a.visibility !== 'mdt' && 'is-restricted', a.retracted_at && 'is-retracted'] },
            h('article', { 'aria-labelledby': `file-${a.id}-title` }, itemHead(`file-${a.id}-title`, h('span', { class: 'kind-badge kind-file', text: 'File' }), a, meta), fileLine(a)),
        );
    }

    canEdit(e) {
        return !e.retracted_at && e.author_id === ctx.me.user.id && e.agency_id === myAgencyId();
    }

    canRetract(e) {
        if (e.retracted_at) return false;
        if (e.author_id === ctx.me.user.id && e.agency_id === myAgencyId()) return true;
        return myRole() === 'supervisor' && (myAgencyId() === e.agency_id || myAgencyId() === this.board.data.case.lead_agency_id);
    }

    renderEntry(e) {
        const titleId = `entry-${e.id}-title`;
        const restricted = e.visibility !== 'mdt';
        const body = h('div', { class: 'md entry-body' });
        if (e.body_html !== null && e.body_html !== undefined) serverHtml(body, e.body_html);
        const meta = [h('time', { datetime: e.created_at, text: dateTime(e.created_at) })];
        if (e.edited_at) meta.push(' · ', h('span', { class: 'edited', text: `edited ${dateTime(e.edited_at)} (version ${e.version})` }));
        const tools = h('div', { class: 'entry-tools' });
        const panel = h('div', { class: 'entry-panel' });
        if (e.version > 1 || e.edited_at || e.retracted_at) {
            // Everyone who sees the entry sees who edited it and when; the
            // text of earlier versions only the author's agency (the server
            // decides: those versions come without a body).
            const btn = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', dataset: { focus: 'history' }, text: 'Show edit history' });
            btn.addEventListener('click', () => this.toggleHistory(e, btn, panel));
            tools.append(btn);
        }
        const li = h('li', { class: ['entry', `kind-${e.kind}`, restricted && 'is-restricted', e.retracted_at && 'is-retracted'] });
        if (this.canEdit(e)) tools.append(h('button', { type: 'button', class: 'link', dataset: { focus: 'edit' }, text: 'Edit', on: { click: () => this.edit(e, li, panel) } }));
        if (this.canRetract(e)) tools.append(h('button', { type: 'button', class: 'link danger', dataset: { focus: 'retract' }, text: 'Retract', on: { click: () => this.retract(e) } }));
        const iv = e.interview ? interviewFacts(e.interview) : null;
        const retracted = e.retracted_at
            ? h(
                  'p',
                  { class: 'retracted-note' },
                  h('strong', { text: 'Retracted ' }),
                  `${dateTime(e.retracted_at)}${e.retracted_by ? ` by ${userName(e.retracted_by)}` : ''}. `,
                  e.body_html === null || e.body_html === undefined ? `The text is kept for ${agencyName(e.agency_id)} only.` : 'Other agencies no longer see the text.',
              )
            : null;
        li.append(
            h(
                'article',
                { 'aria-labelledby': titleId },
                itemHead(titleId, h('span', { class: `kind-badge kind-${e.kind}`, text: label('entryKind', e.kind) }), e, meta),
                iv,
                retracted,
                body,
                tools.childElementCount ? tools : null,
                panel,
            ),
        );
        return li;
    }

    async toggleHistory(e, btn, panel) {
        if (btn.getAttribute('aria-expanded') === 'true') {
            clear(panel);
            btn.setAttribute('aria-expanded', 'false');
            btn.textContent = 'Show edit history';
            return;
        }
        btn.setAttribute('aria-expanded', 'true');
        btn.textContent = 'Hide edit history';
        clear(panel, h('p', { class: 'hint', text: 'Loading earlier versions…' }));
        try {
            const res = await api.get(`/api/v1/entries/${e.id}/history`);
            clear(
                panel,
                h(
                    'ol',
                    { class: 'history', 'aria-label': 'Versions, oldest first' },
                    res.items.map((v, i) => {
                        const meta = h('p', { class: 'history-meta' }, h('strong', { text: `Version ${v.version}` }), ` · ${dateTime(v.edited_at)} · ${userName(v.edited_by)}`);
                        if (v.body_html === undefined) return h('li', {}, meta, h('p', { class: 'hint', text: `The text of this version is kept for ${agencyName(e.agency_id)} only.` }));
                        const prev = res.items[i - 1];
                        const text = serverHtml(h('div', { class: 'md' }), v.body_html);
                        if (!prev || prev.body_html === undefined) return h('li', {}, meta, badge(v, e.agency_id), v.interview ? interviewFacts(v.interview) : null, text);
                        return h('li', {}, meta, badge(v, e.agency_id), versionChanges(prev, v), h('details', { class: 'history-whole' }, h('summary', { text: `Whole version ${v.version}` }), v.interview ? interviewFacts(v.interview) : null, text));
                    }),
                ),
            );
        } catch (err) {
            clear(panel, h('p', { class: 'field-error', text: err.status === 404 || err.status === 403 ? `Earlier versions are visible only to ${agencyName(e.agency_id)}.` : err.message }));
        }
    }

    edit(e, li, panel) {
        li.classList.add('is-editing');
        const editor = markdownEditor({ labelText: 'Text', value: e.body_md ?? '', rows: 5 });
        const pk = picker({ agencies: this.agencies(), myAgency: myAgencyId(), initial: e, noun: 'this entry' });
        const iv = e.interview ? interviewFields(e.interview) : null;
        const save = h('button', { type: 'submit', text: 'Save changes' });
        const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
        const form = h('form', { class: 'edit-form', novalidate: true, 'aria-label': 'Edit entry' }, iv?.el, editor.el, pk.el, h('div', { class: 'actions' }, save, cancel));
        const draftKey = `entry:${e.id}:edit`;
        keepForm(form, draftKey, { base: e.version });
        // The entry changed live under this editor (another window of the
        // author, or a retraction): the person decides what happens.
        li.staleHandler = (fresh) => {
            if (fresh.version === e.version && !fresh.retracted_at) return;
            form.querySelector('.changed-notice')?.remove();
            const who = userName(fresh.retracted_by ?? fresh.author_id);
            form.prepend(
                changedNotice({
                    who,
                    what: 'this entry',
                    onReload: () => {
                        clearDraft(draftKey);
                        done();
                        if (!fresh.retracted_at) this.edit(fresh, li.isConnected ? li : this.list.querySelector(`[data-key="${fresh.id}"]`), li.isConnected ? panel : this.list.querySelector(`[data-key="${fresh.id}"] .entry-panel`));
                    },
                    onKeep: () => {
                        e = fresh;
                    },
                }),
            );
        };
        const done = () => {
            li.classList.remove('is-editing');
            li.staleHandler = null;
            clear(panel);
            if (li.dataset.stale) this.render();
        };
        cancel.addEventListener('click', () => {
            clearDraft(draftKey);
            done();
            li.querySelector('[data-focus="edit"]')?.focus();
        });
        form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            showFormError(form, null);
            const vis = (!iv || iv.check(form)) && chosenVisibility(form, pk);
            if (!vis) return;
            const body = { version: e.version };
            if (editor.textarea.value !== e.body_md) body.body_md = editor.textarea.value;
            if (iv) {
                // The whole object or nothing: a new version only when a fact changed.
                const facts = iv.value(e.interview.interviewer_id);
                const was = { date: e.interview.date, interviewer_id: e.interview.interviewer_id, disclosure: e.interview.disclosure, ...(e.interview.recording_ref ? { recording_ref: e.interview.recording_ref } : {}) };
                if (JSON.stringify(facts) !== JSON.stringify(was)) body.interview = facts;
            }
            if (vis.visibility !== e.visibility) body.visibility = vis.visibility;
            if (JSON.stringify(vis.visible_to) !== JSON.stringify(e.visible_to ?? [])) body.visible_to = vis.visible_to;
            if (vis.visibility === 'agencies') body.visible_to = vis.visible_to;
            if (Object.keys(body).length === 1) {
                done();
                return;
            }
            await busy(save, async () => {
                try {
                    const res = await write({
                        method: 'PATCH',
                        path: `/api/v1/entries/${e.id}`,
                        body,
                        kind: 'entry-edit',
                        caseId: this.board.caseId,
                        label: `Edit of the ${label('entryKind', e.kind).toLowerCase()} of ${dateTime(e.created_at)}`,
                        text: body.body_md ?? e.body_md,
                    });
                    clearDraft(draftKey);
                    li.classList.remove('is-editing');
                    li.staleHandler = null;
                    if (res.result) {
                        this.board.applyLocal('entries', res.result);
                        this.showMentions(this.composer, res.result.mentions);
                    } else done();
                } catch (err) {
                    if (err.status === 409 && err.current) {
                        li.classList.remove('is-editing');
                        this.board.applyLocal('entries', err.current);
                        showFormError(form, { message: 'This entry was changed meanwhile (in another window?). The current version is shown; edit again if needed.' });
                    } else showFormError(form, err);
                }
            });
        });
        clear(panel, form);
        editor.textarea.focus();
    }

    async retract(e) {
        const ok = window.confirm('Retract this entry? It stays in the record for your agency, but other agencies will only see that it was retracted.');
        if (!ok) return;
        try {
            const updated = await api.del(`/api/v1/entries/${e.id}`);
            if (updated && updated.id) this.board.applyLocal('entries', updated);
        } catch (err) {
            window.alert(`Could not retract: ${err.message}`);
        }
    }
}
