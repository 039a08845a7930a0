/* runner.h - the one request runner and the one way to abort with an answer.
 *
 * A handler that works on the database fills an mdt_run_t and calls
 * mdt_run_start(). On a database thread the runner does: run->pre (before
 * any transaction, optional); with run->cpu set, the runner then leaves
 * the database thread, runs run->cpu on the cpu pool (password hashing)
 * and comes back to a database thread; BEGIN at run->isolation; run->scope (load
 * what the request is about and decide whether the caller may see it,
 * optional); the Idempotency-Key claim; run->work; the Idempotency-Key
 * store; COMMIT. Any step may abort with an answer: it calls
 * mdt_run_fail() or mdt_run_conflict() and returns what they return
 * (MDT_RUN_ANSWERED); the runner then rolls back, skips the rest and sends
 * that answer. A step returning another non-OK db status rolls back and
 * answers it as mdt_http_fail_db does (MDT_DB_NOT_FOUND: 404). Back on the
 * loop run->finish (optional: read audit, cache updates) sees the final
 * status (also MDT_DB_REFUSED when a pool refused the job), then the answer
 * is sent: the error, else the stored or replayed answer of an
 * Idempotency-Key, else run->ans.text (a document) or run->ans.result with
 * run->ans.ok_status (204: no body). finish may still set the answer:
 * mdt_run_fail there refuses after COMMIT (a failed sign-in whose audit and
 * failure count must stay). A failed status is answered as mdt_http_fail_db
 * does, unless run->answers_failure is set: finish then answers it in
 * run->ans (/healthz's own 503 body).
 *
 * Idempotent creates: a handler of a route flagged MDT_R_IDEMPOTENT sets
 * run->idempotent. The runner then reads the request's key before queuing
 * (idem.h), claims it after the scope's visibility check (a replay, 409 or
 * 422 skips work and rolls back; run->idem.replayed tells finish), stores
 * run->ans as the key's answer just before COMMIT, and sends those same
 * bytes. Without a key, or unflagged, these steps do nothing.
 *
 * Denied attempts: a scope that refuses returns MDT_DB_NOT_FOUND (or
 * answers 403/404 with mdt_run_fail), or a change (not GET) is answered
 * 403; the runner then buffers one audit row with outcome "denied" (and
 * never a successful one: finish steps audit only answered reads). The
 * row names run->audit (filled by the scope where it knows better), else
 * what the route says: the object type from the path's first collection,
 * its id from the first {id}, the case when that collection is cases, and
 * the action "<object>.read" / "<object>.<sub-resource>" for a GET,
 * "<object>[.<sub>].create|update|delete" otherwise. detail holds only the
 * method, the route pattern and the status. */
#ifndef MDT_RUNNER_H
#define MDT_RUNNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "db.h"
#include "err.h"
#include "idem.h"
#include "req.h"

/* What a step returns when it set the answer (never a db status). */
#define MDT_RUN_ANSWERED (-1)

/* The answer a request will get. */
typedef struct {
    int ok_status;   /* 200 unless set */
    json_t *result;  /* on success: the body (NULL: {}) */
    json_t *current; /* with a 409: error.current; a 410: error.tombstone (NULL: left out) */
    char *text;      /* on success: a document instead of JSON (malloc'ed) */
    size_t text_len;
    const char *text_type;
    /* on success: a streamed document of stream_len bytes instead
     * (mdt_http_respond_stream; pull_ud lives until the request is freed) */
    long (*pull)(void *ud, char *buf, size_t max);
    void *pull_ud;
    size_t stream_len;
    mdt_err_t err; /* status != 0: the answer is this error */
} mdt_answer_t;

/* What a denied row names, where the scope knows better than the route. */
typedef struct {
    const char *action;      /* NULL: from the route */
    const char *object_type; /* NULL: from the route */
    int64_t object_id;       /* 0: the route's first {id} */
    int64_t case_id;         /* 0: the route's {id} under /cases, else none */
} mdt_run_audit_t;

typedef struct mdt_run mdt_run_t;
/* A step on the database thread; op is run->op. Returns a db status or
 * MDT_RUN_ANSWERED. */
typedef int (*mdt_run_fn)(mdt_dbc_t *c, void *op);

struct mdt_run {
    mdt_req_t *req;
    void *op;              /* the handler's state, passed to every step */
    const char *isolation; /* NULL, "repeatable read" or "serializable" */
    mdt_run_fn pre;        /* optional, before BEGIN */
    void (*cpu)(void *op); /* optional, on the cpu pool after pre, before BEGIN */
    mdt_run_fn scope;      /* optional, first in the transaction: load and decide */
    mdt_run_fn work;
    void (*finish)(void *op, int status); /* optional, loop, before answering */
    int idempotent;                       /* a create that honours Idempotency-Key */
    int claim_in_work;                    /* the work claims the key itself (mdt_run_claim), once it
                                             knows the request's fingerprint (a streamed body) */
    mdt_answer_t ans;
    int denied;            /* scope refused (404/403): for the audit of denied attempts */
    mdt_run_audit_t audit; /* set by a scope for the denied row */
    int answers_failure;   /* finish answers a failed status itself (in ans) */
    mdt_idem_t idem;       /* the key, when idempotent (runner's own) */
};

/* Loop: fills the defaults of run (ok_status 200) for req and op. */
void mdt_run_init(mdt_run_t *run, mdt_req_t *req, void *op, mdt_run_fn work);
/* Loop: a zeroed op of size bytes whose FIRST member is its mdt_run_t,
 * initialised for req with work (mdt_run_init) and hung on req->state with
 * op_free (NULL: mdt_run_free, then free; an op_free of its own must call
 * mdt_run_free). NULL when out of memory: req is then answered 500. */
void *mdt_run_new(mdt_req_t *req, size_t size, mdt_run_fn work, void (*op_free)(void *));
/* Loop: runs it; req is answered when it is done (at once when the pool
 * refuses it or the key cannot be read). run must live until then (hang
 * its op on req->state). */
void mdt_run_start(mdt_run_t *run);
/* Loop: buffers the "denied" audit row of req answered status (see above).
 * known may be NULL; who is the actor (NULL: the request's caller). The
 * gate uses it for its administrators-only refusal. */
void mdt_run_audit_denied(mdt_req_t *req, const mdt_run_audit_t *known,
                          const mdt_audit_actor_t *who, int status);
/* Frees what the answer and the key hold (result, current, text, idem). */
void mdt_run_free(mdt_run_t *run);

/* In work, with run->claim_in_work: the Idempotency-Key claim (see above;
 * the fingerprint set first, mdt_idem_set_digest). MDT_DB_OK to go on,
 * MDT_RUN_ANSWERED (a replay, 409, 422: return it, the runner rolls back
 * what work wrote) or a failed db status. */
int mdt_run_claim(mdt_dbc_t *c, mdt_run_t *run);

/* In a step: the answer is this error. Returns MDT_RUN_ANSWERED. */
int mdt_run_fail(mdt_run_t *run, int status, const char *code, const char *field,
                 const char *message);
/* In a step: 409 conflict with error.current = current (stolen; NULL
 * leaves it out). Returns MDT_RUN_ANSWERED. */
int mdt_run_conflict(mdt_run_t *run, const char *message, json_t *current);
/* In a step: 410 gone with error.tombstone = tombstone (stolen; NULL leaves
 * it out): what is left of a purged case (docs/retention.md). Returns
 * MDT_RUN_ANSWERED. */
int mdt_run_gone(mdt_run_t *run, const char *message, json_t *tombstone);

#endif
