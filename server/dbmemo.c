/* dbmemo.c - a snapshot's memo of query results (see dbmemo.h). A short
 * list searched by a hash of the key: a render batch runs a few hundred
 * statements at most, and the memo is freed with its snapshot. */
#include "dbmemo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* At most this many results per snapshot: beyond it statements run. */
#define DBMEMO_MAX 1024

typedef struct dbmemo_ent {
    struct dbmemo_ent *next;
    uint64_t hash;
    size_t klen;
    PGresult *r;
    char key[]; /* sql, NUL, then per value a tag ('n' NULL, 'v' value) and the value, NUL */
} dbmemo_ent_t;

struct mdt_dbmemo {
    dbmemo_ent_t *head;
    int count;
};

mdt_dbmemo_t *mdt_dbmemo_new(void)
{
    return calloc(1, sizeof(mdt_dbmemo_t));
}

void mdt_dbmemo_free(mdt_dbmemo_t *m)
{
    if (!m)
        return;
    for (dbmemo_ent_t *e = m->head, *next; e; e = next) {
        next = e->next;
        PQclear(e->r);
        free(e);
    }
    free(m);
}

/* The key of sql and its values into b (0, or -1 out of memory). */
static int dbmemo_key(mdt_buf_t *b, const char *sql, int n, const char *const *values)
{
    mdt_buf_putn(b, sql, strlen(sql) + 1);
    for (int i = 0; i < n; i++) {
        mdt_buf_putn(b, values[i] ? "v" : "n", 1);
        if (values[i])
            mdt_buf_putn(b, values[i], strlen(values[i]) + 1);
    }
    return b->failed || !b->s ? -1 : 0;
}

static uint64_t dbmemo_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static dbmemo_ent_t *dbmemo_find(mdt_dbmemo_t *m, const mdt_buf_t *b, uint64_t hash)
{
    for (dbmemo_ent_t *e = m->head; e; e = e->next) {
        if (e->hash == hash && e->klen == b->len && memcmp(e->key, b->s, b->len) == 0)
            return e;
    }
    return NULL;
}

PGresult *mdt_dbmemo_get(mdt_dbmemo_t *m, const char *sql, int n, const char *const *values)
{
    mdt_buf_t b;
    mdt_buf_init(&b);
    PGresult *r = NULL;
    if (dbmemo_key(&b, sql, n, values) == 0) {
        dbmemo_ent_t *e = dbmemo_find(m, &b, dbmemo_hash(b.s, b.len));
        if (e)
            r = PQcopyResult(e->r, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    }
    mdt_buf_free(&b);
    return r;
}

void mdt_dbmemo_put(mdt_dbmemo_t *m, const char *sql, int n, const char *const *values,
                    const PGresult *r)
{
    mdt_buf_t b;
    mdt_buf_init(&b);
    dbmemo_ent_t *e = NULL;
    if (m->count >= DBMEMO_MAX || dbmemo_key(&b, sql, n, values) != 0)
        goto exit;
    uint64_t hash = dbmemo_hash(b.s, b.len);
    if (dbmemo_find(m, &b, hash) || !(e = malloc(sizeof(*e) + b.len)))
        goto exit;
    e->r = PQcopyResult(r, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    if (!e->r) {
        free(e);
        goto exit;
    }
    e->hash = hash;
    e->klen = b.len;
    memcpy(e->key, b.s, b.len);
    e->next = m->head;
    m->head = e;
    m->count++;
exit:
    mdt_buf_free(&b);
}
