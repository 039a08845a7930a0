/* meetings.c - weekly case reviews (see meetings.h and docs/meetings.md).
 *
 * A meeting is not case-scoped, so it has its own scope on the one runner (meetop,
 * after caseop.c): on a database thread, an optional step before the
 * transaction (Markdown rendering), BEGIN, the meeting row locked for a
 * change, the meeting loaded with the authorization context of every case
 * on its agenda, 404 when the caller may not see it, the handler's work,
 * and for a change its audit row and its event (meeting_id set, no case)
 * as the last statements before COMMIT. Back on the loop it answers.
 *
 * What a principal sees of a meeting is decided in one place,
 * mdt_meetings_render: mdt_authz_meeting_visible for the whole, and the
 * meeting item kind (meeting_item.c) for each agenda case (one it may not
 * see is exactly {position, restricted: true}; current_case_id is null
 * when the case under the pointer is one of those). REST answers, lists, error.current
 * and the WebSocket fan-out all use it. Outcomes keep every version
 * (meeting_outcome_versions) and a case taken off an agenda is marked
 * removed, never deleted. Minutes are written by minutes.c. */
#include "meetings_int.h"

#include "ctx.h"

/* ==== loading and serializing ============================================ */

/* The meeting row and its agenda (each timestamp as RFC 3339 UTC text). */
#define MEETING_TIMES                                                                              \
    TS("m.scheduled_at") ", " TS("m.created_at") ", " TS("m.started_at") ", " TS("m.ended_at")
#define MEETING_SELECT                                                                             \
    "SELECT m.id, m.title, m.status, m.facilitator_id, m.agency_id, m.current_position,"           \
    " m.version, m.created_by, " MEETING_TIMES ", m.minutes_version, m.minutes_approved_by, " TS(  \
        "m.minutes_approved_at") " FROM meetings m WHERE m.id = $1"
#define OUTCOME_AT TS("mc.outcome_at")
#define AGENDA_SELECT                                                                              \
    "SELECT mc.case_id, c.alias, c.case_number, mc.outcome_md, mc.outcome_html, " OUTCOME_AT       \
    ", mc.outcome_by, mc.outcome_version, mc.reasons::text, mc.meeting_id"                         \
    " FROM meeting_cases mc JOIN cases c ON "                                                      \
    "c.id = mc.case_id"                                                                            \
    " WHERE mc.meeting_id = $1 AND mc.removed_at IS NULL ORDER BY mc.position, mc.case_id"

PGresult *mdt_meetings_query_id(mdt_dbc_t *c, const char *sql, int64_t id)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    return mdt_db_query(c, sql, &prm);
}

static int meeting_load_row(mdt_dbc_t *c, mdt_meeting_t *m, int64_t id)
{
    PGresult *r = mdt_meetings_query_id(c, MEETING_SELECT, id);
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
    m->minutes_version = (int)mdt_db_int(r, 0, 12);
    m->minutes_approved_by = mdt_db_int(r, 0, 13);
    m->minutes_approved_at = mdt_db_str(r, 0, 14);
    return MDT_DB_OK;
}

/* mdt_meetings_query_id, then the n sealed columns opened (sealed.h). */
static PGresult *meeting_query_sealed(mdt_dbc_t *c, const char *sql, int64_t id,
                                      const mdt_sealed_col_t *cols, size_t n)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    return mdt_sealed_query(c, sql, &prm, cols, n);
}

/* The agenda in order, each case with its authorization context. */
static int meeting_load_agenda(mdt_dbc_t *c, mdt_meeting_t *m)
{
    static const mdt_sealed_col_t SEALED[] = {
        {3, "outcome", "outcome_md", 9, 0, NULL, -1},
        {4, "outcome", "outcome_html", 9, 0, NULL, -1},
    };
    PGresult *r = meeting_query_sealed(c, AGENDA_SELECT, m->id, SEALED, 2);
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
        a->reasons = mdt_meeting_item_reasons_parse(mdt_db_str(r, row, 8));
        int rc = mdt_casectx_load(c, a->case_id, &a->cx);
        if (rc != MDT_DB_OK)
            return rc;
        m->n_agenda = i + 1;
    }
    return MDT_DB_OK;
}

static int meeting_load_attendance(mdt_dbc_t *c, mdt_meeting_t *m)
{
    PGresult *r = mdt_meetings_query_id(c,
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

/* The corrections of approved minutes, by the version each one made. */
static int meeting_load_corrections(mdt_dbc_t *c, mdt_meeting_t *m)
{
    static const mdt_sealed_col_t SEALED[] = {{4, "outcome", "correction_reason", 5, 1, NULL, -1}};
    PGresult *r = meeting_query_sealed(
        c,
        "SELECT version, case_id, corrected_by, " TS(
            "corrected_at") ", reason, meeting_id FROM meeting_minutes_corrections"
                            " WHERE meeting_id = $1 ORDER BY version",
        m->id, SEALED, 1);
    if (!r)
        return c->status;
    m->res[3] = r;
    size_t n = (size_t)PQntuples(r);
    m->corrections = calloc(n + 1, sizeof(*m->corrections));
    if (!m->corrections)
        return MDT_DB_ERROR;
    for (size_t i = 0; i < n; i++) {
        mdt_minutes_correction_t *k = &m->corrections[i];
        k->version = (int)mdt_db_int(r, (int)i, 0);
        k->case_id = mdt_db_int(r, (int)i, 1);
        k->by = mdt_db_int(r, (int)i, 2);
        k->at = mdt_db_str(r, (int)i, 3);
        k->reason = mdt_db_str(r, (int)i, 4);
    }
    m->n_corrections = n;
    return MDT_DB_OK;
}

void mdt_meetings_free(mdt_meeting_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < 4; i++)
        PQclear(m->res[i]);
    free(m->agenda);
    free(m->attendees);
    free(m->corrections);
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
    if (rc == MDT_DB_OK)
        rc = meeting_load_corrections(c, m);
    *status = rc;
    if (rc == MDT_DB_OK)
        return m;
    mdt_meetings_free(m);
    return NULL;
}

bool mdt_meetings_case_visible(const mdt_meeting_t *m, size_t i, const mdt_principal_t *p)
{
    return m && i < m->n_agenda && mdt_meeting_item_visible(&m->agenda[i], p);
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

bool mdt_meetings_correction_visible(const mdt_meeting_t *m, size_t i, const mdt_principal_t *p)
{
    if (!m || i >= m->n_corrections)
        return false;
    for (size_t k = 0; k < m->n_agenda; k++) {
        if (m->agenda[k].case_id == m->corrections[i].case_id)
            return mdt_meetings_case_visible(m, k, p);
    }
    return false; /* not on the agenda (it cannot change after the end): deny */
}

/* The Meeting's minutes: {status, version, approved_by, approved_at,
 * corrections} with only the corrections of cases p may see. */
static json_t *minutes_json(const mdt_meeting_t *m, const mdt_principal_t *p)
{
    json_t *corrections = json_array();
    for (size_t i = 0; i < m->n_corrections; i++) {
        const mdt_minutes_correction_t *k = &m->corrections[i];
        if (mdt_meetings_correction_visible(m, i, p))
            json_array_append_new(corrections,
                                  json_pack("{s:i, s:I, s:I, s:s, s:s}", "version", k->version,
                                            "case_id", (json_int_t)k->case_id, "by",
                                            (json_int_t)k->by, "at", k->at, "reason", k->reason));
    }
    return json_pack("{s:s, s:i, s:o, s:o, s:o}", "status",
                     m->minutes_version ? "approved" : "draft", "version", m->minutes_version,
                     "approved_by", mdt_json_id_or_null(m->minutes_approved_by), "approved_at",
                     mdt_json_str_or_null(m->minutes_approved_at), "corrections", corrections);
}

json_t *mdt_meetings_render(const mdt_meeting_t *m, const mdt_principal_t *p)
{
    if (!mdt_meetings_visible(m, p))
        return NULL;
    json_t *agenda = json_array();
    int64_t current = 0;
    for (size_t i = 0; i < m->n_agenda; i++) {
        json_t *item = mdt_meeting_item_json(&m->agenda[i], p);
        json_t *case_id = json_object_get(item, "case_id"); /* absent when restricted */
        if (case_id && m->agenda[i].position == m->current_position)
            current = json_integer_value(case_id);
        json_array_append_new(agenda, item);
    }
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:i, s:I, s:s, s:o, s:o}", "id",
        (json_int_t)m->id, "title", m->title, "scheduled_at", m->scheduled_at, "status", m->status,
        "facilitator_id", (json_int_t)m->facilitator_id, "agency_id", (json_int_t)m->agency_id,
        "current_position", m->current_position ? json_integer(m->current_position) : json_null(),
        "current_case_id", mdt_json_id_or_null(current), "agenda", agenda, "attendees",
        mdt_entries_ids_json(m->attendees, m->n_attendees), "version", m->version, "created_by",
        (json_int_t)m->created_by, "created_at", m->created_at, "started_at",
        mdt_json_str_or_null(m->started_at), "ended_at", mdt_json_str_or_null(m->ended_at));
    if (j)
        json_object_set_new(j, "minutes", minutes_json(m, p));
    return j;
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

int mdt_meetings_check_link(mdt_dbc_t *c, mdt_run_t *run, const mdt_principal_t *p,
                            int64_t meeting_id, int64_t case_id)
{
    PGresult *r =
        mdt_meetings_query_id(c, "SELECT 1 FROM meetings WHERE id = $1 FOR SHARE", meeting_id);
    if (!r)
        return c->status;
    PQclear(r);
    int rc;
    bool on_agenda = false;
    mdt_meeting_t *m = mdt_meetings_load(c, meeting_id, &rc);
    if (!m && rc != MDT_DB_NOT_FOUND)
        return rc;
    for (size_t i = 0; m && i < m->n_agenda && mdt_meetings_visible(m, p); i++)
        on_agenda |= m->agenda[i].case_id == case_id;
    int approved = m && m->minutes_version > 0;
    mdt_meetings_free(m);
    if (!on_agenda)
        return mdt_run_fail(
            run, 422, "validation", "meeting_id",
            "meeting_id must be a meeting you can see with this case on its agenda");
    if (approved)
        return mdt_run_fail(run, 422, "validation", "meeting_id",
                            "the minutes of this meeting are approved");
    return MDT_DB_OK;
}

/* Is the case at position pos of m (0 = none)? Its id, or 0. */
int64_t mdt_meetings_case_at(const mdt_meeting_t *m, int pos)
{
    return pos > 0 && (size_t)pos <= m->n_agenda ? m->agenda[pos - 1].case_id : 0;
}

/* ==== the runner ========================================================== */

static void meetop_init_run(meetop_t *op);

static void meetop_free(void *arg)
{
    meetop_t *op = arg;
    if (op->ud_free)
        op->ud_free(op->ud);
    mdt_meetings_free(op->m);
    json_decref(op->read_detail);
    mdt_run_free(&op->run);
    free(op);
}

/* A runner for req owning ud (freed with ud_free, also when this fails). */
meetop_t *mdt_meetings_meetop_new(mdt_req_t *req, meetop_fn work, void *ud, void (*ud_free)(void *))
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
    meetop_init_run(op);
    op->p = mdt_auth_principal(req);
    op->time_zone = mdt_ctx_time_zone(req);
    mdt_audit_actor_from_req(req, &op->actor);
    req->state = op;
    req->state_free = meetop_free;
    return op;
}

int mdt_meetings_fail(meetop_t *op, int status, const char *code, const char *field,
                      const char *message)
{
    return mdt_run_fail(&op->run, status, code, field, message);
}

/* 409 with the meeting as the caller sees it now. */
int mdt_meetings_conflict(meetop_t *op, const char *message)
{
    return mdt_run_conflict(&op->run, message, mdt_meetings_render(op->m, &op->p));
}

static int meetop_load(mdt_dbc_t *c, meetop_t *op)
{
    if (op->lock) {
        PGresult *r = mdt_meetings_query_id(c, "SELECT 1 FROM meetings WHERE id = $1 FOR UPDATE",
                                            op->meeting_id);
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

static int meetop_pre(mdt_dbc_t *c, void *arg)
{
    meetop_t *op = arg;
    return op->pre ? op->pre(c, op) : MDT_DB_OK;
}

/* The scope: the meeting in the path, locked for a change; 404 unless the
 * caller may see it. */
static int meetop_scope(mdt_dbc_t *c, void *arg)
{
    meetop_t *op = arg;
    return op->meeting_id ? meetop_load(c, op) : MDT_DB_OK;
}

static int meetop_work(mdt_dbc_t *c, void *arg)
{
    meetop_t *op = arg;
    return op->work(c, op);
}

/* Loop: the buffered audit row of a read that was answered. */
static void meetop_finish(void *arg, int status)
{
    meetop_t *op = arg;
    if (status == MDT_DB_OK && op->read_action && !op->run.ans.err.status) {
        mdt_audit_rec_t rec = {.action = op->read_action,
                               .object_type = "meeting",
                               .object_id = op->meeting_id,
                               .detail = op->read_detail};
        mdt_audit_read(op->req->srv, &op->actor, &rec);
    }
}

static void meetop_init_run(meetop_t *op)
{
    mdt_run_init(&op->run, op->req, op, meetop_work);
    op->run.pre = meetop_pre;
    op->run.scope = meetop_scope;
    op->run.finish = meetop_finish;
}

void mdt_meetings_meetop_run(meetop_t *op)
{
    mdt_run_start(&op->run);
}

/* After a change: the meeting as the caller sees it now into op->run.ans.result
 * (just its id when the change took it out of the caller's sight), and
 * the fresh meeting into *out when asked for. */
int mdt_meetings_meetop_reload(mdt_dbc_t *c, meetop_t *op, mdt_meeting_t **out)
{
    int rc;
    mdt_meeting_t *m = mdt_meetings_load(c, op->meeting_id, &rc);
    if (!m)
        return rc == MDT_DB_NOT_FOUND ? MDT_DB_ERROR : rc;
    json_decref(op->run.ans.result);
    op->run.ans.result = mdt_meetings_render(m, &op->p);
    if (!op->run.ans.result)
        op->run.ans.result = json_pack("{s:I}", "id", (json_int_t)op->meeting_id);
    if (out)
        *out = m;
    else
        mdt_meetings_free(m);
    return MDT_DB_OK;
}

/* The change's audit row, then its event, as the last statements before
 * COMMIT. detail (ids, field names and enum values only) is stolen. */
int mdt_meetings_meetop_record(mdt_dbc_t *c, meetop_t *op, const char *action, const char *kind,
                               int64_t case_id, json_t *detail)
{
    mdt_audit_rec_t rec = {.action = action,
                           .object_type = "meeting",
                           .object_id = op->meeting_id,
                           .case_id = case_id,
                           .detail = detail};
    json_t *data =
        json_pack("{s:s, s:I}", "object_type", "meeting", "id", (json_int_t)op->meeting_id);
    mdt_event_t ev = {.meeting_id = op->meeting_id,
                      .kind = kind,
                      .object_type = "meeting",
                      .object_id = op->meeting_id,
                      .actor_id = op->p.user_id,
                      .data = data};
    int rc = mdt_audit_append_event(c, &op->actor, &rec, &ev);
    json_decref(detail);
    json_decref(data);
    return rc;
}

/* Bumps the meeting's version (every change does). */
int mdt_meetings_bump_version(mdt_dbc_t *c, int64_t meeting_id)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, meeting_id);
    return mdt_db_exec(c, "UPDATE meetings SET version = version + 1 WHERE id = $1", &prm);
}

/* A change of the meeting in the path whose body is one integer field, key
 * (1..hi; required or not): work runs with op->ud pointing at its value
 * (0 when absent). Answers 400/422 itself when the field is bad. */
void mdt_meetings_change_int(mdt_req_t *req, const char *key, int required, int64_t hi,
                             meetop_fn work)
{
    mdt_err_t e;
    int64_t *value = calloc(1, sizeof(*value));
    if (!value) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (mdt_json_int(req->json, key, required, 1, hi, value, &e) < 0) {
        free(value);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = mdt_meetings_meetop_new(req, work, value, free);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->lock = 1;
    mdt_meetings_meetop_run(op);
}

/* ==== input helpers ======================================================= */

/* Code points of a valid UTF-8 string; 0 when it holds only white space. */
size_t mdt_meetings_text_chars(const char *s)
{
    size_t n = 0;
    int seen = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
        seen |= !strchr(" \t\r\n\f\v", *s);
    }
    return seen ? n : 0;
}

int mdt_meetings_is_null(json_t *b, const char *key)
{
    json_t *v = json_object_get(b, key);
    return v && json_is_null(v);
}

/* Every id of ids[0..n) is a case p may see (asked of authz with the
 * case's context); else 422 naming field. */
int mdt_meetings_check_cases_visible(mdt_dbc_t *c, meetop_t *op, const int64_t *ids, size_t n,
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
            rc = mdt_meetings_fail(op, 422, "validation", field,
                                   "every case must be a case you can see");
    }
    free(cx);
    return rc;
}

/* ==== GET /meetings/{id} ==================================================== */

static int get_work(mdt_dbc_t *c, meetop_t *op)
{
    (void)c;
    op->run.ans.result = mdt_meetings_render(op->m, &op->p);
    return op->run.ans.result ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}

void mdt_meetings_get(mdt_req_t *req)
{
    meetop_t *op = mdt_meetings_meetop_new(req, get_work, NULL, NULL);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->run.isolation = "repeatable read";
    op->read_action = "meeting.read";
    mdt_meetings_meetop_run(op);
}
