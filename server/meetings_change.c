/* meetings_change.c - creating and changing meetings: POST /meetings (with
 * the default agenda), PATCH (status, pointer, agenda, facilitator),
 * attendance and outcomes, each one transaction on the meeting runner
 * ending with its audit row and event (see meetings.h, docs/meetings.md). */
#include "meetings_int.h"
#include "notify.h"

/* ==== POST /meetings ========================================================== */

typedef struct {
    const char *title, *scheduled_at; /* borrowed from req->json */
    int64_t *case_ids;                /* malloc'ed */
    size_t n_case_ids;
    int with_default;     /* default_agenda given */
    mdt_agenda_ask_t ask; /* what the default agenda holds */
    int64_t *agenda;      /* the agenda to write (malloc'ed) */
    size_t n_agenda;
    json_t *reasons; /* {"<case_id>": [reason, ...]} of the default agenda's cases */
} create_in_t;

static void create_in_free(void *arg)
{
    create_in_t *in = arg;
    if (in) {
        free(in->case_ids);
        free(in->agenda);
        json_decref(in->reasons);
    }
    free(in);
}

static int parse_title(json_t *b, int required, const char **out, mdt_err_t *e)
{
    int rc = mdt_json_str(b, "title", required, TITLE_MAX_CHARS * 4, out, e);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    size_t n = mdt_meetings_text_chars(*out);
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
    mdt_agenda_ask_t *ask = &in->ask;
    ask->not_reviewed = -1;
    if (!d || json_is_null(d))
        return 0;
    if (!json_is_object(d)) {
        mdt_err_set(e, 400, "bad_request", "default_agenda",
                    "default_agenda must be an object {not_reviewed_days, with_overdue_actions,"
                    " review_due, carry_over}");
        return -1;
    }
    in->with_default = 1;
    if (mdt_json_int(d, "not_reviewed_days", 0, 0, 3650, &ask->not_reviewed, e) < 0 ||
        mdt_json_bool(d, "with_overdue_actions", 0, &ask->with_overdue, e) < 0 ||
        mdt_json_bool(d, "review_due", 0, &ask->review_due, e) < 0 ||
        mdt_json_bool(d, "carry_over", 0, &ask->carry_over, e) < 0)
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
    if (!mdt_json_valid_datetime(in->scheduled_at)) {
        mdt_err_set(e, 422, "validation", "scheduled_at",
                    "scheduled_at must be an RFC 3339 time such as 2026-11-28T14:00:00Z");
        return -1;
    }
    in->ask.at = in->scheduled_at; /* the default agenda's day is the meeting's */
    return 0;
}

/* Appends to in->agenda (after the given case_ids) the default agenda
 * (meetings_agenda.c), and its reasons to in->reasons. A given case that
 * the default agenda also holds keeps its place and gets its reasons. */
static int default_agenda(mdt_dbc_t *c, meetop_t *op, create_in_t *in)
{
    mdt_agenda_t ag;
    int rc = mdt_meetings_agenda_pick(c, op, &in->ask, &ag);
    if (rc != MDT_DB_OK)
        return rc;
    in->reasons = json_object();
    for (size_t i = 0; i < ag.n && rc == MDT_DB_OK; i++) {
        int64_t id = ag.v[i].case_id;
        char key[24];
        snprintf(key, sizeof(key), "%lld", (long long)id);
        json_object_set_new(in->reasons, key, mdt_meeting_item_reasons_json(ag.v[i].reasons));
        if (mdt_ids_has(in->agenda, in->n_agenda, id))
            continue;
        if (in->n_agenda >= MEETINGS_MAX_AGENDA)
            rc = mdt_meetings_fail(
                op, 422, "validation", "default_agenda",
                "the default agenda would hold more than 200 cases; use case_ids");
        else
            in->agenda[in->n_agenda++] = id;
    }
    mdt_meetings_agenda_free(&ag);
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
 * removed, the named ones (re)placed at their positions. reasons
 * ({"<case_id>": [names]}, or NULL) sets the reasons of the cases it
 * names; a case that stays on the agenda keeps its reasons otherwise, and
 * one that is (re)added gets []. */
static int write_agenda(mdt_dbc_t *c, const meetop_t *op, const int64_t *ids, size_t n,
                        const json_t *reasons)
{
    char *lit = mdt_ids_literal(ids, n);
    char *given = reasons ? mdt_json_dump(reasons, NULL) : NULL;
    if (!lit || (reasons && !given)) {
        free(lit);
        free(given);
        return MDT_DB_ERROR;
    }
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->meeting_id);
    mdt_db_param_str(&q, lit);
    mdt_db_param_int(&q, op->p.user_id);
    mdt_db_param_str(&q, given ? given : "{}");
    int rc = mdt_db_exec(c,
                         "UPDATE meeting_cases SET removed_at = now(), removed_by = $3"
                         " WHERE meeting_id = $1 AND removed_at IS NULL"
                         " AND case_id <> ALL($2::bigint[])"
                         " AND $4::jsonb IS NOT NULL", /* (each parameter must have a type) */
                         &q);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c,
                         "INSERT INTO meeting_cases (meeting_id, case_id, position, added_by,"
                         " reasons) SELECT $1, t.id, t.ord, $3, ARRAY(SELECT"
                         "  jsonb_array_elements_text(coalesce($4::jsonb -> t.id::text, '[]')))"
                         " FROM unnest($2::bigint[]) WITH ORDINALITY AS t(id, ord)"
                         " ON CONFLICT (meeting_id, case_id) DO UPDATE"
                         " SET position = excluded.position, removed_at = NULL, removed_by = NULL,"
                         " reasons = CASE WHEN $4::jsonb ? excluded.case_id::text"
                         "  OR meeting_cases.removed_at IS NOT NULL THEN excluded.reasons"
                         "  ELSE meeting_cases.reasons END",
                         &q);
    free(lit);
    free(given);
    return rc;
}

static int create_work(mdt_dbc_t *c, meetop_t *op)
{
    create_in_t *in = op->ud;
    int rc = mdt_meetings_check_cases_visible(c, op, in->case_ids, in->n_case_ids, "case_ids");
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
        rc = write_agenda(c, op, in->agenda, in->n_agenda, in->reasons);
    if (rc == MDT_DB_OK)
        rc = mdt_meetings_meetop_reload(c, op, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    op->run.ans.ok_status = 201;
    rc =
        mdt_meetings_meetop_record(c, op, "meeting.create", "meeting.updated", 0,
                                   json_pack("{s:I, s:b}", "agenda_count", (json_int_t)in->n_agenda,
                                             "default_agenda", in->with_default));
    /* the cases put on a planned meeting's agenda: their people are told */
    return rc == MDT_DB_OK ? mdt_notify_agenda(c, op->p.user_id, op->meeting_id) : rc;
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
    meetop_t *op = mdt_meetings_meetop_new(req, create_work, in, create_in_free);
    if (!op)
        return;
    op->run.idempotent = 1;
    mdt_meetings_meetop_run(op);
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
    json_t *reasons; /* agenda_reasons, normalized: {"<case_id>": [names]}; NULL = none */
} patch_in_t;

static void patch_in_free(void *arg)
{
    patch_in_t *in = arg;
    if (in) {
        free(in->ids);
        free(in->agenda);
        json_decref(in->reasons);
    }
    free(in);
}

/* One entry of agenda_reasons: a case named in agenda, known reasons.
 * Adds it to in->reasons in the stored form (names in the bits' order). */
static int parse_one_reasons(patch_in_t *in, const char *key, json_t *v)
{
    char *end;
    long long id = strtoll(key, &end, 10);
    if (*end || id <= 0 || !mdt_ids_has(in->ids, in->n_ids, id) || !json_is_array(v))
        return -1;
    unsigned mask = 0, bit;
    size_t i;
    json_t *r;
    json_array_foreach(v, i, r)
    {
        if (!(bit = mdt_meeting_item_reason_bit(json_string_value(r))))
            return -1;
        mask |= bit;
    }
    char k[24];
    snprintf(k, sizeof(k), "%lld", id);
    return json_object_set_new(in->reasons, k, mdt_meeting_item_reasons_json(mask));
}

/* agenda_reasons: {"<case_id>": [reason, ...]} for cases named in agenda. */
static int parse_agenda_reasons(json_t *b, patch_in_t *in, mdt_err_t *e)
{
    json_t *o = json_object_get(b, "agenda_reasons");
    if (!o || json_is_null(o))
        return 0;
    int ok = json_is_object(o) && in->agenda_set && (in->reasons = json_object()) != NULL;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        ok = ok && parse_one_reasons(in, key, v) == 0;
    }
    if (ok)
        return 0;
    mdt_err_set(e, 422, "validation", "agenda_reasons",
                "agenda_reasons maps cases named in agenda to arrays of carried_over,"
                " overdue_actions, review_due and not_reviewed");
    return -1;
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
    in->pos_set = rc_pos == 0 || mdt_meetings_is_null(b, "current_position");
    in->agenda_set = rc_agenda == 0;
    if (parse_agenda_reasons(b, in, e) < 0)
        return -1;
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
        return mdt_meetings_fail(op, 422, "validation", "agenda",
                                 "an agenda holds at most 200 cases");
    return MDT_DB_OK;
}

/* Status only forward: planned → in_progress → ended. */
static int patch_check_status(meetop_t *op, const patch_in_t *in, int cur)
{
    if (in->status >= 0 && in->status != cur && in->status != cur + 1)
        return mdt_meetings_fail(op, 422, "validation", "status",
                                 "status only moves forward: planned, in_progress, ended");
    if (cur == ST_ENDED && in->agenda_set)
        return mdt_meetings_fail(op, 422, "validation", "agenda", "the meeting has ended");
    if (cur == ST_ENDED && in->pos_set)
        return mdt_meetings_fail(op, 422, "validation", "current_position",
                                 "the meeting has ended");
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
            return mdt_meetings_fail(
                op, 422, "validation", "current_position",
                "current_position must be a position of the agenda (1 to its length) or "
                "null");
        return MDT_DB_OK;
    }
    in->pos = op->m->current_position;
    if (in->agenda_set) {
        int64_t cur = mdt_meetings_case_at(op->m, op->m->current_position);
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
        return mdt_meetings_fail(op, 422, "validation", "facilitator_id",
                                 "facilitator_id must be an active user");
    if (rc == MDT_DB_OK)
        *out = mdt_session_principal(&u);
    return rc;
}

static int patch_write(mdt_dbc_t *c, meetop_t *op, const patch_in_t *in)
{
    int rc =
        in->agenda_set ? write_agenda(c, op, in->agenda, in->n_agenda, in->reasons) : MDT_DB_OK;
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
    if (in->reasons)
        json_array_append_new(fields, json_string("agenda_reasons"));
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
        return mdt_meetings_fail(op, 403, "forbidden", NULL,
                                 "only the meeting's facilitator may change it");
    if (in->version != op->m->version)
        return mdt_meetings_conflict(op, "the meeting was changed meanwhile; reload it");
    int cur = 0;
    while (STATUSES[cur] && strcmp(STATUSES[cur], op->m->status) != 0)
        cur++;
    int rc = patch_check_status(op, in, cur);
    if (rc == MDT_DB_OK && in->agenda_set)
        rc = mdt_meetings_check_cases_visible(c, op, in->ids, in->n_ids, "agenda");
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
        rc = mdt_meetings_meetop_reload(c, op, &fresh);
    if (rc == MDT_DB_OK && next_fac.user_id && !mdt_meetings_visible(fresh, &next_fac))
        rc = mdt_meetings_fail(
            op, 422, "validation", "facilitator_id",
            "the new facilitator must be able to see the meeting (attending it, or "
            "seeing one of its cases)");
    const char *kind = "meeting.updated";
    if (rc == MDT_DB_OK && (fresh->current_position != op->m->current_position ||
                            mdt_meetings_case_at(fresh, fresh->current_position) !=
                                mdt_meetings_case_at(op->m, op->m->current_position)))
        kind = "meeting.current_case";
    mdt_meetings_free(fresh);
    if (rc != MDT_DB_OK)
        return rc;
    rc = mdt_meetings_meetop_record(c, op, "meeting.update", kind, 0, patch_detail(in));
    if (rc == MDT_DB_OK && in->agenda_set)
        rc = mdt_notify_agenda(c, op->p.user_id, op->meeting_id);
    return rc;
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
    meetop_t *op = mdt_meetings_meetop_new(req, patch_work, in, patch_in_free);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->lock = 1;
    mdt_meetings_meetop_run(op);
}

/* ==== POST /meetings/{id}/attendance ============================================ */

/* The attendee's agency into *agency; 422 unless an active user. */
static int attendee_agency(mdt_dbc_t *c, meetop_t *op, int64_t user_id, int64_t *agency)
{
    PGresult *r =
        mdt_meetings_query_id(c, "SELECT agency_id FROM users WHERE id = $1 AND active", user_id);
    if (!r)
        return c->status;
    int found = PQntuples(r) == 1;
    *agency = found ? mdt_db_int(r, 0, 0) : 0;
    PQclear(r);
    return found ? MDT_DB_OK
                 : mdt_meetings_fail(op, 422, "validation", "user_id",
                                     "user_id must be an active user");
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
    return rc == MDT_DB_OK ? mdt_meetings_bump_version(c, op->meeting_id) : rc;
}

static int attend_work(mdt_dbc_t *c, meetop_t *op)
{
    int64_t *target = op->ud;
    int64_t user_id = *target ? *target : op->p.user_id;
    int64_t agency = 0;
    if (!mdt_authz_meeting_attend(&op->p, op->m->facilitator_id, user_id))
        return mdt_meetings_fail(op, 403, "forbidden", "user_id",
                                 "only the facilitator may record another user's attendance");
    if (strcmp(op->m->status, "ended") == 0 &&
        !mdt_authz_meeting_facilitate(&op->p, op->m->facilitator_id))
        return mdt_meetings_fail(
            op, 422, "validation", NULL,
            "the meeting has ended; its facilitator may still record attendance");
    int rc = attendee_agency(c, op, user_id, &agency);
    if (rc != MDT_DB_OK)
        return rc;
    if (mdt_ids_has(op->m->attendees, op->m->n_attendees, user_id)) {
        op->run.ans.result = mdt_meetings_render(op->m, &op->p); /* already there: no change */
        return MDT_DB_OK;
    }
    rc = attend_insert(c, op, user_id, agency);
    if (rc == MDT_DB_OK)
        rc = mdt_meetings_meetop_reload(c, op, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    return mdt_meetings_meetop_record(
        c, op, "meeting.attendance", "meeting.updated", 0,
        json_pack("{s:I, s:b}", "user_id", (json_int_t)user_id, "self", user_id == op->p.user_id));
}

void mdt_meetings_attendance(mdt_req_t *req)
{
    mdt_meetings_change_int(req, "user_id", 0, INT64_MAX, attend_work);
}

/* ==== PUT /meetings/{id}/cases/{case_id}/outcome ================================= */

#define CORRECTION_REASON_MAX_CHARS 500

typedef struct {
    const char *md; /* borrowed from req->json */
    char *html;     /* rendered before the transaction */
    int64_t case_id;
    int64_t version, outcome_version; /* -1 = not given */
    json_t *reason;      /* correction_reason, borrowed from req->json (NULL: absent); read only
                            once the minutes are approved */
    int minutes_version; /* the minutes version this write belongs to (0: the draft) */
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
        return mdt_meetings_fail(op, 422, "validation", "outcome_md",
                                 "outcome_md is not valid UTF-8 Markdown within the size limit");
    return MDT_DB_OK;
}

/* An outcome (and a correction's reason) lives at (meeting, case). */
static int outcome_seal(mdt_dbc_t *c, mdt_sealed_hold_t *h, const meetop_t *op, int64_t case_id,
                        const char *field, const char *plain, const char **out)
{
    mdt_seal_where_t w = {"outcome", field, op->meeting_id, case_id, ""};
    return mdt_sealed_put(c, h, &w, plain, out);
}

static int outcome_write(mdt_dbc_t *c, const meetop_t *op, const outcome_in_t *in)
{
    mdt_sealed_hold_t hold = {0};
    const char *md = NULL, *html = NULL;
    int rc = outcome_seal(c, &hold, op, in->case_id, "outcome_md", in->md, &md);
    if (rc == MDT_DB_OK)
        rc = outcome_seal(c, &hold, op, in->case_id, "outcome_html", in->html, &html);
    if (rc != MDT_DB_OK) {
        mdt_sealed_hold_free(&hold);
        return rc;
    }
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->meeting_id);
    mdt_db_param_int(&q, in->case_id);
    mdt_db_param_str(&q, md);
    mdt_db_param_str(&q, html);
    mdt_db_param_int(&q, op->p.user_id);
    mdt_db_param_int(&q, in->minutes_version);
    rc = mdt_db_exec(
        c,
        "WITH u AS (UPDATE meeting_cases SET outcome_md = $3, outcome_html = $4,"
        " outcome_by = $5, outcome_at = now(), outcome_version = outcome_version + 1"
        " WHERE meeting_id = $1 AND case_id = $2 AND removed_at IS NULL"
        " RETURNING meeting_id, case_id, outcome_version, outcome_md, outcome_html, outcome_by,"
        " outcome_at)"
        " INSERT INTO meeting_outcome_versions (meeting_id, case_id, version, outcome_md,"
        " outcome_html, edited_by, edited_at, minutes_version) SELECT u.*, $6::int FROM u",
        &q);
    mdt_sealed_hold_free(&hold);
    return rc == MDT_DB_OK ? mdt_meetings_bump_version(c, op->meeting_id) : rc;
}

/* Approved minutes: this write is a correction, which needs a reason
 * (1-500 characters); it belongs to the next minutes version. */
static int outcome_check_correction(meetop_t *op, outcome_in_t *in)
{
    if (!op->m->minutes_version)
        return MDT_DB_OK; /* a draft: correction_reason is ignored */
    const char *reason = json_string_value(in->reason);
    size_t n = reason ? mdt_meetings_text_chars(reason) : 0;
    if (!reason || !*reason)
        return mdt_meetings_fail(
            op, 422, "validation", "correction_reason",
            "the minutes are approved: a change is a correction; give correction_reason");
    if (n == 0 || n > CORRECTION_REASON_MAX_CHARS)
        return mdt_meetings_fail(op, 422, "validation", "correction_reason",
                                 "correction_reason must be 1 to 500 characters");
    in->minutes_version = op->m->minutes_version + 1;
    return MDT_DB_OK;
}

/* The correction's record: one row, and the meeting's minutes version. */
static int correction_write(mdt_dbc_t *c, const meetop_t *op, const outcome_in_t *in,
                            int outcome_version)
{
    mdt_sealed_hold_t hold = {0};
    const char *reason = NULL;
    int rc = outcome_seal(c, &hold, op, in->case_id, "correction_reason",
                          json_string_value(in->reason), &reason);
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->meeting_id);
    mdt_db_param_int(&q, in->minutes_version);
    mdt_db_param_int(&q, in->case_id);
    mdt_db_param_int(&q, outcome_version);
    mdt_db_param_str(&q, reason);
    mdt_db_param_int(&q, op->p.user_id);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c,
                         "INSERT INTO meeting_minutes_corrections (meeting_id, version, case_id,"
                         " outcome_version, reason, corrected_by) VALUES ($1, $2, $3, $4, $5, $6)",
                         &q);
    mdt_sealed_hold_free(&hold);
    mdt_db_params_t v;
    mdt_db_params_init(&v);
    mdt_db_param_int(&v, op->meeting_id);
    mdt_db_param_int(&v, in->minutes_version);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c, "UPDATE meetings SET minutes_version = $2 WHERE id = $1", &v);
    return rc;
}

/* The audit row and event of an outcome write or a correction. */
static int outcome_record(mdt_dbc_t *c, meetop_t *op, const outcome_in_t *in, int outcome_version)
{
    json_t *detail = json_pack("{s:I, s:i}", "case_id", (json_int_t)in->case_id, "outcome_version",
                               outcome_version);
    if (detail && in->minutes_version)
        json_object_set_new(detail, "minutes_version", json_integer(in->minutes_version));
    return mdt_meetings_meetop_record(
        c, op, in->minutes_version ? "meeting.minutes.correct" : "meeting.outcome",
        "meeting.updated", in->case_id, detail);
}

static int outcome_work(mdt_dbc_t *c, meetop_t *op)
{
    outcome_in_t *in = op->ud;
    size_t i = 0;
    while (i < op->m->n_agenda && op->m->agenda[i].case_id != in->case_id)
        i++;
    if (!mdt_meetings_case_visible(op->m, i, &op->p))
        return mdt_meetings_fail(op, 404, "not_found", NULL, "not found");
    const mdt_meeting_case_t *a = &op->m->agenda[i];
    mdt_case_ctx_t view = mdt_casectx_view(&a->cx);
    if (!mdt_authz_meeting_outcome(&op->p, &view, op->m->facilitator_id))
        return mdt_meetings_fail(op, 403, "forbidden", NULL,
                                 "only the meeting's facilitator records outcomes");
    int rc = outcome_check_correction(op, in);
    if (rc != MDT_DB_OK)
        return rc;
    if ((in->version >= 0 && in->version != op->m->version) ||
        (in->outcome_version >= 0 && in->outcome_version != a->outcome_version))
        return mdt_meetings_conflict(op, "the meeting was changed meanwhile; reload it");
    rc = outcome_write(c, op, in);
    if (rc == MDT_DB_OK && in->minutes_version)
        rc = correction_write(c, op, in, a->outcome_version + 1);
    if (rc == MDT_DB_OK)
        rc = mdt_meetings_meetop_reload(c, op, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    return outcome_record(c, op, in, a->outcome_version + 1);
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
    in->reason = json_object_get(req->json, "correction_reason");
    if (mdt_json_str(req->json, "outcome_md", 1, MDT_MARKDOWN_MAX_SOURCE, &in->md, &e) < 0 ||
        mdt_json_int(req->json, "version", 0, 1, INT32_MAX, &in->version, &e) < 0 ||
        mdt_json_int(req->json, "outcome_version", 0, 0, INT32_MAX, &in->outcome_version, &e) < 0) {
        outcome_in_free(in);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = mdt_meetings_meetop_new(req, outcome_work, in, outcome_in_free);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->lock = 1;
    op->pre = outcome_render;
    mdt_meetings_meetop_run(op);
}
