/* actions.h - action items on a case: create, update (versioned), retract.
 * An item's `overdue` is computed in SQL against today in the installation's
 * time zone (MDT_TIME_ZONE). */
#ifndef MDT_ACTIONS_H
#define MDT_ACTIONS_H

#include <jansson.h>

#include "casectx.h"
#include "req.h"

void mdt_actions_create(mdt_req_t *req);
void mdt_actions_update(mdt_req_t *req);
void mdt_actions_retract(mdt_req_t *req);
/* POST /api/v1/actions/bulk (actions_bulk.c): PATCH's change to up to 200
 * items in one transaction, all or nothing. */
void mdt_actions_bulk(mdt_req_t *req);

/* DB thread: the case's action items that p may see, oldest first, as a new
 * JSON array (action_id > 0: only that one); NULL on a database error
 * (c->status tells). time_zone is req->srv->cfg.time_zone: "today" for
 * `overdue`. */
json_t *mdt_actions_list_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                              int64_t action_id, const char *time_zone);

#endif
