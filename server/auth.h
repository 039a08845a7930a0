/* auth.h - the identity endpoints: login (password, lockout, rate limit,
 * TOTP), logout, me, MFA enrolment, password change. Sessions themselves
 * and the per-request gate are in session.h. */
#ifndef MDT_AUTH_H
#define MDT_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "authz.h"
#include "req.h"
#include "session.h"

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

#endif
