/* fuzz.h - what every libFuzzer target in tests/fuzz/ shares: the entry
 * point's prototype (the targets are built with -Wmissing-prototypes) and
 * a NUL-terminated copy of the input. */
#ifndef MDT_FUZZ_H
#define MDT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'ed NUL-terminated copy of data (embedded NULs kept); the caller
 * frees it. NULL on OOM. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        if (size)
            memcpy(s, data, size);
        s[size] = 0;
    }
    return s;
}

#endif
