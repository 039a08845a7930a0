/* meetings_minutes.c - the minutes of a meeting over HTTP: GET
 * /meetings/{id}/minutes (the latest, or as approved or corrected at a
 * version) and POST /meetings/{id}/minutes/approve, on the meeting runner
 * (see meetings.h and docs/meetings.md, "Minutes approval"). The document
 * itself is written by minutes.c; corrections are outcome writes
 * (meetings_change.c). */
#include "meetings_int.h"

/* ==== GET /meetings/{id}/minutes ============================================== */

typedef struct {
    int html;
    int64_t version; /* 0 = the latest */
} minutes_in_t;

static int minutes_work(mdt_dbc_t *c, meetop_t *op)
{
    minutes_in_t *in = op->ud;
    if (in->version > op->m->minutes_version) {
        if (!op->m->minutes_version)
            return mdt_meetings_fail(op, 422, "validation", "version",
                                     "the minutes are a draft: they have no versions yet");
        char msg[96];
        snprintf(msg, sizeof(msg), "version must be from 1 to %d", op->m->minutes_version);
        return mdt_meetings_fail(op, 422, "validation", "version", msg);
    }
    op->run.ans.text_type = in->html ? "text/html; charset=utf-8" : "text/markdown; charset=utf-8";
    op->read_detail = json_pack("{s:s}", "format", in->html ? "html" : "md");
    if (in->version)
        json_object_set_new(op->read_detail, "version", json_integer(in->version));
    return mdt_minutes_build(c, op->m, &op->p, op->time_zone, in->html, (int)in->version,
                             &op->run.ans.text, &op->run.ans.text_len);
}

void mdt_meetings_minutes(mdt_req_t *req)
{
    mdt_err_t e;
    const char *format = mdt_req_query(req, "format");
    int is_html = format && strcmp(format, "html") == 0;
    if (format && *format && !is_html && strcmp(format, "md") != 0) {
        mdt_http_error(req, 422, "validation", "format", "format must be md or html");
        return;
    }
    minutes_in_t *in = calloc(1, sizeof(*in));
    if (!in) {
        mdt_http_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    in->html = is_html;
    if (mdt_req_query_int(req, "version", 1, INT32_MAX, 0, &in->version, &e) < 0) {
        free(in);
        mdt_http_fail(req, &e);
        return;
    }
    meetop_t *op = mdt_meetings_meetop_new(req, minutes_work, in, free);
    if (!op)
        return;
    op->meeting_id = req->ids[0];
    op->run.isolation = "repeatable read";
    op->read_action = "meeting.minutes";
    mdt_meetings_meetop_run(op);
}

/* ==== POST /meetings/{id}/minutes/approve ====================================== */

/* The facilitator approves the minutes of an ended meeting, once: minutes
 * version 1, who and when. */
static int approve_work(mdt_dbc_t *c, meetop_t *op)
{
    const int64_t *version = op->ud;
    if (!mdt_authz_meeting_facilitate(&op->p, op->m->facilitator_id))
        return mdt_meetings_fail(op, 403, "forbidden", NULL,
                                 "only the meeting's facilitator approves its minutes");
    if (strcmp(op->m->status, STATUSES[ST_ENDED]) != 0)
        return mdt_meetings_fail(op, 422, "validation", "status",
                                 "the meeting has not ended: its minutes are approved after it");
    if (op->m->minutes_version > 0)
        return mdt_meetings_conflict(op, "the minutes are already approved");
    if (*version != op->m->version)
        return mdt_meetings_conflict(op, "the meeting was changed meanwhile; reload it");
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, op->meeting_id);
    mdt_db_param_int(&q, op->p.user_id);
    int rc = mdt_db_exec(c,
                         "UPDATE meetings SET minutes_version = 1, minutes_approved_by = $2,"
                         " minutes_approved_at = now(), version = version + 1 WHERE id = $1",
                         &q);
    if (rc == MDT_DB_OK)
        rc = mdt_meetings_meetop_reload(c, op, NULL);
    if (rc != MDT_DB_OK)
        return rc;
    return mdt_meetings_meetop_record(c, op, "meeting.minutes.approve", "meeting.updated", 0,
                                      json_pack("{s:i}", "minutes_version", 1));
}

void mdt_meetings_minutes_approve(mdt_req_t *req)
{
    mdt_meetings_change_int(req, "version", 1, INT32_MAX, approve_work);
}
