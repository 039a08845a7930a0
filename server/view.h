/* view.h - the one view filter: "may this principal see this row".
 *
 * Every path that shows case content (REST reads, the board, lists and
 * counts, the dashboard, minutes, reports, audit redaction, replay and the
 * live hub) turns a row into the predicate's input here and asks
 * mdt_authz_item_visible / mdt_authz_item_history_visible here, and nowhere
 * else. A row names where its predicate columns are (mdt_view_cols_t); SQL
 * may pre-filter rows by membership as an optimisation, never instead of
 * this filter. Fails closed: a visibility the predicate does not know is
 * shown to no one, a row without a visibility column is shown to no one.
 * The kinds of content and where their columns are: kinds.h. DB thread or
 * loop: pure apart from reading the PGresult. */
#ifndef MDT_VIEW_H
#define MDT_VIEW_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "authz.h"
#include "casectx.h"

/* Column numbers of the predicate's input in a row; -1 for a column the
 * kind does not have (its field is then 0: no assignee). */
typedef struct {
    int vis;             /* visibility text */
    int visible_to;      /* visible_to::text, an int8[] literal */
    int author_agency;   /* the author's (creator's) agency */
    int author_user;     /* the author (creator) */
    int assignee_agency; /* action items only */
    int assignee_user;   /* action items only; NULL reads as 0 */
} mdt_view_cols_t;

/* An item as the predicate sees it; owns the visible_to storage, so it
 * must not be copied while it.visible_to is in use. */
typedef struct {
    mdt_item_ctx_t it;
    int64_t ids[MDT_CASE_MAX_AGENCIES];
} mdt_view_item_t;

/* Fills out from row `row` of r. An unknown visibility becomes
 * MDT_VIS_COUNT (shown to no one). */
void mdt_view_item(const PGresult *r, int row, const mdt_view_cols_t *cols, mdt_view_item_t *out);

/* The view filter: may p see the item (in case c)? */
bool mdt_view_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c, const mdt_view_item_t *it);
/* Earlier versions and a retracted body: may p see them? */
bool mdt_view_history_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                              const mdt_view_item_t *it);
/* A document that a consent points to: mdt_authz_document_visible (the
 * consent's recipient sees it only while the consent is in force); consent
 * NULL: mdt_view_visible. */
bool mdt_view_document_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                               const mdt_view_item_t *it, const mdt_consent_ref_t *consent,
                               int64_t now);
/* One row of a result as p may see it in case c: a new JSON object, or
 * NULL when p may not see it (the kind's serializer). */
typedef json_t *(*mdt_view_row_json_fn)(const PGresult *r, int row, const mdt_principal_t *p,
                                        const mdt_case_ctx_t *c);

/* Every row of r through row_json, in order, as a new JSON array of what
 * p may see in the case of cx (the rows p may not see left out). */
json_t *mdt_view_rows_json(const PGresult *r, const mdt_principal_t *p, const mdt_casectx_t *cx,
                           mdt_view_row_json_fn row_json);

/* mdt_view_item then mdt_view_visible; out may be NULL. */
bool mdt_view_row_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c, const PGresult *r,
                          int row, const mdt_view_cols_t *cols, mdt_view_item_t *out);

#endif
