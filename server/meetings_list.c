/* meetings_list.c - GET /meetings: the meetings the caller may see, in
 * time order, with date or RFC 3339 bounds and a cursor (see meetings.h
 * and docs/meetings.md). */
#include "meetings_int.h"

/* ==== GET /meetings ========================================================== */

typedef struct {
    const char *from, *to; /* borrowed query values: a date or an RFC 3339 time */
    int64_t limit, cursor_us, cursor_id;
} list_in_t;

/* from/to: a YYYY-MM-DD date (in the installation's time zone) or an RFC
 * 3339 date-time. */
static int list_bound(mdt_req_t *req, const char *name, const char **out, mdt_err_t *e)
{
    const char *s = mdt_req_query(req, name);
    *out = NULL;
    if (!s || !*s)
        return 0;
    if (!(strlen(s) == 10 && mdt_json_valid_date(s)) && !mdt_json_valid_datetime(s)) {
        mdt_err_set(e, 422, "validation", name,
                    "%s must be a date (2026-11-28) or an RFC 3339 time (2026-11-28T14:00:00Z)",
                    name);
        return -1;
    }
    *out = s;
    return 0;
}

static int list_parse(mdt_req_t *req, list_in_t *in, mdt_err_t *e)
{
    in->limit = 50;
    const char *s = mdt_req_query(req, "limit");
    if (s && *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (*end || s[0] < '0' || s[0] > '9' || v < 1 || v > 500) {
            mdt_err_set(e, 422, "validation", "limit", "limit must be an integer from 1 to 500");
            return -1;
        }
        in->limit = v;
    }
    s = mdt_req_query(req, "cursor");
    if (s && *s) {
        long long us, id;
        char tail;
        if (sscanf(s, "%lld.%lld%c", &us, &id, &tail) != 2 || id < 1) {
            mdt_err_set(e, 422, "validation", "cursor",
                        "cursor must be the next of a previous page");
            return -1;
        }
        in->cursor_us = us;
        in->cursor_id = id;
    }
    return list_bound(req, "from", &in->from, e) < 0 || list_bound(req, "to", &in->to, e) < 0 ? -1
                                                                                              : 0;
}

/* The meetings p's agency might see, in time order: the meeting's agency,
 * an attendee's agency, or an agency on a case of the agenda. The
 * predicate then decides each (mdt_meetings_render). */
static PGresult *list_query(mdt_dbc_t *c, const meetop_t *op, const list_in_t *in)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->p.agency_id);
    mdt_db_param_str(&q, in->from);
    mdt_db_param_str(&q, in->to);
    mdt_db_param_str(&q, op->time_zone);
    if (in->cursor_id)
        mdt_db_param_int(&q, in->cursor_us);
    else
        mdt_db_param_str(&q, NULL);
    mdt_db_param_int(&q, in->cursor_id);
    mdt_db_param_int(&q, in->limit + 1);
    return mdt_db_query(
        c,
        "SELECT m.id, (extract(epoch FROM m.scheduled_at) * 1000000)::bigint FROM meetings m"
        " WHERE (m.agency_id = $1"
        "  OR EXISTS (SELECT 1 FROM meeting_attendance a WHERE a.meeting_id = m.id"
        "   AND a.agency_id = $1)"
        "  OR EXISTS (SELECT 1 FROM meeting_cases mc JOIN case_agencies ca"
        "   ON ca.case_id = mc.case_id WHERE mc.meeting_id = m.id AND mc.removed_at IS NULL"
        "   AND ca.agency_id = $1))"
        " AND ($2::text IS NULL OR m.scheduled_at >= CASE WHEN length($2) = 10"
        "  THEN ($2::date)::timestamp AT TIME ZONE $4 ELSE $2::timestamptz END)"
        " AND ($3::text IS NULL OR CASE WHEN length($3) = 10"
        "  THEN m.scheduled_at < ($3::date + 1)::timestamp AT TIME ZONE $4"
        "  ELSE m.scheduled_at <= $3::timestamptz END)"
        " AND ($5::bigint IS NULL OR ((extract(epoch FROM m.scheduled_at) * 1000000)::bigint, m.id)"
        "  > ($5::bigint, $6::bigint))"
        " ORDER BY m.scheduled_at, m.id LIMIT $7",
        &q);
}

/* Appends the meeting of row i as p sees it (none when the predicate
 * refuses what the query let through: logged). */
static int list_item(mdt_dbc_t *c, meetop_t *op, int64_t id, json_t *items)
{
    int rc;
    mdt_meeting_t *m = mdt_meetings_load(c, id, &rc);
    if (!m)
        return rc;
    json_t *j = mdt_meetings_render(m, &op->p);
    mdt_meetings_free(m);
    if (j)
        json_array_append_new(items, j);
    else
        mdt_log_warn("meeting list row refused by the predicate", "meeting_id=%lld user_id=%lld",
                     (long long)id, (long long)op->p.user_id);
    return MDT_DB_OK;
}

static int list_work(mdt_dbc_t *c, meetop_t *op)
{
    list_in_t *in = op->ud;
    PGresult *r = list_query(c, op, in);
    if (!r)
        return c->status;
    int n = PQntuples(r);
    int more = n > in->limit;
    if (more)
        n = (int)in->limit;
    json_t *items = json_array();
    int rc = MDT_DB_OK;
    for (int i = 0; i < n && rc == MDT_DB_OK; i++)
        rc = list_item(c, op, mdt_db_int(r, i, 0), items);
    char next[48] = "";
    if (more)
        snprintf(next, sizeof(next), "%lld.%lld", (long long)mdt_db_int(r, n - 1, 1),
                 (long long)mdt_db_int(r, n - 1, 0));
    PQclear(r);
    op->read_detail = json_pack("{s:I}", "count", (json_int_t)json_array_size(items));
    op->run.ans.result =
        json_pack("{s:o, s:o}", "items", items, "next", more ? json_string(next) : json_null());
    return rc;
}

void mdt_meetings_list(mdt_req_t *req)
{
    mdt_err_t e;
    list_in_t *in = calloc(1, sizeof(*in));
    if (!in) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (list_parse(req, in, &e) < 0) {
        free(in);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = mdt_meetings_meetop_new(req, list_work, in, free);
    if (!op)
        return;
    op->run.isolation = "repeatable read";
    op->read_action = "meeting.list";
    mdt_meetings_meetop_run(op);
}
