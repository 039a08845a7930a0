/* events.c - appending to the event log (see events.h). */
#include "events.h"

#include <stdlib.h>

int64_t mdt_event_emit(mdt_dbc_t *c, const mdt_event_t *ev)
{
    char *data = ev->data ? json_dumps(ev->data, JSON_COMPACT) : NULL;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    if (ev->case_id)
        mdt_db_param_int(&p, ev->case_id);
    else
        mdt_db_param_str(&p, NULL);
    if (ev->meeting_id)
        mdt_db_param_int(&p, ev->meeting_id);
    else
        mdt_db_param_str(&p, NULL);
    mdt_db_param_str(&p, ev->kind);
    mdt_db_param_str(&p, ev->object_type);
    if (ev->object_id)
        mdt_db_param_int(&p, ev->object_id);
    else
        mdt_db_param_str(&p, NULL);
    if (ev->actor_id)
        mdt_db_param_int(&p, ev->actor_id);
    else
        mdt_db_param_str(&p, NULL);
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
