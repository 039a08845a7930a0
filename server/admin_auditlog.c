/* admin_auditlog.c - what the audit-log reader (admin_audit.c) makes of the
 * rows it may show: folding runs of routine reads (fold_reads=true) into
 * one row with a count and a time range, and the page as CSV
 * (format=csv). The set of routine reads and the folded row's shape are in
 * docs/admin.md ("GET /audit"). Pure JSON work, no database. */
#include "admin_int.h"

#include "buf.h"
#include "csv.h"

/* Reads that are routine: any list (`*.list`), opening a case, its board
 * subscription, a meeting, a case's tracking. Reads of protected details,
 * history, minutes, exports, reports and the audit log itself are not. */
int mdt_admin_audit_routine(const char *action)
{
    static const char *const reads[] = {"case.read", "case.subscribe", "meeting.read",
                                        "tracking.read", NULL};
    if (!action)
        return 0;
    size_t n = strlen(action);
    if (n > 5 && strcmp(action + n - 5, ".list") == 0)
        return 1;
    for (const char *const *r = reads; *r; r++)
        if (strcmp(action, *r) == 0)
            return 1;
    return 0;
}

static const char *row_str(json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

static json_int_t row_int(json_t *row, const char *key)
{
    return json_integer_value(json_object_get(row, key));
}

/* A row (or group) that may take part in a fold: a routine read with
 * outcome ok by a user, nothing redacted. */
static int foldable(json_t *row)
{
    const char *outcome = row_str(row, "outcome");
    return outcome && strcmp(outcome, "ok") == 0 && row_int(row, "user_id") > 0 &&
           !json_is_true(json_object_get(row, "redacted")) &&
           mdt_admin_audit_routine(row_str(row, "action"));
}

/* Same value or both absent / null. */
static int same(json_t *a, json_t *b, const char *key)
{
    return json_equal(json_object_get(a, key), json_object_get(b, key)) ||
           (json_is_null(json_object_get(a, key)) && !json_object_get(b, key)) ||
           (!json_object_get(a, key) && json_is_null(json_object_get(b, key)));
}

/* Adds the older row to group: count, first_at/first_id (the oldest),
 * the distinct actions; an object that differs becomes null; detail {}. */
static void merge(json_t *group, json_t *row)
{
    json_object_set_new(group, "count", json_integer(row_int(group, "count") + 1));
    json_object_set(group, "first_at", json_object_get(row, "at"));
    json_object_set(group, "first_id", json_object_get(row, "id"));
    json_t *actions = json_object_get(group, "actions");
    const char *a = row_str(row, "action");
    size_t i;
    json_t *v;
    int known = 0;
    json_array_foreach(actions, i, v) known |= strcmp(json_string_value(v), a) == 0;
    if (!known)
        json_array_append_new(actions, json_string(a));
    if (!same(group, row, "object_type") || !same(group, row, "object_id")) {
        json_object_set_new(group, "object_type", json_null());
        json_object_set_new(group, "object_id", json_null());
    }
    json_object_set_new(group, "detail", json_object());
}

void mdt_admin_audit_fold(json_t *groups, json_t *row)
{
    size_t n = json_array_size(groups);
    json_t *last = n ? json_array_get(groups, n - 1) : NULL;
    if (last && foldable(last) && foldable(row) && same(last, row, "user_id") &&
        same(last, row, "case_id")) {
        merge(last, row);
        json_decref(row);
        return;
    }
    json_object_set_new(row, "count", json_integer(1));
    json_object_set(row, "first_at", json_object_get(row, "at"));
    json_object_set(row, "first_id", json_object_get(row, "id"));
    json_object_set_new(row, "actions", json_pack("[s]", row_str(row, "action")));
    json_array_append_new(groups, row);
}

int64_t mdt_admin_audit_oldest(json_t *row)
{
    json_t *first = json_object_get(row, "first_id");
    return (int64_t)json_integer_value(first ? first : json_object_get(row, "id"));
}

/* ---- CSV ---- */

static const char *const CSV_COLUMNS[] = {
    "id",        "at",          "first_at", "count",    "user_id", "username",    "display_name",
    "agency_id", "agency_name", "address",  "action",   "actions", "object_type", "object_id",
    "case_id",   "case_number", "outcome",  "redacted", "detail",  NULL};

/* The distinct actions of a group, space-separated (caller frees); the
 * row's action when it is no group. */
static char *actions_text(json_t *row)
{
    json_t *actions = json_object_get(row, "actions");
    if (!actions)
        return strdup(row_str(row, "action"));
    mdt_buf_t b;
    mdt_buf_init(&b);
    size_t i, len;
    json_t *a;
    json_array_foreach(actions, i, a)
        mdt_buf_printf(&b, "%s%s", i ? " " : "", json_string_value(a));
    return mdt_buf_take(&b, &len);
}

/* One cell: numbers as numbers, text (formula-safe in csv.c), the
 * actions space-separated, detail as compact JSON; a row that is no group
 * has count 1 and first_at its own time. */
static void csv_cell(mdt_csv_t *w, json_t *row, const char *col)
{
    json_t *v = json_object_get(row, col);
    if (strcmp(col, "count") == 0) {
        mdt_csv_int(w, v ? (int64_t)json_integer_value(v) : 1);
    } else if (strcmp(col, "first_at") == 0) {
        mdt_csv_text(w, json_string_value(v ? v : json_object_get(row, "at")));
    } else if (strcmp(col, "actions") == 0) {
        char *t = actions_text(row);
        mdt_csv_text(w, t);
        free(t);
    } else if (strcmp(col, "redacted") == 0) {
        mdt_csv_text(w, json_is_true(v) ? "true" : "false");
    } else if (strcmp(col, "detail") == 0) {
        char *d = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        mdt_csv_text(w, d ? d : "{}");
        free(d);
    } else {
        mdt_csv_json(w, v);
    }
}

void mdt_admin_audit_csv(admin_op_t *op)
{
    json_t *page = op->run.ans.result;
    mdt_csv_t w;
    mdt_csv_init(&w);
    size_t ncol = mdt_csv_header(&w, CSV_COLUMNS);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(page, "items"), i, row)
    {
        for (size_t k = 0; k < ncol; k++)
            csv_cell(&w, row, CSV_COLUMNS[k]);
        mdt_csv_end_row(&w);
    }
    size_t len;
    char *body = mdt_csv_take(&w, &len);
    if (!body) {
        mdt_run_fail(&op->run, 500, "internal", NULL, "out of memory");
        return;
    }
    const char *next = json_string_value(json_object_get(page, "next"));
    if (next)
        mdt_http_add_header(op->req, "X-Next-Cursor", next);
    mdt_http_add_header(op->req, "Content-Disposition", "attachment; filename=\"audit-log.csv\"");
    op->run.ans.text = body;
    op->run.ans.text_len = len;
    op->run.ans.text_type = "text/csv; charset=utf-8; header=present";
}
