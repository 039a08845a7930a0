/* notify.c - where notifications come from (see notify.h): assignments,
 * mentions and agendas inside the changes that cause them, and the daily
 * job (due soon, overdue, consents expiring) with its midnight timer.
 *
 * Every notification is made by the SQL function mdt_notify() (schema
 * 012), which inserts with ON CONFLICT (user, dedupe_key) DO NOTHING and,
 * when a row was made, emits notification.created for that user. The
 * dedupe keys: action.assigned:<action>:<version>, entry.mention:<entry>,
 * meeting.agenda:<meeting>:<case>, action.due_soon:<action>:<due date>,
 * action.overdue:<action>:<due date>, consent.expiring:<consent>. */
#include "notify.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "content.h"
#include "log.h"
#include "sealed.h"
#include "server_ctx.h"
#include "session.h"

#define DAILY_JOB       "notifications"
#define DAILY_RETRY_S   60
#define ACTION_OPEN_SQL "a.retracted_at IS NULL AND a.status IN ('open', 'in_progress')"

/* ---- one notification ------------------------------------------------------- */

static void param_id(mdt_db_params_t *prm, int64_t id)
{
    if (id > 0)
        mdt_db_param_int(prm, id);
    else
        mdt_db_param_str(prm, NULL);
}

/* Notifies user once per key (see the file comment). Returns the db status. */
static int notify_one(mdt_dbc_t *c, int64_t user, const char *kind, int64_t case_id,
                      const char *object_type, int64_t object_id, int64_t actor, const char *key)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, user);
    mdt_db_param_str(&prm, kind);
    param_id(&prm, case_id);
    mdt_db_param_str(&prm, object_type);
    mdt_db_param_int(&prm, object_id);
    param_id(&prm, actor);
    mdt_db_param_str(&prm, key);
    return mdt_db_exec(c, "SELECT mdt_notify($1, $2, $3, $4, $5, $6, $7)", &prm);
}

int mdt_notify_assigned(mdt_dbc_t *c, int64_t actor, int64_t assignee, int64_t case_id,
                        int64_t action_id, int64_t version)
{
    if (assignee <= 0 || assignee == actor)
        return MDT_DB_OK;
    char key[80];
    snprintf(key, sizeof(key), "action.assigned:%lld:%lld", (long long)action_id,
             (long long)version);
    return notify_one(c, assignee, "action.assigned", case_id, "action", action_id, actor, key);
}

/* ---- mentions ------------------------------------------------------------------ */

static int username_char(unsigned char ch)
{
    return isalnum(ch) || ch == '.' || ch == '_' || ch == '@' || ch == '-';
}

size_t mdt_notify_parse_mentions(const char *md, char out[][MDT_NOTIFY_USERNAME_MAX + 1],
                                 size_t max)
{
    size_t n = 0;
    for (const char *s = md; s && *s && n < max; s++) {
        if (*s != '@' || (s > md && username_char((unsigned char)s[-1])))
            continue;
        size_t len = 0;
        while (username_char((unsigned char)s[1 + len]))
            len++;
        while (len > 0 && s[len] == '.')
            len--;
        if (len == 0 || len > MDT_NOTIFY_USERNAME_MAX) {
            s += len;
            continue;
        }
        char name[MDT_NOTIFY_USERNAME_MAX + 1];
        for (size_t i = 0; i < len; i++)
            name[i] = (char)tolower((unsigned char)s[1 + i]);
        name[len] = '\0';
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(out[i], name) == 0;
        if (!seen)
            memcpy(out[n++], name, len + 1);
        s += len;
    }
    return n;
}

/* The entry's current body (malloc'ed into *body; NULL when retracted or gone). */
static int mention_body(mdt_dbc_t *c, int64_t entry_id, char **body)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, entry_id);
    static const mdt_sealed_col_t SEALED[] = {{0, "entry", "body_md", 1, 2, NULL, -1}};
    PGresult *r = mdt_sealed_query(
        c, "SELECT body_md, id, case_id FROM entries WHERE id = $1 AND retracted_at IS NULL", &prm,
        SEALED, 1);
    if (!r)
        return c->status;
    *body = PQntuples(r) == 1 ? strdup(mdt_db_str(r, 0, 0)) : NULL;
    PQclear(r);
    return MDT_DB_OK;
}

/* The users named (lower-cased usernames) as rows of id, username, active. */
static PGresult *mention_users(mdt_dbc_t *c, char names[][MDT_NOTIFY_USERNAME_MAX + 1], size_t n)
{
    mdt_buf_t lit;
    mdt_buf_init(&lit);
    mdt_buf_puts(&lit, "{");
    for (size_t i = 0; i < n; i++) /* usernames are [a-z0-9._@-]: safe inside quotes */
        mdt_buf_printf(&lit, "%s\"%s\"", i ? "," : "", names[i]);
    mdt_buf_puts(&lit, "}");
    char *text = mdt_buf_take(&lit, NULL);
    if (!text) {
        c->status = MDT_DB_ERROR;
        return NULL;
    }
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_str(&prm, text);
    PGresult *r = mdt_db_query(c,
                               "SELECT id, lower(username), active FROM users"
                               " WHERE lower(username) = ANY($1::text[])",
                               &prm);
    free(text);
    return r;
}

/* May user uid see entry_id of view's case now? *reason is set when not. */
static int mention_visible(mdt_dbc_t *c, int64_t uid, const mdt_case_ctx_t *view, int64_t entry_id,
                           const char **reason)
{
    mdt_user_t u;
    int rc = mdt_session_load_user(c, uid, "", &u);
    if (rc != MDT_DB_OK)
        return rc;
    mdt_principal_t p = mdt_session_principal(&u);
    char ids[32];
    snprintf(ids, sizeof(ids), "{%lld}", (long long)entry_id);
    mdt_idvec_t seen = {0};
    rc = mdt_content_visible_ids(c, mdt_content_find("entry"), &p, view, view->case_id, ids, &seen);
    if (rc == MDT_DB_OK && seen.n == 0)
        *reason = "no_access";
    mdt_idvec_free(&seen);
    return rc;
}

/* Sorts one mentioned user (row i of users) into out's lists: "notified"
 * when it may see the entry (mdt_notify_mentions_send notifies it). */
static int mention_one(mdt_dbc_t *c, const mdt_principal_t *author, const mdt_case_ctx_t *view,
                       int64_t entry_id, const PGresult *users, int i, json_t *out)
{
    int64_t uid = mdt_db_int(users, i, 0);
    const char *reason = mdt_db_bool(users, i, 2) ? NULL : "inactive";
    int rc = MDT_DB_OK;
    if (uid == author->user_id)
        return MDT_DB_OK;
    if (!reason)
        rc = mention_visible(c, uid, view, entry_id, &reason);
    if (rc == MDT_DB_OK && !reason) {
        json_array_append_new(json_object_get(out, "notified"), json_integer(uid));
    } else if (rc == MDT_DB_OK) {
        json_array_append_new(
            json_object_get(out, "not_notified"),
            json_pack("{s:s, s:s}", "username", mdt_db_str(users, i, 1), "reason", reason));
    }
    return rc;
}

/* Names in names[0..n) that no row of users has: unknown_user. */
static void mention_unknown(const PGresult *users, char names[][MDT_NOTIFY_USERNAME_MAX + 1],
                            size_t n, json_t *out)
{
    for (size_t k = 0; k < n; k++) {
        int found = 0;
        for (int i = 0; i < PQntuples(users) && !found; i++)
            found = strcmp(mdt_db_str(users, i, 1), names[k]) == 0;
        if (!found)
            json_array_append_new(
                json_object_get(out, "not_notified"),
                json_pack("{s:s, s:s}", "username", names[k], "reason", "unknown_user"));
    }
}

int mdt_notify_mentions_plan(mdt_dbc_t *c, const mdt_principal_t *author,
                             const mdt_case_ctx_t *view, int64_t entry_id, const char *body,
                             json_t **out)
{
    char(*nm)[MDT_NOTIFY_USERNAME_MAX + 1] = malloc(MDT_NOTIFY_MAX_MENTIONS * sizeof(*nm));
    char *read = NULL;
    PGresult *users = NULL;
    *out = json_pack("{s:[], s:[]}", "notified", "not_notified");
    int rc = nm && *out ? MDT_DB_OK : MDT_DB_ERROR;
    if (rc == MDT_DB_OK && !body && (rc = mention_body(c, entry_id, &read)) == MDT_DB_OK)
        body = read;
    size_t n = rc == MDT_DB_OK ? mdt_notify_parse_mentions(body, nm, MDT_NOTIFY_MAX_MENTIONS) : 0;
    if (n == 0)
        goto exit;
    if (!(users = mention_users(c, nm, n))) {
        rc = c->status;
        goto exit;
    }
    for (int i = 0; i < PQntuples(users) && rc == MDT_DB_OK; i++)
        rc = mention_one(c, author, view, entry_id, users, i, *out);
    mention_unknown(users, nm, n, *out);
exit:
    PQclear(users);
    free(read);
    free(nm);
    return rc;
}

int mdt_notify_mentions_send(mdt_dbc_t *c, int64_t author_id, int64_t case_id, int64_t entry_id,
                             const json_t *plan)
{
    const json_t *ids = json_object_get(plan, "notified");
    if (json_array_size(ids) == 0)
        return MDT_DB_OK;
    char *lit = json_dumps(ids, JSON_COMPACT); /* [1,2] */
    if (!lit) {
        c->status = MDT_DB_ERROR;
        return MDT_DB_ERROR;
    }
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_str(&prm, lit);
    param_id(&prm, case_id);
    mdt_db_param_int(&prm, entry_id);
    param_id(&prm, author_id);
    int rc = mdt_db_defer(
        c,
        "SELECT count(mdt_notify(t.u, 'entry.mention', $2::bigint, 'entry', $3::bigint,"
        " $4::bigint, 'entry.mention:' || $3::bigint)) FROM (SELECT u.value::bigint AS u"
        " FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY u"
        " ORDER BY u.ordinality) t",
        &prm);
    free(lit);
    return rc;
}

/* ---- agendas ------------------------------------------------------------------- */

int mdt_notify_agenda(mdt_dbc_t *c, int64_t actor, int64_t meeting_id)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, meeting_id);
    mdt_db_param_int(&prm, actor);
    return mdt_db_exec(
        c,
        "SELECT count(mdt_notify(t.user_id, 'meeting.agenda', t.case_id, 'meeting', $1, $2,"
        " 'meeting.agenda:' || $1 || ':' || t.case_id)) FROM ("
        " SELECT DISTINCT u.id AS user_id, mc.case_id FROM meetings m"
        " JOIN meeting_cases mc ON mc.meeting_id = m.id JOIN cases k ON k.id = mc.case_id"
        " JOIN users u ON u.active AND u.id <> $2 AND (u.id IN (SELECT a.assignee_id FROM actions a"
        " WHERE a.case_id = mc.case_id AND " ACTION_OPEN_SQL ")"
        " OR (u.role = 'supervisor' AND u.agency_id = k.lead_agency_id))"
        " JOIN case_agencies ca ON ca.case_id = mc.case_id AND ca.agency_id = u.agency_id"
        " WHERE m.id = $1 AND m.status = 'planned' ORDER BY mc.case_id, u.id) t",
        &prm);
}

/* ---- the daily job ---------------------------------------------------------------- */

/* The job's statements for day $1 (and, the last one, time zone $2),
 * after the claim. */
static const char *const DAILY_SQL[] = {
    /* due within 2 days, to the assignee */
    "SELECT count(mdt_notify(t.assignee_id, 'action.due_soon', t.case_id, 'action', t.id, NULL,"
    " 'action.due_soon:' || t.id || ':' || t.due_date)) FROM (SELECT a.* FROM actions a"
    " JOIN users u ON u.id = a.assignee_id AND u.active WHERE " ACTION_OPEN_SQL
    " AND a.due_date BETWEEN $1::date AND $1::date + 2 ORDER BY a.id) t",
    /* overdue, to the assignee, once per due date */
    "SELECT count(mdt_notify(t.assignee_id, 'action.overdue', t.case_id, 'action', t.id, NULL,"
    " 'action.overdue:' || t.id || ':' || t.due_date)) FROM (SELECT a.* FROM actions a"
    " JOIN users u ON u.id = a.assignee_id AND u.active WHERE " ACTION_OPEN_SQL
    " AND a.due_date < $1::date ORDER BY a.id) t",
    /* consents expiring by the end of day + 14, to the supervisors of the
     * agency that recorded them (the owner of their categories) */
    "SELECT count(mdt_notify(t.user_id, 'consent.expiring', t.case_id, 'consent', t.id, NULL,"
    " 'consent.expiring:' || t.id)) FROM (SELECT k.id, k.case_id, u.id AS user_id"
    " FROM consents k JOIN users g ON g.id = k.granted_by JOIN users u ON u.agency_id ="
    " g.agency_id AND u.role = 'supervisor' AND u.active WHERE k.revoked_at IS NULL"
    " AND k.expires_at > now() AND k.expires_at <= (($1::date + 15)::timestamp AT TIME ZONE $2)"
    " ORDER BY k.id, u.id) t",
};

/* Claims (job, day): *claimed 1 when this transaction made the row. */
static int daily_claim(mdt_dbc_t *c, const char *day, int *claimed)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_str(&prm, DAILY_JOB);
    mdt_db_param_str(&prm, day);
    PGresult *r = mdt_db_query(c,
                               "INSERT INTO daily_jobs (job, day) VALUES ($1, $2::date)"
                               " ON CONFLICT DO NOTHING RETURNING 1",
                               &prm);
    if (!r)
        return c->status;
    *claimed = PQntuples(r) == 1;
    PQclear(r);
    return MDT_DB_OK;
}

static int daily_run(mdt_dbc_t *c, const char *day, const char *time_zone, int64_t *notified)
{
    for (size_t i = 0; i < sizeof(DAILY_SQL) / sizeof(DAILY_SQL[0]); i++) {
        mdt_db_params_t prm;
        mdt_db_params_init(&prm);
        mdt_db_param_str(&prm, day);
        if (strstr(DAILY_SQL[i], "$2"))
            mdt_db_param_str(&prm, time_zone);
        PGresult *r = mdt_db_query(c, DAILY_SQL[i], &prm);
        if (!r)
            return c->status;
        *notified += mdt_db_int(r, 0, 0);
        PQclear(r);
    }
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_str(&prm, DAILY_JOB);
    mdt_db_param_str(&prm, day);
    mdt_db_param_int(&prm, *notified);
    return mdt_db_exec(c, "UPDATE daily_jobs SET notified = $3 WHERE job = $1 AND day = $2::date",
                       &prm);
}

int mdt_notify_daily(mdt_dbc_t *c, const char *day, const char *time_zone, int *claimed,
                     int64_t *notified)
{
    *claimed = 0;
    *notified = 0;
    int rc = mdt_db_begin(c, NULL);
    if (rc == MDT_DB_OK)
        rc = daily_claim(c, day, claimed);
    if (rc == MDT_DB_OK && *claimed)
        rc = daily_run(c, day, time_zone, notified);
    if (rc == MDT_DB_OK && *claimed)
        return mdt_db_commit(c);
    mdt_db_rollback(c);
    return rc;
}

/* ---- the midnight timer ------------------------------------------------------------- */

typedef struct {
    mdt_server_t *srv;
    char day[11];
    int claimed;
    int64_t notified;
    int64_t next_s; /* seconds to the next midnight in the time zone */
} daily_t;

/* Today in the time zone and the seconds to its next midnight. */
static int daily_today(mdt_dbc_t *c, daily_t *d)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_str(&prm, d->srv->cfg.time_zone);
    PGresult *r =
        mdt_db_query(c,
                     "SELECT to_char((now() AT TIME ZONE $1)::date, 'YYYY-MM-DD'),"
                     " ceil(extract(epoch FROM ((((now() AT TIME ZONE $1)::date + 1)::timestamp"
                     " AT TIME ZONE $1) - now())))::bigint",
                     &prm);
    if (!r)
        return c->status;
    snprintf(d->day, sizeof(d->day), "%s", mdt_db_str(r, 0, 0));
    d->next_s = mdt_db_int(r, 0, 1);
    PQclear(r);
    return MDT_DB_OK;
}

static int daily_work(mdt_dbc_t *c, void *arg)
{
    daily_t *d = arg;
    int rc = daily_today(c, d);
    if (rc == MDT_DB_OK)
        rc = mdt_notify_daily(c, d->day, d->srv->cfg.time_zone, &d->claimed, &d->notified);
    return rc;
}

static void daily_tick(lws_sorted_usec_list_t *sul);

static void daily_done(void *arg, int status)
{
    daily_t *d = arg;
    mdt_server_t *srv = d->srv;
    int64_t next_s = DAILY_RETRY_S;
    if (status != MDT_DB_OK) {
        mdt_log_warn("daily notification job failed, will retry", "status=%d", status);
    } else {
        if (d->claimed)
            mdt_log_info("daily notification job ran", "day=%s notified=%lld", d->day,
                         (long long)d->notified);
        next_s = d->next_s + 1;
    }
    free(d);
    if (srv->ctx && !srv->stopping)
        lws_sul_schedule(srv->ctx, 0, &srv->sul_daily, daily_tick,
                         (lws_usec_t)next_s * LWS_US_PER_SEC);
}

static void daily_tick(lws_sorted_usec_list_t *sul)
{
    mdt_server_t *srv = lws_container_of(sul, mdt_server_t, sul_daily);
    daily_t *d = calloc(1, sizeof(*d));
    if (!d) {
        lws_sul_schedule(srv->ctx, 0, &srv->sul_daily, daily_tick,
                         (lws_usec_t)DAILY_RETRY_S * LWS_US_PER_SEC);
        return;
    }
    d->srv = srv;
    if (mdt_db_submit(srv->db, daily_work, daily_done, d) != 0)
        daily_done(d, MDT_DB_REFUSED);
}

int mdt_notify_start(mdt_server_t *srv)
{
    lws_sul_schedule(srv->ctx, 0, &srv->sul_daily, daily_tick, 1);
    return 0;
}

void mdt_notify_stop(mdt_server_t *srv)
{
    lws_sul_cancel(&srv->sul_daily);
}
