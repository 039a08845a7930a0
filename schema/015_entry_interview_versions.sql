-- 015: interview facts are corrected like the text. An interview entry's
-- facts (date, interviewer, disclosure, recording reference) may be edited
-- by its author, and every version keeps the facts it had, so a correction
-- never erases what was recorded before. Versions written before this
-- migration get the facts of their entry (they could not be edited then).

ALTER TABLE entry_versions ADD COLUMN interview jsonb;

UPDATE entry_versions v SET interview = e.interview
FROM entries e
WHERE v.entry_id = e.id AND e.interview IS NOT NULL;
