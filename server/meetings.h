/* meetings.h - weekly case reviews: meetings, their agenda and outcomes,
 * attendance, the facilitator's "now discussing" pointer, and minutes. */
#ifndef MDT_MEETINGS_H
#define MDT_MEETINGS_H

#include <jansson.h>
#include <stdint.h>

#include "authz.h"
#include "db.h"
#include "http.h"

void mdt_meetings_list(mdt_req_t *req);
void mdt_meetings_create(mdt_req_t *req);
void mdt_meetings_get(mdt_req_t *req);
void mdt_meetings_update(mdt_req_t *req);
void mdt_meetings_attendance(mdt_req_t *req);
void mdt_meetings_outcome(mdt_req_t *req);
void mdt_meetings_minutes(mdt_req_t *req);

/* DB thread: the Meeting object as p may see it now (agenda cases p may
 * not see as {position, restricted: true}; current_case_id null when
 * restricted), or NULL when p may not see the meeting at all (or on a
 * database error: then c->status is set). */
json_t *mdt_meetings_json(mdt_dbc_t *c, const mdt_principal_t *p, int64_t meeting_id);

#endif
