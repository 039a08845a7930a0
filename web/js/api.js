// api.js - the REST client: JSON in and out, the CSRF header on every state
// change, errors as ApiError in the contract's shape.

export class ApiError extends Error {
    constructor(status, body, fallback) {
        const e = body && typeof body.error === 'object' ? body.error : null;
        super(e?.message ?? fallback ?? `request failed (${status})`);
        this.status = status;
        this.code = e?.code ?? (status === 0 ? 'network' : 'unknown');
        this.field = e?.field ?? null;
        this.current = e?.current ?? null;
        this.retryAfter = null;
    }
}

const listeners = { unauthenticated: new Set(), activity: new Set() };
let csrfToken = null;

export function setCsrf(token) {
    csrfToken = token;
}

// on('unauthenticated' | 'activity', fn)
export function onApi(event, fn) {
    listeners[event].add(fn);
    return () => listeners[event].delete(fn);
}

function emit(event, ...args) {
    for (const fn of listeners[event]) fn(...args);
}

// request(method, path, body?, {quiet401}) - resolves the parsed JSON (null
// for 204), rejects with ApiError. A 401 other than at login or the first
// /me tells the app that the session is gone (unless quiet401).
export async function request(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
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

export const api = {
    get: (p, o) => request('GET', p, undefined, o),
    post: (p, b = {}, o) => request('POST', p, b, o),
    put: (p, b, o) => request('PUT', p, b, o),
    patch: (p, b, o) => request('PATCH', p, b, o),
    del: (p, o) => request('DELETE', p, undefined, o),
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
