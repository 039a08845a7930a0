/* workq.c - bounded worker-thread pool handing results to the loop (see workq.h). */
#include "workq.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct workq_job {
    struct workq_job *next;
    int cls;
    mdt_workq_work_fn work;
    mdt_loopq_fn done;
    void *arg;
} workq_job_t;

typedef struct {
    workq_job_t *head, *tail;
    size_t queued;
    int running, max;
} workq_class_t;

struct mdt_workq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    workq_class_t cls[MDT_WORKQ_MAX_CLASSES];
    int next_cls; /* round robin between classes */
    size_t queued, max_queue;
    int busy, stopping;
    unsigned long long completed, refused;
    mdt_workq_opts_t opts;
    mdt_loopq_t *loopq;
    pthread_t *threads;
    int nthreads;
};

/* Under the lock: the oldest job of the next class in turn that has one
 * and is under its cap, unlinked; NULL when none may run now. */
static workq_job_t *workq_take(mdt_workq_t *q)
{
    for (int k = 0; k < MDT_WORKQ_MAX_CLASSES; k++) {
        int i = (q->next_cls + k) % MDT_WORKQ_MAX_CLASSES;
        workq_class_t *c = &q->cls[i];
        if (!c->head || c->running >= c->max)
            continue;
        workq_job_t *job = c->head;
        c->head = job->next;
        if (!c->head)
            c->tail = NULL;
        c->queued--;
        c->running++;
        q->queued--;
        q->busy++;
        q->next_cls = (i + 1) % MDT_WORKQ_MAX_CLASSES;
        return job;
    }
    return NULL;
}

static workq_job_t *workq_pop(mdt_workq_t *q)
{
    pthread_mutex_lock(&q->lock);
    workq_job_t *job = NULL;
    while (!q->stopping && !(job = workq_take(q)))
        pthread_cond_wait(&q->cond, &q->lock);
    pthread_mutex_unlock(&q->lock);
    return job;
}

static void *workq_main(void *p)
{
    mdt_workq_t *q = p;
    void *state = q->opts.thread_init ? q->opts.thread_init(q->opts.ud) : NULL;
    workq_job_t *job;
    while ((job = workq_pop(q)) != NULL) {
        job->work(state, job->arg);
        if (job->done && mdt_loopq_push(q->loopq, job->done, job->arg) != 0)
            abort(); /* out of memory handing a result back: nothing sane left to do */
        int cls = job->cls;
        free(job);
        pthread_mutex_lock(&q->lock);
        q->busy--;
        q->cls[cls].running--;
        q->completed++;
        /* a job of a class that was at its cap may run now */
        if (q->queued)
            pthread_cond_signal(&q->cond);
        pthread_mutex_unlock(&q->lock);
    }
    if (q->opts.thread_fini)
        q->opts.thread_fini(state);
    return NULL;
}

mdt_workq_t *mdt_workq_new(const mdt_workq_opts_t *opts, mdt_loopq_t *loopq)
{
    mdt_workq_t *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->opts = *opts;
    q->max_queue = opts->max_queue;
    q->loopq = loopq;
    for (int i = 0; i < MDT_WORKQ_MAX_CLASSES; i++) {
        int max = opts->class_max[i];
        q->cls[i].max = max > 0 && max < opts->threads ? max : opts->threads;
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    q->threads = calloc((size_t)opts->threads, sizeof(pthread_t));
    if (!q->threads)
        goto fail;
    for (; q->nthreads < opts->threads; q->nthreads++) {
        if (pthread_create(&q->threads[q->nthreads], NULL, workq_main, q) != 0)
            goto fail;
    }
    return q;
fail:
    mdt_workq_free(q);
    return NULL;
}

void mdt_workq_free(mdt_workq_t *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    for (int i = 0; i < MDT_WORKQ_MAX_CLASSES; i++) {
        workq_job_t *left = q->cls[i].head;
        q->cls[i].head = q->cls[i].tail = NULL;
        while (left) {
            workq_job_t *next = left->next;
            if (left->done)
                left->done(left->arg);
            free(left);
            left = next;
        }
    }
    free(q->threads);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

int mdt_workq_submit(mdt_workq_t *q, mdt_workq_work_fn work, mdt_loopq_fn done, void *arg)
{
    return mdt_workq_submit_class(q, 0, work, done, arg);
}

int mdt_workq_submit_class(mdt_workq_t *q, int cls, mdt_workq_work_fn work, mdt_loopq_fn done,
                           void *arg)
{
    if (!q)
        return -1;
    if (cls < 0 || cls >= MDT_WORKQ_MAX_CLASSES)
        cls = 0;
    workq_job_t *job = malloc(sizeof(*job));
    if (!job)
        return -1;
    job->next = NULL;
    job->cls = cls;
    job->work = work;
    job->done = done;
    job->arg = arg;
    workq_class_t *c = &q->cls[cls];
    pthread_mutex_lock(&q->lock);
    if (q->stopping || c->queued >= q->max_queue) {
        q->refused++;
        pthread_mutex_unlock(&q->lock);
        free(job);
        return -1;
    }
    if (c->tail)
        c->tail->next = job;
    else
        c->head = job;
    c->tail = job;
    c->queued++;
    q->queued++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

void mdt_workq_stats(mdt_workq_t *q, mdt_workq_stats_t *out)
{
    pthread_mutex_lock(&q->lock);
    out->threads = q->nthreads;
    out->busy = q->busy;
    out->queued = q->queued;
    out->completed = q->completed;
    out->refused = q->refused;
    pthread_mutex_unlock(&q->lock);
}
