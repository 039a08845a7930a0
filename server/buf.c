/* buf.c - the one growable text buffer (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mdt_buf_init(mdt_buf_t *b)
{
    memset(b, 0, sizeof(*b));
}

void mdt_buf_free(mdt_buf_t *b)
{
    free(b->s);
    mdt_buf_init(b);
}

int mdt_buf_reserve(mdt_buf_t *b, size_t n)
{
    if (b->failed)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = 1;
        return -1;
    }
    s[b->len] = 0; /* a reserved buffer is always a string */
    b->s = s;
    b->cap = cap;
    return 0;
}

void mdt_buf_putn(mdt_buf_t *b, const char *s, size_t n)
{
    if (mdt_buf_reserve(b, n) != 0)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void mdt_buf_puts(mdt_buf_t *b, const char *s)
{
    mdt_buf_putn(b, s, strlen(s));
}

void mdt_buf_printf(mdt_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (mdt_buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *mdt_buf_take(mdt_buf_t *b, size_t *len)
{
    if (!b->failed && !b->s)
        mdt_buf_reserve(b, 0);
    char *s = b->failed ? NULL : b->s;
    if (s && len)
        *len = b->len;
    if (!s)
        free(b->s);
    mdt_buf_init(b);
    return s;
}
