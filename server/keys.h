/* keys.h - the installation key file (MDT_KEY_FILE).
 *
 * One small text file, mode 0600, never in the database, holds the
 * installation's master secret (32 random bytes) and a key id. Keys are
 * derived from the master secret with HKDF-SHA-256 under a distinct label:
 * "kek" is the key-encryption key of at-rest encryption (keyring.h);
 * "audit-chain" is the audit log's HMAC key of the file an installation
 * first used, which is then stored wrapped under the KEK (so rotating the
 * key file keeps the chain). The format
 * (docs/operations.md):
 *
 *   # comment lines and blank lines are ignored
 *   mdtboard-key 1               <- format version, the first other line
 *   key-id <16 lowercase hex>    <- names the secret (for rotation, logs)
 *   master <64 lowercase hex>    <- the master secret
 *
 * Nothing here logs or prints key material; mdt_keys_wipe() clears it. */
#ifndef MDT_KEYS_H
#define MDT_KEYS_H

#include <stddef.h>

#define MDT_KEYS_VERSION      1
#define MDT_KEYS_SECRET_BYTES 32
#define MDT_KEYS_ID_BYTES     8
#define MDT_KEYS_MAX_FILE     4096

/* HKDF labels (the "info" input); each use of the secret has its own. */
#define MDT_KEYS_LABEL_AUDIT "audit-chain"
#define MDT_KEYS_LABEL_KEK   "kek"

typedef struct {
    int version;
    char key_id[2 * MDT_KEYS_ID_BYTES + 1]; /* lowercase hex */
    unsigned char master[MDT_KEYS_SECRET_BYTES];
} mdt_keys_t;

/* Parses a key file's text (len bytes, need not be NUL-terminated) into
 * out. 0 ok; -1 with a reason in err (never containing key material). */
int mdt_keys_parse(const char *text, size_t len, mdt_keys_t *out, char *err, size_t errlen);

/* Reads and parses the key file at path. Refuses a file that is not a
 * regular file or that group or others may read or write. 0 ok; -1 with a
 * reason in err. */
int mdt_keys_load(const char *path, mdt_keys_t *out, char *err, size_t errlen);

/* Creates a new key file at path (mode 0600) with a fresh random secret
 * and key id; refuses to overwrite anything that exists. On success the new
 * key id is copied into key_id (17 chars) when it is not NULL. 0 ok; -1 with
 * a reason in err (a half-written file is removed). */
int mdt_keys_create(const char *path, char key_id[2 * MDT_KEYS_ID_BYTES + 1], char *err,
                    size_t errlen);

/* Derives outlen bytes for label from the master secret: HKDF-SHA-256 with
 * salt "mdtboard key file v1" and info label. 0 ok, -1 on an OpenSSL
 * failure (out then holds nothing usable). */
int mdt_keys_derive(const mdt_keys_t *k, const char *label, unsigned char *out, size_t outlen);

/* RFC 5869 HKDF-SHA-256 (extract and expand). 0 ok, -1 failure. */
int mdt_keys_hkdf(const unsigned char *ikm, size_t ikmlen, const unsigned char *salt,
                  size_t saltlen, const unsigned char *info, size_t infolen, unsigned char *out,
                  size_t outlen);

/* Clears k's secret. */
void mdt_keys_wipe(mdt_keys_t *k);

#endif
