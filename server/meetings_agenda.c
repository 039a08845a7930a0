/* meetings_agenda.c - which cases belong on a meeting's agenda, and why:
 * the one candidate query behind POST /meetings' default agenda and GET
 * /meetings/agenda-suggestions, the reasons of each case (carried_over,
 * overdue_actions, review_due, not_reviewed), their order, and the
 * suggestions handler itself (see docs/meetings.md, "Default agenda").
 *
 * SQL proposes (cases the caller's agency is on, with the reasons the
 * database can tell and the review dates of mdt_case_review); every
 * candidate is then decided in C: the predicate on the case's lead and
 * agencies, and overdue action items counted through the action-item serializer, so
 * a case is never put forward because of an item the caller may not see. */
#include "meetings_int.h"

#include "cases.h"

/* The columns of agenda_candidates. */
enum {
    CAND_ID,
    CAND_NUMBER,
    CAND_ALIAS,
    CAND_STATUS,
    CAND_REFERRAL,
    CAND_REVIEW, /* last_reviewed, next_review, review_due (MDT_CASES_REVIEW_COLS) */
    CAND_DUE = CAND_REVIEW + 2,
    CAND_CARRIED,
    CAND_OVERDUE,
    CAND_REVIEW_DUE,
    CAND_NOT_REVIEWED,
    CAND_LEAD,
    CAND_AGENCIES, /* int8[] text, for the predicate */
};

/* The rows of agenda_candidates: every case, its review dates, the day. */
#define CAND_FROM " FROM cases c" MDT_CASES_REVIEW_JOIN("$3") " CROSS JOIN day"

/* The candidates, by the reasons the database can tell: carried over
 * from the agency's most recent ended meeting (on its agenda, no
 * non-empty outcome there, not closed); review_due on or before the
 * meeting's day; not closed and last reviewed before today - N (or
 * never); and, when asked for, an overdue action item. Column od says
 * whether any overdue item exists (which of them the caller sees is
 * decided later). */
static PGresult *agenda_candidates(mdt_dbc_t *c, const meetop_t *op, const mdt_agenda_ask_t *ask)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->p.agency_id);
    if (ask->not_reviewed >= 0)
        mdt_db_param_int(&q, ask->not_reviewed);
    else
        mdt_db_param_str(&q, NULL);
    mdt_db_param_str(&q, op->time_zone);
    mdt_db_param_bool(&q, ask->with_overdue);
    mdt_db_param_bool(&q, ask->carry_over);
    mdt_db_param_bool(&q, ask->review_due);
    mdt_db_param_str(&q, ask->on[0] ? ask->on : NULL);
    mdt_db_param_str(&q, ask->at);
    return mdt_db_query(
        c,
        "WITH last AS (SELECT id FROM meetings WHERE agency_id = $1 AND status = 'ended'"
        "  ORDER BY ended_at DESC NULLS LAST, id DESC LIMIT 1),"
        " day AS (SELECT coalesce($7::date, ($8::timestamptz AT TIME ZONE $3)::date,"
        "  (now() AT TIME ZONE $3)::date) AS on_day, (now() AT TIME ZONE $3)::date AS today)"
        " SELECT * FROM (SELECT c.id, c.case_number, c.alias, c.status,"
        " to_char(c.referral_date, 'YYYY-MM-DD'), " MDT_CASES_REVIEW_COLS ","
        " ($5::boolean AND c.status <> 'closed' AND EXISTS (SELECT 1 FROM meeting_cases mc"
        "  JOIN last ON last.id = mc.meeting_id WHERE mc.case_id = c.id"
        "  AND mc.removed_at IS NULL AND coalesce(mc.outcome_md, '') = '')) AS co,"
        " EXISTS (SELECT 1 FROM actions a WHERE a.case_id = c.id"
        "  AND a.retracted_at IS NULL AND a.status IN ('open', 'in_progress')"
        "  AND a.due_date < day.today) AS od,"
        " coalesce($6::boolean AND rv.review_due <= day.on_day, false) AS rd,"
        " ($2::int IS NOT NULL AND c.status <> 'closed'"
        "  AND coalesce(rv.last_reviewed >= day.today - $2::int, false) = false) AS nr,"
        " c.lead_agency_id, (SELECT coalesce(array_agg(ca.agency_id ORDER BY ca.agency_id), '{}')"
        "  FROM case_agencies ca WHERE ca.case_id = c.id)::text" CAND_FROM
        " WHERE EXISTS (SELECT 1 FROM case_agencies ca WHERE ca.case_id = c.id"
        "  AND ca.agency_id = $1)) x"
        " WHERE co OR ($4::boolean AND od) OR rd OR nr",
        &q);
}

/* How many overdue action items of the case p sees (as actions.c computes
 * `overdue`, in the installation's time zone). */
static int count_overdue(mdt_dbc_t *c, const meetop_t *op, const mdt_casectx_t *cx, int *out)
{
    json_t *items = mdt_actions_list_json(c, &op->p, cx, 0, op->time_zone);
    if (!items)
        return c->status;
    size_t i;
    json_t *it;
    *out = 0;
    json_array_foreach(items, i, it)
    {
        *out += json_is_true(json_object_get(it, "overdue"));
    }
    json_decref(items);
    return MDT_DB_OK;
}

/* Candidate row i: p must see the case (the predicate on the row's lead
 * and agencies, as the case list asks it); overdue_actions only with an
 * overdue item p sees (the case's context loaded only then).
 * pick->reasons stays 0 when the case is not taken. */
static int agenda_decide(mdt_dbc_t *c, const meetop_t *op, const mdt_agenda_ask_t *ask,
                         const PGresult *r, int i, mdt_casectx_t *cx, mdt_agenda_pick_t *pick)
{
    memset(pick, 0, sizeof(*pick));
    pick->case_id = mdt_db_int(r, i, CAND_ID);
    pick->row = i;
    int64_t ag[MDT_CASE_MAX_AGENCIES];
    mdt_case_ctx_t view = {
        .case_id = pick->case_id, .lead_agency_id = mdt_db_int(r, i, CAND_LEAD), .agencies = ag};
    view.n_agencies =
        mdt_casectx_parse_ids(mdt_db_str(r, i, CAND_AGENCIES), ag, MDT_CASE_MAX_AGENCIES);
    if (!mdt_authz_case_visible(&op->p, &view))
        return MDT_DB_OK;
    int rc = MDT_DB_OK;
    if (mdt_db_bool(r, i, CAND_OVERDUE) &&
        (rc = mdt_casectx_load(c, pick->case_id, cx)) == MDT_DB_OK)
        rc = count_overdue(c, op, cx, &pick->overdue);
    if (rc == MDT_DB_NOT_FOUND)
        return MDT_DB_OK;
    unsigned m = 0;
    m |= mdt_db_bool(r, i, CAND_CARRIED) ? MDT_REASON_CARRIED_OVER : 0;
    m |= ask->with_overdue && pick->overdue > 0 ? MDT_REASON_OVERDUE_ACTIONS : 0;
    m |= mdt_db_bool(r, i, CAND_REVIEW_DUE) ? MDT_REASON_REVIEW_DUE : 0;
    m |= mdt_db_bool(r, i, CAND_NOT_REVIEWED) ? MDT_REASON_NOT_REVIEWED : 0;
    pick->reasons = m;
    pick->review_due = mdt_db_str(r, i, CAND_DUE);
    pick->referral = mdt_db_str(r, i, CAND_REFERRAL);
    return rc;
}

/* The group of a pick: its first reason in the order of the bits. */
static int pick_group(const mdt_agenda_pick_t *a)
{
    int k = 0;
    while (k < MDT_REASON_COUNT && !(a->reasons & (1u << k)))
        k++;
    return k;
}

/* Dates as YYYY-MM-DD text; NULL (no review due) after every date. */
static int cmp_date(const char *a, const char *b)
{
    if (!a || !b)
        return (a == NULL) - (b == NULL);
    return strcmp(a, b);
}

/* By group, then review_due (none last), then referral date, then id. */
static int pick_cmp(const void *pa, const void *pb)
{
    const mdt_agenda_pick_t *a = pa, *b = pb;
    int d = pick_group(a) - pick_group(b);
    if (!d)
        d = cmp_date(a->review_due, b->review_due);
    if (!d)
        d = cmp_date(a->referral, b->referral);
    if (!d)
        d = (a->case_id > b->case_id) - (a->case_id < b->case_id);
    return d;
}

void mdt_meetings_agenda_free(mdt_agenda_t *ag)
{
    PQclear(ag->res);
    free(ag->v);
    memset(ag, 0, sizeof(*ag));
}

int mdt_meetings_agenda_pick(mdt_dbc_t *c, const meetop_t *op, const mdt_agenda_ask_t *ask,
                             mdt_agenda_t *out)
{
    memset(out, 0, sizeof(*out));
    out->res = agenda_candidates(c, op, ask);
    if (!out->res)
        return c->status;
    int n = PQntuples(out->res);
    out->v = calloc((size_t)n + 1, sizeof(*out->v));
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    int rc = out->v && cx ? MDT_DB_OK : MDT_DB_ERROR;
    for (int i = 0; i < n && rc == MDT_DB_OK; i++) {
        rc = agenda_decide(c, op, ask, out->res, i, cx, &out->v[out->n]);
        out->n += rc == MDT_DB_OK && out->v[out->n].reasons != 0;
    }
    free(cx);
    if (rc == MDT_DB_OK)
        qsort(out->v, out->n, sizeof(*out->v), pick_cmp);
    else
        mdt_meetings_agenda_free(out);
    return rc;
}

/* ==== GET /meetings/agenda-suggestions ==================================== */

/* A query flag: absent or empty = 0, else exactly true or false (422). */
static int query_flag(mdt_req_t *req, const char *name, int *out, mdt_err_t *e)
{
    const char *s = mdt_req_query(req, name);
    *out = s && strcmp(s, "true") == 0;
    if (!s || !*s || *out || strcmp(s, "false") == 0)
        return 0;
    mdt_err_set(e, 422, "validation", name, "%s must be true or false", name);
    return -1;
}

/* The ask from the query string; every bad parameter is 422 naming it. */
static int suggest_parse(mdt_req_t *req, mdt_agenda_ask_t *ask, mdt_err_t *e)
{
    const char *on = mdt_req_query(req, "on");
    if (on && *on && !mdt_json_valid_date(on)) {
        mdt_err_set(e, 422, "validation", "on", "on must be a date YYYY-MM-DD");
        return -1;
    }
    snprintf(ask->on, sizeof(ask->on), "%s", on ? on : "");
    if (mdt_req_query_int(req, "not_reviewed_days", 0, 3650, -1, &ask->not_reviewed, e) < 0) {
        /* not an integer is as invalid as out of range here: 422 */
        e->status = 422;
        e->code = "validation";
        return -1;
    }
    if (query_flag(req, "with_overdue_actions", &ask->with_overdue, e) < 0 ||
        query_flag(req, "review_due", &ask->review_due, e) < 0 ||
        query_flag(req, "carry_over", &ask->carry_over, e) < 0)
        return -1;
    return 0;
}

static json_t *suggest_item(const mdt_agenda_t *ag, const mdt_agenda_pick_t *pick)
{
    const PGresult *r = ag->res;
    int i = pick->row;
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:o, s:i}", "case_id", (json_int_t)pick->case_id,
                  "case_number", mdt_db_str(r, i, CAND_NUMBER), "alias",
                  mdt_db_str(r, i, CAND_ALIAS), "status", mdt_db_str(r, i, CAND_STATUS), "reasons",
                  mdt_meeting_item_reasons_json(pick->reasons), "overdue_actions", pick->overdue);
    mdt_cases_review_set(o, r, i, CAND_REVIEW);
    return o;
}

static int suggest_work(mdt_dbc_t *c, meetop_t *op)
{
    mdt_agenda_t ag;
    int rc = mdt_meetings_agenda_pick(c, op, op->ud, &ag);
    if (rc != MDT_DB_OK)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < ag.n; i++)
        json_array_append_new(items, suggest_item(&ag, &ag.v[i]));
    mdt_meetings_agenda_free(&ag);
    op->read_detail = json_pack("{s:I}", "count", (json_int_t)json_array_size(items));
    op->run.ans.result = json_pack("{s:o}", "items", items);
    return MDT_DB_OK;
}

void mdt_meetings_suggestions(mdt_req_t *req)
{
    mdt_principal_t p = mdt_auth_principal(req);
    if (!mdt_authz_meeting_run(&p)) {
        mdt_http_error(req, 403, "forbidden", NULL, "only supervisors build agendas");
        return;
    }
    mdt_err_t e = {0};
    mdt_agenda_ask_t *ask = calloc(1, sizeof(*ask));
    if (!ask) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (suggest_parse(req, ask, &e) < 0) {
        free(ask);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = mdt_meetings_meetop_new(req, suggest_work, ask, free);
    if (!op)
        return;
    op->run.isolation = "repeatable read";
    op->read_action = "meeting.suggestions";
    mdt_meetings_meetop_run(op);
}
