/* entries.h - board entries (note, interview, decision, update): create,
 * edit (a new version each time), retract, history; and the Markdown
 * preview (/render). */
#ifndef MDT_ENTRIES_H
#define MDT_ENTRIES_H

#include <jansson.h>

#include "casectx.h"
#include "caseop.h"
#include "req.h"

void mdt_entries_create(mdt_req_t *req);
void mdt_entries_update(mdt_req_t *req);
void mdt_entries_retract(mdt_req_t *req);
void mdt_entries_history(mdt_req_t *req);
void mdt_entries_render(mdt_req_t *req);

/* DB thread: every entry of the case that p may see, oldest first, as a
 * new JSON array (retracted ones without their body unless p's agency
 * authored them). entry_id > 0 limits it to that entry. NULL on a database
 * error (c->status tells). */
json_t *mdt_entries_list_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                              int64_t entry_id);

/* ---- shared with the other item modules (action items, services) ---- */

/* In a caseop work: 422 (field visible_to) unless ids fit vis (non-empty
 * exactly when vis is MDT_VIS_AGENCIES) and name only agencies on the case.
 * MDT_DB_OK or MDT_RUN_ANSWERED. */
int mdt_entries_check_visible_to(mdt_caseop_t *op, int vis, const int64_t *ids, size_t n);
/* In a caseop work: answers 409 conflict with error.current = current
 * (stolen; NULL gives null), through the runner (mdt_run_conflict: the
 * transaction is rolled back). Returns MDT_RUN_ANSWERED. */
int mdt_entries_conflict(mdt_caseop_t *op, const char *message, json_t *current);
/* ids as a new JSON array. */
json_t *mdt_entries_ids_json(const int64_t *ids, size_t n);

#endif
