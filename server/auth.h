/* auth.h - identity on the request path: sessions, login, MFA, passwords.
 *
 * mdt_http_gate() (declared in http.h, defined here) runs before every
 * handler: it reads the `mdt_session` cookie by exact name, finds the
 * session in this node's cache (or loads it), enforces idle and absolute
 * timeouts, the CSRF token on state changes, a required MFA enrolment, a
 * required password change and the admin flag, then calls the handler with
 * the caller attached to the request. */
#ifndef MDT_AUTH_H
#define MDT_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "authz.h"
#include "http.h"

typedef struct {
    int64_t user_id;
    char username[72];
    char display_name[208];
    int64_t agency_id;
    char agency_name[208];
    mdt_agency_kind_t agency_kind;
    mdt_role_t role;
    bool active;
    bool mfa_enabled;
    bool mfa_required; /* the agency kind is in MDT_MFA_REQUIRED_KINDS */
    bool must_change_password;
} mdt_user_t;

/* The caller of an authenticated request (NULL on public routes). */
const mdt_user_t *mdt_auth_user(const mdt_req_t *req);
/* The caller as the authorization module sees it. */
mdt_principal_t mdt_auth_principal(const mdt_req_t *req);
/* JSON of a user in the contract's shape (id, username, display_name,
 * agency_id, role, active, mfa_enabled). */
json_t *mdt_auth_user_json(const mdt_user_t *u);

/* Handlers for /login, /logout, /me, /me/mfa, /me/password. */
void mdt_auth_login(mdt_req_t *req);
void mdt_auth_logout(mdt_req_t *req);
void mdt_auth_me(mdt_req_t *req);
void mdt_auth_mfa_start(mdt_req_t *req);
void mdt_auth_mfa_confirm(mdt_req_t *req);
void mdt_auth_password(mdt_req_t *req);

/* Node-side reaction to session/user events from the log: drops cached
 * sessions of that user (or that session) so the next request re-checks. */
void mdt_auth_on_user_event(struct mdt_server *srv, int64_t user_id);
void mdt_auth_on_session_revoked(struct mdt_server *srv, const char *id_hash);

int mdt_auth_start(struct mdt_server *srv);
void mdt_auth_stop(struct mdt_server *srv);

#endif
