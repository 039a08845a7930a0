/* attachments.h - files on a case: upload, list, download, retract
 * (docs/attachments.md). */
#ifndef MDT_ATTACHMENTS_H
#define MDT_ATTACHMENTS_H

#include <jansson.h>

#include "casectx.h"
#include "db.h"
#include "req.h"

void mdt_attachments_create(mdt_req_t *req);
void mdt_attachments_list(mdt_req_t *req);
void mdt_attachments_content(mdt_req_t *req);
void mdt_attachments_retract(mdt_req_t *req);

/* DB thread: the attachments of the case that p may see (metadata only),
 * oldest first, as a new JSON array; a retracted one without its file name
 * unless p's agency authored it; a consent's document hidden from the
 * consent's recipient once the consent is not in force at now (unix s).
 * attachment_id > 0 limits it to that one. NULL on a database error
 * (c->status tells). */
json_t *mdt_attachments_list_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                                  int64_t attachment_id, int64_t now);

/* DB thread: the ids of the attachments linked to consent consent_id (0:
 * any consent of the case) that p's agency, the consent's recipient, would
 * see by their visibility but may not see at now because the consent is no
 * longer in force: a new JSON array (the live hub sends each as
 * access.revoked). NULL on a database error. */
json_t *mdt_attachments_hidden_json(mdt_dbc_t *c, const mdt_principal_t *p, const mdt_casectx_t *cx,
                                    int64_t consent_id, int64_t now);

#endif
