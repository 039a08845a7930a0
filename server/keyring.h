/* keyring.h - the key-encryption key and the data keys it wraps.
 *
 * The KEK is derived from the installation key file (keys.h, label "kek");
 * it never reaches the database. Each case has its own data key, and the
 * installation has one (owner 0: TOTP secrets), each stored in data_keys
 * wrapped under the KEK (seal.h) and named by the KEK's key id. kek_check
 * holds one value wrapped under the KEK, so a server started with the wrong
 * key file refuses to run instead of writing data no one can read.
 *
 * A keyring is shared by every database thread of a process: unwrapped data
 * keys are cached behind a mutex (a fixed number of slots, a case's key
 * replacing whatever shared its slot). Nothing here logs or prints a key. */
#ifndef MDT_KEYRING_H
#define MDT_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "seal.h"

typedef struct mdt_keyring mdt_keyring_t;

/* A keyring for kek (copied; the caller may wipe its copy) named kek_id
 * (16 hex digits, the key file's id). NULL when out of memory. */
mdt_keyring_t *mdt_keyring_new(const unsigned char kek[MDT_SEAL_KEY_BYTES], const char *kek_id);
/* Wipes the KEK and every cached key, then frees. NULL is fine. */
void mdt_keyring_free(mdt_keyring_t *kr);

/* Loads the key file at path and derives its KEK into a new keyring.
 * NULL with a reason in err (never key material). */
mdt_keyring_t *mdt_keyring_load(const char *path, char *err, size_t errlen);

/* The key id of the KEK (16 hex digits). */
const char *mdt_keyring_kek_id(const mdt_keyring_t *kr);

/* DB thread: checks the KEK against kek_check, writing the check value when
 * the table is empty and no data key exists yet (a new installation).
 * 0 ok; -1 with a reason in err: the wrong key file for this database, or
 * a database error. */
int mdt_keyring_verify(mdt_keyring_t *kr, mdt_dbc_t *c, char *err, size_t errlen);

/* DB thread: the data key of owner (a case id, or 0 for the installation)
 * into dek. When there is none and create is set, a new random key is
 * wrapped and stored (ON CONFLICT: another node's key wins and is used).
 * Returns MDT_DB_OK, MDT_DB_NOT_FOUND (none, create not set), or the
 * database status; a key that does not unwrap is MDT_DB_ERROR with
 * c->error saying so. */
int mdt_keyring_dek(mdt_keyring_t *kr, mdt_dbc_t *c, int64_t owner, int create,
                    unsigned char dek[MDT_SEAL_KEY_BYTES]);

/* Drops owner's key from the cache (its data key was deleted: a purge). */
void mdt_keyring_forget(mdt_keyring_t *kr, int64_t owner);

#endif
