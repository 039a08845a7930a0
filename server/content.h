/* content.h - the registry of content kinds, like the route table.
 *
 * One descriptor per kind of case content (entries, action items,
 * services, consents, PII, tracking, the case record, meeting items). It says how the
 * kind's rows are read as the predicate's input (the item kinds: by case
 * and ids, and their earlier version), and how an object of the kind
 * becomes JSON for one reader. The hub (live events and replay) and audit
 * redaction reach every kind through it; the REST handlers, the board and
 * the lists are the kind modules' own code, which serializes through the
 * same functions and decides with the same view filter (view.h).
 *
 * Adding a kind: one descriptor in content.c (and its module's serializer),
 * one test (docs/architecture.md, "Adding a kind of content"). */
#ifndef MDT_CONTENT_H
#define MDT_CONTENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "authz.h"
#include "casectx.h"
#include "db.h"
#include "ids.h"
#include "view.h"

/* Who reads, in which case, when. */
typedef struct {
    const mdt_principal_t *p;
    const mdt_casectx_t *cx;
    int64_t now;
    const char *time_zone;
} mdt_content_reader_t;

/* The column layout of every ctx_* query below: id, visibility,
 * visible_to::text, author agency, author user, assignee agency, assignee
 * user (0 when the kind has none). */
extern const mdt_view_cols_t mdt_content_ctx_cols;

typedef struct {
    const char *object_type; /* as in events and audit rows */
    /* Item kinds (the view filter decides each row): the predicate's
     * columns of the rows with ids in $2 (int8[]) of case $1; NULL for
     * kinds that are not items. */
    const char *ctx_by_ids_sql;
    /* The predicate's columns of the version before item $1's current one;
     * NULL when the kind keeps no versions. */
    const char *ctx_prev_sql;
    /* DB thread: object id of the reader's case as the reader may see it
     * (new reference), or NULL: not visible, gone, or a database error
     * (c->status says which). */
    json_t *(*object_json)(mdt_dbc_t *c, const mdt_content_reader_t *rd, int64_t id);
    /* Kinds loaded once and shown to many readers (meeting items: a
     * meeting event goes to every subscriber): any thread, no I/O, the
     * loaded object obj (the kind's own struct) as rd->p may see it (new
     * reference); NULL for the other kinds. */
    json_t *(*loaded_json)(const mdt_content_reader_t *rd, const void *obj);
} mdt_content_kind_t;

/* The descriptor of object_type, or NULL. */
const mdt_content_kind_t *mdt_content_find(const char *object_type);
/* Every descriptor: *n of them. */
const mdt_content_kind_t *mdt_content_all(size_t *n);

/* DB thread: appends to out the ids (given as an int8[] literal) of kind k
 * in case_id that p may see in view. Returns the db status. */
int mdt_content_visible_ids(mdt_dbc_t *c, const mdt_content_kind_t *k, const mdt_principal_t *p,
                            const mdt_case_ctx_t *view, int64_t case_id, const char *ids,
                            mdt_idvec_t *out);

/* DB thread: could p see the version of item id before its current one?
 * False when the kind keeps no versions, there is none, or on error. */
bool mdt_content_prev_visible(mdt_dbc_t *c, const mdt_content_kind_t *k, const mdt_principal_t *p,
                              const mdt_case_ctx_t *view, int64_t id);

#endif
