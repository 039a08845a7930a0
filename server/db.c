/* db.c - database pool and parameterized-statement helpers (see db.h). */
#include "db.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbmemo.h"
#include "log.h"
#include "workq.h"

#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 1000

struct mdt_db {
    mdt_workq_t *workq;
    mdt_workq_t *live; /* the live class's own connections, or NULL */
    char *url;
    int timeout_ms;
    pthread_mutex_t lock;
    int connected;
    unsigned long long reconnects;
    const unsigned char *audit_key; /* NULL or audit_key_buf */
    unsigned char audit_key_buf[32];
    struct mdt_keyring *keyring; /* the caller's; set on every connection */
};

typedef struct {
    mdt_db_t *db;
    mdt_db_work_fn work;
    mdt_db_done_fn done;
    void *arg;
    int status;
} db_job_t;

int64_t mdt_db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void db_deferred_drop(mdt_dbc_t *c);

static void dbc_set_error(mdt_dbc_t *c, int status, const char *sqlstate, const char *msg)
{
    c->status = status;
    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", sqlstate ? sqlstate : "");
    snprintf(c->error, sizeof(c->error), "%s", msg ? msg : "");
    size_t n = strlen(c->error);
    while (n && (c->error[n - 1] == '\n' || c->error[n - 1] == ' '))
        c->error[--n] = 0;
}

/* A fixed description of a SQLSTATE's class. The server's own text is never
 * kept: its DETAIL lines, and some primary messages ("invalid input syntax
 * for type integer: \"...\""), quote the values of the row. */
static const char *db_state_text(const char *s)
{
    static const struct {
        const char *class, *text;
    } classes[] = {{"08", "connection exception"},
                   {"22", "data exception"},
                   {"23", "integrity constraint violation"},
                   {"25", "invalid transaction state"},
                   {"40", "transaction rollback"},
                   {"42", "syntax error or access rule violation"},
                   {"53", "insufficient resources"},
                   {"54", "program limit exceeded"},
                   {"57", "operator intervention"},
                   {"P0", "raised by a database function"},
                   {"XX", "internal error"}};
    for (size_t i = 0; s && i < sizeof(classes) / sizeof(classes[0]); i++) {
        if (strncmp(s, classes[i].class, 2) == 0)
            return classes[i].text;
    }
    return "database error";
}

/* Server notices (e.g. "already exists, skipping") are not errors. */
static void dbc_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void mdt_db_conn_params(const char *url, const char *app, const char *keys[MDT_DB_CONN_PARAMS],
                        const char *vals[MDT_DB_CONN_PARAMS])
{
    static const char *const k[] = {
        "dbname",          "connect_timeout",     "application_name", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", NULL};
    const char *v[] = {url, "3", app, "1", "30", "10", "3", NULL};
    for (int i = 0; i < MDT_DB_CONN_PARAMS; i++) {
        keys[i] = k[i];
        vals[i] = v[i];
    }
}

PGconn *mdt_db_connect(const char *url, const char *app)
{
    const char *keys[MDT_DB_CONN_PARAMS], *vals[MDT_DB_CONN_PARAMS];
    mdt_db_conn_params(url, app, keys, vals);
    return PQconnectdbParams(keys, vals, 1);
}

/* Connects c->conn and applies the per-statement timeout, UTC and no JIT.
 * 0 ok. */
static int dbc_connect(mdt_dbc_t *c, const char *url)
{
    c->conn = mdt_db_connect(url, "mdtboard");
    if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
        dbc_set_error(c, MDT_DB_UNAVAILABLE, "08006", c->conn ? PQerrorMessage(c->conn) : "oom");
        PQfinish(c->conn);
        c->conn = NULL;
        return -1;
    }
    PQsetNoticeProcessor(c->conn, dbc_quiet, NULL);
    char sql[96];
    snprintf(sql, sizeof(sql), "SET statement_timeout = %d", c->timeout_ms);
    PGresult *r = PQexec(c->conn, sql); /* a number we formatted, not user text */
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    r = PQexec(c->conn, "SET TIME ZONE 'UTC'");
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    r = PQexec(c->conn, "SET jit = off"); /* docs/architecture.md, "Pool sizing" */
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        dbc_set_error(c, MDT_DB_UNAVAILABLE, "08006", db_state_text("08"));
        PQfinish(c->conn);
        c->conn = NULL;
        return -1;
    }
    c->status = MDT_DB_OK;
    return 0;
}

mdt_dbc_t *mdt_dbc_open(const char *url, int timeout_ms, char *errbuf, size_t errlen)
{
    mdt_dbc_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    c->timeout_ms = timeout_ms;
    if (dbc_connect(c, url) != 0) {
        snprintf(errbuf, errlen, "%s", c->error);
        free(c);
        return NULL;
    }
    return c;
}

void mdt_dbc_close(mdt_dbc_t *c)
{
    if (!c)
        return;
    mdt_db_memo_end(c);
    db_deferred_drop(c);
    PQfinish(c->conn);
    OPENSSL_cleanse(c->audit_key, sizeof(c->audit_key));
    if (c->keyring_free)
        c->keyring_free(c->keyring);
    free(c);
}

void mdt_dbc_set_audit_key(mdt_dbc_t *c, const unsigned char *key)
{
    memcpy(c->audit_key, key, sizeof(c->audit_key));
    c->keyed = 1;
}

void mdt_db_params_init(mdt_db_params_t *p)
{
    p->n = 0;
}

void mdt_db_param_str(mdt_db_params_t *p, const char *s)
{
    if (p->n < MDT_DB_MAX_PARAMS)
        p->values[p->n++] = s;
}

void mdt_db_param_int(mdt_db_params_t *p, int64_t v)
{
    if (p->n >= MDT_DB_MAX_PARAMS)
        return;
    snprintf(p->nums[p->n], sizeof(p->nums[0]), "%" PRId64, v);
    p->values[p->n] = p->nums[p->n];
    p->n++;
}

void mdt_db_param_bool(mdt_db_params_t *p, int v)
{
    mdt_db_param_str(p, v ? "t" : "f");
}

static int status_of_sqlstate(const char *s)
{
    if (!s)
        return MDT_DB_ERROR;
    if (strcmp(s, "57014") == 0)
        return MDT_DB_TIMEOUT;
    if (strcmp(s, "23505") == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return MDT_DB_CONFLICT;
    if (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
        strcmp(s, "57P03") == 0)
        return MDT_DB_UNAVAILABLE;
    return MDT_DB_ERROR;
}

/* The failure of result r (NULL: none came, e.g. a lost connection) into
 * c; returns its status. */
static int db_result_error(mdt_dbc_t *c, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int status =
        PQstatus(c->conn) == CONNECTION_BAD ? MDT_DB_UNAVAILABLE : status_of_sqlstate(state);
    dbc_set_error(c, status, state, db_state_text(state));
    return status;
}

static int db_result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Forgets the held statements (mdt_db_defer) unsent. */
static void db_deferred_drop(mdt_dbc_t *c)
{
    for (int i = 0; i < c->n_deferred; i++)
        for (int k = 0; k < c->deferred[i].n; k++)
            free(c->deferred[i].values[k]);
    c->n_deferred = 0;
}

/* Reads the results of the nq statements of a pipeline and its sync, then
 * leaves pipeline mode. *last (when last is not NULL and every statement
 * succeeded) gets the last statement's result; the caller PQclear()s it.
 * Returns the first failure's status (the statements after it are
 * aborted by the server). */
static int db_pipeline_collect(mdt_dbc_t *c, int nq, int rc, PGresult **last)
{
    for (int k = 0; k < nq; k++) {
        PGresult *r = PQgetResult(c->conn);
        if (!r) {
            rc = rc == MDT_DB_OK ? db_result_error(c, NULL) : rc;
            break;
        }
        if (!db_result_ok(r) && rc == MDT_DB_OK)
            rc = db_result_error(c, r);
        if (k == nq - 1 && last && rc == MDT_DB_OK) {
            *last = r;
            r = NULL;
        }
        PQclear(r);
        PQclear(PQgetResult(c->conn)); /* the NULL that ends each statement's results */
    }
    PGresult *s;
    while ((s = PQgetResult(c->conn)) != NULL) {
        int sync = PQresultStatus(s) == PGRES_PIPELINE_SYNC;
        PQclear(s);
        if (sync)
            break;
    }
    if (PQexitPipelineMode(c->conn) != 1 && rc == MDT_DB_OK)
        rc = db_result_error(c, NULL);
    return rc;
}

/* Sends c's held statements and then sql with p (NULL: none) in one
 * pipeline, one round trip, and drops them. *last as db_pipeline_collect.
 * Returns the db status. */
static int db_pipeline(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p, PGresult **last)
{
    int nq = 0, rc = MDT_DB_OK;
    if (PQenterPipelineMode(c->conn) != 1) {
        rc = db_result_error(c, NULL);
        db_deferred_drop(c);
        return rc;
    }
    for (int i = 0; i < c->n_deferred && rc == MDT_DB_OK; i++) {
        const mdt_db_deferred_t *d = &c->deferred[i];
        if (PQsendQueryParams(c->conn, d->sql, d->n, NULL, (const char *const *)d->values, NULL,
                              NULL, 0) == 1)
            nq++;
        else
            rc = db_result_error(c, NULL);
    }
    if (sql && rc == MDT_DB_OK) {
        if (PQsendQueryParams(c->conn, sql, p ? p->n : 0, NULL, p ? p->values : NULL, NULL, NULL,
                              0) == 1)
            nq++;
        else
            rc = db_result_error(c, NULL);
    }
    if (PQpipelineSync(c->conn) != 1 && rc == MDT_DB_OK)
        rc = db_result_error(c, NULL);
    db_deferred_drop(c);
    return db_pipeline_collect(c, nq, rc, sql ? last : NULL);
}

PGresult *mdt_db_query(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p)
{
    if (!c->conn) {
        dbc_set_error(c, MDT_DB_UNAVAILABLE, "08003", "no connection");
        return NULL;
    }
    PGresult *r = c->memo ? mdt_dbmemo_get(c->memo, sql, p ? p->n : 0, p ? p->values : NULL) : NULL;
    if (r)
        return r;
    if (c->n_deferred > 0)
        return db_pipeline(c, sql, p, &r) == MDT_DB_OK ? r : NULL;
    r = PQexecParams(c->conn, sql, p ? p->n : 0, NULL, p ? p->values : NULL, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && c->memo)
        mdt_dbmemo_put(c->memo, sql, p ? p->n : 0, p ? p->values : NULL, r);
    if (db_result_ok(r))
        return r;
    db_result_error(c, r);
    PQclear(r);
    return NULL;
}

void mdt_db_memo_start(mdt_dbc_t *c)
{
    mdt_db_memo_end(c);
    c->memo = mdt_dbmemo_new(); /* out of memory: statements simply run */
}

void mdt_db_memo_end(mdt_dbc_t *c)
{
    mdt_dbmemo_free(c->memo);
    c->memo = NULL;
}

/* Copies p's values into d; 0, or -1 out of memory (d holds nothing). */
static int db_deferred_fill(mdt_db_deferred_t *d, const char *sql, const mdt_db_params_t *p)
{
    d->sql = sql;
    d->n = 0;
    for (int k = 0; p && k < p->n; k++) {
        d->values[k] = p->values[k] ? strdup(p->values[k]) : NULL;
        d->n = k + 1;
        if (p->values[k] && !d->values[k]) {
            for (int j = 0; j < k; j++)
                free(d->values[j]);
            d->n = 0;
            return -1;
        }
    }
    return 0;
}

int mdt_db_defer(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p)
{
    if (!c->conn) {
        dbc_set_error(c, MDT_DB_UNAVAILABLE, "08003", "no connection");
        return c->status;
    }
    if (c->n_deferred == MDT_DB_MAX_DEFERRED && db_pipeline(c, NULL, NULL, NULL) != MDT_DB_OK)
        return c->status;
    if (db_deferred_fill(&c->deferred[c->n_deferred], sql, p) != 0) {
        dbc_set_error(c, MDT_DB_ERROR, NULL, "out of memory");
        return MDT_DB_ERROR;
    }
    c->n_deferred++;
    return MDT_DB_OK;
}

int mdt_db_exec(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p)
{
    PGresult *r = mdt_db_query(c, sql, p);
    if (!r)
        return c->status;
    PQclear(r);
    return MDT_DB_OK;
}

int mdt_db_begin(mdt_dbc_t *c, const char *isolation)
{
    if (!isolation)
        return mdt_db_exec(c, "BEGIN", NULL);
    if (strcmp(isolation, "repeatable read") == 0)
        return mdt_db_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", NULL);
    if (strcmp(isolation, "serializable") == 0)
        return mdt_db_exec(c, "BEGIN ISOLATION LEVEL SERIALIZABLE", NULL);
    return mdt_db_exec(c, "BEGIN", NULL);
}

int mdt_db_commit(mdt_dbc_t *c)
{
    return mdt_db_exec(c, "COMMIT", NULL);
}

void mdt_db_rollback(mdt_dbc_t *c)
{
    db_deferred_drop(c);
    if (c->conn && PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c->conn, "ROLLBACK");
        PQclear(r);
    }
}

int64_t mdt_db_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *mdt_db_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int mdt_db_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

/* ---- the pool ---- */

static void db_set_connected(mdt_db_t *db, int delta, int reconnect)
{
    pthread_mutex_lock(&db->lock);
    db->connected += delta;
    if (reconnect)
        db->reconnects++;
    pthread_mutex_unlock(&db->lock);
}

static void *db_thread_init(void *ud)
{
    mdt_db_t *db = ud;
    mdt_dbc_t *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->timeout_ms = db->timeout_ms;
    c->backoff_ms = DB_BACKOFF_MIN_MS;
    if (db->audit_key)
        mdt_dbc_set_audit_key(c, db->audit_key);
    c->keyring = db->keyring;
    if (dbc_connect(c, db->url) == 0)
        db_set_connected(db, 1, 0);
    else
        mdt_log_warn("database connection failed", "error=\"%s\"", c->error);
    return c;
}

static void db_thread_fini(void *state)
{
    mdt_dbc_t *c = state;
    mdt_dbc_close(c);
}

/* Makes sure c has a live connection, honouring the backoff. 0 when usable. */
static int db_ensure(mdt_db_t *db, mdt_dbc_t *c)
{
    if (c->conn && PQstatus(c->conn) == CONNECTION_OK)
        return 0;
    if (c->conn) {
        PQfinish(c->conn);
        c->conn = NULL;
        db_set_connected(db, -1, 0);
    }
    int64_t now = mdt_db_now_ms();
    if (now < c->next_retry_ms)
        return -1;
    if (dbc_connect(c, db->url) == 0) {
        c->backoff_ms = DB_BACKOFF_MIN_MS;
        db_set_connected(db, 1, 1);
        return 0;
    }
    c->next_retry_ms = now + c->backoff_ms;
    c->backoff_ms = c->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : c->backoff_ms * 2;
    return -1;
}

static void db_job_work(void *state, void *arg)
{
    db_job_t *job = arg;
    mdt_dbc_t *c = state;
    if (db_ensure(job->db, c) != 0) {
        job->status = MDT_DB_UNAVAILABLE;
        return;
    }
    c->status = MDT_DB_OK;
    c->sqlstate[0] = c->error[0] = 0;
    job->status = job->work(c, job->arg);
    mdt_db_memo_end(c);
    mdt_db_rollback(c); /* a job that failed mid-transaction leaves none open */
    if (job->status != MDT_DB_OK && job->status != MDT_DB_NOT_FOUND && c->error[0])
        mdt_log_warn("query failed", "sqlstate=%s error=\"%s\"", c->sqlstate, c->error);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        job->status = MDT_DB_UNAVAILABLE;
        PQfinish(c->conn);
        c->conn = NULL;
        db_set_connected(job->db, -1, 0);
    }
}

static void db_job_done(void *arg)
{
    db_job_t *job = arg;
    job->done(job->arg, job->status);
    free(job);
}

mdt_db_t *mdt_db_new(const mdt_db_opts_t *opts, mdt_loopq_t *loopq)
{
    mdt_db_t *db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->url = strdup(opts->url);
    db->timeout_ms = opts->statement_timeout_ms;
    if (opts->audit_key) {
        memcpy(db->audit_key_buf, opts->audit_key, sizeof(db->audit_key_buf));
        db->audit_key = db->audit_key_buf;
    }
    db->keyring = opts->keyring;
    pthread_mutex_init(&db->lock, NULL);
    mdt_workq_opts_t wo = {
        .threads = opts->pool_size,
        .max_queue = opts->max_queue,
        .thread_init = db_thread_init,
        .thread_fini = db_thread_fini,
        .ud = db,
    };
    /* REST may use every connection; the others at most pool_size - 1, so
     * one connection is always left for requests */
    for (int i = MDT_DB_CLASS_REST + 1; i < MDT_DB_CLASSES; i++) {
        int max = opts->class_max[i];
        wo.class_max[i] = max > 0 && max < opts->pool_size ? max : opts->pool_size - 1;
    }
    db->workq = db->url ? mdt_workq_new(&wo, loopq) : NULL;
    if (db->workq && opts->live_conns > 0) {
        mdt_workq_opts_t lo = wo;
        lo.threads = opts->live_conns;
        memset(lo.class_max, 0, sizeof(lo.class_max));
        db->live = mdt_workq_new(&lo, loopq);
    }
    if (!db->workq || (opts->live_conns > 0 && !db->live)) {
        mdt_db_free(db);
        return NULL;
    }
    return db;
}

void mdt_db_free(mdt_db_t *db)
{
    if (!db)
        return;
    mdt_workq_free(db->live);
    mdt_workq_free(db->workq);
    pthread_mutex_destroy(&db->lock);
    OPENSSL_cleanse(db->audit_key_buf, sizeof(db->audit_key_buf));
    free(db->url);
    free(db);
}

int mdt_db_submit(mdt_db_t *db, mdt_db_work_fn work, mdt_db_done_fn done, void *arg)
{
    return mdt_db_submit_class(db, MDT_DB_CLASS_REST, work, done, arg);
}

int mdt_db_submit_class(mdt_db_t *db, mdt_db_class_t cls, mdt_db_work_fn work, mdt_db_done_fn done,
                        void *arg)
{
    if (!db)
        return -1;
    db_job_t *job = calloc(1, sizeof(*job));
    if (!job)
        return -1;
    job->db = db;
    job->work = work;
    job->done = done;
    job->arg = arg;
    job->status = MDT_DB_UNAVAILABLE; /* what done() sees if it never runs */
    mdt_workq_t *q = cls == MDT_DB_CLASS_LIVE && db->live ? db->live : db->workq;
    if (mdt_workq_submit_class(q, (int)cls, db_job_work, db_job_done, job) != 0) {
        free(job);
        return -1;
    }
    return 0;
}

void mdt_db_stats(mdt_db_t *db, mdt_db_stats_t *out)
{
    mdt_workq_stats_t ws, ls = {0};
    mdt_workq_stats(db->workq, &ws);
    if (db->live)
        mdt_workq_stats(db->live, &ls);
    out->threads = ws.threads + ls.threads;
    out->busy = ws.busy + ls.busy;
    out->queued = ws.queued + ls.queued;
    out->completed = ws.completed + ls.completed;
    out->refused = ws.refused + ls.refused;
    pthread_mutex_lock(&db->lock);
    out->connected = db->connected;
    out->reconnects = db->reconnects;
    pthread_mutex_unlock(&db->lock);
}
