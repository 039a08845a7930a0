/* sealed.h - sealed values in the database: sealing a value before it is
 * written, and opening the sealed columns of a result after it is read.
 *
 * The keys come from the connection's keyring (mdt_dbc_t.keyring): a
 * value of a case is sealed under that case's data key, created on first
 * use; a value with case_id 0 under the installation's key. A result's
 * sealed values are replaced in place by their plain text (PQsetvalue), so
 * every serializer reads plain text as before. Values that are not sealed
 * (rows written before encryption, not yet migrated) are left as they are;
 * a sealed value that does not open — copied from another row, field or
 * case, or altered — is an error, never another place's text. */
#ifndef MDT_SEALED_H
#define MDT_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "seal.h"

/* One sealed column of a result and where each row's value lives. */
typedef struct {
    int col;              /* the sealed column */
    const char *object;   /* logical object type, e.g. "entry" */
    const char *field;    /* e.g. "body_md" */
    int id_col;           /* the column holding the object id */
    int case_col;         /* the column holding the case id (-1: case_id 0) */
    const char *category; /* a fixed PII category, or NULL */
    int category_col;     /* or the column holding it (-1: none) */
} mdt_sealed_col_t;

/* DB thread: the data key of case_id (the installation's when 0) into dek,
 * created when create is set and there is none. MDT_DB_OK, or an error
 * status with c->error saying why (no keyring on the connection, a key
 * that does not unwrap). The caller wipes dek (OPENSSL_cleanse). */
int mdt_sealed_key(mdt_dbc_t *c, int64_t case_id, int create,
                   unsigned char dek[MDT_SEAL_KEY_BYTES]);

/* DB thread: runs sql with prm (mdt_db_query) and opens the n sealed
 * columns of its rows in place: the result (the caller PQclear()s), or
 * NULL with c->status set. */
PGresult *mdt_sealed_query(mdt_dbc_t *c, const char *sql, const mdt_db_params_t *prm,
                           const mdt_sealed_col_t *cols, size_t n);

/* DB thread: opens, in place, every sealed value in the n columns of r.
 * MDT_DB_OK, or MDT_DB_ERROR with c->error naming the object (never a
 * value) when one does not open or no key is available. */
int mdt_sealed_open_result(mdt_dbc_t *c, PGresult *r, const mdt_sealed_col_t *cols, size_t n);

/* 1 when s is empty or only white space (" \t\n\r\f\v"; SQL's
 * [[:space:]]). Such a value is stored as it is, never sealed: sealing it
 * would hide nothing, and SQL that asks whether a text is empty (an outcome
 * that is not a review) keeps working. */
int mdt_sealed_blank(const char *s);

/* DB thread: seals plain (NUL-terminated) for where under its case's data
 * key (the installation's when where->case_id is 0), creating the key on
 * first use; a blank value (mdt_sealed_blank) is copied as it is. *out is
 * malloc'ed (the caller frees it); plain NULL gives *out NULL and
 * MDT_DB_OK. MDT_DB_OK or an error status. */
int mdt_sealed_seal(mdt_dbc_t *c, const mdt_seal_where_t *where, const char *plain, char **out);

/* DB thread: opens one sealed value (or copies a plain one) into a
 * malloc'ed string. MDT_DB_OK or MDT_DB_ERROR as above. */
int mdt_sealed_open(mdt_dbc_t *c, const mdt_seal_where_t *where, const char *value, char **out);

/* Sealed values kept until a statement that uses them has run. */
#define MDT_SEALED_HOLD_MAX 8
typedef struct {
    char *v[MDT_SEALED_HOLD_MAX];
    int n;
} mdt_sealed_hold_t;

/* DB thread: seals plain for where (mdt_sealed_seal) and points *out at the
 * sealed text, which h keeps until mdt_sealed_hold_free; plain NULL gives
 * *out NULL. MDT_DB_OK or an error status (also when h is full). */
int mdt_sealed_put(mdt_dbc_t *c, mdt_sealed_hold_t *h, const mdt_seal_where_t *where,
                   const char *plain, const char **out);
/* Frees what h keeps; h may be used again. */
void mdt_sealed_hold_free(mdt_sealed_hold_t *h);

/* DB thread: the next id of a table's serial column, for sealing a new
 * row's values before it is inserted (they are bound to its id). */
int mdt_sealed_next_id(mdt_dbc_t *c, const char *sequence, int64_t *id);

#endif
