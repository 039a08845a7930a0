/* log.h - structured logging to stderr.
 *
 * One line per record: `ts=... level=... msg=... key=value ...`. The level is
 * set once at start-up from MDT_LOG_LEVEL (error, warn, info, debug). A
 * worker process of MDT_WORKERS > 1 (workers.h) also sets its index once,
 * and every line it writes then carries `worker=k` after msg. The only
 * globals are the level and that index, written before any thread starts. */
#ifndef MDT_LOG_H
#define MDT_LOG_H

typedef enum { MDT_LOG_ERROR, MDT_LOG_WARN, MDT_LOG_INFO, MDT_LOG_DEBUG } mdt_log_level_t;

int mdt_log_set_level(const char *name);
int mdt_log_enabled(mdt_log_level_t level);
/* Marks every later line with `worker=k` (k >= 0); -1 (the default): no mark. */
void mdt_log_set_worker(int k);

/* Writes one line: msg is a short constant; fmt adds `key=value` pairs. */
void mdt_log(mdt_log_level_t level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define mdt_log_error(msg, ...) mdt_log(MDT_LOG_ERROR, msg, __VA_ARGS__)
#define mdt_log_warn(msg, ...)  mdt_log(MDT_LOG_WARN, msg, __VA_ARGS__)
#define mdt_log_info(msg, ...)  mdt_log(MDT_LOG_INFO, msg, __VA_ARGS__)
#define mdt_log_debug(msg, ...) mdt_log(MDT_LOG_DEBUG, msg, __VA_ARGS__)

#endif
