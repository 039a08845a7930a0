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
#include "admin_int.h"

#include "ctx.h"

/* ---- the runner ---- */

static int admin_work(mdt_dbc_t *c, void *arg);
static void admin_finish(void *arg, int status);

static void admin_op_free(void *arg)
{
    admin_op_t *op = arg;
    mdt_run_free(&op->run);
    json_decref(op->drop);
    json_decref(op->read_detail);
    free(op->cx);
    OPENSSL_cleanse(op, sizeof(*op));
    free(op);
}

/* A new op for req (NULL when it already answered). */
admin_op_t *mdt_admin_op_new(mdt_req_t *req, admin_fn work)
{
    admin_op_t *op = calloc(1, sizeof(*op));
    if (!op) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    op->req = req;
    op->work = work;
    mdt_run_init(&op->run, req, op, admin_work);
    op->run.finish = admin_finish;
    op->p = mdt_auth_principal(req);
    mdt_audit_actor_from_req(req, &op->actor);
    op->id = req->ids[0];
    op->q.active = -1;
    req->state = op;
    req->state_free = admin_op_free;
    return op;
}

static int admin_work(mdt_dbc_t *c, void *arg)
{
    admin_op_t *op = arg;
    return op->work(c, op);
}

/* Buffers the audit row of a read (ok or denied). */
void mdt_admin_audit_read(admin_op_t *op, const char *outcome)
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

/* Loop, before the answer: the read's audit row, and on success the
 * cached sessions the change ended and the op's own answer step. */
static void admin_finish(void *arg, int status)
{
    admin_op_t *op = arg;
    if (status == MDT_DB_OK && op->read_action)
        mdt_admin_audit_read(op, op->run.ans.err.status ? "denied" : "ok");
    if (status == MDT_DB_OK && !op->run.ans.err.status) {
        admin_drop_sessions(op);
        if (op->answer)
            op->answer(op);
    }
}

void mdt_admin_run(admin_op_t *op)
{
    mdt_run_start(&op->run);
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
        mdt_admin_run(op);
}

/* Hashes op->password on the cpu pool, then runs op. */
void mdt_admin_hash_then_run(admin_op_t *op)
{
    op->hash_failed = 1;
    if (mdt_workq_submit(mdt_ctx_cpu(op->req), admin_hash_work, admin_hash_done, op) != 0)
        mdt_http_fail_db(op->req, MDT_DB_REFUSED);
}

/* ---- input ---- */

/* limit (default 50, 1..500) and cursor (an id). */
int mdt_admin_qpage(const mdt_req_t *req, admin_query_t *q, mdt_err_t *e)
{
    q->limit = ADMIN_PAGE_DEFAULT;
    if (mdt_req_query_int(req, "limit", 1, ADMIN_PAGE_MAX, q->limit, &q->limit, e) < 0 ||
        mdt_req_query_int(req, "cursor", 1, INT64_MAX, q->cursor, &q->cursor, e) < 0)
        return -1;
    return 0;
}

/* ?active=true|false */
int mdt_admin_qbool(const mdt_req_t *req, const char *name, int *out, mdt_err_t *e)
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

/* An RFC 3339 date-time (mdt_json_valid_datetime), or a date (taken as its
 * UTC midnight), copied or completed into out. */
int mdt_admin_valid_time(const char *s, char out[48])
{
    if (strlen(s) == 10 && mdt_json_valid_date(s)) {
        snprintf(out, 48, "%sT00:00:00Z", s);
        return 1;
    }
    if (!mdt_json_valid_datetime(s))
        return 0;
    snprintf(out, 48, "%s", s);
    return 1;
}

void mdt_admin_roles(const char *out[MDT_ROLE_COUNT + 1])
{
    for (int i = 0; i < MDT_ROLE_COUNT; i++)
        out[i] = mdt_authz_role_name((mdt_role_t)i);
    out[MDT_ROLE_COUNT] = NULL;
}

void mdt_admin_kinds(const char *out[MDT_KIND_COUNT + 1])
{
    for (int i = 0; i < MDT_KIND_COUNT; i++)
        out[i] = mdt_authz_agency_kind_name((mdt_agency_kind_t)i);
    out[MDT_KIND_COUNT] = NULL;
}

/* 422 when the body names a field that may not be changed here. */
int mdt_admin_refuse_field(mdt_req_t *req, const char *field, const char *why, mdt_err_t *e)
{
    if (!json_object_get(req->json, field))
        return 0;
    mdt_err_set(e, 422, "validation", field, "%s", why);
    return -1;
}

void mdt_admin_param_opt_int(mdt_db_params_t *p, int64_t v)
{
    if (v)
        mdt_db_param_int(p, v);
    else
        mdt_db_param_str(p, NULL);
}

/* {"items": items, "next": last id as a string, or null}: items holds up
 * to limit + 1 rows; the extra one only says that there is more. */
json_t *mdt_admin_page(json_t *items, int64_t limit)
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
        op->run.ans.result = json_pack("{s:o, s:n}", "items", items, "next");
    return rc;
}

void mdt_admin_agencies_directory(mdt_req_t *req)
{
    admin_op_t *op = mdt_admin_op_new(req, agencies_directory_work);
    if (op)
        mdt_admin_run(op);
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
    mdt_admin_param_opt_int(&p, op->q.agency_id);
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
        op->run.ans.result = mdt_admin_page(items, op->q.limit);
    return rc;
}

void mdt_admin_users_directory(mdt_req_t *req)
{
    admin_query_t q = {.active = -1};
    mdt_err_t e;
    if (mdt_req_query_int(req, "agency_id", 1, INT64_MAX, q.agency_id, &q.agency_id, &e) < 0 ||
        mdt_admin_qpage(req, &q, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    admin_op_t *op = mdt_admin_op_new(req, users_directory_work);
    if (!op)
        return;
    op->q = q;
    mdt_admin_run(op);
}
