/* config.c - environment and flag parsing for `mdtboard serve` (see config.h). */
#include "config.h"

#include <getopt.h>
#include "keys.h"
#include "smtp.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MDT_SOURCE_DIR
#define MDT_SOURCE_DIR "."
#endif

int mdt_config_duration(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 0 || v > 10L * 365 * 86400)
        return -1;
    long mul = 1;
    if (*end == 'm')
        mul = 60;
    else if (*end == 'h')
        mul = 3600;
    else if (*end == 'd')
        mul = 86400;
    else if (*end != 's' && *end != 0)
        return -1;
    if (*end && end[1])
        return -1;
    return (int)(v * mul);
}

int mdt_config_retention(const char *s, mdt_retention_t *out, char *err, size_t errlen)
{
    out->months = out->days = 0;
    if (!s || !*s || strcmp(s, "off") == 0)
        return 0;
    long n = 0;
    const char *d = s;
    while (*d >= '0' && *d <= '9' && n <= 100000)
        n = n * 10 + (*d++ - '0');
    long max = d[0] == 'y' ? 100 : d[0] == 'm' ? 1200 : d[0] == 'd' ? 36500 : 0;
    if (d == s || *s == '0' || !max || d[1] || n < 1 || n > max) {
        snprintf(err, errlen,
                 "MDT_RETENTION must be off, or a whole number of years, months or days after a"
                 " case is closed such as 7y, 18m or 90d (at most 100y, 1200m, 36500d); got '%s'",
                 s);
        return -1;
    }
    if (d[0] == 'd')
        out->days = (int)n;
    else
        out->months = (int)(d[0] == 'y' ? n * 12 : n);
    return 0;
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static int env_int(const char *name, int def, int lo, int hi, char *err, size_t errlen, int *out)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi) {
        snprintf(err, errlen, "%s must be an integer from %d to %d", name, lo, hi);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int env_duration(const char *name, int def, char *err, size_t errlen, int *out)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    *out = mdt_config_duration(v);
    if (*out <= 0) {
        snprintf(err, errlen, "%s must be a duration such as 900, 15m or 12h", name);
        return -1;
    }
    return 0;
}

/* MDT_WORKERS: 1..MDT_WORKERS_MAX, or "auto" (the online CPUs, within the
 * same bounds); unset: 1. */
static int env_workers(mdt_config_t *cfg, char *err, size_t errlen)
{
    const char *v = getenv("MDT_WORKERS");
    cfg->worker = 0;
    cfg->ready_fd = -1;
    if (v && strcmp(v, "auto") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n < 1 ? 1 : n > MDT_WORKERS_MAX ? MDT_WORKERS_MAX : (int)n;
        return 0;
    }
    if (env_int("MDT_WORKERS", 1, 1, MDT_WORKERS_MAX, err, errlen, &cfg->workers) == 0)
        return 0;
    snprintf(err, errlen, "MDT_WORKERS must be an integer from 1 to %d, or auto", MDT_WORKERS_MAX);
    return -1;
}

/* Splits host:port ([v6]:port accepted) into cfg. */
static int parse_listen(mdt_config_t *cfg, const char *v, char *err, size_t errlen)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v) {
        snprintf(err, errlen, "MDT_LISTEN must be host:port");
        return -1;
    }
    const char *h = v;
    size_t hl = (size_t)(colon - v);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || hl == 0 || hl >= sizeof(cfg->listen_host)) {
        snprintf(err, errlen, "MDT_LISTEN must be host:port");
        return -1;
    }
    memcpy(cfg->listen_host, h, hl);
    cfg->listen_host[hl] = 0;
    cfg->listen_port = (int)port;
    return 0;
}

static int is_wildcard(const char *host)
{
    return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "*") == 0;
}

/* Derives origin / ws_origin; origin defaults to the listen address. */
static int finish_origin(mdt_config_t *cfg, const char *origin, char *err, size_t errlen)
{
    int tls = cfg->tls_cert != NULL;
    if (!origin) {
        if (is_wildcard(cfg->listen_host)) {
            snprintf(err, errlen, "MDT_ORIGIN is required when listening on a wildcard address");
            return -1;
        }
        int v6 = strchr(cfg->listen_host, ':') != NULL;
        snprintf(cfg->origin, sizeof(cfg->origin), "%s://%s%s%s:%d", tls ? "https" : "http",
                 v6 ? "[" : "", cfg->listen_host, v6 ? "]" : "", cfg->listen_port);
    } else {
        if (strncmp(origin, "http://", 7) != 0 && strncmp(origin, "https://", 8) != 0) {
            snprintf(err, errlen, "MDT_ORIGIN must start with http:// or https://");
            return -1;
        }
        snprintf(cfg->origin, sizeof(cfg->origin), "%s", origin);
        size_t n = strlen(cfg->origin);
        while (n && cfg->origin[n - 1] == '/')
            cfg->origin[--n] = 0;
    }
    cfg->origin_https = strncmp(cfg->origin, "https://", 8) == 0;
    const char *rest = strstr(cfg->origin, "://") + 3;
    snprintf(cfg->ws_origin, sizeof(cfg->ws_origin), "%s://%s", cfg->origin_https ? "wss" : "ws",
             rest);
    return 0;
}

static int load_env(mdt_config_t *cfg, char *err, size_t errlen)
{
    cfg->database_url = env_or("MDT_DATABASE_URL", NULL);
    cfg->web_root = env_or("MDT_WEB_ROOT", MDT_SOURCE_DIR "/web");
    cfg->tls_cert = env_or("MDT_TLS_CERT", NULL);
    cfg->tls_key = env_or("MDT_TLS_KEY", NULL);
    cfg->trusted_proxies = env_or("MDT_TRUSTED_PROXIES", "");
    cfg->metrics_token = env_or("MDT_METRICS_TOKEN", NULL);
    if (cfg->metrics_token && !*cfg->metrics_token)
        cfg->metrics_token = NULL;
    cfg->time_zone = env_or("MDT_TIME_ZONE", "America/New_York");
    cfg->mfa_required_kinds = env_or("MDT_MFA_REQUIRED_KINDS", "law_enforcement");
    cfg->log_level = env_or("MDT_LOG_LEVEL", "info");
    cfg->key_file = env_or("MDT_KEY_FILE", NULL);
    const char *t = getenv("MDT_TEST_HOOKS");
    cfg->test_hooks = t && strcmp(t, "1") == 0;
    t = env_or("MDT_EVENT_LOOP", "uv");
    if (strcmp(t, "uv") != 0 && strcmp(t, "poll") != 0) {
        snprintf(err, errlen, "MDT_EVENT_LOOP must be uv or poll");
        return -1;
    }
    cfg->event_poll = strcmp(t, "poll") == 0;
    cfg->smtp_url = env_or("MDT_SMTP_URL", NULL);
    if (cfg->smtp_url && !*cfg->smtp_url)
        cfg->smtp_url = NULL;
    cfg->smtp_from = env_or("MDT_SMTP_FROM", NULL);
    cfg->smtp_user = env_or("MDT_SMTP_USER", NULL);
    cfg->smtp_password = env_or("MDT_SMTP_PASSWORD", NULL);
    cfg->smtp_ca_file = env_or("MDT_SMTP_CA_FILE", NULL);
    t = getenv("MDT_SMTP_INSECURE_LOOPBACK");
    cfg->smtp_insecure_loopback = t && strcmp(t, "1") == 0;
    int body = 0, attachment = 0;
    if (mdt_config_retention(getenv("MDT_RETENTION"), &cfg->retention, err, errlen) != 0)
        return -1;
    if (env_duration("MDT_SESSION_IDLE", 900, err, errlen, &cfg->session_idle_s) ||
        env_duration("MDT_SESSION_MAX", 12 * 3600, err, errlen, &cfg->session_max_s) ||
        env_duration("MDT_LOCKOUT_PERIOD", 900, err, errlen, &cfg->lockout_s) ||
        env_int("MDT_LOCKOUT_FAILURES", 5, 1, 100, err, errlen, &cfg->lockout_failures) ||
        env_int("MDT_LOGIN_RATE", 30, 1, 100000, err, errlen, &cfg->login_rate_per_min) ||
        env_int("MDT_DB_POOL", 4, 1, 64, err, errlen, &cfg->db_pool) ||
        env_int("MDT_DB_LIVE_MAX", 0, 0, 64, err, errlen, &cfg->db_live_max) ||
        env_int("MDT_DB_REPLAY_MAX", 0, 0, 64, err, errlen, &cfg->db_replay_max) ||
        env_int("MDT_DB_HEAVY_MAX", 0, 0, 64, err, errlen, &cfg->db_heavy_max) ||
        env_int("MDT_DB_LIVE_CONNS", 2, 0, 16, err, errlen, &cfg->db_live_conns) ||
        env_int("MDT_WS_MAX_BYTES", 16 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024, err, errlen,
                &cfg->ws_max_bytes) ||
        env_int("MDT_WS_SUBSCRIBE_RATE", 600, 1, 1000000, err, errlen, &cfg->ws_sub_rate) ||
        env_int("MDT_DB_TIMEOUT_MS", 30000, 100, 3600000, err, errlen, &cfg->db_timeout_ms) ||
        env_int("MDT_HASH_THREADS", 2, 1, 32, err, errlen, &cfg->hash_threads) ||
        env_int("MDT_MAX_BODY", 256 * 1024, 1024, 64 * 1024 * 1024, err, errlen, &body) ||
        env_int("MDT_ATTACHMENT_MAX", 25 * 1024 * 1024, 1024, 512 * 1024 * 1024, err, errlen,
                &attachment) ||
        env_int("MDT_DIGEST_HOUR", 6, 0, 23, err, errlen, &cfg->digest_hour) ||
        env_int("MDT_DIGEST_TICK", 60, 0, 3600, err, errlen, &cfg->digest_tick_s) ||
        env_int("MDT_CALENDAR_RATE", 60, 1, 100000, err, errlen, &cfg->calendar_rate) ||
        env_int("MDT_BOARD_CACHE_MB", 32, 0, 4096, err, errlen, &cfg->board_cache_mb) ||
        env_workers(cfg, err, errlen))
        return -1;
    cfg->max_body = (size_t)body;
    cfg->attachment_max = (size_t)attachment;
    return parse_listen(cfg, env_or("MDT_LISTEN", "127.0.0.1:8080"), err, errlen);
}

void mdt_config_usage(const char *prog)
{
    printf("usage: %s serve [flags]\n\n"
           "Flags override the environment variables named beside them:\n"
           "  --database-url URL   MDT_DATABASE_URL   libpq conninfo or URI (required)\n"
           "  --listen HOST:PORT   MDT_LISTEN         default 127.0.0.1:8080\n"
           "  --origin URL         MDT_ORIGIN         public scheme://host[:port]\n"
           "  --web-root DIR       MDT_WEB_ROOT       static files (default the source web/)\n"
           "  --tls-cert FILE      MDT_TLS_CERT       PEM certificate (enables HTTPS)\n"
           "  --tls-key FILE       MDT_TLS_KEY        PEM private key\n"
           "  --log-level LEVEL    MDT_LOG_LEVEL      error, warn, info (default), debug\n"
           "  --key-file FILE      MDT_KEY_FILE       installation key file (required; see\n"
           "                                          `mdtboard keys init`)\n"
           "Other settings (environment only): MDT_TRUSTED_PROXIES, MDT_TIME_ZONE,\n"
           "MDT_MFA_REQUIRED_KINDS, MDT_SESSION_IDLE, MDT_SESSION_MAX, MDT_LOCKOUT_FAILURES,\n"
           "MDT_RETENTION, MDT_LOCKOUT_PERIOD, MDT_LOGIN_RATE, MDT_DB_POOL, MDT_DB_LIVE_MAX,\n"
           "MDT_DB_REPLAY_MAX, MDT_DB_HEAVY_MAX, MDT_DB_LIVE_CONNS, MDT_EVENT_LOOP, "
           "MDT_DB_TIMEOUT_MS,\n"
           "MDT_WS_MAX_BYTES, MDT_WS_SUBSCRIBE_RATE,\n"
           "MDT_HASH_THREADS, MDT_MAX_BODY, MDT_SMTP_URL, MDT_SMTP_FROM, MDT_SMTP_USER, "
           "MDT_SMTP_CA_FILE,\n"
           "MDT_SMTP_PASSWORD, MDT_SMTP_INSECURE_LOOPBACK, MDT_DIGEST_HOUR, MDT_DIGEST_TICK,\n"
           "MDT_CALENDAR_RATE, MDT_ATTACHMENT_MAX, MDT_METRICS_TOKEN, MDT_BOARD_CACHE_MB,\n"
           "MDT_WORKERS. See README.md.\n",
           prog);
}

int mdt_config_load(mdt_config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    if (load_env(cfg, err, errlen) != 0)
        return -1;
    const char *origin = env_or("MDT_ORIGIN", NULL);
    static const struct option opts[] = {{"database-url", required_argument, 0, 'd'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"origin", required_argument, 0, 'o'},
                                         {"web-root", required_argument, 0, 'w'},
                                         {"tls-cert", required_argument, 0, 'c'},
                                         {"tls-key", required_argument, 0, 'k'},
                                         {"log-level", required_argument, 0, 'v'},
                                         {"key-file", required_argument, 0, 'K'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            cfg->database_url = optarg;
            break;
        case 'l':
            if (parse_listen(cfg, optarg, err, errlen) != 0)
                return -1;
            break;
        case 'o':
            origin = optarg;
            break;
        case 'w':
            cfg->web_root = optarg;
            break;
        case 'c':
            cfg->tls_cert = optarg;
            break;
        case 'k':
            cfg->tls_key = optarg;
            break;
        case 'v':
            cfg->log_level = optarg;
            break;
        case 'K':
            cfg->key_file = optarg;
            break;
        case 'h':
            return 1;
        default:
            snprintf(err, errlen, "unknown flag (see --help)");
            return -1;
        }
    }
    if (!cfg->database_url) {
        snprintf(err, errlen, "MDT_DATABASE_URL is not set");
        return -1;
    }
    if (!cfg->key_file || !*cfg->key_file) {
        snprintf(err, errlen, "MDT_KEY_FILE is not set (create one with `mdtboard keys init`)");
        return -1;
    }
    mdt_keys_t keys; /* read here only to refuse a bad file early; server.c derives */
    if (mdt_keys_load(cfg->key_file, &keys, err, errlen) != 0)
        return -1;
    memcpy(cfg->key_id, keys.key_id, sizeof(cfg->key_id));
    mdt_keys_wipe(&keys);
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        snprintf(err, errlen, "MDT_TLS_CERT and MDT_TLS_KEY go together");
        return -1;
    }
    if (cfg->metrics_token && (strlen(cfg->metrics_token) < MDT_METRICS_TOKEN_MIN ||
                               strlen(cfg->metrics_token) > MDT_METRICS_TOKEN_MAX)) {
        snprintf(err, errlen, "MDT_METRICS_TOKEN must be %d to %d characters",
                 MDT_METRICS_TOKEN_MIN, MDT_METRICS_TOKEN_MAX);
        return -1;
    }
    if (mdt_smtp_check(cfg, err, errlen) != 0)
        return -1;
    if (cfg->workers > 1 && cfg->listen_port == 0) {
        snprintf(err, errlen,
                 "MDT_WORKERS above 1 needs a fixed port in MDT_LISTEN (the workers "
                 "share it)");
        return -1;
    }
    return finish_origin(cfg, origin, err, errlen);
}
