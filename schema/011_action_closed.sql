-- 011: who closed an action item and when (docs/api.md, "Action items").
--
-- closed_at / closed_by are set when an item's status becomes done or
-- cancelled (kept when it moves between the two) and cleared when it is
-- reopened (open, in_progress). completed_at (done only) stays as it was.
-- Items already closed get the time and editor of the version that closed
-- them last, as action_versions recorded it.

ALTER TABLE actions
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN closed_by bigint REFERENCES users (id);

UPDATE actions a SET closed_at = v.edited_at, closed_by = v.edited_by
FROM (
    SELECT DISTINCT ON (x.action_id) x.action_id, x.edited_at, x.edited_by
    FROM action_versions x JOIN actions y ON y.id = x.action_id
    WHERE y.status IN ('done', 'cancelled')
      AND x.version > coalesce((SELECT max(z.version) FROM action_versions z
                                WHERE z.action_id = x.action_id
                                  AND z.data ->> 'status' IN ('open', 'in_progress')), 0)
    ORDER BY x.action_id, x.version
) v
WHERE v.action_id = a.id;

ALTER TABLE actions ADD CONSTRAINT actions_closed_only_when_closed
    CHECK (closed_at IS NULL OR status IN ('done', 'cancelled'));
