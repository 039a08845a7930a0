/* test_openapi.c - the OpenAPI document covers the route table exactly:
 * every non-test route has an operation with request/response schemas from
 * server/openapi/, no schema is left without a route, and every $ref
 * resolves. Prints the coverage line "openapi: N/N routes with schemas". */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "openapi.h"
#include "routes.h"

static void handler(struct mdt_req *req)
{
    (void)req;
}

/* Counts $refs under v that do not name an existing components schema. */
static int dangling_refs(json_t *v, json_t *schemas)
{
    int bad = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child)
        {
            const char *prefix = "#/components/schemas/";
            if (strcmp(key, "$ref") == 0 && json_is_string(child)) {
                /* "#/components/schemas/Name" or ".../Name/properties/..." */
                const char *ref = json_string_value(child);
                char name[128] = "";
                if (strncmp(ref, prefix, strlen(prefix)) == 0)
                    snprintf(name, sizeof(name), "%.*s", (int)strcspn(ref + strlen(prefix), "/"),
                             ref + strlen(prefix));
                if (!json_object_get(schemas, name)) {
                    fprintf(stderr, "dangling $ref %s\n", ref);
                    bad++;
                }
            } else {
                bad += dangling_refs(child, schemas);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) bad += dangling_refs(child, schemas);
    }
    return bad;
}

/* Every operation of doc has a 2xx response and a schema for each JSON
 * answer; returns how many operations there are. */
static int check_operations(json_t *doc)
{
    int n = 0;
    const char *path, *method, *status;
    json_t *item, *op, *resp;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_object_foreach(item, method, op)
        {
            int ok = 0;
            n++;
            json_object_foreach(json_object_get(op, "responses"), status, resp)
            {
                if (status[0] == '2')
                    ok = 1;
                json_t *content = json_object_get(resp, "content");
                const char *type;
                json_t *media;
                json_object_foreach(content, type, media) CHECK(json_object_get(media, "schema"));
            }
            if (!ok)
                fprintf(stderr, "%s %s has no success response\n", method, path);
            CHECK(ok);
        }
    }
    return n;
}

int main(void)
{
    char err[256] = "";
    json_t *doc = mdt_openapi_build(mdt_routes, err, sizeof(err));
    if (!doc)
        fprintf(stderr, "openapi: %s\n", err);
    CHECK(doc != NULL);
    int routes = 0;
    for (const mdt_route_t *r = mdt_routes; r->pattern; r++)
        routes += !(r->flags & MDT_R_TEST);
    if (doc) {
        int ops = check_operations(doc);
        CHECK_EQ_INT(ops, routes);
        json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
        CHECK_EQ_INT(dangling_refs(doc, schemas), 0);
        CHECK(json_object_get(schemas, "Error") != NULL);
        CHECK(json_object_get(schemas, "WsClientMessage") != NULL);
        CHECK(json_object_get(schemas, "WsServerMessage") != NULL);
        printf("openapi: %d/%d routes with schemas\n", ops, routes);
        json_decref(doc);
    }

    /* A route the schemas do not know fails the build, naming it. */
    mdt_route_t extra[160];
    size_t n = 0;
    for (const mdt_route_t *r = mdt_routes; r->pattern && n + 2 < 160; r++)
        extra[n++] = *r;
    extra[n++] = (mdt_route_t){MDT_M_GET, "/api/v1/nowhere", handler, 0};
    extra[n] = (mdt_route_t){0, NULL, NULL, 0};
    CHECK(mdt_openapi_build(extra, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "GET /api/v1/nowhere") != NULL);

    /* A schema whose route is gone fails it too. */
    mdt_route_t few[] = {{MDT_M_GET, "/healthz", handler, MDT_R_PUBLIC}, {0, NULL, NULL, 0}};
    CHECK(mdt_openapi_build(few, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "matches no route") != NULL);
    return check_done();
}
