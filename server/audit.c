/* audit.c - appending, buffering and verifying the audit chain (see audit.h). */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "crypto.h"
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

struct mdt_audit_buf {
    json_t *rows; /* pending, loop thread only */
    lws_sorted_usec_list_t sul;
    mdt_server_t *srv;
    int flushing, stopped;
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
