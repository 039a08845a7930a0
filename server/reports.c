/* reports.c - the NCA and TIMS reports (see reports.h, docs/reports.md).
 *
 * One REPEATABLE READ transaction per report. Which cases, services and
 * action items count is decided by the authorization module, never in SQL:
 * the case set of the caller's agency (caseset.h, each case kept only
 * when mdt_authz_case_visible says so) and, within it, the services dated
 * in the range and the action items due in it that the view filter
 * shows the caller. Their ids are handed to one aggregate statement per
 * report that counts from cases, tracking, services, actions, meetings and
 * meeting_cases. Each row it answers is (group, item, count); this module
 * lays them out in the report's fixed groups, applies small-cell
 * suppression per group (mdt_reports_suppress, a pure function) and writes
 * JSON or CSV. The two immigration facts (foreign_born,
 * unaccompanied_minor) are the one exception to "counted in SQL": of the
 * report's population (NCA: new cases; TIMS: clients) only the cases whose
 * immigration category the predicate lets the caller's agency see now are
 * read (pii.c opens that one category on this database thread), counted
 * here in C, and suppressed like the rest; each case read is audited as a
 * pii.read. No other protected detail is read. */
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "csv.h"
#include "caseset.h"
#include "ctx.h"
#include "json.h"
#include "log.h"
#include "pii.h"
#include "runner.h"
#include "session.h"

/* ---- suppression (pure) ----------------------------------------------------- */

/* Could the hidden cells be recovered from their sum (total minus the
 * shown cells)? One cell: yes. Several: when they are all small (1 to
 * below - 1: otherwise the values that sum forces are not theirs) and the
 * sum forces them all to the same end of that range. */
static int recoverable(const int64_t *counts, size_t n, int64_t below, const unsigned char *hide)
{
    int64_t k = 0, sum = 0;
    int all_small = 1;
    for (size_t i = 0; i < n; i++) {
        if (hide[i]) {
            k++;
            sum += counts[i];
            all_small &= counts[i] >= 1 && counts[i] < below;
        }
    }
    return k == 1 || (k > 1 && all_small && (sum == k || sum == k * (below - 1)));
}

/* The shown cell to hide next: smallest non-zero, else smallest zero;
 * lowest index among equals. n when none is left. */
static size_t next_smallest(const int64_t *counts, size_t n, const unsigned char *hide)
{
    size_t best = n;
    for (size_t i = 0; i < n; i++) {
        if (hide[i])
            continue;
        if (best == n || (counts[i] != 0 && counts[best] == 0) ||
            ((counts[i] != 0) == (counts[best] != 0) && counts[i] < counts[best]))
            best = i;
    }
    return best;
}

size_t mdt_reports_suppress(const int64_t *counts, size_t n, int64_t below, int complement,
                            unsigned char *hide)
{
    size_t hidden = 0;
    for (size_t i = 0; i < n; i++) {
        hide[i] = below >= 2 && counts[i] >= 1 && counts[i] < below;
        hidden += hide[i];
    }
    while (complement && hidden && recoverable(counts, n, below, hide)) {
        size_t i = next_smallest(counts, n, hide);
        if (i == n)
            break;
        hide[i] = 1;
        hidden++;
    }
    return hidden;
}

int mdt_reports_parse_month(const char *s, int *months)
{
    if (!s || strlen(s) != 7 || s[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++) {
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    int year = atoi(s), month = atoi(s + 5);
    if (year < 1900 || month < 1 || month > 12)
        return -1;
    *months = year * 12 + month - 1;
    return 0;
}

int64_t mdt_reports_threshold(const char *v)
{
    if (!v || !*v)
        return MDT_REPORTS_SUPPRESS_DEFAULT;
    char *end;
    long long t = strtoll(v, &end, 10);
    if (*end || v[0] < '0' || v[0] > '9' || t < 2 || t > 1000)
        return MDT_REPORTS_SUPPRESS_DEFAULT;
    return t;
}

/* ---- the groups of each report ------------------------------------------------ */

/* Only a group whose cells add up to a published total gets complementary
 * suppression, and only while that total is shown: with no total, or a
 * suppressed one, no hidden cell can be derived from the others. */
enum {
    G_TOTAL = 1 << 0,        /* the cells add up to a published total */
    G_NOT_RECORDED = 1 << 1, /* a NULL item is counted as not_recorded */
};

typedef struct {
    const char *name;
    const char *of;          /* what is counted */
    const char *const *keys; /* fixed items in order; NULL: items from the data */
    unsigned flags;
} group_spec_t;

#define NR (G_TOTAL | G_NOT_RECORDED)

static const char *const K_CASES[] = {"new", "total", NULL};
static const char *const K_ABUSE[] = {
    "sex_trafficking", "labor_trafficking",   "sexual_abuse", "physical_abuse",
    "neglect",         "exploitation_online", "other",        NULL};
static const char *const K_TRAFFICKING[] = {"sex", "labor", "both", "unknown", "none", NULL};
static const char *const K_TIMS_TRAFFICKING[] = {"sex", "labor", "both", "unknown", NULL};
static const char *const K_GENDER[] = {"female", "male", "nonbinary", "unknown", NULL};
static const char *const K_AGE[] = {"0-5", "6-12", "13-17", "18+", NULL};
static const char *const K_MINOR[] = {"minor", "adult", NULL};
static const char *const K_REVIEWS[] = {"held_in_range", "cases_reviewed_in_range", NULL};
static const char *const K_PER_CASE[] = {"0", "1", "2", "3+", NULL};
static const char *const K_ACTIONS[] = {"completed_on_time", "completed_late", "not_completed",
                                        "cancelled", NULL};
static const char *const K_BOOL[] = {"true", "false", NULL};
static const char *const K_DISPOSITION[] = {"pending",   "no_charges", "plea",    "convicted",
                                            "acquitted", "dismissed",  "unknown", NULL};
static const char *const K_CP[] = {"pending",     "in_home_services", "out_of_home_placement",
                                   "case_closed", "not_investigated", "unknown",
                                   NULL};
static const char *const K_REFERRAL[] = {"not_needed", "referred", "engaged",
                                         "completed",  "declined", NULL};
static const char *const K_SERVICES[] = {"information_referral",
                                         "personal_advocacy",
                                         "emotional_support_safety",
                                         "shelter_housing",
                                         "criminal_civil_justice",
                                         "immigration_legal",
                                         "medical",
                                         "mental_health",
                                         NULL};
static const char *const K_CLIENTS[] = {"new", "continuing", NULL};

static const group_spec_t NCA_GROUPS[] = {
    {"cases", "cases referred in the range (new) and up to its end (total)", K_CASES, 0},
    {"abuse_type", "new cases (a case counts once per type)", K_ABUSE, G_NOT_RECORDED},
    {"trafficking_type", "new cases", K_TRAFFICKING, NR},
    {"child_gender", "new cases", K_GENDER, NR},
    {"age_group", "new cases (age at referral; 18+ = adult)", K_AGE, NR},
    {"municipality", "new cases", NULL, NR},
    {"reviews", "meeting outcomes recorded for the agency's cases in meetings in the range",
     K_REVIEWS, 0},
    {"reviews_per_case", "new cases, by MDT reviews held so far", K_PER_CASE, G_TOTAL},
    {"action_items", "action items due in the range", K_ACTIONS, G_TOTAL},
    {"charges_filed", "new cases", K_BOOL, NR},
    {"criminal_disposition", "new cases", K_DISPOSITION, NR},
    {"child_protection_outcome", "new cases", K_CP, NR},
    {"medical_referral", "new cases", K_REFERRAL, NR},
    {"mental_health_referral", "new cases", K_REFERRAL, NR},
    {"services_by_category", "services dated in the range", K_SERVICES, G_TOTAL},
    {NULL, NULL, NULL, 0},
};

static const group_spec_t TIMS_GROUPS[] = {
    {"clients", "clients served in the range (new: referred in the range)", K_CLIENTS, G_TOTAL},
    {"minor_adult", "clients served (age at referral)", K_MINOR, NR},
    {"trafficking_type", "clients served", K_TIMS_TRAFFICKING, NR},
    {"child_gender", "clients served", K_GENDER, NR},
    {"clients_by_service_category", "clients served (a client counts once per category)",
     K_SERVICES, 0},
    {"services_by_category", "services to clients served, dated in the range", K_SERVICES, G_TOTAL},
    {NULL, NULL, NULL, 0},
};

/* The immigration facts, over the report's population as far as the
 * caller may see its immigration details (pii.h's flag order). */
static const group_spec_t NCA_IMMIGRATION[MDT_PII_IMMIGRATION_FLAGS] = {
    {"foreign_born", "new cases whose immigration details the agency may see now", K_BOOL, NR},
    {"unaccompanied_minor", "new cases whose immigration details the agency may see now", K_BOOL,
     NR},
};
static const group_spec_t TIMS_IMMIGRATION[MDT_PII_IMMIGRATION_FLAGS] = {
    {"foreign_born", "clients served whose immigration details the agency may see now", K_BOOL, NR},
    {"unaccompanied_minor", "clients served whose immigration details the agency may see now",
     K_BOOL, NR},
};

/* ---- SQL ------------------------------------------------------------------------ */

/* $1 the case set's ids, $2 first day, $3 the day after the last: the
 * services (dashboard item columns) dated in the range. */
static const char SERVICES_SQL[] =
    "SELECT s.id, s.case_id, s.visibility, s.agency_id, s.created_by, s.visible_to::text, 0, 0"
    " FROM services s WHERE s.case_id = ANY($1::bigint[])"
    " AND s.date >= $2::date AND s.date < $3::date";

/* The same for action items due in the range (not retracted). */
static const char ACTIONS_SQL[] =
    "SELECT a.id, a.case_id, a.visibility, a.agency_id, a.created_by, a.visible_to::text,"
    " a.assignee_agency_id, coalesce(a.assignee_id, 0)"
    " FROM actions a WHERE a.case_id = ANY($1::bigint[]) AND a.retracted_at IS NULL"
    " AND a.due_date >= $2::date AND a.due_date < $3::date";

/* The population of each report, as the ids of its cases (the immigration
 * facts are counted over them): NCA's new cases ($1 case ids, $2 first day,
 * $3 the day after the last), TIMS's clients ($1 case ids, $2 visible
 * service ids dated in the range). The report statements below count the
 * same cases with the same conditions. */
#define TIMS_CLIENT_WHERE                                                                          \
    " WHERE c.id = ANY($1::bigint[]) AND c.id IN (SELECT s.case_id FROM services s"                \
    "  WHERE s.id = ANY($2::bigint[]))"                                                            \
    " AND (t.data ->> 'trafficking_type') IS DISTINCT FROM 'none'"
static const char NCA_POPULATION_SQL[] = "SELECT c.id FROM cases c WHERE c.id = ANY($1::bigint[])"
                                         " AND c.referral_date >= $2::date"
                                         " AND c.referral_date < $3::date";
static const char TIMS_POPULATION_SQL[] =
    "SELECT c.id FROM cases c LEFT JOIN tracking t ON t.case_id = c.id" TIMS_CLIENT_WHERE;

/* NCA: $1 case ids, $2 visible service ids, $3 visible action ids, $4 first
 * day, $5 the day after the last, $6 the time zone (meeting dates). */
static const char NCA_SQL[] =
    "WITH c AS (SELECT c.id, c.referral_date, nullif(btrim(c.municipality), '') AS muni, t.data"
    "  FROM cases c LEFT JOIN tracking t ON t.case_id = c.id"
    "  WHERE c.id = ANY($1::bigint[]) AND c.referral_date < $5::date),"
    " n AS (SELECT * FROM c WHERE c.referral_date >= $4::date),"
    " rv AS (SELECT mc.case_id, (m.scheduled_at AT TIME ZONE $6)::date AS d"
    "  FROM meeting_cases mc JOIN meetings m ON m.id = mc.meeting_id"
    "  WHERE mc.case_id = ANY($1::bigint[]) AND btrim(mc.outcome_md) <> '')"
    " SELECT 'cases', 'new', count(*) FROM n"
    " UNION ALL SELECT 'cases', 'total', count(*) FROM c"
    " UNION ALL SELECT 'abuse_type', a.v, count(*) FROM n LEFT JOIN LATERAL"
    "  jsonb_array_elements_text(CASE WHEN jsonb_typeof(n.data -> 'abuse_types') = 'array'"
    "  THEN n.data -> 'abuse_types' ELSE '[]'::jsonb END) a(v) ON true GROUP BY a.v"
    " UNION ALL SELECT 'trafficking_type', n.data ->> 'trafficking_type', count(*) FROM n"
    "  GROUP BY 2"
    " UNION ALL SELECT 'child_gender', n.data #>> '{child,gender}', count(*) FROM n GROUP BY 2"
    " UNION ALL SELECT 'age_group', n.data #>> '{child,age_group}', count(*) FROM n GROUP BY 2"
    " UNION ALL SELECT 'municipality', min(n.muni), count(*) FROM n GROUP BY lower(n.muni)"
    " UNION ALL SELECT 'reviews', 'held_in_range', count(*) FROM rv"
    "  WHERE rv.d >= $4::date AND rv.d < $5::date"
    " UNION ALL SELECT 'reviews', 'cases_reviewed_in_range', count(DISTINCT rv.case_id) FROM rv"
    "  WHERE rv.d >= $4::date AND rv.d < $5::date"
    " UNION ALL SELECT 'reviews_per_case', CASE WHEN x.k >= 3 THEN '3+' ELSE x.k::text END,"
    "  count(*) FROM (SELECT (SELECT count(*) FROM rv WHERE rv.case_id = n.id) AS k FROM n) x"
    "  GROUP BY 2"
    " UNION ALL SELECT 'action_items', CASE WHEN a.status = 'done' AND a.completed_at IS NOT NULL"
    "  AND (a.completed_at AT TIME ZONE $6)::date <= a.due_date THEN 'completed_on_time'"
    "  WHEN a.status = 'done' THEN 'completed_late' WHEN a.status = 'cancelled' THEN 'cancelled'"
    "  ELSE 'not_completed' END, count(*) FROM actions a WHERE a.id = ANY($3::bigint[]) GROUP BY 2"
    " UNION ALL SELECT 'charges_filed', n.data #>> '{outcomes,charges_filed}', count(*) FROM n"
    "  GROUP BY 2"
    " UNION ALL SELECT 'criminal_disposition', n.data #>> '{outcomes,criminal_disposition}',"
    "  count(*) FROM n GROUP BY 2"
    " UNION ALL SELECT 'child_protection_outcome',"
    "  n.data #>> '{outcomes,child_protection_outcome}', count(*) FROM n GROUP BY 2"
    " UNION ALL SELECT 'medical_referral', n.data #>> '{outcomes,medical_referral}', count(*)"
    "  FROM n GROUP BY 2"
    " UNION ALL SELECT 'mental_health_referral', n.data #>> '{outcomes,mental_health_referral}',"
    "  count(*) FROM n GROUP BY 2"
    " UNION ALL SELECT 'services_by_category', s.category, count(*) FROM services s"
    "  WHERE s.id = ANY($2::bigint[]) GROUP BY 2"
    " ORDER BY 1, 2";

/* NCA: the median days from referral to the first meeting that recorded an
 * outcome for the case, over new cases reviewed so far; $1 case ids, $2
 * first day, $3 the day after the last, $4 the time zone. */
static const char NCA_MEDIAN_SQL[] =
    "WITH n AS (SELECT c.id, c.referral_date FROM cases c WHERE c.id = ANY($1::bigint[])"
    "  AND c.referral_date >= $2::date AND c.referral_date < $3::date),"
    " f AS (SELECT n.id, min((m.scheduled_at AT TIME ZONE $4)::date) - n.referral_date AS days"
    "  FROM n JOIN meeting_cases mc ON mc.case_id = n.id AND btrim(mc.outcome_md) <> ''"
    "  JOIN meetings m ON m.id = mc.meeting_id GROUP BY n.id, n.referral_date)"
    " SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f.days)::numeric, 1)"
    " FROM f";

/* TIMS: $1 case ids, $2 visible service ids (dated in the range), $3 first
 * day, $4 the day after the last. Clients: cases with such a service whose
 * trafficking type is not `none`. */
static const char TIMS_SQL[] =
    "WITH sv AS (SELECT s.case_id, s.category FROM services s WHERE s.id = ANY($2::bigint[])),"
    " cl AS (SELECT c.id, c.referral_date, t.data FROM cases c"
    "  LEFT JOIN tracking t ON t.case_id = c.id" TIMS_CLIENT_WHERE "),"
    " s2 AS (SELECT sv.case_id, sv.category FROM sv JOIN cl ON cl.id = sv.case_id)"
    " SELECT 'clients', CASE WHEN cl.referral_date >= $3::date AND cl.referral_date < $4::date"
    "  THEN 'new' ELSE 'continuing' END, count(*) FROM cl GROUP BY 2"
    " UNION ALL SELECT 'minor_adult', CASE WHEN cl.data #>> '{child,age_group}'"
    "  IN ('0-5', '6-12', '13-17') THEN 'minor' WHEN cl.data #>> '{child,age_group}' = '18+'"
    "  THEN 'adult' END, count(*) FROM cl GROUP BY 2"
    " UNION ALL SELECT 'trafficking_type', cl.data ->> 'trafficking_type', count(*) FROM cl"
    "  GROUP BY 2"
    " UNION ALL SELECT 'child_gender', cl.data #>> '{child,gender}', count(*) FROM cl GROUP BY 2"
    " UNION ALL SELECT 'clients_by_service_category', s2.category, count(DISTINCT s2.case_id)"
    "  FROM s2 GROUP BY 2"
    " UNION ALL SELECT 'services_by_category', s2.category, count(*) FROM s2 GROUP BY 2"
    " ORDER BY 1, 2";

/* ---- the request ------------------------------------------------------------------ */

typedef struct {
    mdt_req_t *req;
    mdt_principal_t p;
    mdt_audit_actor_t actor;
    int tims, csv;
    char from[8], to[8];
    char first[24], after[24], last[24]; /* first day, the day after the last, last day */
    int64_t below;
    char marker[24];   /* "<5" */
    int64_t now;       /* the instant consents are judged at (the loop's clock) */
    mdt_idvec_t immig; /* the cases whose immigration details were read */
    json_t *doc;       /* the report as JSON */
    mdt_run_t run;     /* the runner and the answer */
} report_t;

static void report_free(void *arg)
{
    report_t *rp = arg;
    json_decref(rp->doc);
    mdt_idvec_free(&rp->immig);
    mdt_run_free(&rp->run);
    free(rp);
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* from and to (YYYY-MM, from <= to) into the range's days. */
static int report_parse_range(report_t *rp, mdt_err_t *e)
{
    static const char *const names[] = {"from", "to"};
    int m[2];
    for (int i = 0; i < 2; i++) {
        const char *s = mdt_req_query(rp->req, names[i]);
        if (mdt_reports_parse_month(s, &m[i]) != 0) {
            mdt_err_set(e, 422, "validation", names[i], "%s must be a month, YYYY-MM", names[i]);
            return -1;
        }
        snprintf(i ? rp->to : rp->from, sizeof(rp->from), "%s", s);
    }
    if (m[0] > m[1]) {
        mdt_err_set(e, 422, "validation", "to", "to must not be before from");
        return -1;
    }
    int ly = m[1] / 12, lm = m[1] % 12 + 1, ay = (m[1] + 1) / 12, am = (m[1] + 1) % 12 + 1;
    snprintf(rp->first, sizeof(rp->first), "%s-01", rp->from);
    snprintf(rp->last, sizeof(rp->last), "%04d-%02d-%02d", ly, lm, days_in_month(ly, lm));
    snprintf(rp->after, sizeof(rp->after), "%04d-%02d-01", ay, am);
    return 0;
}

static int report_parse(report_t *rp, mdt_err_t *e)
{
    const char *f = mdt_req_query(rp->req, "format");
    if (f && *f && strcmp(f, "json") != 0 && strcmp(f, "csv") != 0) {
        mdt_err_set(e, 422, "validation", "format", "format must be json or csv");
        return -1;
    }
    rp->csv = f && strcmp(f, "csv") == 0;
    return report_parse_range(rp, e);
}

/* ---- building the report ----------------------------------------------------------- */

typedef struct {
    const char *key;
    int64_t n;
} cell_t;

/* Adds n to the cell named key, appending it when new. */
static void cell_add(cell_t *cells, size_t *n, const char *key, int64_t count)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(cells[i].key, key) == 0) {
            cells[i].n += count;
            return;
        }
    }
    cells[(*n)++] = (cell_t){key, count};
}

/* The cells of group g from the (group, item, count) rows: its fixed items
 * first (0 when absent), then items from the data, not_recorded last. */
static size_t group_cells(const group_spec_t *g, const PGresult *r, cell_t *cells)
{
    size_t n = 0;
    for (size_t i = 0; g->keys && g->keys[i]; i++)
        cells[n++] = (cell_t){g->keys[i], 0};
    for (int i = 0; i < PQntuples(r); i++) {
        if (strcmp(mdt_db_str(r, i, 0), g->name) != 0)
            continue;
        const char *key = mdt_db_str(r, i, 1);
        if (!key && !(g->flags & G_NOT_RECORDED))
            continue;
        cell_add(cells, &n, key ? key : "not_recorded", mdt_db_int(r, i, 2));
    }
    if (g->flags & G_NOT_RECORDED)
        cell_add(cells, &n, "not_recorded", 0);
    return n;
}

static json_t *count_json(const report_t *rp, int64_t n, int hide)
{
    return hide ? json_string(rp->marker) : json_integer(n);
}

/* Group g as {of, counts, total?} from its n cells, suppressed. */
static json_t *cells_json(const report_t *rp, const group_spec_t *g, const cell_t *cells, size_t n)
{
    int64_t *counts = calloc(n + 1, sizeof(*counts));
    unsigned char *hide = calloc(n + 1, 1);
    json_t *out = NULL;
    if (counts && hide) {
        int64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += counts[i] = cells[i].n;
        int total_hidden = total >= 1 && total < rp->below;
        mdt_reports_suppress(counts, n, rp->below, (g->flags & G_TOTAL) && !total_hidden, hide);
        json_t *obj = json_object();
        for (size_t i = 0; i < n; i++)
            json_object_set_new(obj, cells[i].key, count_json(rp, counts[i], hide[i]));
        out = json_pack("{s:s, s:o}", "of", g->of, "counts", obj);
        if (g->flags & G_TOTAL)
            json_object_set_new(out, "total", count_json(rp, total, total_hidden));
    }
    free(counts);
    free(hide);
    return out;
}

/* Group g from the (group, item, count) rows of r. */
static json_t *group_json(const report_t *rp, const group_spec_t *g, const PGresult *r)
{
    cell_t *cells = calloc((size_t)PQntuples(r) + 32, sizeof(*cells));
    json_t *out = cells ? cells_json(rp, g, cells, group_cells(g, r, cells)) : NULL;
    free(cells);
    return out;
}

static json_t *report_groups(const report_t *rp, const group_spec_t *specs, const PGresult *r)
{
    json_t *groups = json_object();
    for (const group_spec_t *g = specs; g->name; g++) {
        json_t *j = group_json(rp, g, r);
        if (!j) {
            json_decref(groups);
            return NULL;
        }
        json_object_set_new(groups, g->name, j);
    }
    return groups;
}

/* The report's frame: what, whose, which range, how suppressed. */
static json_t *report_frame(const report_t *rp)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "report",
                     rp->tims ? "tims" : "nca", "agency_id", (json_int_t)rp->p.agency_id, "from",
                     rp->from, "to", rp->to, "first_day", rp->first, "last_day", rp->last,
                     "time_zone", mdt_ctx_time_zone(rp->req), "suppress_below",
                     (json_int_t)rp->below, "suppressed", rp->marker);
}

/* ---- database work ------------------------------------------------------------------ */

/* The ids of the items of sql (SERVICES_SQL, ACTIONS_SQL) p may see, as an
 * int8[] literal in *lit (caller frees). */
static int visible_items(mdt_dbc_t *c, const report_t *rp, const mdt_caseset_t *cs,
                         const char *cases, const char *sql, char **lit)
{
    mdt_idvec_t ids = {0};
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, cases);
    mdt_db_param_str(&q, rp->first);
    mdt_db_param_str(&q, rp->after);
    int rc = mdt_caseset_visible_items(c, cs, &rp->p, sql, &q, &ids);
    if (rc == MDT_DB_OK && !(*lit = mdt_ids_literal(ids.v, ids.n)))
        rc = MDT_DB_ERROR;
    mdt_idvec_free(&ids);
    return rc;
}

/* The median into doc (null when fewer than `below` cases are behind it). */
static int nca_median(mdt_dbc_t *c, const report_t *rp, const char *cases, json_t *doc)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, cases);
    mdt_db_param_str(&q, rp->first);
    mdt_db_param_str(&q, rp->after);
    mdt_db_param_str(&q, mdt_ctx_time_zone(rp->req));
    PGresult *r = mdt_db_query(c, NCA_MEDIAN_SQL, &q);
    if (!r)
        return c->status;
    int64_t n = mdt_db_int(r, 0, 0);
    const char *median = mdt_db_str(r, 0, 1);
    json_object_set_new(doc, "median_days_referral_to_first_review",
                        n >= rp->below && median ? json_real(atof(median)) : json_null());
    PQclear(r);
    return MDT_DB_OK;
}

/* Runs the report's aggregate statement and lays its rows out in doc. */
static int report_figures(mdt_dbc_t *c, report_t *rp, const char *cases, const char *services,
                          const char *actions, json_t *doc)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, cases);
    mdt_db_param_str(&q, services);
    if (!rp->tims)
        mdt_db_param_str(&q, actions);
    mdt_db_param_str(&q, rp->first);
    mdt_db_param_str(&q, rp->after);
    if (!rp->tims)
        mdt_db_param_str(&q, mdt_ctx_time_zone(rp->req));
    PGresult *r = mdt_db_query(c, rp->tims ? TIMS_SQL : NCA_SQL, &q);
    if (!r)
        return c->status;
    json_t *groups = report_groups(rp, rp->tims ? TIMS_GROUPS : NCA_GROUPS, r);
    PQclear(r);
    if (!groups)
        return MDT_DB_ERROR;
    json_object_set_new(doc, "groups", groups);
    return rp->tims ? MDT_DB_OK : nca_median(c, rp, cases, doc);
}

/* The ids of the report's population (NCA_POPULATION_SQL,
 * TIMS_POPULATION_SQL) into out. */
static int population(mdt_dbc_t *c, const report_t *rp, const char *cases, const char *services,
                      mdt_idvec_t *out)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, cases);
    if (rp->tims) {
        mdt_db_param_str(&q, services);
    } else {
        mdt_db_param_str(&q, rp->first);
        mdt_db_param_str(&q, rp->after);
    }
    PGresult *r = mdt_db_query(c, rp->tims ? TIMS_POPULATION_SQL : NCA_POPULATION_SQL, &q);
    if (!r)
        return c->status;
    int rc = MDT_DB_OK;
    for (int i = 0; i < PQntuples(r) && rc == MDT_DB_OK; i++)
        rc = mdt_idvec_push(out, mdt_db_int(r, i, 0)) == 0 ? MDT_DB_OK : MDT_DB_ERROR;
    PQclear(r);
    return rc;
}

/* The immigration groups and their basis into doc from the flags of the
 * n cases read (pii.h's order). */
static int immigration_json(const report_t *rp,
                            const signed char (*flags)[MDT_PII_IMMIGRATION_FLAGS], size_t n,
                            json_t *doc)
{
    const group_spec_t *specs = rp->tims ? TIMS_IMMIGRATION : NCA_IMMIGRATION;
    json_t *groups = json_object_get(doc, "groups");
    for (int f = 0; f < MDT_PII_IMMIGRATION_FLAGS; f++) {
        cell_t cells[] = {{"true", 0}, {"false", 0}, {"not_recorded", 0}};
        for (size_t i = 0; i < n; i++)
            cells[flags[i][f] == 1 ? 0 : flags[i][f] == 0 ? 1 : 2].n++;
        json_t *g = cells_json(rp, &specs[f], cells, 3);
        if (!g || json_object_set_new(groups, specs[f].name, g) != 0)
            return MDT_DB_ERROR;
    }
    int64_t visible = (int64_t)n;
    json_t *basis = json_pack("{s:s, s:o}", "of", specs[0].of, "cases_visible",
                              count_json(rp, visible, visible >= 1 && visible < rp->below));
    return basis && json_object_set_new(doc, "immigration_basis", basis) == 0 ? MDT_DB_OK
                                                                              : MDT_DB_ERROR;
}

/* The immigration facts: of the population, the cases whose immigration
 * category the predicate lets p see now (their ids kept in rp->immig for
 * the audit), read and counted. */
static int report_immigration(mdt_dbc_t *c, report_t *rp, const mdt_caseset_t *cs,
                              const char *cases, const char *services, json_t *doc)
{
    mdt_idvec_t pop = {0};
    signed char(*flags)[MDT_PII_IMMIGRATION_FLAGS] = NULL;
    int rc = population(c, rp, cases, services, &pop);
    if (rc == MDT_DB_OK)
        rc = mdt_caseset_pii_visible(c, cs, &rp->p, MDT_PII_IMMIGRATION, rp->now, pop.v, pop.n,
                                     &rp->immig);
    if (rc == MDT_DB_OK && !(flags = calloc(rp->immig.n + 1, sizeof(*flags))))
        rc = MDT_DB_ERROR;
    if (rc == MDT_DB_OK)
        rc = mdt_pii_immigration_flags(c, rp->immig.v, rp->immig.n, flags);
    if (rc == MDT_DB_OK)
        rc = immigration_json(rp, (const signed char(*)[MDT_PII_IMMIGRATION_FLAGS])flags,
                              rp->immig.n, doc);
    free(flags);
    mdt_idvec_free(&pop);
    return rc;
}

/* Decides what counts (case set, visible services and action items), then
 * counts it. */
static int report_build(mdt_dbc_t *c, report_t *rp, const mdt_caseset_t *cs, json_t *doc)
{
    char *cases = NULL, *services = NULL, *actions = NULL;
    int64_t *ids = calloc(cs->n + 1, sizeof(*ids));
    for (size_t i = 0; ids && i < cs->n; i++)
        ids[i] = cs->v[i].id;
    int rc = ids && (cases = mdt_ids_literal(ids, cs->n)) ? MDT_DB_OK : MDT_DB_ERROR;
    free(ids);
    if (rc == MDT_DB_OK)
        rc = visible_items(c, rp, cs, cases, SERVICES_SQL, &services);
    if (rc == MDT_DB_OK && !rp->tims)
        rc = visible_items(c, rp, cs, cases, ACTIONS_SQL, &actions);
    if (rc == MDT_DB_OK)
        rc = report_figures(c, rp, cases, services, actions, doc);
    if (rc == MDT_DB_OK)
        rc = report_immigration(c, rp, cs, cases, services, doc);
    free(cases);
    free(services);
    free(actions);
    return rc;
}

static int report_work(mdt_dbc_t *c, void *arg)
{
    report_t *rp = arg;
    mdt_caseset_t cs = {0};
    json_t *doc = report_frame(rp);
    int rc = doc ? mdt_caseset_load(c, &rp->p, 0, &cs) : MDT_DB_ERROR;
    if (rc == MDT_DB_OK)
        rc = report_build(c, rp, &cs, doc);
    mdt_caseset_free(&cs);
    if (rc == MDT_DB_OK)
        rp->doc = doc;
    else
        json_decref(doc);
    return rc;
}

/* ---- answering ---------------------------------------------------------------------- */

static void csv_value(mdt_csv_t *w, json_t *v)
{
    if (json_is_integer(v))
        mdt_csv_int(w, (int64_t)json_integer_value(v));
    else if (json_is_string(v))
        mdt_csv_text(w, json_string_value(v));
    else if (json_is_real(v)) {
        char num[32];
        snprintf(num, sizeof(num), "%.1f", json_real_value(v));
        mdt_csv_text(w, num);
    } else
        mdt_csv_text(w, NULL);
}

static void csv_line(mdt_csv_t *w, const char *group, const char *item, json_t *v)
{
    mdt_csv_text(w, group);
    mdt_csv_text(w, item);
    csv_value(w, v);
    mdt_csv_end_row(w);
}

/* The report as rows of (group, item, value): the frame first (group
 * "report"), then every group's items and its total, the median and the
 * figures not available. */
static char *report_csv(json_t *doc, size_t *len)
{
    static const char *const header[] = {"group", "item", "value"};
    static const char *const frame[] = {"report",    "agency_id",      "from",
                                        "to",        "first_day",      "last_day",
                                        "time_zone", "suppress_below", NULL};
    mdt_csv_t w;
    mdt_csv_init(&w);
    mdt_csv_row(&w, header, 3);
    for (size_t i = 0; frame[i]; i++)
        csv_line(&w, "report", frame[i], json_object_get(doc, frame[i]));
    const char *name, *item;
    json_t *g, *v;
    json_object_foreach(json_object_get(doc, "groups"), name, g)
    {
        json_object_foreach(json_object_get(g, "counts"), item, v) csv_line(&w, name, item, v);
        if (json_object_get(g, "total"))
            csv_line(&w, name, "total", json_object_get(g, "total"));
    }
    v = json_object_get(doc, "median_days_referral_to_first_review");
    if (v)
        csv_line(&w, "first_review", "median_days", v);
    v = json_object_get(json_object_get(doc, "immigration_basis"), "cases_visible");
    if (v)
        csv_line(&w, "immigration_basis", "cases_visible", v);
    return mdt_csv_take(&w, len);
}

static void report_answer_csv(report_t *rp)
{
    size_t len;
    char *body = report_csv(rp->doc, &len);
    if (!body) {
        mdt_run_fail(&rp->run, 500, "internal", NULL, "out of memory");
        return;
    }
    char disp[128];
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s-report-%s-to-%s.csv\"",
             rp->tims ? "tims" : "nca", rp->from, rp->to);
    mdt_http_add_header(rp->req, "Content-Disposition", disp);
    rp->run.ans.text = body;
    rp->run.ans.text_len = len;
    rp->run.ans.text_type = "text/csv; charset=utf-8; header=present";
}

/* Loop: one pii.read row per case whose immigration details the report
 * read, as a PII read of that category is audited (no value). */
static void audit_immigration_reads(const report_t *rp)
{
    json_t *detail =
        json_pack("{s:[s], s:s}", "categories", "immigration", "report", rp->tims ? "tims" : "nca");
    for (size_t i = 0; detail && i < rp->immig.n; i++) {
        mdt_audit_rec_t rec = {.action = "pii.read",
                               .object_type = "pii",
                               .object_id = rp->immig.v[i],
                               .case_id = rp->immig.v[i],
                               .detail = detail};
        mdt_audit_read(rp->req->srv, &rp->actor, &rec);
    }
    json_decref(detail);
}

/* Loop, before the runner answers: the read's audit row, then the answer
 * (the report as JSON, or as CSV with its file name). */
static void report_finish(void *arg, int status)
{
    report_t *rp = arg;
    if (status != MDT_DB_OK)
        return;
    json_t *detail = json_pack("{s:s, s:s, s:s, s:s}", "report", rp->tims ? "tims" : "nca", "from",
                               rp->from, "to", rp->to, "format", rp->csv ? "csv" : "json");
    mdt_audit_rec_t rec = {.action = "report.read", .object_type = "report", .detail = detail};
    mdt_audit_read(rp->req->srv, &rp->actor, &rec);
    json_decref(detail);
    audit_immigration_reads(rp);
    if (rp->csv) {
        report_answer_csv(rp);
        return;
    }
    rp->run.ans.result = rp->doc;
    rp->doc = NULL;
}

static void report_start(mdt_req_t *req, int tims)
{
    mdt_principal_t p = mdt_auth_principal(req);
    if (!mdt_authz_reports(&p)) {
        mdt_http_error(req, 403, "forbidden", NULL, "reports are for supervisors");
        return;
    }
    report_t *rp = calloc(1, sizeof(*rp));
    if (!rp) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    req->state = rp;
    req->state_free = report_free;
    rp->req = req;
    rp->p = p;
    rp->tims = tims;
    rp->now = mdt_session_now();
    rp->below = mdt_reports_threshold(getenv("MDT_SUPPRESS_BELOW"));
    snprintf(rp->marker, sizeof(rp->marker), "<%lld", (long long)rp->below);
    mdt_audit_actor_from_req(req, &rp->actor);
    mdt_err_t e = {0};
    if (report_parse(rp, &e) != 0) {
        mdt_http_fail(req, &e);
        return;
    }
    mdt_run_init(&rp->run, req, rp, report_work);
    rp->run.isolation = "repeatable read";
    rp->run.finish = report_finish;
    mdt_run_start(&rp->run);
}

void mdt_reports_nca(mdt_req_t *req)
{
    report_start(req, 0);
}

void mdt_reports_tims(mdt_req_t *req)
{
    report_start(req, 1);
}
