/* boardcache.c - the bounded LRU cache of serialized boards (see
 * boardcache.h). Entries live in a string-keyed map ("case:agency") and on
 * a doubly linked list, most recently used first; the mutex guards both. */
#include "boardcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

#define FP_MAX 96

typedef struct entry {
    struct entry *prev, *next;
    char key[48];
    char fp[FP_MAX];
    int64_t valid_until;
    size_t len;
    char *bytes;
} entry_t;

struct mdt_boardcache {
    pthread_mutex_t mu;
    mdt_hmap_t *map;
    entry_t *head, *tail; /* most / least recently used */
    size_t max_bytes;
    mdt_boardcache_stats_t st;
};

static void entry_free(void *v)
{
    entry_t *e = v;
    free(e->bytes);
    free(e);
}

mdt_boardcache_t *mdt_boardcache_new(size_t max_bytes)
{
    if (max_bytes == 0)
        return NULL;
    mdt_boardcache_t *bc = calloc(1, sizeof(*bc));
    if (!bc)
        return NULL;
    bc->max_bytes = max_bytes;
    if (!(bc->map = mdt_hmap_new(entry_free))) {
        free(bc);
        return NULL;
    }
    pthread_mutex_init(&bc->mu, NULL);
    return bc;
}

void mdt_boardcache_free(mdt_boardcache_t *bc)
{
    if (!bc)
        return;
    mdt_hmap_free(bc->map);
    pthread_mutex_destroy(&bc->mu);
    free(bc);
}

static void make_key(char *out, size_t cap, int64_t case_id, mdt_view_key_t key)
{
    snprintf(out, cap, "%lld:%lld", (long long)case_id, (long long)key.agency_id);
}

static void unlink_entry(mdt_boardcache_t *bc, entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        bc->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        bc->tail = e->prev;
    e->prev = e->next = NULL;
    bc->st.bytes -= e->len;
    bc->st.entries--;
}

static void push_front(mdt_boardcache_t *bc, entry_t *e)
{
    e->prev = NULL;
    e->next = bc->head;
    if (bc->head)
        bc->head->prev = e;
    bc->head = e;
    if (!bc->tail)
        bc->tail = e;
    bc->st.bytes += e->len;
    bc->st.entries++;
}

/* Unlinks e and frees it through the map. */
static void drop(mdt_boardcache_t *bc, entry_t *e)
{
    char k[sizeof(e->key)];
    memcpy(k, e->key, sizeof(k));
    unlink_entry(bc, e);
    mdt_hmap_del(bc->map, k);
}

char *mdt_boardcache_get(mdt_boardcache_t *bc, int64_t case_id, mdt_view_key_t key, const char *fp,
                         int64_t now, size_t *len)
{
    *len = 0;
    if (!bc)
        return NULL;
    char k[48];
    make_key(k, sizeof(k), case_id, key);
    char *out = NULL;
    pthread_mutex_lock(&bc->mu);
    entry_t *e = mdt_hmap_get(bc->map, k);
    if (e && strcmp(e->fp, fp) == 0 && now < e->valid_until && (out = malloc(e->len + 1))) {
        memcpy(out, e->bytes, e->len);
        out[e->len] = 0;
        *len = e->len;
        unlink_entry(bc, e);
        push_front(bc, e);
        bc->st.hits++;
    } else {
        bc->st.misses++;
    }
    pthread_mutex_unlock(&bc->mu);
    return out;
}

/* A new entry holding a copy of bytes, or NULL. */
static entry_t *entry_new(const char *k, const char *fp, int64_t valid_until, const char *bytes,
                          size_t len)
{
    entry_t *e = calloc(1, sizeof(*e));
    if (!e || !(e->bytes = malloc(len))) {
        free(e);
        return NULL;
    }
    snprintf(e->key, sizeof(e->key), "%s", k);
    snprintf(e->fp, sizeof(e->fp), "%s", fp);
    memcpy(e->bytes, bytes, len);
    e->len = len;
    e->valid_until = valid_until;
    return e;
}

void mdt_boardcache_put(mdt_boardcache_t *bc, int64_t case_id, mdt_view_key_t key, const char *fp,
                        int64_t valid_until, const char *bytes, size_t len)
{
    if (!bc || len > bc->max_bytes || strlen(fp) >= FP_MAX)
        return;
    char k[48];
    make_key(k, sizeof(k), case_id, key);
    entry_t *e = entry_new(k, fp, valid_until, bytes, len);
    if (!e)
        return;
    pthread_mutex_lock(&bc->mu);
    entry_t *old = mdt_hmap_get(bc->map, k);
    if (old)
        drop(bc, old);
    while (bc->tail && bc->st.bytes + len > bc->max_bytes) {
        drop(bc, bc->tail);
        bc->st.evictions++;
    }
    if (mdt_hmap_put(bc->map, k, e) == 0)
        push_front(bc, e);
    else
        entry_free(e);
    pthread_mutex_unlock(&bc->mu);
}

void mdt_boardcache_forget_case(mdt_boardcache_t *bc, int64_t case_id)
{
    if (!bc)
        return;
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "%lld:", (long long)case_id);
    pthread_mutex_lock(&bc->mu);
    for (entry_t *e = bc->head, *next; e; e = next) {
        next = e->next;
        if (strncmp(e->key, prefix, (size_t)n) == 0)
            drop(bc, e);
    }
    pthread_mutex_unlock(&bc->mu);
}

void mdt_boardcache_stats(mdt_boardcache_t *bc, mdt_boardcache_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!bc)
        return;
    pthread_mutex_lock(&bc->mu);
    *out = bc->st;
    pthread_mutex_unlock(&bc->mu);
}
