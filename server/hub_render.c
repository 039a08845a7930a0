/* hub_render.c - what a subscriber receives, rendered on database threads:
 * a live event for one view key, a replay, a meeting, the PII masks at a
 * consent expiry. Every object goes through its content kind (content.h)
 * and every item through the view filter. */
#include "hub_int.h"

#include <stdlib.h>
#include <string.h>

#include "attachments.h"
#include "content.h"
#include "json.h"
#include "meetings.h"
#include "notify.h"
#include "session.h"

/* The object an event names, as p may see it now (new reference), or NULL:
 * through the kind's descriptor (content.h). */
static json_t *hub_object(mdt_dbc_t *c, const mdt_feed_event_t *ev, const mdt_principal_t *p,
                          const mdt_casectx_t *cx, int64_t now, const char *time_zone)
{
    const mdt_content_kind_t *k = mdt_content_find(ev->object_type);
    mdt_content_reader_t rd = {.p = p, .cx = cx, .now = now, .time_zone = time_zone};
    return k ? k->object_json(c, &rd, ev->object_id) : NULL;
}

static json_t *hub_event_msg(const mdt_feed_event_t *ev, const char *kind, json_t *data)
{
    return json_pack("{s:s, s:I, s:I, s:s, s:o}", "type", "event", "seq", (json_int_t)ev->seq,
                     "case_id", (json_int_t)ev->case_id, "kind", kind, "data", data);
}

json_t *mdt_hub_revoked(const mdt_feed_event_t *ev, const char *entity, int64_t id,
                        const char *category)
{
    json_t *d = json_pack("{s:s, s:I}", "entity", entity, "id", (json_int_t)id);
    if (category)
        json_object_set_new(d, "category", json_string(category));
    return hub_event_msg(ev, "access.revoked", d);
}

/* Appends to out access.revoked for each attachment of consent_id (0: any
 * consent) that p no longer sees because its consent is not in force (a
 * revocation, an expiry). Returns the db status. */
static int hub_hidden_documents(mdt_dbc_t *c, const mdt_feed_event_t *ev, const mdt_principal_t *p,
                                const mdt_casectx_t *cx, int64_t consent_id, int64_t now,
                                json_t *out)
{
    json_t *ids = mdt_attachments_hidden_json(c, p, cx, consent_id, now);
    if (!ids)
        return c->status != MDT_DB_OK ? c->status : MDT_DB_ERROR;
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        json_array_append_new(out, mdt_hub_revoked(ev, "attachment", json_integer_value(id), NULL));
    }
    json_decref(ids);
    return MDT_DB_OK;
}

/* Renders ev for one shape. Returns the db status. */
static int hub_render_shape(mdt_dbc_t *c, const mdt_feed_event_t *ev, const mdt_casectx_t *cx,
                            int64_t now, const char *time_zone, hub_shape_t *sh)
{
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    sh->msgs = json_array();
    if (!mdt_authz_case_visible(&sh->p, &view)) {
        sh->case_gone = 1;
        return MDT_DB_OK;
    }
    sh->mask = mdt_authz_pii_mask(&sh->p, &view, now);
    if (strcmp(ev->kind, "consent.changed") == 0 &&
        hub_hidden_documents(c, ev, &sh->p, cx, ev->object_id, now, sh->msgs) != MDT_DB_OK)
        return c->status;
    json_t *obj = hub_object(c, ev, &sh->p, cx, now, time_zone);
    if (obj) {
        json_array_append_new(sh->msgs, hub_event_msg(ev, ev->kind, obj));
        return MDT_DB_OK;
    }
    if (c->status != MDT_DB_OK && c->error[0])
        return c->status;
    int narrowing = strstr(ev->kind, ".updated") || strstr(ev->kind, ".retracted");
    if (narrowing && mdt_content_prev_visible(c, mdt_content_find(ev->object_type), &sh->p, &view,
                                              ev->object_id))
        json_array_append_new(sh->msgs, mdt_hub_revoked(ev, ev->object_type, ev->object_id, NULL));
    return MDT_DB_OK;
}

/* The earliest consent expiry after now in cx (0 if none). */
static int64_t hub_next_expiry(const mdt_casectx_t *cx, int64_t now)
{
    int64_t next = 0;
    for (size_t i = 0; i < cx->n_consents; i++) {
        int64_t e = cx->consents[i].expires_at;
        if (e > now && (!next || e < next))
            next = e;
    }
    return next;
}

/* Meeting events: the meeting is loaded once and rendered per shape
 * (nothing for a shape that may not see the meeting any more). */
static int hub_render_meeting(mdt_dbc_t *c, hub_ev_t *h)
{
    int status = MDT_DB_OK;
    mdt_meeting_t *m = mdt_meetings_load(c, h->ev.meeting_id, &status);
    if (!m && status != MDT_DB_NOT_FOUND && status != MDT_DB_OK)
        return status;
    for (int i = 0; i < h->nshapes; i++) {
        hub_shape_t *sh = &h->shapes[i];
        sh->msgs = json_array();
        json_t *data = m && mdt_meetings_visible(m, &sh->p) ? mdt_meetings_render(m, &sh->p) : NULL;
        if (data)
            json_array_append_new(sh->msgs, json_pack("{s:s, s:I, s:I, s:s, s:o}", "type", "event",
                                                      "seq", (json_int_t)h->ev.seq, "meeting_id",
                                                      (json_int_t)h->ev.meeting_id, "kind",
                                                      h->ev.kind, "data", data));
    }
    mdt_meetings_free(m);
    return MDT_DB_OK;
}

/* A user's event as that user reads it now (data: the event's own data)
 * appended to out; nothing when it names nothing p may read. */
static int hub_user_msg(mdt_dbc_t *c, const mdt_feed_event_t *ev, json_t *data,
                        const mdt_principal_t *p, const char *time_zone, json_t *out)
{
    if (p->user_id != ev->user_id) /* never another user's */
        return MDT_DB_OK;
    json_t *d = strcmp(ev->kind, "notification.read") == 0
                    ? mdt_notify_read_json(c, p->user_id, data)
                    : mdt_notify_event_json(c, p, ev->object_id, time_zone);
    if (!d)
        return c->status;
    json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:s, s:o}", "type", "event", "seq",
                                         (json_int_t)ev->seq, "user_id", (json_int_t)ev->user_id,
                                         "kind", ev->kind, "data", d));
    return MDT_DB_OK;
}

static int hub_render_user(mdt_dbc_t *c, hub_ev_t *h)
{
    int rc = MDT_DB_OK;
    for (int i = 0; i < h->nshapes && rc == MDT_DB_OK; i++) {
        hub_shape_t *sh = &h->shapes[i];
        sh->msgs = json_array();
        rc = hub_user_msg(c, &h->ev, h->ev.data, &sh->p, h->srv->cfg.time_zone, sh->msgs);
    }
    return rc;
}

/* What a render batch keeps from one event to the next: its snapshot (a
 * repeatable-read transaction, opened by the first case event) and the
 * last case context loaded in it. */
typedef struct {
    int in_tx;
    int64_t cx_case; /* the case cx holds (0: none) */
    int cx_status;   /* how loading it went */
    mdt_casectx_t *cx;
    int64_t now;
} hub_snap_t;

/* Ends s's snapshot: what it memoized goes with it. */
static void hub_snap_end(mdt_dbc_t *c, hub_snap_t *s)
{
    mdt_db_memo_end(c);
    mdt_db_rollback(c);
    s->in_tx = 0;
}

/* The context of case_id in s's snapshot (opened if need be, with a memo:
 * an object rendered for several view keys is read once): the db status,
 * MDT_DB_NOT_FOUND when the case is gone. */
static int hub_snap_case(mdt_dbc_t *c, hub_snap_t *s, int64_t case_id)
{
    if (!s->in_tx) {
        int rc = mdt_db_begin(c, "repeatable read");
        if (rc != MDT_DB_OK)
            return rc;
        mdt_db_memo_start(c);
        s->in_tx = 1;
        s->cx_case = 0;
    }
    if (s->cx_case != case_id) {
        s->cx_status = mdt_casectx_load(c, case_id, s->cx);
        s->cx_case = case_id;
    }
    return s->cx_status;
}

/* A case event, for each shape, in s's snapshot. */
static int hub_render_case(mdt_dbc_t *c, hub_snap_t *s, hub_ev_t *h)
{
    int rc = hub_snap_case(c, s, h->ev.case_id);
    for (int i = 0; rc == MDT_DB_OK && i < h->nshapes; i++)
        rc = hub_render_shape(c, &h->ev, s->cx, s->now, h->srv->cfg.time_zone, &h->shapes[i]);
    if (rc == MDT_DB_OK)
        h->next_expiry = hub_next_expiry(s->cx, s->now);
    if (rc == MDT_DB_NOT_FOUND) { /* the case is gone: nobody sees anything */
        for (int i = 0; i < h->nshapes; i++)
            h->shapes[i].case_gone = 1;
        rc = MDT_DB_OK;
    }
    return rc;
}

static int hub_render_one(mdt_dbc_t *c, hub_snap_t *s, hub_ev_t *h)
{
    if (h->ev.user_id)
        return hub_render_user(c, h);
    if (!h->ev.case_id)
        return hub_render_meeting(c, h);
    return hub_render_case(c, s, h);
}

int mdt_hub_render_batch_work(mdt_dbc_t *c, void *arg)
{
    hub_batch_t *b = arg;
    hub_snap_t s = {.cx = malloc(sizeof(*s.cx)), .now = mdt_session_now()};
    if (!s.cx)
        return MDT_DB_ERROR;
    for (int i = 0; i < b->n; i++) {
        hub_ev_t *h = b->evs[i];
        c->status = MDT_DB_OK;
        h->status = hub_render_one(c, &s, h);
        if (h->status != MDT_DB_OK && s.in_tx)
            hub_snap_end(c, &s); /* a failed statement ends it: the next event opens one */
    }
    if (s.in_tx)
        hub_snap_end(c, &s);
    free(s.cx);
    return MDT_DB_OK;
}

/* The events of j's topic (its case, or its user's stream) in (since,
 * replay_to], at most HUB_REPLAY_MAX + 1 of them: seq, kind, object_type,
 * object_id, data::text. NULL on error (c->status). */
static PGresult *hub_replay_rows(mdt_dbc_t *c, const hub_subjob_t *j)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, j->user_id ? j->user_id : j->case_id);
    mdt_db_param_int(&prm, j->since);
    mdt_db_param_int(&prm, j->replay_to);
    mdt_db_param_int(&prm, HUB_REPLAY_MAX + 1);
    return mdt_db_query(c,
                        j->user_id
                            ? "SELECT seq, kind, object_type, object_id, data::text FROM events"
                              " WHERE user_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq"
                              " LIMIT $4"
                            : "SELECT seq, kind, object_type, object_id, data::text FROM events"
                              " WHERE case_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq"
                              " LIMIT $4",
                        &prm);
}

/* Loads and renders the case's events in (since, replay_to] for p. */
static int hub_replay(mdt_dbc_t *c, hub_subjob_t *j, const mdt_casectx_t *cx, int64_t now)
{
    PGresult *r = hub_replay_rows(c, j);
    if (!r)
        return c->status;
    int n = PQntuples(r);
    j->resync = n > HUB_REPLAY_MAX;
    for (int i = 0; i < n && !j->resync; i++) {
        mdt_feed_event_t ev = {.seq = mdt_db_int(r, i, 0), .case_id = j->case_id};
        snprintf(ev.kind, sizeof(ev.kind), "%s", mdt_db_str(r, i, 1));
        snprintf(ev.object_type, sizeof(ev.object_type), "%s", mdt_db_str(r, i, 2));
        ev.object_id = mdt_db_int(r, i, 3);
        hub_shape_t sh = {.p = j->p};
        int rc = hub_render_shape(c, &ev, cx, now, j->srv->cfg.time_zone, &sh);
        if (rc == MDT_DB_OK)
            json_array_extend(j->msgs, sh.msgs);
        json_decref(sh.msgs);
        if (rc != MDT_DB_OK) {
            PQclear(r);
            return rc;
        }
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* `since` older than what the log still holds → the client must reload. */
static int hub_since_retained(mdt_dbc_t *c, hub_subjob_t *j, int *retained)
{
    mdt_db_params_t prm;
    mdt_db_params_init(&prm);
    mdt_db_param_int(&prm, j->since);
    mdt_db_param_int(&prm, HUB_RETENTION_DAYS);
    PGresult *r = mdt_db_query(
        c,
        "SELECT $1::bigint >= coalesce((SELECT min(seq) - 1 FROM events), 0) AND"
        " coalesce((SELECT created_at > now() - make_interval(days => $2::int) FROM events"
        " WHERE seq = $1::bigint + 1), true)",
        &prm);
    if (!r)
        return c->status;
    *retained = mdt_db_bool(r, 0, 0);
    PQclear(r);
    return MDT_DB_OK;
}

int mdt_hub_subscribe_work(mdt_dbc_t *c, void *arg)
{
    hub_subjob_t *j = arg;
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    if (!cx || !(j->msgs = json_array())) {
        free(cx);
        return MDT_DB_ERROR;
    }
    int64_t now = mdt_session_now();
    int rc = mdt_db_begin(c, "repeatable read"), retained = 1;
    if (rc == MDT_DB_OK)
        rc = mdt_casectx_load(c, j->case_id, cx);
    mdt_case_ctx_t view = mdt_casectx_view(cx);
    if (rc == MDT_DB_OK && !mdt_authz_case_visible(&j->p, &view))
        rc = MDT_DB_NOT_FOUND;
    if (rc == MDT_DB_OK) {
        j->mask = mdt_authz_pii_mask(&j->p, &view, now);
        j->next_expiry = hub_next_expiry(cx, now);
    }
    if (rc == MDT_DB_OK && j->since >= 0)
        rc = hub_since_retained(c, j, &retained);
    j->resync = !retained;
    if (rc == MDT_DB_OK && j->since >= 0 && retained && j->since < j->replay_to)
        rc = hub_replay(c, j, cx, now);
    free(cx);
    mdt_db_rollback(c);
    return rc;
}

int mdt_hub_expiry_work(mdt_dbc_t *c, void *arg)
{
    hub_expjob_t *x = arg;
    mdt_casectx_t *cx = malloc(sizeof(*cx));
    if (!cx)
        return MDT_DB_ERROR;
    int64_t now = mdt_session_now();
    int rc = mdt_casectx_load(c, x->case_id, cx);
    if (rc == MDT_DB_OK) {
        mdt_case_ctx_t view = mdt_casectx_view(cx);
        for (int i = 0; i < x->nshapes && rc == MDT_DB_OK; i++) {
            hub_shape_t *sh = &x->shapes[i];
            sh->mask = mdt_authz_pii_mask(&sh->p, &view, now);
            /* the ids of the consents' documents the key no longer sees */
            sh->msgs = mdt_attachments_hidden_json(c, &sh->p, cx, 0, now);
            if (!sh->msgs)
                rc = c->status != MDT_DB_OK ? c->status : MDT_DB_ERROR;
        }
        x->next_expiry = hub_next_expiry(cx, now);
    }
    free(cx);
    return rc;
}

int mdt_hub_meeting_work(mdt_dbc_t *c, void *arg)
{
    hub_meetjob_t *j = arg;
    json_t *m = mdt_meetings_json(c, &j->p, j->meeting_id);
    j->visible = m != NULL;
    json_decref(m);
    return m || c->status == MDT_DB_OK ? MDT_DB_OK : c->status;
}

/* The user's events in (since, replay_to], rendered for j->p. */
static int hub_user_replay(mdt_dbc_t *c, hub_subjob_t *j)
{
    PGresult *r = hub_replay_rows(c, j);
    if (!r)
        return c->status;
    int n = PQntuples(r), rc = MDT_DB_OK;
    j->resync = n > HUB_REPLAY_MAX;
    for (int i = 0; i < n && !j->resync && rc == MDT_DB_OK; i++) {
        mdt_feed_event_t ev = {
            .seq = mdt_db_int(r, i, 0), .user_id = j->user_id, .object_id = mdt_db_int(r, i, 3)};
        snprintf(ev.kind, sizeof(ev.kind), "%s", mdt_db_str(r, i, 1));
        json_t *data = json_loads(mdt_db_str(r, i, 4), 0, NULL);
        rc = hub_user_msg(c, &ev, data, &j->p, j->srv->cfg.time_zone, j->msgs);
        json_decref(data);
    }
    PQclear(r);
    return rc;
}

int mdt_hub_user_subscribe_work(mdt_dbc_t *c, void *arg)
{
    hub_subjob_t *j = arg;
    if (!(j->msgs = json_array()))
        return MDT_DB_ERROR;
    int rc = mdt_db_begin(c, "repeatable read"), retained = 1;
    if (rc == MDT_DB_OK && j->since >= 0)
        rc = hub_since_retained(c, j, &retained);
    j->resync = !retained;
    if (rc == MDT_DB_OK && j->since >= 0 && retained && j->since < j->replay_to)
        rc = hub_user_replay(c, j);
    mdt_db_rollback(c);
    return rc;
}
