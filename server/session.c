/* session.c - session cache, cookie parsing and loading (see session.h). */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "hmap.h"
#include "log.h"
#include "server_ctx.h"

#define SESSION_COOKIE "mdt_session"

#define SESSION_SWEEP_EVERY_S 60 /* dead entries are dropped at most this often */

struct mdt_auth_state {
    mdt_hmap_t *sessions; /* id_hash -> mdt_session_t*, at most MDT_SESSION_CACHE_MAX */
    int64_t last_sweep;   /* unix seconds */
};

int64_t mdt_session_now(void)
{
    return (int64_t)time(NULL);
}

const mdt_session_t *mdt_auth_session(const mdt_req_t *req)
{
    return req->auth;
}

const mdt_user_t *mdt_auth_user(const mdt_req_t *req)
{
    return req->auth ? &((const mdt_session_t *)req->auth)->user : NULL;
}

mdt_principal_t mdt_session_principal(const mdt_user_t *u)
{
    mdt_principal_t p = {0};
    if (!u)
        return p;
    p.user_id = u->user_id;
    p.agency_id = u->agency_id;
    p.agency_kind = u->agency_kind;
    p.role = u->role;
    p.active = u->active;
    return p;
}

mdt_principal_t mdt_auth_principal(const mdt_req_t *req)
{
    return mdt_session_principal(mdt_auth_user(req));
}

int mdt_session_cookie(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *s = header;
    while (s && *s) {
        while (*s == ' ' || *s == '\t' || *s == ';')
            s++;
        const char *end = strchr(s, ';');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len > nl && strncmp(s, name, nl) == 0 && s[nl] == '=') {
            size_t vl = len - nl - 1;
            while (vl && (s[nl + 1 + vl - 1] == ' ' || s[nl + 1 + vl - 1] == '\t'))
                vl--;
            if (vl == 0 || vl >= outlen)
                return -1;
            memcpy(out, s + nl + 1, vl);
            out[vl] = 0;
            return 0;
        }
        s = end;
    }
    return -1;
}

static int kind_in_list(const char *list, const char *kind)
{
    size_t kl = strlen(kind);
    while (list && *list) {
        while (*list == ' ' || *list == ',')
            list++;
        size_t n = strcspn(list, ", ");
        if (n == kl && strncmp(list, kind, kl) == 0)
            return 1;
        list += n;
    }
    return 0;
}

/* ---- database side ---- */

#define USER_COLUMNS                                                                               \
    "u.id, u.username, u.display_name, u.agency_id, a.name, a.kind, u.role, "                      \
    "(u.active AND a.active), u.mfa_enabled, u.must_change_password"

/* Reads USER_COLUMNS starting at column col of row 0. */
static void session_read_user(const PGresult *r, int col, const char *mfa_kinds, mdt_user_t *u)
{
    memset(u, 0, sizeof(*u));
    u->user_id = mdt_db_int(r, 0, col);
    snprintf(u->username, sizeof(u->username), "%s", mdt_db_str(r, 0, col + 1));
    snprintf(u->display_name, sizeof(u->display_name), "%s", mdt_db_str(r, 0, col + 2));
    u->agency_id = mdt_db_int(r, 0, col + 3);
    snprintf(u->agency_name, sizeof(u->agency_name), "%s", mdt_db_str(r, 0, col + 4));
    const char *kind = mdt_db_str(r, 0, col + 5);
    if (mdt_authz_agency_kind_parse(kind, &u->agency_kind) != 0)
        u->agency_kind = MDT_KIND_OTHER;
    if (mdt_authz_role_parse(mdt_db_str(r, 0, col + 6), &u->role) != 0)
        u->role = MDT_ROLE_MEMBER;
    u->active = mdt_db_bool(r, 0, col + 7);
    u->mfa_enabled = mdt_db_bool(r, 0, col + 8);
    u->must_change_password = mdt_db_bool(r, 0, col + 9);
    u->mfa_required = kind_in_list(mfa_kinds, kind);
}

int mdt_session_load_user(mdt_dbc_t *c, int64_t user_id, const char *mfa_kinds, mdt_user_t *out)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, user_id);
    PGresult *r = mdt_db_query(c,
                               "SELECT " USER_COLUMNS " FROM users u JOIN agencies a ON a.id = "
                               "u.agency_id WHERE u.id = $1",
                               &p);
    if (!r)
        return c->status;
    int rc = PQntuples(r) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK)
        session_read_user(r, 0, mfa_kinds, out);
    PQclear(r);
    return rc;
}

int mdt_session_load(mdt_dbc_t *c, const char *id_hash_in, int idle_s, const char *mfa_kinds,
                     mdt_session_t *out)
{
    char id_hash[65]; /* id_hash_in may point into out, which is reset below */
    snprintf(id_hash, sizeof(id_hash), "%s", id_hash_in);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, id_hash);
    mdt_db_param_int(&p, idle_s);
    PGresult *r = mdt_db_query(
        c,
        "SELECT s.csrf_token, extract(epoch FROM s.expires_at)::bigint,"
        " extract(epoch FROM s.last_seen)::bigint, " USER_COLUMNS
        " FROM sessions s JOIN users u ON u.id = s.user_id JOIN agencies a ON a.id = u.agency_id"
        " WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()"
        " AND s.last_seen > now() - make_interval(secs => $2::int) AND u.active AND a.active",
        &p);
    if (!r)
        return c->status;
    int rc = PQntuples(r) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK) {
        memset(out, 0, sizeof(*out));
        snprintf(out->id_hash, sizeof(out->id_hash), "%s", id_hash);
        snprintf(out->csrf, sizeof(out->csrf), "%s", mdt_db_str(r, 0, 0));
        out->expires_at = mdt_db_int(r, 0, 1);
        out->last_activity = mdt_db_int(r, 0, 2);
        out->last_touch = out->last_activity;
        session_read_user(r, 3, mfa_kinds, &out->user);
    }
    PQclear(r);
    return rc;
}

int mdt_session_create(mdt_dbc_t *c, int64_t user_id, const char *address, int max_s,
                       char token[65], mdt_session_t *out)
{
    if (mdt_crypto_token_hex(token, 32) != 0 || mdt_crypto_token_hex(out->csrf, 32) != 0)
        return MDT_DB_ERROR;
    mdt_crypto_sha256_hex(token, 64, out->id_hash);
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, out->id_hash);
    mdt_db_param_int(&p, user_id);
    mdt_db_param_str(&p, out->csrf);
    mdt_db_param_str(&p, address);
    mdt_db_param_int(&p, max_s);
    PGresult *r = mdt_db_query(c,
                               "INSERT INTO sessions (id_hash, user_id, csrf_token, address,"
                               " expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs "
                               "=> $5::int)) RETURNING extract(epoch FROM expires_at)::bigint",
                               &p);
    if (!r)
        return c->status;
    out->expires_at = mdt_db_int(r, 0, 0);
    out->last_activity = out->last_touch = mdt_session_now();
    PQclear(r);
    return MDT_DB_OK;
}

/* ---- the node's cache (loop thread) ---- */

int mdt_session_start(mdt_server_t *srv)
{
    struct mdt_auth_state *st = calloc(1, sizeof(*st));
    if (!st || !(st->sessions = mdt_hmap_new(free))) {
        free(st);
        return -1;
    }
    srv->auth = st;
    return 0;
}

void mdt_session_stop(mdt_server_t *srv)
{
    if (!srv->auth)
        return;
    mdt_hmap_free(srv->auth->sessions);
    free(srv->auth);
    srv->auth = NULL;
}

const mdt_session_t *mdt_session_find_hash(mdt_server_t *srv, const char *id_hash)
{
    return mdt_hmap_get(srv->auth->sessions, id_hash);
}

/* Is the cached session usable now, by this node's knowledge? */
static int session_live(const mdt_server_t *srv, const mdt_session_t *s, int64_t now)
{
    return s->user.active && now < s->expires_at &&
           now - s->last_activity < srv->cfg.session_idle_s;
}

typedef struct {
    const mdt_server_t *srv;
    int64_t now;
    const char *oldest_key; /* of the least recently active entry kept */
    int64_t oldest;
} sweep_t;

static int drop_if_dead(const char *key, void *value, void *ud)
{
    sweep_t *sw = ud;
    const mdt_session_t *s = value;
    if (!session_live(sw->srv, s, sw->now))
        return 1;
    if (!sw->oldest_key || s->last_activity < sw->oldest) {
        sw->oldest_key = key;
        sw->oldest = s->last_activity;
    }
    return 0;
}

/* Makes room before one more entry: drops entries that are no longer live
 * here (expired, idle, inactive user: the database decides again on their
 * next use) at most every SESSION_SWEEP_EVERY_S, or at once when the cache
 * is full; still full, the least recently active entry goes too. */
static void session_evict(mdt_server_t *srv, int64_t now)
{
    struct mdt_auth_state *st = srv->auth;
    int full = mdt_hmap_count(st->sessions) >= MDT_SESSION_CACHE_MAX;
    if (!full && now - st->last_sweep < SESSION_SWEEP_EVERY_S)
        return;
    sweep_t sw = {.srv = srv, .now = now};
    st->last_sweep = now;
    mdt_hmap_sweep(st->sessions, drop_if_dead, &sw);
    if (mdt_hmap_count(st->sessions) >= MDT_SESSION_CACHE_MAX && sw.oldest_key) {
        char key[sizeof(((mdt_session_t *)0)->id_hash)];
        snprintf(key, sizeof(key), "%s", sw.oldest_key);
        mdt_hmap_del(st->sessions, key);
    }
}

void mdt_session_cache(mdt_server_t *srv, const mdt_session_t *s)
{
    if (!mdt_hmap_get(srv->auth->sessions, s->id_hash))
        session_evict(srv, mdt_session_now());
    mdt_session_t *copy = malloc(sizeof(*copy));
    if (!copy)
        return;
    *copy = *s;
    if (mdt_hmap_put(srv->auth->sessions, s->id_hash, copy) != 0)
        free(copy);
}

void mdt_session_drop(mdt_server_t *srv, const char *id_hash)
{
    mdt_hmap_del(srv->auth->sessions, id_hash);
}

static int drop_if_user(const char *key, void *value, void *ud)
{
    (void)key;
    return ((mdt_session_t *)value)->user.user_id == *(int64_t *)ud;
}

void mdt_session_drop_user(mdt_server_t *srv, int64_t user_id)
{
    mdt_hmap_sweep(srv->auth->sessions, drop_if_user, &user_id);
}

static int session_touch_work(mdt_dbc_t *c, void *arg)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, arg);
    return mdt_db_exec(c,
                       "UPDATE sessions SET last_seen = now() WHERE id_hash = $1"
                       " AND revoked_at IS NULL",
                       &p);
}

static void session_touch_done(void *arg, int status)
{
    free(arg);
}

void mdt_session_activity(mdt_server_t *srv, const char *id_hash)
{
    mdt_session_t *s = mdt_hmap_get(srv->auth->sessions, id_hash);
    if (!s)
        return;
    int64_t now = mdt_session_now();
    s->last_activity = now;
    /* last_seen in the database is what other nodes see: keep it fresh to
     * well within the idle timeout, but write at most every 60 s */
    int every = srv->cfg.session_idle_s / 4;
    every = every < 1 ? 1 : every > 60 ? 60 : every;
    if (now - s->last_touch < every)
        return;
    s->last_touch = now;
    char *h = strdup(id_hash);
    if (h && mdt_db_submit(srv->db, session_touch_work, session_touch_done, h) != 0)
        free(h);
}

const mdt_session_t *mdt_session_find(mdt_server_t *srv, const char *cookie_header, int touch)
{
    char token[80], hash[65];
    if (!cookie_header ||
        mdt_session_cookie(cookie_header, SESSION_COOKIE, token, sizeof(token)) != 0)
        return NULL;
    mdt_crypto_sha256_hex(token, strlen(token), hash);
    mdt_session_t *s = mdt_hmap_get(srv->auth->sessions, hash);
    if (!s || !session_live(srv, s, mdt_session_now()))
        return NULL;
    if (touch)
        mdt_session_activity(srv, hash);
    return s;
}

int mdt_session_token_hash(const char *cookie_header, char hash[65])
{
    char token[80];
    if (!cookie_header ||
        mdt_session_cookie(cookie_header, SESSION_COOKIE, token, sizeof(token)) != 0 ||
        strlen(token) != 64)
        return -1;
    mdt_crypto_sha256_hex(token, 64, hash);
    return 0;
}

const mdt_session_t *mdt_session_find_live(mdt_server_t *srv, const char *id_hash)
{
    mdt_session_t *s = mdt_hmap_get(srv->auth->sessions, id_hash);
    return s && session_live(srv, s, mdt_session_now()) ? s : NULL;
}
