/* password.h - password hashing with scrypt (OpenSSL EVP_PBE_scrypt) and the
 * password policy.
 *
 * Hashes are stored as "$scrypt$ln=15,r=8,p=1$<b64 salt>$<b64 key>" (N is
 * 2^ln, standard padded base64, 16-byte random salt, 32-byte key), so the
 * parameters travel with the hash and can be raised later: verification reads
 * them back from the encoding, mdt_password_needs_rehash says when a stored
 * hash is below the current ones. Hashing costs ~100 ms of CPU and ~32 MiB:
 * call it from the worker pool, never on the event loop. Pure and
 * thread-safe; errors are returned. */
#ifndef MDT_PASSWORD_H
#define MDT_PASSWORD_H

/* Room for any encoding mdt_password_hash writes, NUL included. */
#define MDT_PASSWORD_HASH_MAX 160

/* Policy bounds. */
#define MDT_PASSWORD_MIN_CHARS 12   /* Unicode code points */
#define MDT_PASSWORD_MAX_BYTES 1024 /* UTF-8 bytes */

/* Hashes password (NUL-terminated, any bytes) with a fresh random salt and
 * the current parameters into out. 0 ok, -1 failure (out is then ""). Does
 * not apply the policy: call mdt_password_policy first when setting one. */
int mdt_password_hash(const char *password, char out[MDT_PASSWORD_HASH_MAX]);

/* Checks password against an encoding written by mdt_password_hash (with any
 * accepted parameters: ln 10..20, r 1..16, p 1..4, salt 8..64 bytes, key
 * 16..64 bytes). 1 match, 0 mismatch, -1 malformed encoding, parameters
 * needing more than 256 MiB, or an OpenSSL failure. The key comparison is
 * constant-time. */
int mdt_password_verify(const char *password, const char *encoded);

/* A fixed, valid encoding with the current parameters whose password nobody
 * knows: verify against it for unknown users so they cost the same work as
 * known ones. mdt_password_verify(anything, dummy) returns 0. Static. */
const char *mdt_password_dummy_hash(void);

/* Applies the policy to a password being set: at least 12 code points, at
 * most 1024 bytes, valid UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF). 0 acceptable; -1 refused with *why (if why is not NULL) set
 * to a static English sentence such as "password must be at least 12
 * characters". */
int mdt_password_policy(const char *password, const char **why);

/* 1 when encoded is a valid encoding whose parameters (ln, r, p, salt or key
 * length) are below the current ones, so it should be replaced by a new hash
 * after a successful login; 0 when it is current; -1 when malformed. */
int mdt_password_needs_rehash(const char *encoded);

#endif
