/* ids.c - id arrays and int8[] literals (see ids.h). */
#include "ids.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

int mdt_idvec_push(mdt_idvec_t *a, int64_t id)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        int64_t *v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 0;
}

void mdt_idvec_free(mdt_idvec_t *a)
{
    free(a->v);
    memset(a, 0, sizeof(*a));
}

bool mdt_ids_has(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id)
            return true;
    }
    return false;
}

char *mdt_ids_literal(const int64_t *ids, size_t n)
{
    mdt_buf_t b;
    mdt_buf_init(&b);
    mdt_buf_reserve(&b, 2 + n * 21);
    mdt_buf_putn(&b, "{", 1);
    for (size_t i = 0; i < n; i++)
        mdt_buf_printf(&b, "%s%lld", i ? "," : "", (long long)ids[i]);
    mdt_buf_putn(&b, "}", 1);
    return mdt_buf_take(&b, NULL);
}
