/* embed.h - files compiled into the binary at build time by
 * cmake/embed_files.cmake (the mdt_embed() function of CMakeLists.txt):
 * the schema migrations (migrate.h) and the OpenAPI schemas (openapi.h).
 * Each is an array of these, in file-name order, with a count beside it. */
#ifndef MDT_EMBED_H
#define MDT_EMBED_H

typedef struct {
    int version;      /* the number a migration's name starts with; 0 otherwise */
    const char *name; /* the file name, without its directory */
    const char *text; /* the whole file, NUL-terminated */
} mdt_embedded_t;

#endif
