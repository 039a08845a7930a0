/* http.c - reading requests, dispatching them, writing answers (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gate.h"
#include "json.h"
#include "log.h"
#include "server_ctx.h"
#include "static.h"
#include "ws.h"

/* Bodies above this are not even read: the connection is closed. */
#define HTTP_DISCARD_LIMIT (16u * 1024 * 1024)
#define HTTP_CHUNK         16384
/* A streamed body's bytes held before its handler takes them. */
#define HTTP_PENDING_MAX (256u * 1024)

typedef struct {
    mdt_req_t *req;
} http_pss_t;

size_t mdt_http_pss_size(void)
{
    return sizeof(http_pss_t);
}

int64_t mdt_http_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static mdt_server_t *http_server(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

static void req_free(mdt_req_t *req)
{
    if (!req)
        return;
    if (req->state_free)
        req->state_free(req->state);
    if (req->auth_free)
        req->auth_free(req->auth);
    json_decref(req->json);
    free(req->qbuf);
    free(req->cookie);
    free(req->body);
    free(req->out);
    free(req);
}

/* ---- reading ---- */

/* The request line's token for each method (lws keeps the URI there). */
static const struct {
    enum lws_token_indexes tok;
    mdt_method_t m;
} METHOD_TOKENS[] = {{WSI_TOKEN_GET_URI, MDT_M_GET},        {WSI_TOKEN_POST_URI, MDT_M_POST},
                     {WSI_TOKEN_PUT_URI, MDT_M_PUT},        {WSI_TOKEN_PATCH_URI, MDT_M_PATCH},
                     {WSI_TOKEN_DELETE_URI, MDT_M_DELETE},  {WSI_TOKEN_HEAD_URI, MDT_M_HEAD},
                     {WSI_TOKEN_OPTIONS_URI, MDT_M_OPTIONS}};

static mdt_method_t http_method(struct lws *wsi)
{
    for (size_t i = 0; i < sizeof(METHOD_TOKENS) / sizeof(METHOD_TOKENS[0]); i++) {
        if (lws_hdr_total_length(wsi, METHOD_TOKENS[i].tok) > 0)
            return METHOD_TOKENS[i].m;
    }
    return 0;
}

static int http_is_method_token(enum lws_token_indexes tok)
{
    for (size_t i = 0; i < sizeof(METHOD_TOKENS) / sizeof(METHOD_TOKENS[0]); i++) {
        if (METHOD_TOKENS[i].tok == tok)
            return 1;
    }
    return 0;
}

static void copy_hdr(struct lws *wsi, enum lws_token_indexes tok, char *buf, size_t len)
{
    buf[0] = 0;
    if (lws_hdr_total_length(wsi, tok) > 0 && lws_hdr_copy(wsi, buf, (int)len, tok) < 0)
        buf[0] = 0;
}

static void copy_custom(struct lws *wsi, const char *name, char *buf, size_t len)
{
    buf[0] = 0;
    int n = lws_hdr_custom_copy(wsi, buf, (int)len, name, (int)strlen(name));
    if (n < 0)
        buf[0] = 0;
}

/* The Idempotency-Key header: whether it was sent, its length, and its
 * value when it fits (server/idem.c judges it). */
static void read_idempotency_key(mdt_req_t *req)
{
    static const char name[] = "idempotency-key:";
    int n = lws_hdr_custom_length(req->wsi, name, (int)strlen(name));
    if (n < 0)
        return;
    req->idempotency_key_given = 1;
    req->idempotency_key_len = (size_t)n;
    if ((size_t)n < sizeof(req->idempotency_key))
        copy_custom(req->wsi, name, req->idempotency_key, sizeof(req->idempotency_key));
}

/* Reads the decoded query fragments ("k=v") into req->qbuf. */
static void read_query(mdt_req_t *req)
{
    struct lws *wsi = req->wsi;
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (total <= 0)
        return;
    size_t cap = (size_t)total + MDT_HTTP_MAX_QUERY + 1;
    req->qbuf = malloc(cap);
    if (!req->qbuf)
        return;
    size_t used = 0;
    for (int i = 0; req->nq < MDT_HTTP_MAX_QUERY; i++) {
        char *frag = req->qbuf + used;
        int n = lws_hdr_copy_fragment(wsi, frag, (int)(cap - used), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        used += (size_t)n + 1;
        mdt_req_query_add(req, frag);
    }
}

void mdt_req_query_add(mdt_req_t *req, char *frag)
{
    if (req->nq >= MDT_HTTP_MAX_QUERY)
        return;
    char *eq = strchr(frag, '=');
    if (eq)
        *eq = 0;
    req->qkey[req->nq] = frag;
    req->qval[req->nq++] = eq ? eq + 1 : "";
}

/* The last X-Forwarded-For address when it is a valid IPv4/IPv6 address:
 * the client our trusted proxy saw (it appends the peer it accepted). */
static int forwarded_client(struct lws *wsi, char *out, size_t len)
{
    char xff[256];
    copy_hdr(wsi, WSI_TOKEN_X_FORWARDED_FOR, xff, sizeof(xff));
    char *last = strrchr(xff, ',');
    char *client = last ? last + 1 : xff;
    client += strspn(client, " \t");
    client[strcspn(client, " \t")] = 0;
    unsigned char bin[16];
    int fam = strchr(client, ':') ? AF_INET6 : AF_INET;
    if (!*client || strlen(client) >= len || inet_pton(fam, client, bin) != 1)
        return 0;
    snprintf(out, len, "%s", client);
    return 1;
}

void mdt_http_client_addr(struct lws *wsi, const char *trusted, char *out, size_t len)
{
    lws_get_peer_simple(wsi, out, len);
    if (trusted && *trusted && mdt_http_trusted_proxy(trusted, out))
        forwarded_client(wsi, out, len);
}

static mdt_req_t *req_new(struct lws *wsi, const char *path, size_t plen)
{
    mdt_req_t *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->srv = http_server(wsi);
    req->wsi = wsi;
    req->t0_us = mdt_http_now_us();
    req->method = http_method(wsi);
    if (plen >= sizeof(req->path))
        plen = sizeof(req->path) - 1;
    memcpy(req->path, path, plen);
    req->path[plen] = 0;
    read_query(req);
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, req->content_type, sizeof(req->content_type));
    copy_hdr(wsi, WSI_TOKEN_ORIGIN, req->origin, sizeof(req->origin));
    copy_hdr(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, req->if_none_match, sizeof(req->if_none_match));
    copy_hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, req->authorization, sizeof(req->authorization));
    copy_custom(wsi, "x-csrf-token:", req->csrf, sizeof(req->csrf));
    read_idempotency_key(req);
    int clen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);
    if (clen > 0 && (req->cookie = malloc((size_t)clen + 1)) != NULL &&
        lws_hdr_copy(wsi, req->cookie, clen + 1, WSI_TOKEN_HTTP_COOKIE) < 0) {
        free(req->cookie);
        req->cookie = NULL;
    }
    char cl[32];
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof(cl));
    req->content_length = cl[0] ? strtoull(cl, NULL, 10) : 0;
    mdt_http_client_addr(wsi, req->srv->cfg.trusted_proxies, req->peer, sizeof(req->peer));
    return req;
}

const char *mdt_req_query(const mdt_req_t *req, const char *name)
{
    for (int i = 0; i < req->nq; i++) {
        if (strcmp(req->qkey[i], name) == 0)
            return req->qval[i];
    }
    return NULL;
}

int mdt_req_query_int(const mdt_req_t *req, const char *name, int64_t lo, int64_t hi, int64_t def,
                      int64_t *out, mdt_err_t *e)
{
    const char *s = mdt_req_query(req, name);
    *out = def;
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-')) {
        mdt_err_set(e, 400, "bad_request", name, "%s must be an integer", name);
        return -1;
    }
    if (v < lo || v > hi) {
        mdt_err_set(e, 422, "validation", name, "%s must be an integer from %lld to %lld", name,
                    (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

int mdt_req_query_enum(const mdt_req_t *req, const char *name, const char *const *values, int *out,
                       mdt_err_t *e)
{
    const char *s = mdt_req_query(req, name);
    *out = -1;
    if (!s || !*s)
        return 0;
    char list[160];
    size_t k = 0;
    for (int i = 0; values[i]; i++) {
        if (strcmp(values[i], s) == 0) {
            *out = i;
            return 0;
        }
        k += (size_t)snprintf(list + k, k < sizeof(list) ? sizeof(list) - k : 0, "%s%s",
                              i ? ", " : "", values[i]);
        if (k >= sizeof(list))
            k = sizeof(list) - 1;
    }
    mdt_err_set(e, 422, "validation", name, "%s must be one of: %s", name, list);
    return -1;
}

static int body_append(mdt_req_t *req, const void *in, size_t len)
{
    size_t max = req->body_max;
    if (req->body_too_large || req->body_len + len > max) {
        req->body_too_large = 1;
        return 0;
    }
    if (!req->body &&
        !(req->body = malloc(req->content_length < max ? req->content_length + 1 : max + 1)))
        return -1;
    size_t cap = req->content_length < max ? req->content_length : max;
    if (req->body_len + len > cap) {
        req->body_too_large = 1;
        return 0;
    }
    memcpy(req->body + req->body_len, in, len);
    req->body_len += len;
    req->body[req->body_len] = 0;
    return 0;
}

/* A piece of a streamed body: to the handler's sink, or held until the
 * handler takes the stream (reading is paused meanwhile, so only what
 * arrived with the headers; more than HTTP_PENDING_MAX closes). Dropped
 * once answered. 0 ok, -1 to close. */
static int body_stream_piece(mdt_req_t *req, const char *in, size_t len)
{
    if (req->responded)
        return 0;
    if (req->body_piece) {
        req->body_piece(req->body_ud, in, len);
        return 0;
    }
    if (req->body_len + len > HTTP_PENDING_MAX)
        return -1;
    char *grown = realloc(req->body, req->body_len + len + 1);
    if (!grown)
        return -1;
    req->body = grown;
    memcpy(req->body + req->body_len, in, len);
    req->body_len += len;
    return 0;
}

/* The last byte of a streamed body was read. */
static void body_stream_end(mdt_req_t *req)
{
    req->body_done = 1;
    if (req->responded)
        return;
    if (req->body_end)
        req->body_end(req->body_ud);
    else
        req->pending_end = 1;
}

/* ---- answering ---- */

static void http_log(mdt_req_t *req)
{
    double ms = (double)(mdt_http_now_us() - req->t0_us) / 1000.0;
    const char *route = req->route ? req->route->pattern : "none";
    const char *method = mdt_router_method_name(req->method);
    mdt_metrics_request(req->srv->metrics, route, method, req->status, ms);
    if (req->log_user_id)
        mdt_log_info("request", "method=%s route=%s status=%d ms=%.2f user=%lld", method, route,
                     req->status, ms, (long long)req->log_user_id);
    else
        mdt_log_info("request", "method=%s route=%s status=%d ms=%.2f", method, route, req->status,
                     ms);
}

void mdt_http_respond(mdt_req_t *req, int status, const char *content_type, char *body, size_t len)
{
    if (req->responded) { /* a second answer is a bug; never write twice */
        free(body);
        return;
    }
    req->responded = 1;
    if (req->streamed && !req->body_done)
        req->close_after = 1;         /* the rest of the body is read and dropped */
    if (req->wsi && req->rx_paused) { /* never write while reading is stopped */
        req->rx_paused = 0;
        lws_rx_flow_control(req->wsi, 1);
    }
    req->status = status;
    req->out_type = content_type;
    req->out = body;
    req->out_len = body ? len : 0;
    req->srv->http_inflight--;
    http_log(req);
    if (!req->wsi) {
        req_free(req);
        return;
    }
    lws_callback_on_writable(req->wsi);
}

void mdt_http_respond_stream(mdt_req_t *req, int status, const char *content_type, size_t len,
                             long (*pull)(void *ud, char *buf, size_t max), void *ud)
{
    if (req->responded)
        return;
    int gone = !req->wsi; /* then mdt_http_respond frees req */
    req->out_pull = pull;
    req->out_ud = ud;
    mdt_http_respond(req, status, content_type, NULL, 0);
    if (!gone)
        req->out_len = len;
}

void mdt_http_stream_ready(mdt_req_t *req)
{
    if (req->wsi && req->responded && req->headers_sent)
        lws_callback_on_writable(req->wsi);
}

void mdt_http_body_flow(mdt_req_t *req, int go)
{
    if (!req->wsi || req->rx_paused == !go)
        return;
    req->rx_paused = !go;
    lws_rx_flow_control(req->wsi, go);
}

void mdt_http_body_stream(mdt_req_t *req, void (*piece)(void *ud, const char *data, size_t len),
                          void (*end)(void *ud), void (*gone)(void *ud), void *ud)
{
    req->body_piece = piece;
    req->body_end = end;
    req->body_gone = gone;
    req->body_ud = ud;
    if (req->body_len) /* what came with the headers */
        piece(ud, req->body, req->body_len);
    free(req->body);
    req->body = NULL;
    req->body_len = 0;
    if (req->pending_end)
        end(ud);
    else
        mdt_http_body_flow(req, 1);
}

void mdt_http_handoff(mdt_req_t *req, int status)
{
    http_pss_t *pss = lws_wsi_user(req->wsi);
    req->status = status;
    req->srv->http_inflight--;
    http_log(req);
    if (pss && pss->req == req)
        pss->req = NULL;
    req_free(req);
}

void mdt_http_respond_json(mdt_req_t *req, int status, json_t *body)
{
    size_t len = 0;
    char *s = body ? mdt_json_dump(body, &len) : NULL;
    json_decref(body);
    if (body && !s) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        char *copy = strdup(oom);
        mdt_http_respond(req, 500, "application/json; charset=utf-8", copy,
                         copy ? sizeof(oom) - 1 : 0);
        return;
    }
    mdt_http_respond(req, status, "application/json; charset=utf-8", s, len);
}

void mdt_http_fail(mdt_req_t *req, const mdt_err_t *e)
{
    mdt_http_respond_json(req, e->status ? e->status : 500, mdt_json_error(e));
}

void mdt_http_error(mdt_req_t *req, int status, const char *code, const char *field,
                    const char *fmt, ...)
{
    mdt_err_t e = {.status = status, .code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    va_end(ap);
    snprintf(e.field, sizeof(e.field), "%s", field ? field : "");
    mdt_http_fail(req, &e);
}

void mdt_http_fail_with(mdt_req_t *req, const mdt_err_t *e, const char *key, json_t *obj)
{
    json_t *body = mdt_json_error(e);
    if (obj)
        json_object_set_new(json_object_get(body, "error"), key, obj);
    mdt_http_respond_json(req, e->status ? e->status : 500, body);
}

void mdt_http_conflict(mdt_req_t *req, const char *message, json_t *current)
{
    mdt_err_t e;
    mdt_err_set(&e, 409, "conflict", NULL, "%s", message);
    mdt_http_fail_with(req, &e, "current", current);
}

void mdt_http_fail_db(mdt_req_t *req, int db_status)
{
    switch (db_status) {
    case MDT_DB_UNAVAILABLE:
    case MDT_DB_REFUSED:
        mdt_http_add_header(req, "retry-after", "1");
        mdt_http_error(req, 503, "unavailable", NULL,
                       "the database is unavailable; the request changed nothing");
        break;
    case MDT_DB_TIMEOUT:
        mdt_http_error(req, 503, "unavailable", NULL,
                       "the database took too long; the request changed nothing");
        break;
    case MDT_DB_NOT_FOUND:
        mdt_http_error(req, 404, "not_found", NULL, "not found");
        break;
    case MDT_DB_CONFLICT:
        mdt_http_error(req, 409, "conflict", NULL, "conflicting change; reload and try again");
        break;
    default:
        mdt_http_error(req, 500, "internal", NULL, "internal error; the request changed nothing");
    }
}

int mdt_http_add_header(mdt_req_t *req, const char *name, const char *value)
{
    size_t room = sizeof(req->out_headers) - req->out_headers_len;
    int n = snprintf(req->out_headers + req->out_headers_len, room, "%s: %s\r\n", name, value);
    if (n < 0 || (size_t)n >= room) {
        req->out_headers[req->out_headers_len] = 0;
        return -1;
    }
    req->out_headers_len += (size_t)n;
    return 0;
}

/* Adds one "name: value\r\n" pair to an lws header block. */
static int hdr_add(struct lws *wsi, const char *name, const char *value, size_t vlen,
                   unsigned char **p, unsigned char *end)
{
    char n[72];
    size_t nl = strlen(name);
    if (nl > 64)
        return -1;
    memcpy(n, name, nl);
    n[nl] = ':';
    n[nl + 1] = 0;
    return lws_add_http_header_by_name(wsi, (const unsigned char *)n, (const unsigned char *)value,
                                       (int)vlen, p, end);
}

/* Parses "name: value\r\n" lines and adds each. */
static int hdr_add_lines(struct lws *wsi, const char *lines, unsigned char **p, unsigned char *end)
{
    while (*lines) {
        const char *colon = strchr(lines, ':'), *eol = strstr(lines, "\r\n");
        if (!colon || !eol || colon > eol)
            return -1;
        char name[64];
        size_t nl = (size_t)(colon - lines);
        if (nl >= sizeof(name))
            return -1;
        memcpy(name, lines, nl);
        name[nl] = 0;
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        if (hdr_add(wsi, name, v, (size_t)(eol - v), p, end))
            return -1;
        lines = eol + 2;
    }
    return 0;
}

int mdt_http_security_headers(struct lws *wsi, mdt_server_t *srv, unsigned char **p,
                              unsigned char *end)
{
    static const struct {
        const char *n, *v;
    } fixed[] = {{"x-content-type-options", "nosniff"},
                 {"referrer-policy", "no-referrer"},
                 {"x-frame-options", "DENY"},
                 {"cross-origin-opener-policy", "same-origin"},
                 {"cross-origin-resource-policy", "same-origin"},
                 {"permissions-policy", "camera=(), microphone=(), geolocation=()"}};
    if (hdr_add(wsi, "content-security-policy", srv->csp, strlen(srv->csp), p, end))
        return -1;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (hdr_add(wsi, fixed[i].n, fixed[i].v, strlen(fixed[i].v), p, end))
            return -1;
    }
    if (srv->cfg.tls_cert) {
        const char *hsts = "max-age=31536000; includeSubDomains";
        if (hdr_add(wsi, "strict-transport-security", hsts, strlen(hsts), p, end))
            return -1;
    }
    return 0;
}

static int write_headers(struct lws *wsi, mdt_req_t *req)
{
    unsigned char buf[LWS_PRE + 4096];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)req->status, req->out_type, req->out_len, &p,
                                    end) ||
        mdt_http_security_headers(wsi, req->srv, &p, end) ||
        hdr_add(wsi, "cache-control", "no-store", 8, &p, end) ||
        hdr_add_lines(wsi, req->out_headers, &p, end))
        return -1;
    if (req->close_after && hdr_add(wsi, "connection", "close", 5, &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* One lws_write per writeable: headers first, then body chunks. Returns the
 * callback's result: 0 to go on, -1 to close. */
static int http_writeable(struct lws *wsi, http_pss_t *pss)
{
    mdt_req_t *req = pss->req;
    if (!req || !req->responded)
        return 0;
    if (!req->headers_sent) {
        if (write_headers(wsi, req) != 0)
            return -1;
        req->headers_sent = 1;
        if (req->out_len > 0) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else {
        unsigned char buf[LWS_PRE + HTTP_CHUNK];
        size_t n = req->out_len - req->out_sent;
        if (n > HTTP_CHUNK)
            n = HTTP_CHUNK;
        if (req->out_pull) {
            long got = req->out_pull(req->out_ud, (char *)buf + LWS_PRE, n);
            if (got <= 0)
                return got < 0 ? -1 : 0; /* -1: abort; 0: mdt_http_stream_ready follows */
            n = (size_t)got;
        } else {
            memcpy(buf + LWS_PRE, req->out + req->out_sent, n);
        }
        int final = req->out_sent + n == req->out_len;
        if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
            (int)n)
            return -1;
        req->out_sent += n;
        if (!final) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    int close_after = req->close_after;
    req_free(req);
    pss->req = NULL;
    if (close_after || lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

/* ---- dispatching ---- */

static int is_api_path(const char *path)
{
    return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/healthz") == 0 ||
           strcmp(path, "/metrics") == 0;
}

static int method_has_body(mdt_method_t m)
{
    return m == MDT_M_POST || m == MDT_M_PUT || m == MDT_M_PATCH || m == MDT_M_DELETE;
}

/* Checks the body of a JSON route; fills req->json. 0 ok, -1 answered. */
static int http_read_json(mdt_req_t *req)
{
    if (!method_has_body(req->method) || (req->route->flags & (MDT_R_RAW_BODY | MDT_R_UPLOAD)))
        return 0;
    if (req->body_len == 0) {
        req->json = json_object();
        return 0;
    }
    if (strncasecmp(req->content_type, "application/json", 16) != 0 ||
        (req->content_type[16] && req->content_type[16] != ';' && req->content_type[16] != ' ')) {
        mdt_http_error(req, 415, "unsupported_media_type", NULL,
                       "the body must be application/json");
        return -1;
    }
    mdt_err_t e;
    req->json = mdt_json_parse_object(req->body, req->body_len, &e);
    if (!req->json) {
        mdt_http_fail(req, &e);
        return -1;
    }
    return 0;
}

static void http_dispatch_api(mdt_req_t *req)
{
    int path_matched = 0;
    if (req->body_too_large) {
        mdt_http_error(req, 413, "too_large", NULL, "the body is over %zu bytes", req->body_max);
        return;
    }
    req->route =
        mdt_router_match(req->srv->routes, req->method, req->path, req->ids, &path_matched);
    if (req->route && (req->route->flags & MDT_R_TEST) && !req->srv->cfg.test_hooks)
        req->route = NULL;
    if (!req->route) {
        if (path_matched)
            mdt_http_error(req, 405, "method_not_allowed", NULL, "method not allowed here");
        else
            mdt_http_error(req, 404, "not_found", NULL, "no such resource");
        return;
    }
    if (http_read_json(req) != 0)
        return;
    mdt_gate_request(req);
}

/* Called once the whole request is read. */
static int http_dispatch(struct lws *wsi, mdt_req_t *req)
{
    req->dispatched = 1;
    if (req->srv->stopping) {
        req->close_after = 1;
        mdt_http_error(req, 503, "unavailable", NULL, "the server is shutting down");
        return 0;
    }
    if (is_api_path(req->path)) {
        http_dispatch_api(req);
        return 0;
    }
    return mdt_static_serve(req);
}

/* Bytes of the headers lws parsed into tokens it knows (the request line
 * and its query excluded). Unknown headers cannot be enumerated in lws 4.1;
 * they only share MDT_HTTP_HEADER_BUFFER. */
static size_t http_header_bytes(struct lws *wsi)
{
    size_t total = 0;
    for (int t = 0; t < (int)WSI_TOKEN_COUNT; t++) {
        enum lws_token_indexes tok = (enum lws_token_indexes)t;
        if (tok == WSI_TOKEN_HTTP_URI_ARGS || tok == WSI_TOKEN_HTTP || http_is_method_token(tok))
            continue;
        int n = lws_hdr_total_length(wsi, tok);
        total += n > 0 ? (size_t)n : 0;
    }
    return total;
}

/* Refuses a request we will not read, before its body: a URL over
 * MDT_HTTP_MAX_URI or a path over req->path (414), headers over
 * MDT_HTTP_MAX_HEADERS (431), any Transfer-Encoding (411: lws does not
 * decode chunked request bodies, and the bytes after the headers must not
 * be taken for another request). Answers, and closes once written; 0 when
 * the request may go on, 1 when it was answered. */
static int http_refuse_framing(mdt_req_t *req, size_t path_len)
{
    struct lws *wsi = req->wsi;
    int args = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    size_t uri = path_len + (args > 0 ? (size_t)args : 0);
    req->dispatched = req->close_after = 1;
    if (uri > MDT_HTTP_MAX_URI || path_len >= sizeof(req->path))
        mdt_http_error(req, 414, "uri_too_long", NULL, "the URL is over %d bytes",
                       path_len >= sizeof(req->path) ? (int)sizeof(req->path) - 1
                                                     : MDT_HTTP_MAX_URI);
    else if (http_header_bytes(wsi) > MDT_HTTP_MAX_HEADERS)
        mdt_http_error(req, 431, "headers_too_large", NULL, "the headers are over %d bytes",
                       MDT_HTTP_MAX_HEADERS);
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
        mdt_http_error(req, 411, "length_required", NULL,
                       "send the body with a Content-Length; chunked bodies are not accepted");
    else
        req->dispatched = req->close_after = 0;
    return req->dispatched;
}

/* The most body bytes req may bring, and the Content-Length above which
 * it is refused before any byte is read (the connection then closes): an
 * upload route (MDT_R_UPLOAD, matched here by path before the body) takes
 * up to MDT_ATTACHMENT_MAX and nothing above it; any other request
 * MDT_MAX_BODY, its body read and dropped up to HTTP_DISCARD_LIMIT.
 * *upload tells which. */
static size_t http_body_bounds(mdt_req_t *req, size_t *discard, int *upload)
{
    int64_t ids[MDT_ROUTE_MAX_IDS];
    int path_matched = 0;
    const mdt_route_t *r =
        mdt_router_match(req->srv->routes, req->method, req->path, ids, &path_matched);
    *upload = r && (r->flags & MDT_R_UPLOAD);
    *discard = *upload ? req->srv->cfg.attachment_max : HTTP_DISCARD_LIMIT;
    return *upload ? req->srv->cfg.attachment_max : req->srv->cfg.max_body;
}

/* LWS_CALLBACK_HTTP: a new request's headers are in. */
static int http_begin(struct lws *wsi, http_pss_t *pss, const char *in, size_t len)
{
    mdt_server_t *srv = http_server(wsi);
    mdt_req_t *req = req_new(wsi, in, len);
    if (!req)
        return -1;
    srv->http_inflight++;
    pss->req = req;
    if (http_refuse_framing(req, len))
        return 0;
    if (!method_has_body(req->method) || req->content_length == 0)
        return http_dispatch(wsi, req);
    size_t discard;
    int upload;
    req->body_max = http_body_bounds(req, &discard, &upload);
    if (upload && !req->cookie) { /* no session: 401 from the gate, the body never read */
        req->close_after = 1;
        return http_dispatch(wsi, req);
    }
    if (req->content_length > discard) {
        req->dispatched = 1;
        req->close_after = 1;
        mdt_http_error(req, 413, "too_large", NULL, "the body is over %zu bytes", req->body_max);
        return 0;
    }
    if (upload) { /* dispatched now; the body waits for its handler (mdt_http_body_stream),
                   * held (reading stopped) while the gate checks the session */
        req->streamed = 1;
        int rc = http_dispatch(wsi, req);
        if (!req->responded && !req->body_piece) /* the gate is still at work */
            mdt_http_body_flow(req, 0);
        return rc;
    }
    return 0; /* the body follows */
}

static int http_closed(http_pss_t *pss)
{
    mdt_req_t *req = pss->req;
    pss->req = NULL;
    if (!req)
        return 0;
    if (req->streamed && !req->body_done && req->body_gone && !req->responded)
        req->body_gone(req->body_ud); /* the upload will never end */
    if (req->dispatched && !req->responded) {
        req->wsi = NULL; /* orphaned: freed when its handler answers */
        return 0;
    }
    if (!req->responded)
        req->srv->http_inflight--;
    req_free(req);
    return 0;
}

int mdt_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    http_pss_t *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_begin(wsi, pss, in, strlen(in));
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->req && pss->req->streamed)
            return body_stream_piece(pss->req, in, len);
        if (pss->req && !pss->req->dispatched && body_append(pss->req, in, len) != 0)
            return -1;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss->req && pss->req->streamed)
            body_stream_end(pss->req);
        else if (pss->req && !pss->req->dispatched)
            return http_dispatch(wsi, pss->req);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writeable(wsi, pss);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        return pss ? http_closed(pss) : 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return mdt_ws_confirm_upgrade(wsi, in);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        mdt_loopq_drain(((mdt_server_t *)lws_context_user(lws_get_context(wsi)))->loopq);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- trusted proxies ---- */

/* Is addr in the comma-separated list of addresses and IPv4/IPv6 CIDRs? */
int mdt_http_trusted_proxy(const char *list, const char *addr)
{
    unsigned char a[16], b[16];
    int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(fam, addr, a) != 1)
        return 0;
    char item[96];
    while (*list) {
        size_t n = strcspn(list, ",");
        if (n < sizeof(item)) {
            memcpy(item, list, n);
            item[n] = 0;
            char *slash = strchr(item, '/');
            int bits = fam == AF_INET ? 32 : 128;
            if (slash) {
                *slash = 0;
                bits = atoi(slash + 1);
            }
            char *s = item;
            while (*s == ' ')
                s++;
            int maxbits = fam == AF_INET ? 32 : 128;
            if (bits >= 0 && bits <= maxbits && inet_pton(fam, s, b) == 1) {
                int whole = bits / 8, rest = bits % 8;
                if (memcmp(a, b, (size_t)whole) == 0 &&
                    (rest == 0 || ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0))
                    return 1;
            }
        }
        list += n;
        if (*list == ',')
            list++;
    }
    return 0;
}
