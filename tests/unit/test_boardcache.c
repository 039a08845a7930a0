/* test_boardcache.c - the board cache (server/boardcache.c): a hit needs the
 * same case, view key and fingerprint before the entry's expiry; the
 * stored bytes stay within the bound, least recently used evicted first. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boardcache.h"
#include "check.h"

static mdt_view_key_t key(int64_t agency)
{
    mdt_view_key_t k = {.agency_id = agency};
    return k;
}

/* 1 when (case_id, agency, fp) hits at now with the bytes want. */
static int hit(mdt_boardcache_t *bc, int64_t case_id, int64_t agency, const char *fp, int64_t now,
               const char *want)
{
    size_t len = 0;
    char *s = mdt_boardcache_get(bc, case_id, key(agency), fp, now, &len);
    int ok = s && len == strlen(want) && memcmp(s, want, len) == 0;
    free(s);
    return ok;
}

static void test_keys_and_expiry(void)
{
    mdt_boardcache_t *bc = mdt_boardcache_new(1 << 20);
    mdt_boardcache_put(bc, 1, key(10), "fp1", 1000, "{\"a\":1}", 7);
    mdt_boardcache_put(bc, 1, key(20), "fp1", INT64_MAX, "{\"b\":2}", 7);
    CHECK(hit(bc, 1, 10, "fp1", 999, "{\"a\":1}"));
    CHECK(hit(bc, 1, 20, "fp1", 999, "{\"b\":2}"));   /* another key: its own board */
    CHECK(!hit(bc, 1, 10, "fp2", 999, "{\"a\":1}"));  /* the board changed */
    CHECK(!hit(bc, 2, 10, "fp1", 999, "{\"a\":1}"));  /* another case */
    CHECK(!hit(bc, 1, 10, "fp1", 1000, "{\"a\":1}")); /* at the expiry: gone */
    CHECK(hit(bc, 1, 20, "fp1", 5000, "{\"b\":2}"));
    mdt_boardcache_put(bc, 1, key(10), "fp2", 2000, "{\"a\":3}", 7); /* replaced */
    CHECK(hit(bc, 1, 10, "fp2", 1500, "{\"a\":3}"));
    mdt_boardcache_stats_t st;
    mdt_boardcache_stats(bc, &st);
    CHECK_EQ_INT(st.entries, 2);
    CHECK_EQ_INT(st.bytes, 14);
    CHECK_EQ_INT(st.hits, 4);
    CHECK_EQ_INT(st.misses, 3);
    mdt_boardcache_free(bc);
}

static void test_bound_lru(void)
{
    char big[400];
    memset(big, 'x', sizeof(big));
    mdt_boardcache_t *bc = mdt_boardcache_new(1000);
    mdt_boardcache_put(bc, 1, key(1), "f", INT64_MAX, big, 400);
    mdt_boardcache_put(bc, 2, key(1), "f", INT64_MAX, big, 400);
    size_t len;
    free(mdt_boardcache_get(bc, 1, key(1), "f", 0, &len));       /* case 1 is now the most recent */
    mdt_boardcache_put(bc, 3, key(1), "f", INT64_MAX, big, 400); /* evicts case 2 */
    mdt_boardcache_stats_t st;
    mdt_boardcache_stats(bc, &st);
    CHECK(st.bytes <= 1000);
    CHECK_EQ_INT(st.entries, 2);
    CHECK_EQ_INT(st.evictions, 1);
    char *s = mdt_boardcache_get(bc, 2, key(1), "f", 0, &len);
    CHECK(s == NULL);
    free(s);
    CHECK((s = mdt_boardcache_get(bc, 1, key(1), "f", 0, &len)) != NULL);
    free(s);
    mdt_boardcache_put(bc, 4, key(1), "f", INT64_MAX, big, 400);
    mdt_boardcache_stats(bc, &st);
    CHECK(st.bytes <= 1000);
    mdt_boardcache_free(bc);
}

static void test_off_and_oversize(void)
{
    CHECK(mdt_boardcache_new(0) == NULL);
    size_t len = 1;
    CHECK(mdt_boardcache_get(NULL, 1, key(1), "f", 0, &len) == NULL);
    CHECK_EQ_INT(len, 0);
    mdt_boardcache_put(NULL, 1, key(1), "f", INT64_MAX, "{}", 2); /* no cache: nothing */
    mdt_boardcache_t *bc = mdt_boardcache_new(10);
    mdt_boardcache_put(bc, 1, key(1), "f", INT64_MAX, "{\"too\":\"large\"}", 15);
    mdt_boardcache_stats_t st;
    mdt_boardcache_stats(bc, &st);
    CHECK_EQ_INT(st.entries, 0);
    mdt_boardcache_free(bc);
}

/* A purged case's boards go, every view key's, and only that case's (case
 * 1 is not a prefix match for case 12). */
static void test_forget_case(void)
{
    mdt_boardcache_t *bc = mdt_boardcache_new(1 << 20);
    mdt_boardcache_put(bc, 1, key(10), "f", INT64_MAX, "{\"a\":1}", 7);
    mdt_boardcache_put(bc, 1, key(20), "f", INT64_MAX, "{\"b\":2}", 7);
    mdt_boardcache_put(bc, 12, key(10), "f", INT64_MAX, "{\"c\":3}", 7);
    mdt_boardcache_put(bc, 2, key(1), "f", INT64_MAX, "{\"d\":4}", 7);
    mdt_boardcache_forget_case(bc, 1);
    CHECK(!hit(bc, 1, 10, "f", 0, "{\"a\":1}"));
    CHECK(!hit(bc, 1, 20, "f", 0, "{\"b\":2}"));
    CHECK(hit(bc, 12, 10, "f", 0, "{\"c\":3}"));
    CHECK(hit(bc, 2, 1, "f", 0, "{\"d\":4}"));
    mdt_boardcache_stats_t st;
    mdt_boardcache_stats(bc, &st);
    CHECK_EQ_INT(st.entries, 2);
    CHECK_EQ_INT(st.bytes, 14);
    mdt_boardcache_forget_case(bc, 99); /* nothing stored: nothing happens */
    mdt_boardcache_forget_case(NULL, 1);
    mdt_boardcache_stats(bc, &st);
    CHECK_EQ_INT(st.entries, 2);
    mdt_boardcache_free(bc);
}

int main(void)
{
    test_keys_and_expiry();
    test_forget_case();
    test_bound_lru();
    test_off_and_oversize();
    return check_done();
}
