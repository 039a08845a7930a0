/* retention.c - finding the closed cases past retention and purging one
 * (see retention.h): the list of content deletes, the tombstone, the
 * check that no table with a case_id still holds a row of the case, and
 * the audit row and event that end the transaction. */
#include "retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

/* Every table holding the case's content, children before parents; each
 * statement takes the case id as $1. Versions and chunks go with their
 * objects; agenda rows with their outcome versions and corrections. */
static const char *const purge_deletes[] = {
    "DELETE FROM attachment_chunks WHERE attachment_id IN"
    " (SELECT id FROM attachments WHERE case_id = $1)",
    "DELETE FROM attachments WHERE case_id = $1",
    "DELETE FROM entry_versions WHERE entry_id IN (SELECT id FROM entries WHERE case_id = $1)",
    "DELETE FROM entries WHERE case_id = $1",
    "DELETE FROM action_versions WHERE action_id IN (SELECT id FROM actions WHERE case_id = $1)",
    "DELETE FROM actions WHERE case_id = $1",
    "DELETE FROM pii_versions WHERE case_id = $1",
    "DELETE FROM pii WHERE case_id = $1",
    "DELETE FROM consents WHERE case_id = $1",
    "DELETE FROM services WHERE case_id = $1",
    "DELETE FROM tracking WHERE case_id = $1",
    "DELETE FROM meeting_minutes_corrections WHERE case_id = $1",
    "DELETE FROM meeting_outcome_versions WHERE case_id = $1",
    "DELETE FROM meeting_cases WHERE case_id = $1",
    "DELETE FROM notifications WHERE case_id = $1",
    /* stored first answers of idempotent creates under the case (idem.c
     * keys them by "POST <path>"): they hold what was written */
    "DELETE FROM idempotency WHERE route LIKE 'POST /api/v1/cases/' || $1::bigint || '/%'",
    /* the crypto-shred: without its key no sealed value of the case opens,
     * in this database or in any copy of it */
    "DELETE FROM data_keys WHERE owner = $1 AND owner > 0",
    "UPDATE cases SET alias = '', municipality = NULL, review_every_weeks = NULL,"
    " purged_at = now(), version = version + 1, updated_at = now() WHERE id = $1",
    NULL,
};

/* The retention window as SQL parameters $1 (months) and $2 (days). */
static void retention_params(mdt_db_params_t *q, const mdt_retention_t *ret)
{
    mdt_db_param_int(q, ret->months);
    mdt_db_param_int(q, ret->days);
}

#define RETENTION_DUE                                                                              \
    "c.status = 'closed' AND c.purged_at IS NULL AND c.closed_at IS NOT NULL"                      \
    " AND c.closed_at + make_interval(months => $1::int, days => $2::int) <= now()"

static void candidate_fill(const PGresult *r, int i, mdt_retention_case_t *k)
{
    k->id = mdt_db_int(r, i, 0);
    snprintf(k->number, sizeof(k->number), "%s", mdt_db_str(r, i, 1));
    snprintf(k->closed, sizeof(k->closed), "%s", mdt_db_str(r, i, 2));
    k->hold = mdt_db_bool(r, i, 3);
    const char *by = mdt_db_str(r, i, 4), *on = mdt_db_str(r, i, 5);
    snprintf(k->hold_by, sizeof(k->hold_by), "%s", by ? by : "unknown");
    snprintf(k->hold_on, sizeof(k->hold_on), "%s", on ? on : "");
}

int mdt_retention_candidates(mdt_dbc_t *c, const mdt_retention_t *ret, const char *time_zone,
                             mdt_retention_case_t **out, int *n)
{
    *out = NULL;
    *n = 0;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    retention_params(&q, ret);
    mdt_db_param_str(&q, time_zone);
    PGresult *r = mdt_db_query(
        c,
        "SELECT c.id, c.case_number, to_char(c.closed_at AT TIME ZONE $3, 'YYYY-MM-DD'),"
        " c.legal_hold, u.display_name, to_char(c.legal_hold_set_at AT TIME ZONE $3, 'YYYY-MM-DD')"
        " FROM cases c LEFT JOIN users u ON u.id = c.legal_hold_set_by"
        " WHERE " RETENTION_DUE " ORDER BY c.closed_at, c.id",
        &q);
    if (!r)
        return c->status;
    int rows = PQntuples(r);
    *out = calloc((size_t)rows + 1, sizeof(**out));
    if (!*out) {
        PQclear(r);
        return MDT_DB_ERROR;
    }
    for (int i = 0; i < rows; i++)
        candidate_fill(r, i, &(*out)[i]);
    *n = rows;
    PQclear(r);
    return MDT_DB_OK;
}

/* Locks case id when it is still a candidate: 1 yes, 0 no, -1 error. */
static int purge_lock(mdt_dbc_t *c, const mdt_retention_t *ret, int64_t id)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    retention_params(&q, ret);
    mdt_db_param_int(&q, id);
    PGresult *r = mdt_db_query(c,
                               "SELECT c.id FROM cases c WHERE c.id = $3 AND NOT c.legal_hold"
                               " AND " RETENTION_DUE " FOR UPDATE",
                               &q);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    PQclear(r);
    return found;
}

/* Fails the purge when a table with a case_id column still holds a row of
 * the case (a table the list above does not know yet). */
static int purge_check_left(mdt_dbc_t *c, int64_t id)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, id);
    PGresult *r = mdt_db_query(c, "SELECT array_to_string(mdt_case_rows_left($1), ', ')", &q);
    if (!r)
        return c->status;
    const char *left = PQntuples(r) == 1 ? mdt_db_str(r, 0, 0) : NULL;
    int rc = MDT_DB_OK;
    if (left && *left) {
        c->status = rc = MDT_DB_ERROR;
        snprintf(c->error, sizeof(c->error),
                 "rows of case %lld are left in %s: the purge does not know that table yet",
                 (long long)id, left);
    }
    PQclear(r);
    return rc;
}

/* The audit row case.purged, then the event that closes open boards. */
static int purge_record(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const char *label, int64_t id)
{
    json_t *detail = json_pack("{s:s}", "retention", label);
    mdt_audit_rec_t rec = {.action = "case.purged",
                           .object_type = "case",
                           .object_id = id,
                           .case_id = id,
                           .detail = detail};
    json_t *data = json_pack("{s:s, s:I}", "object_type", "case", "id", (json_int_t)id);
    mdt_event_t ev = {
        .case_id = id, .kind = "case.purged", .object_type = "case", .object_id = id, .data = data};
    int rc = mdt_audit_append_event(c, actor, &rec, &ev);
    json_decref(detail);
    json_decref(data);
    return rc;
}

/* In the transaction: the deletes, the tombstone, the check, the record. */
static int purge_case(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const char *label, int64_t id)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, id);
    int rc = MDT_DB_OK;
    for (int i = 0; purge_deletes[i] && rc == MDT_DB_OK; i++)
        rc = mdt_db_exec(c, purge_deletes[i], &q);
    if (rc == MDT_DB_OK)
        rc = purge_check_left(c, id);
    if (rc == MDT_DB_OK)
        rc = purge_record(c, actor, label, id);
    return rc;
}

int mdt_retention_purge(mdt_dbc_t *c, const mdt_audit_actor_t *actor, const mdt_retention_t *ret,
                        const char *label, int64_t id, mdt_purge_result_t *result)
{
    *result = MDT_PURGE_SKIPPED;
    int rc = mdt_db_begin(c, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    int locked = purge_lock(c, ret, id);
    if (locked < 0)
        rc = c->status;
    else if (locked)
        rc = purge_case(c, actor, label, id);
    if (rc == MDT_DB_OK && locked) {
        rc = mdt_db_commit(c);
        if (rc == MDT_DB_OK)
            *result = MDT_PURGE_DONE;
    } else {
        mdt_db_rollback(c);
    }
    return rc;
}
