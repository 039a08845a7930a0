/* test_authz.c - the authorization predicate, exhaustively.
 *
 * Four layers, each checked against answers written independently of
 * server/authz.c:
 *   1. literal tables: hand-written expected answers for the key cases (and
 *      the reference oracle must agree with every row, so the oracle itself
 *      is checked);
 *   2. exhaustive sweeps over a fixed five-agency world: every role x agency
 *      kind x active/inactive x principal agency (lead, author's, in
 *      visible_to, assignee, other on case, not on case) x user (author,
 *      assignee, creator, plain) x visibility x visible_to x assignee x
 *      consent state x PII category x owner, compared with a reference oracle
 *      that reasons over the test's own descriptors (bit sets of agencies, a
 *      brute-force search for the next change), never over authz.c helpers;
 *   3. random worlds (fixed seed) against a second oracle written over the
 *      structs, plus metamorphic checks of mdt_authz_next_change;
 *   4. named scenarios in the contract's own words.
 * Prints how many combinations and decisions were checked. */
#include "authz.h"
#include "check.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NOW INT64_C(1800000000)

/* The world of the sweeps: a police-led case with child welfare, the
 * immigration legal-aid agency and the hospital on it; agency 5 is not on
 * the case. User ids are agency * 100 + slot. */
enum { AG_LEAD = 1, AG_CW = 2, AG_IMM = 3, AG_MED = 4, AG_OFF = 5 };
enum { SLOT_AUTHOR = 1, SLOT_ASSIGNEE = 2, SLOT_CREATOR = 3, SLOT_PLAIN = 9 };
#define VIS_INVALID 3 /* a visibility value out of range */

static const int64_t CASE_AGENCIES[] = {AG_LEAD, AG_CW, AG_IMM, AG_MED};
static const int64_t DEFAULT_OWNER[MDT_PII_COUNT] = {AG_LEAD, AG_LEAD, AG_IMM, AG_MED};

static long n_combos;    /* tuples enumerated by the sweeps and random worlds */
static long n_decisions; /* individual answers compared */
static int n_reported;

/* The tuple being checked, printed on a mismatch. The item sweep sets
 * cur_item (formatted only when something fails); other checks fill
 * cur_desc directly. */
static char cur_desc[256];
static const struct item_desc *cur_item;
static void describe_item(const struct item_desc *k);

static void describe_current(void)
{
    if (cur_item) {
        describe_item(cur_item);
    }
}

static void expect_bool(bool got, bool want, const char *what)
{
    n_decisions++;
    if (got == want) {
        check_passed++;
        return;
    }
    check_failed++;
    if (n_reported++ < 40) {
        describe_current();
        fprintf(stderr, "MISMATCH %s: got %d want %d  [%s]\n", what, got, want, cur_desc);
    }
}

static void expect_i64(int64_t got, int64_t want, const char *what)
{
    n_decisions++;
    if (got == want) {
        check_passed++;
        return;
    }
    check_failed++;
    if (n_reported++ < 40) {
        describe_current();
        fprintf(stderr, "MISMATCH %s: got %" PRId64 " want %" PRId64 "  [%s]\n", what, got, want,
                cur_desc);
    }
}

static int64_t uid(int agency, int slot)
{
    return (int64_t)agency * 100 + slot;
}

static mdt_principal_t principal(int role, int kind, bool active, int agency, int slot)
{
    mdt_principal_t p = {uid(agency, slot), agency, (mdt_agency_kind_t)kind, (mdt_role_t)role,
                         active};
    return p;
}

static mdt_case_ctx_t world_case(void)
{
    mdt_case_ctx_t c = {0};
    c.case_id = 77;
    c.lead_agency_id = AG_LEAD;
    c.agencies = CASE_AGENCIES;
    c.n_agencies = 4;
    memcpy(c.pii_owner, DEFAULT_OWNER, sizeof c.pii_owner);
    return c;
}

/* Advances the mixed-radix counter digit[0..n) (the last digit fastest);
 * false once every tuple has been produced. */
static bool odometer_next(int *digit, const int *radix, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        if (++digit[i] < radix[i]) {
            return true;
        }
        digit[i] = 0;
    }
    return false;
}

/* ======================================================================
 * Reference oracle for items, over descriptors. Agencies are bits.
 * ====================================================================== */

typedef struct item_desc {
    int role, kind, active, agency, slot;
    int author;   /* author agency: AG_LEAD, AG_CW or AG_OFF (removed from the case) */
    int vis;      /* 0 mdt, 1 agencies, 2 agency, 3 invalid */
    int vt;       /* visible_to set index */
    int asg;      /* assignee agency, 0 = none */
    int asg_user; /* 1: a user (slot 2) of asg is assigned */
    int creator;  /* 0: the author created it; 1: user 403 (hospital) did */
} item_desc_t;

static const int64_t VT_LISTS[4][2] = {{0, 0}, {AG_IMM, 0}, {AG_IMM, AG_OFF}, {AG_LEAD, AG_IMM}};
static const size_t VT_LEN[4] = {0, 1, 2, 2};
static const unsigned VT_BITS[4] = {0, 1u << AG_IMM, (1u << AG_IMM) | (1u << AG_OFF),
                                    (1u << AG_LEAD) | (1u << AG_IMM)};

static bool o_on_case(int agency)
{
    return agency == AG_LEAD || agency == AG_CW || agency == AG_IMM || agency == AG_MED;
}

static bool o_sees_item(const item_desc_t *k)
{
    if (!k->active || !o_on_case(k->agency) || k->vis == VIS_INVALID) {
        return false;
    }
    unsigned audience;
    if (k->vis == 0) {
        audience = ~0u;
    } else if (k->vis == 1) {
        audience = VT_BITS[k->vt] | (1u << k->author);
    } else {
        audience = 1u << k->author;
    }
    if (k->asg) {
        audience |= 1u << k->asg;
    }
    return (audience >> k->agency) & 1u;
}

static bool o_is_author(const item_desc_t *k)
{
    return k->agency == k->author && k->slot == SLOT_AUTHOR;
}

static bool o_is_assignee_user(const item_desc_t *k)
{
    return k->asg_user && k->agency == k->asg && k->slot == SLOT_ASSIGNEE;
}

static bool o_is_creator(const item_desc_t *k)
{
    return k->creator == 0 ? o_is_author(k) : (k->agency == AG_MED && k->slot == SLOT_CREATOR);
}

typedef struct {
    bool visible, history, edit, retract, act_update, act_retract;
} item_want_t;

static item_want_t o_item(const item_desc_t *k)
{
    item_want_t w = {0};
    bool sees = o_sees_item(k);
    bool sup = k->role == MDT_ROLE_SUPERVISOR;
    bool asg_sup = sup && k->asg != 0 && k->agency == k->asg;
    bool lead_sup = sup && k->agency == AG_LEAD;
    w.visible = sees;
    w.history = sees && k->agency == k->author;
    w.edit = sees && o_is_author(k);
    w.retract = sees && (o_is_author(k) || (sup && k->agency == k->author) || lead_sup);
    w.act_retract = sees && (o_is_assignee_user(k) || o_is_creator(k) || asg_sup || lead_sup);
    w.act_update = w.act_retract || (sees && k->asg != 0 && !k->asg_user && k->agency == k->asg);
    return w;
}

/* Builds the structs the implementation sees from a descriptor. */
static void build_item(const item_desc_t *k, mdt_principal_t *p, mdt_item_ctx_t *it,
                       int64_t *creator)
{
    *p = principal(k->role, k->kind, k->active, k->agency, k->slot);
    memset(it, 0, sizeof *it);
    it->visibility = (mdt_visibility_t)(k->vis == VIS_INVALID ? 42 : k->vis);
    it->author_user_id = uid(k->author, SLOT_AUTHOR);
    it->author_agency_id = k->author;
    it->visible_to = VT_LEN[k->vt] ? VT_LISTS[k->vt] : NULL;
    it->n_visible_to = VT_LEN[k->vt];
    it->assignee_agency_id = k->asg;
    it->assignee_user_id = k->asg_user ? uid(k->asg, SLOT_ASSIGNEE) : 0;
    *creator = k->creator == 0 ? uid(k->author, SLOT_AUTHOR) : uid(AG_MED, SLOT_CREATOR);
}

static void describe_item(const item_desc_t *k)
{
    snprintf(cur_desc, sizeof cur_desc,
             "role=%d kind=%d active=%d agency=%d slot=%d author=%d vis=%d vt=%d asg=%d "
             "asg_user=%d creator=%d",
             k->role, k->kind, k->active, k->agency, k->slot, k->author, k->vis, k->vt, k->asg,
             k->asg_user, k->creator);
}

static void check_item(const item_desc_t *k, item_want_t w)
{
    mdt_principal_t p;
    mdt_item_ctx_t it;
    int64_t creator;
    mdt_case_ctx_t c = world_case();
    build_item(k, &p, &it, &creator);
    cur_item = k;
    expect_bool(mdt_authz_item_visible(&p, &c, &it), w.visible, "item_visible");
    expect_bool(mdt_authz_item_history_visible(&p, &c, &it), w.history, "item_history_visible");
    expect_bool(mdt_authz_entry_edit(&p, &c, &it), w.edit, "entry_edit");
    expect_bool(mdt_authz_entry_retract(&p, &c, &it), w.retract, "entry_retract");
    expect_bool(mdt_authz_action_update(&p, &c, &it, creator), w.act_update, "action_update");
    expect_bool(mdt_authz_action_retract(&p, &c, &it, creator), w.act_retract, "action_retract");
}

/* ---- 1. literal item table (written by hand from API.md) -------------- */

enum { M = MDT_ROLE_MEMBER, I = MDT_ROLE_INTERVIEWER, S = MDT_ROLE_SUPERVISOR, A = MDT_ROLE_ADMIN };
enum { V_MDT = 0, V_AGENCIES = 1, V_AGENCY = 2 };

typedef struct {
    const char *name;
    item_desc_t k;
    item_want_t w; /* visible, history, edit, retract, act_update, act_retract */
} item_row_t;

#define ROW(nm, role, active, ag, slot, author, vis, vt, asg, au, cr, v, h, e, r, u, x)            \
    {                                                                                              \
        nm, {role, MDT_KIND_OTHER, active, ag, slot, author, vis, vt, asg, au, cr},                \
        {                                                                                          \
            v, h, e, r, u, x                                                                       \
        }                                                                                          \
    }

/* clang-format off */
static const item_row_t ITEM_TABLE[] = {
    /*  name                                       role act agency   slot author  vis          vt asg     au cr vis hist edit retr upd retr */
    ROW("mdt: other member sees",                  M,   1,  AG_MED,  9,   AG_CW,  V_MDT,       0, 0,      0, 1, 1,  0,   0,   0,   0,  0),
    ROW("mdt: creator member updates",             M,   1,  AG_MED,  3,   AG_CW,  V_MDT,       0, 0,      0, 1, 1,  0,   0,   0,   1,  1),
    ROW("mdt: off-case sees nothing",              S,   1,  AG_OFF,  9,   AG_CW,  V_MDT,       0, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("mdt: inactive author nothing",            M,   0,  AG_CW,   1,   AG_CW,  V_MDT,       0, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("mdt: author everything",                  M,   1,  AG_CW,   1,   AG_CW,  V_MDT,       0, 0,      0, 0, 1,  1,   1,   1,   1,  1),
    ROW("mdt: author's colleague sees history",    M,   1,  AG_CW,   9,   AG_CW,  V_MDT,       0, 0,      0, 0, 1,  1,   0,   0,   0,  0),
    ROW("mdt: author's supervisor retracts",       S,   1,  AG_CW,   9,   AG_CW,  V_MDT,       0, 0,      0, 0, 1,  1,   0,   1,   0,  0),
    ROW("mdt: lead supervisor retracts",           S,   1,  AG_LEAD, 9,   AG_CW,  V_MDT,       0, 0,      0, 0, 1,  0,   0,   1,   1,  1),
    ROW("mdt: lead member cannot retract",         M,   1,  AG_LEAD, 9,   AG_CW,  V_MDT,       0, 0,      0, 0, 1,  0,   0,   0,   0,  0),
    ROW("mdt: other supervisor cannot retract",    S,   1,  AG_MED,  9,   AG_CW,  V_MDT,       0, 0,      0, 0, 1,  0,   0,   0,   0,  0),
    ROW("agencies: in visible_to sees",            M,   1,  AG_IMM,  9,   AG_CW,  V_AGENCIES,  1, 0,      0, 0, 1,  0,   0,   0,   0,  0),
    ROW("agencies: not in visible_to",             M,   1,  AG_MED,  9,   AG_CW,  V_AGENCIES,  1, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("agencies: empty list, author agency",     M,   1,  AG_CW,   9,   AG_CW,  V_AGENCIES,  0, 0,      0, 0, 1,  1,   0,   0,   0,  0),
    ROW("agencies: off-case in visible_to",        S,   1,  AG_OFF,  9,   AG_CW,  V_AGENCIES,  2, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("agencies: lead supervisor not listed",    S,   1,  AG_LEAD, 9,   AG_CW,  V_AGENCIES,  1, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("agencies: lead supervisor listed",        S,   1,  AG_LEAD, 9,   AG_CW,  V_AGENCIES,  3, 0,      0, 0, 1,  0,   0,   1,   1,  1),
    ROW("agency: other agency blind",              S,   1,  AG_IMM,  9,   AG_CW,  V_AGENCY,    1, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("agency: lead supervisor blind",           S,   1,  AG_LEAD, 9,   AG_CW,  V_AGENCY,    0, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("agency: assignee agency sees",            M,   1,  AG_IMM,  9,   AG_CW,  V_AGENCY,    0, AG_IMM, 1, 0, 1,  0,   0,   0,   0,  0),
    ROW("agency: assignee user updates",           M,   1,  AG_IMM,  2,   AG_CW,  V_AGENCY,    0, AG_IMM, 1, 0, 1,  0,   0,   0,   1,  1),
    ROW("agency: agency-only assignment, member",  M,   1,  AG_IMM,  9,   AG_CW,  V_AGENCY,    0, AG_IMM, 0, 0, 1,  0,   0,   0,   1,  0),
    ROW("agency: assignee supervisor",             S,   1,  AG_IMM,  9,   AG_CW,  V_AGENCY,    0, AG_IMM, 1, 0, 1,  0,   0,   0,   1,  1),
    ROW("agency: assignee off case",               S,   1,  AG_OFF,  2,   AG_CW,  V_AGENCY,    0, AG_OFF, 1, 0, 0,  0,   0,   0,   0,  0),
    ROW("agency: author removed from case",        M,   1,  AG_OFF,  1,   AG_OFF, V_AGENCY,    0, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("agency: removed author, mdt, seen",       M,   1,  AG_MED,  9,   AG_OFF, V_MDT,       0, 0,      0, 0, 1,  0,   0,   0,   0,  0),
    ROW("invalid visibility: author blind",        M,   1,  AG_CW,   1,   AG_CW,  VIS_INVALID, 0, AG_CW,  0, 0, 0,  0,   0,   0,   0,  0),
    ROW("admin on case acts as member",            A,   1,  AG_MED,  9,   AG_CW,  V_MDT,       0, 0,      0, 0, 1,  0,   0,   0,   0,  0),
    ROW("admin author edits own",                  A,   1,  AG_CW,   1,   AG_CW,  V_AGENCY,    0, 0,      0, 0, 1,  1,   1,   1,   1,  1),
    ROW("admin of lead is no supervisor",          A,   1,  AG_LEAD, 9,   AG_CW,  V_MDT,       0, 0,      0, 0, 1,  0,   0,   0,   0,  0),
    ROW("admin off case",                          A,   1,  AG_OFF,  9,   AG_CW,  V_MDT,       0, 0,      0, 0, 0,  0,   0,   0,   0,  0),
    ROW("interviewer creator hidden item",         I,   1,  AG_MED,  3,   AG_CW,  V_AGENCY,    0, 0,      0, 1, 0,  0,   0,   0,   0,  0),
};
/* clang-format on */

static void test_item_table(void)
{
    for (size_t i = 0; i < sizeof ITEM_TABLE / sizeof ITEM_TABLE[0]; i++) {
        const item_row_t *row = &ITEM_TABLE[i];
        item_want_t o = o_item(&row->k);
        /* The oracle must agree with the hand-written row ... */
        snprintf(cur_desc, sizeof cur_desc, "table row '%s' vs oracle", row->name);
        expect_bool(o.visible, row->w.visible, "oracle visible");
        expect_bool(o.history, row->w.history, "oracle history");
        expect_bool(o.edit, row->w.edit, "oracle edit");
        expect_bool(o.retract, row->w.retract, "oracle retract");
        expect_bool(o.act_update, row->w.act_update, "oracle act_update");
        expect_bool(o.act_retract, row->w.act_retract, "oracle act_retract");
        /* ... and so must the implementation. */
        check_item(&row->k, row->w);
        cur_item = NULL;
    }
}

/* ---- 2a. item sweep ----------------------------------------------------- */

static void sweep_items(void)
{
    static const int authors[] = {AG_LEAD, AG_CW, AG_OFF};
    static const int slots[] = {SLOT_AUTHOR, SLOT_ASSIGNEE, SLOT_CREATOR, SLOT_PLAIN};
    /* role, kind, active, agency, user slot, author, visibility (+ invalid),
     * visible_to, assignee agency (0..5), assignee user, creator */
    static const int radix[] = {MDT_ROLE_COUNT, MDT_KIND_COUNT, 2, 5, 4, 3, 4, 4, 6, 2, 2};
    int d[11] = {0};
    long before = n_combos;
    do {
        item_desc_t k = {.role = d[0],
                         .kind = d[1],
                         .active = d[2],
                         .agency = AG_LEAD + d[3],
                         .slot = slots[d[4]],
                         .author = authors[d[5]],
                         .vis = d[6],
                         .vt = d[7],
                         .asg = d[8],
                         .asg_user = d[9],
                         .creator = d[10]};
        if (k.asg == 0 && k.asg_user) {
            continue; /* an assigned user needs an assignee agency */
        }
        check_item(&k, o_item(&k));
        n_combos++;
    } while (odometer_next(d, radix, 11));
    cur_item = NULL;
    printf("items: %ld combinations (role x kind x active x agency x user x author x "
           "visibility x visible_to x assignee x creator)\n",
           n_combos - before);
}

/* ======================================================================
 * Case-level decisions.
 * ====================================================================== */

typedef struct {
    int role, kind, active, agency;
    int lead; /* AG_LEAD, AG_CW, or AG_OFF (lead missing from agencies: bad data) */
} case_desc_t;

static void check_case_level(const case_desc_t *k)
{
    mdt_principal_t p = principal(k->role, k->kind, k->active, k->agency, SLOT_PLAIN);
    mdt_case_ctx_t c = world_case();
    c.lead_agency_id = k->lead;
    snprintf(cur_desc, sizeof cur_desc, "role=%d kind=%d active=%d agency=%d lead=%d", k->role,
             k->kind, k->active, k->agency, k->lead);

    bool act = k->active;
    bool member = act && o_on_case(k->agency);
    bool sup = act && k->role == MDT_ROLE_SUPERVISOR;
    bool adm = act && k->role == MDT_ROLE_ADMIN;
    bool lead_sup = sup && member && k->agency == k->lead;

    expect_bool(mdt_authz_case_visible(&p, &c), member, "case_visible");
    expect_bool(mdt_authz_case_create(&p), sup, "case_create");
    expect_bool(mdt_authz_case_update_lead_fields(&p, &c), lead_sup, "lead_fields");
    expect_bool(mdt_authz_case_legal_hold(&p, &c), lead_sup, "legal_hold");
    expect_bool(mdt_authz_case_update_member_fields(&p, &c), member, "member_fields");
    expect_bool(mdt_authz_entry_create(&p, &c, false), member, "entry_create note");
    expect_bool(mdt_authz_entry_create(&p, &c, true), member && k->role == MDT_ROLE_INTERVIEWER,
                "entry_create interview");
    for (int target = 0; target <= AG_OFF + 1; target++) {
        bool want = member && (target == 0 || (o_on_case(target) && (sup || target == k->agency)));
        expect_bool(mdt_authz_action_assign(&p, &c, target), want, "action_assign");
    }
    expect_bool(mdt_authz_meeting_run(&p), sup, "meeting_run");
    expect_bool(mdt_authz_admin(&p), adm, "admin");
    expect_bool(mdt_authz_audit_read(&p, NULL), adm, "audit_read all");
    expect_bool(mdt_authz_audit_read(&p, &c), adm || lead_sup, "audit_read case");
    expect_bool(mdt_authz_reports(&p), sup, "reports");
    expect_bool(mdt_authz_account_changes(&p), sup, "account_changes");
    /* Facilitator: user 209 (a child-welfare user), whatever the role. */
    bool fac = act && p.user_id == uid(AG_CW, SLOT_PLAIN);
    expect_bool(mdt_authz_meeting_facilitate(&p, uid(AG_CW, SLOT_PLAIN)), fac, "facilitate");
    expect_bool(mdt_authz_meeting_facilitate(&p, 0), false, "facilitate nobody");
    expect_bool(mdt_authz_meeting_outcome(&p, &c, uid(AG_CW, SLOT_PLAIN)), fac && member,
                "meeting_outcome");
    expect_bool(mdt_authz_meeting_outcome(&p, &c, p.user_id), act && member,
                "meeting_outcome self");
    /* A meeting of the child-welfare agency attended by a legal-aid user. */
    static const int64_t attending[] = {AG_IMM};
    for (size_t seen = 0; seen <= 2; seen++) {
        bool want = act && (seen > 0 || k->agency == AG_CW || k->agency == AG_IMM);
        expect_bool(mdt_authz_meeting_visible(&p, AG_CW, attending, 1, seen), want,
                    "meeting_visible");
        expect_bool(mdt_authz_meeting_visible(&p, AG_CW, NULL, 1, seen),
                    act && (seen > 0 || k->agency == AG_CW), "meeting_visible no attendees");
    }
    expect_bool(mdt_authz_meeting_attend(&p, uid(AG_CW, SLOT_PLAIN), p.user_id), act,
                "attend self");
    expect_bool(mdt_authz_meeting_attend(&p, uid(AG_CW, SLOT_PLAIN), uid(AG_OFF, 1)), fac,
                "attend other");
    expect_bool(mdt_authz_meeting_attend(&p, uid(AG_CW, SLOT_PLAIN), 0), false, "attend nobody");
}

static void sweep_case_level(void)
{
    static const int leads[] = {AG_LEAD, AG_CW, AG_OFF};
    static const int radix[] = {MDT_ROLE_COUNT, MDT_KIND_COUNT, 2, 5, 3};
    int d[5] = {0};
    long before = n_combos;
    do {
        case_desc_t k = {d[0], d[1], d[2], AG_LEAD + d[3], leads[d[4]]};
        check_case_level(&k);
        n_combos++;
    } while (odometer_next(d, radix, 5));
    printf("case-level: %ld combinations (role x kind x active x agency x lead)\n",
           n_combos - before);
}

/* Literal case-level table: a few rows written out by hand. */
static void test_case_table(void)
{
    static const struct {
        int role, active, agency;
        bool visible, create, lead_fields, interview, assign_other, audit_case;
    } rows[] = {
        {M, 1, AG_LEAD, 1, 0, 0, 0, 0, 0}, {I, 1, AG_CW, 1, 0, 0, 1, 0, 0},
        {S, 1, AG_LEAD, 1, 1, 1, 0, 1, 1}, {S, 1, AG_CW, 1, 1, 0, 0, 1, 0},
        {S, 0, AG_LEAD, 0, 0, 0, 0, 0, 0}, {S, 1, AG_OFF, 0, 1, 0, 0, 0, 0},
        {A, 1, AG_LEAD, 1, 0, 0, 0, 0, 1}, {A, 1, AG_OFF, 0, 0, 0, 0, 0, 1},
        {A, 0, AG_LEAD, 0, 0, 0, 0, 0, 0}, {M, 1, AG_OFF, 0, 0, 0, 0, 0, 0},
        {I, 0, AG_MED, 0, 0, 0, 0, 0, 0},
    };
    mdt_case_ctx_t c = world_case();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mdt_principal_t p =
            principal(rows[i].role, MDT_KIND_CAC, rows[i].active, rows[i].agency, SLOT_PLAIN);
        snprintf(cur_desc, sizeof cur_desc, "case table row %zu", i);
        expect_bool(mdt_authz_case_visible(&p, &c), rows[i].visible, "case_visible");
        expect_bool(mdt_authz_case_create(&p), rows[i].create, "case_create");
        expect_bool(mdt_authz_case_update_lead_fields(&p, &c), rows[i].lead_fields, "lead_fields");
        expect_bool(mdt_authz_case_legal_hold(&p, &c), rows[i].lead_fields, "legal_hold");
        expect_bool(mdt_authz_entry_create(&p, &c, true), rows[i].interview, "interview");
        int other = rows[i].agency == AG_IMM ? AG_MED : AG_IMM;
        expect_bool(mdt_authz_action_assign(&p, &c, other), rows[i].assign_other, "assign other");
        expect_bool(mdt_authz_audit_read(&p, &c), rows[i].audit_case, "audit case");
    }
}

/* ======================================================================
 * PII: reference oracle over the test's own consent list.
 * ====================================================================== */

typedef struct {
    int agency;
    unsigned cats;
    int64_t exp;
    bool revoked;
} o_consent_t;

enum {
    CS_NONE,
    CS_ACTIVE,
    CS_EXPIRED_NOW, /* expires_at == now: already expired */
    CS_EXPIRED_PAST,
    CS_REVOKED,
    CS_OTHER_CATEGORY, /* active, covers every category but the one under test */
    CS_OTHER_AGENCY,   /* active, for another agency on the case */
    CS_EXPIRED_THEN_ACTIVE,
    CS_REVOKED_EXPIRED,
    CS_ACTIVE_ALL,
    CS_BOGUS_BITS, /* active, only bits beyond MDT_PII_ALL */
    CS_OVERLAP,    /* cat until now+100, all categories until now+50 */
    CS_NEXT_SECOND,
    CS_COUNT
};

static const char *const CS_NAMES[CS_COUNT] = {
    "none",           "active",       "expired(==now)", "expired(<now)",   "revoked",
    "other-category", "other-agency", "expired+active", "revoked+expired", "active-all",
    "bogus-bits",     "overlap",      "next-second"};

/* The consents of a state, for principal agency ag and category cat. */
static int o_consents(int state, int ag, int cat, o_consent_t out[2])
{
    unsigned b = 1u << cat;
    int other = ag == AG_CW ? AG_MED : AG_CW;
    switch (state) {
    case CS_ACTIVE:
        out[0] = (o_consent_t){ag, b, NOW + 100, false};
        return 1;
    case CS_EXPIRED_NOW:
        out[0] = (o_consent_t){ag, b, NOW, false};
        return 1;
    case CS_EXPIRED_PAST:
        out[0] = (o_consent_t){ag, b, NOW - 1, false};
        return 1;
    case CS_REVOKED:
        out[0] = (o_consent_t){ag, b, NOW + 100, true};
        return 1;
    case CS_OTHER_CATEGORY:
        out[0] = (o_consent_t){ag, 0xFu & ~b, NOW + 100, false};
        return 1;
    case CS_OTHER_AGENCY:
        out[0] = (o_consent_t){other, b, NOW + 100, false};
        return 1;
    case CS_EXPIRED_THEN_ACTIVE:
        out[0] = (o_consent_t){ag, b, NOW - 50, false};
        out[1] = (o_consent_t){ag, b, NOW + 200, false};
        return 2;
    case CS_REVOKED_EXPIRED:
        out[0] = (o_consent_t){ag, b, NOW - 1, true};
        return 1;
    case CS_ACTIVE_ALL:
        out[0] = (o_consent_t){ag, 0xFu, NOW + 300, false};
        return 1;
    case CS_BOGUS_BITS:
        out[0] = (o_consent_t){ag, 0xF0u, NOW + 100, false};
        return 1;
    case CS_OVERLAP:
        out[0] = (o_consent_t){ag, b, NOW + 100, false};
        out[1] = (o_consent_t){ag, 0xFu, NOW + 50, false};
        return 2;
    case CS_NEXT_SECOND:
        out[0] = (o_consent_t){ag, b, NOW + 1, false};
        return 1;
    default:
        return 0;
    }
}

/* What agency `ag` (active, on the case or not) sees at time t. */
static unsigned o_pii_mask(bool active, int ag, const int64_t owner[4], const o_consent_t *cs,
                           int n, int64_t t)
{
    if (!active || !o_on_case(ag)) {
        return 0;
    }
    unsigned m = 0;
    for (int cat = 0; cat < 4; cat++) {
        bool ok = owner[cat] == ag;
        for (int i = 0; i < n && !ok; i++) {
            ok = cs[i].agency == ag && !cs[i].revoked && t < cs[i].exp && ((cs[i].cats >> cat) & 1);
        }
        if (ok) {
            m |= 1u << cat;
        }
    }
    return m;
}

/* Brute force: the first expiry after now at which the mask differs. */
static int64_t o_next_change(bool active, int ag, const int64_t owner[4], const o_consent_t *cs,
                             int n)
{
    unsigned base = o_pii_mask(active, ag, owner, cs, n, NOW);
    int64_t best = 0;
    for (int i = 0; i < n; i++) {
        int64_t t = cs[i].exp;
        if (t > NOW && (best == 0 || t < best) && o_pii_mask(active, ag, owner, cs, n, t) != base) {
            best = t;
        }
    }
    return best;
}

typedef struct {
    int role, kind, active, agency, cat, owner_opt, state;
} pii_desc_t;

static const int64_t OWNER_OPTS[] = {AG_LEAD, AG_CW, AG_IMM, AG_OFF, 0};
#define N_OWNER_OPTS 5

static void check_pii(const pii_desc_t *k, bool with_masks)
{
    o_consent_t oc[2];
    int n = o_consents(k->state, k->agency, k->cat, oc);
    mdt_consent_ref_t refs[2];
    for (int i = 0; i < n; i++) {
        refs[i] = (mdt_consent_ref_t){oc[i].agency, oc[i].cats, oc[i].exp, oc[i].revoked};
    }
    int64_t owner[4];
    memcpy(owner, DEFAULT_OWNER, sizeof owner);
    owner[k->cat] = OWNER_OPTS[k->owner_opt];

    mdt_principal_t p = principal(k->role, k->kind, k->active, k->agency, SLOT_PLAIN);
    mdt_case_ctx_t c = world_case();
    memcpy(c.pii_owner, owner, sizeof owner);
    c.consents = n ? refs : NULL;
    c.n_consents = (size_t)n;
    snprintf(cur_desc, sizeof cur_desc,
             "role=%d kind=%d active=%d agency=%d cat=%d owner=%" PRId64 " consent=%s", k->role,
             k->kind, k->active, k->agency, k->cat, owner[k->cat], CS_NAMES[k->state]);

    unsigned want = o_pii_mask(k->active, k->agency, owner, oc, n, NOW);
    expect_i64(mdt_authz_pii_mask(&p, &c, NOW), want, "pii_mask");
    for (int cat = 0; cat < 4; cat++) {
        expect_bool(mdt_authz_pii_visible(&p, &c, (mdt_pii_cat_t)cat, NOW), (want >> cat) & 1,
                    "pii_visible");
        bool w = k->active && o_on_case(k->agency) && k->role != MDT_ROLE_ADMIN &&
                 owner[cat] == k->agency;
        expect_bool(mdt_authz_pii_write(&p, &c, (mdt_pii_cat_t)cat), w, "pii_write");
    }
    expect_bool(mdt_authz_consent_names_visible(&p, &c, NOW), want & 1, "consent_names");
    expect_i64(mdt_authz_next_change(&p, &c, NOW),
               o_next_change(k->active, k->agency, owner, oc, n), "next_change");
    if (!with_masks) {
        return;
    }
    /* Consent record/revoke depend on owners only: every mask, valid or not. */
    for (unsigned mask = 0; mask < 32; mask++) {
        bool w = k->active && o_on_case(k->agency) && k->role != MDT_ROLE_ADMIN && mask != 0 &&
                 mask < 16;
        for (int cat = 0; cat < 4 && w; cat++) {
            if ((mask >> cat) & 1) {
                w = owner[cat] == k->agency;
            }
        }
        expect_bool(mdt_authz_consent_record(&p, &c, mask), w, "consent_record");
        expect_bool(mdt_authz_consent_revoke(&p, &c, mask), w, "consent_revoke");
    }
}

static void sweep_pii(void)
{
    static const int radix[] = {MDT_ROLE_COUNT, MDT_KIND_COUNT, 2,       5,
                                MDT_PII_COUNT,  N_OWNER_OPTS,   CS_COUNT};
    int d[7] = {0};
    long before = n_combos;
    do {
        pii_desc_t k = {d[0], d[1], d[2], AG_LEAD + d[3], d[4], d[5], d[6]};
        check_pii(&k, k.state == CS_NONE);
        n_combos++;
    } while (odometer_next(d, radix, 7));
    printf("pii: %ld combinations (role x kind x active x agency x category x owner x consent "
           "state)\n",
           n_combos - before);
}

/* Literal PII table: written out by hand for the police-led world. The
 * principal is a member; owners are the defaults (identity and contact:
 * police, immigration: legal aid, health: hospital). */
static void test_pii_table(void)
{
    static const struct {
        int agency, cat, state;
        bool visible;
        int64_t next;
    } rows[] = {
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_NONE, 0, 0},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_ACTIVE, 1, NOW + 100},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_EXPIRED_NOW, 0, 0},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_EXPIRED_PAST, 0, 0},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_REVOKED, 0, 0},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_OTHER_CATEGORY, 0, NOW + 100},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_OTHER_AGENCY, 0, 0},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_EXPIRED_THEN_ACTIVE, 1, NOW + 200},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_REVOKED_EXPIRED, 0, 0},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_ACTIVE_ALL, 1, NOW + 300},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_BOGUS_BITS, 0, 0},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_OVERLAP, 1, NOW + 50},
        {AG_LEAD, MDT_PII_IMMIGRATION, CS_NEXT_SECOND, 1, NOW + 1},
        {AG_LEAD, MDT_PII_IDENTITY, CS_NONE, 1, 0},
        {AG_LEAD, MDT_PII_IDENTITY, CS_ACTIVE, 1, 0}, /* owner: expiry changes nothing */
        {AG_IMM, MDT_PII_IMMIGRATION, CS_NONE, 1, 0},
        {AG_IMM, MDT_PII_IDENTITY, CS_NONE, 0, 0},
        {AG_IMM, MDT_PII_IDENTITY, CS_ACTIVE, 1, NOW + 100},
        {AG_MED, MDT_PII_HEALTH, CS_REVOKED, 1, 0},
        {AG_CW, MDT_PII_HEALTH, CS_OTHER_AGENCY, 0, 0},
        {AG_OFF, MDT_PII_IDENTITY, CS_ACTIVE, 0, 0}, /* a consent does not put you on the case */
        {AG_OFF, MDT_PII_IDENTITY, CS_ACTIVE_ALL, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        o_consent_t oc[2];
        mdt_consent_ref_t refs[2];
        int n = o_consents(rows[i].state, rows[i].agency, rows[i].cat, oc);
        for (int j = 0; j < n; j++) {
            refs[j] = (mdt_consent_ref_t){oc[j].agency, oc[j].cats, oc[j].exp, oc[j].revoked};
        }
        mdt_case_ctx_t c = world_case();
        c.consents = refs;
        c.n_consents = (size_t)n;
        mdt_principal_t p = principal(M, MDT_KIND_OTHER, true, rows[i].agency, SLOT_PLAIN);
        snprintf(cur_desc, sizeof cur_desc, "pii table row %zu (agency %d cat %d %s)", i,
                 rows[i].agency, rows[i].cat, CS_NAMES[rows[i].state]);
        expect_bool(mdt_authz_pii_visible(&p, &c, (mdt_pii_cat_t)rows[i].cat, NOW), rows[i].visible,
                    "pii_visible (table)");
        expect_i64(mdt_authz_next_change(&p, &c, NOW), rows[i].next, "next_change (table)");
        /* the oracle agrees with the table too */
        unsigned om = o_pii_mask(true, rows[i].agency, DEFAULT_OWNER, oc, n, NOW);
        expect_bool((om >> rows[i].cat) & 1, rows[i].visible, "oracle pii (table)");
        expect_i64(o_next_change(true, rows[i].agency, DEFAULT_OWNER, oc, n), rows[i].next,
                   "oracle next (table)");
    }
}

/* ======================================================================
 * 3. Random worlds against a second oracle written over the structs.
 * ====================================================================== */

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)(rng_state >> 33) % n;
}

static bool s_in(const int64_t *ids, size_t n, int64_t id)
{
    size_t i = 0;
    while (ids && i < n && ids[i] != id) {
        i++;
    }
    return ids && i < n;
}

static unsigned s_pii_mask(const mdt_principal_t *p, const mdt_case_ctx_t *c, int64_t t)
{
    if (!p->active || !s_in(c->agencies, c->n_agencies, p->agency_id)) {
        return 0;
    }
    unsigned m = 0;
    for (size_t i = 0; i < c->n_consents; i++) {
        const mdt_consent_ref_t *k = &c->consents[i];
        if (k->agency_id == p->agency_id && !k->revoked && t < k->expires_at) {
            m |= k->categories;
        }
    }
    for (int cat = 0; cat < 4; cat++) {
        m |= c->pii_owner[cat] == p->agency_id ? 1u << cat : 0;
    }
    return m & 15u;
}

static bool s_item_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                           const mdt_item_ctx_t *it)
{
    if (!p->active || !s_in(c->agencies, c->n_agencies, p->agency_id)) {
        return false;
    }
    bool author_agency = it->author_agency_id == p->agency_id;
    bool assignee = it->assignee_agency_id == p->agency_id;
    switch ((int)it->visibility) {
    case 0:
        return true;
    case 1:
        return author_agency || assignee || s_in(it->visible_to, it->n_visible_to, p->agency_id);
    case 2:
        return author_agency || assignee;
    default:
        return false;
    }
}

static void test_random_worlds(void)
{
    enum { ROUNDS = 200000 };
    int64_t agencies[6], vt[4];
    mdt_consent_ref_t cons[6];
    long before = n_combos;
    for (int r = 0; r < ROUNDS; r++) {
        size_t na = 1 + rnd(6), nv = rnd(5), nc = rnd(7);
        for (size_t i = 0; i < na; i++) {
            agencies[i] = 1 + rnd(8); /* duplicates allowed */
        }
        for (size_t i = 0; i < nv; i++) {
            vt[i] = rnd(9);
        }
        for (size_t i = 0; i < nc; i++) {
            cons[i].agency_id = 1 + rnd(8);
            cons[i].categories = rnd(32);
            cons[i].expires_at = NOW - 5 + rnd(11);
            cons[i].revoked = rnd(10) == 0;
        }
        mdt_case_ctx_t c = {0};
        c.case_id = r + 1;
        c.lead_agency_id = rnd(20) ? agencies[rnd((uint32_t)na)] : 1 + rnd(8);
        c.agencies = agencies;
        c.n_agencies = na;
        for (int cat = 0; cat < 4; cat++) {
            c.pii_owner[cat] = rnd(9);
        }
        c.consents = nc ? cons : NULL;
        c.n_consents = nc;
        /* One statement each: the order of rnd() calls is then fixed. */
        mdt_principal_t p;
        p.user_id = 1 + rnd(900);
        p.agency_id = 1 + rnd(8);
        p.agency_kind = (mdt_agency_kind_t)rnd(MDT_KIND_COUNT);
        p.role = (mdt_role_t)rnd(MDT_ROLE_COUNT);
        p.active = rnd(10) != 0;
        mdt_item_ctx_t it;
        it.visibility = (mdt_visibility_t)rnd(4); /* 3: out of range */
        it.author_user_id = 1 + rnd(900);
        it.author_agency_id = 1 + rnd(8);
        it.visible_to = nv ? vt : NULL;
        it.n_visible_to = nv;
        it.assignee_agency_id = rnd(9);
        it.assignee_user_id = rnd(3) ? 0 : 1 + rnd(900);
        int64_t now = NOW + (int64_t)rnd(3) - 1;
        snprintf(cur_desc, sizeof cur_desc, "random round %d", r);

        unsigned want = s_pii_mask(&p, &c, now);
        expect_i64(mdt_authz_pii_mask(&p, &c, now), want, "random pii_mask");
        int cat = (int)rnd(4);
        expect_bool(mdt_authz_pii_visible(&p, &c, (mdt_pii_cat_t)cat, now), (want >> cat) & 1,
                    "random pii_visible");
        expect_bool(mdt_authz_item_visible(&p, &c, &it), s_item_visible(&p, &c, &it),
                    "random item_visible");

        /* next_change: brute force over every second of the window ... */
        int64_t next = mdt_authz_next_change(&p, &c, now);
        int64_t brute = 0;
        for (int64_t t = now + 1; t <= NOW + 6 && brute == 0; t++) {
            if (s_pii_mask(&p, &c, t) != want) {
                brute = t;
            }
        }
        expect_i64(next, brute, "random next_change");
        /* ... and metamorphic: the implementation's own mask is steady until next. */
        if (next) {
            expect_i64(mdt_authz_pii_mask(&p, &c, next - 1), want, "mask steady before next");
            expect_bool(mdt_authz_pii_mask(&p, &c, next) != want, true, "mask changes at next");
        }
        n_combos++;
    }
    printf("random worlds: %ld (seeded, against a struct-level oracle)\n", n_combos - before);
}

/* ======================================================================
 * 4. Named scenarios.
 * ====================================================================== */

/* A police-led case: police (1, lead), DCF (2), legal aid (3), hospital (4). */
static const mdt_agency_kind_t WORLD_KINDS[] = {MDT_KIND_LAW_ENFORCEMENT, MDT_KIND_CHILD_WELFARE,
                                                MDT_KIND_IMMIGRATION_LEGAL, MDT_KIND_MEDICAL};

static void scenario_police_never_sees_immigration_without_consent(void)
{
    snprintf(cur_desc, sizeof cur_desc, "scenario: police-led immigration");
    mdt_case_ctx_t c = world_case();
    mdt_authz_default_pii_owners(AG_LEAD, CASE_AGENCIES, WORLD_KINDS, 4, c.pii_owner);
    CHECK_EQ_INT(c.pii_owner[MDT_PII_IMMIGRATION], AG_IMM);
    mdt_principal_t police_sup = principal(S, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
    mdt_principal_t legal = principal(M, MDT_KIND_IMMIGRATION_LEGAL, true, AG_IMM, 9);

    /* No consent: every police role, at every time, is blind to immigration. */
    for (int role = 0; role < MDT_ROLE_COUNT; role++) {
        mdt_principal_t pol = principal(role, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
        CHECK(!mdt_authz_pii_visible(&pol, &c, MDT_PII_IMMIGRATION, NOW));
        CHECK(!mdt_authz_pii_write(&pol, &c, MDT_PII_IMMIGRATION));
        CHECK(!mdt_authz_consent_record(&pol, &c, MDT_PII_BIT(MDT_PII_IMMIGRATION)));
        CHECK((mdt_authz_pii_mask(&pol, &c, NOW) & MDT_PII_BIT(MDT_PII_IMMIGRATION)) == 0);
    }
    /* Even a lead supervisor with consents for other agencies or categories. */
    mdt_consent_ref_t wrong[] = {
        {AG_CW, MDT_PII_BIT(MDT_PII_IMMIGRATION), NOW + 3600, false},
        {AG_LEAD, MDT_PII_BIT(MDT_PII_HEALTH), NOW + 3600, false},
        {AG_LEAD, MDT_PII_BIT(MDT_PII_IMMIGRATION), NOW + 3600, true},
        {AG_LEAD, MDT_PII_BIT(MDT_PII_IMMIGRATION), NOW, false},
    };
    c.consents = wrong;
    c.n_consents = 4;
    CHECK(!mdt_authz_pii_visible(&police_sup, &c, MDT_PII_IMMIGRATION, NOW));
    /* Legal aid records a consent for police: now police sees it ... */
    CHECK(mdt_authz_consent_record(&legal, &c, MDT_PII_BIT(MDT_PII_IMMIGRATION)));
    mdt_consent_ref_t good[] = {{AG_LEAD, MDT_PII_BIT(MDT_PII_IMMIGRATION), NOW + 3600, false}};
    c.consents = good;
    c.n_consents = 1;
    CHECK(mdt_authz_pii_visible(&police_sup, &c, MDT_PII_IMMIGRATION, NOW));
    CHECK_EQ_INT(mdt_authz_next_change(&police_sup, &c, NOW), NOW + 3600);
    /* ... until the second it expires. */
    CHECK(mdt_authz_pii_visible(&police_sup, &c, MDT_PII_IMMIGRATION, NOW + 3599));
    CHECK(!mdt_authz_pii_visible(&police_sup, &c, MDT_PII_IMMIGRATION, NOW + 3600));
    CHECK_EQ_INT(mdt_authz_next_change(&police_sup, &c, NOW + 3600), 0);
    /* The police lead supervisor may not reassign the category to itself by
     * recording consents: only the owner records. (It may change pii_owners
     * as lead supervisor: that is a lead field, audited.) */
    CHECK(!mdt_authz_consent_record(&police_sup, &c, MDT_PII_BIT(MDT_PII_IMMIGRATION)));
    CHECK(mdt_authz_case_update_lead_fields(&police_sup, &c));
}

static void scenario_expired_and_revoked(void)
{
    mdt_case_ctx_t c = world_case();
    mdt_principal_t dcf = principal(M, MDT_KIND_CHILD_WELFARE, true, AG_CW, 9);
    mdt_consent_ref_t k = {AG_CW, MDT_PII_BIT(MDT_PII_HEALTH), NOW, false};
    c.consents = &k;
    c.n_consents = 1;
    CHECK(!mdt_authz_pii_visible(&dcf, &c, MDT_PII_HEALTH, NOW));    /* == now: expired */
    CHECK(mdt_authz_pii_visible(&dcf, &c, MDT_PII_HEALTH, NOW - 1)); /* a second before */
    CHECK_EQ_INT(mdt_authz_next_change(&dcf, &c, NOW - 1), NOW);
    CHECK_EQ_INT(mdt_authz_next_change(&dcf, &c, NOW), 0);
    k.expires_at = NOW + 86400;
    k.revoked = true;
    CHECK(!mdt_authz_pii_visible(&dcf, &c, MDT_PII_HEALTH, NOW));
    CHECK_EQ_INT(mdt_authz_pii_mask(&dcf, &c, NOW), 0);
    CHECK_EQ_INT(mdt_authz_next_change(&dcf, &c, NOW), 0);
}

/* A consent's document (an attachment linked to it): the recipient agency
 * sees it while the consent is in force, never after its revocation or at
 * its expiry; the author's agency and other agencies as the visibility says. */
static void scenario_consent_document(void)
{
    mdt_case_ctx_t c = world_case();
    mdt_principal_t cw = principal(M, MDT_KIND_CHILD_WELFARE, true, AG_CW, 9);
    mdt_principal_t med = principal(M, MDT_KIND_MEDICAL, true, AG_MED, 9);
    mdt_principal_t lead = principal(M, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
    mdt_principal_t off = principal(M, MDT_KIND_OTHER, true, AG_OFF, 9);
    mdt_consent_ref_t k = {AG_CW, MDT_PII_BIT(MDT_PII_HEALTH), NOW + 60, false};
    mdt_item_ctx_t doc = {MDT_VIS_MDT, uid(AG_LEAD, 1), AG_LEAD, NULL, 0, 0, 0};
    CHECK(mdt_authz_document_visible(&cw, &c, &doc, &k, NOW));
    CHECK(mdt_authz_document_visible(&cw, &c, &doc, &k, NOW + 59));
    CHECK(!mdt_authz_document_visible(&cw, &c, &doc, &k, NOW + 60));  /* at the expiry */
    CHECK(mdt_authz_document_visible(&med, &c, &doc, &k, NOW + 60));  /* not its recipient */
    CHECK(mdt_authz_document_visible(&lead, &c, &doc, &k, NOW + 60)); /* the author's */
    CHECK(!mdt_authz_document_visible(&off, &c, &doc, &k, NOW));      /* not on the case */
    CHECK(mdt_authz_document_visible(&cw, &c, &doc, NULL, NOW + 60)); /* not linked */
    k.revoked = true;
    CHECK(!mdt_authz_document_visible(&cw, &c, &doc, &k, NOW));
    CHECK(mdt_authz_document_visible(&lead, &c, &doc, &k, NOW));
    doc.visibility = MDT_VIS_AGENCY; /* the consent never widens what the item allows */
    k.revoked = false;
    CHECK(!mdt_authz_document_visible(&cw, &c, &doc, &k, NOW));
    doc.author_agency_id = AG_CW; /* the recipient wrote it: its own file stays */
    doc.author_user_id = uid(AG_CW, 1);
    k.revoked = true;
    CHECK(mdt_authz_document_visible(&cw, &c, &doc, &k, NOW));
}

static void scenario_admin(void)
{
    mdt_case_ctx_t c = world_case();
    mdt_consent_ref_t k = {AG_OFF, MDT_PII_ALL, NOW + 100, false};
    c.consents = &k;
    c.n_consents = 1;
    c.pii_owner[MDT_PII_CONTACT] = AG_OFF; /* bad data: an owner off the case */
    mdt_item_ctx_t mdt_item = {MDT_VIS_MDT, uid(AG_CW, 1), AG_CW, NULL, 0, AG_OFF, uid(AG_OFF, 9)};
    mdt_principal_t off = principal(A, MDT_KIND_OTHER, true, AG_OFF, 9);
    /* Not on the case: nothing at all, but the audit log. */
    CHECK(!mdt_authz_case_visible(&off, &c));
    CHECK(!mdt_authz_item_visible(&off, &c, &mdt_item));
    CHECK(!mdt_authz_action_update(&off, &c, &mdt_item, uid(AG_OFF, 9)));
    CHECK_EQ_INT(mdt_authz_pii_mask(&off, &c, NOW), 0);
    CHECK(!mdt_authz_pii_write(&off, &c, MDT_PII_CONTACT));
    CHECK(!mdt_authz_consent_names_visible(&off, &c, NOW));
    CHECK_EQ_INT(mdt_authz_next_change(&off, &c, NOW), 0);
    CHECK(!mdt_authz_entry_create(&off, &c, false));
    CHECK(!mdt_authz_case_update_member_fields(&off, &c));
    CHECK(!mdt_authz_meeting_outcome(&off, &c, off.user_id));
    CHECK(mdt_authz_admin(&off));
    CHECK(mdt_authz_audit_read(&off, NULL));
    CHECK(mdt_authz_audit_read(&off, &c));
    CHECK(!mdt_authz_case_create(&off));
    CHECK(!mdt_authz_reports(&off));
    /* On the case (the lead agency): a member there, never a supervisor,
     * and never a PII writer or consent recorder. */
    mdt_principal_t on = principal(A, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
    mdt_item_ctx_t own = {MDT_VIS_AGENCY, uid(AG_LEAD, 1), AG_LEAD, NULL, 0, 0, 0};
    mdt_item_ctx_t theirs = {MDT_VIS_AGENCY, uid(AG_CW, 1), AG_CW, NULL, 0, 0, 0};
    CHECK(mdt_authz_case_visible(&on, &c));
    CHECK(mdt_authz_item_visible(&on, &c, &mdt_item));
    CHECK(mdt_authz_item_visible(&on, &c, &own));
    CHECK(mdt_authz_item_history_visible(&on, &c, &own));
    CHECK(!mdt_authz_item_visible(&on, &c, &theirs));
    CHECK_EQ_INT(mdt_authz_pii_mask(&on, &c, NOW), MDT_PII_BIT(MDT_PII_IDENTITY));
    CHECK(!mdt_authz_pii_write(&on, &c, MDT_PII_IDENTITY));
    CHECK(!mdt_authz_consent_record(&on, &c, MDT_PII_BIT(MDT_PII_IDENTITY)));
    CHECK(!mdt_authz_consent_revoke(&on, &c, MDT_PII_BIT(MDT_PII_IDENTITY)));
    CHECK(mdt_authz_entry_create(&on, &c, false));
    CHECK(!mdt_authz_entry_create(&on, &c, true));
    CHECK(!mdt_authz_case_update_lead_fields(&on, &c));
    CHECK(mdt_authz_case_update_member_fields(&on, &c));
    CHECK(!mdt_authz_entry_retract(&on, &c, &mdt_item));
    CHECK(mdt_authz_action_assign(&on, &c, AG_LEAD));
    CHECK(!mdt_authz_action_assign(&on, &c, AG_CW));
}

static void scenario_assignee_agency_sees_agency_item(void)
{
    mdt_case_ctx_t c = world_case();
    /* DCF's agency-only action item, assigned to the hospital. */
    mdt_item_ctx_t it = {MDT_VIS_AGENCY, uid(AG_CW, 1), AG_CW, NULL, 0, AG_MED, 0};
    mdt_principal_t nurse = principal(M, MDT_KIND_MEDICAL, true, AG_MED, 9);
    mdt_principal_t legal = principal(S, MDT_KIND_IMMIGRATION_LEGAL, true, AG_IMM, 9);
    mdt_principal_t police = principal(S, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
    CHECK(mdt_authz_item_visible(&nurse, &c, &it));
    CHECK(!mdt_authz_item_history_visible(&nurse, &c, &it));
    CHECK(mdt_authz_action_update(&nurse, &c, &it, uid(AG_CW, 1))); /* no person assigned yet */
    CHECK(!mdt_authz_action_retract(&nurse, &c, &it, uid(AG_CW, 1)));
    CHECK(!mdt_authz_item_visible(&legal, &c, &it));
    CHECK(!mdt_authz_item_visible(&police, &c, &it));
    CHECK(!mdt_authz_action_update(&police, &c, &it, uid(AG_CW, 1))); /* lead, but blind */
    /* Once a person is assigned, other hospital members only see it. */
    it.assignee_user_id = uid(AG_MED, 2);
    CHECK(mdt_authz_item_visible(&nurse, &c, &it));
    CHECK(!mdt_authz_action_update(&nurse, &c, &it, uid(AG_CW, 1)));
    mdt_principal_t assignee = principal(M, MDT_KIND_MEDICAL, true, AG_MED, 2);
    CHECK(mdt_authz_action_update(&assignee, &c, &it, uid(AG_CW, 1)));
    CHECK(mdt_authz_action_retract(&assignee, &c, &it, uid(AG_CW, 1)));
    /* The hospital leaving the case ends its sight of the item. */
    static const int64_t without_med[] = {AG_LEAD, AG_CW, AG_IMM};
    c.agencies = without_med;
    c.n_agencies = 3;
    CHECK(!mdt_authz_item_visible(&assignee, &c, &it));
    CHECK(!mdt_authz_action_update(&assignee, &c, &it, uid(AG_CW, 1)));
}

static void scenario_interviews_and_assignment(void)
{
    mdt_case_ctx_t c = world_case();
    mdt_principal_t fi = principal(I, MDT_KIND_CAC, true, AG_CW, 9);
    mdt_principal_t sup = principal(S, MDT_KIND_CAC, true, AG_CW, 9);
    mdt_principal_t mem = principal(M, MDT_KIND_CAC, true, AG_CW, 9);
    CHECK(mdt_authz_entry_create(&fi, &c, true));
    CHECK(!mdt_authz_entry_create(&sup, &c, true)); /* supervisors do not post interviews */
    CHECK(!mdt_authz_entry_create(&mem, &c, true));
    CHECK(mdt_authz_entry_create(&sup, &c, false));
    /* A non-lead supervisor assigns to anyone on the case, not off it. */
    CHECK(mdt_authz_action_assign(&sup, &c, AG_MED));
    CHECK(mdt_authz_action_assign(&sup, &c, AG_LEAD));
    CHECK(!mdt_authz_action_assign(&sup, &c, AG_OFF));
    CHECK(!mdt_authz_action_assign(&sup, &c, -1));
    /* Members: own agency or nobody. */
    CHECK(mdt_authz_action_assign(&mem, &c, AG_CW));
    CHECK(mdt_authz_action_assign(&mem, &c, 0));
    CHECK(!mdt_authz_action_assign(&mem, &c, AG_MED));
    CHECK(!mdt_authz_case_update_lead_fields(&sup, &c));
}

static void scenario_history_and_names(void)
{
    mdt_case_ctx_t c = world_case();
    static const int64_t to_legal[] = {AG_IMM};
    mdt_item_ctx_t it = {MDT_VIS_AGENCIES, uid(AG_CW, 1), AG_CW, to_legal, 1, 0, 0};
    mdt_principal_t legal = principal(M, MDT_KIND_IMMIGRATION_LEGAL, true, AG_IMM, 9);
    mdt_principal_t dcf = principal(M, MDT_KIND_CHILD_WELFARE, true, AG_CW, 9);
    CHECK(mdt_authz_item_visible(&legal, &c, &it));
    CHECK(!mdt_authz_item_history_visible(&legal, &c, &it)); /* sees that, not what, changed */
    CHECK(mdt_authz_item_history_visible(&dcf, &c, &it));
    CHECK(!mdt_authz_entry_edit(&dcf, &c, &it)); /* a colleague is not the author */
    /* Bad data: the author's user id under another agency is not the author. */
    mdt_principal_t impostor = principal(M, MDT_KIND_IMMIGRATION_LEGAL, true, AG_IMM, 9);
    impostor.user_id = it.author_user_id;
    CHECK(!mdt_authz_entry_edit(&impostor, &c, &it));
    CHECK(!mdt_authz_entry_retract(&impostor, &c, &it));
    mdt_principal_t author = principal(M, MDT_KIND_CHILD_WELFARE, true, AG_CW, SLOT_AUTHOR);
    CHECK(mdt_authz_entry_edit(&author, &c, &it));
    /* Consenting parties' names go with identity. */
    CHECK(!mdt_authz_consent_names_visible(&legal, &c, NOW));
    mdt_consent_ref_t k = {AG_IMM, MDT_PII_BIT(MDT_PII_IDENTITY), NOW + 10, false};
    c.consents = &k;
    c.n_consents = 1;
    CHECK(mdt_authz_consent_names_visible(&legal, &c, NOW));
    CHECK(!mdt_authz_consent_names_visible(&legal, &c, NOW + 10));
    mdt_principal_t police = principal(M, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
    CHECK(mdt_authz_consent_names_visible(&police, &c, NOW)); /* identity owner */
}

/* A meeting of the lead agency over three cases; the hospital is on two
 * of them. It sees the meeting (and those two cases); an agency on none of
 * them sees it only once one of its users attends. */
static void scenario_meeting_agenda(void)
{
    static const int64_t with_med[] = {AG_LEAD, AG_MED};
    static const int64_t without_med[] = {AG_LEAD, AG_CW};
    mdt_case_ctx_t agenda[3] = {world_case(), world_case(), world_case()};
    agenda[2].agencies = without_med;
    agenda[2].n_agencies = 2;
    agenda[1].agencies = with_med;
    agenda[1].n_agencies = 2;
    mdt_principal_t med = principal(M, MDT_KIND_MEDICAL, true, AG_MED, 9);
    mdt_principal_t off = principal(S, MDT_KIND_OTHER, true, AG_OFF, 9);
    size_t med_seen = 0, off_seen = 0;
    for (int i = 0; i < 3; i++) {
        med_seen += mdt_authz_case_visible(&med, &agenda[i]);
        off_seen += mdt_authz_case_visible(&off, &agenda[i]);
    }
    CHECK_EQ_INT((int)med_seen, 2);
    CHECK_EQ_INT((int)off_seen, 0);
    CHECK(mdt_authz_meeting_visible(&med, AG_LEAD, NULL, 0, med_seen));
    CHECK(!mdt_authz_meeting_visible(&off, AG_LEAD, NULL, 0, off_seen));
    int64_t attendees[] = {AG_LEAD, AG_OFF};
    CHECK(mdt_authz_meeting_visible(&off, AG_LEAD, attendees, 2, off_seen));
    /* Checking in: oneself; others only by the facilitator. */
    CHECK(mdt_authz_meeting_attend(&off, med.user_id, off.user_id));
    CHECK(!mdt_authz_meeting_attend(&off, med.user_id, uid(AG_OFF, 1)));
    CHECK(mdt_authz_meeting_attend(&med, med.user_id, uid(AG_OFF, 1)));
}

static void scenario_inactive_and_malformed(void)
{
    mdt_case_ctx_t c = world_case();
    mdt_consent_ref_t k = {AG_LEAD, MDT_PII_ALL, NOW + 100, false};
    c.consents = &k;
    c.n_consents = 1;
    mdt_item_ctx_t it = {MDT_VIS_MDT, uid(AG_LEAD, 9), AG_LEAD, NULL, 0, AG_LEAD, uid(AG_LEAD, 9)};
    mdt_principal_t good = principal(S, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
    mdt_principal_t bad[6];
    for (int i = 0; i < 6; i++) {
        bad[i] = good;
    }
    bad[0].active = false;
    bad[1].role = (mdt_role_t)7;
    bad[2].agency_kind = (mdt_agency_kind_t)-1;
    bad[3].user_id = 0;
    bad[4].agency_id = 0;
    bad[5].agency_id = -1;
    CHECK(mdt_authz_item_visible(&good, &c, &it));
    for (int i = 0; i < 6; i++) {
        const mdt_principal_t *p = &bad[i];
        snprintf(cur_desc, sizeof cur_desc, "malformed principal %d", i);
        expect_bool(mdt_authz_case_visible(p, &c), false, "case_visible");
        expect_bool(mdt_authz_item_visible(p, &c, &it), false, "item_visible");
        expect_bool(mdt_authz_item_history_visible(p, &c, &it), false, "history");
        expect_i64(mdt_authz_pii_mask(p, &c, NOW), 0, "pii_mask");
        expect_i64(mdt_authz_next_change(p, &c, NOW), 0, "next_change");
        expect_bool(mdt_authz_pii_write(p, &c, MDT_PII_IDENTITY), false, "pii_write");
        expect_bool(mdt_authz_consent_record(p, &c, 1), false, "consent_record");
        expect_bool(mdt_authz_case_create(p), false, "case_create");
        expect_bool(mdt_authz_case_update_lead_fields(p, &c), false, "lead_fields");
        expect_bool(mdt_authz_entry_create(p, &c, false), false, "entry_create");
        expect_bool(mdt_authz_entry_retract(p, &c, &it), false, "entry_retract");
        expect_bool(mdt_authz_action_update(p, &c, &it, p->user_id), false, "action_update");
        expect_bool(mdt_authz_action_assign(p, &c, 0), false, "action_assign");
        expect_bool(mdt_authz_meeting_run(p), false, "meeting_run");
        expect_bool(mdt_authz_meeting_facilitate(p, p->user_id), false, "facilitate");
        expect_bool(mdt_authz_meeting_visible(p, p->agency_id, &p->agency_id, 1, 3), false,
                    "meeting_visible");
        expect_bool(mdt_authz_meeting_attend(p, p->user_id, p->user_id), false, "attend");
        expect_bool(mdt_authz_admin(p), false, "admin");
        expect_bool(mdt_authz_audit_read(p, &c), false, "audit");
        expect_bool(mdt_authz_reports(p), false, "reports");
        expect_bool(mdt_authz_account_changes(p), false, "account_changes");
    }
    /* NULLs everywhere. */
    CHECK(!mdt_authz_case_visible(NULL, &c));
    CHECK(!mdt_authz_case_visible(&good, NULL));
    CHECK(!mdt_authz_item_visible(&good, &c, NULL));
    CHECK(!mdt_authz_item_visible(&good, NULL, &it));
    CHECK(!mdt_authz_entry_edit(&good, &c, NULL));
    CHECK(!mdt_authz_action_retract(&good, &c, NULL, 1));
    CHECK_EQ_INT(mdt_authz_pii_mask(&good, NULL, NOW), 0);
    CHECK_EQ_INT(mdt_authz_next_change(NULL, &c, NOW), 0);
    CHECK(!mdt_authz_case_create(NULL));
    CHECK(!mdt_authz_admin(NULL));
    CHECK(!mdt_authz_meeting_visible(NULL, 1, NULL, 0, 1));
    CHECK(!mdt_authz_meeting_attend(NULL, 1, 1));
    CHECK(!mdt_authz_audit_read(NULL, NULL));
    CHECK(!mdt_authz_audit_read(&good, NULL)); /* the whole log: admins only */
    /* Arrays NULL with counts: nothing in them. */
    mdt_case_ctx_t hollow = world_case();
    hollow.agencies = NULL;
    CHECK(!mdt_authz_case_visible(&good, &hollow));
    mdt_case_ctx_t no_consents = world_case();
    no_consents.n_consents = 3;
    mdt_principal_t dcf = principal(M, MDT_KIND_CHILD_WELFARE, true, AG_CW, 9);
    CHECK_EQ_INT(mdt_authz_pii_mask(&dcf, &no_consents, NOW), 0);
    CHECK_EQ_INT(mdt_authz_next_change(&dcf, &no_consents, NOW), 0);
    mdt_item_ctx_t vt_null = {MDT_VIS_AGENCIES, uid(AG_CW, 1), AG_CW, NULL, 2, 0, 0};
    mdt_principal_t legal = principal(M, MDT_KIND_IMMIGRATION_LEGAL, true, AG_IMM, 9);
    CHECK(!mdt_authz_item_visible(&legal, &c, &vt_null));
    /* Categories out of range. */
    CHECK(!mdt_authz_pii_visible(&good, &c, MDT_PII_COUNT, NOW));
    CHECK(!mdt_authz_pii_visible(&good, &c, (mdt_pii_cat_t)-1, NOW));
    CHECK(!mdt_authz_pii_write(&good, &c, MDT_PII_COUNT));
    /* Owner 0 (unset) matches no one; a lead off the list has no lead powers. */
    c.pii_owner[MDT_PII_IDENTITY] = 0;
    CHECK(!mdt_authz_pii_write(&good, &c, MDT_PII_IDENTITY));
    c.lead_agency_id = AG_OFF;
    mdt_principal_t off_sup = principal(S, MDT_KIND_OTHER, true, AG_OFF, 9);
    CHECK(!mdt_authz_case_update_lead_fields(&off_sup, &c));
    CHECK(!mdt_authz_audit_read(&off_sup, &c));
}

static void scenario_lead_supervisor_limits(void)
{
    mdt_case_ctx_t c = world_case();
    mdt_principal_t lead_sup = principal(S, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
    mdt_item_ctx_t hidden = {MDT_VIS_AGENCY, uid(AG_CW, 1), AG_CW, NULL, 0, 0, 0};
    mdt_item_ctx_t shown = {MDT_VIS_MDT, uid(AG_CW, 1), AG_CW, NULL, 0, 0, 0};
    CHECK(!mdt_authz_entry_retract(&lead_sup, &c, &hidden)); /* cannot retract what it can't see */
    CHECK(mdt_authz_entry_retract(&lead_sup, &c, &shown));
    CHECK(!mdt_authz_entry_edit(&lead_sup, &c, &shown)); /* nobody edits another's words */
    CHECK(!mdt_authz_item_history_visible(&lead_sup, &c, &shown));
    CHECK(mdt_authz_audit_read(&lead_sup, &c));
    c.lead_agency_id = AG_CW; /* lead handed over: powers go with it */
    CHECK(!mdt_authz_case_update_lead_fields(&lead_sup, &c));
    CHECK(!mdt_authz_audit_read(&lead_sup, &c));
    CHECK(!mdt_authz_entry_retract(&lead_sup, &c, &shown));
}

static void scenario_consent_across_owners(void)
{
    mdt_case_ctx_t c = world_case();
    mdt_principal_t police = principal(M, MDT_KIND_LAW_ENFORCEMENT, true, AG_LEAD, 9);
    mdt_principal_t legal = principal(I, MDT_KIND_IMMIGRATION_LEGAL, true, AG_IMM, 9);
    unsigned id_contact = MDT_PII_BIT(MDT_PII_IDENTITY) | MDT_PII_BIT(MDT_PII_CONTACT);
    unsigned id_imm = MDT_PII_BIT(MDT_PII_IDENTITY) | MDT_PII_BIT(MDT_PII_IMMIGRATION);
    CHECK(mdt_authz_consent_record(&police, &c, id_contact));
    CHECK(!mdt_authz_consent_record(&police, &c, id_imm)); /* must own every category */
    CHECK(!mdt_authz_consent_record(&legal, &c, id_imm));
    CHECK(mdt_authz_consent_revoke(&legal, &c, MDT_PII_BIT(MDT_PII_IMMIGRATION)));
    CHECK(!mdt_authz_consent_record(&police, &c, 0));
    CHECK(!mdt_authz_consent_record(&police, &c, id_contact | 0x100u));
    /* Overlapping consents: the later one keeps the category visible. */
    mdt_consent_ref_t ks[] = {
        {AG_LEAD, MDT_PII_BIT(MDT_PII_HEALTH), NOW + 10, false},
        {AG_LEAD, MDT_PII_BIT(MDT_PII_HEALTH) | MDT_PII_BIT(MDT_PII_IMMIGRATION), NOW + 20, false},
    };
    c.consents = ks;
    c.n_consents = 2;
    CHECK_EQ_INT(mdt_authz_pii_mask(&police, &c, NOW), MDT_PII_ALL);
    CHECK_EQ_INT(mdt_authz_next_change(&police, &c, NOW), NOW + 20);
    CHECK_EQ_INT(mdt_authz_pii_mask(&police, &c, NOW + 20), id_contact);
}

/* ======================================================================
 * Names and defaults.
 * ====================================================================== */

static void test_names(void)
{
    static const char *const roles[] = {"member", "interviewer", "supervisor", "admin"};
    static const char *const kinds[] = {
        "cac",           "child_welfare",   "law_enforcement",   "prosecution", "medical",
        "mental_health", "victim_advocacy", "immigration_legal", "other"};
    static const char *const vis[] = {"mdt", "agencies", "agency"};
    static const char *const cats[] = {"identity", "contact", "immigration", "health"};
    for (int i = 0; i < MDT_ROLE_COUNT; i++) {
        mdt_role_t r = MDT_ROLE_COUNT;
        CHECK_EQ_INT(mdt_authz_role_parse(roles[i], &r), 0);
        CHECK_EQ_INT(r, i);
        CHECK_EQ_STR(mdt_authz_role_name((mdt_role_t)i), roles[i]);
    }
    for (int i = 0; i < MDT_KIND_COUNT; i++) {
        mdt_agency_kind_t k = MDT_KIND_COUNT;
        CHECK_EQ_INT(mdt_authz_agency_kind_parse(kinds[i], &k), 0);
        CHECK_EQ_INT(k, i);
        CHECK_EQ_STR(mdt_authz_agency_kind_name((mdt_agency_kind_t)i), kinds[i]);
    }
    for (int i = 0; i < MDT_VIS_COUNT; i++) {
        mdt_visibility_t v = MDT_VIS_COUNT;
        CHECK_EQ_INT(mdt_authz_visibility_parse(vis[i], &v), 0);
        CHECK_EQ_INT(v, i);
        CHECK_EQ_STR(mdt_authz_visibility_name((mdt_visibility_t)i), vis[i]);
    }
    for (int i = 0; i < MDT_PII_COUNT; i++) {
        mdt_pii_cat_t c = MDT_PII_COUNT;
        CHECK_EQ_INT(mdt_authz_pii_cat_parse(cats[i], &c), 0);
        CHECK_EQ_INT(c, i);
        CHECK_EQ_STR(mdt_authz_pii_cat_name((mdt_pii_cat_t)i), cats[i]);
    }
    static const char *const junk[] = {"",         "Admin",          "admin ",
                                       " member",  "agencie",        "MDT",
                                       "language", "lawenforcement", "immigration-legal",
                                       "superv",   "identity\n"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        mdt_role_t r = MDT_ROLE_MEMBER;
        CHECK_EQ_INT(mdt_authz_role_parse(junk[i], &r), -1);
        CHECK_EQ_INT(r, MDT_ROLE_MEMBER); /* untouched on failure */
        CHECK_EQ_INT(mdt_authz_agency_kind_parse(junk[i], NULL), -1);
        CHECK_EQ_INT(mdt_authz_visibility_parse(junk[i], NULL), -1);
        CHECK_EQ_INT(mdt_authz_pii_cat_parse(junk[i], NULL), -1);
    }
    CHECK_EQ_INT(mdt_authz_role_parse(NULL, NULL), -1);
    CHECK_EQ_INT(mdt_authz_agency_kind_parse(NULL, NULL), -1);
    CHECK_EQ_INT(mdt_authz_visibility_parse(NULL, NULL), -1);
    CHECK_EQ_INT(mdt_authz_pii_cat_parse(NULL, NULL), -1);
    CHECK_EQ_INT(mdt_authz_role_parse("admin", NULL), 0);
    CHECK(mdt_authz_role_name(MDT_ROLE_COUNT) == NULL);
    CHECK(mdt_authz_role_name((mdt_role_t)-1) == NULL);
    CHECK(mdt_authz_agency_kind_name(MDT_KIND_COUNT) == NULL);
    CHECK(mdt_authz_visibility_name(MDT_VIS_COUNT) == NULL);
    CHECK(mdt_authz_pii_cat_name(MDT_PII_COUNT) == NULL);
    CHECK(mdt_authz_pii_cat_name((mdt_pii_cat_t)-3) == NULL);
    CHECK_EQ_INT(MDT_PII_ALL, 15);
}

static void test_default_owners(void)
{
    static const struct {
        const char *name;
        int64_t lead;
        size_t n;
        int64_t ids[5];
        mdt_agency_kind_t kinds[5];
        int64_t want[4]; /* identity, contact, immigration, health */
    } rows[] = {
        {"police-led, legal aid and hospital",
         1,
         4,
         {1, 2, 3, 4},
         {MDT_KIND_LAW_ENFORCEMENT, MDT_KIND_CHILD_WELFARE, MDT_KIND_IMMIGRATION_LEGAL,
          MDT_KIND_MEDICAL},
         {1, 1, 3, 4}},
        {"no such agencies: all lead",
         7,
         2,
         {7, 8},
         {MDT_KIND_CAC, MDT_KIND_PROSECUTION},
         {7, 7, 7, 7}},
        {"first of two legal-aid agencies",
         1,
         3,
         {1, 9, 6},
         {MDT_KIND_CAC, MDT_KIND_IMMIGRATION_LEGAL, MDT_KIND_IMMIGRATION_LEGAL},
         {1, 1, 9, 1}},
        {"lead of the kind wins over an earlier one",
         6,
         3,
         {4, 5, 6},
         {MDT_KIND_MEDICAL, MDT_KIND_CAC, MDT_KIND_MEDICAL},
         {6, 6, 6, 6}},
        {"bad ids and kinds skipped",
         1,
         4,
         {1, 0, -3, 8},
         {MDT_KIND_CAC, MDT_KIND_MEDICAL, MDT_KIND_IMMIGRATION_LEGAL, (mdt_agency_kind_t)99},
         {1, 1, 1, 1}},
        {"empty list", 2, 0, {0}, {MDT_KIND_CAC}, {2, 2, 2, 2}},
        {"mental health is not medical",
         1,
         2,
         {1, 5},
         {MDT_KIND_CAC, MDT_KIND_MENTAL_HEALTH},
         {1, 1, 1, 1}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t out[MDT_PII_COUNT] = {-9, -9, -9, -9};
        mdt_authz_default_pii_owners(rows[i].lead, rows[i].ids, rows[i].kinds, rows[i].n, out);
        for (int cat = 0; cat < 4; cat++) {
            if (out[cat] != rows[i].want[cat]) {
                fprintf(stderr, "default owners '%s' cat %d: %" PRId64 " != %" PRId64 "\n",
                        rows[i].name, cat, out[cat], rows[i].want[cat]);
            }
            CHECK_EQ_INT(out[cat], rows[i].want[cat]);
        }
    }
    int64_t out[MDT_PII_COUNT];
    mdt_authz_default_pii_owners(3, NULL, NULL, 5, out);
    CHECK(out[0] == 3 && out[1] == 3 && out[2] == 3 && out[3] == 3);
    mdt_authz_default_pii_owners(3, NULL, NULL, 0, NULL); /* no crash */
}

int main(void)
{
    test_names();
    test_default_owners();
    test_item_table();
    test_case_table();
    test_pii_table();
    sweep_items();
    sweep_case_level();
    sweep_pii();
    test_random_worlds();
    scenario_police_never_sees_immigration_without_consent();
    scenario_expired_and_revoked();
    scenario_consent_document();
    scenario_admin();
    scenario_assignee_agency_sees_agency_item();
    scenario_interviews_and_assignment();
    scenario_history_and_names();
    scenario_meeting_agenda();
    scenario_inactive_and_malformed();
    scenario_lead_supervisor_limits();
    scenario_consent_across_owners();
    printf("authz: %ld combinations, %ld decisions compared with independent answers\n", n_combos,
           n_decisions);
    return check_done();
}
