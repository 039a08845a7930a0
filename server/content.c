/* content.c - the registry of content kinds (see content.h). */
#include "content.h"

#include <string.h>

#include "actions.h"
#include "attachments.h"
#include "cases.h"
#include "entries.h"
#include "meeting_item.h"
#include "meetings.h"
#include "pii.h"
#include "records.h"

const mdt_view_cols_t mdt_content_ctx_cols = {.vis = 1,
                                              .visible_to = 2,
                                              .author_agency = 3,
                                              .author_user = 4,
                                              .assignee_agency = 5,
                                              .assignee_user = 6};

/* The item with this id in a JSON array of objects (borrowed), or NULL. */
static json_t *find_id(json_t *arr, int64_t id)
{
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        if (json_integer_value(json_object_get(it, "id")) == id)
            return it;
    }
    return NULL;
}

/* The object with this id in arr (stolen), as a new reference, or NULL. */
static json_t *pick(json_t *arr, int64_t id)
{
    json_t *obj = arr ? find_id(arr, id) : NULL;
    json_incref(obj);
    json_decref(arr);
    return obj;
}

static json_t *entry_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    return pick(mdt_entries_list_json(c, rd->p, rd->cx, id), id);
}

static json_t *action_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    return pick(mdt_actions_list_json(c, rd->p, rd->cx, id, rd->time_zone), id);
}

static json_t *attachment_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    return pick(mdt_attachments_list_json(c, rd->p, rd->cx, id, rd->now), id);
}

static json_t *service_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    return pick(mdt_records_services_json(c, rd->p, rd->cx), id);
}

static json_t *consent_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    return pick(mdt_pii_consents_json(c, rd->p, rd->cx, rd->now), id);
}

static json_t *pii_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    (void)id;
    return mdt_pii_json(c, rd->p, rd->cx, rd->now);
}

static json_t *tracking_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    (void)id;
    return mdt_records_tracking_json(c, rd->cx);
}

static json_t *case_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    (void)id;
    return mdt_cases_get_json(c, rd->p, rd->cx);
}

/* id is a meeting: the item of the reader's case on its agenda. */
static json_t *meeting_item_json(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id)
{
    int rc;
    mdt_meeting_t *m = mdt_meetings_load(c, id, &rc);
    if (!m) {
        if (rc != MDT_DB_NOT_FOUND && c->status == MDT_DB_OK)
            c->status = rc;
        return NULL;
    }
    json_t *obj = NULL;
    for (size_t i = 0; i < m->n_agenda && !obj && mdt_meetings_visible(m, rd->p); i++) {
        if (m->agenda[i].case_id == rd->cx->case_id)
            obj = mdt_meeting_item_json(&m->agenda[i], rd->p);
    }
    mdt_meetings_free(m);
    return obj;
}

static json_t *meeting_item_loaded_json(const mdt_content_reader_t *rd, const void *obj)
{
    return mdt_meeting_item_json(obj, rd->p);
}

static const mdt_content_kind_t KINDS[] = {
    {"entry",
     "SELECT id, visibility, visible_to::text, agency_id, author_id, 0, 0 FROM entries"
     " WHERE case_id = $1 AND id = ANY($2::bigint[])",
     "SELECT v.entry_id, v.visibility, v.visible_to::text, e.agency_id, e.author_id, 0, 0"
     " FROM entry_versions v JOIN entries e ON e.id = v.entry_id WHERE v.entry_id = $1"
     " ORDER BY v.version DESC OFFSET 1 LIMIT 1",
     entry_json, NULL},
    {"action",
     "SELECT id, visibility, visible_to::text, agency_id, created_by, assignee_agency_id,"
     " coalesce(assignee_id, 0) FROM actions WHERE case_id = $1 AND id = ANY($2::bigint[])",
     /* the action's previous version as stored in its history */
     "SELECT v.action_id, v.data->>'visibility', (SELECT coalesce(array_agg(x::bigint), '{}')"
     " FROM jsonb_array_elements_text(v.data->'visible_to') x)::text,"
     " a.agency_id, a.created_by, (v.data->>'assignee_agency_id')::bigint, 0"
     " FROM action_versions v JOIN actions a ON a.id = v.action_id"
     " WHERE v.action_id = $1 ORDER BY v.version DESC OFFSET 1 LIMIT 1",
     action_json, NULL},
    {"service",
     "SELECT id, visibility, visible_to::text, agency_id, created_by, 0, 0 FROM services"
     " WHERE case_id = $1 AND id = ANY($2::bigint[])",
     NULL, service_json, NULL},
    {"attachment",
     "SELECT id, visibility, visible_to::text, agency_id, author_id, 0, 0 FROM attachments"
     " WHERE case_id = $1 AND id = ANY($2::bigint[])",
     NULL, attachment_json, NULL},
    {"consent", NULL, NULL, consent_json, NULL},
    {"pii", NULL, NULL, pii_json, NULL},
    {"tracking", NULL, NULL, tracking_json, NULL},
    {"case", NULL, NULL, case_json, NULL},
    /* a case on a meeting's agenda: seen whole by who may see the case,
     * else exactly {position, restricted: true} (meeting_item.h) */
    {"meeting_item", NULL, NULL, meeting_item_json, meeting_item_loaded_json},
};

const mdt_content_kind_t *mdt_content_find(const char *object_type)
{
    for (size_t i = 0; object_type && i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
        if (strcmp(KINDS[i].object_type, object_type) == 0)
            return &KINDS[i];
    }
    return NULL;
}

const mdt_content_kind_t *mdt_content_all(size_t *n)
{
    *n = sizeof(KINDS) / sizeof(KINDS[0]);
    return KINDS;
}

int mdt_content_visible_ids(mdt_dbc_t *c, const mdt_content_kind_t *k, const mdt_principal_t *p,
                            const mdt_case_ctx_t *view, int64_t case_id, const char *ids,
                            mdt_idvec_t *out)
{
    if (!k->ctx_by_ids_sql)
        return MDT_DB_OK;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, case_id);
    mdt_db_param_str(&prm, ids);
    PGresult *r = mdt_db_query(c, k->ctx_by_ids_sql, &prm);
    if (!r)
        return c->status;
    int rc = MDT_DB_OK;
    for (int i = 0; i < PQntuples(r) && rc == MDT_DB_OK; i++) {
        if (mdt_view_row_visible(p, view, r, i, &mdt_content_ctx_cols, NULL) &&
            mdt_idvec_push(out, mdt_db_int(r, i, 0)) != 0)
            rc = MDT_DB_ERROR;
    }
    PQclear(r);
    return rc;
}

bool mdt_content_prev_visible(mdt_dbc_t *c, const mdt_content_kind_t *k, const mdt_principal_t *p,
                              const mdt_case_ctx_t *view, int64_t id)
{
    if (!k || !k->ctx_prev_sql)
        return false;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    PGresult *r = mdt_db_query(c, k->ctx_prev_sql, &prm);
    bool seen =
        r && PQntuples(r) == 1 && mdt_view_row_visible(p, view, r, 0, &mdt_content_ctx_cols, NULL);
    PQclear(r);
    return seen;
}
