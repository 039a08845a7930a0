// live.js - the one WebSocket of a signed-in page (/ws, subprotocol
// mdtboard.v1).
//
// - Before every connection it calls GET /api/v1/me: that loads the session
//   into the answering node's cache (the upgrade is authenticated from it)
//   and tells a dead session (401) from a dead network.
// - It reconnects by itself with a growing, jittered delay and subscribes
//   again to every case it follows with `since` = the last seq seen, so
//   nothing is missed; events at or below that seq are dropped, so nothing
//   is shown twice (access.revoked excepted: see dispatch).
// - Close code 4401 means the session ended: no reconnect, onSessionEnded.
// - `activity` frames (at most one per 30 s) keep the session from idling
//   out while the user works; pings only check that the socket is alive.

import { api } from './api.js';

const DELAYS = [500, 1000, 2000, 4000, 8000, 15000, 30000];
const PING_EVERY = 25000;
const PONG_WITHIN = 10000;
const ACTIVITY_EVERY = 30000;

export class Live {
    constructor({ onStatus = () => {}, onSessionEnded = () => {}, onActivitySent = () => {} } = {}) {
        this.onStatus = onStatus;
        this.onSessionEnded = onSessionEnded;
        this.onActivitySent = onActivitySent;
        this.ws = null;
        this.subs = new Map(); // case_id -> {lastSeq, handler, active}
        this.meetingSubs = new Map(); // meeting_id -> {lastSeq, handler, active}
        this.userSub = null; // the user's own stream (notifications): {lastSeq, handler, active}
        this.stopped = true;
        this.attempt = 0;
        this.retryTimer = null;
        this.retryAt = 0;
        this.pingTimer = null;
        this.pongTimer = null;
        this.lastActivitySent = 0;
        this.status = 'stopped';
        this.everOpened = false;
        this.pingId = 0;
        this._online = () => this.status === 'offline' && this.retryNow();
        this._visible = () => document.visibilityState === 'visible' && this.status === 'offline' && this.retryNow();
    }

    setStatus(status, extra = {}) {
        this.status = status;
        this.onStatus({ status, ...extra });
    }

    start() {
        if (!this.stopped) return;
        this.stopped = false;
        this.attempt = 0;
        this.everOpened = false;
        window.addEventListener('online', this._online);
        document.addEventListener('visibilitychange', this._visible);
        this.connect();
    }

    // stop() - closes for good (logout, session ended).
    stop() {
        this.stopped = true;
        window.removeEventListener('online', this._online);
        document.removeEventListener('visibilitychange', this._visible);
        clearTimeout(this.retryTimer);
        this.clearPing();
        if (this.ws) {
            const ws = this.ws;
            this.ws = null;
            ws.onclose = null;
            ws.close(1000);
        }
        this.subs.clear();
        this.meetingSubs.clear();
        this.userSub = null;
        this.setStatus('stopped');
    }

    async connect() {
        if (this.stopped) return;
        clearTimeout(this.retryTimer);
        this.setStatus(this.everOpened ? 'reconnecting' : 'connecting');
        try {
            await api.get('/api/v1/me', { quiet401: true });
        } catch (e) {
            if (this.stopped) return;
            if (e.status === 401) {
                this.stop();
                this.onSessionEnded('expired');
                return;
            }
            this.scheduleRetry();
            return;
        }
        if (this.stopped) return;
        const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
        let ws;
        try {
            ws = new WebSocket(url, 'mdtboard.v1');
        } catch {
            this.scheduleRetry();
            return;
        }
        this.ws = ws;
        ws.onopen = () => {
            if (this.ws !== ws) return;
            this.attempt = 0;
            this.everOpened = true;
            this.setStatus('open');
            for (const [caseId, sub] of this.subs) this.sendSubscribe(caseId, sub);
            for (const [meetingId, sub] of this.meetingSubs) {
                this.send({ type: 'subscribe_meeting', meeting_id: meetingId });
                sub.handler.reconnected?.();
            }
            if (this.userSub) this.sendSubscribeUser();
            this.schedulePing();
        };
        ws.onmessage = (ev) => {
            if (this.ws !== ws) return;
            let msg;
            try {
                msg = JSON.parse(ev.data);
            } catch {
                return;
            }
            this.dispatch(msg);
        };
        ws.onclose = (ev) => {
            if (this.ws !== ws) return;
            this.ws = null;
            this.clearPing();
            for (const sub of this.subs.values()) sub.active = false;
            if (ev.code === 4401) {
                this.stop();
                this.onSessionEnded('ended');
                return;
            }
            if (!this.stopped) this.scheduleRetry();
        };
        ws.onerror = () => {
            // onclose follows and decides.
        };
    }

    scheduleRetry() {
        if (this.stopped) return;
        const base = DELAYS[Math.min(this.attempt, DELAYS.length - 1)];
        const delay = Math.round(base * (0.8 + Math.random() * 0.4));
        this.attempt++;
        this.retryAt = Date.now() + delay;
        this.setStatus('offline', { retryAt: this.retryAt });
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.connect(), delay);
    }

    retryNow() {
        if (this.stopped || this.ws) return;
        this.attempt = 0;
        this.connect();
    }

    schedulePing() {
        this.clearPing();
        this.pingTimer = setTimeout(() => {
            if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
            const id = `p${++this.pingId}`;
            this.expectPong = id;
            this.send({ type: 'ping', id });
            this.pongTimer = setTimeout(() => {
                // No answer: the connection is dead without having closed.
                const ws = this.ws;
                if (ws) {
                    this.ws = null;
                    ws.onclose = null;
                    ws.close();
                    for (const sub of this.subs.values()) sub.active = false;
                    this.scheduleRetry();
                }
            }, PONG_WITHIN);
        }, PING_EVERY);
    }

    clearPing() {
        clearTimeout(this.pingTimer);
        clearTimeout(this.pongTimer);
    }

    send(obj) {
        if (this.ws && this.ws.readyState === WebSocket.OPEN) {
            this.ws.send(JSON.stringify(obj));
            return true;
        }
        return false;
    }

    // activity() - the user did something; tells the server at most every 30 s.
    activity() {
        const now = Date.now();
        if (now - this.lastActivitySent < ACTIVITY_EVERY) return;
        if (this.send({ type: 'activity' })) {
            this.lastActivitySent = now;
            this.onActivitySent(now);
        }
    }

    // subscribe(caseId, since, handler) - follow a case from seq `since`
    // (the board snapshot's seq). handler: {event(msg), presence(msg),
    // resync(), error(msg), subscribed(msg)}.
    subscribe(caseId, since, handler) {
        const sub = { lastSeq: since, handler, active: false };
        this.subs.set(caseId, sub);
        this.sendSubscribe(caseId, sub);
        return sub;
    }

    // resubscribe(caseId, since) - after a reload (resync): same handler.
    resubscribe(caseId, since) {
        const sub = this.subs.get(caseId);
        if (!sub) return;
        sub.lastSeq = since;
        this.sendSubscribe(caseId, sub);
    }

    unsubscribe(caseId) {
        if (this.subs.delete(caseId)) this.send({ type: 'unsubscribe', case_id: caseId });
    }

    sendSubscribe(caseId, sub) {
        const msg = { type: 'subscribe', case_id: caseId };
        if (Number.isInteger(sub.lastSeq)) msg.since = sub.lastSeq;
        this.send(msg);
    }

    // subscribeMeeting(meetingId, handler) - follow a meeting (agenda,
    // status, "now discussing"). Meeting events carry the whole meeting as
    // the caller may see it, so on every (re)connect the handler's
    // reconnected() reloads it instead of resuming with since.
    // handler: {event(msg), subscribed(msg), resync(), error(msg), reconnected()}.
    subscribeMeeting(meetingId, handler) {
        const sub = { lastSeq: 0, handler, active: false };
        this.meetingSubs.set(meetingId, sub);
        this.send({ type: 'subscribe_meeting', meeting_id: meetingId });
        return sub;
    }

    // subscribeUser(handler) - the signed-in user's own stream
    // (notification.created / notification.read). The first subscription
    // has no `since` (nothing is replayed; the handler loads the inbox over
    // REST once subscribed); after a reconnect it resumes with `since` = the
    // last seq seen. handler: {event(msg), subscribed(msg), resync()}.
    subscribeUser(handler) {
        this.userSub = { lastSeq: null, handler, active: false };
        this.sendSubscribeUser();
    }

    sendSubscribeUser() {
        const msg = { type: 'subscribe_user' };
        if (Number.isInteger(this.userSub.lastSeq)) msg.since = this.userSub.lastSeq;
        this.send(msg);
    }

    dispatchUser(msg) {
        const sub = this.userSub;
        if (!sub) return;
        if (msg.type === 'event') {
            if (Number.isInteger(sub.lastSeq) && msg.seq <= sub.lastSeq) return;
            sub.lastSeq = msg.seq;
            sub.handler.event?.(msg);
        } else if (msg.type === 'subscribed_user') {
            sub.active = true;
            if (!Number.isInteger(sub.lastSeq) || msg.seq > sub.lastSeq) sub.lastSeq = msg.seq;
            sub.handler.subscribed?.(msg);
        } else if (msg.type === 'resync') {
            // start again without since; the handler reloads over REST
            sub.active = false;
            sub.lastSeq = null;
            sub.handler.resync?.(msg);
            this.sendSubscribeUser();
        }
    }

    unsubscribeMeeting(meetingId) {
        if (this.meetingSubs.delete(meetingId)) this.send({ type: 'unsubscribe_meeting', meeting_id: meetingId });
    }

    dispatchMeeting(msg) {
        const sub = this.meetingSubs.get(msg.meeting_id);
        if (!sub) return;
        switch (msg.type) {
            case 'event':
                if (msg.seq <= sub.lastSeq) return;
                sub.lastSeq = msg.seq;
                sub.handler.event?.(msg);
                break;
            case 'subscribed':
                sub.active = true;
                if (msg.seq > sub.lastSeq) sub.lastSeq = msg.seq;
                sub.handler.subscribed?.(msg);
                break;
            case 'resync':
                sub.active = false;
                sub.handler.resync?.(msg);
                break;
            case 'error':
                sub.handler.error?.(msg);
                break;
            default:
                break;
        }
    }

    dispatch(msg) {
        if (msg.type === 'pong') {
            if (msg.id === this.expectPong) this.schedulePing();
            return;
        }
        if (msg.meeting_id !== undefined && msg.case_id === undefined) {
            this.dispatchMeeting(msg);
            return;
        }
        if (msg.type === 'subscribed_user' || (msg.user_id !== undefined && msg.case_id === undefined)) {
            this.dispatchUser(msg);
            return;
        }
        const sub = msg.case_id !== undefined ? this.subs.get(msg.case_id) : null;
        if (!sub) return;
        switch (msg.type) {
            case 'event':
                // access.revoked comes in the seq of the event that caused it,
                // right before that event's own frame (docs/live.md), and for
                // an expired consent with the last seq sent: removals are
                // idempotent, so it is always applied and never advances the
                // resume point. Everything else at or below it was seen.
                if (msg.kind === 'access.revoked') {
                    sub.handler.event?.(msg);
                    return;
                }
                if (msg.seq <= sub.lastSeq) return;
                sub.lastSeq = msg.seq;
                sub.handler.event?.(msg);
                break;
            case 'subscribed':
                sub.active = true;
                if (msg.seq > sub.lastSeq) sub.lastSeq = msg.seq;
                sub.handler.subscribed?.(msg);
                break;
            case 'presence':
                sub.handler.presence?.(msg);
                break;
            case 'resync':
                sub.active = false;
                sub.handler.resync?.(msg);
                break;
            case 'error':
                sub.handler.error?.(msg);
                break;
            default:
                break;
        }
    }
}
