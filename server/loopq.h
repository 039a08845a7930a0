/* loopq.h - hand work back to the event loop from other threads.
 *
 * Worker threads (database, password hashing, LISTEN) push a callback; the
 * push wakes the loop with lws_cancel_service(). The loop drains the whole
 * queue on LWS_CALLBACK_EVENT_WAIT_CANCELLED, since wake-ups merge. */
#ifndef MDT_LOOPQ_H
#define MDT_LOOPQ_H

struct lws_context;

typedef void (*mdt_loopq_fn)(void *arg);
typedef struct mdt_loopq mdt_loopq_t;

mdt_loopq_t *mdt_loopq_new(void);
void mdt_loopq_free(mdt_loopq_t *q);
/* Sets the context to wake; before it is set pushes only queue. */
void mdt_loopq_set_context(mdt_loopq_t *q, struct lws_context *ctx);
/* Thread-safe. Returns -1 on allocation failure (fn is then not called). */
int mdt_loopq_push(mdt_loopq_t *q, mdt_loopq_fn fn, void *arg);
/* Loop thread only: runs every queued callback in push order; returns count. */
int mdt_loopq_drain(mdt_loopq_t *q);

#endif
