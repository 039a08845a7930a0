/* hub.h - case subscriptions and the live fan-out.
 *
 * A socket subscribes to a case (optionally `since` a seq). The hub checks
 * the case is visible to the socket's user, replays the events after
 * `since` that the user may see now, and then streams live events, in seq
 * order, each exactly once: events are rendered on a database thread once
 * per distinct shape (per view key, mdt_authz_view_key, among the case's
 * subscribers) and delivered in seq order even when rendering finishes out
 * of order. A
 * subscription opened while events are in flight buffers them until its
 * replay is sent, so there is no gap and no duplicate between replay and
 * live. Visibility changes become `access.revoked`; consents that expire
 * are found by a timer at their expiry instant. Presence is sent at most
 * once a second per case. The inside: hub_int.h (hub.c registry,
 * hub_render.c, hub_deliver.c, hub_timers.c). */
#ifndef MDT_HUB_H
#define MDT_HUB_H

#include <stdint.h>

#include "feed.h"

struct mdt_server;
struct mdt_ws_conn;

#define MDT_HUB_MAX_SUBS_PER_SOCKET 64
#define MDT_HUB_PRESENCE_CAP        50

/* since < 0: no replay. Answers on the socket (subscribed / resync / error). */
void mdt_hub_subscribe(struct mdt_server *srv, struct mdt_ws_conn *conn, int64_t case_id,
                       int64_t since);
void mdt_hub_unsubscribe(struct mdt_server *srv, struct mdt_ws_conn *conn, int64_t case_id);
/* Takes a token for one subscribe/unsubscribe message of conn from the
 * socket's and its user's buckets (this node): 0 go on, -1 rate limited
 * (the caller answers `rate_limited`; nothing else happens). */
int mdt_hub_admit(struct mdt_server *srv, struct mdt_ws_conn *conn);
/* Meetings: the socket follows meeting.updated / meeting.current_case. */
void mdt_hub_subscribe_meeting(struct mdt_server *srv, struct mdt_ws_conn *conn,
                               int64_t meeting_id);
void mdt_hub_unsubscribe_meeting(struct mdt_server *srv, struct mdt_ws_conn *conn,
                                 int64_t meeting_id);
/* The socket's user's own stream (notifications, notify.h): replays the
 * user's events after since (< 0: none), answers `subscribed_user`, then
 * streams them live; only ever the socket's own user's. */
void mdt_hub_subscribe_user(struct mdt_server *srv, struct mdt_ws_conn *conn, int64_t since);
void mdt_hub_unsubscribe_user(struct mdt_server *srv, struct mdt_ws_conn *conn);
/* The socket's send queue has room again: moves backlogged frames (a long
 * replay) of its subscriptions into it. */
void mdt_hub_refill(struct mdt_server *srv, struct mdt_ws_conn *conn);
/* The socket is closing: drops its subscriptions. */
void mdt_hub_conn_closed(struct mdt_server *srv, struct mdt_ws_conn *conn);
/* A case, meeting or user event from the feed, in seq order. It is
 * rendered once mdt_hub_flush is called. */
void mdt_hub_on_event(struct mdt_server *srv, const mdt_feed_event_t *ev);
/* Renders the events given since the last flush, in batches (one database
 * job and one snapshot per batch): the feed calls it after each load. */
void mdt_hub_flush(struct mdt_server *srv);

int mdt_hub_start(struct mdt_server *srv);
void mdt_hub_stop(struct mdt_server *srv); /* before the lws context is destroyed */
void mdt_hub_free(struct mdt_server *srv); /* after */

#endif
