/* digest.h - the email digest, content-free (docs/api.md "Email digest",
 * docs/operations.md "Email").
 *
 * Settings: GET/PUT /api/v1/me/notification-settings {email, digest:
 * "off"|"daily"|"weekly"} (no row: off), with calendar_active and
 * email_configured beside them for the web app.
 *
 * The job: with MDT_SMTP_URL set, every node ticks every MDT_DIGEST_TICK
 * seconds (default 60; 0: never, only the test hook runs it). From
 * MDT_DIGEST_HOUR (local, MDT_TIME_ZONE) on, the first tick of a day on
 * any node claims ('digest', day) in job_claims (INSERT ... ON CONFLICT DO
 * NOTHING) and fills digest_outbox with every active user whose digest is
 * daily, or weekly on a Monday. Each tick then takes up to 100 unsent rows
 * (marked taken for 5 minutes, FOR UPDATE SKIP LOCKED, so two nodes never
 * take the same row), counts each user's open action items (overdue, new
 * in the period, due within 2 days) and meetings in the next 7 days, as
 * the authorization predicate lets the user see them now (mine.h), and
 * mails one message of counts and the app's link: never a case number,
 * alias, name, title or text. Sending runs on the digest's own mail
 * thread; a failed send is logged, audited as a failure and taken again 5
 * minutes later (at most 5 attempts, that day or the next); a sent one is
 * audited as digest.send. */
#ifndef MDT_DIGEST_H
#define MDT_DIGEST_H

#include <stddef.h>

#include "req.h"

struct mdt_server;

/* What one digest counts. */
typedef struct {
    long overdue, new_assigned, due_soon, meetings;
} mdt_digest_counts_t;

/* The message body for k with the link origin ("3 overdue, 2 new
 * assignments, 1 due soon, 1 meeting this week — open MDT Board: <origin>/"),
 * into out (truncated to size). Pure. */
void mdt_digest_body(const mdt_digest_counts_t *k, const char *origin, char *out, size_t size);

/* Handlers: GET and PUT /api/v1/me/notification-settings. */
void mdt_digest_settings_get(mdt_req_t *req);
void mdt_digest_settings_put(mdt_req_t *req);

/* Test hook (MDT_TEST_HOOKS builds): POST /api/v1/_test/digest-run runs one
 * tick now whatever the local hour and answers {claimed, sent, failed}
 * once its messages were handed to the relay (or failed) and recorded. */
void mdt_digest_test_run(mdt_req_t *req);

/* Loop: starts the minute tick and the mail thread when MDT_SMTP_URL is
 * set (nothing otherwise). 0 ok. */
int mdt_digest_start(struct mdt_server *srv);
/* Loop: cancels the tick. */
void mdt_digest_stop(struct mdt_server *srv);
/* At teardown, after the database pool is gone: joins the mail thread
 * (runs still queued end unsent) and frees the job's state. */
void mdt_digest_free(struct mdt_server *srv);

#endif
