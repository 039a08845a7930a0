/* router.h - method + path pattern → handler.
 *
 * Patterns are literal segments and `{id}` segments that match a positive
 * 64-bit integer (up to three per pattern, captured in order), and
 * `{token}` (1-128 of [A-Za-z0-9_-], not captured: the handler reads it
 * from the path). The route
 * table itself lives in routes.c; this module only matches. */
#ifndef MDT_ROUTER_H
#define MDT_ROUTER_H

#include <stdint.h>

struct mdt_req;

typedef enum {
    MDT_M_GET = 1,
    MDT_M_POST,
    MDT_M_PUT,
    MDT_M_PATCH,
    MDT_M_DELETE,
    MDT_M_HEAD,
    MDT_M_OPTIONS,
} mdt_method_t;

/* Route flags: who may call it (enforced by the http layer before the handler). */
enum {
    MDT_R_PUBLIC = 1 << 0,     /* no session needed */
    MDT_R_NO_CSRF = 1 << 1,    /* state change without CSRF token (login only) */
    MDT_R_MFA_OPEN = 1 << 2,   /* allowed before a required MFA enrolment */
    MDT_R_ADMIN = 1 << 3,      /* admin role only */
    MDT_R_TEST = 1 << 4,       /* test hook: only when test hooks are enabled */
    MDT_R_RAW_BODY = 1 << 5,   /* body need not be JSON */
    MDT_R_IDEMPOTENT = 1 << 6, /* a create that honours Idempotency-Key (idem.h) */
    MDT_R_UPLOAD = 1 << 7,     /* a file body up to MDT_ATTACHMENT_MAX (implies RAW_BODY) */
    MDT_R_HEAVY = 1 << 8,      /* long queries: at most MDT_DB_HEAVY_MAX connections at once */
};

typedef void (*mdt_handler_fn)(struct mdt_req *req);

typedef struct {
    mdt_method_t method;
    const char *pattern;
    mdt_handler_fn handler;
    unsigned flags;
} mdt_route_t;

#define MDT_ROUTE_MAX_IDS 3

/* Finds the route for method + path in a table ending with a NULL pattern.
 * Returns the route and fills ids, or NULL with *path_matched set when some
 * route has that path under another method (405). */
const mdt_route_t *mdt_router_match(const mdt_route_t *table, mdt_method_t method, const char *path,
                                    int64_t ids[MDT_ROUTE_MAX_IDS], int *path_matched);

const char *mdt_router_method_name(mdt_method_t m);

#endif
