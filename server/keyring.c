/* keyring.c - the KEKs a process holds, the data keys they wrap, their
 * cache, and the re-wrap of a KEK rotation (see keyring.h). Wrapped keys
 * travel to and from PostgreSQL as hex text (bytea's hex format), so every
 * value stays a text parameter. */
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
#define KEK_ID_LEN  (2 * MDT_KEYS_ID_BYTES + 1)

typedef struct {
    int64_t owner;
    int used;
    unsigned char dek[MDT_SEAL_KEY_BYTES];
} slot_t;

typedef struct {
    char id[KEK_ID_LEN];
    unsigned char kek[MDT_SEAL_KEY_BYTES];
    unsigned char audit_seed[MDT_SEAL_KEY_BYTES]; /* the file's audit-chain key */
    int has_seed;                                 /* set for a key file loaded at start */
} kek_t;

struct mdt_keyring {
    pthread_mutex_t lock; /* guards everything below */
    kek_t keks[MDT_KEYRING_MAX_KEKS];
    int nkeks;
    int current;  /* wraps new keys */
    int verified; /* kek_check matched (or was written) on some connection */
    slot_t slots[CACHE_SLOTS];
};

/* kr->lock held: the index of the KEK named id, or -1. */
static int kek_find(const mdt_keyring_t *kr, const char *id)
{
    for (int i = 0; i < kr->nkeks; i++) {
        if (strcmp(kr->keks[i].id, id) == 0)
            return i;
    }
    return -1;
}

/* kr->lock held: adds or re-selects a KEK (see mdt_keyring_add). */
static int kek_add(mdt_keyring_t *kr, const unsigned char kek[MDT_SEAL_KEY_BYTES], const char *id)
{
    int i = kek_find(kr, id);
    if (i >= 0) {
        if (CRYPTO_memcmp(kr->keks[i].kek, kek, MDT_SEAL_KEY_BYTES) != 0)
            return -1;
        kr->current = i;
        return 1;
    }
    for (int j = 0; j < kr->nkeks; j++) {
        if (CRYPTO_memcmp(kr->keks[j].kek, kek, MDT_SEAL_KEY_BYTES) == 0)
            return -1; /* the same secret under another id: a copied file */
    }
    if (kr->nkeks == MDT_KEYRING_MAX_KEKS)
        return -1;
    kek_t *k = &kr->keks[kr->nkeks];
    memcpy(k->kek, kek, sizeof(k->kek));
    snprintf(k->id, sizeof(k->id), "%s", id ? id : "");
    kr->current = kr->nkeks++;
    return 0;
}

mdt_keyring_t *mdt_keyring_new(const unsigned char kek[MDT_SEAL_KEY_BYTES], const char *kek_id)
{
    mdt_keyring_t *kr = calloc(1, sizeof(*kr));
    if (!kr)
        return NULL;
    pthread_mutex_init(&kr->lock, NULL);
    kek_add(kr, kek, kek_id);
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

int mdt_keyring_add(mdt_keyring_t *kr, const unsigned char kek[MDT_SEAL_KEY_BYTES],
                    const char *kek_id)
{
    pthread_mutex_lock(&kr->lock);
    int rc = kek_add(kr, kek, kek_id);
    pthread_mutex_unlock(&kr->lock);
    return rc;
}

/* Loads a key file's KEK and audit-chain key. 0 ok; -1 with err set. */
static int kek_from_file(const char *path, unsigned char kek[MDT_SEAL_KEY_BYTES],
                         unsigned char audit[MDT_SEAL_KEY_BYTES], char id[KEK_ID_LEN], char *err,
                         size_t errlen)
{
    mdt_keys_t k;
    if (mdt_keys_load(path, &k, err, errlen) != 0)
        return -1;
    int rc = mdt_keys_derive(&k, MDT_KEYS_LABEL_KEK, kek, MDT_SEAL_KEY_BYTES) == 0 &&
                     mdt_keys_derive(&k, MDT_KEYS_LABEL_AUDIT, audit, MDT_SEAL_KEY_BYTES) == 0
                 ? 0
                 : -1;
    if (rc != 0)
        snprintf(err, errlen, "deriving the keys of %s failed", path);
    memcpy(id, k.key_id, KEK_ID_LEN);
    mdt_keys_wipe(&k);
    return rc;
}

mdt_keyring_t *mdt_keyring_load(const char *path, char *err, size_t errlen)
{
    unsigned char kek[MDT_SEAL_KEY_BYTES], audit[MDT_SEAL_KEY_BYTES];
    char kek_id[KEK_ID_LEN];
    mdt_keyring_t *kr = NULL;
    if (kek_from_file(path, kek, audit, kek_id, err, errlen) != 0)
        goto exit;
    kr = mdt_keyring_new(kek, kek_id);
    if (!kr) {
        snprintf(err, errlen, "out of memory");
        goto exit;
    }
    memcpy(kr->keks[0].audit_seed, audit, sizeof(audit));
    kr->keks[0].has_seed = 1;
exit:
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(audit, sizeof(audit));
    return kr;
}

const char *mdt_keyring_kek_id(mdt_keyring_t *kr)
{
    pthread_mutex_lock(&kr->lock);
    const char *id = kr->keks[kr->current].id;
    pthread_mutex_unlock(&kr->lock);
    return id;
}

int mdt_keyring_holds(mdt_keyring_t *kr, const char *kek_id)
{
    pthread_mutex_lock(&kr->lock);
    int held = kek_find(kr, kek_id) >= 0;
    pthread_mutex_unlock(&kr->lock);
    return held;
}

int mdt_keyring_unwrap(mdt_keyring_t *kr, const char *kek_id, int64_t owner,
                       const unsigned char wrapped[MDT_SEAL_WRAPPED_BYTES],
                       unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    unsigned char kek[MDT_SEAL_KEY_BYTES];
    pthread_mutex_lock(&kr->lock);
    int i = kek_id ? kek_find(kr, kek_id) : -1;
    if (i >= 0)
        memcpy(kek, kr->keks[i].kek, sizeof(kek));
    pthread_mutex_unlock(&kr->lock);
    if (i < 0)
        return -1;
    int rc = mdt_seal_unwrap(kek, owner, wrapped, dek);
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
}

int mdt_keyring_wrap(mdt_keyring_t *kr, int64_t owner, const unsigned char dek[MDT_SEAL_KEY_BYTES],
                     unsigned char wrapped[MDT_SEAL_WRAPPED_BYTES], char *kek_id)
{
    unsigned char kek[MDT_SEAL_KEY_BYTES];
    pthread_mutex_lock(&kr->lock);
    memcpy(kek, kr->keks[kr->current].kek, sizeof(kek));
    memcpy(kek_id, kr->keks[kr->current].id, KEK_ID_LEN);
    pthread_mutex_unlock(&kr->lock);
    int rc = mdt_seal_wrap(kek, owner, dek, wrapped);
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
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
static int unwrap_failed(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner, const char *kek_id)
{
    c->status = MDT_DB_ERROR;
    if (kek_id && !mdt_keyring_holds(kr, kek_id))
        snprintf(c->error, sizeof(c->error),
                 "the data key of owner %lld is wrapped by key id %.16s, which this node does not "
                 "hold (put that key file at MDT_KEY_FILE and send SIGHUP)",
                 (long long)owner, kek_id);
    else
        snprintf(c->error, sizeof(c->error),
                 "the data key of owner %lld does not unwrap under its KEK", (long long)owner);
    return MDT_DB_ERROR;
}

/* Reads owner's wrapped key and unwraps it with the KEK its row names.
 * MDT_DB_NOT_FOUND when none. *mine is set when the row is c's own
 * transaction's, not committed yet: such a key may still roll back, so it
 * is never cached (another connection would seal with a key that is not
 * visible to other nodes yet, or never will be). */
static int dek_read(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner,
                    unsigned char dek[MDT_SEAL_KEY_BYTES], int *mine)
{
    unsigned char w[MDT_SEAL_WRAPPED_BYTES];
    char kek_id[KEK_ID_LEN] = "";
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, owner);
    PGresult *r = mdt_db_query(c,
                               "SELECT kek_id, encode(wrapped, 'hex'),"
                               " coalesce(xmin = xid(pg_current_xact_id_if_assigned()), false)"
                               " FROM data_keys WHERE owner = $1",
                               &p);
    if (!r)
        return c->status;
    int rows = PQntuples(r);
    int ok = rows == 1 && wrapped_parse(mdt_db_str(r, 0, 1), w) == 0;
    if (rows == 1)
        snprintf(kek_id, sizeof(kek_id), "%s", mdt_db_str(r, 0, 0));
    *mine = rows == 1 && strcmp(mdt_db_str(r, 0, 2), "t") == 0;
    PQclear(r);
    if (rows == 0)
        return MDT_DB_NOT_FOUND;
    if (!ok || mdt_keyring_unwrap(kr, kek_id, owner, w, dek) != 0)
        return unwrap_failed(kr, c, owner, kek_id);
    return MDT_DB_OK;
}

/* Wraps dek for owner under the current KEK into the parameters ($1
 * owner, $2 kek_id, $3 the wrapped key as bytea text) of a data_keys write;
 * p points into kek_id and hex, which the caller keeps until it ran. 0 ok,
 * -1 on an OpenSSL failure. */
static int wrap_params(mdt_keyring_t *kr, int64_t owner,
                       const unsigned char dek[MDT_SEAL_KEY_BYTES], char kek_id[KEK_ID_LEN],
                       char hex[HEX_WRAPPED], mdt_db_params_t *p)
{
    unsigned char w[MDT_SEAL_WRAPPED_BYTES];
    if (mdt_keyring_wrap(kr, owner, dek, w, kek_id) != 0)
        return -1;
    wrapped_hex(w, hex);
    mdt_db_params_init(p);
    mdt_db_param_int(p, owner);
    mdt_db_param_str(p, kek_id);
    mdt_db_param_str(p, hex);
    return 0;
}

/* Wraps dek for owner under the current KEK and stores it; a key already
 * stored for owner (another writer's) wins. */
static int dek_store(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner,
                     const unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    char hex[HEX_WRAPPED], kek_id[KEK_ID_LEN];
    mdt_db_params_t p;
    if (wrap_params(kr, owner, dek, kek_id, hex, &p) != 0)
        return MDT_DB_ERROR;
    return mdt_db_exec(c,
                       "INSERT INTO data_keys (owner, kek_id, wrapped) VALUES ($1, $2, $3::bytea)"
                       " ON CONFLICT (owner) DO NOTHING",
                       &p);
}

/* Makes, wraps and stores a key for owner; another writer's key wins. */
static int dek_create(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner)
{
    unsigned char dek[MDT_SEAL_KEY_BYTES];
    int rc = mdt_crypto_random(dek, sizeof(dek)) == 0 ? dek_store(kr, c, owner, dek) : MDT_DB_ERROR;
    OPENSSL_cleanse(dek, sizeof(dek));
    return rc;
}

int mdt_keyring_dek(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner, int create,
                    unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    if (cache_get(kr, owner, dek))
        return MDT_DB_OK;
    int mine = 0;
    int rc = dek_read(kr, c, owner, dek, &mine);
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
            rc = dek_read(kr, c, owner, dek, &mine);
    }
    if (rc == MDT_DB_OK && !mine) /* only a committed key: see dek_read */
        cache_put(kr, owner, dek);
    return rc;
}

/* Writes the check value when there is none and no data key yet. */
static int check_create(mdt_keyring_t *kr, mdt_dbc_t *c)
{
    unsigned char probe[MDT_SEAL_KEY_BYTES], w[MDT_SEAL_WRAPPED_BYTES];
    char hex[HEX_WRAPPED], kek_id[KEK_ID_LEN];
    if (mdt_crypto_random(probe, sizeof(probe)) != 0 ||
        mdt_keyring_wrap(kr, CHECK_OWNER, probe, w, kek_id) != 0)
        return MDT_DB_ERROR;
    OPENSSL_cleanse(probe, sizeof(probe));
    wrapped_hex(w, hex);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, kek_id);
    mdt_db_param_str(&p, hex);
    return mdt_db_exec(c,
                       "INSERT INTO kek_check (id, kek_id, check_value)"
                       " SELECT 1, $1, $2::bytea WHERE NOT EXISTS (SELECT 1 FROM data_keys)"
                       " ON CONFLICT (id) DO NOTHING",
                       &p);
}

/* Reads kek_check: its key id into id and its value into w. 0 ok; -1
 * with err set (a database error, no row, a malformed value). */
static int check_read(mdt_dbc_t *c, char id[KEK_ID_LEN], unsigned char w[MDT_SEAL_WRAPPED_BYTES],
                      char *err, size_t errlen)
{
    PGresult *r = mdt_db_query(c, "SELECT kek_id, encode(check_value, 'hex') FROM kek_check", NULL);
    int rc = -1;
    if (!r)
        snprintf(err, errlen, "reading the key check value failed: %s", c->error);
    else if (PQntuples(r) != 1)
        snprintf(err, errlen, "the database holds data keys but no key check value");
    else if (wrapped_parse(mdt_db_str(r, 0, 1), w) != 0)
        snprintf(err, errlen, "the key check value is malformed");
    else
        rc = 0;
    if (rc == 0)
        snprintf(id, KEK_ID_LEN, "%s", mdt_db_str(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Stores the audit-chain key derived from the key file whose KEK kek_check
 * names, when the database holds none yet (the first start after the
 * audit key moved under the KEK). MDT_DB_OK when there is nothing to do. */
static int audit_adopt(mdt_keyring_t *kr, mdt_dbc_t *c, const char *check_id)
{
    unsigned char seed[MDT_SEAL_KEY_BYTES];
    int rc = mdt_keyring_dek(kr, c, MDT_KEYRING_AUDIT_OWNER, 0, seed); /* stored already? */
    OPENSSL_cleanse(seed, sizeof(seed));
    if (rc != MDT_DB_NOT_FOUND)
        return rc;
    pthread_mutex_lock(&kr->lock);
    int i = kek_find(kr, check_id);
    int has = i >= 0 && kr->keks[i].has_seed;
    if (has)
        memcpy(seed, kr->keks[i].audit_seed, sizeof(seed));
    pthread_mutex_unlock(&kr->lock);
    if (!has)
        return MDT_DB_OK;
    rc = dek_store(kr, c, MDT_KEYRING_AUDIT_OWNER, seed);
    OPENSSL_cleanse(seed, sizeof(seed));
    return rc;
}

int mdt_keyring_verify(mdt_keyring_t *kr, mdt_dbc_t *c, char *err, size_t errlen)
{
    unsigned char w[MDT_SEAL_WRAPPED_BYTES], probe[MDT_SEAL_KEY_BYTES];
    char id[KEK_ID_LEN];
    int rc = -1;
    if (check_create(kr, c) != MDT_DB_OK) {
        snprintf(err, errlen, "writing the key check value failed: %s", c->error);
        return -1;
    }
    if (check_read(c, id, w, err, errlen) != 0)
        return -1;
    if (mdt_keyring_unwrap(kr, id, CHECK_OWNER, w, probe) != 0) {
        if (mdt_keyring_holds(kr, id))
            snprintf(err, errlen,
                     "MDT_KEY_FILE names key id %s but holds another secret than the key of this "
                     "database: start with the right key file",
                     id);
        else
            snprintf(err, errlen,
                     "MDT_KEY_FILE (key id %s) is not the key of this database (its keys are "
                     "wrapped by key id %s): start with the right key file. If a KEK rotation is "
                     "under way and this is the new key file, finish it first (`mdtboard keys "
                     "rotate-kek --old FILE-OF-%s --new THIS-FILE`) or start with the old file",
                     mdt_keyring_kek_id(kr), id, id);
        goto exit;
    }
    if (audit_adopt(kr, c, id) != MDT_DB_OK) {
        snprintf(err, errlen, "storing the audit chain key failed: %s", c->error);
        goto exit;
    }
    pthread_mutex_lock(&kr->lock);
    kr->verified = 1;
    pthread_mutex_unlock(&kr->lock);
    rc = 0;
exit:
    OPENSSL_cleanse(probe, sizeof(probe));
    return rc;
}

int mdt_keyring_audit_key(mdt_keyring_t *kr, mdt_dbc_t *c, unsigned char key[MDT_SEAL_KEY_BYTES],
                          char *err, size_t errlen)
{
    int rc = mdt_keyring_dek(kr, c, MDT_KEYRING_AUDIT_OWNER, 0, key);
    if (rc == MDT_DB_NOT_FOUND)
        snprintf(err, errlen,
                 "the database holds no audit chain key yet (run `mdtboard migrate` "
                 "with MDT_KEY_FILE set)");
    else if (rc != MDT_DB_OK)
        snprintf(err, errlen, "reading the audit chain key failed: %s", c->error);
    return rc == MDT_DB_OK ? 0 : -1;
}

/* Checks a KEK loaded on SIGHUP against what the database says of its
 * id: kek_check's value when it names the id, else one data key wrapped
 * under it, if any. 0 fit; -1 with msg set. */
static int reload_fits(mdt_dbc_t *c, const unsigned char kek[MDT_SEAL_KEY_BYTES], const char *id,
                       char *msg, size_t msglen)
{
    unsigned char w[MDT_SEAL_WRAPPED_BYTES], probe[MDT_SEAL_KEY_BYTES];
    char check_id[KEK_ID_LEN];
    int64_t owner = CHECK_OWNER;
    if (check_read(c, check_id, w, msg, msglen) != 0)
        return -1;
    if (strcmp(check_id, id) != 0) {
        mdt_db_params_t p;
        mdt_db_params_init(&p);
        mdt_db_param_str(&p, id);
        PGresult *r = mdt_db_query(c,
                                   "SELECT owner, encode(wrapped, 'hex') FROM data_keys"
                                   " WHERE kek_id = $1 LIMIT 1",
                                   &p);
        if (!r) {
            snprintf(msg, msglen, "reading the data keys failed: %s", c->error);
            return -1;
        }
        int rows = PQntuples(r);
        owner = rows ? mdt_db_int(r, 0, 0) : 0;
        int ok = rows && wrapped_parse(mdt_db_str(r, 0, 1), w) == 0;
        PQclear(r);
        if (!rows)
            return 0; /* a new KEK: nothing names it yet */
        if (!ok) {
            snprintf(msg, msglen, "a data key wrapped by key id %s is malformed", id);
            return -1;
        }
    }
    int rc = mdt_seal_unwrap(kek, owner, w, probe) == 0 ? 0 : -1;
    OPENSSL_cleanse(probe, sizeof(probe));
    if (rc != 0)
        snprintf(msg, msglen,
                 "the key file names key id %s but is not the key the database holds under that "
                 "id",
                 id);
    return rc;
}

/* Adds kek named id, with a reason in msg either way (see
 * mdt_keyring_add for the value). */
static int reload_add(mdt_keyring_t *kr, const unsigned char kek[MDT_SEAL_KEY_BYTES],
                      const char *id, char *msg, size_t msglen)
{
    int rc = mdt_keyring_add(kr, kek, id);
    if (rc < 0)
        snprintf(msg, msglen, "key id %s: %s", id,
                 mdt_keyring_holds(kr, id)
                     ? "another secret than the one held under that id"
                     : "the same secret as a key held under another id, or too many keys held");
    else
        snprintf(msg, msglen, "key id %s is current; new keys are wrapped under it", id);
    return rc;
}

int mdt_keyring_add_file(mdt_keyring_t *kr, const char *path, char kek_id[17], char *msg,
                         size_t msglen)
{
    unsigned char kek[MDT_SEAL_KEY_BYTES], audit[MDT_SEAL_KEY_BYTES];
    int rc = kek_from_file(path, kek, audit, kek_id, msg, msglen);
    if (rc == 0)
        rc = reload_add(kr, kek, kek_id, msg, msglen);
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(audit, sizeof(audit));
    return rc;
}

int mdt_keyring_reload(mdt_keyring_t *kr, mdt_dbc_t *c, const char *path, char *msg, size_t msglen)
{
    unsigned char kek[MDT_SEAL_KEY_BYTES], audit[MDT_SEAL_KEY_BYTES];
    char id[KEK_ID_LEN];
    int rc = -1;
    if (kek_from_file(path, kek, audit, id, msg, msglen) != 0)
        goto exit;
    if (!mdt_keyring_holds(kr, id) && reload_fits(c, kek, id, msg, msglen) != 0)
        goto exit;
    rc = reload_add(kr, kek, id, msg, msglen);
exit:
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(audit, sizeof(audit));
    return rc;
}

/* Re-wraps one locked row (owner, hex) from from_id to the current KEK. */
static int rewrap_row(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner, const char *hex,
                      const char *from_id)
{
    unsigned char w[MDT_SEAL_WRAPPED_BYTES], dek[MDT_SEAL_KEY_BYTES];
    char out[HEX_WRAPPED], kek_id[KEK_ID_LEN];
    mdt_db_params_t p;
    int rc = MDT_DB_ERROR;
    if (wrapped_parse(hex, w) != 0 || mdt_keyring_unwrap(kr, from_id, owner, w, dek) != 0) {
        unwrap_failed(kr, c, owner, from_id);
        goto exit;
    }
    if (wrap_params(kr, owner, dek, kek_id, out, &p) != 0)
        goto exit;
    rc = mdt_db_exec(c,
                     "UPDATE data_keys SET kek_id = $2, wrapped = $3::bytea, rewrapped_at = now()"
                     " WHERE owner = $1",
                     &p);
exit:
    OPENSSL_cleanse(dek, sizeof(dek));
    return rc;
}

int mdt_keyring_rewrap_batch(mdt_keyring_t *kr, mdt_dbc_t *c, const char *from_id, int limit,
                             int *done)
{
    *done = 0;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, from_id);
    mdt_db_param_int(&p, limit);
    if (mdt_db_begin(c, NULL) != MDT_DB_OK)
        return c->status;
    PGresult *r = mdt_db_query(c,
                               "SELECT owner, encode(wrapped, 'hex') FROM data_keys"
                               " WHERE kek_id = $1 ORDER BY owner LIMIT $2 FOR UPDATE",
                               &p);
    int rc = r ? MDT_DB_OK : c->status;
    for (int i = 0; r && rc == MDT_DB_OK && i < PQntuples(r); i++)
        rc = rewrap_row(kr, c, mdt_db_int(r, i, 0), mdt_db_str(r, i, 1), from_id);
    int n = r ? PQntuples(r) : 0;
    PQclear(r);
    if (rc == MDT_DB_OK && (rc = mdt_db_commit(c)) == MDT_DB_OK)
        *done = n;
    if (rc != MDT_DB_OK)
        mdt_db_rollback(c);
    return rc;
}

int mdt_keyring_move_check(mdt_keyring_t *kr, mdt_dbc_t *c, const char *from_id)
{
    unsigned char probe[MDT_SEAL_KEY_BYTES], w[MDT_SEAL_WRAPPED_BYTES];
    char hex[HEX_WRAPPED], kek_id[KEK_ID_LEN];
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, from_id);
    if (mdt_crypto_random(probe, sizeof(probe)) != 0 ||
        mdt_keyring_wrap(kr, CHECK_OWNER, probe, w, kek_id) != 0)
        return MDT_DB_ERROR;
    OPENSSL_cleanse(probe, sizeof(probe));
    wrapped_hex(w, hex);
    if (mdt_db_begin(c, NULL) != MDT_DB_OK)
        return c->status;
    PGresult *r = mdt_db_query(c,
                               "SELECT (SELECT count(*) FROM data_keys WHERE kek_id = $1)"
                               " FROM kek_check FOR UPDATE",
                               &p);
    int rc = !r                                             ? c->status
             : PQntuples(r) != 1 || mdt_db_int(r, 0, 0) > 0 ? MDT_DB_CONFLICT
                                                            : MDT_DB_OK;
    PQclear(r);
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, kek_id);
    mdt_db_param_str(&p, hex);
    if (rc == MDT_DB_OK)
        rc = mdt_db_exec(c, "UPDATE kek_check SET kek_id = $1, check_value = $2::bytea", &p);
    if (rc == MDT_DB_OK)
        rc = mdt_db_commit(c);
    if (rc != MDT_DB_OK)
        mdt_db_rollback(c);
    return rc;
}
