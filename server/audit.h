/* audit.h - the audit trail: who, agency, when, from where, what, outcome.
 *
 * Changes append their rows inside their own transaction (mdt_audit_append,
 * on a database thread), chained under the ledger row lock. Reads are many:
 * mdt_audit_read() buffers them on the loop and a timer writes the buffer as
 * one chained batch at least every 200 ms. `detail` never holds case text,
 * PII or search strings: callers pass only ids, field names and counts. */
#ifndef MDT_AUDIT_H
#define MDT_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

struct mdt_server;
struct mdt_req;

#define MDT_AUDIT_FLUSH_MS 200

typedef struct {
    int64_t user_id; /* 0 = none (e.g. unknown user at login) */
    char username[72];
    int64_t agency_id;
    char address[64];
} mdt_audit_actor_t;

typedef struct {
    const char *action;      /* e.g. "login", "user.create", "case.read" */
    const char *object_type; /* NULL or "user", "agency", "case", ... */
    int64_t object_id;       /* 0 = none */
    int64_t case_id;         /* 0 = none */
    const char *outcome;     /* "ok", "failure", "denied", ... (NULL = "ok") */
    json_t *detail;          /* borrowed; NULL = {} */
} mdt_audit_rec_t;

/* Fills actor from the request's caller (or only the address when the
 * request has no session). */
void mdt_audit_actor_from_req(const struct mdt_req *req, mdt_audit_actor_t *actor);

/* Appends one row in c's open transaction (worker thread). Returns the
 * database status. */
int mdt_audit_append(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const mdt_audit_rec_t *rec);

/* Loop thread: buffers a read to be written within MDT_AUDIT_FLUSH_MS. */
void mdt_audit_read(struct mdt_server *srv, const mdt_audit_actor_t *actor,
                    const mdt_audit_rec_t *rec);
/* Loop thread: starts the flush timer; mdt_audit_stop flushes synchronously
 * what is left (at shutdown). */
int mdt_audit_start(struct mdt_server *srv);
void mdt_audit_stop(struct mdt_server *srv);
/* Test hook (MDT_TEST_HOOKS builds): answers req with {"written": N} once
 * every read buffered before it was called is committed, flushing at once
 * instead of at the next tick. Lets a test assert that a read left no audit
 * row without sleeping. */
void mdt_audit_test_flush(struct mdt_req *req);
/* After the loop queue is drained: frees the buffer. */
void mdt_audit_free(struct mdt_server *srv);

/* Walks the whole chain. Returns 0 when intact; 1 with *bad_id set to the
 * first row whose prev_hash or hash does not match; -1 on database error. */
int mdt_audit_verify(mdt_dbc_t *c, int64_t *bad_id, int64_t *rows, char *err, size_t errlen);

#endif
