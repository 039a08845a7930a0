/* mine.c - a user's own action items and meetings, decided by the view
 * filter and the meeting predicate (see mine.h). */
#include "mine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caseset.h"
#include "meetings.h"
#include "session.h"

/* The case set's item columns, then the due date, overdue, due soon, new.
 * New: a version of the item made within new_within_s assigned it to the
 * user and the version before it (if any) did not (action_versions keeps
 * every version whole, version 1 at creation). */
enum { A_DUE = MDT_CASESET_I_COUNT, A_OVERDUE, A_SOON, A_NEW };

int mdt_mine_principal(mdt_dbc_t *c, int64_t user_id, mdt_principal_t *p)
{
    mdt_user_t u;
    int rc = mdt_session_load_user(c, user_id, "", &u);
    if (rc == MDT_DB_OK)
        *p = mdt_session_principal(&u);
    return rc;
}

static int mine_actions(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_mine_opts_t *o,
                        mdt_mine_t *out)
{
    mdt_caseset_t cs = {0};
    PGresult *r = NULL;
    int rc = mdt_caseset_load(c, p, 0, &cs);
    if (rc != MDT_DB_OK)
        goto exit;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, p->user_id);
    mdt_db_param_str(&q, o->time_zone);
    mdt_db_param_int(&q, o->new_within_s);
    mdt_db_param_int(&q, MDT_MINE_ACTIONS_MAX);
    r = mdt_db_query(
        c,
        "SELECT a.id, a.case_id, a.visibility, a.agency_id, a.created_by, a.visible_to::text,"
        " a.assignee_agency_id, coalesce(a.assignee_id, 0),"
        " coalesce(to_char(a.due_date, 'YYYY-MM-DD'), ''),"
        " coalesce(a.due_date < t.today, false),"
        " coalesce(a.due_date BETWEEN t.today AND t.today + 2, false),"
        " $3::bigint > 0 AND EXISTS (SELECT 1 FROM action_versions v"
        "  LEFT JOIN action_versions pv ON pv.action_id = v.action_id"
        "   AND pv.version = v.version - 1"
        "  WHERE v.action_id = a.id AND v.data->>'assignee_id' = $1::bigint::text"
        "  AND v.edited_at >= now() - make_interval(secs => $3::bigint)"
        "  AND (pv.action_id IS NULL OR pv.data->>'assignee_id' IS DISTINCT FROM"
        "   v.data->>'assignee_id'))"
        " FROM actions a CROSS JOIN (SELECT (now() AT TIME ZONE $2)::date AS today) t"
        " WHERE a.assignee_id = $1 AND a.retracted_at IS NULL"
        " AND a.status IN ('open', 'in_progress')"
        " ORDER BY a.due_date ASC NULLS LAST, a.id LIMIT $4",
        &q);
    if (!r) {
        rc = c->status;
        goto exit;
    }
    out->actions = calloc((size_t)PQntuples(r) + 1, sizeof(*out->actions));
    if (!out->actions) {
        rc = MDT_DB_ERROR;
        goto exit;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        if (!mdt_caseset_item_visible(&cs, p, r, i))
            continue;
        mdt_mine_action_t *a = &out->actions[out->n_actions++];
        a->id = mdt_db_int(r, i, MDT_CASESET_I_ID);
        snprintf(a->due, sizeof(a->due), "%s", mdt_db_str(r, i, A_DUE));
        a->overdue = mdt_db_bool(r, i, A_OVERDUE);
        a->due_soon = mdt_db_bool(r, i, A_SOON);
        a->is_new = mdt_db_bool(r, i, A_NEW);
    }
exit:
    PQclear(r);
    mdt_caseset_free(&cs);
    return rc;
}

/* Keeps meeting row i of r when p may see it. */
static int mine_meeting(mdt_dbc_t *c, const mdt_principal_t *p, const PGresult *r, int i,
                        mdt_mine_t *out)
{
    int rc;
    mdt_meeting_t *m = mdt_meetings_load(c, mdt_db_int(r, i, 0), &rc);
    if (!m)
        return rc == MDT_DB_NOT_FOUND ? MDT_DB_OK : rc;
    if (mdt_meetings_visible(m, p)) {
        mdt_mine_meeting_t *k = &out->meetings[out->n_meetings++];
        k->id = m->id;
        snprintf(k->start, sizeof(k->start), "%s", mdt_db_str(r, i, 1));
    }
    mdt_meetings_free(m);
    return MDT_DB_OK;
}

static int mine_meetings(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_mine_opts_t *o,
                         mdt_mine_t *out)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, o->from_days);
    mdt_db_param_int(&q, o->to_days);
    mdt_db_param_bool(&q, o->planned_only);
    mdt_db_param_int(&q, MDT_MINE_MEETINGS_MAX);
    PGresult *r = mdt_db_query(
        c,
        "SELECT id, to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"')"
        " FROM meetings WHERE scheduled_at >= now() + make_interval(days => $1::int)"
        " AND scheduled_at < now() + make_interval(days => $2::int)"
        " AND (NOT $3::boolean OR status = 'planned') ORDER BY scheduled_at, id LIMIT $4",
        &q);
    if (!r)
        return c->status;
    int rc = MDT_DB_OK;
    out->meetings = calloc((size_t)PQntuples(r) + 1, sizeof(*out->meetings));
    if (!out->meetings)
        rc = MDT_DB_ERROR;
    for (int i = 0; rc == MDT_DB_OK && i < PQntuples(r); i++)
        rc = mine_meeting(c, p, r, i, out);
    PQclear(r);
    return rc;
}

int mdt_mine_load(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_mine_opts_t *o, mdt_mine_t *out)
{
    memset(out, 0, sizeof(*out));
    int rc = mine_actions(c, p, o, out);
    if (rc == MDT_DB_OK)
        rc = mine_meetings(c, p, o, out);
    return rc;
}

void mdt_mine_free(mdt_mine_t *m)
{
    if (!m)
        return;
    free(m->actions);
    free(m->meetings);
    memset(m, 0, sizeof(*m));
}
