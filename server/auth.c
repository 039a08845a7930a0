/* auth.c - login, logout, me, MFA enrolment and password change (see auth.h).
 *
 * Every request runs on the request runner (runner.c): password hashing
 * (~100 ms of CPU) is its cpu step between loading the account (pre) and
 * the transaction; the loop only validates and answers. A refusal that
 * must keep its audit row and failure count is answered in finish, after
 * COMMIT. Unknown users cost the
 * same work as known ones (a dummy hash), and every failure answers the same
 * 401 unauthenticated. */
#include "auth.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "password.h"
#include "ratelimit.h"
#include "runner.h"
#include "sealed.h"
#include "server_ctx.h"
#include "totp.h"

json_t *mdt_auth_user_json(const mdt_user_t *u)
{
    return json_pack("{s:I, s:s, s:s, s:I, s:s, s:b, s:b}", "id", (json_int_t)u->user_id,
                     "username", u->username, "display_name", u->display_name, "agency_id",
                     (json_int_t)u->agency_id, "role", mdt_authz_role_name(u->role), "active",
                     u->active, "mfa_enabled", u->mfa_enabled);
}

static void auth_set_cookie(mdt_req_t *req, const char *token)
{
    char v[256];
    snprintf(v, sizeof(v), "mdt_session=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
             token ? token : "", req->srv->cfg.origin_https ? "; Secure" : "",
             token ? "" : "; Max-Age=0");
    mdt_http_add_header(req, "set-cookie", v);
}

/* Audit helper for work functions: one row in c's transaction. */
static int auth_audit(mdt_dbc_t *c, const mdt_audit_actor_t *a, const char *action,
                      const char *outcome, json_t *detail)
{
    mdt_audit_rec_t rec = {.action = action,
                           .object_type = "user",
                           .object_id = a->user_id,
                           .outcome = outcome,
                           .detail = detail};
    int rc = mdt_audit_append(c, a, &rec);
    json_decref(detail);
    return rc;
}

/* Emits user.updated so every node re-reads that user's sessions. */
static int auth_emit_user(mdt_dbc_t *c, int64_t user_id)
{
    mdt_event_t ev = {
        .kind = "user.updated", .object_type = "user", .object_id = user_id, .actor_id = user_id};
    return mdt_event_emit(c, &ev) > 0 ? MDT_DB_OK : c->status;
}

/* ---- login ---- */

enum { LOGIN_FAIL, LOGIN_MFA, LOGIN_OK };

typedef struct {
    mdt_run_t run; /* first: mdt_run_new */
    mdt_req_t *req;
    char username[72];
    char password[MDT_PASSWORD_MAX_BYTES + 1];
    char totp[16];
    int lockout_failures, lockout_s, session_max_s;
    const char *mfa_kinds;
    /* loaded */
    int found, active, locked, mfa_enabled;
    int64_t user_id, mfa_last_step;
    char hash[MDT_PASSWORD_HASH_MAX];
    char mfa_secret[128];
    mdt_audit_actor_t actor;
    /* computed */
    int pw_ok, outcome;
    char token[65];
    mdt_session_t s;
} login_t;

static void login_free(void *p)
{
    login_t *l = p;
    mdt_run_free(&l->run);
    OPENSSL_cleanse(l->password, sizeof(l->password));
    free(l);
}

/* Runs sql and opens its sealed TOTP secret in column col (the user id in
 * id_col): sealed under the installation's key, bound to the user. */
static PGresult *auth_query_secret(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p, int col,
                                   int id_col)
{
    const mdt_sealed_col_t sealed = {col, "user", "mfa_secret", id_col, -1, NULL, -1};
    return mdt_sealed_query(c, sql, p, &sealed, 1);
}

static int login_load_work(mdt_dbc_t *c, void *arg)
{
    login_t *l = arg;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, l->username);
    PGresult *r = auth_query_secret(c,
                                    "SELECT u.id, u.password_hash, (u.active AND a.active),"
                                    " coalesce(u.locked_until > now(), false), u.mfa_enabled,"
                                    " u.mfa_secret, u.mfa_last_step, u.username, u.agency_id"
                                    " FROM users u JOIN agencies a ON a.id = u.agency_id"
                                    " WHERE lower(u.username) = lower($1)",
                                    &p, 5, 0);
    if (!r)
        return c->status;
    if (PQntuples(r) == 1) {
        l->found = 1;
        l->user_id = mdt_db_int(r, 0, 0);
        snprintf(l->hash, sizeof(l->hash), "%s", mdt_db_str(r, 0, 1));
        l->active = mdt_db_bool(r, 0, 2);
        l->locked = mdt_db_bool(r, 0, 3);
        l->mfa_enabled = mdt_db_bool(r, 0, 4);
        snprintf(l->mfa_secret, sizeof(l->mfa_secret), "%s",
                 mdt_db_str(r, 0, 5) ? mdt_db_str(r, 0, 5) : "");
        l->mfa_last_step = mdt_db_int(r, 0, 6);
        l->actor.user_id = l->user_id;
        snprintf(l->actor.username, sizeof(l->actor.username), "%s", mdt_db_str(r, 0, 7));
        l->actor.agency_id = mdt_db_int(r, 0, 8);
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* Counts a failed password or code for the actor's account and locks it at
 * the limit; audits the failure (as action) and the lockout. With
 * end_sessions (a re-authentication inside a session failed) a lockout also
 * ends every session of the account, on every node: a stolen session cannot
 * be used to guess the password. */
static int auth_count_failure(mdt_dbc_t *c, const mdt_audit_actor_t *a, int failures, int lockout_s,
                              const char *action, const char *reason, int *end_sessions)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, a->user_id);
    mdt_db_param_int(&p, failures);
    mdt_db_param_int(&p, lockout_s);
    PGresult *r = mdt_db_query(
        c,
        "UPDATE users SET"
        " locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(secs => "
        "$3::int) ELSE locked_until END,"
        " failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END"
        " WHERE id = $1 RETURNING coalesce(locked_until > now(), false)",
        &p);
    if (!r)
        return c->status;
    int locked = PQntuples(r) == 1 && mdt_db_bool(r, 0, 0);
    PQclear(r);
    int rc = auth_audit(c, a, action, "failure", json_pack("{s:s}", "reason", reason));
    if (rc == MDT_DB_OK && locked)
        rc = auth_audit(c, a, "lockout", "ok", NULL);
    if (end_sessions)
        *end_sessions = locked;
    if (rc == MDT_DB_OK && locked && end_sessions) {
        mdt_db_params_init(&p);
        mdt_db_param_int(&p, a->user_id);
        rc = mdt_db_exec(c,
                         "UPDATE sessions SET revoked_at = now() WHERE user_id = $1"
                         " AND revoked_at IS NULL",
                         &p);
        if (rc == MDT_DB_OK)
            rc = auth_emit_user(c, a->user_id);
    }
    return rc;
}

static int login_count_failure(mdt_dbc_t *c, login_t *l, const char *reason)
{
    return auth_count_failure(c, &l->actor, l->lockout_failures, l->lockout_s, "login", reason, 0);
}

/* Checks the TOTP code; on success records its step so it cannot be used
 * again (the conditional UPDATE also wins any race between two nodes). */
static int login_check_totp(mdt_dbc_t *c, login_t *l, int *ok)
{
    unsigned char key[64];
    int64_t step = 0;
    long kl = mdt_totp_b32_decode(l->mfa_secret, key, sizeof(key));
    *ok = kl > 0 && mdt_totp_verify(key, (size_t)kl, l->totp, mdt_session_now(), l->mfa_last_step,
                                    &step) == 1;
    OPENSSL_cleanse(key, sizeof(key));
    if (!*ok)
        return MDT_DB_OK;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, l->user_id);
    mdt_db_param_int(&p, step);
    PGresult *r = mdt_db_query(c,
                               "UPDATE users SET mfa_last_step = $2 WHERE id = $1"
                               " AND mfa_last_step < $2 RETURNING id",
                               &p);
    if (!r)
        return c->status;
    *ok = PQntuples(r) == 1;
    PQclear(r);
    return MDT_DB_OK;
}

static int login_succeed(mdt_dbc_t *c, login_t *l)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, l->user_id);
    int rc =
        mdt_db_exec(c, "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1", &p);
    if (rc == MDT_DB_OK)
        rc = mdt_session_create(c, l->user_id, l->actor.address, l->session_max_s, l->token, &l->s);
    if (rc == MDT_DB_OK)
        rc = mdt_session_load_user(c, l->user_id, l->mfa_kinds, &l->s.user);
    if (rc == MDT_DB_OK)
        rc = auth_audit(c, &l->actor, "login", "ok", NULL);
    if (rc == MDT_DB_OK)
        l->outcome = LOGIN_OK;
    return rc;
}

/* The runner's work, in the transaction: decides the outcome, then counts,
 * audits, or opens a session. */
static int login_decide(mdt_dbc_t *c, void *arg)
{
    login_t *l = arg;
    l->outcome = LOGIN_FAIL;
    if (!l->found)
        return auth_audit(c, &l->actor, "login", "failure",
                          json_pack("{s:s}", "reason", "unknown_user"));
    if (l->locked || !l->active)
        return auth_audit(c, &l->actor, "login", "failure",
                          json_pack("{s:s}", "reason", l->locked ? "locked" : "inactive"));
    if (!l->pw_ok)
        return login_count_failure(c, l, "bad_password");
    if (l->mfa_enabled) {
        l->outcome = LOGIN_MFA;
        if (!l->totp[0])
            return auth_audit(c, &l->actor, "login", "mfa_required", NULL);
        int ok = 0, rc = login_check_totp(c, l, &ok);
        if (rc != MDT_DB_OK || !ok)
            return rc != MDT_DB_OK ? rc : login_count_failure(c, l, "bad_totp");
    }
    return login_succeed(c, l);
}

/* Loop, after COMMIT: the answer for the outcome. */
static void login_finish(void *arg, int status)
{
    login_t *l = arg;
    mdt_req_t *req = l->req;
    if (status != MDT_DB_OK)
        return;
    if (l->outcome == LOGIN_OK) {
        mdt_session_cache(req->srv, &l->s);
        auth_set_cookie(req, l->token);
        req->log_user_id = l->user_id;
        l->run.ans.result = json_pack("{s:o, s:s}", "user", mdt_auth_user_json(&l->s.user),
                                      "csrf_token", l->s.csrf);
    } else if (l->outcome == LOGIN_MFA) {
        mdt_run_fail(&l->run, 401, "mfa_required", "totp",
                     "enter the current code from your authenticator app");
    } else {
        mdt_run_fail(&l->run, 401, "unauthenticated", NULL, "wrong username or password");
    }
}

/* The runner's cpu step: the password against the loaded hash (a dummy
 * hash for an unknown user, so both cost the same). */
static void login_verify(void *arg)
{
    login_t *l = arg;
    int ok = mdt_password_verify(l->password, l->found ? l->hash : mdt_password_dummy_hash());
    l->pw_ok = l->found && ok == 1;
}

/* Reads the body into l; -1 when it answered. */
static int login_parse(mdt_req_t *req, login_t *l)
{
    mdt_err_t e;
    const char *u, *pw, *code = NULL;
    if (mdt_json_str(req->json, "username", 1, 64, &u, &e) < 0 ||
        mdt_json_str(req->json, "password", 1, MDT_PASSWORD_MAX_BYTES, &pw, &e) < 0 ||
        mdt_json_str(req->json, "totp", 0, 12, &code, &e) < 0) {
        mdt_http_fail(req, &e);
        return -1;
    }
    snprintf(l->username, sizeof(l->username), "%s", u);
    snprintf(l->password, sizeof(l->password), "%s", pw);
    snprintf(l->totp, sizeof(l->totp), "%s", code ? code : "");
    return 0;
}

void mdt_auth_login(mdt_req_t *req)
{
    mdt_server_t *srv = req->srv;
    int wait = mdt_ratelimit_take(srv->login_limits, req->peer);
    if (wait > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", wait);
        mdt_http_add_header(req, "retry-after", v);
        mdt_http_error(req, 429, "rate_limited", NULL, "too many sign-in attempts; wait %d s",
                       wait);
        return;
    }
    login_t *l = mdt_run_new(req, sizeof(*l), login_decide, login_free);
    if (!l)
        return;
    l->req = req;
    l->lockout_failures = srv->cfg.lockout_failures;
    l->lockout_s = srv->cfg.lockout_s;
    l->session_max_s = srv->cfg.session_max_s;
    l->mfa_kinds = srv->cfg.mfa_required_kinds;
    snprintf(l->actor.address, sizeof(l->actor.address), "%s", req->peer);
    if (login_parse(req, l) != 0)
        return;
    l->run.pre = login_load_work;
    l->run.cpu = login_verify;
    l->run.finish = login_finish;
    mdt_run_start(&l->run);
}

/* ---- logout, me ---- */

typedef struct {
    mdt_run_t run; /* first: mdt_run_new */
} logout_t;

static int logout_work(mdt_dbc_t *c, void *arg)
{
    logout_t *o = arg;
    mdt_req_t *req = o->run.req;
    const mdt_session_t *s = mdt_auth_session(req);
    mdt_audit_actor_t a;
    mdt_audit_actor_from_req(req, &a);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, s->id_hash);
    json_t *data = json_pack("{s:s}", "id_hash", s->id_hash);
    mdt_event_t ev = {.kind = "session.revoked",
                      .object_type = "user",
                      .object_id = s->user.user_id,
                      .actor_id = s->user.user_id,
                      .data = data};
    int rc = mdt_db_exec(c, "UPDATE sessions SET revoked_at = now() WHERE id_hash = $1", &p);
    if (rc == MDT_DB_OK)
        rc = auth_audit(c, &a, "logout", "ok", NULL);
    if (rc == MDT_DB_OK && mdt_event_emit(c, &ev) < 0)
        rc = c->status;
    json_decref(data);
    return rc;
}

static void logout_finish(void *arg, int status)
{
    logout_t *o = arg;
    mdt_req_t *req = o->run.req;
    if (status != MDT_DB_OK)
        return;
    mdt_session_drop(req->srv, mdt_auth_session(req)->id_hash);
    auth_set_cookie(req, NULL);
    o->run.ans.ok_status = 204;
}

void mdt_auth_logout(mdt_req_t *req)
{
    logout_t *o = mdt_run_new(req, sizeof(*o), logout_work, NULL);
    if (!o)
        return;
    o->run.finish = logout_finish;
    mdt_run_start(&o->run);
}

void mdt_auth_me(mdt_req_t *req)
{
    const mdt_session_t *s = mdt_auth_session(req);
    const mdt_user_t *u = &s->user;
    json_t *agency =
        json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)u->agency_id, "name", u->agency_name,
                  "kind", mdt_authz_agency_kind_name(u->agency_kind), "active", 1);
    json_t *session = json_pack("{s:i, s:o}", "idle_timeout_s", req->srv->cfg.session_idle_s,
                                "expires_at", mdt_json_time((time_t)s->expires_at));
    /* time_zone: "today" and "end of day" are the installation's (MDT_TIME_ZONE) */
    mdt_http_respond_json(req, 200,
                          json_pack("{s:o, s:o, s:s, s:b, s:b, s:b, s:o, s:s}", "user",
                                    mdt_auth_user_json(u), "agency", agency, "csrf_token", s->csrf,
                                    "mfa_required", u->mfa_required, "mfa_enrolment_required",
                                    u->mfa_required && !u->mfa_enabled, "password_change_required",
                                    u->must_change_password, "session", session, "time_zone",
                                    req->srv->cfg.time_zone));
}

/* ---- re-authenticated changes: MFA enrolment start, password change ---- */

typedef struct {
    mdt_run_t run; /* first: mdt_run_new */
    mdt_req_t *req;
    char password[MDT_PASSWORD_MAX_BYTES + 1];
    char new_password[MDT_PASSWORD_MAX_BYTES + 1];
    char totp[16];
    char hash[MDT_PASSWORD_HASH_MAX];
    char new_hash[MDT_PASSWORD_HASH_MAX];
    char mfa_secret[128];
    int mfa_enabled, pw_ok, hash_failed;
    int64_t mfa_last_step;
    int fail_status; /* 0 ok, else an HTTP status to answer with */
    int ended;       /* a lockout ended the account's sessions */
    const char *fail_code, *fail_field, *fail_msg;
    char secret_b32[64];
} reauth_t;

static void reauth_free(void *p)
{
    reauth_t *r = p;
    mdt_run_free(&r->run);
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
}

static void reauth_fail(reauth_t *r, int status, const char *code, const char *field,
                        const char *msg)
{
    r->fail_status = status;
    r->fail_code = code;
    r->fail_field = field;
    r->fail_msg = msg;
}

static int reauth_load_work(mdt_dbc_t *c, void *arg)
{
    reauth_t *r = arg;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, mdt_auth_user(r->req)->user_id);
    PGresult *res =
        auth_query_secret(c,
                          "SELECT password_hash, mfa_enabled, mfa_secret, mfa_last_step, id"
                          " FROM users WHERE id = $1",
                          &p, 2, 4);
    if (!res)
        return c->status;
    int rc = PQntuples(res) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK) {
        snprintf(r->hash, sizeof(r->hash), "%s", mdt_db_str(res, 0, 0));
        r->mfa_enabled = mdt_db_bool(res, 0, 1);
        snprintf(r->mfa_secret, sizeof(r->mfa_secret), "%s",
                 mdt_db_str(res, 0, 2) ? mdt_db_str(res, 0, 2) : "");
        r->mfa_last_step = mdt_db_int(res, 0, 3);
    }
    PQclear(res);
    return rc;
}

/* The runner's cpu step: the current password, and the new one's hash. */
static void reauth_cpu(void *arg)
{
    reauth_t *r = arg;
    r->pw_ok = mdt_password_verify(r->password, r->hash) == 1;
    if (r->pw_ok && r->new_password[0])
        r->hash_failed = mdt_password_hash(r->new_password, r->new_hash) != 0;
}

/* Loop: a runner for req that loads the account (pre), verifies (cpu),
 * then runs work in a transaction and finish; NULL (answered) when out of
 * memory. Start it with mdt_run_start(&r->run). */
static reauth_t *reauth_begin(mdt_req_t *req, mdt_run_fn work, void (*finish)(void *, int))
{
    reauth_t *r = mdt_run_new(req, sizeof(*r), work, reauth_free);
    if (!r)
        return NULL;
    r->req = req;
    r->run.pre = reauth_load_work;
    r->run.cpu = reauth_cpu;
    r->run.finish = finish;
    return r;
}

/* Loop, in finish: the refusal work decided (after COMMIT, so its failure
 * count and audit stay). */
static void reauth_refuse(reauth_t *r)
{
    if (r->ended) /* this node drops them now; the others on user.updated */
        mdt_session_drop_user(r->req->srv, mdt_auth_user(r->req)->user_id);
    mdt_run_fail(&r->run, r->fail_status, r->fail_code, r->fail_field, r->fail_msg);
}

/* Verifies the current TOTP code against r's enrolled secret (and burns its
 * step) for re-enrolment. *ok is set; returns the db status. */
static int reauth_check_totp(mdt_dbc_t *c, reauth_t *r, int64_t user_id, int *ok)
{
    login_t l;
    memset(&l, 0, sizeof(l));
    l.user_id = user_id;
    l.mfa_last_step = r->mfa_last_step;
    snprintf(l.mfa_secret, sizeof(l.mfa_secret), "%s", r->mfa_secret);
    snprintf(l.totp, sizeof(l.totp), "%s", r->totp);
    int rc = r->totp[0] ? login_check_totp(c, &l, ok) : MDT_DB_OK;
    if (!r->totp[0])
        *ok = 0;
    OPENSSL_cleanse(&l, sizeof(l));
    return rc;
}

static int mfa_start_work(mdt_dbc_t *c, void *arg)
{
    reauth_t *r = arg;
    mdt_req_t *req = r->req;
    mdt_audit_actor_t a;
    mdt_audit_actor_from_req(req, &a);
    int rc = MDT_DB_OK, ok = 1;
    if (r->pw_ok && r->mfa_enabled)
        rc = reauth_check_totp(c, r, a.user_id, &ok);
    if (rc != MDT_DB_OK)
        return rc;
    if (!r->pw_ok || !ok) {
        reauth_fail(r, 403, "forbidden", r->pw_ok ? "totp" : "password",
                    r->pw_ok ? "the current code is required and must be right"
                             : "the password is not right");
        return auth_count_failure(c, &a, req->srv->cfg.lockout_failures, req->srv->cfg.lockout_s,
                                  "mfa.enrol_start", r->pw_ok ? "bad_totp" : "bad_password",
                                  &r->ended);
    }
    unsigned char key[MDT_TOTP_SECRET_LEN];
    if (mdt_totp_new_secret(key) != 0 ||
        mdt_totp_b32_encode(key, sizeof(key), r->secret_b32, sizeof(r->secret_b32)) < 0)
        return MDT_DB_ERROR;
    OPENSSL_cleanse(key, sizeof(key));
    /* Sealed where it will live once confirmed (the confirmation moves it). */
    mdt_seal_where_t w = {"user", "mfa_secret", a.user_id, 0, ""};
    char *sealed = NULL;
    if ((rc = mdt_sealed_seal(c, &w, r->secret_b32, &sealed)) != MDT_DB_OK)
        return rc;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, a.user_id);
    mdt_db_param_str(&p, sealed);
    rc = mdt_db_exec(c, "UPDATE users SET mfa_pending_secret = $2 WHERE id = $1", &p);
    free(sealed);
    if (rc == MDT_DB_OK)
        rc = auth_audit(c, &a, "mfa.enrol_start", "ok", NULL);
    return rc;
}

static void mfa_start_finish(void *arg, int status)
{
    reauth_t *r = arg;
    mdt_req_t *req = r->req;
    if (status != MDT_DB_OK)
        return;
    if (r->fail_status) {
        reauth_refuse(r);
        return;
    }
    char *uri = mdt_totp_uri("MDT Board", mdt_auth_user(req)->username, r->secret_b32);
    if (!uri) {
        mdt_run_fail(&r->run, 500, "internal", NULL, "out of memory");
        return;
    }
    r->run.ans.result = json_pack("{s:s, s:s}", "secret", r->secret_b32, "otpauth_uri", uri);
    free(uri);
}

void mdt_auth_mfa_start(mdt_req_t *req)
{
    mdt_err_t e;
    const char *pw, *code = NULL;
    if (mdt_json_str(req->json, "password", 1, MDT_PASSWORD_MAX_BYTES, &pw, &e) < 0 ||
        mdt_json_str(req->json, "totp", 0, 12, &code, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    reauth_t *r = reauth_begin(req, mfa_start_work, mfa_start_finish);
    if (!r)
        return;
    snprintf(r->password, sizeof(r->password), "%s", pw);
    snprintf(r->totp, sizeof(r->totp), "%s", code ? code : "");
    mdt_run_start(&r->run);
}

typedef struct {
    mdt_run_t run; /* first: mdt_run_new */
    mdt_req_t *req;
    char totp[16];
    int ok;
    mdt_user_t user;
} mfa_confirm_t;

static int mfa_confirm_apply(mdt_dbc_t *c, mfa_confirm_t *m, const char *secret, int64_t last)
{
    unsigned char key[64];
    int64_t step = 0;
    long kl = mdt_totp_b32_decode(secret, key, sizeof(key));
    m->ok = kl > 0 && mdt_totp_verify(key, (size_t)kl, m->totp, mdt_session_now(), last, &step);
    OPENSSL_cleanse(key, sizeof(key));
    mdt_audit_actor_t a;
    mdt_audit_actor_from_req(m->req, &a);
    if (!m->ok)
        return auth_audit(c, &a, "mfa.enrol", "failure", NULL);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, a.user_id);
    mdt_db_param_int(&p, step);
    int rc = mdt_db_exec(c,
                         "UPDATE users SET mfa_secret = mfa_pending_secret, mfa_enabled = true,"
                         " mfa_pending_secret = NULL, mfa_last_step = $2, version = version + 1"
                         " WHERE id = $1",
                         &p);
    if (rc == MDT_DB_OK)
        rc = auth_audit(c, &a, "mfa.enrol", "ok", NULL);
    if (rc == MDT_DB_OK)
        rc = mdt_session_load_user(c, a.user_id, m->req->srv->cfg.mfa_required_kinds, &m->user);
    return rc == MDT_DB_OK ? auth_emit_user(c, a.user_id) : rc;
}

static int mfa_confirm_work(mdt_dbc_t *c, void *arg)
{
    mfa_confirm_t *m = arg;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, mdt_auth_user(m->req)->user_id);
    PGresult *r = auth_query_secret(c,
                                    "SELECT mfa_pending_secret, mfa_last_step, id FROM "
                                    "users WHERE id = $1 FOR UPDATE",
                                    &p, 0, 2);
    if (!r)
        return c->status;
    if (PQntuples(r) != 1 || !mdt_db_str(r, 0, 0)) {
        PQclear(r);
        return mdt_run_fail(&m->run, 409, "conflict", NULL,
                            "start the enrolment first (POST /me/mfa)");
    }
    /* a new secret has no used steps yet: the old secret's last step does not apply */
    int rc = mfa_confirm_apply(c, m, mdt_db_str(r, 0, 0), 0);
    PQclear(r);
    return rc;
}

static void mfa_confirm_finish(void *arg, int status)
{
    mfa_confirm_t *m = arg;
    if (status != MDT_DB_OK || m->run.ans.err.status)
        return;
    if (!m->ok) {
        mdt_run_fail(&m->run, 422, "validation", "totp", "the code is not right");
        return;
    }
    mdt_session_drop_user(m->req->srv, m->user.user_id);
    m->run.ans.result = json_pack("{s:o}", "user", mdt_auth_user_json(&m->user));
}

void mdt_auth_mfa_confirm(mdt_req_t *req)
{
    mdt_err_t e;
    const char *code;
    if (mdt_json_str(req->json, "totp", 1, 12, &code, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mfa_confirm_t *m = mdt_run_new(req, sizeof(*m), mfa_confirm_work, NULL);
    if (!m)
        return;
    m->req = req;
    snprintf(m->totp, sizeof(m->totp), "%s", code);
    m->run.finish = mfa_confirm_finish;
    mdt_run_start(&m->run);
}

/* ---- password change ---- */

static int password_apply(mdt_dbc_t *c, reauth_t *r, const mdt_audit_actor_t *a)
{
    const mdt_session_t *s = mdt_auth_session(r->req);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, a->user_id);
    mdt_db_param_str(&p, r->new_hash);
    int rc = mdt_db_exec(c,
                         "UPDATE users SET password_hash = $2, must_change_password = false,"
                         " version = version + 1 WHERE id = $1",
                         &p);
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, a->user_id);
    mdt_db_param_str(&p, s->id_hash);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c,
                         "UPDATE sessions SET revoked_at = now() WHERE user_id = $1"
                         " AND id_hash <> $2 AND revoked_at IS NULL",
                         &p);
    if (rc == MDT_DB_OK)
        rc = auth_audit(c, a, "password.change", "ok", NULL);
    return rc == MDT_DB_OK ? auth_emit_user(c, a->user_id) : rc;
}

static int password_work(mdt_dbc_t *c, void *arg)
{
    reauth_t *r = arg;
    mdt_audit_actor_t a;
    mdt_audit_actor_from_req(r->req, &a);
    int rc;
    if (!r->pw_ok || r->hash_failed) {
        reauth_fail(r, r->pw_ok ? 500 : 403, r->pw_ok ? "internal" : "forbidden",
                    r->pw_ok ? NULL : "current_password",
                    r->pw_ok ? "hashing failed" : "the current password is not right");
        rc = r->pw_ok ? auth_audit(c, &a, "password.change", "failure", NULL)
                      : auth_count_failure(c, &a, r->req->srv->cfg.lockout_failures,
                                           r->req->srv->cfg.lockout_s, "password.change",
                                           "bad_password", &r->ended);
    } else {
        rc = password_apply(c, r, &a);
    }
    return rc;
}

static void password_finish(void *arg, int status)
{
    reauth_t *r = arg;
    if (status != MDT_DB_OK)
        return;
    if (r->fail_status) {
        reauth_refuse(r);
        return;
    }
    mdt_session_drop_user(r->req->srv, mdt_auth_user(r->req)->user_id);
    r->run.ans.ok_status = 204;
}

void mdt_auth_password(mdt_req_t *req)
{
    mdt_err_t e;
    const char *cur, *next, *why;
    if (mdt_json_str(req->json, "current_password", 1, MDT_PASSWORD_MAX_BYTES, &cur, &e) < 0 ||
        mdt_json_str(req->json, "new_password", 1, MDT_PASSWORD_MAX_BYTES, &next, &e) < 0) {
        mdt_http_fail(req, &e);
        return;
    }
    if (mdt_password_policy(next, &why) != 0) {
        mdt_http_error(req, 422, "validation", "new_password", "%s", why);
        return;
    }
    if (strcmp(cur, next) == 0) {
        mdt_http_error(req, 422, "validation", "new_password",
                       "the new password must differ from the current one");
        return;
    }
    reauth_t *r = reauth_begin(req, password_work, password_finish);
    if (!r)
        return;
    snprintf(r->password, sizeof(r->password), "%s", cur);
    snprintf(r->new_password, sizeof(r->new_password), "%s", next);
    mdt_run_start(&r->run);
}
