/* fuzz_query.c - the query-string readers (server/http.c).
 *
 * The input is split at '&' into decoded fragments as libwebsockets hands
 * them over, added with mdt_req_query_add, and read back with
 * mdt_req_query and mdt_req_query_int (limit, cursor, ids): a value read
 * is within its range, a refusal is 400 or 422 naming the parameter. The
 * same input is also tried as a trusted-proxy list against two peers. */
#include "fuzz.h"
#include "http.h"

static void read_int(const mdt_req_t *req, const char *name, int64_t lo, int64_t hi)
{
    mdt_err_t e = {0};
    int64_t v = 0;
    if (mdt_req_query_int(req, name, lo, hi, lo, &v, &e) == 0) {
        if (v < lo || v > hi)
            abort();
    } else if ((e.status != 400 && e.status != 422) || strcmp(e.field, name) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_cstr(data, size);
    mdt_req_t *req = calloc(1, sizeof(*req));
    if (!buf || !req)
        goto exit;
    for (char *frag = buf, *amp; frag; frag = amp) {
        amp = strchr(frag, '&');
        if (amp)
            *amp++ = 0;
        mdt_req_query_add(req, frag);
    }
    if (req->nq > MDT_HTTP_MAX_QUERY)
        abort();
    (void)mdt_req_query(req, "status");
    read_int(req, "limit", 1, 200);
    read_int(req, "cursor", 0, INT64_MAX);
    read_int(req, "case_id", 1, INT64_MAX);
    read_int(req, "days", -3650, 3650);
    memcpy(buf, data, size); /* the fragments were cut: the input again */
    (void)mdt_http_trusted_proxy(buf, "10.1.2.3");
    (void)mdt_http_trusted_proxy(buf, "2001:db8::1");
exit:
    free(req);
    free(buf);
    return 0;
}
