/* caseop.h - the one way a request works on a case.
 *
 * mdt_caseop_run() does, on a database thread: BEGIN (at the isolation
 * asked for); resolve the case (given, or from an object id with a
 * one-parameter query such as "SELECT case_id FROM entries WHERE id = $1");
 * load its authorization context; refuse with 404 when the caller may not
 * see the case (no existence leak); then call op->work, which reads or
 * changes rows, fills op->result (or op->err) and, for a change, calls
 * mdt_caseop_record() last; COMMIT. Back on the loop it answers: op->err
 * when set, else op->result with op->ok_status. Every call on an existing
 * visible case is audited: changes in their transaction (record), reads
 * buffered (action given by op->read_action). */
#ifndef MDT_CASEOP_H
#define MDT_CASEOP_H

#include <jansson.h>
#include <stdint.h>

#include "audit.h"
#include "casectx.h"
#include "err.h"
#include "http.h"
#include "idem.h"

typedef struct mdt_caseop mdt_caseop_t;
typedef int (*mdt_caseop_fn)(mdt_dbc_t *c, mdt_caseop_t *op);

struct mdt_caseop {
    mdt_req_t *req;
    int64_t case_id;   /* set by the caller, or resolved */
    int64_t object_id; /* for resolving and for the audit row */
    const char *resolve_sql;
    const char *isolation; /* NULL, "repeatable read" or "serializable" */
    mdt_caseop_fn work;
    int ok_status;           /* 200 or 201 */
    const char *read_action; /* non-NULL: audit this as a read (e.g. "case.read") */
    const char *object_type; /* for the read audit row */
    void *ud;                /* the handler's own state */
    void (*ud_free)(void *);

    /* filled by the runner */
    mdt_casectx_t cx;
    mdt_case_ctx_t view;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    int64_t now;     /* unix seconds, for consent expiry */
    int64_t seq;     /* event seq of the change, if any */
    mdt_idem_t idem; /* Idempotency-Key of a create (idem.h) */

    /* filled by work */
    json_t *result;
    mdt_err_t err;
};

/* Starts op (allocated by mdt_caseop_new) for req; answers req when done. */
mdt_caseop_t *mdt_caseop_new(mdt_req_t *req, mdt_caseop_fn work);
void mdt_caseop_run(mdt_caseop_t *op);
/* mdt_caseop_new with the handler's state attached (freed with the op by
 * ud_free). NULL when it could not be made: ud is freed, req answered. */
mdt_caseop_t *mdt_caseop_with(mdt_req_t *req, mdt_caseop_fn work, void *ud,
                              void (*ud_free)(void *));

/* In work: append the change's audit row and emit its event, in that
 * order, as the last statements before COMMIT. data is borrowed (the
 * event's data: ids only; subscribers load the object as they may see it).
 * Returns the db status. */
int mdt_caseop_record(mdt_dbc_t *c, mdt_caseop_t *op, const char *action, const char *object_type,
                      int64_t object_id, const char *event_kind, json_t *detail);

/* In work: set an error answer (and return MDT_DB_OK so the runner rolls
 * back and answers it). */
int mdt_caseop_fail(mdt_caseop_t *op, int status, const char *code, const char *field,
                    const char *message);

#endif
