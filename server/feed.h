/* feed.h - this node's reader of the event log.
 *
 * The LISTEN thread reports each notified seq; the feed loads every event
 * after the last one it handled, in seq order and without gaps (the ledger
 * makes seq gapless and commit-ordered), and dispatches each once: events
 * for nodes (user.updated, session.revoked) re-check sessions and sockets;
 * case, meeting and user (notification) events go to the WebSocket fan-out. After a LISTEN
 * reconnect it catches up with seq > last handled. A load that fails is
 * retried with backoff (100 ms to 5 s) until one succeeds, and counted. */
#ifndef MDT_FEED_H
#define MDT_FEED_H

#include <jansson.h>
#include <stdint.h>

struct mdt_server;

typedef struct mdt_feed_event {
    int64_t seq;
    int64_t case_id, meeting_id; /* 0 = none */
    int64_t user_id;             /* > 0: an event of one user's stream (notify.h) */
    char kind[48];
    char object_type[32];
    int64_t object_id;
    int64_t actor_id;
    json_t *data; /* owned by the feed */
} mdt_feed_event_t;

int mdt_feed_start(struct mdt_server *srv);
/* Cancels the retry timer: before the lws context is destroyed. */
void mdt_feed_cancel(struct mdt_server *srv);
/* Frees the feed: after the context is gone. */
void mdt_feed_stop(struct mdt_server *srv);
/* Loads that failed or were refused since start (each is retried). */
uint64_t mdt_feed_failures(const struct mdt_server *srv);
/* From the LISTEN thread's callbacks (loop thread). */
void mdt_feed_notify(struct mdt_server *srv, int64_t seq);
void mdt_feed_listen_up(struct mdt_server *srv);
/* The last seq this node has dispatched. */
int64_t mdt_feed_last(const struct mdt_server *srv);

#endif
