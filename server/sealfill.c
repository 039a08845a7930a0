/* sealfill.c - sealing plain-text rows in batches (see sealfill.h).
 *
 * Each spec's select statement returns, per row: the object id its values
 * are bound to, the case id (0: the installation's key), the PII category
 * (or ''), the nkeys columns that name the row for the update, then one
 * column per field. Its update statement takes the keys as $1..$nkeys and
 * the (sealed) fields after them. */
#include "sealfill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealed.h"

#define BATCH      200
#define MAX_FIELDS 4

/* A plain value: present, not blank (mdt_sealed_blank) and not sealed. */
#define PLAIN(col)                                                                                 \
    "(" col " IS NOT NULL AND " col " ~ '[^[:space:]]' AND " col " NOT LIKE 'mdtenc1:%')"

typedef struct {
    const char *table;  /* for progress lines */
    const char *object; /* the sealed values' object type */
    const char *fields[MAX_FIELDS];
    int nfields, nkeys;
    const char *select; /* at most BATCH rows, FOR UPDATE SKIP LOCKED */
    const char *count;  /* how many rows still hold a plain value */
    const char *update;
} fill_t;

#define ENTRY_COND                                                                                 \
    PLAIN("body_md") " OR " PLAIN("body_html") " OR " PLAIN("interview->>'recording_ref'")
#define VERSION_COND                                                                               \
    PLAIN("v.body_md") " OR " PLAIN("v.body_html") " OR " PLAIN("v.interview->>'recording_ref'")
/* An interview's recording_ref is sealed inside its jsonb ($n NULL: none). */
#define SET_REF(n)                                                                                 \
    "interview = CASE WHEN $" n "::text IS NULL THEN interview ELSE"                               \
    " jsonb_set(interview, '{recording_ref}', to_jsonb($" n "::text)) END"
#define SERVICE_COND PLAIN("service") " OR " PLAIN("note")
#define CONSENT_COND                                                                               \
    "jsonb_typeof(consented_by) <> 'string' OR " PLAIN("purpose") " OR " PLAIN(                    \
        "document_ref") " OR " PLAIN("note")
#define ACTION_COND PLAIN("title") " OR " PLAIN("details_md") " OR " PLAIN("details_html")
#define ACTION_VERSION_COND                                                                        \
    PLAIN("v.data->>'title'")                                                                      \
    " OR " PLAIN("v.data->>'details_md'") " OR " PLAIN("v.data->>'details_html'")
#define OUTCOME_COND PLAIN("outcome_md") " OR " PLAIN("outcome_html")
#define PII_COND     "category <> 'language' AND jsonb_typeof(data) <> 'string'"
#define USER_COND    PLAIN("mfa_secret") " OR " PLAIN("mfa_pending_secret")
#define LIMIT_LOCK   " LIMIT 200 FOR UPDATE SKIP LOCKED"

static const fill_t FILLS[] = {
    /* An interview's recording_ref is sealed inside its interview jsonb. */
    {"entries",
     "entry",
     {"body_md", "body_html", "recording_ref"},
     3,
     1,
     "SELECT id, case_id, '', id::text AS k1, body_md, body_html, interview->>'recording_ref'"
     " FROM entries WHERE " ENTRY_COND " ORDER BY id" LIMIT_LOCK,
     "SELECT count(*) FROM entries WHERE " ENTRY_COND,
     "UPDATE entries SET body_md = $2, body_html = $3, " SET_REF("4") " WHERE id = $1::bigint"},
    {"entry_versions",
     "entry",
     {"body_md", "body_html", "recording_ref"},
     3,
     2,
     "SELECT v.entry_id, e.case_id, '', v.entry_id::text AS k1, v.version::text AS k2, v.body_md,"
     " v.body_html, v.interview->>'recording_ref'"
     " FROM entry_versions v JOIN entries e ON e.id = v.entry_id WHERE " VERSION_COND
     " ORDER BY v.entry_id, v.version LIMIT 200 FOR UPDATE OF v SKIP LOCKED",
     "SELECT count(*) FROM entry_versions v WHERE " VERSION_COND,
     "UPDATE entry_versions SET body_md = $3, body_html = $4, " SET_REF(
         "5") " WHERE entry_id = $1::bigint AND version = $2::int"},
    {"services",
     "service",
     {"service", "note"},
     2,
     1,
     "SELECT id, case_id, '', id::text AS k1, service, note FROM services WHERE " SERVICE_COND
     " ORDER BY id" LIMIT_LOCK,
     "SELECT count(*) FROM services WHERE " SERVICE_COND,
     "UPDATE services SET service = $2, note = $3 WHERE id = $1::bigint"},
    {"consents",
     "consent",
     {"consented_by", "purpose", "document_ref", "note"},
     4,
     1,
     "SELECT id, case_id, '', id::text AS k1, consented_by #>> '{}', purpose, document_ref, note"
     " FROM consents WHERE " CONSENT_COND " ORDER BY id" LIMIT_LOCK,
     "SELECT count(*) FROM consents WHERE " CONSENT_COND,
     "UPDATE consents SET consented_by = to_jsonb($2::text), purpose = $3, document_ref = $4,"
     " note = $5 WHERE id = $1::bigint"},
    {"actions",
     "action",
     {"title", "details_md", "details_html"},
     3,
     1,
     "SELECT id, case_id, '', id::text AS k1, title, details_md, details_html FROM actions"
     " WHERE " ACTION_COND " ORDER BY id" LIMIT_LOCK,
     "SELECT count(*) FROM actions WHERE " ACTION_COND,
     "UPDATE actions SET title = $2, details_md = $3, details_html = $4 WHERE id = $1::bigint"},
    /* A version keeps the item as it was (to_jsonb of the row): its text
     * members are sealed where the item's are. */
    {"action_versions",
     "action",
     {"title", "details_md", "details_html"},
     3,
     2,
     "SELECT v.action_id, a.case_id, '', v.action_id::text AS k1, v.version::text AS k2,"
     " v.data->>'title', v.data->>'details_md', v.data->>'details_html'"
     " FROM action_versions v JOIN actions a ON a.id = v.action_id WHERE " ACTION_VERSION_COND
     " ORDER BY v.action_id, v.version LIMIT 200 FOR UPDATE OF v SKIP LOCKED",
     "SELECT count(*) FROM action_versions v WHERE " ACTION_VERSION_COND,
     "UPDATE action_versions SET data = data || jsonb_strip_nulls(jsonb_build_object('title',"
     " $3::text, 'details_md', $4::text, 'details_html', $5::text))"
     " WHERE action_id = $1::bigint AND version = $2::int"},
    /* An outcome lives at (meeting, case); its versions are the same place. */
    {"meeting_cases",
     "outcome",
     {"outcome_md", "outcome_html"},
     2,
     2,
     "SELECT meeting_id, case_id, '', meeting_id::text AS k1, case_id::text AS k2, outcome_md,"
     " outcome_html FROM meeting_cases WHERE " OUTCOME_COND
     " ORDER BY meeting_id, case_id" LIMIT_LOCK,
     "SELECT count(*) FROM meeting_cases WHERE " OUTCOME_COND,
     "UPDATE meeting_cases SET outcome_md = $3, outcome_html = $4"
     " WHERE meeting_id = $1::bigint AND case_id = $2::bigint"},
    {"meeting_outcome_versions",
     "outcome",
     {"outcome_md", "outcome_html"},
     2,
     3,
     "SELECT meeting_id, case_id, '', meeting_id::text AS k1, case_id::text AS k2,"
     " version::text AS k3, outcome_md, outcome_html FROM meeting_outcome_versions"
     " WHERE " OUTCOME_COND " ORDER BY meeting_id, case_id, version" LIMIT_LOCK,
     "SELECT count(*) FROM meeting_outcome_versions WHERE " OUTCOME_COND,
     "UPDATE meeting_outcome_versions SET outcome_md = $4, outcome_html = $5"
     " WHERE meeting_id = $1::bigint AND case_id = $2::bigint AND version = $3::int"},
    {"meeting_minutes_corrections",
     "outcome",
     {"correction_reason"},
     1,
     2,
     "SELECT meeting_id, case_id, '', meeting_id::text AS k1, version::text AS k2, reason"
     " FROM meeting_minutes_corrections WHERE " PLAIN(
         "reason") " ORDER BY meeting_id, version" LIMIT_LOCK,
     "SELECT count(*) FROM meeting_minutes_corrections WHERE " PLAIN("reason"),
     "UPDATE meeting_minutes_corrections SET reason = $3"
     " WHERE meeting_id = $1::bigint AND version = $2::int"},
    {"pii",
     "pii",
     {"data"},
     1,
     2,
     "SELECT case_id, case_id AS c, category, case_id::text AS k1, category AS k2, data #>> '{}' "
     "FROM pii"
     " WHERE " PII_COND " ORDER BY case_id, category" LIMIT_LOCK,
     "SELECT count(*) FROM pii WHERE " PII_COND,
     "UPDATE pii SET data = to_jsonb($3::text) WHERE case_id = $1::bigint AND category = $2"},
    {"pii_versions",
     "pii",
     {"data"},
     1,
     3,
     "SELECT case_id, case_id AS c, category, case_id::text AS k1, category AS k2, version::text "
     "AS k3, data #>> '{}'"
     " FROM pii_versions WHERE " PII_COND " ORDER BY case_id, category, version" LIMIT_LOCK,
     "SELECT count(*) FROM pii_versions WHERE " PII_COND,
     "UPDATE pii_versions SET data = to_jsonb($4::text)"
     " WHERE case_id = $1::bigint AND category = $2 AND version = $3::int"},
    /* A pending secret is sealed where it will live once confirmed. */
    {"users",
     "user",
     {"mfa_secret", "mfa_secret"},
     2,
     1,
     "SELECT id, 0, '', id::text AS k1, mfa_secret, mfa_pending_secret FROM users WHERE " USER_COND
     " ORDER BY id" LIMIT_LOCK,
     "SELECT count(*) FROM users WHERE " USER_COND,
     "UPDATE users SET mfa_secret = $2, mfa_pending_secret = $3 WHERE id = $1::bigint"},
};
#define N_FILLS (sizeof(FILLS) / sizeof(FILLS[0]))

/* Seals the plain fields of row i of r and writes them back. */
static int fill_row(mdt_dbc_t *c, const fill_t *f, const PGresult *r, int i)
{
    mdt_sealed_hold_t hold = {0};
    mdt_db_params_t p;
    int rc = MDT_DB_OK, first = 3 + f->nkeys;
    mdt_db_params_init(&p);
    for (int k = 0; k < f->nkeys; k++)
        mdt_db_param_str(&p, mdt_db_str(r, i, 3 + k));
    for (int k = 0; rc == MDT_DB_OK && k < f->nfields; k++) {
        const char *v = mdt_db_str(r, i, first + k), *out = v;
        mdt_seal_where_t w = {f->object, f->fields[k], mdt_db_int(r, i, 0), mdt_db_int(r, i, 1),
                              mdt_db_str(r, i, 2)};
        if (v && !mdt_seal_is_sealed(v) && !mdt_sealed_blank(v))
            rc = mdt_sealed_put(c, &hold, &w, v, &out);
        mdt_db_param_str(&p, out);
    }
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c, f->update, &p);
    mdt_sealed_hold_free(&hold);
    return rc;
}

/* One batch of f in its own transaction: *n gets the rows sealed. */
static int fill_batch(mdt_dbc_t *c, const fill_t *f, int *n)
{
    PGresult *r = NULL;
    int rc = mdt_db_begin(c, NULL);
    *n = 0;
    if (rc != MDT_DB_OK)
        return rc;
    if (!(r = mdt_db_query(c, f->select, NULL)))
        rc = c->status;
    for (int i = 0; rc == MDT_DB_OK && i < PQntuples(r); i++)
        rc = fill_row(c, f, r, i);
    if (rc == MDT_DB_OK)
        *n = PQntuples(r);
    PQclear(r);
    if (rc == MDT_DB_OK)
        rc = mdt_db_commit(c);
    else
        mdt_db_rollback(c);
    return rc;
}

/* The rows of f that hold a plain value, into *n. */
static int fill_count(mdt_dbc_t *c, const fill_t *f, int64_t *n)
{
    PGresult *r = mdt_db_query(c, f->count, NULL);
    if (!r)
        return c->status;
    *n = mdt_db_int(r, 0, 0);
    PQclear(r);
    return MDT_DB_OK;
}

int mdt_sealfill_run(mdt_dbc_t *c, mdt_sealfill_progress_fn progress, void *ud, int64_t *sealed)
{
    *sealed = 0;
    for (size_t t = 0; t < N_FILLS; t++) {
        int64_t done = 0, todo = 0;
        int n = BATCH, rc = fill_count(c, &FILLS[t], &todo);
        if (rc != MDT_DB_OK)
            return rc;
        /* Rows written meanwhile by an older node are left for the next run:
         * never more batches than there were rows to seal. */
        for (int64_t batches = todo / BATCH + 1; n == BATCH && batches > 0; batches--) {
            rc = fill_batch(c, &FILLS[t], &n);
            if (rc != MDT_DB_OK)
                return rc;
            done += n;
            *sealed += n;
            if (n > 0 && progress)
                progress(FILLS[t].table, done, ud);
        }
    }
    return MDT_DB_OK;
}

int mdt_sealfill_count(mdt_dbc_t *c, int64_t *plain)
{
    *plain = 0;
    for (size_t t = 0; t < N_FILLS; t++) {
        int64_t n = 0;
        int rc = fill_count(c, &FILLS[t], &n);
        if (rc != MDT_DB_OK)
            return rc;
        *plain += n;
    }
    return MDT_DB_OK;
}
