/* totp.c - HOTP/TOTP codes, login-code verification with replay refusal,
 * base32 and otpauth:// URIs (see totp.h). No state of its own. */
#include "totp.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"

#define TOTP_URI_FIELD_MAX 1024

static const char totp_b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static const EVP_MD *totp_md(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "SHA1") == 0)
        return EVP_sha1();
    if (strcmp(name, "SHA256") == 0)
        return EVP_sha256();
    if (strcmp(name, "SHA512") == 0)
        return EVP_sha512();
    return NULL;
}

int mdt_totp_code(const unsigned char *key, size_t keylen, const char *md, uint64_t counter,
                  int digits)
{
    static const unsigned char empty[1];
    static const int pow10[] = {1,      10,      100,      1000,      10000,
                                100000, 1000000, 10000000, 100000000, 1000000000};
    const EVP_MD *m = totp_md(md);
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    uint32_t bin;
    int off;

    if (!m || (!key && keylen) || keylen > INT_MAX || digits < 1 || digits > 9)
        return -1;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(counter & 0xff);
        counter >>= 8;
    }
    if (!HMAC(m, keylen ? key : empty, (int)keylen, msg, sizeof(msg), mac, &maclen) || maclen < 20)
        return -1;
    /* Dynamic truncation (RFC 4226 section 5.3). */
    off = mac[maclen - 1] & 0x0f;
    bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
          ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    OPENSSL_cleanse(mac, sizeof(mac));
    return (int)(bin % (uint32_t)pow10[digits]);
}

int mdt_totp_verify(const unsigned char *key, size_t keylen, const char *code, int64_t now_unix,
                    int64_t last_used_step, int64_t *matched_step)
{
    int64_t now_step, found = -1;

    if (!key || keylen == 0 || !code || now_unix < 0)
        return 0;
    for (int i = 0; i < MDT_TOTP_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    if (code[MDT_TOTP_DIGITS] != '\0')
        return 0;
    now_step = now_unix / MDT_TOTP_STEP;
    /* Every candidate step is computed and compared, matched or not. */
    for (int64_t step = now_step - 1; step <= now_step + 1; step++) {
        char want[16];
        int v;

        if (step < 0 || step <= last_used_step)
            continue;
        v = mdt_totp_code(key, keylen, "SHA1", (uint64_t)step, MDT_TOTP_DIGITS);
        if (v < 0)
            continue;
        snprintf(want, sizeof(want), "%0*d", MDT_TOTP_DIGITS, v);
        if (CRYPTO_memcmp(want, code, MDT_TOTP_DIGITS) == 0)
            found = step;
        OPENSSL_cleanse(want, sizeof(want));
    }
    if (found < 0)
        return 0;
    if (matched_step)
        *matched_step = found;
    return 1;
}

int mdt_totp_b32_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    if (n > (size_t)INT_MAX / 8 || outsz < (n * 8 + 4) / 5 + 1) {
        if (outsz > 0)
            out[0] = '\0';
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = totp_b32_alphabet[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        out[o++] = totp_b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return (int)o;
}

static int totp_b32_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

long mdt_totp_b32_decode(const char *in, unsigned char *out, size_t outsz)
{
    size_t o = 0, nchars = 0, npad = 0;
    uint32_t acc = 0;
    int bits = 0;

    for (const char *c = in; *c; c++) {
        int v;

        if (*c == ' ')
            continue;
        if (*c == '=') {
            npad++;
            continue;
        }
        if (npad > 0 || (v = totp_b32_value(*c)) < 0)
            return -1; /* data after padding, or outside the alphabet */
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        nchars++;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outsz || o >= LONG_MAX)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* A final group of 1, 3 or 6 characters encodes no whole byte; padding,
     * when present, completes the group of 8; leftover bits must be zero. */
    switch (nchars % 8) {
    case 1:
    case 3:
    case 6:
        return -1;
    }
    if ((npad > 0 && (nchars + npad) % 8 != 0) || npad > 6 || acc != 0)
        return -1;
    return (long)o;
}

int mdt_totp_new_secret(unsigned char key[MDT_TOTP_SECRET_LEN])
{
    return mdt_crypto_random(key, MDT_TOTP_SECRET_LEN);
}

/* Appends s percent-encoded (all but RFC 3986 unreserved characters) at p;
 * returns the new end. The caller sized the buffer for 3 bytes per input. */
static char *totp_pct(char *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 0x0f];
        }
    }
    return p;
}

static char *totp_cat(char *p, const char *s)
{
    size_t n = strlen(s);

    memcpy(p, s, n);
    return p + n;
}

char *mdt_totp_uri(const char *issuer, const char *account, const char *secret_b32)
{
    static const char tail[] = "&algorithm=SHA1&digits=6&period=30";
    const char *fields[] = {issuer, account, secret_b32};
    size_t size = sizeof("otpauth://totp/:?secret=&issuer=") + sizeof(tail);
    char *uri, *p;

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        size_t n = fields[i] ? strlen(fields[i]) : 0;
        if (n == 0 || n > TOTP_URI_FIELD_MAX)
            return NULL;
        size += 3 * n * (i == 0 ? 2 : 1); /* the issuer appears twice */
    }
    if (!(uri = malloc(size)))
        return NULL;
    p = totp_cat(uri, "otpauth://totp/");
    p = totp_pct(p, issuer);
    p = totp_cat(p, ":");
    p = totp_pct(p, account);
    p = totp_cat(p, "?secret=");
    p = totp_pct(p, secret_b32);
    p = totp_cat(p, "&issuer=");
    p = totp_pct(p, issuer);
    p = totp_cat(p, tail);
    *p = '\0';
    return uri;
}
