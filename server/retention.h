/* retention.h - retention by crypto-shredding (docs/retention.md).
 *
 * A closed case whose closing time plus MDT_RETENTION has passed is purged,
 * unless it is under a legal hold: in one transaction its content (every
 * row of every table that holds case content, their versions, its
 * attachments and their chunks, its agenda rows and outcomes, its
 * notifications and stored idempotent answers) and its data key are
 * deleted, the alias and municipality cleared, and the row kept as a
 * tombstone (id, case number, dates, lead agency, membership); an audit
 * row `case.purged` and the event `case.purged` end it, so every open
 * board of the case closes. Audit rows and events (ids and kinds only)
 * are never deleted. A backup taken before still holds the wrapped key:
 * the case lives on in it until it expires (docs/retention.md).
 *
 * The command that drives it is `mdtboard retention run [--dry-run]`
 * (cli.c). Nothing here prints. */
#ifndef MDT_RETENTION_H
#define MDT_RETENTION_H

#include <stdint.h>

#include "audit.h"
#include "config.h"
#include "db.h"

/* A closed case past retention (held or not). */
typedef struct {
    int64_t id;
    char number[72];   /* case_number (at most 64 characters) */
    char closed[11];   /* YYYY-MM-DD in the installation's zone */
    int hold;          /* under a legal hold: skipped */
    char hold_by[136]; /* who set the hold (display name) */
    char hold_on[11];  /* and on which day */
} mdt_retention_case_t;

/* The candidates of a run: *out (malloc'ed, free() it) with *n cases,
 * oldest closing first, dates in time_zone. ret must not be off. Returns
 * the db status. */
int mdt_retention_candidates(mdt_dbc_t *c, const mdt_retention_t *ret, const char *time_zone,
                             mdt_retention_case_t **out, int *n);

typedef enum {
    MDT_PURGE_DONE,    /* purged now */
    MDT_PURGE_SKIPPED, /* no longer a candidate (held, reopened, purged since the listing) */
} mdt_purge_result_t;

/* Purges case id in its own transaction if it is still a candidate
 * (checked under the row's lock), as actor (c must carry the audit key).
 * *result says which; MDT_DB_OK, or the failing status with c->error
 * saying why (nothing of the case changed then). label is the retention
 * setting as given ("7y"), for the audit row's detail. */
int mdt_retention_purge(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const mdt_retention_t *ret,
                        const char *label, int64_t id, mdt_purge_result_t *result);

#endif
