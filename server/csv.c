/* csv.c - the one RFC 4180 CSV writer (see csv.h). */
#include "csv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void mdt_csv_init(mdt_csv_t *w)
{
    memset(w, 0, sizeof(*w));
}

void mdt_csv_free(mdt_csv_t *w)
{
    mdt_buf_free(&w->out);
    mdt_csv_init(w);
}

static void put(mdt_csv_t *w, const char *s, size_t n)
{
    mdt_buf_putn(&w->out, s, n);
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

void mdt_csv_json(mdt_csv_t *w, const json_t *v)
{
    if (json_is_integer(v))
        mdt_csv_int(w, (int64_t)json_integer_value(v));
    else if (json_is_string(v))
        mdt_csv_text(w, json_string_value(v));
    else if (json_is_boolean(v))
        mdt_csv_text(w, json_is_true(v) ? "true" : "false");
    else
        mdt_csv_text(w, NULL);
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

size_t mdt_csv_header(mdt_csv_t *w, const char *const *cols)
{
    size_t n = 0;
    while (cols[n])
        n++;
    mdt_csv_row(w, cols, n);
    return n;
}

char *mdt_csv_take(mdt_csv_t *w, size_t *len)
{
    *len = 0;
    char *out = mdt_buf_take(&w->out, len);
    mdt_csv_free(w);
    return out;
}
