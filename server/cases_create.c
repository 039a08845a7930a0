/* cases_create.c - POST /cases: a supervisor opens a case (its own
 * transaction: there is no case yet; audit row, then event, last). */
#include "cases_int.h"

#include "ctx.h"

/* ---- POST /cases ---- */

typedef struct {
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    const char *number, *alias, *municipality; /* borrowed from req->json */
    int status;
    char referral[11];
    int64_t *agencies; /* the lead first */
    size_t n_agencies;
    int64_t *related;
    size_t n_related;
    mdt_agency_kind_t kinds[MDT_CASE_MAX_AGENCIES];
    int64_t case_id;
    mdt_run_t run; /* the answer; run.ans.current: the existing case on a duplicate */
} create_t;

static void create_free(void *arg)
{
    create_t *k = arg;
    free(k->agencies);
    free(k->related);
    mdt_run_free(&k->run);
    free(k);
}

/* Puts the caller's agency (the lead) first in k->agencies. */
static int create_lead_first(create_t *k, mdt_err_t *e)
{
    int64_t *a = malloc((k->n_agencies + 1) * sizeof(*a));
    if (!a) {
        mdt_err_set(e, 500, "internal", NULL, "out of memory");
        return -1;
    }
    size_t n = 0;
    a[n++] = k->p.agency_id;
    for (size_t i = 0; i < k->n_agencies; i++) {
        if (k->agencies[i] != k->p.agency_id)
            a[n++] = k->agencies[i];
    }
    free(k->agencies);
    k->agencies = a;
    k->n_agencies = n;
    if (n > MDT_CASE_MAX_AGENCIES) {
        mdt_err_set(e, 422, "validation", "agencies", "a case may have at most %d agencies",
                    MDT_CASE_MAX_AGENCIES);
        return -1;
    }
    return 0;
}

static int create_parse(create_t *k, json_t *b, mdt_err_t *e)
{
    if (mdt_cases_read_name(b, "case_number", 1, 64, &k->number, e) < 0 ||
        mdt_cases_read_name(b, "alias", 1, 100, &k->alias, e) < 0 ||
        mdt_json_enum(b, "status", 0, case_statuses, &k->status, e) < 0 ||
        mdt_json_str(b, "municipality", 0, 100, &k->municipality, e) < 0 ||
        mdt_json_date(b, "referral_date", 1, k->referral, e) < 0 ||
        mdt_json_ids(b, "agencies", 1, MDT_CASE_MAX_AGENCIES, &k->agencies, &k->n_agencies, e) <
            0 ||
        mdt_json_ids(b, "related_case_ids", 0, CASES_MAX_RELATED, &k->related, &k->n_related, e) <
            0)
        return -1;
    if (k->municipality && mdt_cases_blank(k->municipality))
        k->municipality = NULL;
    return create_lead_first(k, e);
}

/* Loads kinds of every agency; 422 agencies when one is missing or inactive. */
static int create_check_agencies(mdt_dbc_t *c, create_t *k)
{
    char *lit = mdt_ids_literal(k->agencies, k->n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r = mdt_db_query(
        c, "SELECT id, kind FROM agencies WHERE id = ANY($1::bigint[]) AND active", &q);
    free(lit);
    if (!r)
        return c->status;
    for (size_t i = 0; i < k->n_agencies && !k->run.ans.err.status; i++) {
        int found = 0;
        for (int j = 0; j < PQntuples(r); j++) {
            if (mdt_db_int(r, j, 0) == k->agencies[i] &&
                mdt_authz_agency_kind_parse(mdt_db_str(r, j, 1), &k->kinds[i]) == 0)
                found = 1;
        }
        if (!found)
            mdt_err_set(&k->run.ans.err, 422, "validation", "agencies",
                        "agency %lld does not exist or is not active", (long long)k->agencies[i]);
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* 422 related_case_ids unless the caller sees every related case. */
int mdt_cases_check_related(mdt_dbc_t *c, const mdt_principal_t *p, const int64_t *ids, size_t n,
                            int64_t self, mdt_err_t *e)
{
    mdt_idvec_t seen = {0};
    int rc = mdt_cases_filter_visible(c, p, ids, n, &seen);
    if (rc == MDT_DB_OK && (seen.n != n || mdt_ids_has(ids, n, self)))
        mdt_err_set(e, 422, "validation", "related_case_ids",
                    "related_case_ids must be other cases you can see");
    mdt_idvec_free(&seen);
    return rc;
}

static int create_insert(mdt_dbc_t *c, create_t *k)
{
    int64_t owners[MDT_PII_COUNT];
    mdt_authz_default_pii_owners(k->p.agency_id, k->agencies, k->kinds, k->n_agencies, owners);
    char *rel = mdt_ids_literal(k->related, k->n_related);
    if (!rel)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, k->number);
    mdt_db_param_str(&q, k->alias);
    mdt_db_param_str(&q, case_statuses[k->status]);
    mdt_db_param_str(&q, k->municipality);
    mdt_db_param_str(&q, k->referral);
    mdt_db_param_int(&q, k->p.agency_id);
    mdt_db_param_str(&q, rel);
    for (int i = 0; i < MDT_PII_COUNT; i++)
        mdt_db_param_int(&q, owners[i]);
    mdt_db_param_int(&q, k->p.user_id);
    PGresult *r =
        mdt_db_query(c,
                     "INSERT INTO cases (case_number, alias, status, municipality, referral_date,"
                     " lead_agency_id, related_case_ids, pii_owner_identity, pii_owner_contact,"
                     " pii_owner_immigration, pii_owner_health, created_by)"
                     " VALUES ($1, $2, $3, $4, $5::date, $6, $7::bigint[], $8, $9, $10, $11, $12)"
                     " ON CONFLICT (lead_agency_id, lower(case_number)) DO NOTHING RETURNING id",
                     &q);
    free(rel);
    if (!r)
        return c->status;
    k->case_id = PQntuples(r) == 1 ? mdt_db_int(r, 0, 0) : 0;
    PQclear(r);
    return MDT_DB_OK;
}

/* On a duplicate number: 409 with the existing case as the caller sees it. */
static int create_duplicate(mdt_dbc_t *c, create_t *k)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, k->p.agency_id);
    mdt_db_param_str(&q, k->number);
    PGresult *r = mdt_db_query(
        c, "SELECT id FROM cases WHERE lead_agency_id = $1 AND lower(case_number) = lower($2)", &q);
    if (!r)
        return c->status;
    int64_t id = PQntuples(r) == 1 ? mdt_db_int(r, 0, 0) : 0;
    PQclear(r);
    mdt_err_set(&k->run.ans.err, 409, "conflict", "case_number",
                "your agency already has a case with this case_number");
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    int rc = cx ? MDT_DB_OK : MDT_DB_ERROR;
    if (rc == MDT_DB_OK && id)
        rc = mdt_casectx_load(c, id, cx);
    if (rc == MDT_DB_OK && id)
        rc = mdt_cases_load_json(c, &k->p, cx, &k->run.ans.current);
    if (rc == MDT_DB_OK && !k->run.ans.current)
        k->run.ans.current = json_null();
    free(cx);
    return rc == MDT_DB_OK ? MDT_RUN_ANSWERED : rc;
}

static int create_record(mdt_dbc_t *c, create_t *k)
{
    char *lit = mdt_ids_literal(k->agencies, k->n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, k->case_id);
    mdt_db_param_str(&q, lit);
    int rc = mdt_db_exec(c,
                         "INSERT INTO case_agencies (case_id, agency_id)"
                         " SELECT $1, unnest($2::bigint[])",
                         &q);
    free(lit);
    json_t *detail =
        json_pack("{s:o, s:s, s:o}", "agencies", mdt_entries_ids_json(k->agencies, k->n_agencies),
                  "status", case_statuses[k->status], "related_case_ids",
                  mdt_entries_ids_json(k->related, k->n_related));
    mdt_audit_rec_t rec = {.action = "case.create",
                           .object_type = "case",
                           .object_id = k->case_id,
                           .case_id = k->case_id,
                           .detail = detail};
    json_t *data = json_pack("{s:s, s:I}", "object_type", "case", "id", (json_int_t)k->case_id);
    mdt_event_t ev = {.case_id = k->case_id,
                      .kind = "case.updated",
                      .object_type = "case",
                      .object_id = k->case_id,
                      .actor_id = k->p.user_id,
                      .data = data};
    if (rc == MDT_DB_OK)
        rc = mdt_audit_append_event(c, &k->actor, &rec, &ev);
    json_decref(detail);
    json_decref(data);
    return rc;
}

static int create_answer(mdt_dbc_t *c, create_t *k)
{
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    if (!cx)
        return MDT_DB_ERROR;
    int rc = mdt_casectx_load(c, k->case_id, cx);
    if (rc == MDT_DB_OK)
        rc = mdt_cases_load_json(c, &k->p, cx, &k->run.ans.result);
    free(cx);
    return rc == MDT_DB_OK && !k->run.ans.result ? MDT_DB_ERROR : rc;
}

static int create_work(mdt_dbc_t *c, void *arg)
{
    create_t *k = arg;
    int rc = create_check_agencies(c, k);
    if (rc == MDT_DB_OK && !k->run.ans.err.status)
        rc = mdt_cases_check_related(c, &k->p, k->related, k->n_related, 0, &k->run.ans.err);
    if (rc == MDT_DB_OK && !k->run.ans.err.status)
        rc = create_insert(c, k);
    if (rc == MDT_DB_OK && !k->run.ans.err.status && !k->case_id)
        return create_duplicate(c, k);
    if (rc == MDT_DB_OK && !k->run.ans.err.status)
        rc = create_record(c, k);
    if (rc == MDT_DB_OK && !k->run.ans.err.status)
        rc = create_answer(c, k);
    return rc;
}

void mdt_cases_create(mdt_req_t *req)
{
    mdt_principal_t p = mdt_auth_principal(req);
    if (!mdt_authz_case_create(&p)) {
        mdt_http_error(req, 403, "forbidden", NULL, "only supervisors create cases");
        return;
    }
    create_t *k = calloc(1, sizeof(*k));
    if (!k) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    req->state = k;
    req->state_free = create_free;
    k->req = req;
    k->p = p;
    mdt_audit_actor_from_req(req, &k->actor);
    mdt_err_t e = {0};
    if (create_parse(k, req->json, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mdt_run_init(&k->run, req, k, create_work);
    k->run.ans.ok_status = 201;
    k->run.idempotent = 1;
    mdt_run_start(&k->run);
}
