/* ids.h - lists of row ids: the one growable id array and the one int8[]
 * literal ("{1,2,3}") every query with a bigint[] parameter is given.
 * Pure: no I/O, no globals. */
#ifndef MDT_IDS_H
#define MDT_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable array of ids; a zeroed one is empty. */
typedef struct {
    int64_t *v;
    size_t n, cap;
} mdt_idvec_t;

/* 0, or -1 when out of memory (a is unchanged). */
int mdt_idvec_push(mdt_idvec_t *a, int64_t id);
void mdt_idvec_free(mdt_idvec_t *a);

/* Is id among ids[0..n)? */
bool mdt_ids_has(const int64_t *ids, size_t n, int64_t id);

/* "{1,2,3}" for an int8[] parameter ("{}" for n == 0); malloc'ed (caller
 * frees), NULL when out of memory. */
char *mdt_ids_literal(const int64_t *ids, size_t n);

#endif
