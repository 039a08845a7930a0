/* dashboard.h - action items across the caller's cases (GET /api/v1/actions
 * and its CSV twin /api/v1/actions.csv), decided against the caller's case
 * set (caseset.h). */
#ifndef MDT_DASHBOARD_H
#define MDT_DASHBOARD_H

#include "req.h"

void mdt_dashboard_actions(mdt_req_t *req);
void mdt_dashboard_actions_csv(mdt_req_t *req);

#endif
