/* attachfile.c - an uploaded file's type, digest, name and disposition (see
 * attachfile.h). */
#include "attachfile.h"

#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

const char *const mdt_attachfile_types[] = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    NULL,
};

/* The accepted type named mime (libmagic's MIME type), or NULL. */
static const char *accepted(const char *mime)
{
    for (int i = 0; mime && mdt_attachfile_types[i]; i++) {
        if (strcmp(mdt_attachfile_types[i], mime) == 0)
            return mdt_attachfile_types[i];
    }
    return NULL;
}

const char *mdt_attachfile_detect(const void *data, size_t len, const char **why)
{
    const char *type = NULL;
    *why = "the file type could not be determined";
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
    if (!m)
        return NULL;
    if (magic_load(m, NULL) != 0)
        goto exit;
    type = accepted(magic_buffer(m, data, len));
    if (!type)
        *why = "the file is not a PDF, PNG, JPEG, plain text or Office Open XML document";
exit:
    magic_close(m);
    return type;
}

int mdt_attachfile_inline(const char *type)
{
    return type && strncmp(type, "image/", 6) == 0;
}

static void sha256_hex(const unsigned char md[32], char hex[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void mdt_attachfile_sha256(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        memset(md, 0, sizeof(md));
    sha256_hex(md, hex);
}

struct mdt_attachfile_hash {
    EVP_MD_CTX *md;
    int failed, ended;
};

mdt_attachfile_hash_t *mdt_attachfile_hash_new(void)
{
    mdt_attachfile_hash_t *h = calloc(1, sizeof(*h));
    if (h && (!(h->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)) {
        EVP_MD_CTX_free(h->md);
        free(h);
        h = NULL;
    }
    return h;
}

void mdt_attachfile_hash_add(mdt_attachfile_hash_t *h, const void *data, size_t len)
{
    if (h && !h->ended && EVP_DigestUpdate(h->md, data, len) != 1)
        h->failed = 1;
}

void mdt_attachfile_hash_end(mdt_attachfile_hash_t *h, char hex[65])
{
    unsigned char md[32] = {0};
    unsigned int n = 0;
    if (!h || h->ended || h->failed || EVP_DigestFinal_ex(h->md, md, &n) != 1 || n != 32)
        memset(md, 0, sizeof(md));
    if (h)
        h->ended = 1;
    sha256_hex(md, hex);
}

void mdt_attachfile_hash_free(mdt_attachfile_hash_t *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

/* Length of the UTF-8 character at s (1-4), or 0 when it is not valid
 * (overlong forms, surrogates and code points over U+10FFFF refused). */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

int mdt_attachfile_name(const char *name, char out[MDT_ATTACHFILE_NAME_MAX + 1])
{
    const char *base = name;
    for (const char *s = name; *s; s++) {
        if (*s == '/' || *s == '\\')
            base = s + 1;
    }
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)base;
    while (*s) {
        size_t n = utf8_len(s);
        if (n == 0)
            return -1;
        if (n == 1 && (*s < 0x20 || *s == 0x7f)) {
            s++;
            continue;
        }
        if (o + n > MDT_ATTACHFILE_NAME_MAX)
            break;
        if (o > 0 || *s != ' ') {
            memcpy(out + o, s, n);
            o += n;
        }
        s += n;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = 0;
    return o == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0 ? -1 : 0;
}

/* The ASCII fallback of a name is cut to this many bytes. */
#define FALLBACK_MAX 64

int mdt_attachfile_disposition(const char *name, int inline_, char *out, size_t outlen)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t len = strlen(name);
    if (outlen < 64 + FALLBACK_MAX + 3 * len)
        return -1;
    size_t o = (size_t)snprintf(out, outlen, "%s; filename=\"", inline_ ? "inline" : "attachment");
    for (size_t i = 0; i < len && i < FALLBACK_MAX; i++) {
        unsigned char ch = (unsigned char)name[i];
        out[o++] = ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ? '_' : (char)ch;
    }
    memcpy(out + o, "\"; filename*=UTF-8''", 20);
    o += 20;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            (ch && strchr("!#$&+-.^_`|~", ch))) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hexd[ch >> 4];
            out[o++] = hexd[ch & 15];
        }
    }
    out[o] = 0;
    return 0;
}
