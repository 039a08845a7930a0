/* runner.c - the one request runner (see runner.h). */
#include "runner.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ctx.h"
#include "router.h"

void mdt_run_init(mdt_run_t *run, mdt_req_t *req, void *op, mdt_run_fn work)
{
    memset(run, 0, sizeof(*run));
    run->req = req;
    run->op = op;
    run->work = work;
    run->ans.ok_status = 200;
}

static void run_op_free(void *op)
{
    mdt_run_free(op);
    free(op);
}

void *mdt_run_new(mdt_req_t *req, size_t size, mdt_run_fn work, void (*op_free)(void *))
{
    mdt_run_t *run = calloc(1, size);
    if (!run) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    mdt_run_init(run, req, run, work);
    req->state = run;
    req->state_free = op_free ? op_free : run_op_free;
    return run;
}

void mdt_run_free(mdt_run_t *run)
{
    json_decref(run->ans.result);
    json_decref(run->ans.current);
    free(run->ans.text);
    run->ans.result = run->ans.current = NULL;
    run->ans.text = NULL;
    mdt_idem_clear(&run->idem);
}

int mdt_run_fail(mdt_run_t *run, int status, const char *code, const char *field,
                 const char *message)
{
    mdt_err_set(&run->ans.err, status, code, field, "%s", message);
    return MDT_RUN_ANSWERED;
}

int mdt_run_conflict(mdt_run_t *run, const char *message, json_t *current)
{
    json_decref(run->ans.current);
    run->ans.current = current;
    return mdt_run_fail(run, 409, "conflict", NULL, message);
}

int mdt_run_gone(mdt_run_t *run, const char *message, json_t *tombstone)
{
    json_decref(run->ans.current);
    run->ans.current = tombstone;
    return mdt_run_fail(run, 410, "gone", NULL, message);
}

/* A step's result: MDT_DB_OK to go on, else stop with it. */
static int run_step(mdt_run_t *run, mdt_dbc_t *c, mdt_run_fn fn)
{
    if (!fn)
        return MDT_DB_OK;
    int rc = fn(c, run->op);
    if (rc == MDT_DB_OK && run->ans.err.status)
        rc = MDT_RUN_ANSWERED; /* a step that set the error without saying so */
    return rc;
}

/* The key's claim, after the scope: MDT_DB_OK to run the work, else
 * MDT_RUN_ANSWERED (a replay in run->idem, or 409/422 in run->ans.err) or
 * a failed db status. */
int mdt_run_claim(mdt_dbc_t *c, mdt_run_t *run)
{
    int rc = mdt_idem_claim(c, &run->idem, &run->ans.err);
    return rc == MDT_IDEM_ANSWERED ? MDT_RUN_ANSWERED : rc;
}

/* The transaction: BEGIN, scope, the key's claim, work, the key's store,
 * COMMIT. */
static int run_txn(mdt_dbc_t *c, mdt_run_t *run)
{
    int rc = mdt_db_begin(c, run->isolation);
    if (rc == MDT_DB_OK) {
        rc = run_step(run, c, run->scope);
        int st = run->ans.err.status;
        run->denied =
            rc == MDT_DB_NOT_FOUND || (rc == MDT_RUN_ANSWERED && (st == 403 || st == 404));
    }
    if (rc == MDT_DB_OK && !run->claim_in_work)
        rc = mdt_run_claim(c, run);
    if (rc == MDT_DB_OK)
        rc = run_step(run, c, run->work);
    if (rc == MDT_DB_OK && !run->ans.text) /* a document is never a create's answer */
        rc = mdt_idem_store(c, &run->idem, run->ans.ok_status, run->ans.result);
    if (rc == MDT_RUN_ANSWERED)
        return MDT_DB_OK; /* the pool rolls back what is open */
    if (rc != MDT_DB_OK)
        return rc; /* the pool rolls back */
    return mdt_db_commit(c);
}

/* The first database job: pre, then the transaction unless a cpu step
 * comes between them. */
static int run_work(mdt_dbc_t *c, void *arg)
{
    mdt_run_t *run = arg;
    int rc = run_step(run, c, run->pre);
    if (rc == MDT_DB_OK && !run->cpu)
        return run_txn(c, run);
    return rc == MDT_RUN_ANSWERED ? MDT_DB_OK : rc;
}

static int run_txn_work(mdt_dbc_t *c, void *arg)
{
    return run_txn(c, arg);
}

static void run_answer(mdt_run_t *run)
{
    mdt_req_t *req = run->req;
    mdt_answer_t *a = &run->ans;
    if ((a->err.status == 409 || a->err.status == 410) && a->current) {
        json_t *cur = a->current;
        a->current = NULL;
        mdt_http_fail_with(req, &a->err, a->err.status == 409 ? "current" : "tombstone", cur);
    } else if (a->err.status) {
        mdt_http_fail(req, &a->err);
    } else if (mdt_idem_answer(req, &run->idem)) {
        /* the stored or replayed answer, the same bytes every time */
    } else if (a->pull) {
        mdt_http_respond_stream(req, a->ok_status, a->text_type, a->stream_len, a->pull,
                                a->pull_ud);
    } else if (a->ok_status == 204) {
        mdt_http_respond(req, 204, NULL, NULL, 0);
    } else if (a->text) {
        char *text = a->text;
        a->text = NULL;
        mdt_http_respond(req, a->ok_status, a->text_type, text, a->text_len);
    } else {
        json_t *res = a->result;
        a->result = NULL;
        mdt_http_respond_json(req, a->ok_status, res ? res : json_object());
    }
}

/* The object a route is about: "cases/{id}/pii" -> object "case", sub
 * "pii". Writes into object and sub (empty when none). */
static void run_route_object(const char *pattern, char *object, size_t olen, char *sub, size_t slen)
{
    const char *p = strncmp(pattern, "/api/v1/", 8) == 0 ? pattern + 8 : pattern;
    if (strncmp(p, "admin/", 6) == 0)
        p += 6;
    size_t n = strcspn(p, "/");
    if (n >= olen)
        n = olen - 1;
    memcpy(object, p, n);
    object[n] = 0;
    if (n > 3 && strcmp(object + n - 3, "ies") == 0)
        strcpy(object + n - 3, "y");
    else if (n > 1 && object[n - 1] == 's')
        object[n - 1] = 0;
    const char *last = strrchr(pattern, '/');
    const char *first_id = strstr(pattern, "{id}");
    snprintf(sub, slen, "%s", first_id && last && last > first_id ? last + 1 : "");
}

static const char *run_verb(mdt_method_t m)
{
    switch (m) {
    case MDT_M_GET:
        return "read";
    case MDT_M_POST:
        return "create";
    case MDT_M_DELETE:
        return "delete";
    default:
        return "update";
    }
}

void mdt_run_audit_denied(mdt_req_t *req, const mdt_run_audit_t *known,
                          const mdt_audit_actor_t *who, int http_status)
{
    static const mdt_run_audit_t none;
    if (!known)
        known = &none;
    const char *pattern = req->route ? req->route->pattern : req->path;
    char object[32], sub[32], action[80];
    run_route_object(pattern, object, sizeof(object), sub, sizeof(sub));
    if (req->method == MDT_M_GET)
        snprintf(action, sizeof(action), "%s.%s", object, sub[0] ? sub : "read");
    else
        snprintf(action, sizeof(action), "%s%s%s.%s", object, sub[0] ? "." : "", sub,
                 run_verb(req->method));
    int has_id = strstr(pattern, "{id}") != NULL;
    int64_t case_id = known->case_id;
    if (!case_id && has_id && strcmp(object, "case") == 0)
        case_id = req->ids[0];
    json_t *detail = json_pack("{s:s, s:s, s:i}", "method", mdt_router_method_name(req->method),
                               "route", pattern, "status", http_status);
    mdt_audit_actor_t actor;
    if (who)
        actor = *who;
    else
        mdt_audit_actor_from_req(req, &actor);
    mdt_audit_rec_t rec = {
        .action = known->action ? known->action : action,
        .object_type = known->object_type ? known->object_type : object,
        .object_id = known->object_id ? known->object_id
                     : has_id         ? req->ids[0]
                                      : 0,
        .case_id = case_id,
        .outcome = "denied",
        .detail = detail,
    };
    mdt_audit_read(req->srv, &actor, &rec);
    json_decref(detail);
}

static void run_done(void *arg, int status)
{
    mdt_run_t *run = arg;
    if (run->finish)
        run->finish(run->op, status);
    int err = status == MDT_DB_NOT_FOUND ? 404 : status == MDT_DB_OK ? run->ans.err.status : 0;
    if ((run->denied && err) || (err == 403 && run->req->method != MDT_M_GET))
        mdt_run_audit_denied(run->req, &run->audit, NULL, err);
    if (status != MDT_DB_OK && !run->answers_failure)
        mdt_http_fail_db(run->req, status);
    else
        run_answer(run);
}

static void run_cpu_work(void *state, void *arg)
{
    (void)state;
    mdt_run_t *run = arg;
    run->cpu(run->op);
}

/* Queues work for run on a database thread, in the heavy class when its
 * route is marked so (reports, exports: they may not take the whole pool
 * from board reads, docs/architecture.md "Fair share of the pool"). */
static int run_submit(mdt_run_t *run, mdt_db_work_fn work, mdt_db_done_fn done)
{
    const mdt_route_t *r = run->req->route;
    mdt_db_class_t cls = r && (r->flags & MDT_R_HEAVY) ? MDT_DB_CLASS_HEAVY : MDT_DB_CLASS_REST;
    return mdt_db_submit_class(mdt_ctx_db(run->req), cls, work, done, run);
}

/* Loop, after the cpu step: the transaction on a database thread. */
static void run_cpu_done(void *arg)
{
    mdt_run_t *run = arg;
    if (run_submit(run, run_txn_work, run_done) != 0)
        run_done(run, MDT_DB_REFUSED);
}

/* Loop, after pre (runs with a cpu step only): the cpu step, unless pre
 * failed or answered. */
static void run_pre_done(void *arg, int status)
{
    mdt_run_t *run = arg;
    if (status != MDT_DB_OK || run->ans.err.status)
        run_done(run, status);
    else if (mdt_workq_submit(mdt_ctx_cpu(run->req), run_cpu_work, run_cpu_done, run) != 0)
        run_done(run, MDT_DB_REFUSED);
}

void mdt_run_start(mdt_run_t *run)
{
    if (run->idempotent && mdt_idem_init(&run->idem, run->req) != 0)
        return; /* answered */
    if (run_submit(run, run_work, run->cpu ? run_pre_done : run_done) != 0)
        run_done(run, MDT_DB_REFUSED);
}
