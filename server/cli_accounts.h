/* cli_accounts.h - account changes shared by the admin API (admin.c) and the
 * command line (cli.c): creating agencies and users, clearing a user's MFA,
 * the checks their fields share, the JSON shapes of their rows, and the
 * audit row and node event every change writes.
 *
 * Every function here runs on a database connection inside the caller's
 * open transaction (a pool thread, or the CLI's own connection); the caller
 * begins and commits. A refusal the client should see (422, 409) is not a
 * database failure: the function returns MDT_DB_OK with e->status set, and
 * for a duplicate fills *current with the existing object. */
#ifndef MDT_CLI_ACCOUNTS_H
#define MDT_CLI_ACCOUNTS_H

#include <jansson.h>
#include <stdint.h>

#include "audit.h"
#include "authz.h"
#include "db.h"
#include "err.h"

/* RFC 3339 UTC text of a timestamptz column, in SQL. */
#define MDT_ACCOUNTS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The columns mdt_accounts_agency_json reads (table agencies, alias-free). */
#define MDT_ACCOUNTS_AGENCY_COLS "id, name, kind, active, version, " MDT_ACCOUNTS_TS("created_at")
/* The columns mdt_accounts_user_json reads (table users AS u). */
#define MDT_ACCOUNTS_USER_COLS                                                                     \
    "u.id, u.username, u.display_name, u.agency_id, u.role, u.active, u.mfa_enabled,"              \
    " u.version, u.must_change_password, coalesce(u.locked_until > now(), "                        \
    "false), " MDT_ACCOUNTS_TS("u.created_at")

/* {id, name, kind, active, version, created_at} from row i. New reference. */
json_t *mdt_accounts_agency_json(const PGresult *r, int i);
/* The contract's User {id, username, display_name, agency_id, role, active,
 * mfa_enabled} plus version, must_change_password, locked, created_at. */
json_t *mdt_accounts_user_json(const PGresult *r, int i);

/* Runs sql; *out = make(row 0) when it returned a row, else NULL. */
int mdt_accounts_one(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p,
                     json_t *(*make)(const PGresult *, int), json_t **out);
/* Runs sql; *out = a new array of make(row) for every row. */
int mdt_accounts_rows(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *p,
                      json_t *(*make)(const PGresult *, int), json_t **out);

/* Field checks: 0 acceptable, -1 with e filled (422 validation, field). */
/* ^[A-Za-z0-9._@-]{1,64}$ */
int mdt_accounts_check_username(const char *s, mdt_err_t *e);
/* 1..max_chars code points of valid UTF-8, no control characters, not
 * starting or ending with white space. */
int mdt_accounts_check_text(const char *s, const char *field, int max_chars, mdt_err_t *e);

/* One audit row (object_type/object_id as given); detail is stolen. */
int mdt_accounts_audit(mdt_dbc_t *c, const mdt_audit_actor_t *a, const char *action,
                       const char *object_type, int64_t object_id, json_t *detail);
/* The node event "user.updated" (no case): every node drops the user's
 * cached sessions and re-checks its sockets. */
int mdt_accounts_emit_user(mdt_dbc_t *c, const mdt_audit_actor_t *a, int64_t user_id);
/* Revokes every live session of user_id. */
int mdt_accounts_revoke_sessions(mdt_dbc_t *c, int64_t user_id);

/* Creates an agency (audited "agency.create"). A name already used (case
 * does not matter) is a 409 with *current the agency holding it. */
int mdt_accounts_agency_insert(mdt_dbc_t *c, const mdt_audit_actor_t *a, const char *name,
                               mdt_agency_kind_t kind, json_t **out, json_t **current,
                               mdt_err_t *e);

typedef struct {
    const char *username;
    const char *display_name;
    int64_t agency_id;
    mdt_role_t role;
    const char *password_hash; /* from mdt_password_hash */
    int must_change_password;
} mdt_accounts_new_user_t;

/* Creates a user (audited "user.create" with role and target_agency_id).
 * 422 field agency_id when the agency is missing or inactive; 409 field
 * username (with *current) when the username is taken, case ignored. */
int mdt_accounts_user_insert(mdt_dbc_t *c, const mdt_audit_actor_t *a,
                             const mdt_accounts_new_user_t *u, json_t **out, json_t **current,
                             mdt_err_t *e);

/* Clears the TOTP enrolment of user_id (audited "user.reset_mfa", emits
 * user.updated); *out the user after. MDT_DB_NOT_FOUND when no such user. */
int mdt_accounts_reset_mfa(mdt_dbc_t *c, const mdt_audit_actor_t *a, int64_t user_id, json_t **out);

#endif
