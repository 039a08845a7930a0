/* listen.h - the dedicated LISTEN connection for `mdt_events`.
 *
 * A thread owns one libpq connection that LISTENs on the channel and waits on
 * its socket. Each notification's payload (an event seq) is handed to the
 * loop through the loop queue; so is every change between up and down, so the
 * loop can catch up with `seq > last seen` after a reconnect. Reconnects with
 * backoff; never exits on its own. The connection has TCP keepalives
 * (mdt_db_connect), so a database host that vanished without a reset is
 * noticed within about a minute and reconnected, not waited on forever. */
#ifndef MDT_LISTEN_H
#define MDT_LISTEN_H

#include <stdint.h>

#include "loopq.h"

typedef struct mdt_listen mdt_listen_t;

typedef struct {
    void (*on_notify)(void *ud, int64_t seq); /* on the loop */
    void (*on_state)(void *ud, int up);       /* on the loop; up=1 after (re)connect */
    void *ud;
} mdt_listen_cb_t;

mdt_listen_t *mdt_listen_start(const char *url, const char *channel, const mdt_listen_cb_t *cb,
                               mdt_loopq_t *loopq);
/* Stops the thread and frees; callbacks already queued still run later. */
void mdt_listen_stop(mdt_listen_t *l);

#endif
