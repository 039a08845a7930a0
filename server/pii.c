/* pii.c - protected victim details and the consents that share them.
 *
 * A case's details live in one `pii` row per category (identity, contact,
 * immigration, health and the unprotected language); every write also
 * keeps its data in `pii_versions` under the case's next `pii_version`,
 * which is the `version` clients send back. What a caller sees is decided
 * by authz.c alone (pii_mask, case_update_member_fields for language,
 * pii_write, consent_record/revoke, consent_names_visible); this file only
 * validates, stores and serializes. Serialization is one function of (rows,
 * principal, case context, now) used for REST answers, the board and 409
 * `current`. Consents are never deleted: DELETE sets revoked_at. Expiry is
 * evaluated at read time (casectx.c drops revoked and expired consents,
 * authz compares expires_at with now), so nothing has to run when one runs
 * out. Decisions are written down in docs/consents.md. */
#include "pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caseop.h"
#include "ctx.h"
#include "ids.h"
#include "json.h"
#include "sealed.h"

#define PII_LANGUAGE   MDT_PII_COUNT /* index of the unprotected category */
#define PII_CATS       (MDT_PII_COUNT + 1)
#define PII_STR_MAX    500
#define PII_LIST_MAX   20
#define CONSENT_BY_MAX 10
#define CONSENT_NAME   200
#define CONSENT_NOTE   2000

/* ---- the shape of each category ------------------------------------------ */

typedef enum { F_STR, F_DATE, F_BOOL, F_STRLIST } field_type_t;

typedef struct {
    const char *name;
    field_type_t type;
} field_spec_t;

static const field_spec_t IDENTITY_F[] = {{"legal_name", F_STR}, {"date_of_birth", F_DATE}, {0}};
static const field_spec_t CONTACT_F[] = {
    {"address", F_STR}, {"phone", F_STR}, {"school", F_STR}, {0}};
static const field_spec_t IMMIGRATION_F[] = {{"status", F_STR},
                                             {"country_of_birth", F_STR},
                                             {"foreign_born", F_BOOL},
                                             {"unaccompanied_minor", F_BOOL},
                                             {"pending_applications", F_STRLIST},
                                             {0}};
static const field_spec_t HEALTH_F[] = {{"notes", F_STR}, {0}};
static const field_spec_t LANGUAGE_F[] = {
    {"preferred", F_STR}, {"interpreter_needed", F_BOOL}, {0}};

/* Indexed like mdt_pii_cat_t, language last. */
static const field_spec_t *const CAT_FIELDS[PII_CATS] = {IDENTITY_F, CONTACT_F, IMMIGRATION_F,
                                                         HEALTH_F, LANGUAGE_F};

static const char *cat_name(int cat)
{
    return cat == PII_LANGUAGE ? "language" : mdt_authz_pii_cat_name((mdt_pii_cat_t)cat);
}

static int cat_index(const char *name)
{
    for (int i = 0; i < PII_CATS; i++) {
        if (strcmp(cat_name(i), name) == 0)
            return i;
    }
    return -1;
}

/* Prefixes e->field with path ("identity" + "legal_name" → "identity.legal_name"). */
static void err_path(mdt_err_t *e, const char *path)
{
    char f[sizeof(e->field)];
    if (snprintf(f, sizeof(f), "%s%s%s", path, e->field[0] ? "." : "", e->field) < 0)
        return;
    memcpy(e->field, f, sizeof(f));
}

/* ---- validating a PUT ------------------------------------------------------ */

/* An array of at most PII_LIST_MAX non-empty strings; new reference or NULL. */
static json_t *strlist_parse(json_t *v, const char *key, mdt_err_t *e)
{
    if (!json_is_array(v)) {
        mdt_err_set(e, 400, "bad_request", key, "%s must be an array of strings", key);
        return NULL;
    }
    if (json_array_size(v) > PII_LIST_MAX) {
        mdt_err_set(e, 422, "validation", key, "%s may hold at most %d items", key, PII_LIST_MAX);
        return NULL;
    }
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it)
    {
        json_t *wrap = json_pack("{s:O}", key, it);
        const char *s;
        int rc = mdt_json_str(wrap, key, 1, PII_STR_MAX, &s, e);
        json_decref(wrap);
        if (rc == 0 && !*s)
            mdt_err_set(e, 422, "validation", key, "%s items must not be empty", key);
        if (rc != 0 || !*s)
            return NULL;
    }
    return json_incref(v);
}

/* One field of a category, read from obj: a new reference (json null when
 * absent), or NULL with e filled (e->field is the bare key). */
static json_t *field_parse(json_t *obj, const field_spec_t *f, mdt_err_t *e)
{
    const char *s;
    char date[11];
    int b, rc;
    json_t *v = json_object_get(obj, f->name);
    switch (f->type) {
    case F_STR:
        rc = mdt_json_str(obj, f->name, 0, PII_STR_MAX, &s, e);
        return rc < 0 ? NULL : rc ? json_null() : json_string(s);
    case F_DATE:
        rc = mdt_json_date(obj, f->name, 0, date, e);
        return rc < 0 ? NULL : rc ? json_null() : json_string(date);
    case F_BOOL:
        rc = mdt_json_bool(obj, f->name, 0, &b, e);
        return rc < 0 ? NULL : rc ? json_null() : json_boolean(b);
    case F_STRLIST:
        return !v || json_is_null(v) ? json_array() : strlist_parse(v, f->name, e);
    }
    return NULL;
}

/* Validates one category's object; a new normalized object holding every
 * field of the category (null or [] when not given), or NULL with e set. */
static json_t *cat_parse(int cat, json_t *v, mdt_err_t *e)
{
    const char *name = cat_name(cat);
    if (!json_is_object(v)) {
        mdt_err_set(e, 400, "bad_request", name, "%s must be an object", name);
        return NULL;
    }
    const field_spec_t *fs = CAT_FIELDS[cat];
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        int known = 0;
        for (const field_spec_t *f = fs; f->name; f++)
            known |= strcmp(f->name, key) == 0;
        if (!known) {
            mdt_err_set(e, 422, "validation", "", "unknown field %.60s in %s", key, name);
            snprintf(e->field, sizeof(e->field), "%s.%.50s", name, key);
            return NULL;
        }
    }
    json_t *out = json_object();
    for (const field_spec_t *f = fs; f->name; f++) {
        json_t *fv = field_parse(v, f, e);
        if (!fv) {
            err_path(e, name);
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, f->name, fv);
    }
    return out;
}

typedef struct {
    int64_t version;
    json_t *data[PII_CATS]; /* normalized, NULL when not named */
} pii_put_t;

static void pii_put_free(void *arg)
{
    pii_put_t *u = arg;
    for (int i = 0; u && i < PII_CATS; i++)
        json_decref(u->data[i]);
    free(u);
}

/* Fills u from the body: version and the categories it names. */
static int pii_put_parse(json_t *body, pii_put_t *u, mdt_err_t *e)
{
    if (mdt_json_int(body, "version", 1, 0, INT32_MAX, &u->version, e) != 0)
        return -1;
    int named = 0;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "version") == 0)
            continue;
        int cat = cat_index(key);
        if (cat < 0) {
            mdt_err_set(e, 422, "validation", "", "unknown category %.60s", key);
            snprintf(e->field, sizeof(e->field), "%.60s", key);
            return -1;
        }
        if (!(u->data[cat] = cat_parse(cat, v, e)))
            return -1;
        named++;
    }
    if (!named) {
        mdt_err_set(e, 422, "validation", NULL, "name at least one category to replace");
        return -1;
    }
    return 0;
}

/* ---- serializing ------------------------------------------------------------ */

/* A category object with every field of its shape, from stored data (NULL
 * when nothing was saved yet). */
static json_t *cat_json(int cat, json_t *data)
{
    json_t *out = json_object();
    for (const field_spec_t *f = CAT_FIELDS[cat]; f->name; f++) {
        json_t *v = data ? json_object_get(data, f->name) : NULL;
        if (!v)
            v = f->type == F_STRLIST ? json_array() : json_null();
        else
            json_incref(v);
        json_object_set_new(out, f->name, v);
    }
    return out;
}

/* The categories p sees: pii_mask bits plus PII_LANGUAGE for any member. */
static unsigned pii_visible_mask(const mdt_principal_t *p, const mdt_case_ctx_t *v, int64_t now)
{
    unsigned mask = mdt_authz_pii_mask(p, v, now);
    if (mdt_authz_case_visible(p, v))
        mask |= 1u << PII_LANGUAGE;
    return mask;
}

/* The text[] literal of the categories in mask (fixed names, no user text). */
static void cats_literal(unsigned mask, char out[96])
{
    size_t n = (size_t)snprintf(out, 96, "{");
    for (int i = 0; i < PII_CATS; i++) {
        if (mask & (1u << i))
            n += (size_t)snprintf(out + n, 96 - n, "%s%s", n > 1 ? "," : "", cat_name(i));
    }
    snprintf(out + n, 96 - n, "}");
}

json_t *mdt_pii_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx, int64_t now)
{
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    if (!mdt_authz_case_visible(p, &view))
        return NULL;
    unsigned mask = pii_visible_mask(p, &view, now);
    char cats[96];
    cats_literal(mask, cats);
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, cx->case_id);
    mdt_db_param_str(&q, cats);
    /* data #>> '{}': a sealed category is a JSON string, an older one an object. */
    static const mdt_sealed_col_t SEALED[] = {{2, "pii", "data", 3, 3, NULL, 1}};
    PGresult *r =
        mdt_sealed_query(c,
                         "SELECT k.pii_version, p.category, p.data #>> '{}', k.id FROM cases k"
                         " LEFT JOIN pii p ON p.case_id = k.id AND p.category = ANY($2::text[])"
                         " WHERE k.id = $1",
                         &q, SEALED, 1);
    if (!r)
        return NULL;
    json_t *data[PII_CATS] = {0};
    for (int i = 0; i < PQntuples(r); i++) {
        int cat = mdt_db_str(r, i, 1) ? cat_index(mdt_db_str(r, i, 1)) : -1;
        if (cat >= 0 && (mask & (1u << cat)))
            data[cat] = json_loads(mdt_db_str(r, i, 2), 0, NULL);
    }
    json_t *out =
        json_pack("{s:I}", "version", (json_int_t)(PQntuples(r) ? mdt_db_int(r, 0, 0) : 0));
    PQclear(r);
    for (int i = 0; i < PII_CATS; i++) {
        if (mask & (1u << i))
            json_object_set_new(out, cat_name(i), cat_json(i, data[i]));
        json_decref(data[i]);
    }
    return out;
}

/* ---- the immigration facts a report counts ---------------------------------------- */

/* 1, 0, or -1 for a boolean field of data that is absent or not a boolean. */
static signed char flag_of(const json_t *data, const char *field)
{
    const json_t *v = json_object_get(data, field);
    return json_is_boolean(v) ? (signed char)json_is_true(v) : (signed char)-1;
}

int mdt_pii_immigration_flags(mdt_dbc_t *c, const int64_t *ids, size_t n,
                              signed char (*flags)[MDT_PII_IMMIGRATION_FLAGS])
{
    static const char *const FIELDS[MDT_PII_IMMIGRATION_FLAGS] = {"foreign_born",
                                                                  "unaccompanied_minor"};
    static const mdt_sealed_col_t SEALED[] = {{1, "pii", "data", 0, 0, "immigration", -1}};
    if (n == 0)
        return MDT_DB_OK;
    memset(flags, -1, n * sizeof(*flags));
    char *lit = mdt_ids_literal(ids, n);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r =
        mdt_sealed_query(c,
                         "SELECT case_id, data #>> '{}' FROM pii"
                         " WHERE case_id = ANY($1::bigint[]) AND category = 'immigration'",
                         &q, SEALED, 1);
    free(lit);
    if (!r)
        return c->status;
    for (int row = 0; row < PQntuples(r); row++) {
        int64_t id = mdt_db_int(r, row, 0);
        const char *text = mdt_db_str(r, row, 1);
        json_t *data = text ? json_loads(text, 0, NULL) : NULL;
        for (size_t i = 0; i < n; i++) {
            for (int f = 0; ids[i] == id && f < MDT_PII_IMMIGRATION_FLAGS; f++)
                flags[i][f] = flag_of(data, FIELDS[f]);
        }
        json_decref(data);
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* ---- GET /cases/{id}/pii ------------------------------------------------------ */

static int pii_get_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    op->run.ans.result = mdt_pii_json(c, &op->p, &op->cx, op->now);
    return op->run.ans.result ? MDT_DB_OK : c->status ? c->status : MDT_DB_ERROR;
}

void mdt_pii_get(mdt_req_t *req)
{
    mdt_caseop_t *op = mdt_caseop_new(req, pii_get_work);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    op->read_action = "pii.read";
    op->object_type = "pii";
    mdt_caseop_run(op);
}

/* ---- PUT /cases/{id}/pii ------------------------------------------------------ */

/* Answers 409 with error.current (stolen; NULL gives null) through the
 * runner, which rolls back. Returns MDT_RUN_ANSWERED. */
static int pii_conflict(mdt_caseop_t *op, const char *message, json_t *current)
{
    return mdt_run_conflict(&op->run, message, current ? current : json_null());
}

/* The first named category p may not write, or -1. */
static int pii_put_forbidden(const mdt_caseop_t *op, const pii_put_t *u)
{
    for (int i = 0; i < PII_CATS; i++) {
        if (!u->data[i])
            continue;
        bool ok = i == PII_LANGUAGE ? mdt_authz_case_update_member_fields(&op->p, &op->view)
                                    : mdt_authz_pii_write(&op->p, &op->view, (mdt_pii_cat_t)i);
        if (!ok)
            return i;
    }
    return -1;
}

/* Locks the case row (exclusive: against other PII writes too; else
 * shared) and reloads op's context under the lock, so the owners, agencies
 * and consents authz decides on cannot change before COMMIT. Fills
 * *pii_version when asked. MDT_DB_NOT_FOUND when the caller no longer sees
 * the case. */
static int pii_lock_case(mdt_dbc_t *c, mdt_caseop_t *op, int exclusive, int64_t *pii_version)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    PGresult *r =
        mdt_db_query(c,
                     exclusive ? "SELECT pii_version FROM cases WHERE id = $1 FOR NO KEY UPDATE"
                               : "SELECT pii_version FROM cases WHERE id = $1 FOR SHARE",
                     &q);
    if (!r)
        return c->status;
    int found = PQntuples(r) == 1;
    if (found && pii_version)
        *pii_version = mdt_db_int(r, 0, 0);
    PQclear(r);
    int rc = found ? mdt_casectx_load(c, op->case_id, &op->cx) : MDT_DB_NOT_FOUND;
    if (rc != MDT_DB_OK)
        return rc;
    op->view = mdt_casectx_view(&op->cx);
    return mdt_authz_case_visible(&op->p, &op->view) ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}

/* Writes one category's row and its version row. A protected category is
 * stored sealed, as a JSON string; language (not protected) as its object. */
static int pii_write_cat(mdt_dbc_t *c, mdt_caseop_t *op, int cat, json_t *data, int64_t version)
{
    char *text = json_dumps(data, JSON_COMPACT), *sealed = NULL;
    json_t *stored = NULL;
    char *stored_text = NULL;
    int rc = MDT_DB_ERROR;
    mdt_seal_where_t w = {"pii", "data", op->case_id, op->case_id, cat_name(cat)};
    if (!text)
        goto exit;
    if (cat != PII_LANGUAGE) {
        if ((rc = mdt_sealed_seal(c, &w, text, &sealed)) != MDT_DB_OK)
            goto exit;
        rc = MDT_DB_ERROR;
        if (!(stored = json_string(sealed)) || !(stored_text = json_dumps(stored, JSON_ENCODE_ANY)))
            goto exit;
    }
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_str(&q, cat_name(cat));
    mdt_db_param_str(&q, stored_text ? stored_text : text);
    mdt_db_param_int(&q, op->p.user_id);
    mdt_db_param_int(&q, version);
    rc = mdt_db_exec(c,
                     "WITH w AS (INSERT INTO pii (case_id, category, data, updated_by)"
                     " VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (case_id, category) DO UPDATE"
                     " SET data = EXCLUDED.data, updated_by = EXCLUDED.updated_by,"
                     " updated_at = now() RETURNING 1)"
                     " INSERT INTO pii_versions (case_id, category, version, data, updated_by)"
                     " SELECT $1, $2, $5, $3::jsonb, $4 FROM w",
                     &q);
exit:
    json_decref(stored);
    free(stored_text);
    free(sealed);
    free(text);
    return rc;
}

static int pii_put_store(mdt_dbc_t *c, mdt_caseop_t *op, pii_put_t *u, json_t *names)
{
    int64_t next = u->version + 1;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_int(&q, next);
    int rc = mdt_db_exec(c, "UPDATE cases SET pii_version = $2 WHERE id = $1", &q);
    for (int i = 0; rc == MDT_DB_OK && i < PII_CATS; i++) {
        if (!u->data[i])
            continue;
        rc = pii_write_cat(c, op, i, u->data[i], next);
        json_array_append_new(names, json_string(cat_name(i)));
    }
    return rc;
}

static int pii_put_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    pii_put_t *u = op->ud;
    int64_t cur = 0;
    int rc = pii_lock_case(c, op, 1, &cur);
    if (rc != MDT_DB_OK)
        return rc;
    int bad = pii_put_forbidden(op, u);
    if (bad >= 0)
        return mdt_run_fail(&op->run, 403, "forbidden", cat_name(bad),
                            "your agency may not change this category");
    if (cur != u->version)
        return pii_conflict(op, "the details were changed meanwhile; reload and try again",
                            mdt_pii_json(c, &op->p, &op->cx, op->now));
    json_t *names = json_array();
    rc = pii_put_store(c, op, u, names);
    json_t *detail =
        json_pack("{s:o, s:I}", "categories", names, "version", (json_int_t)(u->version + 1));
    if (rc == MDT_DB_OK)
        rc = mdt_caseop_record(c, op, "pii.update", "pii", op->case_id, "pii.updated", detail);
    json_decref(detail);
    if (rc == MDT_DB_OK && !(op->run.ans.result = mdt_pii_json(c, &op->p, &op->cx, op->now)))
        rc = c->status ? c->status : MDT_DB_ERROR;
    return rc;
}

void mdt_pii_put(mdt_req_t *req)
{
    pii_put_t *u = calloc(1, sizeof(*u));
    mdt_err_t e = {0};
    if (!u || pii_put_parse(req->json, u, &e) != 0) {
        if (!u)
            mdt_err_set(&e, 500, "internal", NULL, "out of memory");
        pii_put_free(u);
        mdt_http_fail(req, &e);
        return;
    }
    mdt_caseop_t *op = mdt_caseop_with(req, pii_put_work, u, pii_put_free);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    mdt_caseop_run(op);
}

/* ---- consents: serializing ----------------------------------------------------- */

#define CONSENT_COLS                                                                               \
    "id, case_id, agency_id, categories::text, consented_by #>> '{}', purpose, signed_on::text,"   \
    " to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                   \
    " extract(epoch FROM expires_at)::bigint, document_ref, note,"                                 \
    " to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), revoked_by,"       \
    " granted_by, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

enum {
    K_ID,
    K_CASE,
    K_AGENCY,
    K_CATS,
    K_BY,
    K_PURPOSE,
    K_SIGNED,
    K_EXPIRES,
    K_EXPIRES_EPOCH,
    K_DOCREF,
    K_NOTE,
    K_REVOKED,
    K_REVOKED_BY,
    K_GRANTED_BY,
    K_CREATED
};

/* The sealed columns of a CONSENT_COLS row: who consented (a JSON array,
 * sealed as one value and stored as a JSON string), the purpose, the
 * document reference and the note. */
static const mdt_sealed_col_t CONSENT_SEALED[] = {
    {K_BY, "consent", "consented_by", K_ID, K_CASE, NULL, -1},
    {K_PURPOSE, "consent", "purpose", K_ID, K_CASE, NULL, -1},
    {K_DOCREF, "consent", "document_ref", K_ID, K_CASE, NULL, -1},
    {K_NOTE, "consent", "note", K_ID, K_CASE, NULL, -1},
};
#define N_CONSENT_SEALED (sizeof(CONSENT_SEALED) / sizeof(CONSENT_SEALED[0]))

static json_t *cats_json(unsigned mask)
{
    json_t *a = json_array();
    for (int i = 0; i < MDT_PII_COUNT; i++) {
        if (mask & MDT_PII_BIT(i))
            json_array_append_new(a, json_string(cat_name(i)));
    }
    return a;
}

/* consented_by as stored, with the names only when names is set. */
static json_t *consent_by_json(const char *text, bool names)
{
    json_t *in = json_loads(text ? text : "[]", 0, NULL);
    json_t *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(in, i, it)
    {
        json_t *o = json_pack("{s:O}", "role", json_object_get(it, "role"));
        if (names)
            json_object_set(o, "name", json_object_get(it, "name"));
        json_array_append_new(out, o);
    }
    json_decref(in);
    return out;
}

/* Row i of a CONSENT_COLS result as p sees it. document_ref and note may
 * identify the child or the family: they follow the names rule. */
static json_t *consent_json(const PGresult *r, int i, bool names, int64_t now)
{
    const char *revoked = mdt_db_str(r, i, K_REVOKED);
    bool active = !revoked && mdt_db_int(r, i, K_EXPIRES_EPOCH) > now;
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:o, s:o, s:s, s:s, s:s, s:o, s:b, s:I, s:o, s:s}", "id",
        (json_int_t)mdt_db_int(r, i, K_ID), "case_id", (json_int_t)mdt_db_int(r, i, K_CASE),
        "agency_id", (json_int_t)mdt_db_int(r, i, K_AGENCY), "categories",
        cats_json(mdt_casectx_parse_cats(mdt_db_str(r, i, K_CATS))), "consented_by",
        consent_by_json(mdt_db_str(r, i, K_BY), names), "purpose", mdt_db_str(r, i, K_PURPOSE),
        "signed_on", mdt_db_str(r, i, K_SIGNED), "expires_at", mdt_db_str(r, i, K_EXPIRES),
        "revoked_at", mdt_json_str_or_null(revoked), "active", active, "granted_by",
        (json_int_t)mdt_db_int(r, i, K_GRANTED_BY), "revoked_by",
        mdt_json_id_or_null(mdt_db_int(r, i, K_REVOKED_BY)), "created_at",
        mdt_db_str(r, i, K_CREATED));
    json_object_set_new(o, "document_ref",
                        names ? mdt_json_str_or_null(mdt_db_str(r, i, K_DOCREF)) : json_null());
    json_object_set_new(o, "note",
                        names ? mdt_json_str_or_null(mdt_db_str(r, i, K_NOTE)) : json_null());
    return o;
}

/* The consents of a case (consent_id 0) or one consent, by id. */
static PGresult *consent_query(mdt_dbc_t *c, int64_t case_id, int64_t consent_id)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, case_id);
    mdt_db_param_int(&q, consent_id);
    PGresult *r = mdt_sealed_query(c,
                                   "SELECT " CONSENT_COLS " FROM consents WHERE case_id = $1"
                                   " AND ($2 = 0 OR id = $2) ORDER BY id",
                                   &q, CONSENT_SEALED, N_CONSENT_SEALED);
    return r;
}

json_t *mdt_pii_consents_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                              int64_t now)
{
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    if (!mdt_authz_case_visible(p, &view))
        return NULL;
    PGresult *r = consent_query(c, cx->case_id, 0);
    if (!r)
        return NULL;
    bool names = mdt_authz_consent_names_visible(p, &view, now);
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(items, consent_json(r, i, names, now));
    PQclear(r);
    return items;
}

/* One consent of op's case as op's caller sees it; NULL when missing. */
static json_t *consent_one(mdt_dbc_t *c, mdt_caseop_t *op, int64_t id)
{
    PGresult *r = consent_query(c, op->case_id, id);
    if (!r)
        return NULL;
    json_t *o = NULL;
    if (PQntuples(r) == 1)
        o = consent_json(r, 0, mdt_authz_consent_names_visible(&op->p, &op->view, op->now),
                         op->now);
    PQclear(r);
    return o;
}

/* ---- GET /cases/{id}/consents ----------------------------------------------------- */

static int consents_list_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    json_t *items = mdt_pii_consents_json(c, &op->p, &op->cx, op->now);
    if (!items)
        return c->status ? c->status : MDT_DB_ERROR;
    op->run.ans.result = json_pack("{s:o, s:n}", "items", items, "next");
    return MDT_DB_OK;
}

void mdt_pii_consents_list(mdt_req_t *req)
{
    mdt_caseop_t *op = mdt_caseop_new(req, consents_list_work);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    op->read_action = "consent.list";
    op->object_type = "case";
    mdt_caseop_run(op);
}

/* ---- POST /cases/{id}/consents: validating ---------------------------------------- */

typedef struct {
    json_t *body; /* the request body (a reference): strings below point into it */
    unsigned mask;
    int64_t agency_id;
    json_t *consented_by; /* normalized [{role, name}] */
    const char *purpose, *document_ref, *note, *expires_at, *tz;
    char signed_on[11], expires_on[11];
} consent_new_t;

static void consent_new_free(void *arg)
{
    consent_new_t *u = arg;
    if (!u)
        return;
    json_decref(u->body);
    json_decref(u->consented_by);
    free(u);
}

/* categories: a non-empty array of protected category names → mask. */
static int consent_parse_cats(json_t *body, unsigned *mask, mdt_err_t *e)
{
    json_t *v = json_object_get(body, "categories");
    if (!v || json_is_null(v)) {
        mdt_err_set(e, 422, "validation", "categories", "categories is required");
        return -1;
    }
    if (!json_is_array(v)) {
        mdt_err_set(e, 400, "bad_request", "categories", "categories must be an array of names");
        return -1;
    }
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it)
    {
        mdt_pii_cat_t cat;
        if (!json_is_string(it)) {
            mdt_err_set(e, 400, "bad_request", "categories", "categories must hold strings");
            return -1;
        }
        if (mdt_authz_pii_cat_parse(json_string_value(it), &cat) != 0) {
            mdt_err_set(e, 422, "validation", "categories",
                        "categories must be identity, contact, immigration or health");
            return -1;
        }
        *mask |= MDT_PII_BIT(cat);
    }
    if (!*mask) {
        mdt_err_set(e, 422, "validation", "categories", "name at least one category");
        return -1;
    }
    return 0;
}

/* One {role, name} of consented_by; a new normalized object or NULL. */
static json_t *consent_party_parse(json_t *it, mdt_err_t *e)
{
    static const char *const roles[] = {"minor", "guardian", "custodian", "sponsor", "self", NULL};
    const char *key, *name;
    json_t *val;
    int role;
    if (!json_is_object(it)) {
        mdt_err_set(e, 400, "bad_request", NULL, "each party must be an object {role, name}");
        return NULL;
    }
    json_object_foreach(it, key, val)
    {
        if (strcmp(key, "role") != 0 && strcmp(key, "name") != 0) {
            mdt_err_set(e, 422, "validation", "", "unknown field %.60s", key);
            snprintf(e->field, sizeof(e->field), "%.60s", key);
            return NULL;
        }
    }
    if (mdt_json_enum(it, "role", 1, roles, &role, e) != 0 ||
        mdt_json_str(it, "name", 1, CONSENT_NAME, &name, e) != 0)
        return NULL;
    if (!*name) {
        mdt_err_set(e, 422, "validation", "name", "name must not be empty");
        return NULL;
    }
    return json_pack("{s:s, s:s}", "role", roles[role], "name", name);
}

static json_t *consent_parse_parties(json_t *body, mdt_err_t *e)
{
    json_t *v = json_object_get(body, "consented_by");
    if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0)) {
        mdt_err_set(e, 422, "validation", "consented_by", "consented_by needs at least one party");
        return NULL;
    }
    if (!json_is_array(v) || json_array_size(v) > CONSENT_BY_MAX) {
        int arr = json_is_array(v);
        mdt_err_set(e, arr ? 422 : 400, arr ? "validation" : "bad_request", "consented_by",
                    "consented_by must be an array of at most %d parties", CONSENT_BY_MAX);
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it)
    {
        json_t *party = consent_party_parse(it, e);
        if (!party) {
            char path[48];
            if (snprintf(path, sizeof(path), "consented_by[%zu]", i) < 0)
                path[0] = 0;
            err_path(e, path);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, party);
    }
    return out;
}

/* expires_at (a date-time) or expires_on (a date): exactly one. */
static int consent_parse_expiry(json_t *body, consent_new_t *u, mdt_err_t *e)
{
    int at = mdt_json_str(body, "expires_at", 0, 64, &u->expires_at, e);
    if (at < 0)
        return -1;
    if (at == 0 && !mdt_json_valid_datetime(u->expires_at)) {
        mdt_err_set(e, 422, "validation", "expires_at",
                    "expires_at must be an RFC 3339 date-time such as 2027-01-31T17:00:00Z");
        return -1;
    }
    int on = mdt_json_date(body, "expires_on", 0, u->expires_on, e);
    if (on < 0)
        return -1;
    if (at == 0 && on == 0) {
        mdt_err_set(e, 422, "validation", "expires_on", "give expires_at or expires_on, not both");
        return -1;
    }
    if (at != 0 && on != 0) {
        mdt_err_set(e, 422, "validation", "expires_on",
                    "a consent needs an expiry: expires_on (a date) or expires_at");
        return -1;
    }
    if (at != 0)
        u->expires_at = NULL;
    return 0;
}

static int consent_parse(json_t *body, consent_new_t *u, mdt_err_t *e)
{
    u->body = json_incref(body);
    if (consent_parse_cats(body, &u->mask, e) != 0 ||
        mdt_json_int(body, "agency_id", 1, 1, INT64_MAX, &u->agency_id, e) != 0 ||
        !(u->consented_by = consent_parse_parties(body, e)) ||
        mdt_json_str(body, "purpose", 1, PII_STR_MAX, &u->purpose, e) != 0 ||
        mdt_json_date(body, "signed_on", 1, u->signed_on, e) != 0 ||
        consent_parse_expiry(body, u, e) != 0 ||
        mdt_json_str(body, "document_ref", 0, PII_STR_MAX, &u->document_ref, e) < 0 ||
        mdt_json_str(body, "note", 0, CONSENT_NOTE, &u->note, e) < 0)
        return -1;
    if (!*u->purpose) {
        mdt_err_set(e, 422, "validation", "purpose", "purpose must not be empty");
        return -1;
    }
    return 0;
}

/* ---- POST /cases/{id}/consents: storing -------------------------------------------- */

/* The recipient must be on the case and own none of the categories. */
static int consent_check_recipient(mdt_caseop_t *op, const consent_new_t *u)
{
    bool on_case = false;
    for (size_t i = 0; i < op->view.n_agencies; i++)
        on_case |= op->view.agencies[i] == u->agency_id;
    if (!on_case)
        return mdt_run_fail(&op->run, 422, "validation", "agency_id",
                            "agency_id must be an agency on the case");
    for (int i = 0; i < MDT_PII_COUNT; i++) {
        if ((u->mask & MDT_PII_BIT(i)) && op->view.pii_owner[i] == u->agency_id)
            return mdt_run_fail(&op->run, 422, "validation", "agency_id",
                                "that agency owns a listed category and needs no consent");
    }
    return MDT_DB_OK;
}

/* Inserts the consent when its expiry is in the future; *id 0 when not.
 * expires_on D means the first instant of D + 1 in the installation's time
 * zone (expires_at is exclusive, so the consent covers the whole of D).
 * expires_at is kept to the second, so the time shown is the time applied. */
static int consent_insert(mdt_dbc_t *c, mdt_caseop_t *op, const consent_new_t *u, int64_t *id)
{
    char cats[96], *by = json_dumps(u->consented_by, JSON_COMPACT);
    mdt_sealed_hold_t hold = {0};
    const char *s[4] = {0};
    const char *plain[4] = {by, u->purpose, u->document_ref, u->note};
    PGresult *r = NULL;
    int rc = by ? mdt_sealed_next_id(c, "consents_id_seq", id) : MDT_DB_ERROR;
    for (int i = 0; rc == MDT_DB_OK && i < 4; i++) {
        mdt_seal_where_t w = {"consent", CONSENT_SEALED[i].field, *id, op->case_id, ""};
        rc = mdt_sealed_put(c, &hold, &w, plain[i], &s[i]);
    }
    if (rc != MDT_DB_OK)
        goto exit;
    cats_literal(u->mask, cats);
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->case_id);
    mdt_db_param_int(&q, u->agency_id);
    mdt_db_param_str(&q, cats);
    mdt_db_param_str(&q, s[0]);
    mdt_db_param_str(&q, s[1]);
    mdt_db_param_str(&q, u->signed_on);
    mdt_db_param_str(&q, u->expires_at);
    mdt_db_param_str(&q, u->expires_at ? NULL : u->expires_on);
    mdt_db_param_str(&q, u->tz);
    mdt_db_param_str(&q, s[2]);
    mdt_db_param_str(&q, s[3]);
    mdt_db_param_int(&q, op->p.user_id);
    mdt_db_param_int(&q, *id);
    r = mdt_db_query(
        c,
        "WITH x AS (SELECT date_trunc('second', COALESCE($7::timestamptz,"
        " (($8::date + 1)::timestamp AT TIME ZONE $9))) AS exp)"
        " INSERT INTO consents (id, case_id, agency_id, categories, consented_by, purpose,"
        " signed_on, expires_at, document_ref, note, granted_by)"
        " SELECT $13, $1, $2, $3::text[], to_jsonb($4::text), $5, $6::date, x.exp, $10, $11, $12"
        " FROM x WHERE x.exp > now() RETURNING id",
        &q);
    rc = r ? MDT_DB_OK : c->status;
    if (r && PQntuples(r) != 1)
        *id = 0; /* the expiry has passed: nothing written */
    PQclear(r);
exit:
    mdt_sealed_hold_free(&hold);
    free(by);
    return rc;
}

static int consent_create_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    consent_new_t *u = op->ud;
    int rc = pii_lock_case(c, op, 0, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    if (!mdt_authz_consent_record(&op->p, &op->view, u->mask))
        return mdt_run_fail(&op->run, 403, "forbidden", "categories",
                            "only the agency that owns every listed category records consent");
    int64_t id = 0;
    rc = consent_check_recipient(op, u);
    if (rc != MDT_DB_OK || op->run.ans.err.status)
        return rc;
    if ((rc = consent_insert(c, op, u, &id)) != MDT_DB_OK)
        return rc;
    if (!id)
        return mdt_run_fail(&op->run, 422, "validation",
                            u->expires_at ? "expires_at" : "expires_on",
                            "the expiry must be in the future");
    json_t *detail = json_pack("{s:o, s:I}", "categories", cats_json(u->mask), "agency_id",
                               (json_int_t)u->agency_id);
    rc = mdt_caseop_record(c, op, "consent.create", "consent", id, "consent.changed", detail);
    json_decref(detail);
    if (rc == MDT_DB_OK && !(op->run.ans.result = consent_one(c, op, id)))
        rc = c->status ? c->status : MDT_DB_ERROR;
    return rc;
}

void mdt_pii_consent_create(mdt_req_t *req)
{
    consent_new_t *u = calloc(1, sizeof(*u));
    mdt_err_t e = {0};
    if (!u || consent_parse(req->json, u, &e) != 0) {
        if (!u)
            mdt_err_set(&e, 500, "internal", NULL, "out of memory");
        consent_new_free(u);
        mdt_http_fail(req, &e);
        return;
    }
    u->tz = mdt_ctx_time_zone(req);
    mdt_caseop_t *op = mdt_caseop_with(req, consent_create_work, u, consent_new_free);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->run.ans.ok_status = 201;
    op->run.idempotent = 1;
    mdt_caseop_run(op);
}

/* ---- DELETE /consents/{id} ------------------------------------------------------------ */

/* Locks consent op->object_id; fills its category mask and whether it is
 * revoked. */
static int consent_lock(mdt_dbc_t *c, mdt_caseop_t *op, unsigned *mask, int *revoked)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->object_id);
    PGresult *r = mdt_db_query(
        c, "SELECT categories::text, revoked_at IS NOT NULL FROM consents WHERE id = $1 FOR UPDATE",
        &q);
    if (!r)
        return c->status;
    int rc = PQntuples(r) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK) {
        *mask = mdt_casectx_parse_cats(mdt_db_str(r, 0, 0));
        *revoked = mdt_db_bool(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

static int consent_revoke_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    unsigned mask = 0;
    int revoked = 0;
    int rc = pii_lock_case(c, op, 0, NULL);
    if (rc == MDT_DB_OK)
        rc = consent_lock(c, op, &mask, &revoked);
    if (rc != MDT_DB_OK)
        return rc;
    if (!mdt_authz_consent_revoke(&op->p, &op->view, mask))
        return mdt_run_fail(&op->run, 403, "forbidden", NULL,
                            "only the agency that owns its categories revokes a consent");
    if (revoked)
        return pii_conflict(op, "the consent is already revoked",
                            consent_one(c, op, op->object_id));
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->object_id);
    mdt_db_param_int(&q, op->p.user_id);
    rc =
        mdt_db_exec(c, "UPDATE consents SET revoked_at = now(), revoked_by = $2 WHERE id = $1", &q);
    json_t *detail = json_pack("{s:o}", "categories", cats_json(mask));
    if (rc == MDT_DB_OK)
        rc = mdt_caseop_record(c, op, "consent.revoke", "consent", op->object_id, "consent.changed",
                               detail);
    json_decref(detail);
    if (rc == MDT_DB_OK && !(op->run.ans.result = consent_one(c, op, op->object_id)))
        rc = c->status ? c->status : MDT_DB_ERROR;
    return rc;
}

void mdt_pii_consent_revoke(mdt_req_t *req)
{
    mdt_caseop_t *op = mdt_caseop_new(req, consent_revoke_work);
    if (!op)
        return;
    op->object_id = req->ids[0];
    op->resolve_sql = "SELECT case_id FROM consents WHERE id = $1";
    mdt_caseop_run(op);
}
