/* mdt_notify.c - NOTIFY/LISTEN throughput through PostgreSQL, the one
 * shared component between MDT Board nodes (docs/scaling.md). Not a test:
 * `scripts/bench notify` runs it.
 *
 *   mdt_notify --url URL [--writers 4] [--events 20000] [--runs 3]
 *              [--mode ledger|raw] [--listeners 1]
 *
 * One listener connection per --listeners LISTENs on a bench channel; each
 * of --writers threads on its own connection commits --events/--writers
 * transactions, each emitting one notification whose payload is the event's
 * seq as text (what mdt_emit_event sends: a few bytes). --mode ledger does
 * what mdt_emit_event does per event in one statement (bump a one-row ledger
 * under its row lock, insert an event row, pg_notify) so events serialize
 * on the ledger as ours do; --mode raw only calls pg_notify. A run's figure
 * is events delivered to every listener / seconds from the first commit to
 * the last delivery. Prints one line per run and a summary with the median;
 * exits 1 when a listener missed or got a duplicate notification. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#define MAX_LISTENERS 16

typedef struct {
    const char *url, *mode;
    int writers, events, runs, listeners;
} opts_t;

typedef struct {
    const opts_t *o;
    int count, failed;
} writer_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs sql on c; 0 when it succeeded. */
static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "mdt_notify: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

static PGconn *connect_to(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "mdt_notify: connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* A writer thread: count transactions of one notification each. */
static void *writer_main(void *arg)
{
    writer_t *w = arg;
    PGconn *c = connect_to(w->o->url);
    if (!c) {
        w->failed = 1;
        return NULL;
    }
    const char *ledger = "WITH s AS (UPDATE mdt_bench_ledger SET seq = seq + 1 RETURNING seq), "
                         "e AS (INSERT INTO mdt_bench_events (seq, data) SELECT seq, "
                         "'{\"kind\":\"entry.created\"}' FROM s RETURNING seq) "
                         "SELECT pg_notify('mdt_bench', seq::text) FROM e";
    for (int i = 0; i < w->count && !w->failed; i++) {
        if (strcmp(w->o->mode, "raw") == 0) {
            char payload[24];
            snprintf(payload, sizeof(payload), "%d", i + 1);
            const char *values[] = {payload};
            PGresult *r = PQexecParams(c, "SELECT pg_notify('mdt_bench', $1)", 1, NULL, values,
                                       NULL, NULL, 0);
            w->failed = PQresultStatus(r) != PGRES_TUPLES_OK;
            PQclear(r);
        } else {
            w->failed = exec_ok(c, ledger) != 0;
        }
    }
    PQfinish(c);
    return NULL;
}

/* Drains notifications on every listener until each got want or timeout
 * seconds pass; got[i] counts listener i's. Returns the time of the last. */
static double drain(PGconn **ls, int n, int want, int got[], double timeout)
{
    double last = now_s(), deadline = now_s() + timeout;
    for (;;) {
        int done = 1;
        for (int i = 0; i < n; i++)
            done &= got[i] >= want;
        if (done || now_s() > deadline)
            return last;
        fd_set fds;
        FD_ZERO(&fds);
        int maxfd = 0;
        for (int i = 0; i < n; i++) {
            FD_SET(PQsocket(ls[i]), &fds);
            maxfd = PQsocket(ls[i]) > maxfd ? PQsocket(ls[i]) : maxfd;
        }
        struct timeval tv = {0, 100000};
        if (select(maxfd + 1, &fds, NULL, NULL, &tv) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            PQconsumeInput(ls[i]);
            PGnotify *nf;
            while ((nf = PQnotifies(ls[i]))) {
                got[i]++;
                last = now_s();
                PQfreemem(nf);
            }
        }
    }
}

/* One run: events/s, or -1 on failure; *lost counts what did not arrive. */
static double run_once(const opts_t *o, long *lost)
{
    PGconn *ls[MAX_LISTENERS] = {0};
    int got[MAX_LISTENERS] = {0};
    double rate = -1;
    writer_t ws[64];
    pthread_t th[64];
    int per = o->events / o->writers, total = per * o->writers, started = 0;
    for (int i = 0; i < o->listeners; i++)
        if (!(ls[i] = connect_to(o->url)) || exec_ok(ls[i], "LISTEN mdt_bench") != 0)
            goto exit;
    double t0 = now_s();
    for (; started < o->writers; started++) {
        ws[started] = (writer_t){o, per, 0};
        if (pthread_create(&th[started], NULL, writer_main, &ws[started]) != 0)
            break;
    }
    double last = drain(ls, o->listeners, total, got, 60);
    int failed = started < o->writers;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        failed |= ws[i].failed;
    }
    *lost = 0;
    for (int i = 0; i < o->listeners; i++)
        *lost += labs((long)total - got[i]);
    if (!failed)
        rate = total / (last - t0);
exit:
    for (int i = 0; i < o->listeners; i++)
        PQfinish(ls[i]);
    return rate;
}

static int setup(const char *url)
{
    PGconn *c = connect_to(url);
    int rc = !c ? -1
                : exec_ok(c, "SET client_min_messages = warning;"
                             "DROP TABLE IF EXISTS mdt_bench_ledger, mdt_bench_events;"
                             "CREATE TABLE mdt_bench_ledger (seq bigint NOT NULL);"
                             "INSERT INTO mdt_bench_ledger VALUES (0);"
                             "CREATE TABLE mdt_bench_events (seq bigint PRIMARY KEY, "
                             "at timestamptz NOT NULL DEFAULT now(), data jsonb NOT NULL)");
    PQfinish(c);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    opts_t o = {NULL, "ledger", 4, 20000, 3, 1};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            o.url = argv[i + 1];
        else if (!strcmp(argv[i], "--mode"))
            o.mode = argv[i + 1];
        else if (!strcmp(argv[i], "--writers"))
            o.writers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--events"))
            o.events = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs"))
            o.runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--listeners"))
            o.listeners = atoi(argv[i + 1]);
    }
    if (!o.url || o.writers < 1 || o.writers > 64 || o.events < o.writers || o.runs < 1 ||
        o.runs > 32 || o.listeners < 1 || o.listeners > MAX_LISTENERS) {
        fprintf(stderr, "usage: mdt_notify --url URL [--writers 1-64] [--events N] [--runs 1-32] "
                        "[--mode ledger|raw] [--listeners 1-16]\n");
        return 2;
    }
    if (setup(o.url) != 0)
        return 1;
    double rates[32];
    long lost_all = 0;
    for (int r = 0; r < o.runs; r++) {
        long lost = 0;
        rates[r] = run_once(&o, &lost);
        lost_all += lost;
        printf("notify run %d: mode %s, %d writers, %d listeners, %d events: %.0f events/s, %ld "
               "missed\n",
               r + 1, o.mode, o.writers, o.listeners, o.events, rates[r], lost);
        if (rates[r] < 0)
            return 1;
    }
    qsort(rates, (size_t)o.runs, sizeof(double), cmp_double);
    printf("notify summary: mode %s, %d writers, %d listeners: median %.0f events/s over %d runs "
           "(min %.0f, max %.0f), %ld missed\n",
           o.mode, o.writers, o.listeners, rates[(o.runs - 1) / 2], o.runs, rates[0],
           rates[o.runs - 1], lost_all);
    return lost_all ? 1 : 0;
}
