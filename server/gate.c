/* gate.c - the gate between the router and every handler (see gate.h). */
#include "gate.h"

#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "crypto.h"
#include "idem.h"
#include "runner.h"
#include "server_ctx.h"
#include "session.h"

static int gate_is_change(mdt_method_t m)
{
    return m != MDT_M_GET && m != MDT_M_HEAD && m != MDT_M_OPTIONS;
}

/* An administrators-only route refused to another role (e.g. a member's
 * role change): a denied row, as the runner writes for its refusals. */
static void gate_audit_denied(mdt_req_t *req, const mdt_session_t *s)
{
    mdt_audit_actor_t who = {.user_id = s->user.user_id, .agency_id = s->user.agency_id};
    snprintf(who.username, sizeof(who.username), "%s", s->user.username);
    snprintf(who.address, sizeof(who.address), "%s", req->peer);
    mdt_run_audit_denied(req, NULL, &who, 403);
}

/* Checks what the route asks of this session and runs the handler. */
static void gate_pass(mdt_req_t *req, const mdt_session_t *s)
{
    unsigned flags = req->route->flags;
    if (gate_is_change(req->method) && !(flags & MDT_R_NO_CSRF) &&
        (strlen(req->csrf) != 64 || !mdt_crypto_equal(req->csrf, s->csrf, 64))) {
        mdt_http_error(req, 403, "csrf", NULL, "missing or wrong X-CSRF-Token");
        return;
    }
    if (s->user.must_change_password && !(flags & MDT_R_MFA_OPEN)) {
        mdt_http_error(req, 403, "password_change_required", NULL,
                       "change your one-time password first");
        return;
    }
    if (s->user.mfa_required && !s->user.mfa_enabled && !(flags & MDT_R_MFA_OPEN)) {
        mdt_http_error(req, 403, "mfa_enrolment_required", NULL,
                       "your agency requires two-factor sign-in: enrol first");
        return;
    }
    if ((flags & MDT_R_ADMIN) && s->user.role != MDT_ROLE_ADMIN) {
        gate_audit_denied(req, s);
        mdt_http_error(req, 403, "forbidden", NULL, "administrators only");
        return;
    }
    mdt_session_t *copy = malloc(sizeof(*copy));
    if (!copy) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    *copy = *s;
    req->auth = copy;
    req->auth_free = free;
    req->log_user_id = s->user.user_id;
    mdt_session_activity(req->srv, s->id_hash);
    if ((flags & MDT_R_IDEMPOTENT) && mdt_idem_check(req) != 0)
        return; /* answered 400 */
    req->route->handler(req);
}

typedef struct {
    mdt_req_t *req;
    mdt_session_t s;
    int idle_s;
    const char *mfa_kinds;
} gate_load_t;

static int gate_load_work(mdt_dbc_t *c, void *arg)
{
    gate_load_t *g = arg;
    return mdt_session_load(c, g->s.id_hash, g->idle_s, g->mfa_kinds, &g->s);
}

static void gate_load_done(void *arg, int status)
{
    gate_load_t *g = arg;
    mdt_req_t *req = g->req;
    if (status == MDT_DB_OK) {
        mdt_session_cache(req->srv, &g->s);
        gate_pass(req, &g->s);
    } else if (status == MDT_DB_NOT_FOUND) {
        mdt_session_drop(req->srv, g->s.id_hash);
        mdt_http_error(req, 401, "unauthenticated", NULL, "your session has ended: sign in");
    } else {
        mdt_http_fail_db(req, status);
    }
    free(g);
}

void mdt_gate_request(mdt_req_t *req)
{
    if (req->route->flags & MDT_R_PUBLIC) {
        req->route->handler(req);
        return;
    }
    mdt_server_t *srv = req->srv;
    char hash[65];
    if (mdt_session_token_hash(req->cookie, hash) != 0) {
        mdt_http_error(req, 401, "unauthenticated", NULL, "sign in first");
        return;
    }
    const mdt_session_t *s = mdt_session_find_live(srv, hash);
    if (s) {
        gate_pass(req, s);
        return;
    }
    /* not cached, or idle by this node's knowledge: the database decides */
    gate_load_t *g = calloc(1, sizeof(*g));
    if (!g) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    g->req = req;
    memcpy(g->s.id_hash, hash, sizeof(hash));
    g->idle_s = srv->cfg.session_idle_s;
    g->mfa_kinds = srv->cfg.mfa_required_kinds;
    if (mdt_db_submit(srv->db, gate_load_work, gate_load_done, g) != 0) {
        free(g);
        mdt_http_fail_db(req, MDT_DB_REFUSED);
    }
}
