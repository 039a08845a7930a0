/* keyring.c - the KEK, the data keys it wraps, and their cache (see
 * keyring.h). Wrapped keys travel to and from PostgreSQL as hex text
 * (bytea's hex format), so every value stays a text parameter. */
#include "keyring.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "keys.h"

#define CACHE_SLOTS 4096
#define CHECK_OWNER (-1) /* the owner the check value is wrapped for */
#define HEX_WRAPPED (2 * MDT_SEAL_WRAPPED_BYTES + 3)

typedef struct {
    int64_t owner;
    int used;
    unsigned char dek[MDT_SEAL_KEY_BYTES];
} slot_t;

struct mdt_keyring {
    unsigned char kek[MDT_SEAL_KEY_BYTES];
    char kek_id[2 * MDT_KEYS_ID_BYTES + 1];
    pthread_mutex_t lock;
    int verified; /* kek_check matched (or was written) on some connection */
    slot_t slots[CACHE_SLOTS];
};

mdt_keyring_t *mdt_keyring_new(const unsigned char kek[MDT_SEAL_KEY_BYTES], const char *kek_id)
{
    mdt_keyring_t *kr = calloc(1, sizeof(*kr));
    if (!kr)
        return NULL;
    memcpy(kr->kek, kek, sizeof(kr->kek));
    snprintf(kr->kek_id, sizeof(kr->kek_id), "%s", kek_id ? kek_id : "");
    pthread_mutex_init(&kr->lock, NULL);
    return kr;
}

void mdt_keyring_free(mdt_keyring_t *kr)
{
    if (!kr)
        return;
    pthread_mutex_destroy(&kr->lock);
    OPENSSL_cleanse(kr, sizeof(*kr));
    free(kr);
}

mdt_keyring_t *mdt_keyring_load(const char *path, char *err, size_t errlen)
{
    unsigned char kek[MDT_SEAL_KEY_BYTES];
    char kek_id[2 * MDT_KEYS_ID_BYTES + 1];
    if (mdt_keys_load_derived(path, MDT_KEYS_LABEL_KEK, kek, sizeof(kek), kek_id, err, errlen) !=
        0)
        return NULL;
    mdt_keyring_t *kr = mdt_keyring_new(kek, kek_id);
    OPENSSL_cleanse(kek, sizeof(kek));
    if (!kr)
        snprintf(err, errlen, "out of memory");
    return kr;
}

const char *mdt_keyring_kek_id(const mdt_keyring_t *kr)
{
    return kr->kek_id;
}

static slot_t *slot_of(mdt_keyring_t *kr, int64_t owner)
{
    return &kr->slots[(uint64_t)owner % CACHE_SLOTS];
}

static int cache_get(mdt_keyring_t *kr, int64_t owner, unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    int hit;
    pthread_mutex_lock(&kr->lock);
    slot_t *s = slot_of(kr, owner);
    hit = s->used && s->owner == owner;
    if (hit)
        memcpy(dek, s->dek, MDT_SEAL_KEY_BYTES);
    pthread_mutex_unlock(&kr->lock);
    return hit;
}

static void cache_put(mdt_keyring_t *kr, int64_t owner, const unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    pthread_mutex_lock(&kr->lock);
    slot_t *s = slot_of(kr, owner);
    s->owner = owner;
    s->used = 1;
    memcpy(s->dek, dek, MDT_SEAL_KEY_BYTES);
    pthread_mutex_unlock(&kr->lock);
}

void mdt_keyring_forget(mdt_keyring_t *kr, int64_t owner)
{
    pthread_mutex_lock(&kr->lock);
    slot_t *s = slot_of(kr, owner);
    if (s->used && s->owner == owner)
        OPENSSL_cleanse(s, sizeof(*s));
    pthread_mutex_unlock(&kr->lock);
}

/* "\x" and the hex of a wrapped key, for a bytea text parameter. */
static void wrapped_hex(const unsigned char w[MDT_SEAL_WRAPPED_BYTES], char out[HEX_WRAPPED])
{
    out[0] = '\\', out[1] = 'x';
    mdt_crypto_hex(w, MDT_SEAL_WRAPPED_BYTES, out + 2);
}

/* Parses the hex text of encode(wrapped, 'hex'). 0 ok, -1 malformed. */
static int wrapped_parse(const char *hex, unsigned char w[MDT_SEAL_WRAPPED_BYTES])
{
    if (!hex || strlen(hex) != 2 * MDT_SEAL_WRAPPED_BYTES)
        return -1;
    for (size_t i = 0; i < MDT_SEAL_WRAPPED_BYTES; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        w[i] = (unsigned char)v;
    }
    return 0;
}

/* Marks c's last failure as a key that did not unwrap. */
static int unwrap_failed(mdt_dbc_t *c, int64_t owner)
{
    c->status = MDT_DB_ERROR;
    snprintf(c->error, sizeof(c->error), "the data key of owner %lld does not unwrap under this KEK",
             (long long)owner);
    return MDT_DB_ERROR;
}

/* Reads owner's wrapped key and unwraps it. MDT_DB_NOT_FOUND when none. */
static int dek_read(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner,
                    unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    unsigned char w[MDT_SEAL_WRAPPED_BYTES];
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, owner);
    PGresult *r =
        mdt_db_query(c, "SELECT encode(wrapped, 'hex') FROM data_keys WHERE owner = $1", &p);
    if (!r)
        return c->status;
    int rows = PQntuples(r);
    int ok = rows == 1 && wrapped_parse(mdt_db_str(r, 0, 0), w) == 0;
    PQclear(r);
    if (rows == 0)
        return MDT_DB_NOT_FOUND;
    if (!ok || mdt_seal_unwrap(kr->kek, owner, w, dek) != 0)
        return unwrap_failed(c, owner);
    return MDT_DB_OK;
}

/* Makes, wraps and stores a key for owner; another writer's key wins. */
static int dek_create(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner)
{
    unsigned char dek[MDT_SEAL_KEY_BYTES], w[MDT_SEAL_WRAPPED_BYTES];
    char hex[HEX_WRAPPED];
    int rc = MDT_DB_ERROR;
    if (mdt_crypto_random(dek, sizeof(dek)) != 0 || mdt_seal_wrap(kr->kek, owner, dek, w) != 0)
        goto exit;
    wrapped_hex(w, hex);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, owner);
    mdt_db_param_str(&p, kr->kek_id);
    mdt_db_param_str(&p, hex);
    rc = mdt_db_exec(c,
                     "INSERT INTO data_keys (owner, kek_id, wrapped) VALUES ($1, $2, $3::bytea)"
                     " ON CONFLICT (owner) DO NOTHING",
                     &p);
exit:
    OPENSSL_cleanse(dek, sizeof(dek));
    return rc;
}

int mdt_keyring_dek(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner, int create,
                    unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    if (cache_get(kr, owner, dek))
        return MDT_DB_OK;
    int rc = dek_read(kr, c, owner, dek);
    if (rc == MDT_DB_NOT_FOUND && create) {
        char err[256];
        /* A key is never made before this KEK is known to be the database's. */
        pthread_mutex_lock(&kr->lock);
        int verified = kr->verified;
        pthread_mutex_unlock(&kr->lock);
        if (!verified && mdt_keyring_verify(kr, c, err, sizeof(err)) != 0) {
            c->status = MDT_DB_ERROR;
            snprintf(c->error, sizeof(c->error), "%s", err);
            return MDT_DB_ERROR;
        }
        rc = dek_create(kr, c, owner);
        if (rc == MDT_DB_OK)
            rc = dek_read(kr, c, owner, dek);
    }
    if (rc == MDT_DB_OK)
        cache_put(kr, owner, dek);
    return rc;
}

/* Writes the check value when there is none and no data key yet. */
static int check_create(mdt_keyring_t *kr, mdt_dbc_t *c)
{
    unsigned char probe[MDT_SEAL_KEY_BYTES], w[MDT_SEAL_WRAPPED_BYTES];
    char hex[HEX_WRAPPED];
    if (mdt_crypto_random(probe, sizeof(probe)) != 0 ||
        mdt_seal_wrap(kr->kek, CHECK_OWNER, probe, w) != 0)
        return MDT_DB_ERROR;
    wrapped_hex(w, hex);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, kr->kek_id);
    mdt_db_param_str(&p, hex);
    return mdt_db_exec(c,
                       "INSERT INTO kek_check (id, kek_id, check_value)"
                       " SELECT 1, $1, $2::bytea WHERE NOT EXISTS (SELECT 1 FROM data_keys)"
                       " ON CONFLICT (id) DO NOTHING",
                       &p);
}

int mdt_keyring_verify(mdt_keyring_t *kr, mdt_dbc_t *c, char *err, size_t errlen)
{
    unsigned char w[MDT_SEAL_WRAPPED_BYTES], probe[MDT_SEAL_KEY_BYTES];
    PGresult *r = NULL;
    int rc = -1;
    if (check_create(kr, c) != MDT_DB_OK ||
        !(r = mdt_db_query(c, "SELECT kek_id, encode(check_value, 'hex') FROM kek_check", NULL))) {
        snprintf(err, errlen, "reading the key check value failed: %s", c->error);
        goto exit;
    }
    if (PQntuples(r) != 1) {
        snprintf(err, errlen, "the database holds data keys but no key check value");
        goto exit;
    }
    if (wrapped_parse(mdt_db_str(r, 0, 1), w) != 0 ||
        mdt_seal_unwrap(kr->kek, CHECK_OWNER, w, probe) != 0) {
        snprintf(err, errlen,
                 "MDT_KEY_FILE (key id %s) is not the key of this database (its data keys are "
                 "wrapped by key id %s): start with the right key file",
                 kr->kek_id, mdt_db_str(r, 0, 0));
        goto exit;
    }
    pthread_mutex_lock(&kr->lock);
    kr->verified = 1;
    pthread_mutex_unlock(&kr->lock);
    rc = 0;
exit:
    OPENSSL_cleanse(probe, sizeof(probe));
    PQclear(r);
    return rc;
}
