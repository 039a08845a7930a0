/* workq.c - bounded worker-thread pool handing results to the loop (see workq.h). */
#include "workq.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct workq_job {
    struct workq_job *next;
    mdt_workq_work_fn work;
    mdt_loopq_fn done;
    void *arg;
} workq_job_t;

struct mdt_workq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    workq_job_t *head, *tail;
    size_t queued, max_queue;
    int busy, stopping;
    unsigned long long completed, refused;
    mdt_workq_opts_t opts;
    mdt_loopq_t *loopq;
    pthread_t *threads;
    int nthreads;
};

static workq_job_t *workq_pop(mdt_workq_t *q)
{
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->stopping)
        pthread_cond_wait(&q->cond, &q->lock);
    workq_job_t *job = q->head;
    if (job) {
        q->head = job->next;
        if (!q->head)
            q->tail = NULL;
        q->queued--;
        q->busy++;
    }
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
        free(job);
        pthread_mutex_lock(&q->lock);
        q->busy--;
        q->completed++;
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
    workq_job_t *left = q->head;
    q->head = q->tail = NULL;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    while (left) {
        workq_job_t *next = left->next;
        if (left->done)
            left->done(left->arg);
        free(left);
        left = next;
    }
    free(q->threads);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

int mdt_workq_submit(mdt_workq_t *q, mdt_workq_work_fn work, mdt_loopq_fn done, void *arg)
{
    if (!q)
        return -1;
    workq_job_t *job = malloc(sizeof(*job));
    if (!job)
        return -1;
    job->next = NULL;
    job->work = work;
    job->done = done;
    job->arg = arg;
    pthread_mutex_lock(&q->lock);
    if (q->stopping || q->queued >= q->max_queue) {
        q->refused++;
        pthread_mutex_unlock(&q->lock);
        free(job);
        return -1;
    }
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
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
