/* test_content.c - the registry of content kinds (server/content.c) is
 * complete and well-formed: every object type the event log and the audit
 * log name for case content has exactly one descriptor with a serializer;
 * the item kinds (decided row by row by the view filter) read the
 * predicate's columns by case and ids; kinds that keep versions say how the
 * previous one is read; and the shared column map points at distinct
 * columns. A new kind that forgets one of these fails here. */
#include "check.h"
#include "content.h"

#include <string.h>

static void test_every_kind(void)
{
    size_t n = 0;
    const mdt_content_kind_t *all = mdt_content_all(&n);
    CHECK(n >= 7);
    for (size_t i = 0; i < n; i++) {
        const mdt_content_kind_t *k = &all[i];
        CHECK(k->object_type && k->object_type[0]);
        CHECK(k->object_json != NULL);
        CHECK(mdt_content_find(k->object_type) == k);
        for (size_t j = i + 1; j < n; j++)
            CHECK(strcmp(k->object_type, all[j].object_type) != 0);
        if (k->ctx_by_ids_sql) {
            CHECK(strstr(k->ctx_by_ids_sql, "case_id = $1") != NULL);
            CHECK(strstr(k->ctx_by_ids_sql, "ANY($2::bigint[])") != NULL);
        }
        if (k->ctx_prev_sql) {
            CHECK(k->ctx_by_ids_sql != NULL);
            CHECK(strstr(k->ctx_prev_sql, "OFFSET 1 LIMIT 1") != NULL);
        }
    }
}

static void test_items(void)
{
    static const char *const items[] = {"entry", "action", "service"};
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        const mdt_content_kind_t *k = mdt_content_find(items[i]);
        CHECK(k && k->ctx_by_ids_sql);
    }
    static const char *const versioned[] = {"entry", "action"};
    for (size_t i = 0; i < 2; i++)
        CHECK(mdt_content_find(versioned[i])->ctx_prev_sql != NULL);
    static const char *const case_level[] = {"case", "pii", "tracking", "consent"};
    for (size_t i = 0; i < 4; i++) {
        const mdt_content_kind_t *k = mdt_content_find(case_level[i]);
        CHECK(k && !k->ctx_by_ids_sql);
    }
    CHECK(mdt_content_find("meeting") == NULL);
    CHECK(mdt_content_find(NULL) == NULL);
    CHECK(mdt_content_find("Entry") == NULL);
}

static void test_ctx_columns(void)
{
    const mdt_view_cols_t *c = &mdt_content_ctx_cols;
    int cols[] = {c->vis,         c->visible_to,      c->author_agency,
                  c->author_user, c->assignee_agency, c->assignee_user};
    for (size_t i = 0; i < 6; i++) {
        CHECK(cols[i] >= 1 && cols[i] <= 6); /* column 0 is the id */
        for (size_t j = i + 1; j < 6; j++)
            CHECK(cols[i] != cols[j]);
    }
}

int main(void)
{
    test_every_kind();
    test_items();
    test_ctx_columns();
    return check_done();
}
