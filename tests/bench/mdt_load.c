/* mdt_load.c - a C load generator for MDT Board's live fan-out (issue 17).
 * Not part of the server and not a test: scripts/bench runs it through
 * tests/bench/fanout_c.mjs, which makes the database, the users, the server
 * and the case, then starts this program against them.
 *
 *   mdt_load --port P --case ID [--case ID ...] --since SEQ --password PW
 *            --user AGENCY:USERNAME [--user ...] --restricted-agency AGENCY
 *            [--sockets 100] [--entries 200] [--rate 20] [--restricted-every 10]
 *            [--concurrency 0] [--server-pid PID ...] [--drain-ms 5000] [--warm 0]
 *
 * What it does, on one thread: logs every --user in over HTTP (POST
 * /api/v1/login: the mdt_session cookie and the CSRF token); opens --sockets
 * WebSockets spread round robin over those sessions and subscribes each to
 * the case with --since; then posts --entries entries at a fixed open-loop
 * rate (--rate per second: each POST leaves at its scheduled instant whether
 * or not earlier ones were answered, each on its own connection) by users
 * of every agency in turn; every --restricted-every-th is an `agency` entry
 * of --restricted-agency posted by one of its users. Every entry's text
 * carries a tag "benchtag<n>x", which the frames carry too, so a delivery is
 * matched to its POST without waiting for the 201.
 * Several --case (multi-case, the statewide scenario): socket i subscribes
 * to case i mod cases with user i mod users, and entry n goes to case n mod
 * cases, so the sockets and the posts spread evenly; --since is one ledger
 * seq for all of them (the seq is global). A tag on a socket of another
 * case counts as leaked, like a restricted entry on another agency's.
 * --concurrency C (closed loop, the creates/s scenario): instead of a rate,
 * C POSTs are kept in flight, the next one leaving as soon as one is
 * answered; creates_per_s is the answered 201s over the posting phase.
 * A `resync` before a socket's `subscribed` (the server's replay queue
 * pushing back on thousands of subscribes at once) is answered by
 * subscribing again, and counted (resubscribes).
 *
 * Measured: per delivery, receive time minus the instant just before the
 * POST's first byte was written (CLOCK_MONOTONIC); per entry, the same for
 * its last delivery; the POSTs' own latency (REST); lost (a socket that may
 * see an entry did not get it within --drain-ms of the last POST),
 * duplicated (a socket got a tag twice) and leaked (a restricted entry's tag
 * reached a socket of another agency); this process's CPU (getrusage) and
 * the server's (/proc/PID/stat utime+stime) over the posting phase, per
 * delivery, and the event loop thread's share of the server's CPU
 * (/proc/PID/task/PID/stat). Prints one JSON object on stdout; exits 1 on any loss,
 * duplicate, leak or protocol error.
 *
 * Several --server-pid (MDT_WORKERS > 1: the supervisor and its workers):
 * the server's CPU is their sum, and the loop share the sum of their main
 * threads' over it. --warm K: after each login, K GET /api/v1/me on fresh
 * connections, so that every worker sharing the port has the session in
 * its cache before the sockets' upgrades (docs/architecture.md,
 * "Sessions"); with W workers a worker is missed with probability
 * (1 - 1/W)^K.
 *
 * Why plain sockets and epoll rather than libwebsockets' client API: the
 * client must cost far less per delivery than the server, and a minimal
 * RFC 6455 reader (unmasked server frames parsed in place, masked client
 * frames, no extensions) over one epoll set is a few hundred nanoseconds of
 * CPU per frame; it needs no TLS (loopback) and nothing but libc. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_USERS  256
#define MAX_CASES  4096
#define MAX_EVENTS 256
#define RBUF       65536

typedef struct {
    char agency[32];
    char username[96];
    char cookie[128]; /* "mdt_session=..." */
    char csrf[80];
} user_t;

typedef struct {
    int fd;
    int user;
    int kase;        /* index into load_t.cases */
    bool open;       /* 101 received */
    bool subscribed; /* "subscribed" frame received */
    char *buf;       /* unparsed bytes */
    size_t len;
} sock_t;

typedef struct {
    int fd;
    int n;     /* entry number */
    double t0; /* ms, just before the first byte */
    char resp[512];
    size_t len;
} post_t;

#define MAX_SERVER_PIDS 65

typedef struct {
    int port;
    int64_t cases[MAX_CASES], since;
    int n_cases, concurrency;
    const char *password, *restricted;
    user_t users[MAX_USERS];
    int n_users;
    int n_sockets, n_entries, restricted_every;
    double rate;
    double post_start, post_end; /* first POST sent, last answer received */
    long server_pids[MAX_SERVER_PIDS];
    int n_server_pids;
    int drain_ms;
    int warm;
    /* state */
    int ep;
    sock_t *socks;
    uint8_t *seen; /* n_sockets x n_entries */
    double *t0, *last;
    int *expected, *got;
    double *lat; /* every delivery */
    size_t n_lat, cap_lat;
    double *rest;
    int n_rest, rest_fail;
    long lost, dup, leaked, errors, subscribed;
    long
        resubscribes; /* subscribes refused (resync) before the first `subscribed` and sent again */
} load_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copies the value after `key` up to a byte in `stop` into out. */
static int copy_after(const char *s, const char *key, const char *stop, char *out, size_t cap)
{
    const char *p = strstr(s, key);
    if (!p)
        return -1;
    p += strlen(key);
    size_t n = strcspn(p, stop);
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

/* Blocking POST /api/v1/login for u; fills its cookie and CSRF token. */
static int login(load_t *L, user_t *u)
{
    char body[256], req[1024], resp[8192];
    int bl = snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", u->username,
                      L->password);
    int rl = snprintf(req, sizeof(req),
                      "POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
                      "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                      L->port, bl, body);
    int fd = tcp_connect(L->port);
    if (fd < 0 || write_all(fd, req, (size_t)rl) != 0)
        goto fail;
    size_t len = 0;
    ssize_t r;
    while (len + 1 < sizeof(resp) && (r = read(fd, resp + len, sizeof(resp) - 1 - len)) > 0)
        len += (size_t)r;
    resp[len] = 0;
    close(fd);
    char tok[100];
    if (strncmp(resp, "HTTP/1.1 200", 12) != 0 ||
        copy_after(resp, "mdt_session=", ";\r\n", tok, sizeof(tok)) != 0 ||
        copy_after(resp, "\"csrf_token\":\"", "\"", u->csrf, sizeof(u->csrf)) != 0) {
        fprintf(stderr, "mdt_load: login %s failed: %.80s\n", u->username, resp);
        return -1;
    }
    snprintf(u->cookie, sizeof(u->cookie), "mdt_session=%s", tok);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    fprintf(stderr, "mdt_load: login %s: cannot connect\n", u->username);
    return -1;
}

/* --warm: L->warm blocking GET /api/v1/me for u, each on a new connection
 * (so each may reach another worker). 0 when every one answered 200. */
static int warm(load_t *L, const user_t *u)
{
    char req[1024], resp[512];
    int rl = snprintf(req, sizeof(req),
                      "GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\n"
                      "Connection: close\r\n\r\n",
                      L->port, u->cookie);
    for (int k = 0; k < L->warm; k++) {
        int fd = tcp_connect(L->port);
        ssize_t r = -1;
        if (fd >= 0 && write_all(fd, req, (size_t)rl) == 0)
            r = read(fd, resp, sizeof(resp) - 1);
        if (fd >= 0)
            close(fd);
        if (r < 12 || strncmp(resp, "HTTP/1.1 200", 12) != 0) {
            fprintf(stderr, "mdt_load: GET /me for %s failed\n", u->username);
            return -1;
        }
    }
    return 0;
}

/* Sends one masked client frame (text or pong) of n <= 65535 bytes. */
static int ws_send(int fd, int opcode, const char *p, size_t n)
{
    unsigned char f[8 + 65536];
    size_t h = 0;
    f[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        f[h++] = (unsigned char)(0x80 | n);
    } else {
        f[h++] = 0x80 | 126;
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)(n & 255);
    }
    unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        f[h + i] = (unsigned char)p[i] ^ mask[i & 3];
    return write_all(fd, (const char *)f, h + n);
}

/* The integer after key in [p, p+n), or -1. */
static long int_after(const char *p, size_t n, const char *key)
{
    const char *k = memmem(p, n, key, strlen(key));
    if (!k)
        return -1;
    const char *d = k + strlen(key), *end = p + n;
    long v = -1;
    for (; d < end && *d >= '0' && *d <= '9'; d++)
        v = (v < 0 ? 0 : v * 10) + (*d - '0');
    return v;
}

static bool is_restricted(const load_t *L, long n)
{
    return n >= 0 && L->restricted_every > 0 && n % L->restricted_every == L->restricted_every - 1;
}

/* Whether socket si may see entry n: its case, and its agency when the
 * entry is restricted. */
static bool may_see(const load_t *L, int si, long n)
{
    const sock_t *s = &L->socks[si];
    if (s->kase != (int)(n % L->n_cases))
        return false;
    return !is_restricted(L, n) || strcmp(L->users[s->user].agency, L->restricted) == 0;
}

static void record_delivery(load_t *L, int si, long n, double t)
{
    if (n < 0 || n >= L->n_entries || L->t0[n] == 0) {
        L->errors++;
        return;
    }
    if (!may_see(L, si, n)) {
        L->leaked++;
        return;
    }
    uint8_t *s = &L->seen[(size_t)si * (size_t)L->n_entries + (size_t)n];
    if (*s) {
        L->dup++;
        return;
    }
    *s = 1;
    L->got[n]++;
    if (t > L->last[n])
        L->last[n] = t;
    if (L->n_lat == L->cap_lat) {
        L->cap_lat = L->cap_lat ? L->cap_lat * 2 : 65536;
        L->lat = realloc(L->lat, L->cap_lat * sizeof(double));
        if (!L->lat) {
            perror("mdt_load");
            exit(2);
        }
    }
    L->lat[L->n_lat++] = t - L->t0[n];
}

static int send_subscribe(load_t *L, int si);

/* One text frame from socket si. */
static void on_text(load_t *L, int si, const char *p, size_t n, double t)
{
    sock_t *s = &L->socks[si];
    if (n > 14 && memcmp(p, "{\"type\":\"event\"", 15) == 0) {
        record_delivery(L, si, int_after(p, n, "benchtag"), t);
    } else if (n > 18 && memcmp(p, "{\"type\":\"subscribed\"", 20) == 0) {
        if (!s->subscribed)
            L->subscribed++;
        s->subscribed = true;
    } else if (!s->subscribed && n > 16 && memcmp(p, "{\"type\":\"resync\"", 16) == 0) {
        /* thousands of subscribes at once: the server's replay queue
         * pushed back before this one started; ask again */
        L->resubscribes++;
        if (send_subscribe(L, si) != 0)
            L->errors++;
    } else if (!(n > 17 && memcmp(p, "{\"type\":\"presence\"", 18) == 0)) {
        fprintf(stderr, "mdt_load: socket %d: %.*s\n", si, (int)(n > 200 ? 200 : n), p);
        L->errors++;
    }
}

/* Parses every whole frame in s->buf; keeps the rest. */
static void parse_frames(load_t *L, int si, double t)
{
    sock_t *s = &L->socks[si];
    size_t off = 0;
    const unsigned char *b = (const unsigned char *)s->buf;
    while (s->len - off >= 2) {
        int op = b[off] & 0x0f;
        uint64_t n = b[off + 1] & 0x7f;
        size_t h = 2;
        if (n == 126) {
            if (s->len - off < 4)
                break;
            n = (uint64_t)b[off + 2] << 8 | b[off + 3];
            h = 4;
        } else if (n == 127) {
            if (s->len - off < 10)
                break;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | b[off + 2 + i];
            h = 10;
        }
        if (s->len - off < h + n)
            break;
        const char *payload = s->buf + off + h;
        if (op == 1)
            on_text(L, si, payload, (size_t)n, t);
        else if (op == 9)
            ws_send(s->fd, 10, payload, (size_t)n);
        else if (op != 10)
            L->errors++;
        off += h + (size_t)n;
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
}

/* Sends socket si's subscribe (since --since). */
static int send_subscribe(load_t *L, int si)
{
    char msg[128];
    int ml = snprintf(msg, sizeof(msg), "{\"type\":\"subscribe\",\"case_id\":%lld,\"since\":%lld}",
                      (long long)L->cases[L->socks[si].kase], (long long)L->since);
    return ws_send(L->socks[si].fd, 1, msg, (size_t)ml);
}

/* After the 101: subscribe. Before it: wait for the whole head. */
static int on_upgrade(load_t *L, int si)
{
    sock_t *s = &L->socks[si];
    char *end = memmem(s->buf, s->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    if (strncmp(s->buf, "HTTP/1.1 101", 12) != 0) {
        fprintf(stderr, "mdt_load: socket %d refused: %.60s\n", si, s->buf);
        return -1;
    }
    size_t head = (size_t)(end - s->buf) + 4;
    memmove(s->buf, s->buf + head, s->len - head);
    s->len -= head;
    s->open = true;
    return send_subscribe(L, si);
}

static int on_socket(load_t *L, int si, double t)
{
    sock_t *s = &L->socks[si];
    for (;;) {
        if (s->len == RBUF * 4) /* a frame larger than the buffer: not ours */
            return -1;
        ssize_t r = read(s->fd, s->buf + s->len, (size_t)RBUF * 4 - s->len);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (r <= 0)
            return -1;
        s->len += (size_t)r;
        if (!s->open && on_upgrade(L, si) != 0)
            return -1;
        if (s->open)
            parse_frames(L, si, t);
    }
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Opens socket si and writes its upgrade request. */
static int open_socket(load_t *L, int si)
{
    sock_t *s = &L->socks[si];
    s->user = si % L->n_users;
    s->kase = si % L->n_cases;
    s->buf = malloc((size_t)RBUF * 4);
    s->fd = tcp_connect(L->port);
    if (s->fd < 0 || !s->buf)
        return -1;
    char req[768];
    int n = snprintf(req, sizeof(req),
                     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mdtboard.v1\r\n"
                     "Origin: http://127.0.0.1:%d\r\nCookie: %s\r\n\r\n",
                     L->port, L->port, L->users[s->user].cookie);
    if (write_all(s->fd, req, (size_t)n) != 0)
        return -1;
    set_nonblock(s->fd);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)si};
    return epoll_ctl(L->ep, EPOLL_CTL_ADD, s->fd, &ev);
}

/* A user of agency (restricted: only that one; else any but every agency in
 * turn) for entry n. */
static int poster_for(load_t *L, int n, bool restricted)
{
    for (int k = 0; k < L->n_users; k++) {
        int u = (n + k) % L->n_users;
        if (!restricted || strcmp(L->users[u].agency, L->restricted) == 0)
            return u;
    }
    return 0;
}

/* Starts POST n; its connection answers into posts[n]. */
static int start_post(load_t *L, post_t *pt, int n)
{
    bool restricted = is_restricted(L, n);
    user_t *u = &L->users[poster_for(L, n, restricted)];
    char body[512], req[1536];
    int bl = snprintf(body, sizeof(body),
                      "{\"kind\":\"note\",\"visibility\":\"%s\",\"body_md\":\"%s benchtag%dx: "
                      "spoke with the family; the next review is on Tuesday. **Bold** and "
                      "_emphasis_ for the renderer.\"}",
                      restricted ? "agency" : "mdt", restricted ? "RESTRICTED" : "Update", n);
    int rl = snprintf(req, sizeof(req),
                      "POST /api/v1/cases/%lld/entries HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      "Content-Type: application/json\r\nContent-Length: %d\r\nCookie: %s\r\n"
                      "X-CSRF-Token: %s\r\nOrigin: http://127.0.0.1:%d\r\nConnection: "
                      "close\r\n\r\n%s",
                      (long long)L->cases[n % L->n_cases], L->port, bl, u->cookie, u->csrf, L->port,
                      body);
    pt->n = n;
    pt->len = 0;
    pt->fd = tcp_connect(L->port);
    if (pt->fd < 0)
        return -1;
    L->t0[n] = pt->t0 = now_ms();
    if (write_all(pt->fd, req, (size_t)rl) != 0)
        return -1;
    set_nonblock(pt->fd);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(1u << 31) | (uint64_t)n};
    return epoll_ctl(L->ep, EPOLL_CTL_ADD, pt->fd, &ev);
}

static void on_post(load_t *L, post_t *pt, double t)
{
    for (;;) {
        char tmp[4096];
        ssize_t r = read(pt->fd, tmp, sizeof(tmp));
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (r > 0) {
            size_t k = (size_t)r < sizeof(pt->resp) - 1 - pt->len ? (size_t)r
                                                                  : sizeof(pt->resp) - 1 - pt->len;
            memcpy(pt->resp + pt->len, tmp, k);
            pt->len += k;
            pt->resp[pt->len] = 0;
            continue;
        }
        close(pt->fd);
        pt->fd = -1;
        L->post_end = t;
        if (strncmp(pt->resp, "HTTP/1.1 201", 12) == 0) {
            L->rest[L->n_rest++] = t - pt->t0;
        } else {
            L->rest_fail++;
            fprintf(stderr, "mdt_load: post %d: %.80s\n", pt->n, pt->resp);
        }
        return;
    }
}

/* One epoll round: sockets and POST answers; timeout in ms. */
static int pump(load_t *L, post_t *posts, int timeout)
{
    struct epoll_event ev[MAX_EVENTS];
    int k = epoll_wait(L->ep, ev, MAX_EVENTS, timeout);
    double t = now_ms();
    for (int i = 0; i < k; i++) {
        uint64_t d = ev[i].data.u64;
        if (d & (1u << 31)) {
            on_post(L, &posts[d & 0x7fffffff], t);
        } else if (on_socket(L, (int)d, t) != 0) {
            fprintf(stderr, "mdt_load: socket %d closed\n", (int)d);
            epoll_ctl(L->ep, EPOLL_CTL_DEL, L->socks[d].fd, NULL);
            L->errors++;
        }
    }
    return k;
}

static double cpu_self_ms(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

/* utime + stime in ms from a /proc stat file, or -1. */
static double cpu_stat_ms(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* The server's CPU in ms, summed over its processes: out[0] the whole
 * processes, out[1] their main (event loop) threads; -1 when unknown. */
static void cpu_server_ms(const load_t *L, double out[2])
{
    char path[96];
    out[0] = out[1] = L->n_server_pids ? 0 : -1;
    for (int i = 0; i < L->n_server_pids && out[0] >= 0 && out[1] >= 0; i++) {
        long pid = L->server_pids[i];
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        double all = cpu_stat_ms(path);
        snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat", pid, pid);
        double loop = cpu_stat_ms(path);
        out[0] = all < 0 ? -1 : out[0] + all;
        out[1] = loop < 0 ? -1 : out[1] + loop;
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t i = (size_t)(p / 100.0 * (double)n + 0.999999);
    return v[i == 0 ? 0 : (i > n ? n - 1 : i - 1)];
}

static int usage(void)
{
    fprintf(stderr, "usage: mdt_load --port P --case ID --since SEQ --password PW --user "
                    "AGENCY:USERNAME... --restricted-agency A [--case ID...] [--sockets N] "
                    "[--entries N] [--rate R] [--concurrency C] [--restricted-every K] "
                    "[--server-pid PID ...] [--drain-ms MS] [--warm K]\n");
    return 2;
}

static int parse_args(load_t *L, int argc, char **argv)
{
    *L = (load_t){.n_sockets = 100,
                  .n_entries = 200,
                  .rate = 20,
                  .restricted_every = 10,
                  .drain_ms = 5000,
                  .restricted = "police",
                  .password = ""};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port"))
            L->port = atoi(v);
        else if (!strcmp(k, "--case") && L->n_cases < MAX_CASES)
            L->cases[L->n_cases++] = atoll(v);
        else if (!strcmp(k, "--concurrency"))
            L->concurrency = atoi(v);
        else if (!strcmp(k, "--since"))
            L->since = atoll(v);
        else if (!strcmp(k, "--password"))
            L->password = v;
        else if (!strcmp(k, "--restricted-agency"))
            L->restricted = v;
        else if (!strcmp(k, "--sockets"))
            L->n_sockets = atoi(v);
        else if (!strcmp(k, "--entries"))
            L->n_entries = atoi(v);
        else if (!strcmp(k, "--rate"))
            L->rate = atof(v);
        else if (!strcmp(k, "--restricted-every"))
            L->restricted_every = atoi(v);
        else if (!strcmp(k, "--server-pid") && L->n_server_pids < MAX_SERVER_PIDS)
            L->server_pids[L->n_server_pids++] = atol(v);
        else if (!strcmp(k, "--warm"))
            L->warm = atoi(v);
        else if (!strcmp(k, "--drain-ms"))
            L->drain_ms = atoi(v);
        else if (!strcmp(k, "--user") && L->n_users < MAX_USERS) {
            user_t *u = &L->users[L->n_users++];
            const char *colon = strchr(v, ':');
            if (!colon || colon - v >= (long)sizeof(u->agency))
                return -1;
            snprintf(u->agency, sizeof(u->agency), "%.*s", (int)(colon - v), v);
            snprintf(u->username, sizeof(u->username), "%s", colon + 1);
        } else
            return -1;
    }
    return L->port > 0 && L->n_cases > 0 && L->cases[0] > 0 && L->n_users > 0 && L->n_sockets > 0 &&
                   L->n_entries > 0 && L->rate > 0
               ? 0
               : -1;
}

/* Opens and subscribes every socket; returns seconds taken or -1. */
static double connect_all(load_t *L, post_t *posts)
{
    double t0 = now_ms();
    for (int i = 0; i < L->n_sockets; i++) {
        if (open_socket(L, i) != 0) {
            fprintf(stderr, "mdt_load: socket %d: cannot open (%s)\n", i, strerror(errno));
            return -1;
        }
        if (i % 64 == 63)
            pump(L, posts, 0);
    }
    while (L->subscribed < L->n_sockets && L->errors == 0 && now_ms() - t0 < 120000)
        pump(L, posts, 100);
    return L->subscribed == L->n_sockets ? (now_ms() - t0) / 1e3 : -1;
}

/* Starts POST n; a failure to send is counted as a failed POST. */
static void post_one(load_t *L, post_t *posts, int n)
{
    if (start_post(L, &posts[n], n) != 0) {
        L->rest_fail++;
        fprintf(stderr, "mdt_load: post %d: cannot send\n", n);
    }
}

/* Posts every entry: on schedule (open loop at --rate) or, with
 * --concurrency C, as soon as fewer than C are unanswered (closed loop);
 * then drains until every expected delivery arrived or drain_ms passed. */
static void post_all(load_t *L, post_t *posts)
{
    double start = L->post_start = now_ms(), step = 1000.0 / L->rate;
    for (int n = 0; n < L->n_entries;) {
        double due = start + step * n, t = now_ms();
        if (L->concurrency > 0) {
            if (n - (L->n_rest + L->rest_fail) < L->concurrency)
                post_one(L, posts, n++);
            else
                pump(L, posts, 50);
        } else if (t >= due) {
            post_one(L, posts, n++);
        } else {
            pump(L, posts, (int)(due - t));
        }
    }
    double end = now_ms() + L->drain_ms;
    for (;;) {
        bool done = L->n_rest + L->rest_fail == L->n_entries;
        for (int n = 0; done && n < L->n_entries; n++)
            done = L->got[n] >= L->expected[n];
        if (done || now_ms() >= end)
            break;
        pump(L, posts, 50);
    }
}

static int setup(load_t *L, post_t **posts)
{
    size_t ns = (size_t)L->n_sockets, ne = (size_t)L->n_entries;
    L->ep = epoll_create1(0);
    L->socks = calloc(ns, sizeof(sock_t));
    L->seen = calloc(ns * ne, 1);
    L->t0 = calloc(ne, sizeof(double));
    L->last = calloc(ne, sizeof(double));
    L->expected = calloc(ne, sizeof(int));
    L->got = calloc(ne, sizeof(int));
    L->rest = calloc(ne, sizeof(double));
    *posts = calloc(ne, sizeof(post_t));
    if (L->ep < 0 || !L->socks || !L->seen || !L->t0 || !L->last || !L->expected || !L->got ||
        !L->rest || !*posts)
        return -1;
    for (int i = 0; i < L->n_users; i++) {
        if (login(L, &L->users[i]) != 0 || warm(L, &L->users[i]) != 0)
            return -1;
    }
    return 0;
}

/* Counts what each socket may see and did not get. */
static void count_lost(load_t *L)
{
    for (int n = 0; n < L->n_entries; n++) {
        for (int si = 0; si < L->n_sockets; si++) {
            if (may_see(L, si, n) && !L->seen[(size_t)si * (size_t)L->n_entries + (size_t)n])
                L->lost++;
        }
    }
}

static void report(load_t *L, double connect_s, double cli_ms, const double srv[2])
{
    /* n_entries was checked positive when the arguments were read; the
     * unsigned copy also tells the compiler so. */
    size_t entries = L->n_entries > 0 ? (size_t)(unsigned)L->n_entries : 1;
    double *lastlat = calloc(entries, sizeof(double));
    size_t nl = 0;
    if (!lastlat)
        return;
    for (int n = 0; n < L->n_entries; n++) {
        if (L->got[n] > 0)
            lastlat[nl++] = L->last[n] - L->t0[n];
    }
    qsort(L->lat, L->n_lat, sizeof(double), cmp_d);
    qsort(lastlat, nl, sizeof(double), cmp_d);
    qsort(L->rest, (size_t)L->n_rest, sizeof(double), cmp_d);
    double deliveries = L->n_lat ? (double)L->n_lat : 1;
    double post_s = L->post_end > L->post_start ? (L->post_end - L->post_start) / 1e3 : -1;
    printf("{\"sockets\":%d,\"cases\":%d,\"concurrency\":%d,\"creates_per_s\":%.1f,"
           "\"entries\":%d,\"rate\":%.1f,\"deliveries\":%zu,"
           "\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f,\"last_p50\":%.2f,\"last_p99\":%.2f,"
           "\"rest_p50\":%.2f,\"rest_p99\":%.2f,\"rest_failed\":%d,"
           "\"lost\":%ld,\"duplicated\":%ld,\"leaked\":%ld,\"errors\":%ld,\"resubscribes\":%ld,"
           "\"connect_s\":%.3f,\"client_cpu_us_per_delivery\":%.2f,"
           "\"server_cpu_us_per_delivery\":%.2f,\"server_cpu_ms_per_entry\":%.2f,"
           "\"server_loop_share\":%.2f}\n",
           L->n_sockets, L->n_cases, L->concurrency, post_s > 0 ? L->n_rest / post_s : -1,
           L->n_entries, L->rate, L->n_lat, pct(L->lat, L->n_lat, 50), pct(L->lat, L->n_lat, 99),
           L->n_lat ? L->lat[L->n_lat - 1] : -1, pct(lastlat, nl, 50), pct(lastlat, nl, 99),
           pct(L->rest, (size_t)L->n_rest, 50), pct(L->rest, (size_t)L->n_rest, 99), L->rest_fail,
           L->lost, L->dup, L->leaked, L->errors, L->resubscribes, connect_s,
           cli_ms * 1e3 / deliveries, srv[0] < 0 ? -1 : srv[0] * 1e3 / deliveries,
           srv[0] < 0 ? -1 : srv[0] / L->n_entries,
           srv[0] > 0 && srv[1] >= 0 ? srv[1] / srv[0] : -1);
    free(lastlat);
}

int main(int argc, char **argv)
{
    load_t L;
    post_t *posts = NULL;
    if (parse_args(&L, argc, argv) != 0)
        return usage();
    if (setup(&L, &posts) != 0)
        return 2;
    double connect_s = connect_all(&L, posts);
    if (connect_s < 0) {
        fprintf(stderr, "mdt_load: only %ld of %d sockets subscribed\n", L.subscribed, L.n_sockets);
        return 2;
    }
    for (int n = 0; n < L.n_entries; n++) {
        for (int si = 0; si < L.n_sockets; si++)
            L.expected[n] += may_see(&L, si, n);
    }
    double cli0 = cpu_self_ms(), srv0[2], srv1[2];
    cpu_server_ms(&L, srv0);
    post_all(&L, posts);
    double cli = cpu_self_ms() - cli0;
    cpu_server_ms(&L, srv1);
    double srv[2] = {srv0[0] >= 0 && srv1[0] >= 0 ? srv1[0] - srv0[0] : -1,
                     srv0[1] >= 0 && srv1[1] >= 0 ? srv1[1] - srv0[1] : -1};
    count_lost(&L);
    report(&L, connect_s, cli, srv);
    return L.lost || L.dup || L.leaked || L.errors || L.rest_fail ? 1 : 0;
}
