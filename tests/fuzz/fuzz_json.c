/* fuzz_json.c - request-body JSON validation (server/json.c).
 *
 * Parses the input as a request body (size and depth limits, objects
 * only), then runs every typed field reader over the keys handlers use,
 * checking the contract: a reader answers 0, 1 or -1, and -1 always fills
 * a 400 or 422 error naming the field. */
#include <jansson.h>

#include "err.h"
#include "fuzz.h"
#include "json.h"

static void check_rc(int rc, const mdt_err_t *e, const char *key)
{
    if (rc < -1 || rc > 1)
        abort();
    if (rc == -1 && ((e->status != 400 && e->status != 422) || strcmp(e->field, key) != 0))
        abort();
}

static void read_fields(json_t *obj)
{
    static const char *const keys[] = {"body_md",  "kind",    "visibility", "visible_to", "version",
                                       "due_date", "case_id", "agencies",   "title",      "totp"};
    static const char *const kinds[] = {"note", "interview", "decision", "update", NULL};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        mdt_err_t e = {0};
        const char *s;
        int64_t n, *ids = NULL;
        size_t nids = 0;
        int b, idx;
        char date[11];
        check_rc(mdt_json_str(obj, keys[i], (int)(i & 1), 300, &s, &e), &e, keys[i]);
        check_rc(mdt_json_int(obj, keys[i], 0, 1, INT64_MAX, &n, &e), &e, keys[i]);
        check_rc(mdt_json_bool(obj, keys[i], 0, &b, &e), &e, keys[i]);
        check_rc(mdt_json_enum(obj, keys[i], 1, kinds, &idx, &e), &e, keys[i]);
        check_rc(mdt_json_date(obj, keys[i], 0, date, &e), &e, keys[i]);
        check_rc(mdt_json_ids(obj, keys[i], 0, 20, &ids, &nids, &e), &e, keys[i]);
        free(ids);
        json_decref(mdt_json_error(&e));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mdt_err_t e = {0};
    json_t *obj = mdt_json_parse_object((const char *)data, size, &e);
    if (!obj) {
        if (e.status != 400)
            abort();
        return 0;
    }
    if (!json_is_object(obj))
        abort();
    read_fields(obj);
    size_t len;
    free(mdt_json_dump(obj, &len));
    json_decref(obj);
    return 0;
}
