/* hub.c - subscriptions, replay and ordered live fan-out (see hub.h). */
#include "hub.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casectx.h"
#include "content.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "meetings.h"
#include "server.h"
#include "session.h"
#include "ws.h"

#define HUB_MAX_SHAPES     32
#define HUB_REPLAY_MAX     5000
#define HUB_RETENTION_DAYS 30
/* A subscription's backlog (a long replay draining into the socket's
 * bounded queue) may hold this much; beyond it the client resyncs. */
#define HUB_BACKLOG_MAX_BYTES  (16u * 1024 * 1024)
#define HUB_BACKLOG_MAX_FRAMES (HUB_REPLAY_MAX + 1024)

/* One view key's view of the case, kept to notice categories it loses. */
typedef struct {
    mdt_view_key_t key;
    unsigned mask;
    int known;
} hub_mask_t;

typedef struct hub_case {
    int64_t case_id;
    int64_t meeting_id; /* a meeting's subscribers (case_id 0) */
    lws_dll2_owner_t subs;
    hub_mask_t masks[HUB_MAX_SHAPES];
    int nmasks;
    lws_sorted_usec_list_t expiry; /* next consent expiry */
    int64_t next_expiry;
    lws_sorted_usec_list_t presence;
    int presence_scheduled;
    mdt_server_t *srv;
} hub_case_t;

typedef struct hub_sub {
    lws_dll2_t case_link, conn_link;
    hub_case_t *hc;
    mdt_ws_conn_t *conn;
    uint64_t gen; /* for async lookups */
    int active;
    int64_t since, replay_to, last_sent;
    lws_dll2_owner_t pending; /* buffered live messages while replaying */
    lws_dll2_owner_t backlog; /* sent as the socket's queue drains (replay) */
    size_t backlog_bytes;
} hub_sub_t;

typedef struct {
    lws_dll2_t link;
    int64_t seq;
    mdt_wsmsg_t *msg;
} hub_buffered_t;

struct mdt_hub {
    mdt_hmap_t *cases;         /* "case_id" -> hub_case_t */
    lws_dll2_owner_t pipeline; /* hub_ev_t in seq order */
    uint64_t next_gen;
    mdt_server_t *srv;
    lws_sorted_usec_list_t gc; /* frees cases left without subscribers */
    int gc_scheduled;
};

/* A rendered shape: what the subscribers of one view key (authz.h) receive
 * for an event, rendered for one of them (p). */
typedef struct {
    mdt_view_key_t key;
    mdt_principal_t p;
    json_t *msgs;  /* messages (objects) to send, in order */
    unsigned mask; /* the key's PII mask after the event */
    int case_gone; /* the key lost the case */
} hub_shape_t;

typedef struct hub_ev {
    lws_dll2_t link;
    mdt_server_t *srv;
    mdt_feed_event_t ev; /* data not kept */
    hub_shape_t shapes[HUB_MAX_SHAPES];
    int nshapes;
    int ready, failed;
    int64_t next_expiry;
} hub_ev_t;

static struct mdt_hub *hub_of(mdt_server_t *srv)
{
    return srv->hub;
}

/* Cases are keyed "c<id>", meetings "m<id>". */
static void hub_key(int64_t case_id, int64_t meeting_id, char key[24])
{
    if (meeting_id)
        snprintf(key, 24, "m%lld", (long long)meeting_id);
    else
        snprintf(key, 24, "c%lld", (long long)case_id);
}

/* ---- rendering (database threads) ---- */

/* The object an event names, as p may see it now (new reference), or NULL:
 * through the kind's descriptor (content.h). */
static json_t *hub_object(mdt_dbc_t *c, const mdt_feed_event_t *ev, const mdt_principal_t *p,
                          const mdt_casectx_t *cx, int64_t now, const char *time_zone)
{
    const mdt_content_kind_t *k = mdt_content_find(ev->object_type);
    mdt_content_reader_t rd = {.p = p, .cx = cx, .now = now, .time_zone = time_zone};
    return k ? k->object_json(c, &rd, ev->object_id) : NULL;
}

static json_t *hub_event_msg(const mdt_feed_event_t *ev, const char *kind, json_t *data)
{
    return json_pack("{s:s, s:I, s:I, s:s, s:o}", "type", "event", "seq", (json_int_t)ev->seq,
                     "case_id", (json_int_t)ev->case_id, "kind", kind, "data", data);
}

static json_t *hub_revoked(const mdt_feed_event_t *ev, const char *entity, int64_t id,
                           const char *category)
{
    json_t *d = json_pack("{s:s, s:I}", "entity", entity, "id", (json_int_t)id);
    if (category)
        json_object_set_new(d, "category", json_string(category));
    return hub_event_msg(ev, "access.revoked", d);
}

/* Renders ev for one shape. Returns the db status. */
static int hub_render_shape(mdt_dbc_t *c, const mdt_feed_event_t *ev, const mdt_casectx_t *cx,
                            int64_t now, const char *time_zone, hub_shape_t *sh)
{
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    sh->msgs = json_array();
    if (!mdt_authz_case_visible(&sh->p, &view)) {
        sh->case_gone = 1;
        return MDT_DB_OK;
    }
    sh->mask = mdt_authz_pii_mask(&sh->p, &view, now);
    json_t *obj = hub_object(c, ev, &sh->p, cx, now, time_zone);
    if (obj) {
        json_array_append_new(sh->msgs, hub_event_msg(ev, ev->kind, obj));
        return MDT_DB_OK;
    }
    if (c->status != MDT_DB_OK && c->error[0])
        return c->status;
    int narrowing = strstr(ev->kind, ".updated") || strstr(ev->kind, ".retracted");
    if (narrowing && mdt_content_prev_visible(c, mdt_content_find(ev->object_type), &sh->p, &view,
                                              ev->object_id))
        json_array_append_new(sh->msgs, hub_revoked(ev, ev->object_type, ev->object_id, NULL));
    return MDT_DB_OK;
}

/* The earliest consent expiry after now in cx (0 if none). */
static int64_t hub_next_expiry(const mdt_casectx_t *cx, int64_t now)
{
    int64_t next = 0;
    for (size_t i = 0; i < cx->n_consents; i++) {
        int64_t e = cx->consents[i].expires_at;
        if (e > now && (!next || e < next))
            next = e;
    }
    return next;
}

/* Meeting events: the meeting is loaded once and rendered per shape
 * (nothing for a shape that may not see the meeting any more). */
static int hub_render_meeting(mdt_dbc_t *c, hub_ev_t *h)
{
    int status = MDT_DB_OK;
    mdt_meeting_t *m = mdt_meetings_load(c, h->ev.meeting_id, &status);
    if (!m && status != MDT_DB_NOT_FOUND && status != MDT_DB_OK)
        return status;
    for (int i = 0; i < h->nshapes; i++) {
        hub_shape_t *sh = &h->shapes[i];
        sh->msgs = json_array();
        json_t *data = m && mdt_meetings_visible(m, &sh->p) ? mdt_meetings_render(m, &sh->p) : NULL;
        if (data)
            json_array_append_new(sh->msgs, json_pack("{s:s, s:I, s:I, s:s, s:o}", "type", "event",
                                                      "seq", (json_int_t)h->ev.seq, "meeting_id",
                                                      (json_int_t)h->ev.meeting_id, "kind",
                                                      h->ev.kind, "data", data));
    }
    mdt_meetings_free(m);
    return MDT_DB_OK;
}

static int hub_render_work(mdt_dbc_t *c, void *arg)
{
    hub_ev_t *h = arg;
    if (!h->ev.case_id)
        return hub_render_meeting(c, h);
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    if (!cx)
        return MDT_DB_ERROR;
    int64_t now = mdt_session_now();
    int rc = mdt_db_begin(c, "repeatable read");
    if (rc == MDT_DB_OK)
        rc = mdt_casectx_load(c, h->ev.case_id, cx);
    for (int i = 0; rc == MDT_DB_OK && i < h->nshapes; i++)
        rc = hub_render_shape(c, &h->ev, cx, now, h->srv->cfg.time_zone, &h->shapes[i]);
    if (rc == MDT_DB_OK)
        h->next_expiry = hub_next_expiry(cx, now);
    free(cx);
    mdt_db_rollback(c);
    if (rc == MDT_DB_NOT_FOUND) { /* the case is gone: nobody sees anything */
        for (int i = 0; i < h->nshapes; i++)
            h->shapes[i].case_gone = 1;
        rc = MDT_DB_OK;
    }
    return rc;
}

/* ---- cases and subscriptions (loop) ---- */

static void hub_case_free(void *p)
{
    hub_case_t *hc = p;
    lws_sul_cancel(&hc->expiry);
    lws_sul_cancel(&hc->presence);
    free(hc);
}

static hub_case_t *hub_topic_get(mdt_server_t *srv, int64_t case_id, int64_t meeting_id, int create)
{
    char key[24];
    hub_key(case_id, meeting_id, key);
    hub_case_t *hc = mdt_hmap_get(hub_of(srv)->cases, key);
    if (hc || !create)
        return hc;
    if (!(hc = calloc(1, sizeof(*hc))))
        return NULL;
    hc->case_id = case_id;
    hc->meeting_id = meeting_id;
    hc->srv = srv;
    if (mdt_hmap_put(hub_of(srv)->cases, key, hc) != 0) {
        free(hc);
        return NULL;
    }
    return hc;
}

static hub_case_t *hub_case_get(mdt_server_t *srv, int64_t case_id, int create)
{
    return hub_topic_get(srv, case_id, 0, create);
}

static hub_mask_t *hub_mask(hub_case_t *hc, mdt_view_key_t key)
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

static void hub_presence_schedule(hub_case_t *hc);

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

static void hub_list_free(lws_dll2_owner_t *list)
{
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(list))
    {
        hub_buffered_t *b = lws_container_of(d, hub_buffered_t, link);
        lws_dll2_remove(d);
        mdt_wsmsg_unref(b->msg);
        free(b);
    }
    lws_end_foreach_dll_safe(d, d1);
}

static void hub_sub_free(hub_sub_t *s)
{
    hub_list_free(&s->pending);
    hub_list_free(&s->backlog);
    free(s);
}

/* Removes s; drops its case when nobody is left. */
static void hub_sub_remove(mdt_server_t *srv, hub_sub_t *s)
{
    hub_case_t *hc = s->hc;
    lws_dll2_remove(&s->case_link);
    lws_dll2_remove(&s->conn_link);
    hub_sub_free(s);
    if (hc->subs.count > 0) {
        hub_presence_schedule(hc);
        return;
    }
    /* freed later, never under a caller that is walking the case */
    struct mdt_hub *h = hub_of(srv);
    if (!h->gc_scheduled && srv->ctx) {
        h->gc_scheduled = 1;
        lws_sul_schedule(srv->ctx, 0, &h->gc, hub_gc, 1);
    }
}

static hub_sub_t *hub_sub_of_conn(mdt_ws_conn_t *conn, int64_t case_id, int64_t meeting_id)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, conn_link);
        if (s->hc->case_id == case_id && s->hc->meeting_id == meeting_id)
            return s;
    }
    lws_end_foreach_dll(d);
    return NULL;
}

static hub_sub_t *hub_sub_by_gen(mdt_server_t *srv, int64_t case_id, int64_t meeting_id,
                                 uint64_t gen)
{
    hub_case_t *hc = hub_topic_get(srv, case_id, meeting_id, 0);
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

/* A reader that cannot keep up: its queue is dropped, and every case it
 * follows gets `resync` (it reloads and subscribes again). */
static void hub_resync_conn(mdt_server_t *srv, mdt_ws_conn_t *conn)
{
    mdt_ws_drop_queue(conn);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, conn_link);
        mdt_ws_send_json(
            conn, json_pack("{s:s, s:I}", "type", "resync", "case_id", (json_int_t)s->hc->case_id));
        hub_sub_remove(srv, s);
    }
    lws_end_foreach_dll_safe(d, d1);
}

static int hub_backlog_add(hub_sub_t *s, mdt_wsmsg_t *m)
{
    if (s->backlog.count >= HUB_BACKLOG_MAX_FRAMES ||
        s->backlog_bytes + m->len > HUB_BACKLOG_MAX_BYTES)
        return -1;
    hub_buffered_t *b = calloc(1, sizeof(*b));
    if (!b)
        return -1;
    b->msg = m;
    m->refs++;
    s->backlog_bytes += m->len;
    lws_dll2_add_tail(&b->link, &s->backlog);
    return 0;
}

/* Queues m on s's socket (behind its backlog, if any). On overflow the
 * socket is resynced and s is freed: 0 sent, -1 s is gone. */
static int hub_send(mdt_server_t *srv, hub_sub_t *s, mdt_wsmsg_t *m)
{
    if (s->backlog.count ? hub_backlog_add(s, m) == 0 : mdt_ws_send(s->conn, m) == 0)
        return 0;
    hub_resync_conn(srv, s->conn);
    return -1;
}

void mdt_hub_refill(mdt_server_t *srv, mdt_ws_conn_t *conn)
{
    (void)srv;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, conn_link);
        while (s->backlog.head) {
            hub_buffered_t *b = lws_container_of(s->backlog.head, hub_buffered_t, link);
            if (mdt_ws_send(conn, b->msg) != 0)
                return; /* the queue is full again: more on the next drain */
            lws_dll2_remove(&b->link);
            s->backlog_bytes -= b->msg->len;
            mdt_wsmsg_unref(b->msg);
            free(b);
        }
    }
    lws_end_foreach_dll(d);
}

static mdt_wsmsg_t *hub_msg(json_t *j)
{
    size_t len;
    char *txt = mdt_json_dump(j, &len);
    mdt_wsmsg_t *m = txt ? mdt_wsmsg_new(txt, len) : NULL;
    free(txt);
    return m;
}

/* ---- presence ---- */

static void hub_presence_fire(lws_sorted_usec_list_t *sul)
{
    hub_case_t *hc = lws_container_of(sul, hub_case_t, presence);
    hc->presence_scheduled = 0;
    json_t *users = json_array();
    int64_t seen[MDT_HUB_PRESENCE_CAP];
    int count = 0, n = 0;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&hc->subs))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
        const mdt_user_t *u = mdt_ws_user(s->conn);
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = seen[i] == u->user_id;
        if (s->active && !dup) {
            count++;
            if (n < MDT_HUB_PRESENCE_CAP) {
                seen[n++] = u->user_id;
                json_array_append_new(users,
                                      json_pack("{s:I, s:s, s:I}", "id", (json_int_t)u->user_id,
                                                "display_name", u->display_name, "agency_id",
                                                (json_int_t)u->agency_id));
            }
        }
    }
    lws_end_foreach_dll(d);
    json_t *frame = json_pack("{s:s, s:I, s:i, s:o}", "type", "presence", "case_id",
                              (json_int_t)hc->case_id, "count", count, "users", users);
    mdt_wsmsg_t *m = frame ? hub_msg(frame) : NULL;
    json_decref(frame);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&hc->subs))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
        if (m && s->active)
            hub_send(hc->srv, s, m);
    }
    lws_end_foreach_dll_safe(d, d1);
    mdt_wsmsg_unref(m);
}

/* At most once a second per case. */
static void hub_presence_schedule(hub_case_t *hc)
{
    if (hc->presence_scheduled || !hc->srv->ctx)
        return;
    hc->presence_scheduled = 1;
    lws_sul_schedule(hc->srv->ctx, 0, &hc->presence, hub_presence_fire, LWS_US_PER_SEC);
}

/* ---- live fan-out, in seq order ---- */

static void hub_expiry_schedule(hub_case_t *hc, int64_t next_expiry);

/* The view key of a socket's principal: sockets with equal keys are given
 * the same frames. */
static mdt_view_key_t hub_conn_key(mdt_ws_conn_t *conn)
{
    mdt_principal_t p = mdt_ws_principal(conn);
    return mdt_authz_view_key(&p);
}

/* The shape for a view key among shapes[0..n), or NULL. */
static hub_shape_t *hub_shape_of(hub_shape_t *shapes, int n, mdt_view_key_t key)
{
    for (int i = 0; i < n; i++) {
        if (mdt_authz_view_key_eq(shapes[i].key, key))
            return &shapes[i];
    }
    return NULL;
}

/* Adds conn's principal as the representative of its view key, unless the
 * key has one already or the shapes are full. */
static void hub_shape_add(hub_shape_t *shapes, int *n, mdt_ws_conn_t *conn)
{
    mdt_view_key_t key = hub_conn_key(conn);
    if (hub_shape_of(shapes, *n, key) || *n >= HUB_MAX_SHAPES)
        return;
    shapes[*n].key = key;
    shapes[(*n)++].p = mdt_ws_principal(conn);
}

/* Appends access.revoked for every category the key just lost. */
static void hub_lost_categories(hub_case_t *hc, hub_shape_t *sh, const mdt_feed_event_t *ev,
                                json_t *out)
{
    hub_mask_t *m = hub_mask(hc, sh->key);
    if (!m)
        return;
    unsigned lost = m->known ? m->mask & ~sh->mask : 0;
    for (int c = 0; c < MDT_PII_COUNT; c++) {
        if (lost & MDT_PII_BIT(c))
            json_array_append_new(
                out, hub_revoked(ev, "pii", hc->case_id, mdt_authz_pii_cat_name((mdt_pii_cat_t)c)));
    }
    m->mask = sh->mask;
    m->known = 1;
}

/* Serializes each shape's messages once: a NULL-terminated array. */
static mdt_wsmsg_t **hub_shape_msgs(hub_case_t *hc, hub_shape_t *sh, const mdt_feed_event_t *ev)
{
    json_t *all = json_array();
    if (sh->case_gone)
        json_array_append_new(all, hub_revoked(ev, "case", hc->case_id, NULL));
    else
        hub_lost_categories(hc, sh, ev, all);
    json_array_extend(all, sh->msgs);
    size_t n = json_array_size(all);
    mdt_wsmsg_t **msgs = calloc(n + 1, sizeof(*msgs));
    for (size_t i = 0; msgs && i < n; i++)
        msgs[i] = hub_msg(json_array_get(all, i));
    json_decref(all);
    return msgs;
}

static void hub_buffer(hub_sub_t *s, int64_t seq, mdt_wsmsg_t *m)
{
    hub_buffered_t *b = malloc(sizeof(*b));
    if (!b)
        return;
    memset(&b->link, 0, sizeof(b->link));
    b->seq = seq;
    b->msg = m;
    m->refs++;
    lws_dll2_add_tail(&b->link, &s->pending);
}

/* Delivers event h to one subscriber (ms: its shape's frames, or NULL). */
static void hub_deliver_sub(mdt_server_t *srv, hub_ev_t *h, hub_sub_t *s, hub_shape_t *sh,
                            mdt_wsmsg_t **ms)
{
    int64_t floor = s->active ? s->last_sent : s->replay_to;
    for (int k = 0; ms && ms[k] && h->ev.seq > floor; k++) {
        if (!s->active)
            hub_buffer(s, h->ev.seq, ms[k]);
        else if (hub_send(srv, s, ms[k]) != 0)
            return; /* resynced: s is gone */
    }
    if (sh && sh->case_gone && s->active)
        hub_sub_remove(srv, s);
    else if (s->active && ms && h->ev.seq > s->last_sent)
        s->last_sent = h->ev.seq;
}

/* Delivers one rendered event to the case's subscribers. */
static void hub_deliver(mdt_server_t *srv, hub_ev_t *h)
{
    hub_case_t *hc = hub_topic_get(srv, h->ev.case_id, h->ev.meeting_id, 0);
    if (!hc || h->failed)
        return;
    mdt_wsmsg_t **msgs[HUB_MAX_SHAPES] = {0};
    for (int i = 0; i < h->nshapes; i++)
        msgs[i] = hub_shape_msgs(hc, &h->shapes[i], &h->ev);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&hc->subs))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
        hub_shape_t *sh = hub_shape_of(h->shapes, h->nshapes, hub_conn_key(s->conn));
        hub_deliver_sub(srv, h, s, sh, sh ? msgs[sh - h->shapes] : NULL);
    }
    lws_end_foreach_dll_safe(d, d1);
    for (int i = 0; i < h->nshapes; i++) {
        for (int k = 0; msgs[i] && msgs[i][k]; k++)
            mdt_wsmsg_unref(msgs[i][k]);
        free(msgs[i]);
    }
    hub_expiry_schedule(hc, h->next_expiry);
}

static void hub_ev_free(hub_ev_t *h)
{
    for (int i = 0; i < h->nshapes; i++)
        json_decref(h->shapes[i].msgs);
    free(h);
}

/* Delivers every ready event at the head of the pipeline. */
static void hub_drain(mdt_server_t *srv)
{
    struct mdt_hub *st = hub_of(srv);
    while (st->pipeline.head) {
        hub_ev_t *h = lws_container_of(st->pipeline.head, hub_ev_t, link);
        if (!h->ready)
            return;
        lws_dll2_remove(&h->link);
        hub_deliver(srv, h);
        hub_ev_free(h);
    }
}

static void hub_render_done(void *arg, int status)
{
    hub_ev_t *h = arg;
    h->ready = 1;
    if (status != MDT_DB_OK) {
        /* nothing may be skipped silently: everyone on the case resyncs */
        h->failed = 1;
        mdt_log_warn("event render failed; subscribers resync", "seq=%lld", (long long)h->ev.seq);
        hub_case_t *hc =
            h->srv->hub ? hub_topic_get(h->srv, h->ev.case_id, h->ev.meeting_id, 0) : NULL;
        lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1,
                                   hc ? lws_dll2_get_head(&hc->subs) : NULL)
        {
            hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
            hub_resync_conn(h->srv, s->conn);
        }
        lws_end_foreach_dll_safe(d, d1);
    }
    if (h->srv->hub)
        hub_drain(h->srv);
    else
        hub_ev_free(h);
}

/* One representative principal per view key among the case's subscribers
 * (a subscriber beyond HUB_MAX_SHAPES keys gets nothing and is not lost:
 * it has no shape, so it is sent no frame for this event). */
static int hub_collect_shapes(hub_case_t *hc, hub_shape_t *shapes, int *n)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&hc->subs))
    {
        hub_shape_add(shapes, n, lws_container_of(d, hub_sub_t, case_link)->conn);
    }
    lws_end_foreach_dll(d);
    return *n;
}

void mdt_hub_on_event(mdt_server_t *srv, const mdt_feed_event_t *ev)
{
    struct mdt_hub *st = hub_of(srv);
    hub_case_t *hc =
        st ? hub_topic_get(srv, ev->case_id, ev->case_id ? 0 : ev->meeting_id, 0) : NULL;
    if (!hc || hc->subs.count == 0)
        return;
    hub_ev_t *h = calloc(1, sizeof(*h));
    if (!h)
        return;
    h->srv = srv;
    h->ev = *ev;
    h->ev.data = NULL;
    if (h->ev.case_id)
        h->ev.meeting_id = 0; /* a case event goes to the case's subscribers */
    hub_collect_shapes(hc, h->shapes, &h->nshapes);
    lws_dll2_add_tail(&h->link, &st->pipeline);
    if (mdt_db_submit(srv->db, hub_render_work, hub_render_done, h) != 0)
        hub_render_done(h, MDT_DB_REFUSED);
}

/* ---- subscribing and replay ---- */

typedef struct {
    mdt_server_t *srv;
    int64_t case_id;
    uint64_t gen;
    mdt_principal_t p;
    int64_t since, replay_to;
    /* results */
    int resync;
    json_t *msgs; /* replayed messages in order */
    unsigned mask;
    int64_t next_expiry;
} hub_subjob_t;

/* Loads and renders the case's events in (since, replay_to] for p. */
static int hub_replay(mdt_dbc_t *c, hub_subjob_t *j, const mdt_casectx_t *cx, int64_t now)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, j->case_id);
    mdt_db_param_int(&prm, j->since);
    mdt_db_param_int(&prm, j->replay_to);
    mdt_db_param_int(&prm, HUB_REPLAY_MAX + 1);
    PGresult *r = mdt_db_query(c,
                               "SELECT seq, kind, object_type, object_id FROM events"
                               " WHERE case_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq"
                               " LIMIT $4",
                               &prm);
    if (!r)
        return c->status;
    int n = PQntuples(r);
    j->resync = n > HUB_REPLAY_MAX;
    for (int i = 0; i < n && !j->resync; i++) {
        mdt_feed_event_t ev = {.seq = mdt_db_int(r, i, 0), .case_id = j->case_id};
        snprintf(ev.kind, sizeof(ev.kind), "%s", mdt_db_str(r, i, 1));
        snprintf(ev.object_type, sizeof(ev.object_type), "%s", mdt_db_str(r, i, 2));
        ev.object_id = mdt_db_int(r, i, 3);
        hub_shape_t sh = {.p = j->p};
        int rc = hub_render_shape(c, &ev, cx, now, j->srv->cfg.time_zone, &sh);
        if (rc == MDT_DB_OK)
            json_array_extend(j->msgs, sh.msgs);
        json_decref(sh.msgs);
        if (rc != MDT_DB_OK) {
            PQclear(r);
            return rc;
        }
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* `since` older than what the log still holds → the client must reload. */
static int hub_since_retained(mdt_dbc_t *c, hub_subjob_t *j, int *retained)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, j->since);
    mdt_db_param_int(&prm, HUB_RETENTION_DAYS);
    PGresult *r = mdt_db_query(
        c,
        "SELECT $1::bigint >= coalesce((SELECT min(seq) - 1 FROM events), 0) AND"
        " coalesce((SELECT created_at > now() - make_interval(days => $2::int) FROM events"
        " WHERE seq = $1::bigint + 1), true)",
        &prm);
    if (!r)
        return c->status;
    *retained = mdt_db_bool(r, 0, 0);
    PQclear(r);
    return MDT_DB_OK;
}

static int hub_subscribe_work(mdt_dbc_t *c, void *arg)
{
    hub_subjob_t *j = arg;
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    if (!cx || !(j->msgs = json_array())) {
        free(cx);
        return MDT_DB_ERROR;
    }
    int64_t now = mdt_session_now();
    int rc = mdt_db_begin(c, "repeatable read"), retained = 1;
    if (rc == MDT_DB_OK)
        rc = mdt_casectx_load(c, j->case_id, cx);
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    if (rc == MDT_DB_OK && !mdt_authz_case_visible(&j->p, &view))
        rc = MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK) {
        j->mask = mdt_authz_pii_mask(&j->p, &view, now);
        j->next_expiry = hub_next_expiry(cx, now);
    }
    if (rc == MDT_DB_OK && j->since >= 0)
        rc = hub_since_retained(c, j, &retained);
    j->resync = !retained;
    if (rc == MDT_DB_OK && j->since >= 0 && retained && j->since < j->replay_to)
        rc = hub_replay(c, j, cx, now);
    free(cx);
    mdt_db_rollback(c);
    return rc;
}

/* Queues the replay, `subscribed`, then what was buffered meanwhile, all
 * through s's backlog so a replay longer than the socket's queue drains
 * into it as the client reads. 0 ok; -1 when it did not fit (resync). */
static int hub_activate_backlog(hub_sub_t *s, hub_subjob_t *j)
{
    size_t i;
    json_t *m;
    int rc = 0;
    json_array_foreach(j->msgs, i, m)
    {
        mdt_wsmsg_t *w = hub_msg(m);
        rc = w ? hub_backlog_add(s, w) : -1;
        mdt_wsmsg_unref(w);
        if (rc)
            return -1;
    }
    s->last_sent = j->since > s->replay_to ? j->since : s->replay_to;
    json_t *sub = json_pack("{s:s, s:I, s:I}", "type", "subscribed", "case_id",
                            (json_int_t)j->case_id, "seq", (json_int_t)s->last_sent);
    mdt_wsmsg_t *w = hub_msg(sub);
    json_decref(sub);
    rc = w ? hub_backlog_add(s, w) : -1;
    mdt_wsmsg_unref(w);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&s->pending))
    {
        hub_buffered_t *b = lws_container_of(d, hub_buffered_t, link);
        if (!rc && b->seq > s->last_sent && (rc = hub_backlog_add(s, b->msg)) == 0)
            s->last_sent = b->seq;
        lws_dll2_remove(d);
        mdt_wsmsg_unref(b->msg);
        free(b);
    }
    lws_end_foreach_dll_safe(d, d1);
    return rc;
}

static void hub_activate(mdt_server_t *srv, hub_sub_t *s, hub_subjob_t *j)
{
    s->active = 1;
    if (hub_activate_backlog(s, j) != 0) {
        hub_resync_conn(srv, s->conn);
        return;
    }
    hub_case_t *hc = s->hc;
    mdt_hub_refill(srv, s->conn);
    hub_presence_schedule(hc);
}

static void hub_subscribe_done(void *arg, int status)
{
    hub_subjob_t *j = arg;
    mdt_server_t *srv = j->srv;
    hub_sub_t *s = srv->hub ? hub_sub_by_gen(srv, j->case_id, 0, j->gen) : NULL;
    if (s && (status != MDT_DB_OK || j->resync)) {
        mdt_ws_conn_t *conn = s->conn;
        hub_sub_remove(srv, s);
        if (status == MDT_DB_NOT_FOUND)
            mdt_ws_send_json(conn, json_pack("{s:s, s:s, s:s, s:I}", "type", "error", "code",
                                             "not_found", "message", "no such case", "case_id",
                                             (json_int_t)j->case_id));
        else
            mdt_ws_send_json(
                conn, json_pack("{s:s, s:I}", "type", "resync", "case_id", (json_int_t)j->case_id));
    } else if (s) {
        mdt_view_key_t key = mdt_authz_view_key(&j->p);
        hub_mask_t *m = hub_mask(s->hc, key);
        if (m && !m->known)
            *m = (hub_mask_t){key, j->mask, 1};
        hub_expiry_schedule(s->hc, j->next_expiry);
        hub_activate(srv, s, j);
    }
    json_decref(j->msgs);
    free(j);
}

void mdt_hub_subscribe(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t case_id, int64_t since)
{
    hub_sub_t *old = hub_sub_of_conn(conn, case_id, 0);
    if (old)
        hub_sub_remove(srv, old);
    if (mdt_ws_subs(conn)->count >= MDT_HUB_MAX_SUBS_PER_SOCKET) {
        mdt_ws_send_json(conn, json_pack("{s:s, s:s, s:s}", "type", "error", "code",
                                         "too_many_subscriptions", "message",
                                         "at most 64 subscriptions per socket"));
        return;
    }
    hub_case_t *hc = hub_case_get(srv, case_id, 1);
    hub_sub_t *s = hc ? calloc(1, sizeof(*s)) : NULL;
    hub_subjob_t *j = s ? calloc(1, sizeof(*j)) : NULL;
    if (!j) {
        free(s);
        mdt_ws_send_json(conn, json_pack("{s:s, s:s, s:s}", "type", "error", "code", "unavailable",
                                         "message", "out of memory"));
        return;
    }
    s->hc = hc;
    s->conn = conn;
    s->gen = ++hub_of(srv)->next_gen;
    s->since = since;
    s->replay_to = mdt_feed_last(srv);
    lws_dll2_add_tail(&s->case_link, &hc->subs);
    lws_dll2_add_tail(&s->conn_link, mdt_ws_subs(conn));
    *j = (hub_subjob_t){.srv = srv,
                        .case_id = case_id,
                        .gen = s->gen,
                        .p = mdt_ws_principal(conn),
                        .since = since,
                        .replay_to = s->replay_to};
    if (mdt_db_submit(srv->db, hub_subscribe_work, hub_subscribe_done, j) != 0)
        hub_subscribe_done(j, MDT_DB_REFUSED);
}

void mdt_hub_unsubscribe(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t case_id)
{
    hub_sub_t *s = hub_sub_of_conn(conn, case_id, 0);
    if (s)
        hub_sub_remove(srv, s);
}

void mdt_hub_conn_closed(mdt_server_t *srv, mdt_ws_conn_t *conn)
{
    if (!srv->hub)
        return;
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        hub_sub_remove(srv, lws_container_of(d, hub_sub_t, conn_link));
    }
    lws_end_foreach_dll_safe(d, d1);
}

/* ---- consents that expire ---- */

typedef struct {
    mdt_server_t *srv;
    int64_t case_id;
    hub_shape_t shapes[HUB_MAX_SHAPES];
    int nshapes;
    int64_t next_expiry;
} hub_expjob_t;

static int hub_expiry_work(mdt_dbc_t *c, void *arg)
{
    hub_expjob_t *x = arg;
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    if (!cx)
        return MDT_DB_ERROR;
    int64_t now = mdt_session_now();
    int rc = mdt_casectx_load(c, x->case_id, cx);
    if (rc == MDT_DB_OK) {
        mdt_case_ctx_t view = mdt_casectx_view(cx);
        for (int i = 0; i < x->nshapes; i++)
            x->shapes[i].mask = mdt_authz_pii_mask(&x->shapes[i].p, &view, now);
        x->next_expiry = hub_next_expiry(cx, now);
    }
    free(cx);
    return rc;
}

/* Sends sub s the categories its view key lost (shape sh) at an expiry. */
static void hub_expiry_sub(mdt_server_t *srv, hub_case_t *hc, hub_sub_t *s, const hub_shape_t *sh)
{
    mdt_feed_event_t ev = {.seq = s->last_sent, .case_id = hc->case_id};
    hub_mask_t *m = hub_mask(hc, sh->key);
    unsigned lost = m && m->known ? m->mask & ~sh->mask : 0;
    for (int cat = 0; cat < MDT_PII_COUNT; cat++) {
        if (!(lost & MDT_PII_BIT(cat)))
            continue;
        json_t *one =
            hub_revoked(&ev, "pii", hc->case_id, mdt_authz_pii_cat_name((mdt_pii_cat_t)cat));
        mdt_wsmsg_t *w = hub_msg(one);
        json_decref(one);
        int rc = w ? hub_send(srv, s, w) : 0;
        mdt_wsmsg_unref(w);
        if (rc)
            return; /* resynced: s is gone */
    }
}

static void hub_expiry_done(void *arg, int status)
{
    hub_expjob_t *x = arg;
    hub_case_t *hc = x->srv->hub ? hub_case_get(x->srv, x->case_id, 0) : NULL;
    for (int i = 0; hc && status == MDT_DB_OK && i < x->nshapes; i++) {
        hub_shape_t *sh = &x->shapes[i];
        lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&hc->subs))
        {
            hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
            if (s->active && mdt_authz_view_key_eq(hub_conn_key(s->conn), sh->key))
                hub_expiry_sub(x->srv, hc, s, sh);
        }
        lws_end_foreach_dll_safe(d, d1);
        hub_mask_t *m = hub_mask(hc, sh->key);
        if (m)
            *m = (hub_mask_t){sh->key, sh->mask, 1};
    }
    if (hc)
        hub_expiry_schedule(hc, status == MDT_DB_OK ? x->next_expiry : mdt_session_now() + 1);
    free(x);
}

static void hub_expiry_fire(lws_sorted_usec_list_t *sul)
{
    hub_case_t *hc = lws_container_of(sul, hub_case_t, expiry);
    hc->next_expiry = 0;
    hub_expjob_t *x = calloc(1, sizeof(*x));
    if (!x)
        return;
    x->srv = hc->srv;
    x->case_id = hc->case_id;
    hub_collect_shapes(hc, x->shapes, &x->nshapes);
    if (mdt_db_submit(hc->srv->db, hub_expiry_work, hub_expiry_done, x) != 0)
        hub_expiry_done(x, MDT_DB_REFUSED);
}

/* Arms the case's timer for the earliest consent expiry (unix seconds). */
static void hub_expiry_schedule(hub_case_t *hc, int64_t next_expiry)
{
    if (!hc->srv->ctx || next_expiry <= 0 || (hc->next_expiry && hc->next_expiry <= next_expiry))
        return;
    hc->next_expiry = next_expiry;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_us = (int64_t)ts.tv_sec * LWS_US_PER_SEC + ts.tv_nsec / 1000;
    int64_t delay = next_expiry * LWS_US_PER_SEC - now_us + 20 * LWS_US_PER_MS;
    lws_sul_schedule(hc->srv->ctx, 0, &hc->expiry, hub_expiry_fire,
                     delay > 0 ? (lws_usec_t)delay : 1);
}

/* ---- lifetime ---- */

int mdt_hub_start(mdt_server_t *srv)
{
    struct mdt_hub *st = calloc(1, sizeof(*st));
    if (!st || !(st->cases = mdt_hmap_new(hub_case_free))) {
        free(st);
        return -1;
    }
    st->srv = srv;
    srv->hub = st;
    return 0;
}

void mdt_hub_stop(mdt_server_t *srv)
{
    struct mdt_hub *st = hub_of(srv);
    if (st)
        lws_sul_cancel(&st->gc);
}

void mdt_hub_free(mdt_server_t *srv)
{
    struct mdt_hub *st = hub_of(srv);
    if (!st)
        return;
    srv->hub = NULL;
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&st->pipeline))
    {
        hub_ev_t *h = lws_container_of(d, hub_ev_t, link);
        lws_dll2_remove(d);
        if (h->ready)
            hub_ev_free(h);
        /* not ready: its render job frees it when it returns (srv->hub NULL) */
    }
    lws_end_foreach_dll_safe(d, d1);
    mdt_hmap_free(st->cases);
    free(st);
}

/* ---- meetings ---- */

typedef struct {
    mdt_server_t *srv;
    int64_t meeting_id;
    uint64_t gen;
    mdt_principal_t p;
    int visible;
} hub_meetjob_t;

static int hub_meeting_work(mdt_dbc_t *c, void *arg)
{
    hub_meetjob_t *j = arg;
    json_t *m = mdt_meetings_json(c, &j->p, j->meeting_id);
    j->visible = m != NULL;
    json_decref(m);
    return m || c->status == MDT_DB_OK ? MDT_DB_OK : c->status;
}

static void hub_meeting_done(void *arg, int status)
{
    hub_meetjob_t *j = arg;
    mdt_server_t *srv = j->srv;
    hub_sub_t *s = srv->hub ? hub_sub_by_gen(srv, 0, j->meeting_id, j->gen) : NULL;
    if (s && (status != MDT_DB_OK || !j->visible)) {
        mdt_ws_conn_t *conn = s->conn;
        hub_sub_remove(srv, s);
        mdt_ws_send_json(conn,
                         json_pack("{s:s, s:s, s:s, s:I}", "type", "error", "code",
                                   status == MDT_DB_OK ? "not_found" : "unavailable", "message",
                                   "no such meeting", "meeting_id", (json_int_t)j->meeting_id));
    } else if (s) {
        s->active = 1;
        s->last_sent = s->replay_to;
        lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&s->pending))
        {
            hub_buffered_t *b = lws_container_of(d, hub_buffered_t, link);
            lws_dll2_remove(d);
            if (b->seq > s->last_sent && mdt_ws_send(s->conn, b->msg) == 0)
                s->last_sent = b->seq;
            mdt_wsmsg_unref(b->msg);
            free(b);
        }
        lws_end_foreach_dll_safe(d, d1);
        mdt_ws_send_json(s->conn,
                         json_pack("{s:s, s:I, s:I}", "type", "subscribed", "meeting_id",
                                   (json_int_t)j->meeting_id, "seq", (json_int_t)s->last_sent));
    }
    free(j);
}

void mdt_hub_subscribe_meeting(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t meeting_id)
{
    hub_sub_t *old = hub_sub_of_conn(conn, 0, meeting_id);
    if (old)
        hub_sub_remove(srv, old);
    if (mdt_ws_subs(conn)->count >= MDT_HUB_MAX_SUBS_PER_SOCKET) {
        mdt_ws_send_json(conn, json_pack("{s:s, s:s, s:s}", "type", "error", "code",
                                         "too_many_subscriptions", "message",
                                         "at most 64 subscriptions per socket"));
        return;
    }
    hub_case_t *hc = hub_topic_get(srv, 0, meeting_id, 1);
    hub_sub_t *s = hc ? calloc(1, sizeof(*s)) : NULL;
    hub_meetjob_t *j = s ? calloc(1, sizeof(*j)) : NULL;
    if (!j) {
        free(s);
        return;
    }
    s->hc = hc;
    s->conn = conn;
    s->gen = ++hub_of(srv)->next_gen;
    s->since = -1;
    s->replay_to = mdt_feed_last(srv);
    lws_dll2_add_tail(&s->case_link, &hc->subs);
    lws_dll2_add_tail(&s->conn_link, mdt_ws_subs(conn));
    *j = (hub_meetjob_t){srv, meeting_id, s->gen, mdt_ws_principal(conn), 0};
    if (mdt_db_submit(srv->db, hub_meeting_work, hub_meeting_done, j) != 0)
        hub_meeting_done(j, MDT_DB_REFUSED);
}

void mdt_hub_unsubscribe_meeting(mdt_server_t *srv, mdt_ws_conn_t *conn, int64_t meeting_id)
{
    hub_sub_t *s = hub_sub_of_conn(conn, 0, meeting_id);
    if (s)
        hub_sub_remove(srv, s);
}
