/* test_content.c - the registry of content kinds (server/content.c) is
 * complete and well-formed: every object type the event log and the audit
 * log name for case content has exactly one descriptor with a serializer;
 * the item kinds (decided row by row by the view filter) read the
 * predicate's columns by case and ids; kinds that keep versions say how the
 * previous one is read; and the shared column map points at distinct
 * columns. A new kind that forgets one of these fails here. The meeting
 * item kind is also checked for what it shows: a reader who may see the
 * case gets its id, alias, number and outcome, any other exactly
 * {position, restricted: true}, and the Meeting object (mdt_meetings_render)
 * shows its agenda as the kind does. */
#include "check.h"
#include "content.h"
#include "meetings.h"

#include <string.h>

static void test_every_kind(void)
{
    size_t n = 0;
    const mdt_content_kind_t *all = mdt_content_all(&n);
    CHECK(n >= 8);
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
    static const char *const items[] = {"entry", "action", "service", "attachment"};
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
    const mdt_content_kind_t *mi = mdt_content_find("meeting_item");
    CHECK(mi && !mi->ctx_by_ids_sql && !mi->ctx_prev_sql && mi->loaded_json);
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

/* A case on agencies 1 and 2 (lead 1) at agenda position pos. */
static mdt_meeting_case_t agenda_case(int pos, int64_t case_id, const char *outcome_md)
{
    mdt_meeting_case_t a;
    memset(&a, 0, sizeof(a));
    a.position = pos;
    a.case_id = case_id;
    a.alias = "Robin";
    a.case_number = "MDT-0042";
    a.outcome_md = outcome_md;
    a.outcome_html = outcome_md ? "<p>decided</p>" : NULL;
    a.outcome_at = outcome_md ? "2000-01-01T00:00:00Z" : NULL;
    a.outcome_by = outcome_md ? 7 : 0;
    a.outcome_version = outcome_md ? 1 : 0;
    a.cx.case_id = case_id;
    a.cx.lead_agency_id = 1;
    a.cx.agencies[0] = 1;
    a.cx.agencies[1] = 2;
    a.cx.n_agencies = 2;
    return a;
}

static mdt_principal_t principal(int64_t agency)
{
    return (mdt_principal_t){.user_id = agency * 100 + 1,
                             .agency_id = agency,
                             .agency_kind = MDT_KIND_CAC,
                             .role = MDT_ROLE_MEMBER,
                             .active = true};
}

static json_t *item_as(const mdt_meeting_case_t *a, int64_t agency)
{
    mdt_principal_t p = principal(agency);
    mdt_content_reader_t rd = {.p = &p, .cx = &a->cx};
    return mdt_content_find("meeting_item")->loaded_json(&rd, a);
}

static void test_meeting_item(void)
{
    mdt_meeting_case_t a = agenda_case(3, 42, "decided");
    json_t *seen = item_as(&a, 2);
    CHECK(json_integer_value(json_object_get(seen, "position")) == 3);
    CHECK(json_integer_value(json_object_get(seen, "case_id")) == 42);
    CHECK(strcmp(json_string_value(json_object_get(seen, "alias")), "Robin") == 0);
    CHECK(strcmp(json_string_value(json_object_get(seen, "case_number")), "MDT-0042") == 0);
    CHECK(strcmp(json_string_value(json_object_get(seen, "outcome_md")), "decided") == 0);
    CHECK(json_integer_value(json_object_get(seen, "outcome_by")) == 7);
    CHECK(json_object_get(seen, "restricted") == NULL);
    json_decref(seen);

    json_t *restricted = json_pack("{s:i, s:b}", "position", 3, "restricted", 1);
    json_t *off = item_as(&a, 5); /* agency 5 is not on the case */
    CHECK(json_equal(off, restricted));
    json_decref(off);
    json_decref(restricted);

    mdt_meeting_case_t none = agenda_case(1, 43, NULL);
    json_t *blank = item_as(&none, 1);
    CHECK(json_is_null(json_object_get(blank, "outcome_md")));
    CHECK(json_is_null(json_object_get(blank, "outcome_by")));
    json_decref(blank);
}

/* Meeting 5 of agency 1, facilitated by user 9, over agenda[0..2): cases
 * 42 (agencies 1 and 2) and 43 (agencies 1 and 3). */
static mdt_meeting_t meeting_on(mdt_meeting_case_t *agenda, const char *status)
{
    agenda[1].cx.agencies[1] = 3;
    return (mdt_meeting_t){.id = 5,
                           .facilitator_id = 9,
                           .agency_id = 1,
                           .created_by = 9,
                           .title = "Weekly review",
                           .status = status,
                           .scheduled_at = "2000-01-01T09:00:00Z",
                           .created_at = "2000-01-01T08:00:00Z",
                           .version = 1,
                           .agenda = agenda,
                           .n_agenda = 2};
}

/* The Meeting object's agenda is the kind's, item by item, and its
 * current_case_id is null while the pointer is on a restricted item. */
static void test_meeting_render(void)
{
    mdt_meeting_case_t agenda[2] = {agenda_case(1, 42, "decided"), agenda_case(2, 43, NULL)};
    int64_t attendees[1] = {9}, attendee_agencies[1] = {1};
    mdt_meeting_t m = meeting_on(agenda, "in_progress");
    m.current_position = 2;
    m.attendees = attendees;
    m.attendee_agencies = attendee_agencies;
    m.n_attendees = 1;
    for (int64_t agency = 1; agency <= 3; agency++) {
        mdt_principal_t p = principal(agency);
        json_t *mj = mdt_meetings_render(&m, &p);
        CHECK(mj != NULL);
        json_t *items = json_object_get(mj, "agenda");
        CHECK(json_array_size(items) == 2);
        for (size_t i = 0; i < 2; i++) {
            json_t *want = item_as(&agenda[i], agency);
            CHECK(json_equal(json_array_get(items, i), want));
            json_decref(want);
        }
        json_t *cur = json_object_get(mj, "current_case_id");
        if (agency == 2) /* not on case 43, under the pointer */
            CHECK(json_is_null(cur));
        else
            CHECK(json_integer_value(cur) == 43);
        json_decref(mj);
    }
}

/* The Meeting's minutes: draft, then approved with a correction on each
 * case; each reader gets only the corrections of the cases it may see,
 * without a placeholder for the others. */
static void test_meeting_minutes(void)
{
    mdt_meeting_case_t agenda[2] = {agenda_case(1, 42, "decided"), agenda_case(2, 43, "kept")};
    mdt_minutes_correction_t corrections[2] = {
        {.version = 2, .case_id = 42, .by = 9, .at = "2000-01-02T00:00:00Z", .reason = "age"},
        {.version = 3, .case_id = 43, .by = 9, .at = "2000-01-03T00:00:00Z", .reason = "name"}};
    mdt_meeting_t m = meeting_on(agenda, "ended");
    mdt_principal_t p1 = principal(1);
    json_t *draft = mdt_meetings_render(&m, &p1);
    json_t *want = json_pack("{s:s, s:i, s:n, s:n, s:[]}", "status", "draft", "version", 0,
                             "approved_by", "approved_at", "corrections");
    CHECK(json_equal(json_object_get(draft, "minutes"), want));
    json_decref(want);
    json_decref(draft);

    m.minutes_version = 3;
    m.minutes_approved_by = 9;
    m.minutes_approved_at = "2000-01-01T12:00:00Z";
    m.corrections = corrections;
    m.n_corrections = 2;
    const int64_t seen_by[4][2] = {{0, 0}, {42, 43}, {42, 0}, {43, 0}}; /* by agency */
    for (int64_t agency = 1; agency <= 3; agency++) {
        mdt_principal_t p = principal(agency);
        json_t *mj = mdt_meetings_render(&m, &p);
        json_t *mins = json_object_get(mj, "minutes");
        CHECK(strcmp(json_string_value(json_object_get(mins, "status")), "approved") == 0);
        CHECK(json_integer_value(json_object_get(mins, "version")) == 3);
        json_t *list = json_object_get(mins, "corrections");
        size_t n = seen_by[agency][1] ? 2 : 1;
        CHECK(json_array_size(list) == n);
        for (size_t i = 0; i < n; i++)
            CHECK(json_integer_value(json_object_get(json_array_get(list, i), "case_id")) ==
                  seen_by[agency][i]);
        for (size_t i = 0; i < 2; i++)
            CHECK(mdt_meetings_correction_visible(&m, i, &p) ==
                  (corrections[i].case_id == seen_by[agency][0] ||
                   corrections[i].case_id == seen_by[agency][1]));
        json_decref(mj);
    }
    /* a correction of a case not on the agenda is shown to no one */
    corrections[1].case_id = 44;
    CHECK(!mdt_meetings_correction_visible(&m, 1, &p1));
}

int main(void)
{
    test_every_kind();
    test_items();
    test_ctx_columns();
    test_meeting_item();
    test_meeting_render();
    test_meeting_minutes();
    return check_done();
}
