// ctx.js - what every view shares: the signed-in user, the agency
// directory, the live connection, announcements. Filled in by app.js.

export const ctx = {
    me: null, // GET /api/v1/me
    agencies: new Map(), // id -> {id, name, kind, active}
    users: new Map(), // id -> {id, display_name, agency_id, role} (directory, loaded on demand)
    live: null, // Live
    features: { dashboard: false, meetings: false, reports: false },
};

export function agencyName(id) {
    if (id === null || id === undefined) return 'no agency';
    return ctx.agencies.get(Number(id))?.name ?? `Agency #${id}`;
}

export function myAgencyId() {
    return ctx.me?.user?.agency_id ?? null;
}

export function myRole() {
    return ctx.me?.user?.role ?? null;
}

// announce(text) - says text in the page's polite live region (screen
// readers), e.g. "New note by Dana Whitcombe, DCF".
let announceTimer = null;
export function announce(text) {
    const region = document.getElementById('live-region');
    if (!region) return;
    const p = document.createElement('p');
    p.textContent = text;
    region.append(p);
    while (region.childElementCount > 5) region.firstElementChild.remove();
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => region.replaceChildren(), 15000);
}

// userName(id) - a display name from the directory (loaded by loadUsers).
export function userName(id) {
    if (id === null || id === undefined) return '';
    return ctx.users.get(Number(id))?.display_name ?? `User #${id}`;
}
