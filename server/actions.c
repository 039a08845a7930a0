/* actions.c - action items on a case (see actions.h).
 *
 * Create, update and retract run through caseop: the case's context, 404
 * for what the caller may not see, one transaction, audit row and event
 * last. Each version of an item is kept whole in action_versions (version 1
 * at creation, one row per update) as the JSON of the row. Who may assign to
 * whom and who may change an item is asked of authz (action_assign,
 * action_update, action_retract); this module checks the data: the assignee
 * agency is on the case and the assignee user an active user of it.
 *
 * action_row_json is the one serialization (REST answers, the board,
 * error.current). `overdue` comes from SQL: due before today in the
 * installation's time zone while open or in progress (and not retracted).
 * details_md is rendered with mdt_markdown_render on the database thread. */
#include "actions_int.h"

#include <stdlib.h>
#include <string.h>

#include "caseop.h"
#include "ctx.h"
#include "entries.h"
#include "ids.h"
#include "json.h"
#include "markdown.h"
#include "meetings.h"
#include "notify.h"
#include "sealed.h"
#include "view.h"

#define TS(col)         "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define TITLE_MAX_CHARS 300

static const char *const STATUSES[] = {"open", "in_progress", "done", "cancelled", NULL};
/* In mdt_visibility_t order. */
static const char *const VISIBILITIES[] = {"mdt", "agencies", "agency", NULL};

/* days_overdue: today (in the installation's zone) minus the due date while
 * the item is open or in progress, not retracted and past due; else NULL.
 * `overdue` is days_overdue IS NOT NULL. */
#define ACTION_SELECT                                                                              \
    "SELECT a.id, a.case_id, a.title, a.details_md, a.details_html, a.assignee_id,"                \
    " a.assignee_agency_id, a.agency_id, to_char(a.due_date, 'YYYY-MM-DD'), a.status,"             \
    " a.visibility, a.visible_to::text, a.meeting_id,"                                             \
    " CASE WHEN a.retracted_at IS NULL AND a.status IN ('open', 'in_progress')"                    \
    " AND a.due_date < t.today THEN t.today - a.due_date END,"                                     \
    " a.version, a.created_by, " TS("a.created_at") ", " TS(                                       \
        "a.updated_at") ","                                                                        \
                        " " TS("a.completed_at") ", " TS(                                          \
                            "a.retracted_at") ", a.retracted_by,"                                  \
                                              " au.display_name, cu.display_name, " TS(            \
                                                  "a.closed_at") ", a.closed_by, xu.display_name," \
                                                                 " aag.name, cag.name"             \
                                                                 " FROM actions a JOIN users cu "  \
                                                                 "ON cu.id = a.created_by"         \
                                                                 " LEFT JOIN users au ON au.id = " \
                                                                 "a.assignee_id LEFT JOIN users "  \
                                                                 "xu ON xu.id = a.closed_by"       \
                                                                 " JOIN agencies aag ON aag.id = " \
                                                                 "a.assignee_agency_id JOIN "      \
                                                                 "agencies cag ON cag.id = "       \
                                                                 "a.agency_id"                     \
                                                                 " CROSS JOIN LATERAL (SELECT "    \
                                                                 "(now() AT TIME ZONE $2)::date "  \
                                                                 "AS today) t"

enum {
    C_ID,
    C_CASE,
    C_TITLE,
    C_MD,
    C_HTML,
    C_ASSIGNEE,
    C_ASSIGNEE_AGENCY,
    C_AGENCY,
    C_DUE,
    C_STATUS,
    C_VIS,
    C_VISTO,
    C_MEETING,
    C_DAYS_OVERDUE,
    C_VERSION,
    C_CREATED_BY,
    C_CREATED,
    C_UPDATED,
    C_COMPLETED,
    C_RETRACTED,
    C_RETRACTED_BY,
    C_ASSIGNEE_NAME,
    C_CREATOR_NAME,
    C_CLOSED,
    C_CLOSED_BY,
    C_CLOSED_BY_NAME,
    C_ASSIGNEE_AGENCY_NAME,
    C_AGENCY_NAME
};

/* The sealed columns of ACTION_SELECT: the title and the details, bound to
 * the item (action_versions.data copies them as they are, still sealed). */
static const mdt_sealed_col_t ACTION_SEALED[] = {
    {C_TITLE, "action", "title", C_ID, C_CASE, NULL, -1},
    {C_MD, "action", "details_md", C_ID, C_CASE, NULL, -1},
    {C_HTML, "action", "details_html", C_ID, C_CASE, NULL, -1},
};

/* Runs an ACTION_SELECT statement and opens its sealed columns. */
static PGresult *action_query(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *prm)
{
    return mdt_sealed_query(c, sql, prm, ACTION_SEALED, 3);
}

/* Seals the given text fields of item id (NULL = unchanged) into h; s[0..2]
 * point at what to write for title, details_md, details_html. */
static int action_seal(mdt_dbc_t *c, mdt_sealed_hold_t *h, int64_t id, int64_t case_id,
                       const char *const plain[3], const char *s[3])
{
    int rc = MDT_DB_OK;
    for (int i = 0; rc == MDT_DB_OK && i < 3; i++) {
        mdt_seal_where_t w = {"action", ACTION_SEALED[i].field, id, case_id, ""};
        rc = mdt_sealed_put(c, h, &w, plain[i], &s[i]);
    }
    return rc;
}

/* ---- serializing ---------------------------------------------------------- */

/* Where an action row holds the predicate's input: the creator is the
 * "author", its agency (actions.agency_id) the author's agency. */
static const mdt_view_cols_t ACTION_COLS = {.vis = C_VIS,
                                            .visible_to = C_VISTO,
                                            .author_agency = C_AGENCY,
                                            .author_user = C_CREATED_BY,
                                            .assignee_agency = C_ASSIGNEE_AGENCY,
                                            .assignee_user = C_ASSIGNEE};

typedef struct {
    mdt_view_item_t v;
    int64_t creator;
} row_item_t;

static void action_item(const PGresult *r, int row, row_item_t *out)
{
    mdt_view_item(r, row, &ACTION_COLS, &out->v);
    out->creator = out->v.it.author_user_id;
}

/* The fields past the contract's core: times, names, retraction, closing. */
static void action_row_extra(json_t *j, const PGresult *r, int row)
{
    int overdue = !PQgetisnull(r, row, C_DAYS_OVERDUE);
    json_object_set_new(j, "days_overdue",
                        overdue ? json_integer(mdt_db_int(r, row, C_DAYS_OVERDUE)) : json_null());
    json_object_set_new(j, "closed_at", mdt_json_str_or_null(mdt_db_str(r, row, C_CLOSED)));
    json_object_set_new(j, "closed_by", mdt_json_id_or_null(mdt_db_int(r, row, C_CLOSED_BY)));
    json_object_set_new(j, "closed_by_name",
                        mdt_json_str_or_null(mdt_db_str(r, row, C_CLOSED_BY_NAME)));
    json_object_set_new(j, "assignee_agency_name",
                        json_string(mdt_db_str(r, row, C_ASSIGNEE_AGENCY_NAME)));
    json_object_set_new(j, "agency_name", json_string(mdt_db_str(r, row, C_AGENCY_NAME)));
    json_object_set_new(j, "updated_at", json_string(mdt_db_str(r, row, C_UPDATED)));
    json_object_set_new(j, "completed_at", mdt_json_str_or_null(mdt_db_str(r, row, C_COMPLETED)));
    json_object_set_new(j, "retracted_at", mdt_json_str_or_null(mdt_db_str(r, row, C_RETRACTED)));
    json_object_set_new(j, "retracted_by", mdt_json_id_or_null(mdt_db_int(r, row, C_RETRACTED_BY)));
    json_object_set_new(j, "assignee_name",
                        mdt_json_str_or_null(mdt_db_str(r, row, C_ASSIGNEE_NAME)));
    json_object_set_new(j, "created_by_name", json_string(mdt_db_str(r, row, C_CREATOR_NAME)));
}

/* The action item in row r as p sees it, or NULL when p may not see it. */
static json_t *action_row_json(const PGresult *r, int row, const mdt_principal_t *p,
                               const mdt_case_ctx_t *cx)
{
    row_item_t ri;
    action_item(r, row, &ri);
    if (!mdt_view_visible(p, cx, &ri.v))
        return NULL;
    json_t *j = json_pack(
        "{s:I, s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:s, s:s, s:o, s:o, s:b, s:I, s:I, s:s}",
        "id", (json_int_t)mdt_db_int(r, row, C_ID), "case_id",
        (json_int_t)mdt_db_int(r, row, C_CASE), "title", mdt_db_str(r, row, C_TITLE), "details_md",
        mdt_db_str(r, row, C_MD), "details_html", mdt_db_str(r, row, C_HTML), "assignee_id",
        mdt_json_id_or_null(ri.v.it.assignee_user_id), "assignee_agency_id",
        (json_int_t)ri.v.it.assignee_agency_id, "agency_id", (json_int_t)ri.v.it.author_agency_id,
        "due_date", mdt_json_str_or_null(mdt_db_str(r, row, C_DUE)), "status",
        mdt_db_str(r, row, C_STATUS), "visibility", mdt_db_str(r, row, C_VIS), "visible_to",
        mdt_entries_ids_json(ri.v.ids, ri.v.it.n_visible_to), "meeting_id",
        mdt_json_id_or_null(mdt_db_int(r, row, C_MEETING)), "overdue",
        !PQgetisnull(r, row, C_DAYS_OVERDUE), "version", (json_int_t)mdt_db_int(r, row, C_VERSION),
        "created_by", (json_int_t)ri.creator, "created_at", mdt_db_str(r, row, C_CREATED));
    if (j)
        action_row_extra(j, r, row);
    return j;
}

json_t *mdt_actions_list_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                              int64_t action_id, const char *time_zone)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, cx->case_id);
    mdt_db_param_str(&prm, time_zone);
    mdt_db_param_int(&prm, action_id);
    PGresult *r = action_query(
        c, ACTION_SELECT " WHERE a.case_id = $1 AND ($3::bigint = 0 OR a.id = $3) ORDER BY a.id",
        &prm);
    if (!r)
        return NULL;
    json_t *items = mdt_view_rows_json(r, p, cx, action_row_json);
    PQclear(r);
    return items;
}

/* ---- input ---------------------------------------------------------------- */

void mdt_actions_in_free(void *arg)
{
    mdt_action_in_t *in = arg;
    if (in)
        free(in->visible_to);
    free(in);
}

static int is_null(json_t *b, const char *key)
{
    json_t *v = json_object_get(b, key);
    return v && json_is_null(v);
}

/* Code points in a valid UTF-8 string; 0 when it holds only white space. */
static size_t title_chars(const char *s)
{
    size_t n = 0;
    int seen = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
        seen |= !strchr(" \t\r\n\f\v", *s);
    }
    return seen ? n : 0;
}

static int parse_title(json_t *b, int required, mdt_action_in_t *in, mdt_err_t *e)
{
    int rc = mdt_json_str(b, "title", required, TITLE_MAX_CHARS * 4, &in->title, e);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    size_t n = title_chars(in->title);
    if (n == 0 || n > TITLE_MAX_CHARS) {
        mdt_err_set(e, 422, "validation", "title", "title must be 1 to %d characters",
                    TITLE_MAX_CHARS);
        return -1;
    }
    return 0;
}

/* assignee_id and due_date: a value, or (PATCH) null to clear. */
static int parse_nullables(json_t *b, mdt_action_in_t *in, mdt_err_t *e)
{
    int rc = mdt_json_int(b, "assignee_id", 0, 1, INT64_MAX, &in->assignee_id, e);
    if (rc < 0)
        return -1;
    in->assignee_id_set = rc == 0 || is_null(b, "assignee_id");
    rc = mdt_json_date(b, "due_date", 0, in->due, e);
    if (rc < 0)
        return -1;
    in->due_set = rc == 0 || is_null(b, "due_date");
    return 0;
}

static int parse_create(json_t *b, mdt_action_in_t *in, mdt_err_t *e)
{
    const char *md = "";
    in->vis = MDT_VIS_MDT;
    if (parse_title(b, 1, in, e) < 0 ||
        mdt_json_str(b, "details_md", 0, MDT_MARKDOWN_MAX_SOURCE, &md, e) < 0 ||
        mdt_json_int(b, "assignee_agency_id", 1, 1, INT64_MAX, &in->assignee_agency_id, e) < 0 ||
        parse_nullables(b, in, e) < 0 ||
        mdt_json_enum(b, "visibility", 0, VISIBILITIES, &in->vis, e) < 0 ||
        mdt_json_ids(b, "visible_to", 0, MDT_CASE_MAX_AGENCIES, &in->visible_to, &in->n_visible_to,
                     e) < 0 ||
        mdt_json_int(b, "meeting_id", 0, 1, INT64_MAX, &in->meeting_id, e) < 0)
        return -1;
    in->details_md = md;
    return 0;
}

int mdt_actions_parse_set(json_t *b, mdt_action_in_t *in, mdt_err_t *e)
{
    in->status = -1;
    if (mdt_json_enum(b, "status", 0, STATUSES, &in->status, e) < 0 ||
        mdt_json_int(b, "assignee_agency_id", 0, 1, INT64_MAX, &in->assignee_agency_id, e) < 0 ||
        parse_nullables(b, in, e) < 0)
        return -1;
    return 0;
}

static int parse_update(json_t *b, mdt_action_in_t *in, mdt_err_t *e)
{
    if (mdt_json_int(b, "version", 1, 1, INT32_MAX, &in->version, e) < 0 ||
        parse_title(b, 0, in, e) < 0 ||
        mdt_json_str(b, "details_md", 0, MDT_MARKDOWN_MAX_SOURCE, &in->details_md, e) < 0 ||
        mdt_actions_parse_set(b, in, e) < 0)
        return -1;
    if (!in->title && !in->details_md && in->status < 0 && !in->assignee_agency_id &&
        !in->assignee_id_set && !in->due_set) {
        mdt_err_set(e, 422, "validation", NULL,
                    "nothing to change: give status, assignee_id, assignee_agency_id,"
                    " due_date, title or details_md");
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

/* The assignee agency is on the case and p may assign to it. */
static int check_assign(mdt_caseop_t *op, int64_t agency)
{
    int on_case = 0;
    for (size_t i = 0; i < op->cx.n_agencies; i++)
        on_case |= op->cx.agencies[i] == agency;
    if (!on_case)
        return stop(op, 422, "validation", "assignee_agency_id",
                    "assignee_agency_id must be an agency on the case");
    if (!mdt_authz_action_assign(&op->p, &op->view, agency))
        return stop(op, 403, "forbidden", "assignee_agency_id",
                    "you may assign action items only to your own agency");
    return MDT_DB_OK;
}

/* The assignee user is an active user of the assignee agency. */
static int check_assignee(mdt_dbc_t *c, mdt_caseop_t *op, int64_t user_id, int64_t agency)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, user_id);
    mdt_db_param_int(&prm, agency);
    PGresult *r =
        mdt_db_query(c, "SELECT 1 FROM users WHERE id = $1 AND agency_id = $2 AND active", &prm);
    if (!r)
        return c->status;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found)
        return stop(op, 422, "validation", "assignee_id",
                    "assignee_id must be an active user of the assignee agency");
    return MDT_DB_OK;
}

/* Renders details_md (NULL: unchanged) into *html (caller frees). */
static int render(mdt_caseop_t *op, const char *md, char **html)
{
    *html = NULL;
    if (md && mdt_markdown_render(md, strlen(md), html) != 0)
        return stop(op, 422, "validation", "details_md",
                    "details_md is not valid UTF-8 Markdown within the size limit");
    return MDT_DB_OK;
}

static void param_id(mdt_db_params_t *prm, int64_t id)
{
    if (id > 0)
        mdt_db_param_int(prm, id);
    else
        mdt_db_param_str(prm, NULL);
}

/* The one item as op's caller sees it into op->run.ans.result; db status. */
static int action_result(mdt_dbc_t *c, mdt_caseop_t *op, const mdt_action_in_t *in)
{
    json_t *items = mdt_actions_list_json(c, &op->p, &op->cx, op->object_id, in->time_zone);
    if (!items)
        return c->status;
    op->run.ans.result = json_incref(json_array_get(items, 0));
    json_decref(items);
    return op->run.ans.result ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}

/* Audit row and event, last; detail holds field names and enum values only. */
static int action_record(mdt_dbc_t *c, mdt_caseop_t *op, const char *action, const char *kind,
                         json_t *detail)
{
    int rc = mdt_caseop_record(c, op, action, "action", op->object_id, kind, detail);
    json_decref(detail);
    return rc;
}

/* ---- create ----------------------------------------------------------------- */

static int action_insert(mdt_dbc_t *c, mdt_caseop_t *op, const mdt_action_in_t *in,
                         const char *html)
{
    char *ids = mdt_ids_literal(in->visible_to, in->n_visible_to);
    mdt_sealed_hold_t hold = {0};
    const char *plain[3] = {in->title, in->details_md ? in->details_md : "", html ? html : ""};
    const char *s[3] = {0};
    int64_t id = 0;
    int rc = ids ? mdt_sealed_next_id(c, "actions_id_seq", &id) : MDT_DB_ERROR;
    if (rc == MDT_DB_OK)
        rc = action_seal(c, &hold, id, op->case_id, plain, s);
    if (rc != MDT_DB_OK)
        goto exit;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, op->case_id);
    mdt_db_param_str(&prm, s[0]);
    mdt_db_param_str(&prm, s[1]);
    mdt_db_param_str(&prm, s[2]);
    param_id(&prm, in->assignee_id);
    mdt_db_param_int(&prm, in->assignee_agency_id);
    mdt_db_param_int(&prm, op->p.agency_id);
    mdt_db_param_str(&prm, in->due[0] ? in->due : NULL);
    mdt_db_param_str(&prm, VISIBILITIES[in->vis]);
    mdt_db_param_str(&prm, ids);
    param_id(&prm, in->meeting_id);
    mdt_db_param_int(&prm, op->p.user_id);
    mdt_db_param_int(&prm, id);
    rc = mdt_db_exec(
        c,
        "WITH a AS (INSERT INTO actions (id, case_id, title, details_md, details_html,"
        " assignee_id, assignee_agency_id, agency_id, due_date, visibility, visible_to,"
        " meeting_id, created_by) VALUES ($13, $1, $2, $3, $4, $5, $6, $7, $8::date, $9,"
        " $10::bigint[], $11, $12) RETURNING *)"
        " INSERT INTO action_versions (action_id, version, data, edited_by, edited_at)"
        " SELECT a.id, a.version, to_jsonb(a), a.created_by, a.created_at FROM a",
        &prm);
    if (rc == MDT_DB_OK)
        op->object_id = id;
exit:
    mdt_sealed_hold_free(&hold);
    free(ids);
    return rc;
}

static int action_create_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    mdt_action_in_t *in = op->ud;
    char *html = NULL;
    int rc = mdt_entries_check_visible_to(op, in->vis, in->visible_to, in->n_visible_to);
    if (rc == MDT_DB_OK)
        rc = check_assign(op, in->assignee_agency_id);
    if (rc == MDT_DB_OK && in->assignee_id)
        rc = check_assignee(c, op, in->assignee_id, in->assignee_agency_id);
    if (rc == MDT_DB_OK && in->meeting_id)
        rc = mdt_meetings_check_link(c, &op->run, &op->p, in->meeting_id, op->case_id);
    if (rc == MDT_DB_OK)
        rc = render(op, in->details_md, &html);
    if (rc == MDT_DB_OK)
        rc = action_insert(c, op, in, html);
    free(html);
    if (rc == MDT_DB_OK)
        rc = action_result(c, op, in);
    if (rc != MDT_DB_OK)
        return rc;
    op->run.ans.ok_status = 201;
    rc = action_record(c, op, "action.create", "action.created",
                       json_pack("{s:I, s:s}", "assignee_agency_id",
                                 (json_int_t)in->assignee_agency_id, "visibility",
                                 VISIBILITIES[in->vis]));
    if (rc == MDT_DB_OK)
        rc = mdt_notify_assigned(c, op->p.user_id, in->assignee_id, op->case_id, op->object_id, 1);
    return rc;
}

/* ---- loading and gating an existing item ------------------------------------ */

typedef bool (*action_allow_fn)(const mdt_principal_t *, const mdt_case_ctx_t *,
                                const mdt_item_ctx_t *, int64_t);

/* The item row, locked for the change, into *out. */
static int action_load(mdt_dbc_t *c, const mdt_action_in_t *in, int64_t id, PGresult **out)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    mdt_db_param_str(&prm, in->time_zone);
    *out = action_query(c, ACTION_SELECT " WHERE a.id = $1 FOR UPDATE OF a", &prm);
    if (!*out)
        return c->status;
    if (PQntuples(*out) == 1)
        return MDT_DB_OK;
    PQclear(*out);
    *out = NULL;
    return MDT_DB_NOT_FOUND;
}

/* 404 when the caller may not see it, 403 when allow says no, 409 (with the
 * item as the caller sees it) when retracted or version (> 0) is stale. */
static int action_gate(mdt_caseop_t *op, const PGresult *r, action_allow_fn allow, int64_t version,
                       row_item_t *ri)
{
    action_item(r, 0, ri);
    if (!mdt_view_visible(&op->p, &op->view, &ri->v))
        return stop(op, 404, "not_found", NULL, "not found");
    if (!allow(&op->p, &op->view, &ri->v.it, ri->creator))
        return stop(op, 403, "forbidden", NULL, "you may not change this action item");
    if (!PQgetisnull(r, 0, C_RETRACTED))
        return mdt_entries_conflict(op, "the action item was retracted",
                                    action_row_json(r, 0, &op->p, &op->view));
    if (version > 0 && version != mdt_db_int(r, 0, C_VERSION))
        return mdt_entries_conflict(op, "the action item was changed meanwhile; reload it",
                                    action_row_json(r, 0, &op->p, &op->view));
    return MDT_DB_OK;
}

/* ---- update ------------------------------------------------------------------ */

/* Settles the assignee after the update into in (agency, user) and checks
 * it: a new agency must pass check_assign; a user named or kept across an
 * agency change must belong to the agency (it is dropped when not named). */
static int action_assignee(mdt_dbc_t *c, mdt_caseop_t *op, mdt_action_in_t *in,
                           const row_item_t *ri)
{
    int64_t cur_agency = ri->v.it.assignee_agency_id;
    int changed = in->assignee_agency_id && in->assignee_agency_id != cur_agency;
    if (!in->assignee_agency_id)
        in->assignee_agency_id = cur_agency;
    if (!in->assignee_id_set)
        in->assignee_id = changed ? 0 : ri->v.it.assignee_user_id;
    int rc = changed ? check_assign(op, in->assignee_agency_id) : MDT_DB_OK;
    if (rc == MDT_DB_OK && in->assignee_id && in->assignee_id_set)
        rc = check_assignee(c, op, in->assignee_id, in->assignee_agency_id);
    return rc;
}

static int action_write_update(mdt_dbc_t *c, mdt_caseop_t *op, const mdt_action_in_t *in,
                               const char *html)
{
    mdt_sealed_hold_t hold = {0};
    const char *plain[3] = {in->title, in->details_md, in->details_md ? (html ? html : "") : NULL};
    const char *s[3] = {0};
    int rc = action_seal(c, &hold, op->object_id, op->case_id, plain, s);
    if (rc != MDT_DB_OK) {
        mdt_sealed_hold_free(&hold);
        return rc;
    }
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, op->object_id);
    mdt_db_param_str(&prm, s[0]);
    mdt_db_param_str(&prm, s[1]);
    mdt_db_param_str(&prm, s[2]);
    mdt_db_param_str(&prm, in->status >= 0 ? STATUSES[in->status] : NULL);
    mdt_db_param_int(&prm, in->assignee_agency_id);
    param_id(&prm, in->assignee_id);
    mdt_db_param_bool(&prm, in->due_set);
    mdt_db_param_str(&prm, in->due[0] ? in->due : NULL);
    mdt_db_param_int(&prm, op->p.user_id);
    rc = mdt_db_exec(
        c,
        "WITH a AS (UPDATE actions SET title = coalesce($2, title),"
        " details_md = coalesce($3, details_md), details_html = coalesce($4, details_html),"
        " status = coalesce($5, status), assignee_agency_id = $6, assignee_id = $7,"
        " due_date = CASE WHEN $8::boolean THEN $9::date ELSE due_date END,"
        " completed_at = CASE WHEN coalesce($5, status) = 'done'"
        " THEN coalesce(completed_at, now()) END,"
        " closed_at = CASE WHEN coalesce($5, status) IN ('done', 'cancelled')"
        " THEN coalesce(closed_at, now()) END,"
        " closed_by = CASE WHEN coalesce($5, status) IN ('done', 'cancelled')"
        " THEN CASE WHEN closed_at IS NULL THEN $10 ELSE closed_by END END,"
        " version = version + 1, updated_at = now() WHERE id = $1 RETURNING *)"
        " INSERT INTO action_versions (action_id, version, data, edited_by, edited_at)"
        " SELECT a.id, a.version, to_jsonb(a), $10, a.updated_at FROM a",
        &prm);
    mdt_sealed_hold_free(&hold);
    return rc;
}

/* The audit detail of an update: field names, and the new status. */
static json_t *update_detail(const mdt_action_in_t *in)
{
    static const char *const names[] = {"title",    "details_md",         "status",
                                        "due_date", "assignee_agency_id", "assignee_id"};
    int given[] = {in->title != NULL, in->details_md != NULL,      in->status >= 0,
                   in->due_set,       in->assignee_agency_id != 0, in->assignee_id_set};
    json_t *fields = json_array();
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
        if (given[i])
            json_array_append_new(fields, json_string(names[i]));
    }
    json_t *d = json_pack("{s:o}", "fields", fields);
    if (in->status >= 0)
        json_object_set_new(d, "status", json_string(STATUSES[in->status]));
    return d;
}

int mdt_actions_update_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    mdt_action_in_t *in = op->ud;
    json_t *detail = update_detail(in); /* before action_assignee fills in */
    PGresult *r = NULL;
    row_item_t ri;
    char *html = NULL;
    int rc = action_load(c, in, op->object_id, &r);
    if (rc == MDT_DB_OK)
        rc = action_gate(op, r, mdt_authz_action_update, in->version, &ri);
    PQclear(r);
    if (rc == MDT_DB_OK)
        rc = action_assignee(c, op, in, &ri);
    if (rc == MDT_DB_OK)
        rc = render(op, in->details_md, &html);
    if (rc == MDT_DB_OK)
        rc = action_write_update(c, op, in, html);
    free(html);
    if (rc == MDT_DB_OK)
        rc = action_result(c, op, in);
    if (rc != MDT_DB_OK) {
        json_decref(detail);
        return rc;
    }
    rc = action_record(c, op, "action.update", "action.updated", detail);
    if (rc == MDT_DB_OK && in->assignee_id != ri.v.it.assignee_user_id)
        rc =
            mdt_notify_assigned(c, op->p.user_id, in->assignee_id, op->case_id, op->object_id,
                                json_integer_value(json_object_get(op->run.ans.result, "version")));
    return rc;
}

/* ---- retract ------------------------------------------------------------------ */

static int action_retract_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    mdt_action_in_t *in = op->ud;
    PGresult *r = NULL;
    row_item_t ri;
    int rc = action_load(c, in, op->object_id, &r);
    if (rc == MDT_DB_OK)
        rc = action_gate(op, r, mdt_authz_action_retract, 0, &ri);
    PQclear(r);
    if (rc == MDT_DB_OK) {
        mdt_db_params_t prm;
        mdt_db_params_init(&prm);
        mdt_db_param_int(&prm, op->object_id);
        mdt_db_param_int(&prm, op->p.user_id);
        rc = mdt_db_exec(c,
                         "UPDATE actions SET retracted_at = now(), retracted_by = $2,"
                         " updated_at = now() WHERE id = $1",
                         &prm);
    }
    if (rc == MDT_DB_OK)
        rc = action_result(c, op, in);
    if (rc != MDT_DB_OK)
        return rc;
    return action_record(c, op, "action.retract", "action.retracted", NULL);
}

/* ---- handlers (event loop) ------------------------------------------------------ */

/* Parses req's body (parse NULL: none) and runs work on the item in the
 * path (on_item) or the case in the path. */
static void action_run(mdt_req_t *req, int (*parse)(json_t *, mdt_action_in_t *, mdt_err_t *),
                       mdt_caseop_fn work, int on_item)
{
    mdt_err_t e;
    mdt_action_in_t *in = calloc(1, sizeof(*in));
    if (!in) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    in->time_zone = mdt_ctx_time_zone(req);
    if (parse && parse(req->json, in, &e) < 0) {
        mdt_actions_in_free(in);
        mdt_http_fail(req, &e);
        return;
    }
    mdt_caseop_t *op = mdt_caseop_new(req, work);
    if (!op) {
        mdt_actions_in_free(in);
        return;
    }
    op->ud = in;
    op->ud_free = mdt_actions_in_free;
    if (on_item) {
        op->object_id = req->ids[0];
        op->resolve_sql = ACTIONS_RESOLVE_SQL;
    } else {
        op->case_id = req->ids[0];
        op->run.idempotent = 1; /* the create */
    }
    mdt_caseop_run(op);
}

void mdt_actions_create(mdt_req_t *req)
{
    action_run(req, parse_create, action_create_work, 0);
}

void mdt_actions_update(mdt_req_t *req)
{
    action_run(req, parse_update, mdt_actions_update_work, 1);
}

void mdt_actions_retract(mdt_req_t *req)
{
    action_run(req, NULL, action_retract_work, 1);
}
