/* admin_int.h - the inside of the admin module, shared by admin.c (the
 * runner, input helpers and the directory), admin_accounts.c (agencies and
 * users, admin only) and admin_audit.c (account changes and the audit-log
 * reader). Nothing outside admin*.c includes it: the public surface is
 * admin.h. */
#ifndef MDT_ADMIN_INT_H
#define MDT_ADMIN_INT_H

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "audit.h"
#include "casectx.h"
#include "cli_accounts.h"
#include "content.h"
#include "crypto.h"
#include "ctx.h"
#include "ids.h"
#include "json.h"
#include "password.h"
#include "runner.h"
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
    /* the audit reader's own (docs/admin.md, GET /audit) */
    char action[72]; /* exact, or a prefix ending in '.' */
    char outcome[16];
    char until[48]; /* a date (the whole day counts) or a date-time, exclusive */
    int fold_reads, csv;
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
    mdt_run_t run; /* the runner and the answer (run.ans) */
    json_t *drop;  /* user ids whose cached sessions this node drops at once */
    const char *read_action;
    json_t *read_detail; /* the buffered audit row of a read */
    int64_t read_case_id;
    mdt_casectx_t *cx;
    /* loop, after the read's audit row, before a successful answer is sent
     * (optional): a document answer's headers */
    void (*answer)(admin_op_t *op);
};

/* ---- admin.c ---- */

void mdt_admin_audit_read(admin_op_t *op, const char *outcome);
void mdt_admin_hash_then_run(admin_op_t *op);
void mdt_admin_kinds(const char *out[MDT_KIND_COUNT + 1]);
admin_op_t *mdt_admin_op_new(mdt_req_t *req, admin_fn work);
json_t *mdt_admin_page(json_t *items, int64_t limit);
void mdt_admin_param_opt_int(mdt_db_params_t *p, int64_t v);
int mdt_admin_qbool(const mdt_req_t *req, const char *name, int *out, mdt_err_t *e);
int mdt_admin_qpage(const mdt_req_t *req, admin_query_t *q, mdt_err_t *e);
int mdt_admin_refuse_field(mdt_req_t *req, const char *field, const char *why, mdt_err_t *e);
void mdt_admin_roles(const char *out[MDT_ROLE_COUNT + 1]);
void mdt_admin_run(admin_op_t *op);
int mdt_admin_valid_time(const char *s, char out[48]);

/* ---- admin_auditlog.c: what the audit reader makes of its rows ---- */

/* Is action one of the routine reads that fold_reads folds? */
int mdt_admin_audit_routine(const char *action);
/* Appends row (stolen) to groups (a JSON array of folded rows): merged
 * into the last group when both are routine reads by the same user on the
 * same case with outcome ok and nothing redacted, else a new group with
 * count 1. */
void mdt_admin_audit_fold(json_t *groups, json_t *row);
/* The oldest audit id a row or folded group covers. */
int64_t mdt_admin_audit_oldest(json_t *row);
/* op's answer: its page of rows as CSV (RFC 4180, csv.c) with a
 * Content-Disposition header; loop. */
void mdt_admin_audit_csv(admin_op_t *op);

#endif
