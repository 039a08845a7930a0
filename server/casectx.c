/* casectx.c - the authorization context of a case (see casectx.h). */
#include "casectx.h"

#include <stdlib.h>
#include <string.h>

size_t mdt_casectx_parse_ids(const char *text, int64_t *out, size_t max)
{
    size_t n = 0;
    const char *s = text ? text : "";
    while (*s && n < max) {
        while (*s && (*s < '0' || *s > '9'))
            s++;
        if (!*s)
            break;
        char *end;
        out[n++] = strtoll(s, &end, 10);
        s = end;
    }
    return n;
}

unsigned mdt_casectx_parse_cats(const char *text)
{
    unsigned mask = 0;
    for (int c = 0; c < MDT_PII_COUNT; c++) {
        const char *name = mdt_authz_pii_cat_name((mdt_pii_cat_t)c);
        const char *hit = text ? strstr(text, name) : NULL;
        if (hit)
            mask |= MDT_PII_BIT(c);
    }
    return mask;
}

static int casectx_load_consents(mdt_dbc_t *c, mdt_casectx_t *out)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, out->case_id);
    mdt_db_param_int(&p, MDT_CASE_MAX_CONSENTS);
    PGresult *r = mdt_db_query(c,
                               "SELECT agency_id, categories::text,"
                               " extract(epoch FROM expires_at)::bigint FROM consents"
                               " WHERE case_id = $1 AND revoked_at IS NULL AND expires_at > now()"
                               " ORDER BY expires_at LIMIT $2",
                               &p);
    if (!r)
        return c->status;
    out->n_consents = (size_t)PQntuples(r);
    for (size_t i = 0; i < out->n_consents; i++) {
        mdt_consent_ref_t *k = &out->consents[i];
        k->agency_id = mdt_db_int(r, (int)i, 0);
        k->categories = mdt_casectx_parse_cats(mdt_db_str(r, (int)i, 1));
        k->expires_at = mdt_db_int(r, (int)i, 2);
        k->revoked = false;
    }
    PQclear(r);
    return MDT_DB_OK;
}

int mdt_casectx_load(mdt_dbc_t *c, int64_t case_id, mdt_casectx_t *out)
{
    memset(out, 0, sizeof(*out));
    out->case_id = case_id;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, case_id);
    PGresult *r = mdt_db_query(
        c,
        "SELECT lead_agency_id, pii_owner_identity, pii_owner_contact, pii_owner_immigration,"
        " pii_owner_health, version,"
        " (SELECT array_agg(agency_id ORDER BY agency_id) FROM case_agencies WHERE case_id = $1),"
        " purged_at IS NOT NULL"
        " FROM cases WHERE id = $1",
        &p);
    if (!r)
        return c->status;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return MDT_DB_NOT_FOUND;
    }
    out->lead_agency_id = mdt_db_int(r, 0, 0);
    for (int i = 0; i < MDT_PII_COUNT; i++)
        out->pii_owner[i] = mdt_db_int(r, 0, 1 + i);
    out->version = (int)mdt_db_int(r, 0, 5);
    out->n_agencies =
        mdt_casectx_parse_ids(mdt_db_str(r, 0, 6), out->agencies, MDT_CASE_MAX_AGENCIES);
    out->purged = mdt_db_bool(r, 0, 7);
    PQclear(r);
    return casectx_load_consents(c, out);
}

mdt_case_ctx_t mdt_casectx_view(const mdt_casectx_t *cx)
{
    mdt_case_ctx_t v = {
        .case_id = cx->case_id,
        .lead_agency_id = cx->lead_agency_id,
        .agencies = cx->agencies,
        .n_agencies = cx->n_agencies,
        .consents = cx->consents,
        .n_consents = cx->n_consents,
    };
    memcpy(v.pii_owner, cx->pii_owner, sizeof(v.pii_owner));
    return v;
}
