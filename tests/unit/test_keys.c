/* test_keys.c - the installation key file: strict parsing, creation (0600,
 * no overwrite), loading (refuses open permissions), RFC 5869 HKDF vectors
 * and label separation of the derived keys. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "crypto.h"
#include "keys.h"

#define GOOD_MASTER "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static int parse(const char *text, mdt_keys_t *k, char *err)
{
    return mdt_keys_parse(text, strlen(text), k, err, 256);
}

static void test_parse(void)
{
    mdt_keys_t k;
    char err[256];
    CHECK_EQ_INT(
        parse("# c\n\nmdtboard-key 1\nkey-id 0011223344556677\nmaster " GOOD_MASTER "\n", &k, err),
        0);
    CHECK_EQ_INT(k.version, 1);
    CHECK_EQ_STR(k.key_id, "0011223344556677");
    CHECK_EQ_INT(k.master[0], 0x00);
    CHECK_EQ_INT(k.master[31], 0x1f);
    /* CRLF line ends and a missing final line end are accepted. */
    CHECK_EQ_INT(
        parse("mdtboard-key 1\r\nmaster " GOOD_MASTER "\r\nkey-id 0011223344556677", &k, err), 0);
    CHECK_EQ_INT(k.master[16], 0x10);

    static const char *bad[] = {
        "",
        "mdtboard-key 2\nkey-id 0011223344556677\nmaster " GOOD_MASTER "\n",
        "key-id 0011223344556677\nmdtboard-key 1\nmaster " GOOD_MASTER "\n",
        "mdtboard-key 1\nmaster " GOOD_MASTER "\n",
        "mdtboard-key 1\nkey-id 0011223344556677\n",
        "mdtboard-key 1\nkey-id 00112233445566\nmaster " GOOD_MASTER "\n",
        "mdtboard-key 1\nkey-id 0011223344556677\nmaster " GOOD_MASTER "00\n",
        "mdtboard-key 1\nkey-id 0011223344556677\nmaster " GOOD_MASTER "\nmaster " GOOD_MASTER "\n",
        "mdtboard-key 1\nkey-id 00112233445566AA\nmaster " GOOD_MASTER "\n",
        "mdtboard-key 1\nkey-id 0011223344556677\nmaster " GOOD_MASTER "\nextra 1\n",
        "mdtboard-key 1\nkey-id  0011223344556677\nmaster " GOOD_MASTER "\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        CHECK_EQ_INT(parse(bad[i], &k, err), -1);
        CHECK(err[0] != 0);
        CHECK(strstr(err, GOOD_MASTER) == NULL);
        CHECK_EQ_INT(k.master[31], 0); /* wiped */
    }
    static const char nul[] = "mdtboard-key 1\nkey-id 0011223344556677\nmas\0ter x\n";
    CHECK_EQ_INT(mdt_keys_parse(nul, sizeof(nul) - 1, &k, err, sizeof(err)), -1);
}

static void test_create_load(void)
{
    char dir[] = "/tmp/mdt-keys-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], err[256], id[17];
    snprintf(path, sizeof(path), "%s/key", dir);
    CHECK_EQ_INT(mdt_keys_create(path, id, err, sizeof(err)), 0);
    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    mdt_keys_t a, b;
    CHECK_EQ_INT(mdt_keys_load(path, &a, err, sizeof(err)), 0);
    CHECK_EQ_STR(a.key_id, id);
    /* No overwrite: the file keeps its secret. */
    CHECK_EQ_INT(mdt_keys_create(path, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "exists") != NULL);
    CHECK_EQ_INT(mdt_keys_load(path, &b, err, sizeof(err)), 0);
    CHECK(memcmp(a.master, b.master, sizeof(a.master)) == 0);
    /* A second file gets another secret and id. */
    char path2[128];
    snprintf(path2, sizeof(path2), "%s/key2", dir);
    CHECK_EQ_INT(mdt_keys_create(path2, NULL, err, sizeof(err)), 0);
    CHECK_EQ_INT(mdt_keys_load(path2, &b, err, sizeof(err)), 0);
    CHECK(memcmp(a.master, b.master, sizeof(a.master)) != 0);
    CHECK(strcmp(a.key_id, b.key_id) != 0);
    /* Open permissions are refused. */
    CHECK_EQ_INT(chmod(path2, 0640), 0);
    CHECK_EQ_INT(mdt_keys_load(path2, &b, err, sizeof(err)), -1);
    CHECK(strstr(err, "chmod 600") != NULL);
    CHECK_EQ_INT(mdt_keys_load(dir, &b, err, sizeof(err)), -1);
    unlink(path);
    unlink(path2);
    rmdir(dir);
    CHECK_EQ_INT(mdt_keys_load(path, &b, err, sizeof(err)), -1);
}

static void test_hkdf(void)
{
    /* RFC 5869 test case 1. */
    unsigned char ikm[22], salt[13], info[10], okm[42];
    char hex[85];
    memset(ikm, 0x0b, sizeof(ikm));
    for (int i = 0; i < 13; i++)
        salt[i] = (unsigned char)i;
    for (int i = 0; i < 10; i++)
        info[i] = (unsigned char)(0xf0 + i);
    CHECK_EQ_INT(
        mdt_keys_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info), okm, sizeof(okm)),
        0);
    mdt_crypto_hex(okm, sizeof(okm), hex);
    CHECK_EQ_STR(hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf3400720"
                      "8d5b887185865");
    /* RFC 5869 test case 3: empty salt and info. */
    CHECK_EQ_INT(mdt_keys_hkdf(ikm, sizeof(ikm), NULL, 0, NULL, 0, okm, sizeof(okm)), 0);
    mdt_crypto_hex(okm, sizeof(okm), hex);
    CHECK_EQ_STR(hex, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d2013"
                      "95faa4b61a96c8");
}

static void test_derive(void)
{
    mdt_keys_t k;
    char err[256];
    CHECK_EQ_INT(
        parse("mdtboard-key 1\nkey-id 0011223344556677\nmaster " GOOD_MASTER "\n", &k, err), 0);
    unsigned char audit[32], audit2[32], kek[32], direct[32];
    CHECK_EQ_INT(mdt_keys_derive(&k, MDT_KEYS_LABEL_AUDIT, audit, sizeof(audit)), 0);
    CHECK_EQ_INT(mdt_keys_derive(&k, MDT_KEYS_LABEL_AUDIT, audit2, sizeof(audit2)), 0);
    CHECK_EQ_INT(mdt_keys_derive(&k, MDT_KEYS_LABEL_KEK, kek, sizeof(kek)), 0);
    CHECK(memcmp(audit, audit2, 32) == 0);
    CHECK(memcmp(audit, kek, 32) != 0);
    CHECK(memcmp(audit, k.master, 32) != 0);
    /* derive is HKDF with the documented salt and the label as info. */
    const char *salt = "mdtboard key file v1";
    CHECK_EQ_INT(mdt_keys_hkdf(k.master, 32, (const unsigned char *)salt, strlen(salt),
                               (const unsigned char *)"audit-chain", 11, direct, 32),
                 0);
    CHECK(memcmp(audit, direct, 32) == 0);
    mdt_keys_wipe(&k);
    CHECK_EQ_INT(k.master[31], 0);
}

int main(void)
{
    test_parse();
    test_create_load();
    test_hkdf();
    test_derive();
    return check_done();
}
