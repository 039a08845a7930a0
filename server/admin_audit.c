/* admin_audit.c - reading the audit log: /account-changes for supervisors
 * and the audit-log reader, whose rows about objects the reader may not
 * see are redacted through the content registry and the view filter
 * (content.h, view.h). */
#include "admin_int.h"

/* ---- reading the audit log ---- */

#define ADMIN_AUDIT_COLS                                                                           \
    "id, " MDT_ACCOUNTS_TS("at") ", user_id, username, agency_id, address, action, object_type,"   \
                                 " object_id, case_id, outcome, detail::text"

static json_t *admin_audit_json(const PGresult *r, int i)
{
    json_t *detail = json_loads(mdt_db_str(r, i, 11), 0, NULL);
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:s, s:o}", "id",
                     (json_int_t)mdt_db_int(r, i, 0), "at", mdt_db_str(r, i, 1), "user_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 2)), "username",
                     mdt_json_str_or_null(mdt_db_str(r, i, 3)), "agency_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 4)), "address",
                     mdt_json_str_or_null(mdt_db_str(r, i, 5)), "action", mdt_db_str(r, i, 6),
                     "object_type", mdt_json_str_or_null(mdt_db_str(r, i, 7)), "object_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 8)), "case_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 9)), "outcome", mdt_db_str(r, i, 10),
                     "detail", detail ? detail : json_object());
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
        "SELECT " ADMIN_AUDIT_COLS " FROM audit"
        " WHERE action IN ('user.create', 'user.role_change', 'user.reactivate')"
        " AND detail->>'target_agency_id' = $1 AND ($2::bigint IS NULL OR id < $2)"
        " ORDER BY id DESC LIMIT $3",
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

static int audit_rows(mdt_dbc_t *c, admin_op_t *op, json_t **items)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_admin_param_opt_int(&p, op->q.case_id);
    mdt_admin_param_opt_int(&p, op->q.user_id);
    mdt_db_param_str(&p, op->q.since[0] ? op->q.since : NULL);
    mdt_admin_param_opt_int(&p, op->q.cursor);
    mdt_db_param_int(&p, op->q.limit + 1);
    return mdt_accounts_rows(c,
                             "SELECT " ADMIN_AUDIT_COLS " FROM audit"
                             " WHERE ($1::bigint IS NULL OR case_id = $1)"
                             " AND ($2::bigint IS NULL OR user_id = $2)"
                             " AND ($3::timestamptz IS NULL OR at >= $3)"
                             " AND ($4::bigint IS NULL OR id < $4)"
                             " ORDER BY id DESC LIMIT $5",
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
    json_t *items;
    rc = audit_rows(c, op, &items);
    if (rc != MDT_DB_OK)
        return rc;
    if (op->p.role != MDT_ROLE_ADMIN)
        rc = admin_redact(c, op, &view, items);
    admin_set_result(op, items);
    return rc;
}

/* Reads the filters; -1 with e filled. */
static int audit_list_parse(mdt_req_t *req, admin_query_t *q, mdt_err_t *e)
{
    if (mdt_req_query_int(req, "case_id", 1, INT64_MAX, q->case_id, &q->case_id, e) < 0 ||
        mdt_req_query_int(req, "user_id", 1, INT64_MAX, q->user_id, &q->user_id, e) < 0 ||
        mdt_admin_qpage(req, q, e) < 0)
        return -1;
    const char *since = mdt_req_query(req, "since");
    if (since && *since && !mdt_admin_valid_time(since, q->since)) {
        mdt_err_set(e, 422, "validation", "since",
                    "since must be an RFC 3339 time (2026-11-28T14:03:00Z) or a date");
        return -1;
    }
    return 0;
}

/* detail of the audit.read row: which filters were given (not their
 * values) and, once known, how many rows were read. */
static json_t *audit_read_detail(const admin_query_t *q)
{
    json_t *filters = json_array();
    if (q->case_id)
        json_array_append_new(filters, json_string("case_id"));
    if (q->user_id)
        json_array_append_new(filters, json_string("user_id"));
    if (q->since[0])
        json_array_append_new(filters, json_string("since"));
    if (q->cursor)
        json_array_append_new(filters, json_string("cursor"));
    return json_pack("{s:s, s:o}", "view", "audit", "filters", filters);
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
    /* without a case only an admin may read; with one, the database knows */
    if (!op->q.case_id && !mdt_authz_audit_read(&op->p, NULL)) {
        mdt_admin_audit_read(op, "denied");
        mdt_http_error(req, 403, "forbidden", NULL,
                       "administrators, and supervisors for the cases their agency leads");
        return;
    }
    mdt_admin_run(op);
}
