// board_pii.js - protected victim details by category, who they are shared
// with and until when, and the consents behind that sharing.

import { api } from '../api.js';
import { ctx, agencyName, myAgencyId, myRole, userName } from '../ctx.js';
import { h, clear, field, select, showFormError, busy, uid } from '../dom.js';
import { date, dateTime, dayOf, label, list, options, validThrough, today } from '../format.js';
import { highlight } from './keyed.js';
import { fileLine } from './board_files.js';

const CATEGORIES = ['identity', 'contact', 'immigration', 'health'];

const FIELDS = {
    identity: [
        ['legal_name', 'Legal name', 'text'],
        ['date_of_birth', 'Date of birth', 'date'],
    ],
    contact: [
        ['address', 'Address', 'text'],
        ['phone', 'Phone', 'text'],
        ['school', 'School', 'text'],
    ],
    immigration: [
        ['status', 'Immigration status', 'text'],
        ['country_of_birth', 'Country of birth', 'text'],
        ['foreign_born', 'Foreign-born', 'bool'],
        ['unaccompanied_minor', 'Unaccompanied minor', 'bool'],
        ['pending_applications', 'Pending applications', 'lines'],
    ],
    health: [['notes', 'Health notes', 'textarea']],
    language: [
        ['preferred', 'Preferred language', 'text'],
        ['interpreter_needed', 'Interpreter needed', 'bool'],
    ],
};

function showValue(type, v) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) return h('span', { class: 'muted', text: 'Not recorded' });
    if (type === 'bool') return v ? 'Yes' : 'No';
    if (type === 'date') return date(v);
    if (type === 'lines') return h('ul', { class: 'plain' }, v.map((x) => h('li', { text: x })));
    return String(v);
}

export class Protected {
    constructor(board) {
        this.board = board;
        this.body = h('div', { class: 'pii-body' });
        this.consentsEl = h('div', { class: 'consents' });
        this.recordBox = h('div');
        this.editing = null; // category being edited
        this.el = h(
            'section',
            { id: 'sec-pii', class: 'board-section', 'aria-labelledby': 'sec-pii-title' },
            h('h2', { id: 'sec-pii-title', text: 'Protected details' }),
            h('p', { class: 'hint', text: 'Each category belongs to one agency on the case. Other agencies see it only while a recorded, unexpired consent covers it.' }),
            this.body,
            h('h3', { id: 'consents-title', text: 'Consents' }),
            this.consentsEl,
            this.recordBox,
        );
    }

    owner(cat) {
        return this.board.data.case.pii_owners?.[cat] ?? null;
    }

    // Active consents covering cat.
    sharing(cat) {
        return this.board.data.consents.filter((c) => c.active && c.categories.includes(cat));
    }

    // lostSince(cat) - the day (in words) this agency stopped seeing cat:
    // the latest revocation or expiry of a consent that shared it with this
    // agency (the consents list), else the moment an access.revoked event
    // took it away on this page; null when it was never shared.
    lostSince(cat) {
        const ends = this.board.data.consents
            .filter((c) => !c.active && c.agency_id === myAgencyId() && c.categories.includes(cat))
            .map((c) => (c.revoked_at && (!c.expires_at || c.revoked_at < c.expires_at) ? { iso: c.revoked_at, day: dayOf(c.revoked_at) } : { iso: c.expires_at, day: dayOf(c.expires_at) }))
            .sort((a, b) => (a.iso < b.iso ? -1 : 1));
        if (ends.length) return ends.at(-1).day;
        const seen = this.board.lostPii?.[cat];
        return seen ? dayOf(seen) : null;
    }

    canWrite(cat) {
        return myRole() !== 'admin' && this.owner(cat) === myAgencyId();
    }

    render(live = false) {
        if (this.editing) {
            this.pendingRender = true;
            return;
        }
        const pii = this.board.data.pii ?? {};
        const cards = CATEGORIES.map((cat) => this.renderCategory(cat, pii));
        cards.push(this.renderLanguage(pii));
        clear(this.body, cards);
        this.renderConsents();
        this.renderRecord();
        if (live) highlight(this.el);
    }

    renderCategory(cat, pii) {
        const owner = this.owner(cat);
        const mine = owner === myAgencyId();
        const visible = Object.prototype.hasOwnProperty.call(pii, cat);
        const shares = this.sharing(cat);
        const id = uid('pii');
        const card = h('article', { class: ['pii-cat', visible ? 'is-visible' : 'is-hidden'], 'aria-labelledby': id });
        card.append(
            h('h3', { id, class: 'pii-title' }, label('piiCategory', cat), ' ', h('span', { class: 'owner', text: `· owned by ${agencyName(owner)}` })),
        );
        if (!visible) {
            const since = mine ? null : this.lostSince(cat);
            card.append(
                since
                    ? h('p', { class: 'pii-hidden pii-lost' }, h('strong', { text: `No longer shared with your agency since ${since}. ` }), `${agencyName(owner)} can share these details again by recording a new consent.`)
                    : h('p', { class: 'pii-hidden' }, h('strong', { text: 'Not shared with your agency. ' }), `${agencyName(owner)} can share these details with your agency by recording the family’s consent.`),
            );
            return card;
        }
        const data = pii[cat] ?? {};
        card.append(
            h(
                'dl',
                { class: 'facts' },
                FIELDS[cat].map(([k, lbl, type]) => [h('dt', { text: lbl }), h('dd', {}, showValue(type, data[k]))]),
            ),
        );
        if (mine) {
            card.append(
                h(
                    'p',
                    { class: ['share-line', shares.length ? 'vis-restricted' : 'vis-own'] },
                    shares.length
                        ? ['Shared with ', list(shares.map((c) => `${agencyName(c.agency_id)} until ${validThrough(c.expires_at)}`)), '.']
                        : `Not shared: only ${agencyName(owner)} sees these details.`,
                ),
            );
        } else {
            const mineShares = shares.filter((c) => c.agency_id === myAgencyId());
            const until = mineShares.length ? mineShares.map((c) => validThrough(c.expires_at)).sort().at(-1) : null;
            card.append(
                h(
                    'p',
                    { class: 'share-line vis-restricted' },
                    `Shared with your agency by ${agencyName(owner)} under a consent${until ? ` until ${until}` : ''}.`,
                    shares.length > mineShares.length ? ` Also shared with ${list(shares.filter((c) => c.agency_id !== myAgencyId()).map((c) => `${agencyName(c.agency_id)} until ${validThrough(c.expires_at)}`))}.` : '',
                ),
            );
        }
        if (this.canWrite(cat)) card.append(h('button', { type: 'button', class: 'secondary small', text: `Edit ${label('piiCategory', cat).toLowerCase()} details`, on: { click: () => this.edit(cat, card) } }));
        return card;
    }

    renderLanguage(pii) {
        const id = uid('pii');
        const data = pii.language ?? {};
        const card = h(
            'article',
            { class: 'pii-cat is-visible', 'aria-labelledby': id },
            h('h3', { id, class: 'pii-title' }, 'Language ', h('span', { class: 'owner', text: '· not protected' })),
            h('dl', { class: 'facts' }, FIELDS.language.map(([k, lbl, type]) => [h('dt', { text: lbl }), h('dd', {}, showValue(type, data[k]))])),
            h('p', { class: 'share-line vis-all', text: 'Visible to all agencies on this case.' }),
        );
        if (myRole() !== 'admin') card.append(h('button', { type: 'button', class: 'secondary small', text: 'Edit language', on: { click: () => this.edit('language', card) } }));
        return card;
    }

    edit(cat, card) {
        this.editing = cat;
        const data = (this.board.data.pii ?? {})[cat] ?? {};
        const controls = {};
        const rows = FIELDS[cat].map(([k, lbl, type]) => {
            let ctl;
            const v = data[k];
            if (type === 'bool') ctl = select([['', 'Not recorded'], ['true', 'Yes'], ['false', 'No']], v === null || v === undefined ? '' : String(v), { name: `${cat}.${k}` });
            else if (type === 'textarea') ctl = h('textarea', { name: `${cat}.${k}`, rows: '4', value: v ?? '' });
            else if (type === 'lines') ctl = h('textarea', { name: `${cat}.${k}`, rows: '3', value: (v ?? []).join('\n') });
            else ctl = h('input', { type: type === 'date' ? 'date' : 'text', name: `${cat}.${k}`, value: v ?? '', maxlength: '500' });
            controls[k] = [ctl, type];
            return field(lbl, ctl, type === 'lines' ? { hint: 'One application per line.' } : {});
        });
        const save = h('button', { type: 'submit', text: 'Save' });
        const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
        const form = h('form', { class: 'stack edit-form', novalidate: true, 'aria-label': `Edit ${cat}` }, rows, h('div', { class: 'actions' }, save, cancel));
        const finish = () => {
            this.editing = null;
            this.render();
        };
        cancel.addEventListener('click', finish);
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            const out = {};
            for (const [k, [ctl, type]] of Object.entries(controls)) {
                const raw = ctl.value;
                if (type === 'bool') out[k] = raw === '' ? null : raw === 'true';
                else if (type === 'lines') out[k] = raw.split('\n').map((s) => s.trim()).filter(Boolean);
                else out[k] = raw.trim() === '' ? null : raw.trim();
            }
            await busy(save, async () => {
                try {
                    const pii = await api.put(`/api/v1/cases/${this.board.caseId}/pii`, { version: this.board.data.pii?.version ?? 0, [cat]: out });
                    this.board.data.pii = pii;
                    finish();
                } catch (err) {
                    if (err.status === 409 && err.current) {
                        this.board.data.pii = err.current;
                        showFormError(form, { message: 'These details were changed by someone else meanwhile. Cancel to see the current details, then edit again.' });
                    } else showFormError(form, err);
                }
            });
        });
        card.append(form);
        form.querySelector('input, textarea, select')?.focus();
    }

    renderConsents() {
        const consents = [...this.board.data.consents].sort((a, b) => (b.active - a.active) || (a.expires_at < b.expires_at ? 1 : -1));
        if (!consents.length) {
            clear(this.consentsEl, h('p', { class: 'empty', text: 'No consents recorded.' }));
            return;
        }
        clear(this.consentsEl, h('ul', { class: 'consent-list', 'aria-labelledby': 'consents-title' }, consents.map((c) => this.renderConsent(c))));
    }

    canRevoke(c) {
        return c.active && myRole() !== 'admin' && c.categories.every((cat) => this.owner(cat) === myAgencyId());
    }

    // documentFacts(c) - the files that document the consent (those this
    // agency may see), else its document_ref as typed.
    documentFacts(c) {
        const files = (this.board.data.attachments ?? []).filter((a) => a.consent_id === c.id);
        if (files.length) return h('div', { class: 'consent-files' }, h('dt', { text: files.length === 1 ? 'Document' : 'Documents' }), h('dd', {}, files.map((a) => fileLine(a))));
        if (!c.document_ref || c.document_ref.startsWith('attachment:')) return null;
        return h('div', {}, h('dt', { text: 'Document' }), h('dd', { text: c.document_ref }));
    }

    renderConsent(c) {
        const state = c.revoked_at
            ? h('span', { class: 'badge muted', text: `Revoked ${dayOf(c.revoked_at)}` })
            : c.active
              ? h('span', { class: 'badge ok', text: 'Active' })
              : h('span', { class: 'badge muted', text: 'Expired' });
        const by = (c.consented_by ?? []).map((p) => (p.name ? `${label('consentRole', p.role)} (${p.name})` : label('consentRole', p.role)));
        const li = h(
            'li',
            { class: ['consent', c.active ? 'is-active' : 'is-inactive'] },
            h('p', { class: 'consent-head' }, state, ' ', h('strong', { text: agencyName(c.agency_id) }), ` may see ${list(c.categories.map((x) => label('piiCategory', x)))}`),
            h(
                'dl',
                { class: 'facts inline' },
                h('div', {}, h('dt', { text: c.active ? 'Valid through' : 'Was valid through' }), h('dd', { text: validThrough(c.expires_at) })),
                h('div', {}, h('dt', { text: 'Signed' }), h('dd', { text: date(c.signed_on) })),
                h('div', {}, h('dt', { text: 'Consent given by' }), h('dd', { text: by.length ? list(by) : '—' })),
                h('div', {}, h('dt', { text: 'Purpose' }), h('dd', { text: c.purpose })),
                this.documentFacts(c),
                h('div', {}, h('dt', { text: 'Recorded by' }), h('dd', { text: `${userName(c.granted_by)}${c.created_at ? `, ${dateTime(c.created_at)}` : ''}` })),
            ),
        );
        if (this.canRevoke(c)) {
            li.append(
                h('button', {
                    type: 'button',
                    class: 'secondary small danger',
                    text: 'Revoke consent',
                    on: { click: () => this.revoke(c) },
                }),
            );
        }
        return li;
    }

    async revoke(c) {
        if (!window.confirm(`Revoke this consent? ${agencyName(c.agency_id)} will stop seeing ${list(c.categories.map((x) => label('piiCategory', x)))} at once.`)) return;
        try {
            const updated = await api.del(`/api/v1/consents/${c.id}`);
            this.board.upsert('consents', updated);
            await this.board.refreshPii();
            this.render();
        } catch (err) {
            window.alert(`Could not revoke: ${err.message}`);
        }
    }

    renderRecord() {
        const owned = CATEGORIES.filter((cat) => this.canWrite(cat));
        const key = `${owned.join(',')}|${this.board.data.case.agencies.join(',')}`;
        if (key === this.recordKey) return; // keep what is being typed
        this.recordKey = key;
        if (!owned.length) {
            clear(this.recordBox);
            return;
        }
        const wasOpen = this.recordBox.querySelector('details')?.open ?? false;
        const cats = h(
            'fieldset',
            { class: 'checks' },
            h('legend', { text: 'Details to share' }),
            owned.map((cat) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'categories', value: cat }), ` ${label('piiCategory', cat)}`)),
        );
        const others = this.board.caseAgencies().filter((a) => a.id !== myAgencyId());
        const agency = select([['', 'Choose an agency'], ...others.map((a) => [a.id, a.name])], '', { name: 'agency_id' });
        const parties = h('div', { class: 'parties' });
        const addParty = () => {
            const role = select(options('consentRole'), 'guardian', { name: 'consented_by.role' });
            const name = h('input', { type: 'text', name: 'consented_by.name', maxlength: '200' });
            const n = parties.childElementCount + 1;
            const row = h(
                'fieldset',
                { class: 'party' },
                h('legend', { text: `Person giving consent ${n}` }),
                field('Role', role),
                field('Name', name),
                n > 1 ? h('button', { type: 'button', class: 'link danger', text: `Remove person ${n}`, on: { click: () => row.remove() } }) : null,
            );
            parties.append(row);
            return name;
        };
        addParty();
        const purpose = h('input', { type: 'text', name: 'purpose', maxlength: '500' });
        const signed = h('input', { type: 'date', name: 'signed_on', value: today() });
        const expires = h('input', { type: 'date', name: 'expires_on', min: today(1) });
        const doc = h('input', { type: 'text', name: 'document_ref', maxlength: '500' });
        const note = h('textarea', { name: 'note', rows: '2', maxlength: '2000' });
        const submit = h('button', { type: 'submit', text: 'Record consent' });
        const form = h(
            'form',
            { class: 'stack', novalidate: true },
            cats,
            field('Share with', agency),
            parties,
            h('button', { type: 'button', class: 'secondary small', text: 'Add another person', on: { click: () => addParty().focus() } }),
            field('Purpose', purpose),
            field('Signed on', signed),
            field('Valid through', expires, { hint: 'Required. Sharing stops automatically after this day.' }),
            field('Document reference (optional)', doc),
            field('Note (optional)', note),
            h('div', { class: 'actions' }, submit),
        );
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            const categories = [...form.querySelectorAll('input[name="categories"]:checked')].map((i) => i.value);
            const consented_by = [...parties.querySelectorAll('.party')].map((p) => ({ role: p.querySelector('select').value, name: p.querySelector('input').value.trim() }));
            const body = { categories, agency_id: Number(agency.value) || null, consented_by, purpose: purpose.value.trim(), signed_on: signed.value, expires_on: expires.value };
            if (doc.value.trim()) body.document_ref = doc.value.trim();
            if (note.value.trim()) body.note = note.value.trim();
            if (!categories.length) return showFormError(form, { message: 'Tick at least one category to share.', field: 'categories' });
            if (!body.agency_id) return showFormError(form, { message: 'Choose the agency the details are shared with.', field: 'agency_id' });
            if (!body.expires_on) return showFormError(form, { message: 'A consent needs an end date.', field: 'expires_on' });
            await busy(submit, async () => {
                try {
                    const created = await api.create(`/api/v1/cases/${this.board.caseId}/consents`, body);
                    this.board.upsert('consents', created);
                    this.recordKey = null;
                    this.render();
                    this.recordBox.querySelector('details').open = false;
                    this.consentsEl.querySelector('.consent')?.setAttribute('tabindex', '-1');
                } catch (err) {
                    showFormError(form, err);
                }
            });
        });
        clear(this.recordBox, h('details', { class: 'add-box', open: wasOpen }, h('summary', { text: 'Record a consent' }), form));
    }
}
