// outbox.js - the writes of this tab that have not reached the server
// yet: made while offline, or sent and never answered. It owns the queue,
// its copy in sessionStorage and the list that shows each one where it
// was made ("Sending…", "Sent", "Failed — Retry").
//
// - Kept in the page and in sessionStorage (this tab only, gone with it;
//   never localStorage), under the signed-in user's id: another user's
//   queue is thrown away at sign-in, and app.js clears it at every
//   sign-out and session end.
// - A create keeps its Idempotency-Key with the queued item, so a resend
//   (after a reload too) replays the first create instead of making a
//   second one (docs/api.md "Idempotent creates").
// - Sent in order when the connection is back (app.js calls flush() when
//   the socket opens); an answer that may still come (network error, 50x,
//   409 "still running") stops the round and keeps the item queued.
// - An edit (PATCH with `version`) that comes back 409 is never resent by
//   itself: the person's text stays in the list with the server's words;
//   "Retry" saves it over the current version (their explicit choice), or
//   "Discard" drops it. A 409 whose current state already holds exactly the
//   queued change is the edit's own lost answer: counted as sent.
// docs/web.md "Outbox".

import { ApiError, answerUnknown, create, request, uuid } from './api.js';
import { announce } from './ctx.js';
import { h, clear } from './dom.js';

const STORE = 'mdt.outbox';
const SENT_SHOWN_MS = 4000;
const RETRY_UNKNOWN_MS = 3000;

const state = {
    userId: null,
    items: [], // {id, key, method, path, body, kind, caseId, label, text, state, error, current}
    listeners: new Set(), // fn(item, result) after every change (result: the server's answer when sent)
    online: () => true,
    flushing: false,
    retryTimer: null,
};

function save() {
    if (state.userId === null) return;
    const items = state.items.filter((i) => i.state !== 'sent');
    try {
        if (items.length) sessionStorage.setItem(STORE, JSON.stringify({ userId: state.userId, items }));
        else sessionStorage.removeItem(STORE);
    } catch {
        // storage full or denied: the page still holds the queue
    }
}

function changed(item, result = null) {
    save();
    for (const fn of [...state.listeners]) fn(item, result);
}

// setOnline(fn) - fn() tells whether sending is worth trying now.
export function setOnline(fn) {
    state.online = fn;
}

// load(userId) - at sign-in: takes over this tab's stored queue when it
// belongs to userId, throws it away otherwise. Items that were being sent
// when the page went away are queued again (their key makes that safe).
export function load(userId) {
    state.userId = userId;
    state.items = [];
    let stored = null;
    try {
        stored = JSON.parse(sessionStorage.getItem(STORE) ?? 'null');
    } catch {
        stored = null;
    }
    if (stored && stored.userId === userId && Array.isArray(stored.items)) {
        state.items = stored.items.map((i) => ({ ...i, state: i.state === 'sending' ? 'queued' : i.state }));
    }
    save();
}

// clearAll() - at sign-out and session end: nothing stays behind.
export function clearAll() {
    clearTimeout(state.retryTimer);
    state.items = [];
    state.userId = null;
    try {
        sessionStorage.removeItem(STORE);
    } catch {
        // nothing stored
    }
    for (const fn of [...state.listeners]) fn(null, null);
}

// pending() - the queued, sending and failed items, oldest first.
export function pending() {
    return state.items.filter((i) => i.state !== 'sent');
}

// excerpt(text) - the first words of a text, for an item's label.
export function excerpt(text, max = 80) {
    const t = String(text ?? '').replace(/\s+/g, ' ').trim();
    return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

// write({method, path, body, kind, caseId, label, text}) - a create
// (POST, with an Idempotency-Key) or an edit (PATCH). Resolves {result}
// when the server answered now, or {queued: item} when it is kept for
// later (offline, or the answer was lost); rejects with the server's
// ApiError when it refused (the form shows it; nothing is queued).
// kind names where it shows: 'entry', 'entry-edit', 'action'; label says
// what it is in words; text (the person's own words) is shown when it
// failed, so nothing typed is ever lost from sight.
export async function write({ method, path, body, kind, caseId, label, text }) {
    const item = { id: uuid(), key: method === 'POST' ? uuid() : null, method, path, body, kind, caseId, label, text, state: 'queued', error: null, current: null };
    if (!state.online()) return { queued: enqueue(item) };
    try {
        const result = method === 'POST' ? await create(path, body, { idempotencyKey: item.key }) : await request(method, path, body);
        return { result };
    } catch (err) {
        if (!(err instanceof ApiError) || !answerUnknown(err)) throw err;
        scheduleRetry(err);
        return { queued: enqueue(item) };
    }
}

function enqueue(item) {
    state.items.push(item);
    changed(item);
    return item;
}

// A lost answer with the connection still up: try again a little later
// (a network error drops the socket instead, and its return flushes).
function scheduleRetry(err) {
    if (err.status === 0) return;
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(flush, RETRY_UNKNOWN_MS);
}

// The 409's current object already holds every field the edit set: the
// edit went through and only its answer was lost.
function alreadyApplied(item, current) {
    return Object.entries(item.body).every(([k, v]) => k === 'version' || JSON.stringify(current[k]) === JSON.stringify(v));
}

// sendOne(item) - true to go on with the next item, false to stop the round.
async function sendOne(item) {
    item.state = 'sending';
    changed(item);
    try {
        const opts = item.key ? { idempotencyKey: item.key } : {};
        const result = await request(item.method, item.path, item.body, opts);
        sent(item, result);
        return true;
    } catch (err) {
        if (err instanceof ApiError && answerUnknown(err)) {
            item.state = 'queued';
            changed(item);
            scheduleRetry(err);
            return false;
        }
        if (err.status === 409 && err.current && item.method === 'PATCH' && alreadyApplied(item, err.current)) {
            sent(item, err.current);
            return true;
        }
        item.state = err.status === 409 && err.current ? 'conflict' : 'failed';
        item.current = err.current ?? null;
        item.error = err.message;
        changed(item);
        announce(`Not sent: ${item.label}. ${stateText(item)}`);
        return true;
    }
}

function sent(item, result) {
    item.state = 'sent';
    changed(item, result);
    announce(`Sent: ${item.label}.`);
    setTimeout(() => {
        state.items = state.items.filter((i) => i !== item);
        changed(item);
    }, SENT_SHOWN_MS);
}

// flush() - sends the queued items in order, one at a time; a round
// already running, or no connection, does nothing.
export async function flush() {
    if (state.flushing || !state.online()) return;
    state.flushing = true;
    try {
        for (const item of [...state.items]) {
            if (item.state !== 'queued' || !state.items.includes(item)) continue;
            if (!state.online() || !(await sendOne(item))) break;
        }
    } finally {
        state.flushing = false;
    }
}

// retry(item) - "Retry" on a failed item; after a conflict the edit goes
// on top of the version the server has now (the person chose to).
export function retry(item) {
    if (item.state === 'conflict' && item.current) item.body = { ...item.body, version: item.current.version };
    item.state = 'queued';
    item.error = null;
    item.current = null;
    changed(item);
    flush();
}

export function discard(item) {
    state.items = state.items.filter((i) => i !== item);
    changed(item);
}

function stateText(item) {
    switch (item.state) {
        case 'queued':
            return state.online() ? 'Sending…' : 'Sending… — waiting for the connection';
        case 'sending':
            return 'Sending…';
        case 'sent':
            return 'Sent';
        case 'conflict':
            return 'Failed — someone else changed this meanwhile. Your text is kept here: Retry saves it over their change, or Discard it.';
        default:
            return `Failed — ${item.error ?? 'the server refused it'}`;
    }
}

function renderItem(item) {
    const failed = item.state === 'failed' || item.state === 'conflict';
    const what = item.label;
    return h(
        'li',
        { class: ['outbox-item', `is-${item.state}`], dataset: { outbox: item.id }, tabindex: '-1' },
        h('p', { class: 'outbox-label', text: what }),
        failed && item.text ? h('blockquote', { class: 'outbox-text', text: item.text }) : null,
        h('p', { class: 'outbox-state', text: stateText(item) }),
        failed
            ? h(
                  'div',
                  { class: 'actions' },
                  h('button', { type: 'button', class: 'small', 'aria-label': `Retry: ${what}`, text: 'Retry', on: { click: () => retry(item) } }),
                  h('button', { type: 'button', class: 'secondary small', 'aria-label': `Discard: ${what}`, text: 'Discard', on: { click: () => discard(item) } }),
              )
            : null,
    );
}

// formControl(list) - the last control of what comes before the list (the
// form the items were made with), where focus goes when the list empties.
function formControl(list) {
    const before = list.previousElementSibling;
    return before ? [...before.querySelectorAll('button, textarea, input, select, summary')].filter((el) => el.getClientRects().length).pop() : null;
}

// outboxList({caseId, kinds, onSent}) - the items of one case and kinds,
// shown where they were made; onSent(item, result) applies a sent one to
// the view. The list stops following the queue once it has left the page.
export function outboxList({ caseId, kinds, onSent = () => {} }) {
    const list = h('ul', { class: 'outbox', 'aria-label': 'Waiting to be sent' });
    let attached = false;
    const mine = (i) => i.caseId === caseId && kinds.includes(i.kind);
    // Re-rendered on every change; focus inside an item (Retry pressed by
    // keyboard) stays on that item, and when the item goes (sent, or
    // discarded) moves to the next one or back to the form it came from.
    const render = () => {
        const focused = list.contains(document.activeElement) ? document.activeElement.closest('[data-outbox]')?.dataset.outbox : null;
        const items = state.items.filter(mine);
        clear(list, items.map(renderItem));
        list.hidden = items.length === 0;
        if (focused) (list.querySelector(`[data-outbox="${CSS.escape(focused)}"]`) ?? list.firstElementChild ?? formControl(list))?.focus();
    };
    const listener = (item, result) => {
        if (list.isConnected) attached = true;
        else if (attached) {
            state.listeners.delete(listener);
            return;
        }
        if (result && item && mine(item)) onSent(item, result);
        render();
    };
    state.listeners.add(listener);
    render();
    return list;
}

// refresh() - re-renders every list (the connection state is in the words).
export function refresh() {
    for (const fn of [...state.listeners]) fn(null, null);
}
