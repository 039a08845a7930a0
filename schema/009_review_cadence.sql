-- 009: the review cadence of a case and its review dates (docs/cases.md,
-- docs/meetings.md).
--
-- cases.review_every_weeks: review the case every N weeks (1-52), NULL =
-- no cadence. meeting_cases.reasons: why a case is on an agenda (a subset
-- of carried_over, overdue_actions, review_due, not_reviewed; '{}' for a
-- case added by hand), kept per agenda row.
--
-- mdt_case_review(case, time zone) is the ONE definition of a case's
-- review dates, used by the case list, the board, the default agenda and
-- the agenda suggestions:
--   last_reviewed: the day (in the zone) started_at of the latest meeting
--     that was held (in_progress or ended) in which the case, while on the
--     agenda (not removed), got a non-empty outcome;
--   next_review: the day scheduled_at of the earliest planned meeting with
--     the case on its agenda (not removed);
--   review_due: NULL without a cadence or for a closed case, else
--     last_reviewed (never reviewed: referral_date) + 7 x N days.

ALTER TABLE cases
    ADD COLUMN review_every_weeks integer CHECK (review_every_weeks BETWEEN 1 AND 52);

ALTER TABLE meeting_cases
    ADD COLUMN reasons text[] NOT NULL DEFAULT '{}' CHECK (reasons <@ ARRAY['carried_over',
        'overdue_actions', 'review_due', 'not_reviewed']::text[]);

-- Each meeting is looked up by its key from the case's agenda rows (a
-- scalar subquery, never flattened into a join): one index probe per row,
-- where a join chose a scan of all meetings per case (10x slower for the
-- agenda candidates over 5,000 cases, docs/meetings.md).
CREATE FUNCTION mdt_case_review(p_case_id bigint, p_time_zone text)
    RETURNS TABLE (last_reviewed date, next_review date, review_due date)
    LANGUAGE sql STABLE AS $$
    SELECT l.day, n.day,
           CASE WHEN c.review_every_weeks IS NULL OR c.status = 'closed' THEN NULL
                ELSE coalesce(l.day, c.referral_date) + 7 * c.review_every_weeks END
    FROM cases c,
         LATERAL (SELECT max((SELECT (m.started_at AT TIME ZONE p_time_zone)::date
                              FROM meetings m WHERE m.id = mc.meeting_id
                              AND m.status IN ('in_progress', 'ended'))) AS day
                  FROM meeting_cases mc
                  WHERE mc.case_id = c.id AND mc.removed_at IS NULL
                  AND coalesce(mc.outcome_md, '') <> '') l,
         LATERAL (SELECT min((SELECT (m.scheduled_at AT TIME ZONE p_time_zone)::date
                              FROM meetings m WHERE m.id = mc.meeting_id
                              AND m.status = 'planned')) AS day
                  FROM meeting_cases mc
                  WHERE mc.case_id = c.id AND mc.removed_at IS NULL) n
    WHERE c.id = p_case_id
$$;
