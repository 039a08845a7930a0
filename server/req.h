/* req.h - the request as a handler sees it, and the one way to answer it.
 *
 * A handler answers exactly once, now or later (after database or hashing
 * work), through the respond functions below. The functions are
 * implemented by http.c (the HTTP transport: reading requests and writing
 * answers); handlers, the gate, sessions and static files include only
 * this header, so the transport's dispatch to them (http.h) is not a
 * dependency of theirs. */
#ifndef MDT_REQ_H
#define MDT_REQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "router.h"

struct mdt_server;
struct lws;

#define MDT_HTTP_MAX_QUERY         32
#define MDT_HTTP_MAX_EXTRA_HEADERS 1024

typedef struct mdt_req {
    struct mdt_server *srv;
    struct lws *wsi; /* NULL once the client went away */
    mdt_method_t method;
    char path[512];
    const mdt_route_t *route;
    int64_t ids[MDT_ROUTE_MAX_IDS]; /* the {id} segments of the route */

    /* query parameters, decoded */
    char *qbuf;
    const char *qkey[MDT_HTTP_MAX_QUERY], *qval[MDT_HTTP_MAX_QUERY];
    int nq;

    /* the headers we use (empty when absent) */
    char *cookie; /* whole Cookie header, malloc'ed or NULL */
    char content_type[128];
    char origin[256];
    char csrf[128];
    char idempotency_key[256];  /* copied when it fits (length <= 255) */
    size_t idempotency_key_len; /* the header's length, also when over 255 */
    int idempotency_key_given;  /* the header was sent (maybe empty) */
    char if_none_match[128];
    char authorization[160]; /* "Bearer <token>" for /metrics; empty when longer */
    char peer[64];           /* client address (X-Forwarded-For only from trusted proxies) */

    /* body */
    char *body;
    size_t body_len, content_length;
    size_t body_max; /* MDT_MAX_BODY, or MDT_ATTACHMENT_MAX on an upload route */
    int body_too_large;
    json_t *json; /* parsed object body for JSON routes, else NULL */

    /* a streamed body (MDT_R_UPLOAD): never held whole; see mdt_http_body_stream */
    int streamed;  /* the body is handed on piece by piece */
    int body_done; /* its last byte was read */
    int rx_paused; /* reading is stopped (lws_rx_flow_control) */
    int pending_end;
    void (*body_piece)(void *ud, const char *data, size_t len);
    void (*body_end)(void *ud);
    void (*body_gone)(void *ud);
    void *body_ud;

    /* set by the identity layer for authenticated routes */
    void *auth;
    void (*auth_free)(void *auth);

    /* handler state for multi-step work; freed with the request */
    void *state;
    void (*state_free)(void *state);

    /* response */
    int status;
    char *out;
    size_t out_len, out_sent;
    const char *out_type;
    long (*out_pull)(void *ud, char *buf, size_t max); /* a streamed answer */
    void *out_ud;
    char out_headers[MDT_HTTP_MAX_EXTRA_HEADERS]; /* "name: value\r\n" lines */
    size_t out_headers_len;
    int dispatched, responded, headers_sent, close_after;
    int64_t t0_us;
    int64_t log_user_id;
} mdt_req_t;

/* Answers with a JSON body; steals the reference to body. */
void mdt_http_respond_json(mdt_req_t *req, int status, json_t *body);
/* Answers with body (malloc'ed, taken over; may be NULL when len is 0). */
void mdt_http_respond(mdt_req_t *req, int status, const char *content_type, char *body, size_t len);
/* The one error answer: {"error":{"code","message","field"?}}. */
void mdt_http_fail(mdt_req_t *req, const mdt_err_t *e);
void mdt_http_error(mdt_req_t *req, int status, const char *code, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 409 conflict with error.current = current (stolen). */
void mdt_http_conflict(mdt_req_t *req, const char *message, json_t *current);
/* The error e with error.<key> = obj (stolen; NULL leaves it out): a 410's
 * "tombstone" (docs/retention.md). */
void mdt_http_fail_with(mdt_req_t *req, const mdt_err_t *e, const char *key, json_t *obj);
/* Maps a failed database status to its answer (503 unavailable, 504, 500). */
void mdt_http_fail_db(mdt_req_t *req, int db_status);
/* Adds a response header line; -1 when the header buffer is full. */
int mdt_http_add_header(mdt_req_t *req, const char *name, const char *value);

/* A streamed body (the upload route, MDT_R_UPLOAD): the HTTP layer reads
 * nothing of it until the handler calls this (pieces that came with the
 * headers are held, a few KiB), then hands each piece to piece(ud) as it
 * arrives, end(ud) after the last, and gone(ud) when the client goes away
 * before the end. All on the loop; ud is the handler's and must live until
 * the request is answered. An answer sent before the end closes the
 * connection once written (the rest of the body is never read). */
void mdt_http_body_stream(mdt_req_t *req, void (*piece)(void *ud, const char *data, size_t len),
                          void (*end)(void *ud), void (*gone)(void *ud), void *ud);
/* Loop: stop (go 0) or go on (go 1) reading req's body, the flow control of
 * a slow consumer. Nothing once the client went away. */
void mdt_http_body_flow(mdt_req_t *req, int go);

/* Answers with len bytes pulled as the connection can take them:
 * pull(ud, buf, max) copies up to max bytes into buf and returns how many,
 * 0 when none are ready yet (the producer calls mdt_http_stream_ready when
 * they are), or -1 to close the connection without the rest (the client
 * sees a body shorter than its Content-Length). ud must live until req is
 * freed (hang it on req->state). */
void mdt_http_respond_stream(mdt_req_t *req, int status, const char *content_type, size_t len,
                             long (*pull)(void *ud, char *buf, size_t max), void *ud);
/* Loop: a streamed answer's producer has bytes again. */
void mdt_http_stream_ready(mdt_req_t *req);

/* For responses lws writes itself (files): adds our security headers (CSP,
 * nosniff, no-referrer, DENY, HSTS over TLS) to an lws header block ... */
int mdt_http_security_headers(struct lws *wsi, struct mdt_server *srv, unsigned char **p,
                              unsigned char *end);
/* ... and, once lws has the answer, logs, counts and frees req. */
void mdt_http_handoff(mdt_req_t *req, int status);

/* A decoded query parameter, or NULL. */
const char *mdt_req_query(const mdt_req_t *req, const char *name);
/* Adds one decoded query fragment ("k=v", or "k" for an empty value) to
 * req's parameters; frag is kept (not copied) and its '=' becomes NUL.
 * Ignored once MDT_HTTP_MAX_QUERY parameters are held. */
void mdt_req_query_add(mdt_req_t *req, char *frag);
/* Query parameter name as an integer in [lo, hi]; *out = def when absent or
 * empty. 0 ok, -1 with e filled, naming the parameter: 400 bad_request
 * when it is not an integer, 422 validation when it is out of range. */
int mdt_req_query_int(const mdt_req_t *req, const char *name, int64_t lo, int64_t hi, int64_t def,
                      int64_t *out, mdt_err_t *e);
/* Query parameter name as one of values[] (NULL-terminated): *out is its
 * index, -1 when absent or empty. 0 ok, -1 with e filled (422 validation
 * naming the parameter and the values). */
int mdt_req_query_enum(const mdt_req_t *req, const char *name, const char *const *values, int *out,
                       mdt_err_t *e);

#endif
