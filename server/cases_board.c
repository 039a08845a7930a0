/* cases_board.c - GET /api/v1/cases/{id}: the board, and this node's cache
 * of it (boardcache.h).
 *
 * The board is built in one REPEATABLE READ snapshot (caseop opened it and
 * decided the caller may see the case). With the cache on, the snapshot
 * first yields a fingerprint of what the board depends on beyond the
 * viewer's key (board_fingerprint); a board stored for the same case, view
 * key and fingerprint, and not past the case's next consent expiry, is
 * answered as stored. The stored bytes are the board without its trailing
 * "seq", which is this snapshot's ledger seq on every answer, so a cached
 * answer is byte for byte what building it again would give. Either way the
 * read is audited (caseop's finish step). */
#include "cases_int.h"

#include <limits.h>
#include <stdio.h>

#include "attachments.h"
#include "boardcache.h"
#include "ctx.h"
#include "server_ctx.h"

/* The case's agencies with their names and kinds. */
static int board_agencies(mdt_dbc_t *c, const mdt_casectx_t *cx, json_t **out)
{
    *out = NULL;
    char *lit = mdt_ids_literal(cx->agencies, cx->n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_str(&q, lit);
    PGresult *r = mdt_db_query(c,
                               "SELECT id, name, kind FROM agencies"
                               " WHERE id = ANY($1::bigint[]) ORDER BY name, id",
                               &q);
    free(lit);
    if (!r)
        return c->status;
    *out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(*out,
                              json_pack("{s:I, s:s, s:s}", "id", (json_int_t)mdt_db_int(r, i, 0),
                                        "name", mdt_db_str(r, i, 1), "kind", mdt_db_str(r, i, 2)));
    PQclear(r);
    return MDT_DB_OK;
}

/* The board's review: {every_weeks, last_reviewed, next_review, review_due}. */
static int board_review(mdt_dbc_t *c, const mdt_caseop_t *op, json_t **out)
{
    *out = NULL;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->cx.case_id);
    mdt_db_param_str(&q, mdt_ctx_time_zone(op->req));
    PGresult *r = mdt_db_query(c,
                               "SELECT c.review_every_weeks, " MDT_CASES_REVIEW_COLS
                               " FROM cases c" MDT_CASES_REVIEW_JOIN("$2") " WHERE c.id = $1",
                               &q);
    if (!r)
        return c->status;
    int rc = PQntuples(r) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK) {
        *out = json_pack("{s:o}", "every_weeks",
                         mdt_db_str(r, 0, 0) ? json_integer(mdt_db_int(r, 0, 0)) : json_null());
        mdt_cases_review_set(*out, r, 0, 1);
    }
    PQclear(r);
    return rc;
}

static int board_seq(mdt_dbc_t *c, int64_t *seq)
{
    PGresult *r = mdt_db_query(c, "SELECT seq FROM ledger", NULL);
    if (!r)
        return c->status;
    *seq = PQntuples(r) == 1 ? mdt_db_int(r, 0, 0) : 0;
    PQclear(r);
    return MDT_DB_OK;
}

/* Sets key to part (stolen); a NULL part is a failed serializer. */
static int board_set(mdt_dbc_t *c, json_t *board, const char *key, json_t *part)
{
    if (!part)
        return c->status != MDT_DB_OK ? c->status : MDT_DB_ERROR;
    json_object_set_new(board, key, part);
    return MDT_DB_OK;
}

/* Everything but "seq", in the snapshot (NULL and a db status on failure). */
static int board_build(mdt_dbc_t *c, mdt_caseop_t *op, json_t **out)
{
    const mdt_principal_t *p = &op->p;
    const mdt_casectx_t *cx = &op->cx;
    json_t *board = json_object(), *part = NULL;
    int rc = mdt_cases_load_json(c, p, cx, &part);
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "case", part);
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "pii", mdt_pii_json(c, p, cx, op->now));
    if (rc == MDT_DB_OK && (rc = board_agencies(c, cx, &part)) == MDT_DB_OK)
        rc = board_set(c, board, "agencies", part);
    if (rc == MDT_DB_OK && (rc = board_review(c, op, &part)) == MDT_DB_OK)
        rc = board_set(c, board, "review", part);
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "entries", mdt_entries_list_json(c, p, cx, 0));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "attachments", mdt_attachments_list_json(c, p, cx, 0, op->now));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "actions",
                       mdt_actions_list_json(c, p, cx, 0, mdt_ctx_time_zone(op->req)));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "consents", mdt_pii_consents_json(c, p, cx, op->now));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "services", mdt_records_services_json(c, p, cx));
    if (rc == MDT_DB_OK)
        rc = board_set(c, board, "tracking", mdt_records_tracking_json(c, cx));
    if (rc != MDT_DB_OK)
        json_decref(board);
    *out = rc == MDT_DB_OK ? board : NULL;
    return rc;
}

/* What the board shows that can change without the viewer's key changing,
 * as the SHA-256 (hex) of one line, in the snapshot: the last event seq of
 * the case and of its related cases (every change to its content,
 * membership, consents and related cases' visibility emits one), the
 * installation's local date (overdue actions), the review block (meetings
 * change it with meeting events, not case events) and the ids, kinds and
 * names of the case's agencies and the names of their users (renames emit
 * no case event). Consent expiry, which changes the board with no event,
 * is board_valid_until's. The same statement answers the ledger seq into
 * *seq: one round trip for both. */
static int board_fingerprint(mdt_dbc_t *c, const mdt_caseop_t *op, char *out, size_t cap,
                             int64_t *seq)
{
    char *lit = mdt_ids_literal(op->cx.agencies, op->cx.n_agencies);
    if (!lit)
        return MDT_DB_ERROR;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->cx.case_id);
    mdt_db_param_str(&q, mdt_ctx_time_zone(op->req));
    mdt_db_param_str(&q, lit);
    PGresult *r = mdt_db_query(
        c,
        "SELECT encode(sha256(convert_to("
        " coalesce((SELECT max(seq) FROM events WHERE case_id = $1), 0)"
        " || ':' || coalesce((SELECT max((SELECT max(e.seq) FROM events e WHERE e.case_id = r))"
        "   FROM cases k, unnest(k.related_case_ids) r WHERE k.id = $1), 0)"
        " || ':' || (now() AT TIME ZONE $2)::date"
        " || ':' || coalesce((SELECT row(c.review_every_weeks, rv.last_reviewed, rv.next_review,"
        "   rv.review_due)::text FROM cases c" MDT_CASES_REVIEW_JOIN(
            "$2") " WHERE c.id = $1), '')"
                  " || ':' || coalesce((SELECT string_agg(a.id || '/' || a.kind || '/' || a.name, "
                  "','"
                  "   ORDER BY a.id) FROM agencies a WHERE a.id = ANY($3::bigint[])), '')"
                  " || '|' || coalesce((SELECT string_agg(u.id || '/' || u.display_name, ',' ORDER "
                  "BY u.id)"
                  "   FROM users u WHERE u.agency_id = ANY($3::bigint[])), ''), 'UTF8')), 'hex'),"
                  " (SELECT seq FROM ledger)",
        &q);
    free(lit);
    if (!r)
        return c->status;
    const char *fp = PQntuples(r) == 1 ? mdt_db_str(r, 0, 0) : NULL;
    int rc = fp && strlen(fp) < cap ? MDT_DB_OK : MDT_DB_ERROR;
    if (rc == MDT_DB_OK) {
        memcpy(out, fp, strlen(fp) + 1);
        *seq = mdt_db_int(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

/* The first instant after now at which one of the case's consents runs out
 * (the board shows every consent's state and the PII it opens), or
 * INT64_MAX. */
static int64_t board_valid_until(const mdt_caseop_t *op)
{
    int64_t until = INT64_MAX;
    for (size_t i = 0; i < op->cx.n_consents; i++) {
        const mdt_consent_ref_t *k = &op->cx.consents[i];
        if (!k->revoked && k->expires_at > op->now && k->expires_at < until)
            until = k->expires_at;
    }
    return until;
}

/* The answer: body (the board without "seq", ending in '}') + ,"seq":N}.
 * Takes body (freed). */
static int board_answer(mdt_caseop_t *op, char *body, size_t len, int64_t seq)
{
    char tail[40];
    int tl = snprintf(tail, sizeof(tail), "%s\"seq\":%lld}", len > 2 ? "," : "", (long long)seq);
    char *text = len > 0 ? realloc(body, len + (size_t)tl + 1) : NULL;
    if (!text) {
        free(body);
        return MDT_DB_ERROR;
    }
    memcpy(text + len - 1, tail, (size_t)tl + 1);
    op->run.ans.text = text;
    op->run.ans.text_len = len - 1 + (size_t)tl;
    op->run.ans.text_type = "application/json; charset=utf-8";
    return MDT_DB_OK;
}

/* Runs in the REPEATABLE READ snapshot caseop opened (its first statement,
 * the context load, fixed it), so every part, the fingerprint and the
 * ledger seq agree. */
static int board_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    mdt_boardcache_t *bc = op->req->srv->boards;
    mdt_view_key_t key = mdt_authz_view_key(&op->p);
    char fp[96] = "";
    int64_t seq = 0;
    size_t len = 0;
    char *body = NULL;
    json_t *board = NULL;
    /* with the cache, the fingerprint's statement also answers the seq */
    int rc = bc ? board_fingerprint(c, op, fp, sizeof(fp), &seq) : board_seq(c, &seq);
    if (rc == MDT_DB_OK && bc)
        body = mdt_boardcache_get(bc, op->cx.case_id, key, fp, op->now, &len);
    if (rc == MDT_DB_OK && !body && (rc = board_build(c, op, &board)) == MDT_DB_OK) {
        body = mdt_json_dump(board, &len);
        json_decref(board);
        if (!body)
            rc = MDT_DB_ERROR;
        else if (bc)
            mdt_boardcache_put(bc, op->cx.case_id, key, fp, board_valid_until(op), body, len);
    }
    return rc == MDT_DB_OK ? board_answer(op, body, len, seq) : rc;
}

void mdt_cases_board(mdt_req_t *req)
{
    mdt_caseop_t *op = mdt_caseop_new(req, board_work);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->object_id = req->ids[0];
    op->run.isolation = "repeatable read";
    op->read_action = "case.read";
    op->object_type = "case";
    mdt_caseop_run(op);
}
