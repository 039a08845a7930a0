/* calendar.c - the calendar feed: its token and the iCalendar document
 * (see calendar.h). The rows come from mine.c, decided there by the view
 * filter and the meeting predicate; this file writes only ids, times and
 * fixed titles. */
#include "calendar.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "buf.h"
#include "crypto.h"
#include "ctx.h"
#include "ics.h"
#include "mine.h"
#include "runner.h"
#include "session.h"

#define FEED_PREFIX "/api/v1/calendar/"
#define FEED_SUFFIX ".ics"
/* The feed's window of meetings, in days from now. */
#define FEED_FROM_DAYS (-60)
#define FEED_TO_DAYS   366

typedef struct {
    mdt_run_t run; /* first: mdt_run_new */
    char token[65];
    char hash[65];
    mdt_audit_actor_t actor; /* feed: the token's user */
    size_t n_meetings, n_actions;
} cal_op_t;

/* ---- POST and DELETE /api/v1/me/calendar ---- */

static int cal_audit(mdt_dbc_t *c, cal_op_t *op, const char *action)
{
    mdt_audit_actor_t a;
    mdt_audit_actor_from_req(op->run.req, &a);
    mdt_audit_rec_t rec = {.action = action, .object_type = "user", .object_id = a.user_id};
    return mdt_audit_append(c, &a, &rec);
}

static int create_work(mdt_dbc_t *c, void *arg)
{
    cal_op_t *op = arg;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, mdt_auth_user(op->run.req)->user_id);
    mdt_db_param_str(&p, op->hash);
    int rc = mdt_db_exec(c,
                         "INSERT INTO calendar_tokens (user_id, token_hash) VALUES ($1, $2)"
                         " ON CONFLICT (user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash,"
                         " created_at = now()",
                         &p);
    return rc == MDT_DB_OK ? cal_audit(c, op, "calendar.create") : rc;
}

static void create_finish(void *arg, int status)
{
    cal_op_t *op = arg;
    if (status != MDT_DB_OK)
        return;
    char url[512];
    snprintf(url, sizeof(url), "%s" FEED_PREFIX "%s" FEED_SUFFIX, mdt_ctx_origin(op->run.req),
             op->token);
    op->run.ans.ok_status = 201;
    op->run.ans.result = json_pack("{s:s}", "url", url);
    OPENSSL_cleanse(op->token, sizeof(op->token));
}

void mdt_calendar_create(mdt_req_t *req)
{
    cal_op_t *op = mdt_run_new(req, sizeof(*op), create_work, NULL);
    if (!op)
        return;
    if (mdt_crypto_token_hex(op->token, 32) != 0) {
        mdt_http_error(req, 500, "internal", NULL, "no randomness");
        return;
    }
    mdt_crypto_sha256_hex(op->token, strlen(op->token), op->hash);
    op->run.finish = create_finish;
    mdt_run_start(&op->run);
}

static int revoke_work(mdt_dbc_t *c, void *arg)
{
    cal_op_t *op = arg;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, mdt_auth_user(op->run.req)->user_id);
    int rc = mdt_db_exec(c, "DELETE FROM calendar_tokens WHERE user_id = $1", &p);
    return rc == MDT_DB_OK ? cal_audit(c, op, "calendar.revoke") : rc;
}

void mdt_calendar_revoke(mdt_req_t *req)
{
    cal_op_t *op = mdt_run_new(req, sizeof(*op), revoke_work, NULL);
    if (!op)
        return;
    op->run.ans.ok_status = 204;
    mdt_run_start(&op->run);
}

/* ---- GET /api/v1/calendar/{token}.ics ---- */

/* The token of the feed's path into token[65]: 0, or -1 when the path
 * holds no well-formed token (64 lowercase hex digits). */
static int feed_token(const char *path, char token[65])
{
    size_t plen = strlen(FEED_PREFIX), slen = strlen(FEED_SUFFIX), n = strlen(path);
    if (n != plen + 64 + slen || strncmp(path, FEED_PREFIX, plen) != 0 ||
        strcmp(path + n - slen, FEED_SUFFIX) != 0)
        return -1;
    for (size_t i = 0; i < 64; i++) {
        char ch = path[plen + i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return -1;
        token[i] = ch;
    }
    token[64] = 0;
    return 0;
}

/* The scope: the token's user (404, audited as denied, when none). */
static int feed_scope(mdt_dbc_t *c, void *arg)
{
    cal_op_t *op = arg;
    op->run.audit = (mdt_run_audit_t){.action = "calendar.read", .object_type = "calendar"};
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, op->hash);
    PGresult *r = mdt_db_query(c,
                               "SELECT u.id, u.username, u.agency_id FROM calendar_tokens t"
                               " JOIN users u ON u.id = t.user_id"
                               " WHERE t.token_hash = $1 AND u.active",
                               &p);
    if (!r)
        return c->status;
    int rc = PQntuples(r) == 1 ? MDT_DB_OK : MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK) {
        op->actor.user_id = mdt_db_int(r, 0, 0);
        snprintf(op->actor.username, sizeof(op->actor.username), "%s", mdt_db_str(r, 0, 1));
        op->actor.agency_id = mdt_db_int(r, 0, 2);
        snprintf(op->actor.address, sizeof(op->actor.address), "%s", op->run.req->peer);
    } else {
    }
    PQclear(r);
    return rc;
}

/* One VEVENT: uid, start (a UTC date-time, or a DATE when date_only),
 * fixed summary and link. */
static void feed_event(mdt_buf_t *b, const char *uid, const char *stamp, const char *start,
                       int date_only, const char *summary, const char *url)
{
    mdt_ics_line(b, "BEGIN", "VEVENT", 0);
    mdt_ics_line(b, "UID", uid, 1);
    mdt_ics_line(b, "DTSTAMP", stamp, 0);
    mdt_ics_line(b, date_only ? "DTSTART;VALUE=DATE" : "DTSTART", start, 0);
    mdt_ics_line(b, "DURATION", date_only ? "P1D" : "PT1H", 0);
    mdt_ics_line(b, "SUMMARY", summary, 1);
    mdt_ics_line(b, "DESCRIPTION", "Open MDT Board for the details.", 1);
    mdt_ics_line(b, "URL", url, 0);
    mdt_ics_line(b, "END", "VEVENT", 0);
}

/* The document for m: meetings, then action items with a due date. */
static char *feed_document(const mdt_mine_t *m, const char *origin, const char *stamp, size_t *len)
{
    const char *host = strstr(origin, "://") ? strstr(origin, "://") + 3 : origin;
    char uid[320], url[512], day[9];
    mdt_buf_t b;
    mdt_buf_init(&b);
    mdt_ics_line(&b, "BEGIN", "VCALENDAR", 0);
    mdt_ics_line(&b, "VERSION", "2.0", 0);
    mdt_ics_line(&b, "PRODID", "-//MDT Board//Calendar feed//EN", 0);
    mdt_ics_line(&b, "CALSCALE", "GREGORIAN", 0);
    mdt_ics_line(&b, "METHOD", "PUBLISH", 0);
    mdt_ics_line(&b, "X-WR-CALNAME", "MDT Board", 1);
    for (size_t i = 0; i < m->n_meetings; i++) {
        snprintf(uid, sizeof(uid), "meeting-%lld@%s", (long long)m->meetings[i].id, host);
        snprintf(url, sizeof(url), "%s/#/meetings/%lld", origin, (long long)m->meetings[i].id);
        feed_event(&b, uid, stamp, m->meetings[i].start, 0, "MDT case review", url);
    }
    snprintf(url, sizeof(url), "%s/#/dashboard", origin);
    for (size_t i = 0; i < m->n_actions; i++) {
        const char *due = m->actions[i].due;
        if (!*due)
            continue;
        snprintf(uid, sizeof(uid), "action-%lld@%s", (long long)m->actions[i].id, host);
        snprintf(day, sizeof(day), "%.4s%.2s%.2s", due, due + 5, due + 8);
        feed_event(&b, uid, stamp, day, 1, "Action item due", url);
    }
    mdt_ics_line(&b, "END", "VCALENDAR", 0);
    return mdt_buf_take(&b, len);
}

static int feed_work(mdt_dbc_t *c, void *arg)
{
    cal_op_t *op = arg;
    mdt_principal_t p;
    int rc = mdt_mine_principal(c, op->actor.user_id, &p);
    if (rc != MDT_DB_OK)
        return rc;
    mdt_mine_opts_t o = {.time_zone = mdt_ctx_time_zone(op->run.req),
                         .from_days = FEED_FROM_DAYS,
                         .to_days = FEED_TO_DAYS};
    mdt_mine_t m;
    rc = mdt_mine_load(c, &p, &o, &m);
    if (rc == MDT_DB_OK) {
        char stamp[17];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
        op->run.ans.text =
            feed_document(&m, mdt_ctx_origin(op->run.req), stamp, &op->run.ans.text_len);
        op->run.ans.text_type = "text/calendar; charset=utf-8";
        op->n_meetings = m.n_meetings;
        op->n_actions = m.n_actions;
        rc = op->run.ans.text ? MDT_DB_OK : MDT_DB_ERROR;
    }
    mdt_mine_free(&m);
    return rc;
}

/* Loop: the read's audit row (the token's user; counts only). */
static void feed_finish(void *arg, int status)
{
    cal_op_t *op = arg;
    if (status != MDT_DB_OK)
        return;
    json_t *detail = json_pack("{s:I, s:I}", "meetings", (json_int_t)op->n_meetings, "actions",
                               (json_int_t)op->n_actions);
    mdt_audit_rec_t rec = {.action = "calendar.read",
                           .object_type = "user",
                           .object_id = op->actor.user_id,
                           .detail = detail};
    mdt_audit_read(op->run.req->srv, &op->actor, &rec);
    json_decref(detail);
}

void mdt_calendar_feed(mdt_req_t *req)
{
    int wait = mdt_ctx_calendar_wait(req);
    if (wait > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", wait);
        mdt_http_add_header(req, "retry-after", v);
        mdt_http_error(req, 429, "rate_limited", NULL, "too many requests; wait %d s", wait);
        return;
    }
    cal_op_t *op = mdt_run_new(req, sizeof(*op), feed_work, NULL);
    if (!op)
        return;
    /* A malformed token is looked up as one no one holds (all zeros): the
     * same 404, audited the same way. */
    char token[65] = {0};
    if (feed_token(req->path, token) != 0)
        memset(token, '0', 64);
    mdt_crypto_sha256_hex(token, 64, op->hash);
    OPENSSL_cleanse(token, sizeof(token));
    op->run.isolation = "repeatable read";
    op->run.scope = feed_scope;
    op->run.finish = feed_finish;
    mdt_run_start(&op->run);
}
