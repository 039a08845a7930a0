/* cases.c - cases: the list, creation and case edits (see cases.h; the board
 * is cases_board.c).
 *
 * Who may see or change what is decided by authz.h alone. The list filters in
 * SQL by membership (the caller's agency in case_agencies) and then asks
 * mdt_authz_case_visible for every row it got, dropping (and logging) any
 * row the two disagree on; its open/overdue counts ask the view filter
 * for every open action item. Related case ids the caller may not see are
 * left out of every Case it gets, and kept untouched when it edits the list.
 * Case-scoped requests run through caseop.h; creation, which has no case
 * yet, runs its own transaction with the same audit-then-event ending. */
#include "cases_int.h"

#include "ctx.h"

/* ---- small helpers ---- */

/* Same members, whatever the order (both without duplicates). */
bool mdt_cases_ids_same_set(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (!mdt_ids_has(b, nb, a[i]))
            return false;
    }
    return true;
}

bool mdt_cases_blank(const char *s)
{
    for (; s && *s; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    }
    return true;
}

/* A required, non-mdt_cases_blank string of at most maxlen bytes. */
int mdt_cases_read_name(json_t *b, const char *key, int required, size_t maxlen, const char **out,
                        mdt_err_t *e)
{
    int rc = mdt_json_str(b, key, required, maxlen, out, e);
    if (rc == 0 && mdt_cases_blank(*out)) {
        mdt_err_set(e, 422, "validation", key, "%s must not be empty", key);
        return -1;
    }
    return rc;
}

/* ---- which cases the caller sees ---- */

/* Appends to out those of ids[0..n) that are cases p may see, asking the
 * predicate with each case's agencies. */
int mdt_cases_filter_visible(mdt_dbc_t *c, const mdt_principal_t *p, const int64_t *ids, size_t n,
                             mdt_idvec_t *out)
{
    if (n == 0)
        return MDT_DB_OK;
    char *lit = mdt_ids_literal(ids, n);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r = mdt_db_query(c,
                               "SELECT r.id, r.lead_agency_id,"
                               " (SELECT coalesce(array_agg(agency_id), '{}') FROM case_agencies"
                               "  WHERE case_id = r.id)::text"
                               " FROM cases r WHERE r.id = ANY($1::bigint[])",
                               &q);
    free(lit);
    if (!r)
        return c->status;
    int rc = MDT_DB_OK;
    for (int i = 0; i < PQntuples(r) && rc == MDT_DB_OK; i++) {
        int64_t ag[MDT_CASE_MAX_AGENCIES];
        mdt_case_ctx_t v = {.case_id = mdt_db_int(r, i, 0), .lead_agency_id = mdt_db_int(r, i, 1)};
        v.agencies = ag;
        v.n_agencies = mdt_casectx_parse_ids(mdt_db_str(r, i, 2), ag, MDT_CASE_MAX_AGENCIES);
        if (mdt_authz_case_visible(p, &v) && mdt_idvec_push(out, v.case_id) != 0)
            rc = MDT_DB_ERROR;
    }
    PQclear(r);
    return rc;
}

/* The retention fields of a CASE_COLS row (docs/retention.md): closed_at,
 * the legal hold with who and when, purged_at; a tombstone's status is
 * "purged". */
static void case_retention_fields(json_t *o, const PGresult *r, int row)
{
    int hold = mdt_db_bool(r, row, COL_HOLD);
    json_object_set_new(o, "closed_at", mdt_json_str_or_null(mdt_db_str(r, row, COL_CLOSED_AT)));
    json_object_set_new(o, "legal_hold", json_boolean(hold));
    json_object_set_new(o, "legal_hold_set_by",
                        hold ? json_integer(mdt_db_int(r, row, COL_HOLD_BY)) : json_null());
    json_object_set_new(o, "legal_hold_set_by_name",
                        mdt_json_str_or_null(hold ? mdt_db_str(r, row, COL_HOLD_BY_NAME) : NULL));
    json_object_set_new(o, "legal_hold_set_at",
                        mdt_json_str_or_null(hold ? mdt_db_str(r, row, COL_HOLD_AT) : NULL));
    const char *purged = mdt_db_str(r, row, COL_PURGED_AT);
    json_object_set_new(o, "purged_at", mdt_json_str_or_null(purged));
    if (purged)
        json_object_set_new(o, "status", json_string("purged"));
}

/* One CASE_COLS row as the Case object; related ids only those in seen. */
json_t *mdt_cases_case_row_json(const PGresult *r, int row, const mdt_idvec_t *seen)
{
    int64_t rel[CASES_MAX_RELATED], ag[MDT_CASE_MAX_AGENCIES];
    size_t nrel = mdt_casectx_parse_ids(mdt_db_str(r, row, COL_RELATED), rel, CASES_MAX_RELATED);
    size_t nag = mdt_casectx_parse_ids(mdt_db_str(r, row, COL_AGENCIES), ag, MDT_CASE_MAX_AGENCIES);
    json_t *related = json_array();
    for (size_t i = 0; i < nrel; i++) {
        if (mdt_ids_has(seen->v, seen->n, rel[i]))
            json_array_append_new(related, json_integer(rel[i]));
    }
    json_t *owners = json_object();
    for (int k = 0; k < MDT_PII_COUNT; k++)
        json_object_set_new(owners, mdt_authz_pii_cat_name((mdt_pii_cat_t)k),
                            json_integer(mdt_db_int(r, row, COL_OWNERS + k)));
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:s, s:o, s:s, s:I, s:o, s:o, s:o, s:I, s:s, s:o}", "id",
        (json_int_t)mdt_db_int(r, row, COL_ID), "case_number", mdt_db_str(r, row, COL_NUMBER),
        "alias", mdt_db_str(r, row, COL_ALIAS), "status", mdt_db_str(r, row, COL_STATUS),
        "municipality", mdt_json_str_or_null(mdt_db_str(r, row, COL_MUNI)), "referral_date",
        mdt_db_str(r, row, COL_REFERRAL), "lead_agency_id",
        (json_int_t)mdt_db_int(r, row, COL_LEAD), "agencies", mdt_entries_ids_json(ag, nag),
        "pii_owners", owners, "related_case_ids", related, "version",
        (json_int_t)mdt_db_int(r, row, COL_VERSION), "created_at", mdt_db_str(r, row, COL_CREATED),
        "review_every_weeks",
        mdt_db_str(r, row, COL_CADENCE) ? json_integer(mdt_db_int(r, row, COL_CADENCE))
                                        : json_null());
    if (o)
        case_retention_fields(o, r, row);
    return o;
}

void mdt_cases_review_set(json_t *o, const PGresult *r, int row, int col)
{
    static const char *const keys[] = {"last_reviewed", "next_review", "review_due"};
    for (int k = 0; k < 3; k++)
        json_object_set_new(o, keys[k], mdt_json_str_or_null(mdt_db_str(r, row, col + k)));
}

/* The related ids of rows [0, n) of a CASE_COLS result that p may see. */
int mdt_cases_related_seen(mdt_dbc_t *c, const mdt_principal_t *p, const PGresult *r, int n,
                           mdt_idvec_t *seen)
{
    mdt_idvec_t all = {0};
    for (int i = 0; i < n; i++) {
        int64_t rel[CASES_MAX_RELATED];
        size_t k = mdt_casectx_parse_ids(mdt_db_str(r, i, COL_RELATED), rel, CASES_MAX_RELATED);
        for (size_t j = 0; j < k; j++) {
            if (!mdt_ids_has(all.v, all.n, rel[j]) && mdt_idvec_push(&all, rel[j]) != 0) {
                mdt_idvec_free(&all);
                return MDT_DB_ERROR;
            }
        }
    }
    int rc = mdt_cases_filter_visible(c, p, all.v, all.n, seen);
    mdt_idvec_free(&all);
    return rc;
}

/* The Case as p sees it into *out (NULL when p may not see it). */
int mdt_cases_load_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                        json_t **out)
{
    *out = NULL;
    mdt_case_ctx_t v = mdt_casectx_view(cx);
    if (!mdt_authz_case_visible(p, &v))
        return MDT_DB_OK;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, cx->case_id);
    PGresult *r = mdt_db_query(c, "SELECT " CASE_COLS " FROM cases c WHERE c.id = $1", &q);
    if (!r)
        return c->status;
    int rc = PQntuples(r) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    mdt_idvec_t seen = {0};
    if (rc == MDT_DB_OK)
        rc = mdt_cases_related_seen(c, p, r, 1, &seen);
    if (rc == MDT_DB_OK)
        *out = mdt_cases_case_row_json(r, 0, &seen);
    mdt_idvec_free(&seen);
    PQclear(r);
    return rc;
}

json_t *mdt_cases_get_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx)
{
    json_t *out;
    return mdt_cases_load_json(c, p, cx, &out) == MDT_DB_OK ? out : NULL;
}

json_t *mdt_cases_tombstone_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx)
{
    static const char *const keys[] = {"id",         "case_number", "status",    "referral_date",
                                       "created_at", "closed_at",   "purged_at", "lead_agency_id",
                                       "agencies",   "legal_hold",  NULL};
    json_t *full = mdt_cases_get_json(c, p, cx);
    if (!full)
        return NULL;
    json_t *t = json_object();
    for (int i = 0; keys[i]; i++)
        json_object_set(t, keys[i], json_object_get(full, keys[i]));
    json_decref(full);
    return t;
}
