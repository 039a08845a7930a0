/* static.h - the web app's files from MDT_WEB_ROOT, with our security
 * headers, a MIME type per extension, and ETag revalidation
 * (Cache-Control: no-cache; 304 when If-None-Match matches). */
#ifndef MDT_STATIC_H
#define MDT_STATIC_H

#include "req.h"

/* Serves req->path; returns the lws callback result (0 go on, -1 close). */
int mdt_static_serve(mdt_req_t *req);

/* The MIME type for a file name (application/octet-stream if unknown). */
const char *mdt_static_mime(const char *name);

#endif
