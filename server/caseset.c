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

/* ---- protected categories ----------------------------------------------------- */

enum { C_CASE, C_AGENCY, C_CATS, C_EXPIRES, C_REVOKED };

/* Case case_id's consents from the rows of r starting at *row (r is sorted
 * by case id), at most MDT_CASE_MAX_CONSENTS into out; *row moves past
 * them. Returns how many. */
static size_t consents_of(const PGresult *r, int *row, int64_t case_id, mdt_consent_ref_t *out)
{
    size_t n = 0;
    int rows = PQntuples(r);
    while (*row < rows && mdt_db_int(r, *row, C_CASE) < case_id)
        (*row)++;
    for (; *row < rows && mdt_db_int(r, *row, C_CASE) == case_id; (*row)++) {
        if (n == MDT_CASE_MAX_CONSENTS)
            continue;
        out[n++] =
            (mdt_consent_ref_t){.agency_id = mdt_db_int(r, *row, C_AGENCY),
                                .categories = mdt_casectx_parse_cats(mdt_db_str(r, *row, C_CATS)),
                                .expires_at = mdt_db_int(r, *row, C_EXPIRES),
                                .revoked = mdt_db_int(r, *row, C_REVOKED) != 0};
    }
    return n;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Decides the sorted ids against the consent rows of r. */
static int pii_visible_rows(const PGresult *r, const mdt_caseset_t *s, const mdt_principal_t *p,
                            mdt_pii_cat_t cat, int64_t now, const int64_t *sorted, size_t n,
                            mdt_idvec_t *out)
{
    mdt_consent_ref_t *refs = calloc(MDT_CASE_MAX_CONSENTS, sizeof(*refs));
    int row = 0, rc = refs ? MDT_DB_OK : MDT_DB_ERROR;
    for (size_t i = 0; rc == MDT_DB_OK && i < n; i++) {
        const mdt_caseset_case_t *k = mdt_caseset_find(s, sorted[i]);
        if (!k || (i > 0 && sorted[i] == sorted[i - 1]))
            continue;
        mdt_case_ctx_t v = mdt_caseset_view(k);
        v.consents = refs;
        v.n_consents = consents_of(r, &row, k->id, refs);
        if (mdt_authz_pii_visible(p, &v, cat, now) && mdt_idvec_push(out, k->id) != 0)
            rc = MDT_DB_ERROR;
    }
    free(refs);
    return rc;
}

int mdt_caseset_pii_visible(mdt_dbc_t *c, const mdt_caseset_t *s, const mdt_principal_t *p,
                            mdt_pii_cat_t cat, int64_t now, const int64_t *ids, size_t n,
                            mdt_idvec_t *out)
{
    if (n == 0)
        return MDT_DB_OK;
    int64_t *sorted = malloc(n * sizeof(*sorted));
    char *lit = sorted ? mdt_ids_literal(ids, n) : NULL;
    PGresult *r = NULL;
    int rc = MDT_DB_ERROR;
    if (!lit)
        goto exit;
    memcpy(sorted, ids, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_id);
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    r = mdt_db_query(c,
                     "SELECT case_id, agency_id, categories::text,"
                     " extract(epoch FROM expires_at)::bigint, (revoked_at IS NOT NULL)::int"
                     " FROM consents WHERE case_id = ANY($1::bigint[])"
                     " ORDER BY case_id, (revoked_at IS NULL) DESC, expires_at DESC, id",
                     &q);
    rc = r ? pii_visible_rows(r, s, p, cat, now, sorted, n, out) : c->status;
exit:
    PQclear(r);
    free(lit);
    free(sorted);
    return rc;
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
