/* loopq.c - the thread-to-loop callback queue (see loopq.h). */
#include "loopq.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct loopq_item {
    struct loopq_item *next;
    mdt_loopq_fn fn;
    void *arg;
} loopq_item_t;

struct mdt_loopq {
    pthread_mutex_t lock;
    loopq_item_t *head, *tail;
    struct lws_context *ctx;
};

mdt_loopq_t *mdt_loopq_new(void)
{
    mdt_loopq_t *q = calloc(1, sizeof(*q));
    if (q)
        pthread_mutex_init(&q->lock, NULL);
    return q;
}

void mdt_loopq_free(mdt_loopq_t *q)
{
    if (!q)
        return;
    loopq_item_t *it = q->head;
    while (it) {
        loopq_item_t *next = it->next;
        free(it);
        it = next;
    }
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void mdt_loopq_set_context(mdt_loopq_t *q, struct lws_context *ctx)
{
    pthread_mutex_lock(&q->lock);
    q->ctx = ctx;
    pthread_mutex_unlock(&q->lock);
}

int mdt_loopq_push(mdt_loopq_t *q, mdt_loopq_fn fn, void *arg)
{
    loopq_item_t *it = malloc(sizeof(*it));
    if (!it)
        return -1;
    it->next = NULL;
    it->fn = fn;
    it->arg = arg;
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    struct lws_context *ctx = q->ctx;
    if (ctx)
        lws_cancel_service(ctx);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

int mdt_loopq_drain(mdt_loopq_t *q)
{
    pthread_mutex_lock(&q->lock);
    loopq_item_t *it = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    int n = 0;
    while (it) {
        loopq_item_t *next = it->next;
        it->fn(it->arg);
        free(it);
        it = next;
        n++;
    }
    return n;
}
