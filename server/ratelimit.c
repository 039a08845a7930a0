/* ratelimit.c - token buckets keyed by string (see ratelimit.h). */
#include "ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "hmap.h"

typedef struct {
    double tokens;
    double at; /* seconds, monotonic */
} bucket_t;

struct mdt_ratelimit {
    mdt_hmap_t *buckets;
    double per_sec, burst, last_sweep;
};

static double rl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

mdt_ratelimit_t *mdt_ratelimit_new(int per_minute, int burst)
{
    mdt_ratelimit_t *r = calloc(1, sizeof(*r));
    if (!r || !(r->buckets = mdt_hmap_new(free))) {
        free(r);
        return NULL;
    }
    r->per_sec = per_minute / 60.0;
    r->burst = burst;
    r->last_sweep = rl_now();
    return r;
}

void mdt_ratelimit_free(mdt_ratelimit_t *r)
{
    if (!r)
        return;
    mdt_hmap_free(r->buckets);
    free(r);
}

static void rl_refill(const mdt_ratelimit_t *r, bucket_t *b, double now)
{
    b->tokens = fmin(r->burst, b->tokens + (now - b->at) * r->per_sec);
    b->at = now;
}

static int rl_full(const char *key, void *value, void *ud)
{
    (void)key;
    const mdt_ratelimit_t *r = ud;
    bucket_t *b = value;
    rl_refill(r, b, rl_now());
    return b->tokens >= r->burst;
}

int mdt_ratelimit_take(mdt_ratelimit_t *r, const char *key)
{
    double now = rl_now();
    if (now - r->last_sweep > 60) {
        mdt_hmap_sweep(r->buckets, rl_full, r);
        r->last_sweep = now;
    }
    bucket_t *b = mdt_hmap_get(r->buckets, key);
    if (!b) {
        if (!(b = malloc(sizeof(*b))) || mdt_hmap_put(r->buckets, key, b) != 0) {
            free(b);
            return 0; /* out of memory: do not lock people out for it */
        }
        b->tokens = r->burst;
        b->at = now;
    }
    rl_refill(r, b, now);
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    int wait = (int)ceil((1 - b->tokens) / r->per_sec);
    return wait < 1 ? 1 : wait;
}
