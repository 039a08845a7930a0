/* notify_http.c - the inbox over REST (see notify.h and docs/api.md,
 * "Notifications").
 *
 * GET /api/v1/notifications?unread=true&limit=&cursor= lists the caller's
 * notifications newest first, each rendered for the caller now
 * (notify_render.c), with unread_count and next (the cursor: the last id
 * of the page); audited as the read notification.list. POST
 * /api/v1/notifications/read {ids:[...]} or {all:true} marks the
 * caller's unread ones read (ids of other users' notifications are
 * ignored: they are not the caller's to know); when it changed any, one
 * audit row notification.read and one notification.read event on the
 * caller's stream, in that transaction. The test hook POST
 * /api/v1/_test/daily-jobs?day=YYYY-MM-DD runs the daily job for a day. */
#include "notify.h"
#include "notify_int.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ctx.h"
#include "events.h"
#include "ids.h"
#include "json.h"
#include "runner.h"
#include "session.h"

#define LIST_DEFAULT 50
#define LIST_MAX     500
#define READ_MAX_IDS 500

typedef struct {
    mdt_run_t run; /* first: mdt_run_new */
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    const char *time_zone;
    mdt_notify_query_t q;
    int64_t *ids; /* mark read: these (malloc'ed), or all */
    size_t n_ids;
    int all;
    json_t *items;
    int64_t unread, marked;
} notify_op_t;

static void notify_op_free(void *arg)
{
    notify_op_t *op = arg;
    json_decref(op->items);
    free(op->ids);
    mdt_run_free(&op->run);
    free(op);
}

/* Loop: the op for req (NULL: answered 500). */
static notify_op_t *notify_op_new(mdt_req_t *req, mdt_run_fn work)
{
    notify_op_t *op = mdt_run_new(req, sizeof(*op), work, notify_op_free);
    if (!op)
        return NULL;
    op->req = req;
    op->p = mdt_auth_principal(req);
    op->time_zone = mdt_ctx_time_zone(req);
    mdt_audit_actor_from_req(req, &op->actor);
    return op;
}

/* ---- GET /api/v1/notifications ------------------------------------------------- */

static int list_parse(notify_op_t *op, mdt_err_t *e)
{
    const char *unread = mdt_req_query(op->req, "unread");
    if (unread && strcmp(unread, "true") != 0 && strcmp(unread, "false") != 0) {
        mdt_err_set(e, 400, "bad_request", "unread", "unread must be true or false");
        return -1;
    }
    op->q.unread = unread && strcmp(unread, "true") == 0;
    if (mdt_req_query_int(op->req, "limit", 1, LIST_MAX, LIST_DEFAULT, &op->q.limit, e) != 0 ||
        mdt_req_query_int(op->req, "cursor", 1, INT64_MAX, 0, &op->q.before, e) != 0)
        return -1;
    return 0;
}

static int list_work(mdt_dbc_t *c, void *arg)
{
    notify_op_t *op = arg;
    mdt_notify_query_t q = op->q;
    q.limit++; /* one more tells whether there is a next page */
    if (!(op->items = json_array()))
        return MDT_DB_ERROR;
    int rc = mdt_notify_render(c, &op->p, op->time_zone, &q, op->items);
    if (rc == MDT_DB_OK)
        rc = mdt_notify_unread(c, op->p.user_id, &op->unread);
    return rc;
}

static void list_finish(void *arg, int status)
{
    notify_op_t *op = arg;
    if (status != MDT_DB_OK)
        return;
    json_t *next = json_null();
    size_t n = json_array_size(op->items);
    if (n > (size_t)op->q.limit) {
        json_array_remove(op->items, n - 1);
        char cur[24];
        json_t *last = json_array_get(op->items, (size_t)op->q.limit - 1);
        snprintf(cur, sizeof(cur), "%lld",
                 (long long)json_integer_value(json_object_get(last, "id")));
        json_decref(next);
        next = json_string(cur);
    }
    json_t *detail = json_pack("{s:I, s:b}", "count", (json_int_t)json_array_size(op->items),
                               "unread", op->q.unread);
    mdt_audit_rec_t rec = {
        .action = "notification.list", .object_type = "notification", .detail = detail};
    mdt_audit_read(op->req->srv, &op->actor, &rec);
    json_decref(detail);
    op->run.ans.result = json_pack("{s:O, s:I, s:o}", "items", op->items, "unread_count",
                                   (json_int_t)op->unread, "next", next);
}

void mdt_notify_list(mdt_req_t *req)
{
    mdt_err_t e;
    notify_op_t *op = notify_op_new(req, list_work);
    if (!op)
        return;
    if (list_parse(op, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    op->run.isolation = "repeatable read";
    op->run.finish = list_finish;
    mdt_run_start(&op->run);
}

/* ---- POST /api/v1/notifications/read ---------------------------------------------- */

static int read_parse(notify_op_t *op, mdt_err_t *e)
{
    json_t *b = op->req->json;
    int all = 0;
    if (mdt_json_bool(b, "all", 0, &all, e) < 0 ||
        mdt_json_ids(b, "ids", 0, READ_MAX_IDS, &op->ids, &op->n_ids, e) < 0)
        return -1;
    op->all = all;
    if (op->all == (op->n_ids > 0)) {
        mdt_err_set(e, 422, "validation", "ids", "give either ids (1 to %d) or all: true",
                    READ_MAX_IDS);
        return -1;
    }
    return 0;
}

/* Marks them read; op->marked and the changed ids (JSON array) in *ids. */
static int read_mark(mdt_dbc_t *c, notify_op_t *op, json_t *ids)
{
    char *lit = mdt_ids_literal(op->ids, op->n_ids);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, op->p.user_id);
    mdt_db_param_bool(&prm, op->all);
    mdt_db_param_str(&prm, lit);
    PGresult *r = mdt_db_query(c,
                               "UPDATE notifications SET read_at = now() WHERE user_id = $1"
                               " AND read_at IS NULL AND ($2::boolean OR id = ANY($3::bigint[]))"
                               " RETURNING id",
                               &prm);
    free(lit);
    if (!r)
        return c->status;
    op->marked = PQntuples(r);
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(ids, json_integer(mdt_db_int(r, i, 0)));
    PQclear(r);
    return MDT_DB_OK;
}

/* The change's audit row and its event on the caller's stream, last. */
static int read_record(mdt_dbc_t *c, notify_op_t *op, json_t *ids)
{
    json_t *detail = json_pack("{s:I, s:b}", "count", (json_int_t)op->marked, "all", op->all);
    mdt_audit_rec_t rec = {
        .action = "notification.read", .object_type = "notification", .detail = detail};
    json_t *data = op->all ? json_pack("{s:b}", "all", 1) : json_pack("{s:O}", "ids", ids);
    mdt_event_t ev = {.user_id = op->p.user_id,
                      .kind = "notification.read",
                      .object_type = "notification",
                      .actor_id = op->p.user_id,
                      .data = data};
    int rc = mdt_audit_append_event(c, &op->actor, &rec, &ev);
    json_decref(detail);
    json_decref(data);
    return rc;
}

static int read_work(mdt_dbc_t *c, void *arg)
{
    notify_op_t *op = arg;
    json_t *ids = json_array();
    int rc = ids ? read_mark(c, op, ids) : MDT_DB_ERROR;
    if (rc == MDT_DB_OK && op->marked > 0)
        rc = read_record(c, op, ids);
    if (rc == MDT_DB_OK)
        rc = mdt_notify_unread(c, op->p.user_id, &op->unread);
    if (rc == MDT_DB_OK)
        op->run.ans.result = json_pack("{s:I, s:I}", "marked", (json_int_t)op->marked,
                                       "unread_count", (json_int_t)op->unread);
    json_decref(ids);
    return rc;
}

void mdt_notify_mark_read(mdt_req_t *req)
{
    mdt_err_t e;
    notify_op_t *op = notify_op_new(req, read_work);
    if (!op)
        return;
    if (read_parse(op, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mdt_run_start(&op->run);
}

/* ---- test hook: POST /api/v1/_test/daily-jobs?day=YYYY-MM-DD ----------------------- */

#ifdef MDT_TEST_HOOKS
typedef struct {
    mdt_run_t run; /* first: mdt_run_new */
    const char *day, *time_zone;
    int claimed;
    int64_t notified;
} daily_op_t;

/* Runs outside the runner's transaction: the job has its own. */
static int daily_test_pre(mdt_dbc_t *c, void *arg)
{
    daily_op_t *op = arg;
    int rc = mdt_notify_daily(c, op->day, op->time_zone, &op->claimed, &op->notified);
    if (rc == MDT_DB_OK)
        op->run.ans.result =
            json_pack("{s:b, s:I}", "claimed", op->claimed, "notified", (json_int_t)op->notified);
    return rc;
}

static int daily_test_work(mdt_dbc_t *c, void *arg)
{
    (void)c;
    (void)arg;
    return MDT_DB_OK;
}
#endif

void mdt_notify_test_daily(mdt_req_t *req)
{
#ifdef MDT_TEST_HOOKS
    const char *day = mdt_req_query(req, "day");
    if (!day || !mdt_json_valid_date(day)) {
        mdt_http_error(req, 422, "validation", "day", "day must be YYYY-MM-DD");
        return;
    }
    daily_op_t *op = mdt_run_new(req, sizeof(*op), daily_test_work, NULL);
    if (!op)
        return;
    op->day = day;
    op->time_zone = mdt_ctx_time_zone(req);
    op->run.pre = daily_test_pre;
    mdt_run_start(&op->run);
#else
    mdt_http_error(req, 404, "not_found", NULL, "no such resource");
#endif
}
