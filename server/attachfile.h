/* attachfile.h - what an uploaded file is, independent of where it goes:
 * its type decided from its bytes (libmagic), its SHA-256, its sanitized
 * name, and the Content-Disposition it is served with.
 *
 * Pure functions apart from libmagic's database (opened per call, so no
 * state is shared between threads); any thread, errors returned. */
#ifndef MDT_ATTACHFILE_H
#define MDT_ATTACHFILE_H

#include <stddef.h>

/* A file name is at most this many bytes after sanitizing. */
#define MDT_ATTACHFILE_NAME_MAX 255

/* The accepted types, in the order of the schema's CHECK. */
extern const char *const mdt_attachfile_types[];

/* The accepted type of the len bytes at data, decided from the content
 * only (never the name or the client's Content-Type): one of
 * mdt_attachfile_types (static), or NULL when the file is of another type
 * or libmagic could not run (*why then says which, static text). */
const char *mdt_attachfile_detect(const void *data, size_t len, const char **why);

/* 1 when type (one of mdt_attachfile_types) may be shown inline: images. */
int mdt_attachfile_inline(const char *type);

/* The SHA-256 of data as 64 lowercase hex digits and a NUL into hex. */
void mdt_attachfile_sha256(const void *data, size_t len, char hex[65]);

/* A SHA-256 taken piece by piece (a streamed file): new (NULL when out of
 * memory), add the pieces in order, end writes the 64 lowercase hex digits
 * and a NUL into hex (all zeros after a failure) and may be called once;
 * free (NULL is ignored). One thread at a time. */
typedef struct mdt_attachfile_hash mdt_attachfile_hash_t;
mdt_attachfile_hash_t *mdt_attachfile_hash_new(void);
void mdt_attachfile_hash_add(mdt_attachfile_hash_t *h, const void *data, size_t len);
void mdt_attachfile_hash_end(mdt_attachfile_hash_t *h, char hex[65]);
void mdt_attachfile_hash_free(mdt_attachfile_hash_t *h);

/* Sanitizes a typed file name into out (size MDT_ATTACHFILE_NAME_MAX + 1):
 * the part after the last '/' or '\', without control characters
 * (U+0000-U+001F, U+007F), spaces trimmed at both ends, cut at a UTF-8
 * character boundary to MDT_ATTACHFILE_NAME_MAX bytes. 0 ok; -1 when name
 * is not valid UTF-8 or nothing remains (or only "." / ".."). */
int mdt_attachfile_name(const char *name, char out[MDT_ATTACHFILE_NAME_MAX + 1]);

/* The Content-Disposition value for a sanitized name into out (outlen
 * bytes): `attachment` (or `inline` when inline_ is set) with an ASCII
 * fallback filename="..." (other bytes and quotes as '_') and filename*
 * (RFC 5987, UTF-8 percent-encoded). 0 ok, -1 when it does not fit. */
int mdt_attachfile_disposition(const char *name, int inline_, char *out, size_t outlen);

#endif
