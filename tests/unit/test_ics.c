/* test_ics.c - iCalendar content lines: escaping, CRLF, folding at 75
 * octets without splitting a UTF-8 sequence. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ics.h"

static char *line(const char *name, const char *value, int text)
{
    mdt_buf_t b;
    mdt_buf_init(&b);
    mdt_ics_line(&b, name, value, text);
    return mdt_buf_take(&b, NULL);
}

/* Every physical line is at most 75 octets and ends CRLF; continuation
 * lines start with one space; unfolding gives back want. */
static void check_folded(const char *s, const char *want)
{
    char unfolded[4096] = "";
    size_t u = 0;
    const char *p = s;
    int first = 1;
    while (*p) {
        const char *end = strstr(p, "\r\n");
        CHECK(end != NULL);
        if (!end)
            return;
        CHECK((size_t)(end - p) <= 75);
        if (!first)
            CHECK(*p == ' ');
        const char *from = first ? p : p + 1;
        memcpy(unfolded + u, from, (size_t)(end - from));
        u += (size_t)(end - from);
        first = 0;
        p = end + 2;
    }
    unfolded[u] = 0;
    CHECK_EQ_STR(unfolded, want);
}

int main(void)
{
    char *s = line("SUMMARY", "MDT case review", 1);
    CHECK_EQ_STR(s, "SUMMARY:MDT case review\r\n");
    free(s);

    s = line("DESCRIPTION", "a\\b;c,d\ne\r", 1);
    CHECK_EQ_STR(s, "DESCRIPTION:a\\\\b\\;c\\,d\\ne\r\n");
    free(s);

    s = line("URL", "https://x.test/a,b;c", 0);
    CHECK_EQ_STR(s, "URL:https://x.test/a,b;c\r\n");
    free(s);

    /* a long ASCII value folds at exactly 75 octets */
    char longv[300];
    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = 0;
    char want[400];
    snprintf(want, sizeof(want), "DESCRIPTION:%s", longv);
    s = line("DESCRIPTION", longv, 1);
    check_folded(s, want);
    CHECK(strncmp(s + 75, "\r\n ", 3) == 0);
    free(s);

    /* multi-octet characters are never split across a fold */
    char utf[400] = "";
    for (int i = 0; i < 60; i++)
        strcat(utf, "\xc3\xa9"); /* é */
    snprintf(want, sizeof(want), "SUMMARY:%s", utf);
    s = line("SUMMARY", utf, 1);
    check_folded(s, want);
    for (const char *p = s; (p = strstr(p, "\r\n ")); p += 3)
        CHECK(((unsigned char)p[3] & 0xc0) != 0x80);
    free(s);

    return check_done();
}
