/* test_password.c - scrypt hash and verify round trip, wrong passwords, a
 * fixed encoding made by another scrypt caller (Python's hashlib), malformed
 * and out-of-range encodings, the dummy hash, rehash detection and the
 * password policy's edges. Each real hash costs ~100 ms, so they are few;
 * nothing here is timed. */
#include <string.h>

#include "check.h"
#include "password.h"

#define PREFIX "$scrypt$ln=15,r=8,p=1$"

/* hashlib.scrypt(b"correct horse battery staple", salt=b"MDT Board salt16",
 * n=1024, r=8, p=1, dklen=32): valid but below the current parameters. */
static const char ln10[] = "$scrypt$ln=10,r=8,p=1$TURUIEJvYXJkIHNhbHQxNg==$"
                           "Lgc6/ABtmZSmaNcExAQ0WuMyFvlpJhD6aurotTqenDE=";
/* The same with n=2^15 and password "pässwörd ünïcode" (UTF-8). */
static const char ln15[] = "$scrypt$ln=15,r=8,p=1$TURUIEJvYXJkIHNhbHQxNg==$"
                           "B8aDoQ/dto+wCnpbqzP3pf2x9zCUxvyemjiOrfOgigI=";

static void test_roundtrip(void)
{
    char h1[MDT_PASSWORD_HASH_MAX], h2[MDT_PASSWORD_HASH_MAX];

    CHECK_EQ_INT(mdt_password_hash("correct horse battery staple", h1), 0);
    CHECK(strncmp(h1, PREFIX, strlen(PREFIX)) == 0);
    CHECK(strlen(h1) < MDT_PASSWORD_HASH_MAX);
    CHECK_EQ_INT(mdt_password_verify("correct horse battery staple", h1), 1);
    CHECK_EQ_INT(mdt_password_verify("correct horse battery stapler", h1), 0);
    CHECK_EQ_INT(mdt_password_verify("", h1), 0);
    CHECK_EQ_INT(mdt_password_needs_rehash(h1), 0);
    /* A fresh salt every time. */
    CHECK_EQ_INT(mdt_password_hash("correct horse battery staple", h2), 0);
    CHECK(strcmp(h1, h2) != 0);
    CHECK_EQ_INT(mdt_password_hash(NULL, h2), -1);
    CHECK_EQ_STR(h2, "");
    CHECK_EQ_INT(mdt_password_verify(NULL, h1), -1);
}

static void test_fixed(void)
{
    CHECK_EQ_INT(mdt_password_verify("p\xc3\xa4ssw\xc3\xb6rd \xc3\xbcn\xc3\xaf"
                                     "code",
                                     ln15),
                 1);
    CHECK_EQ_INT(mdt_password_needs_rehash(ln15), 0);
    CHECK_EQ_INT(mdt_password_verify("correct horse battery staple", ln10), 1);
    CHECK_EQ_INT(mdt_password_verify("Correct horse battery staple", ln10), 0);
    CHECK_EQ_INT(mdt_password_needs_rehash(ln10), 1);
}

static void test_malformed(void)
{
#define SALT "TURUIEJvYXJkIHNhbHQxNg=="
#define KEY  "Lgc6/ABtmZSmaNcExAQ0WuMyFvlpJhD6aurotTqenDE="
    static const char *const bad[] = {
        "",
        "$scrypt$",
        "scrypt$ln=15,r=8,p=1$" SALT "$" KEY,
        "$SCRYPT$ln=15,r=8,p=1$" SALT "$" KEY,
        "$argon2id$v=19$m=65536,t=3,p=4$" SALT "$" KEY,
        /* parameters out of range or badly written */
        "$scrypt$ln=9,r=8,p=1$" SALT "$" KEY,
        "$scrypt$ln=21,r=8,p=1$" SALT "$" KEY,
        "$scrypt$ln=15,r=0,p=1$" SALT "$" KEY,
        "$scrypt$ln=15,r=17,p=1$" SALT "$" KEY,
        "$scrypt$ln=15,r=8,p=0$" SALT "$" KEY,
        "$scrypt$ln=15,r=8,p=5$" SALT "$" KEY,
        "$scrypt$ln=015,r=8,p=1$" SALT "$" KEY,
        "$scrypt$ln=+15,r=8,p=1$" SALT "$" KEY,
        "$scrypt$ln=-1,r=8,p=1$" SALT "$" KEY,
        "$scrypt$ln=99999999999999999999,r=8,p=1$" SALT "$" KEY,
        "$scrypt$ln=15,p=1,r=8$" SALT "$" KEY,
        "$scrypt$ln=15,r=8$" SALT "$" KEY,
        "$scrypt$ln=15,r=8,p=1,x=2$" SALT "$" KEY,
        "$scrypt$ln=15,r=8,p=1 $" SALT "$" KEY,
        /* salt and key fields */
        "$scrypt$ln=15,r=8,p=1$" SALT,
        "$scrypt$ln=15,r=8,p=1$" SALT "$",
        "$scrypt$ln=15,r=8,p=1$$" KEY,
        "$scrypt$ln=15,r=8,p=1$TURUIE*vYXJkIHNhbHQxNg==$" KEY,
        "$scrypt$ln=15,r=8,p=1$" SALT "$" KEY "$",
        "$scrypt$ln=15,r=8,p=1$" SALT "$" KEY " ",
        "$scrypt$ln=15,r=8,p=1$" SALT "$Lgc6/ABtmZSmaNcExAQ0WuMyFvlpJhD6aurotTqenDE=x",
        /* 4-byte salt, 8-byte key, 66-byte key */
        "$scrypt$ln=15,r=8,p=1$TURUIA==$" KEY,
        "$scrypt$ln=15,r=8,p=1$" SALT "$Lgc6/ABtmZQ=",
        "$scrypt$ln=15,r=8,p=1$" SALT
        "$QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
        /* well-formed, but 2 GiB of memory: refused before any work */
        "$scrypt$ln=20,r=16,p=1$" SALT "$" KEY,
    };
#undef SALT
#undef KEY
    const size_t n = sizeof(bad) / sizeof(bad[0]);

    for (size_t i = 0; i < n; i++) {
        int rc = mdt_password_verify("correct horse battery staple", bad[i]);
        if (rc != -1)
            fprintf(stderr, "accepted bad encoding #%zu: %s\n", i, bad[i]);
        CHECK_EQ_INT(rc, -1);
        /* The last one parses: it is only too costly to check. */
        CHECK_EQ_INT(mdt_password_needs_rehash(bad[i]), i == n - 1 ? 0 : -1);
    }
    CHECK_EQ_INT(mdt_password_verify("x", NULL), -1);
    CHECK_EQ_INT(mdt_password_needs_rehash(NULL), -1);
}

static void test_rehash(void)
{
    /* Parsed only, never computed. */
    CHECK_EQ_INT(mdt_password_needs_rehash("$scrypt$ln=14,r=8,p=1$TURUIEJvYXJkIHNhbHQxNg==$"
                                           "Lgc6/ABtmZSmaNcExAQ0WuMyFvlpJhD6aurotTqenDE="),
                 1);
    CHECK_EQ_INT(mdt_password_needs_rehash("$scrypt$ln=15,r=4,p=1$TURUIEJvYXJkIHNhbHQxNg==$"
                                           "Lgc6/ABtmZSmaNcExAQ0WuMyFvlpJhD6aurotTqenDE="),
                 1);
    /* 8-byte salt, 16-byte key */
    CHECK_EQ_INT(mdt_password_needs_rehash("$scrypt$ln=15,r=8,p=1$TURUIEJvYXI=$"
                                           "TURUIEJvYXJkIHNhbHQxNg=="),
                 1);
    CHECK_EQ_INT(mdt_password_needs_rehash("$scrypt$ln=16,r=8,p=2$TURUIEJvYXJkIHNhbHQxNg==$"
                                           "Lgc6/ABtmZSmaNcExAQ0WuMyFvlpJhD6aurotTqenDE="),
                 0);
}

static void test_dummy(void)
{
    const char *d = mdt_password_dummy_hash();

    CHECK(d != NULL);
    CHECK(d && strncmp(d, PREFIX, strlen(PREFIX)) == 0);
    CHECK(d && strlen(d) < MDT_PASSWORD_HASH_MAX);
    CHECK_EQ_INT(mdt_password_needs_rehash(d), 0);
    CHECK(d == mdt_password_dummy_hash());
    /* Valid (0, not -1) and matches nothing. */
    CHECK_EQ_INT(mdt_password_verify("", d), 0);
    CHECK_EQ_INT(mdt_password_verify("correct horse battery staple", d), 0);
}

/* Checks the policy's answer and its reason. */
static void policy_is(const char *pw, int rc, const char *why)
{
    const char *got = "unset";

    CHECK_EQ_INT(mdt_password_policy(pw, &got), rc);
    if (why)
        CHECK_EQ_STR(got, why);
    else
        CHECK(got == NULL);
}

static void test_policy(void)
{
    static const char too_short[] = "password must be at least 12 characters";
    static const char too_long[] = "password must be at most 1024 bytes";
    static const char not_utf8[] = "password must be valid UTF-8";
    char buf[1100];

    policy_is("abcdefghijk", -1, too_short);
    policy_is("abcdefghijkl", 0, NULL);
    policy_is("", -1, too_short);
    policy_is(NULL, -1, "password is required");
    /* Code points, not bytes: 11 x "é" is 22 bytes and still too short. */
    policy_is("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
              "\xc3\xa9",
              -1, too_short);
    policy_is("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
              "\xc3\xa9\xc3\xa9",
              0, NULL);
    /* 3-byte "€" and 4-byte "😀": 10 + 1 and 10 + 2. */
    policy_is("abcdefghij\xe2\x82\xac", -1, too_short);
    policy_is("abcdefghij\xe2\x82\xac\xf0\x9f\x98\x80", 0, NULL);
    policy_is("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
              "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
              "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
              -1, too_short);
    /* Byte limit: 1024 fine, 1025 not, even when valid. */
    memset(buf, 'a', 1024);
    buf[1024] = '\0';
    policy_is(buf, 0, NULL);
    buf[1024] = 'a';
    buf[1025] = '\0';
    policy_is(buf, -1, too_long);
    memset(buf, 0, sizeof(buf));
    for (int i = 0; i < 512; i++)
        memcpy(buf + 2 * i, "\xc3\xa9", 2);
    policy_is(buf, 0, NULL);
    memcpy(buf + 1024, "a", 2);
    policy_is(buf, -1, too_long);
    /* Invalid UTF-8 anywhere. */
    policy_is("abcdefghijkl\xff", -1, not_utf8);
    policy_is("abcdefghijkl\x80", -1, not_utf8);             /* lone continuation */
    policy_is("abcdefghijkl\xc3", -1, not_utf8);             /* truncated */
    policy_is("abcdefghijkl\xe2\x82", -1, not_utf8);         /* truncated */
    policy_is("abcdefghijkl\xc3!", -1, not_utf8);            /* bad continuation */
    policy_is("\xc3(abcdefghijkl", -1, not_utf8);            /* bad continuation, first */
    policy_is("abcdefghijkl\xc0\xaf", -1, not_utf8);         /* overlong "/" */
    policy_is("abcdefghijkl\xc1\xbf", -1, not_utf8);         /* overlong */
    policy_is("abcdefghijkl\xe0\x80\xaf", -1, not_utf8);     /* overlong */
    policy_is("abcdefghijkl\xf0\x80\x80\xaf", -1, not_utf8); /* overlong */
    policy_is("abcdefghijkl\xed\xa0\x80", -1, not_utf8);     /* surrogate U+D800 */
    policy_is("abcdefghijkl\xf4\x90\x80\x80", -1, not_utf8); /* U+110000 */
    policy_is("abcdefghijkl\xf5\x80\x80\x80", -1, not_utf8);
    policy_is("abcdefghijkl\xf8\x88\x80\x80\x80", -1, not_utf8);
    /* Edges that are valid: U+D7FF, U+E000, U+10FFFF, U+0080. */
    policy_is("abcdefghijkl\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\xc2\x80", 0, NULL);
    /* why may be NULL. */
    CHECK_EQ_INT(mdt_password_policy("short", NULL), -1);
    CHECK_EQ_INT(mdt_password_policy("long enough password", NULL), 0);
}

int main(void)
{
    test_policy();
    test_malformed();
    test_rehash();
    test_fixed();
    test_dummy();
    test_roundtrip();
    return check_done();
}
