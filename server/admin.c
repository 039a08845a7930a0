/* admin.c - agencies and users: the directory every user reads, the admin
 * API (create, update, deactivate, MFA and password resets), account
 * changes for supervisors, and the audit-log reader (see admin.h).
 *
 * Each handler checks its input on the loop, then runs one transaction on
 * a database thread (admin_run): the change, its audit rows and, when other
 * nodes must know, the node event "user.updated" as its last statement.
 * Password hashing runs on the cpu pool before that. Audit rows of user
 * changes carry the target's agency as detail.target_agency_id (the row's
 * own agency_id is the actor's); /account-changes selects on it. What the
 * command line shares (creating agencies and users, clearing MFA) is in
 * cli_accounts.c. The rules and judgment calls are in docs/admin.md. */
#include "admin.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "casectx.h"
#include "cli_accounts.h"
#include "crypto.h"
#include "idem.h"
#include "json.h"
#include "password.h"
#include "server.h"
#include "session.h"

#define ADMIN_PAGE_DEFAULT 50
#define ADMIN_PAGE_MAX     500
#define ADMIN_OTP_LEN      20
#define ADMIN_NAME_MAX     200 /* characters of an agency name or display name */

typedef struct admin_op admin_op_t;
typedef int (*admin_fn)(mdt_dbc_t *c, admin_op_t *op);

/* Query filters of the list endpoints (0 / -1 / "" = not given). */
typedef struct {
    int64_t agency_id, case_id, user_id, cursor, limit;
    int active; /* -1 any */
    char since[48];
} admin_query_t;

/* One request's state, hung on req->state; freed with the request. */
struct admin_op {
    mdt_req_t *req;
    admin_fn work;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    int64_t id; /* the {id} of the path */
    admin_query_t q;
    /* body fields (has_* = present) */
    char name[4 * ADMIN_NAME_MAX + 1], username[72];
    int kind, role, active, must_change_password;
    int has_name, has_role, has_active, has_version;
    int64_t agency_id, version;
    char password[MDT_PASSWORD_MAX_BYTES + 1];
    char hash[MDT_PASSWORD_HASH_MAX];
    int hash_failed;
    /* answer */
    int ok_status;
    json_t *result;  /* on success */
    json_t *current; /* with a 409 */
    mdt_err_t err;
    json_t *drop; /* user ids whose cached sessions this node drops at once */
    const char *read_action;
    json_t *read_detail; /* the buffered audit row of a read */
    int64_t read_case_id;
    mdt_casectx_t *cx;
    mdt_idem_t idem; /* Idempotency-Key of a create (idem.h) */
};

/* ---- the runner ---- */

static void admin_op_free(void *arg)
{
    admin_op_t *op = arg;
    json_decref(op->result);
    json_decref(op->current);
    json_decref(op->drop);
    json_decref(op->read_detail);
    free(op->cx);
    mdt_idem_clear(&op->idem);
    OPENSSL_cleanse(op, sizeof(*op));
    free(op);
}

/* A new op for req (NULL when it already answered). */
static admin_op_t *admin_op_new(mdt_req_t *req, admin_fn work)
{
    admin_op_t *op = calloc(1, sizeof(*op));
    if (!op) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    op->req = req;
    op->work = work;
    op->ok_status = 200;
    op->p = mdt_auth_principal(req);
    mdt_audit_actor_from_req(req, &op->actor);
    op->id = req->ids[0];
    op->q.active = -1;
    req->state = op;
    req->state_free = admin_op_free;
    return op;
}

/* In work: the answer is this error (the transaction is rolled back). */
static int admin_fail(admin_op_t *op, int status, const char *code, const char *field,
                      const char *message)
{
    mdt_err_set(&op->err, status, code, field, "%s", message);
    return MDT_DB_OK;
}

static int admin_db_work(mdt_dbc_t *c, void *arg)
{
    admin_op_t *op = arg;
    int rc = mdt_db_begin(c, NULL);
    if (rc == MDT_DB_OK)
        rc = mdt_idem_claim(c, &op->idem, &op->err); /* idem: replay, 409, 422 */
    if (rc == MDT_IDEM_ANSWERED)
        return MDT_DB_OK; /* the pool rolls back */
    if (rc == MDT_DB_OK)
        rc = op->work(c, op);
    if (rc != MDT_DB_OK || op->err.status)
        return rc;                                                /* the pool rolls back */
    rc = mdt_idem_store(c, &op->idem, op->ok_status, op->result); /* idem */
    return rc == MDT_DB_OK ? mdt_db_commit(c) : rc;
}

/* Buffers the audit row of a read (ok or denied). */
static void admin_audit_read(admin_op_t *op, const char *outcome)
{
    mdt_audit_rec_t rec = {.action = op->read_action,
                           .case_id = op->read_case_id,
                           .outcome = outcome,
                           .detail = op->read_detail};
    mdt_audit_read(op->req->srv, &op->actor, &rec);
}

static void admin_drop_sessions(admin_op_t *op)
{
    size_t i;
    json_t *id;
    json_array_foreach(op->drop, i, id)
    {
        mdt_session_drop_user(op->req->srv, json_integer_value(id));
    }
}

static void admin_db_done(void *arg, int status)
{
    admin_op_t *op = arg;
    mdt_req_t *req = op->req;
    if (status == MDT_DB_OK && op->read_action)
        admin_audit_read(op, op->err.status ? "denied" : "ok");
    if (status != MDT_DB_OK) {
        mdt_http_fail_db(req, status);
    } else if (op->err.status == 409 && op->current) {
        json_t *cur = op->current;
        op->current = NULL;
        mdt_http_conflict(req, op->err.message, cur);
    } else if (op->err.status) {
        mdt_http_fail(req, &op->err);
    } else {
        admin_drop_sessions(op);
        if (mdt_idem_answer(req, &op->idem))
            return; /* idem: the stored or replayed answer */
        json_t *res = op->result;
        op->result = NULL;
        mdt_http_respond_json(req, op->ok_status, res ? res : json_object());
    }
}

static void admin_run(admin_op_t *op)
{
    if (mdt_idem_init(&op->idem, op->req) != 0)
        return; /* answered */
    if (mdt_db_submit(op->req->srv->db, admin_db_work, admin_db_done, op) != 0)
        mdt_http_fail_db(op->req, MDT_DB_REFUSED);
}

static void admin_hash_work(void *state, void *arg)
{
    (void)state;
    admin_op_t *op = arg;
    op->hash_failed = mdt_password_hash(op->password, op->hash) != 0;
}

static void admin_hash_done(void *arg)
{
    admin_op_t *op = arg;
    /* a job dropped at shutdown never ran: hash_failed is still set */
    if (op->hash_failed || !op->hash[0])
        mdt_http_fail_db(op->req, MDT_DB_REFUSED);
    else
        admin_run(op);
}

/* Hashes op->password on the cpu pool, then runs op. */
static void admin_hash_then_run(admin_op_t *op)
{
    op->hash_failed = 1;
    if (mdt_workq_submit(op->req->srv->cpu, admin_hash_work, admin_hash_done, op) != 0)
        mdt_http_fail_db(op->req, MDT_DB_REFUSED);
}

/* ---- input ---- */

/* limit (default 50, 1..500) and cursor (an id). */
static int admin_qpage(const mdt_req_t *req, admin_query_t *q, mdt_err_t *e)
{
    q->limit = ADMIN_PAGE_DEFAULT;
    if (mdt_req_query_int(req, "limit", 1, ADMIN_PAGE_MAX, q->limit, &q->limit, e) < 0 ||
        mdt_req_query_int(req, "cursor", 1, INT64_MAX, q->cursor, &q->cursor, e) < 0)
        return -1;
    return 0;
}

/* ?active=true|false */
static int admin_qbool(const mdt_req_t *req, const char *name, int *out, mdt_err_t *e)
{
    const char *s = mdt_req_query(req, name);
    if (!s || !*s)
        return 1;
    if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) {
        mdt_err_set(e, 400, "bad_request", name, "%s must be true or false", name);
        return -1;
    }
    *out = strcmp(s, "true") == 0;
    return 0;
}

static int admin_digits(const char *s, int n)
{
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

/* An RFC 3339 date-time with Z or an offset ("2026-11-28T14:03:00Z",
 * fractions allowed), or a date (taken as its UTC midnight). */
static int admin_valid_time(const char *s, char out[48])
{
    char date[11];
    size_t n = strlen(s);
    if (n < 10 || n > 40)
        return 0;
    memcpy(date, s, 10);
    date[10] = 0;
    if (!mdt_json_valid_date(date))
        return 0;
    if (n == 10) {
        snprintf(out, 48, "%sT00:00:00Z", date);
        return 1;
    }
    const char *t = s + 10;
    if ((*t != 'T' && *t != 't') || !admin_digits(t + 1, 2) || t[3] != ':' ||
        !admin_digits(t + 4, 2) || t[6] != ':' || !admin_digits(t + 7, 2) || atoi(t + 1) > 23 ||
        atoi(t + 4) > 59 || atoi(t + 7) > 60)
        return 0;
    t += 9;
    if (*t == '.' && admin_digits(t + 1, 1)) {
        t++;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    int zone = ((*t == 'Z' || *t == 'z') && !t[1]) ||
               ((*t == '+' || *t == '-') && admin_digits(t + 1, 2) && t[3] == ':' &&
                admin_digits(t + 4, 2) && !t[6] && atoi(t + 1) < 24 && atoi(t + 4) < 60);
    if (zone)
        snprintf(out, 48, "%s", s);
    return zone;
}

static void admin_roles(const char *out[MDT_ROLE_COUNT + 1])
{
    for (int i = 0; i < MDT_ROLE_COUNT; i++)
        out[i] = mdt_authz_role_name((mdt_role_t)i);
    out[MDT_ROLE_COUNT] = NULL;
}

static void admin_kinds(const char *out[MDT_KIND_COUNT + 1])
{
    for (int i = 0; i < MDT_KIND_COUNT; i++)
        out[i] = mdt_authz_agency_kind_name((mdt_agency_kind_t)i);
    out[MDT_KIND_COUNT] = NULL;
}

/* 422 when the body names a field that may not be changed here. */
static int admin_refuse_field(mdt_req_t *req, const char *field, const char *why, mdt_err_t *e)
{
    if (!json_object_get(req->json, field))
        return 0;
    mdt_err_set(e, 422, "validation", field, "%s", why);
    return -1;
}

static void admin_param_opt_int(mdt_db_params_t *p, int64_t v)
{
    if (v)
        mdt_db_param_int(p, v);
    else
        mdt_db_param_str(p, NULL);
}

/* {"items": items, "next": last id as a string, or null}: items holds up
 * to limit + 1 rows; the extra one only says that there is more. */
static json_t *admin_page(json_t *items, int64_t limit)
{
    json_t *next = json_null();
    if ((int64_t)json_array_size(items) > limit) {
        json_array_remove(items, json_array_size(items) - 1);
        json_t *last = json_array_get(items, json_array_size(items) - 1);
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld",
                 (long long)json_integer_value(json_object_get(last, "id")));
        json_decref(next);
        next = json_string(buf);
    }
    return json_pack("{s:o, s:o}", "items", items, "next", next);
}

/* ---- the directory: every signed-in user ---- */

static json_t *admin_agency_public_json(const PGresult *r, int i)
{
    return json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)mdt_db_int(r, i, 0), "name",
                     mdt_db_str(r, i, 1), "kind", mdt_db_str(r, i, 2), "active",
                     mdt_db_bool(r, i, 3));
}

static int agencies_directory_work(mdt_dbc_t *c, admin_op_t *op)
{
    json_t *items;
    int rc = mdt_accounts_rows(c, "SELECT id, name, kind, active FROM agencies ORDER BY id", NULL,
                               admin_agency_public_json, &items);
    if (rc == MDT_DB_OK)
        op->result = json_pack("{s:o, s:n}", "items", items, "next");
    return rc;
}

void mdt_admin_agencies_directory(mdt_req_t *req)
{
    admin_op_t *op = admin_op_new(req, agencies_directory_work);
    if (op)
        admin_run(op);
}

static json_t *admin_user_public_json(const PGresult *r, int i)
{
    return json_pack("{s:I, s:s, s:I, s:s}", "id", (json_int_t)mdt_db_int(r, i, 0), "display_name",
                     mdt_db_str(r, i, 1), "agency_id", (json_int_t)mdt_db_int(r, i, 2), "role",
                     mdt_db_str(r, i, 3));
}

static int users_directory_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    admin_param_opt_int(&p, op->q.agency_id);
    mdt_db_param_int(&p, op->q.cursor);
    mdt_db_param_int(&p, op->q.limit + 1);
    json_t *items;
    int rc = mdt_accounts_rows(c,
                               "SELECT u.id, u.display_name, u.agency_id, u.role FROM users u"
                               " JOIN agencies a ON a.id = u.agency_id"
                               " WHERE u.active AND a.active"
                               " AND ($1::bigint IS NULL OR u.agency_id = $1) AND u.id > $2"
                               " ORDER BY u.id LIMIT $3",
                               &p, admin_user_public_json, &items);
    if (rc == MDT_DB_OK)
        op->result = admin_page(items, op->q.limit);
    return rc;
}

void mdt_admin_users_directory(mdt_req_t *req)
{
    admin_query_t q = {.active = -1};
    mdt_err_t e;
    if (mdt_req_query_int(req, "agency_id", 1, INT64_MAX, q.agency_id, &q.agency_id, &e) < 0 ||
        admin_qpage(req, &q, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    admin_op_t *op = admin_op_new(req, users_directory_work);
    if (!op)
        return;
    op->q = q;
    admin_run(op);
}

/* ---- agencies (admin) ---- */

static int agencies_list_work(mdt_dbc_t *c, admin_op_t *op)
{
    json_t *items;
    int rc = mdt_accounts_rows(c, "SELECT " MDT_ACCOUNTS_AGENCY_COLS " FROM agencies ORDER BY id",
                               NULL, mdt_accounts_agency_json, &items);
    if (rc == MDT_DB_OK)
        op->result = json_pack("{s:o, s:n}", "items", items, "next");
    return rc;
}

void mdt_admin_agencies_list(mdt_req_t *req)
{
    admin_op_t *op = admin_op_new(req, agencies_list_work);
    if (op)
        admin_run(op);
}

static int agencies_create_work(mdt_dbc_t *c, admin_op_t *op)
{
    return mdt_accounts_agency_insert(c, &op->actor, op->name, (mdt_agency_kind_t)op->kind,
                                      &op->result, &op->current, &op->err);
}

void mdt_admin_agencies_create(mdt_req_t *req)
{
    mdt_err_t e;
    const char *name, *kinds[MDT_KIND_COUNT + 1];
    int kind;
    admin_kinds(kinds);
    if (mdt_json_str(req->json, "name", 1, 4 * ADMIN_NAME_MAX, &name, &e) < 0 ||
        mdt_accounts_check_text(name, "name", ADMIN_NAME_MAX, &e) < 0 ||
        mdt_json_enum(req->json, "kind", 1, kinds, &kind, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    admin_op_t *op = admin_op_new(req, agencies_create_work);
    if (!op)
        return;
    snprintf(op->name, sizeof(op->name), "%s", name);
    op->kind = kind;
    op->ok_status = 201;
    admin_run(op);
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
        op->current = json_incref(cur);
        admin_fail(op, 409, "conflict", "name", "another agency has that name");
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
        op->result = json_incref(cur);
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
                              &p, mdt_accounts_agency_json, &op->result);
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
        return admin_fail(op, 404, "not_found", NULL, "no such agency");
    int name_free = 1;
    if (op->has_version && json_integer_value(json_object_get(cur, "version")) != op->version) {
        op->current = json_incref(cur);
        admin_fail(op, 409, "conflict", "version", "the agency changed meanwhile: reload it");
    } else if (op->has_name) {
        rc = agencies_name_free(c, op, cur, &name_free);
    }
    if (rc == MDT_DB_OK && !op->err.status)
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
    if (admin_refuse_field(req, "kind", "an agency's kind never changes", &e) < 0 ||
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
    admin_op_t *op = admin_op_new(req, agencies_update_work);
    if (!op)
        return;
    op->has_name = rn == 0;
    snprintf(op->name, sizeof(op->name), "%s", name ? name : "");
    op->has_active = ra == 0;
    op->active = active;
    op->has_version = rv == 0;
    op->version = version;
    admin_run(op);
}

/* ---- users (admin) ---- */

static int users_list_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    admin_param_opt_int(&p, op->q.agency_id);
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
        op->result = admin_page(items, op->q.limit);
    return rc;
}

void mdt_admin_users_list(mdt_req_t *req)
{
    admin_query_t q = {.active = -1};
    mdt_err_t e;
    if (mdt_req_query_int(req, "agency_id", 1, INT64_MAX, q.agency_id, &q.agency_id, &e) < 0 ||
        admin_qbool(req, "active", &q.active, &e) < 0 || admin_qpage(req, &q, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    admin_op_t *op = admin_op_new(req, users_list_work);
    if (!op)
        return;
    op->q = q;
    admin_run(op);
}

static int users_create_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_accounts_new_user_t u = {.username = op->username,
                                 .display_name = op->name,
                                 .agency_id = op->agency_id,
                                 .role = (mdt_role_t)op->role,
                                 .password_hash = op->hash,
                                 .must_change_password = op->must_change_password};
    return mdt_accounts_user_insert(c, &op->actor, &u, &op->result, &op->current, &op->err);
}

/* Reads and checks the create body; -1 with e filled. */
static int users_create_parse(mdt_req_t *req, admin_op_t *op, mdt_err_t *e)
{
    const char *username, *display, *password, *why, *roles[MDT_ROLE_COUNT + 1];
    admin_roles(roles);
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
    admin_op_t *op = admin_op_new(req, users_create_work);
    if (!op)
        return;
    mdt_err_t e;
    if (users_create_parse(req, op, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    op->ok_status = 201;
    admin_hash_then_run(op);
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
    admin_roles(roles);
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
                              &p, mdt_accounts_user_json, &op->result);
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
        admin_fail(op, 404, "not_found", NULL, "no such user");
    return rc;
}

static int users_update_work(mdt_dbc_t *c, admin_op_t *op)
{
    json_t *cur = NULL;
    int rc = users_load(c, op, &cur);
    if (rc != MDT_DB_OK || op->err.status)
        return rc;
    users_diff_t d;
    if (json_integer_value(json_object_get(cur, "version")) != op->version) {
        op->current = cur;
        return admin_fail(op, 409, "conflict", "version", "the user changed meanwhile: reload it");
    }
    if (!users_diff(op, cur, &d))
        op->result = json_incref(cur);
    else
        rc = users_update_apply(c, op, &d);
    json_decref(cur);
    return rc;
}

/* Reads and checks the PATCH body; -1 with e filled. */
static int users_update_parse(mdt_req_t *req, admin_op_t *op, mdt_err_t *e)
{
    const char *display = NULL, *roles[MDT_ROLE_COUNT + 1];
    admin_roles(roles);
    int rn, rr, ra;
    if (admin_refuse_field(req, "agency_id",
                           "a user's agency never changes: make a new account instead", e) < 0 ||
        admin_refuse_field(req, "username", "a username never changes", e) < 0 ||
        admin_refuse_field(req, "password", "use POST .../reset-password", e) < 0 ||
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
    admin_op_t *op = admin_op_new(req, users_update_work);
    if (!op)
        return;
    mdt_err_t e;
    if (users_update_parse(req, op, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    admin_run(op);
}

static int users_reset_mfa_work(mdt_dbc_t *c, admin_op_t *op)
{
    int rc = mdt_accounts_reset_mfa(c, &op->actor, op->id, &op->result);
    if (rc == MDT_DB_NOT_FOUND)
        return admin_fail(op, 404, "not_found", NULL, "no such user");
    op->drop = json_pack("[I]", (json_int_t)op->id);
    return rc;
}

void mdt_admin_users_reset_mfa(mdt_req_t *req)
{
    admin_op_t *op = admin_op_new(req, users_reset_mfa_work);
    if (op)
        admin_run(op);
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
        return admin_fail(op, 404, "not_found", NULL, "no such user");
    op->result = json_pack("{s:o, s:s}", "user", user, "one_time_password", op->password);
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
    admin_op_t *op = admin_op_new(req, users_reset_password_work);
    if (!op)
        return;
    char otp[ADMIN_OTP_LEN + 1];
    if (admin_one_time_password(otp) != 0) {
        mdt_http_error(req, 500, "internal", NULL, "no random numbers");
        return;
    }
    snprintf(op->password, sizeof(op->password), "%s", otp);
    OPENSSL_cleanse(otp, sizeof(otp));
    admin_hash_then_run(op);
}

/* ---- reading the audit log ---- */

#define ADMIN_AUDIT_COLS                                                                           \
    "id, " MDT_ACCOUNTS_TS("at") ", user_id, username, agency_id, address, action, object_type,"   \
                                 " object_id, case_id, outcome, detail::text"

static json_t *admin_audit_json(const PGresult *r, int i)
{
    json_t *detail = json_loads(mdt_db_str(r, i, 11), 0, NULL);
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:s, s:o}", "id",
                     (json_int_t)mdt_db_int(r, i, 0), "at", mdt_db_str(r, i, 1), "user_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 2)), "username",
                     mdt_json_str_or_null(mdt_db_str(r, i, 3)), "agency_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 4)), "address",
                     mdt_json_str_or_null(mdt_db_str(r, i, 5)), "action", mdt_db_str(r, i, 6),
                     "object_type", mdt_json_str_or_null(mdt_db_str(r, i, 7)), "object_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 8)), "case_id",
                     mdt_json_id_or_null(mdt_db_int(r, i, 9)), "outcome", mdt_db_str(r, i, 10),
                     "detail", detail ? detail : json_object());
}

/* The page of audit rows as the answer, and its size in the read's row. */
static void admin_set_result(admin_op_t *op, json_t *items)
{
    op->result = admin_page(items, op->q.limit);
    size_t n = json_array_size(json_object_get(op->result, "items"));
    json_object_set_new(op->read_detail, "count", json_integer((json_int_t)n));
}

static int account_changes_work(mdt_dbc_t *c, admin_op_t *op)
{
    char agency[24];
    snprintf(agency, sizeof(agency), "%lld", (long long)op->p.agency_id);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, agency);
    admin_param_opt_int(&p, op->q.cursor);
    mdt_db_param_int(&p, op->q.limit + 1);
    json_t *items;
    int rc = mdt_accounts_rows(
        c,
        "SELECT " ADMIN_AUDIT_COLS " FROM audit"
        " WHERE action IN ('user.create', 'user.role_change', 'user.reactivate')"
        " AND detail->>'target_agency_id' = $1 AND ($2::bigint IS NULL OR id < $2)"
        " ORDER BY id DESC LIMIT $3",
        &p, admin_audit_json, &items);
    if (rc == MDT_DB_OK)
        admin_set_result(op, items);
    return rc;
}

void mdt_admin_account_changes(mdt_req_t *req)
{
    admin_op_t *op = admin_op_new(req, account_changes_work);
    if (!op)
        return;
    op->read_action = "audit.read";
    op->read_detail = json_pack("{s:s}", "view", "account_changes");
    mdt_err_t e;
    if (!mdt_authz_account_changes(&op->p)) {
        admin_audit_read(op, "denied");
        mdt_http_error(req, 403, "forbidden", NULL, "supervisors only");
        return;
    }
    if (admin_qpage(req, &op->q, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    admin_run(op);
}

/* Fills the item context of an entry, action item or service row:
 * id, visibility, agency, author, visible_to text[, assignee agency,
 * assignee user]. */
static void admin_item_ctx(const PGresult *r, int i, int is_action, int64_t *visible_to,
                           mdt_item_ctx_t *it)
{
    memset(it, 0, sizeof(*it));
    if (mdt_authz_visibility_parse(mdt_db_str(r, i, 1), &it->visibility) != 0)
        it->visibility = MDT_VIS_COUNT; /* unknown: shown to no one */
    it->author_agency_id = mdt_db_int(r, i, 2);
    it->author_user_id = mdt_db_int(r, i, 3);
    it->n_visible_to =
        mdt_casectx_parse_ids(mdt_db_str(r, i, 4), visible_to, MDT_CASE_MAX_AGENCIES);
    it->visible_to = visible_to;
    if (is_action) {
        it->assignee_agency_id = mdt_db_int(r, i, 5);
        it->assignee_user_id = mdt_db_int(r, i, 6);
    }
}

static const struct {
    const char *type;
    const char *sql; /* $1 case id, $2 the ids as int8[] text */
} admin_item_sql[] = {
    {"entry", "SELECT id, visibility, agency_id, author_id, visible_to::text FROM entries"
              " WHERE case_id = $1 AND id = ANY($2::bigint[])"},
    {"action", "SELECT id, visibility, agency_id, created_by, visible_to::text,"
               " assignee_agency_id, coalesce(assignee_id, 0) FROM actions"
               " WHERE case_id = $1 AND id = ANY($2::bigint[])"},
    {"service", "SELECT id, visibility, agency_id, created_by, visible_to::text FROM services"
                " WHERE case_id = $1 AND id = ANY($2::bigint[])"},
};

/* The ids of rows whose object_type is type, as int8[] text; NULL if none. */
static char *admin_ids_of(json_t *rows, const char *type)
{
    size_t i, len = 0, cap = 64;
    json_t *row;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[len++] = '{';
    json_array_foreach(rows, i, row)
    {
        const char *t = json_string_value(json_object_get(row, "object_type"));
        json_int_t id = json_integer_value(json_object_get(row, "object_id"));
        if (!t || strcmp(t, type) != 0 || id <= 0)
            continue;
        if (len + 24 > cap) {
            char *bigger = realloc(s, cap *= 2);
            if (!bigger) {
                free(s);
                return NULL;
            }
            s = bigger;
        }
        len += (size_t)snprintf(s + len, cap - len, "%s%lld", len > 1 ? "," : "", (long long)id);
    }
    if (len == 1) {
        free(s);
        return NULL;
    }
    snprintf(s + len, cap - len, "}");
    return s;
}

/* Marks every row of object type `type` with an id in `visible` (sorted
 * not needed: few rows) as seen; the others are redacted later. */
static int admin_check_items(mdt_dbc_t *c, admin_op_t *op, const mdt_case_ctx_t *view, int k,
                             json_t *rows, json_t *seen)
{
    char *ids = admin_ids_of(rows, admin_item_sql[k].type);
    if (!ids)
        return MDT_DB_OK;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, op->q.case_id);
    mdt_db_param_str(&p, ids);
    PGresult *r = mdt_db_query(c, admin_item_sql[k].sql, &p);
    free(ids);
    if (!r)
        return c->status;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t visible_to[MDT_CASE_MAX_AGENCIES];
        mdt_item_ctx_t it;
        admin_item_ctx(r, i, k == 1, visible_to, &it);
        if (mdt_authz_item_visible(&op->p, view, &it)) {
            char key[48];
            snprintf(key, sizeof(key), "%s:%s", admin_item_sql[k].type, PQgetvalue(r, i, 0));
            json_object_set_new(seen, key, json_true());
        }
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* Is the object a row names one a non-admin reader may see? Case-level
 * objects yes; entries, action items and services when in `seen`;
 * anything else no (fail closed). */
static int admin_row_visible(json_t *row, json_t *seen)
{
    const char *t = json_string_value(json_object_get(row, "object_type"));
    json_int_t id = json_integer_value(json_object_get(row, "object_id"));
    if (!t || id <= 0)
        return 1;
    static const char *const open[] = {"case", "pii", "tracking", "consent", NULL};
    for (int i = 0; open[i]; i++) {
        if (strcmp(t, open[i]) == 0)
            return 1;
    }
    char key[48];
    snprintf(key, sizeof(key), "%s:%lld", t, (long long)id);
    return json_object_get(seen, key) != NULL;
}

/* For a supervisor: rows about objects it may not see keep their action
 * but lose object_id and detail, and say "redacted": true. */
static int admin_redact(mdt_dbc_t *c, admin_op_t *op, const mdt_case_ctx_t *view, json_t *rows)
{
    json_t *seen = json_object();
    int rc = MDT_DB_OK;
    for (int k = 0; rc == MDT_DB_OK && k < 3; k++)
        rc = admin_check_items(c, op, view, k, rows, seen);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (rc == MDT_DB_OK && !admin_row_visible(row, seen)) {
            json_object_set_new(row, "object_id", json_null());
            json_object_set_new(row, "detail", json_object());
            json_object_set_new(row, "redacted", json_true());
        }
    }
    json_decref(seen);
    return rc;
}

static int audit_rows(mdt_dbc_t *c, admin_op_t *op, json_t **items)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    admin_param_opt_int(&p, op->q.case_id);
    admin_param_opt_int(&p, op->q.user_id);
    mdt_db_param_str(&p, op->q.since[0] ? op->q.since : NULL);
    admin_param_opt_int(&p, op->q.cursor);
    mdt_db_param_int(&p, op->q.limit + 1);
    return mdt_accounts_rows(c,
                             "SELECT " ADMIN_AUDIT_COLS " FROM audit"
                             " WHERE ($1::bigint IS NULL OR case_id = $1)"
                             " AND ($2::bigint IS NULL OR user_id = $2)"
                             " AND ($3::timestamptz IS NULL OR at >= $3)"
                             " AND ($4::bigint IS NULL OR id < $4)"
                             " ORDER BY id DESC LIMIT $5",
                             &p, admin_audit_json, items);
}

/* The case (when a case_id is given) as the authorization module sees it:
 * *view NULL when there is no such case. */
static int audit_case(mdt_dbc_t *c, admin_op_t *op, mdt_case_ctx_t *view, int *found)
{
    *found = 0;
    if (!op->q.case_id)
        return MDT_DB_OK;
    op->cx = malloc(sizeof(*op->cx));
    if (!op->cx)
        return MDT_DB_ERROR;
    int rc = mdt_casectx_load(c, op->q.case_id, op->cx);
    if (rc == MDT_DB_NOT_FOUND)
        return MDT_DB_OK;
    if (rc == MDT_DB_OK) {
        *view = mdt_casectx_view(op->cx);
        *found = 1;
    }
    return rc;
}

static int audit_list_work(mdt_dbc_t *c, admin_op_t *op)
{
    mdt_case_ctx_t view;
    int found;
    int rc = audit_case(c, op, &view, &found);
    if (rc != MDT_DB_OK)
        return rc;
    if (!mdt_authz_audit_read(&op->p, found ? &view : NULL))
        return admin_fail(op, 403, "forbidden", NULL,
                          "administrators, and supervisors for the cases their agency leads");
    json_t *items;
    rc = audit_rows(c, op, &items);
    if (rc != MDT_DB_OK)
        return rc;
    if (op->p.role != MDT_ROLE_ADMIN)
        rc = admin_redact(c, op, &view, items);
    admin_set_result(op, items);
    return rc;
}

/* Reads the filters; -1 with e filled. */
static int audit_list_parse(mdt_req_t *req, admin_query_t *q, mdt_err_t *e)
{
    if (mdt_req_query_int(req, "case_id", 1, INT64_MAX, q->case_id, &q->case_id, e) < 0 ||
        mdt_req_query_int(req, "user_id", 1, INT64_MAX, q->user_id, &q->user_id, e) < 0 ||
        admin_qpage(req, q, e) < 0)
        return -1;
    const char *since = mdt_req_query(req, "since");
    if (since && *since && !admin_valid_time(since, q->since)) {
        mdt_err_set(e, 422, "validation", "since",
                    "since must be an RFC 3339 time (2026-11-28T14:03:00Z) or a date");
        return -1;
    }
    return 0;
}

/* detail of the audit.read row: which filters were given (not their
 * values) and, once known, how many rows were read. */
static json_t *audit_read_detail(const admin_query_t *q)
{
    json_t *filters = json_array();
    if (q->case_id)
        json_array_append_new(filters, json_string("case_id"));
    if (q->user_id)
        json_array_append_new(filters, json_string("user_id"));
    if (q->since[0])
        json_array_append_new(filters, json_string("since"));
    if (q->cursor)
        json_array_append_new(filters, json_string("cursor"));
    return json_pack("{s:s, s:o}", "view", "audit", "filters", filters);
}

void mdt_admin_audit_list(mdt_req_t *req)
{
    admin_op_t *op = admin_op_new(req, audit_list_work);
    if (!op)
        return;
    mdt_err_t e;
    if (audit_list_parse(req, &op->q, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    op->read_action = "audit.read";
    op->read_case_id = op->q.case_id;
    op->read_detail = audit_read_detail(&op->q);
    /* without a case only an admin may read; with one, the database knows */
    if (!op->q.case_id && !mdt_authz_audit_read(&op->p, NULL)) {
        admin_audit_read(op, "denied");
        mdt_http_error(req, 403, "forbidden", NULL,
                       "administrators, and supervisors for the cases their agency leads");
        return;
    }
    admin_run(op);
}
