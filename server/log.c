/* log.c - structured one-line-per-record logging to stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static mdt_log_level_t log_level = MDT_LOG_INFO;
static int log_worker = -1;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int mdt_log_set_level(const char *name)
{
    for (int i = 0; i <= MDT_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            log_level = (mdt_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void mdt_log_set_worker(int k)
{
    log_worker = k < 0 ? -1 : k;
}

int mdt_log_enabled(mdt_log_level_t level)
{
    return level <= log_level;
}

void mdt_log(mdt_log_level_t level, const char *msg, const char *fmt, ...)
{
    if (!mdt_log_enabled(level))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"%s\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, level_names[level], msg);
    if (n > 0 && log_worker >= 0 && (size_t)n < sizeof(line) - 16)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " worker=%d", log_worker);
    if (n > 0 && (size_t)n < sizeof(line) - 2 && fmt && *fmt) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m < (int)(sizeof(line) - (size_t)n - 1) ? m : (int)(sizeof(line) - (size_t)n - 2);
    }
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
