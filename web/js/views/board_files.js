// board_files.js - the case's files (docs/attachments.md): the list with
// type, size, SHA-256, who and when, a download link and retraction; and
// the upload box: a file picker (the keyboard path) and a drop area, the
// visibility picker, progress while it goes. The server decides the type
// from the content (415 otherwise) and who sees what.

import { api, request } from '../api.js';
import { ctx, agencyName, announce, myAgencyId, myRole, userName } from '../ctx.js';
import { h, clear, field, showFormError, busy } from '../dom.js';
import { dateTime } from '../format.js';
import { badge, picker } from './visibility.js';
import { reconcile, highlight } from './keyed.js';

const TYPES = {
    'application/pdf': 'PDF',
    'image/png': 'PNG image',
    'image/jpeg': 'JPEG image',
    'text/plain': 'Text',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word document',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'Excel workbook',
    'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PowerPoint',
};

// size(bytes) - "12 KB", "3.4 MB".
export function size(n) {
    if (n < 1024) return `${n} bytes`;
    if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
    return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

// shortSha(sha) - the first 12 hex digits (the whole digest in the title).
export function shortSha(sha) {
    return sha ? sha.slice(0, 12) : '';
}

// fileLine(a) - one file in a line, for the timeline and the consent it
// documents: its name (a download link when the viewer may have it), type,
// size and the short SHA-256.
export function fileLine(a) {
    const name = a.filename ?? 'Retracted file';
    return h(
        'p',
        { class: 'file-line' },
        a.content_url ? h('a', { href: a.content_url, download: a.filename ?? '', class: 'file-name', text: name, 'aria-label': `Download ${name}` }) : h('strong', { class: 'file-name', text: name }),
        ` · ${TYPES[a.content_type] ?? a.content_type} · ${size(a.size)} · `,
        h('span', { class: 'vis-key', text: 'SHA-256 ' }),
        h('code', { title: a.sha256, text: shortSha(a.sha256) }),
    );
}

export class Files {
    constructor(board) {
        this.board = board;
        this.list = h('ul', { class: 'files-list', 'aria-label': 'Files, newest first' });
        this.empty = h('p', { class: 'empty', text: 'No files yet.' });
        this.formBox = h('div');
        this.el = h(
            'section',
            { id: 'sec-files', class: 'board-section', 'aria-labelledby': 'sec-files-title' },
            h('h2', { id: 'sec-files-title', text: 'Files' }),
            this.list,
            this.empty,
            this.formBox,
        );
        this.renderForm();
    }

    render(liveIds = null) {
        const items = [...(this.board.data.attachments ?? [])].sort((a, b) => b.id - a.id);
        const changed = reconcile(this.list, items, { key: (a) => a.id, render: (a) => this.renderItem(a) });
        if (liveIds) for (const c of changed) if (liveIds.has(c.item.id)) highlight(c.el);
        this.empty.hidden = items.length > 0;
    }

    canRetract(a) {
        if (a.retracted_at) return false;
        if (a.author_id === ctx.me.user.id && a.agency_id === myAgencyId()) return true;
        return myRole() === 'supervisor' && (myAgencyId() === a.agency_id || myAgencyId() === this.board.data.case.lead_agency_id);
    }

    renderItem(a) {
        const name = a.filename ?? 'Retracted file';
        const tools = h('div', { class: 'entry-tools' });
        if (a.content_url) tools.append(h('a', { href: a.content_url, download: a.filename ?? '', class: 'file-download', dataset: { focus: 'download' }, text: 'Download', 'aria-label': `Download ${name}` }));
        const li = h(
            'li',
            { class: ['file', a.visibility !== 'mdt' && 'is-restricted', a.retracted_at && 'is-retracted'] },
            h('p', { class: 'file-head' }, h('strong', { class: 'file-name', text: name }), ` · ${TYPES[a.content_type] ?? a.content_type} · ${size(a.size)}`),
            h(
                'p',
                { class: 'file-meta' },
                `${a.author_name ?? userName(a.author_id)} (${agencyName(a.agency_id)}) · `,
                h('time', { datetime: a.created_at, text: dateTime(a.created_at) }),
            ),
            h('p', { class: 'file-sha' }, h('span', { class: 'vis-key', text: 'SHA-256: ' }), h('code', { text: a.sha256 })),
            a.consent_id ? h('p', { class: 'hint', text: `Documents the consent for ${agencyName((this.board.data.consents ?? []).find((c) => c.id === a.consent_id)?.agency_id)}.` }) : null,
            a.retracted_at
                ? h(
                      'p',
                      { class: 'retracted-note' },
                      h('strong', { text: 'Retracted ' }),
                      `${dateTime(a.retracted_at)}${a.retracted_by ? ` by ${userName(a.retracted_by)}` : ''}${a.retract_reason ? `: “${a.retract_reason}”` : ''}. `,
                      a.content_url ? 'Other agencies no longer see the file.' : `The file is kept for ${agencyName(a.agency_id)} only.`,
                  )
                : null,
            badge(a, a.agency_id),
            tools,
        );
        if (this.canRetract(a)) tools.append(h('button', { type: 'button', class: 'link danger', dataset: { focus: 'retract' }, text: 'Retract', on: { click: () => this.retractForm(a, li) } }));
        return li;
    }

    // retractForm(a, li) - asks for the reason in place, then retracts.
    retractForm(a, li) {
        if (li.querySelector('.retract-form')) return;
        const reason = h('input', { type: 'text', name: 'reason', maxlength: '500', required: true });
        const submit = h('button', { type: 'submit', class: 'danger', text: 'Retract file' });
        const form = h(
            'form',
            { class: 'stack retract-form', novalidate: true },
            field('Why is it retracted?', reason, { hint: 'Other agencies will see that it was retracted, by whom and why; the file stays with your agency.' }),
            h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'link', text: 'Cancel', on: { click: () => { li.classList.remove('is-editing'); form.remove(); } } })),
        );
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            if (!reason.value.trim()) return showFormError(form, { message: 'Say why the file is retracted.', field: 'reason' });
            await busy(submit, async () => {
                try {
                    const updated = await request('DELETE', `/api/v1/attachments/${a.id}`, { reason: reason.value.trim() });
                    li.classList.remove('is-editing');
                    this.board.applyLocal('attachments', updated);
                    announce(`${a.filename} was retracted.`);
                } catch (err) {
                    showFormError(form, err);
                }
            });
        });
        li.classList.add('is-editing');
        li.append(form);
        reason.focus();
    }

    renderForm() {
        const input = h('input', { type: 'file', name: 'file', accept: '.pdf,.png,.jpg,.jpeg,.txt,.docx,.xlsx,.pptx,application/pdf,image/png,image/jpeg,text/plain' });
        const chosen = h('p', { class: 'hint file-chosen', 'aria-live': 'polite', text: 'No file chosen.' });
        const drop = h(
            'div',
            { class: 'drop-zone', dataset: { testid: 'drop-zone' } },
            h('p', { text: 'Drag a file here, or choose one:' }),
            field('File (PDF, PNG, JPEG, text or Office document)', input),
            chosen,
        );
        const pk = picker({ agencies: this.board.caseAgencies(), myAgency: myAgencyId(), noun: 'this file' });
        this.picker = pk;
        const progress = h('progress', { max: '100', value: '0', hidden: true, 'aria-label': 'Upload progress' });
        const status = h('p', { class: 'hint file-status', role: 'status' });
        const submit = h('button', { type: 'submit', text: 'Upload' });
        let file = null;
        const choose = (f) => {
            file = f ?? null;
            chosen.textContent = file ? `Ready to upload: ${file.name} (${size(file.size)}).` : 'No file chosen.';
        };
        input.addEventListener('change', () => choose(input.files[0]));
        drop.addEventListener('dragover', (e) => {
            e.preventDefault();
            drop.classList.add('is-over');
        });
        drop.addEventListener('dragleave', () => drop.classList.remove('is-over'));
        drop.addEventListener('drop', (e) => {
            e.preventDefault();
            drop.classList.remove('is-over');
            choose(e.dataTransfer?.files?.[0]);
        });
        // A signed release: the file documents one of the case's consents.
        const consent = h('select', { name: 'consent_id' });
        const fillConsents = () => {
            const keep = consent.value;
            clear(
                consent,
                h('option', { value: '', text: 'No consent' }),
                (this.board.data.consents ?? []).filter((c) => c.active).map((c) => h('option', { value: String(c.id), text: `Consent for ${agencyName(c.agency_id)}, signed ${c.signed_on}` })),
            );
            consent.value = keep;
        };
        fillConsents();
        this.fillConsents = fillConsents;
        const form = h(
            'form',
            { class: 'stack', novalidate: true },
            drop,
            pk.el,
            field('Documents a consent (optional)', consent, { hint: 'The consent then points at this file; its agency sees the file only while the consent is in force.' }),
            h('div', { class: 'actions' }, submit),
            progress,
            status,
        );
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            if (!file) return showFormError(form, { message: 'Choose a file or drop one on the area above.', field: 'file' });
            let vis;
            try {
                vis = pk.value();
            } catch (err) {
                return showFormError(form, err);
            }
            const q = new URLSearchParams({ filename: file.name, visibility: vis.visibility });
            if (vis.visibility === 'agencies') q.set('visible_to', vis.visible_to.join(','));
            if (consent.value) q.set('consent_id', consent.value);
            progress.hidden = false;
            progress.value = 0;
            await busy(submit, async () => {
                try {
                    const a = await api.upload(`/api/v1/cases/${this.board.caseId}/attachments?${q}`, file, (sent, total) => {
                        progress.value = total ? Math.round((sent / total) * 100) : 0;
                        status.textContent = `Uploading… ${progress.value} %`;
                    });
                    this.board.applyLocal('attachments', a);
                    status.textContent = `Uploaded ${a.filename}. SHA-256 ${a.sha256}.`;
                    input.value = '';
                    choose(null);
                    pk.reset();
                    consent.value = '';
                } catch (err) {
                    status.textContent = '';
                    showFormError(form, err);
                } finally {
                    progress.hidden = true;
                }
            });
        });
        clear(this.formBox, h('details', { class: 'add-box' }, h('summary', { text: 'Add a file' }), form));
    }
}
