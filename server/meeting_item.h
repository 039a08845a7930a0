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
    unsigned reasons;                      /* MDT_REASON_* bits: why it is on the agenda */
    mdt_casectx_t cx;
} mdt_meeting_case_t;

/* Why a case is on an agenda (meeting_cases.reasons), in the order of
 * the default agenda's groups: bit k is mdt_meeting_item_reason_name(k). */
enum {
    MDT_REASON_CARRIED_OVER = 1u << 0,
    MDT_REASON_OVERDUE_ACTIONS = 1u << 1,
    MDT_REASON_REVIEW_DUE = 1u << 2,
    MDT_REASON_NOT_REVIEWED = 1u << 3,
};
#define MDT_REASON_COUNT 4

/* The name of reason bit k ("carried_over", "overdue_actions",
 * "review_due", "not_reviewed"), or NULL past the last. */
const char *mdt_meeting_item_reason_name(int k);
/* The bit of one reason name; 0 when name is none (or NULL). */
unsigned mdt_meeting_item_reason_bit(const char *name);
/* The bits of the reason names in a text[] literal ("{review_due,...}"). */
unsigned mdt_meeting_item_reasons_parse(const char *text);
/* A JSON array of the names of the bits in mask, in bit order (new
 * reference). */
json_t *mdt_meeting_item_reasons_json(unsigned mask);

/* Any thread, no I/O: may p see agenda case a? */
bool mdt_meeting_item_visible(const mdt_meeting_case_t *a, const mdt_principal_t *p);
/* Any thread, no I/O: a as p may see it (new reference): {position,
 * case_id, alias, case_number, outcome_md, outcome_html, outcome_version,
 * outcome_by, outcome_at, reasons}, or exactly {position, restricted: true}. NULL
 * only when out of memory. */
json_t *mdt_meeting_item_json(const mdt_meeting_case_t *a, const mdt_principal_t *p);

#endif
