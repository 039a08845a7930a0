/* test_crypto.c - SHA-256 and HMAC-SHA-256 known vectors (FIPS 180-2,
 * RFC 4231), hex, random tokens, RFC 4648 base64 vectors, round trips and
 * refusal of bad input, constant-time equality. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto.h"

static void test_sha256(void)
{
    static const char two_block[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    unsigned char md[32];
    char hex[65];

    mdt_crypto_sha256_hex("abc", 3, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    mdt_crypto_sha256_hex("", 0, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    mdt_crypto_sha256_hex(two_block, strlen(two_block), hex);
    CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    mdt_crypto_sha256("abc", 3, md);
    CHECK_EQ_INT(md[0], 0xba);
    CHECK_EQ_INT(md[31], 0xad);
}

static void test_hmac(void)
{
    unsigned char key1[20];
    char hex[65];

    memset(key1, 0x0b, sizeof(key1));
    /* RFC 4231 test cases 1 and 2. */
    CHECK_EQ_INT(mdt_crypto_hmac_sha256_hex(key1, sizeof(key1), "Hi There", 8, hex), 0);
    CHECK_EQ_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK_EQ_INT(mdt_crypto_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex), 0);
    CHECK_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Empty key and message. */
    CHECK_EQ_INT(mdt_crypto_hmac_sha256_hex(NULL, 0, NULL, 0, hex), 0);
    CHECK_EQ_STR(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_hex(void)
{
    static const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 1];

    mdt_crypto_hex(in, sizeof(in), out);
    CHECK_EQ_STR(out, "00017f80abff");
    memset(out, 'x', sizeof(out));
    mdt_crypto_hex(in, 0, out);
    CHECK_EQ_STR(out, "");
}

static int all_lower_hex(const char *s)
{
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
            return 0;
    return 1;
}

static void test_random(void)
{
    unsigned char a[32], b[32];
    char t1[65], t2[65], t3[81], t0[1];

    CHECK_EQ_INT(mdt_crypto_random(a, sizeof(a)), 0);
    CHECK_EQ_INT(mdt_crypto_random(b, sizeof(b)), 0);
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    CHECK_EQ_INT(mdt_crypto_random(a, 0), 0);

    CHECK_EQ_INT(mdt_crypto_token_hex(t1, 32), 0);
    CHECK_EQ_INT(mdt_crypto_token_hex(t2, 32), 0);
    CHECK_EQ_INT(strlen(t1), 64);
    CHECK(all_lower_hex(t1));
    CHECK(strcmp(t1, t2) != 0);
    /* More than one internal chunk. */
    CHECK_EQ_INT(mdt_crypto_token_hex(t3, 40), 0);
    CHECK_EQ_INT(strlen(t3), 80);
    CHECK(all_lower_hex(t3));
    CHECK_EQ_INT(mdt_crypto_token_hex(t0, 0), 0);
    CHECK_EQ_STR(t0, "");
}

static void test_equal(void)
{
    static const unsigned char x[] = "0123456789abcdef";
    unsigned char y[sizeof(x)];

    memcpy(y, x, sizeof(x));
    CHECK_EQ_INT(mdt_crypto_equal(x, y, sizeof(x)), 1);
    y[0] ^= 1;
    CHECK_EQ_INT(mdt_crypto_equal(x, y, sizeof(x)), 0);
    y[0] ^= 1;
    y[sizeof(y) - 1] ^= 0x80;
    CHECK_EQ_INT(mdt_crypto_equal(x, y, sizeof(x)), 0);
    CHECK_EQ_INT(mdt_crypto_equal(x, y, sizeof(x) - 1), 1);
    CHECK_EQ_INT(mdt_crypto_equal(x, y, 0), 1);
}

static void test_b64_vectors(void)
{
    /* RFC 4648 section 10. */
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    char enc[16];
    unsigned char dec[16];

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        size_t n = strlen(vec[i][0]);
        long m;

        CHECK_EQ_INT(mdt_crypto_b64_encode((const unsigned char *)vec[i][0], n, enc, sizeof(enc)),
                     strlen(vec[i][1]));
        CHECK_EQ_STR(enc, vec[i][1]);
        m = mdt_crypto_b64_decode(vec[i][1], dec, sizeof(dec));
        CHECK_EQ_INT(m, n);
        CHECK(m >= 0 && memcmp(dec, vec[i][0], n) == 0);
    }
    /* Padding may be left out. */
    CHECK_EQ_INT(mdt_crypto_b64_decode("Zg", dec, sizeof(dec)), 1);
    CHECK_EQ_INT(dec[0], 'f');
    CHECK_EQ_INT(mdt_crypto_b64_decode("Zm9vYmE", dec, sizeof(dec)), 5);
    CHECK(memcmp(dec, "fooba", 5) == 0);
    /* The whole alphabet, '+' and '/' included. */
    {
        static const unsigned char all[] = {0xfb, 0xff, 0xbf};
        CHECK_EQ_INT(mdt_crypto_b64_encode(all, 3, enc, sizeof(enc)), 4);
        CHECK_EQ_STR(enc, "+/+/");
        CHECK_EQ_INT(mdt_crypto_b64_decode("+/+/", dec, sizeof(dec)), 3);
        CHECK(memcmp(dec, all, 3) == 0);
    }
}

static void test_b64_bad(void)
{
    static const char *const bad[] = {
        "Z",     /* one char in the last group */
        "Zg=",   /* padding does not complete the group */
        "Zg===", /* too much padding */
        "Z===",
        "====",
        "=",
        "Zm9v!", /* outside the alphabet */
        "Zm 9v", /* whitespace */
        "Zm9v\n",
        "Zm9=v",            /* '=' before the end */
        "Zh==",             /* non-zero leftover bits */
        "Zm9=",             /* non-zero leftover bits */
        "-_-_",             /* URL-safe alphabet */
        "Zm9vYmFy\r\nZm9v", /* line breaks */
        "Zm9v\xc3\xa9"      /* non-ASCII */
    };
    unsigned char dec[16];
    char enc[8];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long m = mdt_crypto_b64_decode(bad[i], dec, sizeof(dec));
        if (m != -1)
            fprintf(stderr, "accepted bad base64 \"%s\"\n", bad[i]);
        CHECK_EQ_INT(m, -1);
    }
    /* Output too small. */
    CHECK_EQ_INT(mdt_crypto_b64_decode("Zm9v", dec, 2), -1);
    CHECK_EQ_INT(mdt_crypto_b64_decode("Zm9v", dec, 3), 3);
    CHECK_EQ_INT(mdt_crypto_b64_decode("", dec, 0), 0);
    memset(enc, 'x', sizeof(enc));
    CHECK_EQ_INT(mdt_crypto_b64_encode((const unsigned char *)"foobar", 6, enc, 8), 0);
    CHECK_EQ_STR(enc, "");
    CHECK_EQ_INT(mdt_crypto_b64_encode((const unsigned char *)"foobar", 6, enc, 0), 0);
    CHECK_EQ_INT(MDT_CRYPTO_B64_SIZE(6), 9);
    CHECK_EQ_INT(MDT_CRYPTO_B64_SIZE(0), 1);
}

static void test_b64_roundtrip(void)
{
    unsigned char in[100], out[100];
    char enc[MDT_CRYPTO_B64_SIZE(100)];
    int ok = 1;

    CHECK_EQ_INT(mdt_crypto_random(in, sizeof(in)), 0);
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t len = mdt_crypto_b64_encode(in, n, enc, MDT_CRYPTO_B64_SIZE(n));
        long m = mdt_crypto_b64_decode(enc, out, n);
        /* Into a heap buffer of exactly n bytes (ASan sees a byte stored
         * past it), and into one with room to spare (whole-word stores). */
        unsigned char *exact = malloc(n ? n : 1), roomy[sizeof(in) + 8];
        long me = exact ? mdt_crypto_b64_decode(enc, exact, n) : -2;
        long mr = mdt_crypto_b64_decode(enc, roomy, sizeof(roomy));
        int same = me == (long)n && mr == (long)n && memcmp(in, exact, n) == 0 &&
                   memcmp(in, roomy, n) == 0;
        free(exact);
        if (len != (n + 2) / 3 * 4 || strlen(enc) != len || m != (long)n ||
            memcmp(in, out, n) != 0 || !same) {
            fprintf(stderr, "base64 round trip failed at %zu bytes\n", n);
            ok = 0;
        }
    }
    CHECK(ok);
}

int main(void)
{
    test_sha256();
    test_hmac();
    test_hex();
    test_random();
    test_equal();
    test_b64_vectors();
    test_b64_bad();
    test_b64_roundtrip();
    return check_done();
}
