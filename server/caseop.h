/* caseop.h - a request that works on a case: the case scope of the one
 * request runner (runner.h).
 *
 * mdt_caseop_run() runs op->run with this scope, on a database thread:
 * resolve the case (given, or from an object id with a one-parameter query
 * such as "SELECT case_id FROM entries WHERE id = $1"); load its
 * authorization context; refuse with 404 when the caller may not see the
 * case (no existence leak); then op->work reads or changes rows, fills
 * op->run.ans (or aborts with mdt_run_fail / mdt_run_conflict) and, for a
 * change, calls mdt_caseop_record() last. Every call on an existing
 * visible case is audited: changes in their transaction (record), reads
 * buffered (action given by op->read_action). */
#ifndef MDT_CASEOP_H
#define MDT_CASEOP_H

#include <jansson.h>
#include <stdint.h>

#include "audit.h"
#include "casectx.h"
#include "req.h"
#include "runner.h"

typedef struct mdt_caseop mdt_caseop_t;
typedef int (*mdt_caseop_fn)(mdt_dbc_t *c, mdt_caseop_t *op);

struct mdt_caseop {
    mdt_req_t *req;
    int64_t case_id;   /* set by the caller, or resolved */
    int64_t object_id; /* for resolving and for the audit row */
    const char *resolve_sql;
    mdt_caseop_fn work;
    const char *read_action; /* non-NULL: audit this as a read (e.g. "case.read") */
    const char *object_type; /* for the read audit row */
    void *ud;                /* the handler's own state */
    void (*ud_free)(void *);

    /* filled by the runner */
    mdt_casectx_t cx;
    mdt_case_ctx_t view;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    int64_t now; /* unix seconds, for consent expiry */

    /* the runner: isolation, and the answer work fills (run.ans) */
    mdt_run_t run;
};

/* Starts op (allocated by mdt_caseop_new) for req; answers req when done. */
mdt_caseop_t *mdt_caseop_new(mdt_req_t *req, mdt_caseop_fn work);
void mdt_caseop_run(mdt_caseop_t *op);
/* mdt_caseop_new with the handler's state attached (freed with the op by
 * ud_free). NULL when it could not be made: ud is freed, req answered. */
mdt_caseop_t *mdt_caseop_with(mdt_req_t *req, mdt_caseop_fn work, void *ud,
                              void (*ud_free)(void *));

/* DB thread: the scope's loading, for a work that moves between cases (a
 * bulk change): resolve op->case_id from op->object_id with resolve_sql
 * (when set), load cx and view, MDT_DB_NOT_FOUND when there is no such
 * object or case or the caller may not see the case. Returns the db status. */
int mdt_caseop_load(mdt_dbc_t *c, mdt_caseop_t *op);

/* In work: append the change's audit row and emit its event, in that
 * order, as the last statements before COMMIT. data is borrowed (the
 * event's data: ids only; subscribers load the object as they may see it).
 * Returns the db status. */
int mdt_caseop_record(mdt_dbc_t *c, mdt_caseop_t *op, const char *action, const char *object_type,
                      int64_t object_id, const char *event_kind, json_t *detail);

/* In work: the first object of items (stolen; a list that the caller may
 * see, from a kind's list function) becomes op->run.ans.result. items NULL
 * (the list failed) returns c->status; an empty list MDT_DB_NOT_FOUND. */
int mdt_caseop_answer_first(mdt_dbc_t *c, mdt_caseop_t *op, json_t *items);

#endif
