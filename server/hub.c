/* hub.c - the hub's registry: topics (cases and meetings), their
 * subscriptions and the hub's lifetime (see hub.h and hub_int.h). */
#include "hub_int.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "session.h"

struct mdt_hub *mdt_hub_of(mdt_server_t *srv)
{
    return srv->hub;
}

/* Cases are keyed "c<id>", meetings "m<id>", users' streams "u<id>". */
static void hub_key(int64_t case_id, int64_t meeting_id, int64_t user_id, char key[24])
{
    if (user_id)
        snprintf(key, 24, "u%lld", (long long)user_id);
    else if (meeting_id)
        snprintf(key, 24, "m%lld", (long long)meeting_id);
    else
        snprintf(key, 24, "c%lld", (long long)case_id);
}

void mdt_hub_topic_ref(const hub_case_t *hc, json_t *frame)
{
    if (hc->user_id)
        json_object_set_new(frame, "user_id", json_integer(hc->user_id));
    else if (hc->meeting_id)
        json_object_set_new(frame, "meeting_id", json_integer(hc->meeting_id));
    else
        json_object_set_new(frame, "case_id", json_integer(hc->case_id));
}

static void hub_case_free(void *p)
{
    hub_case_t *hc = p;
    lws_sul_cancel(&hc->expiry);
    lws_sul_cancel(&hc->presence);
    free(hc);
}

hub_case_t *mdt_hub_topic_get(mdt_server_t *srv, int64_t case_id, int64_t meeting_id,
                              int64_t user_id, int create)
{
    char key[24];
    hub_key(case_id, meeting_id, user_id, key);
    hub_case_t *hc = mdt_hmap_get(mdt_hub_of(srv)->cases, key);
    if (hc || !create)
        return hc;
    if (!(hc = calloc(1, sizeof(*hc))))
        return NULL;
    hc->case_id = case_id;
    hc->meeting_id = meeting_id;
    hc->user_id = user_id;
    hc->srv = srv;
    if (mdt_hmap_put(mdt_hub_of(srv)->cases, key, hc) != 0) {
        free(hc);
        return NULL;
    }
    return hc;
}

hub_case_t *mdt_hub_case_get(mdt_server_t *srv, int64_t case_id, int create)
{
    return mdt_hub_topic_get(srv, case_id, 0, 0, create);
}

hub_mask_t *mdt_hub_mask(hub_case_t *hc, mdt_view_key_t key)
{
    for (int i = 0; i < hc->nmasks; i++) {
        if (mdt_authz_view_key_eq(hc->masks[i].key, key))
            return &hc->masks[i];
    }
    if (hc->nmasks == HUB_MAX_SHAPES)
        return NULL;
    hc->masks[hc->nmasks] = (hub_mask_t){key, 0, 0};
    return &hc->masks[hc->nmasks++];
}

static int hub_gc_empty(const char *key, void *value, void *ud)
{
    (void)key;
    (void)ud;
    return ((hub_case_t *)value)->subs.count == 0;
}

static void hub_gc(lws_sorted_usec_list_t *sul)
{
    struct mdt_hub *h = lws_container_of(sul, struct mdt_hub, gc);
    h->gc_scheduled = 0;
    mdt_hmap_sweep(h->cases, hub_gc_empty, NULL);
}

static void hub_list_free(hub_sub_t *s, lws_dll2_owner_t *list)
{
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(list))
    {
        lws_dll2_remove(d);
        mdt_hub_release(s, lws_container_of(d, hub_buffered_t, link));
    }
    lws_end_foreach_dll_safe(d, d1);
}

static void hub_sub_free(hub_sub_t *s)
{
    hub_list_free(s, &s->pending);
    hub_list_free(s, &s->backlog);
    free(s);
}

/* Removes s; drops its case when nobody is left. */
void mdt_hub_sub_remove(mdt_server_t *srv, hub_sub_t *s)
{
    hub_case_t *hc = s->hc;
    lws_dll2_remove(&s->case_link);
    lws_dll2_remove(&s->conn_link);
    hub_sub_free(s);
    if (hc->subs.count > 0) {
        mdt_hub_presence_schedule(hc);
        return;
    }
    /* freed later, never under a caller that is walking the case */
    struct mdt_hub *h = mdt_hub_of(srv);
    if (!h->gc_scheduled && srv->ctx) {
        h->gc_scheduled = 1;
        lws_sul_schedule(srv->ctx, 0, &h->gc, hub_gc, 1);
    }
}

static hub_sub_t *hub_sub_of_conn(mdt_ws_conn_t *conn, int64_t case_id, int64_t meeting_id,
                                  int64_t user_id)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, conn_link);
        if (s->hc->case_id == case_id && s->hc->meeting_id == meeting_id &&
            s->hc->user_id == user_id)
            return s;
    }
    lws_end_foreach_dll(d);
    return NULL;
}

static hub_sub_t *hub_sub_by_gen(mdt_server_t *srv, int64_t case_id, int64_t meeting_id,
                                 int64_t user_id, uint64_t gen)
{
    hub_case_t *hc = mdt_hub_topic_get(srv, case_id, meeting_id, user_id, 0);
    if (!hc)
        return NULL;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&hc->subs))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
        if (s->gen == gen)
            return s;
    }
    lws_end_foreach_dll(d);
    return NULL;
}

static void hub_error(mdt_ws_conn_t *conn, const char *code, const char *message)
{
    mdt_ws_send_json(
        conn, json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", message));
}

static void hub_sub_start(mdt_server_t *srv, hub_sub_t *s);

/* A replay of conn (by id) ended: the next subscription waiting on the
 * socket starts its own. */
static void hub_replay_ended(mdt_server_t *srv, uint64_t conn_id)
{
    mdt_ws_conn_t *conn = srv->hub ? mdt_ws_find(srv, conn_id) : NULL;
    if (!conn)
        return;
    mdt_ws_hubstate(conn)->replaying--;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, conn_link);
        if (s->queued) {
            hub_sub_start(srv, s);
            return;
        }
    }
    lws_end_foreach_dll(d);
}

/* The read audit of a subscribe that reached the database: ok, or denied
 * when the case is not there for the caller. */
static void hub_subscribe_audit(hub_subjob_t *j, int status)
{
    if (status != MDT_DB_OK && status != MDT_DB_NOT_FOUND)
        return;
    mdt_audit_rec_t rec = {.action = "case.subscribe",
                           .object_type = "case",
                           .object_id = j->case_id,
                           .case_id = j->case_id,
                           .outcome = status == MDT_DB_OK ? "ok" : "denied"};
    if (j->user_id)
        rec = (mdt_audit_rec_t){.action = "notification.subscribe",
                                .object_type = "notification",
                                .outcome = status == MDT_DB_OK ? "ok" : "denied"};
    mdt_audit_read(j->srv, &j->actor, &rec);
}

/* A subscription that failed or must resync: told so, then removed. */
static void hub_subscribe_refused(mdt_server_t *srv, hub_sub_t *s, int status)
{
    mdt_ws_conn_t *conn = s->conn;
    json_t *frame = status == MDT_DB_NOT_FOUND
                        ? json_pack("{s:s, s:s, s:s}", "type", "error", "code", "not_found",
                                    "message", "no such case")
                        : json_pack("{s:s}", "type", "resync");
    if (frame)
        mdt_hub_topic_ref(s->hc, frame);
    mdt_hub_sub_remove(srv, s);
    mdt_ws_send_json(conn, frame);
}

static void hub_subscribe_done(void *arg, int status)
{
    hub_subjob_t *j = arg;
    mdt_server_t *srv = j->srv;
    if (srv->hub)
        hub_subscribe_audit(j, status);
    hub_sub_t *s = srv->hub ? hub_sub_by_gen(srv, j->case_id, 0, j->user_id, j->gen) : NULL;
    if (s && (status != MDT_DB_OK || j->resync)) {
        hub_subscribe_refused(srv, s, status);
    } else if (s && !j->user_id) {
        mdt_view_key_t key = mdt_authz_view_key(&j->p);
        hub_mask_t *m = mdt_hub_mask(s->hc, key);
        if (m && !m->known)
            *m = (hub_mask_t){key, j->mask, 1};
        mdt_hub_expiry_schedule(s->hc, j->next_expiry);
        mdt_hub_activate(srv, s, j);
    } else if (s) {
        mdt_hub_activate(srv, s, j);
    }
    hub_replay_ended(srv, j->conn_id);
    json_decref(j->msgs);
    free(j);
}

static void hub_meeting_done(void *arg, int status);

/* s could not start for want of memory: it ends with an error, and the
 * socket's next waiting subscription starts. */
static void hub_sub_failed(mdt_server_t *srv, hub_sub_t *s)
{
    mdt_ws_conn_t *conn = s->conn;
    mdt_hub_sub_remove(srv, s);
    hub_error(conn, "unavailable", "out of memory");
    hub_replay_ended(srv, mdt_ws_id(conn));
}

/* Submits s's replay (a case's events since s->since, or a meeting's
 * visibility check): the socket's one replay in flight. */
static void hub_sub_start(mdt_server_t *srv, hub_sub_t *s)
{
    mdt_ws_conn_t *conn = s->conn;
    s->queued = 0;
    s->replay_to = mdt_feed_last(srv);
    mdt_ws_hubstate(conn)->replaying++;
    if (s->hc->meeting_id) {
        hub_meetjob_t *j = calloc(1, sizeof(*j));
        if (!j) {
            hub_sub_failed(srv, s);
            return;
        }
        *j = (hub_meetjob_t){
            srv, s->hc->meeting_id, s->gen, mdt_ws_id(conn), mdt_ws_principal(conn), 0};
        if (mdt_db_submit_class(srv->db, MDT_DB_CLASS_REPLAY, mdt_hub_meeting_work,
                                hub_meeting_done, j) != 0)
            hub_meeting_done(j, MDT_DB_REFUSED);
        return;
    }
    hub_subjob_t *j = calloc(1, sizeof(*j));
    if (!j) {
        hub_sub_failed(srv, s);
        return;
    }
    *j = (hub_subjob_t){.srv = srv,
                        .case_id = s->hc->case_id,
                        .user_id = s->hc->user_id,
                        .gen = s->gen,
                        .conn_id = mdt_ws_id(conn),
                        .p = mdt_ws_principal(conn),
                        .since = s->since,
                        .replay_to = s->replay_to};
    mdt_ws_audit_actor(conn, &j->actor);
    if (mdt_db_submit_class(srv->db, MDT_DB_CLASS_REPLAY,
                            j->user_id ? mdt_hub_user_subscribe_work : mdt_hub_subscribe_work,
                            hub_subscribe_done, j) != 0)
        hub_subscribe_done(j, MDT_DB_REFUSED);
}

/* Subscriptions of conn waiting for their replay. */
static int hub_queued_count(mdt_ws_conn_t *conn)
{
    int n = 0;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        n += lws_container_of(d, hub_sub_t, conn_link)->queued;
    }
    lws_end_foreach_dll(d);
    return n;
}

/* A new subscription of conn to a case or meeting: started at once, or
 * queued behind the socket's replay in flight. NULL when refused (the
 * client was told why). */
static hub_sub_t *hub_sub_new(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t case_id,
                              int64_t meeting_id, int64_t user_id, int64_t since)
{
    int busy = mdt_ws_hubstate(conn)->replaying > 0;
    if (mdt_ws_subs(conn)->count >= MDT_HUB_MAX_SUBS_PER_SOCKET) {
        hub_error(conn, "too_many_subscriptions", "at most 64 subscriptions per socket");
        return NULL;
    }
    if (busy && hub_queued_count(conn) >= HUB_QUEUED_MAX) {
        hub_error(conn, "rate_limited", "too many subscriptions waiting for their replay");
        return NULL;
    }
    hub_case_t *hc = mdt_hub_topic_get(srv, case_id, meeting_id, user_id, 1);
    hub_sub_t *s = hc ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        hub_error(conn, "unavailable", "out of memory");
        return NULL;
    }
    s->hc = hc;
    s->conn = conn;
    s->gen = ++mdt_hub_of(srv)->next_gen;
    s->since = since;
    s->queued = 1;
    lws_dll2_add_tail(&s->case_link, &hc->subs);
    lws_dll2_add_tail(&s->conn_link, mdt_ws_subs(conn));
    if (!busy)
        hub_sub_start(srv, s);
    return s;
}

/* A subscribe for what conn already follows. Answers and returns 1 when
 * it is a no-op (same or no `since`): `subscribed` at the position the
 * socket has been given so far, behind what is queued; nothing when the
 * replay has not ended (its own `subscribed` is coming). Returns 0 after
 * dropping old when the client asked for another `since`. */
static int hub_resubscribe(mdt_server_t *srv, hub_sub_t *old, int64_t since)
{
    if (since >= 0 && since != old->since) {
        mdt_hub_sub_remove(srv, old);
        return 0;
    }
    if (old->active) {
        hub_case_t *hc = old->hc;
        json_t *j = json_pack("{s:s, s:I}", "type", hc->user_id ? "subscribed_user" : "subscribed",
                              "seq", (json_int_t)old->last_sent);
        mdt_hub_topic_ref(hc, j);
        mdt_wsmsg_t *m = mdt_hub_msg(j);
        json_decref(j);
        mdt_hub_send(srv, old, m); /* on failure the socket resyncs */
        mdt_wsmsg_unref(m);
    }
    return 1;
}

void mdt_hub_subscribe(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t case_id, int64_t since)
{
    hub_sub_t *old = hub_sub_of_conn(conn, case_id, 0, 0);
    if (old && hub_resubscribe(srv, old, since))
        return;
    hub_sub_new(srv, conn, case_id, 0, 0, since);
}

int mdt_hub_admit(mdt_server_t *srv, mdt_ws_conn_t *conn)
{
    struct mdt_hub *h = mdt_hub_of(srv);
    char key[32];
    snprintf(key, sizeof(key), "%llu", (unsigned long long)mdt_ws_id(conn));
    if (!h || mdt_ratelimit_take(h->sock_rate, key) != 0)
        return -1;
    snprintf(key, sizeof(key), "%lld", (long long)mdt_ws_user(conn)->user_id);
    return mdt_ratelimit_take(h->user_rate, key) != 0 ? -1 : 0;
}

void mdt_hub_unsubscribe(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t case_id)
{
    hub_sub_t *s = hub_sub_of_conn(conn, case_id, 0, 0);
    if (s)
        mdt_hub_sub_remove(srv, s);
}

void mdt_hub_conn_closed(mdt_server_t *srv, mdt_ws_conn_t *conn)
{
    if (!srv->hub)
        return;
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        mdt_hub_sub_remove(srv, lws_container_of(d, hub_sub_t, conn_link));
    }
    lws_end_foreach_dll_safe(d, d1);
}

int mdt_hub_start(mdt_server_t *srv)
{
    struct mdt_hub *st = calloc(1, sizeof(*st));
    if (!st || !(st->cases = mdt_hmap_new(hub_case_free))) {
        free(st);
        return -1;
    }
    /* subscribe messages: per socket the configured rate a minute with a
     * burst of a twentieth of it (at least 10), per user twice both */
    int rate = srv->cfg.ws_sub_rate > 0 ? srv->cfg.ws_sub_rate : 600;
    int burst = rate / 20 > 10 ? rate / 20 : 10;
    if (!(st->sock_rate = mdt_ratelimit_new(rate, burst)) ||
        !(st->user_rate = mdt_ratelimit_new(2 * rate, 2 * burst))) {
        mdt_ratelimit_free(st->sock_rate);
        mdt_hmap_free(st->cases);
        free(st);
        return -1;
    }
    st->srv = srv;
    srv->hub = st;
    return 0;
}

void mdt_hub_stop(mdt_server_t *srv)
{
    struct mdt_hub *st = mdt_hub_of(srv);
    if (st)
        lws_sul_cancel(&st->gc);
}

void mdt_hub_free(mdt_server_t *srv)
{
    struct mdt_hub *st = mdt_hub_of(srv);
    if (!st)
        return;
    srv->hub = NULL;
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&st->pipeline))
    {
        hub_ev_t *h = lws_container_of(d, hub_ev_t, link);
        lws_dll2_remove(d);
        if (h->ready || !lws_dll2_is_detached(&h->batch_link))
            mdt_hub_ev_free(h); /* delivered, or never given to a render job */
        /* otherwise its render job frees it when it returns (srv->hub NULL) */
    }
    lws_end_foreach_dll_safe(d, d1);
    mdt_hmap_free(st->cases);
    mdt_ratelimit_free(st->sock_rate);
    mdt_ratelimit_free(st->user_rate);
    free(st);
}

/* A meeting subscription goes live: what was buffered meanwhile, then
 * `subscribed`, through the bounded send path (overflow: resync). */
static void hub_meeting_activate(mdt_server_t *srv, hub_sub_t *s, int64_t meeting_id)
{
    s->active = 1;
    s->last_sent = s->replay_to;
    while (s->pending.head) {
        hub_buffered_t *b = lws_container_of(s->pending.head, hub_buffered_t, link);
        mdt_wsmsg_t *msg = b->msg;
        int64_t seq = b->seq;
        msg->refs++;
        lws_dll2_remove(&b->link);
        mdt_hub_release(s, b);
        int rc = seq > s->last_sent ? mdt_hub_send(srv, s, msg) : 0;
        mdt_wsmsg_unref(msg);
        if (rc != 0)
            return; /* resynced: s is gone */
        if (seq > s->last_sent)
            s->last_sent = seq;
    }
    json_t *j = json_pack("{s:s, s:I, s:I}", "type", "subscribed", "meeting_id",
                          (json_int_t)meeting_id, "seq", (json_int_t)s->last_sent);
    mdt_wsmsg_t *m = mdt_hub_msg(j);
    json_decref(j);
    mdt_hub_send(srv, s, m);
    mdt_wsmsg_unref(m);
}

static void hub_meeting_done(void *arg, int status)
{
    hub_meetjob_t *j = arg;
    mdt_server_t *srv = j->srv;
    hub_sub_t *s = srv->hub ? hub_sub_by_gen(srv, 0, j->meeting_id, 0, j->gen) : NULL;
    if (s && (status != MDT_DB_OK || !j->visible)) {
        mdt_ws_conn_t *conn = s->conn;
        mdt_hub_sub_remove(srv, s);
        mdt_ws_send_json(conn,
                         json_pack("{s:s, s:s, s:s, s:I}", "type", "error", "code",
                                   status == MDT_DB_OK ? "not_found" : "unavailable", "message",
                                   "no such meeting", "meeting_id", (json_int_t)j->meeting_id));
    } else if (s) {
        hub_meeting_activate(srv, s, j->meeting_id);
    }
    hub_replay_ended(srv, j->conn_id);
    free(j);
}

void mdt_hub_subscribe_meeting(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t meeting_id)
{
    hub_sub_t *old = hub_sub_of_conn(conn, 0, meeting_id, 0);
    if (old && hub_resubscribe(srv, old, -1))
        return;
    hub_sub_new(srv, conn, 0, meeting_id, 0, -1);
}

void mdt_hub_unsubscribe_meeting(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t meeting_id)
{
    hub_sub_t *s = hub_sub_of_conn(conn, 0, meeting_id, 0);
    if (s)
        mdt_hub_sub_remove(srv, s);
}

void mdt_hub_subscribe_user(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t since)
{
    int64_t me = mdt_ws_user(conn)->user_id;
    hub_sub_t *old = hub_sub_of_conn(conn, 0, 0, me);
    if (old && hub_resubscribe(srv, old, since))
        return;
    hub_sub_new(srv, conn, 0, 0, me, since);
}

void mdt_hub_unsubscribe_user(mdt_server_t *srv, mdt_ws_conn_t *conn)
{
    hub_sub_t *s = hub_sub_of_conn(conn, 0, 0, mdt_ws_user(conn)->user_id);
    if (s)
        mdt_hub_sub_remove(srv, s);
}
