/* cases_update.c - PATCH /cases/{id}: lead fields (status, agencies, lead,
 * PII owners, review_every_weeks) and the legal hold by a supervisor of the
 * lead agency, member fields by any member,
 * a version check with 409 and error.current, related cases the caller cannot see kept untouched.
 */
#include "cases_int.h"

/* ---- PATCH /cases/{id} ---- */

typedef struct {
    int64_t version;
    int status; /* -1 = not given */
    int has_agencies, has_related, has_muni;
    int64_t *agencies, *related;
    size_t n_agencies, n_related;
    int64_t lead;                     /* 0 = not given */
    int64_t owners[MDT_PII_COUNT];    /* 0 = not given */
    const char *alias, *municipality; /* borrowed; municipality NULL = clear */
    int has_cadence;
    int64_t cadence; /* review_every_weeks; 0 = null (no cadence) */
    int hold;        /* legal_hold: -1 = not given, else 0/1 */
} patch_t;

/* The case row as it is now (locked), for comparing with the patch. */
typedef struct {
    char status[16];
    char alias[128];
    char muni[128];
    int has_muni;
    int64_t related[CASES_MAX_RELATED];
    size_t n_related;
    int64_t cadence; /* 0 = none */
    int hold;        /* legal_hold */
} current_t;

/* What the patch makes of the case. */
typedef struct {
    int status;
    int64_t lead;
    int64_t owners[MDT_PII_COUNT];
    const int64_t *agencies;
    size_t n_agencies;
    int64_t cadence;     /* 0 = none */
    mdt_idvec_t related; /* the caller's list plus the related cases it cannot see */
    const char *alias, *municipality;
    const char *changed[12]; /* field names */
    int n_changed;
    const char *first_lead, *first_member; /* the first changed field of each kind */
    int hold;                              /* -1: the legal hold stays; else its new value */
} target_t;

static void patch_free(void *arg)
{
    patch_t *pt = arg;
    if (!pt)
        return;
    free(pt->agencies);
    free(pt->related);
    free(pt);
}

static int patch_parse_owners(json_t *b, patch_t *pt, mdt_err_t *e)
{
    json_t *o = json_object_get(b, "pii_owners");
    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o)) {
        mdt_err_set(e, 400, "bad_request", "pii_owners", "pii_owners must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        mdt_pii_cat_t cat;
        if (mdt_authz_pii_cat_parse(key, &cat) != 0) {
            mdt_err_set(e, 422, "validation", "pii_owners",
                        "pii_owners takes identity, contact, immigration and health");
            return -1;
        }
        if (mdt_json_int(o, key, 0, 1, INT64_MAX, &pt->owners[cat], e) < 0) {
            snprintf(e->field, sizeof(e->field), "pii_owners.%s", key);
            return -1;
        }
    }
    return 0;
}

/* review_every_weeks: an integer 1-52, or null (no cadence); any other
 * value is 422 naming the field. */
static int patch_parse_cadence(json_t *b, patch_t *pt, mdt_err_t *e)
{
    json_t *v = json_object_get(b, "review_every_weeks");
    pt->has_cadence = v != NULL;
    if (!v || json_is_null(v))
        return 0;
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (n < 1 || n > 52) {
        mdt_err_set(e, 422, "validation", "review_every_weeks",
                    "review_every_weeks must be a whole number of weeks from 1 to 52, or null");
        return -1;
    }
    pt->cadence = n;
    return 0;
}

/* legal_hold: true or false (docs/retention.md). */
static int patch_parse_hold(json_t *b, patch_t *pt, mdt_err_t *e)
{
    int v = 0, rc = mdt_json_bool(b, "legal_hold", 0, &v, e);
    pt->hold = rc == 0 ? v : -1;
    return rc < 0 ? -1 : 0;
}

static int patch_parse(json_t *b, patch_t *pt, mdt_err_t *e)
{
    pt->status = -1;
    if (mdt_json_int(b, "version", 1, 1, INT32_MAX, &pt->version, e) < 0 ||
        mdt_json_enum(b, "status", 0, case_statuses, &pt->status, e) < 0 ||
        mdt_cases_read_name(b, "alias", 0, 100, &pt->alias, e) < 0 ||
        mdt_json_int(b, "lead_agency_id", 0, 1, INT64_MAX, &pt->lead, e) < 0 ||
        patch_parse_owners(b, pt, e) < 0 || patch_parse_cadence(b, pt, e) < 0 ||
        patch_parse_hold(b, pt, e) < 0)
        return -1;
    int rc =
        mdt_json_ids(b, "agencies", 0, MDT_CASE_MAX_AGENCIES, &pt->agencies, &pt->n_agencies, e);
    if (rc < 0)
        return -1;
    pt->has_agencies = rc == 0;
    rc = mdt_json_ids(b, "related_case_ids", 0, CASES_MAX_RELATED, &pt->related, &pt->n_related, e);
    if (rc < 0)
        return -1;
    pt->has_related = rc == 0 || json_is_null(json_object_get(b, "related_case_ids"));
    json_t *m = json_object_get(b, "municipality");
    rc = mdt_json_str(b, "municipality", 0, 100, &pt->municipality, e);
    if (rc < 0)
        return -1;
    pt->has_muni = m != NULL;
    if (pt->municipality && mdt_cases_blank(pt->municipality))
        pt->municipality = NULL; /* "" or null clears it */
    return 0;
}

/* Locks the case row, reloads the context under the lock, reads the row. */
static int update_lock(mdt_dbc_t *c, mdt_caseop_t *op, current_t *cur)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    PGresult *r =
        mdt_db_query(c,
                     "SELECT status, alias, municipality, related_case_ids::text,"
                     " coalesce(review_every_weeks, 0), legal_hold FROM cases WHERE id = $1"
                     " FOR UPDATE",
                     &q);
    if (!r)
        return c->status;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return MDT_DB_NOT_FOUND;
    }
    snprintf(cur->status, sizeof(cur->status), "%s", mdt_db_str(r, 0, 0));
    snprintf(cur->alias, sizeof(cur->alias), "%s", mdt_db_str(r, 0, 1));
    cur->has_muni = mdt_db_str(r, 0, 2) != NULL;
    snprintf(cur->muni, sizeof(cur->muni), "%s", cur->has_muni ? mdt_db_str(r, 0, 2) : "");
    cur->n_related = mdt_casectx_parse_ids(mdt_db_str(r, 0, 3), cur->related, CASES_MAX_RELATED);
    cur->cadence = mdt_db_int(r, 0, 4);
    cur->hold = mdt_db_bool(r, 0, 5);
    PQclear(r);
    int rc = mdt_casectx_load(c, op->case_id, &op->cx);
    if (rc != MDT_DB_OK)
        return rc;
    op->view = mdt_casectx_view(&op->cx);
    return mdt_authz_case_visible(&op->p, &op->view) ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}

/* Answers 409 with the case as the caller sees it now. */
static int update_conflict(mdt_dbc_t *c, mdt_caseop_t *op)
{
    json_t *cur;
    int rc = mdt_cases_load_json(c, &op->p, &op->cx, &cur);
    if (rc != MDT_DB_OK)
        return rc;
    return mdt_entries_conflict(op, "the case was changed by someone else; reload it and try again",
                                cur);
}

static void target_mark(target_t *t, const char *field, bool lead_field)
{
    if (t->n_changed < (int)(sizeof(t->changed) / sizeof(t->changed[0])))
        t->changed[t->n_changed++] = field;
    if (lead_field && !t->first_lead)
        t->first_lead = field;
    if (!lead_field && !t->first_member)
        t->first_member = field;
}

/* The lead fields the patch sets, and whether they change anything. */
static void target_lead_fields(const mdt_caseop_t *op, const patch_t *pt, const current_t *cur,
                               target_t *t)
{
    const mdt_casectx_t *cx = &op->cx;
    t->status = pt->status;
    if (pt->status < 0) {
        for (int i = 0; case_statuses[i]; i++) {
            if (strcmp(case_statuses[i], cur->status) == 0)
                t->status = i;
        }
    } else if (strcmp(case_statuses[pt->status], cur->status) != 0) {
        target_mark(t, "status", true);
    }
    t->agencies = pt->has_agencies ? pt->agencies : cx->agencies;
    t->n_agencies = pt->has_agencies ? pt->n_agencies : cx->n_agencies;
    if (!mdt_cases_ids_same_set(t->agencies, t->n_agencies, cx->agencies, cx->n_agencies))
        target_mark(t, "agencies", true);
    t->lead = pt->lead ? pt->lead : cx->lead_agency_id;
    if (t->lead != cx->lead_agency_id)
        target_mark(t, "lead_agency_id", true);
    bool owners_changed = false;
    for (int k = 0; k < MDT_PII_COUNT; k++) {
        t->owners[k] = pt->owners[k] ? pt->owners[k] : cx->pii_owner[k];
        owners_changed |= t->owners[k] != cx->pii_owner[k];
    }
    if (owners_changed)
        target_mark(t, "pii_owners", true);
    t->cadence = pt->has_cadence ? pt->cadence : cur->cadence;
    if (t->cadence != cur->cadence)
        target_mark(t, "review_every_weeks", true);
}

/* The member fields; related keeps the ids the caller cannot see. */
static int target_member_fields(mdt_dbc_t *c, const mdt_caseop_t *op, const patch_t *pt,
                                const current_t *cur, target_t *t)
{
    t->alias = pt->alias ? pt->alias : cur->alias;
    if (strcmp(t->alias, cur->alias) != 0)
        target_mark(t, "alias", false);
    t->municipality = pt->has_muni ? pt->municipality : (cur->has_muni ? cur->muni : NULL);
    bool same_muni = (!t->municipality && !cur->has_muni) ||
                     (t->municipality && cur->has_muni && strcmp(t->municipality, cur->muni) == 0);
    if (!same_muni)
        target_mark(t, "municipality", false);
    mdt_idvec_t seen = {0};
    int rc = mdt_cases_filter_visible(c, &op->p, cur->related, cur->n_related, &seen);
    for (size_t i = 0; rc == MDT_DB_OK && i < cur->n_related; i++) {
        bool hidden = !mdt_ids_has(seen.v, seen.n, cur->related[i]);
        bool keep =
            hidden || !pt->has_related || mdt_ids_has(pt->related, pt->n_related, cur->related[i]);
        if (keep && mdt_idvec_push(&t->related, cur->related[i]) != 0)
            rc = MDT_DB_ERROR;
    }
    for (size_t i = 0; rc == MDT_DB_OK && i < pt->n_related; i++) {
        if (!mdt_ids_has(t->related.v, t->related.n, pt->related[i]) &&
            mdt_idvec_push(&t->related, pt->related[i]) != 0)
            rc = MDT_DB_ERROR;
    }
    mdt_idvec_free(&seen);
    if (!mdt_cases_ids_same_set(t->related.v, t->related.n, cur->related, cur->n_related))
        target_mark(t, "related_case_ids", false);
    return rc;
}

/* 403 forbidden naming the first field the caller may not change. A
 * refused legal hold is audited as the hold's action. */
static bool update_authorized(mdt_caseop_t *op, const target_t *t)
{
    const char *field = NULL;
    if (t->hold >= 0 && !mdt_authz_case_legal_hold(&op->p, &op->view)) {
        op->run.audit.action = t->hold ? "case.legal_hold.set" : "case.legal_hold.clear";
        field = "legal_hold";
    } else if (t->first_lead && !mdt_authz_case_update_lead_fields(&op->p, &op->view))
        field = t->first_lead;
    else if (t->first_member && !mdt_authz_case_update_member_fields(&op->p, &op->view))
        field = t->first_member;
    if (!field)
        return true;
    char msg[160];
    snprintf(msg, sizeof(msg), "you may not change %s of this case", field);
    mdt_run_fail(&op->run, 403, "forbidden", field, msg);
    return false;
}

/* Agencies added to the case and a new lead must exist and be active. */
static int update_check_active(mdt_dbc_t *c, mdt_caseop_t *op, const target_t *t)
{
    mdt_idvec_t need = {0};
    for (size_t i = 0; i < t->n_agencies; i++) {
        if (!mdt_ids_has(op->cx.agencies, op->cx.n_agencies, t->agencies[i]) &&
            mdt_idvec_push(&need, t->agencies[i]) != 0)
            return MDT_DB_ERROR;
    }
    if (t->lead != op->cx.lead_agency_id && !mdt_ids_has(need.v, need.n, t->lead) &&
        mdt_idvec_push(&need, t->lead) != 0)
        return MDT_DB_ERROR;
    mdt_idvec_t found = {0};
    char *lit = mdt_ids_literal(need.v, need.n);
    int rc = lit ? MDT_DB_OK : MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r = need.n && lit ? mdt_db_query(c,
                                               "SELECT id FROM agencies"
                                               " WHERE id = ANY($1::bigint[]) AND active",
                                               &q)
                                : NULL;
    if (need.n && lit && !r)
        rc = c->status;
    for (int i = 0; r && i < PQntuples(r); i++)
        mdt_idvec_push(&found, mdt_db_int(r, i, 0));
    for (size_t i = 0; rc == MDT_DB_OK && !op->run.ans.err.status && i < need.n; i++) {
        if (!mdt_ids_has(found.v, found.n, need.v[i]))
            mdt_err_set(&op->run.ans.err, 422, "validation",
                        mdt_ids_has(op->cx.agencies, op->cx.n_agencies, need.v[i])
                            ? "lead_agency_id"
                            : "agencies",
                        "agency %lld does not exist or is not active", (long long)need.v[i]);
    }
    PQclear(r);
    free(lit);
    mdt_idvec_free(&need);
    mdt_idvec_free(&found);
    return rc;
}

/* The lead and every PII owner must be agencies of the case. */
static void update_check_members(mdt_caseop_t *op, const patch_t *pt, const target_t *t)
{
    if (!mdt_ids_has(t->agencies, t->n_agencies, t->lead)) {
        if (pt->lead)
            mdt_err_set(&op->run.ans.err, 422, "validation", "lead_agency_id",
                        "lead_agency_id must be one of the case's agencies");
        else
            mdt_err_set(&op->run.ans.err, 422, "validation", "agencies",
                        "agencies must keep the lead agency");
        return;
    }
    for (int k = 0; k < MDT_PII_COUNT; k++) {
        const char *cat = mdt_authz_pii_cat_name((mdt_pii_cat_t)k);
        if (mdt_ids_has(t->agencies, t->n_agencies, t->owners[k]))
            continue;
        if (pt->owners[k]) {
            char field[64];
            snprintf(field, sizeof(field), "pii_owners.%s", cat);
            const char *fp = field; /* a pointer: mdt_err_set tests it */
            mdt_err_set(&op->run.ans.err, 422, "validation", fp,
                        "the %s owner must be one of the case's agencies", cat);
        } else {
            mdt_err_set(&op->run.ans.err, 422, "validation", "agencies",
                        "agencies must keep the owner of %s (give it another owner first)", cat);
        }
        return;
    }
}

static int update_validate(mdt_dbc_t *c, mdt_caseop_t *op, const patch_t *pt, const target_t *t)
{
    update_check_members(op, pt, t);
    int rc = MDT_DB_OK;
    if (!op->run.ans.err.status && t->first_lead)
        rc = update_check_active(c, op, t);
    if (rc == MDT_DB_OK && !op->run.ans.err.status && pt->has_related)
        rc = mdt_cases_check_related(c, &op->p, pt->related, pt->n_related, op->case_id,
                                     &op->run.ans.err);
    if (rc == MDT_DB_OK && !op->run.ans.err.status && t->related.n > CASES_MAX_RELATED)
        mdt_err_set(&op->run.ans.err, 422, "validation", "related_case_ids",
                    "a case may have at most %d related cases", CASES_MAX_RELATED);
    return rc;
}

static int update_write_row(mdt_dbc_t *c, const mdt_caseop_t *op, const target_t *t)
{
    char *rel = mdt_ids_literal(t->related.v, t->related.n);
    if (!rel)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_str(&q, case_statuses[t->status]);
    mdt_db_param_str(&q, t->alias);
    mdt_db_param_str(&q, t->municipality);
    mdt_db_param_int(&q, t->lead);
    mdt_db_param_str(&q, rel);
    for (int k = 0; k < MDT_PII_COUNT; k++)
        mdt_db_param_int(&q, t->owners[k]);
    if (t->cadence)
        mdt_db_param_int(&q, t->cadence);
    else
        mdt_db_param_str(&q, NULL);
    int rc = mdt_db_exec(c,
                         "UPDATE cases SET status = $2, alias = $3, municipality = $4,"
                         " lead_agency_id = $5, related_case_ids = $6::bigint[],"
                         " pii_owner_identity = $7, pii_owner_contact = $8,"
                         " pii_owner_immigration = $9, pii_owner_health = $10,"
                         " review_every_weeks = $11::int,"
                         " version = version + 1, updated_at = now() WHERE id = $1",
                         &q);
    free(rel);
    return rc;
}

/* Replaces case_agencies with the target set (membership rows carry no
 * case content; the audit row keeps who was added and removed). */
static int update_write_agencies(mdt_dbc_t *c, const mdt_caseop_t *op, const target_t *t)
{
    char *lit = mdt_ids_literal(t->agencies, t->n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_str(&q, lit);
    int rc = mdt_db_exec(c,
                         "DELETE FROM case_agencies WHERE case_id = $1"
                         " AND agency_id <> ALL($2::bigint[])",
                         &q);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c,
                         "INSERT INTO case_agencies (case_id, agency_id)"
                         " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
                         &q);
    free(lit);
    return rc;
}

/* The audit detail: changed field names, enum values and agency ids only. */
static json_t *update_detail(const mdt_caseop_t *op, const target_t *t)
{
    json_t *fields = json_array(), *added = json_array(), *removed = json_array();
    for (int i = 0; i < t->n_changed; i++)
        json_array_append_new(fields, json_string(t->changed[i]));
    for (size_t i = 0; i < t->n_agencies; i++) {
        if (!mdt_ids_has(op->cx.agencies, op->cx.n_agencies, t->agencies[i]))
            json_array_append_new(added, json_integer(t->agencies[i]));
    }
    for (size_t i = 0; i < op->cx.n_agencies; i++) {
        if (!mdt_ids_has(t->agencies, t->n_agencies, op->cx.agencies[i]))
            json_array_append_new(removed, json_integer(op->cx.agencies[i]));
    }
    return json_pack("{s:o, s:s, s:I, s:o, s:o}", "fields", fields, "status",
                     case_statuses[t->status], "lead_agency_id", (json_int_t)t->lead,
                     "agencies_added", added, "agencies_removed", removed);
}

/* Sets or clears the legal hold with who and when; bumps the version
 * unless the other fields' write does. */
static int update_write_hold(mdt_dbc_t *c, const mdt_caseop_t *op, const target_t *t)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_str(&q, t->hold ? "true" : "false");
    mdt_db_param_int(&q, op->p.user_id);
    mdt_db_param_int(&q, t->n_changed ? 0 : 1);
    return mdt_db_exec(c,
                       "UPDATE cases SET legal_hold = $2::boolean,"
                       " legal_hold_set_by = CASE WHEN $2::boolean THEN $3::bigint END,"
                       " legal_hold_set_at = CASE WHEN $2::boolean THEN now() END,"
                       " version = version + $4::int, updated_at = now() WHERE id = $1",
                       &q);
}

/* The hold's audit row (case.legal_hold.set / .clear); the change's event
 * when nothing else changed. */
static int update_record_hold(mdt_dbc_t *c, mdt_caseop_t *op, const target_t *t)
{
    const char *action = t->hold ? "case.legal_hold.set" : "case.legal_hold.clear";
    if (!t->n_changed)
        return mdt_caseop_record(c, op, action, "case", op->case_id, "case.updated", NULL);
    mdt_audit_rec_t rec = {
        .action = action, .object_type = "case", .object_id = op->case_id, .case_id = op->case_id};
    return mdt_audit_append(c, &op->actor, &rec);
}

static int update_apply(mdt_dbc_t *c, mdt_caseop_t *op, const target_t *t)
{
    int rc = MDT_DB_OK;
    if (t->hold >= 0 && (rc = update_write_hold(c, op, t)) == MDT_DB_OK)
        rc = update_record_hold(c, op, t);
    if (rc == MDT_DB_OK && t->n_changed)
        rc = update_write_row(c, op, t);
    if (rc == MDT_DB_OK && t->n_changed &&
        !mdt_cases_ids_same_set(t->agencies, t->n_agencies, op->cx.agencies, op->cx.n_agencies))
        rc = update_write_agencies(c, op, t);
    json_t *detail = rc == MDT_DB_OK && t->n_changed ? update_detail(op, t) : NULL;
    if (detail)
        rc = mdt_caseop_record(c, op, "case.update", "case", op->case_id, "case.updated", detail);
    json_decref(detail);
    if (rc == MDT_DB_OK)
        rc = mdt_casectx_load(c, op->case_id, &op->cx);
    return rc;
}

static int update_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    patch_t *pt = op->ud;
    current_t cur;
    target_t t = {0};
    int rc = update_lock(c, op, &cur);
    if (rc != MDT_DB_OK)
        return rc;
    if (pt->version != op->cx.version)
        return update_conflict(c, op);
    target_lead_fields(op, pt, &cur, &t);
    t.hold = pt->hold >= 0 && pt->hold != cur.hold ? pt->hold : -1;
    rc = target_member_fields(c, op, pt, &cur, &t);
    if (rc == MDT_DB_OK && update_authorized(op, &t))
        rc = update_validate(c, op, pt, &t);
    if (rc == MDT_DB_OK && !op->run.ans.err.status && (t.n_changed || t.hold >= 0))
        rc = update_apply(c, op, &t);
    mdt_idvec_free(&t.related);
    if (rc != MDT_DB_OK || op->run.ans.err.status)
        return rc;
    rc = mdt_cases_load_json(c, &op->p, &op->cx, &op->run.ans.result);
    return rc == MDT_DB_OK && !op->run.ans.result ? MDT_DB_NOT_FOUND : rc;
}

void mdt_cases_update(mdt_req_t *req)
{
    patch_t *pt = calloc(1, sizeof(*pt));
    mdt_err_t e = {0};
    if (!pt) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    if (patch_parse(req->json, pt, &e) != 0) {
        patch_free(pt);
        mdt_http_fail(req, &e);
        return;
    }
    mdt_caseop_t *op = mdt_caseop_new(req, update_work);
    if (!op) {
        patch_free(pt);
        return;
    }
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    op->ud = pt;
    op->ud_free = patch_free;
    mdt_caseop_run(op);
}
