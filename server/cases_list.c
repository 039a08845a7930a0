/* cases_list.c - GET /cases: the cases the caller's agency is on, filtered
 * in SQL by membership and then by mdt_authz_case_visible row by row, with
 * open/overdue counts decided by the view filter (see cases.h). */
#include "cases_int.h"

#include "ctx.h"

/* ---- GET /cases ---- */

typedef struct {
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    char statuses[64]; /* text[] literal of validated names, "" = any */
    char *pattern;     /* ILIKE pattern, NULL = no search */
    int64_t limit, cursor;
    mdt_run_t run; /* the runner and the answer */
} list_t;

typedef struct {
    int64_t id, lead;
    int64_t agencies[MDT_CASE_MAX_AGENCIES];
    size_t n_agencies;
    int open, overdue, visible;
} list_row_t;

static void list_free(void *arg)
{
    list_t *l = arg;
    free(l->pattern);
    mdt_run_free(&l->run);
    free(l);
}

/* status=a,b: each a case status; builds the text[] literal from our own
 * spellings. */
static int list_parse_status(mdt_req_t *req, list_t *l, mdt_err_t *e)
{
    const char *s = mdt_req_query(req, "status");
    if (!s || !*s)
        return 0;
    size_t k = (size_t)snprintf(l->statuses, sizeof(l->statuses), "{");
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int i = 0; case_statuses[i]; i++) {
            if (strlen(case_statuses[i]) == len && strncmp(case_statuses[i], s, len) == 0)
                found = i;
        }
        if (found < 0) {
            mdt_err_set(e, 422, "validation", "status",
                        "status must be referred, active, monitoring or closed (comma-separated)");
            return -1;
        }
        k += (size_t)snprintf(l->statuses + k, sizeof(l->statuses) - k, "%s%s", k > 1 ? "," : "",
                              case_statuses[found]);
        s += len + (s[len] == ',');
    }
    snprintf(l->statuses + k, sizeof(l->statuses) - k, "}");
    return 0;
}

/* q: a substring of case_number or alias; %, _ and \ match themselves. */
static int list_parse_q(mdt_req_t *req, list_t *l, mdt_err_t *e)
{
    const char *q = mdt_req_query(req, "q");
    if (!q || mdt_cases_blank(q))
        return 0;
    size_t n = strlen(q);
    if (n > CASES_MAX_Q) {
        mdt_err_set(e, 422, "validation", "q", "q must be at most %d bytes", CASES_MAX_Q);
        return -1;
    }
    char *pat = malloc(2 * n + 3);
    if (!pat) {
        mdt_err_set(e, 500, "internal", NULL, "out of memory");
        return -1;
    }
    size_t k = 0;
    pat[k++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
            pat[k++] = '\\';
        pat[k++] = q[i];
    }
    pat[k++] = '%';
    pat[k] = 0;
    l->pattern = pat;
    return 0;
}

static PGresult *list_query(mdt_dbc_t *c, const list_t *l)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, l->p.agency_id);
    mdt_db_param_str(&q, l->statuses[0] ? l->statuses : NULL);
    mdt_db_param_str(&q, l->pattern);
    if (l->cursor)
        mdt_db_param_int(&q, l->cursor);
    else
        mdt_db_param_str(&q, NULL);
    mdt_db_param_int(&q, l->limit + 1);
    mdt_db_param_str(&q, mdt_ctx_time_zone(l->req));
    /* the review dates follow CASE_COLS (from COL_END) */
    return mdt_db_query(c,
                        "SELECT " CASE_COLS ", " MDT_CASES_REVIEW_COLS
                        " FROM cases c" MDT_CASES_REVIEW_JOIN(
                            "$6") " WHERE EXISTS (SELECT 1 FROM case_agencies m WHERE m.case_id = "
                                  "c.id AND m.agency_id = $1)"
                                  " AND c.purged_at IS NULL" /* tombstones: docs/retention.md */
                                  " AND ($2::text[] IS NULL OR c.status = ANY($2::text[]))"
                                  " AND ($3::text IS NULL OR c.case_number ILIKE $3 ESCAPE '\\' OR "
                                  "c.alias ILIKE $3 ESCAPE "
                                  "'\\')"
                                  " AND ($4::bigint IS NULL OR c.id < $4::bigint)"
                                  " ORDER BY c.id DESC LIMIT $5",
                        &q);
}

/* The row of rows[0..n) (ids descending) for case id, or NULL. */
static list_row_t *list_find(list_row_t *rows, int n, int64_t id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (rows[mid].id == id)
            return &rows[mid];
        if (rows[mid].id > id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* The predicate's columns in the query of list_count_actions. */
static const mdt_view_cols_t COUNT_COLS = {.vis = 1,
                                           .visible_to = 4,
                                           .author_agency = 2,
                                           .author_user = 3,
                                           .assignee_agency = 5,
                                           .assignee_user = 6};

/* Counts, per visible row, the open and overdue action items p may see. */
static int list_count_actions(mdt_dbc_t *c, list_t *l, list_row_t *rows, int n)
{
    int64_t *ids = calloc((size_t)n + 1, sizeof(int64_t));
    size_t k = 0;
    for (int i = 0; ids && i < n; i++) {
        if (rows[i].visible)
            ids[k++] = rows[i].id;
    }
    char *lit = ids ? mdt_ids_literal(ids, k) : NULL;
    free(ids);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    mdt_db_param_str(&q, mdt_ctx_time_zone(l->req));
    PGresult *r = mdt_db_query(
        c,
        "SELECT case_id, visibility, agency_id, created_by, visible_to::text, assignee_agency_id,"
        " coalesce(assignee_id, 0), coalesce(due_date < (now() AT TIME ZONE $2)::date, false)"
        " FROM actions WHERE case_id = ANY($1::bigint[]) AND retracted_at IS NULL"
        " AND status IN ('open', 'in_progress')",
        &q);
    free(lit);
    if (!r)
        return c->status;
    for (int i = 0; i < PQntuples(r); i++) {
        list_row_t *row = list_find(rows, n, mdt_db_int(r, i, 0));
        if (!row)
            continue;
        mdt_case_ctx_t v = {.case_id = row->id,
                            .lead_agency_id = row->lead,
                            .agencies = row->agencies,
                            .n_agencies = row->n_agencies};
        if (!mdt_view_row_visible(&l->p, &v, r, i, &COUNT_COLS, NULL))
            continue;
        row->open++;
        row->overdue += mdt_db_bool(r, i, 7);
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* Reads the rows' ids and agencies and asks the predicate about each. */
static void list_rows_init(const list_t *l, const PGresult *r, list_row_t *rows, int n)
{
    for (int i = 0; i < n; i++) {
        list_row_t *row = &rows[i];
        row->id = mdt_db_int(r, i, COL_ID);
        row->lead = mdt_db_int(r, i, COL_LEAD);
        row->n_agencies = mdt_casectx_parse_ids(mdt_db_str(r, i, COL_AGENCIES), row->agencies,
                                                MDT_CASE_MAX_AGENCIES);
        mdt_case_ctx_t v = {.case_id = row->id,
                            .lead_agency_id = row->lead,
                            .agencies = row->agencies,
                            .n_agencies = row->n_agencies};
        row->visible = mdt_authz_case_visible(&l->p, &v);
        if (!row->visible)
            mdt_log_warn("case list row refused by the predicate", "case_id=%lld user_id=%lld",
                         (long long)row->id, (long long)l->p.user_id);
    }
}

static json_t *list_items(const PGresult *r, const list_row_t *rows, int n, const mdt_idvec_t *seen)
{
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        if (!rows[i].visible)
            continue;
        json_t *o = mdt_cases_case_row_json(r, i, seen);
        json_object_set_new(o, "open_actions", json_integer(rows[i].open));
        json_object_set_new(o, "overdue_actions", json_integer(rows[i].overdue));
        mdt_cases_review_set(o, r, i, COL_END);
        json_array_append_new(items, o);
    }
    return items;
}

static int list_work(mdt_dbc_t *c, void *arg)
{
    list_t *l = arg;
    PGresult *r = list_query(c, l);
    if (!r)
        return c->status;
    int n = PQntuples(r);
    int more = n > l->limit;
    if (more)
        n = (int)l->limit;
    list_row_t *rows = calloc((size_t)n + 1, sizeof(*rows));
    mdt_idvec_t seen = {0};
    int rc = rows ? MDT_DB_OK : MDT_DB_ERROR;
    if (rc == MDT_DB_OK) {
        list_rows_init(l, r, rows, n);
        rc = list_count_actions(c, l, rows, n);
    }
    if (rc == MDT_DB_OK)
        rc = mdt_cases_related_seen(c, &l->p, r, n, &seen);
    if (rc == MDT_DB_OK) {
        char next[24];
        snprintf(next, sizeof(next), "%lld", n ? (long long)rows[n - 1].id : 0LL);
        l->run.ans.result = json_pack("{s:o, s:o}", "items", list_items(r, rows, n, &seen), "next",
                                      more ? json_string(next) : json_null());
    }
    mdt_idvec_free(&seen);
    free(rows);
    PQclear(r);
    return rc;
}

/* Loop, before the runner answers: the read's audit row. */
static void list_finish(void *arg, int status)
{
    list_t *l = arg;
    mdt_req_t *req = l->req;
    if (status != MDT_DB_OK)
        return;
    json_t *detail = json_pack(
        "{s:I}", "count", (json_int_t)json_array_size(json_object_get(l->run.ans.result, "items")));
    mdt_audit_rec_t rec = {.action = "case.list", .object_type = "case", .detail = detail};
    mdt_audit_read(req->srv, &l->actor, &rec);
    json_decref(detail);
}

void mdt_cases_list(mdt_req_t *req)
{
    list_t *l = calloc(1, sizeof(*l));
    if (!l) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    req->state = l;
    req->state_free = list_free;
    l->req = req;
    l->p = mdt_auth_principal(req);
    mdt_audit_actor_from_req(req, &l->actor);
    mdt_err_t e = {0};
    if (list_parse_status(req, l, &e) != 0 || list_parse_q(req, l, &e) != 0 ||
        mdt_req_query_int(req, "limit", 1, 500, 50, &l->limit, &e) != 0 ||
        mdt_req_query_int(req, "cursor", 1, INT64_MAX, 0, &l->cursor, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mdt_run_init(&l->run, req, l, list_work);
    l->run.finish = list_finish;
    mdt_run_start(&l->run);
}
