/* hmap.c - chained string hash map (see hmap.h). */
#include "hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct hnode {
    struct hnode *next;
    void *value;
    char key[];
} hnode_t;

struct mdt_hmap {
    hnode_t **slots;
    size_t nslots, count;
    void (*free_value)(void *);
};

static uint64_t hmap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

mdt_hmap_t *mdt_hmap_new(void (*free_value)(void *))
{
    mdt_hmap_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nslots = 64;
    m->slots = calloc(m->nslots, sizeof(hnode_t *));
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->free_value = free_value;
    return m;
}

static void hnode_free(mdt_hmap_t *m, hnode_t *n)
{
    if (m->free_value)
        m->free_value(n->value);
    free(n);
}

void mdt_hmap_free(mdt_hmap_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nslots; i++) {
        hnode_t *n = m->slots[i];
        while (n) {
            hnode_t *next = n->next;
            hnode_free(m, n);
            n = next;
        }
    }
    free(m->slots);
    free(m);
}

static hnode_t **hmap_find(const mdt_hmap_t *m, const char *key)
{
    hnode_t **pp = &m->slots[hmap_hash(key) & (m->nslots - 1)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

void *mdt_hmap_get(const mdt_hmap_t *m, const char *key)
{
    hnode_t *n = *hmap_find(m, key);
    return n ? n->value : NULL;
}

static void hmap_grow(mdt_hmap_t *m)
{
    size_t ns = m->nslots * 2;
    hnode_t **slots = calloc(ns, sizeof(hnode_t *));
    if (!slots)
        return; /* stay at this size; still correct */
    for (size_t i = 0; i < m->nslots; i++) {
        hnode_t *n = m->slots[i];
        while (n) {
            hnode_t *next = n->next;
            size_t s = hmap_hash(n->key) & (ns - 1);
            n->next = slots[s];
            slots[s] = n;
            n = next;
        }
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = ns;
}

int mdt_hmap_put(mdt_hmap_t *m, const char *key, void *value)
{
    hnode_t **pp = hmap_find(m, key);
    if (*pp) {
        if (m->free_value && (*pp)->value != value)
            m->free_value((*pp)->value);
        (*pp)->value = value;
        return 0;
    }
    size_t kl = strlen(key);
    hnode_t *n = malloc(sizeof(*n) + kl + 1);
    if (!n)
        return -1;
    memcpy(n->key, key, kl + 1);
    n->value = value;
    n->next = NULL;
    *pp = n;
    if (++m->count > m->nslots)
        hmap_grow(m);
    return 0;
}

int mdt_hmap_del(mdt_hmap_t *m, const char *key)
{
    hnode_t **pp = hmap_find(m, key);
    if (!*pp)
        return 0;
    hnode_t *n = *pp;
    *pp = n->next;
    m->count--;
    hnode_free(m, n);
    return 1;
}

size_t mdt_hmap_count(const mdt_hmap_t *m)
{
    return m->count;
}

void mdt_hmap_sweep(mdt_hmap_t *m, int (*fn)(const char *key, void *value, void *ud), void *ud)
{
    for (size_t i = 0; i < m->nslots; i++) {
        hnode_t **pp = &m->slots[i];
        while (*pp) {
            hnode_t *n = *pp;
            if (fn(n->key, n->value, ud)) {
                *pp = n->next;
                m->count--;
                hnode_free(m, n);
            } else {
                pp = &n->next;
            }
        }
    }
}
