/* migrate.c - applying the embedded migrations (see migrate.h). */
#include "migrate.h"

#include <stdio.h>
#include <string.h>

/* An arbitrary constant naming our advisory lock: "MDTB". */
#define MIGRATE_LOCK_KEY "1296319554"
/* From this schema version on, every run ends with mdt_grant_serving()
 * (schema/008_serving_role.sql): new tables get the serving role's grants. */
#define MIGRATE_GRANTS_FROM 7

int mdt_migrate_latest(void)
{
    int v = 0;
    for (int i = 0; i < mdt_migrations_count; i++) {
        if (mdt_migrations[i].version > v)
            v = mdt_migrations[i].version;
    }
    return v;
}

int mdt_migrate_version(mdt_dbc_t *c, int *version, char *err, size_t errlen)
{
    PGresult *r = mdt_db_query(c,
                               "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 "
                               "ELSE (SELECT coalesce(max(version), 0) FROM schema_migrations) END",
                               NULL);
    if (!r) {
        snprintf(err, errlen, "reading the schema version failed: %s", c->error);
        return -1;
    }
    *version = (int)mdt_db_int(r, 0, 0);
    PQclear(r);
    return 0;
}

/* Runs one migration's SQL (several statements: PQexec, our own file's
 * text, never user input) and records it, in one transaction. */
static int migrate_one(mdt_dbc_t *c, const mdt_migration_t *m, char *err, size_t errlen)
{
    if (mdt_db_begin(c, NULL) != MDT_DB_OK)
        goto fail;
    PGresult *r = PQexec(c->conn, m->text);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok) {
        snprintf(c->error, sizeof(c->error), "%s", PQerrorMessage(c->conn));
        goto fail;
    }
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, m->version);
    mdt_db_param_str(&p, m->name);
    if (mdt_db_exec(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &p) !=
            MDT_DB_OK ||
        mdt_db_commit(c) != MDT_DB_OK)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "migration %s failed: %s", m->name, c->error);
    mdt_db_rollback(c);
    return -1;
}

int mdt_migrate_apply(mdt_dbc_t *c, int *applied, int *version, char *err, size_t errlen)
{
    *applied = 0;
    if (mdt_db_exec(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", NULL) != MDT_DB_OK) {
        snprintf(err, errlen, "taking the migration lock failed: %s", c->error);
        return -1;
    }
    int rc = -1;
    if (mdt_db_exec(c,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    NULL) != MDT_DB_OK) {
        snprintf(err, errlen, "creating schema_migrations failed: %s", c->error);
        goto exit;
    }
    if (mdt_migrate_version(c, version, err, errlen) != 0)
        goto exit;
    if (*version > mdt_migrate_latest()) {
        snprintf(err, errlen, "the database schema (version %d) is newer than this binary (%d)",
                 *version, mdt_migrate_latest());
        goto exit;
    }
    for (int i = 0; i < mdt_migrations_count; i++) {
        const mdt_migration_t *m = &mdt_migrations[i];
        if (m->version <= *version)
            continue;
        if (migrate_one(c, m, err, errlen) != 0)
            goto exit;
        *version = m->version;
        (*applied)++;
    }
    if (*version >= MIGRATE_GRANTS_FROM &&
        mdt_db_exec(c, "SELECT mdt_grant_serving()", NULL) != MDT_DB_OK) {
        snprintf(err, errlen, "granting the serving role its rights failed: %s", c->error);
        goto exit;
    }
    rc = 0;
exit:
    mdt_db_exec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", NULL);
    return rc;
}
