/* db.h - the one database layer.
 *
 * Two halves. The pool: a few worker threads, each owning one blocking libpq
 * connection, run jobs off the event loop and hand results back through the
 * loop queue, so a slow query delays nobody else. A dead connection is
 * re-opened with backoff; while it is down jobs fail at once with
 * MDT_DB_UNAVAILABLE (HTTP 503), and the server keeps running.
 * The query helpers: parameterized statements only (PQexecParams; a
 * held-back statement goes with the next one in libpq pipeline mode,
 * mdt_db_defer), used by pool jobs and by the command-line subcommands
 * alike. */
#ifndef MDT_DB_H
#define MDT_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "loopq.h"

struct mdt_keyring; /* keyring.h: the KEK and the data keys (sealed values) */

typedef enum {
    MDT_DB_OK = 0,
    MDT_DB_UNAVAILABLE, /* no connection: the request changed nothing */
    MDT_DB_ERROR,       /* the statement failed */
    MDT_DB_TIMEOUT,     /* statement_timeout hit */
    MDT_DB_CONFLICT,    /* unique violation or serialization failure */
    MDT_DB_NOT_FOUND,   /* for work functions: the row was not there */
    MDT_DB_REFUSED,     /* the pool queue was full */
} mdt_db_status_t;

/* Up to 32 text parameters with inline storage for numbers. */
#define MDT_DB_MAX_PARAMS 32

/* A statement held back by mdt_db_defer (its own copies of the values). */
#define MDT_DB_MAX_DEFERRED 4
typedef struct {
    const char *sql; /* a literal: outlives the transaction */
    int n;
    char *values[MDT_DB_MAX_PARAMS]; /* malloc'ed; NULL is SQL NULL */
} mdt_db_deferred_t;

/* A connection as a job sees it. */
typedef struct mdt_dbc {
    PGconn *conn;
    int status;       /* status of the last failed call, MDT_DB_OK if none */
    char sqlstate[6]; /* of the last failed statement */
    char error[256];  /* a fixed description of sqlstate's class, for logs only
                         (never the server's text: it may quote row values);
                         libpq's own text when a connection attempt failed */
    int64_t next_retry_ms;
    int backoff_ms;
    int timeout_ms;
    int keyed;                   /* audit_key is set: this connection may append audit rows */
    unsigned char audit_key[32]; /* keys the audit chain (audit.h); wiped on close */
    struct mdt_keyring *keyring; /* seals and opens values (sealed.h); NULL = none */
    /* set when the connection owns its keyring (a command-line one):
     * mdt_dbc_close frees it with this */
    void (*keyring_free)(struct mdt_keyring *);
    struct mdt_dbmemo *memo; /* mdt_db_memo_start: statement results kept, or NULL */
    /* statements waiting for the next statement or COMMIT (mdt_db_defer) */
    mdt_db_deferred_t deferred[MDT_DB_MAX_DEFERRED];
    int n_deferred;
} mdt_dbc_t;

typedef struct mdt_db mdt_db_t;

/* Kinds of work, each with its own queue and a cap on the connections it
 * may hold at once (docs/architecture.md, "Fair share of the pool"). */
typedef enum {
    MDT_DB_CLASS_REST = 0, /* requests, /healthz, sessions, audit: no cap */
    MDT_DB_CLASS_LIVE,     /* event renders and feed loads */
    MDT_DB_CLASS_REPLAY,   /* WebSocket subscribe replays */
    MDT_DB_CLASS_HEAVY,    /* long requests (reports, exports, the audit log) */
    MDT_DB_CLASSES
} mdt_db_class_t;

typedef struct {
    const char *url;
    int pool_size;
    int statement_timeout_ms;
    size_t max_queue;              /* per class */
    int class_max[MDT_DB_CLASSES]; /* connections a class may hold; 0: pool_size - 1 */
    /* Connections of their own for MDT_DB_CLASS_LIVE work (feed loads and
     * event renders), beside pool_size: requests never queue ahead of live
     * delivery. 0: live work shares the pool under its class_max. */
    int live_conns;
    const unsigned char *audit_key; /* 32 bytes, copied to every connection; NULL = none */
    struct mdt_keyring *keyring;    /* shared by every connection, owned by the caller */
} mdt_db_opts_t;

/* work(c, arg) on a database thread returns an mdt_db_status_t;
 * done(arg, status) then runs on the event loop. */
typedef int (*mdt_db_work_fn)(mdt_dbc_t *c, void *arg);
typedef void (*mdt_db_done_fn)(void *arg, int status);

mdt_db_t *mdt_db_new(const mdt_db_opts_t *opts, mdt_loopq_t *loopq);
void mdt_db_free(mdt_db_t *db);
/* 0 queued; -1 refused (queue full): nothing will be called. */
int mdt_db_submit(mdt_db_t *db, mdt_db_work_fn work, mdt_db_done_fn done, void *arg);
/* The same for another class of work (mdt_db_submit is MDT_DB_CLASS_REST). */
int mdt_db_submit_class(mdt_db_t *db, mdt_db_class_t cls, mdt_db_work_fn work, mdt_db_done_fn done,
                        void *arg);

/* threads, busy, queued and completed count the live connections too. */
typedef struct {
    int threads, busy, connected;
    size_t queued;
    unsigned long long completed, refused, reconnects;
} mdt_db_stats_t;
void mdt_db_stats(mdt_db_t *db, mdt_db_stats_t *out);

/* ---- connections and statements (any thread) ---- */

/* Opens a connection for synchronous use (CLI). NULL and *err (static text
 * or PQerrorMessage copied into errbuf) on failure. Free with mdt_dbc_close. */
/* The libpq connection options of every connection the server opens:
 * url (as dbname), a 3 s connect timeout, application_name app, and TCP
 * keepalives (idle 30 s, then 3 probes 10 s apart), so a peer that vanished
 * without a reset (a dead host, a dropped NAT entry) fails the connection
 * within about a minute instead of leaving it silent forever. keys and
 * vals get MDT_DB_CONN_PARAMS entries, NULL-terminated; url and app are
 * borrowed. (Keepalives apply to TCP; Unix sockets ignore them.) */
#define MDT_DB_CONN_PARAMS 8
void mdt_db_conn_params(const char *url, const char *app, const char *keys[MDT_DB_CONN_PARAMS],
                        const char *vals[MDT_DB_CONN_PARAMS]);
/* A blocking connect with those options; check PQstatus, PQfinish always. */
PGconn *mdt_db_connect(const char *url, const char *app);

mdt_dbc_t *mdt_dbc_open(const char *url, int timeout_ms, char *errbuf, size_t errlen);
void mdt_dbc_close(mdt_dbc_t *c);
/* Copies the 32-byte audit chain key into c (see audit.h). */
void mdt_dbc_set_audit_key(mdt_dbc_t *c, const unsigned char *key);

typedef struct {
    int n;
    const char *values[MDT_DB_MAX_PARAMS];
    char nums[MDT_DB_MAX_PARAMS][24];
} mdt_db_params_t;

void mdt_db_params_init(mdt_db_params_t *p);

/* From now until mdt_db_memo_end, a SELECT c already ran with the same text
 * and parameters answers a copy of its first result without a round trip
 * (dbmemo.h). Only for read-only work inside one repeatable-read
 * transaction, where the same statement cannot answer differently; end it
 * before that transaction ends. Ending frees what was kept; a job ends any
 * memo its work left on. */
void mdt_db_memo_start(mdt_dbc_t *c);
void mdt_db_memo_end(mdt_dbc_t *c);
void mdt_db_param_str(mdt_db_params_t *p, const char *s); /* NULL is SQL NULL */
void mdt_db_param_int(mdt_db_params_t *p, int64_t v);
void mdt_db_param_bool(mdt_db_params_t *p, int v);

/* Runs one parameterized statement. Returns the result (caller PQclear()s)
 * when it succeeded, NULL when it failed: c->status, sqlstate, error tell. */
PGresult *mdt_db_query(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p);
/* The same for a statement whose rows are not wanted; returns c->status. */
int mdt_db_exec(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p);
/* Holds back a statement whose rows nobody reads, in an open transaction:
 * it is sent with the next statement on c, or with COMMIT, in one round
 * trip (libpq pipeline mode), in the order given. A change's last
 * statements under the ledger lock go this way (docs/performance.md, "The
 * create path"). sql must be a literal (it is kept by pointer); p's values
 * are copied. Its failure is the failure of the statement or COMMIT it was
 * sent with (the transaction is then aborted). ROLLBACK drops what is held.
 * Returns MDT_DB_OK, or the status of sending what was held when the queue
 * was full, or MDT_DB_ERROR out of memory. */
int mdt_db_defer(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p);
/* BEGIN [ISOLATION LEVEL ...], COMMIT, ROLLBACK (rollback never fails loudly).
 * COMMIT sends the held statements first, in the same round trip. */
int mdt_db_begin(mdt_dbc_t *c, const char *isolation);
int mdt_db_commit(mdt_dbc_t *c);
void mdt_db_rollback(mdt_dbc_t *c);

int64_t mdt_db_int(const PGresult *r, int row, int col);
const char *mdt_db_str(const PGresult *r, int row, int col); /* NULL when SQL NULL */
int mdt_db_bool(const PGresult *r, int row, int col);

int64_t mdt_db_now_ms(void);

#endif
