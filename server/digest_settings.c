/* digest_settings.c - GET and PUT /api/v1/me/notification-settings: the
 * caller's digest address and period (see digest.h). A user without a
 * row has {email: null, digest: "off"}. The answer also says whether the
 * caller has a calendar feed (calendar_active) and whether this
 * installation sends email at all (email_configured). The address is
 * checked by smtp.c's rule before it can reach a header. */
#include "digest.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "json.h"
#include "ctx.h"
#include "runner.h"
#include "session.h"
#include "smtp.h"

static const char *const PERIODS[] = {"off", "daily", "weekly", NULL};

typedef struct {
    mdt_run_t run;                        /* first: mdt_run_new */
    char email[MDT_SMTP_ADDRESS_MAX + 1]; /* "" = none */
    int period;                           /* index in PERIODS */
} settings_op_t;

/* The caller's settings as the answer. */
static int settings_load(mdt_dbc_t *c, settings_op_t *op)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, mdt_auth_user(op->run.req)->user_id);
    PGresult *r = mdt_db_query(c,
                               "SELECT s.email, coalesce(s.digest, 'off'),"
                               " EXISTS (SELECT 1 FROM calendar_tokens t WHERE t.user_id = $1)"
                               " FROM (SELECT 1) one LEFT JOIN notification_settings s"
                               " ON s.user_id = $1",
                               &p);
    if (!r)
        return c->status;
    op->run.ans.result =
        json_pack("{s:o, s:s, s:b, s:b}", "email", mdt_json_str_or_null(mdt_db_str(r, 0, 0)),
                  "digest", mdt_db_str(r, 0, 1), "calendar_active", mdt_db_bool(r, 0, 2),
                  "email_configured", mdt_ctx_email_configured(op->run.req));
    PQclear(r);
    return MDT_DB_OK;
}

static int get_work(mdt_dbc_t *c, void *arg)
{
    return settings_load(c, arg);
}

void mdt_digest_settings_get(mdt_req_t *req)
{
    settings_op_t *op = mdt_run_new(req, sizeof(*op), get_work, NULL);
    if (op)
        mdt_run_start(&op->run);
}

static int put_work(mdt_dbc_t *c, void *arg)
{
    settings_op_t *op = arg;
    mdt_audit_actor_t a;
    mdt_audit_actor_from_req(op->run.req, &a);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, a.user_id);
    mdt_db_param_str(&p, op->email[0] ? op->email : NULL);
    mdt_db_param_str(&p, PERIODS[op->period]);
    int rc = mdt_db_exec(c,
                         "INSERT INTO notification_settings (user_id, email, digest)"
                         " VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET"
                         " email = EXCLUDED.email, digest = EXCLUDED.digest, updated_at = now()",
                         &p);
    json_t *detail =
        json_pack("{s:s, s:b}", "digest", PERIODS[op->period], "email", op->email[0] != 0);
    mdt_audit_rec_t rec = {.action = "notification_settings.update",
                           .object_type = "user",
                           .object_id = a.user_id,
                           .detail = detail};
    if (rc == MDT_DB_OK)
        rc = mdt_audit_append(c, &a, &rec);
    json_decref(detail);
    return rc == MDT_DB_OK ? settings_load(c, op) : rc;
}

/* Reads and checks the body into op; -1 with e filled. */
static int put_parse(mdt_req_t *req, settings_op_t *op, mdt_err_t *e)
{
    const char *email = NULL;
    int has = mdt_json_str(req->json, "email", 0, MDT_SMTP_ADDRESS_MAX, &email, e);
    if (has < 0 || mdt_json_enum(req->json, "digest", 1, PERIODS, &op->period, e) < 0)
        return -1;
    if (has == 0 && *email && !mdt_smtp_valid_address(email)) {
        mdt_err_set(e, 422, "validation", "email", "not a plain email address (user@domain)");
        return -1;
    }
    snprintf(op->email, sizeof(op->email), "%s", has == 0 ? email : "");
    if (op->period != 0 && !op->email[0]) {
        mdt_err_set(e, 422, "validation", "email", "a digest needs an email address");
        return -1;
    }
    return 0;
}

void mdt_digest_settings_put(mdt_req_t *req)
{
    settings_op_t *op = mdt_run_new(req, sizeof(*op), put_work, NULL);
    if (!op)
        return;
    mdt_err_t e = {0};
    if (put_parse(req, op, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mdt_run_start(&op->run);
}
