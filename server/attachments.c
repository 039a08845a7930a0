/* attachments.c - files on a case (see attachments.h, docs/attachments.md).
 *
 * An upload is the raw file as the request body (POST
 * /cases/{id}/attachments?filename=&visibility=&visible_to=), bounded by
 * MDT_ATTACHMENT_MAX in the HTTP layer. Its type (libmagic, from the bytes)
 * and SHA-256 are worked out on the cpu pool; then one caseop (context, 404
 * for what the caller may not see, one transaction, audit row and event
 * last) stores the row and the file in chunks of ATT_CHUNK bytes, each
 * sealed under the case's data key with "chunk:<index>" and the attachment
 * and case ids in its associated data; the file name is sealed as any
 * value. A download opens the chunks one by one, checks the SHA-256 and
 * answers the bytes with a Content-Disposition (inline only for images,
 * then sandboxed).
 *
 * What a principal sees of an attachment is decided in one place,
 * att_row_json, with the view filter (view.h): nothing when it says no,
 * and for a retracted attachment no file name and no content unless the
 * principal's agency authored it. The same function serves the list, the
 * board, the live events (content.c) and every answer here. */
#include "attachments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "attachfile.h"
#include "attachq.h"
#include "caseop.h"
#include "ctx.h"
#include "entries.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "meetings.h"
#include "sealed.h"
#include "view.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define ATT_REASON_MAX 500

/* In mdt_visibility_t order. */
static const char *const VISIBILITIES[] = {"mdt", "agencies", "agency", NULL};

#define ATT_SELECT                                                                                 \
    "SELECT a.id, a.case_id, a.agency_id, a.author_id, u.display_name, a.filename,"                \
    " a.content_type, a.size, a.sha256, a.chunks, a.visibility, a.visible_to::text,"               \
    " a.entry_id, a.consent_id, a.meeting_id, " TS("a.created_at") ", " TS(                        \
        "a.retracted_at") ", a.retracted_by, a.retract_reason, k.agency_id,"                       \
                          " extract(epoch FROM k.expires_at)::bigint, k.revoked_at IS NOT NULL"    \
                          " FROM attachments a JOIN users u ON u.id = a.author_id"                 \
                          " LEFT JOIN consents k ON k.id = a.consent_id"

enum {
    C_ID,
    C_CASE,
    C_AGENCY,
    C_AUTHOR,
    C_AUTHOR_NAME,
    C_NAME,
    C_TYPE,
    C_SIZE,
    C_SHA,
    C_CHUNKS,
    C_VIS,
    C_VISTO,
    C_ENTRY,
    C_CONSENT,
    C_MEETING,
    C_CREATED,
    C_RETRACTED,
    C_RETRACTED_BY,
    C_REASON,
    C_K_AGENCY, /* the linked consent's recipient, expiry (unix s), revoked */
    C_K_EXPIRES,
    C_K_REVOKED
};

static const mdt_sealed_col_t ATT_SEALED[] = {
    {C_NAME, "attachment", "filename", C_ID, C_CASE, NULL, -1},
    {C_REASON, "attachment", "retract_reason", C_ID, C_CASE, NULL, -1},
};

static const mdt_view_cols_t ATT_COLS = {.vis = C_VIS,
                                         .visible_to = C_VISTO,
                                         .author_agency = C_AGENCY,
                                         .author_user = C_AUTHOR,
                                         .assignee_agency = -1,
                                         .assignee_user = -1};

/* Runs an ATT_SELECT statement and opens its sealed columns: the result
 * (caller PQclear()s), or NULL with c->status set. */
static PGresult *att_query(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *prm)
{
    return mdt_sealed_query(c, sql, prm, ATT_SEALED, 2);
}

/* ---- serializing ---------------------------------------------------------- */

/* Whether p may see the attachment in row r at now (ri filled): the view
 * filter, and for a consent's document the consent in force for its
 * recipient (mdt_view_document_visible). */
static bool att_visible(const PGresult *r, int row, const mdt_principal_t *p,
                        const mdt_case_ctx_t *cx, int64_t now, mdt_view_item_t *ri)
{
    mdt_view_item(r, row, &ATT_COLS, ri);
    mdt_consent_ref_t k = {0};
    int linked = !PQgetisnull(r, row, C_K_AGENCY);
    if (linked)
        k = (mdt_consent_ref_t){mdt_db_int(r, row, C_K_AGENCY), 0, mdt_db_int(r, row, C_K_EXPIRES),
                                mdt_db_bool(r, row, C_K_REVOKED)};
    return mdt_view_document_visible(p, cx, ri, linked ? &k : NULL, now);
}

/* The attachment in row r as p sees it at now, or NULL when p may not. */
static json_t *att_row_json(const PGresult *r, int row, const mdt_principal_t *p,
                            const mdt_case_ctx_t *cx, int64_t now)
{
    mdt_view_item_t ri;
    if (!att_visible(r, row, p, cx, now, &ri))
        return NULL;
    int retracted = !PQgetisnull(r, row, C_RETRACTED);
    int whole = !retracted || mdt_view_history_visible(p, cx, &ri);
    int64_t id = mdt_db_int(r, row, C_ID);
    char url[64];
    snprintf(url, sizeof(url), "/api/v1/attachments/%lld/content", (long long)id);
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:s, s:o, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o,"
        " s:o, s:o}",
        "id", (json_int_t)id, "case_id", (json_int_t)mdt_db_int(r, row, C_CASE), "agency_id",
        (json_int_t)ri.it.author_agency_id, "author_id", (json_int_t)ri.it.author_user_id,
        "author_name", mdt_db_str(r, row, C_AUTHOR_NAME), "filename",
        mdt_json_str_or_null(whole ? mdt_db_str(r, row, C_NAME) : NULL), "content_type",
        mdt_db_str(r, row, C_TYPE), "size", (json_int_t)mdt_db_int(r, row, C_SIZE), "sha256",
        mdt_db_str(r, row, C_SHA), "visibility", mdt_db_str(r, row, C_VIS), "visible_to",
        mdt_entries_ids_json(ri.ids, ri.it.n_visible_to), "entry_id",
        mdt_json_id_or_null(mdt_db_int(r, row, C_ENTRY)), "consent_id",
        mdt_json_id_or_null(mdt_db_int(r, row, C_CONSENT)), "meeting_id",
        mdt_json_id_or_null(mdt_db_int(r, row, C_MEETING)), "created_at",
        mdt_db_str(r, row, C_CREATED), "retracted_at",
        mdt_json_str_or_null(mdt_db_str(r, row, C_RETRACTED)), "retracted_by",
        mdt_json_id_or_null(mdt_db_int(r, row, C_RETRACTED_BY)), "retract_reason",
        mdt_json_str_or_null(mdt_db_str(r, row, C_REASON)), "content_url",
        whole ? json_string(url) : json_null());
}

/* The ATT_SELECT rows of cx's case (only attachment_id's when > 0), oldest
 * first, their sealed columns open: the caller PQclear()s; NULL with
 * c->status set. */
static PGresult *att_case_rows(mdt_dbc_t *c, const mdt_casectx_t *cx, int64_t attachment_id)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, cx->case_id);
    mdt_db_param_int(&prm, attachment_id);
    return att_query(
        c, ATT_SELECT " WHERE a.case_id = $1 AND ($2::bigint = 0 OR a.id = $2) ORDER BY a.id",
        &prm);
}

json_t *mdt_attachments_list_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                                  int64_t attachment_id, int64_t now)
{
    PGresult *r = att_case_rows(c, cx, attachment_id);
    if (!r)
        return NULL;
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    json_t *items = json_array();
    for (int i = 0; items && i < PQntuples(r); i++) {
        json_t *j = att_row_json(r, i, p, &view, now);
        if (j)
            json_array_append_new(items, j);
    }
    PQclear(r);
    return items;
}

json_t *mdt_attachments_hidden_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                                    int64_t consent_id, int64_t now)
{
    PGresult *r = att_case_rows(c, cx, 0);
    if (!r)
        return NULL;
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    json_t *ids = json_array();
    for (int i = 0; ids && i < PQntuples(r); i++) {
        mdt_view_item_t ri;
        int64_t k = mdt_db_int(r, i, C_CONSENT);
        if (k && (!consent_id || k == consent_id) && !att_visible(r, i, p, &view, now, &ri) &&
            mdt_view_visible(p, &view, &ri))
            json_array_append_new(ids, json_integer(mdt_db_int(r, i, C_ID)));
    }
    PQclear(r);
    return ids;
}

/* The one attachment as op's caller sees it into op->run.ans.result. */
static int att_result(mdt_dbc_t *c, mdt_caseop_t *op, int64_t id)
{
    return mdt_caseop_answer_first(c, op,
                                   mdt_attachments_list_json(c, &op->p, &op->cx, id, op->now));
}

/* ---- the chunks ------------------------------------------------------------------ */

/* Where chunk index of attachment id lives; field is the caller's buffer. */
static mdt_seal_where_t chunk_where(int64_t id, int64_t case_id, int index, char field[24])
{
    snprintf(field, 24, "chunk:%d", index);
    return (mdt_seal_where_t){"attachment", field, id, case_id, ""};
}

/* Seals the len bytes at data under dek and stores them as chunk index. */
static int chunk_store(mdt_dbc_t *c, const unsigned char *dek, int64_t id, int64_t case_id,
                       int index, const char *data, size_t len)
{
    char field[24], *sealed = NULL;
    mdt_seal_where_t w = chunk_where(id, case_id, index, field);
    if (mdt_seal_value(dek, &w, data, len, &sealed) != 0)
        return c->status = MDT_DB_ERROR;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    mdt_db_param_int(&prm, index);
    mdt_db_param_str(&prm, sealed);
    int rc = mdt_db_exec(
        c, "INSERT INTO attachment_chunks (attachment_id, index, data) VALUES ($1, $2, $3)", &prm);
    free(sealed);
    return rc;
}

/* Opens chunk index of attachment id into a new buffer (*out, *len; the
 * caller wipes and frees it). A chunk that is missing or does not open
 * here is MDT_DB_ERROR. */
static int chunk_open(mdt_dbc_t *c, int64_t id, int64_t case_id, int index, char **out, size_t *len)
{
    unsigned char dek[MDT_SEAL_KEY_BYTES];
    int rc = mdt_sealed_key(c, case_id, 0, dek);
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    mdt_db_param_int(&prm, index);
    PGresult *r = rc == MDT_DB_OK ? mdt_db_query(c,
                                                 "SELECT data FROM attachment_chunks"
                                                 " WHERE attachment_id = $1 AND index = $2",
                                                 &prm)
                                  : NULL;
    char field[24];
    mdt_seal_where_t w = chunk_where(id, case_id, index, field);
    *out = NULL;
    if (r)
        rc = PQntuples(r) == 1 && mdt_seal_open(dek, &w, mdt_db_str(r, 0, 0), out, len) == 0
                 ? MDT_DB_OK
                 : MDT_DB_ERROR;
    else
        rc = c->status ? c->status : MDT_DB_ERROR;
    PQclear(r);
    OPENSSL_cleanse(dek, sizeof(dek));
    return rc;
}

/* Names attachment id, never a byte of it, as why a chunk failed. */
static int att_broken(mdt_dbc_t *c, int64_t id)
{
    c->status = MDT_DB_ERROR;
    snprintf(c->error, sizeof(c->error), "attachment %lld does not open or match its SHA-256",
             (long long)id);
    return MDT_DB_ERROR;
}

/* ---- input ---------------------------------------------------------------- */

typedef struct att_dl att_dl_t;

typedef struct {
    mdt_req_t *req;
    char filename[MDT_ATTACHFILE_NAME_MAX + 1];
    int vis;
    int64_t visible_to[MDT_CASE_MAX_AGENCIES];
    size_t n_visible_to;
    int64_t entry_id, consent_id, meeting_id; /* 0 = none */
    const char *type;                         /* detected from the first chunk */
    char sha256[65];
    size_t size;            /* upload: the bytes stored */
    mdt_attachq_t *q;       /* upload: the body on its way */
    int slot;               /* upload: holds an upload slot (mdt_ctx_upload_begin) */
    const char *reason;     /* retract: borrowed from req->json */
    char disposition[1024]; /* download: the Content-Disposition */
    int inline_;
    att_dl_t *dl;                         /* download: the chunk pump */
    void (*finish)(void *op, int status); /* caseop's own finish (download) */
} att_in_t;

/* visible_to as a comma-separated list of agency ids ("3,7"). */
static int parse_visible_to(const mdt_req_t *req, att_in_t *in, mdt_err_t *e)
{
    const char *s = mdt_req_query(req, "visible_to");
    in->n_visible_to = 0;
    while (s && *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v <= 0 || (*end && *end != ',') ||
            in->n_visible_to == MDT_CASE_MAX_AGENCIES) {
            mdt_err_set(e, 422, "validation", "visible_to",
                        "visible_to must be a comma-separated list of agency ids");
            return -1;
        }
        in->visible_to[in->n_visible_to++] = v;
        s = *end ? end + 1 : end;
    }
    return 0;
}

/* The upload's query parameters and body size into in. */
static int parse_upload(const mdt_req_t *req, att_in_t *in, mdt_err_t *e)
{
    const char *name = mdt_req_query(req, "filename");
    if (!name || mdt_attachfile_name(name, in->filename) != 0) {
        mdt_err_set(e, 422, "validation", "filename",
                    "filename must be a file name in UTF-8 (the path is dropped)");
        return -1;
    }
    if (mdt_req_query_enum(req, "visibility", VISIBILITIES, &in->vis, e) < 0 ||
        parse_visible_to(req, in, e) < 0 ||
        mdt_req_query_int(req, "entry_id", 1, INT64_MAX, 0, &in->entry_id, e) < 0 ||
        mdt_req_query_int(req, "consent_id", 1, INT64_MAX, 0, &in->consent_id, e) < 0 ||
        mdt_req_query_int(req, "meeting_id", 1, INT64_MAX, 0, &in->meeting_id, e) < 0)
        return -1;
    if (in->vis < 0) {
        mdt_err_set(e, 422, "validation", "visibility",
                    "visibility is required: mdt, agencies or agency");
        return -1;
    }
    if (req->content_length == 0) {
        mdt_err_set(e, 422, "validation", NULL, "the body must be the file; it is empty");
        return -1;
    }
    return 0;
}

/* ---- create ------------------------------------------------------------------ */

static int stop(mdt_caseop_t *op, int status, const char *code, const char *field,
                const char *message)
{
    return mdt_run_fail(&op->run, status, code, field, message);
}

/* The linked entry or consent (sql: one row when id is on case $2). */
static int check_link(mdt_dbc_t *c, mdt_caseop_t *op, const char *sql, int64_t id,
                      const char *field)
{
    if (!id)
        return MDT_DB_OK;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    mdt_db_param_int(&prm, op->case_id);
    PGresult *r = mdt_db_query(c, sql, &prm);
    if (!r)
        return c->status;
    int found = PQntuples(r) == 1;
    PQclear(r);
    return found ? MDT_DB_OK : stop(op, 422, "validation", field, "not an item of this case");
}

static int att_create_checks(mdt_dbc_t *c, mdt_caseop_t *op, const att_in_t *in)
{
    if (!mdt_authz_entry_create(&op->p, &op->view, false))
        return stop(op, 403, "forbidden", NULL, "you may not add files to this case");
    int rc = mdt_entries_check_visible_to(op, in->vis, in->visible_to, in->n_visible_to);
    if (rc == MDT_DB_OK)
        rc = check_link(c, op, "SELECT 1 FROM entries WHERE id = $1 AND case_id = $2", in->entry_id,
                        "entry_id");
    if (rc == MDT_DB_OK)
        rc = check_link(c, op, "SELECT 1 FROM consents WHERE id = $1 AND case_id = $2",
                        in->consent_id, "consent_id");
    if (rc == MDT_DB_OK && in->meeting_id)
        rc = mdt_meetings_check_link(c, &op->run, &op->p, in->meeting_id, op->case_id);
    return rc;
}

/* The consent's document_ref points at its new attachment: "attachment:<id>"
 * (docs/attachments.md), sealed as the consent's other values. */
static int att_document_ref(mdt_dbc_t *c, int64_t case_id, int64_t consent_id, int64_t id)
{
    char ref[40];
    snprintf(ref, sizeof(ref), "attachment:%lld", (long long)id);
    mdt_sealed_hold_t hold = {0};
    const char *sref = NULL;
    mdt_seal_where_t w = {"consent", "document_ref", consent_id, case_id, ""};
    int rc = mdt_sealed_put(c, &hold, &w, ref, &sref);
    if (rc == MDT_DB_OK) {
        mdt_db_params_t prm;
        mdt_db_params_init(&prm);
        mdt_db_param_int(&prm, consent_id);
        mdt_db_param_str(&prm, sref);
        rc = mdt_db_exec(c, "UPDATE consents SET document_ref = $2 WHERE id = $1", &prm);
    }
    mdt_sealed_hold_free(&hold);
    return rc;
}

/* The attachment's row, before its chunks: the type is known (from the
 * first chunk), the size and count from Content-Length; the SHA-256 is a
 * placeholder until the last chunk is in (att_finish_row). */
static int att_insert(mdt_dbc_t *c, mdt_caseop_t *op, const att_in_t *in, int64_t *id)
{
    const mdt_req_t *req = op->req;
    char *ids = mdt_ids_literal(in->visible_to, in->n_visible_to);
    mdt_sealed_hold_t hold = {0};
    const char *sname = NULL;
    int rc = ids ? mdt_sealed_next_id(c, "attachments_id_seq", id) : MDT_DB_ERROR;
    mdt_seal_where_t w = {"attachment", "filename", *id, op->case_id, ""};
    if (rc == MDT_DB_OK)
        rc = mdt_sealed_put(c, &hold, &w, in->filename, &sname);
    if (rc != MDT_DB_OK)
        goto exit;
    size_t size = req->content_length;
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, *id);
    mdt_db_param_int(&prm, op->case_id);
    mdt_db_param_int(&prm, op->p.agency_id);
    mdt_db_param_int(&prm, op->p.user_id);
    mdt_db_param_str(&prm, sname);
    mdt_db_param_str(&prm, in->type);
    mdt_db_param_int(&prm, (int64_t)size);
    mdt_db_param_int(&prm, (int64_t)((size + MDT_ATTACHQ_CHUNK - 1) / MDT_ATTACHQ_CHUNK));
    mdt_db_param_str(&prm, VISIBILITIES[in->vis]);
    mdt_db_param_str(&prm, ids);
    mdt_db_param_int(&prm, in->entry_id);
    mdt_db_param_int(&prm, in->consent_id);
    mdt_db_param_int(&prm, in->meeting_id);
    rc = mdt_db_exec(c,
                     "INSERT INTO attachments (id, case_id, agency_id, author_id, filename,"
                     " content_type, size, sha256, chunks, visibility, visible_to, entry_id,"
                     " consent_id, meeting_id) VALUES ($1, $2, $3, $4, $5, $6, $7, repeat('0', 64),"
                     " $8, $9, $10::bigint[], nullif($11::bigint, 0), nullif($12::bigint, 0),"
                     " nullif($13::bigint, 0))",
                     &prm);
exit:
    mdt_sealed_hold_free(&hold);
    free(ids);
    return rc;
}

/* Why the body stopped before its end, as the answer. */
static int att_body_failed(mdt_caseop_t *op, int got)
{
    if (got == MDT_ATTACHQ_STALLED)
        return stop(op, 408, "timeout", NULL, "the upload stalled; nothing was stored");
    return stop(op, 400, "bad_request", NULL, "the upload ended early; nothing was stored");
}

/* Takes the first chunk and decides the type from it (libmagic): 415 for
 * one we do not take, before anything is written. */
static int att_first_chunk(mdt_caseop_t *op, att_in_t *in, const char **data, size_t *len)
{
    const char *why = NULL;
    int got = mdt_attachq_next(in->q, data, len);
    if (got != MDT_ATTACHQ_DATA)
        return att_body_failed(op, got);
    in->type = mdt_attachfile_detect(*data, *len, &why);
    if (!in->type)
        return stop(op, 415, "unsupported_media_type", NULL, why);
    return MDT_DB_OK;
}

/* The body, chunk by chunk as it arrives: each sealed and written, the
 * SHA-256 taken on the way; the row then gets its digest. */
static int att_store_body(mdt_dbc_t *c, mdt_caseop_t *op, att_in_t *in, const char *data,
                          size_t len)
{
    unsigned char dek[MDT_SEAL_KEY_BYTES];
    mdt_attachfile_hash_t *h = mdt_attachfile_hash_new();
    int rc = h ? mdt_sealed_key(c, op->case_id, 1, dek) : MDT_DB_ERROR;
    int got = MDT_ATTACHQ_DATA;
    for (int i = 0; rc == MDT_DB_OK && got == MDT_ATTACHQ_DATA; i++) {
        if (in->size + len > op->req->content_length)
            break; /* lws stops at Content-Length; never more */
        mdt_attachfile_hash_add(h, data, len);
        rc = chunk_store(c, dek, op->object_id, op->case_id, i, data, len);
        in->size += len;
        if (rc == MDT_DB_OK)
            got = mdt_attachq_next(in->q, &data, &len);
    }
    OPENSSL_cleanse(dek, sizeof(dek));
    mdt_attachfile_hash_end(h, in->sha256);
    mdt_attachfile_hash_free(h);
    if (rc == MDT_DB_OK && (got != MDT_ATTACHQ_END || in->size != op->req->content_length))
        rc = att_body_failed(op, got);
    return rc;
}

static int att_create_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    att_in_t *in = op->ud;
    const char *data = NULL;
    size_t len = 0;
    int rc = att_create_checks(c, op, in);
    if (rc == MDT_DB_OK)
        rc = att_first_chunk(op, in, &data, &len);
    if (rc == MDT_DB_OK)
        rc = att_insert(c, op, in, &op->object_id);
    if (rc == MDT_DB_OK)
        rc = att_store_body(c, op, in, data, len);
    /* the key's fingerprint needs the whole body: claimed now (a replay or
     * 422 rolls back what was just written) */
    mdt_idem_set_digest(&op->run.idem, op->req, in->sha256);
    if (rc == MDT_DB_OK)
        rc = mdt_run_claim(c, &op->run);
    if (rc == MDT_DB_OK) {
        mdt_db_params_t prm;
        mdt_db_params_init(&prm);
        mdt_db_param_int(&prm, op->object_id);
        mdt_db_param_str(&prm, in->sha256);
        rc = mdt_db_exec(c, "UPDATE attachments SET sha256 = $2 WHERE id = $1", &prm);
    }
    if (rc == MDT_DB_OK && in->consent_id)
        rc = att_document_ref(c, op->case_id, in->consent_id, op->object_id);
    if (rc == MDT_DB_OK)
        rc = att_result(c, op, op->object_id);
    if (rc != MDT_DB_OK)
        return rc;
    json_t *detail = json_pack("{s:s, s:I, s:s}", "content_type", in->type, "size",
                               (json_int_t)in->size, "visibility", VISIBILITIES[in->vis]);
    rc = mdt_caseop_record(c, op, "attachment.create", "attachment", op->object_id,
                           "attachment.created", detail);
    json_decref(detail);
    op->run.ans.ok_status = 201;
    return rc;
}

/* ---- loading and gating an existing attachment ----------------------------------- */

/* The attachment row (locked for a change when lock is set) into *out. */
static int att_load(mdt_dbc_t *c, int64_t id, int lock, PGresult **out)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, id);
    *out = att_query(
        c, lock ? ATT_SELECT " WHERE a.id = $1 FOR UPDATE OF a" : ATT_SELECT " WHERE a.id = $1",
        &prm);
    if (!*out)
        return c->status;
    if (PQntuples(*out) == 1)
        return MDT_DB_OK;
    PQclear(*out);
    *out = NULL;
    return MDT_DB_NOT_FOUND;
}

/* ---- download ------------------------------------------------------------------------ */

/* The stored type of row r as the static string of mdt_attachfile_types. */
static const char *att_type(const PGresult *r)
{
    for (int i = 0; mdt_attachfile_types[i]; i++) {
        if (strcmp(mdt_attachfile_types[i], mdt_db_str(r, 0, C_TYPE)) == 0)
            return mdt_attachfile_types[i];
    }
    return "application/octet-stream";
}

/* The download's chunk pump: one chunk being written (cur), the next one
 * fetched by a database job meanwhile (got), never more; the SHA-256 taken
 * over the chunks in order and checked when the last is opened, before its
 * bytes are handed on. Loop-owned apart from the job's fields while
 * fetching is set. */
struct att_dl {
    int64_t id, case_id;
    int chunks, next; /* how many; the next to fetch */
    size_t size;
    char sha256[65];
    mdt_attachfile_hash_t *hash; /* the fetching job's */
    char *job;                   /* the fetching job's: the chunk it opened */
    size_t job_len;
    char *cur, *got; /* loop: being written; fetched, next to write */
    size_t cur_len, cur_off, got_len;
    int fetching, failed, orphan;
    mdt_req_t *req;
    mdt_db_t *db;
};

static void dl_free(att_dl_t *dl)
{
    if (!dl)
        return;
    if (dl->cur)
        OPENSSL_cleanse(dl->cur, dl->cur_len);
    if (dl->got)
        OPENSSL_cleanse(dl->got, dl->got_len);
    free(dl->cur);
    free(dl->got);
    free(dl->job);
    mdt_attachfile_hash_free(dl->hash);
    free(dl);
}

/* DB thread: opens chunk dl->next into dl->job (the loop moves it to
 * dl->got when the job is done: the loop never reads what a job writes
 * meanwhile); after the last, the SHA-256 must match (else nothing of that
 * chunk is kept). */
static int dl_fetch_work(mdt_dbc_t *c, void *arg)
{
    att_dl_t *dl = arg;
    int rc = chunk_open(c, dl->id, dl->case_id, dl->next, &dl->job, &dl->job_len);
    char hex[65] = "";
    if (rc == MDT_DB_OK)
        mdt_attachfile_hash_add(dl->hash, dl->job, dl->job_len);
    if (rc == MDT_DB_OK && dl->next == dl->chunks - 1) {
        mdt_attachfile_hash_end(dl->hash, hex);
        if (strcmp(hex, dl->sha256) != 0)
            rc = MDT_DB_ERROR;
    }
    if (rc != MDT_DB_OK) {
        if (dl->job)
            OPENSSL_cleanse(dl->job, dl->job_len);
        free(dl->job);
        dl->job = NULL;
        return att_broken(c, dl->id);
    }
    return MDT_DB_OK;
}

/* Loop: the job's chunk becomes the next to write. */
static void dl_take_job(att_dl_t *dl)
{
    dl->got = dl->job;
    dl->got_len = dl->job_len;
    dl->job = NULL;
    dl->next++;
}

static void dl_fetch(att_dl_t *dl);

/* Loop: a chunk is in (or failed); the writer may go on. */
static void dl_fetch_done(void *arg, int status)
{
    att_dl_t *dl = arg;
    dl->fetching = 0;
    if (dl->orphan) { /* the request was freed meanwhile */
        dl_free(dl);
        return;
    }
    if (status != MDT_DB_OK) {
        dl->failed = 1;
        mdt_log_error("attachment", "attachment %lld: download cut (a chunk failed)",
                      (long long)dl->id);
    } else {
        dl_take_job(dl);
    }
    mdt_http_stream_ready(dl->req);
}

/* Loop: fetches the next chunk unless one is on its way or all are in. */
static void dl_fetch(att_dl_t *dl)
{
    if (dl->fetching || dl->got || dl->failed || dl->next >= dl->chunks)
        return;
    dl->fetching = 1;
    if (mdt_db_submit(dl->db, dl_fetch_work, dl_fetch_done, dl) != 0)
        dl_fetch_done(dl, MDT_DB_REFUSED);
}

/* Loop (the HTTP writer): up to max bytes of the file into buf. */
static long dl_pull(void *ud, char *buf, size_t max)
{
    att_dl_t *dl = ud;
    if (dl->failed)
        return -1; /* the connection closes short of Content-Length */
    if (dl->cur_off == dl->cur_len && dl->got) {
        OPENSSL_cleanse(dl->cur, dl->cur_len);
        free(dl->cur);
        dl->cur = dl->got;
        dl->cur_len = dl->got_len;
        dl->cur_off = 0;
        dl->got = NULL;
    }
    dl_fetch(dl);
    size_t n = dl->cur_len - dl->cur_off;
    if (n > max)
        n = max;
    memcpy(buf, dl->cur + dl->cur_off, n);
    dl->cur_off += n;
    return (long)n;
}

/* DB thread: the pump of the attachment in row r, its first chunk opened
 * (a chunk that fails then is a 500 before any header is sent). */
static int dl_start(mdt_dbc_t *c, mdt_caseop_t *op, att_in_t *in, const PGresult *r)
{
    att_dl_t *dl = calloc(1, sizeof(*dl));
    if (!dl || !(dl->hash = mdt_attachfile_hash_new())) {
        free(dl);
        return MDT_DB_ERROR;
    }
    in->dl = dl;
    dl->id = mdt_db_int(r, 0, C_ID);
    dl->case_id = mdt_db_int(r, 0, C_CASE);
    dl->chunks = (int)mdt_db_int(r, 0, C_CHUNKS);
    dl->size = (size_t)mdt_db_int(r, 0, C_SIZE);
    snprintf(dl->sha256, sizeof(dl->sha256), "%s", mdt_db_str(r, 0, C_SHA));
    dl->req = op->req;
    dl->db = mdt_ctx_db(op->req);
    int rc = dl_fetch_work(c, dl);
    if (rc != MDT_DB_OK)
        return rc;
    dl_take_job(dl); /* before the answer: nothing else touches dl yet */
    mdt_answer_t *a = &op->run.ans;
    a->pull = dl_pull;
    a->pull_ud = dl;
    a->stream_len = dl->size;
    return MDT_DB_OK;
}

/* Who sees the attachment gets its bytes, unless it was retracted (then
 * only its author's agency); anyone else 404, as for a file that does not
 * exist. */
static int att_content_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    att_in_t *in = op->ud;
    PGresult *r = NULL;
    int rc = att_load(c, op->object_id, 0, &r);
    if (rc != MDT_DB_OK)
        return rc;
    mdt_view_item_t ri;
    int seen = att_visible(r, 0, &op->p, &op->view, op->now, &ri) &&
               (PQgetisnull(r, 0, C_RETRACTED) || mdt_view_history_visible(&op->p, &op->view, &ri));
    if (!seen) {
        PQclear(r);
        return stop(op, 404, "not_found", NULL, "not found");
    }
    mdt_answer_t *a = &op->run.ans;
    a->text_type = att_type(r);
    in->inline_ = mdt_attachfile_inline(a->text_type);
    rc = mdt_attachfile_disposition(mdt_db_str(r, 0, C_NAME), in->inline_, in->disposition,
                                    sizeof(in->disposition)) == 0
             ? dl_start(c, op, in, r)
             : MDT_DB_ERROR;
    PQclear(r);
    return rc;
}

/* Loop, before the answer: caseop's finish (the read's audit row), then the
 * download's headers. */
static void att_content_finish(void *arg, int status)
{
    mdt_caseop_t *op = arg;
    att_in_t *in = op->ud;
    in->finish(arg, status);
    if (status != MDT_DB_OK || op->run.ans.err.status || !op->run.ans.pull)
        return;
    mdt_http_add_header(op->req, "content-disposition", in->disposition);
    if (in->inline_)
        mdt_http_add_header(op->req, "content-security-policy", "sandbox; default-src 'none'");
}

/* ---- retract ----------------------------------------------------------------------------- */

static int att_retract_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    att_in_t *in = op->ud;
    PGresult *r = NULL;
    mdt_view_item_t ri;
    int rc = att_load(c, op->object_id, 1, &r);
    if (rc != MDT_DB_OK)
        return rc;
    if (!att_visible(r, 0, &op->p, &op->view, op->now, &ri))
        rc = stop(op, 404, "not_found", NULL, "not found");
    else if (!mdt_authz_entry_retract(&op->p, &op->view, &ri.it))
        rc = stop(op, 403, "forbidden", NULL, "you may not retract this file");
    else if (!PQgetisnull(r, 0, C_RETRACTED))
        rc = mdt_run_conflict(&op->run, "the file was retracted",
                              att_row_json(r, 0, &op->p, &op->view, op->now));
    PQclear(r);
    mdt_sealed_hold_t hold = {0};
    const char *sreason = NULL;
    mdt_seal_where_t w = {"attachment", "retract_reason", op->object_id, op->case_id, ""};
    if (rc == MDT_DB_OK)
        rc = mdt_sealed_put(c, &hold, &w, in->reason, &sreason);
    if (rc == MDT_DB_OK) {
        mdt_db_params_t prm;
        mdt_db_params_init(&prm);
        mdt_db_param_int(&prm, op->object_id);
        mdt_db_param_int(&prm, op->p.user_id);
        mdt_db_param_str(&prm, sreason);
        rc = mdt_db_exec(c,
                         "UPDATE attachments SET retracted_at = now(), retracted_by = $2,"
                         " retract_reason = $3 WHERE id = $1",
                         &prm);
    }
    mdt_sealed_hold_free(&hold);
    if (rc == MDT_DB_OK)
        rc = att_result(c, op, op->object_id);
    if (rc != MDT_DB_OK)
        return rc;
    return mdt_caseop_record(c, op, "attachment.retract", "attachment", op->object_id,
                             "attachment.retracted", NULL);
}

/* ---- list ------------------------------------------------------------------------------------ */

static int att_list_work(mdt_dbc_t *c, mdt_caseop_t *op)
{
    json_t *items = mdt_attachments_list_json(c, &op->p, &op->cx, 0, op->now);
    if (!items)
        return c->status;
    op->run.ans.result = json_pack("{s:o}", "items", items);
    return MDT_DB_OK;
}

/* ---- handlers (event loop) ----------------------------------------------------------------- */

/* Loop: frees what in holds; a download pump whose chunk is still being
 * fetched is freed by that fetch's end. */
static void att_in_free(void *arg)
{
    att_in_t *in = arg;
    if (!in)
        return;
    mdt_attachq_free(in->q);
    if (in->slot)
        mdt_ctx_upload_end(in->req);
    if (in->dl && in->dl->fetching)
        in->dl->orphan = 1;
    else
        dl_free(in->dl);
    free(in);
}

/* Starts a caseop with in (taken over) on the attachment in the path, or on
 * the case for an upload. */
static void att_run(mdt_req_t *req, att_in_t *in, mdt_caseop_fn work, int on_attachment)
{
    mdt_caseop_t *op = mdt_caseop_with(req, work, in, att_in_free);
    if (!op)
        return;
    if (on_attachment) {
        op->object_id = req->ids[0];
        op->resolve_sql = "SELECT case_id FROM attachments WHERE id = $1";
    } else {
        op->case_id = req->ids[0];
    }
    if (work == att_content_work) {
        op->read_action = "attachment.content.read";
        op->object_type = "attachment";
        in->finish = op->run.finish;
        op->run.finish = att_content_finish;
    }
    if (work == att_create_work) {
        op->run.idempotent = 1;
        op->run.claim_in_work = 1;
        mdt_attachq_start(in->q); /* the body flows once in lives as long as req */
    }
    mdt_caseop_run(op);
}

static att_in_t *att_new(mdt_req_t *req)
{
    att_in_t *in = calloc(1, sizeof(*in));
    if (!in)
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
    else
        in->req = req;
    return in;
}

/* The upload: its query checked, an upload slot taken, then its body
 * streamed to the database thread that runs the create (att_create_work). */
void mdt_attachments_create(mdt_req_t *req)
{
    mdt_err_t e;
    att_in_t *in = att_new(req);
    if (!in)
        return;
    if (parse_upload(req, in, &e) < 0) {
        att_in_free(in);
        mdt_http_fail(req, &e);
        return;
    }
    if (mdt_ctx_upload_begin(req) != 0) {
        att_in_free(in);
        mdt_http_fail_db(req, MDT_DB_REFUSED);
        return;
    }
    in->slot = 1;
    if (!(in->q = mdt_attachq_new(req, mdt_ctx_loopq(req)))) {
        att_in_free(in);
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    att_run(req, in, att_create_work, 0);
}

void mdt_attachments_list(mdt_req_t *req)
{
    mdt_caseop_t *op = mdt_caseop_new(req, att_list_work);
    if (!op)
        return;
    op->case_id = req->ids[0];
    op->read_action = "attachment.list";
    op->object_type = "case";
    op->object_id = req->ids[0];
    mdt_caseop_run(op);
}

void mdt_attachments_content(mdt_req_t *req)
{
    att_in_t *in = att_new(req);
    if (in)
        att_run(req, in, att_content_work, 1);
}

void mdt_attachments_retract(mdt_req_t *req)
{
    mdt_err_t e;
    att_in_t *in = att_new(req);
    if (!in)
        return;
    if (mdt_json_str(req->json, "reason", 1, ATT_REASON_MAX, &in->reason, &e) < 0) {
        free(in);
        mdt_http_fail(req, &e);
        return;
    }
    if (mdt_sealed_blank(in->reason)) {
        free(in);
        mdt_http_error(req, 422, "validation", "reason", "reason must not be empty");
        return;
    }
    att_run(req, in, att_retract_work, 1);
}
