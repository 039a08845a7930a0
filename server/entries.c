/* entries.c - board entries: notes, interview updates, decisions and updates
 * (see entries.h).
 *
 * Every request on an entry runs through caseop (context, 404 for what the
 * caller may not see, one transaction, audit row and event last). Markdown
 * is rendered with mdt_markdown_render inside that work, on the database
 * thread, and both source and HTML are stored. Each version of an entry is a
 * row of entry_versions (version 1 at creation), so history never depends on
 * the live row; retraction sets retracted_at/retracted_by and keeps it all.
 * The body and an interview's recording_ref (inside the interview jsonb,
 * every version) are sealed (sealed.h), bound to the entry; they are opened
 * on the database thread as rows are read.
 *
 * What a principal sees of an entry is decided in one place, entry_row_json:
 * nothing when the view filter (view.h) says no, and for a retracted entry no
 * body (body_md, body_html, interview null) unless its agency authored it. The
 * same function serves the REST answers, the board (mdt_entries_list_json)
 * and error.current of a 409. POST /render previews Markdown on the cpu pool
 * with the same renderer. */
#include "entries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caseop.h"
#include "ctx.h"
#include "ids.h"
#include "json.h"
#include "markdown.h"
#include "meetings.h"
#include "notify.h"
#include "sealed.h"
#include "session.h"
#include "view.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char *const KINDS[] = {"note", "interview", "decision", "update", NULL};
enum { KIND_INTERVIEW = 1 };
/* In mdt_visibility_t order. */
static const char *const VISIBILITIES[] = {"mdt", "agencies", "agency", NULL};
static const char *const DISCLOSURES[] = {"none", "partial", "full", NULL};

#define ENTRY_SELECT                                                                               \
    "SELECT e.id, e.case_id, e.kind, e.author_id, e.agency_id, e.body_md, e.body_html,"            \
    " e.visibility, e.visible_to::text, e.interview::text, e.version, " TS(                        \
        "e.created_at") ","                                                                        \
                        " " TS("e.edited_at") ", " TS(                                             \
                            "e.retracted_at") ", e.retracted_by, u.display_name"                   \
                                              ", e.meeting_id, e.interview->>'recording_ref'"      \
                                              " FROM entries e JOIN users u ON u.id = e.author_id"

enum {
    C_ID,
    C_CASE,
    C_KIND,
    C_AUTHOR,
    C_AGENCY,
    C_MD,
    C_HTML,
    C_VIS,
    C_VISTO,
    C_INTERVIEW,
    C_VERSION,
    C_CREATED,
    C_EDITED,
    C_RETRACTED,
    C_RETRACTED_BY,
    C_AUTHOR_NAME,
    C_MEETING,
    C_REF /* the interview's recording_ref, sealed apart from the other facts */
};

/* The sealed columns of ENTRY_SELECT: the body and the interview's
 * recording_ref, bound to the entry. */
static const mdt_sealed_col_t ENTRY_SEALED[] = {
    {C_MD, "entry", "body_md", C_ID, C_CASE, NULL, -1},
    {C_HTML, "entry", "body_html", C_ID, C_CASE, NULL, -1},
    {C_REF, "entry", "recording_ref", C_ID, C_CASE, NULL, -1},
};
#define N_ENTRY_SEALED (sizeof(ENTRY_SEALED) / sizeof(ENTRY_SEALED[0]))

/* Runs an ENTRY_SELECT statement and opens its sealed bodies: the result
 * (caller PQclear()s), or NULL with c->status set. */
static PGresult *entry_query(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *prm)
{
    return mdt_sealed_query(c, sql, prm, ENTRY_SEALED, N_ENTRY_SEALED);
}

/* Seals an entry's body (md, html; NULL = unchanged) for entry id of case
 * case_id into h; *smd, *shtml point at what to write. */
static int entry_seal(mdt_dbc_t *c, mdt_sealed_hold_t *h, int64_t id, int64_t case_id,
                      const char *md, const char *html, const char **smd, const char **shtml)
{
    mdt_seal_where_t w = {"entry", "body_md", id, case_id, ""};
    int rc = mdt_sealed_put(c, h, &w, md, smd);
    w.field = "body_html";
    return rc == MDT_DB_OK ? mdt_sealed_put(c, h, &w, html, shtml) : rc;
}

/* The interview facts iv to store for entry id of case case_id, as compact
 * JSON text into *out (malloc'ed, the caller frees; NULL when iv is NULL):
 * a copy of iv whose recording_ref is sealed (a blank one is kept as it
 * is). The date, interviewer and disclosure stay clear (SQL may use them).
 * MDT_DB_OK or an error status with c->error set. */
static int interview_seal(mdt_dbc_t *c, json_t *iv, int64_t id, int64_t case_id, char **out)
{
    mdt_seal_where_t w = {"entry", "recording_ref", id, case_id, ""};
    char *sealed = NULL;
    json_t *j = NULL;
    *out = NULL;
    if (!iv)
        return MDT_DB_OK;
    int rc =
        mdt_sealed_seal(c, &w, json_string_value(json_object_get(iv, "recording_ref")), &sealed);
    if (rc != MDT_DB_OK)
        goto exit;
    j = json_copy(iv);
    if (j && sealed && json_object_set_new(j, "recording_ref", json_string(sealed)) != 0) {
        json_decref(j);
        j = NULL;
    }
    *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!*out) {
        c->status = rc = MDT_DB_ERROR;
        snprintf(c->error, sizeof(c->error), "out of memory sealing interview facts");
    }
exit:
    json_decref(j);
    free(sealed);
    return rc;
}

/* ---- serializing ---------------------------------------------------------- */

/* Where an entry row holds the predicate's input (the view filter reads it). */
static const mdt_view_cols_t ENTRY_COLS = {.vis = C_VIS,
                                           .visible_to = C_VISTO,
                                           .author_agency = C_AGENCY,
                                           .author_user = C_AUTHOR,
                                           .assignee_agency = -1,
                                           .assignee_user = -1};

typedef mdt_view_item_t row_item_t;

static void entry_item(const PGresult *r, int row, row_item_t *out)
{
    mdt_view_item(r, row, &ENTRY_COLS, out);
}

json_t *mdt_entries_ids_json(const int64_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

/* The interview facts of row (stored JSON in column col) as a new object
 * with the opened recording_ref of column ref_col (sealed columns are
 * opened in place before rows are serialized), or NULL when there are
 * none. */
static json_t *interview_facts(const PGresult *r, int row, int col, int ref_col)
{
    const char *s = mdt_db_str(r, row, col);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    if (j && !PQgetisnull(r, row, ref_col))
        json_object_set_new(j, "recording_ref", json_string(mdt_db_str(r, row, ref_col)));
    return j;
}

/* The stored interview object, or null when hidden or absent. */
static json_t *interview_json(const PGresult *r, int row, int with_body)
{
    json_t *j = with_body ? interview_facts(r, row, C_INTERVIEW, C_REF) : NULL;
    return j ? j : json_null();
}

/* The entry in row r as p sees it, or NULL when p may not see it. */
static json_t *entry_row_json(const PGresult *r, int row, const mdt_principal_t *p,
                              const mdt_case_ctx_t *cx)
{
    row_item_t ri;
    entry_item(r, row, &ri);
    if (!mdt_view_visible(p, cx, &ri))
        return NULL;
    int retracted = !PQgetisnull(r, row, C_RETRACTED);
    int body = !retracted || mdt_view_history_visible(p, cx, &ri);
    json_t *j = json_pack(
        "{s:I, s:I, s:s, s:I, s:s, s:I, s:o, s:o, s:s, s:o, s:I, s:s, s:o, s:o, s:o}", "id",
        (json_int_t)mdt_db_int(r, row, C_ID), "case_id", (json_int_t)mdt_db_int(r, row, C_CASE),
        "kind", mdt_db_str(r, row, C_KIND), "author_id", (json_int_t)ri.it.author_user_id,
        "author_name", mdt_db_str(r, row, C_AUTHOR_NAME), "agency_id",
        (json_int_t)ri.it.author_agency_id, "body_md",
        mdt_json_str_or_null(body ? mdt_db_str(r, row, C_MD) : NULL), "body_html",
        mdt_json_str_or_null(body ? mdt_db_str(r, row, C_HTML) : NULL), "visibility",
        mdt_db_str(r, row, C_VIS), "visible_to", mdt_entries_ids_json(ri.ids, ri.it.n_visible_to),
        "version", (json_int_t)mdt_db_int(r, row, C_VERSION), "created_at",
        mdt_db_str(r, row, C_CREATED), "edited_at",
        mdt_json_str_or_null(mdt_db_str(r, row, C_EDITED)), "retracted_at",
        mdt_json_str_or_null(mdt_db_str(r, row, C_RETRACTED)), "retracted_by",
        mdt_json_id_or_null(mdt_db_int(r, row, C_RETRACTED_BY)));
    if (j && !PQgetisnull(r, row, C_INTERVIEW))
        json_object_set_new(j, "interview", interview_json(r, row, body));
    if (j)
        json_object_set_new(j, "meeting_id", mdt_json_id_or_null(mdt_db_int(r, row, C_MEETING)));
    return j;
}

json_t *mdt_entries_list_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                              int64_t entry_id)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, cx->case_id);
    mdt_db_param_int(&prm, entry_id);
    PGresult *r = entry_query(
        c, ENTRY_SELECT " WHERE e.case_id = $1 AND ($2::bigint = 0 OR e.id = $2) ORDER BY e.id",
        &prm);
    if (!r)
        return NULL;
    json_t *items = mdt_view_rows_json(r, p, cx, entry_row_json);
    PQclear(r);
    return items;
}

/* The one entry as op's caller sees it into op->run.ans.result; db status. */
static int entry_result(mdt_dbc_t *c, mdt_caseop_t *op, int64_t id)
{
    return mdt_caseop_answer_first(c, op, mdt_entries_list_json(c, &op->p, &op->cx, id));
}

/* ---- input ---------------------------------------------------------------- */

typedef struct {
    int kind;            /* KINDS index; -1 on PATCH */
    const char *body_md; /* borrowed from req->json; NULL = unchanged */
    int vis;             /* mdt_visibility_t; -1 = unchanged */
    int64_t *visible_to; /* malloc'ed */
    size_t n_visible_to;
    int has_visible_to;
    json_t *interview; /* normalized copy, owned */
    int64_t interviewer_id;
    int64_t version;
    int64_t meeting_id; /* 0 = none */
} entry_in_t;

static void entry_in_free(void *arg)
{
    entry_in_t *in = arg;
    if (!in)
        return;
    free(in->visible_to);
    json_decref(in->interview);
    free(in);
}

static int blank(const char *s)
{
    for (; *s; s++) {
        if (!strchr(" \t\r\n\f\v", *s))
            return 0;
    }
    return 1;
}

static int parse_body(json_t *b, int required, entry_in_t *in, mdt_err_t *e)
{
    const char *s = NULL;
    int rc = mdt_json_str(b, "body_md", required, MDT_MARKDOWN_MAX_SOURCE, &s, e);
    if (rc < 0)
        return -1;
    if (rc == 0 && blank(s)) {
        mdt_err_set(e, 422, "validation", "body_md", "body_md must not be empty");
        return -1;
    }
    in->body_md = s;
    return 0;
}

static int parse_visibility(json_t *b, int required, entry_in_t *in, mdt_err_t *e)
{
    in->vis = -1;
    if (mdt_json_enum(b, "visibility", required, VISIBILITIES, &in->vis, e) < 0)
        return -1;
    int rc = mdt_json_ids(b, "visible_to", 0, MDT_CASE_MAX_AGENCIES, &in->visible_to,
                          &in->n_visible_to, e);
    in->has_visible_to = rc == 0;
    return rc < 0 ? -1 : 0;
}

/* Renames e's field "x" to "interview.x". */
static void interview_field(mdt_err_t *e)
{
    char f[sizeof(e->field)];
    snprintf(f, sizeof(f), "interview.%.40s", e->field);
    memcpy(e->field, f, sizeof(f));
}

/* The interview object iv (the whole object: date, interviewer_id,
 * disclosure, recording_ref?) into in->interview, normalized. */
static int parse_interview_obj(json_t *iv, entry_in_t *in, mdt_err_t *e)
{
    if (!json_is_object(iv)) {
        mdt_err_set(e, 400, "bad_request", "interview", "interview must be an object");
        return -1;
    }
    char date[11];
    int disc;
    const char *ref = NULL;
    if (mdt_json_date(iv, "date", 1, date, e) < 0 ||
        mdt_json_int(iv, "interviewer_id", 1, 1, INT64_MAX, &in->interviewer_id, e) < 0 ||
        mdt_json_enum(iv, "disclosure", 1, DISCLOSURES, &disc, e) < 0 ||
        mdt_json_str(iv, "recording_ref", 0, 500, &ref, e) < 0) {
        interview_field(e);
        return -1;
    }
    in->interview = json_pack("{s:s, s:I, s:s}", "date", date, "interviewer_id",
                              (json_int_t)in->interviewer_id, "disclosure", DISCLOSURES[disc]);
    if (in->interview && ref)
        json_object_set_new(in->interview, "recording_ref", json_string(ref));
    return 0;
}

/* interview: required for kind interview, refused for the others. */
static int parse_interview(json_t *b, entry_in_t *in, mdt_err_t *e)
{
    json_t *iv = json_object_get(b, "interview");
    int present = iv && !json_is_null(iv);
    if (in->kind != KIND_INTERVIEW || !present) {
        if (in->kind == KIND_INTERVIEW || present)
            mdt_err_set(e, 422, "validation", "interview", "%s",
                        present ? "interview is only for entries of kind interview"
                                : "interview is required for kind interview");
        return in->kind == KIND_INTERVIEW || present ? -1 : 0;
    }
    return parse_interview_obj(iv, in, e);
}

static int parse_create(json_t *b, entry_in_t *in, mdt_err_t *e)
{
    if (mdt_json_enum(b, "kind", 1, KINDS, &in->kind, e) < 0 || parse_body(b, 1, in, e) < 0 ||
        parse_visibility(b, 1, in, e) < 0 ||
        mdt_json_int(b, "meeting_id", 0, 1, INT64_MAX, &in->meeting_id, e) < 0)
        return -1;
    if (in->meeting_id && in->kind == KIND_INTERVIEW) {
        mdt_err_set(e, 422, "validation", "meeting_id",
                    "an interview entry is not recorded in a meeting: leave out meeting_id");
        return -1;
    }
    return parse_interview(b, in, e);
}

static int parse_update(json_t *b, entry_in_t *in, mdt_err_t *e)
{
    in->kind = -1;
    json_t *iv = json_object_get(b, "interview");
    if (mdt_json_int(b, "version", 1, 1, INT32_MAX, &in->version, e) < 0 ||
        parse_body(b, 0, in, e) < 0 || parse_visibility(b, 0, in, e) < 0 ||
        (iv && parse_interview_obj(iv, in, e) < 0))
        return -1;
    if (!in->body_md && in->vis < 0 && !in->has_visible_to && !in->interview) {
        mdt_err_set(e, 422, "validation", NULL,
                    "nothing to change: give body_md, visibility, visible_to or interview");
        return -1;
    }
    return 0;
}

/* ---- checks inside the work ------------------------------------------------ */

static int stop(mdt_caseop_t *op, int status, const char *code, const char *field,
                const char *message)
{
    return mdt_run_fail(&op->run, status, code, field, message);
}

int mdt_entries_conflict(mdt_caseop_t *op, const char *message, json_t *current)
{
    return mdt_run_conflict(&op->run, message, current ? current : json_null());
}

static int case_has_agency(const mdt_casectx_t *cx, int64_t id)
{
    for (size_t i = 0; i < cx->n_agencies; i++) {
        if (cx->agencies[i] == id)
            return 1;
    }
    return 0;
}

int mdt_entries_check_visible_to(mdt_caseop_t *op, int vis, const int64_t *ids, size_t n)
{
    if (vis == MDT_VIS_AGENCIES && n == 0)
        return stop(op, 422, "validation", "visible_to",
                    "visible_to must name at least one agency when visibility is agencies");
    if (vis != MDT_VIS_AGENCIES && n > 0)
        return stop(op, 422, "validation", "visible_to",
                    "visible_to is only used with visibility agencies");
    for (size_t i = 0; i < n; i++) {
        if (!case_has_agency(&op->cx, ids[i])) {
            mdt_err_set(&op->run.ans.err, 422, "validation", "visible_to",
                        "agency %lld in visible_to is not on the case", (long long)ids[i]);
            return MDT_RUN_ANSWERED;
        }
    }
    return MDT_DB_OK;
}

/* The interviewer is an active user of an agency on the case. */
static int check_interviewer(mdt_dbc_t *c, mdt_caseop_t *op, int64_t user_id)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, user_id);
    mdt_db_param_int(&prm, op->case_id);
    PGresult *r = mdt_db_query(c,
                               "SELECT 1 FROM users u JOIN case_agencies ca"
                               " ON ca.agency_id = u.agency_id AND ca.case_id = $2"
                               " WHERE u.id = $1 AND u.active",
                               &prm);
    if (!r)
        return c->status;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found)
        return stop(op, 422, "validation", "interview.interviewer_id",
                    "interview.interviewer_id must be an active user of an agency on the case");
    return MDT_DB_OK;
}

/* Renders body_md into *html (caller frees); 422 when it will not render. */
static int render(mdt_caseop_t *op, const char *md, char **html)
{
    *html = NULL;
    if (mdt_markdown_render(md, strlen(md), html) != 0)
        return stop(op, 422, "validation", "body_md",
                    "body_md is not valid UTF-8 Markdown within the size limit");
    return MDT_DB_OK;
}

/* ---- create ----------------------------------------------------------------- */

static int entry_insert(mdt_dbc_t *c, mdt_caseop_t *op, const entry_in_t *in, const char *html,
                        int64_t *id)
{
    char *ids = mdt_ids_literal(in->visible_to, in->n_visible_to);
    if (!ids)
        return MDT_DB_ERROR;
    char *interview = NULL;
    mdt_sealed_hold_t hold = {0};
    const char *smd = NULL, *shtml = NULL;
    PGresult *r = NULL;
    int rc = mdt_sealed_next_id(c, "entries_id_seq", id);
    if (rc == MDT_DB_OK)
        rc = entry_seal(c, &hold, *id, op->case_id, in->body_md, html, &smd, &shtml);
    if (rc == MDT_DB_OK)
        rc = interview_seal(c, in->interview, *id, op->case_id, &interview);
    if (rc != MDT_DB_OK)
        goto exit;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, op->case_id);
    mdt_db_param_str(&prm, KINDS[in->kind]);
    mdt_db_param_int(&prm, op->p.user_id);
    mdt_db_param_int(&prm, op->p.agency_id);
    mdt_db_param_str(&prm, smd);
    mdt_db_param_str(&prm, shtml);
    mdt_db_param_str(&prm, VISIBILITIES[in->vis]);
    mdt_db_param_str(&prm, ids);
    mdt_db_param_str(&prm, interview);
    if (in->meeting_id)
        mdt_db_param_int(&prm, in->meeting_id);
    else
        mdt_db_param_str(&prm, NULL);
    mdt_db_param_int(&prm, *id);
    r = mdt_db_query(
        c,
        "WITH e AS (INSERT INTO entries (id, case_id, kind, author_id, agency_id, body_md,"
        " body_html, visibility, visible_to, interview, meeting_id) VALUES ($11, $1, $2, $3, $4,"
        " $5, $6, $7, $8::bigint[], $9::jsonb, $10) RETURNING *)"
        " INSERT INTO entry_versions (entry_id, version, body_md, body_html, visibility,"
        " visible_to, interview, edited_by, edited_at) SELECT id, version, body_md, body_html,"
        " visibility, visible_to, interview, author_id, created_at FROM e RETURNING entry_id",
        &prm);
    rc = r ? MDT_DB_OK : c->status;
    PQclear(r);
exit:
    mdt_sealed_hold_free(&hold);
    free(interview);
    free(ids);
    return rc;
}

static int entry_create_checks(mdt_dbc_t *c, mdt_caseop_t *op, const entry_in_t *in)
{
    int interview = in->kind == KIND_INTERVIEW;
    if (!mdt_authz_entry_create(&op->p, &op->view, interview))
        return interview ? stop(op, 422, "validation", "kind",
                                "only interviewers may post interview entries")
                         : stop(op, 403, "forbidden", NULL, "you may not post on this case");
    int rc = mdt_entries_check_visible_to(op, in->vis, in->visible_to, in->n_visible_to);
    if (rc == MDT_DB_OK && interview)
        rc = check_interviewer(c, op, in->interviewer_id);
    if (rc == MDT_DB_OK && in->meeting_id)
        rc = mdt_meetings_check_link(c, &op->run, &op->p, in->meeting_id, op->case_id);
    return rc;
}

/* Records the change (its audit row and event, caseop.h) and notifies the
 * users its body mentions who may see it: the mention reads run before the
 * record takes the ledger lock, their notifications after its event
 * (notify.h). The answer's "mentions" tells the author whom it did and did
 * not notify; none when the body mentions no one. body NULL: the stored
 * one. Returns the db status. */
static int entry_record(mdt_dbc_t *c, mdt_caseop_t *op, const char *action, const char *event_kind,
                        json_t *detail, const char *body)
{
    json_t *plan = NULL;
    int rc = mdt_notify_mentions_plan(c, &op->p, &op->view, op->object_id, body, &plan);
    if (rc == MDT_DB_OK)
        rc = mdt_caseop_record(c, op, action, "entry", op->object_id, event_kind, detail);
    if (rc == MDT_DB_OK)
        rc = mdt_notify_mentions_send(c, op->p.user_id, op->case_id, op->object_id, plan);
    if (rc == MDT_DB_OK && (json_array_size(json_object_get(plan, "notified")) ||
                            json_array_size(json_object_get(plan, "not_notified")))) {
        json_object_set_new(op->run.ans.result, "mentions", plan);
        plan = NULL;
    }
    json_decref(plan);
    return rc;
}

static int entry_create_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    entry_in_t *in = op->ud;
    char *html = NULL;
    int rc = entry_create_checks(c, op, in);
    if (rc == MDT_DB_OK)
        rc = render(op, in->body_md, &html);
    if (rc == MDT_DB_OK)
        rc = entry_insert(c, op, in, html, &op->object_id);
    free(html);
    if (rc == MDT_DB_OK)
        rc = entry_result(c, op, op->object_id);
    if (rc != MDT_DB_OK)
        return rc;
    json_t *detail =
        json_pack("{s:s, s:s}", "kind", KINDS[in->kind], "visibility", VISIBILITIES[in->vis]);
    if (detail && in->meeting_id)
        json_object_set_new(detail, "meeting_id", json_integer(in->meeting_id));
    rc = entry_record(c, op, "entry.create", "entry.created", detail, in->body_md);
    json_decref(detail);
    op->run.ans.ok_status = 201;
    return rc;
}

/* ---- loading and gating an existing entry ---------------------------------- */

typedef bool (*entry_allow_fn)(const mdt_principal_t *, const mdt_case_ctx_t *,
                               const mdt_item_ctx_t *);

/* The entry row (locked for a change when lock is set) into *out. */
static int entry_load(mdt_dbc_t *c, int64_t id, int lock, PGresult **out)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    *out = entry_query(
        c, lock ? ENTRY_SELECT " WHERE e.id = $1 FOR UPDATE OF e" : ENTRY_SELECT " WHERE e.id = $1",
        &prm);
    if (!*out)
        return c->status;
    if (PQntuples(*out) == 1)
        return MDT_DB_OK;
    PQclear(*out);
    *out = NULL;
    return MDT_DB_NOT_FOUND;
}

/* The checks of every change to an existing entry, in order: 404 when the
 * caller may not see it, 403 when allow says no, 409 (with the entry as the
 * caller sees it) when it is retracted or version (> 0) is stale. */
static int entry_gate(mdt_caseop_t *op, const PGresult *r, entry_allow_fn allow, int64_t version)
{
    row_item_t ri;
    entry_item(r, 0, &ri);
    if (!mdt_view_visible(&op->p, &op->view, &ri))
        return stop(op, 404, "not_found", NULL, "not found");
    if (!allow(&op->p, &op->view, &ri.it))
        return stop(op, 403, "forbidden", NULL, "you may not change this entry");
    if (!PQgetisnull(r, 0, C_RETRACTED))
        return mdt_entries_conflict(op, "the entry was retracted",
                                    entry_row_json(r, 0, &op->p, &op->view));
    if (version > 0 && version != mdt_db_int(r, 0, C_VERSION))
        return mdt_entries_conflict(op, "the entry was changed meanwhile; reload it",
                                    entry_row_json(r, 0, &op->p, &op->view));
    return MDT_DB_OK;
}

/* ---- update ------------------------------------------------------------------ */

/* The visibility and visible_to the entry will have after the edit. */
static void entry_effective(const PGresult *r, const entry_in_t *in, int *vis, row_item_t *cur,
                            const int64_t **ids, size_t *n)
{
    entry_item(r, 0, cur);
    *vis = in->vis >= 0 ? in->vis : (int)cur->it.visibility;
    if (in->has_visible_to) {
        *ids = in->visible_to;
        *n = in->n_visible_to;
    } else {
        *ids = cur->ids;
        *n = *vis == MDT_VIS_AGENCIES ? cur->it.n_visible_to : 0;
    }
}

static int entry_write_edit(mdt_dbc_t *c, mdt_caseop_t *op, const entry_in_t *in, const char *html,
                            int vis, const int64_t *ids, size_t n)
{
    char *lit = mdt_ids_literal(ids, n);
    char *interview = NULL;
    mdt_sealed_hold_t hold = {0};
    const char *smd = NULL, *shtml = NULL;
    int rc = MDT_DB_ERROR;
    if (!lit)
        goto exit;
    rc = entry_seal(c, &hold, op->object_id, op->case_id, in->body_md, html, &smd, &shtml);
    if (rc == MDT_DB_OK)
        rc = interview_seal(c, in->interview, op->object_id, op->case_id, &interview);
    if (rc != MDT_DB_OK)
        goto exit;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, op->object_id);
    mdt_db_param_str(&prm, smd);
    mdt_db_param_str(&prm, shtml);
    mdt_db_param_str(&prm, VISIBILITIES[vis]);
    mdt_db_param_str(&prm, lit);
    mdt_db_param_int(&prm, op->p.user_id);
    mdt_db_param_str(&prm, interview);
    rc = mdt_db_exec(
        c,
        "WITH e AS (UPDATE entries SET body_md = coalesce($2, body_md),"
        " body_html = coalesce($3, body_html), visibility = $4, visible_to = $5::bigint[],"
        " interview = coalesce($7::jsonb, interview),"
        " version = version + 1, edited_at = now() WHERE id = $1 RETURNING *)"
        " INSERT INTO entry_versions (entry_id, version, body_md, body_html, visibility,"
        " visible_to, interview, edited_by, edited_at) SELECT id, version, body_md, body_html,"
        " visibility, visible_to, interview, $6, edited_at FROM e",
        &prm);
exit:
    mdt_sealed_hold_free(&hold);
    free(interview);
    free(lit);
    return rc;
}

/* The audit detail of an edit: the names of the fields it carried. */
static json_t *edit_detail(const entry_in_t *in)
{
    json_t *fields = json_array();
    if (in->body_md)
        json_array_append_new(fields, json_string("body_md"));
    if (in->vis >= 0)
        json_array_append_new(fields, json_string("visibility"));
    if (in->has_visible_to)
        json_array_append_new(fields, json_string("visible_to"));
    if (in->interview)
        json_array_append_new(fields, json_string("interview"));
    return json_pack("{s:o}", "fields", fields);
}

static int entry_edit(mdt_dbc_t *c, mdt_caseop_t *op, const PGresult *r, const entry_in_t *in)
{
    int vis;
    row_item_t cur;
    const int64_t *ids;
    size_t n;
    char *html = NULL;
    entry_effective(r, in, &vis, &cur, &ids, &n);
    int rc = mdt_entries_check_visible_to(op, vis, ids, n);
    if (rc == MDT_DB_OK && in->interview && strcmp(mdt_db_str(r, 0, C_KIND), "interview") != 0)
        rc = stop(op, 422, "validation", "interview",
                  "interview is only for entries of kind interview");
    if (rc == MDT_DB_OK && in->interview)
        rc = check_interviewer(c, op, in->interviewer_id);
    if (rc == MDT_DB_OK && in->body_md)
        rc = render(op, in->body_md, &html);
    if (rc == MDT_DB_OK)
        rc = entry_write_edit(c, op, in, html, vis, ids, n);
    free(html);
    return rc;
}

static int entry_update_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    entry_in_t *in = op->ud;
    PGresult *r = NULL;
    int rc = entry_load(c, op->object_id, 1, &r);
    if (rc == MDT_DB_OK)
        rc = entry_gate(op, r, mdt_authz_entry_edit, in->version);
    if (rc == MDT_DB_OK)
        rc = entry_edit(c, op, r, in);
    PQclear(r);
    if (rc == MDT_DB_OK)
        rc = entry_result(c, op, op->object_id);
    if (rc != MDT_DB_OK)
        return rc;
    json_t *detail = edit_detail(in);
    rc = entry_record(c, op, "entry.update", "entry.updated", detail, in->body_md);
    json_decref(detail);
    return rc;
}

/* ---- retract ------------------------------------------------------------------ */

static int entry_retract_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    PGresult *r = NULL;
    int rc = entry_load(c, op->object_id, 1, &r);
    if (rc == MDT_DB_OK)
        rc = entry_gate(op, r, mdt_authz_entry_retract, 0);
    PQclear(r);
    if (rc == MDT_DB_OK) {
        mdt_db_params_t prm;
        mdt_db_params_init(&prm);
        mdt_db_param_int(&prm, op->object_id);
        mdt_db_param_int(&prm, op->p.user_id);
        rc = mdt_db_exec(c,
                         "UPDATE entries SET retracted_at = now(), retracted_by = $2"
                         " WHERE id = $1",
                         &prm);
    }
    if (rc == MDT_DB_OK)
        rc = entry_result(c, op, op->object_id);
    if (rc != MDT_DB_OK)
        return rc;
    return mdt_caseop_record(c, op, "entry.retract", "entry", op->object_id, "entry.retracted",
                             NULL);
}

/* ---- history --------------------------------------------------------------------- */

/* One version of the history. full: the whole version; otherwise only who
 * edited it and when (API.md: others "see that it was edited"). */
static json_t *history_item(const PGresult *r, int row, int full)
{
    int64_t ids[MDT_CASE_MAX_AGENCIES];
    json_t *v =
        json_pack("{s:I, s:I, s:s}", "version", (json_int_t)mdt_db_int(r, row, 0), "edited_by",
                  (json_int_t)mdt_db_int(r, row, 5), "edited_at", mdt_db_str(r, row, 6));
    if (!v || !full)
        return v;
    size_t n = mdt_casectx_parse_ids(mdt_db_str(r, row, 4), ids, MDT_CASE_MAX_AGENCIES);
    json_t *iv = interview_facts(r, row, 7, 10);
    if (iv)
        json_object_set_new(v, "interview", iv);
    json_object_set_new(v, "body_md", json_string(mdt_db_str(r, row, 1)));
    json_object_set_new(v, "body_html", json_string(mdt_db_str(r, row, 2)));
    json_object_set_new(v, "visibility", json_string(mdt_db_str(r, row, 3)));
    json_object_set_new(v, "visible_to", mdt_entries_ids_json(ids, n));
    return v;
}

/* The versions, oldest first: all of them in full for the author's agency
 * (all_full); for anyone else who sees the entry only the current one in
 * full (current_full: not when the entry is retracted, whose body only the
 * author's agency sees) and the earlier ones as who and when. */
static int history_items(mdt_dbc_t *c, mdt_caseop_t *op, int all_full, int current_full)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, op->object_id);
    static const mdt_sealed_col_t SEALED[] = {
        {1, "entry", "body_md", 8, 9, NULL, -1},
        {2, "entry", "body_html", 8, 9, NULL, -1},
        {10, "entry", "recording_ref", 8, 9, NULL, -1},
    };
    PGresult *r = mdt_sealed_query(
        c,
        "SELECT v.version, v.body_md, v.body_html, v.visibility,"
        " v.visible_to::text, v.edited_by, " TS(
            "v.edited_at") ","
                           " v.interview::text, v.entry_id, e.case_id,"
                           " v.interview->>'recording_ref'"
                           " FROM entry_versions v JOIN entries e ON e.id = v.entry_id"
                           " WHERE v.entry_id = $1 ORDER BY v.version",
        &prm, SEALED, sizeof(SEALED) / sizeof(SEALED[0]));
    if (!r)
        return c->status;
    json_t *items = json_array();
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        json_array_append_new(items, history_item(r, i, all_full || (current_full && i == n - 1)));
    PQclear(r);
    op->run.ans.result = json_pack("{s:o}", "items", items);
    return MDT_DB_OK;
}

/* Anyone who sees the entry gets its history (shaped by history_items);
 * whoever does not gets 404, as for an entry that does not exist. */
static int entry_history_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    PGresult *r = NULL;
    int rc = entry_load(c, op->object_id, 0, &r);
    if (rc != MDT_DB_OK)
        return rc;
    row_item_t ri;
    entry_item(r, 0, &ri);
    int retracted = !PQgetisnull(r, 0, C_RETRACTED);
    PQclear(r);
    if (!mdt_view_visible(&op->p, &op->view, &ri))
        return mdt_run_fail(&op->run, 404, "not_found", NULL, "not found");
    return history_items(c, op, mdt_view_history_visible(&op->p, &op->view, &ri), !retracted);
}

/* ---- handlers (event loop) -------------------------------------------------------- */

/* Starts a caseop for req on the entry in the path (or the case, for create). */
static void entry_run(mdt_req_t *req, entry_in_t *in, mdt_caseop_fn work, int on_entry)
{
    mdt_caseop_t *op = mdt_caseop_new(req, work);
    if (!op) {
        entry_in_free(in);
        return;
    }
    op->ud = in;
    op->ud_free = entry_in_free;
    if (on_entry) {
        op->object_id = req->ids[0];
        op->resolve_sql = "SELECT case_id FROM entries WHERE id = $1";
    } else {
        op->case_id = req->ids[0];
        op->run.idempotent = 1; /* the create */
    }
    mdt_caseop_run(op);
}

/* Parses req's body with parse into a new entry_in_t; NULL when it answered. */
static entry_in_t *entry_parse(mdt_req_t *req, int (*parse)(json_t *, entry_in_t *, mdt_err_t *))
{
    entry_in_t *in = calloc(1, sizeof(*in));
    mdt_err_t e;
    if (!in) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    if (parse && parse(req->json, in, &e) < 0) {
        entry_in_free(in);
        mdt_http_fail(req, &e);
        return NULL;
    }
    return in;
}

void mdt_entries_create(mdt_req_t *req)
{
    entry_in_t *in = entry_parse(req, parse_create);
    if (in)
        entry_run(req, in, entry_create_work, 0);
}

void mdt_entries_update(mdt_req_t *req)
{
    entry_in_t *in = entry_parse(req, parse_update);
    if (in)
        entry_run(req, in, entry_update_work, 1);
}

void mdt_entries_retract(mdt_req_t *req)
{
    entry_in_t *in = entry_parse(req, NULL);
    if (in)
        entry_run(req, in, entry_retract_work, 1);
}

void mdt_entries_history(mdt_req_t *req)
{
    mdt_caseop_t *op = mdt_caseop_new(req, entry_history_work);
    if (!op)
        return;
    op->object_id = req->ids[0];
    op->resolve_sql = "SELECT case_id FROM entries WHERE id = $1";
    op->read_action = "entry.history.read";
    op->object_type = "entry";
    mdt_caseop_run(op);
}

/* ---- /render ------------------------------------------------------------------------ */

typedef struct {
    mdt_req_t *req;
    const char *src; /* borrowed from req->json */
    char *html;
    int rc; /* 1 until the work ran */
} render_t;

static void render_free(void *arg)
{
    render_t *r = arg;
    free(r->html);
    free(r);
}

static void render_work(void *state, void *arg)
{
    render_t *r = arg;
    r->rc = mdt_markdown_render(r->src, strlen(r->src), &r->html);
}

static void render_done(void *arg)
{
    render_t *r = arg;
    if (r->rc > 0)
        mdt_http_fail_db(r->req, MDT_DB_REFUSED); /* shutting down: never ran */
    else if (r->rc < 0)
        mdt_http_error(r->req, 422, "validation", "body_md",
                       "body_md is not valid UTF-8 Markdown within the size limit");
    else
        mdt_http_respond_json(r->req, 200, json_pack("{s:s}", "body_html", r->html));
}

void mdt_entries_render(mdt_req_t *req)
{
    mdt_err_t e;
    const char *src;
    if (mdt_json_str(req->json, "body_md", 1, MDT_MARKDOWN_MAX_SOURCE, &src, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    render_t *r = calloc(1, sizeof(*r));
    if (!r) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    *r = (render_t){.req = req, .src = src, .rc = 1};
    req->state = r;
    req->state_free = render_free;
    if (mdt_workq_submit(mdt_ctx_cpu(req), render_work, render_done, r) != 0)
        mdt_http_fail_db(req, MDT_DB_REFUSED);
}
