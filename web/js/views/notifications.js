// notifications.js - the inbox: the bell in the header (unread badge, kept
// live by the user's own WebSocket stream and announced politely), the
// inbox page (#/notifications: unread / all, mark one or all read, a link
// to each object), and the composer's "mentioned but not notified" note.
//
// The server renders every notification's text for its reader at read
// time; one whose object the reader can no longer see reads "An item you
// can no longer see" and has no link (docs/api.md, "Notifications").

import { api, qs } from '../api.js';
import { ctx, announce } from '../ctx.js';
import { h, clear, busy, focusHeading } from '../dom.js';
import { dateTime } from '../format.js';

const SVG = 'http://www.w3.org/2000/svg';
const PAGE = 50;

const KIND_LABELS = {
    'action.assigned': 'Assigned to you',
    'action.due_soon': 'Due soon',
    'action.overdue': 'Overdue',
    'entry.mention': 'Mentioned',
    'meeting.agenda': 'On an agenda',
    'consent.expiring': 'Consent expiring',
};

// What the header and an open inbox page share: the unread count and the
// listeners of live notification events.
const state = { unread: 0, listeners: new Set() };

function bellIcon() {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'bell-icon');
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute(
        'd',
        'M12 2a6 6 0 0 0-6 6v3.6L4.3 15A1 1 0 0 0 5.2 16.5h13.6a1 1 0 0 0 .9-1.5L18 11.6V8a6 6 0 0 0-6-6Zm0 20a3 3 0 0 0 2.8-2H9.2A3 3 0 0 0 12 22Z',
    );
    svg.append(path);
    return svg;
}

function bellLabel(n) {
    return n === 0 ? 'Notifications, none unread' : `Notifications, ${n} unread`;
}

// bell() - the header's link to the inbox with its unread badge.
export function bell() {
    const badge = h('span', { class: 'bell-badge', id: 'bell-badge', 'aria-hidden': 'true', hidden: state.unread === 0, text: String(state.unread) });
    return h('a', { href: '#/notifications', id: 'bell', class: 'bell', dataset: { nav: 'notifications' }, 'aria-label': bellLabel(state.unread) }, bellIcon(), badge);
}

function setUnread(n) {
    state.unread = Math.max(0, n);
    const badge = document.getElementById('bell-badge');
    const link = document.getElementById('bell');
    if (badge) {
        badge.textContent = state.unread > 99 ? '99+' : String(state.unread);
        badge.hidden = state.unread === 0;
    }
    if (link) link.setAttribute('aria-label', bellLabel(state.unread));
}

async function loadUnread() {
    try {
        const res = await api.get('/api/v1/notifications?unread=true&limit=1');
        setUnread(res.unread_count);
    } catch {
        // the badge stays as it was; the next event corrects it
    }
}

// startInbox() - after sign-in: follow the user's stream; the count is
// loaded over REST once subscribed (anything later comes live).
export function startInbox() {
    state.unread = 0;
    ctx.live.subscribeUser({
        subscribed: () => loadUnread(),
        resync: () => loadUnread(),
        event: (msg) => {
            if (typeof msg.data?.unread_count === 'number') setUnread(msg.data.unread_count);
            if (msg.kind === 'notification.created' && msg.data?.read === false) announce(`New notification: ${msg.data.text}`);
            for (const fn of state.listeners) fn(msg);
        },
    });
}

// ---- the inbox page -------------------------------------------------------------------------

function itemView(n, onRead) {
    const text = n.link ? h('a', { href: n.link, text: n.text, on: { click: () => !n.read && onRead(n, null) } }) : h('span', { class: 'muted', text: n.text });
    const mark = n.read
        ? null
        : h('button', {
              type: 'button',
              class: 'secondary small',
              text: 'Mark read',
              'aria-label': `Mark read: ${n.text}`,
              on: { click: (e) => onRead(n, e.currentTarget) },
          });
    return h(
        'li',
        { class: ['notification', n.read ? 'is-read' : 'is-unread'], dataset: { id: String(n.id) } },
        h(
            'div',
            { class: 'notification-body' },
            h('p', { class: 'notification-kind' }, h('span', { class: 'notification-dot', 'aria-hidden': 'true' }), KIND_LABELS[n.kind] ?? n.kind, n.read ? null : h('span', { class: 'visually-hidden', text: ' (unread)' })),
            h('p', { class: 'notification-text' }, text),
            h('p', { class: 'hint' }, h('time', { datetime: n.at, text: dateTime(n.at) })),
        ),
        mark,
    );
}

export async function render(root, { query }) {
    const unreadOnly = query.get('unread') === 'true';
    let items = [];
    let next = null;
    const list = h('ul', { class: 'notification-list', 'aria-label': 'Notifications' });
    const status = h('p', { class: 'hint', role: 'status' });
    const more = h('button', { type: 'button', class: 'secondary show-older', text: 'Show older', hidden: true });
    const markAll = h('button', { type: 'button', class: 'secondary', id: 'mark-all-read', text: 'Mark all read' });

    const draw = () => {
        clear(list, items.map((n) => itemView(n, markRead)));
        if (items.length === 0) list.append(h('li', { class: 'empty', text: unreadOnly ? 'Nothing unread.' : 'No notifications yet.' }));
        status.textContent = state.unread === 0 ? 'Nothing unread.' : `${state.unread} unread.`;
        markAll.disabled = state.unread === 0;
        more.hidden = !next;
    };

    async function load(cursor) {
        const res = await api.get(`/api/v1/notifications${qs({ unread: unreadOnly ? 'true' : null, limit: PAGE, cursor })}`);
        items = cursor ? [...items, ...res.items] : res.items;
        next = res.next;
        setUnread(res.unread_count);
        draw();
    }

    async function markRead(n, button) {
        await busy(button, async () => {
            try {
                const res = await api.post('/api/v1/notifications/read', { ids: [n.id] });
                n.read = true;
                setUnread(res.unread_count);
                if (button) draw();
            } catch (err) {
                status.textContent = err.message;
            }
        });
    }

    markAll.addEventListener('click', async () => {
        await busy(markAll, async () => {
            try {
                const res = await api.post('/api/v1/notifications/read', { all: true });
                for (const n of items) n.read = true;
                setUnread(res.unread_count);
                draw();
                announce('All notifications marked read.');
            } catch (err) {
                status.textContent = err.message;
            }
        });
        // busy() re-enabled it: nothing is left to mark
        markAll.disabled = state.unread === 0;
    });
    more.addEventListener('click', () => busy(more, () => load(next)));

    const onLive = (msg) => {
        if (msg.kind === 'notification.created' && !items.some((n) => n.id === msg.data.id)) {
            const { unread_count: _unused, ...n } = msg.data;
            items = [n, ...items];
        } else if (msg.kind === 'notification.read') {
            const ids = new Set(msg.data.ids ?? []);
            for (const n of items) if (msg.data.all || ids.has(n.id)) n.read = true;
            if (unreadOnly) items = items.filter((n) => !n.read);
        }
        draw();
    };
    state.listeners.add(onLive);

    clear(
        root,
        h(
            'div',
            { class: 'page-head' },
            h('h1', { text: 'Notifications' }),
            h('div', { class: 'actions' }, markAll),
        ),
        h(
            'nav',
            { class: 'tabs', 'aria-label': 'Which notifications' },
            h('a', { href: '#/notifications', 'aria-current': unreadOnly ? null : 'page', text: 'All' }),
            h('a', { href: '#/notifications?unread=true', 'aria-current': unreadOnly ? 'page' : null, text: 'Unread' }),
        ),
        status,
        h('div', { class: 'card' }, list, more),
    );
    await load(null);
    focusHeading(root);
    return () => state.listeners.delete(onLive);
}

// ---- the composer's note about mentions ------------------------------------------------------

const REASONS = {
    no_access: 'may not see this entry, so was not notified',
    unknown_user: 'is not a user of MDT Board',
    inactive: 'has an inactive account',
};

// mentionNote(mentions) - what the author is told after posting or saving
// an entry with @mentions; null when there were none.
export function mentionNote(mentions) {
    if (!mentions) return null;
    const { notified = [], not_notified: notNotified = [] } = mentions;
    if (notified.length === 0 && notNotified.length === 0) return null;
    const lines = [];
    if (notified.length) lines.push(h('li', { text: `Notified: ${notified.map((id) => ctx.users.get(id)?.display_name ?? `user #${id}`).join(', ')}.` }));
    for (const x of notNotified) lines.push(h('li', { text: `@${x.username} ${REASONS[x.reason] ?? 'was not notified'}.` }));
    return h(
        'div',
        { class: ['mention-note', notNotified.length ? 'has-warning' : null], role: 'status' },
        notNotified.length ? h('p', { class: 'mention-note-title', text: 'Mentioned but not notified' }) : null,
        h('ul', {}, lines),
    );
}
