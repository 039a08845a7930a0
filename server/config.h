/* config.h - the server's configuration, from the environment and flags.
 *
 * mdt_config_load() reads MDT_* variables, then command-line flags override
 * them. The result is immutable once the server starts. Strings point into
 * the environment, argv or the config's own buffers: nothing to free. The
 * key file is read here; the key derived from it is wiped by the server at
 * exit. */
#ifndef MDT_CONFIG_H
#define MDT_CONFIG_H

#include <stddef.h>

/* MDT_METRICS_TOKEN's bounds: long enough not to be guessed, short enough
 * for the request's Authorization copy (req.h). */
#define MDT_METRICS_TOKEN_MIN 32
#define MDT_METRICS_TOKEN_MAX 128

/* MDT_WORKERS' upper bound (workers.h). */
#define MDT_WORKERS_MAX 64

/* MDT_RETENTION (docs/retention.md): how long a closed case is kept, in
 * months and days (a year is 12 months); both 0: off, nothing is purged. */
typedef struct {
    int months;
    int days;
} mdt_retention_t;

typedef struct {
    const char *database_url;
    char listen_host[128];
    int listen_port;
    char origin[256]; /* scheme://host[:port], no trailing slash */
    int origin_https;
    char ws_origin[256]; /* ws(s)://host[:port] for the CSP */
    const char *web_root;
    const char *tls_cert;
    const char *tls_key;
    const char *trusted_proxies; /* comma-separated addresses or CIDRs */
    const char *metrics_token;   /* MDT_METRICS_TOKEN: bearer token for /metrics, or NULL */
    const char *time_zone;
    const char *mfa_required_kinds; /* comma-separated agency kinds */
    const char *log_level;
    int event_poll; /* MDT_EVENT_LOOP=poll: lws's own poll() loop instead of libuv (epoll) */
    int workers;    /* MDT_WORKERS: processes sharing the port (1: this one, no supervisor) */
    int worker;     /* this process's index among them, 0-based (set by workers.c) */
    int ready_fd;   /* with workers > 1: the pipe to the supervisor, one byte when ready */
    int session_idle_s;
    int session_max_s;
    int lockout_failures;
    int lockout_s;
    int login_rate_per_min;
    int db_pool;
    int db_live_max;   /* connections renders and feed loads may hold (0: pool - 1) */
    int db_replay_max; /* connections subscribe replays may hold (0: pool / 2) */
    int db_heavy_max;  /* connections heavy requests may hold (0: pool / 2) */
    int db_live_conns; /* the live feed's own connections beside the pool (0: it shares it) */
    int ws_max_bytes;  /* what one socket may hold queued across its subscriptions */
    int ws_sub_rate;   /* subscribe messages per minute, per socket (twice per user) */
    int db_timeout_ms;
    int hash_threads;
    size_t max_body;
    size_t attachment_max; /* an attachment's bytes (MDT_ATTACHMENT_MAX, default 25 MiB) */
    int test_hooks;
    /* email digests (smtp.h; docs/operations.md "Email"): off without a URL */
    const char *smtp_url;        /* MDT_SMTP_URL: smtp://host:port (STARTTLS) or smtps:// */
    const char *smtp_from;       /* MDT_SMTP_FROM: the envelope and From: address */
    const char *smtp_user;       /* MDT_SMTP_USER (or in the URL) */
    const char *smtp_password;   /* MDT_SMTP_PASSWORD; never logged */
    const char *smtp_ca_file;    /* MDT_SMTP_CA_FILE: CA certificates (PEM) for the relay */
    int smtp_insecure_loopback;  /* MDT_SMTP_INSECURE_LOOPBACK=1: plain SMTP to 127.0.0.1/::1 */
    int digest_hour;             /* MDT_DIGEST_HOUR: local hour of the daily run (default 6) */
    int digest_tick_s;           /* MDT_DIGEST_TICK: seconds between digest ticks (0: none) */
    int calendar_rate;           /* MDT_CALENDAR_RATE: feed requests per minute per address */
    int board_cache_mb;          /* MDT_BOARD_CACHE_MB: serialized boards kept (0: no cache) */
    mdt_retention_t retention;   /* MDT_RETENTION: off unless set (retention.h) */
    const char *key_file;        /* MDT_KEY_FILE (keys.h) */
    char key_id[17];             /* its key id, for the log */
    unsigned char audit_key[32]; /* keys the audit chain: unwrapped from data_keys at start
                                    (keyring.h, server.c); never logged */
} mdt_config_t;

/* Fills cfg from the environment and argv (flags after the subcommand).
 * Returns 0, or -1 with a message in err. --help is reported as 1. */
int mdt_config_load(mdt_config_t *cfg, int argc, char **argv, char *err, size_t errlen);
void mdt_config_usage(const char *prog);

/* Parses an MDT_RETENTION value: "off", or a whole number from 1 with one
 * unit, "y" (years, up to 100), "m" (months, up to 1200) or "d" (days, up
 * to 36500), nothing else: "7y", "18m", "90d". 0 ok; -1 with a message
 * naming the variable in err. NULL or "" is off. */
int mdt_config_retention(const char *s, mdt_retention_t *out, char *err, size_t errlen);

/* Parses "900", "900s", "15m", "12h" into seconds; -1 when malformed. */
int mdt_config_duration(const char *s);

#endif
