/* view.c - the one view filter (see view.h). */
#include "view.h"

#include <string.h>

#include "db.h"

static int64_t col_int(const PGresult *r, int row, int col)
{
    return col >= 0 ? mdt_db_int(r, row, col) : 0;
}

void mdt_view_item(const PGresult *r, int row, const mdt_view_cols_t *cols, mdt_view_item_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *vis = cols->vis >= 0 ? mdt_db_str(r, row, cols->vis) : NULL;
    if (!vis || mdt_authz_visibility_parse(vis, &out->it.visibility) != 0)
        out->it.visibility = MDT_VIS_COUNT; /* unknown: shown to no one */
    out->it.author_agency_id = col_int(r, row, cols->author_agency);
    out->it.author_user_id = col_int(r, row, cols->author_user);
    out->it.assignee_agency_id = col_int(r, row, cols->assignee_agency);
    out->it.assignee_user_id = col_int(r, row, cols->assignee_user);
    if (cols->visible_to >= 0)
        out->it.n_visible_to = mdt_casectx_parse_ids(mdt_db_str(r, row, cols->visible_to), out->ids,
                                                     MDT_CASE_MAX_AGENCIES);
    out->it.visible_to = out->ids;
}

bool mdt_view_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c, const mdt_view_item_t *it)
{
    return it && it->it.visible_to == it->ids && mdt_authz_item_visible(p, c, &it->it);
}

bool mdt_view_history_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                              const mdt_view_item_t *it)
{
    return it && it->it.visible_to == it->ids && mdt_authz_item_history_visible(p, c, &it->it);
}

bool mdt_view_document_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c,
                               const mdt_view_item_t *it, const mdt_consent_ref_t *consent,
                               int64_t now)
{
    return it && it->it.visible_to == it->ids &&
           mdt_authz_document_visible(p, c, &it->it, consent, now);
}

bool mdt_view_row_visible(const mdt_principal_t *p, const mdt_case_ctx_t *c, const PGresult *r,
                          int row, const mdt_view_cols_t *cols, mdt_view_item_t *out)
{
    mdt_view_item_t local;
    mdt_view_item_t *it = out ? out : &local;
    mdt_view_item(r, row, cols, it);
    return mdt_view_visible(p, c, it);
}

json_t *mdt_view_rows_json(const PGresult *r, const mdt_principal_t *p, const mdt_casectx_t *cx,
                           mdt_view_row_json_fn row_json)
{
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    json_t *items = json_array();
    for (int i = 0; items && i < PQntuples(r); i++) {
        json_t *j = row_json(r, i, p, &view);
        if (j)
            json_array_append_new(items, j);
    }
    return items;
}
