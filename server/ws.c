/* ws.c - WebSocket connections, frames and send queues (see ws.h). */
#include "ws.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "server.h"

typedef struct wsq_item {
    struct wsq_item *next;
    mdt_wsmsg_t *msg;
} wsq_item_t;

struct mdt_ws_conn {
    struct lws *wsi;
    mdt_server_t *srv;
    wsq_item_t *head, *tail;
    size_t queued_bytes;
    int queued_frames;
    char *rx;
    size_t rx_len;
    int rx_overflow;
};

size_t mdt_ws_pss_size(void)
{
    return sizeof(mdt_ws_conn_t);
}

mdt_wsmsg_t *mdt_wsmsg_new(const char *data, size_t len)
{
    mdt_wsmsg_t *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m)
        return NULL;
    m->refs = 1;
    m->len = len;
    memcpy(m->buf + LWS_PRE, data, len);
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

/* Serializes j (stolen) and queues it on c alone. */
static int ws_send_json(mdt_ws_conn_t *c, json_t *j)
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
    return ws_send_json(
        c, json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", message));
}

static void ws_queue_clear(mdt_ws_conn_t *c)
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

/* One complete text frame from the client. */
static void ws_handle(mdt_ws_conn_t *c, const char *data, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
    if (!type) {
        ws_send_error(c, "bad_request", "frames are JSON objects with a type");
    } else if (strcmp(type, "ping") == 0) {
        json_t *id = json_object_get(j, "id");
        json_t *pong = json_pack("{s:s}", "type", "pong");
        if (id)
            json_object_set(pong, "id", id);
        ws_send_json(c, pong);
    } else {
        ws_send_error(c, "bad_request", "unknown frame type");
    }
    json_decref(j);
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

static int ws_writeable(mdt_ws_conn_t *c, struct lws *wsi)
{
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
    if (c->head)
        lws_callback_on_writable(wsi);
    return 0;
}

int mdt_ws_confirm_upgrade(struct lws *wsi, const char *protocol)
{
    mdt_server_t *srv = lws_context_user(lws_get_context(wsi));
    char origin[256] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0)
        lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
    if (srv->stopping || strcmp(origin, srv->cfg.origin) != 0) {
        lws_return_http_status(wsi, srv->stopping ? 503 : 403, NULL);
        return 1;
    }
    return 0;
}

int mdt_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    mdt_ws_conn_t *c = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof(*c));
        c->wsi = wsi;
        c->srv = lws_context_user(lws_get_context(wsi));
        c->srv->ws_open++;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(c, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(c, wsi);
    case LWS_CALLBACK_CLOSED:
        ws_queue_clear(c);
        free(c->rx);
        c->rx = NULL;
        c->srv->ws_open--;
        return 0;
    default:
        return 0;
    }
}
