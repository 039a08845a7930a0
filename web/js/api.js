// api.js - the REST client: JSON in and out, the CSRF header on every state
// change, an Idempotency-Key on every create (api.create), errors as
// ApiError in the contract's shape.

export class ApiError extends Error {
    constructor(status, body, fallback) {
        const e = body && typeof body.error === 'object' ? body.error : null;
        super(e?.message ?? fallback ?? `request failed (${status})`);
        this.status = status;
        this.code = e?.code ?? (status === 0 ? 'network' : 'unknown');
        this.field = e?.field ?? null;
        this.current = e?.current ?? null;
        this.tombstone = e?.tombstone ?? null; // 410: what is left of a purged case
        this.retryAfter = null;
    }
}

const listeners = { unauthenticated: new Set(), activity: new Set(), network: new Set() };
let csrfToken = null;

export function setCsrf(token) {
    csrfToken = token;
}

// on('unauthenticated' | 'activity' | 'network', fn) - 'network': a request
// could not reach the server (the connection state flips at once).
export function onApi(event, fn) {
    listeners[event].add(fn);
    return () => listeners[event].delete(fn);
}

function emit(event, ...args) {
    for (const fn of listeners[event]) fn(...args);
}

// request(method, path, body?, {quiet401, idempotencyKey}) - resolves the
// parsed JSON (null for 204), rejects with ApiError. A 401 other than at
// login or the first /me tells the app that the session is gone (unless
// quiet401).
export async function request(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
    if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
    let res;
    try {
        res = await fetch(path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            credentials: 'same-origin',
            cache: 'no-store',
        });
    } catch {
        emit('network');
        throw new ApiError(0, null, 'The server cannot be reached. Check the connection and try again.');
    }
    const text = await res.text();
    let json = null;
    if (text) {
        try {
            json = JSON.parse(text);
        } catch {
            json = null;
        }
    }
    if (res.status >= 200 && res.status < 300) {
        emit('activity');
        if (json && typeof json.csrf_token === 'string') csrfToken = json.csrf_token;
        return json;
    }
    const err = new ApiError(res.status, json);
    if (res.status === 429) err.retryAfter = Number(res.headers.get('Retry-After')) || null;
    if (res.status === 401 && err.code === 'unauthenticated' && !opts.quiet401) emit('unauthenticated', err);
    if (res.status !== 401) emit('activity');
    throw err;
}

// uuid() - a random UUID (v4), e.g. an Idempotency-Key. crypto.randomUUID
// needs a secure context; the fallback builds the same from
// getRandomValues, which does not.
export function uuid() {
    if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Keys of creates whose answer we never got, by path and body: the same
// create sent again (the user presses Post again after an error) reuses
// its key, so the server answers the first create instead of making a
// second one. A create that got its answer (success or a refusal) forgets
// its key; the next identical post is a new create.
const pendingKeys = new Map();
const CREATE_RETRY_MS = [500, 1500];

// The answer may still come, or was lost: network error, 503, or 409 for a
// key whose first request is still running (a 409 about the data itself
// carries error.current).
export function answerUnknown(err) {
    return err.status === 0 || err.status === 503 || err.status === 502 || err.status === 504 || (err.status === 409 && !err.current);
}

// create(path, body, opts) - POST that creates, with an Idempotency-Key;
// retried with the same key after a network error, 50x or 409 "still
// running" (twice, after 0.5 s and 1.5 s) before it rejects.
// opts.idempotencyKey: the caller's own key (the outbox keeps it with the
// queued create, so a resend after a reload still replays).
export async function create(path, body, opts = {}) {
    const id = `${path}\n${JSON.stringify(body)}`;
    const key = opts.idempotencyKey ?? pendingKeys.get(id) ?? uuid();
    pendingKeys.set(id, key);
    for (let attempt = 0; ; attempt++) {
        try {
            const res = await request('POST', path, body, { ...opts, idempotencyKey: key });
            pendingKeys.delete(id);
            return res;
        } catch (err) {
            const unknown = err instanceof ApiError && answerUnknown(err);
            if (!unknown) pendingKeys.delete(id);
            if (!unknown || attempt >= CREATE_RETRY_MS.length) throw err;
            await new Promise((resolve) => setTimeout(resolve, CREATE_RETRY_MS[attempt]));
        }
    }
}

// upload(path, file, onProgress) - POSTs file (a File or Blob) as the raw
// body, with the CSRF header; onProgress(sent, total) while it goes (an
// XMLHttpRequest: fetch reports no upload progress). Resolves the parsed
// JSON answer, rejects with ApiError as request() does.
export function upload(path, file, onProgress) {
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', path);
        xhr.setRequestHeader('Accept', 'application/json');
        xhr.setRequestHeader('Content-Type', 'application/octet-stream');
        if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
        if (onProgress) xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size));
        xhr.addEventListener('error', () => reject(new ApiError(0, null, 'The server cannot be reached. Check the connection and try again.')));
        xhr.addEventListener('load', () => {
            let json = null;
            try {
                json = xhr.responseText ? JSON.parse(xhr.responseText) : null;
            } catch {
                json = null;
            }
            if (xhr.status >= 200 && xhr.status < 300) {
                emit('activity');
                resolve(json);
                return;
            }
            const err = new ApiError(xhr.status, json);
            if (xhr.status === 401 && err.code === 'unauthenticated') emit('unauthenticated', err);
            reject(err);
        });
        xhr.send(file);
    });
}

export const api = {
    get: (p, o) => request('GET', p, undefined, o),
    post: (p, b = {}, o) => request('POST', p, b, o),
    create: (p, b = {}, o) => create(p, b, o),
    put: (p, b, o) => request('PUT', p, b, o),
    patch: (p, b, o) => request('PATCH', p, b, o),
    del: (p, o, b) => request('DELETE', p, b, o),
    upload: (p, file, onProgress) => upload(p, file, onProgress),
};

// qs({a: 1, b: null}) - "?a=1" (empty and null values dropped).
export function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
        if (v === undefined || v === null || v === '') continue;
        u.set(k, String(v));
    }
    const s = u.toString();
    return s ? `?${s}` : '';
}

// probe(path) - true when the endpoint exists for this user (any answer but
// 404/405 and network errors). Used to show navigation to features that
// other parts of the server may not have yet.
export async function probe(path) {
    try {
        await request('GET', path, undefined, { quiet401: true });
        return true;
    } catch (e) {
        return !(e.status === 0 || e.status === 404 || e.status === 405 || e.status === 403 || e.status >= 500);
    }
}
