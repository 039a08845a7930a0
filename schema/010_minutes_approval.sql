-- 010: minutes approval and corrections (docs/meetings.md, "Minutes
-- approval"). The facilitator approves the minutes of an ended meeting
-- once: minutes_version becomes 1 and who and when are kept. After that
-- the minutes are immutable: an outcome written then is a correction, one
-- minutes version more (meeting_minutes_corrections: who, when, why), and
-- every outcome version names the minutes version it belongs to (0: written
-- while the minutes were a draft), so the minutes as they were at any
-- version can be shown again.

ALTER TABLE meetings
    ADD COLUMN minutes_version integer NOT NULL DEFAULT 0 CHECK (minutes_version >= 0),
    ADD COLUMN minutes_approved_by bigint REFERENCES users (id),
    ADD COLUMN minutes_approved_at timestamptz,
    ADD CONSTRAINT meetings_minutes_approved CHECK (
        (minutes_version = 0) = (minutes_approved_by IS NULL AND minutes_approved_at IS NULL));

ALTER TABLE meeting_outcome_versions
    ADD COLUMN minutes_version integer NOT NULL DEFAULT 0;

CREATE TABLE meeting_minutes_corrections (
    meeting_id bigint NOT NULL REFERENCES meetings (id),
    version integer NOT NULL CHECK (version >= 2), -- the minutes version it made
    case_id bigint NOT NULL,
    outcome_version integer NOT NULL,
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    corrected_by bigint NOT NULL REFERENCES users (id),
    corrected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, version),
    FOREIGN KEY (meeting_id, case_id, outcome_version)
        REFERENCES meeting_outcome_versions (meeting_id, case_id, version)
);

CREATE INDEX entries_meeting ON entries (meeting_id) WHERE meeting_id IS NOT NULL;
