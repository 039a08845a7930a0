/* ctx.c - the server as a request handler sees it (see ctx.h). */
#include "ctx.h"

#include "ratelimit.h"
#include "server_ctx.h"

mdt_db_t *mdt_ctx_db(const mdt_req_t *req)
{
    return req->srv->db;
}

mdt_loopq_t *mdt_ctx_loopq(const mdt_req_t *req)
{
    return req->srv->loopq;
}

int mdt_ctx_upload_begin(mdt_req_t *req)
{
    int max = req->srv->cfg.db_pool / 2;
    if (req->srv->uploads_inflight >= (max > 0 ? max : 1))
        return -1;
    req->srv->uploads_inflight++;
    return 0;
}

void mdt_ctx_upload_end(mdt_req_t *req)
{
    req->srv->uploads_inflight--;
}

mdt_workq_t *mdt_ctx_cpu(const mdt_req_t *req)
{
    return req->srv->cpu;
}

const char *mdt_ctx_time_zone(const mdt_req_t *req)
{
    return req->srv->cfg.time_zone;
}

const mdt_route_t *mdt_ctx_routes(const mdt_req_t *req)
{
    return req->srv->routes;
}

const char *mdt_ctx_origin(const mdt_req_t *req)
{
    return req->srv->cfg.origin;
}

int mdt_ctx_calendar_wait(const mdt_req_t *req)
{
    return mdt_ratelimit_take(req->srv->calendar_limits, req->peer);
}

int mdt_ctx_email_configured(const mdt_req_t *req)
{
    return req->srv->cfg.smtp_url != NULL;
}
