/* caseset.c - the case set: every case the caller's agency is on, with
 * what the predicate needs, and item queries decided against it (see
 * caseset.h). */
#include "caseset.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "view.h"

enum { K_ID, K_LEAD, K_AGENCIES, K_NUMBER, K_ALIAS, K_OWNERS };

mdt_case_ctx_t mdt_caseset_view(const mdt_caseset_case_t *k)
{
    mdt_case_ctx_t v = {.case_id = k->id,
                        .lead_agency_id = k->lead,
                        .agencies = k->agencies,
                        .n_agencies = k->n_agencies};
    memcpy(v.pii_owner, k->pii_owner, sizeof(v.pii_owner));
    return v;
}

static void caseset_row(const PGresult *r, int i, mdt_caseset_case_t *k)
{
    k->id = mdt_db_int(r, i, K_ID);
    k->lead = mdt_db_int(r, i, K_LEAD);
    k->n_agencies =
        mdt_casectx_parse_ids(mdt_db_str(r, i, K_AGENCIES), k->agencies, MDT_CASE_MAX_AGENCIES);
    k->case_number = mdt_db_str(r, i, K_NUMBER);
    k->alias = mdt_db_str(r, i, K_ALIAS);
    for (int cat = 0; cat < MDT_PII_COUNT; cat++)
        k->pii_owner[cat] = mdt_db_int(r, i, K_OWNERS + cat);
}

int mdt_caseset_load(mdt_dbc_t *c, const mdt_principal_t *p, int64_t only_case, mdt_caseset_t *out)
{
    memset(out, 0, sizeof(*out));
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, p->agency_id);
    mdt_db_param_int(&q, only_case);
    out->r = mdt_db_query(
        c,
        "SELECT c.id, c.lead_agency_id,"
        " (SELECT coalesce(array_agg(ca.agency_id ORDER BY ca.agency_id), '{}')"
        "  FROM case_agencies ca WHERE ca.case_id = c.id)::text, c.case_number, c.alias,"
        " c.pii_owner_identity, c.pii_owner_contact, c.pii_owner_immigration, c.pii_owner_health"
        " FROM cases c WHERE EXISTS (SELECT 1 FROM case_agencies m"
        "  WHERE m.case_id = c.id AND m.agency_id = $1)"
        " AND ($2::bigint = 0 OR c.id = $2) ORDER BY c.id",
        &q);
    if (!out->r)
        return c->status;
    int n = PQntuples(out->r);
    out->v = calloc((size_t)n + 1, sizeof(*out->v));
    if (!out->v)
        return MDT_DB_ERROR;
    for (int i = 0; i < n; i++) {
        mdt_caseset_case_t *k = &out->v[out->n];
        caseset_row(out->r, i, k);
        mdt_case_ctx_t v = mdt_caseset_view(k);
        if (mdt_authz_case_visible(p, &v))
            out->n++;
        else
            mdt_log_warn("case set row refused by the predicate", "case_id=%lld user_id=%lld",
                         (long long)k->id, (long long)p->user_id);
    }
    return MDT_DB_OK;
}

void mdt_caseset_free(mdt_caseset_t *s)
{
    free(s->v);
    PQclear(s->r);
    memset(s, 0, sizeof(*s));
}

const mdt_caseset_case_t *mdt_caseset_find(const mdt_caseset_t *s, int64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].id == id)
            return &s->v[mid];
        if (s->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Where an item query's row holds the predicate's input (caseset.h). */
static const mdt_view_cols_t ITEM_COLS = {.vis = MDT_CASESET_I_VIS,
                                          .visible_to = MDT_CASESET_I_VISTO,
                                          .author_agency = MDT_CASESET_I_AGENCY,
                                          .author_user = MDT_CASESET_I_AUTHOR,
                                          .assignee_agency = MDT_CASESET_I_ASSIGNEE_AGENCY,
                                          .assignee_user = MDT_CASESET_I_ASSIGNEE};

int mdt_caseset_item_visible(const mdt_caseset_t *s, const mdt_principal_t *p, const PGresult *r,
                             int i)
{
    const mdt_caseset_case_t *k = mdt_caseset_find(s, mdt_db_int(r, i, MDT_CASESET_I_CASE));
    if (!k)
        return 0;
    mdt_case_ctx_t v = mdt_caseset_view(k);
    return mdt_view_row_visible(p, &v, r, i, &ITEM_COLS, NULL);
}

int mdt_caseset_visible_items(mdt_dbc_t *c, const mdt_caseset_t *s, const mdt_principal_t *p,
                              const char *sql, const mdt_db_params_t *prm, mdt_idvec_t *out)
{
    PGresult *r = mdt_db_query(c, sql, prm);
    if (!r)
        return c->status;
    int rc = MDT_DB_OK;
    for (int i = 0; i < PQntuples(r) && rc == MDT_DB_OK; i++) {
        if (mdt_caseset_item_visible(s, p, r, i) &&
            mdt_idvec_push(out, mdt_db_int(r, i, MDT_CASESET_I_ID)) != 0)
            rc = MDT_DB_ERROR;
    }
    PQclear(r);
    return rc;
}
