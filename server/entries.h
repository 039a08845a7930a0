/* entries.h - board entries (note, interview, decision, update): create,
 * edit (a new version each time), retract, history; and the Markdown
 * preview (/render). */
#ifndef MDT_ENTRIES_H
#define MDT_ENTRIES_H

#include <jansson.h>

#include "casectx.h"
#include "http.h"

void mdt_entries_create(mdt_req_t *req);
void mdt_entries_update(mdt_req_t *req);
void mdt_entries_retract(mdt_req_t *req);
void mdt_entries_history(mdt_req_t *req);
void mdt_entries_render(mdt_req_t *req);

/* DB thread: every entry of the case that p may see, oldest first, as a
 * new JSON array (retracted ones without their body unless p's agency
 * authored them). entry_id > 0 limits it to that entry. */
json_t *mdt_entries_list_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                              int64_t entry_id);

#endif
