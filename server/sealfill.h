/* sealfill.h - sealing the plain-text rows an older installation (or the
 * demo seeder) wrote, in batches.
 *
 * Each sealed column of the schema is listed once (sealfill.c) with the
 * statement that finds its plain rows and the one that writes them back.
 * A batch is one transaction that takes its rows with FOR UPDATE SKIP
 * LOCKED and seals only values that are not sealed yet, so a run can be
 * interrupted and re-run, and can run beside a serving node. */
#ifndef MDT_SEALFILL_H
#define MDT_SEALFILL_H

#include <stdint.h>

#include "db.h"

/* Called after each batch: the table's name, the rows sealed in it so far,
 * and ud. */
typedef void (*mdt_sealfill_progress_fn)(const char *table, int64_t rows, void *ud);

/* Seals every plain value of every sealed column (c must have a keyring).
 * *sealed receives the number of rows written. MDT_DB_OK or the failing
 * status (c->error says why; the batches before it are committed). */
int mdt_sealfill_run(mdt_dbc_t *c, mdt_sealfill_progress_fn progress, void *ud, int64_t *sealed);

/* The number of rows that still hold a plain value in a sealed column,
 * into *plain. MDT_DB_OK or the database status. */
int mdt_sealfill_count(mdt_dbc_t *c, int64_t *plain);

#endif
