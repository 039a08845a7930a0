/* password.c - scrypt password hashes in a self-describing encoding, and the
 * password policy (see password.h). */
#include "password.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"

/* Current parameters: N = 2^15, r = 8, p = 1, ~32 MiB, ~100 ms. */
#define PASSWORD_LN       15
#define PASSWORD_R        8
#define PASSWORD_P        1
#define PASSWORD_SALT_LEN 16
#define PASSWORD_KEY_LEN  32
/* maxmem handed to OpenSSL: at least this (0 would make it fail), and never
 * more than the ceiling, whatever a stored encoding asks for. */
#define PASSWORD_MAXMEM     (64ULL * 1024 * 1024)
#define PASSWORD_MAXMEM_CAP (256ULL * 1024 * 1024)

/* Bounds accepted when parsing. */
#define PASSWORD_SALT_MIN 8
#define PASSWORD_SALT_MAX 64
#define PASSWORD_KEY_MIN  16
#define PASSWORD_KEY_MAX  64

typedef struct {
    int ln, r, p;
    unsigned char salt[PASSWORD_SALT_MAX];
    size_t saltlen;
    unsigned char key[PASSWORD_KEY_MAX];
    size_t keylen;
} password_enc_t;

/* Computed once with a random, discarded password. */
static const char password_dummy[] = "$scrypt$ln=15,r=8,p=1$CL2vVk4Akw7uKGTrEGt6oQ==$"
                                     "HjqstTPnvtF3r0d/SOIyHluGea/PKkKy+xp0BPgD/Es=";

/* Memory scrypt needs, as OpenSSL counts it: B (128 r p) plus V (128 r (N + 2)). */
static uint64_t password_mem(int ln, int r, int p)
{
    return 128ULL * (uint64_t)r * (uint64_t)p + 128ULL * (uint64_t)r * ((1ULL << ln) + 2);
}

/* Runs scrypt; 0 ok, -1 failure (including too much memory). */
static int password_derive(const char *password, const unsigned char *salt, size_t saltlen, int ln,
                           int r, int p, unsigned char *key, size_t keylen)
{
    uint64_t need = password_mem(ln, r, p);
    uint64_t maxmem = need > PASSWORD_MAXMEM ? need : PASSWORD_MAXMEM;

    if (need > PASSWORD_MAXMEM_CAP)
        return -1;
    return EVP_PBE_scrypt(password, strlen(password), salt, saltlen, 1ULL << ln, (uint64_t)r,
                          (uint64_t)p, maxmem, key, keylen) == 1
               ? 0
               : -1;
}

/* Reads "<name><decimal in lo..hi>" at *s, advancing it. No sign, no leading
 * zero, at most two digits. 0 ok, -1 otherwise. */
static int password_param(const char **s, const char *name, int lo, int hi, int *out)
{
    size_t nlen = strlen(name);
    const char *c = *s;
    int v = 0, digits = 0;

    if (strncmp(c, name, nlen) != 0)
        return -1;
    c += nlen;
    if (*c == '0')
        return -1;
    while (*c >= '0' && *c <= '9' && digits < 3) {
        v = v * 10 + (*c++ - '0');
        digits++;
    }
    if (digits == 0 || digits > 2 || v < lo || v > hi)
        return -1;
    *s = c;
    *out = v;
    return 0;
}

/* Decodes the base64 field [s, end) into out (at most max bytes); its
 * length must be in min..max. Returns the length or -1. */
static long password_field(const char *s, const char *end, unsigned char *out, size_t min,
                           size_t max)
{
    char buf[MDT_CRYPTO_B64_SIZE(PASSWORD_SALT_MAX > PASSWORD_KEY_MAX ? PASSWORD_SALT_MAX
                                                                      : PASSWORD_KEY_MAX)];
    size_t len = (size_t)(end - s);
    long n;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    n = mdt_crypto_b64_decode(buf, out, max);
    if (n < 0 || (size_t)n < min)
        return -1;
    return n;
}

/* Parses an encoding strictly. 0 ok, -1 malformed. */
static int password_parse(const char *enc, password_enc_t *pe)
{
    static const char prefix[] = "$scrypt$";
    const char *s = enc, *dollar;
    long n;

    if (!enc || strncmp(s, prefix, sizeof(prefix) - 1) != 0)
        return -1;
    s += sizeof(prefix) - 1;
    if (password_param(&s, "ln=", 10, 20, &pe->ln) != 0 ||
        password_param(&s, ",r=", 1, 16, &pe->r) != 0 ||
        password_param(&s, ",p=", 1, 4, &pe->p) != 0 || *s++ != '$')
        return -1;
    if (!(dollar = strchr(s, '$')))
        return -1;
    n = password_field(s, dollar, pe->salt, PASSWORD_SALT_MIN, PASSWORD_SALT_MAX);
    if (n < 0)
        return -1;
    pe->saltlen = (size_t)n;
    s = dollar + 1;
    n = password_field(s, s + strlen(s), pe->key, PASSWORD_KEY_MIN, PASSWORD_KEY_MAX);
    if (n < 0)
        return -1;
    pe->keylen = (size_t)n;
    return 0;
}

int mdt_password_hash(const char *password, char out[MDT_PASSWORD_HASH_MAX])
{
    unsigned char salt[PASSWORD_SALT_LEN], key[PASSWORD_KEY_LEN];
    char salt64[MDT_CRYPTO_B64_SIZE(PASSWORD_SALT_LEN)],
        key64[MDT_CRYPTO_B64_SIZE(PASSWORD_KEY_LEN)];
    int rc = -1, n;

    out[0] = '\0';
    if (!password || mdt_crypto_random(salt, sizeof(salt)) != 0)
        goto exit;
    if (password_derive(password, salt, sizeof(salt), PASSWORD_LN, PASSWORD_R, PASSWORD_P, key,
                        sizeof(key)) != 0)
        goto exit;
    mdt_crypto_b64_encode(salt, sizeof(salt), salt64, sizeof(salt64));
    mdt_crypto_b64_encode(key, sizeof(key), key64, sizeof(key64));
    n = snprintf(out, MDT_PASSWORD_HASH_MAX, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", PASSWORD_LN,
                 PASSWORD_R, PASSWORD_P, salt64, key64);
    if (n < 0 || n >= MDT_PASSWORD_HASH_MAX) {
        out[0] = '\0';
        goto exit;
    }
    rc = 0;
exit:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int mdt_password_verify(const char *password, const char *encoded)
{
    password_enc_t pe;
    unsigned char key[PASSWORD_KEY_MAX];
    int rc = -1;

    if (!password || password_parse(encoded, &pe) != 0)
        return -1;
    if (password_derive(password, pe.salt, pe.saltlen, pe.ln, pe.r, pe.p, key, pe.keylen) != 0)
        goto exit;
    rc = mdt_crypto_equal(key, pe.key, pe.keylen) ? 1 : 0;
exit:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(&pe, sizeof(pe));
    return rc;
}

const char *mdt_password_dummy_hash(void)
{
    return password_dummy;
}

/* Length in bytes of the valid UTF-8 sequence at s, or 0 when it is not one
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t password_utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* past U+10FFFF */
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

int mdt_password_policy(const char *password, const char **why)
{
    const unsigned char *s = (const unsigned char *)password;
    const char *msg = NULL;
    size_t chars = 0;

    if (!password) {
        msg = "password is required";
        goto exit;
    }
    if (strlen(password) > MDT_PASSWORD_MAX_BYTES) {
        msg = "password must be at most 1024 bytes";
        goto exit;
    }
    while (*s) {
        size_t n = password_utf8_seq(s);
        if (n == 0) {
            msg = "password must be valid UTF-8";
            goto exit;
        }
        s += n;
        chars++;
    }
    if (chars < MDT_PASSWORD_MIN_CHARS)
        msg = "password must be at least 12 characters";
exit:
    if (why)
        *why = msg;
    return msg ? -1 : 0;
}

int mdt_password_needs_rehash(const char *encoded)
{
    password_enc_t pe;
    int stale;

    if (password_parse(encoded, &pe) != 0)
        return -1;
    stale = pe.ln < PASSWORD_LN || pe.r < PASSWORD_R || pe.p < PASSWORD_P ||
            pe.saltlen < PASSWORD_SALT_LEN || pe.keylen < PASSWORD_KEY_LEN;
    OPENSSL_cleanse(&pe, sizeof(pe));
    return stale;
}
