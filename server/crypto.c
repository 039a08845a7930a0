/* crypto.c - small OpenSSL helpers: random tokens, SHA-256, HMAC, hex,
 * base64, constant-time comparison (see crypto.h). No state of its own. */
#include "crypto.h"

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
static const unsigned char crypto_b64_plus1[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64};

static int crypto_b64_value(char c)
{
    return (int)crypto_b64_plus1[(unsigned char)c] - 1;
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
    for (; i + 4 <= len; i += 4) {
        int v0 = crypto_b64_value(in[i]), v1 = crypto_b64_value(in[i + 1]),
            v2 = crypto_b64_value(in[i + 2]), v3 = crypto_b64_value(in[i + 3]);
        if ((v0 | v1 | v2 | v3) < 0)
            return -1;
        unsigned long g = (unsigned long)v0 << 18 | (unsigned long)v1 << 12 |
                          (unsigned long)v2 << 6 | (unsigned long)v3;
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
