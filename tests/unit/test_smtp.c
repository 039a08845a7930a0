/* test_smtp.c - the email pieces that need no relay: which addresses may
 * reach a header, which SMTP settings the server accepts (TLS unless the
 * loopback exception), the composed message (CRLF, headers, body) and the
 * digest's content-free body; and the router's {token} segment the
 * calendar feed uses. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "digest.h"
#include "router.h"
#include "smtp.h"

static void test_addresses(void)
{
    CHECK(mdt_smtp_valid_address("a@b.test"));
    CHECK(mdt_smtp_valid_address("first.last+tag@mail.example-agency.org"));
    CHECK(!mdt_smtp_valid_address(NULL));
    CHECK(!mdt_smtp_valid_address(""));
    CHECK(!mdt_smtp_valid_address("no-at-sign"));
    CHECK(!mdt_smtp_valid_address("@b.test"));
    CHECK(!mdt_smtp_valid_address("a@"));
    CHECK(!mdt_smtp_valid_address("a@b@c.test"));
    CHECK(!mdt_smtp_valid_address("a b@c.test"));
    CHECK(!mdt_smtp_valid_address("a@b.test\r\nBcc: x@y.test"));
    CHECK(!mdt_smtp_valid_address("<a@b.test>"));
    CHECK(!mdt_smtp_valid_address("\"a\"@b.test"));
    CHECK(!mdt_smtp_valid_address("a,b@c.test"));
    CHECK(!mdt_smtp_valid_address("a@-b.test"));
    CHECK(!mdt_smtp_valid_address("a@b-.test"));
    CHECK(!mdt_smtp_valid_address("a@b..test"));
    char longer[300];
    memset(longer, 'x', sizeof(longer));
    memcpy(longer + 250, "@b.test", 8);
    CHECK(!mdt_smtp_valid_address(longer)); /* over 254 bytes */
    memset(longer, 'x', 65);
    memcpy(longer + 65, "@b.test", 8);
    CHECK(!mdt_smtp_valid_address(longer)); /* local part over 64 */
}

static int check_cfg(const char *url, const char *from, int loopback)
{
    mdt_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.smtp_url = url;
    cfg.smtp_from = from;
    cfg.smtp_insecure_loopback = loopback;
    char err[200] = "";
    return mdt_smtp_check(&cfg, err, sizeof(err));
}

static void test_settings(void)
{
    CHECK_EQ_INT(check_cfg(NULL, NULL, 0), 0); /* no email at all */
    CHECK_EQ_INT(check_cfg("smtps://mail.example.test:465", "mdt@example.test", 0), 0);
    CHECK_EQ_INT(check_cfg("smtp://mail.example.test:587", "mdt@example.test", 0), 0);
    CHECK_EQ_INT(check_cfg("smtp://127.0.0.1:2525", "mdt@example.test", 1), 0);
    CHECK_EQ_INT(check_cfg("smtp://[::1]:2525", "mdt@example.test", 1), 0);
    CHECK_EQ_INT(check_cfg("smtp://mail.example.test:25", "mdt@example.test", 1), -1);
    CHECK_EQ_INT(check_cfg("http://mail.example.test", "mdt@example.test", 0), -1);
    CHECK_EQ_INT(check_cfg("not a url", "mdt@example.test", 0), -1);
    CHECK_EQ_INT(check_cfg("smtps://mail.example.test", NULL, 0), -1);
    CHECK_EQ_INT(check_cfg("smtps://mail.example.test", "MDT Board", 0), -1);
}

static void test_message(void)
{
    mdt_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.smtp_from = "mdt@agency.example";
    char *m =
        mdt_smtp_message(&cfg, "to@example.test", "MDT Board: your daily summary", "1 overdue");
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(strstr(m, "From: MDT Board <mdt@agency.example>\r\n") != NULL);
    CHECK(strstr(m, "To: <to@example.test>\r\n") != NULL);
    CHECK(strstr(m, "Subject: MDT Board: your daily summary\r\n") != NULL);
    CHECK(strstr(m, "@agency.example>\r\n") != NULL); /* Message-ID's domain */
    CHECK(strstr(m, "\r\n\r\n1 overdue\r\n") != NULL);
    for (const char *p = m; (p = strchr(p, '\n')); p++)
        CHECK(p > m && p[-1] == '\r'); /* every line ends CRLF */
    free(m);
}

static void test_body(void)
{
    char out[256];
    mdt_digest_counts_t k = {3, 2, 1, 1};
    mdt_digest_body(&k, "https://mdt.example", out, sizeof(out));
    CHECK_EQ_STR(out, "3 overdue, 2 new assignments, 1 due soon, 1 meeting this week"
                      " \xe2\x80\x94 open MDT Board: https://mdt.example/");
    mdt_digest_counts_t one = {0, 1, 0, 2};
    mdt_digest_body(&one, "http://x", out, sizeof(out));
    CHECK_EQ_STR(out, "0 overdue, 1 new assignment, 0 due soon, 2 meetings this week"
                      " \xe2\x80\x94 open MDT Board: http://x/");
}

static void test_token_route(void)
{
    const mdt_route_t table[] = {{MDT_M_GET, "/api/v1/calendar/{token}.ics", NULL, 0},
                                 {0, NULL, NULL, 0}};
    int64_t ids[MDT_ROUTE_MAX_IDS];
    int other;
    CHECK(mdt_router_match(table, MDT_M_GET, "/api/v1/calendar/abc123_-X.ics", ids, &other));
    CHECK(!mdt_router_match(table, MDT_M_GET, "/api/v1/calendar/.ics", ids, &other));
    CHECK(!mdt_router_match(table, MDT_M_GET, "/api/v1/calendar/a%2Fb.ics", ids, &other));
    CHECK(!mdt_router_match(table, MDT_M_GET, "/api/v1/calendar/abc.ics/x", ids, &other));
    CHECK(!mdt_router_match(table, MDT_M_GET, "/api/v1/calendar/abc", ids, &other));
    char path[200] = "/api/v1/calendar/";
    memset(path + 17, 'a', 129);
    strcpy(path + 17 + 129, ".ics");
    CHECK(!mdt_router_match(table, MDT_M_GET, path, ids, &other)); /* over 128 */
    CHECK(!mdt_router_match(table, MDT_M_POST, "/api/v1/calendar/abc.ics", ids, &other));
    CHECK_EQ_INT(other, 1);
}

int main(void)
{
    test_addresses();
    test_settings();
    test_message();
    test_body();
    test_token_route();
    return check_done();
}
