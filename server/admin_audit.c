/* admin_audit.c - reading the audit log: /account-changes for supervisors
 * and the audit-log reader, whose rows about objects the reader may not
 * see are redacted through the content registry and the view filter
 * (content.h, view.h). */
#include "admin_int.h"

#include "caseset.h"

/* ---- reading the audit log ---- */

/* The columns admin_audit_json reads, and the tables they come from: the
 * Audit row, the actor's display name, its agency's name. */
#define ADMIN_AUDIT_COLS                                                                           \
    "a.id, " MDT_ACCOUNTS_TS("a.at") ", a.user_id, a.username, a.agency_id, a.address, a.action,"  \
                                     " a.object_type, a.object_id, a.case_id, a.outcome,"          \
                                     " a.detail::text, u.display_name, ag.name"
#define ADMIN_AUDIT_FROM                                                                           \
    " FROM audit a LEFT JOIN users u ON u.id = a.user_id"                                          \
    " LEFT JOIN agencies ag ON ag.id = a.agency_id"

/* An Audit row plus display_name and agency_name (null when unknown). */
static json_t *admin_audit_json(const PGresult *r, int i)
{
    json_t *detail = json_loads(mdt_db_str(r, i, 11), 0, NULL);
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o}", "id",
                     (json_int_t)mdt_db_int(r, i, 0), "at", mdt_db_str(r, i, 1), "user_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 2)), "username",
                     mdt_json_str_or_null(mdt_db_str(r, i, 3)), "agency_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 4)), "address",
                     mdt_json_str_or_null(mdt_db_str(r, i, 5)), "action", mdt_db_str(r, i, 6),
                     "object_type", mdt_json_str_or_null(mdt_db_str(r, i, 7)), "object_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 8)), "case_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 9)), "outcome", mdt_db_str(r, i, 10),
                     "detail", detail ? detail : json_object(), "display_name",
                     mdt_json_str_or_null(mdt_db_str(r, i, 12)), "agency_name",
                     mdt_json_str_or_null(mdt_db_str(r, i, 13)));
}

/* The page of audit rows as the answer, and its size in the read's row. */
static void admin_set_result(admin_op_t *op, json_t *items)
{
    op->run.ans.result = mdt_admin_page(items, op->q.limit);
    size_t n = json_array_size(json_object_get(op->run.ans.result, "items"));
    json_object_set_new(op->read_detail, "count", json_integer((json_int_t)n));
}

static int account_changes_work(mdt_dbc_t *c, admin_op_t *op)
{
    char agency[24];
    snprintf(agency, sizeof(agency), "%lld", (long long)op->p.agency_id);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, agency);
    mdt_admin_param_opt_int(&p, op->q.cursor);
    mdt_db_param_int(&p, op->q.limit + 1);
    json_t *items;
    int rc = mdt_accounts_rows(
        c,
        "SELECT " ADMIN_AUDIT_COLS ADMIN_AUDIT_FROM
        " WHERE a.action IN ('user.create', 'user.role_change', 'user.reactivate')"
        " AND a.detail->>'target_agency_id' = $1 AND ($2::bigint IS NULL OR a.id < $2)"
        " ORDER BY a.id DESC LIMIT $3",
        &p, admin_audit_json, &items);
    if (rc == MDT_DB_OK)
        admin_set_result(op, items);
    return rc;
}

void mdt_admin_account_changes(mdt_req_t *req)
{
    admin_op_t *op = mdt_admin_op_new(req, account_changes_work);
    if (!op)
        return;
    op->read_action = "audit.read";
    op->read_detail = json_pack("{s:s}", "view", "account_changes");
    mdt_err_t e;
    if (!mdt_authz_account_changes(&op->p)) {
        mdt_admin_audit_read(op, "denied");
        mdt_http_error(req, 403, "forbidden", NULL, "supervisors only");
        return;
    }
    if (mdt_admin_qpage(req, &op->q, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mdt_admin_run(op);
}

/* The ids of rows whose object_type is type, as int8[] text; NULL if none
 * (or out of memory). */
static char *admin_ids_of(json_t *rows, const char *type)
{
    size_t i;
    json_t *row;
    mdt_idvec_t ids = {0};
    json_array_foreach(rows, i, row)
    {
        const char *t = json_string_value(json_object_get(row, "object_type"));
        json_int_t id = json_integer_value(json_object_get(row, "object_id"));
        if (t && strcmp(t, type) == 0 && id > 0 && mdt_idvec_push(&ids, id) != 0) {
            mdt_idvec_free(&ids);
            return NULL;
        }
    }
    char *s = ids.n ? mdt_ids_literal(ids.v, ids.n) : NULL;
    mdt_idvec_free(&ids);
    return s;
}

/* Marks every row about an item of kind k that p may see (the view filter
 * decides) as seen; the others are redacted later. */
static int admin_check_items(mdt_dbc_t *c, admin_op_t *op, const mdt_case_ctx_t *view,
                             const mdt_content_kind_t *k, json_t *rows, json_t *seen)
{
    char *ids = k->ctx_by_ids_sql ? admin_ids_of(rows, k->object_type) : NULL;
    if (!ids)
        return MDT_DB_OK;
    mdt_idvec_t visible = {0};
    int rc = mdt_content_visible_ids(c, k, &op->p, view, op->q.case_id, ids, &visible);
    free(ids);
    for (size_t i = 0; rc == MDT_DB_OK && i < visible.n; i++) {
        char key[48];
        snprintf(key, sizeof(key), "%s:%lld", k->object_type, (long long)visible.v[i]);
        json_object_set_new(seen, key, json_true());
    }
    mdt_idvec_free(&visible);
    return rc;
}

/* Is the object a row names one a non-admin reader may see? Case-level
 * kinds (no per-item visibility) yes; items when in `seen`; an object type
 * the registry does not know no (fail closed). */
static int admin_row_visible(json_t *row, json_t *seen)
{
    const char *t = json_string_value(json_object_get(row, "object_type"));
    json_int_t id = json_integer_value(json_object_get(row, "object_id"));
    if (!t || id <= 0)
        return 1;
    const mdt_content_kind_t *k = mdt_content_find(t);
    if (!k)
        return 0;
    if (!k->ctx_by_ids_sql)
        return 1;
    char key[48];
    snprintf(key, sizeof(key), "%s:%lld", t, (long long)id);
    return json_object_get(seen, key) != NULL;
}

/* For a supervisor: rows about objects it may not see keep their action
 * but lose object_id and detail, and say "redacted": true. */
static int admin_redact(mdt_dbc_t *c, admin_op_t *op, const mdt_case_ctx_t *view, json_t *rows)
{
    json_t *seen = json_object();
    int rc = MDT_DB_OK;
    size_t nkinds;
    const mdt_content_kind_t *kinds = mdt_content_all(&nkinds);
    for (size_t k = 0; rc == MDT_DB_OK && k < nkinds; k++)
        rc = admin_check_items(c, op, view, &kinds[k], rows, seen);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (rc == MDT_DB_OK && !admin_row_visible(row, seen)) {
            json_object_set_new(row, "object_id", json_null());
            json_object_set_new(row, "detail", json_object());
            json_object_set_new(row, "redacted", json_true());
        }
    }
    json_decref(seen);
    return rc;
}

/* Up to n rows matching op's filters with an id below cursor (0: from the
 * newest), newest first. */
static int audit_rows(mdt_dbc_t *c, const admin_op_t *op, int64_t cursor, int64_t n, json_t **items)
{
    const admin_query_t *q = &op->q;
    size_t alen = strlen(q->action);
    int prefix = alen && q->action[alen - 1] == '.';
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_admin_param_opt_int(&p, q->case_id);
    mdt_admin_param_opt_int(&p, q->user_id);
    mdt_db_param_str(&p, q->since[0] ? q->since : NULL);
    mdt_admin_param_opt_int(&p, cursor);
    mdt_db_param_int(&p, n);
    mdt_admin_param_opt_int(&p, q->agency_id);
    mdt_db_param_str(&p, alen && !prefix ? q->action : NULL);
    mdt_db_param_str(&p, prefix ? q->action : NULL);
    mdt_db_param_str(&p, q->outcome[0] ? q->outcome : NULL);
    mdt_db_param_str(&p, q->until[0] ? q->until : NULL);
    return mdt_accounts_rows(
        c,
        "SELECT " ADMIN_AUDIT_COLS ADMIN_AUDIT_FROM " WHERE ($1::bigint IS NULL OR a.case_id = $1)"
        " AND ($2::bigint IS NULL OR a.user_id = $2)"
        " AND ($3::timestamptz IS NULL OR a.at >= $3)"
        " AND ($4::bigint IS NULL OR a.id < $4)"
        " AND ($6::bigint IS NULL OR a.agency_id = $6)"
        " AND ($7::text IS NULL OR a.action = $7)"
        " AND ($8::text IS NULL OR starts_with(a.action, $8))"
        " AND ($9::text IS NULL OR a.outcome = $9)"
        " AND ($10::text IS NULL OR a.at < CASE WHEN length($10) = 10"
        "   THEN ($10::date + 1)::timestamp AT TIME ZONE 'UTC' ELSE $10::timestamptz END)"
        " ORDER BY a.id DESC LIMIT $5",
        &p, admin_audit_json, items);
}

/* The case (when a case_id is given) as the authorization module sees it:
 * *view NULL when there is no such case. */
static int audit_case(mdt_dbc_t *c, admin_op_t *op, mdt_case_ctx_t *view, int *found)
{
    *found = 0;
    if (!op->q.case_id)
        return MDT_DB_OK;
    op->cx = malloc(sizeof(*op->cx));
    if (!op->cx)
        return MDT_DB_ERROR;
    int rc = mdt_casectx_load(c, op->q.case_id, op->cx);
    if (rc == MDT_DB_NOT_FOUND)
        return MDT_DB_OK;
    if (rc == MDT_DB_OK) {
        *view = mdt_casectx_view(op->cx);
        *found = 1;
    }
    return rc;
}

/* Gives every row case_number: the case's number when the reader may see
 * the case (the case set decides), else null. */
static int audit_case_numbers(mdt_dbc_t *c, admin_op_t *op, json_t *rows)
{
    mdt_caseset_t cs = {0};
    int rc = mdt_caseset_load(c, &op->p, op->q.case_id, &cs);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_int_t id = json_integer_value(json_object_get(row, "case_id"));
        const mdt_caseset_case_t *k = rc == MDT_DB_OK && id > 0 ? mdt_caseset_find(&cs, id) : NULL;
        json_object_set_new(row, "case_number", mdt_json_str_or_null(k ? k->case_number : NULL));
    }
    mdt_caseset_free(&cs);
    return rc;
}

/* One batch of rows as the reader may see them: redacted for a
 * non-admin. */
static int audit_batch(mdt_dbc_t *c, admin_op_t *op, const mdt_case_ctx_t *view, int64_t cursor,
                       int64_t n, json_t **items)
{
    int rc = audit_rows(c, op, cursor, n, items);
    if (rc == MDT_DB_OK && op->p.role != MDT_ROLE_ADMIN)
        rc = admin_redact(c, op, view, *items);
    return rc;
}

#define AUDIT_FOLD_BATCH 500
#define AUDIT_FOLD_SCAN  20000 /* rows one folded page reads at most */

/* With fold_reads: folds rows batch by batch until limit + 1 groups are
 * known (the last of the first limit groups is then complete) or the rows
 * run out, or AUDIT_FOLD_SCAN rows were read (the page ends there: a run
 * of routine reads may then go on at the top of the next page). */
static int audit_folded(mdt_dbc_t *c, admin_op_t *op, const mdt_case_ctx_t *view, json_t *groups,
                        int64_t *next)
{
    int64_t cursor = op->q.cursor, scanned = 0;
    int rc = MDT_DB_OK, more = 1;
    *next = 0;
    while (rc == MDT_DB_OK && more && (int64_t)json_array_size(groups) <= op->q.limit) {
        json_t *batch = NULL;
        rc = audit_batch(c, op, view, cursor, AUDIT_FOLD_BATCH, &batch);
        size_t n = json_array_size(batch), i;
        json_t *row;
        json_array_foreach(batch, i, row)
        {
            mdt_admin_audit_fold(groups, json_incref(row));
            cursor = json_integer_value(json_object_get(row, "id"));
        }
        json_decref(batch);
        scanned += (int64_t)n;
        more = n == AUDIT_FOLD_BATCH; /* else the end of the log */
        if (more && scanned >= AUDIT_FOLD_SCAN && (int64_t)json_array_size(groups) <= op->q.limit) {
            *next = cursor;
            return rc;
        }
    }
    if (rc != MDT_DB_OK || (int64_t)json_array_size(groups) <= op->q.limit)
        return rc;
    while ((int64_t)json_array_size(groups) > op->q.limit)
        json_array_remove(groups, json_array_size(groups) - 1);
    *next = mdt_admin_audit_oldest(json_array_get(groups, json_array_size(groups) - 1));
    return rc;
}

/* {"items", "next"} into the answer, and their count into the read's row. */
static void audit_set_page(admin_op_t *op, json_t *items, int64_t next)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", (long long)next);
    op->run.ans.result =
        json_pack("{s:o, s:o}", "items", items, "next", next ? json_string(buf) : json_null());
    json_object_set_new(op->read_detail, "count", json_integer((json_int_t)json_array_size(items)));
}

static int audit_list_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_case_ctx_t view;
    int found;
    int rc = audit_case(c, op, &view, &found);
    if (rc != MDT_DB_OK)
        return rc;
    if (!mdt_authz_audit_read(&op->p, found ? &view : NULL))
        return mdt_run_fail(&op->run, 403, "forbidden", NULL,
                            "administrators, and supervisors for the cases their agency leads");
    json_t *items = NULL;
    int64_t next = 0;
    if (op->q.fold_reads) {
        items = json_array();
        rc = audit_folded(c, op, &view, items, &next);
    } else {
        rc = audit_batch(c, op, &view, op->q.cursor, op->q.limit + 1, &items);
        if ((int64_t)json_array_size(items) > op->q.limit) {
            json_array_remove(items, json_array_size(items) - 1);
            next = mdt_admin_audit_oldest(json_array_get(items, json_array_size(items) - 1));
        }
    }
    if (rc == MDT_DB_OK)
        rc = audit_case_numbers(c, op, items);
    audit_set_page(op, items, next);
    return rc;
}

/* -1 with e filled (422 validation, field) unless s is empty or one of
 * the NULL-terminated words. */
static int audit_one_of(const char *s, const char *field, const char *const *words, mdt_err_t *e)
{
    if (!s || !*s)
        return 0;
    for (const char *const *w = words; *w; w++)
        if (strcmp(s, *w) == 0)
            return 0;
    mdt_err_set(e, 422, "validation", field, "%s must be one of the values docs/admin.md lists",
                field);
    return -1;
}

/* action: an exact action or a prefix ending in '.': 1-64 of a-z 0-9 _ .
 * copied into q. */
static int audit_parse_action(const char *s, admin_query_t *q, mdt_err_t *e)
{
    if (!s || !*s)
        return 0;
    size_t n = strlen(s);
    if (n > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.") != n || s[0] == '.') {
        mdt_err_set(e, 422, "validation", "action",
                    "action must be an action (meeting.read) or a prefix ending in a dot "
                    "(meeting.)");
        return -1;
    }
    snprintf(q->action, sizeof(q->action), "%s", s);
    return 0;
}

/* since (a date-time, or a date: its UTC midnight) and until (a
 * date-time, or a date: the whole day counts), both RFC 3339. */
static int audit_parse_times(mdt_req_t *req, admin_query_t *q, mdt_err_t *e)
{
    const char *since = mdt_req_query(req, "since");
    if (since && *since && !mdt_admin_valid_time(since, q->since)) {
        mdt_err_set(e, 422, "validation", "since",
                    "since must be an RFC 3339 time (2026-11-28T14:03:00Z) or a date");
        return -1;
    }
    const char *until = mdt_req_query(req, "until");
    if (until && *until && !mdt_admin_valid_time(until, q->until)) {
        mdt_err_set(e, 422, "validation", "until",
                    "until must be an RFC 3339 time (2026-11-28T14:03:00Z) or a date");
        return -1;
    }
    if (until && strlen(until) == 10)
        snprintf(q->until, sizeof(q->until), "%s", until); /* the whole day */
    return 0;
}

#define AUDIT_CSV_MAX 10000

/* format (json|csv), then limit (1..500, or 1..10000 for CSV whose default
 * is the maximum) and cursor. */
static int audit_parse_page(mdt_req_t *req, admin_query_t *q, mdt_err_t *e)
{
    static const char *const formats[] = {"json", "csv", NULL};
    const char *format = mdt_req_query(req, "format");
    if (audit_one_of(format, "format", formats, e) < 0)
        return -1;
    q->csv = format && strcmp(format, "csv") == 0;
    if (!q->csv)
        return mdt_admin_qpage(req, q, e);
    if (mdt_req_query_int(req, "limit", 1, AUDIT_CSV_MAX, AUDIT_CSV_MAX, &q->limit, e) < 0 ||
        mdt_req_query_int(req, "cursor", 1, INT64_MAX, 0, &q->cursor, e) < 0)
        return -1;
    return 0;
}

/* Reads the filters; -1 with e filled. */
static int audit_list_parse(mdt_req_t *req, admin_query_t *q, mdt_err_t *e)
{
    static const char *const outcomes[] = {"ok", "denied", "failure", "mfa_required", NULL};
    static const char *const bools[] = {"true", "false", NULL};
    const char *outcome = mdt_req_query(req, "outcome");
    const char *fold = mdt_req_query(req, "fold_reads");
    if (mdt_req_query_int(req, "case_id", 1, INT64_MAX, 0, &q->case_id, e) < 0 ||
        mdt_req_query_int(req, "user_id", 1, INT64_MAX, 0, &q->user_id, e) < 0 ||
        mdt_req_query_int(req, "agency_id", 1, INT64_MAX, 0, &q->agency_id, e) < 0 ||
        audit_parse_page(req, q, e) < 0 ||
        audit_parse_action(mdt_req_query(req, "action"), q, e) < 0 ||
        audit_one_of(outcome, "outcome", outcomes, e) < 0 ||
        audit_one_of(fold, "fold_reads", bools, e) < 0 || audit_parse_times(req, q, e) < 0)
        return -1;
    snprintf(q->outcome, sizeof(q->outcome), "%s", outcome ? outcome : "");
    q->fold_reads = fold && strcmp(fold, "true") == 0;
    return 0;
}

/* detail of the audit.read row: which filters were given (not their
 * values), "format": "csv" for an export, and, once known, how many rows
 * were read. */
static json_t *audit_read_detail(const admin_query_t *q)
{
    const struct {
        const char *name;
        int given;
    } f[] = {{"case_id", q->case_id != 0},     {"user_id", q->user_id != 0},
             {"agency_id", q->agency_id != 0}, {"action", q->action[0] != 0},
             {"outcome", q->outcome[0] != 0},  {"since", q->since[0] != 0},
             {"until", q->until[0] != 0},      {"fold_reads", q->fold_reads},
             {"cursor", q->cursor != 0}};
    json_t *filters = json_array();
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].given)
            json_array_append_new(filters, json_string(f[i].name));
    json_t *d = json_pack("{s:s, s:o}", "view", "audit", "filters", filters);
    if (q->csv)
        json_object_set_new(d, "format", json_string("csv"));
    return d;
}

void mdt_admin_audit_list(mdt_req_t *req)
{
    admin_op_t *op = mdt_admin_op_new(req, audit_list_work);
    if (!op)
        return;
    mdt_err_t e;
    if (audit_list_parse(req, &op->q, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    op->read_action = "audit.read";
    op->read_case_id = op->q.case_id;
    op->read_detail = audit_read_detail(&op->q);
    if (op->q.csv)
        op->answer = mdt_admin_audit_csv;
    /* without a case only an admin may read; with one, the database knows */
    if (!op->q.case_id && !mdt_authz_audit_read(&op->p, NULL)) {
        mdt_admin_audit_read(op, "denied");
        mdt_http_error(req, 403, "forbidden", NULL,
                       "administrators, and supervisors for the cases their agency leads");
        return;
    }
    mdt_admin_run(op);
}
