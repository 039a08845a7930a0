/* hub_deliver.c - live fan-out in seq order: one representative principal
 * per view key (authz.h), events delivered in seq order even when rendered
 * out of order, buffering during a replay, and back-pressure (a bounded
 * backlog per subscription, resync beyond it). */
#include "hub_int.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

/* A reader that cannot keep up (or a frame that could not be made for
 * it): its queue is dropped, and every case it follows gets `resync` (it
 * reloads and subscribes again). Never a silent gap. */
void mdt_hub_resync_conn(mdt_server_t *srv, mdt_ws_conn_t *conn)
{
    mdt_ws_drop_queue(conn);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(mdt_ws_subs(conn)))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, conn_link);
        json_t *frame = json_pack("{s:s}", "type", "resync");
        if (frame)
            mdt_hub_topic_ref(s->hc, frame);
        mdt_ws_send_json(conn, frame);
        mdt_hub_sub_remove(srv, s);
    }
    lws_end_foreach_dll_safe(d, d1);
}

/* Whether len more bytes keep conn within its bound (held + queued). */
static int hub_fits(mdt_server_t *srv, mdt_ws_conn_t *conn, size_t len)
{
    size_t max = (size_t)srv->cfg.ws_max_bytes;
    return mdt_ws_hubstate(conn)->held + mdt_ws_queued_bytes(conn) + len <= max;
}

int mdt_hub_hold(mdt_server_t *srv, hub_sub_t *s, lws_dll2_owner_t *list, int64_t seq,
                 mdt_wsmsg_t *m)
{
    if (!m || (list == &s->backlog && s->backlog.count >= HUB_BACKLOG_MAX_FRAMES) ||
        !hub_fits(srv, s->conn, m->len))
        return -1;
    hub_buffered_t *b = calloc(1, sizeof(*b));
    if (!b)
        return -1;
    b->seq = seq;
    b->msg = m;
    m->refs++;
    s->held += m->len;
    mdt_ws_hubstate(s->conn)->held += m->len;
    lws_dll2_add_tail(&b->link, list);
    return 0;
}

void mdt_hub_release(hub_sub_t *s, hub_buffered_t *b)
{
    s->held -= b->msg->len;
    mdt_ws_hubstate(s->conn)->held -= b->msg->len;
    mdt_wsmsg_unref(b->msg);
    free(b);
}

/* Queues m on s's socket (behind its backlog, if any). On overflow (or a
 * frame that could not be made: m NULL) the socket is resynced and s is
 * freed: 0 sent, -1 s is gone. */
int mdt_hub_send(mdt_server_t *srv, hub_sub_t *s, mdt_wsmsg_t *m)
{
    int rc;
    if (s->backlog.count)
        rc = mdt_hub_hold(srv, s, &s->backlog, 0, m);
    else
        rc = m && hub_fits(srv, s->conn, m->len) ? mdt_ws_send(s->conn, m) : -1;
    if (rc == 0)
        return 0;
    mdt_hub_resync_conn(srv, s->conn);
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
            mdt_hub_release(s, b);
        }
    }
    lws_end_foreach_dll(d);
}

mdt_wsmsg_t *mdt_hub_msg(json_t *j)
{
    size_t len;
    char *txt = mdt_json_dump(j, &len);
    mdt_wsmsg_t *m = txt ? mdt_wsmsg_new(txt, len) : NULL;
    free(txt);
    return m;
}

/* The view key of a socket's principal: sockets with equal keys are given
 * the same frames. */
mdt_view_key_t mdt_hub_conn_key(mdt_ws_conn_t *conn)
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
    mdt_view_key_t key = mdt_hub_conn_key(conn);
    if (hub_shape_of(shapes, *n, key) || *n >= HUB_MAX_SHAPES)
        return;
    shapes[*n].key = key;
    shapes[(*n)++].p = mdt_ws_principal(conn);
}

/* Appends access.revoked for every category the key just lost. */
static void hub_lost_categories(hub_case_t *hc, hub_shape_t *sh, const mdt_feed_event_t *ev,
                                json_t *out)
{
    hub_mask_t *m = mdt_hub_mask(hc, sh->key);
    if (!m)
        return;
    unsigned lost = m->known ? m->mask & ~sh->mask : 0;
    for (int c = 0; c < MDT_PII_COUNT; c++) {
        if (lost & MDT_PII_BIT(c))
            json_array_append_new(out, mdt_hub_revoked(ev, "pii", hc->case_id,
                                                       mdt_authz_pii_cat_name((mdt_pii_cat_t)c)));
    }
    m->mask = sh->mask;
    m->known = 1;
}

/* Serializes each shape's messages once: a NULL-terminated array. */
static mdt_wsmsg_t **hub_shape_msgs(hub_case_t *hc, hub_shape_t *sh, const mdt_feed_event_t *ev)
{
    json_t *all = json_array();
    if (sh->case_gone)
        json_array_append_new(all, mdt_hub_revoked(ev, "case", hc->case_id, NULL));
    else
        hub_lost_categories(hc, sh, ev, all);
    json_array_extend(all, sh->msgs);
    size_t n = json_array_size(all);
    mdt_wsmsg_t **msgs = calloc(n + 1, sizeof(*msgs));
    for (size_t i = 0; msgs && i < n; i++) {
        if ((msgs[i] = mdt_hub_msg(json_array_get(all, i))) != NULL)
            continue;
        /* a frame could not be made: the shape's subscribers resync */
        for (size_t k = 0; k < i; k++)
            mdt_wsmsg_unref(msgs[k]);
        free(msgs);
        msgs = NULL;
    }
    json_decref(all);
    return msgs;
}

/* Delivers event h to one subscriber (sh: its shape, ms: the shape's
 * frames; NULL when they could not be made). A subscriber that needs the
 * event but cannot be given it resyncs. A queued subscriber (its replay
 * not started) needs nothing: its replay will reach past this seq. */
static void hub_deliver_sub(mdt_server_t *srv, hub_ev_t *h, hub_sub_t *s, hub_shape_t *sh,
                            mdt_wsmsg_t **ms)
{
    int64_t floor = s->active ? s->last_sent : s->replay_to;
    if (s->queued)
        return;
    if (!ms && h->ev.seq > floor) {
        /* no shape (more view keys than HUB_MAX_SHAPES) or no frames */
        mdt_hub_resync_conn(srv, s->conn);
        return;
    }
    for (int k = 0; ms && ms[k] && h->ev.seq > floor; k++) {
        if (!s->active ? mdt_hub_hold(srv, s, &s->pending, h->ev.seq, ms[k]) != 0
                       : mdt_hub_send(srv, s, ms[k]) != 0) {
            if (!s->active)
                mdt_hub_resync_conn(srv, s->conn);
            return; /* resynced: s is gone */
        }
    }
    if (sh && sh->case_gone && s->active)
        mdt_hub_sub_remove(srv, s);
    else if (s->active && h->ev.seq > s->last_sent)
        s->last_sent = h->ev.seq;
}

/* Delivers one rendered event to the case's subscribers. */
static void hub_deliver(mdt_server_t *srv, hub_ev_t *h)
{
    hub_case_t *hc = mdt_hub_topic_get(srv, h->ev.case_id, h->ev.meeting_id, h->ev.user_id, 0);
    if (!hc || h->failed)
        return;
    mdt_wsmsg_t **msgs[HUB_MAX_SHAPES] = {0};
    for (int i = 0; i < h->nshapes; i++)
        msgs[i] = hub_shape_msgs(hc, &h->shapes[i], &h->ev);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&hc->subs))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
        hub_shape_t *sh = hub_shape_of(h->shapes, h->nshapes, mdt_hub_conn_key(s->conn));
        hub_deliver_sub(srv, h, s, sh, sh ? msgs[sh - h->shapes] : NULL);
    }
    lws_end_foreach_dll_safe(d, d1);
    for (int i = 0; i < h->nshapes; i++) {
        for (int k = 0; msgs[i] && msgs[i][k]; k++)
            mdt_wsmsg_unref(msgs[i][k]);
        free(msgs[i]);
    }
    mdt_hub_expiry_schedule(hc, h->next_expiry);
}

void mdt_hub_ev_free(hub_ev_t *h)
{
    for (int i = 0; i < h->nshapes; i++)
        json_decref(h->shapes[i].msgs);
    json_decref(h->ev.data);
    free(h);
}

/* Delivers every ready event at the head of the pipeline. */
static void hub_drain(mdt_server_t *srv)
{
    struct mdt_hub *st = mdt_hub_of(srv);
    while (st->pipeline.head) {
        hub_ev_t *h = lws_container_of(st->pipeline.head, hub_ev_t, link);
        if (!h->ready)
            return;
        lws_dll2_remove(&h->link);
        hub_deliver(srv, h);
        mdt_hub_ev_free(h);
    }
}

/* h is rendered (status: how): ready to deliver in its turn. A failure
 * resyncs everyone on its topic: nothing may be skipped silently. */
static void hub_rendered(hub_ev_t *h, int status)
{
    h->ready = 1;
    if (status == MDT_DB_OK)
        return;
    h->failed = 1;
    mdt_log_warn("event render failed; subscribers resync", "seq=%lld status=%d",
                 (long long)h->ev.seq, status);
    hub_case_t *hc = mdt_hub_topic_get(h->srv, h->ev.case_id, h->ev.meeting_id, h->ev.user_id, 0);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, hc ? lws_dll2_get_head(&hc->subs) : NULL)
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
        mdt_hub_resync_conn(h->srv, s->conn);
    }
    lws_end_foreach_dll_safe(d, d1);
}

/* A render batch is back (status: the job's; each event's own is in it).
 * When the hub stopped meanwhile, its events are only freed. */
static void hub_batch_done(void *arg, int status)
{
    hub_batch_t *b = arg;
    mdt_server_t *srv = b->srv;
    for (int i = 0; i < b->n; i++) {
        if (srv->hub)
            hub_rendered(b->evs[i], status == MDT_DB_OK ? b->evs[i]->status : status);
        else
            mdt_hub_ev_free(b->evs[i]);
    }
    free(b);
    if (srv->hub)
        hub_drain(srv);
}

/* The size of the next batch of n unrendered events: spread over the live
 * connections when there are few, at most HUB_RENDER_BATCH. */
static int hub_batch_size(mdt_server_t *srv, int n)
{
    int conns = srv->cfg.db_live_conns > 0 ? srv->cfg.db_live_conns : 1;
    int size = (n + conns - 1) / conns;
    return size < 1 ? 1 : size > HUB_RENDER_BATCH ? HUB_RENDER_BATCH : size;
}

void mdt_hub_flush(mdt_server_t *srv)
{
    struct mdt_hub *st = mdt_hub_of(srv);
    if (!st)
        return;
    int size = hub_batch_size(srv, (int)st->unrendered.count);
    while (st->unrendered.head) {
        hub_ev_t *taken[HUB_RENDER_BATCH];
        int n = 0;
        for (; n < size && st->unrendered.head; n++) {
            taken[n] = lws_container_of(st->unrendered.head, hub_ev_t, batch_link);
            lws_dll2_remove(&taken[n]->batch_link);
        }
        hub_batch_t *b = calloc(1, sizeof(*b));
        if (b) {
            b->srv = srv;
            b->n = n;
            memcpy(b->evs, taken, (size_t)n * sizeof(taken[0]));
        }
        if (!b || mdt_db_submit_class(srv->db, MDT_DB_CLASS_LIVE, mdt_hub_render_batch_work,
                                      hub_batch_done, b) != 0) {
            /* refused (or no memory): these events fail, their subscribers resync */
            free(b);
            for (int i = 0; i < n; i++)
                hub_rendered(taken[i], MDT_DB_REFUSED);
        }
    }
    hub_drain(srv);
}

/* One representative principal per view key among the case's subscribers
 * (a subscriber beyond HUB_MAX_SHAPES keys gets nothing and is not lost:
 * it has no shape, so it is sent no frame for this event). */
int mdt_hub_collect_shapes(hub_case_t *hc, hub_shape_t *shapes, int *n)
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
    struct mdt_hub *st = mdt_hub_of(srv);
    int64_t user_id = ev->case_id || ev->meeting_id ? 0 : ev->user_id;
    hub_case_t *hc =
        st ? mdt_hub_topic_get(srv, ev->case_id, ev->case_id ? 0 : ev->meeting_id, user_id, 0)
           : NULL;
    if (!hc || hc->subs.count == 0)
        return;
    hub_ev_t *h = calloc(1, sizeof(*h));
    if (!h)
        return;
    h->srv = srv;
    h->ev = *ev;
    h->ev.user_id = user_id;
    h->ev.data = user_id ? json_incref(ev->data) : NULL; /* a read event's ids */
    if (h->ev.case_id)
        h->ev.meeting_id = 0; /* a case event goes to the case's subscribers */
    mdt_hub_collect_shapes(hc, h->shapes, &h->nshapes);
    lws_dll2_add_tail(&h->link, &st->pipeline);
    lws_dll2_add_tail(&h->batch_link, &st->unrendered);
}

/* Queues the replay, `subscribed`, then what was buffered meanwhile, all
 * through s's backlog so a replay longer than the socket's queue drains
 * into it as the client reads. 0 ok; -1 when it did not fit (resync). */
static int hub_activate_backlog(mdt_server_t *srv, hub_sub_t *s, hub_subjob_t *j)
{
    size_t i;
    json_t *m;
    int rc = 0;
    json_array_foreach(j->msgs, i, m)
    {
        mdt_wsmsg_t *w = mdt_hub_msg(m);
        rc = mdt_hub_hold(srv, s, &s->backlog, 0, w);
        if (w)
            mdt_wsmsg_unref(w);
        if (rc)
            return -1;
    }
    s->last_sent = j->since > s->replay_to ? j->since : s->replay_to;
    json_t *sub = json_pack("{s:s, s:I}", "type", j->user_id ? "subscribed_user" : "subscribed",
                            "seq", (json_int_t)s->last_sent);
    if (sub)
        mdt_hub_topic_ref(s->hc, sub);
    mdt_wsmsg_t *w = mdt_hub_msg(sub);
    json_decref(sub);
    rc = mdt_hub_hold(srv, s, &s->backlog, 0, w);
    if (w)
        mdt_wsmsg_unref(w);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&s->pending))
    {
        hub_buffered_t *b = lws_container_of(d, hub_buffered_t, link);
        lws_dll2_remove(d);
        /* moved (the bytes are released first so the move itself fits) */
        mdt_wsmsg_t *msg = b->msg;
        int64_t seq = b->seq;
        msg->refs++;
        mdt_hub_release(s, b);
        if (!rc && seq > s->last_sent && (rc = mdt_hub_hold(srv, s, &s->backlog, 0, msg)) == 0)
            s->last_sent = seq;
        mdt_wsmsg_unref(msg);
    }
    lws_end_foreach_dll_safe(d, d1);
    return rc;
}

void mdt_hub_activate(mdt_server_t *srv, hub_sub_t *s, hub_subjob_t *j)
{
    s->active = 1;
    if (hub_activate_backlog(srv, s, j) != 0) {
        mdt_hub_resync_conn(srv, s->conn);
        return;
    }
    hub_case_t *hc = s->hc;
    mdt_hub_refill(srv, s->conn);
    mdt_hub_presence_schedule(hc);
}
