/* ctx.h - what a request handler may use of the server: the database
 * pool, the password-hashing pool, the installation's time zone and
 * origin, the calendar feed's rate limit and the route table. Handlers include this instead of
 * server.h, so the server context stays the business of the modules that run the server (server.c,
 * http.c, ws.c, the hub, the feed, sessions and audit buffering). */
#ifndef MDT_CTX_H
#define MDT_CTX_H

#include "db.h"
#include "loopq.h"
#include "req.h"
#include "router.h"
#include "workq.h"

/* Loop: the database pool to submit req's work to. */
mdt_db_t *mdt_ctx_db(const mdt_req_t *req);
/* Loop: the queue that hands work back to the loop from other threads. */
mdt_loopq_t *mdt_ctx_loopq(const mdt_req_t *req);
/* Loop: a slot for a streamed upload, which holds a database connection
 * while its body comes in: 0 taken, -1 when half the pool (at least one)
 * is already uploading. Give it back with mdt_ctx_upload_end. */
int mdt_ctx_upload_begin(mdt_req_t *req);
void mdt_ctx_upload_end(mdt_req_t *req);
/* Loop: the cpu pool (password hashing, Markdown rendering). */
mdt_workq_t *mdt_ctx_cpu(const mdt_req_t *req);
/* The installation's IANA time zone (dates of meetings and due dates). */
const char *mdt_ctx_time_zone(const mdt_req_t *req);
/* The installation's public origin, scheme://host[:port] (links it hands
 * out: the calendar feed's URL, the email digest's link). */
const char *mdt_ctx_origin(const mdt_req_t *req);
/* Whether this installation sends email (MDT_SMTP_URL is set). */
int mdt_ctx_email_configured(const mdt_req_t *req);
/* Loop: takes one calendar-feed request from the bucket of req's client
 * address (MDT_CALENDAR_RATE per minute): 0 allowed, else the seconds to
 * wait. */
int mdt_ctx_calendar_wait(const mdt_req_t *req);
/* The route table (for the OpenAPI document). */
const mdt_route_t *mdt_ctx_routes(const mdt_req_t *req);

#endif
