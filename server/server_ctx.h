/* server_ctx.h - the server context: the one place for state that lives as
 * long as `mdtboard serve` runs (configuration, the lws context, the
 * database pool, the LISTEN thread, metrics, and what the infrastructure
 * modules hang on it). Everything in it is touched only on the event-loop
 * thread unless a field says otherwise. Only the modules that run the
 * server include it (server.c, http.c, ws.c, the hub, the feed, sessions,
 * the gate, audit buffering, static files, sys); request handlers reach
 * what they need through ctx.h. */
#ifndef MDT_SERVER_CTX_H
#define MDT_SERVER_CTX_H

#include <libwebsockets.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "listen.h"
#include "loopq.h"
#include "metrics.h"
#include "router.h"
#include "workq.h"

struct mdt_ws_registry;
struct mdt_hub;
struct mdt_audit_buf;
struct mdt_auth_state;
struct mdt_ratelimit;
struct mdt_feed;
struct mdt_digest;
struct mdt_boardcache;

typedef struct mdt_server {
    mdt_config_t cfg;
    struct lws_context *ctx;
    struct uv_loop_s *uv; /* the libuv loop lws runs in (server.c), NULL under poll() */
    void *uv_loops[1];    /* lws's foreign_loops: uv */
    /* lws clears it when the context is wholly destroyed (info.pcontext):
     * under libuv that takes loop iterations after lws_context_destroy */
    struct lws_context *uv_ctx;
    struct lws_vhost *vhost;
    mdt_loopq_t *loopq; /* thread-safe */
    mdt_db_t *db;       /* thread-safe submit */
    mdt_workq_t *cpu;   /* password hashing pool; thread-safe submit */
    mdt_listen_t *listen;
    mdt_metrics_t *metrics;
    const mdt_route_t *routes;
    struct mdt_ws_registry *conns; /* ws.c: every open WebSocket connection */
    struct mdt_hub *hub;           /* hub*.c: subscriptions and fan-out */
    struct mdt_audit_buf *audit;   /* buffered read audit rows */
    struct mdt_auth_state *auth;   /* session cache */
    struct mdt_ratelimit *login_limits;
    struct mdt_ratelimit *calendar_limits; /* calendar feed requests per address */
    struct mdt_digest *digest;             /* digest.c: the email digest job */
    struct mdt_feed *feed;                 /* this node's reader of the event log */
    struct mdt_keyring *keyring;           /* the KEK and data keys; shared by the pool */
    struct mdt_boardcache *boards;         /* boardcache.h: serialized boards (NULL: off) */
    struct lws_protocols protocols[5];
    lws_retry_bo_t ws_retry;
    lws_sorted_usec_list_t sul_stop;
    lws_sorted_usec_list_t sul_idem;   /* purge of old Idempotency-Key answers */
    lws_sorted_usec_list_t sul_daily;  /* notify.c: the daily job at midnight */
    lws_sorted_usec_list_t sul_digest; /* the email digest's minute tick */
    int signal_fd;
    int listen_fd; /* with MDT_WORKERS > 1: this worker's SO_REUSEPORT socket, or -1 */
    int64_t stop_deadline_us;

    char csp[640]; /* Content-Security-Policy value, built once */

    int stopping;         /* SIGTERM seen: finish in-flight work, accept no more */
    int http_inflight;    /* requests read but not yet answered */
    int uploads_inflight; /* streamed uploads holding a database connection */
    int ws_open;          /* open WebSocket connections */

    int listen_up;
    unsigned long long listen_notifications;
    int64_t last_notified_seq;
} mdt_server_t;

#endif
