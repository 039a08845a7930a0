// board_case.js - the case's own details: agencies, owners of protected
// details, related cases; edits by members (alias, municipality) and by the
// lead agency's supervisors (status, agencies).

import { api } from '../api.js';
import { ctx, agencyName, myAgencyId, myRole } from '../ctx.js';
import { h, clear, field, select, showFormError, busy } from '../dom.js';
import { date, dateTime, dayOf, label, options } from '../format.js';
import { highlight } from './keyed.js';

export class CaseDetails {
    constructor(board) {
        this.board = board;
        this.body = h('div');
        this.editing = false;
        this.el = h('section', { id: 'sec-case', class: 'board-section', 'aria-labelledby': 'sec-case-title' }, h('h2', { id: 'sec-case-title', text: 'Case details' }), this.body);
    }

    render(live = false) {
        if (this.editing) return;
        const c = this.board.data.case;
        const agencies = this.board.caseAgencies();
        const lead = this.board.isLeadSupervisor();
        clear(
            this.body,
            h(
                'dl',
                { class: 'facts' },
                h('dt', { text: 'Case number' }),
                h('dd', { text: c.case_number }),
                h('dt', { text: 'Alias' }),
                h('dd', { text: c.alias }),
                h('dt', { text: 'Status' }),
                h('dd', { text: label('status', c.status) }),
                h('dt', { text: 'Referral date' }),
                h('dd', { text: date(c.referral_date) }),
                h('dt', { text: 'Opened on MDT Board' }),
                h('dd', { text: dateTime(c.created_at) }),
                c.closed_at ? h('dt', { text: 'Closed' }) : null,
                c.closed_at ? h('dd', { text: dayOf(c.closed_at) }) : null,
                h('dt', { text: 'Legal hold' }),
                h('dd', { text: c.legal_hold ? `Yes — set by ${c.legal_hold_set_by_name ?? 'a supervisor'} on ${dayOf(c.legal_hold_set_at)}` : 'No' }),
                h('dt', { text: 'Agencies on the case' }),
                h(
                    'dd',
                    {},
                    h(
                        'ul',
                        { class: 'plain' },
                        agencies.map((a) => h('li', {}, a.name, a.kind ? h('span', { class: 'muted', text: ` — ${label('agencyKind', a.kind)}` }) : null, a.id === c.lead_agency_id ? h('span', { class: 'badge', text: 'Lead' }) : null)),
                    ),
                ),
                h('dt', { text: 'Protected details owned by' }),
                h(
                    'dd',
                    {},
                    h('ul', { class: 'plain' }, ['identity', 'contact', 'immigration', 'health'].map((k) => h('li', { text: `${label('piiCategory', k)}: ${agencyName(c.pii_owners?.[k])}` }))),
                ),
                (c.related_case_ids ?? []).length ? h('dt', { text: 'Related cases' }) : null,
                (c.related_case_ids ?? []).length ? h('dd', {}, h('ul', { class: 'plain' }, c.related_case_ids.map((id) => h('li', {}, h('a', { href: `#/cases/${id}`, text: `Case #${id}` }))))) : null,
            ),
            h(
                'div',
                { class: 'actions' },
                myRole() !== 'admin' || lead ? h('button', { type: 'button', class: 'secondary small', text: 'Edit case details', on: { click: () => this.edit() } }) : null,
                lead ? h('button', { type: 'button', class: 'secondary small', text: c.legal_hold ? 'Lift legal hold' : 'Place legal hold', on: { click: (e) => this.toggleHold(e.currentTarget) } }) : null,
                lead ? h('a', { class: 'button secondary small', href: `#/audit?case_id=${c.id}`, text: 'Audit trail of this case' }) : null,
            ),
        );
        if (live) highlight(this.el);
    }

    // toggleHold(button) - places or lifts the legal hold (lead supervisors).
    async toggleHold(button) {
        const c = this.board.data.case;
        await busy(button, async () => {
            try {
                this.board.data.case = await api.patch(`/api/v1/cases/${c.id}`, { legal_hold: !c.legal_hold, version: c.version });
                this.board.refresh('case', undefined, false);
            } catch (err) {
                if (err.status === 409 && err.current) {
                    this.board.data.case = err.current;
                    this.board.refresh('case', undefined, false);
                }
                showFormError(this.body, err);
            }
        });
    }

    edit() {
        this.editing = true;
        const c = this.board.data.case;
        const lead = this.board.isLeadSupervisor();
        const alias = h('input', { type: 'text', name: 'alias', value: c.alias, maxlength: '100', required: true });
        const muni = h('input', { type: 'text', name: 'municipality', value: c.municipality ?? '', maxlength: '100' });
        const status = select(options('status'), c.status, { name: 'status' });
        const all = [...ctx.agencies.values()].filter((a) => a.active || c.agencies.includes(a.id)).sort((a, b) => a.name.localeCompare(b.name));
        const agencies = lead
            ? h(
                  'fieldset',
                  { class: 'checks' },
                  h('legend', { text: 'Agencies on the case' }),
                  h('p', { class: 'hint', text: 'An agency you remove loses sight of the whole case at once, including what it wrote.' }),
                  all.map((a) =>
                      h(
                          'label',
                          { class: 'check' },
                          h('input', { type: 'checkbox', name: 'agencies', value: String(a.id), checked: c.agencies.includes(a.id), disabled: a.id === c.lead_agency_id }),
                          ` ${a.name}${a.id === c.lead_agency_id ? ' (lead)' : ''}`,
                      ),
                  ),
              )
            : null;
        const save = h('button', { type: 'submit', text: 'Save' });
        const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
        const form = h(
            'form',
            { class: 'stack edit-form', novalidate: true, 'aria-label': 'Edit case details' },
            field('Alias', alias),
            field('Municipality', muni),
            lead ? field('Status', status) : h('p', { class: 'hint', text: `Status and agencies are changed by a supervisor of ${agencyName(c.lead_agency_id)}.` }),
            agencies,
            h('div', { class: 'actions' }, save, cancel),
        );
        const finish = () => {
            this.editing = false;
            this.render();
        };
        cancel.addEventListener('click', finish);
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            const body = { version: c.version };
            if (alias.value.trim() !== c.alias) body.alias = alias.value.trim();
            if ((muni.value.trim() || null) !== (c.municipality ?? null)) body.municipality = muni.value.trim() || null;
            if (lead) {
                if (status.value !== c.status) body.status = status.value;
                const ids = [...form.querySelectorAll('input[name="agencies"]:checked')].map((i) => Number(i.value));
                if (!ids.includes(c.lead_agency_id)) ids.push(c.lead_agency_id);
                if (JSON.stringify([...ids].sort((a, b) => a - b)) !== JSON.stringify([...c.agencies].sort((a, b) => a - b))) body.agencies = ids;
            }
            if (Object.keys(body).length === 1) return finish();
            await busy(save, async () => {
                try {
                    this.board.data.case = await api.patch(`/api/v1/cases/${c.id}`, body);
                    this.editing = false;
                    this.board.refresh('case', undefined, false);
                } catch (err) {
                    if (err.status === 409 && err.current) {
                        this.board.data.case = err.current;
                        showFormError(form, { message: 'The case was changed by someone else meanwhile. Cancel to see the current details, then edit again.' });
                    } else showFormError(form, err);
                }
            });
        });
        clear(this.body, form);
        alias.focus();
    }
}
