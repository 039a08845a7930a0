/* events.c - appending to the event log (see events.h). */
#include "events.h"

#include <stdlib.h>

static void param_id(mdt_db_params_t *p, int64_t id)
{
    if (id)
        mdt_db_param_int(p, id);
    else
        mdt_db_param_str(p, NULL);
}

/* A user's event: mdt_emit_user_event (schema/012). */
static PGresult *event_emit_user(mdt_dbc_t *c, const mdt_event_t *ev, const char *data)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, ev->user_id);
    mdt_db_param_str(&p, ev->kind);
    mdt_db_param_str(&p, ev->object_type);
    param_id(&p, ev->object_id);
    param_id(&p, ev->actor_id);
    mdt_db_param_str(&p, data);
    return mdt_db_query(
        c, "SELECT mdt_emit_user_event($1::bigint, $2, $3, $4::bigint, $5::bigint, $6::jsonb)", &p);
}

/* Sets key to id when id is not 0 (an absent key is SQL NULL). */
static void json_id(json_t *o, const char *key, int64_t id)
{
    if (id)
        json_object_set_new(o, key, json_integer(id));
}

json_t *mdt_event_json(const mdt_event_t *ev)
{
    json_t *o = json_pack("{s:s, s:s?, s:o}", "kind", ev->kind, "object_type", ev->object_type,
                          "data", ev->data ? json_incref(ev->data) : json_object());
    if (!o)
        return NULL;
    json_id(o, "case_id", ev->case_id);
    json_id(o, "meeting_id", ev->meeting_id);
    json_id(o, "user_id", ev->user_id);
    json_id(o, "object_id", ev->object_id);
    json_id(o, "actor_id", ev->actor_id);
    return o;
}

int64_t mdt_event_emit(mdt_dbc_t *c, const mdt_event_t *ev)
{
    char *data = ev->data ? json_dumps(ev->data, JSON_COMPACT) : NULL;
    if (ev->user_id) {
        PGresult *r = event_emit_user(c, ev, data);
        free(data);
        int64_t seq = r ? mdt_db_int(r, 0, 0) : -1;
        PQclear(r);
        return seq;
    }
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    param_id(&p, ev->case_id);
    param_id(&p, ev->meeting_id);
    mdt_db_param_str(&p, ev->kind);
    mdt_db_param_str(&p, ev->object_type);
    param_id(&p, ev->object_id);
    param_id(&p, ev->actor_id);
    mdt_db_param_str(&p, data);
    PGresult *r = mdt_db_query(
        c,
        "SELECT mdt_emit_event($1::bigint, $2::bigint, $3, $4, $5::bigint, $6::bigint, $7::jsonb)",
        &p);
    free(data);
    if (!r)
        return -1;
    int64_t seq = mdt_db_int(r, 0, 0);
    PQclear(r);
    return seq;
}
