/* static.c - serving files under the web root (see static.h). */
#include "static.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server_ctx.h"

const char *mdt_static_mime(const char *name)
{
    static const struct {
        const char *ext, *mime;
    } map[] = {{".html", "text/html; charset=utf-8"},
               {".js", "text/javascript; charset=utf-8"},
               {".mjs", "text/javascript; charset=utf-8"},
               {".css", "text/css; charset=utf-8"},
               {".json", "application/json; charset=utf-8"},
               {".svg", "image/svg+xml"},
               {".png", "image/png"},
               {".ico", "image/x-icon"},
               {".woff2", "font/woff2"},
               {".txt", "text/plain; charset=utf-8"},
               {".webmanifest", "application/manifest+json"}};
    const char *dot = strrchr(name, '.');
    if (dot) {
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (strcmp(dot, map[i].ext) == 0)
                return map[i].mime;
        }
    }
    return "application/octet-stream";
}

/* Rejects paths with hidden or parent segments; lws has already decoded
 * and normalized, this is the second lock on the door. */
static int path_ok(const char *p)
{
    if (p[0] != '/')
        return 0;
    for (const char *s = p; *s; s++) {
        if (s[0] == '/' && s[1] == '.')
            return 0;
        if ((unsigned char)*s < 0x20 || *s == '\\')
            return 0;
    }
    return 1;
}

int mdt_static_serve(mdt_req_t *req)
{
    mdt_server_t *srv = req->srv;
    if (req->method != MDT_M_GET && req->method != MDT_M_HEAD) {
        mdt_http_error(req, 405, "method_not_allowed", NULL, "method not allowed here");
        return 0;
    }
    char file[PATH_MAX];
    const char *index = req->path[strlen(req->path) - 1] == '/' ? "index.html" : "";
    struct stat st;
    int n = snprintf(file, sizeof(file), "%s%s%s", srv->cfg.web_root, req->path, index);
    if (!path_ok(req->path) || n <= 0 || (size_t)n >= sizeof(file) || stat(file, &st) != 0 ||
        !S_ISREG(st.st_mode)) {
        mdt_http_error(req, 404, "not_found", NULL, "no such file");
        return 0;
    }
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime);
    if (strcmp(req->if_none_match, etag) == 0) {
        mdt_http_add_header(req, "etag", etag);
        mdt_http_respond(req, 304, NULL, NULL, 0);
        return 0;
    }
    unsigned char hdr[2048], *p = hdr, *end = hdr + sizeof(hdr) - 1;
    struct lws *wsi = req->wsi;
    if (mdt_http_security_headers(wsi, srv, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-cache", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"etag:",
                                    (const unsigned char *)etag, (int)strlen(etag), &p, end))
        return -1;
    mdt_http_handoff(req, 200); /* lws writes the file from here; req is gone */
    int rc =
        lws_serve_http_file(wsi, file, mdt_static_mime(file), (const char *)hdr, (int)(p - hdr));
    if (rc < 0)
        return -1;
    return rc > 0 && lws_http_transaction_completed(wsi) ? -1 : 0;
}
