/* attachq.c - an upload's body from the loop to a database thread (see
 * attachq.h). The chunks are a singly linked list under one mutex; the
 * loop fills one chunk at a time (fill, loop-only) and appends it when
 * full or at the end of the body. */
#include "attachq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct chunk {
    struct chunk *next;
    size_t len;
    char data[MDT_ATTACHQ_CHUNK];
} chunk_t;

struct mdt_attachq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk_t *head, *tail; /* shared: full chunks (and the last, shorter one) */
    int queued;           /* shared: how many */
    int ended, gone;      /* shared: the body's end was read; the client left */
    int resume_asked;     /* shared: a resume is on the loop queue */
    chunk_t *fill;        /* loop: the chunk being filled */
    chunk_t *taken;       /* database thread: the chunk last handed out */
    mdt_req_t *req;
    mdt_loopq_t *loopq;
};

mdt_attachq_t *mdt_attachq_new(mdt_req_t *req, mdt_loopq_t *loopq)
{
    mdt_attachq_t *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->req = req;
    q->loopq = loopq;
    return q;
}

static void chunks_free(chunk_t *c)
{
    while (c) {
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
}

void mdt_attachq_free(mdt_attachq_t *q)
{
    if (!q)
        return;
    chunks_free(q->head);
    free(q->fill);
    free(q->taken);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}

/* Loop: appends c (NULL: none) and, with end, marks the body's end.
 * Returns how many chunks wait. */
static int attachq_push(mdt_attachq_t *q, chunk_t *c, int end, int gone)
{
    pthread_mutex_lock(&q->mu);
    if (c) {
        if (q->tail)
            q->tail->next = c;
        else
            q->head = c;
        q->tail = c;
        q->queued++;
    }
    q->ended |= end;
    q->gone |= gone;
    int queued = q->queued;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return queued;
}

/* Loop (lws): a piece of the body. */
static void attachq_piece(void *ud, const char *data, size_t len)
{
    mdt_attachq_t *q = ud;
    int queued = 0;
    while (len) {
        if (!q->fill && !(q->fill = calloc(1, sizeof(chunk_t)))) {
            attachq_push(q, NULL, 0, 1); /* out of memory: the upload fails */
            return;
        }
        size_t n = MDT_ATTACHQ_CHUNK - q->fill->len;
        if (n > len)
            n = len;
        memcpy(q->fill->data + q->fill->len, data, n);
        q->fill->len += n;
        data += n;
        len -= n;
        if (q->fill->len == MDT_ATTACHQ_CHUNK) {
            queued = attachq_push(q, q->fill, 0, 0);
            q->fill = NULL;
        }
    }
    if (queued >= MDT_ATTACHQ_DEPTH)
        mdt_http_body_flow(q->req, 0);
}

static void attachq_end(void *ud)
{
    mdt_attachq_t *q = ud;
    chunk_t *last = q->fill && q->fill->len ? q->fill : NULL;
    if (!last)
        free(q->fill);
    q->fill = NULL;
    attachq_push(q, last, 1, 0);
}

static void attachq_gone(void *ud)
{
    attachq_push(ud, NULL, 0, 1);
}

void mdt_attachq_start(mdt_attachq_t *q)
{
    mdt_http_body_stream(q->req, attachq_piece, attachq_end, attachq_gone, q);
}

/* Loop, pushed by the database thread: a chunk was taken, read on. */
static void attachq_resume(void *arg)
{
    mdt_attachq_t *q = arg;
    pthread_mutex_lock(&q->mu);
    q->resume_asked = 0;
    int gone = q->gone;
    pthread_mutex_unlock(&q->mu);
    if (!gone && !q->req->responded)
        mdt_http_body_flow(q->req, 1);
}

int mdt_attachq_next(mdt_attachq_t *q, const char **data, size_t *len)
{
    free(q->taken);
    q->taken = NULL;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += MDT_ATTACHQ_STALL_S;
    pthread_mutex_lock(&q->mu);
    int rc = 0;
    while (!q->head && !q->ended && !q->gone && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->cv, &q->mu, &until);
    int out = q->gone    ? MDT_ATTACHQ_GONE
              : q->head  ? MDT_ATTACHQ_DATA
              : q->ended ? MDT_ATTACHQ_END
                         : MDT_ATTACHQ_STALLED;
    int resume = 0;
    if (out == MDT_ATTACHQ_DATA) {
        q->taken = q->head;
        q->head = q->head->next;
        if (!q->head)
            q->tail = NULL;
        q->queued--;
        resume = !q->ended && !q->resume_asked && q->queued < MDT_ATTACHQ_DEPTH;
        q->resume_asked |= resume;
        *data = q->taken->data;
        *len = q->taken->len;
    }
    pthread_mutex_unlock(&q->mu);
    /* FIFO with the request's answer, so q is alive when it runs */
    if (resume && mdt_loopq_push(q->loopq, attachq_resume, q) != 0) {
        pthread_mutex_lock(&q->mu);
        q->resume_asked = 0;
        pthread_mutex_unlock(&q->mu);
    }
    return out;
}
