/* migrate.h - schema migrations compiled into the binary.
 *
 * schema/NNN_name.sql files are embedded at build time (embed.h). mdt_migrate_apply() applies the
 * pending ones in order, each in its own transaction, under a session advisory lock so two nodes
 * starting at once are safe, and records them in schema_migrations. */
#ifndef MDT_MIGRATE_H
#define MDT_MIGRATE_H

#include <stddef.h>

#include "db.h"
#include "embed.h"

typedef mdt_embedded_t mdt_migration_t; /* version: NNN of the file name */

extern const mdt_migration_t mdt_migrations[];
extern const int mdt_migrations_count;

/* The newest version this binary knows. */
int mdt_migrate_latest(void);
/* Current version of the database (0 when none applied). 0 ok, -1 + err. */
int mdt_migrate_version(mdt_dbc_t *c, int *version, char *err, size_t errlen);
/* Applies pending migrations; *applied counts them; *version is the result. */
int mdt_migrate_apply(mdt_dbc_t *c, int *applied, int *version, char *err, size_t errlen);

#endif
