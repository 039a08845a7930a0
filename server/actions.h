/* actions.h - action items on a case: create, update (versioned), retract. */
#ifndef MDT_ACTIONS_H
#define MDT_ACTIONS_H

#include <jansson.h>

#include "casectx.h"
#include "http.h"

void mdt_actions_create(mdt_req_t *req);
void mdt_actions_update(mdt_req_t *req);
void mdt_actions_retract(mdt_req_t *req);

/* DB thread: the case's action items that p may see, as a new JSON array
 * (action_id > 0: only that one). */
json_t *mdt_actions_list_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                              int64_t action_id);

#endif
