/* audit.c - appending to and buffering the keyed audit chain (see audit.h);
 * audit_verify.c checks it. */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "crypto.h"
#include "events.h"
#include "req.h"
#include "log.h"
#include "server_ctx.h"

void mdt_audit_actor_from_req(const mdt_req_t *req, mdt_audit_actor_t *actor)
{
    memset(actor, 0, sizeof(*actor));
    snprintf(actor->address, sizeof(actor->address), "%s", req->peer);
    const mdt_user_t *u = mdt_auth_user(req);
    if (!u)
        return;
    actor->user_id = u->user_id;
    actor->agency_id = u->agency_id;
    snprintf(actor->username, sizeof(actor->username), "%s", u->username);
}

/* One row as the JSON object mdt_audit_prepare()/mdt_audit_insert() in SQL take
 * (schema/007_audit_keyed.sql). at may be NULL. */
static json_t *audit_row(const mdt_audit_actor_t *a, const mdt_audit_rec_t *r, const char *at)
{
    json_t *o = json_object();
    if (at)
        json_object_set_new(o, "at", json_string(at));
    if (a->user_id)
        json_object_set_new(o, "user_id", json_integer(a->user_id));
    if (a->username[0])
        json_object_set_new(o, "username", json_string(a->username));
    if (a->agency_id)
        json_object_set_new(o, "agency_id", json_integer(a->agency_id));
    if (a->address[0])
        json_object_set_new(o, "address", json_string(a->address));
    json_object_set_new(o, "action", json_string(r->action));
    if (r->object_type)
        json_object_set_new(o, "object_type", json_string(r->object_type));
    if (r->object_id)
        json_object_set_new(o, "object_id", json_integer(r->object_id));
    if (r->case_id)
        json_object_set_new(o, "case_id", json_integer(r->case_id));
    json_object_set_new(o, "outcome", json_string(r->outcome ? r->outcome : "ok"));
    json_object_set(o, "detail", r->detail ? r->detail : json_object());
    if (!r->detail)
        json_decref(json_object_get(o, "detail"));
    return o;
}

int mdt_audit_link_hash(const unsigned char *key, const char *prev, const char *canon, char out[65])
{
    size_t pl = strlen(prev), cl = strlen(canon);
    char *buf = malloc(pl + 1 + cl);
    if (!buf)
        return -1;
    memcpy(buf, prev, pl);
    buf[pl] = '\n';
    memcpy(buf + pl + 1, canon, cl);
    int rc = 0;
    if (key)
        rc = mdt_crypto_hmac_sha256_hex(key, MDT_AUDIT_KEY_BYTES, buf, pl + 1 + cl, out);
    else
        mdt_crypto_sha256_hex(buf, pl + 1 + cl, out);
    free(buf);
    return rc;
}

static int audit_fail(mdt_dbc_t *c, const char *why)
{
    c->status = MDT_DB_ERROR;
    snprintf(c->error, sizeof(c->error), "%s", why);
    return MDT_DB_ERROR;
}

/* The keyed hashes of the rows mdt_audit_prepare answered, as a JSON array
 * (caller decrefs); *after is the head id they follow. NULL on failure. */
static json_t *audit_chain_hashes(const unsigned char *key, PGresult *r, int64_t *after)
{
    int n = PQntuples(r);
    json_t *hashes = json_array();
    char prev[65], hash[65];
    if (!hashes || n == 0)
        goto fail;
    *after = mdt_db_int(r, 0, 0) - 1;
    snprintf(prev, sizeof(prev), "%s", mdt_db_str(r, 0, 2));
    for (int i = 0; i < n; i++) {
        if (mdt_audit_link_hash(key, prev, mdt_db_str(r, i, 1), hash) != 0 ||
            json_array_append_new(hashes, json_string(hash)) != 0)
            goto fail;
        memcpy(prev, hash, sizeof(prev));
    }
    return hashes;
fail:
    json_decref(hashes);
    return NULL;
}

/* The last statement under the ledger lock: stores rows (JSON text) with
 * hashes following head id after and emits ev (JSON text, NULL = none)
 * (schema/019_create_path.sql), held back to go with COMMIT in one round
 * trip (mdt_db_defer). Returns the db status. */
static int audit_insert_emit(mdt_dbc_t *c, const char *rows, const char *hashes, int64_t after,
                             const char *ev)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, rows);
    mdt_db_param_str(&p, hashes);
    mdt_db_param_int(&p, after);
    mdt_db_param_str(&p, ev);
    return mdt_db_defer(c, "SELECT mdt_audit_insert_emit($1::jsonb, $2::jsonb, $3, $4::jsonb)", &p);
}

/* Takes the ledger lock and keys rows (JSON text): the hashes as JSON text
 * into *hashes (malloc'ed, the caller frees) and the head id they follow
 * into *after. Returns the db status. */
static int audit_prepare(mdt_dbc_t *c, const char *rows, char **hashes, int64_t *after)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, rows);
    PGresult *r = mdt_db_query(
        c, "SELECT row_id, row_canonical, chain_head FROM mdt_audit_prepare($1::jsonb)", &p);
    if (!r)
        return c->status;
    json_t *h = audit_chain_hashes(c->audit_key, r, after);
    *hashes = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    PQclear(r);
    return *hashes ? MDT_DB_OK : audit_fail(c, "computing the audit chain failed");
}

/* Appends a JSON array of rows, keyed with c->audit_key, and emits ev
 * (NULL = no event) in c's transaction (in one of its own when c has none
 * open: the ledger lock must span both statements). The lock is taken by
 * the first statement; the second is held back and sent with the next
 * statement or COMMIT (docs/performance.md, "The create path"). */
static int audit_append_rows(mdt_dbc_t *c, json_t *rows, const mdt_event_t *ev)
{
    if (json_array_size(rows) == 0)
        return MDT_DB_OK;
    if (!c->keyed)
        return audit_fail(c, "no audit key (MDT_KEY_FILE) on this connection");
    int own_tx = PQtransactionStatus(c->conn) == PQTRANS_IDLE;
    json_t *evj = ev ? mdt_event_json(ev) : NULL;
    char *s = json_dumps(rows, JSON_COMPACT), *hs = NULL;
    char *es = evj ? json_dumps(evj, JSON_COMPACT) : NULL;
    int64_t after = 0;
    int rc = s && (!ev || es) ? MDT_DB_OK : audit_fail(c, "out of memory");
    if (rc == MDT_DB_OK && own_tx)
        rc = mdt_db_begin(c, NULL);
    if (rc == MDT_DB_OK)
        rc = audit_prepare(c, s, &hs, &after);
    if (rc == MDT_DB_OK)
        rc = audit_insert_emit(c, s, hs, after, es);
    if (rc == MDT_DB_OK && own_tx)
        rc = mdt_db_commit(c);
    else if (own_tx)
        mdt_db_rollback(c);
    json_decref(evj);
    free(es);
    free(hs);
    free(s);
    return rc;
}

/* rec as a one-row array for audit_append_rows; NULL when out of memory. */
static json_t *audit_one(const mdt_audit_actor_t *actor, const mdt_audit_rec_t *rec)
{
    json_t *rows = json_array();
    if (rows && json_array_append_new(rows, audit_row(actor, rec, NULL)) != 0) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}

int mdt_audit_append(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const mdt_audit_rec_t *rec)
{
    json_t *rows = audit_one(actor, rec);
    int rc = rows ? audit_append_rows(c, rows, NULL) : audit_fail(c, "out of memory");
    json_decref(rows);
    return rc;
}

int mdt_audit_append_event(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const mdt_audit_rec_t *rec,
                           const mdt_event_t *ev)
{
    json_t *rows = audit_one(actor, rec);
    int rc = rows ? audit_append_rows(c, rows, ev) : audit_fail(c, "out of memory");
    json_decref(rows);
    return rc;
}

/* ---- buffered reads ---- */

/* A request waiting until every read buffered before it is written (the
 * test hook mdt_audit_test_flush). */
typedef struct audit_waiter {
    struct audit_waiter *next;
    mdt_req_t *req;
    uint64_t target; /* answered once `written` reaches it */
} audit_waiter_t;

struct mdt_audit_buf {
    json_t *rows; /* pending, loop thread only */
    lws_sorted_usec_list_t sul;
    mdt_server_t *srv;
    int flushing, stopped;
    uint64_t queued, written; /* reads buffered / committed since start */
    uint64_t failures;        /* flushes that failed (their rows are retried) */
    audit_waiter_t *waiters;
};
typedef struct mdt_audit_buf audit_buf_t;

static void audit_now(char out[64])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
}

void mdt_audit_read(mdt_server_t *srv, const mdt_audit_actor_t *actor, const mdt_audit_rec_t *rec)
{
    audit_buf_t *b = srv->audit;
    if (!b)
        return;
    char at[64];
    audit_now(at);
    json_array_append_new(b->rows, audit_row(actor, rec, at));
    b->queued++;
}

/* Answers the waiters whose reads are all written (all of them when the
 * buffer is stopping). */
static void audit_answer_waiters(audit_buf_t *b)
{
    audit_waiter_t **pp = &b->waiters;
    while (*pp) {
        audit_waiter_t *w = *pp;
        if (w->target > b->written && !b->stopped) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        mdt_http_respond_json(w->req, 200, json_pack("{s:I}", "written", (json_int_t)b->written));
        free(w);
    }
}

typedef struct {
    json_t *rows;
    audit_buf_t *b;
} audit_flush_t;

static int audit_flush_work(mdt_dbc_t *c, void *arg)
{
    audit_flush_t *f = arg;
    int rc = mdt_db_begin(c, NULL);
    if (rc == MDT_DB_OK)
        rc = audit_append_rows(c, f->rows, NULL);
    if (rc == MDT_DB_OK)
        rc = mdt_db_commit(c);
    return rc;
}

static void audit_schedule(audit_buf_t *b);

static void audit_flush_done(void *arg, int status)
{
    audit_flush_t *f = arg;
    audit_buf_t *b = f->b;
    if (status == MDT_DB_OK)
        b->written += json_array_size(f->rows);
    if (status != MDT_DB_OK) {
        /* keep the rows: prepend them to what came meanwhile, retry next tick */
        json_array_extend(f->rows, b->rows);
        json_decref(b->rows);
        b->rows = f->rows;
        f->rows = NULL;
        b->failures++;
        mdt_log_warn("audit flush failed, will retry", "rows=%zu", json_array_size(b->rows));
    }
    json_decref(f->rows);
    free(f);
    b->flushing = 0;
    audit_answer_waiters(b);
    if (b->srv->ctx && !b->stopped)
        audit_schedule(b);
}

static void audit_tick(lws_sorted_usec_list_t *sul)
{
    audit_buf_t *b = lws_container_of(sul, audit_buf_t, sul);
    if (b->flushing || json_array_size(b->rows) == 0) {
        audit_schedule(b);
        return;
    }
    audit_flush_t *f = malloc(sizeof(*f));
    if (!f) {
        audit_schedule(b);
        return;
    }
    f->rows = b->rows;
    f->b = b;
    b->rows = json_array();
    b->flushing = 1;
    if (mdt_db_submit(b->srv->db, audit_flush_work, audit_flush_done, f) != 0)
        audit_flush_done(f, MDT_DB_REFUSED);
}

static void audit_schedule(audit_buf_t *b)
{
    lws_sul_schedule(b->srv->ctx, 0, &b->sul, audit_tick, MDT_AUDIT_FLUSH_MS * LWS_US_PER_MS);
}

void mdt_audit_stats(const mdt_server_t *srv, mdt_audit_stats_t *out)
{
    const audit_buf_t *b = srv->audit;
    *out = (mdt_audit_stats_t){0};
    if (!b)
        return;
    out->written = b->written;
    out->failures = b->failures;
    out->pending = b->queued - b->written;
}

int mdt_audit_start(mdt_server_t *srv)
{
    audit_buf_t *b = calloc(1, sizeof(*b));
    if (!b || !(b->rows = json_array())) {
        free(b);
        return -1;
    }
    b->srv = srv;
    srv->audit = b;
    audit_schedule(b);
    return 0;
}

void mdt_audit_stop(mdt_server_t *srv)
{
    audit_buf_t *b = srv->audit;
    if (!b)
        return;
    lws_sul_cancel(&b->sul);
    b->stopped = 1;
    if (json_array_size(b->rows) > 0) {
        char err[256];
        mdt_dbc_t *c = mdt_dbc_open(srv->cfg.database_url, 5000, err, sizeof(err));
        if (c)
            mdt_dbc_set_audit_key(c, srv->cfg.audit_key);
        audit_flush_t f = {b->rows, b};
        if (!c || audit_flush_work(c, &f) != MDT_DB_OK)
            mdt_log_error("audit rows lost at shutdown", "rows=%zu", json_array_size(b->rows));
        mdt_dbc_close(c);
        json_decref(b->rows);
        b->rows = json_array();
    }
    audit_answer_waiters(b);
}

void mdt_audit_test_flush(mdt_req_t *req)
{
#ifdef MDT_TEST_HOOKS
    audit_buf_t *b = req->srv->audit;
    audit_waiter_t *w = b && !b->stopped ? malloc(sizeof(*w)) : NULL;
    if (!w) {
        mdt_http_error(req, 503, "unavailable", NULL, "the audit buffer is not running");
        return;
    }
    *w = (audit_waiter_t){b->waiters, req, b->queued};
    b->waiters = w;
    if (b->written >= b->queued) {
        audit_answer_waiters(b); /* nothing buffered or in flight */
    } else if (!b->flushing) {
        /* flush now rather than at the next tick */
        lws_sul_cancel(&b->sul);
        audit_tick(&b->sul);
    }
#else
    mdt_http_error(req, 404, "not_found", NULL, "no such resource");
#endif
}

void mdt_audit_free(mdt_server_t *srv)
{
    audit_buf_t *b = srv->audit;
    if (!b)
        return;
    json_decref(b->rows);
    free(b);
    srv->audit = NULL;
}

int mdt_audit_role_check(mdt_dbc_t *c, char *what, size_t size)
{
    PGresult *r = mdt_db_query(
        c,
        "SELECT current_user, r.rolsuper, pg_has_role(current_user, t.tableowner, 'USAGE')"
        " FROM pg_roles r, pg_tables t WHERE r.rolname = current_user"
        " AND t.schemaname = 'public' AND t.tablename = 'audit'",
        NULL);
    if (!r || PQntuples(r) != 1) {
        snprintf(what, size, "%s", r ? "no audit table" : c->error);
        PQclear(r);
        return -1;
    }
    int super = mdt_db_bool(r, 0, 1), owner = mdt_db_bool(r, 0, 2);
    snprintf(what, size, "%s%s", mdt_db_str(r, 0, 0),
             super   ? " (superuser)"
             : owner ? " (owns the audit table)"
                     : "");
    PQclear(r);
    return super || owner ? 1 : 0;
}
