/* seal.h - authenticated encryption of values at rest (AES-256-GCM).
 *
 * A sealed value is text that fits in the column the plain value used:
 *
 *   "mdtenc1:" base64( nonce[12] || ciphertext || tag[16] )
 *
 * under a 32-byte data key, with associated data that names where the value
 * lives (mdt_seal_where_t: object type, field, object id, case id, PII
 * category): the same bytes copied into another row, field or case fail to
 * open. Data keys are themselves sealed (wrapped) under the key-encryption
 * key with associated data naming the key's owner (a case, or the
 * installation). Pure functions: no state, safe from any thread, errors
 * returned; nothing here logs or prints a key or a plain value. */
#ifndef MDT_SEAL_H
#define MDT_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define MDT_SEAL_KEY_BYTES 32
#define MDT_SEAL_PREFIX    "mdtenc1:"

/* Where a value lives: its associated data. object is the logical object
 * type ("entry", "action", "service", "consent", "pii", "tracking",
 * "outcome", "user"), field the column (or a JSON member path), id the
 * object's row id (for composite keys such as an outcome, the meeting id),
 * case_id its case (0: none, e.g. a TOTP secret), category the PII
 * category or "" (a history row is the same place as its object: its
 * versions are the object's, not other objects). */
typedef struct {
    const char *object;
    const char *field;
    int64_t id;
    int64_t case_id;
    const char *category;
} mdt_seal_where_t;

/* 1 when s is a sealed value (starts with MDT_SEAL_PREFIX), else 0. */
int mdt_seal_is_sealed(const char *s);

/* Seals len bytes of plain under key for where. *out receives a malloc'ed
 * NUL-terminated sealed text (the caller frees it). 0 ok, -1 on an OpenSSL
 * or allocation failure (*out NULL). */
int mdt_seal_value(const unsigned char key[MDT_SEAL_KEY_BYTES], const mdt_seal_where_t *where,
                   const void *plain, size_t len, char **out);

/* Opens sealed text under key for where. *out receives a malloc'ed copy of
 * the plain bytes with a NUL after them (the caller frees it; *outlen gets
 * the length without the NUL when outlen is not NULL). 0 ok; -1 when the
 * text is not sealed, is malformed, or does not authenticate for this key
 * and place (a copied value, a wrong key, a changed byte): *out NULL. */
int mdt_seal_open(const unsigned char key[MDT_SEAL_KEY_BYTES], const mdt_seal_where_t *where,
                  const char *sealed, char **out, size_t *outlen);

/* A reusable opener for many values on one thread (a result set): one
 * EVP_CIPHER_CTX whose key schedule is kept while consecutive values use
 * the same key, and one buffer that grows to the largest value. Nothing of
 * one value carries to the next: every open sets the key when it differs
 * (compared in constant time), a fresh nonce (which resets GCM's state),
 * the value's associated data and its tag. The buffer is overwritten by
 * the next value and wiped when it grows, after a refusal and at free (not
 * between good values: their plain text is handed on to the caller, which
 * keeps its own copy). Not shared between threads. */
typedef struct mdt_seal_opener mdt_seal_opener_t;

/* NULL when out of memory. */
mdt_seal_opener_t *mdt_seal_opener_new(void);
/* Wipes the buffer and the key copy, then frees. NULL is fine. */
void mdt_seal_opener_free(mdt_seal_opener_t *o);

/* Opens sealed text under key for where, like mdt_seal_open, into o's
 * buffer: *out points at the plain bytes followed by a NUL, *outlen (when
 * not NULL) their length. They stay valid until the next call on o or its
 * free. 0 ok; -1 as mdt_seal_open (*out NULL, the buffer wiped: nothing of
 * the refused value is left). */
int mdt_seal_opener_open(mdt_seal_opener_t *o, const unsigned char key[MDT_SEAL_KEY_BYTES],
                         const mdt_seal_where_t *where, const char *sealed, const char **out,
                         size_t *outlen);

/* Wraps a data key under the KEK for its owner (case_id, or 0 for the
 * installation key): out receives 12 + 32 + 16 = MDT_SEAL_WRAPPED_BYTES
 * bytes. 0 ok, -1 failure. */
#define MDT_SEAL_WRAPPED_BYTES (12 + MDT_SEAL_KEY_BYTES + 16)
int mdt_seal_wrap(const unsigned char kek[MDT_SEAL_KEY_BYTES], int64_t case_id,
                  const unsigned char dek[MDT_SEAL_KEY_BYTES],
                  unsigned char out[MDT_SEAL_WRAPPED_BYTES]);

/* Unwraps what mdt_seal_wrap made for the same owner. 0 ok; -1 when it
 * does not authenticate (another KEK, another owner, a changed byte). */
int mdt_seal_unwrap(const unsigned char kek[MDT_SEAL_KEY_BYTES], int64_t case_id,
                    const unsigned char wrapped[MDT_SEAL_WRAPPED_BYTES],
                    unsigned char dek[MDT_SEAL_KEY_BYTES]);

#endif
