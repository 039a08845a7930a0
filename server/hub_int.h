/* hub_int.h - the hub's inside, shared by hub.c (topics, subscriptions and
 * lifetime), hub_render.c (rendering on database threads: live events,
 * replay, meetings, expiry masks), hub_deliver.c (ordered fan-out by view
 * key and back-pressure) and hub_timers.c (presence and consent expiry).
 * Nothing outside hub*.c includes it: the hub's public surface is hub.h. */
#ifndef MDT_HUB_INT_H
#define MDT_HUB_INT_H

#include <jansson.h>
#include <stdint.h>

#include "authz.h"
#include "casectx.h"
#include "db.h"
#include "hmap.h"
#include "ratelimit.h"
#include "hub.h"
#include "server_ctx.h"
#include "ws.h"

#define HUB_MAX_SHAPES     32
#define HUB_REPLAY_MAX     5000
#define HUB_RETENTION_DAYS 30
/* A subscription's backlog (a long replay draining into the socket's
 * bounded queue) may hold this many frames; the bytes a socket may hold
 * across all its subscriptions (backlogs, buffers and its send queue) are
 * bounded by MDT_WS_MAX_BYTES (cfg.ws_max_bytes). Beyond either the
 * socket resyncs. */
#define HUB_BACKLOG_MAX_FRAMES (HUB_REPLAY_MAX + 1024)
/* Subscriptions of one socket that may wait for its replay in flight. */
#define HUB_QUEUED_MAX 8

/* One view key's view of the case, kept to notice categories it loses. */
typedef struct {
    mdt_view_key_t key;
    unsigned mask;
    int known;
} hub_mask_t;

typedef struct hub_case {
    int64_t case_id;
    int64_t meeting_id; /* a meeting's subscribers (case_id 0) */
    int64_t user_id;    /* one user's stream: notifications (case_id, meeting_id 0) */
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
    int queued; /* waits for the socket's replay in flight to end */
    int64_t since, replay_to, last_sent;
    lws_dll2_owner_t pending; /* buffered live messages while replaying */
    lws_dll2_owner_t backlog; /* sent as the socket's queue drains (replay) */
    size_t held;              /* bytes of pending and backlog, counted in the socket's held */
} hub_sub_t;

typedef struct {
    lws_dll2_t link;
    int64_t seq;
    mdt_wsmsg_t *msg;
} hub_buffered_t;

struct mdt_hub {
    mdt_hmap_t *cases;           /* "case_id" -> hub_case_t */
    lws_dll2_owner_t pipeline;   /* hub_ev_t in seq order */
    lws_dll2_owner_t unrendered; /* hub_ev_t not yet given to a render job */
    uint64_t next_gen;
    mdt_server_t *srv;
    lws_sorted_usec_list_t gc; /* frees cases left without subscribers */
    int gc_scheduled;
    mdt_ratelimit_t *sock_rate, *user_rate; /* subscribe messages */
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
    lws_dll2_t link;       /* in the hub's pipeline, seq order */
    lws_dll2_t batch_link; /* in the hub's unrendered list until mdt_hub_flush */
    mdt_server_t *srv;
    mdt_feed_event_t ev; /* data kept (a reference) for user events only */
    hub_shape_t shapes[HUB_MAX_SHAPES];
    int nshapes;
    int ready, failed;
    int status; /* its render's db status (set by the batch job) */
    int64_t next_expiry;
} hub_ev_t;

/* Events rendered by one database job, in seq order and in one snapshot
 * (a case's context is loaded once for its consecutive events). */
#define HUB_RENDER_BATCH 16
typedef struct {
    mdt_server_t *srv;
    int n;
    hub_ev_t *evs[HUB_RENDER_BATCH];
} hub_batch_t;

typedef struct {
    mdt_server_t *srv;
    int64_t case_id;
    int64_t user_id; /* a user's stream instead of a case */
    uint64_t gen;
    uint64_t conn_id;
    mdt_audit_actor_t actor;
    mdt_principal_t p;
    int64_t since, replay_to;
    /* results */
    int resync;
    json_t *msgs; /* replayed messages in order */
    unsigned mask;
    int64_t next_expiry;
} hub_subjob_t;

typedef struct {
    mdt_server_t *srv;
    int64_t case_id;
    hub_shape_t shapes[HUB_MAX_SHAPES];
    int nshapes;
    int64_t next_expiry;
} hub_expjob_t;

typedef struct {
    mdt_server_t *srv;
    int64_t meeting_id;
    uint64_t gen;
    uint64_t conn_id;
    mdt_principal_t p;
    int visible;
} hub_meetjob_t;

/* ---- hub.c ---- */

hub_case_t *mdt_hub_case_get(mdt_server_t *srv, int64_t case_id, int create);
hub_mask_t *mdt_hub_mask(hub_case_t *hc, mdt_view_key_t key);
struct mdt_hub *mdt_hub_of(mdt_server_t *srv);
void mdt_hub_sub_remove(mdt_server_t *srv, hub_sub_t *s);
/* The topic of a case, a meeting or a user's stream (one id non-zero). */
hub_case_t *mdt_hub_topic_get(mdt_server_t *srv, int64_t case_id, int64_t meeting_id,
                              int64_t user_id, int create);
/* Sets the id that names hc's topic in a frame: case_id, meeting_id or user_id. */
void mdt_hub_topic_ref(const hub_case_t *hc, json_t *frame);

/* ---- hub_deliver.c ---- */

void mdt_hub_activate(mdt_server_t *srv, hub_sub_t *s, hub_subjob_t *j);
/* Adds m to s's pending list (seq) or backlog (seq 0): 0, or -1 when it
 * would exceed the socket's bound (or memory ran out). */
int mdt_hub_hold(mdt_server_t *srv, hub_sub_t *s, lws_dll2_owner_t *list, int64_t seq,
                 mdt_wsmsg_t *m);
/* Frees one held frame of s (unlinked from its list). */
void mdt_hub_release(hub_sub_t *s, hub_buffered_t *b);
/* Drops conn's queue and resyncs every subscription on it (they end). */
void mdt_hub_resync_conn(mdt_server_t *srv, mdt_ws_conn_t *conn);
int mdt_hub_collect_shapes(hub_case_t *hc, hub_shape_t *shapes, int *n);
mdt_view_key_t mdt_hub_conn_key(mdt_ws_conn_t *conn);
void mdt_hub_ev_free(hub_ev_t *h);
mdt_wsmsg_t *mdt_hub_msg(json_t *j);
int mdt_hub_send(mdt_server_t *srv, hub_sub_t *s, mdt_wsmsg_t *m);

/* ---- hub_render.c ---- */

int mdt_hub_expiry_work(mdt_dbc_t *c, void *arg);
int mdt_hub_meeting_work(mdt_dbc_t *c, void *arg);
/* Renders every event of a hub_batch_t; each event's outcome is in its
 * status (the job itself fails only when the connection does). */
int mdt_hub_render_batch_work(mdt_dbc_t *c, void *arg);
json_t *mdt_hub_revoked(const mdt_feed_event_t *ev, const char *entity, int64_t id,
                        const char *category);
int mdt_hub_subscribe_work(mdt_dbc_t *c, void *arg);
/* A user's stream: its events in (since, replay_to] rendered for j->p. */
int mdt_hub_user_subscribe_work(mdt_dbc_t *c, void *arg);

/* ---- hub_timers.c ---- */

void mdt_hub_expiry_schedule(hub_case_t *hc, int64_t next_expiry);
void mdt_hub_presence_schedule(hub_case_t *hc);

#endif
