/* openapi.c - the OpenAPI document of the route table (see openapi.h): the
 * paths and parameters come from the table, the request and response
 * schemas from the embedded server/openapi/<area>.json files, matched to the
 * routes by "METHOD /pattern". */
#include "openapi.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"

#define ERROR_REF "#/components/schemas/Error"

/* The error statuses of API.md's table (and docs/api.md's additions) that an
 * operation may answer in the Error shape. `auth` ones only on routes that
 * need a session (and login), `change` ones only on state changes, `cases`
 * ones only on routes under a case (a purged case, docs/retention.md). */
static const struct {
    const char *status, *what;
    int auth, change, cases;
} error_statuses[] = {
    {"400", "bad_request: malformed JSON, wrong types, a bad query parameter", 0, 0, 0},
    {"401", "unauthenticated or mfa_required", 1, 0, 0},
    {"403", "forbidden, csrf, mfa_enrolment_required, password_change_required", 1, 0, 0},
    {"404", "not_found, also for what the caller may not know exists", 0, 0, 0},
    {"409", "conflict: a stale version or a duplicate; error.current holds the object", 0, 1, 0},
    {"410", "gone: the case was purged under the retention policy; error.tombstone", 1, 0, 1},
    {"411", "length_required: a chunked body", 0, 1, 0},
    {"413", "too_large", 0, 0, 0},
    {"414", "uri_too_long", 0, 0, 0},
    {"415", "unsupported_media_type", 0, 1, 0},
    {"422", "validation: well-formed but invalid; field names it", 0, 0, 0},
    {"429", "rate_limited, with Retry-After", 0, 0, 0},
    {"431", "headers_too_large", 0, 0, 0},
    {"500", "internal: a bug or out of memory; the request changed nothing", 0, 0, 0},
    {"503", "unavailable: the database is down; nothing changed", 0, 0, 0},
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

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

/* The path and header parameters the route table implies, then the
 * operation schema's own (query) parameters. */
static json_t *openapi_params(const mdt_route_t *r, int nids, json_t *extra)
{
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
    if (json_is_array(extra))
        json_array_extend(params, extra);
    return params;
}

/* One response object from a schema file's value (see openapi.h). */
static json_t *openapi_response(json_t *v)
{
    if (json_is_null(v))
        return json_pack("{s:s}", "description", "no body");
    json_t *resp;
    if (json_object_get(v, "content")) {
        resp = json_deep_copy(v);
        if (!json_object_get(resp, "description"))
            json_object_set_new(resp, "description", json_string("success"));
        return resp;
    }
    return json_pack("{s:s, s:{s:{s:O}}}", "description", "success", "content", "application/json",
                     "schema", v);
}

static json_t *openapi_responses(const mdt_route_t *r, json_t *given)
{
    json_t *out = json_object();
    const char *status;
    json_t *v;
    json_object_foreach(given, status, v) json_object_set_new(out, status, openapi_response(v));
    int change = r->method != MDT_M_GET;
    int auth = !(r->flags & MDT_R_PUBLIC) || (r->flags & MDT_R_NO_CSRF);
    for (size_t i = 0; i < sizeof(error_statuses) / sizeof(error_statuses[0]); i++) {
        if ((error_statuses[i].auth && !auth) || (error_statuses[i].change && !change) ||
            (error_statuses[i].cases && !strstr(r->pattern, "/cases/{id}")) ||
            json_object_get(out, error_statuses[i].status))
            continue;
        json_object_set_new(out, error_statuses[i].status,
                            json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                      error_statuses[i].what, "content", "application/json",
                                      "schema", "$ref", ERROR_REF));
    }
    return out;
}

/* The operation for route r from its schema file entry spec. */
static json_t *openapi_operation(const mdt_route_t *r, int nids, json_t *spec)
{
    char id[160];
    snprintf(id, sizeof(id), "%s %s", mdt_router_method_name(r->method), r->pattern);
    json_t *op = json_pack("{s:s, s:o, s:o}", "operationId", id, "parameters",
                           openapi_params(r, nids, json_object_get(spec, "parameters")),
                           "responses", openapi_responses(r, json_object_get(spec, "responses")));
    json_t *summary = json_object_get(spec, "summary");
    if (summary)
        json_object_set(op, "summary", summary);
    json_t *body = json_object_get(spec, "requestBody");
    json_t *schema = json_object_get(spec, "request");
    if (body)
        json_object_set(op, "requestBody", body);
    else if (schema)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:O}}}", "required", 1, "content",
                                      "application/json", "schema", schema));
    if (r->flags & MDT_R_PUBLIC)
        json_object_set_new(op, "security", json_array());
    return op;
}

/* Merges the "schemas" and "operations" of every embedded file into
 * schemas and ops (borrowed). Returns 0, or -1 with err set. */
static int openapi_load(json_t *schemas, json_t *ops, char *err, size_t errlen)
{
    for (int i = 0; i < mdt_openapi_sources_count; i++) {
        json_error_t jerr;
        json_t *file = json_loads(mdt_openapi_sources[i].text, 0, &jerr);
        if (!file) {
            set_err(err, errlen, "%s:%d: %s", mdt_openapi_sources[i].name, jerr.line, jerr.text);
            return -1;
        }
        const char *groups[] = {"schemas", "operations"};
        json_t *into[] = {schemas, ops};
        for (int g = 0; g < 2; g++) {
            const char *key;
            json_t *v;
            json_object_foreach(json_object_get(file, groups[g]), key, v)
            {
                if (json_object_get(into[g], key)) {
                    set_err(err, errlen, "%s: %s \"%s\" is defined twice",
                            mdt_openapi_sources[i].name, groups[g], key);
                    json_decref(file);
                    return -1;
                }
                json_object_set(into[g], key, v);
            }
        }
        json_decref(file);
    }
    return 0;
}

/* Adds every non-test route of the table to paths, taking (and removing)
 * its entry from ops. Returns 0, or -1 with err set. */
static int openapi_paths(const mdt_route_t *routes, json_t *ops, json_t *paths, char *err,
                         size_t errlen)
{
    for (const mdt_route_t *r = routes; r->pattern; r++) {
        if (r->flags & MDT_R_TEST)
            continue;
        char key[160], path[256], method[16];
        snprintf(key, sizeof(key), "%s %s", mdt_router_method_name(r->method), r->pattern);
        json_t *spec = json_object_get(ops, key);
        if (!spec) {
            set_err(err, errlen, "route %s has no schema in server/openapi/", key);
            return -1;
        }
        int nids = openapi_path(r->pattern, path, sizeof(path));
        json_t *item = json_object_get(paths, path);
        if (!item)
            json_object_set_new(paths, path, item = json_object());
        snprintf(method, sizeof(method), "%s", mdt_router_method_name(r->method));
        for (char *m = method; *m; m++)
            *m = (char)(*m - 'A' + 'a');
        json_object_set_new(item, method, openapi_operation(r, nids, spec));
        json_object_del(ops, key);
    }
    const char *left = json_object_iter_key(json_object_iter(ops));
    if (left) {
        set_err(err, errlen, "schema for \"%s\" in server/openapi/ matches no route", left);
        return -1;
    }
    return 0;
}

json_t *mdt_openapi_build(const mdt_route_t *routes, char *err, size_t errlen)
{
    json_t *doc = NULL;
    json_t *schemas = json_object(), *ops = json_object(), *paths = json_object();
    if (openapi_load(schemas, ops, err, errlen) != 0 ||
        openapi_paths(routes, ops, paths, err, errlen) != 0)
        goto exit;
    doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:O, s:{s:{s:{s:s, s:s, s:s}}, s:O}, s:[{s:[]}]}", "openapi",
        "3.1.0", "info", "title", "MDT Board API", "version", "1", "description",
        "The HTTP contract of ../shared/API.md; state changes need X-CSRF-Token. "
        "The WebSocket /ws (subprotocol mdtboard.v1) exchanges the messages "
        "WsClientMessage and WsServerMessage of components.schemas.",
        "paths", paths, "components", "securitySchemes", "session", "type", "apiKey", "in",
        "cookie", "name", "mdt_session", "schemas", schemas, "security", "session");
    if (!doc)
        set_err(err, errlen, "out of memory");
exit:
    json_decref(schemas);
    json_decref(ops);
    json_decref(paths);
    return doc;
}

void mdt_openapi_get(mdt_req_t *req)
{
    char err[256];
    json_t *doc = mdt_openapi_build(mdt_ctx_routes(req), err, sizeof(err));
    if (!doc) {
        mdt_http_error(req, 500, "internal", NULL, "%s", err);
        return;
    }
    mdt_http_respond_json(req, 200, doc);
}
