/* admin_accounts.c - agencies and users through the admin API: list,
 * create, update, deactivate, MFA and password resets (see admin.h and
 * docs/admin.md). Each change runs in one transaction through the admin
 * runner (admin.c) with its audit rows and, when other nodes must know,
 * the node event "user.updated" last. */
#include "admin_int.h"

/* ---- agencies (admin) ---- */

static int agencies_list_work(mdt_dbc_t *c, admin_op_t *op)
{
    json_t *items;
    int rc = mdt_accounts_rows(c, "SELECT " MDT_ACCOUNTS_AGENCY_COLS " FROM agencies ORDER BY id",
                               NULL, mdt_accounts_agency_json, &items);
    if (rc == MDT_DB_OK)
        op->run.ans.result = json_pack("{s:o, s:n}", "items", items, "next");
    return rc;
}

void mdt_admin_agencies_list(mdt_req_t *req)
{
    admin_op_t *op = mdt_admin_op_new(req, agencies_list_work);
    if (op)
        mdt_admin_run(op);
}

static int agencies_create_work(mdt_dbc_t *c, admin_op_t *op)
{
    return mdt_accounts_agency_insert(c, &op->actor, op->name, (mdt_agency_kind_t)op->kind,
                                      &op->run.ans.result, &op->run.ans.current, &op->run.ans.err);
}

void mdt_admin_agencies_create(mdt_req_t *req)
{
    mdt_err_t e;
    const char *name, *kinds[MDT_KIND_COUNT + 1];
    int kind;
    mdt_admin_kinds(kinds);
    if (mdt_json_str(req->json, "name", 1, 4 * ADMIN_NAME_MAX, &name, &e) < 0 ||
        mdt_accounts_check_text(name, "name", ADMIN_NAME_MAX, &e) < 0 ||
        mdt_json_enum(req->json, "kind", 1, kinds, &kind, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    admin_op_t *op = mdt_admin_op_new(req, agencies_create_work);
    if (!op)
        return;
    snprintf(op->name, sizeof(op->name), "%s", name);
    op->kind = kind;
    op->run.ans.ok_status = 201;
    op->run.idempotent = 1;
    mdt_admin_run(op);
}

/* Deactivating an agency ends the sessions of all its users; each of them
 * gets a user.updated so every node drops them at once. */
static int agencies_update_users(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, op->id);
    PGresult *r = mdt_db_query(c, "SELECT id FROM users WHERE agency_id = $1 ORDER BY id", &p);
    if (!r)
        return c->status;
    int rc = MDT_DB_OK;
    op->drop = json_array();
    for (int i = 0; rc == MDT_DB_OK && i < PQntuples(r); i++) {
        int64_t uid = mdt_db_int(r, i, 0);
        json_array_append_new(op->drop, json_integer(uid));
        if (!op->active)
            rc = mdt_accounts_revoke_sessions(c, uid);
        if (rc == MDT_DB_OK)
            rc = mdt_accounts_emit_user(c, &op->actor, uid);
    }
    PQclear(r);
    return rc;
}

/* 409 unless name is free (another agency may not hold it). */
static int agencies_name_free(mdt_dbc_t *c, admin_op_t *op, json_t *cur, int *free_)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, op->name);
    mdt_db_param_int(&p, op->id);
    json_t *other;
    int rc = mdt_accounts_one(c,
                              "SELECT " MDT_ACCOUNTS_AGENCY_COLS
                              " FROM agencies WHERE lower(name) = lower($1) AND id <> $2",
                              &p, mdt_accounts_agency_json, &other);
    *free_ = !other;
    json_decref(other);
    if (rc == MDT_DB_OK && !*free_) {
        op->run.ans.current = json_incref(cur);
        mdt_run_fail(&op->run, 409, "conflict", "name", "another agency has that name");
    }
    return rc;
}

static int agencies_apply(mdt_dbc_t *c, admin_op_t *op, json_t *cur)
{
    const char *old_name = json_string_value(json_object_get(cur, "name"));
    int old_active = json_is_true(json_object_get(cur, "active"));
    int name_changed = op->has_name && strcmp(old_name, op->name) != 0;
    int active_changed = op->has_active && op->active != old_active;
    if (!name_changed && !active_changed) {
        op->run.ans.result = json_incref(cur);
        return MDT_DB_OK;
    }
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, op->id);
    mdt_db_param_str(&p, name_changed ? op->name : NULL);
    mdt_db_param_str(&p, active_changed ? (op->active ? "t" : "f") : NULL);
    int rc = mdt_accounts_one(c,
                              "UPDATE agencies SET name = coalesce($2, name),"
                              " active = coalesce($3::boolean, active), version = version + 1"
                              " WHERE id = $1 RETURNING " MDT_ACCOUNTS_AGENCY_COLS,
                              &p, mdt_accounts_agency_json, &op->run.ans.result);
    json_t *fields = json_array();
    if (name_changed)
        json_array_append_new(fields, json_string("name"));
    if (active_changed)
        json_array_append_new(fields, json_string("active"));
    json_t *detail = json_pack("{s:o}", "fields", fields);
    if (active_changed)
        json_object_set_new(detail, "active",
                            json_pack("{s:b, s:b}", "from", old_active, "to", op->active));
    if (rc == MDT_DB_OK)
        rc = mdt_accounts_audit(c, &op->actor, "agency.update", "agency", op->id, detail);
    else
        json_decref(detail);
    return rc == MDT_DB_OK ? agencies_update_users(c, op) : rc;
}

static int agencies_update_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, op->id);
    json_t *cur;
    int rc = mdt_accounts_one(
        c, "SELECT " MDT_ACCOUNTS_AGENCY_COLS " FROM agencies WHERE id = $1 FOR UPDATE", &p,
        mdt_accounts_agency_json, &cur);
    if (rc != MDT_DB_OK)
        return rc;
    if (!cur)
        return mdt_run_fail(&op->run, 404, "not_found", NULL, "no such agency");
    int name_free = 1;
    if (op->has_version && json_integer_value(json_object_get(cur, "version")) != op->version) {
        op->run.ans.current = json_incref(cur);
        mdt_run_fail(&op->run, 409, "conflict", "version",
                     "the agency changed meanwhile: reload it");
    } else if (op->has_name) {
        rc = agencies_name_free(c, op, cur, &name_free);
    }
    if (rc == MDT_DB_OK && !op->run.ans.err.status)
        rc = agencies_apply(c, op, cur);
    json_decref(cur);
    return rc;
}

void mdt_admin_agencies_update(mdt_req_t *req)
{
    mdt_err_t e;
    const char *name = NULL;
    int active = 0;
    int64_t version = 0;
    int rn, ra, rv;
    if (mdt_admin_refuse_field(req, "kind", "an agency's kind never changes", &e) < 0 ||
        (rn = mdt_json_str(req->json, "name", 0, 4 * ADMIN_NAME_MAX, &name, &e)) < 0 ||
        (rn == 0 && mdt_accounts_check_text(name, "name", ADMIN_NAME_MAX, &e) < 0) ||
        (ra = mdt_json_bool(req->json, "active", 0, &active, &e)) < 0 ||
        (rv = mdt_json_int(req->json, "version", 0, 1, INT32_MAX, &version, &e)) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    if (ra == 0 && !active && req->ids[0] == mdt_auth_user(req)->agency_id) {
        mdt_http_error(req, 422, "validation", "active",
                       "you cannot deactivate your own agency (it would end your session)");
        return;
    }
    admin_op_t *op = mdt_admin_op_new(req, agencies_update_work);
    if (!op)
        return;
    op->has_name = rn == 0;
    snprintf(op->name, sizeof(op->name), "%s", name ? name : "");
    op->has_active = ra == 0;
    op->active = active;
    op->has_version = rv == 0;
    op->version = version;
    mdt_admin_run(op);
}

/* ---- users (admin) ---- */

static int users_list_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_admin_param_opt_int(&p, op->q.agency_id);
    if (op->q.active >= 0)
        mdt_db_param_bool(&p, op->q.active);
    else
        mdt_db_param_str(&p, NULL);
    mdt_db_param_int(&p, op->q.cursor);
    mdt_db_param_int(&p, op->q.limit + 1);
    json_t *items;
    int rc = mdt_accounts_rows(c,
                               "SELECT " MDT_ACCOUNTS_USER_COLS " FROM users u"
                               " WHERE ($1::bigint IS NULL OR u.agency_id = $1)"
                               " AND ($2::boolean IS NULL OR u.active = $2) AND u.id > $3"
                               " ORDER BY u.id LIMIT $4",
                               &p, mdt_accounts_user_json, &items);
    if (rc == MDT_DB_OK)
        op->run.ans.result = mdt_admin_page(items, op->q.limit);
    return rc;
}

void mdt_admin_users_list(mdt_req_t *req)
{
    admin_query_t q = {.active = -1};
    mdt_err_t e;
    if (mdt_req_query_int(req, "agency_id", 1, INT64_MAX, q.agency_id, &q.agency_id, &e) < 0 ||
        mdt_admin_qbool(req, "active", &q.active, &e) < 0 || mdt_admin_qpage(req, &q, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    admin_op_t *op = mdt_admin_op_new(req, users_list_work);
    if (!op)
        return;
    op->q = q;
    mdt_admin_run(op);
}

static int users_create_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_accounts_new_user_t u = {.username = op->username,
                                 .display_name = op->name,
                                 .agency_id = op->agency_id,
                                 .role = (mdt_role_t)op->role,
                                 .password_hash = op->hash,
                                 .must_change_password = op->must_change_password};
    return mdt_accounts_user_insert(c, &op->actor, &u, &op->run.ans.result, &op->run.ans.current,
                                    &op->run.ans.err);
}

/* Reads and checks the create body; -1 with e filled. */
static int users_create_parse(mdt_req_t *req, admin_op_t *op, mdt_err_t *e)
{
    const char *username, *display, *password, *why, *roles[MDT_ROLE_COUNT + 1];
    mdt_admin_roles(roles);
    if (mdt_json_str(req->json, "username", 1, 64, &username, e) < 0 ||
        mdt_accounts_check_username(username, e) < 0 ||
        mdt_json_str(req->json, "display_name", 1, 4 * ADMIN_NAME_MAX, &display, e) < 0 ||
        mdt_accounts_check_text(display, "display_name", ADMIN_NAME_MAX, e) < 0 ||
        mdt_json_str(req->json, "password", 1, MDT_PASSWORD_MAX_BYTES, &password, e) < 0 ||
        mdt_json_int(req->json, "agency_id", 1, 1, INT64_MAX, &op->agency_id, e) < 0 ||
        mdt_json_enum(req->json, "role", 1, roles, &op->role, e) < 0 ||
        mdt_json_bool(req->json, "must_change_password", 0, &op->must_change_password, e) < 0)
        return -1;
    if (mdt_password_policy(password, &why) != 0) {
        mdt_err_set(e, 422, "validation", "password", "%s", why);
        return -1;
    }
    snprintf(op->username, sizeof(op->username), "%s", username);
    snprintf(op->name, sizeof(op->name), "%s", display);
    snprintf(op->password, sizeof(op->password), "%s", password);
    return 0;
}

void mdt_admin_users_create(mdt_req_t *req)
{
    admin_op_t *op = mdt_admin_op_new(req, users_create_work);
    if (!op)
        return;
    mdt_err_t e;
    if (users_create_parse(req, op, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    op->run.ans.ok_status = 201;
    mdt_admin_hash_then_run(op);
}

/* What a user PATCH changes, from the row before it. */
typedef struct {
    int display, role, active; /* changed? */
    const char *role_from;
    int active_from;
    int64_t agency_id;
} users_diff_t;

static int users_diff(const admin_op_t *op, json_t *cur, users_diff_t *d)
{
    const char *roles[MDT_ROLE_COUNT + 1];
    mdt_admin_roles(roles);
    d->role_from = json_string_value(json_object_get(cur, "role"));
    d->active_from = json_is_true(json_object_get(cur, "active"));
    d->agency_id = json_integer_value(json_object_get(cur, "agency_id"));
    d->display = op->has_name &&
                 strcmp(json_string_value(json_object_get(cur, "display_name")), op->name) != 0;
    d->role = op->has_role && strcmp(d->role_from, roles[op->role]) != 0;
    d->active = op->has_active && op->active != d->active_from;
    return d->display || d->role || d->active;
}

/* The audit rows of a user PATCH: user.update (field names, old/new role
 * and active), plus user.role_change, user.deactivate or user.reactivate. */
static int users_update_record(mdt_dbc_t *c, admin_op_t *op, const users_diff_t *d)
{
    const char *role_to = mdt_authz_role_name((mdt_role_t)op->role);
    json_int_t agency = (json_int_t)d->agency_id;
    json_t *fields = json_array();
    json_t *detail = json_pack("{s:o, s:I}", "fields", fields, "target_agency_id", agency);
    if (d->display)
        json_array_append_new(fields, json_string("display_name"));
    if (d->role) {
        json_array_append_new(fields, json_string("role"));
        json_object_set_new(detail, "role",
                            json_pack("{s:s, s:s}", "from", d->role_from, "to", role_to));
    }
    if (d->active) {
        json_array_append_new(fields, json_string("active"));
        json_object_set_new(detail, "active",
                            json_pack("{s:b, s:b}", "from", d->active_from, "to", op->active));
    }
    const mdt_audit_actor_t *a = &op->actor;
    int rc = mdt_accounts_audit(c, a, "user.update", "user", op->id, detail);
    if (rc == MDT_DB_OK && d->role)
        rc = mdt_accounts_audit(c, a, "user.role_change", "user", op->id,
                                json_pack("{s:s, s:s, s:I}", "from", d->role_from, "to", role_to,
                                          "target_agency_id", agency));
    if (rc == MDT_DB_OK && d->active)
        rc = mdt_accounts_audit(c, a, op->active ? "user.reactivate" : "user.deactivate", "user",
                                op->id, json_pack("{s:I}", "target_agency_id", agency));
    return rc;
}

static int users_update_apply(mdt_dbc_t *c, admin_op_t *op, const users_diff_t *d)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, op->id);
    mdt_db_param_str(&p, d->display ? op->name : NULL);
    mdt_db_param_str(&p, d->role ? mdt_authz_role_name((mdt_role_t)op->role) : NULL);
    mdt_db_param_str(&p, d->active ? (op->active ? "t" : "f") : NULL);
    int rc = mdt_accounts_one(c,
                              "UPDATE users AS u SET display_name = coalesce($2, display_name),"
                              " role = coalesce($3, role), active = coalesce($4::boolean, active),"
                              " version = version + 1 WHERE id = $1"
                              " RETURNING " MDT_ACCOUNTS_USER_COLS,
                              &p, mdt_accounts_user_json, &op->run.ans.result);
    if (rc == MDT_DB_OK && d->active && !op->active)
        rc = mdt_accounts_revoke_sessions(c, op->id);
    if (rc == MDT_DB_OK)
        rc = users_update_record(c, op, d);
    if (rc == MDT_DB_OK)
        rc = mdt_accounts_emit_user(c, &op->actor, op->id);
    op->drop = json_pack("[I]", (json_int_t)op->id);
    return rc;
}

/* Loads the target user, locked; 404 when missing. */
static int users_load(mdt_dbc_t *c, admin_op_t *op, json_t **cur)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, op->id);
    int rc = mdt_accounts_one(
        c, "SELECT " MDT_ACCOUNTS_USER_COLS " FROM users u WHERE u.id = $1 FOR UPDATE", &p,
        mdt_accounts_user_json, cur);
    if (rc == MDT_DB_OK && !*cur)
        mdt_run_fail(&op->run, 404, "not_found", NULL, "no such user");
    return rc;
}

static int users_update_work(mdt_dbc_t *c, admin_op_t *op)
{
    json_t *cur = NULL;
    int rc = users_load(c, op, &cur);
    if (rc != MDT_DB_OK || op->run.ans.err.status)
        return rc;
    users_diff_t d;
    if (json_integer_value(json_object_get(cur, "version")) != op->version) {
        op->run.ans.current = cur;
        return mdt_run_fail(&op->run, 409, "conflict", "version",
                            "the user changed meanwhile: reload it");
    }
    if (!users_diff(op, cur, &d))
        op->run.ans.result = json_incref(cur);
    else
        rc = users_update_apply(c, op, &d);
    json_decref(cur);
    return rc;
}

/* Reads and checks the PATCH body; -1 with e filled. */
static int users_update_parse(mdt_req_t *req, admin_op_t *op, mdt_err_t *e)
{
    const char *display = NULL, *roles[MDT_ROLE_COUNT + 1];
    mdt_admin_roles(roles);
    int rn, rr, ra;
    if (mdt_admin_refuse_field(
            req, "agency_id", "a user's agency never changes: make a new account instead", e) < 0 ||
        mdt_admin_refuse_field(req, "username", "a username never changes", e) < 0 ||
        mdt_admin_refuse_field(req, "password", "use POST .../reset-password", e) < 0 ||
        (rn = mdt_json_str(req->json, "display_name", 0, 4 * ADMIN_NAME_MAX, &display, e)) < 0 ||
        (rn == 0 && mdt_accounts_check_text(display, "display_name", ADMIN_NAME_MAX, e) < 0) ||
        (rr = mdt_json_enum(req->json, "role", 0, roles, &op->role, e)) < 0 ||
        (ra = mdt_json_bool(req->json, "active", 0, &op->active, e)) < 0 ||
        mdt_json_int(req->json, "version", 1, 1, INT32_MAX, &op->version, e) < 0)
        return -1;
    op->has_name = rn == 0;
    snprintf(op->name, sizeof(op->name), "%s", display ? display : "");
    op->has_role = rr == 0;
    op->has_active = ra == 0;
    if (op->id == op->p.user_id && op->has_active && !op->active) {
        mdt_err_set(e, 422, "validation", "active", "you cannot deactivate your own account");
        return -1;
    }
    if (op->id == op->p.user_id && op->has_role && op->role != MDT_ROLE_ADMIN) {
        mdt_err_set(e, 422, "validation", "role", "you cannot give up your own admin role");
        return -1;
    }
    return 0;
}

void mdt_admin_users_update(mdt_req_t *req)
{
    admin_op_t *op = mdt_admin_op_new(req, users_update_work);
    if (!op)
        return;
    mdt_err_t e;
    if (users_update_parse(req, op, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mdt_admin_run(op);
}

static int users_reset_mfa_work(mdt_dbc_t *c, admin_op_t *op)
{
    int rc = mdt_accounts_reset_mfa(c, &op->actor, op->id, &op->run.ans.result);
    if (rc == MDT_DB_NOT_FOUND)
        return mdt_run_fail(&op->run, 404, "not_found", NULL, "no such user");
    op->drop = json_pack("[I]", (json_int_t)op->id);
    return rc;
}

void mdt_admin_users_reset_mfa(mdt_req_t *req)
{
    admin_op_t *op = mdt_admin_op_new(req, users_reset_mfa_work);
    if (op)
        mdt_admin_run(op);
}

static int users_reset_password_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, op->id);
    mdt_db_param_str(&p, op->hash);
    json_t *user;
    int rc = mdt_accounts_one(c,
                              "UPDATE users AS u SET password_hash = $2,"
                              " must_change_password = true, failed_logins = 0,"
                              " locked_until = NULL, version = version + 1 WHERE id = $1"
                              " RETURNING " MDT_ACCOUNTS_USER_COLS,
                              &p, mdt_accounts_user_json, &user);
    if (rc != MDT_DB_OK)
        return rc;
    if (!user)
        return mdt_run_fail(&op->run, 404, "not_found", NULL, "no such user");
    op->run.ans.result = json_pack("{s:o, s:s}", "user", user, "one_time_password", op->password);
    json_int_t agency = json_integer_value(json_object_get(user, "agency_id"));
    rc = mdt_accounts_revoke_sessions(c, op->id);
    if (rc == MDT_DB_OK)
        rc = mdt_accounts_audit(c, &op->actor, "user.reset_password", "user", op->id,
                                json_pack("{s:I}", "target_agency_id", agency));
    if (rc == MDT_DB_OK)
        rc = mdt_accounts_emit_user(c, &op->actor, op->id);
    op->drop = json_pack("[I]", (json_int_t)op->id);
    return rc;
}

/* A one-time password of ADMIN_OTP_LEN characters from an alphabet without
 * look-alikes (no 0/O, 1/l/I), drawn without modulo bias. 0 ok. */
static int admin_one_time_password(char out[ADMIN_OTP_LEN + 1])
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const unsigned n = sizeof(alphabet) - 1, limit = 256 / n * n;
    unsigned char buf[64];
    int k = 0;
    while (k < ADMIN_OTP_LEN) {
        if (mdt_crypto_random(buf, sizeof(buf)) != 0)
            return -1;
        for (size_t i = 0; i < sizeof(buf) && k < ADMIN_OTP_LEN; i++) {
            if (buf[i] < limit)
                out[k++] = alphabet[buf[i] % n];
        }
    }
    out[k] = 0;
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

void mdt_admin_users_reset_password(mdt_req_t *req)
{
    admin_op_t *op = mdt_admin_op_new(req, users_reset_password_work);
    if (!op)
        return;
    char otp[ADMIN_OTP_LEN + 1];
    if (admin_one_time_password(otp) != 0) {
        mdt_http_error(req, 500, "internal", NULL, "no random numbers");
        return;
    }
    snprintf(op->password, sizeof(op->password), "%s", otp);
    OPENSSL_cleanse(otp, sizeof(otp));
    mdt_admin_hash_then_run(op);
}
