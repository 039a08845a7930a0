/* events.h - writing events into the log (the `events` table and NOTIFY).
 *
 * mdt_event_emit() is called on a database thread as the last statement of
 * a change's transaction (after its audit row): it takes the next gapless
 * seq from the ledger, stores the event and notifies every node. Events with
 * no case and no meeting (session.revoked, user.updated, ...) are for the
 * nodes only and are never sent to clients, unless they name a user_id:
 * those go to that user's sockets only (`subscribe_user`, notify.h). */
#ifndef MDT_EVENTS_H
#define MDT_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

typedef struct {
    int64_t case_id;    /* 0 = none */
    int64_t meeting_id; /* 0 = none */
    int64_t user_id;    /* > 0: one user's stream (notifications); no case, no meeting */
    const char *kind;   /* e.g. "entry.created", "session.revoked" */
    const char *object_type;
    int64_t object_id;
    int64_t actor_id;
    json_t *data; /* borrowed; NULL = {} */
} mdt_event_t;

/* Returns the new seq (> 0), or -1 with c->status set. */
int64_t mdt_event_emit(mdt_dbc_t *c, const mdt_event_t *ev);
/* ev as the JSON object mdt_audit_insert_emit() takes (schema/019; ids
 * that are 0 left out), for audit.h's mdt_audit_append_event. New
 * reference (the caller decrefs), NULL when out of memory. */
json_t *mdt_event_json(const mdt_event_t *ev);

#endif
