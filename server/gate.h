/* gate.h - the gate between the router and every handler.
 *
 * For the route the router matched: a public route runs at once; any other
 * needs the session of the `mdt_session` cookie (read by exact name from
 * the whole Cookie header), found in this node's cache when live there or
 * loaded from the database (session.h), then CSRF on state changes, a
 * required password change, a required MFA enrolment and the admin flag,
 * as the route's flags ask (router.h). The handler then runs with
 * req->auth set to a copy of the session; otherwise the gate answers. */
#ifndef MDT_GATE_H
#define MDT_GATE_H

#include "req.h"

/* Loop: checks what req->route asks, then calls req->route->handler(req),
 * or answers itself (401, 403, 500, 503). */
void mdt_gate_request(mdt_req_t *req);

#endif
