/* cli_accounts.c - account changes shared by the admin API and the command
 * line (see cli_accounts.h). */
#include "cli_accounts.h"

#include <string.h>

#include "events.h"
#include "json.h"

json_t *mdt_accounts_agency_json(const PGresult *r, int i)
{
    return json_pack("{s:I, s:s, s:s, s:b, s:I, s:s}", "id", (json_int_t)mdt_db_int(r, i, 0),
                     "name", mdt_db_str(r, i, 1), "kind", mdt_db_str(r, i, 2), "active",
                     mdt_db_bool(r, i, 3), "version", (json_int_t)mdt_db_int(r, i, 4), "created_at",
                     mdt_db_str(r, i, 5));
}

json_t *mdt_accounts_user_json(const PGresult *r, int i)
{
    return json_pack("{s:I, s:s, s:s, s:I, s:s, s:b, s:b, s:I, s:b, s:b, s:s}", "id",
                     (json_int_t)mdt_db_int(r, i, 0), "username", mdt_db_str(r, i, 1),
                     "display_name", mdt_db_str(r, i, 2), "agency_id",
                     (json_int_t)mdt_db_int(r, i, 3), "role", mdt_db_str(r, i, 4), "active",
                     mdt_db_bool(r, i, 5), "mfa_enabled", mdt_db_bool(r, i, 6), "version",
                     (json_int_t)mdt_db_int(r, i, 7), "must_change_password", mdt_db_bool(r, i, 8),
                     "locked", mdt_db_bool(r, i, 9), "created_at", mdt_db_str(r, i, 10));
}

int mdt_accounts_one(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p,
                     json_t *(*make)(const PGresult *, int), json_t **out)
{
    *out = NULL;
    PGresult *r = mdt_db_query(c, sql, p);
    if (!r)
        return c->status;
    int rc = MDT_DB_OK;
    if (PQntuples(r) > 0 && !(*out = make(r, 0)))
        rc = MDT_DB_ERROR;
    PQclear(r);
    return rc;
}

int mdt_accounts_rows(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p,
                      json_t *(*make)(const PGresult *, int), json_t **out)
{
    *out = NULL;
    PGresult *r = mdt_db_query(c, sql, p);
    if (!r)
        return c->status;
    json_t *items = json_array();
    int rc = items ? MDT_DB_OK : MDT_DB_ERROR;
    for (int i = 0; rc == MDT_DB_OK && i < PQntuples(r); i++) {
        if (json_array_append_new(items, make(r, i)) != 0)
            rc = MDT_DB_ERROR;
    }
    PQclear(r);
    if (rc == MDT_DB_OK)
        *out = items;
    else
        json_decref(items);
    return rc;
}

/* ---- field checks ---- */

int mdt_accounts_check_username(const char *s, mdt_err_t *e)
{
    size_t n = strlen(s);
    int ok = n >= 1 && n <= 64;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = s[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             strchr("._@-", ch) != NULL;
    }
    if (!ok)
        mdt_err_set(e, 422, "validation", "username",
                    "username must be 1 to 64 of the characters A-Z a-z 0-9 . _ @ -");
    return ok ? 0 : -1;
}

/* Length in bytes of the UTF-8 sequence at s, or 0 when it is not valid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int accounts_utf8_len(const unsigned char *s)
{
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    int n;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0Fu;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int mdt_accounts_check_text(const char *s, const char *field, int max_chars, mdt_err_t *e)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    int chars = 0;
    while (*p) {
        int n = accounts_utf8_len(p);
        if (n == 0 || *p < 0x20 || *p == 0x7F) {
            mdt_err_set(e, 422, "validation", field,
                        "%s must be valid UTF-8 without control characters", field);
            return -1;
        }
        p += n;
        chars++;
    }
    if (chars == 0 || chars > max_chars) {
        mdt_err_set(e, 422, "validation", field, "%s must be 1 to %d characters", field, max_chars);
        return -1;
    }
    if (s[0] == ' ' || s[len - 1] == ' ') {
        mdt_err_set(e, 422, "validation", field, "%s must not start or end with a space", field);
        return -1;
    }
    return 0;
}

/* ---- audit and events ---- */

int mdt_accounts_audit(mdt_dbc_t *c, const mdt_audit_actor_t *a, const char *action,
                       const char *object_type, int64_t object_id, json_t *detail)
{
    mdt_audit_rec_t rec = {.action = action,
                           .object_type = object_type,
                           .object_id = object_id,
                           .outcome = "ok",
                           .detail = detail};
    int rc = mdt_audit_append(c, a, &rec);
    json_decref(detail);
    return rc;
}

int mdt_accounts_emit_user(mdt_dbc_t *c, const mdt_audit_actor_t *a, int64_t user_id)
{
    mdt_event_t ev = {.kind = "user.updated",
                      .object_type = "user",
                      .object_id = user_id,
                      .actor_id = a->user_id};
    return mdt_event_emit(c, &ev) > 0 ? MDT_DB_OK : c->status;
}

int mdt_accounts_revoke_sessions(mdt_dbc_t *c, int64_t user_id)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, user_id);
    return mdt_db_exec(
        c, "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", &p);
}

/* ---- creating ---- */

int mdt_accounts_agency_insert(mdt_dbc_t *c, const mdt_audit_actor_t *a, const char *name,
                               mdt_agency_kind_t kind, json_t **out, json_t **current, mdt_err_t *e)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, name);
    int rc = mdt_accounts_one(
        c, "SELECT " MDT_ACCOUNTS_AGENCY_COLS " FROM agencies WHERE lower(name) = lower($1)", &p,
        mdt_accounts_agency_json, current);
    if (rc != MDT_DB_OK)
        return rc;
    if (*current) {
        mdt_err_set(e, 409, "conflict", "name", "an agency with that name already exists");
        return MDT_DB_OK;
    }
    mdt_db_param_str(&p, mdt_authz_agency_kind_name(kind));
    rc = mdt_accounts_one(c,
                          "INSERT INTO agencies (name, kind) VALUES ($1, $2)"
                          " RETURNING " MDT_ACCOUNTS_AGENCY_COLS,
                          &p, mdt_accounts_agency_json, out);
    if (rc != MDT_DB_OK)
        return rc;
    if (!*out)
        return MDT_DB_ERROR;
    int64_t id = json_integer_value(json_object_get(*out, "id"));
    return mdt_accounts_audit(
        c, a, "agency.create", "agency", id,
        json_pack("{s:s, s:s}", "name", name, "kind", mdt_authz_agency_kind_name(kind)));
}

/* *ok = the agency exists and is active (locked against a concurrent
 * deactivation until commit). */
static int accounts_agency_usable(mdt_dbc_t *c, int64_t agency_id, int *ok)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, agency_id);
    PGresult *r = mdt_db_query(c, "SELECT active FROM agencies WHERE id = $1 FOR SHARE", &p);
    if (!r)
        return c->status;
    *ok = PQntuples(r) == 1 && mdt_db_bool(r, 0, 0);
    PQclear(r);
    return MDT_DB_OK;
}

static int accounts_user_insert_row(mdt_dbc_t *c, const mdt_audit_actor_t *a,
                                    const mdt_accounts_new_user_t *u, json_t **out)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, u->username);
    mdt_db_param_str(&p, u->display_name);
    mdt_db_param_int(&p, u->agency_id);
    mdt_db_param_str(&p, mdt_authz_role_name(u->role));
    mdt_db_param_str(&p, u->password_hash);
    mdt_db_param_bool(&p, u->must_change_password);
    if (a->user_id)
        mdt_db_param_int(&p, a->user_id);
    else
        mdt_db_param_str(&p, NULL);
    int rc = mdt_accounts_one(c,
                              "INSERT INTO users AS u (username, display_name, agency_id, role,"
                              " password_hash, must_change_password, created_by)"
                              " VALUES ($1, $2, $3, $4, $5, $6, $7::bigint)"
                              " RETURNING " MDT_ACCOUNTS_USER_COLS,
                              &p, mdt_accounts_user_json, out);
    return rc == MDT_DB_OK && !*out ? MDT_DB_ERROR : rc;
}

int mdt_accounts_user_insert(mdt_dbc_t *c, const mdt_audit_actor_t *a,
                             const mdt_accounts_new_user_t *u, json_t **out, json_t **current,
                             mdt_err_t *e)
{
    int ok = 0;
    int rc = accounts_agency_usable(c, u->agency_id, &ok);
    if (rc != MDT_DB_OK)
        return rc;
    if (!ok) {
        mdt_err_set(e, 422, "validation", "agency_id", "agency_id names no active agency");
        return MDT_DB_OK;
    }
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, u->username);
    rc = mdt_accounts_one(
        c, "SELECT " MDT_ACCOUNTS_USER_COLS " FROM users u WHERE lower(u.username) = lower($1)", &p,
        mdt_accounts_user_json, current);
    if (rc != MDT_DB_OK)
        return rc;
    if (*current) {
        mdt_err_set(e, 409, "conflict", "username", "that username is taken");
        return MDT_DB_OK;
    }
    rc = accounts_user_insert_row(c, a, u, out);
    if (rc != MDT_DB_OK)
        return rc;
    int64_t id = json_integer_value(json_object_get(*out, "id"));
    return mdt_accounts_audit(c, a, "user.create", "user", id,
                              json_pack("{s:s, s:s, s:I}", "username", u->username, "role",
                                        mdt_authz_role_name(u->role), "target_agency_id",
                                        (json_int_t)u->agency_id));
}

int mdt_accounts_reset_mfa(mdt_dbc_t *c, const mdt_audit_actor_t *a, int64_t user_id, json_t **out)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, user_id);
    int rc = mdt_accounts_one(c,
                              "UPDATE users AS u SET mfa_enabled = false, mfa_secret = NULL,"
                              " mfa_pending_secret = NULL, mfa_last_step = 0,"
                              " version = version + 1 WHERE id = $1"
                              " RETURNING " MDT_ACCOUNTS_USER_COLS,
                              &p, mdt_accounts_user_json, out);
    if (rc != MDT_DB_OK)
        return rc;
    if (!*out)
        return MDT_DB_NOT_FOUND;
    int64_t agency = json_integer_value(json_object_get(*out, "agency_id"));
    rc = mdt_accounts_audit(c, a, "user.reset_mfa", "user", user_id,
                            json_pack("{s:I}", "target_agency_id", (json_int_t)agency));
    return rc == MDT_DB_OK ? mdt_accounts_emit_user(c, a, user_id) : rc;
}
