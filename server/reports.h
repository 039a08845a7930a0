/* reports.h - the NCA (accreditation) and TIMS (trafficking grant) reports:
 * GET /api/v1/reports/nca and /api/v1/reports/tims?from=YYYY-MM&to=YYYY-MM
 * &format=json|csv, for supervisors, over the cases the caller's agency is
 * on. Counted in SQL from cases, tracking, services, action items and
 * meeting outcomes; foreign_born and unaccompanied_minor from the sealed
 * immigration category of the cases whose category the caller may see now
 * (no other protected detail is read), with small-cell
 * suppression. The figures and the suppression rule: docs/reports.md. */
#ifndef MDT_REPORTS_H
#define MDT_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

void mdt_reports_nca(mdt_req_t *req);
void mdt_reports_tims(mdt_req_t *req);

#define MDT_REPORTS_SUPPRESS_DEFAULT 5

/* Small-cell suppression of one group of n counts (pure). hide[i] is set
 * to 1 for every cell to show as suppressed, 0 otherwise; returns how many.
 *
 * Primary: every count from 1 to below - 1. Complementary: while the
 * hidden cells could be recovered from the group's total (which stays
 * published) and the shown cells - exactly one hidden cell, or hidden
 * cells, all from 1 to below - 1, whose sum forces each to the same end of
 * that range (all 1, or all below - 1) - also hide the smallest shown
 * non-zero cell (the lowest index among equals), or, when none is left,
 * the smallest shown zero cell.
 * complement 0: primary suppression only (for groups whose cells do not
 * add up to a published total, or whose total is itself suppressed).
 * below < 2 hides nothing. */
size_t mdt_reports_suppress(const int64_t *counts, size_t n, int64_t below, int complement,
                            unsigned char *hide);

/* "YYYY-MM" (year 1900-9999, month 01-12) into *months = year * 12 +
 * month - 1. 0, or -1 when malformed. */
int mdt_reports_parse_month(const char *s, int *months);

/* MDT_SUPPRESS_BELOW as a threshold: an integer from 2 to 1000, else the
 * default (a malformed value never weakens suppression below it). */
int64_t mdt_reports_threshold(const char *env_value);

#endif
