// dom.js - small helpers to build the DOM without innerHTML.
//
// Everything the app shows is built with h() and text nodes. The one
// exception is HTML rendered and sanitized by the server (entries'
// body_html, action items' details_html, /render previews), which goes
// through serverHtml() and nowhere else.

// h(tag, attrs, ...children) - a new element.
//   attrs: {class, text, hidden, dataset: {...}, on: {click: fn}, any other
//   attribute (set with setAttribute; true means present, false/null absent)}
//   children: nodes, strings (as text), arrays (flattened), null/false (skipped)
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
        else if (k === 'text') el.textContent = String(v);
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
        else if (k === 'value') el.value = v;
        else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden' || k === 'required' || k === 'multiple')
            el[k] = Boolean(v);
        else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
}

export function append(el, children) {
    for (const c of children.flat(Infinity)) {
        if (c === null || c === undefined || c === false) continue;
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
}

// clear(el, ...children) - replaces el's children.
export function clear(el, ...children) {
    el.replaceChildren();
    return append(el, children);
}

// serverHtml(el, html) - sets HTML that the server rendered and sanitized
// (cmark safe mode plus the URL allow-list). Nothing else may use innerHTML.
export function serverHtml(el, html) {
    el.innerHTML = typeof html === 'string' ? html : '';
    // Links in user content open normally but never pass a referrer or opener.
    for (const a of el.querySelectorAll('a[href]')) a.setAttribute('rel', 'noopener noreferrer nofollow');
    return el;
}

let idCounter = 0;
// uid(prefix) - a unique id for label/aria wiring.
export function uid(prefix = 'id') {
    return `${prefix}-${++idCounter}`;
}

// field(labelText, control, {hint, error}) - a labelled form row. The
// control gets an id if it has none; a hint is wired with aria-describedby.
export function field(labelText, control, { hint, className } = {}) {
    if (!control.id) control.id = uid('f');
    const parts = [h('label', { for: control.id, text: labelText })];
    let hintEl = null;
    if (hint) {
        hintEl = h('p', { class: 'hint', id: uid('hint'), text: hint });
        control.setAttribute('aria-describedby', hintEl.id);
    }
    const errEl = h('p', { class: 'field-error', id: uid('err'), hidden: true });
    return h('div', { class: ['field', className] }, parts, hintEl, control, errEl);
}

// select(options, value) - options: [[value, label], ...]
export function select(options, value, attrs = {}) {
    return h(
        'select',
        attrs,
        options.map(([v, label]) => h('option', { value: String(v), selected: String(v) === String(value ?? ''), text: label })),
    );
}

// The API's field names in the form's words: the one place where an
// error about a field becomes a sentence about the control a person can
// fix. [label, what to do when it is missing].
const FIELD_WORDS = {
    assignee_agency_id: ['Agency responsible', 'Choose the agency responsible for this action item.'],
    assignee_id: ['Person', 'Choose the person responsible, or anyone at the agency.'],
    title: ['What needs to be done', 'Say what needs to be done.'],
    due_date: ['Due date', 'Give the due date as a date.'],
    body_md: ['Text', 'Write something first.'],
    visibility: ['Who can see this', 'Choose who can see this.'],
    visible_to: ['Who can see this', 'Tick at least one other agency, or choose “Only my agency”.'],
    status: ['Status', 'Choose a status.'],
    interview: ['Forensic interview', 'Give the interview’s date and disclosure.'],
    'interview.date': ['Interview date', 'Give the date of the interview.'],
    'interview.disclosure': ['Disclosure', 'Choose what the child disclosed.'],
    'interview.recording_ref': ['Recording reference', 'Check the recording reference.'],
};

// requiredMessage(name) - the sentence for an empty required control
// named after an API field.
export function requiredMessage(name) {
    return FIELD_WORDS[name]?.[1] ?? 'Fill in this field.';
}

// fieldMessage(err) - what a person reads for err: the app's own sentence
// unchanged; an API message that names a field (e.g. "assignee_agency_id
// is required") in the form's words instead.
export function fieldMessage(err) {
    const msg = err?.message ?? String(err);
    const words = err?.field ? FIELD_WORDS[err.field] : null;
    if (!words || !msg.includes(err.field)) return msg;
    if (/\bis required\b|\bmissing\b/.test(msg)) return words[1];
    const text = msg.split(err.field).join(`“${words[0]}”`);
    return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.');
}

// showFormError(form, err) - the form's error box (created on first use):
// a role=alert paragraph at the top of the form; with err.field the same
// sentence also next to that field. err null clears both.
export function showFormError(form, err) {
    let box = form.querySelector(':scope > .form-error');
    if (!box) {
        box = h('p', { class: 'form-error', role: 'alert' });
        form.prepend(box);
    }
    for (const f of form.querySelectorAll('[aria-invalid="true"]')) f.removeAttribute('aria-invalid');
    for (const e of form.querySelectorAll('.field-error')) {
        e.hidden = true;
        e.textContent = '';
    }
    if (!err) {
        box.hidden = true;
        box.textContent = '';
        return;
    }
    const message = fieldMessage(err);
    box.hidden = false;
    box.textContent = message;
    // Mark the named field, if the form has a control for it.
    if (err.field) {
        const ctl = form.querySelector(`[name="${CSS.escape(err.field)}"]`) ?? form.querySelector(`[name="${CSS.escape(err.field.split(/[.[]/)[0])}"]`);
        if (ctl) {
            ctl.setAttribute('aria-invalid', 'true');
            const fe = (ctl.closest('.field') ?? ctl).querySelector('.field-error');
            if (fe) {
                fe.hidden = false;
                fe.textContent = message;
                const ids = new Set((ctl.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
                ids.add(fe.id);
                ctl.setAttribute('aria-describedby', [...ids].join(' '));
            }
        }
    }
}

// filled(form, control, message) - true when the control holds non-blank
// text; otherwise shows message as the form's error on that control
// (by its name) and focuses it.
export function filled(form, control, message) {
    if (control.value.trim()) return true;
    showFormError(form, { message, field: control.name });
    control.focus();
    return false;
}

// busy(button, promiseFn) - disables the button while fn runs.
export async function busy(button, fn) {
    if (button) {
        button.disabled = true;
        button.setAttribute('aria-busy', 'true');
    }
    try {
        return await fn();
    } finally {
        if (button) {
            button.disabled = false;
            button.removeAttribute('aria-busy');
        }
    }
}

// focusHeading(container) - moves focus to the first h1 of a new view so
// screen-reader users hear where they are.
export function focusHeading(container) {
    const hd = container.querySelector('h1');
    if (hd) {
        hd.setAttribute('tabindex', '-1');
        hd.focus({ preventScroll: false });
    }
}
