// board_actions.js - action items on a board: create, assign, due date,
// status, retract; overdue ones first and marked in words and colour.

import { api } from '../api.js';
import { ctx, agencyName, myAgencyId, myRole, userName } from '../ctx.js';
import { h, clear, field, filled, requiredMessage, select, serverHtml, showFormError, busy, uid } from '../dom.js';
import { date, label, options } from '../format.js';
import { badge, chosenVisibility, picker } from './visibility.js';
import { reconcile, highlight } from './keyed.js';
import { keepForm, clearDraft } from '../drafts.js';
import { excerpt, outboxList, write } from '../outbox.js';

const ORDER = { open: 0, in_progress: 0, done: 1, cancelled: 1 };

function sortActions(a, b) {
    const ga = a.retracted_at ? 2 : ORDER[a.status] ?? 1;
    const gb = b.retracted_at ? 2 : ORDER[b.status] ?? 1;
    if (ga !== gb) return ga - gb;
    if (a.overdue !== b.overdue) return a.overdue ? -1 : 1;
    const da = a.due_date ?? '9999-99-99';
    const db = b.due_date ?? '9999-99-99';
    return da < db ? -1 : da > db ? 1 : a.id - b.id;
}

export class Actions {
    constructor(board) {
        this.board = board;
        this.pending = new Map(); // action id -> a status chosen, not saved yet
        this.undo = null; // {id, from}: the last status saved here, undoable
        this.openList = h('ul', { class: 'actions-list', 'aria-label': 'Open action items' });
        this.closedList = h('ul', { class: 'actions-list closed', 'aria-label': 'Done, cancelled and retracted action items' });
        this.closedSummary = h('summary');
        this.closed = h('details', { class: 'closed-actions' }, this.closedSummary, this.closedList);
        this.empty = h('p', { class: 'empty', text: 'No open action items.' });
        this.formBox = h('div');
        this.el = h(
            'section',
            { id: 'sec-actions', class: 'board-section', 'aria-labelledby': 'sec-actions-title' },
            h('h2', { id: 'sec-actions-title', text: 'Action items' }),
            this.openList,
            this.empty,
            this.closed,
            this.formBox,
        );
        this.renderCreate();
    }

    agenciesChanged() {
        this.renderCreate();
        this.render();
    }

    assignable() {
        return assignable(this.board.caseAgencies());
    }

    canUpdate(a) {
        if (a.retracted_at) return false;
        const me = ctx.me.user;
        const sup = myRole() === 'supervisor';
        return (
            a.assignee_id === me.id ||
            (sup && myAgencyId() === a.assignee_agency_id) ||
            a.created_by === me.id ||
            (sup && myAgencyId() === this.board.data.case.lead_agency_id) ||
            (!a.assignee_id && a.assignee_agency_id === myAgencyId())
        );
    }

    canRetract(a) {
        if (a.retracted_at) return false;
        const me = ctx.me.user;
        const sup = myRole() === 'supervisor';
        return a.assignee_id === me.id || (sup && myAgencyId() === a.assignee_agency_id) || a.created_by === me.id || (sup && myAgencyId() === this.board.data.case.lead_agency_id);
    }

    render(liveIds = null) {
        const all = [...this.board.data.actions].sort(sortActions);
        const open = all.filter((a) => !a.retracted_at && ORDER[a.status] === 0);
        const closed = all.filter((a) => a.retracted_at || ORDER[a.status] !== 0);
        const opts = { key: (a) => a.id, render: (a) => this.renderItem(a) };
        const changed = [...reconcile(this.openList, open, opts), ...reconcile(this.closedList, closed, opts)];
        if (liveIds) for (const c of changed) if (liveIds.has(c.item.id)) highlight(c.el);
        this.empty.hidden = open.length > 0;
        this.closed.hidden = closed.length === 0;
        this.closedSummary.textContent = `Done, cancelled and retracted (${closed.length})`;
    }

    assigneeText(a) {
        if (!a.assignee_agency_id) return 'Not assigned';
        const person = a.assignee_id ? a.assignee_name ?? userName(a.assignee_id) : 'anyone';
        return `${person} · ${agencyName(a.assignee_agency_id)}`;
    }

    renderItem(a) {
        const titleId = `action-${a.id}-title`;
        const li = h('li', { class: ['action', a.overdue && 'is-overdue', a.retracted_at && 'is-retracted', `status-${a.status}`, a.visibility !== 'mdt' && 'is-restricted'] });
        const details = h('div', { class: 'md action-details' });
        if (a.details_html) serverHtml(details, a.details_html);
        const statusCtl = this.canUpdate(a) ? this.statusControl(a) : h('p', { class: 'action-status' }, 'Status: ', h('strong', { text: label('actionStatus', a.status) }));
        const tools = h('div', { class: 'entry-tools' });
        const panel = h('div', { class: 'entry-panel' });
        if (this.canUpdate(a)) tools.append(h('button', { type: 'button', class: 'link', dataset: { focus: 'edit' }, text: 'Change', on: { click: () => this.edit(a, li, panel) } }));
        if (this.canRetract(a)) tools.append(h('button', { type: 'button', class: 'link danger', dataset: { focus: 'retract' }, text: 'Retract', on: { click: () => this.retract(a) } }));
        li.append(
            h(
                'article',
                { 'aria-labelledby': titleId },
                h(
                    'h3',
                    { id: titleId, class: 'action-title' },
                    a.overdue ? h('span', { class: 'badge overdue', text: 'Overdue' }) : null,
                    a.retracted_at ? h('span', { class: 'badge muted', text: 'Retracted' }) : null,
                    ' ',
                    a.title,
                ),
                h(
                    'dl',
                    { class: 'facts inline' },
                    h('div', {}, h('dt', { text: 'Assigned to' }), h('dd', { text: this.assigneeText(a) })),
                    h('div', {}, h('dt', { text: 'Due' }), h('dd', { class: a.overdue ? 'overdue-text' : null, text: a.due_date ? date(a.due_date) : 'No due date' })),
                    h('div', {}, h('dt', { text: 'Created by' }), h('dd', { text: `${a.created_by_name ?? userName(a.created_by)} · ${agencyName(a.agency_id)}` })),
                ),
                a.details_html ? details : null,
                badge(a, a.agency_id, a.assignee_agency_id),
                statusCtl,
                tools.childElementCount ? tools : null,
                panel,
            ),
        );
        return li;
    }

    // statusControl(a) - the Status select with its own Save button: a new
    // status (ArrowDown on the select included) changes nothing until Save
    // (WCAG 3.2.2). A choice not yet saved is kept in this.pending across
    // live re-renders; after a save, Undo puts the previous status back.
    statusControl(a) {
        const s = select(options('actionStatus'), this.pending.get(a.id) ?? a.status, { name: 'status', dataset: { focus: 'status' } });
        const save = h('button', { type: 'button', class: 'small', dataset: { focus: 'status-save' }, text: 'Save status', 'aria-describedby': `action-${a.id}-title` });
        const note = h('span', { class: 'status-note', role: 'status' });
        const sync = () => {
            const changed = s.value !== a.status;
            save.disabled = !changed;
            note.textContent = changed ? `Not saved yet: ${label('actionStatus', s.value)}.` : '';
        };
        s.addEventListener('change', () => {
            if (s.value === a.status) this.pending.delete(a.id);
            else this.pending.set(a.id, s.value);
            sync();
        });
        save.addEventListener('click', () =>
            busy(save, async () => {
                // Set before the save, whose answer re-renders the item.
                this.pending.delete(a.id);
                this.undo = { id: a.id, from: a.status };
                if (await this.patch(a, { status: s.value }, s)) this.el.querySelector(`[data-key="${a.id}"] [data-focus="status-undo"]`)?.focus();
                else this.undo = null;
            }),
        );
        sync();
        const row = h('div', { class: 'field inline status-row' }, h('label', { for: (s.id = uid('st')), text: 'Status' }), s, save);
        if (this.undo?.id === a.id && this.undo.from !== a.status) row.append(this.undoButton(a));
        row.append(note);
        return row;
    }

    // undoButton(a) - "Undo (back to …)" after a's status was saved here:
    // puts this.undo.from back (one more version) and focuses the Status.
    undoButton(a) {
        const undo = h('button', { type: 'button', class: 'link small', dataset: { focus: 'status-undo' }, text: `Undo (back to ${label('actionStatus', this.undo.from)})` });
        undo.addEventListener('click', () =>
            busy(undo, async () => {
                if (this.undo?.id !== a.id) return;
                const back = this.undo.from;
                this.undo = null;
                if (await this.patch(a, { status: back })) this.el.querySelector(`[data-key="${a.id}"] [data-focus="status"]`)?.focus();
            }),
        );
        return undo;
    }

    async patch(a, changes, ctl) {
        try {
            const updated = await api.patch(`/api/v1/actions/${a.id}`, { ...changes, version: a.version });
            this.board.applyLocal('actions', updated);
            this.board.renderHead();
            return true;
        } catch (err) {
            if (err.status === 409 && err.current) {
                this.board.applyLocal('actions', err.current);
                window.alert('This action item was changed by someone else meanwhile. The current state is shown now.');
            } else {
                window.alert(`Could not change the action item: ${err.message}`);
                if (ctl && ctl.tagName === 'SELECT') ctl.value = a.status;
            }
            return false;
        }
    }

    async retract(a) {
        if (!window.confirm(`Retract the action item “${a.title}”? It stays in the record but is no longer tracked.`)) return;
        try {
            const updated = await api.del(`/api/v1/actions/${a.id}`);
            if (updated?.id) this.board.applyLocal('actions', updated);
            this.board.renderHead();
        } catch (err) {
            window.alert(`Could not retract: ${err.message}`);
        }
    }

    // assigneeFields(initialAgency, initialUser) - agency and person selects.
    assigneeFields(initialAgency = null, initialUser = null) {
        return assigneeFields(this.assignable(), initialAgency, initialUser);
    }

    renderCreate() {
        const form = actionForm({
            agencies: this.board.caseAgencies(),
            caseId: this.board.caseId,
            draftKey: `board:c${this.board.caseId}:action-new`,
            onCreated: (created) => this.applyCreated(created),
        });
        const wasOpen = this.formBox.querySelector('details')?.open ?? false;
        const pending = outboxList({ caseId: this.board.caseId, kinds: ['action'], onSent: (item, created) => this.applyCreated(created) });
        clear(this.formBox, h('details', { class: 'add-box', open: wasOpen || form.dataset.restored === 'true' }, h('summary', { text: 'New action item' }), form), pending);
    }

    applyCreated(created) {
        this.board.applyLocal('actions', created);
        this.board.renderHead();
    }

    edit(a, li, panel) {
        li.classList.add('is-editing');
        const title = h('input', { type: 'text', name: 'title', value: a.title, required: true, maxlength: '500' });
        const due = h('input', { type: 'date', name: 'due_date', value: a.due_date ?? '' });
        const asg = this.assigneeFields(a.assignee_agency_id, a.assignee_id);
        // The current assignee agency stays selectable even if this user could not choose it.
        if (a.assignee_agency_id && ![...asg.agencySel.options].some((o) => Number(o.value) === a.assignee_agency_id)) {
            asg.agencySel.append(h('option', { value: String(a.assignee_agency_id), selected: true, text: agencyName(a.assignee_agency_id) }));
            asg.agencySel.dispatchEvent(new Event('change'));
            asg.personSel.value = a.assignee_id ? String(a.assignee_id) : '';
        }
        const save = h('button', { type: 'submit', text: 'Save' });
        const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
        const form = h('form', { class: 'edit-form stack', novalidate: true, 'aria-label': `Change action item ${a.title}` }, field('What needs to be done', title), asg.els, field('Due date', due), h('div', { class: 'actions' }, save, cancel));
        const draftKey = `action:${a.id}:edit`;
        keepForm(form, draftKey, { base: a.version });
        const done = () => {
            li.classList.remove('is-editing');
            clear(panel);
            if (li.dataset.stale) this.render();
        };
        cancel.addEventListener('click', () => {
            clearDraft(draftKey);
            done();
            li.querySelector('[data-focus="edit"]')?.focus();
        });
        form.addEventListener('submit', async (e) => {
            e.preventDefault();
            showFormError(form, null);
            const changes = {};
            if (title.value.trim() !== a.title) changes.title = title.value.trim();
            if ((due.value || null) !== (a.due_date ?? null)) changes.due_date = due.value || null;
            const v = asg.value();
            if (v.assignee_agency_id !== (a.assignee_agency_id ?? null)) changes.assignee_agency_id = v.assignee_agency_id;
            if (v.assignee_id !== (a.assignee_id ?? null)) changes.assignee_id = v.assignee_id;
            if (!Object.keys(changes).length) {
                done();
                return;
            }
            await busy(save, async () => {
                try {
                    const updated = await api.patch(`/api/v1/actions/${a.id}`, { ...changes, version: a.version });
                    clearDraft(draftKey);
                    li.classList.remove('is-editing');
                    this.board.applyLocal('actions', updated);
                    this.board.renderHead();
                } catch (err) {
                    if (err.status === 409 && err.current) {
                        li.classList.remove('is-editing');
                        this.board.applyLocal('actions', err.current);
                        window.alert('This action item was changed by someone else meanwhile. The current state is shown now.');
                    } else showFormError(form, err);
                }
            });
        });
        clear(panel, form);
        title.focus();
    }
}

// assignable(agencies) - the agencies this user may assign to: a supervisor
// any agency on the case, others their own (or nobody).
export function assignable(agencies) {
    return myRole() === 'supervisor' ? agencies : agencies.filter((a) => a.id === myAgencyId());
}

// assigneeFields(agencies, initialAgency, initialUser) - the "Agency
// responsible" and "Person" selects (people from the directory in ctx).
function assigneeFields(agencies, initialAgency = null, initialUser = null) {
    const agencySel = select([['', 'Choose the agency responsible'], ...agencies.map((a) => [a.id, a.name])], initialAgency ?? '', { name: 'assignee_agency_id' });
    const personSel = select([], '', { name: 'assignee_id' });
    const fillPeople = () => {
        const aid = Number(agencySel.value) || null;
        const people = aid ? [...ctx.users.values()].filter((u) => u.agency_id === aid).sort((x, y) => x.display_name.localeCompare(y.display_name)) : [];
        clear(
            personSel,
            h('option', { value: '', text: aid ? `Anyone at ${agencyName(aid)}` : '—' }),
            people.map((u) => h('option', { value: String(u.id), selected: u.id === initialUser, text: u.display_name })),
        );
        personSel.disabled = !aid;
    };
    agencySel.addEventListener('change', fillPeople);
    fillPeople();
    return {
        agencySel,
        personSel,
        els: [field('Agency responsible', agencySel), field('Person', personSel)],
        value() {
            return { assignee_agency_id: Number(agencySel.value) || null, assignee_id: Number(personSel.value) || null };
        },
    };
}

// actionForm({agencies, caseId, meetingId, draftKey, onCreated}) - the "New
// action item" form (the board's and meeting mode's): title, details,
// assignee, due date, visibility. What is typed is kept as a draft under
// draftKey until the create succeeds; then onCreated(actionItem) runs. With
// meetingId the item is linked to that meeting (it is listed in its minutes).
// form.dataset.restored is 'true' when a draft was put back.
export function actionForm({ agencies, caseId, meetingId = null, draftKey, onCreated }) {
    const title = h('input', { type: 'text', name: 'title', required: true, maxlength: '500' });
    const detailsTa = h('textarea', { name: 'details_md', rows: '3' });
    const due = h('input', { type: 'date', name: 'due_date' });
    const asg = assigneeFields(assignable(agencies), null, null);
    const pk = picker({ agencies, myAgency: myAgencyId(), noun: 'this action item' });
    asg.agencySel.addEventListener('change', () => pk.setAssignee(Number(asg.agencySel.value) || null));
    const submit = h('button', { type: 'submit', text: 'Add action item' });
    const form = h(
        'form',
        { class: 'stack action-form', novalidate: true },
        field('What needs to be done', title),
        field('Details (optional, Markdown)', detailsTa),
        asg.els,
        field('Due date (optional)', due),
        pk.el,
        h('div', { class: 'actions' }, submit),
    );
    if (keepForm(form, draftKey)) form.dataset.restored = 'true';
    pk.setAssignee(Number(asg.agencySel.value) || null);
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        showFormError(form, null);
        const vis = filled(form, title, requiredMessage('title')) && filled(form, asg.agencySel, requiredMessage('assignee_agency_id')) && chosenVisibility(form, pk);
        if (!vis) return;
        const { assignee_agency_id, assignee_id } = asg.value();
        const body = { title: title.value.trim(), visibility: vis.visibility };
        if (vis.visibility === 'agencies') body.visible_to = vis.visible_to;
        if (detailsTa.value.trim()) body.details_md = detailsTa.value;
        if (assignee_agency_id) body.assignee_agency_id = assignee_agency_id;
        if (assignee_id) body.assignee_id = assignee_id;
        if (due.value) body.due_date = due.value;
        if (meetingId) body.meeting_id = meetingId;
        await busy(submit, async () => {
            try {
                // Through the outbox: made offline (or its answer lost), it
                // is kept in the tab and sent with its key when the
                // connection is back (outbox.js).
                const res = await write({
                    method: 'POST',
                    path: `/api/v1/cases/${caseId}/actions`,
                    body,
                    kind: 'action',
                    caseId,
                    label: `Action item: ${excerpt(body.title)}`,
                    text: [body.title, body.details_md].filter(Boolean).join('\n\n'),
                });
                clearDraft(draftKey);
                form.reset();
                pk.reset();
                asg.agencySel.dispatchEvent(new Event('change'));
                if (res.result) onCreated(res.result);
                title.focus();
                form.append(h('p', { class: 'success flash', role: 'status', text: res.result ? 'Action item added.' : 'Kept in this tab: it will be sent when the connection is back.' }));
                setTimeout(() => form.querySelector('.flash')?.remove(), 3000);
            } catch (err) {
                showFormError(form, err);
            }
        });
    });
    return form;
}
