/* test_attachq.c - an upload's body from the loop to a database thread
 * (attachq.h), without a network: the test plays lws (pieces of odd sizes
 * through the sink mdt_http_body_stream installed) and a consumer thread
 * plays the database. Checks: every chunk but the last is exactly
 * MDT_ATTACHQ_CHUNK bytes, the bytes arrive whole and in order, the end
 * and a client that went away are told apart, pieces that came before the
 * handler took the stream are not lost, and the loop is told to read on
 * once a chunk was taken (a resume on the loop queue). No timing: the
 * consumer blocks until the test's pieces are there. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "attachq.h"
#include "check.h"

#define TOTAL ((size_t)MDT_ATTACHQ_CHUNK * 3 + 12345)

typedef struct {
    mdt_attachq_t *q;
    unsigned char *got;
    size_t len;
    int chunks, odd_sizes, last;
} consumer_t;

static void *consume(void *arg)
{
    consumer_t *c = arg;
    const char *data;
    size_t len;
    int rc;
    while ((rc = mdt_attachq_next(c->q, &data, &len)) == MDT_ATTACHQ_DATA) {
        if (len != MDT_ATTACHQ_CHUNK && c->len + len != TOTAL)
            c->odd_sizes++;
        memcpy(c->got + c->len, data, len);
        c->len += len;
        c->chunks++;
    }
    c->last = rc;
    return NULL;
}

static unsigned char byte_at(size_t i)
{
    return (unsigned char)((i * 131u + 7u) & 0xff);
}

static void test_whole_body_in_order(void)
{
    mdt_req_t req;
    memset(&req, 0, sizeof(req));
    mdt_loopq_t *lq = mdt_loopq_new();
    unsigned char *body = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; i++)
        body[i] = byte_at(i);
    /* what came with the headers, before the handler took the stream */
    req.body = malloc(100);
    memcpy(req.body, body, 100);
    req.body_len = 100;
    mdt_attachq_t *q = mdt_attachq_new(&req, lq);
    consumer_t c = {.q = q, .got = malloc(TOTAL)};
    pthread_t t;
    pthread_create(&t, NULL, consume, &c);
    mdt_attachq_start(q);
    CHECK(req.body == NULL);
    for (size_t off = 100, n = 1; off < TOTAL; off += n, n = n * 3 % 70001 + 1) {
        if (n > TOTAL - off)
            n = TOTAL - off;
        req.body_piece(req.body_ud, (const char *)body + off, n);
    }
    req.body_end(req.body_ud);
    pthread_join(t, NULL);
    CHECK_EQ_INT(c.last, MDT_ATTACHQ_END);
    CHECK_EQ_INT(c.len, TOTAL);
    CHECK_EQ_INT(c.chunks, 4);
    CHECK_EQ_INT(c.odd_sizes, 0);
    CHECK(memcmp(c.got, body, TOTAL) == 0);
    mdt_loopq_drain(lq);
    mdt_attachq_free(q);
    mdt_loopq_free(lq);
    free(c.got);
    free(body);
}

static void test_client_gone(void)
{
    mdt_req_t req;
    memset(&req, 0, sizeof(req));
    mdt_loopq_t *lq = mdt_loopq_new();
    mdt_attachq_t *q = mdt_attachq_new(&req, lq);
    consumer_t c = {.q = q, .got = malloc(MDT_ATTACHQ_CHUNK)};
    mdt_attachq_start(q);
    char half[MDT_ATTACHQ_CHUNK / 2] = {0};
    req.body_piece(req.body_ud, half, sizeof(half)); /* not a whole chunk yet */
    req.body_gone(req.body_ud);
    pthread_t t;
    pthread_create(&t, NULL, consume, &c);
    pthread_join(t, NULL);
    CHECK_EQ_INT(c.last, MDT_ATTACHQ_GONE);
    CHECK_EQ_INT(c.len, 0);
    mdt_loopq_drain(lq);
    mdt_attachq_free(q);
    mdt_loopq_free(lq);
    free(c.got);
}

/* Two full chunks wait: the loop would stop reading; taking one asks the
 * loop (its queue) to read on, once. */
static void test_read_on_after_take(void)
{
    mdt_req_t req;
    memset(&req, 0, sizeof(req));
    mdt_loopq_t *lq = mdt_loopq_new();
    mdt_attachq_t *q = mdt_attachq_new(&req, lq);
    mdt_attachq_start(q);
    char *two = calloc(2, MDT_ATTACHQ_CHUNK);
    req.body_piece(req.body_ud, two, 2 * MDT_ATTACHQ_CHUNK);
    CHECK_EQ_INT(mdt_loopq_drain(lq), 0);
    const char *data;
    size_t len;
    CHECK_EQ_INT(mdt_attachq_next(q, &data, &len), MDT_ATTACHQ_DATA);
    CHECK_EQ_INT(len, MDT_ATTACHQ_CHUNK);
    CHECK_EQ_INT(mdt_loopq_drain(lq), 1);
    CHECK_EQ_INT(mdt_attachq_next(q, &data, &len), MDT_ATTACHQ_DATA);
    CHECK_EQ_INT(mdt_loopq_drain(lq), 1);
    req.body_end(req.body_ud);
    CHECK_EQ_INT(mdt_attachq_next(q, &data, &len), MDT_ATTACHQ_END);
    mdt_attachq_free(q);
    mdt_loopq_free(lq);
    free(two);
}

int main(void)
{
    test_read_on_after_take();
    test_whole_body_in_order();
    test_client_gone();
    return check_done();
}
