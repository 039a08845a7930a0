-- 004: weekly case-review meetings: the agenda (ordered cases, each with
-- an outcome), attendance, and the facilitator's "now discussing" pointer.
-- A case counts as reviewed on the date of a meeting that recorded its
-- outcome.

CREATE TABLE meetings (
    id bigserial PRIMARY KEY,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    scheduled_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'in_progress', 'ended')),
    facilitator_id bigint NOT NULL REFERENCES users (id),
    agency_id bigint NOT NULL REFERENCES agencies (id), -- the creating supervisor's agency
    current_position integer,
    version integer NOT NULL DEFAULT 1,
    created_by bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    ended_at timestamptz
);
CREATE INDEX meetings_scheduled ON meetings (scheduled_at);

CREATE TABLE meeting_cases (
    meeting_id bigint NOT NULL REFERENCES meetings (id),
    case_id bigint NOT NULL REFERENCES cases (id),
    position integer NOT NULL,
    outcome_md text,
    outcome_html text,
    outcome_by bigint REFERENCES users (id),
    outcome_at timestamptz,
    PRIMARY KEY (meeting_id, case_id)
);
CREATE INDEX meeting_cases_case ON meeting_cases (case_id);

CREATE TABLE meeting_attendance (
    meeting_id bigint NOT NULL REFERENCES meetings (id),
    user_id bigint NOT NULL REFERENCES users (id),
    agency_id bigint NOT NULL REFERENCES agencies (id),
    marked_by bigint NOT NULL REFERENCES users (id),
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, user_id)
);
