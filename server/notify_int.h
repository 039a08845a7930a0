/* notify_int.h - shared by the notification module's files only
 * (notify.c, notify_render.c, notify_http.c); the public surface is
 * notify.h. */
#ifndef MDT_NOTIFY_INT_H
#define MDT_NOTIFY_INT_H

#include <jansson.h>
#include <stdint.h>

#include "authz.h"
#include "db.h"

/* Which of the reader's notifications to render, newest first. */
typedef struct {
    int64_t id;     /* > 0: this one only */
    int64_t before; /* > 0: ids below it (the cursor) */
    int unread;     /* only unread ones */
    int64_t limit;  /* at most this many */
} mdt_notify_query_t;

/* DB thread: p's notifications matching q, each rendered for p now,
 * appended to items. Returns the db status. */
int mdt_notify_render(mdt_dbc_t *c, const mdt_principal_t *p, const char *time_zone,
                      const mdt_notify_query_t *q, json_t *items);
/* DB thread: how many of user's notifications are unread. */
int mdt_notify_unread(mdt_dbc_t *c, int64_t user_id, int64_t *n);

#endif
