// visibility.js - who can see an item, said plainly: the badge on every
// entry, action item and service, and the picker in every composer.
//
// Rules (API.md "Visibility"): `mdt` = every agency on the case; `agencies`
// = the agencies in visible_to plus the author's agency; `agency` = the
// author's agency only. The assignee's agency always sees an action item
// assigned to it.

import { agencyName } from '../ctx.js';
import { h, clear, uid, showFormError } from '../dom.js';
import { list } from '../format.js';

// audience(item, {authorAgency, assigneeAgency}) - agency ids that see it,
// or null for "every agency on the case".
export function audience({ visibility, visible_to: to = [] }, authorAgency, assigneeAgency = null) {
    if (visibility === 'mdt') return null;
    const ids = new Set([authorAgency]);
    if (visibility === 'agencies') for (const id of to ?? []) ids.add(id);
    if (assigneeAgency) ids.add(assigneeAgency);
    return [...ids].filter((x) => x !== null && x !== undefined);
}

// badge(item, authorAgency, assigneeAgency) - "Visible to: …" element.
export function badge(item, authorAgency, assigneeAgency = null) {
    const ids = audience(item, authorAgency, assigneeAgency);
    if (!ids) {
        return h('p', { class: 'vis-badge vis-all' }, h('span', { class: 'vis-key', text: 'Visible to:' }), ' all agencies on this case');
    }
    const names = ids.map((id) => (id === assigneeAgency && id !== authorAgency && !(item.visible_to ?? []).includes(id) && item.visibility !== 'mdt' ? `${agencyName(id)} (assignee)` : agencyName(id)));
    return h('p', { class: 'vis-badge vis-restricted' }, h('span', { class: 'vis-key', text: 'Restricted:' }), ` only ${list(names)}`);
}

// picker({agencies, myAgency, initial, noun, assigneeAgency}) - the
// "Who can see this?" fieldset. agencies: [{id, name}] on the case.
// Returns {el, value() -> {visibility, visible_to} | throws, setAgencies(list),
// setAssignee(id), reset(), clearChoice()}. After clearChoice() no option
// is chosen and value() throws (field `visibility`) until the person
// chooses one: for items where no default is safe (an interview).
export function picker({ agencies, myAgency, initial = { visibility: 'mdt', visible_to: [] }, noun = 'this', assigneeAgency = null }) {
    const name = uid('vis');
    let caseAgencies = agencies;
    let assignee = assigneeAgency;
    const radios = {};
    const radio = (value, text) => {
        const input = h('input', { type: 'radio', name, value, checked: initial.visibility === value });
        radios[value] = input;
        return h('label', { class: 'check' }, input, ' ', text);
    };
    const allLabel = h('span');
    const mineLabel = h('span');
    const boxes = h('div', { class: 'vis-agencies', role: 'group', 'aria-label': 'Agencies that may also see it' });
    const statement = h('p', { class: 'vis-statement', 'aria-live': 'polite' });
    const error = h('p', { class: 'field-error', id: uid('err'), hidden: true });
    const el = h(
        'fieldset',
        { class: 'vis-picker', name: 'visibility' },
        h('legend', { text: `Who can see ${noun}?` }),
        radio('mdt', allLabel),
        radio('agency', mineLabel),
        radio('agencies', 'My agency and the agencies I tick'),
        boxes,
        statement,
        error,
    );
    const selected = new Set(initial.visible_to ?? []);

    function renderBoxes() {
        const others = caseAgencies.filter((a) => a.id !== myAgency);
        clear(
            boxes,
            others.map((a) =>
                h(
                    'label',
                    { class: 'check' },
                    h('input', {
                        type: 'checkbox',
                        value: String(a.id),
                        checked: selected.has(a.id),
                        on: {
                            change: (e) => {
                                if (e.target.checked) selected.add(a.id);
                                else selected.delete(a.id);
                                if (e.target.checked) radios.agencies.checked = true;
                                update();
                            },
                        },
                    }),
                    ` ${a.name}`,
                ),
            ),
        );
        allLabel.textContent = `All agencies on this case (${caseAgencies.length})`;
        mineLabel.textContent = `Only my agency (${agencyName(myAgency)})`;
    }

    function current() {
        return Object.values(radios).find((r) => r.checked)?.value ?? null;
    }

    function update() {
        const v = current();
        boxes.hidden = v !== 'agencies';
        if (!v) {
            statement.className = 'vis-statement';
            clear(statement, h('strong', { text: `Choose who can see ${noun}.` }), ' Nothing is chosen for you.');
            return;
        }
        const onCase = caseAgencies.map((a) => a.id);
        let who;
        if (v === 'mdt') who = onCase;
        else if (v === 'agency') who = [myAgency];
        else who = [myAgency, ...[...selected].filter((id) => onCase.includes(id))];
        if (assignee && !who.includes(assignee)) who.push(assignee);
        const notWho = onCase.filter((id) => !who.includes(id));
        const names = who.map((id) => (id === assignee && v !== 'mdt' && id !== myAgency && !selected.has(id) ? `${agencyName(id)} (as assignee)` : agencyName(id)));
        statement.className = `vis-statement ${v === 'mdt' ? 'vis-all' : 'vis-restricted'}`;
        clear(
            statement,
            h('strong', { text: 'Will be visible to: ' }),
            v === 'mdt' ? `all ${onCase.length} agencies on this case — ${list(names)}.` : `${list(names)} only.`,
            notWho.length ? h('span', { class: 'not-who' }, ' Not visible to: ', list(notWho.map((id) => agencyName(id))), '.') : null,
            v === 'agencies' && selected.size === 0 ? h('span', { class: 'warn' }, ' Tick at least one other agency, or choose “Only my agency”.') : null,
        );
    }

    for (const r of Object.values(radios)) r.addEventListener('change', update);
    renderBoxes();
    update();

    return {
        el,
        value() {
            const v = current();
            if (!v) {
                const err = new Error(`Choose who can see ${noun}.`);
                err.field = 'visibility';
                throw err;
            }
            if (v !== 'agencies') return { visibility: v, visible_to: [] };
            const onCase = caseAgencies.map((a) => a.id);
            const ids = [...selected].filter((id) => id !== myAgency && onCase.includes(id));
            if (!ids.length) {
                const err = new Error('Tick at least one other agency, or choose “Only my agency”.');
                err.field = 'visible_to';
                throw err;
            }
            return { visibility: 'agencies', visible_to: ids };
        },
        setAgencies(list2) {
            caseAgencies = list2;
            renderBoxes();
            update();
        },
        setAssignee(id) {
            assignee = id || null;
            update();
        },
        clearChoice() {
            for (const r of Object.values(radios)) r.checked = false;
            update();
        },
        chosen() {
            return current() !== null;
        },
        reset() {
            radios.mdt.checked = true;
            selected.clear();
            renderBoxes();
            update();
        },
    };
}

// chosenVisibility(form, pk) - the picker's value() ({visibility,
// visible_to}), or null after showing its complaint (e.g. no agency ticked)
// in the form's error box.
export function chosenVisibility(form, pk) {
    try {
        return pk.value();
    } catch (err) {
        showFormError(form, err);
        return null;
    }
}
