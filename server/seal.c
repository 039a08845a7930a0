/* seal.c - AES-256-GCM sealing of values and data keys (see seal.h).
 *
 * One primitive, gcm(), encrypts or decrypts with a 12-byte random nonce
 * and a 16-byte tag; values and wrapped keys differ only in their
 * associated data and in how the bytes are carried (base64 text behind a
 * prefix for values, raw bytes for keys). */
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

/* The associated data of a value: every part of where, separated by a
 * byte that no part holds (0x1f). Returns its length, or 0 when it would
 * not fit (a part holding 0x1f is refused too). */
static size_t value_aad(const mdt_seal_where_t *w, char out[AAD_MAX])
{
    const char *cat = w->category ? w->category : "";
    if (!w->object || !w->field || strchr(w->object, 0x1f) || strchr(w->field, 0x1f) ||
        strchr(cat, 0x1f))
        return 0;
    int n = snprintf(out, AAD_MAX, "mdtboard value v1\x1f%s\x1f%s\x1f%lld\x1f%lld\x1f%s", w->object,
                     w->field, (long long)w->id, (long long)w->case_id, cat);
    return n > 0 && n < AAD_MAX ? (size_t)n : 0;
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

int mdt_seal_open(const unsigned char key[MDT_SEAL_KEY_BYTES], const mdt_seal_where_t *where,
                  const char *sealed, char **out, size_t *outlen)
{
    char aad[AAD_MAX];
    size_t aadlen = value_aad(where, aad);
    unsigned char *raw = NULL;
    long n = -1;
    int rc = -1;
    *out = NULL;
    if (!aadlen || !mdt_seal_is_sealed(sealed))
        goto exit;
    size_t cap = strlen(sealed + PREFIX_LEN) / 4 * 3 + 3;
    if (!(raw = malloc(cap)) ||
        (n = mdt_crypto_b64_decode(sealed + PREFIX_LEN, raw, cap)) < NONCE_BYTES + TAG_BYTES)
        goto exit;
    size_t len = (size_t)n - NONCE_BYTES - TAG_BYTES;
    if (!(*out = malloc(len + 1)))
        goto exit;
    if (gcm(0, key, raw, aad, aadlen, raw + NONCE_BYTES, len, (unsigned char *)*out,
            raw + NONCE_BYTES + len) != 0) {
        OPENSSL_cleanse(*out, len + 1);
        free(*out);
        *out = NULL;
        goto exit;
    }
    (*out)[len] = '\0';
    if (outlen)
        *outlen = len;
    rc = 0;
exit:
    free(raw);
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
