/* caseop.c - running a case-scoped request (see caseop.h). */
#include "caseop.h"

#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "events.h"
#include "log.h"
#include "session.h"

static int caseop_scope(mdt_dbc_t *c, void *arg);
static int caseop_work(mdt_dbc_t *c, void *arg);
static void caseop_finish(void *arg, int status);

static void caseop_free(void *arg)
{
    mdt_caseop_t *op = arg;
    if (op->ud_free)
        op->ud_free(op->ud);
    mdt_run_free(&op->run);
    free(op);
}

mdt_caseop_t *mdt_caseop_new(mdt_req_t *req, mdt_caseop_fn work)
{
    mdt_caseop_t *op = calloc(1, sizeof(*op));
    if (!op) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    op->req = req;
    op->work = work;
    mdt_run_init(&op->run, req, op, caseop_work);
    op->run.scope = caseop_scope;
    op->run.finish = caseop_finish;
    op->p = mdt_auth_principal(req);
    mdt_audit_actor_from_req(req, &op->actor);
    req->state = op;
    req->state_free = caseop_free;
    return op;
}

mdt_caseop_t *mdt_caseop_with(mdt_req_t *req, mdt_caseop_fn work, void *ud, void (*ud_free)(void *))
{
    mdt_caseop_t *op = mdt_caseop_new(req, work);
    if (!op) {
        ud_free(ud);
        return NULL;
    }
    op->ud = ud;
    op->ud_free = ud_free;
    return op;
}

int mdt_caseop_record(mdt_dbc_t *c, mdt_caseop_t *op, const char *action, const char *object_type,
                      int64_t object_id, const char *event_kind, json_t *detail)
{
    mdt_audit_rec_t rec = {.action = action,
                           .object_type = object_type,
                           .object_id = object_id,
                           .case_id = op->case_id,
                           .detail = detail};
    if (!event_kind)
        return mdt_audit_append(c, &op->actor, &rec);
    json_t *data = json_pack("{s:s, s:I}", "object_type", object_type, "id", (json_int_t)object_id);
    mdt_event_t ev = {.case_id = op->case_id,
                      .kind = event_kind,
                      .object_type = object_type,
                      .object_id = object_id,
                      .actor_id = op->p.user_id,
                      .data = data};
    int rc = mdt_audit_append_event(c, &op->actor, &rec, &ev);
    json_decref(data);
    return rc;
}

static int caseop_resolve(mdt_dbc_t *c, mdt_caseop_t *op)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, op->object_id);
    PGresult *r = mdt_db_query(c, op->resolve_sql, &p);
    if (!r)
        return c->status;
    int rc = PQntuples(r) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK)
        op->case_id = mdt_db_int(r, 0, 0);
    PQclear(r);
    return rc;
}

int mdt_caseop_load(mdt_dbc_t *c, mdt_caseop_t *op)
{
    op->now = mdt_session_now();
    int rc = op->resolve_sql ? caseop_resolve(c, op) : MDT_DB_OK;
    if (rc == MDT_DB_OK)
        rc = mdt_casectx_load(c, op->case_id, &op->cx);
    if (rc != MDT_DB_OK)
        return rc;
    op->view = mdt_casectx_view(&op->cx);
    return mdt_authz_case_visible(&op->p, &op->view) ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}

/* A purged case, to a caller who may see it: 410 gone with its tombstone,
 * whatever the request (nothing is read from or written into it). */
static int caseop_gone(mdt_dbc_t *c, mdt_caseop_t *op)
{
    json_t *t = mdt_cases_tombstone_json(c, &op->p, &op->cx);
    if (!t)
        return c->status != MDT_DB_OK ? c->status : MDT_DB_NOT_FOUND;
    return mdt_run_gone(&op->run, "this case was purged under the retention policy", t);
}

/* The scope: mdt_caseop_load, and what a refused attempt's audit row names
 * (runner.h): the case once resolved, even when the caller may not see it.
 * A purged case answers its tombstone (caseop_gone). */
static int caseop_scope(mdt_dbc_t *c, void *arg)
{
    mdt_caseop_t *op = arg;
    int rc = mdt_caseop_load(c, op);
    op->run.audit.case_id = op->case_id;
    op->run.audit.action = op->read_action;
    op->run.audit.object_type = op->object_type;
    op->run.audit.object_id = op->object_id;
    if (rc == MDT_DB_OK && op->cx.purged)
        return caseop_gone(c, op);
    return rc;
}

static int caseop_work(mdt_dbc_t *c, void *arg)
{
    mdt_caseop_t *op = arg;
    return op->work(c, op);
}

/* Loop: the buffered audit row of a read that was answered. */
static void caseop_finish(void *arg, int status)
{
    mdt_caseop_t *op = arg;
    if (status == MDT_DB_OK && op->read_action && !op->run.ans.err.status) {
        mdt_audit_rec_t rec = {.action = op->read_action,
                               .object_type = op->object_type,
                               .object_id = op->object_id,
                               .case_id = op->case_id};
        mdt_audit_read(op->req->srv, &op->actor, &rec);
    }
}

void mdt_caseop_run(mdt_caseop_t *op)
{
    mdt_run_start(&op->run);
}

int mdt_caseop_answer_first(mdt_dbc_t *c, mdt_caseop_t *op, json_t *items)
{
    if (!items)
        return c->status != MDT_DB_OK ? c->status : MDT_DB_ERROR;
    op->run.ans.result = json_incref(json_array_get(items, 0));
    json_decref(items);
    return op->run.ans.result ? MDT_DB_OK : MDT_DB_NOT_FOUND;
}
