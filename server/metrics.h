/* metrics.h - request counters and the Prometheus text rendering.
 *
 * Loop thread only. Requests are counted by route pattern, method and
 * status, with one latency histogram per route; gauges (sockets, database
 * pool, LISTEN state) are passed in at render time by the server. */
#ifndef MDT_METRICS_H
#define MDT_METRICS_H

#include <stddef.h>

typedef struct mdt_metrics mdt_metrics_t;

mdt_metrics_t *mdt_metrics_new(void);
void mdt_metrics_free(mdt_metrics_t *m);

/* route is a static pattern string (or "static", "ws", "none"). */
void mdt_metrics_request(mdt_metrics_t *m, const char *route, const char *method, int status,
                         double ms);

typedef struct {
    const char *name; /* full metric name, e.g. mdt_ws_connections */
    const char *help;
    const char *type; /* gauge or counter */
    double value;
} mdt_metric_value_t;

/* Renders everything as Prometheus text; malloc'ed, caller frees. label
 * ("" for none, else `name="value"`, e.g. worker="1") is added to every
 * sample's labels. */
char *mdt_metrics_render(mdt_metrics_t *m, const mdt_metric_value_t *extra, size_t nextra,
                         const char *label, size_t *len);

#endif
