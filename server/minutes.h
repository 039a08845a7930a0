/* minutes.h - the minutes of a meeting as a document, Markdown or HTML,
 * written for one reader: the date, whether the minutes are a draft or
 * approved (by whom, when), the attendees by agency, for each agenda case
 * the reader may see (the others are left out without a trace) its
 * outcome, the decisions recorded in the meeting or on the case that day
 * and the action items created in the meeting, with owners and due dates;
 * and the corrections of approved minutes, for those cases only. */
#ifndef MDT_MINUTES_H
#define MDT_MINUTES_H

#include <stddef.h>

#include "db.h"
#include "meetings.h"

/* DB thread, inside the caller's (repeatable read) transaction: the
 * minutes of m as p may see them into *out (malloc'ed, *len bytes), HTML
 * when html is set (a whole document linking /minutes.css), else Markdown.
 * version 1..m->minutes_version gives the minutes as approved (1) or
 * corrected (2...) at that version: each outcome as it was then, and the
 * corrections up to it; 0 gives the latest. The caller checks the range.
 * Dates are in time_zone. Returns the database status. */
int mdt_minutes_build(mdt_dbc_t *c, const mdt_meeting_t *m, const mdt_principal_t *p,
                      const char *time_zone, int html, int version, char **out, size_t *len);

#endif
