/* routes.c - the route table (see routes.h). Order matters only between
 * patterns that could match the same path; literal routes come first. */
#include "routes.h"

#include "actions.h"
#include "admin.h"
#include "attachments.h"
#include "audit.h"
#include "auth.h"
#include "entries.h"
#include "meetings.h"
#include "calendar.h"
#include "notify.h"
#include "cases.h"
#include "digest.h"
#include "dashboard.h"
#include "pii.h"
#include "records.h"
#include "reports.h"
#include "idem.h"
#include "openapi.h"
#include "sys.h"

const mdt_route_t mdt_routes[] = {
    {MDT_M_GET, "/healthz", mdt_sys_healthz, MDT_R_PUBLIC},
    {MDT_M_GET, "/metrics", mdt_sys_metrics, MDT_R_PUBLIC},
    {MDT_M_GET, "/api/v1/openapi.json", mdt_openapi_get, MDT_R_PUBLIC},
    {MDT_M_GET, "/api/v1/_test/sleep", mdt_sys_test_sleep, MDT_R_PUBLIC | MDT_R_TEST | MDT_R_HEAVY},
    {MDT_M_GET, "/api/v1/_test/audit-flush", mdt_audit_test_flush, MDT_R_PUBLIC | MDT_R_TEST},
    {MDT_M_POST, "/api/v1/_test/idem-purge", mdt_idem_test_purge,
     MDT_R_PUBLIC | MDT_R_TEST | MDT_R_RAW_BODY},
    {MDT_M_POST, "/api/v1/_test/daily-jobs", mdt_notify_test_daily,
     MDT_R_PUBLIC | MDT_R_TEST | MDT_R_RAW_BODY},
    {MDT_M_POST, "/api/v1/_test/digest-run", mdt_digest_test_run,
     MDT_R_PUBLIC | MDT_R_TEST | MDT_R_RAW_BODY},

    /* identity */
    {MDT_M_POST, "/api/v1/login", mdt_auth_login, MDT_R_PUBLIC | MDT_R_NO_CSRF},
    {MDT_M_POST, "/api/v1/logout", mdt_auth_logout, MDT_R_MFA_OPEN},
    {MDT_M_GET, "/api/v1/me", mdt_auth_me, MDT_R_MFA_OPEN},
    {MDT_M_POST, "/api/v1/me/mfa", mdt_auth_mfa_start, MDT_R_MFA_OPEN},
    {MDT_M_PUT, "/api/v1/me/mfa", mdt_auth_mfa_confirm, MDT_R_MFA_OPEN},
    {MDT_M_PUT, "/api/v1/me/password", mdt_auth_password, MDT_R_MFA_OPEN},
    {MDT_M_GET, "/api/v1/me/notification-settings", mdt_digest_settings_get, 0},
    {MDT_M_PUT, "/api/v1/me/notification-settings", mdt_digest_settings_put, 0},
    {MDT_M_POST, "/api/v1/me/calendar", mdt_calendar_create, 0},
    {MDT_M_DELETE, "/api/v1/me/calendar", mdt_calendar_revoke, 0},
    {MDT_M_GET, "/api/v1/calendar/{token}.ics", mdt_calendar_feed, MDT_R_PUBLIC},

    /* admin, directory, account changes, audit (admin.c) */
    {MDT_M_GET, "/api/v1/agencies", mdt_admin_agencies_directory, 0},
    {MDT_M_GET, "/api/v1/users", mdt_admin_users_directory, 0},
    {MDT_M_GET, "/api/v1/admin/agencies", mdt_admin_agencies_list, MDT_R_ADMIN},
    {MDT_M_POST, "/api/v1/admin/agencies", mdt_admin_agencies_create,
     MDT_R_ADMIN | MDT_R_IDEMPOTENT},
    {MDT_M_PATCH, "/api/v1/admin/agencies/{id}", mdt_admin_agencies_update, MDT_R_ADMIN},
    {MDT_M_GET, "/api/v1/admin/users", mdt_admin_users_list, MDT_R_ADMIN},
    {MDT_M_POST, "/api/v1/admin/users", mdt_admin_users_create, MDT_R_ADMIN},
    {MDT_M_PATCH, "/api/v1/admin/users/{id}", mdt_admin_users_update, MDT_R_ADMIN},
    {MDT_M_POST, "/api/v1/admin/users/{id}/reset-mfa", mdt_admin_users_reset_mfa, MDT_R_ADMIN},
    {MDT_M_POST, "/api/v1/admin/users/{id}/reset-password", mdt_admin_users_reset_password,
     MDT_R_ADMIN},
    {MDT_M_GET, "/api/v1/account-changes", mdt_admin_account_changes, 0},
    {MDT_M_GET, "/api/v1/audit", mdt_admin_audit_list, MDT_R_HEAVY},

    /* the caller's inbox (notify_http.c) */
    {MDT_M_GET, "/api/v1/notifications", mdt_notify_list, 0},
    {MDT_M_POST, "/api/v1/notifications/read", mdt_notify_mark_read, 0},

    /* case boards: each module adds its routes here once its handlers exist */
    /* the dashboard: the literal "actions.csv" before any /actions/... pattern */
    {MDT_M_GET, "/api/v1/actions.csv", mdt_dashboard_actions_csv, MDT_R_HEAVY},
    {MDT_M_GET, "/api/v1/actions", mdt_dashboard_actions, 0},
    {MDT_M_GET, "/api/v1/reports/nca", mdt_reports_nca, MDT_R_HEAVY},
    {MDT_M_GET, "/api/v1/reports/tims", mdt_reports_tims, MDT_R_HEAVY},
    {MDT_M_POST, "/api/v1/render", mdt_entries_render, 0},
    {MDT_M_POST, "/api/v1/cases/{id}/entries", mdt_entries_create, MDT_R_IDEMPOTENT},
    {MDT_M_PATCH, "/api/v1/entries/{id}", mdt_entries_update, 0},
    {MDT_M_DELETE, "/api/v1/entries/{id}", mdt_entries_retract, 0},
    {MDT_M_GET, "/api/v1/entries/{id}/history", mdt_entries_history, 0},
    {MDT_M_POST, "/api/v1/cases/{id}/attachments", mdt_attachments_create,
     MDT_R_UPLOAD | MDT_R_IDEMPOTENT},
    {MDT_M_GET, "/api/v1/cases/{id}/attachments", mdt_attachments_list, 0},
    {MDT_M_GET, "/api/v1/attachments/{id}/content", mdt_attachments_content, 0},
    {MDT_M_DELETE, "/api/v1/attachments/{id}", mdt_attachments_retract, 0},
    {MDT_M_POST, "/api/v1/cases/{id}/actions", mdt_actions_create, MDT_R_IDEMPOTENT},
    {MDT_M_POST, "/api/v1/actions/bulk", mdt_actions_bulk, 0},
    {MDT_M_PATCH, "/api/v1/actions/{id}", mdt_actions_update, 0},
    {MDT_M_DELETE, "/api/v1/actions/{id}", mdt_actions_retract, 0},
    {MDT_M_GET, "/api/v1/cases", mdt_cases_list, 0},
    {MDT_M_POST, "/api/v1/cases", mdt_cases_create, MDT_R_IDEMPOTENT},
    {MDT_M_GET, "/api/v1/cases/{id}", mdt_cases_board, 0},
    {MDT_M_PATCH, "/api/v1/cases/{id}", mdt_cases_update, 0},
    {MDT_M_GET, "/api/v1/cases/{id}/pii", mdt_pii_get, 0},
    {MDT_M_PUT, "/api/v1/cases/{id}/pii", mdt_pii_put, 0},
    {MDT_M_GET, "/api/v1/cases/{id}/consents", mdt_pii_consents_list, 0},
    {MDT_M_POST, "/api/v1/cases/{id}/consents", mdt_pii_consent_create, MDT_R_IDEMPOTENT},
    {MDT_M_DELETE, "/api/v1/consents/{id}", mdt_pii_consent_revoke, 0},
    {MDT_M_GET, "/api/v1/cases/{id}/tracking", mdt_records_tracking_get, 0},
    {MDT_M_PUT, "/api/v1/cases/{id}/tracking", mdt_records_tracking_put, 0},
    {MDT_M_GET, "/api/v1/cases/{id}/services", mdt_records_services_list, 0},
    {MDT_M_POST, "/api/v1/cases/{id}/services", mdt_records_services_create, MDT_R_IDEMPOTENT},
    {MDT_M_GET, "/api/v1/meetings", mdt_meetings_list, 0},
    {MDT_M_POST, "/api/v1/meetings", mdt_meetings_create, MDT_R_IDEMPOTENT},
    {MDT_M_GET, "/api/v1/meetings/agenda-suggestions", mdt_meetings_suggestions, 0},
    {MDT_M_GET, "/api/v1/meetings/{id}", mdt_meetings_get, 0},
    {MDT_M_PATCH, "/api/v1/meetings/{id}", mdt_meetings_update, 0},
    {MDT_M_POST, "/api/v1/meetings/{id}/attendance", mdt_meetings_attendance, 0},
    {MDT_M_PUT, "/api/v1/meetings/{id}/cases/{id}/outcome", mdt_meetings_outcome, 0},
    {MDT_M_GET, "/api/v1/meetings/{id}/minutes", mdt_meetings_minutes, 0},
    {MDT_M_POST, "/api/v1/meetings/{id}/minutes/approve", mdt_meetings_minutes_approve, 0},

    {0, NULL, NULL, 0},
};
