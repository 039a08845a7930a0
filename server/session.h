/* session.h - sessions: the cookie, the cache and loading.
 *
 * A session is a random 256-bit token in the `mdt_session` cookie; the
 * database keeps only its SHA-256. Each node caches sessions it has seen
 * (srv->auth). The gate in front of every handler (gate.h) finds or loads
 * the session through this module; the idle and absolute timeouts are
 * decided here. Revocations reach every node through the event log (user.updated,
 * session.revoked) and drop the cached entries. */
#ifndef MDT_SESSION_H
#define MDT_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "authz.h"
#include "db.h"
#include "req.h"

struct mdt_server;

typedef struct {
    int64_t user_id;
    char username[72];
    char display_name[208];
    int64_t agency_id;
    char agency_name[208];
    mdt_agency_kind_t agency_kind;
    mdt_role_t role;
    bool active;
    bool mfa_enabled;
    bool mfa_required; /* the agency kind is in MDT_MFA_REQUIRED_KINDS */
    bool must_change_password;
} mdt_user_t;

typedef struct {
    mdt_user_t user;
    char id_hash[65];
    char csrf[65];
    int64_t expires_at;    /* unix seconds: absolute lifetime */
    int64_t last_activity; /* unix seconds, as this node knows it */
    int64_t last_touch;    /* when this node last wrote last_seen */
} mdt_session_t;

/* The caller of an authenticated request (NULL on public routes). */
const mdt_user_t *mdt_auth_user(const mdt_req_t *req);
const mdt_session_t *mdt_auth_session(const mdt_req_t *req);
/* The caller as the authorization module sees it. */
mdt_principal_t mdt_auth_principal(const mdt_req_t *req);
mdt_principal_t mdt_session_principal(const mdt_user_t *u);

/* Finds the cookie `name` by exact name in a whole Cookie header and copies
 * its value (at most outlen-1 bytes). 0 found, -1 not. */
int mdt_session_cookie(const char *header, const char *name, char *out, size_t outlen);

/* DB thread: creates a session for user_id; fills token (the cookie value,
 * 64 hex chars) and the session's id_hash/csrf/expires_at. */
int mdt_session_create(mdt_dbc_t *c, int64_t user_id, const char *address, int max_s,
                       char token[65], mdt_session_t *out);
/* DB thread: loads a live session by id_hash with its user; MDT_DB_NOT_FOUND
 * when it is missing, revoked, expired, idle too long or the user inactive. */
int mdt_session_load(mdt_dbc_t *c, const char *id_hash, int idle_s, const char *mfa_kinds,
                     mdt_session_t *out);
/* DB thread: the user part alone (for refreshing a cached session). */
int mdt_session_load_user(mdt_dbc_t *c, int64_t user_id, const char *mfa_kinds, mdt_user_t *out);

/* Loop: the cached session for a Cookie header, if present and live now
 * (used by the WebSocket upgrade). Counts as activity when touch is set. */
const mdt_session_t *mdt_session_find(struct mdt_server *srv, const char *cookie_header, int touch);
/* The session id (SHA-256 hex of the token) of the `mdt_session` cookie in
 * a whole Cookie header: 0, or -1 when there is no well-formed token. */
int mdt_session_token_hash(const char *cookie_header, char hash[65]);
/* Loop: the cached entry for an id_hash when it is live now by this node's
 * knowledge (active, not expired, not idle), or NULL. */
const mdt_session_t *mdt_session_find_live(struct mdt_server *srv, const char *id_hash);
/* Loop: the cached entry for an id_hash (live or not), or NULL. */
const mdt_session_t *mdt_session_find_hash(struct mdt_server *srv, const char *id_hash);
/* Entries in a node's session cache at most (see mdt_session_cache). */
#define MDT_SESSION_CACHE_MAX 10000

/* Loop: caches a copy of s (replacing any entry with its id_hash). A new
 * entry first makes room: entries no longer live here are dropped (at most
 * once a minute, at once when the cache is full), then, if it is still
 * full, the least recently active one. A dropped session is loaded from
 * the database again on its next use. */
void mdt_session_cache(struct mdt_server *srv, const mdt_session_t *s);
void mdt_session_drop(struct mdt_server *srv, const char *id_hash);
void mdt_session_drop_user(struct mdt_server *srv, int64_t user_id);
/* Loop: marks activity for the session now (idle timer restarts). */
void mdt_session_activity(struct mdt_server *srv, const char *id_hash);

int mdt_session_start(struct mdt_server *srv);
void mdt_session_stop(struct mdt_server *srv);

int64_t mdt_session_now(void);

#endif
