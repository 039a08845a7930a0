/* attachq.h - an upload's body on its way from the event loop to the
 * database thread that stores it (docs/attachments.md, "Streaming").
 *
 * The loop takes the body from the HTTP layer piece by piece
 * (mdt_http_body_stream) and cuts it into chunks of MDT_ATTACHQ_CHUNK
 * bytes; a database thread takes the chunks one by one (mdt_attachq_next),
 * blocking until the next is there. At most MDT_ATTACHQ_DEPTH full chunks
 * wait: then the loop stops reading the connection (lws_rx_flow_control)
 * and the database thread lets it read on once it took one, so a slow
 * database never lets the loop's memory grow with the body. */
#ifndef MDT_ATTACHQ_H
#define MDT_ATTACHQ_H

#include <stddef.h>

#include "loopq.h"
#include "req.h"

/* The size of every chunk but the last. */
#define MDT_ATTACHQ_CHUNK (256 * 1024)
/* Full chunks waiting before reading stops. */
#define MDT_ATTACHQ_DEPTH 2
/* An upload that brings no byte for this long is given up. */
#define MDT_ATTACHQ_STALL_S 30

typedef struct mdt_attachq mdt_attachq_t;

/* Loop: a queue for req's body (not read yet); loopq wakes the loop from
 * the database thread. NULL when out of memory. */
mdt_attachq_t *mdt_attachq_new(mdt_req_t *req, mdt_loopq_t *loopq);
/* Loop: starts taking req's body (mdt_http_body_stream). */
void mdt_attachq_start(mdt_attachq_t *q);
/* Loop, once no database thread uses q any more (the request answered):
 * frees q and the chunks left in it. NULL is ignored. */
void mdt_attachq_free(mdt_attachq_t *q);

/* What mdt_attachq_next found. */
enum { MDT_ATTACHQ_DATA = 1, MDT_ATTACHQ_END = 0, MDT_ATTACHQ_STALLED = -1, MDT_ATTACHQ_GONE = -2 };

/* Database thread: waits for the next chunk: MDT_ATTACHQ_DATA with *data
 * and *len (valid until the next call or mdt_attachq_free), MDT_ATTACHQ_END
 * after the last, MDT_ATTACHQ_STALLED when nothing came for
 * MDT_ATTACHQ_STALL_S seconds, MDT_ATTACHQ_GONE when the client went away
 * (or memory ran out). */
int mdt_attachq_next(mdt_attachq_t *q, const char **data, size_t *len);

#endif
