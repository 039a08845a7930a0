/* test_session.c - the node's session cache (server/session.c): entries no
 * longer live are dropped, the cache never holds more than
 * MDT_SESSION_CACHE_MAX, and when full of live sessions the least recently
 * active one makes room. Also the Cookie parser. */
#include "check.h"
#include "server_ctx.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mdt_session_t make(int i, int64_t now, int64_t expires, int64_t activity, int active)
{
    mdt_session_t s = {0};
    snprintf(s.id_hash, sizeof(s.id_hash), "%064d", i);
    s.user.user_id = i;
    s.user.active = active;
    s.expires_at = now + expires;
    s.last_activity = now - activity;
    return s;
}

static const mdt_session_t *find(mdt_server_t *srv, int i)
{
    char h[65];
    snprintf(h, sizeof(h), "%064d", i);
    return mdt_session_find_hash(srv, h);
}

static void test_eviction(void)
{
    mdt_server_t *srv = calloc(1, sizeof(*srv));
    CHECK(srv != NULL);
    if (!srv || mdt_session_start(srv) != 0)
        return;
    srv->cfg.session_idle_s = 900;
    int64_t now = mdt_session_now();
    /* dead here: expired, idle, deactivated user */
    mdt_session_t dead[] = {make(1, now, -1, 0, 1), make(2, now, 3600, 901, 1),
                            make(3, now, 3600, 0, 0)};
    for (int i = 0; i < 3; i++)
        mdt_session_cache(srv, &dead[i]);
    CHECK(find(srv, 1) && find(srv, 2) && find(srv, 3)); /* no sweep within a minute */
    /* fill up with live sessions; #100 is the least recently active */
    for (int i = 100; i < 100 + MDT_SESSION_CACHE_MAX; i++) {
        mdt_session_t s = make(i, now, 3600, i == 100 ? 800 : 10, 1);
        mdt_session_cache(srv, &s);
    }
    /* reaching the bound swept the dead ones first: no live one was lost */
    CHECK(!find(srv, 1) && !find(srv, 2) && !find(srv, 3));
    CHECK(find(srv, 100) && find(srv, 99 + MDT_SESSION_CACHE_MAX));
    /* full of live sessions: one more evicts the least recently active */
    mdt_session_t more = make(7, now, 3600, 0, 1);
    mdt_session_cache(srv, &more);
    CHECK(find(srv, 7) != NULL);
    CHECK(find(srv, 100) == NULL);
    CHECK(find(srv, 101) != NULL);
    /* replacing an entry evicts nothing */
    more.last_activity = now;
    mdt_session_cache(srv, &more);
    CHECK(find(srv, 101) != NULL);
    mdt_session_stop(srv);
    free(srv);
}

static void test_cookie(void)
{
    char out[65];
    CHECK_EQ_INT(mdt_session_cookie("a=1; mdt_session=abc ; b=2", "mdt_session", out, sizeof(out)),
                 0);
    CHECK_EQ_STR(out, "abc");
    CHECK_EQ_INT(mdt_session_cookie("mdt_session_x=1", "mdt_session", out, sizeof(out)), -1);
    CHECK_EQ_INT(mdt_session_cookie("mdt_session=", "mdt_session", out, sizeof(out)), -1);
    CHECK_EQ_INT(mdt_session_cookie("mdt_session=abcd", "mdt_session", out, 4), -1);
}

int main(void)
{
    test_eviction();
    test_cookie();
    return check_done();
}
