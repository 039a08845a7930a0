/* keys.c - reading, creating and deriving from the installation key file
 * (see keys.h). The file is parsed strictly: one format version, the two
 * fields exactly once, lowercase hex of the exact length, nothing else. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

#define KEYS_SALT   "mdtboard key file v1"
#define KEYS_HEADER "mdtboard-key"

/* Decodes exactly 2 * n lowercase hex digits of s (slen long) into out.
 * 0 ok, -1 when the length or a digit is wrong. */
static int keys_unhex(const char *s, size_t slen, unsigned char *out, size_t n)
{
    if (slen != 2 * n)
        return -1;
    for (size_t i = 0; i < slen; i++) {
        char ch = s[i];
        int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (unsigned char)(v << 4);
        else
            out[i / 2] |= (unsigned char)v;
    }
    return 0;
}

typedef struct {
    int seen_header, seen_id, seen_master;
} keys_parse_state_t;

/* Takes one significant line (without its end). 0 ok, -1 with err set. */
static int keys_line(const char *line, size_t n, keys_parse_state_t *st, mdt_keys_t *out, char *err,
                     size_t errlen)
{
    const char *sp = memchr(line, ' ', n);
    size_t klen = sp ? (size_t)(sp - line) : n;
    const char *val = sp ? sp + 1 : line + n;
    size_t vlen = n - (size_t)(val - line);
    unsigned char id[MDT_KEYS_ID_BYTES];
    if (!st->seen_header) {
        if (klen != strlen(KEYS_HEADER) || memcmp(line, KEYS_HEADER, klen) != 0) {
            snprintf(err, errlen, "not an mdtboard key file (no '" KEYS_HEADER "' line)");
            return -1;
        }
        if (vlen != 1 || val[0] != '0' + MDT_KEYS_VERSION) {
            snprintf(err, errlen, "unsupported key file version (this binary reads %d)",
                     MDT_KEYS_VERSION);
            return -1;
        }
        st->seen_header = 1;
        out->version = MDT_KEYS_VERSION;
    } else if (klen == 6 && memcmp(line, "key-id", 6) == 0 && !st->seen_id) {
        if (keys_unhex(val, vlen, id, sizeof(id)) != 0) {
            snprintf(err, errlen, "key-id must be %d lowercase hex digits", 2 * MDT_KEYS_ID_BYTES);
            return -1;
        }
        memcpy(out->key_id, val, vlen);
        out->key_id[vlen] = 0;
        st->seen_id = 1;
    } else if (klen == 6 && memcmp(line, "master", 6) == 0 && !st->seen_master) {
        if (keys_unhex(val, vlen, out->master, sizeof(out->master)) != 0) {
            snprintf(err, errlen, "master must be %d lowercase hex digits",
                     2 * MDT_KEYS_SECRET_BYTES);
            return -1;
        }
        st->seen_master = 1;
    } else {
        snprintf(err, errlen, "unexpected or repeated line '%.*s' in the key file",
                 (int)(klen > 32 ? 32 : klen), line);
        return -1;
    }
    return 0;
}

int mdt_keys_parse(const char *text, size_t len, mdt_keys_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    keys_parse_state_t st = {0};
    size_t pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0 || line[0] == '#')
            continue;
        if (memchr(line, 0, n)) {
            snprintf(err, errlen, "the key file holds a NUL byte");
            goto fail;
        }
        if (keys_line(line, n, &st, out, err, errlen) != 0)
            goto fail;
    }
    if (!st.seen_header || !st.seen_id || !st.seen_master) {
        snprintf(err, errlen, "the key file lacks its %s line",
                 !st.seen_header ? KEYS_HEADER
                 : !st.seen_id   ? "key-id"
                                 : "master");
        goto fail;
    }
    return 0;
fail:
    mdt_keys_wipe(out);
    return -1;
}

int mdt_keys_load(const char *path, mdt_keys_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char buf[MDT_KEYS_MAX_FILE + 1];
    int rc = -1;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the key file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "the key file %s is not a regular file", path);
        goto exit;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "the key file %s is open to group or others (chmod 600 it)", path);
        goto exit;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 || n > MDT_KEYS_MAX_FILE) {
        snprintf(err, errlen, "cannot read the key file %s: %s", path,
                 n < 0 ? strerror(errno) : "too large");
        goto exit;
    }
    rc = mdt_keys_parse(buf, (size_t)n, out, err, errlen);
exit:
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return rc;
}

/* Writes all of s to fd. 0 ok, -1 on error. */
static int keys_write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int mdt_keys_create(const char *path, char key_id[2 * MDT_KEYS_ID_BYTES + 1], char *err,
                    size_t errlen)
{
    mdt_keys_t k = {.version = MDT_KEYS_VERSION};
    unsigned char id[MDT_KEYS_ID_BYTES];
    char master[2 * MDT_KEYS_SECRET_BYTES + 1], text[512];
    int rc = -1, fd = -1;
    if (mdt_crypto_random(id, sizeof(id)) != 0 ||
        mdt_crypto_random(k.master, sizeof(k.master)) != 0) {
        snprintf(err, errlen, "the random generator failed");
        goto exit;
    }
    mdt_crypto_hex(id, sizeof(id), k.key_id);
    mdt_crypto_hex(k.master, sizeof(k.master), master);
    int len = snprintf(text, sizeof(text),
                       "# MDT Board installation key file. Keep it secret (mode 0600) and back\n"
                       "# it up apart from the database: without it the audit chain cannot be\n"
                       "# verified. See docs/operations.md.\n" KEYS_HEADER " %d\nkey-id %s\n"
                       "master %s\n",
                       MDT_KEYS_VERSION, k.key_id, master);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path,
                 errno == EEXIST ? "it already exists (not overwritten)" : strerror(errno));
        goto exit;
    }
    if (fchmod(fd, 0600) != 0 || keys_write_all(fd, text, (size_t)len) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        goto exit;
    }
    if (key_id)
        memcpy(key_id, k.key_id, sizeof(k.key_id));
    rc = 0;
exit:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(text, sizeof(text));
    OPENSSL_cleanse(master, sizeof(master));
    mdt_keys_wipe(&k);
    return rc;
}

int mdt_keys_hkdf(const unsigned char *ikm, size_t ikmlen, const unsigned char *salt,
                  size_t saltlen, const unsigned char *info, size_t infolen, unsigned char *out,
                  size_t outlen)
{
    int rc = -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (!ctx)
        goto exit;
    /* An absent salt is HKDF's default (zeros); OpenSSL refuses an empty one. */
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
    if (saltlen)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    if (infolen)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    *p = OSSL_PARAM_construct_end();
    rc = EVP_KDF_derive(ctx, out, outlen, params) == 1 ? 0 : -1;
exit:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    if (rc != 0)
        OPENSSL_cleanse(out, outlen);
    return rc;
}

int mdt_keys_derive(const mdt_keys_t *k, const char *label, unsigned char *out, size_t outlen)
{
    return mdt_keys_hkdf(k->master, sizeof(k->master), (const unsigned char *)KEYS_SALT,
                         strlen(KEYS_SALT), (const unsigned char *)label, strlen(label), out,
                         outlen);
}

void mdt_keys_wipe(mdt_keys_t *k)
{
    OPENSSL_cleanse(k->master, sizeof(k->master));
}
