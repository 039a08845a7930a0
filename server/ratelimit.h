/* ratelimit.h - per-key token buckets (e.g. logins per client address).
 * Loop thread only. Buckets idle long enough to be full are swept. */
#ifndef MDT_RATELIMIT_H
#define MDT_RATELIMIT_H

typedef struct mdt_ratelimit mdt_ratelimit_t;

/* per_minute tokens refill continuously; burst is the bucket size. */
mdt_ratelimit_t *mdt_ratelimit_new(int per_minute, int burst);
void mdt_ratelimit_free(mdt_ratelimit_t *r);
/* Takes a token for key: 0 allowed; otherwise the seconds to wait (>= 1). */
int mdt_ratelimit_take(mdt_ratelimit_t *r, const char *key);

#endif
