/* sys.h - the system endpoints: /healthz, /metrics, and the test-only hooks
 * (compiled only with MDT_TEST_HOOKS and enabled only by MDT_TEST_HOOKS=1). */
#ifndef MDT_SYS_H
#define MDT_SYS_H

#include "req.h"

void mdt_sys_healthz(mdt_req_t *req);
void mdt_sys_metrics(mdt_req_t *req);
void mdt_sys_test_sleep(mdt_req_t *req);

#endif
