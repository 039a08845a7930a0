// board_records.js - the services log and the (non-identifying) tracking data.

import { api } from '../api.js';
import { agencyName, myAgencyId, userName } from '../ctx.js';
import { h, clear, field, select, showFormError, busy, uid } from '../dom.js';
import { date, label, list, options, today } from '../format.js';
import { badge, picker } from './visibility.js';
import { reconcile, highlight } from './keyed.js';

export class Services {
    constructor(board) {
        this.board = board;
        this.list = h('ul', { class: 'services-list', 'aria-label': 'Services, newest first' });
        this.empty = h('p', { class: 'empty', text: 'No services logged yet.' });
        this.total = h('p', { class: 'hint' });
        this.formBox = h('div');
        this.el = h(
            'section',
            { id: 'sec-services', class: 'board-section', 'aria-labelledby': 'sec-services-title' },
            h('h2', { id: 'sec-services-title', text: 'Services' }),
            this.total,
            this.list,
            this.empty,
            this.formBox,
        );
        this.renderForm();
    }

    render(liveIds = null) {
        const items = [...this.board.data.services].sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : b.id - a.id));
        const changed = reconcile(this.list, items, { key: (s) => s.id, render: (s) => this.renderItem(s) });
        if (liveIds) for (const c of changed) if (liveIds.has(c.item.id)) highlight(c.el);
        this.empty.hidden = items.length > 0;
        const mins = items.reduce((n, s) => n + (s.minutes ?? 0), 0);
        this.total.textContent = items.length ? `${items.length} service${items.length === 1 ? '' : 's'}, ${Math.round(mins / 6) / 10} hours in total (of those your agency sees).` : '';
    }

    renderItem(s) {
        return h(
            'li',
            { class: ['service', s.visibility !== 'mdt' && 'is-restricted'] },
            h('p', { class: 'service-head' }, h('strong', { text: s.service }), ` · ${label('serviceCategory', s.category)}`),
            h(
                'dl',
                { class: 'facts inline' },
                h('div', {}, h('dt', { text: 'Date' }), h('dd', { text: date(s.date) })),
                h('div', {}, h('dt', { text: 'Agency' }), h('dd', { text: agencyName(s.agency_id) })),
                s.minutes !== null && s.minutes !== undefined ? h('div', {}, h('dt', { text: 'Time' }), h('dd', { text: `${s.minutes} min` })) : null,
                s.created_by ? h('div', {}, h('dt', { text: 'Logged by' }), h('dd', { text: userName(s.created_by) })) : null,
            ),
            s.note ? h('p', { class: 'service-note', text: s.note }) : null,
            badge(s, s.agency_id),
        );
    }

    renderForm() {
        const d = h('input', { type: 'date', name: 'date', value: today(), required: true });
        const cat = select(options('serviceCategory'), 'personal_advocacy', { name: 'category' });
        const what = h('input', { type: 'text', name: 'service', maxlength: '200', required: true });
        const mins = h('input', { type: 'number', name: 'minutes', min: '0', max: '100000', inputmode: 'numeric' });
        const note = h('textarea', { name: 'note', rows: '2', maxlength: '2000' });
        const pk = picker({ agencies: this.board.caseAgencies(), myAgency: myAgencyId(), noun: 'this service' });
        this.picker = pk;
        const submit = h('button', { type: 'submit', text: 'Log service' });
        const form = h(
            'form',
            { class: 'stack', novalidate: true },
            field('Date', d),
            field('Category', cat),
            field('Service', what, { hint: 'For example “Court accompaniment” or “SIJS intake”.' }),
            field('Minutes (optional)', mins),
            field('Note (optional, plain text)', note),
            pk.el,
            h('div', { class: 'actions' }, submit),
        );
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            if (!what.value.trim()) return showFormError(form, { message: 'Name the service.', field: 'service' });
            let vis;
            try {
                vis = pk.value();
            } catch (err) {
                return showFormError(form, err);
            }
            const body = { date: d.value, category: cat.value, service: what.value.trim(), visibility: vis.visibility };
            if (vis.visibility === 'agencies') body.visible_to = vis.visible_to;
            if (mins.value !== '') body.minutes = Number(mins.value);
            if (note.value.trim()) body.note = note.value.trim();
            await busy(submit, async () => {
                try {
                    const s = await api.create(`/api/v1/cases/${this.board.caseId}/services`, body);
                    this.board.applyLocal('services', s);
                    what.value = '';
                    mins.value = '';
                    note.value = '';
                    pk.reset();
                    form.append(h('p', { class: 'success flash', role: 'status', text: 'Service logged.' }));
                    setTimeout(() => form.querySelector('.flash')?.remove(), 3000);
                } catch (err) {
                    showFormError(form, err);
                }
            });
        });
        clear(this.formBox, h('details', { class: 'add-box' }, h('summary', { text: 'Log a service' }), form));
    }
}

const TRACK_OUTCOMES = [
    ['criminal_disposition', 'Criminal disposition', 'disposition'],
    ['child_protection_outcome', 'Child protection outcome', 'cpOutcome'],
    ['medical_referral', 'Medical referral', 'referral'],
    ['mental_health_referral', 'Mental-health referral', 'referral'],
];

export class Tracking {
    constructor(board) {
        this.board = board;
        this.body = h('div');
        this.el = h(
            'section',
            { id: 'sec-tracking', class: 'board-section', 'aria-labelledby': 'sec-tracking-title' },
            h('h2', { id: 'sec-tracking-title', text: 'Tracking' }),
            h('p', { class: 'hint', text: 'Non-identifying data for accreditation and grant reports. Every agency on the case sees and can update it.' }),
            this.body,
        );
        this.editing = false;
    }

    render(live = false) {
        if (this.editing) return;
        const t = this.board.data.tracking ?? {};
        const child = t.child ?? {};
        const out = t.outcomes ?? {};
        const offenders = t.alleged_offenders ?? [];
        const yesNo = (v) => (v === true ? 'Yes' : v === false ? 'No' : '—');
        clear(
            this.body,
            h(
                'dl',
                { class: 'facts' },
                h('dt', { text: 'Abuse types' }),
                h('dd', { text: (t.abuse_types ?? []).length ? list(t.abuse_types.map((x) => label('abuseType', x))) : '—' }),
                h('dt', { text: 'Trafficking type' }),
                h('dd', { text: label('traffickingType', t.trafficking_type) }),
                h('dt', { text: 'Child' }),
                h(
                    'dd',
                    {
                        text:
                            [
                                child.gender ? label('gender', child.gender) : null,
                                child.age_group ? `age ${label('ageGroup', child.age_group)} at referral` : null,
                                (child.race_ethnicity ?? []).length ? list(child.race_ethnicity.map((x) => label('race', x))) : null,
                                child.language ? `speaks ${child.language}` : null,
                            ]
                                .filter(Boolean)
                                .join(' · ') || '—',
                    },
                ),
                h('dt', { text: 'Alleged offenders' }),
                h(
                    'dd',
                    {},
                    offenders.length
                        ? h('ul', { class: 'plain' }, offenders.map((o) => h('li', { text: [label('relationship', o.relationship), label('gender', o.gender), o.age_range ? `age ${label('ageRange', o.age_range)}` : null].filter((x) => x && x !== '—').join(', ') })))
                        : '—',
                ),
                h('dt', { text: 'Charges filed' }),
                h('dd', { text: yesNo(out.charges_filed) }),
                TRACK_OUTCOMES.map(([k, lbl, group]) => [h('dt', { text: lbl }), h('dd', { text: label(group, out[k]) })]),
            ),
            h('button', { type: 'button', class: 'secondary small', text: 'Edit tracking data', on: { click: () => this.edit() } }),
        );
        if (live) highlight(this.el);
    }

    edit() {
        this.editing = true;
        const t = structuredClone(this.board.data.tracking ?? { version: 0 });
        const child = t.child ?? {};
        const out = t.outcomes ?? {};
        const checks = (legend, group, name, selected) =>
            h(
                'fieldset',
                { class: 'checks' },
                h('legend', { text: legend }),
                options(group).map(([v, l]) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: v, checked: (selected ?? []).includes(v) }), ` ${l}`)),
            );
        const opt = (group, value, name) => select([['', 'Not recorded'], ...options(group)], value ?? '', { name });
        const abuse = checks('Abuse types', 'abuseType', 'abuse_types', t.abuse_types);
        const ttype = opt('traffickingType', t.trafficking_type, 'trafficking_type');
        const gender = opt('gender', child.gender, 'child.gender');
        const age = opt('ageGroup', child.age_group, 'child.age_group');
        const race = checks('Race and ethnicity', 'race', 'child.race_ethnicity', child.race_ethnicity);
        const lang = h('input', { type: 'text', name: 'child.language', maxlength: '64', value: child.language ?? '' });
        const charges = select([['', 'Not recorded'], ['true', 'Yes'], ['false', 'No']], out.charges_filed === null || out.charges_filed === undefined ? '' : String(out.charges_filed), { name: 'outcomes.charges_filed' });
        const outSel = TRACK_OUTCOMES.map(([k, lbl, group]) => [k, lbl, opt(group, out[k], `outcomes.${k}`)]);
        const offBox = h('div', { class: 'offenders' });
        const addOffender = (o = {}) => {
            const n = offBox.childElementCount + 1;
            const rel = opt('relationship', o.relationship, 'relationship');
            const g = opt('gender', o.gender, 'gender');
            const ar = opt('ageRange', o.age_range, 'age_range');
            const row = h(
                'fieldset',
                { class: 'party offender' },
                h('legend', { text: `Alleged offender ${n}` }),
                field('Relationship to the child', rel),
                field('Gender', g),
                field('Age range', ar),
                h('button', { type: 'button', class: 'link danger', text: `Remove alleged offender ${n}`, on: { click: () => row.remove() } }),
            );
            offBox.append(row);
            return rel;
        };
        for (const o of t.alleged_offenders ?? []) addOffender(o);
        const save = h('button', { type: 'submit', text: 'Save tracking data' });
        const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
        const form = h(
            'form',
            { class: 'stack edit-form', novalidate: true, 'aria-label': 'Edit tracking data' },
            abuse,
            field('Trafficking type', ttype),
            h('fieldset', {}, h('legend', { text: 'The child' }), field('Gender', gender), field('Age group at referral', age), race, field('Language', lang)),
            h('fieldset', {}, h('legend', { text: 'Alleged offenders' }), offBox, h('button', { type: 'button', class: 'secondary small', text: 'Add an alleged offender', on: { click: () => addOffender().focus() } })),
            h('fieldset', {}, h('legend', { text: 'Outcomes' }), field('Charges filed', charges), outSel.map(([, lbl, s]) => field(lbl, s))),
            h('div', { class: 'actions' }, save, cancel),
        );
        const finish = () => {
            this.editing = false;
            this.render();
            this.el.querySelector('button')?.focus();
        };
        cancel.addEventListener('click', finish);
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            const vals = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
            const orNull = (v) => (v === '' ? null : v);
            const body = {
                version: t.version ?? 0,
                abuse_types: vals('abuse_types'),
                trafficking_type: orNull(ttype.value),
                child: { gender: orNull(gender.value), age_group: orNull(age.value), race_ethnicity: vals('child.race_ethnicity'), language: orNull(lang.value.trim()) },
                alleged_offenders: [...offBox.querySelectorAll('.offender')].map((row) => {
                    const [r, g, a] = row.querySelectorAll('select');
                    return { relationship: orNull(r.value), gender: orNull(g.value), age_range: orNull(a.value) };
                }),
                outcomes: { charges_filed: charges.value === '' ? null : charges.value === 'true' },
            };
            for (const [k, , s] of outSel) body.outcomes[k] = orNull(s.value);
            await busy(save, async () => {
                try {
                    this.board.data.tracking = await api.put(`/api/v1/cases/${this.board.caseId}/tracking`, body);
                    finish();
                } catch (err) {
                    if (err.status === 409 && err.current) {
                        this.board.data.tracking = err.current;
                        showFormError(form, { message: 'Someone else saved tracking data meanwhile. Cancel to see it, then edit again.' });
                    } else showFormError(form, err);
                }
            });
        });
        clear(this.body, form);
        form.querySelector('input, select')?.focus();
    }
}

export { uid };
