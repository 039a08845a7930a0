/* test_authz_key.c - the grouping key (mdt_authz_view_key) is honest.
 *
 * The hub renders each event once per view key and sends the result to
 * every socket with that key, so every "seeing" decision must give the
 * same answer to all principals sharing a key. This test enumerates
 * principals (every role x agency kind x agency on and off the case x user
 * slot x active/inactive, plus malformed ones) and inputs (case variants
 * with consents owned, given, revoked, expired and about to expire; items
 * of every visibility, visible_to, author and assignee; meetings), and
 * checks that within each key the answers of mdt_authz_case_visible,
 * _item_visible, _item_history_visible, _pii_visible, _pii_mask,
 * _consent_names_visible, _next_change and _meeting_visible are constant.
 * A rule that makes seeing depend on role or user without adding it to the
 * key fails here. It also checks the key separates what it must (different
 * agencies on a case do see different things). */
#include "authz.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NOW        INT64_C(1800000000)
#define N_AGENCIES 6 /* 1..4 on the case, 5 and 6 not */
#define MAX_P      4096

static const int64_t ON_CASE[] = {1, 2, 3, 4};

static mdt_principal_t principals[MAX_P];
static mdt_view_key_t keys[MAX_P];
static int rep[MAX_P]; /* index of the first principal with the same key */
static int n_p;
static long n_compared;

static void add_principal(mdt_principal_t p)
{
    if (n_p < MAX_P)
        principals[n_p++] = p;
}

static void build_principals(void)
{
    for (int64_t a = 1; a <= N_AGENCIES; a++)
        for (int r = 0; r < MDT_ROLE_COUNT; r++)
            for (int k = 0; k < MDT_KIND_COUNT; k++)
                for (int64_t slot = 1; slot <= 3; slot++)
                    for (int act = 0; act < 2; act++)
                        add_principal((mdt_principal_t){.user_id = a * 100 + slot,
                                                        .agency_id = a,
                                                        .agency_kind = (mdt_agency_kind_t)k,
                                                        .role = (mdt_role_t)r,
                                                        .active = act});
    /* malformed: no user, no agency, role or kind out of range */
    add_principal((mdt_principal_t){0, 1, MDT_KIND_CAC, MDT_ROLE_MEMBER, true});
    add_principal((mdt_principal_t){101, 0, MDT_KIND_CAC, MDT_ROLE_MEMBER, true});
    add_principal((mdt_principal_t){101, 1, MDT_KIND_CAC, MDT_ROLE_COUNT, true});
    add_principal((mdt_principal_t){101, 1, MDT_KIND_COUNT, MDT_ROLE_MEMBER, true});
    for (int i = 0; i < n_p; i++) {
        keys[i] = mdt_authz_view_key(&principals[i]);
        rep[i] = i;
        for (int j = 0; j < i; j++) {
            if (mdt_authz_view_key_eq(keys[j], keys[i])) {
                rep[i] = j;
                break;
            }
        }
    }
}

/* One answer per principal for the current input, compared with the
 * answer of its key's representative. */
static int64_t answers[MAX_P];

static void expect_constant(const char *what, int variant)
{
    for (int i = 0; i < n_p; i++) {
        n_compared++;
        if (answers[i] != answers[rep[i]]) {
            CHECK(answers[i] == answers[rep[i]]);
            fprintf(stderr,
                    "%s (input %d): user %lld agency %lld role %d kind %d active %d answers %lld, "
                    "user %lld of the same key %lld\n",
                    what, variant, (long long)principals[i].user_id,
                    (long long)principals[i].agency_id, principals[i].role,
                    principals[i].agency_kind, principals[i].active, (long long)answers[i],
                    (long long)principals[rep[i]].user_id, (long long)answers[rep[i]]);
            return;
        }
    }
    check_passed++;
}

/* The case variants: consents none, given to 2 for identity+contact, the
 * same revoked, expired, expiring soon, and overlapping consents. */
static const mdt_consent_ref_t CONSENTS[][2] = {
    {{2, MDT_PII_BIT(MDT_PII_IDENTITY) | MDT_PII_BIT(MDT_PII_CONTACT), NOW + 3600, false}},
    {{2, MDT_PII_BIT(MDT_PII_IDENTITY), NOW + 3600, true}},
    {{2, MDT_PII_BIT(MDT_PII_HEALTH), NOW - 1, false}},
    {{3, MDT_PII_ALL, NOW + 10, false}, {3, MDT_PII_BIT(MDT_PII_CONTACT), NOW + 99, false}},
    {{5, MDT_PII_ALL, NOW + 10, false}, {4, MDT_PII_BIT(MDT_PII_IDENTITY), NOW, false}},
};
#define N_VARIANTS (1 + (int)(sizeof(CONSENTS) / sizeof(CONSENTS[0])))

static mdt_case_ctx_t case_variant(int v)
{
    mdt_case_ctx_t c = {.case_id = 7,
                        .lead_agency_id = 1,
                        .agencies = ON_CASE,
                        .n_agencies = 4,
                        .pii_owner = {1, 1, 3, 4}};
    if (v > 0) {
        c.consents = CONSENTS[v - 1];
        c.n_consents = CONSENTS[v - 1][1].agency_id ? 2 : 1;
    }
    return c;
}

static void check_case(int v)
{
    mdt_case_ctx_t c = case_variant(v);
    for (int i = 0; i < n_p; i++)
        answers[i] = mdt_authz_case_visible(&principals[i], &c);
    expect_constant("case_visible", v);
    for (int i = 0; i < n_p; i++)
        answers[i] = mdt_authz_pii_mask(&principals[i], &c, NOW);
    expect_constant("pii_mask", v);
    for (int cat = 0; cat < MDT_PII_COUNT; cat++) {
        for (int i = 0; i < n_p; i++)
            answers[i] = mdt_authz_pii_visible(&principals[i], &c, (mdt_pii_cat_t)cat, NOW);
        expect_constant("pii_visible", v * 10 + cat);
    }
    for (int i = 0; i < n_p; i++)
        answers[i] = mdt_authz_consent_names_visible(&principals[i], &c, NOW);
    expect_constant("consent_names_visible", v);
    for (int i = 0; i < n_p; i++)
        answers[i] = mdt_authz_next_change(&principals[i], &c, NOW);
    expect_constant("next_change", v);
}

static const int64_t VIS_TO[][2] = {{0, 0}, {2, 0}, {3, 5}};
static const size_t VIS_TO_N[] = {0, 1, 2};

static void check_items(int v)
{
    mdt_case_ctx_t c = case_variant(v);
    int input = 0;
    for (int vis = 0; vis <= MDT_VIS_COUNT; vis++)
        for (int t = 0; t < 3; t++)
            for (int64_t author = 1; author <= 5; author++)
                for (int64_t slot = 1; slot <= 2; slot++)
                    for (int as = 0; as < 3; as++) {
                        static const int64_t ASSIGNEE[] = {0, 2, 5};
                        mdt_item_ctx_t it = {.visibility = (mdt_visibility_t)vis,
                                             .author_user_id = author * 100 + slot,
                                             .author_agency_id = author,
                                             .visible_to = VIS_TO[t],
                                             .n_visible_to = VIS_TO_N[t],
                                             .assignee_agency_id = ASSIGNEE[as],
                                             .assignee_user_id =
                                                 ASSIGNEE[as] ? ASSIGNEE[as] * 100 + 2 : 0};
                        input++;
                        for (int i = 0; i < n_p; i++)
                            answers[i] = mdt_authz_item_visible(&principals[i], &c, &it);
                        expect_constant("item_visible", input);
                        for (int i = 0; i < n_p; i++)
                            answers[i] = mdt_authz_item_history_visible(&principals[i], &c, &it);
                        expect_constant("item_history_visible", input);
                    }
}

static void check_meetings(void)
{
    static const int64_t ATT[] = {2, 5};
    int input = 0;
    for (int64_t mag = 1; mag <= N_AGENCIES; mag++)
        for (size_t na = 0; na <= 2; na++)
            for (size_t seen = 0; seen <= 1; seen++) {
                input++;
                for (int i = 0; i < n_p; i++)
                    answers[i] = mdt_authz_meeting_visible(&principals[i], mag, ATT, na, seen);
                expect_constant("meeting_visible", input);
            }
}

/* The key is not trivially coarse: agencies on the case see different
 * items, and every principal mdt_authz denies shares one key. */
static void check_key_separates(void)
{
    mdt_case_ctx_t c = case_variant(0);
    mdt_item_ctx_t mine = {
        .visibility = MDT_VIS_AGENCY, .author_user_id = 201, .author_agency_id = 2};
    mdt_principal_t a = {201, 2, MDT_KIND_CHILD_WELFARE, MDT_ROLE_MEMBER, true};
    mdt_principal_t b = {301, 3, MDT_KIND_CHILD_WELFARE, MDT_ROLE_MEMBER, true};
    CHECK(mdt_authz_item_visible(&a, &c, &mine) != mdt_authz_item_visible(&b, &c, &mine));
    CHECK(!mdt_authz_view_key_eq(mdt_authz_view_key(&a), mdt_authz_view_key(&b)));
    mdt_principal_t inactive = a;
    inactive.active = false;
    CHECK(!mdt_authz_view_key_eq(mdt_authz_view_key(&a), mdt_authz_view_key(&inactive)));
    CHECK_EQ_INT(mdt_authz_view_key(&inactive).agency_id, 0);
    CHECK_EQ_INT(mdt_authz_view_key(NULL).agency_id, 0);
    int groups = 0;
    for (int i = 0; i < n_p; i++)
        groups += rep[i] == i;
    CHECK_EQ_INT(groups, N_AGENCIES + 1);
}

int main(void)
{
    build_principals();
    for (int v = 0; v < N_VARIANTS; v++) {
        check_case(v);
        check_items(v);
    }
    check_meetings();
    check_key_separates();
    printf("%d principals, %ld answers compared within their keys\n", n_p, n_compared);
    return check_done();
}
