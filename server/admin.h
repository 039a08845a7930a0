/* admin.h - agencies and users (admin API and directory), account changes
 * for supervisors, and the audit-log reader. */
#ifndef MDT_ADMIN_H
#define MDT_ADMIN_H

#include "req.h"

void mdt_admin_agencies_directory(mdt_req_t *req);
void mdt_admin_users_directory(mdt_req_t *req);
void mdt_admin_agencies_list(mdt_req_t *req);
void mdt_admin_agencies_create(mdt_req_t *req);
void mdt_admin_agencies_update(mdt_req_t *req);
void mdt_admin_users_list(mdt_req_t *req);
void mdt_admin_users_create(mdt_req_t *req);
void mdt_admin_users_update(mdt_req_t *req);
void mdt_admin_users_reset_mfa(mdt_req_t *req);
void mdt_admin_users_reset_password(mdt_req_t *req);
void mdt_admin_account_changes(mdt_req_t *req);
void mdt_admin_audit_list(mdt_req_t *req);

#endif
