/* ws.c - WebSocket connections, frames and send queues (see ws.h). */
#include "ws.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "server_ctx.h"
#include "http.h"
#include "hmap.h"
#include "hub.h"
#include "session.h"

typedef struct wsq_item {
    struct wsq_item *next;
    mdt_wsmsg_t *msg;
} wsq_item_t;

struct mdt_ws_conn {
    struct lws *wsi;
    mdt_server_t *srv;
    lws_dll2_t list;       /* in srv->conns->open */
    mdt_session_t session; /* copy taken at the upgrade */
    int closing;           /* close code to send on the next writeable, 0 = none */
    int rechecking;
    int authenticating; /* MDT_WORKERS > 1: session being loaded, reading paused */
    uint64_t id;
    lws_dll2_owner_t subs; /* hub subscriptions */
    mdt_ws_hubstate_t hub;
    char peer[64]; /* the client's address, for audit rows */
    wsq_item_t *head, *tail;
    size_t queued_bytes;
    int queued_frames;
    char *rx;
    size_t rx_len;
    int rx_overflow;
};

#define WS_SWEEP_US (2 * LWS_US_PER_SEC)

struct mdt_ws_registry {
    lws_dll2_owner_t open; /* mdt_ws_conn_t, by their list link */
    mdt_hmap_t *by_id;     /* the same, by their id in decimal (borrowed) */
    uint64_t next_id;
    lws_sorted_usec_list_t sweep;
    mdt_server_t *srv;
};

size_t mdt_ws_pss_size(void)
{
    return sizeof(mdt_ws_conn_t);
}

/* What goes out instead of a frame over MDT_WS_MAX_FRAME: `resync` for the
 * case (or meeting) it names, so the client reloads rather than miss it; an
 * error for anything else (a pong echoing a huge id). malloc'ed text. */
static char *ws_oversize_standin(const char *data, size_t len, size_t *out_len)
{
    json_t *j = json_loadb(data, len, 0, NULL), *r;
    json_t *cid = json_object_get(j, "case_id"), *mid = json_object_get(j, "meeting_id");
    json_t *uid = json_object_get(j, "user_id");
    int resync = json_is_integer(cid) || json_is_integer(mid) || json_is_integer(uid);
    if (json_is_integer(cid))
        r = json_pack("{s:s, s:O}", "type", "resync", "case_id", cid);
    else if (json_is_integer(mid))
        r = json_pack("{s:s, s:O}", "type", "resync", "meeting_id", mid);
    else if (json_is_integer(uid))
        r = json_pack("{s:s, s:O}", "type", "resync", "user_id", uid);
    else
        r = json_pack("{s:s, s:s, s:s}", "type", "error", "code", "internal", "message",
                      "the answer exceeds the 64 KiB frame limit");
    json_decref(j);
    char *s = mdt_json_dump(r, out_len);
    json_decref(r);
    mdt_log_warn("frame over the limit replaced", "bytes=%zu by=%s", len,
                 resync ? "resync" : "error");
    return s;
}

mdt_wsmsg_t *mdt_wsmsg_new(const char *data, size_t len)
{
    char *standin = NULL;
    if (len > MDT_WS_MAX_FRAME) {
        standin = ws_oversize_standin(data, len, &len);
        if (!standin)
            return NULL;
        data = standin;
    }
    mdt_wsmsg_t *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m) {
        free(standin);
        return NULL;
    }
    m->refs = 1;
    m->len = len;
    memcpy(m->buf + LWS_PRE, data, len);
    free(standin);
    return m;
}

void mdt_wsmsg_unref(mdt_wsmsg_t *m)
{
    if (m && --m->refs == 0)
        free(m);
}

int mdt_ws_send(mdt_ws_conn_t *c, mdt_wsmsg_t *m)
{
    if (c->queued_frames >= MDT_WS_MAX_QUEUE_FRAMES ||
        c->queued_bytes + m->len > MDT_WS_MAX_QUEUE_BYTES)
        return -1;
    wsq_item_t *it = malloc(sizeof(*it));
    if (!it)
        return -1;
    it->next = NULL;
    it->msg = m;
    m->refs++;
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    c->queued_bytes += m->len;
    c->queued_frames++;
    lws_callback_on_writable(c->wsi);
    return 0;
}

int mdt_ws_send_json(mdt_ws_conn_t *c, json_t *j)
{
    size_t len;
    char *s = mdt_json_dump(j, &len);
    json_decref(j);
    if (!s)
        return -1;
    mdt_wsmsg_t *m = mdt_wsmsg_new(s, len);
    free(s);
    if (!m)
        return -1;
    int rc = mdt_ws_send(c, m);
    mdt_wsmsg_unref(m);
    return rc;
}

static int ws_send_error(mdt_ws_conn_t *c, const char *code, const char *message)
{
    return mdt_ws_send_json(
        c, json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", message));
}

mdt_principal_t mdt_ws_principal(const mdt_ws_conn_t *c)
{
    return mdt_session_principal(&c->session.user);
}

const mdt_user_t *mdt_ws_user(const mdt_ws_conn_t *c)
{
    return &c->session.user;
}

uint64_t mdt_ws_id(const mdt_ws_conn_t *c)
{
    return c->id;
}

lws_dll2_owner_t *mdt_ws_subs(mdt_ws_conn_t *c)
{
    return &c->subs;
}

mdt_ws_hubstate_t *mdt_ws_hubstate(mdt_ws_conn_t *c)
{
    return &c->hub;
}

size_t mdt_ws_queued_bytes(const mdt_ws_conn_t *c)
{
    return c->queued_bytes;
}

void mdt_ws_audit_actor(const mdt_ws_conn_t *c, mdt_audit_actor_t *actor)
{
    memset(actor, 0, sizeof(*actor));
    snprintf(actor->address, sizeof(actor->address), "%s", c->peer);
    actor->user_id = c->session.user.user_id;
    actor->agency_id = c->session.user.agency_id;
    snprintf(actor->username, sizeof(actor->username), "%s", c->session.user.username);
}

void mdt_ws_drop_queue(mdt_ws_conn_t *c)
{
    wsq_item_t *it = c->head;
    while (it) {
        wsq_item_t *next = it->next;
        mdt_wsmsg_unref(it->msg);
        free(it);
        it = next;
    }
    c->head = c->tail = NULL;
    c->queued_bytes = 0;
    c->queued_frames = 0;
}

/* Reads an optional "since" (a seq >= 0, or null). */
static int ws_parse_since(json_t *j, mdt_ws_cmd_t *cmd)
{
    json_t *since = json_object_get(j, "since");
    if (!since || json_is_null(since))
        return 0;
    if (!json_is_integer(since) || json_integer_value(since) < 0)
        return -1;
    cmd->since = json_integer_value(since);
    return 0;
}

/* Reads "case_id"/"meeting_id" (key; "" for none) and, with_since, an
 * optional "since". */
static int ws_parse_target(json_t *j, const char *key, int with_since, mdt_ws_cmd_t *cmd)
{
    json_t *id = key[0] ? json_object_get(j, key) : NULL;
    if (key[0] && (!json_is_integer(id) || json_integer_value(id) <= 0))
        return -1;
    cmd->id = key[0] ? json_integer_value(id) : 0;
    return with_since ? ws_parse_since(j, cmd) : 0;
}

void mdt_ws_parse(const char *data, size_t len, mdt_ws_cmd_t *cmd)
{
    static const struct {
        const char *type;
        mdt_ws_cmd_kind_t kind;
        const char *key; /* the id it names, or NULL */
        const char *bad;
    } types[] = {
        {"subscribe", MDT_WS_SUBSCRIBE, "case_id",
         "case_id must be a positive integer, since a seq"},
        {"unsubscribe", MDT_WS_UNSUBSCRIBE, "case_id",
         "case_id must be a positive integer, since a seq"},
        {"subscribe_meeting", MDT_WS_SUBSCRIBE_MEETING, "meeting_id",
         "meeting_id must be a positive integer"},
        {"unsubscribe_meeting", MDT_WS_UNSUBSCRIBE_MEETING, "meeting_id",
         "meeting_id must be a positive integer"},
        {"subscribe_user", MDT_WS_SUBSCRIBE_USER, "", "since must be a seq"},
        {"unsubscribe_user", MDT_WS_UNSUBSCRIBE_USER, "", "since must be a seq"},
        {"activity", MDT_WS_ACTIVITY, NULL, NULL},
        {"ping", MDT_WS_PING, NULL, NULL},
    };
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
    *cmd = (mdt_ws_cmd_t){
        .kind = MDT_WS_BAD, .since = -1, .error = "frames are JSON objects with a type"};
    if (!type)
        goto exit;
    cmd->error = "unknown frame type";
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(type, types[i].type) != 0)
            continue;
        if (types[i].key && ws_parse_target(j, types[i].key,
                                            strcmp(types[i].type, "subscribe") == 0 ||
                                                strcmp(types[i].type, "subscribe_user") == 0,
                                            cmd) != 0) {
            cmd->error = types[i].bad;
            goto exit;
        }
        cmd->kind = types[i].kind;
        cmd->error = NULL;
        break;
    }
    if (cmd->kind == MDT_WS_PING) {
        json_t *id = json_object_get(j, "id");
        cmd->pong = json_pack("{s:s}", "type", "pong");
        if (id && cmd->pong)
            json_object_set(cmd->pong, "id", id);
    }
exit:
    json_decref(j);
}

/* Is kind a subscription message (rate-limited per socket and user)? */
static int ws_is_subscription(mdt_ws_cmd_kind_t kind)
{
    return kind == MDT_WS_SUBSCRIBE || kind == MDT_WS_UNSUBSCRIBE ||
           kind == MDT_WS_SUBSCRIBE_MEETING || kind == MDT_WS_UNSUBSCRIBE_MEETING ||
           kind == MDT_WS_SUBSCRIBE_USER || kind == MDT_WS_UNSUBSCRIBE_USER;
}

/* One complete text frame from the client. */
static void ws_handle(mdt_ws_conn_t *c, const char *data, size_t len)
{
    mdt_ws_cmd_t cmd;
    mdt_ws_parse(data, len, &cmd);
    if (ws_is_subscription(cmd.kind) && mdt_hub_admit(c->srv, c) != 0) {
        ws_send_error(c, "rate_limited", "too many subscribe messages: slow down");
        json_decref(cmd.pong);
        return;
    }
    switch (cmd.kind) {
    case MDT_WS_BAD:
        ws_send_error(c, "bad_request", cmd.error);
        break;
    case MDT_WS_SUBSCRIBE:
        mdt_hub_subscribe(c->srv, c, cmd.id, cmd.since);
        break;
    case MDT_WS_UNSUBSCRIBE:
        mdt_hub_unsubscribe(c->srv, c, cmd.id);
        break;
    case MDT_WS_SUBSCRIBE_MEETING:
        mdt_hub_subscribe_meeting(c->srv, c, cmd.id);
        break;
    case MDT_WS_UNSUBSCRIBE_MEETING:
        mdt_hub_unsubscribe_meeting(c->srv, c, cmd.id);
        break;
    case MDT_WS_SUBSCRIBE_USER:
        mdt_hub_subscribe_user(c->srv, c, cmd.since);
        break;
    case MDT_WS_UNSUBSCRIBE_USER:
        mdt_hub_unsubscribe_user(c->srv, c);
        break;
    case MDT_WS_ACTIVITY:
        mdt_session_activity(c->srv, c->session.id_hash);
        break;
    case MDT_WS_PING:
        if (c->srv->cfg.workers > 1) /* which worker holds this socket (workers.h) */
            json_object_set_new(cmd.pong, "worker", json_integer(c->srv->cfg.worker));
        mdt_ws_send_json(c, cmd.pong);
        cmd.pong = NULL;
        break;
    }
    json_decref(cmd.pong);
}

static int ws_receive(mdt_ws_conn_t *c, struct lws *wsi, const void *in, size_t len)
{
    if (lws_frame_is_binary(wsi)) {
        c->rx_overflow = 1;
    } else if (!c->rx_overflow) {
        if (c->rx_len + len > MDT_WS_MAX_FRAME) {
            c->rx_overflow = 1;
        } else {
            char *rx = realloc(c->rx, c->rx_len + len + 1);
            if (!rx)
                return -1;
            c->rx = rx;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!lws_is_final_fragment(wsi))
        return 0;
    if (c->rx_overflow)
        ws_send_error(c, "bad_request", "frames must be JSON text of at most 64 KiB");
    else
        ws_handle(c, c->rx, c->rx_len);
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    c->rx_overflow = 0;
    return 0;
}

/* Writes the close frame (c->closing and its reason) and returns -1 so
 * lws closes the socket. Written here rather than through
 * lws_close_reason(): under libuv lws 4.1 never sends that frame from
 * inside a writable callback (the client saw 1006, not 4401); a frame
 * written by hand goes out before the FIN under either loop. */
static int ws_write_close(mdt_ws_conn_t *c, struct lws *wsi)
{
    /* 4401: the session ended; otherwise (1011) the session could not be
     * checked, and the client is to try again later */
    const char *why = c->closing == 4401 ? "session ended" : "try again later";
    size_t n = strlen(why);
    unsigned char frame[LWS_PRE + 4 + 32];
    unsigned char *f = frame + LWS_PRE;
    f[0] = 0x88; /* FIN, opcode close */
    f[1] = (unsigned char)(2 + n);
    f[2] = (unsigned char)(c->closing >> 8);
    f[3] = (unsigned char)(c->closing & 0xff);
    memcpy(f + 4, why, n);
    lws_write(wsi, f, 4 + n, LWS_WRITE_RAW);
    return -1;
}

static int ws_writeable(mdt_ws_conn_t *c, struct lws *wsi)
{
    if (c->closing)
        return ws_write_close(c, wsi);
    wsq_item_t *it = c->head;
    if (!it)
        return 0;
    mdt_wsmsg_t *m = it->msg;
    if (lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
        return -1;
    c->head = it->next;
    if (!c->head)
        c->tail = NULL;
    c->queued_bytes -= m->len;
    c->queued_frames--;
    mdt_wsmsg_unref(m);
    free(it);
    if (c->queued_frames < MDT_WS_MAX_QUEUE_FRAMES / 2 &&
        c->queued_bytes < MDT_WS_MAX_QUEUE_BYTES / 2 && c->subs.count)
        mdt_hub_refill(c->srv, c);
    if (c->head)
        lws_callback_on_writable(wsi);
    return 0;
}

/* The upgrade request's Cookie header (malloc'ed; the caller frees), or
 * NULL when there is none, it is over 8 KiB, or memory ran out. */
static char *ws_cookie(struct lws *wsi)
{
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);
    char *cookie = n > 0 && n <= 8192 ? malloc((size_t)n + 1) : NULL;
    if (cookie && lws_hdr_copy(wsi, cookie, n + 1, WSI_TOKEN_HTTP_COOKIE) < 0) {
        free(cookie);
        cookie = NULL;
    }
    return cookie;
}

/* The live cached session named by the upgrade request's cookie, or NULL. */
static const mdt_session_t *ws_session(struct lws *wsi, mdt_server_t *srv)
{
    char *cookie = ws_cookie(wsi);
    const mdt_session_t *s = cookie ? mdt_session_find(srv, cookie, 0) : NULL;
    free(cookie);
    return s;
}

/* Does Sec-WebSocket-Protocol list ours (exactly, as one of its items)? */
static int ws_offers_protocol(struct lws *wsi)
{
    char list[256];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) <= 0 ||
        lws_hdr_copy(wsi, list, sizeof(list), WSI_TOKEN_PROTOCOL) < 0)
        return 0;
    size_t pl = strlen(MDT_WS_PROTOCOL);
    for (char *s = list; *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t n = strcspn(s, ", ");
        if (n == pl && strncmp(s, MDT_WS_PROTOCOL, pl) == 0)
            return 1;
        s += n;
    }
    return 0;
}

static int ws_cookie_hash(struct lws *wsi, mdt_session_t *out);
static int ws_authenticate(mdt_ws_conn_t *c, struct lws *wsi);

/* protocol is the upgrade's name ("websocket"); ours is a subprotocol. */
int mdt_ws_confirm_upgrade(struct lws *wsi, const char *protocol)
{
    mdt_server_t *srv = lws_context_user(lws_get_context(wsi));
    char origin[256] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0)
        lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
    int status = 0;
    if (srv->stopping)
        status = 503;
    else if (strcmp(origin, srv->cfg.origin) != 0)
        status = 403;
    else if (!protocol || strcmp(protocol, "websocket") != 0 || !ws_offers_protocol(wsi))
        status = 400;
    else if (!ws_session(wsi, srv) && !(srv->cfg.workers > 1 && ws_cookie_hash(wsi, NULL) == 0))
        status = 401;
    if (!status)
        return 0;
    lws_return_http_status(wsi, (unsigned int)status, NULL);
    return 1;
}

/* The registry's key of a socket id: its decimal text in key. */
static const char *ws_id_key(uint64_t id, char key[24])
{
    snprintf(key, 24, "%llu", (unsigned long long)id);
    return key;
}

static int ws_established(mdt_ws_conn_t *c, struct lws *wsi)
{
    mdt_server_t *srv = lws_context_user(lws_get_context(wsi));
    memset(c, 0, sizeof(*c));
    const mdt_session_t *s = ws_session(wsi, srv);
    if ((!s && srv->cfg.workers <= 1) || !srv->conns)
        return -1;
    c->wsi = wsi;
    c->srv = srv;
    if (s)
        c->session = *s;
    c->id = ++srv->conns->next_id;
    char key[24];
    int rc = mdt_hmap_put(srv->conns->by_id, ws_id_key(c->id, key), c);
    if (rc == 0 && !s && (rc = ws_authenticate(c, wsi)) != 0)
        mdt_hmap_del(srv->conns->by_id, key);
    if (rc != 0) {
        c->srv = NULL; /* nothing for LWS_CALLBACK_CLOSED to undo */
        return -1;
    }
    mdt_http_client_addr(wsi, srv->cfg.trusted_proxies, c->peer, sizeof(c->peer));
    lws_dll2_add_tail(&c->list, &srv->conns->open);
    srv->ws_open++;
    return 0;
}

/* ---- session checks on open sockets ---- */

static void ws_close(mdt_ws_conn_t *c, int code)
{
    if (c->closing)
        return;
    c->closing = code;
    lws_callback_on_writable(c->wsi);
}

mdt_ws_conn_t *mdt_ws_find(mdt_server_t *srv, uint64_t id)
{
    char key[24];
    return mdt_hmap_get(srv->conns->by_id, ws_id_key(id, key));
}

typedef struct {
    mdt_server_t *srv;
    uint64_t conn_id;
    mdt_session_t s;
    int idle_s;
    const char *mfa_kinds;
} ws_recheck_t;

static int ws_recheck_work(mdt_dbc_t *db, void *arg)
{
    ws_recheck_t *r = arg;
    return mdt_session_load(db, r->s.id_hash, r->idle_s, r->mfa_kinds, &r->s);
}

static void ws_authenticated(mdt_ws_conn_t *c, ws_recheck_t *r, int status);

static void ws_recheck_done(void *arg, int status)
{
    ws_recheck_t *r = arg;
    mdt_ws_conn_t *c = r->srv->conns ? mdt_ws_find(r->srv, r->conn_id) : NULL;
    if (c && c->authenticating) {
        ws_authenticated(c, r, status);
    } else if (c) {
        c->rechecking = 0;
        if (status == MDT_DB_NOT_FOUND) {
            ws_close(c, 4401);
        } else if (status == MDT_DB_OK) {
            c->session = r->s;
            mdt_session_cache(r->srv, &r->s);
        }
    }
    free(r);
}

/* The session token hash of the upgrade request's cookie into out->id_hash
 * (out may be NULL: only whether there is one): 0, or -1 when the request
 * carries no well-formed session cookie. */
static int ws_cookie_hash(struct lws *wsi, mdt_session_t *out)
{
    mdt_session_t scratch;
    char *cookie = ws_cookie(wsi);
    int rc =
        cookie && mdt_session_token_hash(cookie, (out ? out : &scratch)->id_hash) == 0 ? 0 : -1;
    free(cookie);
    return rc;
}

/* MDT_WORKERS > 1: a socket whose session this worker has not seen (the
 * kernel, not a cookie hash, picked the worker; the client's GET /me may
 * have reached another) is upgraded with reading paused, and the session
 * is loaded from the database as any request with the cookie would load
 * it. Nothing is read from the socket, and nothing is sent to it, until
 * the database says the session is live (ws_authenticated); a session that
 * is not is closed 4401, as a session that ends. 0, or -1 (refuse it). */
static int ws_authenticate(mdt_ws_conn_t *c, struct lws *wsi)
{
    ws_recheck_t *r = calloc(1, sizeof(*r));
    if (!r || ws_cookie_hash(wsi, &r->s) != 0) {
        free(r);
        return -1;
    }
    r->srv = c->srv;
    r->conn_id = c->id;
    r->idle_s = c->srv->cfg.session_idle_s;
    r->mfa_kinds = c->srv->cfg.mfa_required_kinds;
    memcpy(c->session.id_hash, r->s.id_hash, sizeof(c->session.id_hash));
    c->authenticating = 1;
    lws_rx_flow_control(wsi, 0);
    if (mdt_db_submit(c->srv->db, ws_recheck_work, ws_recheck_done, r) != 0) {
        free(r);
        return -1;
    }
    return 0;
}

/* The session load of ws_authenticate is back: live, the socket reads
 * from now on; not live, 4401; the database failed, 1011 (the client
 * reconnects later). */
static void ws_authenticated(mdt_ws_conn_t *c, ws_recheck_t *r, int status)
{
    c->authenticating = 0;
    if (status == MDT_DB_OK) {
        c->session = r->s;
        mdt_session_cache(r->srv, &r->s);
        lws_rx_flow_control(c->wsi, 1);
    } else {
        ws_close(c, status == MDT_DB_NOT_FOUND ? 4401 : 1011);
    }
}

/* Asks the database whether c's session still holds. */
static void ws_recheck(mdt_ws_conn_t *c)
{
    if (c->rechecking || c->closing)
        return;
    ws_recheck_t *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    r->srv = c->srv;
    r->conn_id = c->id;
    memcpy(r->s.id_hash, c->session.id_hash, sizeof(r->s.id_hash));
    r->idle_s = c->srv->cfg.session_idle_s;
    r->mfa_kinds = c->srv->cfg.mfa_required_kinds;
    c->rechecking = 1;
    if (mdt_db_submit(c->srv->db, ws_recheck_work, ws_recheck_done, r) != 0) {
        c->rechecking = 0;
        free(r);
    }
}

void mdt_ws_recheck_user(mdt_server_t *srv, int64_t user_id)
{
    if (!srv->conns)
        return;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->conns->open))
    {
        mdt_ws_conn_t *c = lws_container_of(d, mdt_ws_conn_t, list);
        if (c->session.user.user_id == user_id)
            ws_recheck(c);
    }
    lws_end_foreach_dll(d);
}

void mdt_ws_close_session(mdt_server_t *srv, const char *id_hash)
{
    if (!srv->conns)
        return;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->conns->open))
    {
        mdt_ws_conn_t *c = lws_container_of(d, mdt_ws_conn_t, list);
        if (strcmp(c->session.id_hash, id_hash) == 0)
            ws_close(c, 4401);
    }
    lws_end_foreach_dll(d);
}

/* Every few seconds: sockets whose session this node no longer holds live
 * (idle, expired, dropped) are re-checked against the database. */
static void ws_sweep(lws_sorted_usec_list_t *sul)
{
    struct mdt_ws_registry *reg = lws_container_of(sul, struct mdt_ws_registry, sweep);
    mdt_server_t *srv = reg->srv;
    int64_t now = mdt_session_now();
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&reg->open))
    {
        mdt_ws_conn_t *c = lws_container_of(d, mdt_ws_conn_t, list);
        const mdt_session_t *s = mdt_session_find_hash(srv, c->session.id_hash);
        if (c->authenticating) {
            /* its session is being loaded (ws_authenticate) */
        } else if (now >= c->session.expires_at)
            ws_close(c, 4401);
        else if (!s || now - s->last_activity >= srv->cfg.session_idle_s)
            ws_recheck(c);
    }
    lws_end_foreach_dll(d);
    lws_sul_schedule(srv->ctx, 0, &reg->sweep, ws_sweep, WS_SWEEP_US);
}

int mdt_ws_start(mdt_server_t *srv)
{
    struct mdt_ws_registry *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return -1;
    reg->srv = srv;
    if (!(reg->by_id = mdt_hmap_new(NULL))) {
        free(reg);
        return -1;
    }
    srv->conns = reg;
    lws_sul_schedule(srv->ctx, 0, &reg->sweep, ws_sweep, WS_SWEEP_US);
    return 0;
}

void mdt_ws_stop(mdt_server_t *srv)
{
    if (srv->conns)
        lws_sul_cancel(&srv->conns->sweep);
}

void mdt_ws_free(mdt_server_t *srv)
{
    if (srv->conns)
        mdt_hmap_free(srv->conns->by_id);
    free(srv->conns);
    srv->conns = NULL;
}

int mdt_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    mdt_ws_conn_t *c = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(c, wsi);
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(c, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(c, wsi);
    case LWS_CALLBACK_CLOSED:
        if (!c->srv)
            return 0;
        mdt_hub_conn_closed(c->srv, c);
        char key[24];
        if (c->srv->conns)
            mdt_hmap_del(c->srv->conns->by_id, ws_id_key(c->id, key));
        lws_dll2_remove(&c->list);
        mdt_ws_drop_queue(c);
        free(c->rx);
        c->rx = NULL;
        c->srv->ws_open--;
        return 0;
    default:
        return 0;
    }
}
