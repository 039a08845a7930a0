/* router.c - path pattern matching (see router.h). */
#include "router.h"

#include <stddef.h>
#include <string.h>

/* Matches one segment of path (up to '/' or end) against "{id}": positive
 * integer without leading zeros, fitting in int64. Advances *p. */
static int match_id(const char **p, int64_t *out)
{
    const char *s = *p;
    if (*s < '1' || *s > '9')
        return 0;
    int64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
        s++;
    }
    if (*s && *s != '/')
        return 0;
    *out = v;
    *p = s;
    return 1;
}

/* Matches a "{token}" segment: 1-128 of [A-Za-z0-9_-], ending at '.', '/'
 * or the end (the handler reads and checks it from the path). Advances *p. */
static int match_token(const char **p)
{
    const char *s = *p;
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
           *s == '_' || *s == '-')
        s++;
    if (s == *p || s - *p > 128 || (*s && *s != '.' && *s != '/'))
        return 0;
    *p = s;
    return 1;
}

static int match_pattern(const char *pat, const char *path, int64_t ids[MDT_ROUTE_MAX_IDS])
{
    int nid = 0;
    while (*pat) {
        if (strncmp(pat, "{id}", 4) == 0) {
            if (nid >= MDT_ROUTE_MAX_IDS || !match_id(&path, &ids[nid]))
                return 0;
            nid++;
            pat += 4;
        } else if (strncmp(pat, "{token}", 7) == 0) {
            if (!match_token(&path))
                return 0;
            pat += 7;
        } else if (*pat++ != *path++) {
            return 0;
        }
    }
    return *path == 0;
}

const mdt_route_t *mdt_router_match(const mdt_route_t *table, mdt_method_t method, const char *path,
                                    int64_t ids[MDT_ROUTE_MAX_IDS], int *path_matched)
{
    *path_matched = 0;
    for (const mdt_route_t *r = table; r->pattern; r++) {
        int64_t tmp[MDT_ROUTE_MAX_IDS] = {0};
        if (!match_pattern(r->pattern, path, tmp))
            continue;
        if (r->method == method) {
            memcpy(ids, tmp, sizeof(tmp));
            return r;
        }
        *path_matched = 1;
    }
    return NULL;
}

const char *mdt_router_method_name(mdt_method_t m)
{
    static const char *const names[] = {"?",     "GET",    "POST", "PUT",
                                        "PATCH", "DELETE", "HEAD", "OPTIONS"};
    return (m >= MDT_M_GET && m <= MDT_M_OPTIONS) ? names[m] : "?";
}
