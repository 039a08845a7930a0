/* listen.c - LISTEN thread delivering notifications to the loop (see listen.h). */
#include "listen.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

struct mdt_listen {
    pthread_t thread;
    int stop_pipe[2];
    char *url;
    char *channel;
    mdt_listen_cb_t cb;
    mdt_loopq_t *loopq;
};

typedef struct { /* carries the callbacks by value: it may run after stop */
    mdt_listen_cb_t cb;
    int64_t seq;
    int kind; /* 0 notify, 1 up, 2 down */
} listen_msg_t;

static void listen_deliver(void *arg)
{
    listen_msg_t *m = arg;
    if (m->kind == 0)
        m->cb.on_notify(m->cb.ud, m->seq);
    else
        m->cb.on_state(m->cb.ud, m->kind == 1);
    free(m);
}

static void listen_post(mdt_listen_t *l, int kind, int64_t seq)
{
    listen_msg_t *m = malloc(sizeof(*m));
    if (!m)
        return;
    m->cb = l->cb;
    m->kind = kind;
    m->seq = seq;
    if (mdt_loopq_push(l->loopq, listen_deliver, m) != 0)
        free(m);
}

/* Opens the connection and issues LISTEN; NULL on failure. */
static PGconn *listen_connect(mdt_listen_t *l)
{
    PGconn *c = mdt_db_connect(l->url, "mdtboard-listen"); /* with TCP keepalives */
    if (!c || PQstatus(c) != CONNECTION_OK)
        goto fail;
    char *ident = PQescapeIdentifier(c, l->channel, strlen(l->channel));
    if (!ident)
        goto fail;
    char sql[128];
    snprintf(sql, sizeof(sql), "LISTEN %s", ident);
    PQfreemem(ident);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        goto fail;
    return c;
fail:
    PQfinish(c);
    return NULL;
}

/* Waits up to ms for the connection or the stop pipe; 1 = stop requested. */
static int listen_wait(mdt_listen_t *l, int fd, int ms)
{
    struct pollfd p[2] = {{.fd = l->stop_pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n < 0 && errno != EINTR)
        return 1;
    return n > 0 && (p[0].revents & POLLIN);
}

/* Pumps notifications until the connection fails (0) or stop (1). */
static int listen_pump(mdt_listen_t *l, PGconn *c)
{
    for (;;) {
        if (listen_wait(l, PQsocket(c), 1000))
            return 1;
        if (!PQconsumeInput(c))
            return 0;
        PGnotify *n;
        while ((n = PQnotifies(c)) != NULL) {
            listen_post(l, 0, strtoll(n->extra, NULL, 10));
            PQfreemem(n);
        }
        if (PQstatus(c) != CONNECTION_OK)
            return 0;
    }
}

static void *listen_main(void *arg)
{
    mdt_listen_t *l = arg;
    int backoff = 100, was_up = 0;
    for (;;) {
        PGconn *c = listen_connect(l);
        if (c) {
            backoff = 100;
            was_up = 1;
            listen_post(l, 1, 0);
            int stop = listen_pump(l, c);
            PQfinish(c);
            if (stop)
                return NULL;
            mdt_log_warn("listen connection lost", "channel=%s", l->channel);
            listen_post(l, 2, 0);
        } else if (was_up) {
            was_up = 0;
        }
        if (listen_wait(l, -1, backoff))
            return NULL;
        backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
    }
}

mdt_listen_t *mdt_listen_start(const char *url, const char *channel, const mdt_listen_cb_t *cb,
                               mdt_loopq_t *loopq)
{
    mdt_listen_t *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->stop_pipe[0] = l->stop_pipe[1] = -1;
    l->url = strdup(url);
    l->channel = strdup(channel);
    l->cb = *cb;
    l->loopq = loopq;
    if (!l->url || !l->channel || pipe(l->stop_pipe) != 0)
        goto fail;
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0)
        goto fail;
    return l;
fail:
    if (l->stop_pipe[0] >= 0) {
        close(l->stop_pipe[0]);
        close(l->stop_pipe[1]);
    }
    free(l->url);
    free(l->channel);
    free(l);
    return NULL;
}

void mdt_listen_stop(mdt_listen_t *l)
{
    if (!l)
        return;
    ssize_t w = write(l->stop_pipe[1], "x", 1);
    (void)w;
    pthread_join(l->thread, NULL);
    close(l->stop_pipe[0]);
    close(l->stop_pipe[1]);
    free(l->url);
    free(l->channel);
    free(l);
}
