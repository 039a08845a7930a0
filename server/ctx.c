/* ctx.c - the server as a request handler sees it (see ctx.h). */
#include "ctx.h"

#include "server_ctx.h"

mdt_db_t *mdt_ctx_db(const mdt_req_t *req)
{
    return req->srv->db;
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
