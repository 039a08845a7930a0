/* sys.c - health, metrics and test hooks (see sys.h). */
#include "sys.h"

#include <stdlib.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "boardcache.h"
#include "db.h"
#include "feed.h"
#include "runner.h"
#include "server_ctx.h"

/* A /healthz or test-sleep request on the runner. */
typedef struct {
    mdt_run_t run; /* first: mdt_run_new */
    mdt_req_t *req;
} sys_op_t;

/* Loop: a runner for req with work and finish, hung on req->state; NULL
 * (answered 500) when out of memory. */
static sys_op_t *sys_op_new(mdt_req_t *req, mdt_run_fn work, void (*finish)(void *, int))
{
    sys_op_t *op = mdt_run_new(req, sizeof(*op), work, NULL);
    if (op) {
        op->req = req;
        op->run.finish = finish;
    }
    return op;
}

static int healthz_work(mdt_dbc_t *c, void *arg)
{
    (void)arg;
    return mdt_db_exec(c, "SELECT 1", NULL);
}

/* /healthz answers every failure (the database down, the pool full) with
 * its own 503 body. */
static void healthz_finish(void *arg, int status)
{
    sys_op_t *op = arg;
    const mdt_config_t *cfg = &op->req->srv->cfg;
    if (status == MDT_DB_OK) {
        op->run.ans.result = json_pack("{s:s, s:s}", "status", "ok", "db", "ok");
    } else {
        op->run.ans.ok_status = 503;
        op->run.ans.result =
            json_pack("{s:s, s:s, s:{s:s, s:s}}", "status", "unavailable", "db", "down", "error",
                      "code", "unavailable", "message", "the database is unreachable");
    }
    if (cfg->workers > 1 && op->run.ans.result) { /* which worker answered (workers.h) */
        json_object_set_new(op->run.ans.result, "worker", json_integer(cfg->worker));
        json_object_set_new(op->run.ans.result, "workers", json_integer(cfg->workers));
    }
}

void mdt_sys_healthz(mdt_req_t *req)
{
    sys_op_t *op = sys_op_new(req, healthz_work, healthz_finish);
    if (!op)
        return;
    op->run.answers_failure = 1;
    mdt_run_start(&op->run);
}

static int is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
           strncmp(addr, "::ffff:127.", 11) == 0;
}

/* May req read /metrics? A loopback client, or one that presents
 * MDT_METRICS_TOKEN as "Authorization: Bearer <token>" (compared in
 * constant time). */
static int metrics_allowed(const mdt_req_t *req)
{
    if (is_loopback(req->peer))
        return 1;
    const char *token = req->srv->cfg.metrics_token;
    const char *h = req->authorization;
    if (!token || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    size_t n = strlen(token);
    return strlen(h) == n && CRYPTO_memcmp(h, token, n) == 0;
}

void mdt_sys_metrics(mdt_req_t *req)
{
    mdt_server_t *srv = req->srv;
    if (!metrics_allowed(req)) {
        mdt_http_error(req, 404, "not_found", NULL, "no such resource");
        return;
    }
    mdt_db_stats_t ds;
    mdt_db_stats(srv->db, &ds);
    mdt_boardcache_stats_t bs;
    mdt_boardcache_stats(srv->boards, &bs);
    mdt_audit_stats_t as;
    mdt_audit_stats(srv, &as);
    mdt_metric_value_t extra[] = {
        {"mdt_http_inflight", "Requests read and not yet answered.", "gauge", srv->http_inflight},
        {"mdt_ws_connections", "Open WebSocket connections.", "gauge", srv->ws_open},
        {"mdt_db_pool_threads", "Database pool threads.", "gauge", ds.threads},
        {"mdt_db_pool_connected", "Database pool connections up.", "gauge", ds.connected},
        {"mdt_db_pool_busy", "Database pool threads running a job.", "gauge", ds.busy},
        {"mdt_db_pool_queued", "Database jobs waiting for a thread.", "gauge", (double)ds.queued},
        {"mdt_db_jobs_total", "Database jobs completed.", "counter", (double)ds.completed},
        {"mdt_db_jobs_refused_total", "Database jobs refused (queue full).", "counter",
         (double)ds.refused},
        {"mdt_db_reconnects_total", "Database reconnections.", "counter", (double)ds.reconnects},
        {"mdt_listen_up", "LISTEN connection up (1) or down (0).", "gauge", srv->listen_up},
        {"mdt_listen_notifications_total", "Notifications received on mdt_events.", "counter",
         (double)srv->listen_notifications},
        {"mdt_events_last_notified_seq", "Highest event seq notified.", "gauge",
         (double)srv->last_notified_seq},
        {"mdt_feed_last_seq", "Highest event seq this node dispatched.", "gauge",
         (double)mdt_feed_last(srv)},
        {"mdt_feed_load_failures_total", "Event feed loads that failed (each is retried).",
         "counter", (double)mdt_feed_failures(srv)},
        {"mdt_board_cache_hits_total", "Board reads answered from the board cache.", "counter",
         (double)bs.hits},
        {"mdt_board_cache_misses_total", "Board reads built (cache off, cold or stale).", "counter",
         (double)bs.misses},
        {"mdt_board_cache_evictions_total", "Boards evicted to keep the cache's bound.", "counter",
         (double)bs.evictions},
        {"mdt_board_cache_bytes", "Bytes of boards held in the board cache.", "gauge",
         (double)bs.bytes},
        {"mdt_audit_rows_written_total", "Buffered read audit rows committed.", "counter",
         (double)as.written},
        {"mdt_audit_flush_failures_total", "Read audit flushes that failed (rows kept, retried).",
         "counter", (double)as.failures},
        {"mdt_audit_pending_rows", "Read audit rows buffered and not yet committed.", "gauge",
         (double)as.pending},
    };
    size_t len = 0;
    char label[32] = "";
    if (srv->cfg.workers > 1) /* each worker's own counters (docs/operations.md) */
        snprintf(label, sizeof(label), "worker=\"%d\"", srv->cfg.worker);
    char *text =
        mdt_metrics_render(srv->metrics, extra, sizeof(extra) / sizeof(extra[0]), label, &len);
    if (!text) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    mdt_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* Reads req's query on the database thread: the loop does not touch req
 * until the runner answers. */
static int sleep_work(mdt_dbc_t *c, void *arg)
{
    sys_op_t *op = arg;
    const char *ms = mdt_req_query(op->req, "ms");
    double secs = ms ? atof(ms) / 1000.0 : 1.0;
    if (secs < 0 || secs > 60)
        secs = 1.0;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    char s[32];
    snprintf(s, sizeof(s), "%.3f", secs);
    mdt_db_param_str(&p, s);
    int rc = mdt_db_exec(c, "SELECT pg_sleep($1::float8)", &p);
    if (rc == MDT_DB_OK)
        op->run.ans.result = json_pack("{s:b}", "slept", 1);
    return rc;
}

void mdt_sys_test_sleep(mdt_req_t *req)
{
#ifdef MDT_TEST_HOOKS
    sys_op_t *op = sys_op_new(req, sleep_work, NULL);
    if (op)
        mdt_run_start(&op->run);
#else
    (void)sleep_work;
    mdt_http_error(req, 404, "not_found", NULL, "no such resource");
#endif
}
