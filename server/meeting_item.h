/* meeting_item.h - the meeting item, a content kind (content.c,
 * "meeting_item"): one case on a meeting's agenda as one reader may see it.
 *
 * A reader who may see the case (mdt_authz_case_visible on the case's
 * context) gets its position, id, alias, number and outcome; any other
 * reader gets exactly {position, restricted: true}. The Meeting object
 * (REST, lists, error.current, the hub's meeting events) and the minutes
 * decide and serialize every agenda case here, and nowhere else. */
#ifndef MDT_MEETING_ITEM_H
#define MDT_MEETING_ITEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "authz.h"
#include "casectx.h"

/* One case of an agenda, with the authorization context of its case. The
 * strings belong to whoever loaded it (meetings.c: its results). */
typedef struct {
    int position; /* 1..n_agenda */
    int64_t case_id;
    const char *alias, *case_number;
    const char *outcome_md, *outcome_html; /* NULL: no outcome recorded */
    const char *outcome_at;                /* RFC 3339, or NULL */
    int64_t outcome_by;                    /* 0 = none */
    int outcome_version;                   /* 0 = never written */
    mdt_casectx_t cx;
} mdt_meeting_case_t;

/* Any thread, no I/O: may p see agenda case a? */
bool mdt_meeting_item_visible(const mdt_meeting_case_t *a, const mdt_principal_t *p);
/* Any thread, no I/O: a as p may see it (new reference): {position,
 * case_id, alias, case_number, outcome_md, outcome_html, outcome_version,
 * outcome_by, outcome_at}, or exactly {position, restricted: true}. NULL
 * only when out of memory. */
json_t *mdt_meeting_item_json(const mdt_meeting_case_t *a, const mdt_principal_t *p);

#endif
