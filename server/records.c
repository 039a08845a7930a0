/* records.c - a case's tracking data and its services log.
 *
 * Tracking is one non-identifying object per case (`tracking` row, with a
 * version for optimistic concurrency): every value is an enum, a boolean
 * or a short language name, so the reports built from it carry nothing
 * that identifies a child. Its shape is described once, as a table
 * (TRACKING), which drives validation, normalization and the defaults
 * answered before anything was saved. Services are rows with the same
 * visibility as entries (mdt, agencies, agency), decided by
 * the view filter (view.h). Both are read and written by any case member
 * (mdt_authz_case_update_member_fields). Decisions: docs/consents.md. */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caseop.h"
#include "json.h"
#include "sealed.h"
#include "view.h"

#define SERVICE_NAME_MAX 200
#define SERVICE_NOTE_MAX 2000
#define LIST_DEFAULT     50
#define LIST_MAX         500

/* ---- the tracking shape ------------------------------------------------------ */

typedef enum { T_ENUM, T_ENUM_LIST, T_STR, T_BOOL, T_OBJ, T_OBJ_LIST } tkind_t;

typedef struct tspec {
    const char *name;
    tkind_t kind;
    const char *const *values; /* T_ENUM, T_ENUM_LIST */
    const struct tspec *sub;   /* T_OBJ, T_OBJ_LIST */
    size_t max;                /* T_STR bytes; list items */
} tspec_t;

static const char *const ABUSE[] = {
    "sex_trafficking", "labor_trafficking",   "sexual_abuse", "physical_abuse",
    "neglect",         "exploitation_online", "other",        NULL};
static const char *const TRAFFICKING[] = {"sex", "labor", "both", "unknown", "none", NULL};
static const char *const GENDER[] = {"female", "male", "nonbinary", "unknown", NULL};
static const char *const AGE_GROUP[] = {"0-5", "6-12", "13-17", "18+", NULL};
static const char *const RACE[] = {"american_indian_alaska_native",
                                   "asian",
                                   "black",
                                   "hispanic_latino",
                                   "middle_eastern_north_african",
                                   "native_hawaiian_pacific_islander",
                                   "white",
                                   "other",
                                   "unknown",
                                   NULL};
static const char *const RELATIONSHIP[] = {"parent",       "relative", "intimate_partner",
                                           "acquaintance", "employer", "stranger",
                                           "unknown",      NULL};
static const char *const AGE_RANGE[] = {"under_18", "18-24", "25-29",   "30-39",
                                        "40-49",    "50+",   "unknown", NULL};
static const char *const DISPOSITION[] = {"pending",   "no_charges", "plea",    "convicted",
                                          "acquitted", "dismissed",  "unknown", NULL};
static const char *const CP_OUTCOME[] = {"pending",     "in_home_services", "out_of_home_placement",
                                         "case_closed", "not_investigated", "unknown",
                                         NULL};
static const char *const REFERRAL[] = {"not_needed", "referred", "engaged",
                                       "completed",  "declined", NULL};

static const tspec_t CHILD[] = {{"gender", T_ENUM, GENDER, NULL, 0},
                                {"age_group", T_ENUM, AGE_GROUP, NULL, 0},
                                {"race_ethnicity", T_ENUM_LIST, RACE, NULL, 9},
                                {"language", T_STR, NULL, NULL, 64},
                                {0}};
static const tspec_t OFFENDER[] = {{"relationship", T_ENUM, RELATIONSHIP, NULL, 0},
                                   {"gender", T_ENUM, GENDER, NULL, 0},
                                   {"age_range", T_ENUM, AGE_RANGE, NULL, 0},
                                   {0}};
static const tspec_t OUTCOMES[] = {{"charges_filed", T_BOOL, NULL, NULL, 0},
                                   {"criminal_disposition", T_ENUM, DISPOSITION, NULL, 0},
                                   {"child_protection_outcome", T_ENUM, CP_OUTCOME, NULL, 0},
                                   {"medical_referral", T_ENUM, REFERRAL, NULL, 0},
                                   {"mental_health_referral", T_ENUM, REFERRAL, NULL, 0},
                                   {0}};
static const tspec_t TRACKING[] = {{"abuse_types", T_ENUM_LIST, ABUSE, NULL, 7},
                                   {"trafficking_type", T_ENUM, TRAFFICKING, NULL, 0},
                                   {"child", T_OBJ, NULL, CHILD, 0},
                                   {"alleged_offenders", T_OBJ_LIST, NULL, OFFENDER, 20},
                                   {"outcomes", T_OBJ, NULL, OUTCOMES, 0},
                                   {0}};

/* Sets e->field to path + "." + e->field (or path alone, with idx >= 0 as
 * "path[idx]"). */
static void err_path(mdt_err_t *e, const char *path, long idx, int keep_field)
{
    char f[sizeof(e->field)];
    int n;
    if (idx >= 0)
        n = snprintf(f, sizeof(f), "%s[%ld]%s%s", path, idx, keep_field ? "." : "",
                     keep_field ? e->field : "");
    else
        n = snprintf(f, sizeof(f), "%s%s%s", path, e->field[0] ? "." : "", e->field);
    if (n > 0)
        memcpy(e->field, f, sizeof(f));
}

static json_t *tracking_norm(json_t *obj, const tspec_t *spec, mdt_err_t *e);

/* Keys of obj that are not in spec, except the body's own version. */
static int tracking_unknown(json_t *obj, const tspec_t *spec, mdt_err_t *e)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        const tspec_t *s = spec;
        while (s->name && strcmp(s->name, key) != 0)
            s++;
        if (!s->name && !(spec == TRACKING && strcmp(key, "version") == 0)) {
            mdt_err_set(e, 422, "validation", NULL, "unknown field %.60s", key);
            snprintf(e->field, sizeof(e->field), "%.60s", key);
            return -1;
        }
    }
    return 0;
}

/* An array of distinct enum values (duplicates dropped); new ref or NULL. */
static json_t *enum_list(json_t *v, const tspec_t *s, mdt_err_t *e)
{
    if (!json_is_array(v)) {
        mdt_err_set(e, 400, "bad_request", s->name, "%s must be an array", s->name);
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it)
    {
        json_t *wrap = json_pack("{s:O}", s->name, it);
        int k, rc = mdt_json_enum(wrap, s->name, 1, s->values, &k, e);
        json_decref(wrap);
        if (rc != 0) {
            err_path(e, s->name, (long)i, 0);
            json_decref(out);
            return NULL;
        }
        size_t j, n = json_array_size(out);
        for (j = 0; j < n && strcmp(json_string_value(json_array_get(out, j)), s->values[k]); j++)
            ;
        if (j == n)
            json_array_append_new(out, json_string(s->values[k]));
    }
    return out;
}

/* An array of at most s->max objects of shape s->sub; new ref or NULL. */
static json_t *obj_list(json_t *v, const tspec_t *s, mdt_err_t *e)
{
    if (!json_is_array(v) || json_array_size(v) > s->max) {
        int arr = json_is_array(v);
        mdt_err_set(e, arr ? 422 : 400, arr ? "validation" : "bad_request", s->name,
                    "%s must be an array of at most %zu objects", s->name, s->max);
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it)
    {
        json_t *o = tracking_norm(it, s->sub, e);
        if (!o) {
            err_path(e, s->name, (long)i, e->field[0] != 0);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, o);
    }
    return out;
}

/* One field of obj per its spec: a new reference (its default when absent
 * or null), or NULL with e set (e->field relative to obj). */
static json_t *tracking_field(json_t *obj, const tspec_t *s, mdt_err_t *e)
{
    json_t *v = json_object_get(obj, s->name);
    int absent = !v || json_is_null(v), k, b;
    const char *str;
    switch (s->kind) {
    case T_ENUM:
        k = mdt_json_enum(obj, s->name, 0, s->values, &b, e);
        return k < 0 ? NULL : k ? json_null() : json_string(s->values[b]);
    case T_STR:
        k = mdt_json_str(obj, s->name, 0, s->max, &str, e);
        return k < 0 ? NULL : k || !*str ? json_null() : json_string(str);
    case T_BOOL:
        k = mdt_json_bool(obj, s->name, 0, &b, e);
        return k < 0 ? NULL : k ? json_null() : json_boolean(b);
    case T_ENUM_LIST:
        return absent ? json_array() : enum_list(v, s, e);
    case T_OBJ_LIST:
        return absent ? json_array() : obj_list(v, s, e);
    case T_OBJ:
        v = tracking_norm(absent ? NULL : v, s->sub, e);
        if (!v && e->field[0])
            err_path(e, s->name, -1, 1);
        else if (!v)
            snprintf(e->field, sizeof(e->field), "%s", s->name);
        return v;
    }
    return NULL;
}

/* obj (NULL = {}) normalized to every field of spec; unknown fields are
 * refused. New reference, or NULL with e set (field path relative to obj). */
static json_t *tracking_norm(json_t *obj, const tspec_t *spec, mdt_err_t *e)
{
    if (obj && !json_is_object(obj)) {
        mdt_err_set(e, 400, "bad_request", NULL, "an object is expected here");
        return NULL;
    }
    if (obj && tracking_unknown(obj, spec, e) != 0)
        return NULL;
    json_t *out = json_object();
    for (const tspec_t *s = spec; s->name; s++) {
        json_t *v = tracking_field(obj, s, e);
        if (!v) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, s->name, v);
    }
    return out;
}

/* ---- tracking: reading ------------------------------------------------------------ */

/* The stored tracking data (or the defaults) with its version; NULL on
 * database error. */
json_t *mdt_records_tracking_json(mdt_dbc_t *c, const mdt_casectx_t *cx)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, cx->case_id);
    PGresult *r =
        mdt_db_query(c, "SELECT data::text, version FROM tracking WHERE case_id = $1", &q);
    if (!r)
        return NULL;
    json_t *stored = PQntuples(r) ? json_loads(mdt_db_str(r, 0, 0), 0, NULL) : NULL;
    int64_t version = PQntuples(r) ? mdt_db_int(r, 0, 1) : 0;
    PQclear(r);
    mdt_err_t e = {0};
    json_t *out = tracking_norm(stored, TRACKING, &e);
    if (!out) /* stored under an older shape: answer it as it is */
        out = stored ? json_incref(stored) : json_object();
    json_decref(stored);
    json_object_set_new(out, "version", json_integer(version));
    return out;
}

static int tracking_get_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    op->run.ans.result = mdt_records_tracking_json(c, &op->cx);
    return op->run.ans.result ? MDT_DB_OK : c->status ? c->status : MDT_DB_ERROR;
}

void mdt_records_tracking_get(mdt_req_t *req)
{
    mdt_caseop_t *op = mdt_caseop_new(req, tracking_get_work);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    op->read_action = "tracking.read";
    op->object_type = "tracking";
    mdt_caseop_run(op);
}

/* ---- tracking: writing ------------------------------------------------------------- */

typedef struct {
    int64_t version;
    json_t *data; /* normalized, without version */
} tracking_put_t;

static void tracking_put_free(void *arg)
{
    tracking_put_t *u = arg;
    if (u)
        json_decref(u->data);
    free(u);
}

/* Answers 409 with error.current (stolen; NULL gives null) through the
 * runner, which rolls back. Returns MDT_RUN_ANSWERED. */
static int records_conflict(mdt_caseop_t *op, const char *message, json_t *current)
{
    return mdt_run_conflict(&op->run, message, current ? current : json_null());
}

/* Writes the data when the stored version is u->version (0: none saved);
 * *written 0 when it was not. */
static int tracking_store(mdt_dbc_t *c, mdt_caseop_t *op, const tracking_put_t *u, int *written)
{
    char *text = json_dumps(u->data, JSON_COMPACT);
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_str(&q, text);
    mdt_db_param_int(&q, op->p.user_id);
    mdt_db_param_int(&q, u->version);
    const char *sql = u->version == 0
                          ? "INSERT INTO tracking (case_id, data, version, updated_by)"
                            " VALUES ($1, $2::jsonb, $4 + 1, $3) ON CONFLICT (case_id) DO NOTHING"
                            " RETURNING version"
                          : "UPDATE tracking SET data = $2::jsonb, version = version + 1,"
                            " updated_by = $3, updated_at = now()"
                            " WHERE case_id = $1 AND version = $4 RETURNING version";
    PGresult *r = mdt_db_query(c, sql, &q);
    free(text);
    if (!r)
        return c->status;
    *written = PQntuples(r) == 1;
    PQclear(r);
    return MDT_DB_OK;
}

static int tracking_put_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    tracking_put_t *u = op->ud;
    if (!mdt_authz_case_update_member_fields(&op->p, &op->view))
        return mdt_run_fail(&op->run, 403, "forbidden", NULL, "you may not change tracking data");
    int written = 0;
    int rc = tracking_store(c, op, u, &written);
    if (rc != MDT_DB_OK)
        return rc;
    if (!written)
        return records_conflict(op, "the tracking data was changed meanwhile; reload and try again",
                                mdt_records_tracking_json(c, &op->cx));
    json_t *detail = json_pack("{s:I}", "version", (json_int_t)(u->version + 1));
    rc = mdt_caseop_record(c, op, "tracking.update", "tracking", op->case_id, "tracking.updated",
                           detail);
    json_decref(detail);
    if (rc == MDT_DB_OK && !(op->run.ans.result = mdt_records_tracking_json(c, &op->cx)))
        rc = c->status ? c->status : MDT_DB_ERROR;
    return rc;
}

void mdt_records_tracking_put(mdt_req_t *req)
{
    tracking_put_t *u = calloc(1, sizeof(*u));
    mdt_err_t e = {0};
    if (!u) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (mdt_json_int(req->json, "version", 1, 0, INT32_MAX, &u->version, &e) != 0 ||
        !(u->data = tracking_norm(req->json, TRACKING, &e))) {
        tracking_put_free(u);
        mdt_http_fail(req, &e);
        return;
    }
    mdt_caseop_t *op = mdt_caseop_with(req, tracking_put_work, u, tracking_put_free);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    mdt_caseop_run(op);
}

/* ---- services: reading -------------------------------------------------------------- */

static const char *const SERVICE_CATS[] = {"information_referral",
                                           "personal_advocacy",
                                           "emotional_support_safety",
                                           "shelter_housing",
                                           "criminal_civil_justice",
                                           "immigration_legal",
                                           "medical",
                                           "mental_health",
                                           NULL};

#define SERVICE_COLS                                                                               \
    "id, case_id, agency_id, date::text, category, service, minutes, note, visibility,"            \
    " visible_to::text, created_by,"                                                               \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

enum { S_ID, S_CASE, S_AGENCY, S_DATE, S_CAT, S_NAME, S_MIN, S_NOTE, S_VIS, S_TO, S_BY, S_AT };

/* The sealed columns of a SERVICE_COLS row: what was done, and the note. */
static const mdt_sealed_col_t SERVICE_SEALED[] = {
    {S_NAME, "service", "service", S_ID, S_CASE, NULL, -1},
    {S_NOTE, "service", "note", S_ID, S_CASE, NULL, -1},
};

/* Runs a SERVICE_COLS statement and opens its sealed columns. */
static PGresult *service_select(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *q)
{
    return mdt_sealed_query(c, sql, q, SERVICE_SEALED, 2);
}

/* Where a SERVICE_COLS row holds the predicate's input. */
static const mdt_view_cols_t SERVICE_VIEW = {.vis = S_VIS,
                                             .visible_to = S_TO,
                                             .author_agency = S_AGENCY,
                                             .author_user = S_BY,
                                             .assignee_agency = -1,
                                             .assignee_user = -1};

/* Row i of a SERVICE_COLS result when p may see it, else NULL. */
static json_t *service_json(const PGresult *r, int i, const mdt_principal_t *p,
                            const mdt_case_ctx_t *view)
{
    mdt_view_item_t vi;
    if (!mdt_view_row_visible(p, view, r, i, &SERVICE_VIEW, &vi))
        return NULL;
    const mdt_item_ctx_t it = vi.it;
    const int64_t *to = vi.ids;
    json_t *ids = json_array();
    for (size_t k = 0; k < it.n_visible_to; k++)
        json_array_append_new(ids, json_integer(to[k]));
    return json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:I, s:s}", "id",
                     (json_int_t)mdt_db_int(r, i, S_ID), "case_id",
                     (json_int_t)mdt_db_int(r, i, S_CASE), "agency_id",
                     (json_int_t)it.author_agency_id, "date", mdt_db_str(r, i, S_DATE), "category",
                     mdt_db_str(r, i, S_CAT), "service", mdt_db_str(r, i, S_NAME), "minutes",
                     mdt_db_str(r, i, S_MIN) ? json_integer(mdt_db_int(r, i, S_MIN)) : json_null(),
                     "note", mdt_json_str_or_null(mdt_db_str(r, i, S_NOTE)), "visibility",
                     mdt_db_str(r, i, S_VIS), "visible_to", ids, "created_by",
                     (json_int_t)it.author_user_id, "created_at", mdt_db_str(r, i, S_AT));
}

/* Services of the case after (date, id) = (after_date, after_id), at most
 * max rows, oldest first (after_date NULL: from the start). */
static PGresult *service_query(mdt_dbc_t *c, int64_t case_id, const char *after_date,
                               int64_t after_id, int64_t max)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, case_id);
    mdt_db_param_str(&q, after_date);
    mdt_db_param_int(&q, after_id);
    mdt_db_param_int(&q, max);
    return service_select(c,
                        "SELECT " SERVICE_COLS " FROM services WHERE case_id = $1"
                        " AND ($2::date IS NULL OR (date, id) > ($2::date, $3))"
                        " ORDER BY date, id LIMIT $4",
                        &q);
}

json_t *mdt_records_services_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx)
{
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    PGresult *r = service_query(c, cx->case_id, NULL, 0, INT32_MAX);
    if (!r)
        return NULL;
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *s = service_json(r, i, p, &view);
        if (s)
            json_array_append_new(items, s);
    }
    PQclear(r);
    return items;
}

/* ---- GET /cases/{id}/services --------------------------------------------------------- */

typedef struct {
    int64_t limit;
    char after_date[11]; /* empty: from the start */
    int64_t after_id;
} services_page_t;

/* The cursor is "<date>_<id>" of the last item of the previous page. */
static int services_page_parse(const mdt_req_t *req, services_page_t *pg, mdt_err_t *e)
{
    const char *lim = mdt_req_query(req, "limit"), *cur = mdt_req_query(req, "cursor");
    char *end = NULL;
    pg->limit = LIST_DEFAULT;
    if (lim && *lim) {
        pg->limit = strtoll(lim, &end, 10);
        if (*end || pg->limit < 1) {
            mdt_err_set(e, 422, "validation", "limit", "limit must be from 1 to %d", LIST_MAX);
            return -1;
        }
        if (pg->limit > LIST_MAX)
            pg->limit = LIST_MAX;
    }
    if (!cur || !*cur)
        return 0;
    if (strlen(cur) < 12 || cur[10] != '_') {
        mdt_err_set(e, 400, "bad_request", "cursor", "cursor is not one this server gave");
        return -1;
    }
    memcpy(pg->after_date, cur, 10);
    pg->after_id = strtoll(cur + 11, &end, 10);
    if (*end || pg->after_id < 1 || !mdt_json_valid_date(pg->after_date)) {
        mdt_err_set(e, 400, "bad_request", "cursor", "cursor is not one this server gave");
        return -1;
    }
    return 0;
}

/* Appends visible rows of r to items until it holds limit + 1 (one more
 * tells that a next page exists). Returns how many rows were read. */
static int services_fill(const PGresult *r, mdt_caseop_t *op, json_t *items, int64_t limit,
                         services_page_t *pg)
{
    int i;
    for (i = 0; i < PQntuples(r) && (int64_t)json_array_size(items) <= limit; i++) {
        json_t *s = service_json(r, i, &op->p, &op->view);
        if (s)
            json_array_append_new(items, s);
        snprintf(pg->after_date, sizeof(pg->after_date), "%s", mdt_db_str(r, i, S_DATE));
        pg->after_id = mdt_db_int(r, i, S_ID);
    }
    return i;
}

static int services_list_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    services_page_t *pg = op->ud;
    int64_t limit = pg->limit, batch = limit + 1 > 100 ? limit + 1 : 100;
    json_t *items = json_array();
    for (;;) {
        PGresult *r = service_query(c, op->case_id, pg->after_date[0] ? pg->after_date : NULL,
                                    pg->after_id, batch);
        if (!r) {
            json_decref(items);
            return c->status;
        }
        int rows = PQntuples(r);
        services_fill(r, op, items, limit, pg);
        PQclear(r);
        if (rows < batch || (int64_t)json_array_size(items) > limit)
            break;
    }
    json_t *next = json_null();
    if ((int64_t)json_array_size(items) > limit) {
        json_array_remove(items, (size_t)limit);
        json_t *last = json_array_get(items, (size_t)limit - 1);
        next = json_sprintf("%s_%" JSON_INTEGER_FORMAT,
                            json_string_value(json_object_get(last, "date")),
                            json_integer_value(json_object_get(last, "id")));
    }
    op->run.ans.result = json_pack("{s:o, s:o}", "items", items, "next", next);
    return MDT_DB_OK;
}

void mdt_records_services_list(mdt_req_t *req)
{
    services_page_t *pg = calloc(1, sizeof(*pg));
    mdt_err_t e = {0};
    if (!pg || services_page_parse(req, pg, &e) != 0) {
        if (!pg)
            mdt_err_set(&e, 500, "internal", NULL, "out of memory");
        free(pg);
        mdt_http_fail(req, &e);
        return;
    }
    mdt_caseop_t *op = mdt_caseop_with(req, services_list_work, pg, free);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    op->read_action = "service.list";
    op->object_type = "case";
    mdt_caseop_run(op);
}

/* ---- POST /cases/{id}/services ---------------------------------------------------------- */

typedef struct {
    json_t *body; /* a reference: the strings below point into it */
    char date[11];
    int category;
    const char *service, *note;
    int64_t minutes; /* -1: not given */
    mdt_visibility_t visibility;
    int64_t *visible_to;
    size_t n_visible_to;
} service_new_t;

static void service_new_free(void *arg)
{
    service_new_t *u = arg;
    if (!u)
        return;
    json_decref(u->body);
    free(u->visible_to);
    free(u);
}

static int service_parse_vis(json_t *body, service_new_t *u, mdt_err_t *e)
{
    static const char *const vis[] = {"mdt", "agencies", "agency", NULL};
    int v = MDT_VIS_MDT;
    if (mdt_json_enum(body, "visibility", 0, vis, &v, e) < 0 ||
        mdt_authz_visibility_parse(vis[v], &u->visibility) != 0 ||
        mdt_json_ids(body, "visible_to", 0, MDT_CASE_MAX_AGENCIES, &u->visible_to, &u->n_visible_to,
                     e) < 0)
        return -1;
    if (u->n_visible_to && u->visibility != MDT_VIS_AGENCIES) {
        mdt_err_set(e, 422, "validation", "visible_to",
                    "visible_to applies only with visibility agencies");
        return -1;
    }
    return 0;
}

static int service_parse(json_t *body, service_new_t *u, mdt_err_t *e)
{
    u->body = json_incref(body);
    u->minutes = -1;
    int rc = 1;
    if (mdt_json_date(body, "date", 1, u->date, e) != 0 ||
        mdt_json_enum(body, "category", 1, SERVICE_CATS, &u->category, e) != 0 ||
        mdt_json_str(body, "service", 1, SERVICE_NAME_MAX, &u->service, e) != 0 ||
        (rc = mdt_json_int(body, "minutes", 0, 0, 100000, &u->minutes, e)) < 0 ||
        mdt_json_str(body, "note", 0, SERVICE_NOTE_MAX, &u->note, e) < 0 ||
        service_parse_vis(body, u, e) != 0)
        return -1;
    if (rc != 0)
        u->minutes = -1;
    if (!*u->service) {
        mdt_err_set(e, 422, "validation", "service", "service must not be empty");
        return -1;
    }
    return 0;
}

/* visible_to must name agencies on the case. */
static int service_check_vis(mdt_caseop_t *op, const service_new_t *u)
{
    for (size_t i = 0; i < u->n_visible_to; i++) {
        bool on = false;
        for (size_t k = 0; k < op->view.n_agencies; k++)
            on |= op->view.agencies[k] == u->visible_to[i];
        if (!on)
            return mdt_run_fail(&op->run, 422, "validation", "visible_to",
                                "visible_to may name only agencies on the case");
    }
    return MDT_DB_OK;
}

/* The "{1,2}" literal of visible_to. */
static void ids_literal(const int64_t *ids, size_t n, char *out, size_t len)
{
    size_t k = (size_t)snprintf(out, len, "{");
    for (size_t i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(out + k, len - k, "%s%lld", i ? "," : "", (long long)ids[i]);
    if (k < len)
        snprintf(out + k, len - k, "}");
}

static int service_insert(mdt_dbc_t *c, mdt_caseop_t *op, const service_new_t *u, int64_t *id)
{
    char to[MDT_CASE_MAX_AGENCIES * 21 + 3];
    mdt_sealed_hold_t hold = {0};
    const char *name = NULL, *note = NULL;
    ids_literal(u->visible_to, u->n_visible_to, to, sizeof(to));
    mdt_seal_where_t w = {"service", "service", 0, op->case_id, ""};
    int rc = mdt_sealed_next_id(c, "services_id_seq", id);
    if (rc == MDT_DB_OK) {
        w.id = *id;
        rc = mdt_sealed_put(c, &hold, &w, u->service, &name);
    }
    w.field = "note";
    if (rc == MDT_DB_OK)
        rc = mdt_sealed_put(c, &hold, &w, u->note, &note);
    if (rc != MDT_DB_OK)
        goto exit;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_int(&q, op->p.agency_id);
    mdt_db_param_str(&q, u->date);
    mdt_db_param_str(&q, SERVICE_CATS[u->category]);
    mdt_db_param_str(&q, name);
    if (u->minutes >= 0)
        mdt_db_param_int(&q, u->minutes);
    else
        mdt_db_param_str(&q, NULL);
    mdt_db_param_str(&q, note);
    mdt_db_param_str(&q, mdt_authz_visibility_name(u->visibility));
    mdt_db_param_str(&q, to);
    mdt_db_param_int(&q, op->p.user_id);
    mdt_db_param_int(&q, *id);
    rc = mdt_db_exec(c,
                     "INSERT INTO services (id, case_id, agency_id, date, category, service,"
                     " minutes, note, visibility, visible_to, created_by)"
                     " VALUES ($11, $1, $2, $3::date, $4, $5, $6::int, $7, $8, $9::bigint[], $10)",
                     &q);
exit:
    mdt_sealed_hold_free(&hold);
    return rc;
}

/* The new service as its creator sees it. */
static json_t *service_one(mdt_dbc_t *c, mdt_caseop_t *op, int64_t id)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, id);
    PGresult *r = service_select(c, "SELECT " SERVICE_COLS " FROM services WHERE id = $1", &q);
    if (!r)
        return NULL;
    json_t *o = PQntuples(r) == 1 ? service_json(r, 0, &op->p, &op->view) : NULL;
    PQclear(r);
    return o;
}

static int service_create_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    service_new_t *u = op->ud;
    if (!mdt_authz_case_update_member_fields(&op->p, &op->view))
        return mdt_run_fail(&op->run, 403, "forbidden", NULL, "you may not log services here");
    int rc = service_check_vis(op, u);
    if (rc != MDT_DB_OK || op->run.ans.err.status)
        return rc;
    int64_t id = 0;
    if ((rc = service_insert(c, op, u, &id)) != MDT_DB_OK)
        return rc;
    json_t *detail = json_pack("{s:s, s:s}", "category", SERVICE_CATS[u->category], "visibility",
                               mdt_authz_visibility_name(u->visibility));
    rc = mdt_caseop_record(c, op, "service.create", "service", id, "service.created", detail);
    json_decref(detail);
    if (rc == MDT_DB_OK && !(op->run.ans.result = service_one(c, op, id)))
        rc = c->status ? c->status : MDT_DB_ERROR;
    return rc;
}

void mdt_records_services_create(mdt_req_t *req)
{
    service_new_t *u = calloc(1, sizeof(*u));
    mdt_err_t e = {0};
    if (!u || service_parse(req->json, u, &e) != 0) {
        if (!u)
            mdt_err_set(&e, 500, "internal", NULL, "out of memory");
        service_new_free(u);
        mdt_http_fail(req, &e);
        return;
    }
    mdt_caseop_t *op = mdt_caseop_with(req, service_create_work, u, service_new_free);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->run.ans.ok_status = 201;
    op->run.idempotent = 1;
    mdt_caseop_run(op);
}
