/* casectx.h - loading what the authorization module decides on for a case.
 *
 * One query set per case: its lead, agencies, PII owners and the consents
 * that are not revoked and not yet expired (expiry is still evaluated by
 * the predicate at read time against `now`). The result owns its arrays;
 * mdt_casectx_view() gives the mdt_case_ctx_t that points into it. */
#ifndef MDT_CASECTX_H
#define MDT_CASECTX_H

#include <stdint.h>

#include "authz.h"
#include "db.h"

#define MDT_CASE_MAX_AGENCIES 32
#define MDT_CASE_MAX_CONSENTS 256

typedef struct {
    int64_t case_id;
    int64_t lead_agency_id;
    int64_t agencies[MDT_CASE_MAX_AGENCIES];
    size_t n_agencies;
    int64_t pii_owner[MDT_PII_COUNT];
    mdt_consent_ref_t consents[MDT_CASE_MAX_CONSENTS];
    size_t n_consents;
    int version;
    int purged; /* the case is a tombstone (retention.h): its content is gone */
} mdt_casectx_t;

/* DB thread: loads case_id into out. MDT_DB_NOT_FOUND when no such case. */
int mdt_casectx_load(mdt_dbc_t *c, int64_t case_id, mdt_casectx_t *out);
/* The predicate's view of cx (valid while cx lives and is not moved). */
mdt_case_ctx_t mdt_casectx_view(const mdt_casectx_t *cx);
/* Parses a PostgreSQL int8[] text ("{1,2,3}") into out (max n); returns count. */
size_t mdt_casectx_parse_ids(const char *text, int64_t *out, size_t max);
/* Maps category names ("identity", ...) in a text[] literal to a bit mask. */
unsigned mdt_casectx_parse_cats(const char *text);

#endif
