/* test_notify.c - the pure part of notifications: finding `@username`
 * mentions in an entry's Markdown (notify.c). */
#include "check.h"
#include "notify.h"

#include <stdlib.h>
#include <string.h>

static char names[MDT_NOTIFY_MAX_MENTIONS][MDT_NOTIFY_USERNAME_MAX + 1];

static size_t parse(const char *md)
{
    memset(names, 0, sizeof(names));
    return mdt_notify_parse_mentions(md, names, MDT_NOTIFY_MAX_MENTIONS);
}

static void test_basic(void)
{
    CHECK_EQ_INT(parse("Ask @Jane.Doe and @bob_2, please."), 2);
    CHECK_EQ_STR(names[0], "jane.doe");
    CHECK_EQ_STR(names[1], "bob_2");
    CHECK_EQ_INT(parse("@first at the start"), 1);
    CHECK_EQ_STR(names[0], "first");
    /* usernames may hold '@' and '-'; a trailing '.' ends the sentence */
    CHECK_EQ_INT(parse("cc @ann@police-dept."), 1);
    CHECK_EQ_STR(names[0], "ann@police-dept");
}

static void test_not_mentions(void)
{
    /* an e-mail address, a bare @, @ followed by punctuation */
    CHECK_EQ_INT(parse("mail jane@example.org or @ or @! or @."), 0);
    CHECK_EQ_INT(parse(""), 0);
    CHECK_EQ_INT(mdt_notify_parse_mentions(NULL, names, MDT_NOTIFY_MAX_MENTIONS), 0);
}

static void test_dedupe_and_bounds(void)
{
    CHECK_EQ_INT(parse("@Amy @amy (@AMY)"), 1);
    CHECK_EQ_STR(names[0], "amy");
    char longname[MDT_NOTIFY_USERNAME_MAX + 10];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[0] = '@';
    longname[sizeof(longname) - 1] = '\0';
    CHECK_EQ_INT(parse(longname), 0); /* longer than any username */
    char many[2048] = "";
    for (int i = 0; i < MDT_NOTIFY_MAX_MENTIONS + 5; i++) {
        char one[16];
        snprintf(one, sizeof(one), "@u%d ", i);
        strcat(many, one);
    }
    CHECK_EQ_INT(parse(many), MDT_NOTIFY_MAX_MENTIONS);
    CHECK_EQ_STR(names[MDT_NOTIFY_MAX_MENTIONS - 1], "u19");
}

int main(void)
{
    test_basic();
    test_not_mentions();
    test_dedupe_and_bounds();
    return check_done();
}
