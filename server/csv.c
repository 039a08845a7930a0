/* csv.c - the one RFC 4180 CSV writer (see csv.h). */
#include "csv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mdt_csv_init(mdt_csv_t *w)
{
    memset(w, 0, sizeof(*w));
}

void mdt_csv_free(mdt_csv_t *w)
{
    free(w->buf);
    mdt_csv_init(w);
}

/* Makes room for n more bytes (and a NUL); 0 or -1 (sticky failure). */
static int reserve(mdt_csv_t *w, size_t n)
{
    if (w->failed)
        return -1;
    if (w->len + n + 1 <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->failed = 1;
        return -1;
    }
    w->buf = b;
    w->cap = cap;
    return 0;
}

static void put(mdt_csv_t *w, const char *s, size_t n)
{
    if (reserve(w, n) != 0)
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

/* The separator before every cell but a row's first. */
static void begin_cell(mdt_csv_t *w)
{
    if (w->cells++)
        put(w, ",", 1);
}

int mdt_csv_formula_like(const char *s)
{
    return s && s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

void mdt_csv_text(mdt_csv_t *w, const char *s)
{
    begin_cell(w);
    if (!s)
        return;
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        put(w, "\"", 1);
    if (mdt_csv_formula_like(s))
        put(w, "'", 1);
    for (const char *p = s; *p;) {
        size_t run = strcspn(p, "\"");
        put(w, p, run);
        p += run;
        if (*p == '"') {
            put(w, "\"\"", 2);
            p++;
        }
    }
    if (quote)
        put(w, "\"", 1);
}

void mdt_csv_int(mdt_csv_t *w, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);
    begin_cell(w);
    put(w, num, (size_t)n);
}

void mdt_csv_end_row(mdt_csv_t *w)
{
    put(w, "\r\n", 2);
    w->cells = 0;
}

void mdt_csv_row(mdt_csv_t *w, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mdt_csv_text(w, cells[i]);
    mdt_csv_end_row(w);
}

char *mdt_csv_take(mdt_csv_t *w, size_t *len)
{
    char *out = NULL;
    *len = 0;
    if (!w->failed && reserve(w, 0) == 0) {
        out = w->buf;
        *len = w->len;
        w->buf = NULL;
    }
    mdt_csv_free(w);
    return out;
}
