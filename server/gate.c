/* gate.c - the check in front of every handler (see mdt_http_gate in
 * http.h). Public routes run as they are; every other route needs a valid
 * session, which the identity layer provides. */
#include "http.h"

void mdt_http_gate(mdt_req_t *req)
{
    if (req->route->flags & MDT_R_PUBLIC) {
        req->route->handler(req);
        return;
    }
    mdt_http_error(req, 401, "unauthenticated", NULL, "sign in first");
}
