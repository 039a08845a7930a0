/* test_seal.c - sealing values and data keys (AES-256-GCM): a round trip;
 * a fresh nonce each time; the associated data binds a value to its place
 * (another object, field, row, case or PII category does not open it); a
 * wrong key, a changed byte, a truncated or unprefixed text do not open;
 * data keys wrap and unwrap only for their owner under their KEK; a reused
 * opener (one cipher context for many values) gives the same answers as a
 * fresh one, whatever came before: a wrong place or key after a good value
 * is refused, a good value after a refusal opens, keys switch both ways,
 * the buffer grows and shrinks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto.h"
#include "seal.h"

static const unsigned char KEY[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

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

/* o opens sealed for w under key to want (NULL: refuses, leaving *out NULL). */
static int opener_gives(mdt_seal_opener_t *o, const unsigned char *key, mdt_seal_where_t w,
                        const char *sealed, const char *want)
{
    const char *out = "unset";
    size_t n = 12345;
    int rc = mdt_seal_opener_open(o, key, &w, sealed, &out, &n);
    if (!want)
        return rc == -1 && out == NULL;
    return rc == 0 && out && n == strlen(want) && strcmp(out, want) == 0;
}

static void test_opener_reuse(void)
{
    unsigned char key2[32];
    memcpy(key2, KEY, 32);
    key2[31] ^= 0x40;
    mdt_seal_where_t there = HERE;
    there.id = 42;
    char big[9000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char *a = NULL, *b = NULL, *k2 = NULL, *large = NULL, *empty = NULL;
    CHECK_EQ_INT(mdt_seal_value(KEY, &HERE, "first value", 11, &a), 0);
    CHECK_EQ_INT(mdt_seal_value(KEY, &there, "second", 6, &b), 0);
    CHECK_EQ_INT(mdt_seal_value(key2, &HERE, "under key two", 13, &k2), 0);
    CHECK_EQ_INT(mdt_seal_value(KEY, &HERE, big, strlen(big), &large), 0);
    CHECK_EQ_INT(mdt_seal_value(KEY, &HERE, "", 0, &empty), 0);
    mdt_seal_opener_t *o = mdt_seal_opener_new();
    CHECK(o != NULL);
    if (!o)
        return;
    CHECK(opener_gives(o, KEY, HERE, a, "first value"));
    /* the same context, the wrong associated data: refused */
    CHECK(opener_gives(o, KEY, HERE, b, NULL));
    CHECK(opener_gives(o, KEY, there, a, NULL));
    /* right after a refusal, good values open */
    CHECK(opener_gives(o, KEY, there, b, "second"));
    CHECK(opener_gives(o, KEY, HERE, a, "first value"));
    /* keys switch both ways; a value under the other key is refused */
    CHECK(opener_gives(o, key2, HERE, k2, "under key two"));
    CHECK(opener_gives(o, key2, HERE, a, NULL));
    CHECK(opener_gives(o, KEY, HERE, k2, NULL));
    CHECK(opener_gives(o, KEY, HERE, a, "first value"));
    /* a changed byte after good values; then good again */
    char *t = strdup(a);
    t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
    CHECK(opener_gives(o, KEY, HERE, t, NULL));
    free(t);
    CHECK(opener_gives(o, KEY, HERE, "not sealed", NULL));
    CHECK(opener_gives(o, KEY, HERE, MDT_SEAL_PREFIX "AAAA", NULL));
    /* the buffer grows for a large value and still serves small ones */
    CHECK(opener_gives(o, KEY, HERE, large, big));
    CHECK(opener_gives(o, KEY, HERE, empty, ""));
    CHECK(opener_gives(o, KEY, there, b, "second"));
    /* the same answers as mdt_seal_open */
    CHECK(opens(KEY, there, b, "second"));
    CHECK(opens(KEY, HERE, b, NULL));
    mdt_seal_opener_free(o);
    mdt_seal_opener_free(NULL);
    free(a);
    free(b);
    free(k2);
    free(large);
    free(empty);
}

/* Values sealed by the code before the associated data was built by hand
 * (the printf format): they must still open, and only in their place. */
static void test_known_vectors(void)
{
    unsigned char key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)(i + 1);
    const mdt_seal_where_t w[3] = {{"entry", "body_md", 41, 7, ""},
                                   {"pii", "data", INT64_MIN, INT64_MAX, "immigration"},
                                   {"user", "mfa_secret", 5, 0, NULL}};
    const char *sealed[3] = {
        "mdtenc1:SjB8iuU6DUMv42IansyVeuPPtMljWGphopxgIPYp9+FnBCR8ppUjFw==",
        "mdtenc1:pbHwvjbuuB9pNyUBigR+vp5qySx1GEgu3wDdmdRVhnRCBNGGLO2s3q1K93DW",
        "mdtenc1:vnDQNHJxusOKYI/1iQwaxNr+rk6mrs+A1NPampP8WePNSN2Tm1S2oe8id9Q="};
    const char *plain[3] = {"known vector", "immigration facts", "JBSWY3DPEHPK3PXP"};
    for (int i = 0; i < 3; i++) {
        CHECK(opens(key, w[i], sealed[i], plain[i]));
        CHECK(opens(key, w[(i + 1) % 3], sealed[i], NULL));
    }
    mdt_seal_where_t other = w[1];
    other.id = INT64_MIN + 1;
    CHECK(opens(key, other, sealed[1], NULL));
}

int main(void)
{
    test_round_trip();
    test_place_binding();
    test_tampering();
    test_wrap();
    test_opener_reuse();
    test_known_vectors();
    return check_done();
}
