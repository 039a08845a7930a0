/* idem.h - Idempotency-Key on the POSTs that create (IETF httpapi
 * idempotency-key draft; docs/api.md "Idempotent creates").
 *
 * A route flagged MDT_R_IDEMPOTENT honours the header; the gate checks it
 * (mdt_idem_check). The one request runner (runner.h) makes four small
 * calls for a request whose handler set run.idempotent:
 *
 *   mdt_idem_init(&idem, req)          on the loop, before the job is queued
 *   mdt_idem_claim(c, &idem, &err)     in the job, right after the scope
 *                                      (after its visibility check: 404)
 *   mdt_idem_store(c, &idem, st, res)  in the job, just before COMMIT
 *   mdt_idem_answer(req, &idem)        on the loop, when the job committed
 *
 * claim takes a transaction-scoped advisory lock on (user, key) without
 * waiting: a key whose first request is still running answers 409. Holding
 * the lock, it looks for the key's stored answer: the same fingerprint
 * replays it, another fingerprint answers 422. store writes the answer in
 * the create's own transaction, so a create and its key commit or vanish
 * together; a failed create stores nothing and leaves the key free.
 * Stored answers older than MDT_IDEM_TTL_S are purged by a timer on every
 * node (mdt_idem_start). */
#ifndef MDT_IDEM_H
#define MDT_IDEM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "req.h"

struct mdt_server;

#define MDT_IDEM_KEY_MAX 255
#define MDT_IDEM_TTL_S   (24 * 3600)

/* claim's answer when the runner must not run its work: idem holds a
 * replay, or err is set (409, 422). The runner answers without COMMIT. */
#define MDT_IDEM_ANSWERED 1000

typedef struct {
    int active; /* the route honours keys and the request carried one */
    int64_t user_id;
    char key[MDT_IDEM_KEY_MAX + 1];
    char route[520];      /* "POST /api/v1/...", for the stored row */
    char fingerprint[65]; /* SHA-256 hex of method, path and canonical body */
    int status;           /* the answer to send (stored or replayed) */
    char *body;           /* malloc'ed, NULL until store or claim set it */
    size_t body_len;
    int replayed; /* body is a replay of an earlier request */
} mdt_idem_t;

/* For the gate of a flagged route: 0 when the request carries no key or a
 * valid one; -1 after answering 400 bad_request (empty, over 255 bytes, or
 * not printable ASCII). */
int mdt_idem_check(mdt_req_t *req);

/* Fills idem for an authenticated req (borrows nothing from it). Inactive
 * (all calls below then do nothing) unless the route is flagged and a key
 * was sent. 0 ok; -1 after answering req (out of memory). */
int mdt_idem_init(mdt_idem_t *idem, mdt_req_t *req);

/* For a streamed body (an upload, read by the work, not before): the
 * fingerprint becomes the SHA-256 of "POST <path>?<query parameters in
 * order>\n<the body's SHA-256 hex>", set by the work once the whole body
 * was read and before it claims the key (runner.h, claim_in_work). Any
 * thread; req's query is only read. */
void mdt_idem_set_digest(mdt_idem_t *idem, const mdt_req_t *req, const char body_sha256[65]);

/* See the top of this file. Returns MDT_DB_OK (go on with the work),
 * MDT_IDEM_ANSWERED (idem->body holds the replay, or err is set), or a
 * failed database status. */
int mdt_idem_claim(mdt_dbc_t *c, mdt_idem_t *idem, mdt_err_t *err);

/* Stores status and result (borrowed; serialized here) as the key's answer.
 * Returns the db status. The serialized body is kept in idem and is what
 * mdt_idem_answer sends, so the first answer and every replay are the same
 * bytes. */
int mdt_idem_store(mdt_dbc_t *c, mdt_idem_t *idem, int status, const json_t *result);

/* Answers req with idem's body when it has one (a replay carries
 * `Idempotency-Replayed: true`): 1 answered, 0 nothing to send. */
int mdt_idem_answer(mdt_req_t *req, mdt_idem_t *idem);

/* Frees what idem holds (not idem itself). */
void mdt_idem_clear(mdt_idem_t *idem);

/* Deletes stored answers older than ttl_s seconds; returns the db status
 * and the count in *deleted (may be NULL). */
int mdt_idem_purge(mdt_dbc_t *c, int64_t ttl_s, int64_t *deleted);

/* The purge timer on srv's loop (every 10 minutes, first after 1 minute). */
int mdt_idem_start(struct mdt_server *srv);
void mdt_idem_stop(struct mdt_server *srv);

/* Test hook (builds with MDT_TEST_HOOKS): runs the purge now, answers
 * {"deleted": n}; 404 in other builds. */
void mdt_idem_test_purge(mdt_req_t *req);

#endif
