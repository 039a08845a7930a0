/* actions_int.h - the inside of the actions module, shared by actions.c
 * (create, PATCH, retract, the one Action serializer) and actions_bulk.c
 * (POST /actions/bulk, which runs PATCH's work once per item). The public
 * surface is actions.h. */
#ifndef MDT_ACTIONS_INT_H
#define MDT_ACTIONS_INT_H

#include <jansson.h>
#include <stdint.h>

#include "actions.h"
#include "caseop.h"
#include "err.h"

/* An item's case, for caseop's resolve_sql. */
#define ACTIONS_RESOLVE_SQL "SELECT case_id FROM actions WHERE id = $1"

/* What a create or an update asks for (op->ud of their work). */
typedef struct {
    const char *title;          /* borrowed from req->json; NULL = unchanged */
    const char *details_md;     /* borrowed; NULL = unchanged ("" clears) */
    int status;                 /* STATUSES index; -1 = unchanged */
    int64_t assignee_agency_id; /* 0 = unchanged (PATCH) */
    int64_t assignee_id;        /* 0 = none */
    int assignee_id_set;        /* PATCH: the body named assignee_id (maybe null) */
    char due[11];               /* "" = none */
    int due_set;                /* PATCH: the body named due_date (maybe null) */
    int vis;
    int64_t *visible_to; /* malloc'ed */
    size_t n_visible_to;
    int64_t meeting_id;
    int64_t version;
    const char *time_zone; /* the server's, for `overdue` */
} mdt_action_in_t;

/* Frees in (a malloc'ed mdt_action_in_t) and what it owns; NULL is fine. */
void mdt_actions_in_free(void *arg);
/* Reads status, assignee_agency_id, assignee_id and due_date (PATCH's and
 * the bulk's `set`) from b into in; 0, or -1 with e filled. Strings stay
 * borrowed from b. */
int mdt_actions_parse_set(json_t *b, mdt_action_in_t *in, mdt_err_t *e);
/* PATCH's work on the item op->object_id of the case in op (cx and view
 * loaded, visible) with op->ud an mdt_action_in_t: gate (404/403/409 when
 * in->version > 0 is stale), write, the item as the caller sees it into
 * op->run.ans.result, audit row and event. Changes in (the assignee it
 * settles). Returns a db status or MDT_RUN_ANSWERED. */
int mdt_actions_update_work(mdt_dbc_t *c, mdt_caseop_t *op);

#endif
