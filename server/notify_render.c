/* notify_render.c - a notification as its reader may read it now (see
 * notify.h). The row holds ids only; the text is made here, at read time:
 * the case must be visible to the reader (the predicate, with the case's
 * context loaded once per case) and the object too (its content kind's
 * object_json, or the meeting as the reader may see it). Then the text
 * names the actor, the case number and alias, and for action items the
 * title and due date; never an entry's body or any PII. Otherwise the
 * item reads HIDDEN_TEXT and carries no case, object id, actor or link. */
#include "notify.h"
#include "notify_int.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "casectx.h"
#include "content.h"
#include "meetings.h"
#include "session.h"

#define HIDDEN_TEXT  "An item you can no longer see"
#define CASES_CACHED 16
#define TS(col)      "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

enum { R_ID, R_KIND, R_CASE, R_OTYPE, R_OID, R_AT, R_READ, R_NUMBER, R_ALIAS, R_ACTOR };

/* One rendering pass: the reader and the case contexts it loaded. */
typedef struct {
    mdt_dbc_t *c;
    const mdt_principal_t *p;
    const char *time_zone;
    int64_t now;
    mdt_casectx_t *cx[CASES_CACHED]; /* NULL slot: not loaded */
    int visible[CASES_CACHED];
    int n;
} reader_t;

static void reader_free(reader_t *rd)
{
    for (int i = 0; i < rd->n; i++)
        free(rd->cx[i]);
}

/* The context of case_id when rd's reader may see the case, else NULL
 * (c->status tells an error). */
static const mdt_casectx_t *reader_case(reader_t *rd, int64_t case_id)
{
    for (int i = 0; i < rd->n; i++) {
        if (rd->cx[i]->case_id == case_id)
            return rd->visible[i] ? rd->cx[i] : NULL;
    }
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    int rc = cx ? mdt_casectx_load(rd->c, case_id, cx) : MDT_DB_ERROR;
    if (rc != MDT_DB_OK) {
        /* a case that is gone is not visible; anything else is an error */
        rd->c->status = rc == MDT_DB_NOT_FOUND ? MDT_DB_OK : rc;
        free(cx);
        return NULL;
    }
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    int visible = mdt_authz_case_visible(rd->p, &view);
    if (rd->n == CASES_CACHED) { /* drop the oldest */
        free(rd->cx[0]);
        memmove(rd->cx, rd->cx + 1, sizeof(rd->cx[0]) * (CASES_CACHED - 1));
        memmove(rd->visible, rd->visible + 1, sizeof(rd->visible[0]) * (CASES_CACHED - 1));
        rd->n--;
    }
    rd->cx[rd->n] = cx;
    rd->visible[rd->n++] = visible;
    return visible ? cx : NULL;
}

/* The object row i names as the reader may see it (new reference), or
 * NULL: not visible (or an error: c->status). */
static json_t *reader_object(reader_t *rd, const PGresult *r, int i)
{
    if (PQgetisnull(r, i, R_CASE))
        return NULL;
    const mdt_casectx_t *cx = reader_case(rd, mdt_db_int(r, i, R_CASE));
    if (!cx)
        return NULL;
    const char *type = mdt_db_str(r, i, R_OTYPE);
    int64_t id = mdt_db_int(r, i, R_OID);
    if (strcmp(type, "meeting") == 0)
        return mdt_meetings_json(rd->c, rd->p, id);
    const mdt_content_kind_t *k = mdt_content_find(type);
    mdt_content_reader_t cr = {.p = rd->p, .cx = cx, .now = rd->now, .time_zone = rd->time_zone};
    return k ? k->object_json(rd->c, &cr, id) : NULL;
}

static const char *str_of(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* The text of row i about obj (visible), malloc'ed. */
static char *notify_text(const PGresult *r, int i, json_t *obj)
{
    const char *kind = mdt_db_str(r, i, R_KIND), *num = mdt_db_str(r, i, R_NUMBER),
               *alias = mdt_db_str(r, i, R_ALIAS), *actor = mdt_db_str(r, i, R_ACTOR);
    mdt_buf_t b;
    mdt_buf_init(&b);
    if (strcmp(kind, "action.assigned") == 0)
        mdt_buf_printf(&b, "%s assigned you \u201c%s\u201d on case %s (%s)", actor,
                       str_of(obj, "title"), num, alias);
    else if (strcmp(kind, "action.due_soon") == 0)
        mdt_buf_printf(&b, "\u201c%s\u201d on case %s (%s) is due %s", str_of(obj, "title"), num,
                       alias, str_of(obj, "due_date"));
    else if (strcmp(kind, "action.overdue") == 0)
        mdt_buf_printf(&b, "\u201c%s\u201d on case %s (%s) is overdue (due %s)",
                       str_of(obj, "title"), num, alias, str_of(obj, "due_date"));
    else if (strcmp(kind, "entry.mention") == 0)
        mdt_buf_printf(&b, "%s mentioned you in a %s on case %s (%s)", actor, str_of(obj, "kind"),
                       num, alias);
    else if (strcmp(kind, "meeting.agenda") == 0)
        mdt_buf_printf(&b, "Case %s (%s) is on the agenda of \u201c%s\u201d", num, alias,
                       str_of(obj, "title"));
    else
        mdt_buf_printf(&b, "A consent on case %s (%s) expires within 14 days", num, alias);
    return mdt_buf_take(&b, NULL);
}

/* Adds what only a reader who sees the object gets: case, object id,
 * text and link. */
static void item_visible(json_t *j, const PGresult *r, int i, json_t *obj)
{
    int64_t case_id = mdt_db_int(r, i, R_CASE), oid = mdt_db_int(r, i, R_OID);
    char link[64];
    if (strcmp(mdt_db_str(r, i, R_OTYPE), "meeting") == 0)
        snprintf(link, sizeof(link), "#/meetings/%lld", (long long)oid);
    else
        snprintf(link, sizeof(link), "#/cases/%lld", (long long)case_id);
    char *text = notify_text(r, i, obj);
    json_object_set_new(j, "case_id", json_integer(case_id));
    json_object_set_new(j, "object_id", json_integer(oid));
    json_object_set_new(j, "text", json_string(text ? text : ""));
    json_object_set_new(j, "link", json_string(link));
    json_object_set_new(j, "visible", json_true());
    free(text);
}

static json_t *render_row(reader_t *rd, const PGresult *r, int i)
{
    json_t *obj = reader_object(rd, r, i);
    if (!obj && rd->c->status != MDT_DB_OK)
        return NULL;
    json_t *j = json_pack("{s:I, s:s, s:s, s:b, s:s}", "id", (json_int_t)mdt_db_int(r, i, R_ID),
                          "kind", mdt_db_str(r, i, R_KIND), "at", mdt_db_str(r, i, R_AT), "read",
                          mdt_db_bool(r, i, R_READ), "object_type", mdt_db_str(r, i, R_OTYPE));
    if (j && obj) {
        item_visible(j, r, i, obj);
    } else if (j) {
        json_object_set_new(j, "object_id", json_null());
        json_object_set_new(j, "text", json_string(HIDDEN_TEXT));
        json_object_set_new(j, "visible", json_false());
    }
    json_decref(obj);
    return j;
}

static PGresult *render_query(mdt_dbc_t *c, int64_t user_id, const mdt_notify_query_t *q)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, user_id);
    mdt_db_param_int(&prm, q->id);
    mdt_db_param_int(&prm, q->before);
    mdt_db_param_bool(&prm, q->unread);
    mdt_db_param_int(&prm, q->limit);
    return mdt_db_query(
        c,
        "SELECT n.id, n.kind, n.case_id, n.object_type, n.object_id, " TS(
            "n.created_at") ","
                            " n.read_at IS NOT NULL, k.case_number, k.alias, "
                            "coalesce(u.display_name, '')"
                            " FROM notifications n LEFT JOIN cases k ON k.id = n.case_id"
                            " LEFT JOIN users u ON u.id = n.actor_id WHERE n.user_id = $1"
                            " AND ($2::bigint = 0 OR n.id = $2) AND ($3::bigint = 0 OR n.id < $3)"
                            " AND (NOT $4::boolean OR n.read_at IS NULL) ORDER BY n.id DESC LIMIT "
                            "$5",
        &prm);
}

int mdt_notify_render(mdt_dbc_t *c, const mdt_principal_t *p, const char *time_zone,
                      const mdt_notify_query_t *q, json_t *items)
{
    PGresult *r = render_query(c, p->user_id, q);
    if (!r)
        return c->status;
    reader_t rd = {.c = c, .p = p, .time_zone = time_zone, .now = mdt_session_now()};
    int rc = MDT_DB_OK;
    for (int i = 0; i < PQntuples(r) && rc == MDT_DB_OK; i++) {
        json_t *j = render_row(&rd, r, i);
        if (j)
            json_array_append_new(items, j);
        else
            rc = c->status != MDT_DB_OK ? c->status : MDT_DB_ERROR;
    }
    reader_free(&rd);
    PQclear(r);
    return rc;
}

int mdt_notify_unread(mdt_dbc_t *c, int64_t user_id, int64_t *n)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, user_id);
    PGresult *r = mdt_db_query(
        c, "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL", &prm);
    if (!r)
        return c->status;
    *n = mdt_db_int(r, 0, 0);
    PQclear(r);
    return MDT_DB_OK;
}

json_t *mdt_notify_event_json(mdt_dbc_t *c, const mdt_principal_t *p, int64_t id,
                              const char *time_zone)
{
    json_t *items = json_array();
    mdt_notify_query_t q = {.id = id, .limit = 1};
    int64_t unread = 0;
    int rc = items ? mdt_notify_render(c, p, time_zone, &q, items) : MDT_DB_ERROR;
    if (rc == MDT_DB_OK)
        rc = mdt_notify_unread(c, p->user_id, &unread);
    json_t *j = rc == MDT_DB_OK ? json_incref(json_array_get(items, 0)) : NULL;
    if (j)
        json_object_set_new(j, "unread_count", json_integer(unread));
    json_decref(items);
    return j;
}

json_t *mdt_notify_read_json(mdt_dbc_t *c, int64_t user_id, json_t *data)
{
    int64_t unread = 0;
    if (mdt_notify_unread(c, user_id, &unread) != MDT_DB_OK)
        return NULL;
    json_t *j = data ? json_deep_copy(data) : json_object();
    if (j)
        json_object_set_new(j, "unread_count", json_integer(unread));
    return j;
}
