/* records.h - a case's tracking data (non-identifying statistics) and its
 * services log. */
#ifndef MDT_RECORDS_H
#define MDT_RECORDS_H

#include <jansson.h>

#include "casectx.h"
#include "req.h"

void mdt_records_tracking_get(mdt_req_t *req);
void mdt_records_tracking_put(mdt_req_t *req);
void mdt_records_services_list(mdt_req_t *req);
void mdt_records_services_create(mdt_req_t *req);

/* DB thread: the tracking object (defaults when none was saved). */
json_t *mdt_records_tracking_json(mdt_dbc_t *c, const mdt_casectx_t *cx);
/* DB thread: services p may see, oldest first. */
json_t *mdt_records_services_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx);

#endif
