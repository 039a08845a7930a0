/* test_retention.c - MDT_RETENTION's strict parser (config.h,
 * docs/retention.md): off, years, months, days; everything else refused
 * with a message naming the variable. */
#include "../../server/config.h"
#include "check.h"

static void accepts(const char *s, int months, int days)
{
    mdt_retention_t r = {-1, -1};
    char err[256] = "";
    CHECK_EQ_INT(mdt_config_retention(s, &r, err, sizeof(err)), 0);
    CHECK_EQ_INT(r.months, months);
    CHECK_EQ_INT(r.days, days);
    CHECK_EQ_STR(err, "");
}

static void refuses(const char *s)
{
    mdt_retention_t r = {-1, -1};
    char err[256] = "";
    CHECK_EQ_INT(mdt_config_retention(s, &r, err, sizeof(err)), -1);
    CHECK(strstr(err, "MDT_RETENTION must be") != NULL);
    CHECK_EQ_INT(r.months + r.days, 0);
    if (mdt_config_retention(s, &r, err, sizeof(err)) == 0)
        fprintf(stderr, "accepted: '%s'\n", s);
}

int main(void)
{
    accepts(NULL, 0, 0);
    accepts("", 0, 0);
    accepts("off", 0, 0);
    accepts("7y", 84, 0);
    accepts("18m", 18, 0);
    accepts("90d", 0, 90);
    accepts("1d", 0, 1);
    accepts("100y", 1200, 0);
    accepts("1200m", 1200, 0);
    accepts("36500d", 0, 36500);

    const char *bad[] = {"7",    "y",     "0y",     "07y", "-7y", "+7y",   "7 y",
                         " 7y",  "7y ",   "7Y",     "7yr", "7w",  "7h",    "7.5y",
                         "101y", "1201m", "36501d", "OFF", "on",  "never", "9999999999999999999y",
                         "7y7m", NULL};
    for (int i = 0; bad[i]; i++)
        refuses(bad[i]);
    return check_done();
}
