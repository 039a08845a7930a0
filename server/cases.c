/* cases.c - cases: the list, creation, the board and case edits (see cases.h).
 *
 * Who may see or change what is decided by authz.h alone. The list filters in
 * SQL by membership (the caller's agency in case_agencies) and then asks
 * mdt_authz_case_visible for every row it got, dropping (and logging) any
 * row the two disagree on; its open/overdue counts ask mdt_authz_item_visible
 * for every open action item. Related case ids the caller may not see are
 * left out of every Case it gets, and kept untouched when it edits the list.
 * Case-scoped requests run through caseop.h; creation, which has no case
 * yet, runs its own transaction with the same audit-then-event ending. */
#include "cases.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "audit.h"
#include "caseop.h"
#include "entries.h"
#include "events.h"
#include "idem.h"
#include "json.h"
#include "log.h"
#include "pii.h"
#include "records.h"
#include "server.h"
#include "session.h"

#define CASES_MAX_RELATED 50
#define CASES_MAX_Q       100
#define CASES_MAX_VIS     64 /* visible_to ids read per item */

static const char *const case_statuses[] = {"referred", "active", "monitoring", "closed", NULL};

/* The Case columns, in the order of the COL_ constants below. */
#define CASE_COLS                                                                                  \
    "c.id, c.case_number, c.alias, c.status, c.municipality,"                                      \
    " to_char(c.referral_date, 'YYYY-MM-DD'), c.lead_agency_id, c.related_case_ids::text,"         \
    " c.pii_owner_identity, c.pii_owner_contact, c.pii_owner_immigration, c.pii_owner_health,"     \
    " c.version, to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"      \
    " (SELECT coalesce(array_agg(ca.agency_id ORDER BY ca.agency_id), '{}')"                       \
    "  FROM case_agencies ca WHERE ca.case_id = c.id)::text"

enum {
    COL_ID,
    COL_NUMBER,
    COL_ALIAS,
    COL_STATUS,
    COL_MUNI,
    COL_REFERRAL,
    COL_LEAD,
    COL_RELATED,
    COL_OWNERS, /* four columns, in mdt_pii_cat_t order */
    COL_VERSION = COL_OWNERS + MDT_PII_COUNT,
    COL_CREATED,
    COL_AGENCIES,
};

/* ---- small helpers ---- */

typedef struct {
    int64_t *v;
    size_t n, cap;
} idvec_t;

static int idvec_push(idvec_t *a, int64_t id)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        int64_t *v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 0;
}

static bool idvec_has(const idvec_t *a, int64_t id)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i] == id)
            return true;
    }
    return false;
}

static void idvec_free(idvec_t *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

static bool ids_has(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id)
            return true;
    }
    return false;
}

/* Same members, whatever the order (both without duplicates). */
static bool ids_same_set(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (!ids_has(b, nb, a[i]))
            return false;
    }
    return true;
}

/* "{1,2,3}" for an int8[] parameter; malloc'ed, NULL when out of memory. */
static char *ids_literal(const int64_t *ids, size_t n)
{
    size_t cap = 3 + n * 21;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t k = (size_t)snprintf(s, cap, "{");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s%lld", i ? "," : "", (long long)ids[i]);
    snprintf(s + k, cap - k, "}");
    return s;
}

static bool blank(const char *s)
{
    for (; s && *s; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    }
    return true;
}

/* A required, non-blank string of at most maxlen bytes. */
static int read_name(json_t *b, const char *key, int required, size_t maxlen, const char **out,
                     mdt_err_t *e)
{
    int rc = mdt_json_str(b, key, required, maxlen, out, e);
    if (rc == 0 && blank(*out)) {
        mdt_err_set(e, 422, "validation", key, "%s must not be empty", key);
        return -1;
    }
    return rc;
}

/* ---- which cases the caller sees ---- */

/* Appends to out those of ids[0..n) that are cases p may see, asking the
 * predicate with each case's agencies. */
static int cases_filter_visible(mdt_dbc_t *c, const mdt_principal_t *p, const int64_t *ids,
                                size_t n, idvec_t *out)
{
    if (n == 0)
        return MDT_DB_OK;
    char *lit = ids_literal(ids, n);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r = mdt_db_query(c,
                               "SELECT r.id, r.lead_agency_id,"
                               " (SELECT coalesce(array_agg(agency_id), '{}') FROM case_agencies"
                               "  WHERE case_id = r.id)::text"
                               " FROM cases r WHERE r.id = ANY($1::bigint[])",
                               &q);
    free(lit);
    if (!r)
        return c->status;
    int rc = MDT_DB_OK;
    for (int i = 0; i < PQntuples(r) && rc == MDT_DB_OK; i++) {
        int64_t ag[MDT_CASE_MAX_AGENCIES];
        mdt_case_ctx_t v = {.case_id = mdt_db_int(r, i, 0), .lead_agency_id = mdt_db_int(r, i, 1)};
        v.agencies = ag;
        v.n_agencies = mdt_casectx_parse_ids(mdt_db_str(r, i, 2), ag, MDT_CASE_MAX_AGENCIES);
        if (mdt_authz_case_visible(p, &v) && idvec_push(out, v.case_id) != 0)
            rc = MDT_DB_ERROR;
    }
    PQclear(r);
    return rc;
}

/* One CASE_COLS row as the Case object; related ids only those in seen. */
static json_t *case_row_json(const PGresult *r, int row, const idvec_t *seen)
{
    int64_t rel[CASES_MAX_RELATED], ag[MDT_CASE_MAX_AGENCIES];
    size_t nrel = mdt_casectx_parse_ids(mdt_db_str(r, row, COL_RELATED), rel, CASES_MAX_RELATED);
    size_t nag = mdt_casectx_parse_ids(mdt_db_str(r, row, COL_AGENCIES), ag, MDT_CASE_MAX_AGENCIES);
    json_t *related = json_array();
    for (size_t i = 0; i < nrel; i++) {
        if (idvec_has(seen, rel[i]))
            json_array_append_new(related, json_integer(rel[i]));
    }
    json_t *owners = json_object();
    for (int k = 0; k < MDT_PII_COUNT; k++)
        json_object_set_new(owners, mdt_authz_pii_cat_name((mdt_pii_cat_t)k),
                            json_integer(mdt_db_int(r, row, COL_OWNERS + k)));
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:o, s:s, s:I, s:o, s:o, s:o, s:I, s:s}", "id",
        (json_int_t)mdt_db_int(r, row, COL_ID), "case_number", mdt_db_str(r, row, COL_NUMBER),
        "alias", mdt_db_str(r, row, COL_ALIAS), "status", mdt_db_str(r, row, COL_STATUS),
        "municipality", mdt_json_str_or_null(mdt_db_str(r, row, COL_MUNI)), "referral_date",
        mdt_db_str(r, row, COL_REFERRAL), "lead_agency_id",
        (json_int_t)mdt_db_int(r, row, COL_LEAD), "agencies", mdt_entries_ids_json(ag, nag),
        "pii_owners", owners, "related_case_ids", related, "version",
        (json_int_t)mdt_db_int(r, row, COL_VERSION), "created_at", mdt_db_str(r, row, COL_CREATED));
}

/* The related ids of rows [0, n) of a CASE_COLS result that p may see. */
static int related_seen(mdt_dbc_t *c, const mdt_principal_t *p, const PGresult *r, int n,
                        idvec_t *seen)
{
    idvec_t all = {0};
    for (int i = 0; i < n; i++) {
        int64_t rel[CASES_MAX_RELATED];
        size_t k = mdt_casectx_parse_ids(mdt_db_str(r, i, COL_RELATED), rel, CASES_MAX_RELATED);
        for (size_t j = 0; j < k; j++) {
            if (!idvec_has(&all, rel[j]) && idvec_push(&all, rel[j]) != 0) {
                idvec_free(&all);
                return MDT_DB_ERROR;
            }
        }
    }
    int rc = cases_filter_visible(c, p, all.v, all.n, seen);
    idvec_free(&all);
    return rc;
}

/* The Case as p sees it into *out (NULL when p may not see it). */
static int cases_load_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                           json_t **out)
{
    *out = NULL;
    mdt_case_ctx_t v = mdt_casectx_view(cx);
    if (!mdt_authz_case_visible(p, &v))
        return MDT_DB_OK;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, cx->case_id);
    PGresult *r = mdt_db_query(c, "SELECT " CASE_COLS " FROM cases c WHERE c.id = $1", &q);
    if (!r)
        return c->status;
    int rc = PQntuples(r) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    idvec_t seen = {0};
    if (rc == MDT_DB_OK)
        rc = related_seen(c, p, r, 1, &seen);
    if (rc == MDT_DB_OK)
        *out = case_row_json(r, 0, &seen);
    idvec_free(&seen);
    PQclear(r);
    return rc;
}

json_t *mdt_cases_get_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx)
{
    json_t *out;
    return cases_load_json(c, p, cx, &out) == MDT_DB_OK ? out : NULL;
}

/* ---- GET /cases ---- */

typedef struct {
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    char statuses[64]; /* text[] literal of validated names, "" = any */
    char *pattern;     /* ILIKE pattern, NULL = no search */
    int64_t limit, cursor;
    json_t *result;
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
    json_decref(l->result);
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
    if (!q || blank(q))
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
    mdt_db_param_str(&q, l->req->srv->cfg.time_zone);
    /* the two review dates are the last columns, after CASE_COLS */
    return mdt_db_query(
        c,
        "SELECT " CASE_COLS ","
        " (SELECT to_char(min((m.scheduled_at AT TIME ZONE $6)::date), 'YYYY-MM-DD')"
        "  FROM meeting_cases mc JOIN meetings m ON m.id = mc.meeting_id"
        "  WHERE mc.case_id = c.id AND mc.removed_at IS NULL AND m.status = 'planned'"
        "  AND (m.scheduled_at AT TIME ZONE $6)::date >= (now() AT TIME ZONE $6)::date),"
        " (SELECT to_char(max((m.started_at AT TIME ZONE $6)::date), 'YYYY-MM-DD')"
        "  FROM meeting_cases mc JOIN meetings m ON m.id = mc.meeting_id"
        "  WHERE mc.case_id = c.id AND m.started_at IS NOT NULL"
        "  AND coalesce(mc.outcome_md, '') <> '')"
        " FROM cases c"
        " WHERE EXISTS (SELECT 1 FROM case_agencies m WHERE m.case_id = c.id AND m.agency_id = $1)"
        " AND ($2::text[] IS NULL OR c.status = ANY($2::text[]))"
        " AND ($3::text IS NULL OR c.case_number ILIKE $3 ESCAPE '\\' OR c.alias ILIKE $3 ESCAPE "
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

/* Counts, per visible row, the open and overdue action items p may see. */
static int list_count_actions(mdt_dbc_t *c, list_t *l, list_row_t *rows, int n)
{
    int64_t *ids = calloc((size_t)n + 1, sizeof(int64_t));
    size_t k = 0;
    for (int i = 0; ids && i < n; i++) {
        if (rows[i].visible)
            ids[k++] = rows[i].id;
    }
    char *lit = ids ? ids_literal(ids, k) : NULL;
    free(ids);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    mdt_db_param_str(&q, l->req->srv->cfg.time_zone);
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
        int64_t vis_to[CASES_MAX_VIS];
        mdt_item_ctx_t it = {.author_agency_id = mdt_db_int(r, i, 2),
                             .author_user_id = mdt_db_int(r, i, 3),
                             .visible_to = vis_to,
                             .assignee_agency_id = mdt_db_int(r, i, 5),
                             .assignee_user_id = mdt_db_int(r, i, 6)};
        it.n_visible_to = mdt_casectx_parse_ids(mdt_db_str(r, i, 4), vis_to, CASES_MAX_VIS);
        if (!row || mdt_authz_visibility_parse(mdt_db_str(r, i, 1), &it.visibility) != 0)
            continue;
        mdt_case_ctx_t v = {.case_id = row->id,
                            .lead_agency_id = row->lead,
                            .agencies = row->agencies,
                            .n_agencies = row->n_agencies};
        if (!mdt_authz_item_visible(&l->p, &v, &it))
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

static json_t *list_items(const PGresult *r, const list_row_t *rows, int n, const idvec_t *seen)
{
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        if (!rows[i].visible)
            continue;
        json_t *o = case_row_json(r, i, seen);
        json_object_set_new(o, "open_actions", json_integer(rows[i].open));
        json_object_set_new(o, "overdue_actions", json_integer(rows[i].overdue));
        int ncols = PQnfields(r);
        json_object_set_new(o, "next_review", mdt_json_str_or_null(mdt_db_str(r, i, ncols - 2)));
        json_object_set_new(o, "last_reviewed", mdt_json_str_or_null(mdt_db_str(r, i, ncols - 1)));
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
    idvec_t seen = {0};
    int rc = rows ? MDT_DB_OK : MDT_DB_ERROR;
    if (rc == MDT_DB_OK) {
        list_rows_init(l, r, rows, n);
        rc = list_count_actions(c, l, rows, n);
    }
    if (rc == MDT_DB_OK)
        rc = related_seen(c, &l->p, r, n, &seen);
    if (rc == MDT_DB_OK) {
        char next[24];
        snprintf(next, sizeof(next), "%lld", n ? (long long)rows[n - 1].id : 0LL);
        l->result = json_pack("{s:o, s:o}", "items", list_items(r, rows, n, &seen), "next",
                              more ? json_string(next) : json_null());
    }
    idvec_free(&seen);
    free(rows);
    PQclear(r);
    return rc;
}

static void list_done(void *arg, int status)
{
    list_t *l = arg;
    mdt_req_t *req = l->req;
    if (status != MDT_DB_OK) {
        mdt_http_fail_db(req, status);
        return;
    }
    json_t *detail = json_pack("{s:I}", "count",
                               (json_int_t)json_array_size(json_object_get(l->result, "items")));
    mdt_audit_rec_t rec = {.action = "case.list", .object_type = "case", .detail = detail};
    mdt_audit_read(req->srv, &l->actor, &rec);
    json_decref(detail);
    json_t *res = l->result;
    l->result = NULL;
    mdt_http_respond_json(req, 200, res);
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
    if (mdt_db_submit(req->srv->db, list_work, list_done, l) != 0)
        mdt_http_fail_db(req, MDT_DB_REFUSED);
}

/* ---- POST /cases ---- */

typedef struct {
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    const char *number, *alias, *municipality; /* borrowed from req->json */
    int status;
    char referral[11];
    int64_t *agencies; /* the lead first */
    size_t n_agencies;
    int64_t *related;
    size_t n_related;
    mdt_agency_kind_t kinds[MDT_CASE_MAX_AGENCIES];
    int64_t case_id;
    json_t *result, *current; /* current: the existing case on a duplicate */
    mdt_err_t err;
    mdt_idem_t idem; /* Idempotency-Key (idem.h) */
} create_t;

static void create_free(void *arg)
{
    create_t *k = arg;
    free(k->agencies);
    free(k->related);
    json_decref(k->result);
    json_decref(k->current);
    mdt_idem_clear(&k->idem);
    free(k);
}

/* Puts the caller's agency (the lead) first in k->agencies. */
static int create_lead_first(create_t *k, mdt_err_t *e)
{
    int64_t *a = malloc((k->n_agencies + 1) * sizeof(*a));
    if (!a) {
        mdt_err_set(e, 500, "internal", NULL, "out of memory");
        return -1;
    }
    size_t n = 0;
    a[n++] = k->p.agency_id;
    for (size_t i = 0; i < k->n_agencies; i++) {
        if (k->agencies[i] != k->p.agency_id)
            a[n++] = k->agencies[i];
    }
    free(k->agencies);
    k->agencies = a;
    k->n_agencies = n;
    if (n > MDT_CASE_MAX_AGENCIES) {
        mdt_err_set(e, 422, "validation", "agencies", "a case may have at most %d agencies",
                    MDT_CASE_MAX_AGENCIES);
        return -1;
    }
    return 0;
}

static int create_parse(create_t *k, json_t *b, mdt_err_t *e)
{
    if (read_name(b, "case_number", 1, 64, &k->number, e) < 0 ||
        read_name(b, "alias", 1, 100, &k->alias, e) < 0 ||
        mdt_json_enum(b, "status", 0, case_statuses, &k->status, e) < 0 ||
        mdt_json_str(b, "municipality", 0, 100, &k->municipality, e) < 0 ||
        mdt_json_date(b, "referral_date", 1, k->referral, e) < 0 ||
        mdt_json_ids(b, "agencies", 1, MDT_CASE_MAX_AGENCIES, &k->agencies, &k->n_agencies, e) <
            0 ||
        mdt_json_ids(b, "related_case_ids", 0, CASES_MAX_RELATED, &k->related, &k->n_related, e) <
            0)
        return -1;
    if (k->municipality && blank(k->municipality))
        k->municipality = NULL;
    return create_lead_first(k, e);
}

/* Loads kinds of every agency; 422 agencies when one is missing or inactive. */
static int create_check_agencies(mdt_dbc_t *c, create_t *k)
{
    char *lit = ids_literal(k->agencies, k->n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r = mdt_db_query(
        c, "SELECT id, kind FROM agencies WHERE id = ANY($1::bigint[]) AND active", &q);
    free(lit);
    if (!r)
        return c->status;
    for (size_t i = 0; i < k->n_agencies && !k->err.status; i++) {
        int found = 0;
        for (int j = 0; j < PQntuples(r); j++) {
            if (mdt_db_int(r, j, 0) == k->agencies[i] &&
                mdt_authz_agency_kind_parse(mdt_db_str(r, j, 1), &k->kinds[i]) == 0)
                found = 1;
        }
        if (!found)
            mdt_err_set(&k->err, 422, "validation", "agencies",
                        "agency %lld does not exist or is not active", (long long)k->agencies[i]);
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* 422 related_case_ids unless the caller sees every related case. */
static int check_related(mdt_dbc_t *c, const mdt_principal_t *p, const int64_t *ids, size_t n,
                         int64_t self, mdt_err_t *e)
{
    idvec_t seen = {0};
    int rc = cases_filter_visible(c, p, ids, n, &seen);
    if (rc == MDT_DB_OK && (seen.n != n || ids_has(ids, n, self)))
        mdt_err_set(e, 422, "validation", "related_case_ids",
                    "related_case_ids must be other cases you can see");
    idvec_free(&seen);
    return rc;
}

static int create_insert(mdt_dbc_t *c, create_t *k)
{
    int64_t owners[MDT_PII_COUNT];
    mdt_authz_default_pii_owners(k->p.agency_id, k->agencies, k->kinds, k->n_agencies, owners);
    char *rel = ids_literal(k->related, k->n_related);
    if (!rel)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, k->number);
    mdt_db_param_str(&q, k->alias);
    mdt_db_param_str(&q, case_statuses[k->status]);
    mdt_db_param_str(&q, k->municipality);
    mdt_db_param_str(&q, k->referral);
    mdt_db_param_int(&q, k->p.agency_id);
    mdt_db_param_str(&q, rel);
    for (int i = 0; i < MDT_PII_COUNT; i++)
        mdt_db_param_int(&q, owners[i]);
    mdt_db_param_int(&q, k->p.user_id);
    PGresult *r =
        mdt_db_query(c,
                     "INSERT INTO cases (case_number, alias, status, municipality, referral_date,"
                     " lead_agency_id, related_case_ids, pii_owner_identity, pii_owner_contact,"
                     " pii_owner_immigration, pii_owner_health, created_by)"
                     " VALUES ($1, $2, $3, $4, $5::date, $6, $7::bigint[], $8, $9, $10, $11, $12)"
                     " ON CONFLICT (lead_agency_id, lower(case_number)) DO NOTHING RETURNING id",
                     &q);
    free(rel);
    if (!r)
        return c->status;
    k->case_id = PQntuples(r) == 1 ? mdt_db_int(r, 0, 0) : 0;
    PQclear(r);
    return MDT_DB_OK;
}

/* On a duplicate number: 409 with the existing case as the caller sees it. */
static int create_duplicate(mdt_dbc_t *c, create_t *k)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, k->p.agency_id);
    mdt_db_param_str(&q, k->number);
    PGresult *r = mdt_db_query(
        c, "SELECT id FROM cases WHERE lead_agency_id = $1 AND lower(case_number) = lower($2)", &q);
    if (!r)
        return c->status;
    int64_t id = PQntuples(r) == 1 ? mdt_db_int(r, 0, 0) : 0;
    PQclear(r);
    mdt_err_set(&k->err, 409, "conflict", "case_number",
                "your agency already has a case with this case_number");
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    int rc = cx ? MDT_DB_OK : MDT_DB_ERROR;
    if (rc == MDT_DB_OK && id)
        rc = mdt_casectx_load(c, id, cx);
    if (rc == MDT_DB_OK && id)
        rc = cases_load_json(c, &k->p, cx, &k->current);
    free(cx);
    return rc;
}

static int create_record(mdt_dbc_t *c, create_t *k)
{
    char *lit = ids_literal(k->agencies, k->n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, k->case_id);
    mdt_db_param_str(&q, lit);
    int rc = mdt_db_exec(c,
                         "INSERT INTO case_agencies (case_id, agency_id)"
                         " SELECT $1, unnest($2::bigint[])",
                         &q);
    free(lit);
    json_t *detail =
        json_pack("{s:o, s:s, s:o}", "agencies", mdt_entries_ids_json(k->agencies, k->n_agencies),
                  "status", case_statuses[k->status], "related_case_ids",
                  mdt_entries_ids_json(k->related, k->n_related));
    mdt_audit_rec_t rec = {.action = "case.create",
                           .object_type = "case",
                           .object_id = k->case_id,
                           .case_id = k->case_id,
                           .detail = detail};
    if (rc == MDT_DB_OK)
        rc = mdt_audit_append(c, &k->actor, &rec);
    json_decref(detail);
    json_t *data = json_pack("{s:s, s:I}", "object_type", "case", "id", (json_int_t)k->case_id);
    mdt_event_t ev = {.case_id = k->case_id,
                      .kind = "case.updated",
                      .object_type = "case",
                      .object_id = k->case_id,
                      .actor_id = k->p.user_id,
                      .data = data};
    if (rc == MDT_DB_OK && mdt_event_emit(c, &ev) < 0)
        rc = c->status;
    json_decref(data);
    return rc;
}

static int create_answer(mdt_dbc_t *c, create_t *k)
{
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    if (!cx)
        return MDT_DB_ERROR;
    int rc = mdt_casectx_load(c, k->case_id, cx);
    if (rc == MDT_DB_OK)
        rc = cases_load_json(c, &k->p, cx, &k->result);
    free(cx);
    return rc == MDT_DB_OK && !k->result ? MDT_DB_ERROR : rc;
}

static int create_work(mdt_dbc_t *c, void *arg)
{
    create_t *k = arg;
    int rc = mdt_db_begin(c, NULL);
    if (rc == MDT_DB_OK)
        rc = mdt_idem_claim(c, &k->idem, &k->err); /* idem: replay, 409, 422 */
    if (rc == MDT_IDEM_ANSWERED)
        return MDT_DB_OK; /* the pool rolls back */
    if (rc == MDT_DB_OK)
        rc = create_check_agencies(c, k);
    if (rc == MDT_DB_OK && !k->err.status)
        rc = check_related(c, &k->p, k->related, k->n_related, 0, &k->err);
    if (rc == MDT_DB_OK && !k->err.status)
        rc = create_insert(c, k);
    if (rc == MDT_DB_OK && !k->err.status && !k->case_id)
        return create_duplicate(c, k);
    if (rc == MDT_DB_OK && !k->err.status)
        rc = create_record(c, k);
    if (rc == MDT_DB_OK && !k->err.status)
        rc = create_answer(c, k);
    if (rc == MDT_DB_OK && !k->err.status)
        rc = mdt_idem_store(c, &k->idem, 201, k->result); /* idem */
    if (rc != MDT_DB_OK || k->err.status)
        return rc;
    return mdt_db_commit(c);
}

static void create_done(void *arg, int status)
{
    create_t *k = arg;
    if (status != MDT_DB_OK) {
        mdt_http_fail_db(k->req, status);
    } else if (k->err.status == 409) {
        json_t *cur = k->current;
        k->current = NULL;
        mdt_http_conflict(k->req, k->err.message, cur ? cur : json_null());
    } else if (k->err.status) {
        mdt_http_fail(k->req, &k->err);
    } else if (!mdt_idem_answer(k->req, &k->idem)) { /* idem: stored or replayed */
        json_t *res = k->result;
        k->result = NULL;
        mdt_http_respond_json(k->req, 201, res);
    }
}

void mdt_cases_create(mdt_req_t *req)
{
    mdt_principal_t p = mdt_auth_principal(req);
    if (!mdt_authz_case_create(&p)) {
        mdt_http_error(req, 403, "forbidden", NULL, "only supervisors create cases");
        return;
    }
    create_t *k = calloc(1, sizeof(*k));
    if (!k) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    req->state = k;
    req->state_free = create_free;
    k->req = req;
    k->p = p;
    mdt_audit_actor_from_req(req, &k->actor);
    mdt_err_t e = {0};
    if (create_parse(k, req->json, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    if (mdt_idem_init(&k->idem, req) != 0)
        return; /* answered */
    if (mdt_db_submit(req->srv->db, create_work, create_done, k) != 0)
        mdt_http_fail_db(req, MDT_DB_REFUSED);
}

/* ---- PATCH /cases/{id} ---- */

typedef struct {
    int64_t version;
    int status; /* -1 = not given */
    int has_agencies, has_related, has_muni;
    int64_t *agencies, *related;
    size_t n_agencies, n_related;
    int64_t lead;                     /* 0 = not given */
    int64_t owners[MDT_PII_COUNT];    /* 0 = not given */
    const char *alias, *municipality; /* borrowed; municipality NULL = clear */
} patch_t;

/* The case row as it is now (locked), for comparing with the patch. */
typedef struct {
    char status[16];
    char alias[128];
    char muni[128];
    int has_muni;
    int64_t related[CASES_MAX_RELATED];
    size_t n_related;
} current_t;

/* What the patch makes of the case. */
typedef struct {
    int status;
    int64_t lead;
    int64_t owners[MDT_PII_COUNT];
    const int64_t *agencies;
    size_t n_agencies;
    idvec_t related; /* the caller's list plus the related cases it cannot see */
    const char *alias, *municipality;
    const char *changed[12]; /* field names */
    int n_changed;
    const char *first_lead, *first_member; /* the first changed field of each kind */
} target_t;

static void patch_free(void *arg)
{
    patch_t *pt = arg;
    if (!pt)
        return;
    free(pt->agencies);
    free(pt->related);
    free(pt);
}

static int patch_parse_owners(json_t *b, patch_t *pt, mdt_err_t *e)
{
    json_t *o = json_object_get(b, "pii_owners");
    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o)) {
        mdt_err_set(e, 400, "bad_request", "pii_owners", "pii_owners must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        mdt_pii_cat_t cat;
        if (mdt_authz_pii_cat_parse(key, &cat) != 0) {
            mdt_err_set(e, 422, "validation", "pii_owners",
                        "pii_owners takes identity, contact, immigration and health");
            return -1;
        }
        if (mdt_json_int(o, key, 0, 1, INT64_MAX, &pt->owners[cat], e) < 0) {
            snprintf(e->field, sizeof(e->field), "pii_owners.%s", key);
            return -1;
        }
    }
    return 0;
}

static int patch_parse(json_t *b, patch_t *pt, mdt_err_t *e)
{
    pt->status = -1;
    if (mdt_json_int(b, "version", 1, 1, INT32_MAX, &pt->version, e) < 0 ||
        mdt_json_enum(b, "status", 0, case_statuses, &pt->status, e) < 0 ||
        read_name(b, "alias", 0, 100, &pt->alias, e) < 0 ||
        mdt_json_int(b, "lead_agency_id", 0, 1, INT64_MAX, &pt->lead, e) < 0 ||
        patch_parse_owners(b, pt, e) < 0)
        return -1;
    int rc =
        mdt_json_ids(b, "agencies", 0, MDT_CASE_MAX_AGENCIES, &pt->agencies, &pt->n_agencies, e);
    if (rc < 0)
        return -1;
    pt->has_agencies = rc == 0;
    rc = mdt_json_ids(b, "related_case_ids", 0, CASES_MAX_RELATED, &pt->related, &pt->n_related, e);
    if (rc < 0)
        return -1;
    pt->has_related = rc == 0 || json_is_null(json_object_get(b, "related_case_ids"));
    json_t *m = json_object_get(b, "municipality");
    rc = mdt_json_str(b, "municipality", 0, 100, &pt->municipality, e);
    if (rc < 0)
        return -1;
    pt->has_muni = m != NULL;
    if (pt->municipality && blank(pt->municipality))
        pt->municipality = NULL; /* "" or null clears it */
    return 0;
}

/* Locks the case row, reloads the context under the lock, reads the row. */
static int update_lock(mdt_dbc_t *c, mdt_caseop_t *op, current_t *cur)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    PGresult *r = mdt_db_query(c,
                               "SELECT status, alias, municipality, related_case_ids::text"
                               " FROM cases WHERE id = $1 FOR UPDATE",
                               &q);
    if (!r)
        return c->status;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return MDT_DB_NOT_FOUND;
    }
    snprintf(cur->status, sizeof(cur->status), "%s", mdt_db_str(r, 0, 0));
    snprintf(cur->alias, sizeof(cur->alias), "%s", mdt_db_str(r, 0, 1));
    cur->has_muni = mdt_db_str(r, 0, 2) != NULL;
    snprintf(cur->muni, sizeof(cur->muni), "%s", cur->has_muni ? mdt_db_str(r, 0, 2) : "");
    cur->n_related = mdt_casectx_parse_ids(mdt_db_str(r, 0, 3), cur->related, CASES_MAX_RELATED);
    PQclear(r);
    int rc = mdt_casectx_load(c, op->case_id, &op->cx);
    if (rc != MDT_DB_OK)
        return rc;
    op->view = mdt_casectx_view(&op->cx);
    return mdt_authz_case_visible(&op->p, &op->view) ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}

/* Answers 409 with the case as the caller sees it now (through op->result:
 * caseop's error path carries no object). */
static int update_conflict(mdt_dbc_t *c, mdt_caseop_t *op)
{
    json_t *cur;
    int rc = cases_load_json(c, &op->p, &op->cx, &cur);
    if (rc != MDT_DB_OK)
        return rc;
    mdt_entries_conflict(op, "the case was changed by someone else; reload it and try again", cur);
    return MDT_DB_OK;
}

static void target_mark(target_t *t, const char *field, bool lead_field)
{
    if (t->n_changed < (int)(sizeof(t->changed) / sizeof(t->changed[0])))
        t->changed[t->n_changed++] = field;
    if (lead_field && !t->first_lead)
        t->first_lead = field;
    if (!lead_field && !t->first_member)
        t->first_member = field;
}

/* The lead fields the patch sets, and whether they change anything. */
static void target_lead_fields(const mdt_caseop_t *op, const patch_t *pt, const current_t *cur,
                               target_t *t)
{
    const mdt_casectx_t *cx = &op->cx;
    t->status = pt->status;
    if (pt->status < 0) {
        for (int i = 0; case_statuses[i]; i++) {
            if (strcmp(case_statuses[i], cur->status) == 0)
                t->status = i;
        }
    } else if (strcmp(case_statuses[pt->status], cur->status) != 0) {
        target_mark(t, "status", true);
    }
    t->agencies = pt->has_agencies ? pt->agencies : cx->agencies;
    t->n_agencies = pt->has_agencies ? pt->n_agencies : cx->n_agencies;
    if (!ids_same_set(t->agencies, t->n_agencies, cx->agencies, cx->n_agencies))
        target_mark(t, "agencies", true);
    t->lead = pt->lead ? pt->lead : cx->lead_agency_id;
    if (t->lead != cx->lead_agency_id)
        target_mark(t, "lead_agency_id", true);
    bool owners_changed = false;
    for (int k = 0; k < MDT_PII_COUNT; k++) {
        t->owners[k] = pt->owners[k] ? pt->owners[k] : cx->pii_owner[k];
        owners_changed |= t->owners[k] != cx->pii_owner[k];
    }
    if (owners_changed)
        target_mark(t, "pii_owners", true);
}

/* The member fields; related keeps the ids the caller cannot see. */
static int target_member_fields(mdt_dbc_t *c, const mdt_caseop_t *op, const patch_t *pt,
                                const current_t *cur, target_t *t)
{
    t->alias = pt->alias ? pt->alias : cur->alias;
    if (strcmp(t->alias, cur->alias) != 0)
        target_mark(t, "alias", false);
    t->municipality = pt->has_muni ? pt->municipality : (cur->has_muni ? cur->muni : NULL);
    bool same_muni = (!t->municipality && !cur->has_muni) ||
                     (t->municipality && cur->has_muni && strcmp(t->municipality, cur->muni) == 0);
    if (!same_muni)
        target_mark(t, "municipality", false);
    idvec_t seen = {0};
    int rc = cases_filter_visible(c, &op->p, cur->related, cur->n_related, &seen);
    for (size_t i = 0; rc == MDT_DB_OK && i < cur->n_related; i++) {
        bool hidden = !idvec_has(&seen, cur->related[i]);
        bool keep =
            hidden || !pt->has_related || ids_has(pt->related, pt->n_related, cur->related[i]);
        if (keep && idvec_push(&t->related, cur->related[i]) != 0)
            rc = MDT_DB_ERROR;
    }
    for (size_t i = 0; rc == MDT_DB_OK && i < pt->n_related; i++) {
        if (!idvec_has(&t->related, pt->related[i]) && idvec_push(&t->related, pt->related[i]) != 0)
            rc = MDT_DB_ERROR;
    }
    idvec_free(&seen);
    if (!ids_same_set(t->related.v, t->related.n, cur->related, cur->n_related))
        target_mark(t, "related_case_ids", false);
    return rc;
}

/* 403 forbidden naming the first field the caller may not change. */
static bool update_authorized(mdt_caseop_t *op, const target_t *t)
{
    const char *field = NULL;
    if (t->first_lead && !mdt_authz_case_update_lead_fields(&op->p, &op->view))
        field = t->first_lead;
    else if (t->first_member && !mdt_authz_case_update_member_fields(&op->p, &op->view))
        field = t->first_member;
    if (!field)
        return true;
    char msg[160];
    snprintf(msg, sizeof(msg), "you may not change %s of this case", field);
    mdt_caseop_fail(op, 403, "forbidden", field, msg);
    return false;
}

/* Agencies added to the case and a new lead must exist and be active. */
static int update_check_active(mdt_dbc_t *c, mdt_caseop_t *op, const target_t *t)
{
    idvec_t need = {0};
    for (size_t i = 0; i < t->n_agencies; i++) {
        if (!ids_has(op->cx.agencies, op->cx.n_agencies, t->agencies[i]) &&
            idvec_push(&need, t->agencies[i]) != 0)
            return MDT_DB_ERROR;
    }
    if (t->lead != op->cx.lead_agency_id && !idvec_has(&need, t->lead) &&
        idvec_push(&need, t->lead) != 0)
        return MDT_DB_ERROR;
    idvec_t found = {0};
    char *lit = ids_literal(need.v, need.n);
    int rc = lit ? MDT_DB_OK : MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r = need.n && lit ? mdt_db_query(c,
                                               "SELECT id FROM agencies"
                                               " WHERE id = ANY($1::bigint[]) AND active",
                                               &q)
                                : NULL;
    if (need.n && lit && !r)
        rc = c->status;
    for (int i = 0; r && i < PQntuples(r); i++)
        idvec_push(&found, mdt_db_int(r, i, 0));
    for (size_t i = 0; rc == MDT_DB_OK && !op->err.status && i < need.n; i++) {
        if (!idvec_has(&found, need.v[i]))
            mdt_err_set(&op->err, 422, "validation",
                        ids_has(op->cx.agencies, op->cx.n_agencies, need.v[i]) ? "lead_agency_id"
                                                                               : "agencies",
                        "agency %lld does not exist or is not active", (long long)need.v[i]);
    }
    PQclear(r);
    free(lit);
    idvec_free(&need);
    idvec_free(&found);
    return rc;
}

/* The lead and every PII owner must be agencies of the case. */
static void update_check_members(mdt_caseop_t *op, const patch_t *pt, const target_t *t)
{
    if (!ids_has(t->agencies, t->n_agencies, t->lead)) {
        if (pt->lead)
            mdt_err_set(&op->err, 422, "validation", "lead_agency_id",
                        "lead_agency_id must be one of the case's agencies");
        else
            mdt_err_set(&op->err, 422, "validation", "agencies",
                        "agencies must keep the lead agency");
        return;
    }
    for (int k = 0; k < MDT_PII_COUNT; k++) {
        const char *cat = mdt_authz_pii_cat_name((mdt_pii_cat_t)k);
        if (ids_has(t->agencies, t->n_agencies, t->owners[k]))
            continue;
        if (pt->owners[k]) {
            char field[64];
            snprintf(field, sizeof(field), "pii_owners.%s", cat);
            const char *fp = field; /* a pointer: mdt_err_set tests it */
            mdt_err_set(&op->err, 422, "validation", fp,
                        "the %s owner must be one of the case's agencies", cat);
        } else {
            mdt_err_set(&op->err, 422, "validation", "agencies",
                        "agencies must keep the owner of %s (give it another owner first)", cat);
        }
        return;
    }
}

static int update_validate(mdt_dbc_t *c, mdt_caseop_t *op, const patch_t *pt, const target_t *t)
{
    update_check_members(op, pt, t);
    int rc = MDT_DB_OK;
    if (!op->err.status && t->first_lead)
        rc = update_check_active(c, op, t);
    if (rc == MDT_DB_OK && !op->err.status && pt->has_related)
        rc = check_related(c, &op->p, pt->related, pt->n_related, op->case_id, &op->err);
    if (rc == MDT_DB_OK && !op->err.status && t->related.n > CASES_MAX_RELATED)
        mdt_err_set(&op->err, 422, "validation", "related_case_ids",
                    "a case may have at most %d related cases", CASES_MAX_RELATED);
    return rc;
}

static int update_write_row(mdt_dbc_t *c, const mdt_caseop_t *op, const target_t *t)
{
    char *rel = ids_literal(t->related.v, t->related.n);
    if (!rel)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_str(&q, case_statuses[t->status]);
    mdt_db_param_str(&q, t->alias);
    mdt_db_param_str(&q, t->municipality);
    mdt_db_param_int(&q, t->lead);
    mdt_db_param_str(&q, rel);
    for (int k = 0; k < MDT_PII_COUNT; k++)
        mdt_db_param_int(&q, t->owners[k]);
    int rc = mdt_db_exec(c,
                         "UPDATE cases SET status = $2, alias = $3, municipality = $4,"
                         " lead_agency_id = $5, related_case_ids = $6::bigint[],"
                         " pii_owner_identity = $7, pii_owner_contact = $8,"
                         " pii_owner_immigration = $9, pii_owner_health = $10,"
                         " version = version + 1, updated_at = now() WHERE id = $1",
                         &q);
    free(rel);
    return rc;
}

/* Replaces case_agencies with the target set (membership rows carry no
 * case content; the audit row keeps who was added and removed). */
static int update_write_agencies(mdt_dbc_t *c, const mdt_caseop_t *op, const target_t *t)
{
    char *lit = ids_literal(t->agencies, t->n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_str(&q, lit);
    int rc = mdt_db_exec(c,
                         "DELETE FROM case_agencies WHERE case_id = $1"
                         " AND agency_id <> ALL($2::bigint[])",
                         &q);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c,
                         "INSERT INTO case_agencies (case_id, agency_id)"
                         " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
                         &q);
    free(lit);
    return rc;
}

/* The audit detail: changed field names, enum values and agency ids only. */
static json_t *update_detail(const mdt_caseop_t *op, const target_t *t)
{
    json_t *fields = json_array(), *added = json_array(), *removed = json_array();
    for (int i = 0; i < t->n_changed; i++)
        json_array_append_new(fields, json_string(t->changed[i]));
    for (size_t i = 0; i < t->n_agencies; i++) {
        if (!ids_has(op->cx.agencies, op->cx.n_agencies, t->agencies[i]))
            json_array_append_new(added, json_integer(t->agencies[i]));
    }
    for (size_t i = 0; i < op->cx.n_agencies; i++) {
        if (!ids_has(t->agencies, t->n_agencies, op->cx.agencies[i]))
            json_array_append_new(removed, json_integer(op->cx.agencies[i]));
    }
    return json_pack("{s:o, s:s, s:I, s:o, s:o}", "fields", fields, "status",
                     case_statuses[t->status], "lead_agency_id", (json_int_t)t->lead,
                     "agencies_added", added, "agencies_removed", removed);
}

static int update_apply(mdt_dbc_t *c, mdt_caseop_t *op, const target_t *t)
{
    int rc = update_write_row(c, op, t);
    if (rc == MDT_DB_OK &&
        !ids_same_set(t->agencies, t->n_agencies, op->cx.agencies, op->cx.n_agencies))
        rc = update_write_agencies(c, op, t);
    json_t *detail = rc == MDT_DB_OK ? update_detail(op, t) : NULL;
    if (rc == MDT_DB_OK)
        rc = mdt_caseop_record(c, op, "case.update", "case", op->case_id, "case.updated", detail);
    json_decref(detail);
    if (rc == MDT_DB_OK)
        rc = mdt_casectx_load(c, op->case_id, &op->cx);
    return rc;
}

static int update_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    patch_t *pt = op->ud;
    current_t cur;
    target_t t = {0};
    int rc = update_lock(c, op, &cur);
    if (rc != MDT_DB_OK)
        return rc;
    if (pt->version != op->cx.version)
        return update_conflict(c, op);
    target_lead_fields(op, pt, &cur, &t);
    rc = target_member_fields(c, op, pt, &cur, &t);
    if (rc == MDT_DB_OK && update_authorized(op, &t))
        rc = update_validate(c, op, pt, &t);
    if (rc == MDT_DB_OK && !op->err.status && t.n_changed)
        rc = update_apply(c, op, &t);
    idvec_free(&t.related);
    if (rc != MDT_DB_OK || op->err.status)
        return rc;
    rc = cases_load_json(c, &op->p, &op->cx, &op->result);
    return rc == MDT_DB_OK && !op->result ? MDT_DB_NOT_FOUND : rc;
}

void mdt_cases_update(mdt_req_t *req)
{
    patch_t *pt = calloc(1, sizeof(*pt));
    mdt_err_t e = {0};
    if (!pt) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (patch_parse(req->json, pt, &e) != 0) {
        patch_free(pt);
        mdt_http_fail(req, &e);
        return;
    }
    mdt_caseop_t *op = mdt_caseop_new(req, update_work);
    if (!op) {
        patch_free(pt);
        return;
    }
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    op->ud = pt;
    op->ud_free = patch_free;
    mdt_caseop_run(op);
}

/* ---- GET /cases/{id}: the board ---- */

/* The case's agencies with their names and kinds. */
static int board_agencies(mdt_dbc_t *c, const mdt_casectx_t *cx, json_t **out)
{
    *out = NULL;
    char *lit = ids_literal(cx->agencies, cx->n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r = mdt_db_query(c,
                               "SELECT id, name, kind FROM agencies"
                               " WHERE id = ANY($1::bigint[]) ORDER BY name, id",
                               &q);
    free(lit);
    if (!r)
        return c->status;
    *out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(*out,
                              json_pack("{s:I, s:s, s:s}", "id", (json_int_t)mdt_db_int(r, i, 0),
                                        "name", mdt_db_str(r, i, 1), "kind", mdt_db_str(r, i, 2)));
    PQclear(r);
    return MDT_DB_OK;
}

static int board_seq(mdt_dbc_t *c, int64_t *seq)
{
    PGresult *r = mdt_db_query(c, "SELECT seq FROM ledger", NULL);
    if (!r)
        return c->status;
    *seq = PQntuples(r) == 1 ? mdt_db_int(r, 0, 0) : 0;
    PQclear(r);
    return MDT_DB_OK;
}

/* Sets key to part (stolen); a NULL part is a failed serializer. */
static int board_set(mdt_dbc_t *c, json_t *board, const char *key, json_t *part)
{
    if (!part)
        return c->status != MDT_DB_OK ? c->status : MDT_DB_ERROR;
    json_object_set_new(board, key, part);
    return MDT_DB_OK;
}

/* Runs in the REPEATABLE READ snapshot caseop opened (its first statement,
 * the context load, fixed it), so every part and the ledger seq agree. */
static int board_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    const mdt_principal_t *p = &op->p;
    const mdt_casectx_t *cx = &op->cx;
    json_t *board = json_object(), *part = NULL;
    int64_t seq = 0;
    int rc = board_seq(c, &seq);
    if (rc == MDT_DB_OK)
        rc = cases_load_json(c, p, cx, &part);
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "case", part);
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "pii", mdt_pii_json(c, p, cx, op->now));
    if (rc == MDT_DB_OK && (rc = board_agencies(c, cx, &part)) == MDT_DB_OK)
        rc = board_set(c, board, "agencies", part);
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "entries", mdt_entries_list_json(c, p, cx, 0));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "actions",
                       mdt_actions_list_json(c, p, cx, 0, op->req->srv->cfg.time_zone));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "consents", mdt_pii_consents_json(c, p, cx, op->now));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "services", mdt_records_services_json(c, p, cx));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "tracking", mdt_records_tracking_json(c, cx));
    if (rc != MDT_DB_OK) {
        json_decref(board);
        return rc;
    }
    json_object_set_new(board, "seq", json_integer(seq));
    op->result = board;
    return MDT_DB_OK;
}

void mdt_cases_board(mdt_req_t *req)
{
    mdt_caseop_t *op = mdt_caseop_new(req, board_work);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    op->isolation = "repeatable read";
    op->read_action = "case.read";
    op->object_type = "case";
    mdt_caseop_run(op);
}
