/* totp.h - one-time passwords for multi-factor login: HOTP (RFC 4226) and
 * TOTP (RFC 6238) with OpenSSL's HMAC, base32 secrets (RFC 4648) and the
 * otpauth:// URI authenticator apps scan.
 *
 * Logins use SHA-1, 30-second steps and 6 digits (what every authenticator
 * app supports), accept the step before and after the current one for clock
 * drift, and refuse any step at or before the last one used, so a code
 * works once. Pure and thread-safe; errors are returned. */
#ifndef MDT_TOTP_H
#define MDT_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define MDT_TOTP_SECRET_LEN 20 /* bytes: the RFC 4226 recommendation (160 bits) */
#define MDT_TOTP_STEP       30 /* seconds */
#define MDT_TOTP_DIGITS     6

/* HOTP value for counter (RFC 4226 section 5.3): HMAC with md ("SHA1",
 * "SHA256" or "SHA512", exactly), dynamic truncation, modulo 10^digits.
 * For TOTP, counter is unix time / step. digits 1..9. Returns the code as an
 * int (print it with leading zeros: "%0*d"), or -1 on bad arguments or an
 * OpenSSL failure. */
int mdt_totp_code(const unsigned char *key, size_t keylen, const char *md, uint64_t counter,
                  int digits);

/* Checks a login code: code must be exactly 6 ASCII digits; it is compared
 * (in constant time) against SHA-1 TOTP values for the steps now-1, now and
 * now+1 (step = now_unix / 30), skipping any step <= last_used_step (pass -1
 * when none was used yet). Returns 1 on a match and sets *matched_step (if
 * not NULL) to the highest step that matched, which the caller stores as the
 * new last_used_step; 0 otherwise (*matched_step untouched). */
int mdt_totp_verify(const unsigned char *key, size_t keylen, const char *code, int64_t now_unix,
                    int64_t last_used_step, int64_t *matched_step);

/* Base32 (RFC 4648 alphabet, upper case, no padding) of in[0..n), NUL
 * terminated. Returns the length written, or -1 when outsz is too small
 * (it needs (n * 8 + 4) / 5 + 1). */
int mdt_totp_b32_encode(const unsigned char *in, size_t n, char *out, size_t outsz);

/* Decodes base32, case-insensitive, ignoring spaces, with or without '='
 * padding (which may only come at the end). Refuses characters outside the
 * alphabet, impossible lengths and non-zero leftover bits. Returns the number
 * of bytes written, or -1 on bad input or when outsz is too small. */
long mdt_totp_b32_decode(const char *in, unsigned char *out, size_t outsz);

/* Fills key with a fresh random secret. 0 ok, -1 failure. */
int mdt_totp_new_secret(unsigned char key[MDT_TOTP_SECRET_LEN]);

/* Builds the provisioning URI
 *   otpauth://totp/<issuer>:<account>?secret=<secret_b32>&issuer=<issuer>
 *   &algorithm=SHA1&digits=6&period=30
 * with issuer, account and secret percent-encoded (everything but RFC 3986
 * unreserved characters, so ':' '@' '&' '?' '/' and spaces are escaped).
 * Returns a malloc'ed string the caller frees, or NULL when an argument is
 * NULL, empty or longer than 1024 bytes, or memory runs out. */
char *mdt_totp_uri(const char *issuer, const char *account, const char *secret_b32);

#endif
