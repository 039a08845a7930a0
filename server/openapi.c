/* openapi.c - the OpenAPI document of the route table (see openapi.h). */
#include "openapi.h"

#include <string.h>

#include "ctx.h"

/* "/api/v1/meetings/{id}/cases/{id}/outcome" -> ".../{id}/cases/{id2}/outcome":
 * OpenAPI needs distinct parameter names. Returns how many ids there were. */
static int openapi_path(const char *pattern, char *out, size_t outlen)
{
    size_t o = 0;
    int n = 0;
    for (const char *s = pattern; *s && o + 8 < outlen;) {
        if (strncmp(s, "{id}", 4) == 0) {
            n++;
            o += (size_t)snprintf(out + o, outlen - o, n == 1 ? "{id}" : "{id%d}", n);
            s += 4;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = 0;
    return n;
}

static json_t *openapi_operation(const mdt_route_t *r, int nids)
{
    json_t *op = json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:{s:{s:{s:s}}}}}}", "operationId",
                           r->pattern, "responses", "200", "description", "success", "default",
                           "description", "an error in the contract's shape", "content",
                           "application/json", "schema", "$ref", "#/components/schemas/Error");
    char id[64];
    snprintf(id, sizeof(id), "%s %s", mdt_router_method_name(r->method), r->pattern);
    json_object_set_new(op, "operationId", json_string(id));
    json_t *params = json_array();
    for (int i = 1; i <= nids; i++) {
        char name[8];
        snprintf(name, sizeof(name), i == 1 ? "id" : "id%d", i);
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s, s:s}}", "name", name, "in",
                                                "path", "required", 1, "schema", "type", "integer",
                                                "format", "int64"));
    }
    if (r->flags & MDT_R_IDEMPOTENT)
        json_array_append_new(
            params, json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i}}", "name", "Idempotency-Key",
                              "in", "header", "required", 0, "description",
                              "a retry with the same key within 24 h answers the first answer "
                              "(docs/api.md, Idempotent creates)",
                              "schema", "type", "string", "minLength", 1, "maxLength", 255));
    if (strstr(r->pattern, "{token}"))
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", "token", "in",
                                                "path", "required", 1, "schema", "type", "string"));
    json_object_set_new(op, "parameters", params);
    if (r->flags & MDT_R_PUBLIC)
        json_object_set_new(op, "security", json_array());
    return op;
}

json_t *mdt_openapi_build(const mdt_route_t *routes)
{
    json_t *paths = json_object();
    for (const mdt_route_t *r = routes; r->pattern; r++) {
        if (r->flags & MDT_R_TEST)
            continue;
        char path[256], method[16];
        int nids = openapi_path(r->pattern, path, sizeof(path));
        json_t *item = json_object_get(paths, path);
        if (!item)
            json_object_set_new(paths, path, item = json_object());
        snprintf(method, sizeof(method), "%s", mdt_router_method_name(r->method));
        for (char *m = method; *m; m++)
            *m = (char)(*m - 'A' + 'a');
        json_object_set_new(item, method, openapi_operation(r, nids));
    }
    return json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s, s:s}}, s:{s:{s:s, s:{s:{s:s, s:{s:{s:s}, "
        "s:{s:s}, s:{s:s}}}}}}}, s:[{s:[]}]}",
        "openapi", "3.1.0", "info", "title", "MDT Board API", "version", "1", "description",
        "The HTTP contract of ../shared/API.md; state changes need X-CSRF-Token.", "paths", paths,
        "components", "securitySchemes", "session", "type", "apiKey", "in", "cookie", "name",
        "mdt_session", "schemas", "Error", "type", "object", "properties", "error", "type",
        "object", "properties", "code", "type", "string", "message", "type", "string", "field",
        "type", "string", "security", "session");
}

void mdt_openapi_get(mdt_req_t *req)
{
    json_t *doc = mdt_openapi_build(mdt_ctx_routes(req));
    if (!doc) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    mdt_http_respond_json(req, 200, doc);
}
