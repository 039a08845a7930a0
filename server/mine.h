/* mine.h - what is one user's own, for the content-free notifications
 * (the email digest, digest.h; the calendar feed, calendar.h): the open
 * action items assigned to the user that the user may see, and the
 * meetings the user may see in a window of time. Only ids, dates and
 * flags: never a title, case number, alias or text. Every row is decided
 * by the view filter (action items, through the case set) or by
 * mdt_meetings_visible (meetings), for the principal as loaded now. */
#ifndef MDT_MINE_H
#define MDT_MINE_H

#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "db.h"

#define MDT_MINE_ACTIONS_MAX  1000
#define MDT_MINE_MEETINGS_MAX 200

typedef struct {
    int64_t id;
    char due[11]; /* YYYY-MM-DD, "" when it has no due date */
    int overdue;  /* due before today (the installation's day) */
    int due_soon; /* due today or in the next 2 days */
    int is_new;   /* assigned to the user (created or reassigned) within new_within_s */
} mdt_mine_action_t;

typedef struct {
    int64_t id;
    char start[17]; /* UTC, iCalendar form YYYYMMDDTHHMMSSZ */
} mdt_mine_meeting_t;

typedef struct {
    const char *time_zone; /* the installation's, for "today" */
    int64_t new_within_s;  /* 0: no item counts as new */
    int from_days;         /* meetings scheduled from now + from_days ... */
    int to_days;           /* ... to now + to_days (exclusive) */
    int planned_only;      /* only meetings not yet started */
} mdt_mine_opts_t;

typedef struct {
    mdt_mine_action_t *actions; /* by due date (none last), then id */
    size_t n_actions;
    mdt_mine_meeting_t *meetings; /* by time */
    size_t n_meetings;
} mdt_mine_t;

/* DB thread: loads user_id's principal (NULL mfa kinds: not needed) into
 * *p. MDT_DB_NOT_FOUND when there is no such user; an inactive user loads
 * with p->active false (the predicate then denies everything). */
int mdt_mine_principal(mdt_dbc_t *c, int64_t user_id, mdt_principal_t *p);

/* DB thread: fills out for p (free with mdt_mine_free). Returns the db
 * status. */
int mdt_mine_load(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_mine_opts_t *o,
                  mdt_mine_t *out);
void mdt_mine_free(mdt_mine_t *m);

#endif
