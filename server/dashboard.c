/* dashboard.c - action items across the caller's cases (see dashboard.h).
 *
 * GET /api/v1/actions?assignee=&assignee_id=&agency_id=&status=&overdue=
 * &due=&lead=&scope=&case_id=&sort=&order=&limit=&cursor= and
 * GET /api/v1/actions.csv with the same filters. One REPEATABLE READ
 * transaction: the case set (every case of the caller's agency, each
 * context loaded once), then the light columns of every matching action
 * item in dashboard order (overdue first, then due date, items without one
 * last, then id) or the order of sort=/order=, each kept only when the view
 * filter (view.h) says so with its case's context: a filter only narrows
 * what the predicate already allows. `total` and `overdue_total` count the
 * visible ones; the page after `cursor` (a key in dashboard order, a
 * position "p<n>" among the visible items of a sorted listing) is then
 * serialized by actions.c (mdt_actions_list_json, the one Action
 * serializer) and given the case's case_number and alias (also as
 * case_alias). Retracted items are not listed. The CSV is the same rows
 * written by csv.c, names first. Reads are audited as action.list and
 * action.export with counts and the names of the filters used only. */
#include "dashboard.h"

#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "audit.h"
#include "caseset.h"
#include "csv.h"
#include "ctx.h"
#include "json.h"
#include "log.h"
#include "runner.h"
#include "session.h"

#define LIST_DEFAULT 50
#define LIST_MAX     500
#define CSV_MAX      10000

/* ---- the request ------------------------------------------------------------------ */

/* A position in dashboard order: overdue first (o = 0), then due date
 * ("" = none, after every date), then id. */
typedef struct {
    int o;
    char due[11];
    int64_t id;
} dash_key_t;

typedef struct {
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    int csv;
    int64_t assignee, assignee_id, agency, case_id; /* 0 = any */
    int64_t lead, scope; /* the caller's agency for lead=mine, scope=supervisor; 0 = off */
    char statuses[64];   /* text[] literal, "" = any */
    int overdue;         /* -1 any, 0 not overdue, 1 overdue */
    int due;             /* DUE_WINDOWS index, -1 = any */
    int sort;            /* SORTS index, -1 = dashboard order */
    int desc;            /* order=desc */
    int64_t limit;
    int has_cursor;
    dash_key_t cursor; /* dashboard order */
    int64_t offset;    /* a sorted listing: visible items before the page */
    /* results */
    json_t *items;
    int64_t total, overdue_total;
    int more;
    dash_key_t last;     /* dashboard order: the page's last item */
    int64_t next_offset; /* a sorted listing: the next page's offset */
    char today[11];
    mdt_run_t run; /* the runner and the answer */
} dash_t;

static void dash_free(void *arg)
{
    dash_t *d = arg;
    json_decref(d->items);
    mdt_run_free(&d->run);
    free(d);
}

static int key_cmp(const dash_key_t *a, const dash_key_t *b)
{
    if (a->o != b->o)
        return a->o < b->o ? -1 : 1;
    if (!a->due[0] != !b->due[0])
        return a->due[0] ? -1 : 1;
    int c = strcmp(a->due, b->due);
    if (c)
        return c < 0 ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* "o.YYYY-MM-DD.id" or "o.-.id"; 0 or -1. */
static int key_parse(const char *s, dash_key_t *k)
{
    memset(k, 0, sizeof(*k));
    if ((s[0] != '0' && s[0] != '1') || s[1] != '.')
        return -1;
    k->o = s[0] - '0';
    s += 2;
    size_t n = strcspn(s, ".");
    if (s[n] != '.')
        return -1;
    if (n == 10) {
        memcpy(k->due, s, 10);
        if (!mdt_json_valid_date(k->due))
            return -1;
    } else if (n != 1 || s[0] != '-') {
        return -1;
    }
    s += n + 1;
    char *end;
    if (*s < '1' || *s > '9')
        return -1;
    long long id = strtoll(s, &end, 10);
    if (*end || id <= 0)
        return -1;
    k->id = id;
    return 0;
}

/* ---- query parameters ---------------------------------------------------------------- */

static const char *const STATUSES[] = {"open", "in_progress", "done", "cancelled", NULL};

/* assignee=me or a user id. */
static int parse_assignee(dash_t *d, mdt_err_t *e)
{
    const char *s = mdt_req_query(d->req, "assignee");
    if (s && strcmp(s, "me") == 0) {
        d->assignee = d->p.user_id;
        return 0;
    }
    if (mdt_req_query_int(d->req, "assignee", 1, INT64_MAX, 0, &d->assignee, e) == 0)
        return 0;
    mdt_err_set(e, 422, "validation", "assignee", "assignee must be \"me\" or a user id");
    return -1;
}

/* status=a,b: action statuses; the text[] literal is built from our own
 * spellings only. */
static int parse_status(dash_t *d, mdt_err_t *e)
{
    const char *s = mdt_req_query(d->req, "status");
    if (!s || !*s)
        return 0;
    size_t k = (size_t)snprintf(d->statuses, sizeof(d->statuses), "{");
    for (;;) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int i = 0; STATUSES[i]; i++) {
            if (strlen(STATUSES[i]) == len && strncmp(STATUSES[i], s, len) == 0)
                found = i;
        }
        if (found < 0) {
            mdt_err_set(e, 422, "validation", "status",
                        "status must be open, in_progress, done or cancelled (comma-separated)");
            return -1;
        }
        k += (size_t)snprintf(d->statuses + k, sizeof(d->statuses) - k, "%s%s", k > 1 ? "," : "",
                              STATUSES[found]);
        if (!s[len])
            break;
        s += len + 1;
    }
    snprintf(d->statuses + k, sizeof(d->statuses) - k, "}");
    return 0;
}

static int parse_overdue(dash_t *d, mdt_err_t *e)
{
    const char *s = mdt_req_query(d->req, "overdue");
    d->overdue = -1;
    if (!s || !*s)
        return 0;
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
        d->overdue = s[0] == 't';
        return 0;
    }
    mdt_err_set(e, 422, "validation", "overdue", "overdue must be true or false");
    return -1;
}

/* A sorted listing's cursor is "p<offset>" (the visible items before the
 * next page); dashboard order's is a key (key_parse). */
static int parse_offset(dash_t *d, const char *s)
{
    char *end;
    if (s[0] != 'p' || s[1] < '1' || s[1] > '9')
        return -1;
    long long v = strtoll(s + 1, &end, 10);
    if (*end || v <= 0 || v > INT32_MAX)
        return -1;
    d->offset = v;
    return 0;
}

static int parse_cursor(dash_t *d, mdt_err_t *e)
{
    const char *s = mdt_req_query(d->req, "cursor");
    if (!s || !*s)
        return 0;
    if (d->sort >= 0 ? parse_offset(d, s) != 0 : key_parse(s, &d->cursor) != 0) {
        mdt_err_set(e, 422, "validation", "cursor", "cursor must be the next of an earlier page");
        return -1;
    }
    d->has_cursor = d->sort < 0;
    return 0;
}

static const char *const DUE_WINDOWS[] = {"overdue", "week", "14d", NULL};
static const char *const SORTS[] = {"due", "case", "status", "assignee", "agency", "closed", NULL};
static const char *const ORDERS[] = {"asc", "desc", NULL};
static const char *const LEADS[] = {"mine", NULL};
static const char *const SCOPES[] = {"supervisor", NULL};

/* due=, sort=, order=, lead=mine and scope=supervisor. */
static int parse_choices(dash_t *d, mdt_err_t *e)
{
    int lead, scope, order;
    if (mdt_req_query_enum(d->req, "due", DUE_WINDOWS, &d->due, e) != 0 ||
        mdt_req_query_enum(d->req, "sort", SORTS, &d->sort, e) != 0 ||
        mdt_req_query_enum(d->req, "order", ORDERS, &order, e) != 0 ||
        mdt_req_query_enum(d->req, "lead", LEADS, &lead, e) != 0 ||
        mdt_req_query_enum(d->req, "scope", SCOPES, &scope, e) != 0)
        return -1;
    d->desc = order == 1;
    d->lead = lead == 0 ? d->p.agency_id : 0;
    d->scope = scope == 0 ? d->p.agency_id : 0;
    return 0;
}

static int dash_parse(dash_t *d, mdt_err_t *e)
{
    int64_t max = d->csv ? CSV_MAX : LIST_MAX;
    if (parse_assignee(d, e) != 0 || parse_status(d, e) != 0 || parse_overdue(d, e) != 0 ||
        parse_choices(d, e) != 0 || parse_cursor(d, e) != 0 ||
        mdt_req_query_int(d->req, "assignee_id", 1, INT64_MAX, 0, &d->assignee_id, e) != 0 ||
        mdt_req_query_int(d->req, "agency_id", 1, INT64_MAX, 0, &d->agency, e) != 0 ||
        mdt_req_query_int(d->req, "case_id", 1, INT64_MAX, 0, &d->case_id, e) != 0 ||
        mdt_req_query_int(d->req, "limit", 1, max, d->csv ? CSV_MAX : LIST_DEFAULT, &d->limit, e) !=
            0)
        return -1;
    return 0;
}

/* ---- selecting ------------------------------------------------------------------------ */

enum { D_OVERDUE = MDT_CASESET_I_COUNT, D_DUE };

typedef struct {
    int64_t id, case_id;
    dash_key_t key;
} page_item_t;

static void param_id_or_null(mdt_db_params_t *q, int64_t id)
{
    if (id > 0)
        mdt_db_param_int(q, id);
    else
        mdt_db_param_str(q, NULL);
}

/* The sort key of a sorted listing, in SORTS order. Ties fall back to the
 * id in the same direction; items without the key (no due date, no
 * assignee, not closed) come last either way. */
static const char *const SORT_KEYS[] = {
    "a.due_date",
    "c.case_number",
    "array_position(ARRAY['open', 'in_progress', 'done', 'cancelled'], a.status)",
    "au.display_name",
    "ag.name",
    "a.closed_at",
};

/* The query's parameters after the case ids ($2): the filters. */
static void dash_filter_params(const dash_t *d, mdt_db_params_t *q)
{
    param_id_or_null(q, d->assignee);
    param_id_or_null(q, d->agency);
    mdt_db_param_str(q, d->statuses[0] ? d->statuses : NULL);
    if (d->overdue >= 0)
        mdt_db_param_bool(q, d->overdue);
    else
        mdt_db_param_str(q, NULL);
    mdt_db_param_str(q, d->due >= 0 ? DUE_WINDOWS[d->due] : NULL);
    param_id_or_null(q, d->lead);
    param_id_or_null(q, d->scope);
    param_id_or_null(q, d->assignee_id);
}

/* The light columns of every matching item of the case set, in dashboard
 * order or the order asked for (SORT_KEYS: our own text only). The due
 * windows: overdue; this week = from today through Sunday of the ISO week
 * (Monday to Sunday) of today; 14d = from today through today + 14; all
 * days in the installation's time zone. */
static int dash_candidates(mdt_dbc_t *c, const dash_t *d, const mdt_caseset_t *cs, PGresult **out)
{
    int64_t *ids = calloc(cs->n + 1, sizeof(*ids));
    for (size_t i = 0; ids && i < cs->n; i++)
        ids[i] = cs->v[i].id;
    char *lit = ids ? mdt_ids_literal(ids, cs->n) : NULL;
    free(ids);
    if (!lit)
        return MDT_DB_ERROR;
    char order[256], sql[2048];
    if (d->sort >= 0)
        snprintf(order, sizeof(order), "%s %s NULLS LAST, a.id %s", SORT_KEYS[d->sort],
                 d->desc ? "DESC" : "ASC", d->desc ? "DESC" : "ASC");
    else
        snprintf(order, sizeof(order), "o.overdue DESC, a.due_date ASC NULLS LAST, a.id");
    snprintf(sql, sizeof(sql),
             "SELECT a.id, a.case_id, a.visibility, a.agency_id, a.created_by, a.visible_to::text,"
             " a.assignee_agency_id, coalesce(a.assignee_id, 0), o.overdue,"
             " coalesce(to_char(a.due_date, 'YYYY-MM-DD'), '')"
             " FROM actions a JOIN cases c ON c.id = a.case_id"
             " JOIN agencies ag ON ag.id = a.assignee_agency_id"
             " LEFT JOIN users au ON au.id = a.assignee_id"
             " CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE $1)::date AS today) t"
             " CROSS JOIN LATERAL (SELECT coalesce(a.status IN ('open', 'in_progress')"
             "  AND a.due_date < t.today, false) AS overdue) o"
             " WHERE a.retracted_at IS NULL AND a.case_id = ANY($2::bigint[])"
             " AND ($3::bigint IS NULL OR a.assignee_id = $3)"
             " AND ($4::bigint IS NULL OR a.assignee_agency_id = $4)"
             " AND ($5::text[] IS NULL OR a.status = ANY($5::text[]))"
             " AND ($6::boolean IS NULL OR o.overdue = $6)"
             " AND ($7::text IS NULL OR ($7 = 'overdue' AND o.overdue)"
             "  OR ($7 = 'week' AND a.due_date BETWEEN t.today"
             "   AND date_trunc('week', t.today)::date + 6)"
             "  OR ($7 = '14d' AND a.due_date BETWEEN t.today AND t.today + 14))"
             " AND ($8::bigint IS NULL OR c.lead_agency_id = $8)"
             " AND ($9::bigint IS NULL OR a.assignee_agency_id = $9 OR c.lead_agency_id = $9)"
             " AND ($10::bigint IS NULL OR a.assignee_id = $10)"
             " ORDER BY %s",
             order);
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, mdt_ctx_time_zone(d->req));
    mdt_db_param_str(&q, lit);
    dash_filter_params(d, &q);
    *out = mdt_db_query(c, sql, &q);
    free(lit);
    return *out ? MDT_DB_OK : c->status;
}

/* Counts the visible rows and keeps the page after the cursor (up to
 * limit + 1 items, to know whether more follow). */
static size_t dash_select(dash_t *d, const mdt_caseset_t *cs, const PGresult *r, page_item_t *page)
{
    size_t n = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        if (!mdt_caseset_item_visible(cs, &d->p, r, i))
            continue;
        page_item_t it = {.id = mdt_db_int(r, i, MDT_CASESET_I_ID),
                          .case_id = mdt_db_int(r, i, MDT_CASESET_I_CASE)};
        it.key.o = !mdt_db_bool(r, i, D_OVERDUE);
        it.key.id = it.id;
        snprintf(it.key.due, sizeof(it.key.due), "%s", mdt_db_str(r, i, D_DUE));
        d->total++;
        d->overdue_total += !it.key.o;
        if (d->has_cursor && key_cmp(&it.key, &d->cursor) <= 0)
            continue;
        if (d->total <= d->offset)
            continue;
        if (n < (size_t)d->limit + 1)
            page[n++] = it;
    }
    d->more = n > (size_t)d->limit;
    if (d->more)
        n = (size_t)d->limit;
    if (n)
        d->last = page[n - 1].key;
    d->next_offset = d->offset + (int64_t)n;
    return n;
}

/* ---- serializing ---------------------------------------------------------------------- */

/* The full authorization context of k for the Action serializer. */
static void casectx_of(const mdt_caseset_case_t *k, mdt_casectx_t *cx)
{
    memset(cx, 0, sizeof(*cx));
    cx->case_id = k->id;
    cx->lead_agency_id = k->lead;
    memcpy(cx->agencies, k->agencies, k->n_agencies * sizeof(k->agencies[0]));
    cx->n_agencies = k->n_agencies;
    memcpy(cx->pii_owner, k->pii_owner, sizeof(cx->pii_owner));
}

/* Serializes the page items of the case of page[at] into slots[] (each
 * with case_number and alias), marking them done. */
static int dash_serialize_case(mdt_dbc_t *c, dash_t *d, const mdt_caseset_t *cs,
                               const page_item_t *page, size_t n, size_t at, json_t **slots,
                               char *done, mdt_casectx_t *cx)
{
    const mdt_caseset_case_t *k = mdt_caseset_find(cs, page[at].case_id);
    size_t count = 0;
    for (size_t j = at; j < n; j++)
        count += page[j].case_id == page[at].case_id;
    if (!k)
        return MDT_DB_ERROR;
    casectx_of(k, cx);
    json_t *list = mdt_actions_list_json(c, &d->p, cx, count == 1 ? page[at].id : 0,
                                         mdt_ctx_time_zone(d->req));
    if (!list)
        return c->status;
    for (size_t j = at; j < n; j++) {
        if (page[j].case_id != page[at].case_id)
            continue;
        done[j] = 1;
        size_t i;
        json_t *it;
        json_array_foreach(list, i, it)
        {
            if (json_integer_value(json_object_get(it, "id")) != page[j].id)
                continue;
            slots[j] = json_incref(it);
            json_object_set_new(it, "case_number", json_string(k->case_number));
            json_object_set_new(it, "alias", json_string(k->alias));
            json_object_set_new(it, "case_alias", json_string(k->alias));
            break;
        }
    }
    json_decref(list);
    return MDT_DB_OK;
}

/* The page as Action objects, in page order, into d->items. */
static int dash_serialize(mdt_dbc_t *c, dash_t *d, const mdt_caseset_t *cs, const page_item_t *page,
                          size_t n)
{
    json_t **slots = calloc(n + 1, sizeof(*slots));
    char *done = calloc(n + 1, 1);
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    int rc = slots && done && cx ? MDT_DB_OK : MDT_DB_ERROR;
    for (size_t i = 0; i < n && rc == MDT_DB_OK; i++) {
        if (!done[i])
            rc = dash_serialize_case(c, d, cs, page, n, i, slots, done, cx);
    }
    d->items = json_array();
    for (size_t i = 0; slots && i < n; i++) {
        if (slots[i])
            json_array_append_new(d->items, slots[i]);
    }
    free(slots);
    free(done);
    free(cx);
    return rc;
}

/* Today in the installation's time zone (the CSV's file name). */
static int dash_today(mdt_dbc_t *c, dash_t *d)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, mdt_ctx_time_zone(d->req));
    PGresult *r =
        mdt_db_query(c, "SELECT to_char((now() AT TIME ZONE $1)::date, 'YYYY-MM-DD')", &q);
    if (!r)
        return c->status;
    snprintf(d->today, sizeof(d->today), "%s", mdt_db_str(r, 0, 0));
    PQclear(r);
    return MDT_DB_OK;
}

static int dash_work(mdt_dbc_t *c, void *arg)
{
    dash_t *d = arg;
    mdt_caseset_t cs = {0};
    PGresult *r = NULL;
    page_item_t *page = calloc((size_t)d->limit + 1, sizeof(*page));
    int rc = page ? mdt_caseset_load(c, &d->p, d->case_id, &cs) : MDT_DB_ERROR;
    if (rc == MDT_DB_OK)
        rc = dash_candidates(c, d, &cs, &r);
    if (rc == MDT_DB_OK)
        rc = dash_serialize(c, d, &cs, page, dash_select(d, &cs, r, page));
    if (rc == MDT_DB_OK && d->csv)
        rc = dash_today(c, d);
    PQclear(r);
    mdt_caseset_free(&cs);
    free(page);
    return rc;
}

/* ---- answering ------------------------------------------------------------------------ */

/* The cursor of the page after this one (see parse_cursor). */
static void next_cursor(const dash_t *d, char *out, size_t len)
{
    const dash_key_t *k = &d->last;
    if (d->sort >= 0)
        snprintf(out, len, "p%lld", (long long)d->next_offset);
    else
        snprintf(out, len, "%d.%s.%lld", k->o, k->due[0] ? k->due : "-", (long long)k->id);
}

/* The CSV's columns: Action fields, names first; the ids stay as the last
 * columns for those who join the file with other exports. */
static const char *const CSV_COLUMNS[] = {"id",
                                          "case_id",
                                          "case_number",
                                          "alias",
                                          "title",
                                          "status",
                                          "overdue",
                                          "due_date",
                                          "days_overdue",
                                          "assignee_name",
                                          "assignee_agency_name",
                                          "agency_name",
                                          "closed_by_name",
                                          "closed_at",
                                          "created_by_name",
                                          "created_at",
                                          "updated_at",
                                          "completed_at",
                                          "visibility",
                                          "meeting_id",
                                          "assignee_id",
                                          "assignee_agency_id",
                                          "agency_id",
                                          "created_by",
                                          "closed_by",
                                          NULL};

static void dash_answer_csv(dash_t *d)
{
    mdt_csv_t w;
    mdt_csv_init(&w);
    size_t ncol = mdt_csv_header(&w, CSV_COLUMNS);
    size_t i;
    json_t *it;
    json_array_foreach(d->items, i, it)
    {
        for (size_t k = 0; k < ncol; k++)
            mdt_csv_json(&w, json_object_get(it, CSV_COLUMNS[k]));
        mdt_csv_end_row(&w);
    }
    size_t len;
    char *body = mdt_csv_take(&w, &len);
    if (!body) {
        mdt_run_fail(&d->run, 500, "internal", NULL, "out of memory");
        return;
    }
    char disp[96], next[48];
    snprintf(disp, sizeof(disp), "attachment; filename=\"action-items-%s.csv\"", d->today);
    mdt_http_add_header(d->req, "Content-Disposition", disp);
    if (d->more) {
        next_cursor(d, next, sizeof(next));
        mdt_http_add_header(d->req, "X-Next-Cursor", next);
    }
    d->run.ans.text = body;
    d->run.ans.text_len = len;
    d->run.ans.text_type = "text/csv; charset=utf-8; header=present";
}

static void dash_answer_json(dash_t *d)
{
    char next[48];
    next_cursor(d, next, sizeof(next));
    d->run.ans.result =
        json_pack("{s:O, s:o, s:I, s:I}", "items", d->items, "next",
                  d->more ? json_string(next) : json_null(), "total", (json_int_t)d->total,
                  "overdue_total", (json_int_t)d->overdue_total);
}

/* The audit detail: counts and the names of the filters given. */
static json_t *dash_detail(const dash_t *d)
{
    static const char *const names[] = {"assignee", "assignee_id", "agency_id", "status",
                                        "overdue",  "due",         "lead",      "scope",
                                        "case_id",  "sort",        "order",     "cursor"};
    json_t *filters = json_array();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = mdt_req_query(d->req, names[i]);
        if (v && *v)
            json_array_append_new(filters, json_string(names[i]));
    }
    return json_pack("{s:I, s:I, s:o}", "count", (json_int_t)json_array_size(d->items), "total",
                     (json_int_t)d->total, "filters", filters);
}

/* Loop, before the runner answers: the read's audit row, then the answer
 * (a page of JSON, or the CSV with its headers). */
static void dash_finish(void *arg, int status)
{
    dash_t *d = arg;
    if (status != MDT_DB_OK)
        return;
    json_t *detail = dash_detail(d);
    mdt_audit_rec_t rec = {.action = d->csv ? "action.export" : "action.list",
                           .object_type = "action",
                           .case_id = d->case_id,
                           .detail = detail};
    mdt_audit_read(d->req->srv, &d->actor, &rec);
    json_decref(detail);
    if (d->csv)
        dash_answer_csv(d);
    else
        dash_answer_json(d);
}

static void dash_start(mdt_req_t *req, int csv)
{
    dash_t *d = calloc(1, sizeof(*d));
    if (!d) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    req->state = d;
    req->state_free = dash_free;
    d->req = req;
    d->csv = csv;
    d->p = mdt_auth_principal(req);
    mdt_audit_actor_from_req(req, &d->actor);
    mdt_err_t e = {0};
    if (dash_parse(d, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mdt_run_init(&d->run, req, d, dash_work);
    d->run.isolation = "repeatable read";
    d->run.finish = dash_finish;
    mdt_run_start(&d->run);
}

void mdt_dashboard_actions(mdt_req_t *req)
{
    dash_start(req, 0);
}

void mdt_dashboard_actions_csv(mdt_req_t *req)
{
    dash_start(req, 1);
}
