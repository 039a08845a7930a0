/* openapi.h - GET /api/v1/openapi.json: an OpenAPI 3.1 document generated
 * from the route table, so it lists exactly the routes the server has. */
#ifndef MDT_OPENAPI_H
#define MDT_OPENAPI_H

#include "req.h"

void mdt_openapi_get(mdt_req_t *req);
/* The document for a route table (new reference). */
json_t *mdt_openapi_build(const mdt_route_t *routes);

#endif
