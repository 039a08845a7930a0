/* ics.c - iCalendar content lines (see ics.h). */
#include "ics.h"

#include <stdlib.h>
#include <string.h>

#define ICS_FOLD 75

/* The escaped form of one TEXT character (NULL: as it is). */
static const char *ics_escape(char ch)
{
    switch (ch) {
    case '\\':
        return "\\\\";
    case ';':
        return "\\;";
    case ',':
        return "\\,";
    case '\n':
        return "\\n";
    case '\r':
        return "";
    default:
        return NULL;
    }
}

/* Octets of the UTF-8 sequence starting with lead byte ch (1 for ASCII or
 * a stray continuation byte). */
static size_t utf8_len(unsigned char ch)
{
    if (ch >= 0xf0)
        return 4;
    if (ch >= 0xe0)
        return 3;
    if (ch >= 0xc0)
        return 2;
    return 1;
}

/* Writes the unfolded line into line (a scratch buffer). */
static void ics_unfolded(mdt_buf_t *line, const char *name, const char *value, int text)
{
    mdt_buf_puts(line, name);
    mdt_buf_putn(line, ":", 1);
    for (const char *s = value; *s; s++) {
        const char *e = text ? ics_escape(*s) : NULL;
        if (e)
            mdt_buf_puts(line, e);
        else if (*s != '\r' && *s != '\n')
            mdt_buf_putn(line, s, 1);
    }
}

void mdt_ics_line(mdt_buf_t *b, const char *name, const char *value, int text)
{
    mdt_buf_t line;
    mdt_buf_init(&line);
    ics_unfolded(&line, name, value, text);
    size_t len = 0;
    char *s = mdt_buf_take(&line, &len);
    if (!s) {
        b->failed = 1; /* out of memory: the whole document is lost */
        return;
    }
    size_t col = 0; /* octets on the current physical line */
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len((unsigned char)s[i]);
        if (i + n > len)
            n = len - i;
        if (col + n > ICS_FOLD) {
            mdt_buf_putn(b, "\r\n ", 3);
            col = 1;
        }
        mdt_buf_putn(b, s + i, n);
        col += n;
        i += n;
    }
    mdt_buf_putn(b, "\r\n", 2);
    free(s);
}
