/* cases.h - cases: the list, creation, the whole board, and case edits.
 * GET /cases/{id} assembles the board from the entity modules (entries,
 * actions, pii, records) in one REPEATABLE READ transaction together with
 * the ledger seq it is consistent with. */
#ifndef MDT_CASES_H
#define MDT_CASES_H

#include <jansson.h>

#include "casectx.h"
#include "req.h"

void mdt_cases_list(mdt_req_t *req);
void mdt_cases_create(mdt_req_t *req);
void mdt_cases_board(mdt_req_t *req);
void mdt_cases_update(mdt_req_t *req);

/* DB thread: the Case object as p sees it (NULL when p may not see it). */
json_t *mdt_cases_get_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx);

#endif
