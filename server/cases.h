/* cases.h - cases: the list, creation, the whole board, and case edits.
 * GET /cases/{id} assembles the board from the entity modules (entries,
 * actions, pii, records) in one REPEATABLE READ transaction together with
 * the ledger seq it is consistent with. */
#ifndef MDT_CASES_H
#define MDT_CASES_H

#include <jansson.h>
#include <libpq-fe.h>

#include "casectx.h"
#include "req.h"

void mdt_cases_list(mdt_req_t *req);
void mdt_cases_create(mdt_req_t *req);
void mdt_cases_board(mdt_req_t *req);
void mdt_cases_update(mdt_req_t *req);

/* The review dates of a case (YYYY-MM-DD text or NULL: last_reviewed,
 * next_review, review_due, in that order) as select-list columns, for a
 * query over `cases c` that adds MDT_CASES_REVIEW_JOIN(the parameter
 * holding the installation's time zone, e.g. "$2"). Both are the one SQL
 * definition, mdt_case_review() (schema/009_review_cadence.sql). */
#define MDT_CASES_REVIEW_COLS                                                                      \
    "to_char(rv.last_reviewed, 'YYYY-MM-DD'), to_char(rv.next_review, 'YYYY-MM-DD'),"              \
    " to_char(rv.review_due, 'YYYY-MM-DD')"
#define MDT_CASES_REVIEW_JOIN(tz) " CROSS JOIN LATERAL mdt_case_review(c.id, " tz "::text) rv"

/* Sets last_reviewed, next_review and review_due of o from the three
 * MDT_CASES_REVIEW_COLS columns of row r that start at col. */
void mdt_cases_review_set(json_t *o, const PGresult *r, int row, int col);

/* DB thread: the Case object as p sees it (NULL when p may not see it). */
json_t *mdt_cases_get_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx);
/* DB thread: what a purged case keeps, as p may see it (new reference;
 * NULL when p may not see it or on error): {id, case_number, status:
 * "purged", referral_date, created_at, closed_at, purged_at,
 * lead_agency_id, agencies, legal_hold} (docs/retention.md). */
json_t *mdt_cases_tombstone_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx);

#endif
