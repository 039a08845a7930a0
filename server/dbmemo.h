/* dbmemo.h - the results of read-only statements within one snapshot, by
 * statement text and parameters (db.h, mdt_db_memo_start): a statement
 * repeated in the same repeatable-read snapshot answers the same rows, so
 * the second time costs a copy instead of a round trip. Used by the live
 * path, which renders one object for several view keys. */
#ifndef MDT_DBMEMO_H
#define MDT_DBMEMO_H

#include <libpq-fe.h>

typedef struct mdt_dbmemo mdt_dbmemo_t;

mdt_dbmemo_t *mdt_dbmemo_new(void);
/* Frees m and every result it holds (NULL is fine). */
void mdt_dbmemo_free(mdt_dbmemo_t *m);
/* A copy of the result stored for sql with these n values (NULL entries
 * are SQL NULL), which the caller PQclears; NULL when none is stored. */
PGresult *mdt_dbmemo_get(mdt_dbmemo_t *m, const char *sql, int n, const char *const *values);
/* Stores a copy of r (a PGRES_TUPLES_OK result) for sql and values; r stays
 * the caller's. Nothing is stored when memory runs out or m is full. */
void mdt_dbmemo_put(mdt_dbmemo_t *m, const char *sql, int n, const char *const *values,
                    const PGresult *r);

#endif
