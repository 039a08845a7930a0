/* test_db.c - the database layer (server/db.c): what it keeps of a failed
 * statement (the SQLSTATE and a fixed description, never the server's
 * text, whose DETAIL lines and some messages quote the row's values), and
 * the TCP keepalives on every connection it opens (the LISTEN connection
 * included), and held-back statements (mdt_db_defer): sent in order with
 * the next statement or COMMIT, their failure that statement's, dropped by
 * ROLLBACK. Needs a PostgreSQL (MDT_TEST_ADMIN_URL, set by
 * scripts/test.sh). */
#include "check.h"
#include "db.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void check_refused_text(mdt_dbc_t *c, const char *sql, const char *state, const char *secret)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, secret);
    PGresult *r = mdt_db_query(c, sql, &p);
    CHECK(r == NULL);
    PQclear(r);
    CHECK_EQ_STR(c->sqlstate, state);
    CHECK(c->error[0] != 0);
    CHECK(strstr(c->error, secret) == NULL);
    if (strstr(c->error, secret))
        fprintf(stderr, "  kept: %s\n", c->error);
    mdt_db_rollback(c);
}

static int sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

/* libpq applies the options on a TCP socket as soon as it is created:
 * start a connection to a local listener that never answers and look. */
static void test_keepalives(void)
{
    const char *keys[MDT_DB_CONN_PARAMS], *vals[MDT_DB_CONN_PARAMS];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 1) == 0 &&
          getsockname(lfd, (struct sockaddr *)&a, &alen) == 0);
    char url[96];
    snprintf(url, sizeof(url), "postgresql://mdt@127.0.0.1:%d/x", ntohs(a.sin_port));
    mdt_db_conn_params(url, "test", keys, vals);
    CHECK(keys[MDT_DB_CONN_PARAMS - 1] == NULL && vals[MDT_DB_CONN_PARAMS - 1] == NULL);
    PGconn *conn = PQconnectStartParams(keys, vals, 1);
    int fd = conn ? PQsocket(conn) : -1;
    CHECK(fd >= 0);
    CHECK_EQ_INT(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    CHECK_EQ_INT(sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    CHECK_EQ_INT(sockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL), 10);
    CHECK_EQ_INT(sockopt(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
    PQfinish(conn);
    close(lfd);
}

/* The text of the one value sql answers with param v (NULL: SQL NULL), malloc'ed. */
static char *one_value(mdt_dbc_t *c, const char *sql, const char *v)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, v);
    PGresult *r = mdt_db_query(c, sql, &p);
    char *s = r && PQntuples(r) == 1 ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return s;
}

/* The memo (mdt_db_memo_start): a statement that answers differently on
 * every run (clock_timestamp) answers the same while the memo is on, for
 * the same text and parameters only (a NULL is not ""), and runs again once
 * it ended; commands and failed statements are never kept. */
static void test_memo(mdt_dbc_t *c)
{
    const char *sql = "SELECT clock_timestamp()::text || coalesce($1, '<null>')";
    CHECK_EQ_INT(mdt_db_begin(c, "repeatable read"), MDT_DB_OK);
    char *plain1 = one_value(c, sql, "a"), *plain2 = one_value(c, sql, "a");
    CHECK(plain1 && plain2 && strcmp(plain1, plain2) != 0); /* the control: it does change */
    mdt_db_memo_start(c);
    char *a1 = one_value(c, sql, "a"), *a2 = one_value(c, sql, "a");
    char *b1 = one_value(c, sql, "b"), *n1 = one_value(c, sql, NULL);
    char *e1 = one_value(c, sql, ""), *n2 = one_value(c, sql, NULL);
    CHECK(a1 && a2 && strcmp(a1, a2) == 0);
    CHECK(b1 && strcmp(a1 ? a1 : "", b1) != 0 && strstr(b1, "b") != NULL);
    CHECK(n1 && n2 && strcmp(n1, n2) == 0 && strstr(n1, "<null>") != NULL);
    CHECK(e1 && strcmp(e1, n1 ? n1 : "") != 0);
    CHECK(one_value(c, "SELECT 1/0 WHERE $1::text IS NOT NULL", "x") == NULL);
    CHECK_EQ_STR(c->sqlstate, "22012");
    mdt_db_memo_end(c);
    mdt_db_rollback(c);
    char *a3 = one_value(c, sql, "a");
    CHECK(a3 && a1 && strcmp(a1, a3) != 0);
    free(plain1), free(plain2), free(a1), free(a2), free(b1), free(n1), free(e1), free(n2),
        free(a3);
}

/* The rows of temp table d, in order, as "1,2,3" into out. */
static void deferred_rows(mdt_dbc_t *c, char *out, size_t size)
{
    PGresult *r =
        mdt_db_query(c, "SELECT coalesce(string_agg(n::text, ',' ORDER BY o), '') FROM d", NULL);
    snprintf(out, size, "%s", r ? mdt_db_str(r, 0, 0) : "(failed)");
    PQclear(r);
}

static int defer_n(mdt_dbc_t *c, int n)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, n);
    return mdt_db_defer(c, "INSERT INTO d (n) VALUES (100 / $1::int)", &p);
}

static void test_defer(mdt_dbc_t *c)
{
    char rows[128];
    CHECK_EQ_INT(mdt_db_exec(c, "CREATE TEMP TABLE d (o serial, n int)", NULL), MDT_DB_OK);
    /* sent with COMMIT, in order, more than the queue holds */
    CHECK_EQ_INT(mdt_db_begin(c, NULL), MDT_DB_OK);
    for (int i = 1; i <= MDT_DB_MAX_DEFERRED + 2; i++)
        CHECK_EQ_INT(defer_n(c, i), MDT_DB_OK);
    CHECK_EQ_INT(mdt_db_commit(c), MDT_DB_OK);
    CHECK_EQ_INT(c->n_deferred, 0);
    deferred_rows(c, rows, sizeof(rows));
    CHECK_EQ_STR(rows, "100,50,33,25,20,16");
    /* the next statement sees what was held, and gets its own result */
    CHECK_EQ_INT(mdt_db_exec(c, "TRUNCATE d", NULL), MDT_DB_OK);
    CHECK_EQ_INT(mdt_db_begin(c, NULL), MDT_DB_OK);
    CHECK_EQ_INT(defer_n(c, 4), MDT_DB_OK);
    deferred_rows(c, rows, sizeof(rows));
    CHECK_EQ_STR(rows, "25");
    /* a held statement that fails fails COMMIT, and nothing stays */
    CHECK_EQ_INT(defer_n(c, 0), MDT_DB_OK);
    CHECK_EQ_INT(defer_n(c, 5), MDT_DB_OK);
    CHECK_EQ_INT(mdt_db_commit(c), MDT_DB_ERROR);
    CHECK_EQ_STR(c->sqlstate, "22012");
    mdt_db_rollback(c);
    CHECK_EQ_INT(PQtransactionStatus(c->conn), PQTRANS_IDLE);
    deferred_rows(c, rows, sizeof(rows));
    CHECK_EQ_STR(rows, "");
    /* ROLLBACK drops what is held */
    CHECK_EQ_INT(mdt_db_begin(c, NULL), MDT_DB_OK);
    CHECK_EQ_INT(defer_n(c, 2), MDT_DB_OK);
    mdt_db_rollback(c);
    CHECK_EQ_INT(c->n_deferred, 0);
    CHECK_EQ_INT(mdt_db_begin(c, NULL), MDT_DB_OK);
    CHECK_EQ_INT(mdt_db_commit(c), MDT_DB_OK);
    deferred_rows(c, rows, sizeof(rows));
    CHECK_EQ_STR(rows, "");
}

int main(void)
{
    test_keepalives();
    const char *url = getenv("MDT_TEST_ADMIN_URL");
    char err[256];
    if (!url) {
        fprintf(stderr,
                "test_db: MDT_TEST_ADMIN_URL is not set (run it through scripts/test.sh)\n");
        return 1;
    }
    mdt_dbc_t *c = mdt_dbc_open(url, 5000, err, sizeof(err));
    CHECK(c != NULL);
    if (!c)
        return check_done();
    /* the primary message quotes the value */
    check_refused_text(c, "SELECT $1::int", "22P02", "Jane-Doe-1999");
    /* DETAIL: Key (k)=(...) already exists. */
    CHECK_EQ_INT(mdt_db_exec(c, "CREATE TEMP TABLE t (k text PRIMARY KEY)", NULL), MDT_DB_OK);
    CHECK_EQ_INT(mdt_db_exec(c, "INSERT INTO t VALUES ('Jane-Doe-2001')", NULL), MDT_DB_OK);
    check_refused_text(c, "INSERT INTO t VALUES ($1)", "23505", "Jane-Doe-2001");
    CHECK_EQ_INT(c->status, MDT_DB_CONFLICT);
    /* a function's own message */
    CHECK_EQ_INT(mdt_db_exec(c,
                             "CREATE FUNCTION pg_temp.f(x text) RETURNS int LANGUAGE plpgsql"
                             " AS $$ BEGIN RAISE EXCEPTION 'value %', x; END $$",
                             NULL),
                 MDT_DB_OK);
    check_refused_text(c, "SELECT pg_temp.f($1)", "P0001", "Jane-Doe-2003");
    test_memo(c);
    test_defer(c);
    mdt_dbc_close(c);
    return check_done();
}
