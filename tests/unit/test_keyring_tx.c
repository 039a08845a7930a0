/* test_keyring_tx.c - a case's data key is cached only once it is
 * committed (server/keyring.c). A key one transaction created must not be
 * handed to another connection before that transaction commits: the other
 * connection would seal with it and commit first, and every other node
 * then finds a sealed value whose key it cannot see yet (found by
 * live_nodes.test.mjs: a render on node B failed and its subscribers got
 * `resync`), or never will (the creating transaction rolls back: the value
 * is lost). Two connections to a scratch schema holding only the key
 * tables. Needs a PostgreSQL (MDT_TEST_ADMIN_URL, set by scripts/test.sh). */
#include "check.h"
#include "crypto.h"
#include "db.h"
#include "keyring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEK_ID "00112233aabbccdd"
#define OWNER  7

static char schema[64];

/* The key tables of schema/016_encryption.sql in a schema of their own
 * (its name is the test's, never input: no parameter can name a schema). */
static void scratch_create(mdt_dbc_t *c)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    CHECK_EQ_INT(mdt_db_exec(c, sql, NULL), MDT_DB_OK);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s.data_keys (owner bigint PRIMARY KEY, kek_id text NOT NULL,"
             " wrapped bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
             " rewrapped_at timestamptz)",
             schema);
    CHECK_EQ_INT(mdt_db_exec(c, sql, NULL), MDT_DB_OK);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s.kek_check (id integer PRIMARY KEY CHECK (id = 1), kek_id text NOT"
             " NULL, check_value bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
             schema);
    CHECK_EQ_INT(mdt_db_exec(c, sql, NULL), MDT_DB_OK);
}

static void use_scratch(mdt_dbc_t *c)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, schema);
    PGresult *r = mdt_db_query(c, "SELECT set_config('search_path', $1, false)", &p);
    CHECK(r != NULL);
    PQclear(r);
}

static void test_uncommitted_key_not_shared(mdt_dbc_t *c1, mdt_dbc_t *c2)
{
    unsigned char kek[MDT_SEAL_KEY_BYTES], k1[MDT_SEAL_KEY_BYTES], again[MDT_SEAL_KEY_BYTES],
        k3[MDT_SEAL_KEY_BYTES];
    CHECK_EQ_INT(mdt_crypto_random(kek, sizeof(kek)), 0);
    mdt_keyring_t *kr = mdt_keyring_new(kek, KEK_ID);
    CHECK(kr != NULL);
    if (!kr)
        return;

    /* c1 creates the key inside a transaction it has not committed */
    CHECK_EQ_INT(mdt_db_begin(c1, NULL), MDT_DB_OK);
    CHECK_EQ_INT(mdt_keyring_dek(kr, c1, OWNER, 1, k1), MDT_DB_OK);
    /* the same transaction reads its own key again */
    CHECK_EQ_INT(mdt_keyring_dek(kr, c1, OWNER, 0, again), MDT_DB_OK);
    CHECK(memcmp(again, k1, sizeof(k1)) == 0);
    /* another connection of the same node does not get it */
    CHECK_EQ_INT(mdt_keyring_dek(kr, c2, OWNER, 0, again), MDT_DB_NOT_FOUND);

    /* c1 rolls back: its key never existed */
    mdt_db_rollback(c1);
    CHECK_EQ_INT(mdt_keyring_dek(kr, c2, OWNER, 0, again), MDT_DB_NOT_FOUND);
    CHECK_EQ_INT(mdt_keyring_dek(kr, c2, OWNER, 1, k3), MDT_DB_OK); /* committed at once */
    CHECK(memcmp(k3, k1, sizeof(k1)) != 0);
    CHECK_EQ_INT(mdt_keyring_dek(kr, c1, OWNER, 0, again), MDT_DB_OK);
    CHECK(memcmp(again, k3, sizeof(k3)) == 0);

    /* and the committed key is what a fresh keyring (another node) reads */
    mdt_keyring_t *other = mdt_keyring_new(kek, KEK_ID);
    CHECK(other != NULL);
    if (other) {
        CHECK_EQ_INT(mdt_keyring_dek(other, c1, OWNER, 0, again), MDT_DB_OK);
        CHECK(memcmp(again, k3, sizeof(k3)) == 0);
        mdt_keyring_free(other);
    }
    mdt_keyring_free(kr);
}

int main(void)
{
    const char *url = getenv("MDT_TEST_ADMIN_URL");
    char err[256];
    if (!url) {
        fprintf(
            stderr,
            "test_keyring_tx: MDT_TEST_ADMIN_URL is not set (run it through scripts/test.sh)\n");
        return 1;
    }
    snprintf(schema, sizeof(schema), "keyring_tx_%ld", (long)getpid());
    mdt_dbc_t *c1 = mdt_dbc_open(url, 5000, err, sizeof(err));
    mdt_dbc_t *c2 = mdt_dbc_open(url, 5000, err, sizeof(err));
    CHECK(c1 != NULL && c2 != NULL);
    if (c1 && c2) {
        scratch_create(c1);
        use_scratch(c1);
        use_scratch(c2);
        test_uncommitted_key_not_shared(c1, c2);
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
        CHECK_EQ_INT(mdt_db_exec(c1, sql, NULL), MDT_DB_OK);
    }
    mdt_dbc_close(c1);
    mdt_dbc_close(c2);
    return check_done();
}
