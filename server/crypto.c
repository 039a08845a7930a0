/* crypto.c - small OpenSSL helpers: random tokens, SHA-256, HMAC, hex,
 * base64, constant-time comparison (see crypto.h). No state of its own. */
#include "crypto.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const char crypto_hexdigits[] = "0123456789abcdef";
static const char crypto_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int mdt_crypto_random(unsigned char *buf, size_t n)
{
    /* RAND_bytes takes an int; draw in chunks so any size_t works. */
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(buf, chunk) != 1)
            return -1;
        buf += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

int mdt_crypto_token_hex(char *out, size_t nbytes)
{
    unsigned char chunk[32];
    size_t done = 0;

    out[0] = '\0';
    while (done < nbytes) {
        size_t n = nbytes - done < sizeof(chunk) ? nbytes - done : sizeof(chunk);
        if (mdt_crypto_random(chunk, n) != 0) {
            OPENSSL_cleanse(chunk, sizeof(chunk));
            out[0] = '\0';
            return -1;
        }
        mdt_crypto_hex(chunk, n, out + 2 * done);
        done += n;
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    return 0;
}

void mdt_crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int outlen = 0;

    if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) == 1 && outlen == 32)
        return;
    /* Fail closed: an unpredictable value matches nothing stored. */
    if (RAND_bytes(out, 32) != 1)
        abort();
}

void mdt_crypto_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];

    mdt_crypto_sha256(data, len, md);
    mdt_crypto_hex(md, sizeof(md), out);
}

void mdt_crypto_hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = crypto_hexdigits[in[i] >> 4];
        out[2 * i + 1] = crypto_hexdigits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

int mdt_crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int mdt_crypto_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                               char out[65])
{
    static const unsigned char empty[1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    out[0] = '\0';
    if (keylen > INT_MAX)
        return -1;
    /* HMAC() reads a NULL key as "reuse the previous one"; give it a real one. */
    if (!HMAC(EVP_sha256(), keylen ? key : empty, (int)keylen, len ? data : empty, len, md,
              &mdlen) ||
        mdlen != 32)
        return -1;
    mdt_crypto_hex(md, 32, out);
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

size_t mdt_crypto_b64_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    size_t o = 0;

    if (n > (SIZE_MAX - 1) / 4 * 3 - 2 || outsz < MDT_CRYPTO_B64_SIZE(n)) {
        if (outsz > 0)
            out[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned long)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = crypto_b64_alphabet[(v >> 18) & 63];
        out[o++] = crypto_b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? crypto_b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? crypto_b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

/* Each base64 character's value plus one; 0 for every other byte. */
/* Base64 decoding by four tables, one per position in a group of four
 * characters, holding each character's six bits already shifted into
 * place (or B64_BAD): a group is four loads and three ORs, one test for a
 * bad character. Built by the preprocessor: constant, no initialisation. */
#define B64_BAD 0x01000000u
#define B64V(c)                                                                                    \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                        \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                   \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                   \
     : (c) == '+'               ? 62                                                               \
     : (c) == '/'               ? 63                                                               \
                                : -1)
#define B64S(c, sh)   (B64V(c) < 0 ? B64_BAD : (uint32_t)B64V(c) << (sh))
#define B64R4(b, sh)  B64S((b), sh), B64S((b) + 1, sh), B64S((b) + 2, sh), B64S((b) + 3, sh)
#define B64R16(b, sh) B64R4((b), sh), B64R4((b) + 4, sh), B64R4((b) + 8, sh), B64R4((b) + 12, sh)
#define B64R64(b, sh)                                                                              \
    B64R16((b), sh), B64R16((b) + 16, sh), B64R16((b) + 32, sh), B64R16((b) + 48, sh)
#define B64T(sh)                                                                                   \
    {                                                                                              \
        B64R64(0, sh), B64R64(64, sh), B64R64(128, sh), B64R64(192, sh)                            \
    }
static const uint32_t crypto_b64_dec[4][256] = {B64T(18), B64T(12), B64T(6), B64T(0)};

/* The six bits of c, or -1. */
static int crypto_b64_value(char c)
{
    uint32_t v = crypto_b64_dec[3][(unsigned char)c];
    return v & B64_BAD ? -1 : (int)v;
}

long mdt_crypto_b64_decode(const char *in, unsigned char *out, size_t outsz)
{
    size_t len = strlen(in), pad = 0, o = 0;
    unsigned long acc = 0;
    int bits = 0;

    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    /* Unpadded, a final group of one character is impossible; padded, the
     * padding must complete the last group of four. */
    if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0) || len / 4 * 3 + 3 > LONG_MAX)
        return -1;
    if (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outsz)
        return -1;
    size_t i = 0;
    /* Whole groups of four characters at a time (sealed values are long). */
    const unsigned char *u = (const unsigned char *)in;
    for (; i + 4 <= len; i += 4) {
        uint32_t g = crypto_b64_dec[0][u[i]] | crypto_b64_dec[1][u[i + 1]] |
                     crypto_b64_dec[2][u[i + 2]] | crypto_b64_dec[3][u[i + 3]];
        if (g & B64_BAD)
            return -1;
        if (o + 4 <= outsz) { /* one store of four bytes; the fourth is overwritten next */
            uint32_t be = htonl(g << 8);
            memcpy(out + o, &be, 4);
            o += 3;
            continue;
        }
        out[o++] = (unsigned char)(g >> 16);
        out[o++] = (unsigned char)(g >> 8);
        out[o++] = (unsigned char)g;
    }
    for (; i < len; i++) {
        int v = crypto_b64_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }
    if (acc != 0) /* non-zero leftover bits: not the canonical encoding */
        return -1;
    return (long)o;
}
