/* hmap.h - a string-keyed hash map (chained, grows by doubling).
 *
 * Keys are copied; values are the caller's. Not thread-safe: each map
 * belongs to one thread (the loop). */
#ifndef MDT_HMAP_H
#define MDT_HMAP_H

#include <stddef.h>

typedef struct mdt_hmap mdt_hmap_t;

/* free_value (may be NULL) is called on values removed or left at free. */
mdt_hmap_t *mdt_hmap_new(void (*free_value)(void *));
void mdt_hmap_free(mdt_hmap_t *m);
void *mdt_hmap_get(const mdt_hmap_t *m, const char *key);
/* Inserts or replaces (freeing the old value). 0 ok, -1 on OOM. */
int mdt_hmap_put(mdt_hmap_t *m, const char *key, void *value);
/* Removes and frees the value; 1 when something was removed. */
int mdt_hmap_del(mdt_hmap_t *m, const char *key);
size_t mdt_hmap_count(const mdt_hmap_t *m);
/* Calls fn on every entry; when fn returns 1 the entry is removed. */
void mdt_hmap_sweep(mdt_hmap_t *m, int (*fn)(const char *key, void *value, void *ud), void *ud);

#endif
