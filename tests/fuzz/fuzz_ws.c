/* fuzz_ws.c - a client WebSocket frame's parse and dispatch decision
 * (mdt_ws_parse, the pure half of the socket's frame handler).
 *
 * Whatever the frame, the result is one command: a refusal with a message,
 * a subscription with a positive id (and since -1 or a seq), or a ping
 * with its pong; the pong is a frame the server can send. The input,
 * padded past 64 KiB, also drives the outgoing frame guard in
 * mdt_wsmsg_new. */
#include "fuzz.h"
#include "json.h"
#include "ws.h"

/* An outgoing frame over the limit (the input object padded past 64 KiB)
 * must come out as resync naming its case or meeting, or as an error. */
static void check_oversize(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    static char pad[MDT_WS_MAX_FRAME + 1];
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    memset(pad, 'p', sizeof(pad) - 1);
    json_object_set_new(j, "pad", json_string(pad));
    size_t len;
    char *s = mdt_json_dump(j, &len);
    mdt_wsmsg_t *m = s ? mdt_wsmsg_new(s, len) : NULL;
    if (m) {
        json_t *out = json_loadb((const char *)m->buf + LWS_PRE, m->len, 0, NULL);
        const char *type = json_string_value(json_object_get(out, "type"));
        if (m->len > MDT_WS_MAX_FRAME || !type ||
            (strcmp(type, "resync") != 0 && strcmp(type, "error") != 0))
            abort();
        json_decref(out);
    }
    mdt_wsmsg_unref(m);
    free(s);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_oversize(data, size);
    mdt_ws_cmd_t cmd;
    mdt_ws_parse((const char *)data, size, &cmd);
    switch (cmd.kind) {
    case MDT_WS_BAD:
        if (!cmd.error || cmd.pong)
            abort();
        break;
    case MDT_WS_SUBSCRIBE:
    case MDT_WS_UNSUBSCRIBE:
    case MDT_WS_SUBSCRIBE_MEETING:
    case MDT_WS_UNSUBSCRIBE_MEETING:
        if (cmd.id <= 0 || cmd.since < -1 || cmd.pong)
            abort();
        break;
    case MDT_WS_ACTIVITY:
        break;
    case MDT_WS_PING: {
        size_t len;
        char *s = mdt_json_dump(cmd.pong, &len);
        mdt_wsmsg_t *m = s ? mdt_wsmsg_new(s, len) : NULL;
        if (m && m->len > MDT_WS_MAX_FRAME)
            abort();
        mdt_wsmsg_unref(m);
        free(s);
        break;
    }
    default:
        abort();
    }
    json_decref(cmd.pong);
    return 0;
}
