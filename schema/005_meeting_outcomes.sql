-- 005: meetings keep everything a user wrote. Every version of an agenda
-- case's outcome is a row of meeting_outcome_versions (the current one
-- included, version 1 at the first write), and a case taken off an agenda
-- is marked removed (removed_at/removed_by) instead of deleted, so its
-- outcome stays and comes back if the case is put back. Action items and
-- entries that name a meeting must name one that exists (checked for new
-- rows; rows written before meetings existed are left as they are).

ALTER TABLE meeting_cases
    ADD COLUMN outcome_version integer NOT NULL DEFAULT 0,
    ADD COLUMN added_by bigint REFERENCES users (id),
    ADD COLUMN added_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN removed_by bigint REFERENCES users (id),
    ADD COLUMN removed_at timestamptz;

CREATE TABLE meeting_outcome_versions (
    meeting_id bigint NOT NULL,
    case_id bigint NOT NULL,
    version integer NOT NULL,
    outcome_md text NOT NULL,
    outcome_html text NOT NULL,
    edited_by bigint NOT NULL REFERENCES users (id),
    edited_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, case_id, version),
    FOREIGN KEY (meeting_id, case_id) REFERENCES meeting_cases (meeting_id, case_id)
);

CREATE INDEX meetings_agency ON meetings (agency_id, scheduled_at);
CREATE INDEX meeting_attendance_agency ON meeting_attendance (agency_id, meeting_id);
CREATE INDEX actions_meeting ON actions (meeting_id) WHERE meeting_id IS NOT NULL;

ALTER TABLE actions ADD CONSTRAINT actions_meeting_fk
    FOREIGN KEY (meeting_id) REFERENCES meetings (id) NOT VALID;
ALTER TABLE entries ADD CONSTRAINT entries_meeting_fk
    FOREIGN KEY (meeting_id) REFERENCES meetings (id) NOT VALID;
