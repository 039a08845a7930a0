/* test_admin_auditlog.c - the audit reader's folding of routine reads
 * (admin_auditlog.c): which actions are routine, what merges into a group
 * (same user, same case, outcome ok, nothing redacted), what a group says
 * (count, first_at/first_id, actions, objects and detail), and the oldest
 * id a row covers (the next page's cursor). */
#include <jansson.h>
#include <stdlib.h>

#include "admin_int.h"
#include "check.h"

static json_t *row(json_int_t id, const char *action, const char *outcome, json_int_t user,
                   json_int_t case_id)
{
    char at[32];
    snprintf(at, sizeof(at), "T%03lld", (long long)id);
    return json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:s, s:I, s:{s:I}}", "id", id, "at", at,
                     "action", action, "outcome", outcome, "user_id", user, "case_id",
                     case_id ? json_integer(case_id) : json_null(), "object_type", "case",
                     "object_id", id, "detail", "n", id);
}

static void test_routine(void)
{
    CHECK(mdt_admin_audit_routine("case.list"));
    CHECK(mdt_admin_audit_routine("service.list"));
    CHECK(mdt_admin_audit_routine("case.read"));
    CHECK(mdt_admin_audit_routine("case.subscribe"));
    CHECK(mdt_admin_audit_routine("meeting.read"));
    CHECK(!mdt_admin_audit_routine("pii.read"));
    CHECK(!mdt_admin_audit_routine("entry.history.read"));
    CHECK(!mdt_admin_audit_routine("audit.read"));
    CHECK(!mdt_admin_audit_routine("action.export"));
    CHECK(!mdt_admin_audit_routine(".list"));
    CHECK(!mdt_admin_audit_routine("list"));
    CHECK(!mdt_admin_audit_routine(NULL));
}

/* Newest first, as the reader sees them. */
static void test_fold(void)
{
    json_t *g = json_array();
    mdt_admin_audit_fold(g, row(9, "case.read", "ok", 7, 3));
    mdt_admin_audit_fold(g, row(8, "case.subscribe", "ok", 7, 3));
    mdt_admin_audit_fold(g, row(7, "case.read", "ok", 7, 3));
    mdt_admin_audit_fold(g, row(6, "case.read", "denied", 7, 3));
    mdt_admin_audit_fold(g, row(5, "case.read", "denied", 7, 3));
    mdt_admin_audit_fold(g, row(4, "case.read", "ok", 8, 3)); /* another user */
    mdt_admin_audit_fold(g, row(3, "case.read", "ok", 8, 2)); /* another case */
    mdt_admin_audit_fold(g, row(2, "case.list", "ok", 8, 0)); /* no case */
    mdt_admin_audit_fold(g, row(1, "case.list", "ok", 8, 0));
    json_t *red = row(0, "case.list", "ok", 8, 0);
    json_object_set_new(red, "redacted", json_true());
    mdt_admin_audit_fold(g, red);
    CHECK_EQ_INT(json_array_size(g), 7);
    json_t *first = json_array_get(g, 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "count")), 3);
    CHECK_EQ_STR(json_string_value(json_object_get(first, "at")), "T009");
    CHECK_EQ_STR(json_string_value(json_object_get(first, "first_at")), "T007");
    CHECK_EQ_INT(mdt_admin_audit_oldest(first), 7);
    CHECK_EQ_INT(json_array_size(json_object_get(first, "actions")), 2);
    CHECK(json_is_null(json_object_get(first, "object_id")));
    CHECK_EQ_INT(json_object_size(json_object_get(first, "detail")), 0);
    for (size_t i = 1; i <= 2; i++)
        CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(g, i), "count")), 1);
    json_t *single = json_array_get(g, 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(single, "object_id")), 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(single, "detail"), "n")), 4);
    CHECK_EQ_INT(mdt_admin_audit_oldest(single), 4);
    json_t *lists = json_array_get(g, 5);
    CHECK_EQ_INT(json_integer_value(json_object_get(lists, "count")), 2);
    CHECK_EQ_INT(mdt_admin_audit_oldest(lists), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(g, 6), "count")), 1);
    json_decref(g);
}

int main(void)
{
    test_routine();
    test_fold();
    return check_done();
}
