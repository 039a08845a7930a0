/* actions_bulk.c - POST /api/v1/actions/bulk: one change to many action
 * items, all or nothing (see actions.h).
 *
 * {ids: [...], set: {status?, assignee_id?, assignee_agency_id?, due_date?},
 * versions?: {"<id>": version}}. One transaction; the items are taken in
 * ascending id order (two bulk changes lock in the same order) and each is
 * run through PATCH's own work (mdt_actions_update_work): its case context
 * loaded, 404 when the caller may not see the case or the item, the same
 * authz question, checks, write, audit row and event as a PATCH of that
 * item. The first refusal answers for the whole request (its status and
 * field; the message names the item) and the transaction rolls back, so
 * nothing changes. The answer is {items: [Action]} in the order taken. */
#include "actions_int.h"

#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "json.h"

#define BULK_MAX 200

typedef struct {
    mdt_action_in_t set; /* the change, as PATCH reads it */
    int64_t *ids;        /* malloc'ed, ascending */
    size_t n;
    int64_t *versions; /* malloc'ed, versions[i] for ids[i]; 0 = not given */
} bulk_t;

static void bulk_free(void *arg)
{
    bulk_t *b = arg;
    if (b) {
        free(b->ids);
        free(b->versions);
    }
    free(b);
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* set: an object with only the four keys, at least one of them. */
static int parse_set(json_t *body, bulk_t *b, mdt_err_t *e)
{
    static const char *const keys[] = {"status", "assignee_id", "assignee_agency_id", "due_date",
                                       NULL};
    json_t *set = json_object_get(body, "set");
    if (!json_is_object(set)) {
        mdt_err_set(e, set ? 400 : 422, set ? "bad_request" : "validation", "set",
                    "set must be an object with status, assignee_id, assignee_agency_id"
                    " or due_date");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v)
    {
        int known = 0;
        for (int i = 0; keys[i]; i++)
            known |= strcmp(keys[i], key) == 0;
        if (!known) {
            mdt_err_set(e, 422, "validation", "set",
                        "set may hold only status, assignee_id, assignee_agency_id, due_date");
            return -1;
        }
    }
    if (mdt_actions_parse_set(set, &b->set, e) < 0)
        return -1;
    const mdt_action_in_t *in = &b->set;
    if (in->status < 0 && !in->assignee_agency_id && !in->assignee_id_set && !in->due_set) {
        mdt_err_set(e, 422, "validation", "set", "set names nothing to change");
        return -1;
    }
    return 0;
}

/* versions: {"<id>": version} for ids of the request only. */
static int parse_versions(json_t *body, bulk_t *b, mdt_err_t *e)
{
    json_t *vs = json_object_get(body, "versions");
    b->versions = calloc(b->n + 1, sizeof(*b->versions));
    if (!b->versions) {
        mdt_err_set(e, 500, "internal", NULL, "out of memory");
        return -1;
    }
    if (!vs || json_is_null(vs))
        return 0;
    if (!json_is_object(vs)) {
        mdt_err_set(e, 400, "bad_request", "versions", "versions must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(vs, key, v)
    {
        char *end;
        long long id = strtoll(key, &end, 10);
        int64_t *at =
            *end || id <= 0 ? NULL : bsearch(&(int64_t){id}, b->ids, b->n, sizeof(*b->ids), id_cmp);
        if (!at || !json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > INT32_MAX) {
            mdt_err_set(e, 422, "validation", "versions",
                        "versions must map ids of the request to versions");
            return -1;
        }
        b->versions[at - b->ids] = json_integer_value(v);
    }
    return 0;
}

static int bulk_parse(json_t *body, bulk_t *b, mdt_err_t *e)
{
    if (mdt_json_ids(body, "ids", 1, BULK_MAX, &b->ids, &b->n, e) < 0)
        return -1;
    if (b->n == 0) {
        mdt_err_set(e, 422, "validation", "ids", "ids must name 1 to %d action items", BULK_MAX);
        return -1;
    }
    qsort(b->ids, b->n, sizeof(*b->ids), id_cmp);
    return parse_set(body, b, e) < 0 || parse_versions(body, b, e) < 0 ? -1 : 0;
}

/* The answer of a refused item: its status and field ("ids" when the
 * refusal names none), the message led by the item's id. */
static int bulk_refused(mdt_caseop_t *op, int64_t id, int rc)
{
    mdt_err_t *e = &op->run.ans.err;
    if (rc == MDT_DB_NOT_FOUND)
        mdt_run_fail(&op->run, 404, "not_found", "ids", "not found");
    else if (rc != MDT_RUN_ANSWERED)
        return rc;
    char prefix[40];
    size_t n = (size_t)snprintf(prefix, sizeof(prefix), "action item %lld: ", (long long)id);
    size_t len = strnlen(e->message, sizeof(e->message) - 1);
    if (n + len >= sizeof(e->message))
        len = sizeof(e->message) - 1 - n;
    memmove(e->message + n, e->message, len);
    memcpy(e->message, prefix, n);
    e->message[n + len] = 0;
    if (!e->field[0])
        snprintf(e->field, sizeof(e->field), "ids");
    op->run.denied = e->status == 403 || e->status == 404;
    op->run.audit = (mdt_run_audit_t){.action = "action.update",
                                      .object_type = "action",
                                      .object_id = id,
                                      .case_id = e->status == 404 ? 0 : op->case_id};
    return MDT_RUN_ANSWERED;
}

/* One item: its case, then PATCH's work with its own copy of the change. */
static int bulk_item(mdt_dbc_t *c, mdt_caseop_t *op, bulk_t *b, size_t i, json_t *items)
{
    mdt_action_in_t in = b->set;
    in.version = b->versions[i];
    op->object_id = b->ids[i];
    op->case_id = 0;
    int rc = mdt_caseop_load(c, op); /* the case, as a PATCH's scope loads it */
    if (rc == MDT_DB_OK) {
        op->ud = &in;
        rc = mdt_actions_update_work(c, op);
        op->ud = b;
    }
    if (rc != MDT_DB_OK)
        return bulk_refused(op, b->ids[i], rc);
    json_array_append_new(items, op->run.ans.result);
    op->run.ans.result = NULL;
    return MDT_DB_OK;
}

static int bulk_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    bulk_t *b = op->ud;
    json_t *items = json_array();
    int rc = items ? MDT_DB_OK : MDT_DB_ERROR;
    for (size_t i = 0; i < b->n && rc == MDT_DB_OK; i++)
        rc = bulk_item(c, op, b, i, items);
    if (rc == MDT_DB_OK)
        op->run.ans.result = json_pack("{s:O}", "items", items);
    json_decref(items);
    return rc;
}

void mdt_actions_bulk(mdt_req_t *req)
{
    mdt_err_t e = {0};
    bulk_t *b = calloc(1, sizeof(*b));
    if (!b) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    b->set.time_zone = mdt_ctx_time_zone(req);
    if (bulk_parse(req->json, b, &e) < 0) {
        bulk_free(b);
        mdt_http_fail(req, &e);
        return;
    }
    mdt_caseop_t *op = mdt_caseop_with(req, bulk_work, b, bulk_free);
    if (!op)
        return;
    op->run.scope = NULL; /* many cases: each item's is loaded in the work */
    op->resolve_sql = ACTIONS_RESOLVE_SQL;
    mdt_caseop_run(op);
}
