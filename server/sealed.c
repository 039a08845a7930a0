/* sealed.c - sealing values for the database and opening results (see
 * sealed.h). A result is opened with one reusable opener (seal.h) and the
 * last case's data key kept across its rows: the board's hundreds of
 * sealed bodies cost one cipher context and one keyring lookup. */
#include "sealed.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keyring.h"

int mdt_sealed_key(mdt_dbc_t *c, int64_t case_id, int create, unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    if (!c->keyring) {
        c->status = MDT_DB_ERROR;
        snprintf(c->error, sizeof(c->error), "no key-encryption key on this connection");
        return MDT_DB_ERROR;
    }
    return mdt_keyring_dek(c->keyring, c, case_id, create, dek);
}

static int refuse(mdt_dbc_t *c, const mdt_seal_where_t *w)
{
    c->status = MDT_DB_ERROR;
    snprintf(c->error, sizeof(c->error), "a sealed %s.%s of %s %lld does not open here", w->object,
             w->field, w->object, (long long)w->id);
    return MDT_DB_ERROR;
}

int mdt_sealed_blank(const char *s)
{
    for (; s && *s; s++) {
        if (!strchr(" \t\n\r\f\v", *s))
            return 0;
    }
    return 1;
}

int mdt_sealed_seal(mdt_dbc_t *c, const mdt_seal_where_t *where, const char *plain, char **out)
{
    unsigned char dek[MDT_SEAL_KEY_BYTES];
    *out = NULL;
    if (!plain)
        return MDT_DB_OK;
    if (mdt_sealed_blank(plain)) {
        *out = strdup(plain);
        return *out ? MDT_DB_OK : MDT_DB_ERROR;
    }
    int rc = mdt_sealed_key(c, where->case_id, 1, dek);
    if (rc == MDT_DB_OK && mdt_seal_value(dek, where, plain, strlen(plain), out) != 0) {
        c->status = rc = MDT_DB_ERROR;
        snprintf(c->error, sizeof(c->error), "sealing a value failed");
    }
    OPENSSL_cleanse(dek, sizeof(dek));
    return rc;
}

int mdt_sealed_open(mdt_dbc_t *c, const mdt_seal_where_t *where, const char *value, char **out)
{
    unsigned char dek[MDT_SEAL_KEY_BYTES];
    *out = NULL;
    if (!mdt_seal_is_sealed(value)) {
        *out = strdup(value ? value : "");
        return *out ? MDT_DB_OK : MDT_DB_ERROR;
    }
    int rc = mdt_sealed_key(c, where->case_id, 0, dek);
    if (rc == MDT_DB_NOT_FOUND || (rc == MDT_DB_OK && mdt_seal_open(dek, where, value, out, NULL)))
        rc = refuse(c, where);
    OPENSSL_cleanse(dek, sizeof(dek));
    return rc;
}

/* Where row's value of column col lives. */
static mdt_seal_where_t where_of(const PGresult *r, int row, const mdt_sealed_col_t *col)
{
    const char *cat = col->category;
    if (col->category_col >= 0)
        cat = mdt_db_str(r, row, col->category_col);
    return (mdt_seal_where_t){col->object, col->field, mdt_db_int(r, row, col->id_col),
                              col->case_col >= 0 ? mdt_db_int(r, row, col->case_col) : 0,
                              cat ? cat : ""};
}

/* What opening one result keeps from value to value: one opener (cipher
 * context and buffer) and the data key of the last case (the rows of a
 * result mostly share one), so neither a context nor a keyring lookup is
 * made per value. Wiped when the result is done. */
typedef struct {
    mdt_seal_opener_t *o;
    int64_t case_id;
    int keyed;
    unsigned char dek[MDT_SEAL_KEY_BYTES];
} opening_t;

/* The data key of w's case into op->dek (kept while the case repeats). */
static int opening_key(mdt_dbc_t *c, opening_t *op, const mdt_seal_where_t *w)
{
    if (op->keyed && op->case_id == w->case_id)
        return MDT_DB_OK;
    op->keyed = 0;
    int rc = mdt_sealed_key(c, w->case_id, 0, op->dek);
    if (rc == MDT_DB_NOT_FOUND)
        return refuse(c, w);
    op->keyed = rc == MDT_DB_OK;
    op->case_id = w->case_id;
    return rc;
}

/* Opens one cell in place. */
static int open_cell(mdt_dbc_t *c, opening_t *op, PGresult *r, int row, const mdt_sealed_col_t *col)
{
    const char *v = PQgetisnull(r, row, col->col) ? NULL : PQgetvalue(r, row, col->col);
    if (!mdt_seal_is_sealed(v))
        return MDT_DB_OK;
    mdt_seal_where_t w = where_of(r, row, col);
    const char *plain = NULL;
    size_t len = 0;
    int rc = opening_key(c, op, &w);
    if (rc != MDT_DB_OK)
        return rc;
    if (mdt_seal_opener_open(op->o, op->dek, &w, v, &plain, &len) != 0 || len > INT_MAX)
        return refuse(c, &w);
    if (!PQsetvalue(r, row, col->col, (char *)plain, (int)len)) {
        c->status = MDT_DB_ERROR;
        snprintf(c->error, sizeof(c->error), "out of memory opening a sealed value");
        return MDT_DB_ERROR;
    }
    return MDT_DB_OK;
}

int mdt_sealed_open_result(mdt_dbc_t *c, PGresult *r, const mdt_sealed_col_t *cols, size_t n)
{
    opening_t op = {.o = mdt_seal_opener_new()};
    int rows = PQntuples(r), rc = op.o ? MDT_DB_OK : MDT_DB_ERROR;
    if (!op.o) {
        c->status = rc;
        snprintf(c->error, sizeof(c->error), "out of memory opening sealed values");
    }
    for (int row = 0; row < rows && rc == MDT_DB_OK; row++) {
        for (size_t i = 0; i < n && rc == MDT_DB_OK; i++)
            rc = open_cell(c, &op, r, row, &cols[i]);
    }
    mdt_seal_opener_free(op.o);
    OPENSSL_cleanse(op.dek, sizeof(op.dek));
    return rc;
}

PGresult *mdt_sealed_query(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *prm,
                           const mdt_sealed_col_t *cols, size_t n)
{
    PGresult *r = mdt_db_query(c, sql, prm);
    if (r && mdt_sealed_open_result(c, r, cols, n) != MDT_DB_OK) {
        PQclear(r);
        r = NULL;
    }
    return r;
}

int mdt_sealed_next_id(mdt_dbc_t *c, const char *sequence, int64_t *id)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, sequence);
    PGresult *r = mdt_db_query(c, "SELECT nextval($1::regclass)", &p);
    if (!r)
        return c->status;
    *id = mdt_db_int(r, 0, 0);
    PQclear(r);
    return MDT_DB_OK;
}

int mdt_sealed_put(mdt_dbc_t *c, mdt_sealed_hold_t *h, const mdt_seal_where_t *where,
                   const char *plain, const char **out)
{
    char *sealed = NULL;
    *out = NULL;
    if (h->n >= MDT_SEALED_HOLD_MAX) {
        c->status = MDT_DB_ERROR;
        snprintf(c->error, sizeof(c->error), "too many sealed values in one statement");
        return MDT_DB_ERROR;
    }
    int rc = mdt_sealed_seal(c, where, plain, &sealed);
    if (rc == MDT_DB_OK && sealed)
        *out = h->v[h->n++] = sealed;
    return rc;
}

void mdt_sealed_hold_free(mdt_sealed_hold_t *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->v[i]);
    h->n = 0;
}
