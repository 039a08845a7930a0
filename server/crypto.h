/* crypto.h - small OpenSSL helpers shared by the security modules.
 *
 * Random bytes and tokens, SHA-256 and HMAC-SHA-256, hex, standard base64
 * (RFC 4648, no line breaks) and a constant-time comparison. Every function
 * is pure apart from drawing on OpenSSL's random generator: no global state,
 * safe from any thread, errors returned. */
#ifndef MDT_CRYPTO_H
#define MDT_CRYPTO_H

#include <stddef.h>

/* Fills buf with n bytes from OpenSSL's CSPRNG. 0 ok, -1 failure (buf then
 * holds nothing usable). */
int mdt_crypto_random(unsigned char *buf, size_t n);

/* Writes a random token of nbytes bytes as lowercase hex into out, which must
 * hold 2 * nbytes + 1 chars (session ids use 32 bytes). 0 ok, -1 failure
 * (out is then the empty string). */
int mdt_crypto_token_hex(char *out, size_t nbytes);

/* SHA-256 of data into out. Never leaves out predictable: should OpenSSL fail
 * (it can only fail to allocate), out is filled with random bytes so that it
 * matches no stored hash, and the process aborts if even that fails. */
void mdt_crypto_sha256(const void *data, size_t len, unsigned char out[32]);
/* The same, as 64 lowercase hex digits and a NUL. */
void mdt_crypto_sha256_hex(const void *data, size_t len, char out[65]);

/* Lowercase hex of in[0..n) into out, which must hold 2 * n + 1 chars. */
void mdt_crypto_hex(const unsigned char *in, size_t n, char *out);

/* Constant-time comparison of n bytes: 1 when equal, 0 otherwise. The time
 * depends on n only, never on the contents. */
int mdt_crypto_equal(const void *a, const void *b, size_t n);

/* HMAC-SHA-256 of data under key, as 64 lowercase hex digits and a NUL.
 * 0 ok, -1 failure (out is then the empty string). */
int mdt_crypto_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                               char out[65]);

/* Room base64 needs for n bytes, including the NUL. */
#define MDT_CRYPTO_B64_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/* Standard base64 with '=' padding and no line breaks, NUL-terminated.
 * Returns the length written (without the NUL), or 0 when outsz is smaller
 * than MDT_CRYPTO_B64_SIZE(n) (out is then "" if outsz > 0). */
size_t mdt_crypto_b64_encode(const unsigned char *in, size_t n, char *out, size_t outsz);

/* Decodes NUL-terminated standard base64. Padding may be present or left out,
 * but nothing else: no whitespace, no URL-safe alphabet, no '=' before the
 * end, no non-zero leftover bits (so each byte string has one encoding).
 * Returns the number of bytes decoded, or -1 on bad input or when outsz is
 * too small. Bytes of out past the decoded ones (within outsz) may be
 * overwritten too (whole words are stored). */
long mdt_crypto_b64_decode(const char *in, unsigned char *out, size_t outsz);

#endif
