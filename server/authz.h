/* authz.h - the one authorization predicate: "may principal P do or see X of
 * case C now".
 *
 * Every REST handler, list and count, search, meeting agenda, minutes,
 * export, report, replayed event and live WebSocket event asks this module
 * and nothing else. It is pure: no I/O, no globals, no allocation, no clock
 * (the caller passes `now`), safe from any thread. Its inputs are plain
 * structs the DB layer fills; it never keeps a pointer after returning.
 *
 * Every decision is deny-by-default and fails closed: a NULL or malformed
 * input (inactive principal, role or kind out of range, id <= 0, NULL array
 * with a non-zero count, visibility or category out of range) yields false,
 * 0 or an empty mask. The rules and every judgment call are written out in
 * docs/authorization.md; tests/unit/test_authz.c checks them exhaustively. */
#ifndef MDT_AUTHZ_H
#define MDT_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MDT_ROLE_MEMBER,
    MDT_ROLE_INTERVIEWER,
    MDT_ROLE_SUPERVISOR,
    MDT_ROLE_ADMIN,
    MDT_ROLE_COUNT
} mdt_role_t;

typedef enum {
    MDT_KIND_CAC,
    MDT_KIND_CHILD_WELFARE,
    MDT_KIND_LAW_ENFORCEMENT,
    MDT_KIND_PROSECUTION,
    MDT_KIND_MEDICAL,
    MDT_KIND_MENTAL_HEALTH,
    MDT_KIND_VICTIM_ADVOCACY,
    MDT_KIND_IMMIGRATION_LEGAL,
    MDT_KIND_OTHER,
    MDT_KIND_COUNT
} mdt_agency_kind_t;

typedef enum { MDT_VIS_MDT, MDT_VIS_AGENCIES, MDT_VIS_AGENCY, MDT_VIS_COUNT } mdt_visibility_t;

/* Protected PII categories. Sets of them are bit masks: 1u << cat. */
typedef enum {
    MDT_PII_IDENTITY,
    MDT_PII_CONTACT,
    MDT_PII_IMMIGRATION,
    MDT_PII_HEALTH,
    MDT_PII_COUNT
} mdt_pii_cat_t;

#define MDT_PII_BIT(cat) (1u << (unsigned)(cat))
#define MDT_PII_ALL      ((1u << MDT_PII_COUNT) - 1u)

/* The caller: the session's user, as loaded now (role and active re-read
 * whenever they change). */
typedef struct {
    int64_t user_id;
    int64_t agency_id;
    mdt_agency_kind_t agency_kind;
    mdt_role_t role;
    bool active;
} mdt_principal_t;

/* One consent: lets agency_id see `categories` (a mask) until expires_at
 * (unix seconds, exclusive: at expires_at == now it no longer applies)
 * unless revoked. */
typedef struct {
    int64_t agency_id;
    unsigned categories;
    int64_t expires_at;
    bool revoked;
} mdt_consent_ref_t;

/* A case as authorization needs it. `agencies` is the whole of
 * case.agencies (the lead included): membership is decided by it alone.
 * pii_owner[cat] is case.pii_owners (0 = no owner). `consents` are the
 * case's consents, any state (revoked and expired ones may be included). */
typedef struct {
    int64_t case_id;
    int64_t lead_agency_id;
    const int64_t *agencies;
    size_t n_agencies;
    int64_t pii_owner[MDT_PII_COUNT];
    const mdt_consent_ref_t *consents;
    size_t n_consents;
} mdt_case_ctx_t;

/* An entry, action item or service. For entries and services the two
 * assignee fields are 0. The DB layer keeps assignee_user_id a user of
 * assignee_agency_id. */
typedef struct {
    mdt_visibility_t visibility;
    int64_t author_user_id;
    int64_t author_agency_id;
    const int64_t *visible_to;
    size_t n_visible_to;
    int64_t assignee_agency_id; /* action items: always sees it; 0 = none */
    int64_t assignee_user_id;   /* action items; 0 = none */
} mdt_item_ctx_t;

/* ---- names <-> enums (the contract's spellings, exact and case-sensitive).
 * *_parse: 0 and *out set (out may be NULL to only validate), or -1 for NULL,
 * unknown or differently-cased text. *_name: a static string, or NULL for a
 * value out of range. */
int mdt_authz_role_parse(const char *s, mdt_role_t *out);
const char *mdt_authz_role_name(mdt_role_t role);
int mdt_authz_agency_kind_parse(const char *s, mdt_agency_kind_t *out);
const char *mdt_authz_agency_kind_name(mdt_agency_kind_t kind);
int mdt_authz_visibility_parse(const char *s, mdt_visibility_t *out);
const char *mdt_authz_visibility_name(mdt_visibility_t vis);
int mdt_authz_pii_cat_parse(const char *s, mdt_pii_cat_t *out);
const char *mdt_authz_pii_cat_name(mdt_pii_cat_t cat);

/* ---- seeing ------------------------------------------------------------ */

/* P's agency is in case.agencies (admins included: they then act as members). */
bool mdt_authz_case_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c);

/* Case member, and: mdt → yes; agencies → P's agency is in visible_to or is
 * the author's; agency → P's agency is the author's. Also yes when P's agency
 * is the item's assignee agency. An unknown visibility: no one. */
bool mdt_authz_item_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                            const mdt_item_ctx_t *it);

/* Earlier versions and the body of a retracted entry: the author's agency
 * only (it must see the case and the item). */
bool mdt_authz_item_history_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                                    const mdt_item_ctx_t *it);

/* A document that a consent points to (an attachment linked to it): what
 * mdt_authz_item_visible allows, except that the consent's recipient agency
 * (unless it authored the document) sees it only while the consent is in
 * force: not revoked and expires_at > now. A revocation or expiry hides it
 * from the recipient at that instant; other agencies are not affected.
 * consent NULL (not linked): mdt_authz_item_visible alone. */
bool mdt_authz_document_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                                const mdt_item_ctx_t *it, const mdt_consent_ref_t *consent,
                                int64_t now);

/* Case member, and P's agency owns cat or holds a consent covering cat that
 * is not revoked and has expires_at > now. */
bool mdt_authz_pii_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c, mdt_pii_cat_t cat,
                           int64_t now);

/* The categories mdt_authz_pii_visible allows, as a mask (one pass). */
unsigned mdt_authz_pii_mask(const mdt_principal_t *p, const mdt_case_ctx_t *c, int64_t now);

/* Consent.consented_by[].name: shown exactly when identity is visible. */
bool mdt_authz_consent_names_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                                     int64_t now);

/* The first instant t > now at which P's PII mask for this case changes by
 * itself (a consent it relies on runs out), or 0 if none. Exact: a consent
 * that expires while another one still covers the same categories, or that
 * covers only categories P owns, is not a change. Arm a timer for it and
 * re-filter when it fires. */
int64_t mdt_authz_next_change(const mdt_principal_t *p, const mdt_case_ctx_t *c, int64_t now);

/* ---- the grouping key -------------------------------------------------- */

/* The key by which principals see the same thing. Two principals with equal
 * keys get the same answer from every "seeing" decision above and from
 * mdt_authz_meeting_visible, for any case, item, consent and time: so what
 * is rendered for one of them may be sent to all of them (the hub renders
 * each event once per key). Today the key is the agency; every principal
 * mdt_authz denies everything (inactive, malformed) has the key {0}. A rule
 * that makes seeing depend on more (role, user) must add that to the key:
 * tests/unit/test_authz_key.c enumerates principals and fails otherwise. */
typedef struct {
    int64_t agency_id; /* 0: sees nothing */
} mdt_view_key_t;

mdt_view_key_t mdt_authz_view_key(const mdt_principal_t *p);
bool mdt_authz_view_key_eq(mdt_view_key_t a, mdt_view_key_t b);

/* ---- writing case content ---------------------------------------------- */

/* A non-admin user of the agency that owns cat (any of member, interviewer,
 * supervisor), on the case. */
bool mdt_authz_pii_write(const mdt_principal_t *p, const mdt_case_ctx_t *c, mdt_pii_cat_t cat);

/* A non-admin user, on the case, of the owner agency of every category in
 * mask. An empty mask or one with bits outside MDT_PII_ALL: no. The handler
 * still validates the consent's target agency (on the case, not the owner). */
bool mdt_authz_consent_record(const mdt_principal_t *p, const mdt_case_ctx_t *c, unsigned mask);
bool mdt_authz_consent_revoke(const mdt_principal_t *p, const mdt_case_ctx_t *c, unsigned mask);

/* A supervisor (role supervisor; admins never). */
bool mdt_authz_case_create(const mdt_principal_t *p);

/* status, agencies, lead_agency_id, pii_owners: a supervisor of the lead
 * agency, which must also be in case.agencies. */
bool mdt_authz_case_update_lead_fields(const mdt_principal_t *p, const mdt_case_ctx_t *c);

/* Setting or clearing a case's legal hold (docs/retention.md): a
 * supervisor of the lead agency, as for the lead fields. */
bool mdt_authz_case_legal_hold(const mdt_principal_t *p, const mdt_case_ctx_t *c);

/* alias, municipality, related_case_ids, and the unprotected PII `language`,
 * tracking and services: any case member. */
bool mdt_authz_case_update_member_fields(const mdt_principal_t *p, const mdt_case_ctx_t *c);

/* Case member; an interview entry only by role interviewer (not supervisors,
 * not admins). */
bool mdt_authz_entry_create(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                            bool kind_is_interview);

/* The author only (same user and agency), still seeing the entry. */
bool mdt_authz_entry_edit(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                          const mdt_item_ctx_t *it);

/* Seeing the entry, and: its author, a supervisor of the author's agency or
 * a supervisor of the lead agency. */
bool mdt_authz_entry_retract(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                             const mdt_item_ctx_t *it);

/* Seeing the item, and: the assignee user, a supervisor of the assignee
 * agency, the creator, or a supervisor of the lead agency. For update only,
 * when no user is assigned, any user of the assignee agency counts as the
 * assignee. A change of assignee must also pass mdt_authz_action_assign for
 * the new assignee agency. creator_user_id 0 = unknown (matches no one). */
bool mdt_authz_action_update(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                             const mdt_item_ctx_t *it, int64_t creator_user_id);
bool mdt_authz_action_retract(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                              const mdt_item_ctx_t *it, int64_t creator_user_id);

/* May P (a case member) make assignee_agency_id the assignee agency of an
 * action item? 0 (unassigned): any member. Otherwise the agency must be on
 * the case, and P a supervisor (role supervisor, any agency on the case) or
 * a user of that very agency. The handler checks that an assignee user
 * belongs to the assignee agency. */
bool mdt_authz_action_assign(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                             int64_t assignee_agency_id);

/* ---- not tied to one case ---------------------------------------------- */

/* Create meetings (the creator becomes facilitator): a supervisor. */
bool mdt_authz_meeting_run(const mdt_principal_t *p);

/* Change a meeting (status, pointer, agenda, facilitator): its facilitator,
 * whatever the role. */
bool mdt_authz_meeting_facilitate(const mdt_principal_t *p, int64_t facilitator_user_id);

/* Record a case's outcome in a meeting: its facilitator, who must also see
 * that case (an outcome is case content). */
bool mdt_authz_meeting_outcome(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                               int64_t facilitator_user_id);

/* See a meeting (its title, time, status, attendees, and its agenda filtered
 * case by case): P's agency is the meeting's agency or the agency of one of
 * its attendees (attendee_agencies, n of them), or P may see at least one
 * case of its agenda (agenda_seen: how many of the agenda's cases
 * mdt_authz_case_visible allows P; the caller asks it case by case). */
bool mdt_authz_meeting_visible(const mdt_principal_t *p, int64_t meeting_agency_id,
                               const int64_t *attendee_agencies, size_t n, size_t agenda_seen);

/* Mark attendance at a meeting P may see: P itself, whatever the role; any
 * other user only when P is the meeting's facilitator. */
bool mdt_authz_meeting_attend(const mdt_principal_t *p, int64_t facilitator_user_id,
                              int64_t attendee_user_id);

/* Users, agencies, MFA/password resets, /metrics: an admin. */
bool mdt_authz_admin(const mdt_principal_t *p);

/* Audit rows. c NULL (the whole log, or a row with no case): admin only.
 * With a case: an admin, or a supervisor of the case's lead agency (on the
 * case). */
bool mdt_authz_audit_read(const mdt_principal_t *p, const mdt_case_ctx_t *c);

/* NCA/TIMS reports and the agency's action-item dashboard: a supervisor. */
bool mdt_authz_reports(const mdt_principal_t *p);

/* GET /account-changes (its own agency's): a supervisor. */
bool mdt_authz_account_changes(const mdt_principal_t *p);

/* ---- defaults ------------------------------------------------------------ */

/* The default case.pii_owners for a case whose agencies[i] has kind kinds[i]
 * (n of each): immigration → an immigration_legal agency, health → a medical
 * agency, every other category and any category without such an agency →
 * lead. When the lead itself is of the kind it wins; otherwise the first one
 * in the given order. Entries with an id <= 0 or a kind out of range are
 * skipped. */
void mdt_authz_default_pii_owners(int64_t lead_agency_id, const int64_t *agencies,
                                  const mdt_agency_kind_t *kinds, size_t n,
                                  int64_t out[MDT_PII_COUNT]);

#endif
