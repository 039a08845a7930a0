/* json.h - the one JSON helper layer (Jansson underneath).
 *
 * Parsing request bodies with hard limits (size, nesting depth), typed field
 * readers that fill an mdt_err_t in the contract's shape (wrong type → 400
 * bad_request, well-formed but invalid → 422 validation, both naming the
 * field), and small builders for the shapes every handler returns. */
#ifndef MDT_JSON_H
#define MDT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define MDT_JSON_MAX_DEPTH 16

/* Parses a request body that must be a JSON object. Returns a new reference
 * or NULL with e filled (400 bad_request). */
json_t *mdt_json_parse_object(const char *buf, size_t len, mdt_err_t *e);

/* Field readers: each returns 0 when the value is present and valid, 1 when
 * absent (or null) and not required, -1 with e filled otherwise. Strings are
 * borrowed from obj. maxlen counts bytes. */
int mdt_json_str(json_t *obj, const char *key, int required, size_t maxlen, const char **out,
                 mdt_err_t *e);
int mdt_json_int(json_t *obj, const char *key, int required, int64_t lo, int64_t hi, int64_t *out,
                 mdt_err_t *e);
int mdt_json_bool(json_t *obj, const char *key, int required, int *out, mdt_err_t *e);
/* One of values[] (NULL-terminated); *out is its index. */
int mdt_json_enum(json_t *obj, const char *key, int required, const char *const *values, int *out,
                  mdt_err_t *e);
/* A YYYY-MM-DD calendar date, copied into out[11]. */
int mdt_json_date(json_t *obj, const char *key, int required, char out[11], mdt_err_t *e);
/* An array of positive integer ids, at most max; *out malloc'ed (caller
 * frees), duplicates removed, order kept. */
int mdt_json_ids(json_t *obj, const char *key, int required, size_t max, int64_t **out, size_t *n,
                 mdt_err_t *e);

/* Is s a valid YYYY-MM-DD calendar date? */
int mdt_json_valid_date(const char *s);
/* Is s an RFC 3339 date-time, YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM),
 * with a valid calendar date, at most 9 fraction digits, seconds up to 60
 * (a leap second) and T and Z in either case (RFC 3339, 5.6)? */
int mdt_json_valid_datetime(const char *s);

/* Builds {"error": {...}} from e; new reference. */
json_t *mdt_json_error(const mdt_err_t *e);
/* Serializes compactly; malloc'ed, caller frees. */
char *mdt_json_dump(const json_t *j, size_t *len);
/* Canonical form for comparing bodies: compact, keys sorted; malloc'ed,
 * caller frees; NULL when out of memory. */
char *mdt_json_dump_canonical(const json_t *j, size_t *len);
/* json_integer or json_null when id == 0. */
json_t *mdt_json_id_or_null(int64_t id);
/* json_string or json_null when s == NULL. */
json_t *mdt_json_str_or_null(const char *s);
/* t as an RFC 3339 UTC string ("2026-12-06T09:30:00Z"); NULL when out of
 * memory. */
json_t *mdt_json_time(time_t t);

#endif
