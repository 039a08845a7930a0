/* seal.c - AES-256-GCM sealing of values and data keys (see seal.h).
 *
 * One primitive, gcm(), encrypts or decrypts with a 12-byte random nonce
 * and a 16-byte tag; values and wrapped keys differ only in their
 * associated data and in how the bytes are carried (base64 text behind a
 * prefix for values, raw bytes for keys). Values are opened by the
 * opener (one cipher context and buffer reused across a result set: a
 * context and key schedule per value cost more than decrypting a note);
 * mdt_seal_open is an opener used once. */
#include "seal.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"

#define NONCE_BYTES 12
#define TAG_BYTES   16
#define AAD_MAX     320
#define PREFIX_LEN  (sizeof(MDT_SEAL_PREFIX) - 1)

/* AES-256-GCM, fetched from OpenSSL's provider once per process: an
 * implicit fetch on every EVP_CipherInit_ex costs more than decrypting a
 * note. Written once under pthread_once, read-only after; never freed (it
 * lives as long as the process, like OpenSSL's own tables). */
static pthread_once_t seal_cipher_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *seal_cipher_fetched;

static void seal_cipher_fetch(void)
{
    seal_cipher_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *seal_cipher(void)
{
    pthread_once(&seal_cipher_once, seal_cipher_fetch);
    return seal_cipher_fetched ? seal_cipher_fetched : EVP_aes_256_gcm();
}

/* Encrypts (enc) or decrypts n bytes of in into out (n bytes) under key and
 * nonce with aad; the tag is written (enc) or checked (!enc). 0 ok, -1 on
 * failure or, decrypting, when the tag does not authenticate. */
static int gcm(int enc, const unsigned char *key, const unsigned char *nonce, const char *aad,
               size_t aadlen, const unsigned char *in, size_t n, unsigned char *out,
               unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = 0;
    if (!ctx || n > INT_MAX || aadlen > INT_MAX)
        goto exit;
    if (EVP_CipherInit_ex(ctx, seal_cipher(), NULL, key, nonce, enc) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)aadlen) != 1 ||
        (n > 0 && EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1))
        goto exit;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) != 1)
        goto exit;
    if (EVP_CipherFinal_ex(ctx, out + (n > 0 ? len : 0), &len) != 1)
        goto exit;
    ok = !enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag) == 1;
exit:
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* Appends s (len bytes) to the AAD being built in out at *n; 0, or -1
 * when it would not fit (with room kept for no NUL: AAD is bytes). */
static int aad_put(char out[AAD_MAX], size_t *n, const char *s, size_t len)
{
    if (len >= AAD_MAX - *n)
        return -1;
    memcpy(out + *n, s, len);
    *n += len;
    return 0;
}

/* Appends the separator and v in decimal, exactly as printf's %lld. */
static int aad_put_int(char out[AAD_MAX], size_t *n, int64_t v)
{
    char digits[24];
    size_t d = sizeof(digits);
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[--d] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        digits[--d] = '-';
    digits[--d] = 0x1f;
    return aad_put(out, n, digits + d, sizeof(digits) - d);
}

/* The associated data of a value: every part of where, separated by a
 * byte that no part holds (0x1f): "mdtboard value v1", object, field, id,
 * case id, category. Built by hand (a printf per value cost more than its
 * decryption); the bytes are exactly those of the format
 * "mdtboard value v1\x1f%s\x1f%s\x1f%lld\x1f%lld\x1f%s" that sealed every
 * value so far (test_seal.c opens vectors made with it). Returns its
 * length, or 0 when it would not fit (a part holding 0x1f is refused
 * too). */
static size_t value_aad(const mdt_seal_where_t *w, char out[AAD_MAX])
{
    static const char head[] = "mdtboard value v1\x1f";
    const char *cat = w->category ? w->category : "";
    if (!w->object || !w->field)
        return 0;
    size_t lo = strlen(w->object), lf = strlen(w->field), lc = strlen(cat), n = 0;
    if (memchr(w->object, 0x1f, lo) || memchr(w->field, 0x1f, lf) || memchr(cat, 0x1f, lc))
        return 0;
    if (aad_put(out, &n, head, sizeof(head) - 1) || aad_put(out, &n, w->object, lo) ||
        aad_put(out, &n, "\x1f", 1) || aad_put(out, &n, w->field, lf) ||
        aad_put_int(out, &n, w->id) || aad_put_int(out, &n, w->case_id) ||
        aad_put(out, &n, "\x1f", 1) || aad_put(out, &n, cat, lc))
        return 0;
    return n;
}

static size_t key_aad(int64_t case_id, char out[AAD_MAX])
{
    int n = snprintf(out, AAD_MAX, "mdtboard data key v1\x1f%lld", (long long)case_id);
    return n > 0 && n < AAD_MAX ? (size_t)n : 0;
}

int mdt_seal_is_sealed(const char *s)
{
    return s && strncmp(s, MDT_SEAL_PREFIX, PREFIX_LEN) == 0;
}

int mdt_seal_value(const unsigned char key[MDT_SEAL_KEY_BYTES], const mdt_seal_where_t *where,
                   const void *plain, size_t len, char **out)
{
    char aad[AAD_MAX];
    size_t aadlen = value_aad(where, aad), raw_len = NONCE_BYTES + len + TAG_BYTES;
    unsigned char *raw = NULL;
    int rc = -1;
    *out = NULL;
    if (!aadlen || len > (size_t)INT_MAX - NONCE_BYTES - TAG_BYTES || !(raw = malloc(raw_len)))
        goto exit;
    if (mdt_crypto_random(raw, NONCE_BYTES) != 0 ||
        gcm(1, key, raw, aad, aadlen, plain, len, raw + NONCE_BYTES, raw + NONCE_BYTES + len) != 0)
        goto exit;
    size_t cap = PREFIX_LEN + MDT_CRYPTO_B64_SIZE(raw_len);
    if (!(*out = malloc(cap)))
        goto exit;
    memcpy(*out, MDT_SEAL_PREFIX, PREFIX_LEN);
    if (mdt_crypto_b64_encode(raw, raw_len, *out + PREFIX_LEN, cap - PREFIX_LEN) == 0) {
        free(*out);
        *out = NULL;
        goto exit;
    }
    rc = 0;
exit:
    if (raw)
        OPENSSL_cleanse(raw, raw_len);
    free(raw);
    return rc;
}

/* ---- the reusable opener ------------------------------------------------------- */

struct mdt_seal_opener {
    EVP_CIPHER_CTX *ctx;
    unsigned char key[MDT_SEAL_KEY_BYTES]; /* the key ctx is set up with, when keyed */
    int keyed;
    unsigned char *buf; /* nonce || ciphertext (then plain text) || tag */
    size_t cap;
    size_t used; /* bytes of buf written since it was last wiped */
};

mdt_seal_opener_t *mdt_seal_opener_new(void)
{
    mdt_seal_opener_t *o = calloc(1, sizeof(*o));
    if (o && !(o->ctx = EVP_CIPHER_CTX_new())) {
        free(o);
        o = NULL;
    }
    return o;
}

static void opener_wipe(mdt_seal_opener_t *o)
{
    if (o->buf && o->used)
        OPENSSL_cleanse(o->buf, o->used);
    o->used = 0;
}

void mdt_seal_opener_free(mdt_seal_opener_t *o)
{
    if (!o)
        return;
    opener_wipe(o);
    free(o->buf);
    EVP_CIPHER_CTX_free(o->ctx);
    OPENSSL_cleanse(o->key, sizeof(o->key));
    free(o);
}

/* A buffer of at least n bytes (the old one wiped before it is freed). */
static int opener_reserve(mdt_seal_opener_t *o, size_t n)
{
    if (n <= o->cap)
        return 0;
    size_t cap = o->cap * 2 > n ? o->cap * 2 : n < 4096 ? 4096 : n;
    unsigned char *b = malloc(cap);
    if (!b)
        return -1;
    opener_wipe(o);
    free(o->buf);
    o->buf = b;
    o->cap = cap;
    return 0;
}

/* Decrypts n bytes in place at p under key and nonce with aad, checking
 * tag. The key schedule is set up only when key differs from the last. */
static int opener_gcm(mdt_seal_opener_t *o, const unsigned char *key, const unsigned char *nonce,
                      const char *aad, size_t aadlen, unsigned char *p, size_t n,
                      unsigned char *tag)
{
    int len = 0;
    if (n > INT_MAX || aadlen > INT_MAX)
        return -1;
    if (!o->keyed || CRYPTO_memcmp(o->key, key, MDT_SEAL_KEY_BYTES) != 0) {
        o->keyed = 0;
        if (EVP_CipherInit_ex(o->ctx, seal_cipher(), NULL, key, NULL, 0) != 1)
            return -1;
        memcpy(o->key, key, MDT_SEAL_KEY_BYTES);
        o->keyed = 1;
    }
    if (EVP_CipherInit_ex(o->ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
        EVP_CipherUpdate(o->ctx, NULL, &len, (const unsigned char *)aad, (int)aadlen) != 1 ||
        (n > 0 && EVP_CipherUpdate(o->ctx, p, &len, p, (int)n) != 1) ||
        EVP_CIPHER_CTX_ctrl(o->ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) != 1)
        return -1;
    return EVP_CipherFinal_ex(o->ctx, p + (n > 0 ? len : 0), &len) == 1 ? 0 : -1;
}

int mdt_seal_opener_open(mdt_seal_opener_t *o, const unsigned char key[MDT_SEAL_KEY_BYTES],
                         const mdt_seal_where_t *where, const char *sealed, const char **out,
                         size_t *outlen)
{
    char aad[AAD_MAX];
    unsigned char tag[TAG_BYTES];
    size_t aadlen = value_aad(where, aad);
    *out = NULL;
    if (!aadlen || !mdt_seal_is_sealed(sealed))
        return -1;
    size_t cap = strlen(sealed + PREFIX_LEN) / 4 * 3 + 3;
    if (opener_reserve(o, cap + 1) != 0)
        return -1;
    long n = mdt_crypto_b64_decode(sealed + PREFIX_LEN, o->buf, cap);
    if (n < NONCE_BYTES + TAG_BYTES)
        return -1;
    if (o->used < (size_t)n + 1)
        o->used = (size_t)n + 1;
    size_t len = (size_t)n - NONCE_BYTES - TAG_BYTES;
    unsigned char *p = o->buf + NONCE_BYTES;
    memcpy(tag, p + len, TAG_BYTES);
    if (opener_gcm(o, key, o->buf, aad, aadlen, p, len, tag) != 0) {
        opener_wipe(o);
        return -1;
    }
    p[len] = '\0';
    *out = (const char *)p;
    if (outlen)
        *outlen = len;
    return 0;
}

int mdt_seal_open(const unsigned char key[MDT_SEAL_KEY_BYTES], const mdt_seal_where_t *where,
                  const char *sealed, char **out, size_t *outlen)
{
    mdt_seal_opener_t *o = mdt_seal_opener_new();
    const char *plain = NULL;
    size_t len = 0;
    int rc = -1;
    *out = NULL;
    if (o && mdt_seal_opener_open(o, key, where, sealed, &plain, &len) == 0 &&
        (*out = malloc(len + 1))) {
        memcpy(*out, plain, len + 1);
        if (outlen)
            *outlen = len;
        rc = 0;
    }
    mdt_seal_opener_free(o);
    return rc;
}

int mdt_seal_wrap(const unsigned char kek[MDT_SEAL_KEY_BYTES], int64_t case_id,
                  const unsigned char dek[MDT_SEAL_KEY_BYTES],
                  unsigned char out[MDT_SEAL_WRAPPED_BYTES])
{
    char aad[AAD_MAX];
    size_t aadlen = key_aad(case_id, aad);
    if (!aadlen || mdt_crypto_random(out, NONCE_BYTES) != 0)
        return -1;
    return gcm(1, kek, out, aad, aadlen, dek, MDT_SEAL_KEY_BYTES, out + NONCE_BYTES,
               out + NONCE_BYTES + MDT_SEAL_KEY_BYTES);
}

int mdt_seal_unwrap(const unsigned char kek[MDT_SEAL_KEY_BYTES], int64_t case_id,
                    const unsigned char wrapped[MDT_SEAL_WRAPPED_BYTES],
                    unsigned char dek[MDT_SEAL_KEY_BYTES])
{
    char aad[AAD_MAX];
    unsigned char tag[TAG_BYTES];
    size_t aadlen = key_aad(case_id, aad);
    memcpy(tag, wrapped + NONCE_BYTES + MDT_SEAL_KEY_BYTES, TAG_BYTES);
    if (!aadlen || gcm(0, kek, wrapped, aad, aadlen, wrapped + NONCE_BYTES, MDT_SEAL_KEY_BYTES, dek,
                       tag) != 0) {
        OPENSSL_cleanse(dek, MDT_SEAL_KEY_BYTES);
        return -1;
    }
    return 0;
}
