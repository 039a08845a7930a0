/* test_keyring.c - a keyring holding several KEKs (a KEK rotation): a key
 * wrapped under the old KEK still unwraps once a new one is current, by the
 * id its row names; new keys are wrapped under the current KEK; an id the
 * keyring does not hold, or the wrong one, does not unwrap; re-adding a
 * held KEK makes it current again; another secret under a held id, or a
 * held secret under another id, is refused. */
#include <string.h>

#include "check.h"
#include "crypto.h"
#include "keyring.h"
#include "seal.h"

#define OLD_ID "0123456789abcdef"
#define NEW_ID "fedcba9876543210"

static void test_rotation(void)
{
    unsigned char old_kek[32], new_kek[32], dek[32], back[32], w_old[MDT_SEAL_WRAPPED_BYTES],
        w_new[MDT_SEAL_WRAPPED_BYTES];
    char id[17];
    CHECK_EQ_INT(mdt_crypto_random(old_kek, 32), 0);
    CHECK_EQ_INT(mdt_crypto_random(new_kek, 32), 0);
    CHECK_EQ_INT(mdt_crypto_random(dek, 32), 0);
    mdt_keyring_t *kr = mdt_keyring_new(old_kek, OLD_ID);
    CHECK(kr != NULL);
    CHECK_EQ_STR(mdt_keyring_kek_id(kr), OLD_ID);
    CHECK_EQ_INT(mdt_keyring_wrap(kr, 7, dek, w_old, id), 0);
    CHECK_EQ_STR(id, OLD_ID);
    CHECK_EQ_INT(mdt_keyring_unwrap(kr, NEW_ID, 7, w_old, back), -1); /* not held yet */

    CHECK_EQ_INT(mdt_keyring_add(kr, new_kek, NEW_ID), 0);
    CHECK_EQ_STR(mdt_keyring_kek_id(kr), NEW_ID);
    CHECK(mdt_keyring_holds(kr, OLD_ID) && mdt_keyring_holds(kr, NEW_ID));
    CHECK_EQ_INT(mdt_keyring_wrap(kr, 7, dek, w_new, id), 0);
    CHECK_EQ_STR(id, NEW_ID);
    /* the old row still unwraps by its id; each only under its own */
    memset(back, 0, sizeof(back));
    CHECK_EQ_INT(mdt_keyring_unwrap(kr, OLD_ID, 7, w_old, back), 0);
    CHECK(memcmp(back, dek, 32) == 0);
    memset(back, 0, sizeof(back));
    CHECK_EQ_INT(mdt_keyring_unwrap(kr, NEW_ID, 7, w_new, back), 0);
    CHECK(memcmp(back, dek, 32) == 0);
    CHECK_EQ_INT(mdt_keyring_unwrap(kr, NEW_ID, 7, w_old, back), -1);
    CHECK_EQ_INT(mdt_keyring_unwrap(kr, OLD_ID, 7, w_new, back), -1);
    CHECK_EQ_INT(mdt_keyring_unwrap(kr, NEW_ID, 8, w_new, back), -1); /* another owner */
    CHECK_EQ_INT(mdt_keyring_unwrap(kr, "", 7, w_new, back), -1);
    CHECK_EQ_INT(mdt_keyring_unwrap(kr, NULL, 7, w_new, back), -1);

    /* re-adding the old one makes it current again */
    CHECK_EQ_INT(mdt_keyring_add(kr, old_kek, OLD_ID), 1);
    CHECK_EQ_STR(mdt_keyring_kek_id(kr), OLD_ID);
    CHECK_EQ_INT(mdt_keyring_add(kr, new_kek, NEW_ID), 1);
    mdt_keyring_free(kr);
}

static void test_refusals(void)
{
    unsigned char a[32], b[32];
    CHECK_EQ_INT(mdt_crypto_random(a, 32), 0);
    CHECK_EQ_INT(mdt_crypto_random(b, 32), 0);
    mdt_keyring_t *kr = mdt_keyring_new(a, OLD_ID);
    CHECK_EQ_INT(mdt_keyring_add(kr, b, OLD_ID), -1); /* another secret, same id */
    CHECK_EQ_INT(mdt_keyring_add(kr, a, NEW_ID), -1); /* the same secret, another id */
    CHECK_EQ_STR(mdt_keyring_kek_id(kr), OLD_ID);
    CHECK(!mdt_keyring_holds(kr, NEW_ID));
    /* full: MDT_KEYRING_MAX_KEKS in all */
    char id[17];
    for (int i = 1; i < MDT_KEYRING_MAX_KEKS; i++) {
        CHECK_EQ_INT(mdt_crypto_random(b, 32), 0);
        snprintf(id, sizeof(id), "%016x", i);
        CHECK_EQ_INT(mdt_keyring_add(kr, b, id), 0);
    }
    CHECK_EQ_INT(mdt_crypto_random(b, 32), 0);
    CHECK_EQ_INT(mdt_keyring_add(kr, b, NEW_ID), -1);
    CHECK(mdt_keyring_holds(kr, OLD_ID));
    mdt_keyring_free(kr);
}

int main(void)
{
    test_rotation();
    test_refusals();
    return check_done();
}
