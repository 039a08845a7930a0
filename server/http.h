/* http.h - one HTTP request from first byte to last, on the event loop.
 *
 * The lws protocol callback reads the request (method, path, query, the few
 * headers we use, a body bounded by MDT_MAX_BODY), routes it, and calls the
 * handler; an upload route's body is not read here but streamed to its
 * handler (mdt_http_body_stream, req.h), and an answer may be streamed
 * (mdt_http_respond_stream). A handler answers exactly once, now or later (after database or
 * hashing work), through the respond functions of req.h (implemented here;
 * handlers include req.h, not this); the answer is written only from
 * LWS_CALLBACK_HTTP_WRITEABLE. If the client goes away first the request is
 * orphaned and freed when the handler answers. Every response carries the
 * security headers. */
#ifndef MDT_HTTP_H
#define MDT_HTTP_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include "req.h"

struct mdt_server;

/* Request framing bounds (docs/api.md): a longer URL (path and query) is
 * 414, more header bytes than MAX_HEADERS 431, both answered in the error
 * shape. HEADER_BUFFER is what libwebsockets holds for the request line and
 * all headers together: beyond it lws 4.1 closes the connection itself
 * without calling us (its parser fails when the buffer is full). */
#define MDT_HTTP_MAX_URI       (8 * 1024)
#define MDT_HTTP_MAX_HEADERS   (16 * 1024)
#define MDT_HTTP_HEADER_BUFFER (32 * 1024)

/* The lws callback of the "http" protocol (protocols[0]). */
int mdt_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);
size_t mdt_http_pss_size(void);

/* Is addr in the comma-separated list of addresses and CIDRs? */
int mdt_http_trusted_proxy(const char *list, const char *addr);

/* The client's address into out (len bytes, NUL-terminated): the TCP peer
 * of wsi, or, when that peer is in trusted (MDT_TRUSTED_PROXIES), the last
 * X-Forwarded-For address if it is a valid IP address. For HTTP requests
 * and WebSocket upgrades alike (the headers must still be available). */
void mdt_http_client_addr(struct lws *wsi, const char *trusted, char *out, size_t len);

int64_t mdt_http_now_us(void);

#endif
