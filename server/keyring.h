/* keyring.h - the key-encryption keys and the data keys they wrap.
 *
 * A KEK is derived from an installation key file (keys.h, label "kek"); it
 * never reaches the database. Each case has its own data key, and the
 * installation has two more: owner 0 (TOTP secrets) and owner
 * MDT_KEYRING_AUDIT_OWNER (the audit chain's HMAC key), each stored in
 * data_keys wrapped under a KEK (seal.h) and named by that KEK's key id.
 * kek_check holds one value wrapped under the database's current KEK, so a
 * server started with the wrong key file refuses to run instead of writing
 * data no one can read.
 *
 * A keyring holds every KEK its process has loaded (a KEK rotation: the
 * old and the new), by key id; the one loaded last is current and wraps
 * new keys, and a wrapped key is unwrapped with the KEK its row names.
 * KEKs are added (mdt_keyring_reload, on SIGHUP), never removed while the
 * process runs. A keyring is shared by every database thread of a process:
 * the KEKs and the unwrapped data keys (a fixed number of cache slots, a
 * case's key replacing whatever shared its slot) sit behind one mutex.
 * Nothing here logs or prints a key. */
#ifndef MDT_KEYRING_H
#define MDT_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "seal.h"

typedef struct mdt_keyring mdt_keyring_t;

/* The data_keys owner of the audit chain's key: never a case (case ids are
 * positive), never purged. -1 is the owner kek_check's value is wrapped
 * for (it has no data_keys row). */
#define MDT_KEYRING_AUDIT_OWNER (-2)
/* The most KEKs one process holds (reloads beyond it are refused). */
#define MDT_KEYRING_MAX_KEKS 8

/* A keyring for kek (copied; the caller may wipe its copy) named kek_id
 * (16 hex digits, the key file's id). NULL when out of memory. */
mdt_keyring_t *mdt_keyring_new(const unsigned char kek[MDT_SEAL_KEY_BYTES], const char *kek_id);
/* Wipes the KEK and every cached key, then frees. NULL is fine. */
void mdt_keyring_free(mdt_keyring_t *kr);

/* Loads the key file at path and derives its KEK (and the audit-chain key
 * the file would key, kept to adopt it: mdt_keyring_verify) into a new
 * keyring. NULL with a reason in err (never key material). */
mdt_keyring_t *mdt_keyring_load(const char *path, char *err, size_t errlen);

/* Adds kek named kek_id (copied) and makes it current. 0 added; 1 it was
 * held already (now current again); -1 refused: another secret under a
 * held key id, the same secret as a held key under another id, or the
 * keyring is full. */
int mdt_keyring_add(mdt_keyring_t *kr, const unsigned char kek[MDT_SEAL_KEY_BYTES],
                    const char *kek_id);

/* The key id of the current KEK (16 hex digits). The pointer stays valid
 * as long as kr (a later reload makes another id current). */
const char *mdt_keyring_kek_id(mdt_keyring_t *kr);

/* 1 when kr holds a KEK named kek_id, else 0. */
int mdt_keyring_holds(mdt_keyring_t *kr, const char *kek_id);

/* Unwraps a key wrapped for owner under the KEK named kek_id (any thread).
 * 0 ok; -1 when kr does not hold that KEK or the key does not authenticate
 * under it. */
int mdt_keyring_unwrap(mdt_keyring_t *kr, const char *kek_id, int64_t owner,
                       const unsigned char wrapped[MDT_SEAL_WRAPPED_BYTES],
                       unsigned char dek[MDT_SEAL_KEY_BYTES]);

/* Wraps dek for owner under the current KEK; kek_id (17 chars) receives
 * its id. 0 ok, -1 on an OpenSSL failure. */
int mdt_keyring_wrap(mdt_keyring_t *kr, int64_t owner, const unsigned char dek[MDT_SEAL_KEY_BYTES],
                     unsigned char wrapped[MDT_SEAL_WRAPPED_BYTES], char *kek_id);

/* DB thread: checks that kr holds the KEK kek_check names, writing the
 * check value (under the current KEK) when the table is empty and no data
 * key exists yet (a new installation). Then, when the database holds no
 * audit-chain key yet, stores the one derived from the key file that
 * matched (so a chain keyed before keys were stored verifies unchanged).
 * 0 ok; -1 with a reason in err: the wrong key file for this database, or
 * a database error. */
int mdt_keyring_verify(mdt_keyring_t *kr, mdt_dbc_t *c, char *err, size_t errlen);

/* DB thread: the audit chain's key (unwrapped from data_keys) into key.
 * 0 ok; -1 with a reason in err (none stored: mdt_keyring_verify first). */
int mdt_keyring_audit_key(mdt_keyring_t *kr, mdt_dbc_t *c, unsigned char key[MDT_SEAL_KEY_BYTES],
                          char *err, size_t errlen);

/* DB thread (SIGHUP): loads the key file at path and, when it is fit,
 * adds its KEK and makes it current. Fit: its key id is kek_check's and it
 * opens the check value; or data keys already wrapped under its id unwrap
 * with it; or nothing in the database names its id yet (the new KEK of a
 * rotation). 0 loaded (msg says which id is current), 1 nothing changed
 * (the current KEK again), -1 refused with the reason in msg (the keyring
 * is unchanged). */
int mdt_keyring_reload(mdt_keyring_t *kr, mdt_dbc_t *c, const char *path, char *msg, size_t msglen);

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

/* Loads the key file at path and adds its KEK (mdt_keyring_add: the
 * value), with no check against a database; kek_id (17 chars) receives its
 * id. msg says what happened or why not (-1: also an unreadable file). */
int mdt_keyring_add_file(mdt_keyring_t *kr, const char *path, char kek_id[17], char *msg,
                         size_t msglen);

/* DB thread (keys rotate-kek): in one transaction, re-wraps up to limit
 * data keys wrapped by from_id (which kr must hold) under the current KEK,
 * setting rewrapped_at; *done receives how many. Only data_keys rows
 * change. MDT_DB_OK or an error status (nothing of the batch changed). */
int mdt_keyring_rewrap_batch(mdt_keyring_t *kr, mdt_dbc_t *c, const char *from_id, int limit,
                             int *done);

/* DB thread: moves kek_check to the current KEK when no data key is
 * wrapped by from_id any more. MDT_DB_OK; MDT_DB_CONFLICT when some still
 * are (a node wrapped a new key meanwhile: re-wrap again); or an error. */
int mdt_keyring_move_check(mdt_keyring_t *kr, mdt_dbc_t *c, const char *from_id);

#endif
