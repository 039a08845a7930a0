/* metrics.c - counters, histograms and Prometheus text (see metrics.h). */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define METRICS_MAX_SERIES 512
#define METRICS_MAX_ROUTES 128

static const double buckets_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
#define NBUCKETS (sizeof(buckets_ms) / sizeof(buckets_ms[0]))

typedef struct {
    const char *route, *method;
    int status;
    unsigned long long count;
} series_t;

typedef struct {
    const char *route;
    unsigned long long buckets[NBUCKETS];
    unsigned long long count;
    double sum_ms;
} histo_t;

struct mdt_metrics {
    series_t series[METRICS_MAX_SERIES];
    size_t nseries;
    histo_t histo[METRICS_MAX_ROUTES];
    size_t nhisto;
};

mdt_metrics_t *mdt_metrics_new(void)
{
    return calloc(1, sizeof(mdt_metrics_t));
}

void mdt_metrics_free(mdt_metrics_t *m)
{
    free(m);
}

static histo_t *histo_for(mdt_metrics_t *m, const char *route)
{
    for (size_t i = 0; i < m->nhisto; i++) {
        if (strcmp(m->histo[i].route, route) == 0)
            return &m->histo[i];
    }
    if (m->nhisto == METRICS_MAX_ROUTES)
        return NULL;
    m->histo[m->nhisto].route = route;
    return &m->histo[m->nhisto++];
}

void mdt_metrics_request(mdt_metrics_t *m, const char *route, const char *method, int status,
                         double ms)
{
    size_t i;
    for (i = 0; i < m->nseries; i++) {
        series_t *s = &m->series[i];
        if (s->status == status && strcmp(s->route, route) == 0 && strcmp(s->method, method) == 0)
            break;
    }
    if (i == m->nseries && m->nseries < METRICS_MAX_SERIES)
        m->series[m->nseries++] = (series_t){route, method, status, 0};
    if (i < m->nseries)
        m->series[i].count++;
    histo_t *h = histo_for(m, route);
    if (!h)
        return;
    h->count++;
    h->sum_ms += ms;
    for (size_t b = 0; b < NBUCKETS; b++) {
        if (ms <= buckets_ms[b])
            h->buckets[b]++;
    }
}

char *mdt_metrics_render(mdt_metrics_t *m, const mdt_metric_value_t *extra, size_t nextra,
                         const char *label, size_t *len)
{
    const char *sep = *label ? "," : ""; /* between label and the sample's own */
    mdt_buf_t tb;
    mdt_buf_init(&tb);
    mdt_buf_reserve(&tb, 8192);
    mdt_buf_printf(&tb,
                   "# HELP mdt_http_requests_total HTTP requests by route, method and status.\n"
                   "# TYPE mdt_http_requests_total counter\n");
    for (size_t i = 0; i < m->nseries; i++) {
        series_t *s = &m->series[i];
        mdt_buf_printf(&tb,
                       "mdt_http_requests_total{%s%sroute=\"%s\",method=\"%s\",status=\"%d\"} "
                       "%llu\n",
                       label, sep, s->route, s->method, s->status, s->count);
    }
    mdt_buf_printf(&tb, "# HELP mdt_http_request_duration_ms Request latency in milliseconds.\n"
                        "# TYPE mdt_http_request_duration_ms histogram\n");
    for (size_t i = 0; i < m->nhisto; i++) {
        histo_t *h = &m->histo[i];
        for (size_t b = 0; b < NBUCKETS; b++)
            mdt_buf_printf(&tb,
                           "mdt_http_request_duration_ms_bucket{%s%sroute=\"%s\",le=\"%g\"} %llu\n",
                           label, sep, h->route, buckets_ms[b], h->buckets[b]);
        mdt_buf_printf(&tb,
                       "mdt_http_request_duration_ms_bucket{%s%sroute=\"%s\",le=\"+Inf\"} %llu\n"
                       "mdt_http_request_duration_ms_sum{%s%sroute=\"%s\"} %.3f\n"
                       "mdt_http_request_duration_ms_count{%s%sroute=\"%s\"} %llu\n",
                       label, sep, h->route, h->count, label, sep, h->route, h->sum_ms, label, sep,
                       h->route, h->count);
    }
    for (size_t i = 0; i < nextra; i++)
        mdt_buf_printf(&tb, "# HELP %s %s\n# TYPE %s %s\n%s%s%s%s %.17g\n", extra[i].name,
                       extra[i].help, extra[i].name, extra[i].type, extra[i].name,
                       *label ? "{" : "", label, *label ? "}" : "", extra[i].value);
    return mdt_buf_take(&tb, len);
}
