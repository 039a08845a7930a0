/* buf.h - the one growable text buffer.
 *
 * Every piece of code that builds a string of unknown length (minutes,
 * CSV, the /metrics page, int8[] literals) appends to an mdt_buf_t. The
 * buffer is always NUL-terminated once anything was appended; an
 * allocation failure is sticky (every later append is a no-op and
 * mdt_buf_take returns NULL), so callers check once, at the end. Pure: no
 * I/O, no globals. */
#ifndef MDT_BUF_H
#define MDT_BUF_H

#include <stddef.h>

typedef struct {
    char *s; /* NULL until the first append */
    size_t len, cap;
    int failed; /* an allocation failed: the text is lost */
} mdt_buf_t;

/* A zeroed mdt_buf_t is an empty buffer; init only zeroes it. */
void mdt_buf_init(mdt_buf_t *b);
/* Makes room for n more bytes and a NUL; 0, or -1 (and failed set). */
int mdt_buf_reserve(mdt_buf_t *b, size_t n);
void mdt_buf_putn(mdt_buf_t *b, const char *s, size_t n);
void mdt_buf_puts(mdt_buf_t *b, const char *s);
void mdt_buf_printf(mdt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands over the text (caller frees; "" when nothing was appended) and its
 * length (len may be NULL), and resets b; NULL when an allocation failed
 * (b is freed either way). */
char *mdt_buf_take(mdt_buf_t *b, size_t *len);
void mdt_buf_free(mdt_buf_t *b);

#endif
