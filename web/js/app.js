// app.js - boots the app: session, header, routing, the live connection,
// the offline banner and the idle-timeout notice.

import { api, onApi, probe, setCsrf } from './api.js';
import { ctx, agencyName } from './ctx.js';
import { h, clear, focusHeading } from './dom.js';
import { Live } from './live.js';
import { label, setTimeZone } from './format.js';
import * as loginView from './views/login.js';
import * as casesView from './views/cases.js';
import * as boardView from './views/board.js';
import * as adminView from './views/admin.js';
import * as accountView from './views/account.js';
import * as dashboardView from './views/dashboard.js';
import * as meetingsView from './views/meetings.js';
import * as reportsView from './views/reports.js';
import * as notificationsView from './views/notifications.js';

const view = () => document.getElementById('view');
let cleanup = null;
let renderToken = 0;
let pendingRoute = null; // where to go after signing in
let firstRoute = true; // the first view after a page load
let sessionNotice = null; // shown on the login screen

// ---- routing -----------------------------------------------------------------

// parseHash('#/cases/12?x=1') -> {parts: ['cases', '12'], query: URLSearchParams}
export function parseHash(hash = location.hash) {
    const raw = hash.replace(/^#\/?/, '');
    const [path, q = ''] = raw.split('?');
    return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(q) };
}

export function navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
}

const ROUTES = [
    { match: (p) => p[0] === 'cases' && p.length === 1, view: casesView, nav: 'cases', title: 'Cases' },
    { match: (p) => p[0] === 'cases' && p[1] === 'new', view: casesView, nav: 'cases', title: 'New case', mode: 'new' },
    { match: (p) => p[0] === 'cases' && /^\d+$/.test(p[1] ?? ''), view: boardView, nav: 'cases', title: 'Case board' },
    { match: (p) => p[0] === 'dashboard', view: dashboardView, nav: 'dashboard', title: 'Action items' },
    { match: (p) => p[0] === 'meetings', view: meetingsView, nav: 'meetings', title: 'Meetings' },
    { match: (p) => p[0] === 'reports', view: reportsView, nav: 'reports', title: 'Reports' },
    { match: (p) => p[0] === 'admin' || p[0] === 'audit' || p[0] === 'account-changes', view: adminView, nav: 'admin', title: 'Administration' },
    { match: (p) => p[0] === 'account', view: accountView, nav: 'account', title: 'My account' },
    { match: (p) => p[0] === 'notifications', view: notificationsView, nav: 'notifications', title: 'Notifications' },
];

async function route() {
    const { parts, query } = parseHash();
    if (location.hash && !location.hash.startsWith('#/')) return; // in-page anchor
    const token = ++renderToken;
    if (cleanup) {
        try {
            cleanup();
        } catch {
            // a view's cleanup must not stop navigation
        }
        cleanup = null;
    }
    if (!ctx.me) {
        if (parts[0] !== 'login') pendingRoute = location.hash || '#/cases';
        showLogin();
        return;
    }
    if (ctx.me.password_change_required || ctx.me.mfa_enrolment_required) {
        showLogin();
        return;
    }
    if (parts.length === 0 || parts[0] === 'login') {
        navigate('#/cases');
        return;
    }
    const r = ROUTES.find((x) => x.match(parts));
    markNav(r?.nav);
    const root = view();
    clear(root);
    if (!r) {
        document.title = 'Not found · MDT Board';
        clear(root, h('h1', { text: 'Page not found' }), h('p', {}, h('a', { href: '#/cases', text: 'Go to your cases' })));
        focusHeading(root);
        return;
    }
    document.title = `${r.title} · MDT Board`;
    try {
        const c = await r.view.render(root, { parts, query, mode: r.mode });
        if (token !== renderToken) {
            if (typeof c === 'function') c();
            return;
        }
        cleanup = typeof c === 'function' ? c : null;
    } catch (e) {
        if (token !== renderToken) return;
        if (e.status === 401) return; // the unauthenticated handler shows the login
        clear(
            root,
            h('h1', { text: e.status === 404 ? 'Not found' : 'Something went wrong' }),
            h('p', { role: 'alert', text: e.status === 404 ? 'This does not exist, or your agency may not see it.' : e.message }),
            h('p', {}, h('a', { href: '#/cases', text: 'Back to your cases' })),
        );
    }
    // After in-app navigation focus goes to the new view's heading, so
    // screen readers announce it; on a fresh page load it stays at the top
    // (the skip link is the first Tab stop).
    if (token === renderToken && !firstRoute && !root.contains(document.activeElement)) focusHeading(root);
    firstRoute = false;
}

// ---- header --------------------------------------------------------------------

function markNav(key) {
    for (const a of document.querySelectorAll('#main-nav a, #bell')) {
        if (a.dataset.nav === key) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
    }
}

function renderHeader() {
    const nav = document.getElementById('main-nav');
    const userBox = document.getElementById('user-box');
    if (!ctx.me) {
        clear(nav);
        nav.hidden = true;
        clear(userBox);
        return;
    }
    const { user, agency } = ctx.me;
    const gated = ctx.me.password_change_required || ctx.me.mfa_enrolment_required;
    // Someone who must first change a password or enrol MFA sees only that step.
    const links = [];
    if (!gated) {
        links.push(['#/cases', 'Cases', 'cases']);
        if (ctx.features.dashboard) links.push(['#/dashboard', 'Action items', 'dashboard']);
        if (ctx.features.meetings) links.push(['#/meetings', 'Meetings', 'meetings']);
        if (ctx.features.reports) links.push(['#/reports', 'Reports', 'reports']);
        if (user.role === 'admin') links.push(['#/admin', 'Administration', 'admin']);
        else if (user.role === 'supervisor') links.push(['#/account-changes', 'Account changes', 'admin']);
    }
    nav.hidden = links.length === 0;
    clear(nav, h('ul', {}, links.map(([href, text, key]) => h('li', {}, h('a', { href, text, dataset: { nav: key } })))));
    clear(
        userBox,
        h(
            'p',
            { class: 'who' },
            h('span', { class: 'who-name', text: user.display_name }),
            h('span', { class: 'who-agency', text: `${agency?.name ?? agencyName(user.agency_id)} · ${label('role', user.role)}` }),
        ),
        gated ? null : notificationsView.bell(),
        gated ? null : h('a', { href: '#/account', class: 'button secondary small', dataset: { nav: 'account' }, text: 'My account' }),
        h('button', { type: 'button', class: 'secondary small', id: 'logout', on: { click: logout }, text: 'Sign out' }),
        h('span', { id: 'conn-state', class: 'conn-state', role: 'status', 'aria-live': 'off' }),
    );
    updateConn(ctx.live?.status ?? 'stopped');
}

// ---- the live connection and its banner ------------------------------------------

let bannerTimer = null;
let tickTimer = null;

function updateConn(status, info = {}) {
    document.dispatchEvent(new CustomEvent('mdt:live', { detail: { status } }));
    const pill = document.getElementById('conn-state');
    if (pill) {
        const online = status === 'open';
        pill.className = `conn-state ${online ? 'is-online' : status === 'offline' ? 'is-offline' : 'is-pending'}`;
        pill.textContent = online ? 'Live' : status === 'offline' ? 'Offline' : status === 'stopped' ? '' : 'Connecting…';
    }
    const banner = document.getElementById('offline-banner');
    const text = document.getElementById('offline-text');
    clearInterval(tickTimer);
    if (status === 'offline' || status === 'reconnecting') {
        clearTimeout(bannerTimer);
        banner.hidden = false;
        banner.className = 'offline-banner is-offline';
        document.body.classList.add('is-offline');
        const tick = () => {
            const s = Math.max(0, Math.ceil(((info.retryAt ?? 0) - Date.now()) / 1000));
            text.textContent =
                status === 'reconnecting' || s === 0
                    ? 'Offline: live updates are paused. Reconnecting now…'
                    : `Offline: live updates are paused. Reconnecting in ${s} s…`;
        };
        tick();
        if (status === 'offline') tickTimer = setInterval(tick, 1000);
        document.getElementById('retry-now').hidden = status !== 'offline';
    } else if (status === 'open' && document.body.classList.contains('is-offline')) {
        document.body.classList.remove('is-offline');
        banner.className = 'offline-banner is-back';
        text.textContent = 'Back online: missed changes are being loaded.';
        document.getElementById('retry-now').hidden = true;
        clearTimeout(bannerTimer);
        bannerTimer = setTimeout(() => {
            banner.hidden = true;
        }, 4000);
    } else if (status === 'stopped') {
        document.body.classList.remove('is-offline');
        banner.hidden = true;
    }
}

// ---- session ---------------------------------------------------------------------

let idleTimer = null;
let lastServerActivity = Date.now();
let lastUserActivity = Date.now();
let idleDialogOpen = false;
let idleAsking = false;

function idleSeconds() {
    return ctx.me?.session?.idle_timeout_s ?? 900;
}

function markServerActivity() {
    lastServerActivity = Date.now();
    if (idleDialogOpen) closeIdleDialog();
}

function onUserActivity() {
    lastUserActivity = Date.now();
    if (!ctx.me || !ctx.live) return;
    if (ctx.live.status === 'open') ctx.live.activity();
    else if (Date.now() - lastServerActivity > 60000) api.get('/api/v1/me', { quiet401: true }).catch(() => {});
}

function checkIdle() {
    if (!ctx.me) return;
    const remaining = idleSeconds() * 1000 - (Date.now() - lastServerActivity);
    if (remaining <= 0) {
        // Another tab may have kept the session alive: ask before giving up.
        if (idleAsking) return;
        idleAsking = true;
        api.get('/api/v1/me', { quiet401: true })
            .then(
                (me) => {
                    ctx.me = { ...ctx.me, ...me };
                    markServerActivity();
                },
                (e) => {
                    if (e.status === 401) sessionEnded('idle');
                },
            )
            .finally(() => (idleAsking = false));
        return;
    }
    if (remaining <= 60000) openIdleDialog(remaining);
}

function openIdleDialog(remaining) {
    const dlg = document.getElementById('idle-dialog');
    const secs = Math.max(0, Math.ceil(remaining / 1000));
    document.getElementById('idle-text').textContent =
        `You have not used MDT Board for a while. For the agencies' security rules you will be signed out in ${secs} seconds.`;
    if (!idleDialogOpen) {
        idleDialogOpen = true;
        if (typeof dlg.showModal === 'function') dlg.showModal();
        else dlg.setAttribute('open', '');
        document.getElementById('idle-stay').focus();
    }
}

function closeIdleDialog() {
    const dlg = document.getElementById('idle-dialog');
    idleDialogOpen = false;
    if (dlg.open) dlg.close();
}

function startIdleWatch() {
    clearInterval(idleTimer);
    lastServerActivity = Date.now();
    idleTimer = setInterval(checkIdle, 1000);
}

// signedIn(me) - after login (or a page load with a live session).
export async function signedIn(me) {
    setCsrf(me.csrf_token);
    setTimeZone(me.time_zone);
    sessionNotice = null;
    if (me.password_change_required || me.mfa_enrolment_required) {
        ctx.me = me;
        renderHeader();
        showLogin();
        return;
    }
    const [agencies, features] = await Promise.all([api.get('/api/v1/agencies').catch(() => ({ items: [] })), probeFeatures(me)]);
    ctx.me = me;
    ctx.features = features;
    ctx.agencies = new Map(agencies.items.map((a) => [a.id, a]));
    if (me.agency) ctx.agencies.set(me.agency.id, { ...ctx.agencies.get(me.agency.id), ...me.agency });
    if (!ctx.live) {
        ctx.live = new Live({
            onStatus: ({ status, retryAt }) => updateConn(status, { retryAt }),
            onSessionEnded: (why) => sessionEnded(why),
            onActivitySent: () => markServerActivity(),
        });
    }
    ctx.live.start();
    notificationsView.startInbox();
    startIdleWatch();
    renderHeader();
    const target = pendingRoute && !pendingRoute.startsWith('#/login') ? pendingRoute : '#/cases';
    pendingRoute = null;
    navigate(target);
}

async function probeFeatures(me) {
    const role = me.user.role;
    const month = new Date().toISOString().slice(0, 7);
    const [dashboard, meetings, reports] = await Promise.all([
        probe('/api/v1/actions?limit=1'),
        probe('/api/v1/meetings?limit=1'),
        role === 'supervisor' ? probe(`/api/v1/reports/nca?from=${month}&to=${month}`) : Promise.resolve(false),
    ]);
    return { dashboard, meetings, reports };
}

function resetSession() {
    ctx.live?.stop();
    clearInterval(idleTimer);
    closeIdleDialog();
    ctx.me = null;
    ctx.users = new Map();
    setCsrf(null);
    renderHeader();
    updateConn('stopped');
}

// sessionEnded(why) - the server ended the session ('idle', 'ended', 'expired').
export function sessionEnded(why) {
    if (!ctx.me) return;
    const mins = Math.round(idleSeconds() / 60);
    resetSession();
    sessionNotice =
        why === 'idle'
            ? `You were signed out after ${mins} minutes without activity. Sign in again to continue.`
            : 'Your session has ended (signed out elsewhere, expired, or changed by an administrator). Sign in again to continue.';
    if (!location.hash.startsWith('#/login')) pendingRoute = location.hash;
    if (cleanup) {
        try {
            cleanup();
        } catch {
            // ignore
        }
        cleanup = null;
    }
    location.hash = '#/login';
    showLogin();
}

async function logout() {
    try {
        await api.post('/api/v1/logout', {});
    } catch {
        // signed out locally either way
    }
    resetSession();
    sessionNotice = 'You have signed out.';
    pendingRoute = null;
    location.hash = '#/login';
    showLogin();
}

function showLogin() {
    firstRoute = false;
    markNav(null);
    document.title = 'Sign in · MDT Board';
    const root = view();
    clear(root);
    loginView.render(root, {
        me: ctx.me,
        notice: sessionNotice,
        onSignedIn: (me) => signedIn(me),
        onLogout: logout,
    });
}

// ---- boot ------------------------------------------------------------------------

async function boot() {
    document.getElementById('skip-link').addEventListener('click', (e) => {
        e.preventDefault();
        const m = document.getElementById('main');
        m.focus();
        m.scrollIntoView();
    });
    document.getElementById('idle-stay').addEventListener('click', () => {
        api.get('/api/v1/me').then((me) => {
            ctx.me = { ...ctx.me, ...me };
            markServerActivity();
        }, () => {});
    });
    document.getElementById('idle-signout').addEventListener('click', () => {
        closeIdleDialog();
        logout();
    });
    document.getElementById('idle-dialog').addEventListener('cancel', (e) => {
        // Escape means "stay": it is user activity.
        e.preventDefault();
        document.getElementById('idle-stay').click();
    });
    document.getElementById('retry-now').addEventListener('click', () => ctx.live?.retryNow());
    onApi('activity', markServerActivity);
    onApi('unauthenticated', () => sessionEnded('ended'));
    for (const ev of ['keydown', 'pointerdown', 'input', 'wheel', 'touchstart']) {
        document.addEventListener(ev, onUserActivity, { passive: true, capture: true });
    }
    window.addEventListener('hashchange', route);
    try {
        const me = await api.get('/api/v1/me', { quiet401: true });
        if (!location.hash || location.hash === '#/login') history.replaceState(null, '', '#/cases');
        pendingRoute = location.hash;
        await signedIn(me);
    } catch {
        route();
    }
}

boot();
