/* feed.c - loading and dispatching events in seq order (see feed.h). */
#include "feed.h"

#include <stdlib.h>
#include <string.h>

#include "boardcache.h"
#include "db.h"
#include "log.h"
#include "server_ctx.h"
#include "session.h"
#include "hub.h"
#include "keyring.h"
#include "ws.h"

#define FEED_BATCH        1000
#define FEED_RETRY_MIN_MS 100
#define FEED_RETRY_MAX_MS 5000

struct mdt_feed {
    int64_t last;   /* highest seq dispatched */
    int64_t target; /* highest seq known to exist */
    int loading, started, again;
    mdt_server_t *srv;
    lws_sorted_usec_list_t retry; /* scheduled after a failed load */
    int retry_ms;                 /* the next retry's delay; 0 while loads succeed */
    uint64_t failures;            /* failed loads, for /metrics */
};

typedef struct {
    mdt_server_t *srv;
    int64_t after;
    mdt_feed_event_t *evs;
    int n;
    int init; /* first load: only learn the current seq */
} feed_load_t;

int64_t mdt_feed_last(const mdt_server_t *srv)
{
    return srv->feed ? srv->feed->last : 0;
}

static int feed_load_work(mdt_dbc_t *c, void *arg)
{
    feed_load_t *f = arg;
    if (f->init) {
        PGresult *r = mdt_db_query(c, "SELECT seq FROM ledger", NULL);
        if (!r)
            return c->status;
        f->after = mdt_db_int(r, 0, 0);
        PQclear(r);
        return MDT_DB_OK;
    }
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, f->after);
    mdt_db_param_int(&p, FEED_BATCH);
    PGresult *r = mdt_db_query(c,
                               "SELECT seq, case_id, meeting_id, kind, object_type, object_id,"
                               " actor_id, data::text, user_id FROM events WHERE seq > $1"
                               " ORDER BY seq"
                               " LIMIT $2",
                               &p);
    if (!r)
        return c->status;
    f->n = PQntuples(r);
    f->evs = calloc((size_t)f->n + 1, sizeof(*f->evs));
    for (int i = 0; f->evs && i < f->n; i++) {
        mdt_feed_event_t *e = &f->evs[i];
        e->seq = mdt_db_int(r, i, 0);
        e->case_id = mdt_db_int(r, i, 1);
        e->meeting_id = mdt_db_int(r, i, 2);
        snprintf(e->kind, sizeof(e->kind), "%s", mdt_db_str(r, i, 3));
        snprintf(e->object_type, sizeof(e->object_type), "%s",
                 mdt_db_str(r, i, 4) ? mdt_db_str(r, i, 4) : "");
        e->object_id = mdt_db_int(r, i, 5);
        e->actor_id = mdt_db_int(r, i, 6);
        e->data = json_loads(mdt_db_str(r, i, 7), 0, NULL);
        e->user_id = mdt_db_int(r, i, 8);
    }
    PQclear(r);
    return f->evs ? MDT_DB_OK : MDT_DB_ERROR;
}

/* Node events: re-check what they concern. Never sent to clients. */
static void feed_dispatch_node(mdt_server_t *srv, const mdt_feed_event_t *e)
{
    if (strcmp(e->kind, "user.updated") == 0) {
        mdt_session_drop_user(srv, e->object_id);
        mdt_ws_recheck_user(srv, e->object_id);
    } else if (strcmp(e->kind, "session.revoked") == 0) {
        const char *h = json_string_value(json_object_get(e->data, "id_hash"));
        if (h) {
            mdt_session_drop(srv, h);
            mdt_ws_close_session(srv, h);
        }
    }
}

static void feed_dispatch(mdt_server_t *srv, const mdt_feed_event_t *e)
{
    if (!e->case_id && !e->meeting_id && !e->user_id) {
        feed_dispatch_node(srv, e);
        return;
    }
    /* a purged case's data key and text are gone from the database: from
     * this node's caches too (retention.h), before the subscribers are told */
    if (e->case_id && strcmp(e->kind, "case.purged") == 0) {
        if (srv->keyring)
            mdt_keyring_forget(srv->keyring, e->case_id);
        mdt_boardcache_forget_case(srv->boards, e->case_id);
    }
    mdt_hub_on_event(srv, e);
}

static void feed_kick(mdt_server_t *srv);

static void feed_retry_fire(lws_sorted_usec_list_t *sul)
{
    struct mdt_feed *feed = lws_container_of(sul, struct mdt_feed, retry);
    feed_kick(feed->srv);
}

/* A load failed or was refused: count it and try again after a backoff
 * (100 ms doubling to 5 s), so a node never stops delivering silently
 * while no notification or reconnect comes to wake it. */
static void feed_failed(mdt_server_t *srv, int status)
{
    struct mdt_feed *feed = srv->feed;
    feed->failures++;
    feed->again = 1;
    feed->retry_ms = feed->retry_ms ? feed->retry_ms * 2 : FEED_RETRY_MIN_MS;
    if (feed->retry_ms > FEED_RETRY_MAX_MS)
        feed->retry_ms = FEED_RETRY_MAX_MS;
    mdt_log_warn("event feed load failed; retrying", "status=%d after_ms=%d failures=%llu", status,
                 feed->retry_ms, (unsigned long long)feed->failures);
    if (srv->ctx)
        lws_sul_schedule(srv->ctx, 0, &feed->retry, feed_retry_fire,
                         (lws_usec_t)feed->retry_ms * LWS_US_PER_MS);
}

static void feed_load_done(void *arg, int status)
{
    feed_load_t *f = arg;
    mdt_server_t *srv = f->srv;
    struct mdt_feed *feed = srv->feed;
    if (feed) {
        feed->loading = 0;
        if (status == MDT_DB_OK && f->init) {
            feed->started = 1;
            feed->last = f->after > feed->last ? f->after : feed->last;
        } else if (status == MDT_DB_OK) {
            for (int i = 0; i < f->n; i++) {
                if (f->evs[i].seq != feed->last + 1)
                    mdt_log_warn("event seq gap", "expected=%lld got=%lld",
                                 (long long)feed->last + 1, (long long)f->evs[i].seq);
                feed_dispatch(srv, &f->evs[i]);
                feed->last = f->evs[i].seq;
            }
            mdt_hub_flush(srv); /* render what was loaded, in batches */
            if (f->n == FEED_BATCH)
                feed->again = 1;
        }
        if (status == MDT_DB_OK)
            feed->retry_ms = 0;
        else
            feed_failed(srv, status);
    }
    for (int i = 0; f->evs && i < f->n; i++)
        json_decref(f->evs[i].data);
    free(f->evs);
    free(f);
    if (feed && (feed->again || feed->target > feed->last) && status == MDT_DB_OK)
        feed_kick(srv);
}

static void feed_kick(mdt_server_t *srv)
{
    struct mdt_feed *feed = srv->feed;
    if (!feed || feed->loading)
        return;
    feed_load_t *f = calloc(1, sizeof(*f));
    if (!f)
        return;
    f->srv = srv;
    f->init = !feed->started;
    f->after = feed->last;
    feed->again = 0;
    feed->loading = 1;
    if (mdt_db_submit_class(srv->db, MDT_DB_CLASS_LIVE, feed_load_work, feed_load_done, f) != 0) {
        feed->loading = 0;
        free(f);
        feed_failed(srv, MDT_DB_REFUSED);
    }
}

int mdt_feed_start(mdt_server_t *srv)
{
    srv->feed = calloc(1, sizeof(*srv->feed));
    if (!srv->feed)
        return -1;
    srv->feed->srv = srv;
    feed_kick(srv);
    return 0;
}

void mdt_feed_cancel(mdt_server_t *srv)
{
    if (srv->feed)
        lws_sul_cancel(&srv->feed->retry);
}

uint64_t mdt_feed_failures(const mdt_server_t *srv)
{
    return srv->feed ? srv->feed->failures : 0;
}

void mdt_feed_stop(mdt_server_t *srv)
{
    free(srv->feed);
    srv->feed = NULL;
}

void mdt_feed_notify(mdt_server_t *srv, int64_t seq)
{
    if (!srv->feed)
        return;
    if (seq > srv->feed->target)
        srv->feed->target = seq;
    if (seq > srv->feed->last)
        feed_kick(srv);
}

void mdt_feed_listen_up(mdt_server_t *srv)
{
    feed_kick(srv);
}
