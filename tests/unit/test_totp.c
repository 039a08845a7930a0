/* test_totp.c - the RFC 6238 Appendix B table (SHA-1, SHA-256, SHA-512 with
 * their 20-, 32- and 64-byte seeds), the RFC 4226 Appendix D HOTP values,
 * RFC 4648 base32 vectors, the login check (window of one step each way,
 * replay refusal, malformed codes) and the otpauth:// URI. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "totp.h"

static const unsigned char seed20[] = "12345678901234567890";
static const unsigned char seed32[] = "12345678901234567890123456789012";
static const unsigned char seed64[] =
    "1234567890123456789012345678901234567890123456789012345678901234";

static void test_rfc6238(void)
{
    static const struct {
        int64_t t;
        const char *md;
        const char *code;
    } vec[] = {
        {59, "SHA1", "94287082"},
        {59, "SHA256", "46119246"},
        {59, "SHA512", "90693936"},
        {1111111109, "SHA1", "07081804"},
        {1111111109, "SHA256", "68084774"},
        {1111111109, "SHA512", "25091201"},
        {1111111111, "SHA1", "14050471"},
        {1111111111, "SHA256", "67062674"},
        {1111111111, "SHA512", "99943326"},
        {1234567890, "SHA1", "89005924"},
        {1234567890, "SHA256", "91819424"},
        {1234567890, "SHA512", "93441116"},
        {2000000000, "SHA1", "69279037"},
        {2000000000, "SHA256", "90698825"},
        {2000000000, "SHA512", "38618901"},
        {20000000000, "SHA1", "65353130"},
        {20000000000, "SHA256", "77737706"},
        {20000000000, "SHA512", "47863826"},
    };

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        const unsigned char *key = seed20;
        size_t keylen = 20;
        char got[16];
        int code;

        if (strcmp(vec[i].md, "SHA256") == 0) {
            key = seed32;
            keylen = 32;
        } else if (strcmp(vec[i].md, "SHA512") == 0) {
            key = seed64;
            keylen = 64;
        }
        code = mdt_totp_code(key, keylen, vec[i].md, (uint64_t)(vec[i].t / 30), 8);
        snprintf(got, sizeof(got), "%08d", code);
        CHECK_EQ_STR(got, vec[i].code);
    }
}

static void test_rfc4226(void)
{
    static const int hotp[] = {755224, 287082, 359152, 969429, 338314,
                               254676, 287922, 162583, 399871, 520489};

    for (uint64_t c = 0; c < 10; c++)
        CHECK_EQ_INT(mdt_totp_code(seed20, 20, "SHA1", c, 6), hotp[c]);
}

static void test_code_args(void)
{
    CHECK_EQ_INT(mdt_totp_code(seed20, 20, "MD5", 0, 6), -1);
    CHECK_EQ_INT(mdt_totp_code(seed20, 20, "sha1", 0, 6), -1);
    CHECK_EQ_INT(mdt_totp_code(seed20, 20, NULL, 0, 6), -1);
    CHECK_EQ_INT(mdt_totp_code(seed20, 20, "SHA1", 0, 0), -1);
    CHECK_EQ_INT(mdt_totp_code(seed20, 20, "SHA1", 0, 10), -1);
    CHECK_EQ_INT(mdt_totp_code(NULL, 20, "SHA1", 0, 6), -1);
    /* 9 digits fit an int; RFC 4226's count 0 value is 1284755224. */
    CHECK_EQ_INT(mdt_totp_code(seed20, 20, "SHA1", 0, 9), 284755224);
    CHECK_EQ_INT(mdt_totp_code(seed20, 20, "SHA1", 0, 1), 4);
}

static void test_b32(void)
{
    /* RFC 4648 section 10, without the padding on encode. */
    static const char *const vec[][3] = {
        {"", "", ""},
        {"f", "MY", "MY======"},
        {"fo", "MZXQ", "MZXQ===="},
        {"foo", "MZXW6", "MZXW6==="},
        {"foob", "MZXW6YQ", "MZXW6YQ="},
        {"fooba", "MZXW6YTB", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"},
    };
    static const char *const bad[] = {
        "M",      "MZX",       "MZXW6Y", /* impossible lengths */
        "MZ",                            /* non-zero leftover bits */
        "MY=A",   "MY==A===",            /* data after padding */
        "MY===",  "MY=======",           /* padding not completing the group */
        "MZXW1",  "MZXW8",     "MZ0",    /* outside the alphabet */
        "MZ-XW6", "MZ\tXW6",   "MY==\n",
    };
    unsigned char dec[32];
    char enc[40];

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        size_t n = strlen(vec[i][0]);

        CHECK_EQ_INT(mdt_totp_b32_encode((const unsigned char *)vec[i][0], n, enc, sizeof(enc)),
                     strlen(vec[i][1]));
        CHECK_EQ_STR(enc, vec[i][1]);
        CHECK_EQ_INT(mdt_totp_b32_decode(vec[i][1], dec, sizeof(dec)), n);
        CHECK(memcmp(dec, vec[i][0], n) == 0);
        CHECK_EQ_INT(mdt_totp_b32_decode(vec[i][2], dec, sizeof(dec)), n);
        CHECK(memcmp(dec, vec[i][0], n) == 0);
    }
    /* Lower case, spaces as authenticator apps show them. */
    CHECK_EQ_INT(mdt_totp_b32_decode("mzxw 6ytb oi", dec, sizeof(dec)), 6);
    CHECK(memcmp(dec, "foobar", 6) == 0);
    CHECK_EQ_INT(mdt_totp_b32_decode(" MzXw6YtBoI====== ", dec, sizeof(dec)), 6);
    CHECK(memcmp(dec, "foobar", 6) == 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long m = mdt_totp_b32_decode(bad[i], dec, sizeof(dec));
        if (m != -1)
            fprintf(stderr, "accepted bad base32 \"%s\"\n", bad[i]);
        CHECK_EQ_INT(m, -1);
    }
    /* Buffers too small. */
    CHECK_EQ_INT(mdt_totp_b32_decode("MZXW6YTBOI", dec, 5), -1);
    CHECK_EQ_INT(mdt_totp_b32_decode("MZXW6YTBOI", dec, 6), 6);
    CHECK_EQ_INT(mdt_totp_b32_encode((const unsigned char *)"foobar", 6, enc, 10), -1);
    CHECK_EQ_INT(mdt_totp_b32_encode((const unsigned char *)"foobar", 6, enc, 11), 10);
}

static void test_secret(void)
{
    unsigned char a[MDT_TOTP_SECRET_LEN], b[MDT_TOTP_SECRET_LEN], back[MDT_TOTP_SECRET_LEN];
    char b32[40];

    CHECK_EQ_INT(mdt_totp_new_secret(a), 0);
    CHECK_EQ_INT(mdt_totp_new_secret(b), 0);
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    CHECK_EQ_INT(mdt_totp_b32_encode(a, sizeof(a), b32, sizeof(b32)), 32);
    CHECK_EQ_INT(mdt_totp_b32_decode(b32, back, sizeof(back)), 20);
    CHECK(memcmp(a, back, sizeof(a)) == 0);
}

/* The 6-digit login code for a step, as a string. */
static void code_at(int64_t step, char out[7])
{
    snprintf(out, 7, "%06d", mdt_totp_code(seed20, 20, "SHA1", (uint64_t)step, 6));
}

static void test_verify(void)
{
    const int64_t now = 1111111109, step = now / 30; /* RFC 6238's third row */
    char c[7];
    int64_t matched;

    /* The RFC value, truncated to 6 digits. */
    matched = -7;
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, "081804", now, -1, &matched), 1);
    CHECK_EQ_INT(matched, step);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, "081804", now, -1, NULL), 1);

    /* Window: one step either way, not two. */
    for (int64_t d = -2; d <= 2; d++) {
        int want = d >= -1 && d <= 1;
        code_at(step + d, c);
        matched = -7;
        CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, now, -1, &matched), want);
        CHECK_EQ_INT(matched, want ? step + d : -7);
    }
    /* Either end of the current step. */
    code_at(step + 1, c);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, step * 30, -1, &matched), 1);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, step * 30 + 29, -1, &matched), 1);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, step * 30 - 1, -1, &matched), 0);

    /* Replay: nothing at or before the last step used. */
    code_at(step, c);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, now, step, &matched), 0);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, now, step + 1, &matched), 0);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, now, step - 1, &matched), 1);
    code_at(step - 1, c);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, now, step - 1, &matched), 0);
    code_at(step + 1, c);
    matched = -7;
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, now, step, &matched), 1);
    CHECK_EQ_INT(matched, step + 1);
    /* A code accepted and then presented again, as a caller would. */
    code_at(step, c);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, now, -1, &matched), 1);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, now + 10, matched, &matched), 0);

    /* Wrong key. */
    code_at(step, c);
    CHECK_EQ_INT(mdt_totp_verify(seed64 + 1, 20, c, now, -1, &matched), 0);
    CHECK_EQ_INT(mdt_totp_verify(NULL, 20, c, now, -1, &matched), 0);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 0, c, now, -1, &matched), 0);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, c, -30, -1, &matched), 0);
}

static void test_verify_malformed(void)
{
    const int64_t now = 1111111109;
    /* 081804 is the right code: every variant of it must fail. */
    static const char *const bad[] = {
        "",       "81804",   "0818040", "081 804", " 081804", "081804 ",       "081804\n",
        "+81804", "-81804",  "08180a",  "08l804",  "0x1804",  "08180\xd9\xa4", "０８１８０４",
        "12345",  "1234567",
    };
    int64_t matched = -7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(mdt_totp_verify(seed20, 20, bad[i], now, -1, &matched), 0);
    CHECK_EQ_INT(mdt_totp_verify(seed20, 20, NULL, now, -1, &matched), 0);
    CHECK_EQ_INT(matched, -7);
}

static void test_uri(void)
{
    char *uri;

    uri = mdt_totp_uri("MDT Board", "alice@example.org", "JBSWY3DPEHPK3PXP");
    CHECK_EQ_STR(uri, "otpauth://totp/MDT%20Board:alice%40example.org?secret=JBSWY3DPEHPK3PXP"
                      "&issuer=MDT%20Board&algorithm=SHA1&digits=6&period=30");
    free(uri);
    uri = mdt_totp_uri("A:B&C/?#=", "zo\xc3\xab+x y", "MZXW6===");
    CHECK_EQ_STR(uri, "otpauth://totp/A%3AB%26C%2F%3F%23%3D:zo%C3%AB%2Bx%20y?secret=MZXW6%3D%3D%3D"
                      "&issuer=A%3AB%26C%2F%3F%23%3D&algorithm=SHA1&digits=6&period=30");
    free(uri);
    uri = mdt_totp_uri("a-b.c_d~e", "x", "S");
    CHECK_EQ_STR(uri, "otpauth://totp/a-b.c_d~e:x?secret=S&issuer=a-b.c_d~e&algorithm=SHA1"
                      "&digits=6&period=30");
    free(uri);
    CHECK(mdt_totp_uri(NULL, "a", "S") == NULL);
    CHECK(mdt_totp_uri("I", NULL, "S") == NULL);
    CHECK(mdt_totp_uri("I", "a", NULL) == NULL);
    CHECK(mdt_totp_uri("", "a", "S") == NULL);
    CHECK(mdt_totp_uri("I", "", "S") == NULL);
}

int main(void)
{
    test_rfc6238();
    test_rfc4226();
    test_code_args();
    test_b32();
    test_secret();
    test_verify();
    test_verify_malformed();
    test_uri();
    return check_done();
}
