/* fuzz_cookie.c - the Cookie header parser (mdt_session_cookie).
 *
 * Looks up the session cookie and a short name in the input as a whole
 * Cookie header, into buffers of several sizes: a value found is non-empty,
 * fits the buffer with its NUL, and occurs in the header. */
#include "fuzz.h"
#include "session.h"

static void lookup(const char *header, const char *name, size_t outlen)
{
    char out[80];
    memset(out, 'X', sizeof(out));
    if (mdt_session_cookie(header, name, out, outlen) != 0)
        return;
    size_t n = strnlen(out, sizeof(out));
    if (n == 0 || n >= outlen || !strstr(header, out))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *header = fuzz_cstr(data, size);
    if (!header)
        return 0;
    static const size_t lens[] = {1, 2, 65, 80};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        lookup(header, "mdt_session", lens[i]);
        lookup(header, "a", lens[i]);
    }
    free(header);
    return 0;
}
