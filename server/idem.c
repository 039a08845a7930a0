/* idem.c - Idempotency-Key: validating the header, claiming a key in the
 * create's transaction, storing and replaying its answer, and purging old
 * answers (see idem.h; decisions in docs/api.md "Idempotent creates"). */
#include "idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "log.h"
#include "server_ctx.h"
#include "session.h"

/* The class half of our two-part advisory locks ("MDIE"); the one-bigint
 * lock space (migrations) does not overlap it. */
#define IDEM_LOCK_CLASS "1296320837"

#define IDEM_PURGE_FIRST_US (60 * LWS_US_PER_SEC)
#define IDEM_PURGE_EVERY_US (600 * LWS_US_PER_SEC)

int mdt_idem_check(mdt_req_t *req)
{
    if (!req->idempotency_key_given)
        return 0;
    size_t n = req->idempotency_key_len;
    const char *why = NULL;
    if (n == 0 || (n == 2 && strcmp(req->idempotency_key, "\"\"") == 0))
        why = "Idempotency-Key must not be empty";
    else if (n > MDT_IDEM_KEY_MAX)
        why = "Idempotency-Key must be at most 255 characters";
    for (size_t i = 0; !why && i < n; i++) {
        unsigned char ch = (unsigned char)req->idempotency_key[i];
        if (ch < 0x20 || ch > 0x7e)
            why = "Idempotency-Key must be printable ASCII";
    }
    if (!why)
        return 0;
    mdt_http_error(req, 400, "bad_request", NULL, "%s", why);
    return -1;
}

/* The key without the quotes of a Structured Field string ("..."), as the
 * draft writes it; a bare token is taken as it is. */
static void idem_copy_key(char *out, const char *in, size_t n)
{
    if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
        in++;
        n -= 2;
    }
    memcpy(out, in, n);
    out[n] = 0;
}

/* SHA-256 hex of "POST <path>\n<canonical JSON body>" (the raw body when
 * the route takes none or another type). 0 ok, -1 out of memory. */
static int idem_fingerprint(const mdt_req_t *req, char out[65])
{
    size_t blen = 0;
    char *canon = req->json ? mdt_json_dump_canonical(req->json, &blen) : NULL;
    if (req->json && !canon)
        return -1;
    const char *body = canon ? canon : (req->body ? req->body : "");
    if (!canon)
        blen = req->body ? req->body_len : 0;
    size_t plen = strlen(req->path);
    char *buf = malloc(plen + blen + 8);
    if (!buf) {
        free(canon);
        return -1;
    }
    memcpy(buf, "POST ", 5);
    memcpy(buf + 5, req->path, plen);
    buf[5 + plen] = '\n';
    memcpy(buf + 6 + plen, body, blen);
    mdt_crypto_sha256_hex(buf, plen + blen + 6, out);
    free(buf);
    free(canon);
    return 0;
}

void mdt_idem_set_digest(mdt_idem_t *idem, const mdt_req_t *req, const char body_sha256[65])
{
    if (!idem->active)
        return;
    char buf[16384]; /* the path (512), the query (at most 8 KiB) and separators fit */
    size_t n = (size_t)snprintf(buf, sizeof(buf), "POST %s?", req->path);
    for (int i = 0; i < req->nq && n < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s=%s&", req->qkey[i], req->qval[i]);
    if (n < sizeof(buf))
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\n%s", body_sha256);
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    mdt_crypto_sha256_hex(buf, n, idem->fingerprint);
}

int mdt_idem_init(mdt_idem_t *idem, mdt_req_t *req)
{
    memset(idem, 0, sizeof(*idem));
    if (!(req->route->flags & MDT_R_IDEMPOTENT) || !req->idempotency_key_given)
        return 0;
    idem_copy_key(idem->key, req->idempotency_key, req->idempotency_key_len);
    idem->user_id = mdt_auth_principal(req).user_id;
    snprintf(idem->route, sizeof(idem->route), "POST %s", req->path);
    if (idem_fingerprint(req, idem->fingerprint) != 0) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return -1;
    }
    idem->active = 1;
    return 0;
}

static void idem_key_params(mdt_db_params_t *p, const mdt_idem_t *idem)
{
    mdt_db_params_init(p);
    mdt_db_param_int(p, idem->user_id);
    mdt_db_param_str(p, idem->key);
}

/* Takes the (user, key) lock without waiting: MDT_DB_OK when held,
 * MDT_IDEM_ANSWERED with a 409 in err when another transaction holds it. */
static int idem_lock(mdt_dbc_t *c, const mdt_idem_t *idem, mdt_err_t *err)
{
    char who[300];
    int n = snprintf(who, sizeof(who), "%lld:%s", (long long)idem->user_id, idem->key);
    unsigned char h[32];
    mdt_crypto_sha256(who, (size_t)n, h);
    /* 31 bits, so that it is an int4 without a sign conversion */
    int64_t obj = (int64_t)((uint32_t)(h[0] & 0x7f) << 24 | (uint32_t)h[1] << 16 |
                            (uint32_t)h[2] << 8 | h[3]);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, obj);
    PGresult *r =
        mdt_db_query(c, "SELECT pg_try_advisory_xact_lock(" IDEM_LOCK_CLASS ", $1::int)", &p);
    if (!r)
        return c->status;
    int held = mdt_db_bool(r, 0, 0);
    PQclear(r);
    if (held)
        return MDT_DB_OK;
    mdt_err_set(err, 409, "conflict", NULL,
                "a request with this Idempotency-Key is still running; retry later");
    return MDT_IDEM_ANSWERED;
}

int mdt_idem_claim(mdt_dbc_t *c, mdt_idem_t *idem, mdt_err_t *err)
{
    if (!idem->active)
        return MDT_DB_OK;
    int rc = idem_lock(c, idem, err);
    if (rc != MDT_DB_OK)
        return rc;
    mdt_db_params_t p;
    idem_key_params(&p, idem);
    mdt_db_param_int(&p, MDT_IDEM_TTL_S);
    /* a key past its lifetime is gone, whether or not a purge ran yet */
    if (mdt_db_exec(c,
                    "DELETE FROM idempotency WHERE user_id = $1 AND key = $2 AND "
                    "created_at < now() - make_interval(secs => $3::bigint)",
                    &p) != MDT_DB_OK)
        return c->status;
    idem_key_params(&p, idem);
    PGresult *r = mdt_db_query(
        c, "SELECT fingerprint, status, body FROM idempotency WHERE user_id = $1 AND key = $2", &p);
    if (!r)
        return c->status;
    rc = MDT_DB_OK;
    if (PQntuples(r) == 1 && strcmp(mdt_db_str(r, 0, 0), idem->fingerprint) != 0) {
        mdt_err_set(err, 422, "validation", NULL,
                    "this Idempotency-Key was used with another request");
        rc = MDT_IDEM_ANSWERED;
    } else if (PQntuples(r) == 1) {
        idem->status = (int)mdt_db_int(r, 0, 1);
        idem->body_len = (size_t)PQgetlength(r, 0, 2);
        idem->body = strdup(mdt_db_str(r, 0, 2));
        idem->replayed = 1;
        rc = idem->body ? MDT_IDEM_ANSWERED : MDT_DB_ERROR;
    }
    PQclear(r);
    return rc;
}

int mdt_idem_store(mdt_dbc_t *c, mdt_idem_t *idem, int status, const json_t *result)
{
    if (!idem->active)
        return MDT_DB_OK;
    free(idem->body);
    json_t *empty = result ? NULL : json_object();
    idem->body = mdt_json_dump(result ? result : empty, &idem->body_len);
    json_decref(empty);
    if (!idem->body)
        return MDT_DB_ERROR;
    idem->status = status;
    mdt_db_params_t p;
    idem_key_params(&p, idem);
    mdt_db_param_str(&p, idem->route);
    mdt_db_param_str(&p, idem->fingerprint);
    mdt_db_param_int(&p, status);
    mdt_db_param_str(&p, idem->body);
    return mdt_db_exec(c,
                       "INSERT INTO idempotency (user_id, key, route, fingerprint, status, body) "
                       "VALUES ($1, $2, $3, $4, $5::int, $6)",
                       &p);
}

int mdt_idem_answer(mdt_req_t *req, mdt_idem_t *idem)
{
    if (!idem->active || !idem->body)
        return 0;
    if (idem->replayed)
        mdt_http_add_header(req, "Idempotency-Replayed", "true");
    char *body = idem->body;
    idem->body = NULL;
    mdt_http_respond(req, idem->status, "application/json; charset=utf-8", body, idem->body_len);
    return 1;
}

void mdt_idem_clear(mdt_idem_t *idem)
{
    free(idem->body);
    idem->body = NULL;
}

int mdt_idem_purge(mdt_dbc_t *c, int64_t ttl_s, int64_t *deleted)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, ttl_s);
    PGresult *r = mdt_db_query(c,
                               "WITH gone AS (DELETE FROM idempotency WHERE created_at < "
                               "now() - make_interval(secs => $1::bigint) RETURNING 1) "
                               "SELECT count(*) FROM gone",
                               &p);
    if (!r)
        return c->status;
    if (deleted)
        *deleted = mdt_db_int(r, 0, 0);
    PQclear(r);
    return MDT_DB_OK;
}

/* ---- the purge timer ---- */

static int idem_purge_work(mdt_dbc_t *c, void *arg)
{
    int64_t *deleted = arg;
    return mdt_idem_purge(c, MDT_IDEM_TTL_S, deleted);
}

static void idem_tick(lws_sorted_usec_list_t *sul);

static void idem_purge_done(void *arg, int status)
{
    int64_t *deleted = arg;
    if (status != MDT_DB_OK)
        mdt_log_warn("idempotency purge failed, will retry", "status=%d", status);
    else if (*deleted > 0)
        mdt_log_info("idempotency keys purged", "rows=%lld", (long long)*deleted);
    free(deleted);
}

static void idem_tick(lws_sorted_usec_list_t *sul)
{
    mdt_server_t *srv = lws_container_of(sul, mdt_server_t, sul_idem);
    int64_t *deleted = calloc(1, sizeof(*deleted));
    if (deleted && mdt_db_submit(srv->db, idem_purge_work, idem_purge_done, deleted) != 0)
        free(deleted);
    lws_sul_schedule(srv->ctx, 0, &srv->sul_idem, idem_tick, IDEM_PURGE_EVERY_US);
}

int mdt_idem_start(mdt_server_t *srv)
{
    lws_sul_schedule(srv->ctx, 0, &srv->sul_idem, idem_tick, IDEM_PURGE_FIRST_US);
    return 0;
}

void mdt_idem_stop(mdt_server_t *srv)
{
    lws_sul_cancel(&srv->sul_idem);
}

/* ---- test hook: POST /api/v1/_test/idem-purge ---- */

#ifdef MDT_TEST_HOOKS
typedef struct {
    mdt_req_t *req;
    int64_t deleted;
} idem_test_t;

static int idem_test_work(mdt_dbc_t *c, void *arg)
{
    idem_test_t *t = arg;
    return mdt_idem_purge(c, MDT_IDEM_TTL_S, &t->deleted);
}

static void idem_test_done(void *arg, int status)
{
    idem_test_t *t = arg;
    if (status != MDT_DB_OK)
        mdt_http_fail_db(t->req, status);
    else
        mdt_http_respond_json(t->req, 200, json_pack("{s:I}", "deleted", (json_int_t)t->deleted));
}
#endif

void mdt_idem_test_purge(mdt_req_t *req)
{
#ifdef MDT_TEST_HOOKS
    idem_test_t *t = calloc(1, sizeof(*t));
    if (!t) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    t->req = req;
    req->state = t;
    req->state_free = free;
    if (mdt_db_submit(req->srv->db, idem_test_work, idem_test_done, t) != 0)
        mdt_http_fail_db(req, MDT_DB_REFUSED);
#else
    mdt_http_error(req, 404, "not_found", NULL, "no such resource");
#endif
}
