// drafts.js - what a person typed and has not saved yet, kept per form so
// that no re-render, live update, Next/Previous or reload of the tab loses
// it (docs/web.md "Drafts").
//
// A draft is {fields: {name: text}, base} under a form key such as
// "outcome:m5:c12". It lives in memory and in sessionStorage, namespaced by
// the signed-in user: a reload of the tab keeps it, another tab or another
// user of the same tab never sees it, closing the tab forgets it. `base` is
// what the text was started from (an object's version), so a live change
// under an open editor can be told apart from one's own typing. A draft is
// cleared when its form is saved, and every draft when the user signs out.

import { ctx } from './ctx.js';
import { h } from './dom.js';

const PREFIX = 'mdt-draft';
const memory = new Map();

function storageKey(key) {
    return `${PREFIX}:${ctx.me?.user?.id ?? 0}:${key}`;
}

function read(key) {
    const k = storageKey(key);
    if (memory.has(k)) return memory.get(k);
    try {
        const raw = sessionStorage.getItem(k);
        return raw ? JSON.parse(raw) : null;
    } catch {
        return null;
    }
}

// Only a draft with text reaches sessionStorage; a bare base stays in memory.
function write(key, draft) {
    const k = storageKey(key);
    memory.set(k, draft);
    try {
        if (draft && Object.values(draft.fields ?? {}).some((v) => v !== '')) sessionStorage.setItem(k, JSON.stringify(draft));
        else sessionStorage.removeItem(k);
    } catch {
        // storage full or disabled: the in-memory copy still survives re-renders
    }
}

// getDraft(key) - {fields, base} or null when nothing unsaved is kept.
export function getDraft(key) {
    const d = read(key);
    return d && Object.values(d.fields ?? {}).some((v) => v !== '') ? d : null;
}

// setDraftBase(key, base) - records what the draft was started from.
export function setDraftBase(key, base) {
    write(key, { fields: read(key)?.fields ?? {}, base });
}

// clearDraft(key) - forgets a form's draft (after a successful save).
export function clearDraft(key) {
    write(key, null);
}

// clearAllDrafts() - forgets every draft of this tab (sign-out).
export function clearAllDrafts() {
    memory.clear();
    try {
        for (const k of Object.keys(sessionStorage)) if (k.startsWith(`${PREFIX}:`)) sessionStorage.removeItem(k);
    } catch {
        // nothing stored
    }
}

function saveField(key, name, value) {
    const d = read(key) ?? { fields: {}, base: null };
    d.fields = { ...d.fields, [name]: value };
    write(key, d);
}

const TEXTLIKE = new Set(['text', 'search', 'date', 'datetime-local', 'number', 'textarea', 'select-one']);

// keepForm(form, key, {base}) - restores the draft of `key` into the form's
// named text fields, textareas and selects, and saves each of them on every
// input. Checkboxes and radios are left alone (the visibility picker resets
// to its safe default). Returns true when a draft was restored. The caller
// clears the draft after a successful save (clearDraft(key)).
export function keepForm(form, key, { base = null } = {}) {
    const controls = [...form.querySelectorAll('input[name], textarea[name], select[name]')].filter((c) => TEXTLIKE.has(c.type));
    const d = getDraft(key);
    if (!d && base !== null) setDraftBase(key, base);
    for (const c of controls) {
        const kept = d?.fields?.[c.name];
        if (kept !== undefined && (c.tagName !== 'SELECT' || [...c.options].some((o) => o.value === kept))) {
            c.value = kept;
            if (c.tagName === 'SELECT') c.dispatchEvent(new Event('change'));
        }
        const save = () => saveField(key, c.name, c.value);
        c.addEventListener('input', save);
        c.addEventListener('change', save);
    }
    return Boolean(d);
}

// changedNotice({who, what, onReload, onKeep}) - the bar shown in an open
// editor whose object changed live under a draft: "Changed by NAME —
// Reload their version / Keep mine". Never a silent loss, never a silent
// overwrite: the person chooses. The bar removes itself on either choice.
export function changedNotice({ who, what = 'this', onReload, onKeep }) {
    const reload = h('button', { type: 'button', class: 'secondary small', text: 'Reload their version' });
    const keep = h('button', { type: 'button', class: 'small', text: 'Keep mine' });
    const bar = h(
        'div',
        { class: 'changed-notice', role: 'alert' },
        h('p', {}, h('strong', { text: `Changed by ${who}` }), ` — someone saved ${what} while you were editing. Your text is kept below until you choose.`),
        h('div', { class: 'actions' }, reload, keep),
    );
    reload.addEventListener('click', () => {
        bar.remove();
        onReload();
    });
    keep.addEventListener('click', () => {
        bar.remove();
        onKeep();
    });
    return bar;
}
