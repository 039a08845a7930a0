/* test_seal.c - sealing values and data keys (AES-256-GCM): a round trip;
 * a fresh nonce each time; the associated data binds a value to its place
 * (another object, field, row, case or PII category does not open it); a
 * wrong key, a changed byte, a truncated or unprefixed text do not open;
 * data keys wrap and unwrap only for their owner under their KEK. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto.h"
#include "seal.h"

static const unsigned char KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static const mdt_seal_where_t HERE = {"entry", "body_md", 41, 7, ""};

static int opens(const unsigned char *key, mdt_seal_where_t w, const char *sealed, const char *want)
{
    char *out = NULL;
    size_t n = 0;
    int rc = mdt_seal_open(key, &w, sealed, &out, &n);
    int ok = rc == 0 && out && want && n == strlen(want) && strcmp(out, want) == 0;
    if (rc != 0 && out)
        ok = 0; /* a refusal leaves nothing behind */
    free(out);
    return want ? ok : rc == -1 && !out;
}

static void test_round_trip(void)
{
    const char *text = "known only as <Beto>; lives with aunt \xc3\xa9";
    char *a = NULL, *b = NULL;
    CHECK_EQ_INT(mdt_seal_value(KEY, &HERE, text, strlen(text), &a), 0);
    CHECK_EQ_INT(mdt_seal_value(KEY, &HERE, text, strlen(text), &b), 0);
    CHECK(mdt_seal_is_sealed(a));
    CHECK(strstr(a, "Beto") == NULL);
    CHECK(strcmp(a, b) != 0); /* a fresh nonce each time */
    CHECK(opens(KEY, HERE, a, text));
    CHECK(opens(KEY, HERE, b, text));
    free(a);
    free(b);
    /* The empty value seals and opens too. */
    CHECK_EQ_INT(mdt_seal_value(KEY, &HERE, "", 0, &a), 0);
    CHECK(opens(KEY, HERE, a, ""));
    free(a);
}

static void test_place_binding(void)
{
    char *s = NULL;
    CHECK_EQ_INT(mdt_seal_value(KEY, &HERE, "secret", 6, &s), 0);
    mdt_seal_where_t w;
    w = HERE, w.object = "action";
    CHECK(opens(KEY, w, s, NULL));
    w = HERE, w.field = "body_html";
    CHECK(opens(KEY, w, s, NULL));
    w = HERE, w.id = 42;
    CHECK(opens(KEY, w, s, NULL));
    w = HERE, w.case_id = 8;
    CHECK(opens(KEY, w, s, NULL));
    w = HERE, w.category = "health";
    CHECK(opens(KEY, w, s, NULL));
    w = HERE, w.field = "body\x1fmd";
    CHECK(opens(KEY, w, s, NULL));
    CHECK(opens(KEY, HERE, s, "secret"));
    free(s);
}

static void test_tampering(void)
{
    unsigned char other[32];
    memcpy(other, KEY, 32);
    other[0] ^= 1;
    char *s = NULL;
    CHECK_EQ_INT(mdt_seal_value(KEY, &HERE, "do not change", 13, &s), 0);
    CHECK(opens(other, HERE, s, NULL));
    size_t len = strlen(s);
    for (size_t i = sizeof(MDT_SEAL_PREFIX) - 1; i < len; i += 7) {
        char *t = strdup(s);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        CHECK(opens(KEY, HERE, t, NULL));
        free(t);
    }
    char *cut = strdup(s);
    cut[len - 4] = '\0';
    CHECK(opens(KEY, HERE, cut, NULL));
    free(cut);
    CHECK(opens(KEY, HERE, "plain text", NULL));
    CHECK(opens(KEY, HERE, MDT_SEAL_PREFIX, NULL));
    CHECK(opens(KEY, HERE, MDT_SEAL_PREFIX "AAAA", NULL));
    CHECK(!mdt_seal_is_sealed("mdtenc2:x"));
    CHECK(!mdt_seal_is_sealed(NULL));
    free(s);
}

static void test_wrap(void)
{
    unsigned char kek[32], dek[32], back[32], wrapped[MDT_SEAL_WRAPPED_BYTES];
    CHECK_EQ_INT(mdt_crypto_random(kek, 32), 0);
    CHECK_EQ_INT(mdt_crypto_random(dek, 32), 0);
    CHECK_EQ_INT(mdt_seal_wrap(kek, 12, dek, wrapped), 0);
    CHECK(memmem(wrapped, sizeof(wrapped), dek, 32) == NULL);
    CHECK_EQ_INT(mdt_seal_unwrap(kek, 12, wrapped, back), 0);
    CHECK(memcmp(back, dek, 32) == 0);
    CHECK_EQ_INT(mdt_seal_unwrap(kek, 13, wrapped, back), -1); /* another case's key slot */
    CHECK_EQ_INT(mdt_seal_unwrap(kek, 0, wrapped, back), -1);  /* the installation's */
    kek[5] ^= 0x80;
    CHECK_EQ_INT(mdt_seal_unwrap(kek, 12, wrapped, back), -1); /* another KEK */
    kek[5] ^= 0x80;
    wrapped[20] ^= 1;
    CHECK_EQ_INT(mdt_seal_unwrap(kek, 12, wrapped, back), -1);
}

int main(void)
{
    test_round_trip();
    test_place_binding();
    test_tampering();
    test_wrap();
    return check_done();
}
