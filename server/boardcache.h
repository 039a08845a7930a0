/* boardcache.h - this node's bounded cache of serialized boards
 * (GET /api/v1/cases/{id}), per case and view key (mdt_authz_view_key).
 *
 * A board is stored with a fingerprint of everything it was built from
 * that can change (cases.c computes it in the board's snapshot: the case's
 * and its related cases' last event seq, the installation's local date, a
 * digest of the agency and user names it shows) and the instant it stops
 * being valid by itself (the next consent expiry). A lookup hits only with
 * the same case, key and fingerprint before that instant; anything else is
 * a miss and the caller builds the board again. Least recently used entries
 * are evicted to keep the stored bytes within the bound. Thread-safe (one
 * mutex): boards are built and looked up on database threads. */
#ifndef MDT_BOARDCACHE_H
#define MDT_BOARDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "authz.h"

typedef struct mdt_boardcache mdt_boardcache_t;

typedef struct {
    unsigned long long hits, misses, evictions;
    size_t entries, bytes;
} mdt_boardcache_stats_t;

/* A cache holding at most max_bytes of boards; NULL when max_bytes is 0
 * (no cache: every function below accepts NULL and does nothing). */
mdt_boardcache_t *mdt_boardcache_new(size_t max_bytes);
void mdt_boardcache_free(mdt_boardcache_t *bc);

/* A malloc'ed copy (caller frees) of the board stored for (case_id, key)
 * when it was stored with fingerprint fp and now < its valid_until; else
 * NULL. *len is its length. */
char *mdt_boardcache_get(mdt_boardcache_t *bc, int64_t case_id, mdt_view_key_t key, const char *fp,
                         int64_t now, size_t *len);

/* Stores a copy of bytes[0, len) for (case_id, key), replacing what was
 * there; valid_until is unix seconds (INT64_MAX: no expiry). A board larger
 * than the bound, or one that cannot be allocated, is not stored. */
void mdt_boardcache_put(mdt_boardcache_t *bc, int64_t case_id, mdt_view_key_t key, const char *fp,
                        int64_t valid_until, const char *bytes, size_t len);

/* Drops every board stored for case_id (the case was purged: its text must
 * not stay in this node's memory until it is evicted). */
void mdt_boardcache_forget_case(mdt_boardcache_t *bc, int64_t case_id);

void mdt_boardcache_stats(mdt_boardcache_t *bc, mdt_boardcache_stats_t *out);

#endif
