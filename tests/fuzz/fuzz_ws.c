/* fuzz_ws.c - a client WebSocket frame's parse and dispatch decision
 * (mdt_ws_parse, the pure half of the socket's frame handler).
 *
 * Whatever the frame, the result is one command: a refusal with a message,
 * a subscription with a positive id (and since -1 or a seq), or a ping
 * with its pong; the pong is a frame the server can send. */
#include "fuzz.h"
#include "json.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
