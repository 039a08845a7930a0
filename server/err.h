/* err.h - an error in the contract's shape, carried from where it is found
 * to the one function that answers it (mdt_http_fail in http.h).
 * {"error": {"code": ..., "message": ..., "field": ...}} with an HTTP status. */
#ifndef MDT_ERR_H
#define MDT_ERR_H

#include <stdio.h>

typedef struct {
    int status;       /* HTTP status, 0 = no error */
    const char *code; /* contract code: validation, bad_request, not_found, ... */
    char message[200];
    char field[64]; /* empty when no single field is at fault */
} mdt_err_t;

#define mdt_err_set(e, st, cd, fld, ...)                                                           \
    do {                                                                                           \
        (e)->status = (st);                                                                        \
        (e)->code = (cd);                                                                          \
        snprintf((e)->message, sizeof((e)->message), __VA_ARGS__);                                 \
        snprintf((e)->field, sizeof((e)->field), "%s", (fld) ? (const char *)(fld) : "");          \
    } while (0)

#endif
