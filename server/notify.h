/* notify.h - notifications inside the app: a per-user inbox.
 *
 * A notification stores ids only (kind, case, object type and id, actor)
 * and a per-user dedupe key (schema/012_notifications.sql); its text is
 * rendered for its reader when read (REST list, live event), through the
 * case's context, the content kinds (content.h) and the predicate: what
 * the reader can no longer see reads "An item you can no longer see", with
 * no case number, alias, title or actor. Creating one emits
 * `notification.created` into the one event log with user_id set; marking
 * read emits `notification.read`; the hub streams both to that user's
 * sockets only (`subscribe_user`).
 *
 * The sources, each called on a database thread inside the transaction of
 * the change that causes it, after that change's own event:
 *   action.assigned  mdt_notify_assigned (actions.c)
 *   entry.mention    mdt_notify_mentions_send (entries.c; planned before
 *                    the change's record, mdt_notify_mentions_plan)
 *   meeting.agenda   mdt_notify_agenda (meetings)
 * and the daily job (due soon, overdue, consents expiring), claimed once
 * per node cluster per day. The module's files: notify.c (sources, daily
 * job), notify_render.c (text), notify_http.c (REST); notify_int.h. */
#ifndef MDT_NOTIFY_H
#define MDT_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "db.h"
#include "req.h"

struct mdt_server;

#define MDT_NOTIFY_MAX_MENTIONS 20
#define MDT_NOTIFY_USERNAME_MAX 64

/* ---- sources (DB thread, in the change's transaction) ---- */

/* action.assigned to assignee for action_id at its version, by actor;
 * nothing when there is no assignee or the actor assigned itself. */
int mdt_notify_assigned(mdt_dbc_t *c, int64_t actor, int64_t assignee, int64_t case_id,
                        int64_t action_id, int64_t version);

/* entry.mention, in two steps so that the reads come before the change
 * takes the ledger lock (docs/performance.md, "The create path"):
 * mdt_notify_mentions_plan, before the change records itself, sorts each
 * `@username` in body (NULL: entry_id's current body, read) into *out
 * (new reference): {notified:[user ids], not_notified:[{username,
 * reason}]}, reason "no_access" (may not see the entry, view: its case),
 * "unknown_user" or "inactive"; the author is in neither list.
 * mdt_notify_mentions_send, after the change's event, notifies the ids in
 * plan's "notified" in one statement (none: no statement), held back to go
 * with COMMIT (mdt_db_defer). Both return the db status. */
int mdt_notify_mentions_plan(mdt_dbc_t *c, const mdt_principal_t *author,
                             const mdt_case_ctx_t *view, int64_t entry_id, const char *body,
                             json_t **out);
int mdt_notify_mentions_send(mdt_dbc_t *c, int64_t author_id, int64_t case_id, int64_t entry_id,
                             const json_t *plan);

/* meeting.agenda for every case on planned meeting_id's agenda: to the
 * users assigned an open item on it and the supervisors of its lead
 * agency, once per (meeting, case) and user; not to actor. */
int mdt_notify_agenda(mdt_dbc_t *c, int64_t actor, int64_t meeting_id);

/* The daily job for day (YYYY-MM-DD in time_zone): claims (job, day) for
 * the cluster; only the node that claims it notifies. *claimed tells,
 * *notified counts. Its own transaction. */
int mdt_notify_daily(mdt_dbc_t *c, const char *day, const char *time_zone, int *claimed,
                     int64_t *notified);

/* Pure: the distinct usernames mentioned in md (`@name` at the start or
 * after a character that cannot be in a username; a trailing '.' is not
 * part of it), lower-cased, into out (max of them). Returns the count. */
size_t mdt_notify_parse_mentions(const char *md, char out[][MDT_NOTIFY_USERNAME_MAX + 1],
                                 size_t max);

/* ---- reading (DB thread) ---- */

/* Notification id of p's as p may read it now (new reference), with
 * "unread_count"; NULL when it is not p's or on error (c->status). */
json_t *mdt_notify_event_json(mdt_dbc_t *c, const mdt_principal_t *p, int64_t id,
                              const char *time_zone);
/* The data of a notification.read event for its user: the event's data
 * (ids or all) with the current "unread_count" (new reference). */
json_t *mdt_notify_read_json(mdt_dbc_t *c, int64_t user_id, json_t *data);

/* ---- REST (loop) ---- */

void mdt_notify_list(mdt_req_t *req);       /* GET /api/v1/notifications */
void mdt_notify_mark_read(mdt_req_t *req);  /* POST /api/v1/notifications/read */
void mdt_notify_test_daily(mdt_req_t *req); /* POST /api/v1/_test/daily-jobs */

/* ---- the daily timer (loop) ---- */

/* Runs the daily job now (a day not yet done) and at every midnight of
 * the installation's time zone. */
int mdt_notify_start(struct mdt_server *srv);
void mdt_notify_stop(struct mdt_server *srv);

#endif
