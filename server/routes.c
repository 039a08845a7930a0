/* routes.c - the route table (see routes.h). Order matters only between
 * patterns that could match the same path; literal routes come first. */
#include "routes.h"

#include "sys.h"

const mdt_route_t mdt_routes[] = {
    {MDT_M_GET, "/healthz", mdt_sys_healthz, MDT_R_PUBLIC},
    {MDT_M_GET, "/metrics", mdt_sys_metrics, MDT_R_PUBLIC},
    {MDT_M_GET, "/api/v1/_test/sleep", mdt_sys_test_sleep, MDT_R_PUBLIC | MDT_R_TEST},
    {0, NULL, NULL, 0},
};
