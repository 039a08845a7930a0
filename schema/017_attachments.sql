-- 017: attachments (docs/attachments.md).
--
-- A file on a case: its metadata in attachments, its bytes in
-- attachment_chunks, each chunk sealed (AES-256-GCM under the case's data
-- key, associated data naming the attachment, the chunk's index and the
-- case: server/seal.h). The file name is sealed too; the detected type,
-- the size and the SHA-256 of the plain file stay clear (they are not
-- content, and the SHA-256 is shown to users to check a download).
-- Visibility is an entry's: mdt, agencies (visible_to), agency. A retracted
-- attachment keeps its row and chunks (who, when, why); only its author's
-- agency may still download it.

CREATE TABLE attachments (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    agency_id bigint NOT NULL REFERENCES agencies (id),
    author_id bigint NOT NULL REFERENCES users (id),
    filename text NOT NULL,               -- sealed
    content_type text NOT NULL CHECK (content_type IN (
        'application/pdf', 'image/png', 'image/jpeg', 'text/plain',
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        'application/vnd.openxmlformats-officedocument.presentationml.presentation')),
    size bigint NOT NULL CHECK (size > 0),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    chunks integer NOT NULL CHECK (chunks > 0),
    visibility text NOT NULL CHECK (visibility IN ('mdt', 'agencies', 'agency')),
    visible_to bigint[] NOT NULL DEFAULT '{}',
    entry_id bigint REFERENCES entries (id),
    consent_id bigint REFERENCES consents (id),
    meeting_id bigint REFERENCES meetings (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    retracted_at timestamptz,
    retracted_by bigint REFERENCES users (id),
    retract_reason text                   -- sealed
);
CREATE INDEX attachments_case ON attachments (case_id, id);

CREATE TABLE attachment_chunks (
    attachment_id bigint NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    index integer NOT NULL CHECK (index >= 0),
    data text NOT NULL,                   -- sealed: "mdtenc1:" base64(nonce ct tag)
    PRIMARY KEY (attachment_id, index)
);
