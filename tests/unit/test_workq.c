/* test_workq.c - the worker pool's classes (workq.h): a capped class never
 * holds more threads than its cap, another class runs beside it while the
 * capped jobs block, each class's queue is bounded on its own, and every
 * job's done() reaches the loop queue. No timing: jobs block on a condition
 * the test releases. */
#include <pthread.h>
#include <time.h>

#include "check.h"
#include "loopq.h"
#include "workq.h"

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int released;
    int running1, max_running1, done1;
    int ran0;
    int dones;
} world_t;

static world_t w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0};

/* A class-1 job: counts itself running and blocks until released. */
static void blocking_work(void *state, void *arg)
{
    (void)state;
    (void)arg;
    pthread_mutex_lock(&w.lock);
    w.running1++;
    if (w.running1 > w.max_running1)
        w.max_running1 = w.running1;
    pthread_cond_broadcast(&w.cond);
    while (!w.released)
        pthread_cond_wait(&w.cond, &w.lock);
    w.running1--;
    w.done1++;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.lock);
}

static void quick_work(void *state, void *arg)
{
    (void)state;
    (void)arg;
    pthread_mutex_lock(&w.lock);
    w.ran0++;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.lock);
}

static void count_done(void *arg)
{
    (void)arg;
    w.dones++; /* loop thread: the test's own */
}

/* Waits (at most 30 s: a hang guard, not a speed check) until *v >= n. */
static int wait_for(int *v, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&w.lock);
    int rc = 0;
    while (*v < n && rc == 0)
        rc = pthread_cond_timedwait(&w.cond, &w.lock, &until);
    int ok = *v >= n;
    pthread_mutex_unlock(&w.lock);
    return ok;
}

int main(void)
{
    mdt_loopq_t *lq = mdt_loopq_new();
    mdt_workq_opts_t o = {.threads = 3, .max_queue = 2, .class_max = {0, 1}};
    mdt_workq_t *q = mdt_workq_new(&o, lq);
    CHECK(q != NULL);

    /* class 1 (cap 1): one runs, two wait in its queue, the next is refused */
    CHECK_EQ_INT(mdt_workq_submit_class(q, 1, blocking_work, count_done, NULL), 0);
    CHECK(wait_for(&w.running1, 1));
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(mdt_workq_submit_class(q, 1, blocking_work, count_done, NULL), 0);
    CHECK_EQ_INT(mdt_workq_submit_class(q, 1, blocking_work, count_done, NULL), -1);

    /* class 0 is neither queued behind class 1 nor refused for its queue */
    CHECK_EQ_INT(mdt_workq_submit_class(q, 0, quick_work, count_done, NULL), 0);
    CHECK_EQ_INT(mdt_workq_submit(q, quick_work, count_done, NULL), 0);
    CHECK(wait_for(&w.ran0, 2));
    pthread_mutex_lock(&w.lock);
    CHECK_EQ_INT(w.running1, 1);
    CHECK_EQ_INT(w.done1, 0);
    w.released = 1;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.lock);

    CHECK(wait_for(&w.done1, 3));
    CHECK_EQ_INT(w.max_running1, 1);

    mdt_workq_stats_t st;
    mdt_workq_stats(q, &st);
    CHECK_EQ_INT(st.refused, 1);
    mdt_workq_free(q); /* joins: every done() is queued by now */
    CHECK_EQ_INT(mdt_loopq_drain(lq), 5);
    CHECK_EQ_INT(w.dones, 5);
    mdt_loopq_free(lq);
    return check_done();
}
