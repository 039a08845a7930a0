/* ws.h - the `/ws` endpoint (subprotocol mdtboard.v1).
 *
 * Owns WebSocket connections: the upgrade check (Origin, session), incoming
 * frames (bounded size, JSON), and each socket's bounded send queue, written
 * only from LWS_CALLBACK_SERVER_WRITEABLE, one lws_write per callback.
 * Outgoing frames are refcounted so one serialized payload can be queued on
 * many sockets. */
#ifndef MDT_WS_H
#define MDT_WS_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "authz.h"
#include "feed.h"
#include "session.h"

#define MDT_WS_PROTOCOL         "mdtboard.v1"
#define MDT_WS_MAX_FRAME        (64 * 1024)
#define MDT_WS_MAX_QUEUE_BYTES  (4 * 1024 * 1024) /* frames are shared between sockets */
#define MDT_WS_MAX_QUEUE_FRAMES 1024

typedef struct mdt_ws_conn mdt_ws_conn_t;

/* A frame shared between sockets: LWS_PRE bytes of headroom, then payload. */
typedef struct mdt_wsmsg {
    int refs;
    size_t len;
    unsigned char buf[];
} mdt_wsmsg_t;

/* New frame with refs = 1 holding a copy of data; NULL on OOM. Never more
 * than MDT_WS_MAX_FRAME: longer data is replaced by `resync` for the
 * case_id (or meeting_id) it names, or by an `internal` error frame. */
mdt_wsmsg_t *mdt_wsmsg_new(const char *data, size_t len);
void mdt_wsmsg_unref(mdt_wsmsg_t *m);

/* Sends m: written at once when nothing is queued ahead of it and the
 * socket can take it, else queued (taking a reference of its own) for the
 * writable callback; -1 when the queue is full. */
int mdt_ws_send(mdt_ws_conn_t *c, mdt_wsmsg_t *m);
/* Serializes j (stolen) and queues it on c alone; -1 when it did not fit. */
int mdt_ws_send_json(mdt_ws_conn_t *c, json_t *j);
/* Drops everything queued on c (a reader that cannot keep up). */
void mdt_ws_drop_queue(mdt_ws_conn_t *c);
/* The socket's user as the authorization module sees it, and its identity. */
mdt_principal_t mdt_ws_principal(const mdt_ws_conn_t *c);
const mdt_user_t *mdt_ws_user(const mdt_ws_conn_t *c);
uint64_t mdt_ws_id(const mdt_ws_conn_t *c);
/* The hub's list of this socket's subscriptions. */
lws_dll2_owner_t *mdt_ws_subs(mdt_ws_conn_t *c);

/* What the hub keeps per socket (stored in the socket, used by the hub). */
typedef struct {
    int replaying; /* subscribe replays in flight for this socket (at most 1) */
    size_t held;   /* bytes held in its subscriptions' backlogs and buffers */
} mdt_ws_hubstate_t;
mdt_ws_hubstate_t *mdt_ws_hubstate(mdt_ws_conn_t *c);
/* Bytes queued on the socket, not yet written. */
size_t mdt_ws_queued_bytes(const mdt_ws_conn_t *c);
/* The socket's user and peer address as an audit actor. */
void mdt_ws_audit_actor(const mdt_ws_conn_t *c, mdt_audit_actor_t *actor);
/* Live socket by id (NULL when it closed). */
mdt_ws_conn_t *mdt_ws_find(struct mdt_server *srv, uint64_t id);

/* What one client frame asks for. */
typedef enum {
    MDT_WS_BAD, /* answered with a bad_request error frame */
    MDT_WS_SUBSCRIBE,
    MDT_WS_UNSUBSCRIBE,
    MDT_WS_SUBSCRIBE_MEETING,
    MDT_WS_UNSUBSCRIBE_MEETING,
    MDT_WS_SUBSCRIBE_USER, /* the socket's own user's stream (notifications) */
    MDT_WS_UNSUBSCRIBE_USER,
    MDT_WS_ACTIVITY,
    MDT_WS_PING,
} mdt_ws_cmd_kind_t;

typedef struct {
    mdt_ws_cmd_kind_t kind;
    int64_t id;        /* case_id or meeting_id (0 for the user's stream) */
    int64_t since;     /* subscribe: the seq to replay after, -1 when absent */
    const char *error; /* MDT_WS_BAD: the message (static) */
    json_t *pong;      /* MDT_WS_PING: the answer (new reference) */
} mdt_ws_cmd_t;

/* Parses one client text frame (len bytes, no NUL needed) into cmd: the
 * pure half of the socket's frame handler, no socket or server needed. The
 * caller owns cmd->pong (json_decref; NULL unless MDT_WS_PING). */
void mdt_ws_parse(const char *data, size_t len, mdt_ws_cmd_t *cmd);

/* HTTP_CONFIRM_UPGRADE: 0 lets the upgrade go on; 1 when it was refused
 * with an HTTP answer (403 wrong Origin, 401 no valid session). */
int mdt_ws_confirm_upgrade(struct lws *wsi, const char *protocol);

struct mdt_server;

/* Node events: re-check (or close with 4401) the sockets of a user whose
 * account changed, or of one revoked session. */
void mdt_ws_recheck_user(struct mdt_server *srv, int64_t user_id);
void mdt_ws_close_session(struct mdt_server *srv, const char *id_hash);

int mdt_ws_start(struct mdt_server *srv);
/* stop: before the lws context is destroyed (timers); free: after it. */
void mdt_ws_stop(struct mdt_server *srv);
void mdt_ws_free(struct mdt_server *srv);

int mdt_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
size_t mdt_ws_pss_size(void);

#endif
