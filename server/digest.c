/* digest.c - the email digest job (see digest.h): the minute tick, the
 * once-per-cluster claim of the day, taking outbox rows, counting, the
 * mail thread and recording what was sent. A run moves loop -> database
 * thread (plan) -> mail thread (send) -> database thread (record) -> loop;
 * it owns everything it carries and is freed at the end of the last step.
 * The settings endpoints are in digest_settings.c. */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "log.h"
#include "mine.h"
#include "server_ctx.h"
#include "smtp.h"

#define DIGEST_FIRST_MAX_S  10 /* the first tick, at most this long after start */
#define DIGEST_BATCH        100
#define DIGEST_MEETING_DAYS 7

typedef struct mdt_digest {
    mdt_workq_t *mail; /* one thread: sends block */
    int ticking;       /* a timer run is under way: the next tick skips */
} mdt_digest_t;

/* One message of a run. */
typedef struct {
    int64_t user_id;
    char day[11];
    char period[8];
    char to[MDT_SMTP_ADDRESS_MAX + 1];
    char *message; /* malloc'ed */
    int sent;
    int attempts;
} digest_mail_t;

typedef struct {
    mdt_server_t *srv;
    mdt_req_t *req; /* the test hook's, or NULL for the timer */
    int force;      /* whatever the local hour */
    int claimed;
    digest_mail_t *mail;
    size_t n_mail;
    int sent, failed;
    int status;
} digest_run_t;

void mdt_digest_body(const mdt_digest_counts_t *k, const char *origin, char *out, size_t size)
{
    snprintf(out, size,
             "%ld overdue, %ld new assignment%s, %ld due soon, %ld meeting%s this week"
             " \xe2\x80\x94 open MDT Board: %s/",
             k->overdue, k->new_assigned, k->new_assigned == 1 ? "" : "s", k->due_soon, k->meetings,
             k->meetings == 1 ? "" : "s", origin);
}

static void run_free(digest_run_t *run)
{
    for (size_t i = 0; i < run->n_mail; i++)
        free(run->mail[i].message);
    free(run->mail);
    free(run);
}

/* ---- plan (database thread) ---- */

/* Claims today for the cluster when it is time and fills the outbox.
 * Sets run->claimed. */
static int plan_claim(mdt_dbc_t *c, digest_run_t *run)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, run->srv->cfg.time_zone);
    mdt_db_param_int(&p, run->srv->cfg.digest_hour);
    mdt_db_param_bool(&p, run->force);
    PGresult *r =
        mdt_db_query(c,
                     "WITH l AS (SELECT (now() AT TIME ZONE $1) AS t),"
                     " due AS (SELECT t::date AS day, extract(isodow FROM t) = 1 AS monday FROM l"
                     "  WHERE $3::boolean OR extract(hour FROM t) >= $2::int),"
                     " claim AS (INSERT INTO job_claims (job, day) SELECT 'digest', day FROM due"
                     "  ON CONFLICT DO NOTHING RETURNING day),"
                     " fill AS (INSERT INTO digest_outbox (user_id, day, period)"
                     "  SELECT s.user_id, claim.day, s.digest FROM claim CROSS JOIN due"
                     "  JOIN notification_settings s ON s.email IS NOT NULL"
                     "   AND (s.digest = 'daily' OR (s.digest = 'weekly' AND due.monday))"
                     "  JOIN users u ON u.id = s.user_id AND u.active"
                     "  ON CONFLICT DO NOTHING RETURNING 1)"
                     " SELECT (SELECT count(*) FROM claim), (SELECT count(*) FROM fill)",
                     &p);
    if (!r)
        return c->status;
    run->claimed = mdt_db_int(r, 0, 0) > 0;
    if (run->claimed)
        mdt_log_info("digest day claimed", "recipients=%lld", (long long)mdt_db_int(r, 0, 1));
    PQclear(r);
    return MDT_DB_OK;
}

/* Takes up to DIGEST_BATCH unsent rows of today or yesterday that no node
 * took in the last 5 minutes. *out is the result (user, day, period,
 * attempts, email). */
static int plan_take(mdt_dbc_t *c, digest_run_t *run, PGresult **out)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, run->srv->cfg.time_zone);
    mdt_db_param_int(&p, DIGEST_BATCH);
    *out = mdt_db_query(
        c,
        "WITH t AS (SELECT user_id, day FROM digest_outbox WHERE sent_at IS NULL"
        "  AND attempts < 5 AND day >= (now() AT TIME ZONE $1)::date - 1"
        "  AND (attempt_at IS NULL OR attempt_at < now() - interval '5 minutes')"
        "  ORDER BY day, user_id LIMIT $2 FOR UPDATE SKIP LOCKED),"
        " u AS (UPDATE digest_outbox o SET attempts = o.attempts + 1, attempt_at = now()"
        "  FROM t WHERE o.user_id = t.user_id AND o.day = t.day"
        "  RETURNING o.user_id, o.day, o.period, o.attempts)"
        " SELECT u.user_id, to_char(u.day, 'YYYY-MM-DD'), u.period, u.attempts, s.email"
        " FROM u LEFT JOIN notification_settings s ON s.user_id = u.user_id"
        "  AND s.digest <> 'off'"
        "  AND EXISTS (SELECT 1 FROM users a WHERE a.id = s.user_id AND a.active)"
        " ORDER BY u.day, u.user_id",
        &p);
    return *out ? MDT_DB_OK : c->status;
}

/* Counts what mail m reports, as the predicate lets its user see it now
 * (an agency deactivated since leaves the principal inactive: all zeros),
 * and composes m->message (malloc'ed; freed with the run). */
static int plan_compose(mdt_dbc_t *c, digest_run_t *run, digest_mail_t *m)
{
    mdt_principal_t p;
    int rc = mdt_mine_principal(c, m->user_id, &p);
    if (rc != MDT_DB_OK)
        return rc;
    int weekly = strcmp(m->period, "weekly") == 0;
    mdt_mine_opts_t o = {.time_zone = run->srv->cfg.time_zone,
                         .new_within_s = (weekly ? 7 : 1) * 86400,
                         .from_days = 0,
                         .to_days = DIGEST_MEETING_DAYS,
                         .planned_only = 1};
    mdt_mine_t mine;
    rc = mdt_mine_load(c, &p, &o, &mine);
    if (rc == MDT_DB_OK) {
        mdt_digest_counts_t k = {.meetings = (long)mine.n_meetings};
        for (size_t i = 0; i < mine.n_actions; i++) {
            k.overdue += mine.actions[i].overdue;
            k.due_soon += mine.actions[i].due_soon;
            k.new_assigned += mine.actions[i].is_new;
        }
        char body[512], subject[64];
        mdt_digest_body(&k, run->srv->cfg.origin, body, sizeof(body));
        snprintf(subject, sizeof(subject), "MDT Board: your %s summary", m->period);
        m->message = mdt_smtp_message(&run->srv->cfg, m->to, subject, body);
        rc = m->message ? MDT_DB_OK : MDT_DB_ERROR;
    }
    mdt_mine_free(&mine);
    return rc;
}

static int plan_work(mdt_dbc_t *c, void *arg)
{
    digest_run_t *run = arg;
    PGresult *r = NULL;
    int rc = plan_claim(c, run);
    if (rc == MDT_DB_OK)
        rc = plan_take(c, run, &r);
    int n = r ? PQntuples(r) : 0;
    if (rc == MDT_DB_OK && !(run->mail = calloc((size_t)n + 1, sizeof(*run->mail))))
        rc = MDT_DB_ERROR;
    for (int i = 0; rc == MDT_DB_OK && i < n; i++) {
        const char *to = mdt_db_str(r, i, 4);
        digest_mail_t *m = &run->mail[run->n_mail];
        m->user_id = mdt_db_int(r, i, 0);
        snprintf(m->day, sizeof(m->day), "%s", mdt_db_str(r, i, 1));
        snprintf(m->period, sizeof(m->period), "%s", mdt_db_str(r, i, 2));
        m->attempts = (int)mdt_db_int(r, i, 3);
        snprintf(m->to, sizeof(m->to), "%s", to ? to : "");
        run->n_mail++;
        if (to) /* turned off or deactivated since the claim: recorded as done, no mail */
            rc = plan_compose(c, run, m);
    }
    PQclear(r);
    return rc;
}

/* ---- send (the mail thread) ---- */

static void send_work(void *thread_state, void *arg)
{
    (void)thread_state;
    digest_run_t *run = arg;
    for (size_t i = 0; i < run->n_mail; i++) {
        digest_mail_t *m = &run->mail[i];
        if (!m->message)
            continue;
        char err[256];
        m->sent = mdt_smtp_send(&run->srv->cfg, m->to, m->message, err, sizeof(err)) == 0;
        if (!m->sent)
            mdt_log_warn("digest send failed, will retry", "user_id=%lld attempt=%d error=\"%s\"",
                         (long long)m->user_id, m->attempts, err);
    }
}

/* ---- record (database thread) ---- */

static int record_one(mdt_dbc_t *c, const digest_mail_t *m)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, m->user_id);
    mdt_db_param_str(&p, m->day);
    int rc = MDT_DB_OK;
    if (m->sent || !m->message)
        rc = mdt_db_exec(c,
                         "UPDATE digest_outbox SET sent_at = now() WHERE user_id = $1"
                         " AND day = $2::date",
                         &p);
    if (rc != MDT_DB_OK || !m->message)
        return rc;
    mdt_audit_actor_t system = {0};
    json_t *detail =
        json_pack("{s:s, s:s, s:i}", "period", m->period, "day", m->day, "attempt", m->attempts);
    mdt_audit_rec_t rec = {.action = "digest.send",
                           .object_type = "user",
                           .object_id = m->user_id,
                           .outcome = m->sent ? "ok" : "failure",
                           .detail = detail};
    rc = mdt_audit_append(c, &system, &rec);
    json_decref(detail);
    return rc;
}

static int record_work(mdt_dbc_t *c, void *arg)
{
    digest_run_t *run = arg;
    int rc = mdt_db_begin(c, NULL);
    for (size_t i = 0; rc == MDT_DB_OK && i < run->n_mail; i++)
        rc = record_one(c, &run->mail[i]);
    if (rc == MDT_DB_OK)
        rc = mdt_db_commit(c);
    else
        mdt_db_rollback(c);
    return rc;
}

/* ---- the run on the loop ---- */

static void run_end(digest_run_t *run, int status)
{
    for (size_t i = 0; i < run->n_mail; i++) {
        run->sent += run->mail[i].message && run->mail[i].sent;
        run->failed += run->mail[i].message && !run->mail[i].sent;
    }
    if (status != MDT_DB_OK)
        mdt_log_warn("digest run failed, will retry", "status=%d", status);
    else if (run->sent || run->failed)
        mdt_log_info("digest run", "sent=%d failed=%d", run->sent, run->failed);
    if (run->req && status != MDT_DB_OK)
        mdt_http_fail_db(run->req, status);
    else if (run->req)
        mdt_http_respond_json(run->req, 200,
                              json_pack("{s:b, s:i, s:i}", "claimed", run->claimed, "sent",
                                        run->sent, "failed", run->failed));
    else if (run->srv->digest)
        run->srv->digest->ticking = 0;
    run_free(run);
}

static void record_done(void *arg, int status)
{
    run_end(arg, status);
}

static void send_done(void *arg)
{
    digest_run_t *run = arg;
    if (mdt_db_submit(run->srv->db, record_work, record_done, run) != 0)
        run_end(run, MDT_DB_REFUSED);
}

static void plan_done(void *arg, int status)
{
    digest_run_t *run = arg;
    mdt_digest_t *d = run->srv->digest;
    if (status != MDT_DB_OK || run->n_mail == 0) {
        run_end(run, status);
        return;
    }
    if (!d || mdt_workq_submit(d->mail, send_work, send_done, run) != 0)
        send_done(run); /* nothing sent: recorded as failures, taken again later */
}

/* Loop: starts one run (req: the test hook's request, answered at the end). */
static int run_start(mdt_server_t *srv, mdt_req_t *req, int force)
{
    digest_run_t *run = calloc(1, sizeof(*run));
    if (!run)
        return -1;
    run->srv = srv;
    run->req = req;
    run->force = force;
    if (mdt_db_submit(srv->db, plan_work, plan_done, run) != 0) {
        free(run);
        return -1;
    }
    return 0;
}

static void digest_tick(lws_sorted_usec_list_t *sul)
{
    mdt_server_t *srv = lws_container_of(sul, mdt_server_t, sul_digest);
    mdt_digest_t *d = srv->digest;
    if (d && !d->ticking && !srv->stopping)
        d->ticking = run_start(srv, NULL, 0) == 0;
    lws_sul_schedule(srv->ctx, 0, &srv->sul_digest, digest_tick,
                     (lws_usec_t)srv->cfg.digest_tick_s * LWS_US_PER_SEC);
}

int mdt_digest_start(mdt_server_t *srv)
{
    if (!srv->cfg.smtp_url)
        return 0;
    mdt_digest_t *d = calloc(1, sizeof(*d));
    mdt_workq_opts_t o = {.threads = 1, .max_queue = 64};
    if (!d || mdt_smtp_global_init() != 0 || !(d->mail = mdt_workq_new(&o, srv->loopq))) {
        free(d);
        return -1;
    }
    srv->digest = d;
    int first =
        srv->cfg.digest_tick_s < DIGEST_FIRST_MAX_S ? srv->cfg.digest_tick_s : DIGEST_FIRST_MAX_S;
    if (srv->cfg.digest_tick_s > 0) /* 0: only the test hook runs it */
        lws_sul_schedule(srv->ctx, 0, &srv->sul_digest, digest_tick,
                         (lws_usec_t)first * LWS_US_PER_SEC);
    return 0;
}

void mdt_digest_stop(mdt_server_t *srv)
{
    lws_sul_cancel(&srv->sul_digest);
}

void mdt_digest_free(mdt_server_t *srv)
{
    mdt_digest_t *d = srv->digest;
    if (!d)
        return;
    mdt_workq_free(d->mail);
    srv->digest = NULL;
    free(d);
    mdt_smtp_global_cleanup();
}

void mdt_digest_test_run(mdt_req_t *req)
{
#ifdef MDT_TEST_HOOKS
    if (!req->srv->digest) {
        mdt_http_error(req, 409, "conflict", NULL, "email is not configured (MDT_SMTP_URL)");
        return;
    }
    if (run_start(req->srv, req, 1) != 0)
        mdt_http_error(req, 503, "unavailable", NULL, "the database pool is full");
#else
    mdt_http_error(req, 404, "not_found", NULL, "no such resource");
#endif
}
