/* meetings_int.h - the inside of the meetings module, shared by meetings.c
 * (loading and serializing, the meeting runner, input helpers, reading one
 * meeting), meetings_list.c (GET /meetings), meetings_change.c (creating
 * and changing meetings: the agenda, the pointer, attendance, outcomes and
 * corrections), meetings_minutes.c (the minutes: reading them at a
 * version, approving them) and meetings_agenda.c (the default agenda's
 * cases and reasons, agenda suggestions). The public surface is
 * meetings.h. */
#ifndef MDT_MEETINGS_INT_H
#define MDT_MEETINGS_INT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "audit.h"
#include "ctx.h"
#include "entries.h"
#include "events.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "markdown.h"
#include "meetings.h"
#include "minutes.h"
#include "runner.h"
#include "sealed.h"
#include "session.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define MEETINGS_MAX_AGENDA 200
#define TITLE_MAX_CHARS     200

static const char *const STATUSES[] = {"planned", "in_progress", "ended", NULL};
enum { ST_PLANNED, ST_IN_PROGRESS, ST_ENDED };

/* The request runner of a meeting request (its functions: "the runner"). */
typedef struct meetop meetop_t;
typedef int (*meetop_fn)(mdt_dbc_t *c, meetop_t *op);

struct meetop {
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    const char *time_zone; /* the installation's, for dates */
    int64_t meeting_id;    /* the meeting in the path (0: list, create sets it) */
    int lock;              /* a change: lock the meeting row, then load it */
    meetop_fn pre;         /* optional, on the database thread before BEGIN */
    meetop_fn work;
    const char *read_action; /* non-NULL: audit the answer as a read */
    json_t *read_detail;
    mdt_meeting_t *m; /* the meeting as it is when work starts */
    void *ud;
    void (*ud_free)(void *);

    mdt_run_t run; /* the runner: isolation and the answer (run.ans) */
};

/* ---- meetings_agenda.c ---- */

/* What to put forward (POST /meetings default_agenda, agenda-suggestions). */
typedef struct {
    int64_t not_reviewed; /* days; -1 = not asked for */
    int with_overdue, review_due, carry_over;
    char on[11];    /* the meeting's day YYYY-MM-DD; "" = the day of at */
    const char *at; /* the meeting's time (RFC 3339); NULL with on "" = today */
} mdt_agenda_ask_t;

/* One case put forward. The strings point into the mdt_agenda_t's result. */
typedef struct {
    int64_t case_id;
    unsigned reasons; /* MDT_REASON_* bits, never 0 */
    int overdue;      /* overdue action items the caller sees */
    int row;          /* its row of the result */
    const char *review_due, *referral;
} mdt_agenda_pick_t;

typedef struct {
    PGresult *res;
    mdt_agenda_pick_t *v; /* in agenda order */
    size_t n;
} mdt_agenda_t;

/* DB thread: the cases to put forward for op->p, each decided by the
 * predicate and at most once with all its reasons, in agenda order: by
 * the first reason (carried over, overdue actions, review due, not
 * reviewed), then review_due, referral date, id. Free out with
 * mdt_meetings_agenda_free (also done on failure). */
int mdt_meetings_agenda_pick(mdt_dbc_t *c, const meetop_t *op, const mdt_agenda_ask_t *ask,
                             mdt_agenda_t *out);
void mdt_meetings_agenda_free(mdt_agenda_t *ag);

/* ---- meetings.c ---- */

int mdt_meetings_bump_version(mdt_dbc_t *c, int64_t meeting_id);
void mdt_meetings_change_int(mdt_req_t *req, const char *key, int required, int64_t hi,
                             meetop_fn work);
int64_t mdt_meetings_case_at(const mdt_meeting_t *m, int pos);
int mdt_meetings_check_cases_visible(mdt_dbc_t *c, meetop_t *op, const int64_t *ids, size_t n,
                                     const char *field);
int mdt_meetings_conflict(meetop_t *op, const char *message);
int mdt_meetings_is_null(json_t *b, const char *key);
meetop_t *mdt_meetings_meetop_new(mdt_req_t *req, meetop_fn work, void *ud,
                                  void (*ud_free)(void *));
int mdt_meetings_meetop_record(mdt_dbc_t *c, meetop_t *op, const char *action, const char *kind,
                               int64_t case_id, json_t *detail);
int mdt_meetings_meetop_reload(mdt_dbc_t *c, meetop_t *op, mdt_meeting_t **out);
void mdt_meetings_meetop_run(meetop_t *op);
PGresult *mdt_meetings_query_id(mdt_dbc_t *c, const char *sql, int64_t id);
int mdt_meetings_fail(meetop_t *op, int status, const char *code, const char *field,
                      const char *message);
size_t mdt_meetings_text_chars(const char *s);

#endif
