/* openapi.h - GET /api/v1/openapi.json: an OpenAPI 3.1 document generated
 * from the route table and the schemas written beside it.
 *
 * The schemas live in server/openapi/<area>.json, compiled into the binary
 * at build time (embed.h). Each file holds
 *   {"schemas": {Name: JSON Schema, ...},            components, merged
 *    "operations": {"METHOD /pattern": {              one per route
 *        "summary": "...", "parameters": [...],       query parameters
 *        "request": schema | "requestBody": object,   a JSON body / another
 *        "responses": {"201": schema | response object | null}}}}
 * where a response given as a bare schema is an application/json body, an
 * object with "content" is an OpenAPI response object taken as is, and
 * null is an answer without a body. Every operation also gets the error
 * statuses of API.md in the Error shape (see openapi.c). Exactly one
 * operation per non-test route: a route without one, or one without a
 * route, makes the build of the document fail (tests/unit/test_openapi.c). */
#ifndef MDT_OPENAPI_H
#define MDT_OPENAPI_H

#include <stddef.h>

#include "embed.h"
#include "req.h"

typedef mdt_embedded_t mdt_openapi_source_t; /* one schema file; version 0 */

extern const mdt_openapi_source_t mdt_openapi_sources[];
extern const int mdt_openapi_sources_count;

void mdt_openapi_get(mdt_req_t *req);

/* The document for a route table (new reference), or NULL with a sentence
 * in err when a schema file does not parse, a name is defined twice, a route
 * has no operation schema or an operation schema has no route. */
json_t *mdt_openapi_build(const mdt_route_t *routes, char *err, size_t errlen);

#endif
