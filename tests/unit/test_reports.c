/* test_reports.c - the pure parts of the reports (server/reports.c):
 * small-cell suppression with its complementary step, month parsing and
 * the MDT_SUPPRESS_BELOW threshold.
 *
 * Suppression is checked on hand-made groups (each rule and tie-break) and
 * on every group of up to four cells with counts 0..11 for thresholds 2, 5
 * and 10: every count from 1 to below - 1 is hidden, and the hidden cells
 * of a group can never be recovered from the total and the shown cells
 * (more than one hidden, and - when all of them are small - their sum
 * does not force them to all-1 or all-(below - 1)) unless every cell is
 * hidden, and a zero is hidden only when no shown non-zero cell is left. */
#include "check.h"
#include "reports.h"

#include <stdint.h>
#include <string.h>

/* Suppresses counts and compares the mask with want ("01..."). */
static void check_mask(const int64_t *counts, size_t n, int64_t below, int complement,
                       const char *want)
{
    unsigned char hide[16];
    char got[17];
    size_t hidden = mdt_reports_suppress(counts, n, below, complement, hide);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        got[i] = hide[i] ? '1' : '0';
        k += hide[i];
    }
    got[n] = 0;
    CHECK_EQ_STR(got, want);
    CHECK_EQ_INT(hidden, k);
}

#define MASK(below, complement, want, ...)                                                         \
    do {                                                                                           \
        const int64_t c_[] = {__VA_ARGS__};                                                        \
        check_mask(c_, sizeof(c_) / sizeof(c_[0]), below, complement, want);                       \
    } while (0)

static void test_rules(void)
{
    MASK(5, 1, "000", 0, 0, 0);              /* nothing small */
    MASK(5, 1, "00", 7, 9);                  /* nothing small */
    MASK(5, 1, "011000", 0, 1, 4, 5, 10, 0); /* two hidden, sum 5: not forced */
    MASK(5, 1, "110", 3, 10, 20);            /* one hidden: the next smallest too */
    MASK(5, 1, "1010", 3, 0, 10, 20);        /* a non-zero cell before a zero one */
    MASK(5, 1, "1110", 1, 1, 10, 20);        /* 1 + 1: forced, one more */
    MASK(5, 1, "1101", 4, 4, 10, 6);         /* 4 + 4: forced, one more */
    MASK(5, 1, "011", 0, 2, 3);              /* 2 + 3: not forced */
    MASK(5, 1, "1", 2);                      /* a lone cell: nothing else to hide */
    MASK(5, 1, "11", 2, 0);                  /* only a zero left: it is hidden */
    MASK(5, 1, "110", 3, 6, 6);              /* equals: the lowest index */
    MASK(5, 1, "11100", 1, 1, 0, 0, 0);      /* 1 + 1 forced, only zeros: one zero */
    MASK(5, 0, "10", 3, 10);                 /* primary only */
    MASK(5, 0, "11", 1, 1);                  /* primary only, even when forced */
    MASK(10, 1, "11", 9, 12);                /* another threshold */
    MASK(2, 1, "110", 1, 5, 7);              /* below 2: only ones are small */
    MASK(1, 1, "000", 1, 2, 3);              /* below < 2: nothing */
    MASK(0, 1, "00", 1, 0);
    MASK(5, 1, "1111", 1, 2, 3, 4); /* all small */
}

/* The contract of one suppressed group (see the file comment). */
static void check_group(const int64_t *c, size_t n, int64_t below)
{
    unsigned char hide[8];
    mdt_reports_suppress(c, n, below, 1, hide);
    int64_t k = 0, sum = 0, shown_nonzero = 0, hidden_zero = 0, all_small = 1;
    for (size_t i = 0; i < n; i++) {
        int small = c[i] >= 1 && c[i] < below;
        if (small)
            CHECK(hide[i]);
        if (hide[i]) {
            k++;
            sum += c[i];
            hidden_zero += c[i] == 0;
            all_small &= small;
        } else {
            shown_nonzero += c[i] != 0;
        }
    }
    /* forced: the only values of 1..below-1 with that sum are all-1 or all-max */
    int forced = all_small && (sum == k || sum == k * (below - 1));
    int safe = k == 0 || (size_t)k == n || (k > 1 && !forced);
    CHECK(safe);
    if (!safe)
        fprintf(stderr, "  group of %zu, below %lld, first %lld\n", n, (long long)below,
                (long long)c[0]);
    CHECK(hidden_zero == 0 || shown_nonzero == 0);
}

static void test_exhaustive(void)
{
    const int64_t belows[] = {2, 5, 10};
    for (size_t b = 0; b < 3; b++) {
        for (size_t n = 1; n <= 4; n++) {
            int64_t c[4] = {0};
            size_t combos = 1;
            for (size_t i = 0; i < n; i++)
                combos *= 12;
            for (size_t x = 0; x < combos; x++) {
                size_t v = x;
                for (size_t i = 0; i < n; i++, v /= 12)
                    c[i] = (int64_t)(v % 12);
                check_group(c, n, belows[b]);
            }
        }
    }
}

static void test_months(void)
{
    int m = -1;
    CHECK_EQ_INT(mdt_reports_parse_month("2026-01", &m), 0);
    CHECK_EQ_INT(m, 2026 * 12);
    CHECK_EQ_INT(mdt_reports_parse_month("2026-12", &m), 0);
    CHECK_EQ_INT(m, 2026 * 12 + 11);
    const char *bad[] = {NULL,      "",           "2026-1",   "2026-13", "2026-00",
                         "26-01",   "2026/01",    "2026-01-", "x026-01", "2026-0a",
                         "1899-12", "2026-01-01", " 2026-01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(mdt_reports_parse_month(bad[i], &m), -1);
}

static void test_threshold(void)
{
    CHECK_EQ_INT(mdt_reports_threshold(NULL), 5);
    CHECK_EQ_INT(mdt_reports_threshold(""), 5);
    CHECK_EQ_INT(mdt_reports_threshold("11"), 11);
    CHECK_EQ_INT(mdt_reports_threshold("2"), 2);
    CHECK_EQ_INT(mdt_reports_threshold("1000"), 1000);
    CHECK_EQ_INT(mdt_reports_threshold("1"), 5);
    CHECK_EQ_INT(mdt_reports_threshold("0"), 5);
    CHECK_EQ_INT(mdt_reports_threshold("-3"), 5);
    CHECK_EQ_INT(mdt_reports_threshold("5x"), 5);
    CHECK_EQ_INT(mdt_reports_threshold("1001"), 5);
}

int main(void)
{
    test_rules();
    test_exhaustive();
    test_months();
    test_threshold();
    return check_done();
}
