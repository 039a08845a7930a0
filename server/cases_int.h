/* cases_int.h - the inside of the cases module, shared by cases.c (helpers,
 * which cases the caller sees, the board), cases_list.c (GET /cases),
 * cases_create.c (POST /cases) and cases_update.c (PATCH /cases/{id}).
 * The public surface is cases.h. */
#ifndef MDT_CASES_INT_H
#define MDT_CASES_INT_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "audit.h"
#include "caseop.h"
#include "cases.h"
#include "ctx.h"
#include "entries.h"
#include "events.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "pii.h"
#include "records.h"
#include "runner.h"
#include "session.h"
#include "view.h"

#define CASES_MAX_RELATED 50
#define CASES_MAX_Q       100

static const char *const case_statuses[] = {"referred", "active", "monitoring", "closed", NULL};

/* The Case columns, in the order of the COL_ constants below. */
#define CASE_COLS                                                                                  \
    "c.id, c.case_number, c.alias, c.status, c.municipality,"                                      \
    " to_char(c.referral_date, 'YYYY-MM-DD'), c.lead_agency_id, c.related_case_ids::text,"         \
    " c.pii_owner_identity, c.pii_owner_contact, c.pii_owner_immigration, c.pii_owner_health,"     \
    " c.version, to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"      \
    " (SELECT coalesce(array_agg(ca.agency_id ORDER BY ca.agency_id), '{}')"                       \
    "  FROM case_agencies ca WHERE ca.case_id = c.id)::text, c.review_every_weeks,"                \
    " " MDT_CASES_TIME(                                                                            \
        "c.closed_at") ", c.legal_hold, c.legal_hold_set_by,"                                      \
                       " (SELECT u.display_name FROM users u WHERE u.id = c.legal_hold_set_by),"   \
                       " " MDT_CASES_TIME("c.legal_hold_set_at") ", " MDT_CASES_TIME(              \
                           "c.purged_at")

/* A timestamptz column as RFC 3339 UTC text (NULL stays NULL). */
#define MDT_CASES_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

enum {
    COL_ID,
    COL_NUMBER,
    COL_ALIAS,
    COL_STATUS,
    COL_MUNI,
    COL_REFERRAL,
    COL_LEAD,
    COL_RELATED,
    COL_OWNERS, /* four columns, in mdt_pii_cat_t order */
    COL_VERSION = COL_OWNERS + MDT_PII_COUNT,
    COL_CREATED,
    COL_AGENCIES,
    COL_CADENCE, /* review_every_weeks, NULL = none */
    COL_CLOSED_AT,
    COL_HOLD, /* legal_hold, then who (id, name) and when */
    COL_HOLD_BY,
    COL_HOLD_BY_NAME,
    COL_HOLD_AT,
    COL_PURGED_AT, /* NULL: a live case; else a tombstone (retention.h) */
    COL_END,       /* the first column after CASE_COLS */
};

/* ---- cases.c ---- */

bool mdt_cases_blank(const char *s);
json_t *mdt_cases_case_row_json(const PGresult *r, int row, const mdt_idvec_t *seen);
int mdt_cases_filter_visible(mdt_dbc_t *c, const mdt_principal_t *p, const int64_t *ids, size_t n,
                             mdt_idvec_t *out);
int mdt_cases_load_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                        json_t **out);
bool mdt_cases_ids_same_set(const int64_t *a, size_t na, const int64_t *b, size_t nb);
int mdt_cases_read_name(json_t *b, const char *key, int required, size_t maxlen, const char **out,
                        mdt_err_t *e);
int mdt_cases_related_seen(mdt_dbc_t *c, const mdt_principal_t *p, const PGresult *r, int n,
                           mdt_idvec_t *seen);
/* ---- cases_create.c ---- */

int mdt_cases_check_related(mdt_dbc_t *c, const mdt_principal_t *p, const int64_t *ids, size_t n,
                            int64_t self, mdt_err_t *e);

#endif
