/* hub_timers.c - the hub's timers: presence (at most once a second per
 * case) and consent expiry (a case's timer at its earliest expiry, then
 * access.revoked for what each view key lost). */
#include "hub_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "session.h"

static void hub_presence_fire(lws_sorted_usec_list_t *sul)
{
    hub_case_t *hc = lws_container_of(sul, hub_case_t, presence);
    hc->presence_scheduled = 0;
    json_t *users = json_array();
    int64_t seen[MDT_HUB_PRESENCE_CAP];
    int count = 0, n = 0;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&hc->subs))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
        const mdt_user_t *u = mdt_ws_user(s->conn);
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = seen[i] == u->user_id;
        if (s->active && !dup) {
            count++;
            if (n < MDT_HUB_PRESENCE_CAP) {
                seen[n++] = u->user_id;
                json_array_append_new(users,
                                      json_pack("{s:I, s:s, s:I}", "id", (json_int_t)u->user_id,
                                                "display_name", u->display_name, "agency_id",
                                                (json_int_t)u->agency_id));
            }
        }
    }
    lws_end_foreach_dll(d);
    json_t *frame = json_pack("{s:s, s:I, s:i, s:o}", "type", "presence", "case_id",
                              (json_int_t)hc->case_id, "count", count, "users", users);
    mdt_wsmsg_t *m = frame ? mdt_hub_msg(frame) : NULL;
    json_decref(frame);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&hc->subs))
    {
        hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
        if (m && s->active)
            mdt_hub_send(hc->srv, s, m);
    }
    lws_end_foreach_dll_safe(d, d1);
    mdt_wsmsg_unref(m);
}

/* At most once a second per case. */
void mdt_hub_presence_schedule(hub_case_t *hc)
{
    if (hc->presence_scheduled || !hc->srv->ctx || hc->user_id)
        return; /* a user's own stream has no presence */
    hc->presence_scheduled = 1;
    lws_sul_schedule(hc->srv->ctx, 0, &hc->presence, hub_presence_fire, LWS_US_PER_SEC);
}

/* Sends sub s the categories its view key lost (shape sh) at an expiry. */
static void hub_expiry_sub(mdt_server_t *srv, hub_case_t *hc, hub_sub_t *s, const hub_shape_t *sh)
{
    mdt_feed_event_t ev = {.seq = s->last_sent, .case_id = hc->case_id};
    hub_mask_t *m = mdt_hub_mask(hc, sh->key);
    unsigned lost = m && m->known ? m->mask & ~sh->mask : 0;
    for (int cat = 0; cat < MDT_PII_COUNT; cat++) {
        if (!(lost & MDT_PII_BIT(cat)))
            continue;
        json_t *one =
            mdt_hub_revoked(&ev, "pii", hc->case_id, mdt_authz_pii_cat_name((mdt_pii_cat_t)cat));
        mdt_wsmsg_t *w = mdt_hub_msg(one);
        json_decref(one);
        int rc = w ? mdt_hub_send(srv, s, w) : 0;
        mdt_wsmsg_unref(w);
        if (rc)
            return; /* resynced: s is gone */
    }
    size_t i;
    json_t *id;
    json_array_foreach(sh->msgs, i, id) /* the consents' documents it no longer sees */
    {
        json_t *one = mdt_hub_revoked(&ev, "attachment", json_integer_value(id), NULL);
        mdt_wsmsg_t *w = mdt_hub_msg(one);
        json_decref(one);
        int rc = w ? mdt_hub_send(srv, s, w) : 0;
        mdt_wsmsg_unref(w);
        if (rc)
            return;
    }
}

static void hub_expiry_done(void *arg, int status)
{
    hub_expjob_t *x = arg;
    hub_case_t *hc = x->srv->hub ? mdt_hub_case_get(x->srv, x->case_id, 0) : NULL;
    for (int i = 0; hc && status == MDT_DB_OK && i < x->nshapes; i++) {
        hub_shape_t *sh = &x->shapes[i];
        lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&hc->subs))
        {
            hub_sub_t *s = lws_container_of(d, hub_sub_t, case_link);
            if (s->active && mdt_authz_view_key_eq(mdt_hub_conn_key(s->conn), sh->key))
                hub_expiry_sub(x->srv, hc, s, sh);
        }
        lws_end_foreach_dll_safe(d, d1);
        hub_mask_t *m = mdt_hub_mask(hc, sh->key);
        if (m)
            *m = (hub_mask_t){sh->key, sh->mask, 1};
    }
    if (hc)
        mdt_hub_expiry_schedule(hc, status == MDT_DB_OK ? x->next_expiry : mdt_session_now() + 1);
    for (int i = 0; i < x->nshapes; i++)
        json_decref(x->shapes[i].msgs);
    free(x);
}

static void hub_expiry_fire(lws_sorted_usec_list_t *sul)
{
    hub_case_t *hc = lws_container_of(sul, hub_case_t, expiry);
    hc->next_expiry = 0;
    hub_expjob_t *x = calloc(1, sizeof(*x));
    if (!x)
        return;
    x->srv = hc->srv;
    x->case_id = hc->case_id;
    mdt_hub_collect_shapes(hc, x->shapes, &x->nshapes);
    if (mdt_db_submit_class(hc->srv->db, MDT_DB_CLASS_LIVE, mdt_hub_expiry_work, hub_expiry_done,
                            x) != 0)
        hub_expiry_done(x, MDT_DB_REFUSED);
}

/* Arms the case's timer for the earliest consent expiry (unix seconds). */
void mdt_hub_expiry_schedule(hub_case_t *hc, int64_t next_expiry)
{
    if (!hc->srv->ctx || next_expiry <= 0 || (hc->next_expiry && hc->next_expiry <= next_expiry))
        return;
    hc->next_expiry = next_expiry;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_us = (int64_t)ts.tv_sec * LWS_US_PER_SEC + ts.tv_nsec / 1000;
    int64_t delay = next_expiry * LWS_US_PER_SEC - now_us + 20 * LWS_US_PER_MS;
    lws_sul_schedule(hc->srv->ctx, 0, &hc->expiry, hub_expiry_fire,
                     delay > 0 ? (lws_usec_t)delay : 1);
}
