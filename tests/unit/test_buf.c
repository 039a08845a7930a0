/* test_buf.c - the small shared helpers: the growable buffer (buf.c), id
 * lists and int8[] literals (ids.c) and the RFC 3339 date-time check in
 * json.c. */
#include "buf.h"
#include "check.h"
#include "ids.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static void test_buf_grows(void)
{
    mdt_buf_t b;
    mdt_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        mdt_buf_printf(&b, "%d,", i % 10);
    mdt_buf_puts(&b, "end");
    mdt_buf_putn(&b, "xyz", 1);
    size_t len = 0;
    char *s = mdt_buf_take(&b, &len);
    CHECK(s != NULL);
    CHECK_EQ_INT(len, 2000 + 4);
    CHECK_EQ_INT(strlen(s), len);
    CHECK(strncmp(s, "0,1,2,", 6) == 0);
    CHECK(strcmp(s + 2000, "endx") == 0);
    CHECK(b.s == NULL && b.len == 0);
    free(s);
}

static void test_buf_empty_and_long_printf(void)
{
    mdt_buf_t b;
    mdt_buf_init(&b);
    size_t len = 7;
    char *s = mdt_buf_take(&b, &len);
    CHECK_EQ_STR(s, "");
    CHECK_EQ_INT(len, 0);
    free(s);
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    mdt_buf_printf(&b, "<%s>", big);
    s = mdt_buf_take(&b, &len);
    CHECK_EQ_INT(len, sizeof(big) + 1);
    CHECK(s && s[0] == '<' && s[len - 1] == '>');
    free(s);
}

static void test_ids(void)
{
    const int64_t ids[] = {3, 9223372036854775807LL, 1};
    char *lit = mdt_ids_literal(ids, 3);
    CHECK_EQ_STR(lit, "{3,9223372036854775807,1}");
    free(lit);
    lit = mdt_ids_literal(NULL, 0);
    CHECK_EQ_STR(lit, "{}");
    free(lit);
    CHECK(mdt_ids_has(ids, 3, 1));
    CHECK(!mdt_ids_has(ids, 2, 1));
    mdt_idvec_t v = {0};
    for (int64_t i = 1; i <= 100; i++)
        CHECK_EQ_INT(mdt_idvec_push(&v, i * 2), 0);
    CHECK_EQ_INT(v.n, 100);
    CHECK(mdt_ids_has(v.v, v.n, 200) && !mdt_ids_has(v.v, v.n, 201));
    mdt_idvec_free(&v);
    CHECK(v.v == NULL && v.n == 0);
}

static void test_datetime(void)
{
    CHECK(mdt_json_valid_datetime("2099-01-31T17:00:00Z"));
    CHECK(mdt_json_valid_datetime("2099-01-31T17:00:00.123456789+05:30"));
    CHECK(mdt_json_valid_datetime("2096-02-29T00:00:00-23:59"));
    CHECK(mdt_json_valid_datetime("2099-01-31t17:00:00z"));
    CHECK(mdt_json_valid_datetime("2016-12-31T23:59:60Z"));
    CHECK(!mdt_json_valid_datetime("2016-12-31T23:59:61Z"));
    CHECK(!mdt_json_valid_datetime("2099-02-29T00:00:00Z"));
    CHECK(!mdt_json_valid_datetime("2099-01-31 17:00:00Z"));
    CHECK(!mdt_json_valid_datetime("2099-01-31T24:00:00Z"));
    CHECK(!mdt_json_valid_datetime("2099-01-31T17:00:00"));
    CHECK(!mdt_json_valid_datetime("2099-01-31T17:00:00.Z"));
    CHECK(!mdt_json_valid_datetime("2099-01-31T17:00:00.1234567890Z"));
    CHECK(!mdt_json_valid_datetime("2099-01-31T17:00:00+5:30"));
    CHECK(!mdt_json_valid_datetime("2099-01-31"));
}

int main(void)
{
    test_buf_grows();
    test_buf_empty_and_long_printf();
    test_ids();
    test_datetime();
    return check_done();
}
