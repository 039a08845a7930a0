/* routes.h - the route table: every HTTP endpoint of the API in one list. */
#ifndef MDT_ROUTES_H
#define MDT_ROUTES_H

#include "router.h"

extern const mdt_route_t mdt_routes[];

#endif
