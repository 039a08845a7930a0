/* audit.c - appending, buffering and verifying the audit chain (see audit.h). */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "server.h"

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

/* One row as the JSON object mdt_audit_append() in SQL takes. at may be NULL. */
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

/* Appends a JSON array of rows in c's transaction. */
static int audit_append_rows(mdt_dbc_t *c, json_t *rows)
{
    char *s = json_dumps(rows, JSON_COMPACT);
    if (!s)
        return MDT_DB_ERROR;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, s);
    int rc = mdt_db_exec(c, "SELECT mdt_audit_append($1::jsonb)", &p);
    free(s);
    return rc;
}

int mdt_audit_append(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const mdt_audit_rec_t *rec)
{
    json_t *rows = json_array();
    json_array_append_new(rows, audit_row(actor, rec, NULL));
    int rc = audit_append_rows(c, rows);
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
        rc = audit_append_rows(c, f->rows);
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

/* ---- verification ---- */

int mdt_audit_verify(mdt_dbc_t *c, int64_t *bad_id, int64_t *rows, char *err, size_t errlen)
{
    *bad_id = 0;
    *rows = 0;
    char prev[65];
    memset(prev, '0', 64);
    prev[64] = 0;
    int64_t after = 0;
    for (;;) {
        mdt_db_params_t p;
        mdt_db_params_init(&p);
        mdt_db_param_int(&p, after);
        PGresult *r = mdt_db_query(c,
                                   "SELECT id, prev_hash, hash, mdt_audit_canonical(a) FROM audit a"
                                   " WHERE id > $1 ORDER BY id LIMIT 5000",
                                   &p);
        if (!r) {
            snprintf(err, errlen, "reading the audit log failed: %s", c->error);
            return -1;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            int64_t id = mdt_db_int(r, i, 0);
            const char *canon = mdt_db_str(r, i, 3);
            size_t cl = strlen(canon);
            char *buf = malloc(64 + 1 + cl);
            char hash[65];
            memcpy(buf, prev, 64);
            buf[64] = '\n';
            memcpy(buf + 65, canon, cl);
            mdt_crypto_sha256_hex(buf, 65 + cl, hash);
            free(buf);
            if (strcmp(mdt_db_str(r, i, 1), prev) != 0 || strcmp(mdt_db_str(r, i, 2), hash) != 0) {
                *bad_id = id;
                PQclear(r);
                return 1;
            }
            memcpy(prev, hash, 65);
            after = id;
            (*rows)++;
        }
        PQclear(r);
        if (n < 5000)
            return 0;
    }
}
