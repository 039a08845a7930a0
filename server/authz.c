/* authz.c - the one authorization predicate (see authz.h and
 * docs/authorization.md). Pure: no I/O, no globals, no allocation.
 *
 * Each public decision starts from principal_ok()/on_case(), so an inactive
 * or malformed principal and a NULL or malformed case are denied everything.
 * Lists are small (agencies on a case, visible_to, consents): linear scans
 * beat anything cleverer and keep the per-subscriber cost of an event to a
 * few dozen comparisons. */
#include "authz.h"

#include <string.h>

/* ---- names ------------------------------------------------------------- */

static const char *const ROLE_NAMES[MDT_ROLE_COUNT] = {"member", "interviewer", "supervisor",
                                                       "admin"};

static const char *const KIND_NAMES[MDT_KIND_COUNT] = {
    "cac",           "child_welfare",   "law_enforcement",   "prosecution", "medical",
    "mental_health", "victim_advocacy", "immigration_legal", "other"};

static const char *const VIS_NAMES[MDT_VIS_COUNT] = {"mdt", "agencies", "agency"};

static const char *const PII_NAMES[MDT_PII_COUNT] = {"identity", "contact", "immigration",
                                                     "health"};

/* Index of s in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *s)
{
    if (!s) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            return i;
        }
    }
    return -1;
}

int mdt_authz_role_parse(const char *s, mdt_role_t *out)
{
    int i = name_index(ROLE_NAMES, MDT_ROLE_COUNT, s);
    if (i < 0) {
        return -1;
    }
    if (out) {
        *out = (mdt_role_t)i;
    }
    return 0;
}

const char *mdt_authz_role_name(mdt_role_t role)
{
    return (unsigned)role < MDT_ROLE_COUNT ? ROLE_NAMES[role] : NULL;
}

int mdt_authz_agency_kind_parse(const char *s, mdt_agency_kind_t *out)
{
    int i = name_index(KIND_NAMES, MDT_KIND_COUNT, s);
    if (i < 0) {
        return -1;
    }
    if (out) {
        *out = (mdt_agency_kind_t)i;
    }
    return 0;
}

const char *mdt_authz_agency_kind_name(mdt_agency_kind_t kind)
{
    return (unsigned)kind < MDT_KIND_COUNT ? KIND_NAMES[kind] : NULL;
}

int mdt_authz_visibility_parse(const char *s, mdt_visibility_t *out)
{
    int i = name_index(VIS_NAMES, MDT_VIS_COUNT, s);
    if (i < 0) {
        return -1;
    }
    if (out) {
        *out = (mdt_visibility_t)i;
    }
    return 0;
}

const char *mdt_authz_visibility_name(mdt_visibility_t vis)
{
    return (unsigned)vis < MDT_VIS_COUNT ? VIS_NAMES[vis] : NULL;
}

int mdt_authz_pii_cat_parse(const char *s, mdt_pii_cat_t *out)
{
    int i = name_index(PII_NAMES, MDT_PII_COUNT, s);
    if (i < 0) {
        return -1;
    }
    if (out) {
        *out = (mdt_pii_cat_t)i;
    }
    return 0;
}

const char *mdt_authz_pii_cat_name(mdt_pii_cat_t cat)
{
    return (unsigned)cat < MDT_PII_COUNT ? PII_NAMES[cat] : NULL;
}

/* ---- building blocks ----------------------------------------------------- */

/* An active principal with every field in range. */
static bool principal_ok(const mdt_principal_t *p)
{
    return p && p->active && p->user_id > 0 && p->agency_id > 0 &&
           (unsigned)p->role < MDT_ROLE_COUNT && (unsigned)p->agency_kind < MDT_KIND_COUNT;
}

/* id (> 0) is one of ids[0..n); a NULL array holds nothing. */
static bool has_id(const int64_t *ids, size_t n, int64_t id)
{
    if (!ids || id <= 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

/* The gate of every case decision: a valid principal whose agency is on c. */
static bool on_case(const mdt_principal_t *p, const mdt_case_ctx_t *c)
{
    return principal_ok(p) && c && has_id(c->agencies, c->n_agencies, p->agency_id);
}

static bool is_supervisor(const mdt_principal_t *p)
{
    return principal_ok(p) && p->role == MDT_ROLE_SUPERVISOR;
}

/* A supervisor of the lead agency, on the case. */
static bool lead_supervisor(const mdt_principal_t *p, const mdt_case_ctx_t *c)
{
    return on_case(p, c) && p->role == MDT_ROLE_SUPERVISOR && p->agency_id == c->lead_agency_id;
}

/* Union of the categories that live consents for agency give at now. */
static unsigned consented_mask(const mdt_case_ctx_t *c, int64_t agency, int64_t now)
{
    unsigned mask = 0;
    if (!c->consents) {
        return 0;
    }
    for (size_t i = 0; i < c->n_consents; i++) {
        const mdt_consent_ref_t *k = &c->consents[i];
        if (k->agency_id == agency && !k->revoked && k->expires_at > now) {
            mask |= k->categories;
        }
    }
    return mask & MDT_PII_ALL;
}

/* The categories agency owns on c. */
static unsigned owned_mask(const mdt_case_ctx_t *c, int64_t agency)
{
    unsigned mask = 0;
    for (unsigned cat = 0; cat < MDT_PII_COUNT; cat++) {
        if (c->pii_owner[cat] == agency) {
            mask |= MDT_PII_BIT(cat);
        }
    }
    return mask;
}

/* ---- seeing ------------------------------------------------------------ */

bool mdt_authz_case_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c)
{
    return on_case(p, c);
}

bool mdt_authz_item_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                            const mdt_item_ctx_t *it)
{
    if (!it || !on_case(p, c)) {
        return false;
    }
    int64_t a = p->agency_id;
    switch (it->visibility) {
    case MDT_VIS_MDT:
        return true;
    case MDT_VIS_AGENCIES:
        if (a == it->author_agency_id || has_id(it->visible_to, it->n_visible_to, a)) {
            return true;
        }
        break;
    case MDT_VIS_AGENCY:
        if (a == it->author_agency_id) {
            return true;
        }
        break;
    default:
        return false; /* unknown visibility: fail closed for everyone */
    }
    return it->assignee_agency_id == a; /* a > 0, so 0 (none) never matches */
}

bool mdt_authz_item_history_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                                    const mdt_item_ctx_t *it)
{
    return mdt_authz_item_visible(p, c, it) && p->agency_id == it->author_agency_id;
}

bool mdt_authz_document_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                                const mdt_item_ctx_t *it, const mdt_consent_ref_t *consent,
                                int64_t now)
{
    if (!mdt_authz_item_visible(p, c, it)) {
        return false;
    }
    if (!consent || p->agency_id != consent->agency_id || p->agency_id == it->author_agency_id) {
        return true;
    }
    return !consent->revoked && consent->expires_at > now;
}

bool mdt_authz_pii_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c, mdt_pii_cat_t cat,
                           int64_t now)
{
    if ((unsigned)cat >= MDT_PII_COUNT || !on_case(p, c)) {
        return false;
    }
    if (c->pii_owner[cat] == p->agency_id) {
        return true;
    }
    return (consented_mask(c, p->agency_id, now) & MDT_PII_BIT(cat)) != 0;
}

unsigned mdt_authz_pii_mask(const mdt_principal_t *p, const mdt_case_ctx_t *c, int64_t now)
{
    if (!on_case(p, c)) {
        return 0;
    }
    return owned_mask(c, p->agency_id) | consented_mask(c, p->agency_id, now);
}

bool mdt_authz_consent_names_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c, int64_t now)
{
    return mdt_authz_pii_visible(p, c, MDT_PII_IDENTITY, now);
}

/* For each category P sees only by consent, it stops seeing it when the last
 * live consent covering it expires; the answer is the earliest such end. */
int64_t mdt_authz_next_change(const mdt_principal_t *p, const mdt_case_ctx_t *c, int64_t now)
{
    if (!on_case(p, c) || !c->consents) {
        return 0;
    }
    unsigned owned = owned_mask(c, p->agency_id);
    int64_t end[MDT_PII_COUNT] = {0};
    for (size_t i = 0; i < c->n_consents; i++) {
        const mdt_consent_ref_t *k = &c->consents[i];
        if (k->agency_id != p->agency_id || k->revoked || k->expires_at <= now) {
            continue;
        }
        for (unsigned cat = 0; cat < MDT_PII_COUNT; cat++) {
            if ((k->categories & MDT_PII_BIT(cat)) && k->expires_at > end[cat]) {
                end[cat] = k->expires_at;
            }
        }
    }
    int64_t best = 0;
    for (unsigned cat = 0; cat < MDT_PII_COUNT; cat++) {
        if (!(owned & MDT_PII_BIT(cat)) && end[cat] && (best == 0 || end[cat] < best)) {
            best = end[cat];
        }
    }
    return best;
}

/* ---- the grouping key -------------------------------------------------- */

mdt_view_key_t mdt_authz_view_key(const mdt_principal_t *p)
{
    mdt_view_key_t k = {.agency_id = principal_ok(p) ? p->agency_id : 0};
    return k;
}

bool mdt_authz_view_key_eq(mdt_view_key_t a, mdt_view_key_t b)
{
    return a.agency_id == b.agency_id;
}

/* ---- writing case content ---------------------------------------------- */

bool mdt_authz_pii_write(const mdt_principal_t *p, const mdt_case_ctx_t *c, mdt_pii_cat_t cat)
{
    return (unsigned)cat < MDT_PII_COUNT && on_case(p, c) && p->role != MDT_ROLE_ADMIN &&
           c->pii_owner[cat] == p->agency_id;
}

/* Recording and revoking share one rule: the owner of every listed category. */
static bool owns_all(const mdt_principal_t *p, const mdt_case_ctx_t *c, unsigned mask)
{
    if (mask == 0 || (mask & ~MDT_PII_ALL) || !on_case(p, c) || p->role == MDT_ROLE_ADMIN) {
        return false;
    }
    return (mask & ~owned_mask(c, p->agency_id)) == 0;
}

bool mdt_authz_consent_record(const mdt_principal_t *p, const mdt_case_ctx_t *c, unsigned mask)
{
    return owns_all(p, c, mask);
}

bool mdt_authz_consent_revoke(const mdt_principal_t *p, const mdt_case_ctx_t *c, unsigned mask)
{
    return owns_all(p, c, mask);
}

bool mdt_authz_case_create(const mdt_principal_t *p)
{
    return is_supervisor(p);
}

bool mdt_authz_case_update_lead_fields(const mdt_principal_t *p, const mdt_case_ctx_t *c)
{
    return lead_supervisor(p, c);
}

bool mdt_authz_case_legal_hold(const mdt_principal_t *p, const mdt_case_ctx_t *c)
{
    return lead_supervisor(p, c);
}

bool mdt_authz_case_update_member_fields(const mdt_principal_t *p, const mdt_case_ctx_t *c)
{
    return on_case(p, c);
}

bool mdt_authz_entry_create(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                            bool kind_is_interview)
{
    if (!on_case(p, c)) {
        return false;
    }
    return !kind_is_interview || p->role == MDT_ROLE_INTERVIEWER;
}

bool mdt_authz_entry_edit(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                          const mdt_item_ctx_t *it)
{
    return mdt_authz_item_visible(p, c, it) && p->user_id == it->author_user_id &&
           p->agency_id == it->author_agency_id;
}

bool mdt_authz_entry_retract(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                             const mdt_item_ctx_t *it)
{
    if (!mdt_authz_item_visible(p, c, it)) {
        return false;
    }
    if (p->user_id == it->author_user_id && p->agency_id == it->author_agency_id) {
        return true;
    }
    if (p->role != MDT_ROLE_SUPERVISOR) {
        return false;
    }
    return p->agency_id == it->author_agency_id || p->agency_id == c->lead_agency_id;
}

/* The part of the action rule shared by update and retract. */
static bool action_common(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                          const mdt_item_ctx_t *it, int64_t creator_user_id)
{
    if (p->user_id == it->assignee_user_id || p->user_id == creator_user_id) {
        return true; /* p->user_id > 0, so 0 (none/unknown) never matches */
    }
    if (p->role != MDT_ROLE_SUPERVISOR) {
        return false;
    }
    return p->agency_id == it->assignee_agency_id || p->agency_id == c->lead_agency_id;
}

bool mdt_authz_action_update(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                             const mdt_item_ctx_t *it, int64_t creator_user_id)
{
    if (!mdt_authz_item_visible(p, c, it)) {
        return false;
    }
    if (it->assignee_user_id == 0 && p->agency_id == it->assignee_agency_id) {
        return true; /* assigned to the agency, not yet to a person */
    }
    return action_common(p, c, it, creator_user_id);
}

bool mdt_authz_action_retract(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                              const mdt_item_ctx_t *it, int64_t creator_user_id)
{
    return mdt_authz_item_visible(p, c, it) && action_common(p, c, it, creator_user_id);
}

bool mdt_authz_action_assign(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                             int64_t assignee_agency_id)
{
    if (!on_case(p, c)) {
        return false;
    }
    if (assignee_agency_id == 0) {
        return true;
    }
    if (!has_id(c->agencies, c->n_agencies, assignee_agency_id)) {
        return false;
    }
    return p->role == MDT_ROLE_SUPERVISOR || assignee_agency_id == p->agency_id;
}

/* ---- not tied to one case ---------------------------------------------- */

bool mdt_authz_meeting_run(const mdt_principal_t *p)
{
    return is_supervisor(p);
}

bool mdt_authz_meeting_facilitate(const mdt_principal_t *p, int64_t facilitator_user_id)
{
    return principal_ok(p) && p->user_id == facilitator_user_id;
}

bool mdt_authz_meeting_outcome(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                               int64_t facilitator_user_id)
{
    return mdt_authz_meeting_facilitate(p, facilitator_user_id) && on_case(p, c);
}

bool mdt_authz_meeting_visible(const mdt_principal_t *p, int64_t meeting_agency_id,
                               const int64_t *attendee_agencies, size_t n, size_t agenda_seen)
{
    if (!principal_ok(p)) {
        return false;
    }
    return agenda_seen > 0 || p->agency_id == meeting_agency_id ||
           has_id(attendee_agencies, n, p->agency_id);
}

bool mdt_authz_meeting_attend(const mdt_principal_t *p, int64_t facilitator_user_id,
                              int64_t attendee_user_id)
{
    if (!principal_ok(p) || attendee_user_id <= 0) {
        return false;
    }
    return attendee_user_id == p->user_id || mdt_authz_meeting_facilitate(p, facilitator_user_id);
}

bool mdt_authz_admin(const mdt_principal_t *p)
{
    return principal_ok(p) && p->role == MDT_ROLE_ADMIN;
}

bool mdt_authz_audit_read(const mdt_principal_t *p, const mdt_case_ctx_t *c)
{
    if (mdt_authz_admin(p)) {
        return true;
    }
    return c != NULL && lead_supervisor(p, c);
}

bool mdt_authz_reports(const mdt_principal_t *p)
{
    return is_supervisor(p);
}

bool mdt_authz_account_changes(const mdt_principal_t *p)
{
    return is_supervisor(p);
}

/* ---- defaults ------------------------------------------------------------ */

/* The lead if it has that kind, else the first agency of that kind, else the
 * lead. */
static int64_t owner_of_kind(int64_t lead, const int64_t *agencies, const mdt_agency_kind_t *kinds,
                             size_t n, mdt_agency_kind_t kind)
{
    int64_t first = 0;
    if (!agencies || !kinds) {
        return lead;
    }
    for (size_t i = 0; i < n; i++) {
        if (agencies[i] <= 0 || kinds[i] != kind) {
            continue;
        }
        if (agencies[i] == lead) {
            return lead;
        }
        if (first == 0) {
            first = agencies[i];
        }
    }
    return first ? first : lead;
}

void mdt_authz_default_pii_owners(int64_t lead_agency_id, const int64_t *agencies,
                                  const mdt_agency_kind_t *kinds, size_t n,
                                  int64_t out[MDT_PII_COUNT])
{
    if (!out) {
        return;
    }
    for (unsigned cat = 0; cat < MDT_PII_COUNT; cat++) {
        out[cat] = lead_agency_id;
    }
    out[MDT_PII_IMMIGRATION] =
        owner_of_kind(lead_agency_id, agencies, kinds, n, MDT_KIND_IMMIGRATION_LEGAL);
    out[MDT_PII_HEALTH] = owner_of_kind(lead_agency_id, agencies, kinds, n, MDT_KIND_MEDICAL);
}
