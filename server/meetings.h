/* meetings.h - weekly case reviews: meetings, their agenda and outcomes,
 * attendance, the facilitator's "now discussing" pointer, and minutes. */
#ifndef MDT_MEETINGS_H
#define MDT_MEETINGS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "authz.h"
#include "casectx.h"
#include "db.h"
#include "meeting_item.h"
#include "req.h"
#include "runner.h"

void mdt_meetings_list(mdt_req_t *req);
void mdt_meetings_create(mdt_req_t *req);
void mdt_meetings_get(mdt_req_t *req);
void mdt_meetings_update(mdt_req_t *req);
void mdt_meetings_attendance(mdt_req_t *req);
void mdt_meetings_outcome(mdt_req_t *req);
void mdt_meetings_minutes(mdt_req_t *req);
void mdt_meetings_minutes_approve(mdt_req_t *req);
void mdt_meetings_suggestions(mdt_req_t *req);

/* DB thread: the Meeting object as p may see it now (agenda cases p may
 * not see as {position, restricted: true}; current_case_id null when
 * restricted), or NULL when p may not see the meeting at all (or on a
 * database error: then c->status is set). */
json_t *mdt_meetings_json(mdt_dbc_t *c, const mdt_principal_t *p, int64_t meeting_id);

/* ---- the same in two steps, for serializing one meeting for many
 * principals (a WebSocket fan-out): load once, render per subscriber ---- */

/* One correction of approved minutes: the minutes version it made, the
 * agenda case whose outcome it rewrote, who, when (RFC 3339) and why. */
typedef struct {
    int version;
    int64_t case_id, by;
    const char *at, *reason;
} mdt_minutes_correction_t;

/* A meeting as stored, with everything the serializer decides on. The
 * strings point into results the struct owns. */
typedef struct {
    int64_t id, facilitator_id, agency_id, created_by;
    const char *title, *status;
    const char *scheduled_at, *created_at, *started_at, *ended_at; /* RFC 3339; NULL = not yet */
    int current_position;                                          /* 0 = none */
    int version;
    mdt_meeting_case_t *agenda; /* in position order */
    size_t n_agenda;
    int64_t *attendees, *attendee_agencies; /* n_attendees each, in check-in order */
    size_t n_attendees;
    int minutes_version;                   /* 0 = draft; 1 at approval; +1 per correction */
    int64_t minutes_approved_by;           /* 0 = not approved */
    const char *minutes_approved_at;       /* RFC 3339; NULL = not approved */
    mdt_minutes_correction_t *corrections; /* by version */
    size_t n_corrections;
    PGresult *res[4];
} mdt_meeting_t;

/* DB thread: loads the meeting (NULL with *status MDT_DB_NOT_FOUND when
 * there is none, or the database status). Free with mdt_meetings_free. */
mdt_meeting_t *mdt_meetings_load(mdt_dbc_t *c, int64_t meeting_id, int *status);
void mdt_meetings_free(mdt_meeting_t *m);
/* Any thread, no I/O: may p see m? (mdt_authz_meeting_visible over the
 * agenda's cases as mdt_authz_case_visible decides each.) */
bool mdt_meetings_visible(const mdt_meeting_t *m, const mdt_principal_t *p);
/* Any thread, no I/O: is agenda case i visible to p? (the meeting item
 * kind decides: mdt_meeting_item_visible) */
bool mdt_meetings_case_visible(const mdt_meeting_t *m, size_t i, const mdt_principal_t *p);
/* Any thread, no I/O: may p see correction i of m? Only when p may see
 * its case (a correction of any other case is left out entirely). */
bool mdt_meetings_correction_visible(const mdt_meeting_t *m, size_t i, const mdt_principal_t *p);
/* Any thread, no I/O: the Meeting as p sees it (new reference), or NULL
 * when p may not see it. Its agenda is the meeting item kind's
 * (mdt_meeting_item_json); current_case_id is null when that item is
 * restricted. */
json_t *mdt_meetings_render(const mdt_meeting_t *m, const mdt_principal_t *p);

/* DB thread, in the work of a runner creating an item that names a
 * meeting (POST /cases/{id}/actions and /entries with meeting_id): the
 * meeting must exist, p must see it, case_id must be on its agenda, and its
 * minutes must not be approved; otherwise run answers 422 meeting_id and
 * MDT_RUN_ANSWERED is returned. The meeting row is share-locked until the
 * caller's transaction ends, so an approval cannot slip in between the
 * check and the insert. Returns MDT_DB_OK, MDT_RUN_ANSWERED or the
 * database status. */
int mdt_meetings_check_link(mdt_dbc_t *c, mdt_run_t *run, const mdt_principal_t *p,
                            int64_t meeting_id, int64_t case_id);

#endif
