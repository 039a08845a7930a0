/* calendar.h - the per-user calendar feed, content-free (docs/api.md
 * "Calendar feed").
 *
 * POST /api/v1/me/calendar makes a new secret token (32 random bytes, hex;
 * the database keeps only its SHA-256) and answers {url}; it replaces any
 * earlier token. DELETE /api/v1/me/calendar revokes it, and so does any
 * change of the user's password (a trigger of schema/013). GET
 * /api/v1/calendar/{token}.ics needs no session: the user's meetings and
 * the due dates of the open action items assigned to the user, each as
 * the authorization predicate lets the user see them now, titled "MDT case
 * review" and "Action item due" with a link to the app: no title, case
 * number, alias or name. An unknown or revoked token answers 404 and is
 * audited as denied; every feed request takes a token from a per-address
 * bucket (MDT_CALENDAR_RATE per minute, 429 beyond it). */
#ifndef MDT_CALENDAR_H
#define MDT_CALENDAR_H

#include "req.h"

void mdt_calendar_create(mdt_req_t *req);
void mdt_calendar_revoke(mdt_req_t *req);
void mdt_calendar_feed(mdt_req_t *req);

#endif
