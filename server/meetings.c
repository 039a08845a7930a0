/* meetings.c - weekly case reviews (see meetings.h and docs/meetings.md).
 *
 * A meeting is not case-scoped, so it has its own small runner (meetop,
 * after caseop.c): on a database thread, an optional step before the
 * transaction (Markdown rendering), BEGIN, the meeting row locked for a
 * change, the meeting loaded with the authorization context of every case
 * on its agenda, 404 when the caller may not see it, the handler's work,
 * and for a change its audit row and its event (meeting_id set, no case)
 * as the last statements before COMMIT. Back on the loop it answers.
 *
 * What a principal sees of a meeting is decided in one place,
 * mdt_meetings_render: mdt_authz_meeting_visible for the whole, and
 * mdt_authz_case_visible for each agenda case (one it may not see is
 * exactly {position, restricted: true}; current_case_id is null when the
 * case under the pointer is one of those). REST answers, lists, error.current
 * and the WebSocket fan-out all use it. Outcomes keep every version
 * (meeting_outcome_versions) and a case taken off an agenda is marked
 * removed, never deleted. Minutes are written by minutes.c. */
#include "meetings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "audit.h"
#include "entries.h"
#include "events.h"
#include "idem.h"
#include "json.h"
#include "log.h"
#include "markdown.h"
#include "minutes.h"
#include "server.h"
#include "session.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define MEETINGS_MAX_AGENDA 200
#define TITLE_MAX_CHARS     200
#define ANSWERED            (-1) /* a check set op->err: roll back and answer it */

static const char *const STATUSES[] = {"planned", "in_progress", "ended", NULL};
enum { ST_PLANNED, ST_IN_PROGRESS, ST_ENDED };

/* ==== loading and serializing ============================================ */

/* The meeting row and its agenda (each timestamp as RFC 3339 UTC text). */
#define MEETING_TIMES                                                                              \
    TS("m.scheduled_at") ", " TS("m.created_at") ", " TS("m.started_at") ", " TS("m.ended_at")
#define MEETING_SELECT                                                                             \
    "SELECT m.id, m.title, m.status, m.facilitator_id, m.agency_id, m.current_position,"           \
    " m.version, m.created_by, " MEETING_TIMES " FROM meetings m WHERE m.id = $1"
#define OUTCOME_AT TS("mc.outcome_at")
#define AGENDA_SELECT                                                                              \
    "SELECT mc.case_id, c.alias, c.case_number, mc.outcome_md, mc.outcome_html, " OUTCOME_AT       \
    ", mc.outcome_by, mc.outcome_version FROM meeting_cases mc JOIN cases c ON c.id = mc.case_id"  \
    " WHERE mc.meeting_id = $1 AND mc.removed_at IS NULL ORDER BY mc.position, mc.case_id"

static PGresult *query_id(mdt_dbc_t *c, const char *sql, int64_t id)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    return mdt_db_query(c, sql, &prm);
}

static int meeting_load_row(mdt_dbc_t *c, mdt_meeting_t *m, int64_t id)
{
    PGresult *r = query_id(c, MEETING_SELECT, id);
    if (!r)
        return c->status;
    m->res[0] = r;
    if (PQntuples(r) != 1)
        return MDT_DB_NOT_FOUND;
    m->id = mdt_db_int(r, 0, 0);
    m->title = mdt_db_str(r, 0, 1);
    m->status = mdt_db_str(r, 0, 2);
    m->facilitator_id = mdt_db_int(r, 0, 3);
    m->agency_id = mdt_db_int(r, 0, 4);
    m->current_position = (int)mdt_db_int(r, 0, 5);
    m->version = (int)mdt_db_int(r, 0, 6);
    m->created_by = mdt_db_int(r, 0, 7);
    m->scheduled_at = mdt_db_str(r, 0, 8);
    m->created_at = mdt_db_str(r, 0, 9);
    m->started_at = mdt_db_str(r, 0, 10);
    m->ended_at = mdt_db_str(r, 0, 11);
    return MDT_DB_OK;
}

/* The agenda in order, each case with its authorization context. */
static int meeting_load_agenda(mdt_dbc_t *c, mdt_meeting_t *m)
{
    PGresult *r = query_id(c, AGENDA_SELECT, m->id);
    if (!r)
        return c->status;
    m->res[1] = r;
    size_t n = (size_t)PQntuples(r);
    m->agenda = calloc(n + 1, sizeof(*m->agenda));
    if (!m->agenda)
        return MDT_DB_ERROR;
    for (size_t i = 0; i < n; i++) {
        mdt_meeting_case_t *a = &m->agenda[i];
        int row = (int)i;
        a->position = (int)i + 1;
        a->case_id = mdt_db_int(r, row, 0);
        a->alias = mdt_db_str(r, row, 1);
        a->case_number = mdt_db_str(r, row, 2);
        a->outcome_md = mdt_db_str(r, row, 3);
        a->outcome_html = mdt_db_str(r, row, 4);
        a->outcome_at = mdt_db_str(r, row, 5);
        a->outcome_by = mdt_db_int(r, row, 6);
        a->outcome_version = (int)mdt_db_int(r, row, 7);
        int rc = mdt_casectx_load(c, a->case_id, &a->cx);
        if (rc != MDT_DB_OK)
            return rc;
        m->n_agenda = i + 1;
    }
    return MDT_DB_OK;
}

static int meeting_load_attendance(mdt_dbc_t *c, mdt_meeting_t *m)
{
    PGresult *r = query_id(c,
                           "SELECT user_id, agency_id FROM meeting_attendance"
                           " WHERE meeting_id = $1 ORDER BY at, user_id",
                           m->id);
    if (!r)
        return c->status;
    m->res[2] = r;
    size_t n = (size_t)PQntuples(r);
    m->attendees = calloc(2 * n + 1, sizeof(int64_t));
    if (!m->attendees)
        return MDT_DB_ERROR;
    m->attendee_agencies = m->attendees + n;
    for (size_t i = 0; i < n; i++) {
        m->attendees[i] = mdt_db_int(r, (int)i, 0);
        m->attendee_agencies[i] = mdt_db_int(r, (int)i, 1);
    }
    m->n_attendees = n;
    return MDT_DB_OK;
}

void mdt_meetings_free(mdt_meeting_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < 3; i++)
        PQclear(m->res[i]);
    free(m->agenda);
    free(m->attendees);
    free(m);
}

mdt_meeting_t *mdt_meetings_load(mdt_dbc_t *c, int64_t meeting_id, int *status)
{
    mdt_meeting_t *m = calloc(1, sizeof(*m));
    int rc = m ? meeting_load_row(c, m, meeting_id) : MDT_DB_ERROR;
    if (rc == MDT_DB_OK)
        rc = meeting_load_agenda(c, m);
    if (rc == MDT_DB_OK)
        rc = meeting_load_attendance(c, m);
    *status = rc;
    if (rc == MDT_DB_OK)
        return m;
    mdt_meetings_free(m);
    return NULL;
}

bool mdt_meetings_case_visible(const mdt_meeting_t *m, size_t i, const mdt_principal_t *p)
{
    if (!m || i >= m->n_agenda)
        return false;
    mdt_case_ctx_t view = mdt_casectx_view(&m->agenda[i].cx);
    return mdt_authz_case_visible(p, &view);
}

bool mdt_meetings_visible(const mdt_meeting_t *m, const mdt_principal_t *p)
{
    if (!m)
        return false;
    size_t seen = 0;
    for (size_t i = 0; i < m->n_agenda; i++)
        seen += mdt_meetings_case_visible(m, i, p);
    return mdt_authz_meeting_visible(p, m->agency_id, m->attendee_agencies, m->n_attendees, seen);
}

/* One agenda case: whole, or exactly {position, restricted: true}. */
static json_t *agenda_item_json(const mdt_meeting_case_t *a, bool visible)
{
    if (!visible)
        return json_pack("{s:i, s:b}", "position", a->position, "restricted", 1);
    return json_pack("{s:i, s:I, s:s, s:s, s:o, s:o, s:i, s:o, s:o}", "position", a->position,
                     "case_id", (json_int_t)a->case_id, "alias", a->alias, "case_number",
                     a->case_number, "outcome_md", mdt_json_str_or_null(a->outcome_md),
                     "outcome_html", mdt_json_str_or_null(a->outcome_html), "outcome_version",
                     a->outcome_version, "outcome_by", mdt_json_id_or_null(a->outcome_by),
                     "outcome_at", mdt_json_str_or_null(a->outcome_at));
}

json_t *mdt_meetings_render(const mdt_meeting_t *m, const mdt_principal_t *p)
{
    if (!mdt_meetings_visible(m, p))
        return NULL;
    json_t *agenda = json_array();
    int64_t current = 0;
    for (size_t i = 0; i < m->n_agenda; i++) {
        bool vis = mdt_meetings_case_visible(m, i, p);
        if (vis && m->agenda[i].position == m->current_position)
            current = m->agenda[i].case_id;
        json_array_append_new(agenda, agenda_item_json(&m->agenda[i], vis));
    }
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:i, s:I, s:s, s:o, s:o}", "id",
        (json_int_t)m->id, "title", m->title, "scheduled_at", m->scheduled_at, "status", m->status,
        "facilitator_id", (json_int_t)m->facilitator_id, "agency_id", (json_int_t)m->agency_id,
        "current_position", m->current_position ? json_integer(m->current_position) : json_null(),
        "current_case_id", mdt_json_id_or_null(current), "agenda", agenda, "attendees",
        mdt_entries_ids_json(m->attendees, m->n_attendees), "version", m->version, "created_by",
        (json_int_t)m->created_by, "created_at", m->created_at, "started_at",
        mdt_json_str_or_null(m->started_at), "ended_at", mdt_json_str_or_null(m->ended_at));
}

json_t *mdt_meetings_json(mdt_dbc_t *c, const mdt_principal_t *p, int64_t meeting_id)
{
    int rc;
    mdt_meeting_t *m = mdt_meetings_load(c, meeting_id, &rc);
    if (!m) {
        if (rc == MDT_DB_NOT_FOUND)
            c->status = MDT_DB_OK; /* no such meeting: not a database error */
        else if (c->status == MDT_DB_OK)
            c->status = rc;
        return NULL;
    }
    json_t *j = mdt_meetings_render(m, p);
    mdt_meetings_free(m);
    return j;
}

int mdt_meetings_check_case(mdt_dbc_t *c, const mdt_principal_t *p, int64_t meeting_id,
                            int64_t case_id, bool *ok)
{
    *ok = false;
    int rc;
    mdt_meeting_t *m = mdt_meetings_load(c, meeting_id, &rc);
    if (!m)
        return rc == MDT_DB_NOT_FOUND ? MDT_DB_OK : rc;
    for (size_t i = 0; i < m->n_agenda && mdt_meetings_visible(m, p); i++)
        *ok |= m->agenda[i].case_id == case_id;
    mdt_meetings_free(m);
    return MDT_DB_OK;
}

/* Is the case at position pos of m (0 = none)? Its id, or 0. */
static int64_t case_at(const mdt_meeting_t *m, int pos)
{
    return pos > 0 && (size_t)pos <= m->n_agenda ? m->agenda[pos - 1].case_id : 0;
}

/* ==== the runner ========================================================== */

typedef struct meetop meetop_t;
typedef int (*meetop_fn)(mdt_dbc_t *c, meetop_t *op);

struct meetop {
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    const char *time_zone; /* the installation's, for dates */
    int64_t meeting_id;    /* the meeting in the path (0: list, create sets it) */
    const char *isolation; /* NULL or "repeatable read" */
    int lock;              /* a change: lock the meeting row, then load it */
    meetop_fn pre;         /* optional, on the database thread before BEGIN */
    meetop_fn work;
    int ok_status;
    const char *read_action; /* non-NULL: audit the answer as a read */
    json_t *read_detail;
    mdt_meeting_t *m; /* the meeting as it is when work starts */
    void *ud;
    void (*ud_free)(void *);

    json_t *result;  /* the answer */
    json_t *current; /* with a 409: error.current */
    char *text;      /* a document answer instead (minutes) */
    size_t text_len;
    const char *text_type;
    mdt_err_t err;
    mdt_idem_t idem; /* Idempotency-Key of a create (idem.h) */
};

static void meetop_free(void *arg)
{
    meetop_t *op = arg;
    if (op->ud_free)
        op->ud_free(op->ud);
    mdt_idem_clear(&op->idem);
    mdt_meetings_free(op->m);
    json_decref(op->read_detail);
    json_decref(op->result);
    json_decref(op->current);
    free(op->text);
    free(op);
}

/* A runner for req owning ud (freed with ud_free, also when this fails). */
static meetop_t *meetop_new(mdt_req_t *req, meetop_fn work, void *ud, void (*ud_free)(void *))
{
    meetop_t *op = calloc(1, sizeof(*op));
    if (!op) {
        if (ud_free)
            ud_free(ud);
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    op->req = req;
    op->work = work;
    op->ud = ud;
    op->ud_free = ud_free;
    op->ok_status = 200;
    op->p = mdt_auth_principal(req);
    op->time_zone = req->srv->cfg.time_zone;
    mdt_audit_actor_from_req(req, &op->actor);
    req->state = op;
    req->state_free = meetop_free;
    return op;
}

static int stop(meetop_t *op, int status, const char *code, const char *field, const char *message)
{
    mdt_err_set(&op->err, status, code, field, "%s", message);
    return ANSWERED;
}

/* 409 with the meeting as the caller sees it now. */
static int conflict(meetop_t *op, const char *message)
{
    op->current = mdt_meetings_render(op->m, &op->p);
    return stop(op, 409, "conflict", NULL, message);
}

static int meetop_load(mdt_dbc_t *c, meetop_t *op)
{
    if (op->lock) {
        PGresult *r =
            query_id(c, "SELECT 1 FROM meetings WHERE id = $1 FOR UPDATE", op->meeting_id);
        if (!r)
            return c->status;
        int found = PQntuples(r) == 1;
        PQclear(r);
        if (!found)
            return MDT_DB_NOT_FOUND;
    }
    int rc;
    op->m = mdt_meetings_load(c, op->meeting_id, &rc);
    if (!op->m)
        return rc;
    return mdt_meetings_visible(op->m, &op->p) ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}

static int meetop_work(mdt_dbc_t *c, void *arg)
{
    meetop_t *op = arg;
    int rc = op->pre ? op->pre(c, op) : MDT_DB_OK;
    if (rc == MDT_DB_OK)
        rc = mdt_db_begin(c, op->isolation);
    if (rc == MDT_DB_OK && op->meeting_id)
        rc = meetop_load(c, op);
    if (rc == MDT_DB_OK)
        rc = mdt_idem_claim(c, &op->idem, &op->err); /* idem: replay, 409, 422 */
    if (rc == MDT_DB_OK)
        rc = op->work(c, op);
    if (rc == ANSWERED || rc == MDT_IDEM_ANSWERED)
        return MDT_DB_OK; /* the pool rolls back what is open */
    if (rc != MDT_DB_OK || op->err.status)
        return rc;
    rc = mdt_idem_store(c, &op->idem, op->ok_status, op->result); /* idem */
    return rc == MDT_DB_OK ? mdt_db_commit(c) : rc;
}

static void meetop_answer(meetop_t *op)
{
    mdt_req_t *req = op->req;
    if (op->err.status == 409 && op->current) {
        json_t *cur = op->current;
        op->current = NULL;
        mdt_http_conflict(req, op->err.message, cur);
    } else if (op->err.status) {
        mdt_http_fail(req, &op->err);
    } else if (mdt_idem_answer(req, &op->idem)) {
        return; /* idem: the stored or replayed answer */
    } else if (op->text) {
        char *text = op->text;
        op->text = NULL;
        mdt_http_respond(req, op->ok_status, op->text_type, text, op->text_len);
    } else {
        json_t *res = op->result;
        op->result = NULL;
        mdt_http_respond_json(req, op->ok_status, res ? res : json_object());
    }
}

static void meetop_done(void *arg, int status)
{
    meetop_t *op = arg;
    if (status == MDT_DB_OK && op->read_action && !op->err.status) {
        mdt_audit_rec_t rec = {.action = op->read_action,
                               .object_type = "meeting",
                               .object_id = op->meeting_id,
                               .detail = op->read_detail};
        mdt_audit_read(op->req->srv, &op->actor, &rec);
    }
    if (status != MDT_DB_OK)
        mdt_http_fail_db(op->req, status);
    else
        meetop_answer(op);
}

static void meetop_run(meetop_t *op)
{
    if (mdt_idem_init(&op->idem, op->req) != 0)
        return; /* answered */
    if (mdt_db_submit(op->req->srv->db, meetop_work, meetop_done, op) != 0)
        mdt_http_fail_db(op->req, MDT_DB_REFUSED);
}

/* After a change: the meeting as the caller sees it now into op->result
 * (just its id when the change took it out of the caller's sight), and
 * the fresh meeting into *out when asked for. */
static int meetop_reload(mdt_dbc_t *c, meetop_t *op, mdt_meeting_t **out)
{
    int rc;
    mdt_meeting_t *m = mdt_meetings_load(c, op->meeting_id, &rc);
    if (!m)
        return rc == MDT_DB_NOT_FOUND ? MDT_DB_ERROR : rc;
    json_decref(op->result);
    op->result = mdt_meetings_render(m, &op->p);
    if (!op->result)
        op->result = json_pack("{s:I}", "id", (json_int_t)op->meeting_id);
    if (out)
        *out = m;
    else
        mdt_meetings_free(m);
    return MDT_DB_OK;
}

/* The change's audit row, then its event, as the last statements before
 * COMMIT. detail (ids, field names and enum values only) is stolen. */
static int meetop_record(mdt_dbc_t *c, meetop_t *op, const char *action, const char *kind,
                         int64_t case_id, json_t *detail)
{
    mdt_audit_rec_t rec = {.action = action,
                           .object_type = "meeting",
                           .object_id = op->meeting_id,
                           .case_id = case_id,
                           .detail = detail};
    int rc = mdt_audit_append(c, &op->actor, &rec);
    json_decref(detail);
    if (rc != MDT_DB_OK)
        return rc;
    json_t *data =
        json_pack("{s:s, s:I}", "object_type", "meeting", "id", (json_int_t)op->meeting_id);
    mdt_event_t ev = {.meeting_id = op->meeting_id,
                      .kind = kind,
                      .object_type = "meeting",
                      .object_id = op->meeting_id,
                      .actor_id = op->p.user_id,
                      .data = data};
    int64_t seq = mdt_event_emit(c, &ev);
    json_decref(data);
    return seq > 0 ? MDT_DB_OK : c->status;
}

/* Bumps the meeting's version (every change does). */
static int bump_version(mdt_dbc_t *c, int64_t meeting_id)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, meeting_id);
    return mdt_db_exec(c, "UPDATE meetings SET version = version + 1 WHERE id = $1", &prm);
}

/* ==== input helpers ======================================================= */

static int two_digits(const char *s, int lo, int hi)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return 0;
    int v = (s[0] - '0') * 10 + (s[1] - '0');
    return v >= lo && v <= hi;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int valid_time(const char *s)
{
    char date[11];
    size_t n = strlen(s);
    if (n < 20 || n > 35)
        return 0;
    memcpy(date, s, 10);
    date[10] = 0;
    if (!mdt_json_valid_date(date) || s[10] != 'T' || !two_digits(s + 11, 0, 23) || s[13] != ':' ||
        !two_digits(s + 14, 0, 59) || s[16] != ':' || !two_digits(s + 17, 0, 59))
        return 0;
    const char *t = s + 19;
    if (*t == '.') {
        const char *d = ++t;
        while (*t >= '0' && *t <= '9')
            t++;
        if (t == d || t - d > 9)
            return 0;
    }
    if (strcmp(t, "Z") == 0)
        return 1;
    return (t[0] == '+' || t[0] == '-') && strlen(t) == 6 && two_digits(t + 1, 0, 23) &&
           t[3] == ':' && two_digits(t + 4, 0, 59);
}

/* Code points of a valid UTF-8 string; 0 when it holds only white space. */
static size_t text_chars(const char *s)
{
    size_t n = 0;
    int seen = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
        seen |= !strchr(" \t\r\n\f\v", *s);
    }
    return seen ? n : 0;
}

static int is_null(json_t *b, const char *key)
{
    json_t *v = json_object_get(b, key);
    return v && json_is_null(v);
}

/* "{1,2,3}" for a bigint[] parameter; malloc'ed, NULL when out of memory. */
static char *ids_literal(const int64_t *ids, size_t n)
{
    char *s = malloc(n * 21 + 3);
    if (!s)
        return NULL;
    size_t k = 0;
    s[k++] = '{';
    for (size_t i = 0; i < n; i++)
        k += (size_t)sprintf(s + k, "%s%lld", i ? "," : "", (long long)ids[i]);
    s[k++] = '}';
    s[k] = 0;
    return s;
}

static bool ids_has(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id)
            return true;
    }
    return false;
}

/* Every id of ids[0..n) is a case p may see (asked of authz with the
 * case's context); else 422 naming field. */
static int check_cases_visible(mdt_dbc_t *c, meetop_t *op, const int64_t *ids, size_t n,
                               const char *field)
{
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    if (!cx)
        return MDT_DB_ERROR;
    int rc = MDT_DB_OK;
    for (size_t i = 0; i < n && rc == MDT_DB_OK; i++) {
        rc = mdt_casectx_load(c, ids[i], cx);
        mdt_case_ctx_t view = mdt_casectx_view(cx);
        if (rc == MDT_DB_NOT_FOUND || (rc == MDT_DB_OK && !mdt_authz_case_visible(&op->p, &view)))
            rc = stop(op, 422, "validation", field, "every case must be a case you can see");
    }
    free(cx);
    return rc;
}

/* ==== GET /meetings/{id} ==================================================== */

static int get_work(mdt_dbc_t *c, meetop_t *op)
{
    (void)c;
    op->result = mdt_meetings_render(op->m, &op->p);
    return op->result ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}

void mdt_meetings_get(mdt_req_t *req)
{
    meetop_t *op = meetop_new(req, get_work, NULL, NULL);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->isolation = "repeatable read";
    op->read_action = "meeting.read";
    meetop_run(op);
}

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
    if (!(strlen(s) == 10 && mdt_json_valid_date(s)) && !valid_time(s)) {
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
    op->result =
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
    meetop_t *op = meetop_new(req, list_work, in, free);
    if (!op)
        return;
    op->isolation = "repeatable read";
    op->read_action = "meeting.list";
    meetop_run(op);
}

/* ==== POST /meetings ========================================================== */

typedef struct {
    const char *title, *scheduled_at; /* borrowed from req->json */
    int64_t *case_ids;                /* malloc'ed */
    size_t n_case_ids;
    int with_default;     /* default_agenda given */
    int64_t not_reviewed; /* days; -1 = not asked for */
    int with_overdue;     /* cases with overdue action items */
    int64_t *agenda;      /* the agenda to write (malloc'ed) */
    size_t n_agenda;
} create_in_t;

static void create_in_free(void *arg)
{
    create_in_t *in = arg;
    if (in) {
        free(in->case_ids);
        free(in->agenda);
    }
    free(in);
}

static int parse_title(json_t *b, int required, const char **out, mdt_err_t *e)
{
    int rc = mdt_json_str(b, "title", required, TITLE_MAX_CHARS * 4, out, e);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    size_t n = text_chars(*out);
    if (n == 0 || n > TITLE_MAX_CHARS) {
        mdt_err_set(e, 422, "validation", "title", "title must be 1 to %d characters",
                    TITLE_MAX_CHARS);
        return -1;
    }
    return 0;
}

static int parse_default_agenda(json_t *b, create_in_t *in, mdt_err_t *e)
{
    json_t *d = json_object_get(b, "default_agenda");
    in->not_reviewed = -1;
    if (!d || json_is_null(d))
        return 0;
    if (!json_is_object(d)) {
        mdt_err_set(e, 400, "bad_request", "default_agenda",
                    "default_agenda must be an object {not_reviewed_days, with_overdue_actions}");
        return -1;
    }
    in->with_default = 1;
    if (mdt_json_int(d, "not_reviewed_days", 0, 0, 3650, &in->not_reviewed, e) < 0 ||
        mdt_json_bool(d, "with_overdue_actions", 0, &in->with_overdue, e) < 0)
        return -1;
    return 0;
}

static int parse_create(json_t *b, create_in_t *in, mdt_err_t *e)
{
    if (parse_title(b, 1, &in->title, e) < 0 ||
        mdt_json_str(b, "scheduled_at", 1, 64, &in->scheduled_at, e) < 0 ||
        mdt_json_ids(b, "case_ids", 0, MEETINGS_MAX_AGENDA, &in->case_ids, &in->n_case_ids, e) <
            0 ||
        parse_default_agenda(b, in, e) < 0)
        return -1;
    if (!valid_time(in->scheduled_at)) {
        mdt_err_set(e, 422, "validation", "scheduled_at",
                    "scheduled_at must be an RFC 3339 time such as 2026-11-28T14:00:00Z");
        return -1;
    }
    return 0;
}

/* Candidates for the default agenda: cases p's agency is on that are open
 * and have no outcome recorded in a meeting dated within the last N days
 * (column 1), or that have an overdue action item (column 2), by referral
 * date. The predicate and the action-item serializer then decide. */
static PGresult *default_candidates(mdt_dbc_t *c, const meetop_t *op, const create_in_t *in)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->p.agency_id);
    if (in->not_reviewed >= 0)
        mdt_db_param_int(&q, in->not_reviewed);
    else
        mdt_db_param_str(&q, NULL);
    mdt_db_param_str(&q, op->time_zone);
    mdt_db_param_bool(&q, in->with_overdue);
    return mdt_db_query(
        c,
        "SELECT id, nr, od FROM (SELECT c.id, c.referral_date,"
        " ($2::int IS NOT NULL AND c.status <> 'closed' AND NOT EXISTS (SELECT 1"
        "  FROM meeting_cases mc JOIN meetings m ON m.id = mc.meeting_id"
        "  WHERE mc.case_id = c.id AND mc.removed_at IS NULL AND coalesce(mc.outcome_md, '') <> ''"
        "  AND (m.scheduled_at AT TIME ZONE $3)::date >= (now() AT TIME ZONE $3)::date - $2::int))"
        "  AS nr,"
        " ($4::boolean AND EXISTS (SELECT 1 FROM actions a WHERE a.case_id = c.id"
        "  AND a.retracted_at IS NULL AND a.status IN ('open', 'in_progress')"
        "  AND a.due_date < (now() AT TIME ZONE $3)::date)) AS od"
        " FROM cases c WHERE EXISTS (SELECT 1 FROM case_agencies ca WHERE ca.case_id = c.id"
        "  AND ca.agency_id = $1)) x"
        " WHERE nr OR od ORDER BY referral_date, id",
        &q);
}

/* Does p see an overdue action item of the case (as actions.c computes
 * `overdue`, in the installation's time zone)? */
static int sees_overdue(mdt_dbc_t *c, const meetop_t *op, const mdt_casectx_t *cx, bool *out)
{
    json_t *items = mdt_actions_list_json(c, &op->p, cx, 0, op->time_zone);
    if (!items)
        return c->status;
    size_t i;
    json_t *it;
    *out = false;
    json_array_foreach(items, i, it)
    {
        *out |= json_is_true(json_object_get(it, "overdue"));
    }
    json_decref(items);
    return MDT_DB_OK;
}

/* Does candidate row i of default_candidates go on the agenda? Only a case
 * p may see; one that is there only for overdue action items needs an
 * overdue item that p may see. */
static int default_take(mdt_dbc_t *c, const meetop_t *op, const PGresult *r, int i,
                        mdt_casectx_t *cx, bool *take)
{
    *take = false;
    int rc = mdt_casectx_load(c, mdt_db_int(r, i, 0), cx);
    if (rc != MDT_DB_OK)
        return rc == MDT_DB_NOT_FOUND ? MDT_DB_OK : rc;
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    if (!mdt_authz_case_visible(&op->p, &view))
        return MDT_DB_OK;
    *take = mdt_db_bool(r, i, 1);
    return *take ? MDT_DB_OK : sees_overdue(c, op, cx, take);
}

/* Appends to in->agenda (after the given case_ids) the default agenda. */
static int default_agenda(mdt_dbc_t *c, meetop_t *op, create_in_t *in)
{
    PGresult *r = default_candidates(c, op, in);
    mdt_casectx_t *cx = r ? malloc(sizeof(*cx)) : NULL;
    if (!r || !cx) {
        PQclear(r);
        return r ? MDT_DB_ERROR : c->status;
    }
    int rc = MDT_DB_OK;
    for (int i = 0; i < PQntuples(r) && rc == MDT_DB_OK; i++) {
        int64_t id = mdt_db_int(r, i, 0);
        bool take = false;
        if (!ids_has(in->agenda, in->n_agenda, id))
            rc = default_take(c, op, r, i, cx, &take);
        if (rc == MDT_DB_OK && take && in->n_agenda >= MEETINGS_MAX_AGENDA)
            rc = stop(op, 422, "validation", "default_agenda",
                      "the default agenda would hold more than 200 cases; use case_ids");
        else if (rc == MDT_DB_OK && take)
            in->agenda[in->n_agenda++] = id;
    }
    free(cx);
    PQclear(r);
    return rc;
}

static int create_insert(mdt_dbc_t *c, meetop_t *op, const create_in_t *in)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, in->title);
    mdt_db_param_str(&q, in->scheduled_at);
    mdt_db_param_int(&q, op->p.user_id);
    mdt_db_param_int(&q, op->p.agency_id);
    PGresult *r = mdt_db_query(c,
                               "INSERT INTO meetings (title, scheduled_at, facilitator_id,"
                               " agency_id, created_by) VALUES ($1, $2::timestamptz, $3, $4, $3)"
                               " RETURNING id",
                               &q);
    if (!r)
        return c->status;
    op->meeting_id = mdt_db_int(r, 0, 0);
    PQclear(r);
    return MDT_DB_OK;
}

/* Makes ids (in order) the meeting's agenda: others on it are marked
 * removed, the named ones (re)placed at their positions. */
static int write_agenda(mdt_dbc_t *c, const meetop_t *op, const int64_t *ids, size_t n)
{
    char *lit = ids_literal(ids, n);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->meeting_id);
    mdt_db_param_str(&q, lit);
    mdt_db_param_int(&q, op->p.user_id);
    int rc = mdt_db_exec(c,
                         "UPDATE meeting_cases SET removed_at = now(), removed_by = $3"
                         " WHERE meeting_id = $1 AND removed_at IS NULL"
                         " AND case_id <> ALL($2::bigint[])",
                         &q);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c,
                         "INSERT INTO meeting_cases (meeting_id, case_id, position, added_by)"
                         " SELECT $1, t.id, t.ord, $3"
                         " FROM unnest($2::bigint[]) WITH ORDINALITY AS t(id, ord)"
                         " ON CONFLICT (meeting_id, case_id) DO UPDATE"
                         " SET position = excluded.position, removed_at = NULL, removed_by = NULL",
                         &q);
    free(lit);
    return rc;
}

static int create_work(mdt_dbc_t *c, meetop_t *op)
{
    create_in_t *in = op->ud;
    int rc = check_cases_visible(c, op, in->case_ids, in->n_case_ids, "case_ids");
    if (rc != MDT_DB_OK)
        return rc;
    in->agenda = calloc(MEETINGS_MAX_AGENDA + 1, sizeof(int64_t));
    if (!in->agenda)
        return MDT_DB_ERROR;
    if (in->n_case_ids)
        memcpy(in->agenda, in->case_ids, in->n_case_ids * sizeof(int64_t));
    in->n_agenda = in->n_case_ids;
    if (in->with_default)
        rc = default_agenda(c, op, in);
    if (rc == MDT_DB_OK)
        rc = create_insert(c, op, in);
    if (rc == MDT_DB_OK)
        rc = write_agenda(c, op, in->agenda, in->n_agenda);
    if (rc == MDT_DB_OK)
        rc = meetop_reload(c, op, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    op->ok_status = 201;
    return meetop_record(c, op, "meeting.create", "meeting.updated", 0,
                         json_pack("{s:I, s:b}", "agenda_count", (json_int_t)in->n_agenda,
                                   "default_agenda", in->with_default));
}

void mdt_meetings_create(mdt_req_t *req)
{
    mdt_principal_t p = mdt_auth_principal(req);
    if (!mdt_authz_meeting_run(&p)) {
        mdt_http_error(req, 403, "forbidden", NULL, "only supervisors create meetings");
        return;
    }
    mdt_err_t e;
    create_in_t *in = calloc(1, sizeof(*in));
    if (!in) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (parse_create(req->json, in, &e) < 0) {
        create_in_free(in);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = meetop_new(req, create_work, in, create_in_free);
    if (op)
        meetop_run(op);
}

/* ==== PATCH /meetings/{id} ===================================================== */

typedef struct {
    int64_t version;
    int status;   /* STATUSES index; -1 = unchanged */
    int pos_set;  /* current_position given (maybe null) */
    int64_t pos;  /* 0 = null */
    int64_t *ids; /* agenda given (malloc'ed), visible cases in order */
    size_t n_ids;
    int agenda_set;
    int64_t facilitator_id; /* 0 = unchanged */
    int64_t *agenda;        /* the whole agenda to write (malloc'ed) */
    size_t n_agenda;
} patch_in_t;

static void patch_in_free(void *arg)
{
    patch_in_t *in = arg;
    if (in) {
        free(in->ids);
        free(in->agenda);
    }
    free(in);
}

static int parse_patch(json_t *b, patch_in_t *in, mdt_err_t *e)
{
    in->status = -1;
    int rc_pos, rc_agenda;
    if (mdt_json_int(b, "version", 1, 1, INT32_MAX, &in->version, e) < 0 ||
        mdt_json_enum(b, "status", 0, STATUSES, &in->status, e) < 0 ||
        (rc_pos = mdt_json_int(b, "current_position", 0, 1, MEETINGS_MAX_AGENDA, &in->pos, e)) <
            0 ||
        (rc_agenda = mdt_json_ids(b, "agenda", 0, MEETINGS_MAX_AGENDA, &in->ids, &in->n_ids, e)) <
            0 ||
        mdt_json_int(b, "facilitator_id", 0, 1, INT64_MAX, &in->facilitator_id, e) < 0)
        return -1;
    in->pos_set = rc_pos == 0 || is_null(b, "current_position");
    in->agenda_set = rc_agenda == 0;
    if (in->status < 0 && !in->pos_set && !in->agenda_set && !in->facilitator_id) {
        mdt_err_set(e, 422, "validation", NULL,
                    "nothing to change: give status, current_position, agenda or facilitator_id");
        return -1;
    }
    return 0;
}

/* The whole new agenda: cases the facilitator may not see keep their
 * places; the others are the given ids in order, filling the remaining
 * places, and any left over follow at the end. */
static int patch_merge_agenda(meetop_t *op, patch_in_t *in)
{
    const mdt_meeting_t *m = op->m;
    in->agenda = calloc(m->n_agenda + in->n_ids + 1, sizeof(int64_t));
    if (!in->agenda)
        return MDT_DB_ERROR;
    size_t next = 0;
    for (size_t i = 0; i < m->n_agenda; i++) {
        if (!mdt_meetings_case_visible(m, i, &op->p))
            in->agenda[in->n_agenda++] = m->agenda[i].case_id;
        else if (next < in->n_ids)
            in->agenda[in->n_agenda++] = in->ids[next++];
    }
    while (next < in->n_ids)
        in->agenda[in->n_agenda++] = in->ids[next++];
    if (in->n_agenda > MEETINGS_MAX_AGENDA)
        return stop(op, 422, "validation", "agenda", "an agenda holds at most 200 cases");
    return MDT_DB_OK;
}

/* Status only forward: planned → in_progress → ended. */
static int patch_check_status(meetop_t *op, const patch_in_t *in, int cur)
{
    if (in->status >= 0 && in->status != cur && in->status != cur + 1)
        return stop(op, 422, "validation", "status",
                    "status only moves forward: planned, in_progress, ended");
    if (cur == ST_ENDED && in->agenda_set)
        return stop(op, 422, "validation", "agenda", "the meeting has ended");
    if (cur == ST_ENDED && in->pos_set)
        return stop(op, 422, "validation", "current_position", "the meeting has ended");
    return MDT_DB_OK;
}

/* The pointer after the patch: as given (within the new agenda), else
 * following the case it was on when the agenda changes (null when that
 * case left the agenda), else unchanged. */
static int patch_position(meetop_t *op, patch_in_t *in)
{
    size_t len = in->agenda_set ? in->n_agenda : op->m->n_agenda;
    if (in->pos_set) {
        if (in->pos > (int64_t)len)
            return stop(op, 422, "validation", "current_position",
                        "current_position must be a position of the agenda (1 to its length) or "
                        "null");
        return MDT_DB_OK;
    }
    in->pos = op->m->current_position;
    if (in->agenda_set) {
        int64_t cur = case_at(op->m, op->m->current_position);
        in->pos = 0;
        for (size_t i = 0; cur && i < in->n_agenda; i++) {
            if (in->agenda[i] == cur)
                in->pos = (int64_t)i + 1;
        }
    }
    return MDT_DB_OK;
}

/* A new facilitator: an active user. (Seeing the meeting is checked
 * after the change, on the meeting as it will be.) */
static int patch_check_facilitator(mdt_dbc_t *c, meetop_t *op, const patch_in_t *in,
                                   mdt_principal_t *out)
{
    if (!in->facilitator_id || in->facilitator_id == op->m->facilitator_id)
        return MDT_DB_OK;
    mdt_user_t u;
    int rc = mdt_session_load_user(c, in->facilitator_id, "", &u);
    if (rc == MDT_DB_NOT_FOUND || (rc == MDT_DB_OK && !u.active))
        return stop(op, 422, "validation", "facilitator_id",
                    "facilitator_id must be an active user");
    if (rc == MDT_DB_OK)
        *out = mdt_session_principal(&u);
    return rc;
}

static int patch_write(mdt_dbc_t *c, meetop_t *op, const patch_in_t *in)
{
    int rc = in->agenda_set ? write_agenda(c, op, in->agenda, in->n_agenda) : MDT_DB_OK;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->meeting_id);
    mdt_db_param_str(&q, in->status >= 0 ? STATUSES[in->status] : NULL);
    if (in->pos)
        mdt_db_param_int(&q, in->pos);
    else
        mdt_db_param_str(&q, NULL);
    if (in->facilitator_id)
        mdt_db_param_int(&q, in->facilitator_id);
    else
        mdt_db_param_str(&q, NULL);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(
            c,
            "UPDATE meetings SET status = coalesce($2, status), current_position = $3,"
            " facilitator_id = coalesce($4, facilitator_id),"
            " started_at = CASE WHEN $2 = 'in_progress' THEN coalesce(started_at, now())"
            "  ELSE started_at END,"
            " ended_at = CASE WHEN $2 = 'ended' THEN coalesce(ended_at, now()) ELSE ended_at END,"
            " version = version + 1 WHERE id = $1",
            &q);
    return rc;
}

/* The audit detail: the fields given, and the new status. */
static json_t *patch_detail(const patch_in_t *in)
{
    json_t *fields = json_array();
    if (in->status >= 0)
        json_array_append_new(fields, json_string("status"));
    if (in->pos_set)
        json_array_append_new(fields, json_string("current_position"));
    if (in->agenda_set)
        json_array_append_new(fields, json_string("agenda"));
    if (in->facilitator_id)
        json_array_append_new(fields, json_string("facilitator_id"));
    json_t *d = json_pack("{s:o}", "fields", fields);
    if (in->status >= 0)
        json_object_set_new(d, "status", json_string(STATUSES[in->status]));
    return d;
}

/* Checks, merges and validates the patch against op->m; no writes. */
static int patch_prepare(mdt_dbc_t *c, meetop_t *op, patch_in_t *in, mdt_principal_t *next_fac)
{
    if (!mdt_authz_meeting_facilitate(&op->p, op->m->facilitator_id))
        return stop(op, 403, "forbidden", NULL, "only the meeting's facilitator may change it");
    if (in->version != op->m->version)
        return conflict(op, "the meeting was changed meanwhile; reload it");
    int cur = 0;
    while (STATUSES[cur] && strcmp(STATUSES[cur], op->m->status) != 0)
        cur++;
    int rc = patch_check_status(op, in, cur);
    if (rc == MDT_DB_OK && in->agenda_set)
        rc = check_cases_visible(c, op, in->ids, in->n_ids, "agenda");
    if (rc == MDT_DB_OK && in->agenda_set)
        rc = patch_merge_agenda(op, in);
    if (rc == MDT_DB_OK)
        rc = patch_position(op, in);
    if (rc == MDT_DB_OK)
        rc = patch_check_facilitator(c, op, in, next_fac);
    return rc;
}

static int patch_work(mdt_dbc_t *c, meetop_t *op)
{
    patch_in_t *in = op->ud;
    mdt_principal_t next_fac = {0};
    mdt_meeting_t *fresh = NULL;
    int rc = patch_prepare(c, op, in, &next_fac);
    if (rc == MDT_DB_OK)
        rc = patch_write(c, op, in);
    if (rc == MDT_DB_OK)
        rc = meetop_reload(c, op, &fresh);
    if (rc == MDT_DB_OK && next_fac.user_id && !mdt_meetings_visible(fresh, &next_fac))
        rc = stop(op, 422, "validation", "facilitator_id",
                  "the new facilitator must be able to see the meeting (attending it, or "
                  "seeing one of its cases)");
    const char *kind = "meeting.updated";
    if (rc == MDT_DB_OK &&
        (fresh->current_position != op->m->current_position ||
         case_at(fresh, fresh->current_position) != case_at(op->m, op->m->current_position)))
        kind = "meeting.current_case";
    mdt_meetings_free(fresh);
    if (rc != MDT_DB_OK)
        return rc;
    return meetop_record(c, op, "meeting.update", kind, 0, patch_detail(in));
}

void mdt_meetings_update(mdt_req_t *req)
{
    mdt_err_t e;
    patch_in_t *in = calloc(1, sizeof(*in));
    if (!in) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (parse_patch(req->json, in, &e) < 0) {
        patch_in_free(in);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = meetop_new(req, patch_work, in, patch_in_free);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->lock = 1;
    meetop_run(op);
}

/* ==== POST /meetings/{id}/attendance ============================================ */

/* The attendee's agency into *agency; 422 unless an active user. */
static int attendee_agency(mdt_dbc_t *c, meetop_t *op, int64_t user_id, int64_t *agency)
{
    PGresult *r = query_id(c, "SELECT agency_id FROM users WHERE id = $1 AND active", user_id);
    if (!r)
        return c->status;
    int found = PQntuples(r) == 1;
    *agency = found ? mdt_db_int(r, 0, 0) : 0;
    PQclear(r);
    return found ? MDT_DB_OK
                 : stop(op, 422, "validation", "user_id", "user_id must be an active user");
}

static int attend_insert(mdt_dbc_t *c, const meetop_t *op, int64_t user_id, int64_t agency)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->meeting_id);
    mdt_db_param_int(&q, user_id);
    mdt_db_param_int(&q, agency);
    mdt_db_param_int(&q, op->p.user_id);
    int rc = mdt_db_exec(c,
                         "INSERT INTO meeting_attendance (meeting_id, user_id, agency_id,"
                         " marked_by) VALUES ($1, $2, $3, $4)",
                         &q);
    return rc == MDT_DB_OK ? bump_version(c, op->meeting_id) : rc;
}

static int attend_work(mdt_dbc_t *c, meetop_t *op)
{
    int64_t *target = op->ud;
    int64_t user_id = *target ? *target : op->p.user_id;
    int64_t agency = 0;
    if (!mdt_authz_meeting_attend(&op->p, op->m->facilitator_id, user_id))
        return stop(op, 403, "forbidden", "user_id",
                    "only the facilitator may record another user's attendance");
    if (strcmp(op->m->status, "ended") == 0 &&
        !mdt_authz_meeting_facilitate(&op->p, op->m->facilitator_id))
        return stop(op, 422, "validation", NULL,
                    "the meeting has ended; its facilitator may still record attendance");
    int rc = attendee_agency(c, op, user_id, &agency);
    if (rc != MDT_DB_OK)
        return rc;
    if (ids_has(op->m->attendees, op->m->n_attendees, user_id)) {
        op->result = mdt_meetings_render(op->m, &op->p); /* already there: no change */
        return MDT_DB_OK;
    }
    rc = attend_insert(c, op, user_id, agency);
    if (rc == MDT_DB_OK)
        rc = meetop_reload(c, op, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    return meetop_record(
        c, op, "meeting.attendance", "meeting.updated", 0,
        json_pack("{s:I, s:b}", "user_id", (json_int_t)user_id, "self", user_id == op->p.user_id));
}

void mdt_meetings_attendance(mdt_req_t *req)
{
    mdt_err_t e;
    int64_t *target = calloc(1, sizeof(*target));
    if (!target) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (mdt_json_int(req->json, "user_id", 0, 1, INT64_MAX, target, &e) < 0) {
        free(target);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = meetop_new(req, attend_work, target, free);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->lock = 1;
    meetop_run(op);
}

/* ==== PUT /meetings/{id}/cases/{case_id}/outcome ================================= */

typedef struct {
    const char *md; /* borrowed from req->json */
    char *html;     /* rendered before the transaction */
    int64_t case_id;
    int64_t version, outcome_version; /* -1 = not given */
} outcome_in_t;

static void outcome_in_free(void *arg)
{
    outcome_in_t *in = arg;
    if (in)
        free(in->html);
    free(in);
}

/* Before BEGIN, on the database thread: the Markdown rendered. */
static int outcome_render(mdt_dbc_t *c, meetop_t *op)
{
    (void)c;
    outcome_in_t *in = op->ud;
    if (mdt_markdown_render(in->md, strlen(in->md), &in->html) != 0)
        return stop(op, 422, "validation", "outcome_md",
                    "outcome_md is not valid UTF-8 Markdown within the size limit");
    return MDT_DB_OK;
}

static int outcome_write(mdt_dbc_t *c, const meetop_t *op, const outcome_in_t *in)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->meeting_id);
    mdt_db_param_int(&q, in->case_id);
    mdt_db_param_str(&q, in->md);
    mdt_db_param_str(&q, in->html);
    mdt_db_param_int(&q, op->p.user_id);
    int rc = mdt_db_exec(
        c,
        "WITH u AS (UPDATE meeting_cases SET outcome_md = $3, outcome_html = $4,"
        " outcome_by = $5, outcome_at = now(), outcome_version = outcome_version + 1"
        " WHERE meeting_id = $1 AND case_id = $2 AND removed_at IS NULL"
        " RETURNING meeting_id, case_id, outcome_version, outcome_md, outcome_html, outcome_by,"
        " outcome_at)"
        " INSERT INTO meeting_outcome_versions (meeting_id, case_id, version, outcome_md,"
        " outcome_html, edited_by, edited_at) SELECT * FROM u",
        &q);
    return rc == MDT_DB_OK ? bump_version(c, op->meeting_id) : rc;
}

static int outcome_work(mdt_dbc_t *c, meetop_t *op)
{
    outcome_in_t *in = op->ud;
    size_t i = 0;
    while (i < op->m->n_agenda && op->m->agenda[i].case_id != in->case_id)
        i++;
    if (!mdt_meetings_case_visible(op->m, i, &op->p))
        return stop(op, 404, "not_found", NULL, "not found");
    const mdt_meeting_case_t *a = &op->m->agenda[i];
    mdt_case_ctx_t view = mdt_casectx_view(&a->cx);
    if (!mdt_authz_meeting_outcome(&op->p, &view, op->m->facilitator_id))
        return stop(op, 403, "forbidden", NULL, "only the meeting's facilitator records outcomes");
    if ((in->version >= 0 && in->version != op->m->version) ||
        (in->outcome_version >= 0 && in->outcome_version != a->outcome_version))
        return conflict(op, "the meeting was changed meanwhile; reload it");
    int rc = outcome_write(c, op, in);
    if (rc == MDT_DB_OK)
        rc = meetop_reload(c, op, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    return meetop_record(c, op, "meeting.outcome", "meeting.updated", in->case_id,
                         json_pack("{s:I, s:i}", "case_id", (json_int_t)in->case_id,
                                   "outcome_version", a->outcome_version + 1));
}

void mdt_meetings_outcome(mdt_req_t *req)
{
    mdt_err_t e;
    outcome_in_t *in = calloc(1, sizeof(*in));
    if (!in) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    in->case_id = req->ids[1];
    in->version = in->outcome_version = -1;
    if (mdt_json_str(req->json, "outcome_md", 1, MDT_MARKDOWN_MAX_SOURCE, &in->md, &e) < 0 ||
        mdt_json_int(req->json, "version", 0, 1, INT32_MAX, &in->version, &e) < 0 ||
        mdt_json_int(req->json, "outcome_version", 0, 0, INT32_MAX, &in->outcome_version, &e) < 0) {
        outcome_in_free(in);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = meetop_new(req, outcome_work, in, outcome_in_free);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->lock = 1;
    op->pre = outcome_render;
    meetop_run(op);
}

/* ==== GET /meetings/{id}/minutes ================================================== */

static int minutes_work(mdt_dbc_t *c, meetop_t *op)
{
    int *html = op->ud;
    op->text_type = *html ? "text/html; charset=utf-8" : "text/markdown; charset=utf-8";
    op->read_detail = json_pack("{s:s}", "format", *html ? "html" : "md");
    return mdt_minutes_build(c, op->m, &op->p, op->time_zone, *html, &op->text, &op->text_len);
}

void mdt_meetings_minutes(mdt_req_t *req)
{
    const char *format = mdt_req_query(req, "format");
    int is_html = format && strcmp(format, "html") == 0;
    if (format && *format && !is_html && strcmp(format, "md") != 0) {
        mdt_http_error(req, 422, "validation", "format", "format must be md or html");
        return;
    }
    int *html = malloc(sizeof(*html));
    if (!html) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    *html = is_html;
    meetop_t *op = meetop_new(req, minutes_work, html, free);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->isolation = "repeatable read";
    op->read_action = "meeting.minutes";
    meetop_run(op);
}
