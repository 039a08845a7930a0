/* json.c - request parsing and typed field readers (see json.h). */
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rejects nesting deeper than MDT_JSON_MAX_DEPTH before Jansson recurses. */
static int json_depth_ok(const char *buf, size_t len)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > MDT_JSON_MAX_DEPTH)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

json_t *mdt_json_parse_object(const char *buf, size_t len, mdt_err_t *e)
{
    if (!buf || len == 0) {
        mdt_err_set(e, 400, "bad_request", NULL, "a JSON object body is required");
        return NULL;
    }
    if (!json_depth_ok(buf, len)) {
        mdt_err_set(e, 400, "bad_request", NULL, "JSON nested too deeply");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        mdt_err_set(e, 400, "bad_request", NULL, "malformed JSON at line %d column %d", jerr.line,
                    jerr.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        mdt_err_set(e, 400, "bad_request", NULL, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* Shared head of every reader: 1 absent-and-optional, -1 absent-and-required. */
static int json_field(json_t *obj, const char *key, int required, json_t **v, mdt_err_t *e)
{
    *v = json_object_get(obj, key);
    if (*v && !json_is_null(*v))
        return 0;
    if (!required)
        return 1;
    mdt_err_set(e, 422, "validation", key, "%s is required", key);
    return -1;
}

int mdt_json_str(json_t *obj, const char *key, int required, size_t maxlen, const char **out,
                 mdt_err_t *e)
{
    json_t *v;
    int rc = json_field(obj, key, required, &v, e);
    if (rc)
        return rc;
    if (!json_is_string(v)) {
        mdt_err_set(e, 400, "bad_request", key, "%s must be a string", key);
        return -1;
    }
    size_t n = json_string_length(v);
    if (n > maxlen) {
        mdt_err_set(e, 422, "validation", key, "%s must be at most %zu bytes", key, maxlen);
        return -1;
    }
    if (memchr(json_string_value(v), 0, n)) {
        mdt_err_set(e, 422, "validation", key, "%s must not contain NUL characters", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int mdt_json_int(json_t *obj, const char *key, int required, int64_t lo, int64_t hi, int64_t *out,
                 mdt_err_t *e)
{
    json_t *v;
    int rc = json_field(obj, key, required, &v, e);
    if (rc)
        return rc;
    if (!json_is_integer(v)) {
        mdt_err_set(e, 400, "bad_request", key, "%s must be an integer", key);
        return -1;
    }
    json_int_t n = json_integer_value(v);
    if (n < lo || n > hi) {
        mdt_err_set(e, 422, "validation", key, "%s must be from %lld to %lld", key, (long long)lo,
                    (long long)hi);
        return -1;
    }
    *out = n;
    return 0;
}

int mdt_json_bool(json_t *obj, const char *key, int required, int *out, mdt_err_t *e)
{
    json_t *v;
    int rc = json_field(obj, key, required, &v, e);
    if (rc)
        return rc;
    if (!json_is_boolean(v)) {
        mdt_err_set(e, 400, "bad_request", key, "%s must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int mdt_json_enum(json_t *obj, const char *key, int required, const char *const *values, int *out,
                  mdt_err_t *e)
{
    const char *s;
    int rc = mdt_json_str(obj, key, required, 64, &s, e);
    if (rc)
        return rc;
    for (int i = 0; values[i]; i++) {
        if (strcmp(values[i], s) == 0) {
            *out = i;
            return 0;
        }
    }
    char list[160] = "";
    for (int i = 0; values[i]; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", values[i]);
    }
    mdt_err_set(e, 422, "validation", key, "%s must be one of: %s", key, list);
    return -1;
}

int mdt_json_valid_date(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    }
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

static int two_digits(const char *s, int lo, int hi)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return 0;
    int v = (s[0] - '0') * 10 + (s[1] - '0');
    return v >= lo && v <= hi;
}

int mdt_json_valid_datetime(const char *s)
{
    char date[11];
    size_t n = strlen(s);
    if (n < 20 || n > 35)
        return 0;
    memcpy(date, s, 10);
    date[10] = 0;
    if (!mdt_json_valid_date(date) || (s[10] != 'T' && s[10] != 't') ||
        !two_digits(s + 11, 0, 23) || s[13] != ':' || !two_digits(s + 14, 0, 59) || s[16] != ':' ||
        !two_digits(s + 17, 0, 60))
        return 0;
    const char *t = s + 19;
    if (*t == '.') {
        const char *d = ++t;
        while (*t >= '0' && *t <= '9')
            t++;
        if (t == d || t - d > 9)
            return 0;
    }
    if (strcmp(t, "Z") == 0 || strcmp(t, "z") == 0)
        return 1;
    return (t[0] == '+' || t[0] == '-') && strlen(t) == 6 && two_digits(t + 1, 0, 23) &&
           t[3] == ':' && two_digits(t + 4, 0, 59);
}

int mdt_json_date(json_t *obj, const char *key, int required, char out[11], mdt_err_t *e)
{
    const char *s;
    int rc = mdt_json_str(obj, key, required, 32, &s, e);
    if (rc)
        return rc;
    if (!mdt_json_valid_date(s)) {
        mdt_err_set(e, 422, "validation", key, "%s must be YYYY-MM-DD", key);
        return -1;
    }
    memcpy(out, s, 11);
    return 0;
}

int mdt_json_ids(json_t *obj, const char *key, int required, size_t max, int64_t **out, size_t *n,
                 mdt_err_t *e)
{
    json_t *v;
    *out = NULL;
    *n = 0;
    int rc = json_field(obj, key, required, &v, e);
    if (rc)
        return rc;
    if (!json_is_array(v)) {
        mdt_err_set(e, 400, "bad_request", key, "%s must be an array of ids", key);
        return -1;
    }
    if (json_array_size(v) > max) {
        mdt_err_set(e, 422, "validation", key, "%s may hold at most %zu ids", key, max);
        return -1;
    }
    int64_t *ids = calloc(json_array_size(v) + 1, sizeof(int64_t));
    if (!ids) {
        mdt_err_set(e, 500, "internal", key, "out of memory");
        return -1;
    }
    size_t i, k = 0;
    json_t *it;
    json_array_foreach(v, i, it)
    {
        if (!json_is_integer(it) || json_integer_value(it) <= 0) {
            free(ids);
            mdt_err_set(e, 400, "bad_request", key, "%s must be an array of ids", key);
            return -1;
        }
        int64_t id = json_integer_value(it);
        size_t j = 0;
        while (j < k && ids[j] != id)
            j++;
        if (j == k)
            ids[k++] = id;
    }
    *out = ids;
    *n = k;
    return 0;
}

json_t *mdt_json_error(const mdt_err_t *e)
{
    json_t *inner =
        json_pack("{s:s, s:s}", "code", e->code ? e->code : "internal", "message", e->message);
    if (inner && e->field[0])
        json_object_set_new(inner, "field", json_string(e->field));
    return json_pack("{s:o}", "error", inner);
}

char *mdt_json_dump(const json_t *j, size_t *len)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && len)
        *len = strlen(s);
    return s;
}

char *mdt_json_dump_canonical(const json_t *j, size_t *len)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (s && len)
        *len = strlen(s);
    return s;
}

json_t *mdt_json_id_or_null(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

json_t *mdt_json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *mdt_json_time(time_t t)
{
    struct tm tm;
    char out[32];
    if (!gmtime_r(&t, &tm) || !strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(out);
}
