// board.js - one case's board (#/cases/{id}): summary, timeline and
// composer, action items, files, protected details and consents, services,
// tracking — all of it kept live over the WebSocket.

import { api } from '../api.js';
import { ctx, agencyName, announce, myAgencyId, myRole } from '../ctx.js';
import { h, clear, focusHeading } from '../dom.js';
import { date, dateTime, dayOf, label, list } from '../format.js';
import { Timeline } from './board_timeline.js';
import { Actions } from './board_actions.js';
import { Protected } from './board_pii.js';
import { Services, Tracking } from './board_records.js';
import { CaseDetails } from './board_case.js';
import { Review } from './board_review.js';
import { Files } from './board_files.js';

export async function render(root, { parts }) {
    const caseId = Number(parts[1]);
    const board = new Board(root, caseId);
    await board.load();
    return () => board.destroy();
}

// loadDirectory() - every active user (names for services, assignees).
export async function loadDirectory() {
    if (ctx.usersLoaded) return;
    let cursor = null;
    const users = new Map();
    do {
        const res = await api.get(`/api/v1/users?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        for (const u of res.items) users.set(u.id, u);
        cursor = res.next;
    } while (cursor);
    ctx.users = users;
    ctx.usersLoaded = true;
}

// caseAgenciesOf(board) - the agencies on a board's case (GET /cases/{id}),
// with names: [{id, name, kind}] sorted by name.
export function caseAgenciesOf(data) {
    const byId = new Map((data.agencies ?? []).map((a) => [a.id, a]));
    return data.case.agencies
        .map((id) => ({ ...(byId.get(id) ?? {}), ...(ctx.agencies.get(id) ?? {}), id }))
        .map((a) => ({ ...a, name: a.name ?? `Agency #${a.id}` }))
        .sort((a, b) => a.name.localeCompare(b.name));
}

class Board {
    constructor(root, caseId) {
        this.root = root;
        this.caseId = caseId;
        this.destroyed = false;
        this.data = null;
    }

    // The agencies on the case, with names: [{id, name, kind}] sorted by name.
    caseAgencies() {
        return caseAgenciesOf(this.data);
    }

    isLeadSupervisor() {
        return myRole() === 'supervisor' && myAgencyId() === this.data.case.lead_agency_id;
    }

    async load() {
        let data;
        try {
            [data] = await Promise.all([api.get(`/api/v1/cases/${this.caseId}`), loadDirectory().catch(() => {})]);
        } catch (err) {
            if (err.status !== 410 || !err.tombstone) throw err;
            if (!this.destroyed) this.purged(err.tombstone);
            return;
        }
        if (this.destroyed) return;
        for (const a of data.agencies ?? []) if (!ctx.agencies.has(a.id)) ctx.agencies.set(a.id, a);
        this.data = data;
        this.build();
        this.subscribe();
    }

    async reload(reason) {
        const data = await api.get(`/api/v1/cases/${this.caseId}`);
        if (this.destroyed) return;
        this.data = data;
        this.renderAll();
        ctx.live?.resubscribe(this.caseId, data.seq);
        if (reason) announce(reason);
    }

    subscribe() {
        // While the socket is down nobody's presence is known.
        this.onLive = (e) => {
            if (e.detail.status !== 'open' && this.presenceEl) clear(this.presenceEl, h('p', { class: 'presence-line muted', text: 'Who else has this board open is unknown while offline.' }));
        };
        document.addEventListener('mdt:live', this.onLive);
        ctx.live?.subscribe(this.caseId, this.data.seq, {
            event: (msg) => this.onEvent(msg),
            presence: (msg) => this.renderPresence(msg),
            resync: () => this.reload('The board was reloaded to catch up with changes.').catch(() => {}),
            error: (msg) => {
                if (msg.code === 'not_found') this.gone();
            },
        });
    }

    destroy() {
        this.destroyed = true;
        document.removeEventListener('mdt:live', this.onLive);
        ctx.live?.unsubscribe(this.caseId);
    }

    build() {
        const c = this.data.case;
        document.title = `${c.case_number} · ${c.alias} · MDT Board`;
        this.headEl = h('div', { class: 'board-head' });
        this.presenceEl = h('div', { class: 'presence' });
        this.timeline = new Timeline(this);
        this.actions = new Actions(this);
        this.files = new Files(this);
        this.pii = new Protected(this);
        this.services = new Services(this);
        this.tracking = new Tracking(this);
        this.details = new CaseDetails(this);
        this.review = new Review(this);
        const sections = [
            ['sec-actions', 'Action items'],
            ['sec-timeline', 'Timeline'],
            ['sec-files', 'Files'],
            ['sec-pii', 'Protected details'],
            ['sec-services', 'Services'],
            ['sec-tracking', 'Tracking'],
            ['sec-case', 'Case details'],
        ];
        const jump = h(
            'nav',
            { class: 'board-jump', 'aria-label': 'Board sections' },
            h(
                'ul',
                {},
                sections.map(([id, text]) =>
                    h(
                        'li',
                        {},
                        h('button', {
                            type: 'button',
                            class: 'link',
                            text,
                            on: {
                                click: () => {
                                    const hd = document.getElementById(`${id}-title`);
                                    hd?.setAttribute('tabindex', '-1');
                                    hd?.scrollIntoView({ block: 'start' });
                                    hd?.focus({ preventScroll: true });
                                },
                            },
                        }),
                    ),
                ),
            ),
        );
        clear(
            this.root,
            h('p', { class: 'crumbs' }, h('a', { href: '#/cases', text: 'All cases' })),
            this.headEl,
            this.presenceEl,
            jump,
            // Action items come before the long timeline in the page's
            // order (a phone shows one column); on a wide screen they head
            // the side column (app.css .board-grid).
            h(
                'div',
                { class: 'board-grid' },
                h('div', { class: 'board-side board-side-top' }, this.actions.el),
                h('div', { class: 'board-main' }, this.timeline.el),
                h('div', { class: 'board-side' }, this.files.el, this.pii.el, this.services.el, this.tracking.el, this.details.el),
            ),
        );
        this.renderAll();
    }

    renderAll() {
        this.renderHead();
        this.timeline.render();
        this.actions.render();
        this.files.render();
        this.pii.render();
        this.services.render();
        this.tracking.render();
        this.details.render();
    }

    renderHead() {
        const c = this.data.case;
        const title = h(
            'h1',
            {},
            h('span', { class: 'case-number', text: c.case_number }),
            ' ',
            h('span', { class: 'case-alias', text: c.alias }),
            c.legal_hold ? h('span', { class: 'badge legal-hold', text: 'Legal hold' }) : null,
        );
        const open = this.data.actions.filter((a) => !a.retracted_at && (a.status === 'open' || a.status === 'in_progress'));
        const overdue = open.filter((a) => a.overdue);
        clear(
            this.headEl,
            title,
            h(
                'dl',
                { class: 'facts inline' },
                h('div', {}, h('dt', { text: 'Status' }), h('dd', {}, h('span', { class: `status status-${c.status}`, text: label('status', c.status) }))),
                h('div', {}, h('dt', { text: 'Lead agency' }), h('dd', { text: agencyName(c.lead_agency_id) })),
                h('div', {}, h('dt', { text: 'Municipality' }), h('dd', { text: c.municipality ?? '—' })),
                h('div', {}, h('dt', { text: 'Referred' }), h('dd', { text: date(c.referral_date) })),
                h('div', {}, h('dt', { text: 'Agencies on the case' }), h('dd', { text: String(c.agencies.length) })),
                h(
                    'div',
                    {},
                    h('dt', { text: 'Open action items' }),
                    h('dd', {}, String(open.length), overdue.length ? h('span', { class: 'badge overdue', text: `${overdue.length} overdue` }) : null),
                ),
            ),
            this.review.el,
            c.legal_hold
                ? h('p', { class: 'legal-hold-line' }, h('strong', { text: 'Legal hold: ' }), `set by ${c.legal_hold_set_by_name ?? 'a supervisor'} on ${dayOf(c.legal_hold_set_at)}. This case is not purged under the retention policy while the hold lasts.`)
                : null,
            h('p', { class: 'hint', text: `Your agency, ${agencyName(myAgencyId())}, sees what is marked visible to it below. Other agencies may see less.` }),
        );
        this.review.render();
    }

    renderPresence(msg) {
        const others = (msg.users ?? []).filter((u) => u.id !== ctx.me.user.id);
        const more = Math.max(0, (msg.count ?? 0) - (msg.users ?? []).length);
        if (!others.length && !more) {
            clear(this.presenceEl, h('p', { class: 'presence-line', text: 'Nobody else has this board open.' }));
            return;
        }
        clear(
            this.presenceEl,
            h(
                'p',
                { class: 'presence-line' },
                h('span', { class: 'presence-dot', 'aria-hidden': 'true' }),
                h('strong', { text: 'Also on this board now: ' }),
                h(
                    'span',
                    { class: 'presence-users' },
                    list(others.map((u) => `${u.display_name} (${agencyName(u.agency_id)})`)),
                    more ? ` and ${more} more` : '',
                ),
            ),
        );
    }

    gone() {
        ctx.live?.unsubscribe(this.caseId);
        clear(
            this.root,
            h('h1', { text: 'This case is no longer available' }),
            h('p', { role: 'alert', text: 'Your agency is no longer on this case, so its board was closed.' }),
            h('p', {}, h('a', { href: '#/cases', text: 'Back to your cases' })),
        );
        focusHeading(this.root);
    }

    // purged(t) - the case was purged under the retention policy (its
    // tombstone, from a 410 or the case.purged event): the board is left.
    purged(t) {
        ctx.live?.unsubscribe(this.caseId);
        document.title = `${t.case_number} · purged · MDT Board`;
        clear(
            this.root,
            h('p', { class: 'crumbs' }, h('a', { href: '#/cases', text: 'All cases' })),
            h('h1', { text: `Case ${t.case_number} was purged` }),
            h('p', { role: 'alert', class: 'purged-notice', text: `This case was purged under the retention policy on ${dayOf(t.purged_at)}.` }),
            h(
                'dl',
                { class: 'facts' },
                h('dt', { text: 'Case number' }),
                h('dd', { text: t.case_number }),
                h('dt', { text: 'Lead agency' }),
                h('dd', { text: agencyName(t.lead_agency_id) }),
                h('dt', { text: 'Referred' }),
                h('dd', { text: date(t.referral_date) }),
                h('dt', { text: 'Closed' }),
                h('dd', { text: dayOf(t.closed_at) }),
                h('dt', { text: 'Purged' }),
                h('dd', { text: dayOf(t.purged_at) }),
            ),
            h('p', { class: 'hint', text: 'Its notes, details, files and protected details were deleted with its key; the audit trail is kept.' }),
            h('p', {}, h('a', { href: '#/cases', text: 'Back to your cases' })),
        );
        announce(`Case ${t.case_number} was purged under the retention policy.`);
        focusHeading(this.root);
    }

    // upsert(listName, obj) - replaces or adds by id. Returns true when it changed something.
    upsert(listName, obj) {
        const arr = this.data[listName];
        const i = arr.findIndex((x) => x.id === obj.id);
        if (i >= 0) {
            if (JSON.stringify(arr[i]) === JSON.stringify(obj)) return false;
            arr[i] = obj;
        } else arr.push(obj);
        return true;
    }

    remove(listName, id) {
        const arr = this.data[listName];
        const i = arr.findIndex((x) => x.id === id);
        if (i >= 0) arr.splice(i, 1);
        return i >= 0;
    }

    // Applied after a REST answer too, so the page is right even when the
    // socket is down; the event that follows finds nothing new.
    // Always re-rendered: the event may have brought the same data while
    // the item was being edited (and so was kept on screen as it was).
    applyLocal(listName, obj) {
        this.upsert(listName, obj);
        this.refresh(listName, new Set([obj.id]), false);
    }

    refresh(part, ids = new Set(), live = true) {
        if (part === 'entries') this.timeline.render(live ? ids : null);
        else if (part === 'actions') {
            this.actions.render(live ? ids : null);
            this.renderHead();
        } else if (part === 'services') this.services.render(live ? ids : null);
        else if (part === 'attachments') {
            this.files.render(live ? ids : null);
            this.timeline.render(); // files stand on the timeline at their time
            this.pii.render(false); // and on the consent they document
        } else if (part === 'consents' || part === 'pii') {
            this.pii.render(live);
            this.files.fillConsents?.();
        }
        else if (part === 'tracking') this.tracking.render(live);
        else if (part === 'case') {
            this.renderHead();
            this.details.render(live);
            this.timeline.agenciesChanged();
            this.actions.agenciesChanged();
            this.services.picker?.setAgencies(this.caseAgencies());
            this.files.picker?.setAgencies(this.caseAgencies());
            this.pii.render(false);
        }
    }

    onEvent(msg) {
        if (this.destroyed) return;
        const d = msg.data;
        const [entity] = msg.kind.split('.');
        // What this user just made (the event may beat the REST answer) is
        // neither highlighted nor announced.
        const me = ctx.me.user.id;
        const mine = ((msg.kind === 'entry.created' || msg.kind === 'attachment.created') && d.author_id === me) || ((msg.kind === 'action.created' || msg.kind === 'service.created') && d.created_by === me);
        const live = () => (mine ? new Set() : new Set([d.id]));
        switch (msg.kind) {
            case 'entry.created':
            case 'entry.updated':
            case 'entry.retracted':
                if (this.upsert('entries', d)) {
                    this.refresh('entries', live());
                    if (mine) break;
                    const what = label('entryKind', d.kind);
                    const who = `${d.author_name ?? 'someone'} (${agencyName(d.agency_id)})`;
                    announce(msg.kind === 'entry.created' ? `New ${what.toLowerCase()} by ${who}.` : msg.kind === 'entry.updated' ? `${what} by ${who} was edited.` : `${what} by ${who} was retracted.`);
                }
                break;
            case 'action.created':
            case 'action.updated':
            case 'action.retracted':
                if (this.upsert('actions', d)) {
                    this.refresh('actions', live());
                    if (mine) break;
                    announce(msg.kind === 'action.created' ? `New action item: ${d.title}.` : `Action item updated: ${d.title} — ${label('actionStatus', d.status)}.`);
                }
                break;
            case 'service.created':
                if (this.upsert('services', d)) {
                    this.refresh('services', live());
                    if (mine) break;
                    announce(`Service logged: ${d.service}.`);
                }
                break;
            case 'attachment.created':
            case 'attachment.retracted':
                if (this.upsert('attachments', d)) {
                    this.refresh('attachments', live());
                    if (mine) break;
                    announce(msg.kind === 'attachment.created' ? `New file: ${d.filename} (${agencyName(d.agency_id)}).` : `A file of ${agencyName(d.agency_id)} was retracted.`);
                }
                break;
            case 'consent.changed':
                if (this.upsert('consents', d)) {
                    // What this agency may see of the protected details may have changed.
                    this.refreshPii();
                    this.refresh('consents');
                    announce(`A consent for ${agencyName(d.agency_id)} was ${d.revoked_at ? 'revoked' : 'recorded'}.`);
                }
                break;
            case 'pii.updated':
                this.data.pii = d;
                this.refresh('pii');
                announce('Protected details were updated.');
                break;
            case 'tracking.updated':
                this.data.tracking = d;
                this.refresh('tracking');
                announce('Tracking data was updated.');
                break;
            case 'case.purged':
                this.purged(d);
                break;
            case 'case.updated':
                this.data.case = d;
                this.refresh('case');
                announce('The case details were updated.');
                break;
            case 'access.revoked':
                this.revoked(d);
                break;
            default:
                if (entity === 'meeting') break;
                break;
        }
    }

    revoked(d) {
        const lists = { entry: 'entries', action: 'actions', service: 'services', attachment: 'attachments' };
        if (d.entity === 'case') {
            this.gone();
        } else if (d.entity === 'pii') {
            if (d.category && this.data.pii) {
                // Said on the card ("No longer shared … since"), not just gone.
                delete this.data.pii[d.category];
                this.lostPii = { ...this.lostPii, [d.category]: new Date().toISOString() };
                announce(`${label('piiCategory', d.category)} details are no longer shared with your agency.`);
            } else this.refreshPii();
            this.refresh('pii');
        } else if (lists[d.entity]) {
            if (this.remove(lists[d.entity], d.id)) this.refresh(lists[d.entity]);
        }
    }

    async refreshPii() {
        try {
            const pii = await api.get(`/api/v1/cases/${this.caseId}/pii`);
            if (this.destroyed) return;
            this.data.pii = pii;
            this.refresh('pii', undefined, false);
        } catch {
            // the next event or reload will bring it
        }
    }
}

export { dateTime };
