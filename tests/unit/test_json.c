/* test_json.c - the canonical JSON form (server/json.c) that Idempotency-Key
 * fingerprints are computed over: compact, keys sorted at every depth, so
 * two bodies that mean the same (other key order, other whitespace) give
 * the same text, and bodies that differ in any value do not. */
#include "check.h"
#include "err.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* The canonical text of a body, or NULL when it does not parse. */
static char *canonical(const char *body)
{
    mdt_err_t e;
    json_t *j = mdt_json_parse_object(body, strlen(body), &e);
    if (!j)
        return NULL;
    size_t len = 0;
    char *s = mdt_json_dump_canonical(j, &len);
    json_decref(j);
    if (s && strlen(s) != len) {
        free(s);
        return NULL;
    }
    return s;
}

static void check_same(const char *a, const char *b, int same)
{
    char *ca = canonical(a), *cb = canonical(b);
    CHECK(ca && cb);
    if (ca && cb)
        CHECK_EQ_INT(strcmp(ca, cb) == 0, same);
    free(ca);
    free(cb);
}

int main(void)
{
    char *s = canonical("{ \"visibility\": \"mdt\",\n \"kind\": \"note\", \"body_md\": \"a  b\" }");
    CHECK_EQ_STR(s, "{\"body_md\":\"a  b\",\"kind\":\"note\",\"visibility\":\"mdt\"}");
    free(s);
    s = canonical("{\"z\": {\"b\": [3, {\"y\": 1, \"x\": 2}], \"a\": null}}");
    CHECK_EQ_STR(s, "{\"z\":{\"a\":null,\"b\":[3,{\"x\":2,\"y\":1}]}}");
    free(s);

    check_same("{\"a\":1,\"b\":[1,2]}", "{ \"b\" : [1, 2], \"a\" : 1 }", 1);
    check_same("{\"a\":1,\"b\":[1,2]}", "{\"a\":1,\"b\":[2,1]}", 0);    /* order of arrays counts */
    check_same("{\"a\":1}", "{\"a\":\"1\"}", 0);                        /* types count */
    check_same("{\"t\":\"caf\\u00e9\"}", "{\"t\":\"caf\xc3\xa9\"}", 1); /* escapes are decoded */
    check_same("{\"a\":1}", "{\"a\":1,\"b\":null}", 0);
    return check_done();
}
