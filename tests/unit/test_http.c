/* test_http.c - pure parts of the HTTP layer (server/http.c): the
 * out-of-memory answer sends exactly the bytes it holds, and query
 * fragments are read the way mdt_req_query_int documents. */
#include "check.h"
#include "http.h"
#include "server_ctx.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char *seen_out;
static size_t seen_len;

/* state_free runs in req_free before the answer is freed: copy it. */
static void capture(void *arg)
{
    mdt_req_t *req = arg;
    seen_len = req->out_len;
    seen_out = req->out ? strdup(req->out) : NULL;
}

static void *failing_malloc(size_t n)
{
    (void)n;
    return NULL;
}

static mdt_server_t *fake_server(void)
{
    mdt_server_t *srv = calloc(1, sizeof(*srv));
    if (srv)
        srv->metrics = mdt_metrics_new();
    return srv;
}

/* When serializing the answer runs out of memory, the fixed 500 body is
 * sent with its own length (it was a strdup of 55 bytes sent as 58). */
static void test_oom_answer(void)
{
    mdt_server_t *srv = fake_server();
    mdt_req_t *req = calloc(1, sizeof(*req));
    CHECK(srv && srv->metrics && req);
    if (!srv || !req)
        return;
    srv->http_inflight = 1;
    req->srv = srv;
    req->state = req;
    req->state_free = capture;
    json_t *body = json_pack("{s:s}", "a", "b");
    json_malloc_t m0;
    json_free_t f0;
    json_get_alloc_funcs(&m0, &f0);
    json_set_alloc_funcs(failing_malloc, f0);
    mdt_http_respond_json(req, 200, body); /* req has no wsi: freed at once */
    json_set_alloc_funcs(m0, f0);
    CHECK(seen_out != NULL);
    CHECK_EQ_INT((int)seen_len, seen_out ? (int)strlen(seen_out) : -1);
    CHECK(seen_out && strstr(seen_out, "\"code\":\"internal\""));
    CHECK_EQ_INT(srv->http_inflight, 0);
    free(seen_out);
    mdt_metrics_free(srv->metrics);
    free(srv);
}

static void test_query(void)
{
    mdt_req_t req = {0};
    char a[] = "limit=50", b[] = "cursor", c[] = "x=1=2", d[] = "limit=9";
    mdt_req_query_add(&req, a);
    mdt_req_query_add(&req, b);
    mdt_req_query_add(&req, c);
    mdt_req_query_add(&req, d);
    CHECK_EQ_STR(mdt_req_query(&req, "limit"), "50"); /* the first one counts */
    CHECK_EQ_STR(mdt_req_query(&req, "cursor"), "");
    CHECK_EQ_STR(mdt_req_query(&req, "x"), "1=2");
    CHECK(mdt_req_query(&req, "y") == NULL);
    char many[MDT_HTTP_MAX_QUERY + 1][8];
    mdt_req_t full = {0};
    for (int i = 0; i <= MDT_HTTP_MAX_QUERY; i++) {
        snprintf(many[i], sizeof(many[i]), "k%d=1", i);
        mdt_req_query_add(&full, many[i]);
    }
    CHECK_EQ_INT(full.nq, MDT_HTTP_MAX_QUERY);
    int64_t v;
    mdt_err_t e = {0};
    CHECK_EQ_INT(mdt_req_query_int(&req, "limit", 1, 20, 5, &v, &e), -1);
    CHECK_EQ_INT(e.status, 422);
    CHECK_EQ_INT(mdt_req_query_int(&req, "cursor", 1, 20, 5, &v, &e), 0);
    CHECK_EQ_INT((int)v, 5);
}

/* mdt_req_query_enum: the index of the value, -1 when absent or empty, a
 * 422 naming the parameter and the values otherwise (exact match only). */
static void test_query_enum(void)
{
    static const char *const sorts[] = {"due", "case", "status", NULL};
    mdt_req_t req = {0};
    char a[] = "sort=case", b[] = "order=", c[] = "due=Due", d[] = "lead=ca";
    mdt_req_query_add(&req, a);
    mdt_req_query_add(&req, b);
    mdt_req_query_add(&req, c);
    mdt_req_query_add(&req, d);
    int v = 7;
    mdt_err_t e = {0};
    CHECK_EQ_INT(mdt_req_query_enum(&req, "sort", sorts, &v, &e), 0);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(mdt_req_query_enum(&req, "order", sorts, &v, &e), 0);
    CHECK_EQ_INT(v, -1);
    CHECK_EQ_INT(mdt_req_query_enum(&req, "absent", sorts, &v, &e), 0);
    CHECK_EQ_INT(v, -1);
    CHECK_EQ_INT(e.status, 0);
    CHECK_EQ_INT(mdt_req_query_enum(&req, "due", sorts, &v, &e), -1);
    CHECK_EQ_INT(e.status, 422);
    CHECK_EQ_STR(e.field, "due");
    CHECK_EQ_STR(e.message, "due must be one of: due, case, status");
    e = (mdt_err_t){0};
    CHECK_EQ_INT(mdt_req_query_enum(&req, "lead", sorts, &v, &e), -1); /* a prefix is not a match */
    CHECK_EQ_STR(e.field, "lead");
}

int main(void)
{
    test_oom_answer();
    test_query();
    test_query_enum();
    return check_done();
}
