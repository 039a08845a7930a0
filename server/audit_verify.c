/* audit_verify.c - checking the audit chain against itself, the ledger's
 * head and an operator's checkpoint, and the checkpoint's text form (see
 * audit.h and docs/security.md). Used by `mdtboard audit verify` and
 * `mdtboard audit checkpoint`; reads only, in one REPEATABLE READ snapshot
 * so that a live server appending meanwhile does not disturb the walk. */
#include "audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define VERIFY_BATCH 5000

void mdt_audit_checkpoint_format(const mdt_audit_checkpoint_t *cp, char *out, size_t size)
{
    snprintf(out, size, "audit checkpoint id=%" PRId64 " hash=%s at=%s", cp->id, cp->hash,
             cp->at[0] ? cp->at : "-");
}

int mdt_audit_checkpoint_parse(const char *text, mdt_audit_checkpoint_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *line = strstr(text, "audit checkpoint ");
    while (line && line != text && line[-1] != '\n')
        line = strstr(line + 1, "audit checkpoint ");
    if (!line)
        return -1;
    long long id = -1;
    if (sscanf(line, "audit checkpoint id=%lld hash=%64[0-9a-f] at=%39s", &id, out->hash,
               out->at) != 3 ||
        id < 0 || strlen(out->hash) != 64)
        return -1;
    out->id = id;
    return 0;
}

typedef struct {
    const unsigned char *key;
    const mdt_audit_checkpoint_t *cp;
    mdt_audit_report_t *out;
    int64_t ledger_id;
    char ledger_hash[65];
    char last_hash[65];
    int64_t last_id;
} verify_t;

/* Records the first bad row and why; returns 1 (broken). */
static int verify_bad(verify_t *v, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int verify_bad(verify_t *v, int64_t id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->out->why, sizeof(v->out->why), fmt, ap);
    va_end(ap);
    v->out->bad_id = id;
    return 1;
}

/* Checks one row after the last good one: 0 good, 1 broken, -1 error. */
static int verify_row(verify_t *v, int64_t id, const char *prev_hash, const char *hash,
                      const char *canon)
{
    int keyed = id >= v->out->keyed_from;
    char want[65];
    if (id != v->last_id + 1)
        return verify_bad(v, v->last_id + 1, "the row is missing (the next row is %" PRId64 ")",
                          id);
    if (strcmp(prev_hash, v->last_hash) != 0)
        return verify_bad(v, id, "its prev_hash is not the hash of the row before");
    if (mdt_audit_link_hash(keyed ? v->key : NULL, v->last_hash, canon, want) != 0)
        return -1;
    if (strcmp(hash, want) != 0)
        return verify_bad(v, id,
                          keyed ? "its HMAC does not match (the row was changed, or this is "
                                  "not the installation's key file)"
                                : "its SHA-256 does not match (the row was changed)");
    if (v->cp && id == v->cp->id && strcmp(hash, v->cp->hash) != 0)
        return verify_bad(v, id, "its hash differs from the checkpoint's");
    v->last_id = id;
    memcpy(v->last_hash, hash, sizeof(v->last_hash));
    v->out->rows++;
    return 0;
}

/* Walks every row in id order. 0 intact so far, 1 broken, -1 error. */
static int verify_walk(mdt_dbc_t *c, verify_t *v, char *err, size_t errlen)
{
    for (;;) {
        mdt_db_params_t p;
        mdt_db_params_init(&p);
        mdt_db_param_int(&p, v->last_id);
        mdt_db_param_int(&p, VERIFY_BATCH);
        PGresult *r = mdt_db_query(c,
                                   "SELECT id, prev_hash, hash, mdt_audit_canonical(a) FROM audit a"
                                   " WHERE id > $1 ORDER BY id LIMIT $2",
                                   &p);
        if (!r) {
            snprintf(err, errlen, "reading the audit log failed: %s", c->error);
            return -1;
        }
        int n = PQntuples(r), rc = 0;
        for (int i = 0; i < n && rc == 0; i++)
            rc = verify_row(v, mdt_db_int(r, i, 0), mdt_db_str(r, i, 1), mdt_db_str(r, i, 2),
                            mdt_db_str(r, i, 3));
        PQclear(r);
        if (rc < 0)
            snprintf(err, errlen, "out of memory");
        if (rc != 0 || n < VERIFY_BATCH)
            return rc;
    }
}

/* The walk's end against the ledger's head and the checkpoint. 0 or 1. */
static int verify_ends(verify_t *v)
{
    if (v->ledger_id > v->last_id)
        return verify_bad(v, v->last_id + 1,
                          "the row is missing: the log ends at row %" PRId64
                          " but the ledger's head is row %" PRId64 " (rows removed)",
                          v->last_id, v->ledger_id);
    if (v->ledger_id < v->last_id)
        return verify_bad(v, v->ledger_id + 1,
                          "the row is beyond the ledger's head (row %" PRId64 ")", v->ledger_id);
    if (strcmp(v->ledger_hash, v->last_hash) != 0)
        return verify_bad(v, v->last_id, "its hash is not the head the ledger records");
    if (v->cp && v->cp->id > v->last_id)
        return verify_bad(v, v->cp->id,
                          "the checkpointed row is missing (the log ends at row %" PRId64 ")",
                          v->last_id);
    return 0;
}

/* Reads keyed_from and the ledger's head into v. 0 ok, -1 error. */
static int verify_start(mdt_dbc_t *c, verify_t *v, char *err, size_t errlen)
{
    PGresult *r = mdt_db_query(
        c, "SELECT c.keyed_from, l.audit_id, l.audit_hash FROM audit_chain c, ledger l", NULL);
    if (!r || PQntuples(r) != 1) {
        snprintf(err, errlen, "reading the chain's head failed: %s",
                 r ? "no audit_chain row (run mdtboard migrate)" : c->error);
        PQclear(r);
        return -1;
    }
    v->out->keyed_from = mdt_db_int(r, 0, 0);
    v->ledger_id = mdt_db_int(r, 0, 1);
    snprintf(v->ledger_hash, sizeof(v->ledger_hash), "%s", mdt_db_str(r, 0, 2));
    PQclear(r);
    return 0;
}

/* Fills out->head with the last row's id, hash and time. 0 ok, -1 error. */
static int verify_head(mdt_dbc_t *c, verify_t *v, char *err, size_t errlen)
{
    mdt_audit_checkpoint_t *h = &v->out->head;
    h->id = v->last_id;
    memcpy(h->hash, v->last_hash, sizeof(h->hash));
    snprintf(h->at, sizeof(h->at), "-");
    if (!v->last_id)
        return 0;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, v->last_id);
    PGresult *r = mdt_db_query(
        c,
        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM audit"
        " WHERE id = $1",
        &p);
    if (!r || PQntuples(r) != 1) {
        snprintf(err, errlen, "reading the last row failed: %s", r ? "gone" : c->error);
        PQclear(r);
        return -1;
    }
    snprintf(h->at, sizeof(h->at), "%s", mdt_db_str(r, 0, 0));
    PQclear(r);
    return 0;
}

int mdt_audit_verify(mdt_dbc_t *c, const unsigned char *key, const mdt_audit_checkpoint_t *cp,
                     mdt_audit_report_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    verify_t v = {.key = key, .cp = cp, .out = out};
    memset(v.last_hash, '0', 64);
    int rc = -1;
    if (mdt_db_begin(c, "repeatable read") != MDT_DB_OK) {
        snprintf(err, errlen, "starting the snapshot failed: %s", c->error);
        return -1;
    }
    if (verify_start(c, &v, err, errlen) != 0)
        goto exit;
    rc = verify_walk(c, &v, err, errlen);
    if (rc == 0)
        rc = verify_ends(&v);
    if (rc == 0 && verify_head(c, &v, err, errlen) != 0)
        rc = -1;
exit:
    mdt_db_rollback(c);
    return rc;
}
