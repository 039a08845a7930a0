/* audit.h - the audit trail: who, agency, when, from where, what, outcome.
 *
 * Changes append their rows inside their own transaction (mdt_audit_append,
 * on a database thread), chained under the ledger row lock with HMAC-SHA-256
 * under the connection's audit key (from the installation key file, keys.h;
 * docs/architecture.md#audit). Reads are many:
 * mdt_audit_read() buffers them on the loop and a timer writes the buffer as
 * one chained batch at least every 200 ms. `detail` never holds case text,
 * PII or search strings: callers pass only ids, field names and counts. */
#ifndef MDT_AUDIT_H
#define MDT_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "events.h"

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
/* The same, and then emits ev (events.h) in the same statement, under the
 * ledger lock the audit row took: the way a change records itself, last
 * before COMMIT. ev is borrowed. Returns the db status.
 * Both functions take the ledger lock with one statement and hold the
 * second back (mdt_db_defer): it goes with c's next statement or COMMIT in
 * one round trip, and its failure is that statement's or COMMIT's
 * (docs/performance.md, "The create path"). */
int mdt_audit_append_event(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const mdt_audit_rec_t *rec,
                           const mdt_event_t *ev);

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
/* Loop thread: the read buffer's counters for /metrics. pending counts the
 * rows buffered and not yet committed (a flush in flight included). */
typedef struct {
    uint64_t written, failures, pending;
} mdt_audit_stats_t;
void mdt_audit_stats(const struct mdt_server *srv, mdt_audit_stats_t *out);
/* After the loop queue is drained: frees the buffer. */
void mdt_audit_free(struct mdt_server *srv);

/* Whether c's role could rewrite the log: 1 when it is a superuser or owns
 * (or may act as the owner of) the audit table, 0 when not, -1 on error;
 * what gets the role's name and which it is (or the error). */
int mdt_audit_role_check(mdt_dbc_t *c, char *what, size_t size);

/* ---- the chain (audit_verify.c checks it; docs/security.md) ---- */

#define MDT_AUDIT_KEY_BYTES 32

/* The hash of one link: HMAC-SHA-256 under key (32 bytes; plain SHA-256 when
 * key is NULL, for rows before the switch-over) of prev || "\n" || canon,
 * as 64 hex digits. 0 ok, -1 out of memory or OpenSSL failure. */
int mdt_audit_link_hash(const unsigned char *key, const char *prev, const char *canon,
                        char out[65]);

/* A chain head the operator keeps outside the database. */
typedef struct {
    int64_t id;    /* 0: the empty log */
    char hash[65]; /* 64 hex digits */
    char at[40];   /* the row's time (UTC, ISO 8601); "-" for the empty log */
} mdt_audit_checkpoint_t;

/* The one-line text form, "audit checkpoint id=N hash=H at=T" (no line end). */
void mdt_audit_checkpoint_format(const mdt_audit_checkpoint_t *cp, char *out, size_t size);
/* Parses the first line of text that starts "audit checkpoint ". 0 ok, -1. */
int mdt_audit_checkpoint_parse(const char *text, mdt_audit_checkpoint_t *out);

typedef struct {
    int64_t rows;                /* rows checked */
    int64_t keyed_from;          /* first HMAC-keyed row */
    int64_t bad_id;              /* the first bad row, when broken */
    char why[160];               /* what is wrong with it */
    mdt_audit_checkpoint_t head; /* the last row, when intact */
} mdt_audit_report_t;

/* Walks the whole chain in one snapshot: ids consecutive from 1, each
 * prev_hash the previous hash, each hash SHA-256 (before audit_chain's
 * keyed_from) or HMAC-SHA-256 under key (32 bytes), the last row equal to
 * the head the ledger records, and, when cp is not NULL, row cp->id still
 * there with cp->hash. Returns 0 intact; 1 broken (out->bad_id, out->why);
 * -1 database or memory error (err). */
int mdt_audit_verify(mdt_dbc_t *c, const unsigned char *key, const mdt_audit_checkpoint_t *cp,
                     mdt_audit_report_t *out, char *err, size_t errlen);

#endif
