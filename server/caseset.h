/* caseset.h - the "case set" the dashboard and the reports decide
 * visibility with.
 *
 * A case set is every case the caller's agency is on, loaded once per
 * request with what the authorization predicate needs (lead, agencies, PII
 * owners), each kept only when mdt_authz_case_visible says so. Items
 * (action items, services) of those cases are then decided one by one by
 * the view filter (view.h) with their case's context. */
#ifndef MDT_CASESET_H
#define MDT_CASESET_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "casectx.h"
#include "db.h"
#include "ids.h"

/* One case of a case set. case_number and alias point into the set's
 * result. */
typedef struct {
    int64_t id, lead;
    int64_t agencies[MDT_CASE_MAX_AGENCIES];
    size_t n_agencies;
    int64_t pii_owner[MDT_PII_COUNT];
    const char *case_number, *alias;
} mdt_caseset_case_t;

typedef struct {
    mdt_caseset_case_t *v; /* sorted by id */
    size_t n;
    PGresult *r;
} mdt_caseset_t;

/* DB thread: the cases p's agency is on that p may see (only_case > 0: at
 * most that one). Free with mdt_caseset_free. Returns the db status. */
int mdt_caseset_load(mdt_dbc_t *c, const mdt_principal_t *p, int64_t only_case, mdt_caseset_t *out);
void mdt_caseset_free(mdt_caseset_t *s);
const mdt_caseset_case_t *mdt_caseset_find(const mdt_caseset_t *s, int64_t id);
/* The predicate's view of k (valid while k lives). No consents: items and
 * case membership do not depend on them. */
mdt_case_ctx_t mdt_caseset_view(const mdt_caseset_case_t *k);

/* DB thread: of the n cases ids (ids not in s are skipped), those whose
 * protected category cat p may see at now, appended to out in the order
 * given. The cases' consents (every state: the predicate decides on
 * revocation and expiry) are loaded in one query; each case is decided by
 * mdt_authz_pii_visible alone. Returns the db status. */
int mdt_caseset_pii_visible(mdt_dbc_t *c, const mdt_caseset_t *s, const mdt_principal_t *p,
                            mdt_pii_cat_t cat, int64_t now, const int64_t *ids, size_t n,
                            mdt_idvec_t *out);

/* The columns every item query given to mdt_caseset_visible_items returns,
 * in this order: id, case_id, visibility, author agency, author user,
 * visible_to::text, assignee agency (0 for none), assignee user (0). */
enum {
    MDT_CASESET_I_ID,
    MDT_CASESET_I_CASE,
    MDT_CASESET_I_VIS,
    MDT_CASESET_I_AGENCY,
    MDT_CASESET_I_AUTHOR,
    MDT_CASESET_I_VISTO,
    MDT_CASESET_I_ASSIGNEE_AGENCY,
    MDT_CASESET_I_ASSIGNEE,
    MDT_CASESET_I_COUNT
};

/* Is row i of an item result (columns above) visible to p? False for a row
 * of a case outside s. */
int mdt_caseset_item_visible(const mdt_caseset_t *s, const mdt_principal_t *p, const PGresult *r,
                             int i);
/* DB thread: runs sql (an item query as above) and appends the ids of the
 * rows p may see to out. Returns the db status. */
int mdt_caseset_visible_items(mdt_dbc_t *c, const mdt_caseset_t *s, const mdt_principal_t *p,
                              const char *sql, const mdt_db_params_t *prm, mdt_idvec_t *out);

#endif
