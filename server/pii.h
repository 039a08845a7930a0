/* pii.h - protected victim details by category, and the consents that
 * share a category with another agency for a limited time. */
#ifndef MDT_PII_H
#define MDT_PII_H

#include <jansson.h>

#include "casectx.h"
#include "req.h"

void mdt_pii_get(mdt_req_t *req);
void mdt_pii_put(mdt_req_t *req);
void mdt_pii_consent_create(mdt_req_t *req);
void mdt_pii_consent_revoke(mdt_req_t *req);
/* GET /cases/{id}/consents: {items, next: null}, as mdt_pii_consents_json. */
void mdt_pii_consents_list(mdt_req_t *req);

/* DB thread: the PII object with only the categories p may see now. */
json_t *mdt_pii_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx, int64_t now);
/* DB thread: the case's consents as p sees them (names only with identity). */
json_t *mdt_pii_consents_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                              int64_t now);

/* The facts of the immigration category a report counts, in this order. */
#define MDT_PII_IMMIGRATION_FLAGS 2 /* foreign_born, unaccompanied_minor */

/* DB thread: the immigration category of each of the n cases ids, opened
 * on this thread, as flags[i][0] foreign_born and flags[i][1]
 * unaccompanied_minor: 1, 0, or -1 when not recorded (no data, or null).
 * The caller has decided with mdt_authz_pii_visible that it may read
 * them; no other category and no version row is read. flags holds n rows
 * (the caller's). Returns the db status (MDT_DB_ERROR when a sealed value
 * does not open). */
int mdt_pii_immigration_flags(mdt_dbc_t *c, const int64_t *ids, size_t n,
                              signed char (*flags)[MDT_PII_IMMIGRATION_FLAGS]);

#endif
