/* server.c - `mdtboard serve`: builds the server context, runs the event
 * loop until SIGTERM/SIGINT, then drains and tears down (see server.h).
 *
 * Signals arrive through a signalfd adopted into the loop, so no handler
 * and no global flag is needed; the signals are blocked in every thread.
 * SIGHUP re-reads MDT_KEY_FILE on a database worker (a KEK rotation,
 * docs/security.md): the loop never waits for the file or the check.
 *
 * The loop under lws is libuv (epoll: a wake-up costs the same with 10
 * sockets or 10,000), or lws's own poll() loop with MDT_EVENT_LOOP=poll.
 * The libuv loop is ours (lws joins it as a foreign loop), so server_loop
 * runs it one iteration at a time and checks the drain between them, and
 * teardown runs it until lws has closed its handles (docs/performance.md). */
#include <uv.h> /* before libwebsockets.h: its libuv declarations */

#include "server.h"
#include "server_ctx.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "boardcache.h"
#include "digest.h"
#include "feed.h"
#include "http.h"
#include "hub.h"
#include "idem.h"
#include "notify.h"
#include "ratelimit.h"
#include "session.h"
#include "log.h"
#include "keyring.h"
#include "migrate.h"
#include "routes.h"
#include "sdnotify.h"
#include "workers.h"
#include "ws.h"

#define SERVER_DRAIN_US (5 * LWS_US_PER_SEC)
#define SERVER_FD_LIMIT 20000

static void server_on_notify(void *ud, int64_t seq)
{
    mdt_server_t *srv = ud;
    srv->listen_notifications++;
    if (seq > srv->last_notified_seq)
        srv->last_notified_seq = seq;
    mdt_feed_notify(srv, seq);
}

static void server_on_listen_state(void *ud, int up)
{
    mdt_server_t *srv = ud;
    srv->listen_up = up;
    if (up)
        mdt_feed_listen_up(srv);
    mdt_log_info(up ? "listen connection up" : "listen connection down", "channel=mdt_events");
}

/* Stopping, and the requests in flight are answered or out of time. */
static int server_drained(const mdt_server_t *srv)
{
    return srv->stopping && (srv->http_inflight <= 0 || lws_now_usecs() > srv->stop_deadline_us);
}

/* While stopping: re-check every 100 ms until in-flight requests are done
 * (each tick also wakes the loop, so server_loop sees the drain end). */
static void server_stop_tick(lws_sorted_usec_list_t *sul)
{
    mdt_server_t *srv = lws_container_of(sul, mdt_server_t, sul_stop);
    lws_sul_schedule(srv->ctx, 0, &srv->sul_stop, server_stop_tick, 100 * LWS_US_PER_MS);
}

typedef struct {
    char path[4096];
    char msg[512];
    int rc; /* mdt_keyring_reload's */
} server_reload_t;

/* DB thread: reloads the key file into the shared keyring. */
static int server_reload_work(mdt_dbc_t *c, void *arg)
{
    server_reload_t *r = arg;
    r->rc = mdt_keyring_reload(c->keyring, c, r->path, r->msg, sizeof(r->msg));
    return MDT_DB_OK;
}

/* Loop: logs what the reload did and frees it. */
static void server_reload_done(void *arg, int status)
{
    server_reload_t *r = arg;
    if (status != MDT_DB_OK)
        mdt_log_warn("key file reload refused", "reason=\"database unavailable\" file=\"%s\"",
                     r->path);
    else if (r->rc < 0)
        mdt_log_warn("key file reload refused", "reason=\"%s\" file=\"%s\"", r->msg, r->path);
    else
        mdt_log_info(r->rc == 0 ? "key file reloaded" : "key file reloaded, unchanged",
                     "detail=\"%s\" file=\"%s\"", r->msg, r->path);
    free(r);
}

/* SIGHUP: re-reads MDT_KEY_FILE off the loop; the node keeps what it
 * holds whatever the outcome. */
static void server_reload_keys(mdt_server_t *srv)
{
    server_reload_t *r = calloc(1, sizeof(*r));
    if (!r || !srv->db) {
        free(r);
        return;
    }
    snprintf(r->path, sizeof(r->path), "%s", srv->cfg.key_file);
    if (mdt_db_submit(srv->db, server_reload_work, server_reload_done, r) != 0) {
        mdt_log_warn("key file reload refused", "reason=\"the database queue is full\" file=\"%s\"",
                     r->path);
        free(r);
    }
}

static int server_signal_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                            size_t len)
{
    if (reason != LWS_CALLBACK_RAW_RX_FILE)
        return 0;
    mdt_server_t *srv = lws_context_user(lws_get_context(wsi));
    struct signalfd_siginfo si;
    while (read(srv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            server_reload_keys(srv);
        } else if (!srv->stopping) {
            mdt_log_info("stopping", "signal=%u inflight=%d", si.ssi_signo, srv->http_inflight);
            if (mdt_sdnotify_send("STOPPING=1") < 0)
                mdt_log_warn("sd_notify STOPPING failed", "errno=%d", errno);
            srv->stopping = 1;
            srv->stop_deadline_us = lws_now_usecs() + SERVER_DRAIN_US;
            lws_sul_schedule(srv->ctx, 0, &srv->sul_stop, server_stop_tick, 1);
        }
    }
    return 0;
}

/* MDT_WORKERS > 1: this worker's listening socket is readable; accepts
 * what is waiting (a bounded batch per wake) and hands each connection to
 * lws as its own listener would (lws closes it if it cannot). */
static int server_accept_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                            size_t len)
{
    if (reason != LWS_CALLBACK_RAW_RX_FILE)
        return 0;
    mdt_server_t *srv = lws_context_user(lws_get_context(wsi));
    for (int i = 0; i < 64; i++) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                mdt_log_warn("accept failed", "errno=%d", errno);
            break;
        }
        lws_adopt_socket_vhost(srv->vhost, fd);
    }
    return 0;
}

static void server_build_csp(mdt_server_t *srv)
{
    snprintf(srv->csp, sizeof(srv->csp),
             "default-src 'self'; img-src 'self'; connect-src 'self' %s; script-src 'self'; "
             "style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
             "frame-ancestors 'none'; form-action 'self'",
             srv->cfg.ws_origin);
}

static void server_fill_protocols(mdt_server_t *srv)
{
    struct lws_protocols *p = srv->protocols;
    memset(p, 0, sizeof(srv->protocols));
    p[0].name = "http";
    p[0].callback = mdt_http_callback;
    p[0].per_session_data_size = mdt_http_pss_size();
    p[1].name = MDT_WS_PROTOCOL;
    p[1].callback = mdt_ws_callback;
    p[1].per_session_data_size = mdt_ws_pss_size();
    p[1].rx_buffer_size = 4096;
    p[2].name = "mdt-signal";
    p[2].callback = server_signal_cb;
    p[3].name = "mdt-accept";
    p[3].callback = server_accept_cb;
}

static void server_fill_tls(const mdt_server_t *srv, struct lws_context_creation_info *info)
{
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = srv->cfg.tls_cert;
    info->ssl_private_key_filepath = srv->cfg.tls_key;
    info->ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                            SSL_OP_NO_TLSv1_1 | SSL_OP_CIPHER_SERVER_PREFERENCE |
                            SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
    info->ssl_cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
    info->tls1_3_plus_cipher_list =
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
}

/* The libuv loop lws will join (unless MDT_EVENT_LOOP=poll). 0 ok. */
static int server_uv_init(mdt_server_t *srv)
{
    if (srv->cfg.event_poll)
        return 0;
    srv->uv = malloc(sizeof(uv_loop_t));
    if (srv->uv && uv_loop_init(srv->uv) == 0)
        return 0;
    free(srv->uv);
    srv->uv = NULL;
    return -1;
}

/* After lws_context_destroy: runs the loop until lws's handles have closed
 * (a bounded number of rounds), lets lws finish destroying its context
 * (a foreign loop's context is freed by a second lws_context_destroy once
 * its handles are closed), then closes and frees the loop. */
static void server_uv_free(mdt_server_t *srv)
{
    if (!srv->uv)
        return;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 1000 && uv_loop_alive(srv->uv); i++)
            uv_run(srv->uv, UV_RUN_NOWAIT);
        if (srv->uv_ctx)
            lws_context_destroy(srv->uv_ctx);
    }
    if (uv_loop_close(srv->uv) != 0) {
        mdt_log_warn("event loop handles left open at exit", "loop=uv");
        return; /* still referenced by open handles: left to the exit */
    }
    free(srv->uv);
    srv->uv = NULL;
}

static int server_create_context(mdt_server_t *srv)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    if (server_uv_init(srv) != 0)
        return -1;
    server_fill_protocols(srv);
    srv->ws_retry = (lws_retry_bo_t){.secs_since_valid_ping = 30, .secs_since_valid_hangup = 75};
    /* several workers: each accepts on its own SO_REUSEPORT socket (server_listen_shared) */
    info.port = srv->cfg.workers > 1 ? CONTEXT_PORT_NO_LISTEN_SERVER : srv->cfg.listen_port;
    info.iface = strcmp(srv->cfg.listen_host, "*") == 0 ? NULL : srv->cfg.listen_host;
    info.protocols = srv->protocols;
    info.user = srv;
    info.vhost_name = "mdtboard";
    info.alpn = "http/1.1";
    info.max_http_header_data = MDT_HTTP_HEADER_BUFFER;
    info.max_http_header_pool = 256;
    info.fd_limit_per_thread = SERVER_FD_LIMIT;
    info.timeout_secs = 30;
    info.retry_and_idle_policy = &srv->ws_retry;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (srv->uv) {
        srv->uv_loops[0] = srv->uv;
        info.foreign_loops = srv->uv_loops;
        info.pcontext = &srv->uv_ctx;
        info.options |= LWS_SERVER_OPTION_LIBUV;
    }
    if (strchr(srv->cfg.listen_host, ':') == NULL)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (srv->cfg.tls_cert)
        server_fill_tls(srv, &info);
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx)
        return -1;
    if (srv->uv)
        srv->uv_ctx = srv->ctx;
    srv->vhost = lws_create_vhost(srv->ctx, &info);
    if (!srv->vhost)
        return -1;
    if (srv->cfg.workers <= 1)
        srv->cfg.listen_port = lws_get_vhost_listen_port(srv->vhost);
    return 0;
}

/* MDT_WORKERS > 1: opens this worker's SO_REUSEPORT socket and adopts it
 * into the loop (server_accept_cb). 0 ok, or nothing to do. */
static int server_listen_shared(mdt_server_t *srv)
{
    if (srv->cfg.workers <= 1)
        return 0;
    char err[256];
    srv->listen_fd = mdt_workers_listen(&srv->cfg, err, sizeof(err));
    if (srv->listen_fd < 0) {
        fprintf(stderr, "mdtboard: %s\n", err);
        return -1;
    }
    lws_sock_file_fd_type fd;
    fd.filefd = srv->listen_fd;
    return lws_adopt_descriptor_vhost(srv->vhost, LWS_ADOPT_RAW_FILE_DESC, fd, "mdt-accept", NULL)
               ? 0
               : -1;
}

/* Blocks SIGTERM/SIGINT/SIGHUP in this and every later thread; adopts a
 * signalfd. */
static int server_adopt_signals(mdt_server_t *srv)
{
    lws_sock_file_fd_type fd;
    fd.filefd = srv->signal_fd;
    return lws_adopt_descriptor_vhost(srv->vhost, LWS_ADOPT_RAW_FILE_DESC, fd, "mdt-signal", NULL)
               ? 0
               : -1;
}

static int server_block_signals(mdt_server_t *srv)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    srv->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return srv->signal_fd < 0 ? -1 : 0;
}

static void server_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < SERVER_FD_LIMIT + 64) {
        rl.rlim_cur = rl.rlim_max < SERVER_FD_LIMIT + 64 ? rl.rlim_max : SERVER_FD_LIMIT + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Loads the key-encryption key into srv->keyring, checks it against the
 * database (c: a connection at the current schema) and unwraps the audit
 * chain key into srv->cfg.audit_key. 0 ok. */
static int server_check_kek(mdt_server_t *srv, mdt_dbc_t *c)
{
    char err[512];
    srv->keyring = mdt_keyring_load(srv->cfg.key_file, err, sizeof(err));
    if (!srv->keyring || mdt_keyring_verify(srv->keyring, c, err, sizeof(err)) != 0 ||
        mdt_keyring_audit_key(srv->keyring, c, srv->cfg.audit_key, err, sizeof(err)) != 0) {
        fprintf(stderr, "mdtboard: %s\n", err);
        return -1;
    }
    return 0;
}

/* Waits for the database (up to 30 s), refuses a schema that is newer than
 * this binary or has migrations pending, and a key file that is not this
 * database's. 0 ok. */
static int server_check_schema(mdt_server_t *srv)
{
    const mdt_config_t *cfg = &srv->cfg;
    char err[256];
    mdt_dbc_t *c = NULL;
    for (int tries = 0; tries < 60 && !c; tries++) {
        c = mdt_dbc_open(cfg->database_url, cfg->db_timeout_ms, err, sizeof(err));
        if (!c)
            usleep(500 * 1000);
    }
    if (!c) {
        fprintf(stderr, "mdtboard: cannot reach the database: %s\n", err);
        return -1;
    }
    int version = 0;
    int rc = mdt_migrate_version(c, &version, err, sizeof(err));
    if (rc == 0 && mdt_audit_role_check(c, err, sizeof(err)) == 1)
        mdt_log_warn("serving with a database role that can rewrite the audit log: run serve "
                     "as the serving role (docs/operations.md)",
                     "role=\"%s\"", err);
    if (rc != 0) {
        mdt_dbc_close(c);
        fprintf(stderr, "mdtboard: %s\n", err);
        return -1;
    }
    if (version > mdt_migrate_latest()) {
        fprintf(stderr,
                "mdtboard: the database schema (version %d) is newer than this binary knows "
                "(%d); refusing to serve it\n",
                version, mdt_migrate_latest());
        mdt_dbc_close(c);
        return -1;
    }
    if (version < mdt_migrate_latest()) {
        fprintf(stderr,
                "mdtboard: the database schema is at version %d, this binary needs %d: "
                "run `mdtboard migrate` first\n",
                version, mdt_migrate_latest());
        mdt_dbc_close(c);
        return -1;
    }
    rc = server_check_kek(srv, c);
    mdt_dbc_close(c);
    return rc;
}

static int server_start(mdt_server_t *srv)
{
    server_build_csp(srv);
    srv->routes = mdt_routes;
    if (server_block_signals(srv) != 0 || !(srv->loopq = mdt_loopq_new()) ||
        !(srv->metrics = mdt_metrics_new()))
        return -1;
    mdt_db_opts_t dbo = {
        .url = srv->cfg.database_url,
        .pool_size = srv->cfg.db_pool,
        .statement_timeout_ms = srv->cfg.db_timeout_ms,
        .max_queue = 4096,
        .audit_key = srv->cfg.audit_key,
        .keyring = srv->keyring,
        .live_conns = srv->cfg.db_live_conns,
        .class_max = {[MDT_DB_CLASS_LIVE] = srv->cfg.db_live_max,
                      [MDT_DB_CLASS_REPLAY] = srv->cfg.db_replay_max ? srv->cfg.db_replay_max
                                                                     : (srv->cfg.db_pool + 1) / 2,
                      [MDT_DB_CLASS_HEAVY] = srv->cfg.db_heavy_max ? srv->cfg.db_heavy_max
                                                                   : (srv->cfg.db_pool + 1) / 2}};
    mdt_workq_opts_t cpo = {.threads = srv->cfg.hash_threads, .max_queue = 256};
    if (!(srv->db = mdt_db_new(&dbo, srv->loopq)) || !(srv->cpu = mdt_workq_new(&cpo, srv->loopq)))
        return -1;
    size_t board_bytes = (size_t)srv->cfg.board_cache_mb << 20;
    if (board_bytes && !(srv->boards = mdt_boardcache_new(board_bytes)))
        return -1;
    if (server_create_context(srv) != 0) {
        fprintf(stderr, "mdtboard: cannot listen on %s:%d\n", srv->cfg.listen_host,
                srv->cfg.listen_port);
        return -1;
    }
    mdt_loopq_set_context(srv->loopq, srv->ctx);
    if (server_adopt_signals(srv) != 0 || server_listen_shared(srv) != 0)
        return -1;
    if (mdt_session_start(srv) != 0 || mdt_audit_start(srv) != 0 || mdt_idem_start(srv) != 0 ||
        mdt_ws_start(srv) != 0 || mdt_hub_start(srv) != 0 || mdt_feed_start(srv) != 0 ||
        mdt_notify_start(srv) != 0 || mdt_digest_start(srv) != 0 ||
        !(srv->login_limits =
              mdt_ratelimit_new(srv->cfg.login_rate_per_min, srv->cfg.login_rate_per_min)) ||
        !(srv->calendar_limits = mdt_ratelimit_new(srv->cfg.calendar_rate, srv->cfg.calendar_rate)))
        return -1;
    mdt_listen_cb_t lcb = {server_on_notify, server_on_listen_state, srv};
    srv->listen = mdt_listen_start(srv->cfg.database_url, "mdt_events", &lcb, srv->loopq);
    return srv->listen ? 0 : -1;
}

/* Listening, and the database answered (schema and key checked): READY=1
 * to systemd, or, in a worker of MDT_WORKERS > 1 (which has no
 * NOTIFY_SOCKET), one byte on the supervisor's pipe (workers.h). */
static void server_announce_ready(mdt_server_t *srv)
{
    if (mdt_sdnotify_send("READY=1\nSTATUS=serving") < 0)
        mdt_log_warn("sd_notify READY failed", "errno=%d", errno);
    if (srv->cfg.workers <= 1 || srv->cfg.ready_fd < 0)
        return;
    if (write(srv->cfg.ready_fd, "R", 1) != 1)
        mdt_log_warn("cannot tell the supervisor this worker is ready", "errno=%d", errno);
    close(srv->cfg.ready_fd);
    srv->cfg.ready_fd = -1;
}

/* One wait of the loop at a time (libuv, or lws's poll()) until the drain
 * after a stop signal is over. */
static void server_loop(mdt_server_t *srv)
{
    if (srv->uv) {
        while (!server_drained(srv))
            uv_run(srv->uv, UV_RUN_ONCE);
        return;
    }
    while (lws_service(srv->ctx, 0) >= 0) {
        if (server_drained(srv))
            break;
    }
}

static void server_teardown(mdt_server_t *srv)
{
    if (srv->loopq)
        mdt_loopq_set_context(srv->loopq, NULL);
    if (srv->ctx) {
        lws_sul_cancel(&srv->sul_stop);
        mdt_idem_stop(srv);
        mdt_notify_stop(srv);
        mdt_digest_stop(srv);
        mdt_audit_stop(srv);
        mdt_ws_stop(srv);
        mdt_hub_stop(srv);
        mdt_feed_cancel(srv);
        lws_context_destroy(srv->ctx);
        srv->ctx = NULL; /* late callbacks schedule no timers */
    }
    server_uv_free(srv);
    mdt_listen_stop(srv->listen);
    mdt_db_t *db = srv->db;
    srv->db = NULL; /* late callbacks that submit more work are refused */
    mdt_db_free(db);
    mdt_keyring_free(srv->keyring); /* after the pool: no thread uses it any more */
    srv->keyring = NULL;
    mdt_workq_t *cpu = srv->cpu;
    srv->cpu = NULL;
    mdt_workq_free(cpu);
    mdt_digest_free(srv);
    if (srv->loopq) {
        mdt_loopq_drain(srv->loopq);
        mdt_loopq_free(srv->loopq);
    }
    mdt_audit_free(srv);
    mdt_hub_free(srv);
    mdt_ws_free(srv);
    mdt_feed_stop(srv);
    mdt_session_stop(srv);
    mdt_ratelimit_free(srv->login_limits);
    mdt_ratelimit_free(srv->calendar_limits);
    mdt_metrics_free(srv->metrics);
    mdt_boardcache_free(srv->boards);
    if (srv->signal_fd >= 0)
        close(srv->signal_fd);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
}

int mdt_server_run(const mdt_config_t *cfg)
{
    mdt_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return 1;
    srv->cfg = *cfg;
    srv->signal_fd = -1;
    srv->listen_fd = -1;
    if (mdt_log_set_level(cfg->log_level) != 0) {
        fprintf(stderr, "mdtboard: MDT_LOG_LEVEL must be error, warn, info or debug\n");
        free(srv);
        return 1;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    json_object_seed(0);
    server_raise_fd_limit();
    int rc = 1;
    if (server_check_schema(srv) != 0 || server_start(srv) != 0)
        goto exit;
    mdt_log_info("listening", "url=%s origin=%s key_id=%s", srv->cfg.origin, srv->cfg.origin,
                 srv->cfg.key_id);
    fprintf(stdout, "mdtboard: serving %s on %s:%d\n", srv->cfg.origin, srv->cfg.listen_host,
            srv->cfg.listen_port);
    fflush(stdout);
    /* listening, and the database answered (schema and key checked above) */
    server_announce_ready(srv);
    server_loop(srv);
    rc = 0;
exit:
    server_teardown(srv);
    OPENSSL_cleanse(srv->cfg.audit_key, sizeof(srv->cfg.audit_key));
    free(srv);
    return rc;
}
