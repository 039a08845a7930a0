-- 003: case boards: cases and their agencies, entries with versions,
-- action items with versions, protected details (PII) by category with
-- versions, consents, tracking data, services. Nothing is hard-deleted:
-- retraction sets retracted_at/retracted_by and keeps the record.

CREATE TABLE cases (
    id bigserial PRIMARY KEY,
    case_number text NOT NULL CHECK (length(case_number) BETWEEN 1 AND 64),
    alias text NOT NULL CHECK (length(alias) BETWEEN 1 AND 100),
    status text NOT NULL DEFAULT 'referred'
        CHECK (status IN ('referred', 'active', 'monitoring', 'closed')),
    municipality text CHECK (length(municipality) <= 100),
    referral_date date NOT NULL,
    lead_agency_id bigint NOT NULL REFERENCES agencies (id),
    related_case_ids bigint[] NOT NULL DEFAULT '{}',
    pii_owner_identity bigint NOT NULL REFERENCES agencies (id),
    pii_owner_contact bigint NOT NULL REFERENCES agencies (id),
    pii_owner_immigration bigint NOT NULL REFERENCES agencies (id),
    pii_owner_health bigint NOT NULL REFERENCES agencies (id),
    version integer NOT NULL DEFAULT 1,
    created_by bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX cases_number ON cases (lead_agency_id, lower(case_number));

CREATE TABLE case_agencies (
    case_id bigint NOT NULL REFERENCES cases (id),
    agency_id bigint NOT NULL REFERENCES agencies (id),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, agency_id)
);
CREATE INDEX case_agencies_agency ON case_agencies (agency_id, case_id);

CREATE TABLE entries (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    kind text NOT NULL CHECK (kind IN ('note', 'interview', 'decision', 'update')),
    author_id bigint NOT NULL REFERENCES users (id),
    agency_id bigint NOT NULL REFERENCES agencies (id),
    body_md text NOT NULL,
    body_html text NOT NULL,
    visibility text NOT NULL CHECK (visibility IN ('mdt', 'agencies', 'agency')),
    visible_to bigint[] NOT NULL DEFAULT '{}',
    interview jsonb,
    meeting_id bigint,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    edited_at timestamptz,
    retracted_at timestamptz,
    retracted_by bigint REFERENCES users (id)
);
CREATE INDEX entries_case ON entries (case_id, id);

-- Every version of every entry, the current one included (version 1 is
-- written at creation), so history never depends on the live row.
CREATE TABLE entry_versions (
    entry_id bigint NOT NULL REFERENCES entries (id),
    version integer NOT NULL,
    body_md text NOT NULL,
    body_html text NOT NULL,
    visibility text NOT NULL,
    visible_to bigint[] NOT NULL,
    edited_by bigint NOT NULL REFERENCES users (id),
    edited_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entry_id, version)
);

CREATE TABLE actions (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    details_md text NOT NULL DEFAULT '',
    details_html text NOT NULL DEFAULT '',
    assignee_id bigint REFERENCES users (id),
    assignee_agency_id bigint NOT NULL REFERENCES agencies (id),
    agency_id bigint NOT NULL REFERENCES agencies (id), -- the creator's agency (visibility)
    due_date date,
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
    visibility text NOT NULL DEFAULT 'mdt' CHECK (visibility IN ('mdt', 'agencies', 'agency')),
    visible_to bigint[] NOT NULL DEFAULT '{}',
    meeting_id bigint,
    version integer NOT NULL DEFAULT 1,
    created_by bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    retracted_at timestamptz,
    retracted_by bigint REFERENCES users (id)
);
CREATE INDEX actions_case ON actions (case_id, id);
CREATE INDEX actions_assignee ON actions (assignee_agency_id, status, due_date);

CREATE TABLE action_versions (
    action_id bigint NOT NULL REFERENCES actions (id),
    version integer NOT NULL,
    data jsonb NOT NULL, -- the action item as it was at that version
    edited_by bigint NOT NULL REFERENCES users (id),
    edited_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (action_id, version)
);

-- Protected details: one row per case and category (identity, contact,
-- immigration, health, and the unprotected language). Each write keeps the
-- previous data in pii_versions.
CREATE TABLE pii (
    case_id bigint NOT NULL REFERENCES cases (id),
    category text NOT NULL
        CHECK (category IN ('identity', 'contact', 'immigration', 'health', 'language')),
    data jsonb NOT NULL,
    updated_by bigint NOT NULL REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, category)
);
CREATE TABLE pii_versions (
    case_id bigint NOT NULL,
    category text NOT NULL,
    version integer NOT NULL, -- the case's pii version that wrote it
    data jsonb NOT NULL,
    updated_by bigint NOT NULL REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, category, version)
);
ALTER TABLE cases ADD COLUMN pii_version integer NOT NULL DEFAULT 0;

CREATE TABLE consents (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    agency_id bigint NOT NULL REFERENCES agencies (id), -- the recipient
    categories text[] NOT NULL,
    consented_by jsonb NOT NULL,
    purpose text NOT NULL,
    signed_on date NOT NULL,
    expires_at timestamptz NOT NULL,
    document_ref text,
    note text,
    granted_by bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    revoked_by bigint REFERENCES users (id)
);
CREATE INDEX consents_case ON consents (case_id);

CREATE TABLE tracking (
    case_id bigint PRIMARY KEY REFERENCES cases (id),
    data jsonb NOT NULL,
    version integer NOT NULL DEFAULT 1,
    updated_by bigint REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    agency_id bigint NOT NULL REFERENCES agencies (id),
    date date NOT NULL,
    category text NOT NULL CHECK (category IN ('information_referral', 'personal_advocacy',
        'emotional_support_safety', 'shelter_housing', 'criminal_civil_justice',
        'immigration_legal', 'medical', 'mental_health')),
    service text NOT NULL,
    minutes integer CHECK (minutes BETWEEN 0 AND 100000),
    note text,
    visibility text NOT NULL DEFAULT 'mdt' CHECK (visibility IN ('mdt', 'agencies', 'agency')),
    visible_to bigint[] NOT NULL DEFAULT '{}',
    created_by bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX services_case ON services (case_id, date);
