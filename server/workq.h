/* workq.h - a small bounded pool of worker threads.
 *
 * Used for the database pool (each thread owns one PGconn as its state) and
 * for password hashing. A job's work() runs on a worker thread; its done()
 * then runs on the event loop through the loop queue. The queue is bounded:
 * a submit over the bound is refused so overload never grows memory. */
#ifndef MDT_WORKQ_H
#define MDT_WORKQ_H

#include <stddef.h>

#include "loopq.h"

typedef struct mdt_workq mdt_workq_t;

/* work(thread_state, arg) on a worker; done(arg) later on the loop. */
typedef void (*mdt_workq_work_fn)(void *thread_state, void *arg);

#define MDT_WORKQ_MAX_CLASSES 4

typedef struct {
    int threads;
    size_t max_queue;                     /* per class */
    int class_max[MDT_WORKQ_MAX_CLASSES]; /* 0: no cap below threads */
    /* Optional per-thread state: init(ud) on the thread before any job,
     * fini(state) on the thread at shutdown. */
    void *(*thread_init)(void *ud);
    void (*thread_fini)(void *state);
    void *ud;
} mdt_workq_opts_t;

mdt_workq_t *mdt_workq_new(const mdt_workq_opts_t *opts, mdt_loopq_t *loopq);
/* Stops accepting, lets running jobs end, joins threads. Queued jobs that
 * never ran get work(NULL, arg) skipped and done(arg) called on the caller. */
void mdt_workq_free(mdt_workq_t *q);
/* 0 queued; -1 refused (queue full or shutting down): nothing will be called. */
int mdt_workq_submit(mdt_workq_t *q, mdt_workq_work_fn work, mdt_loopq_fn done, void *arg);
/* The same for a job of class cls (out of range: class 0). */
int mdt_workq_submit_class(mdt_workq_t *q, int cls, mdt_workq_work_fn work, mdt_loopq_fn done,
                           void *arg);

typedef struct {
    int threads;
    int busy;
    size_t queued;
    unsigned long long completed;
    unsigned long long refused;
} mdt_workq_stats_t;

void mdt_workq_stats(mdt_workq_t *q, mdt_workq_stats_t *out);

#endif
