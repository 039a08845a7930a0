-- 016: encryption at rest (docs/security.md "Encryption at rest").
--
-- Free text and protected details are stored sealed (AES-256-GCM, see
-- server/seal.h): "mdtenc1:" and base64, in the same columns as before.
-- Each case has its own data key, and the installation one (owner 0, for
-- TOTP secrets); data_keys holds them wrapped under the key-encryption key
-- derived from the key file, which never reaches the database. kek_check
-- holds one value wrapped under the KEK, so a server given the wrong key
-- file refuses to start. Deleting a case's data key (retention) makes its
-- sealed values unreadable everywhere, backups included once they expire.

CREATE TABLE data_keys (
    owner bigint PRIMARY KEY,           -- a case id, or 0: the installation
    kek_id text NOT NULL,               -- the key file's id that wrapped it
    wrapped bytea NOT NULL,             -- nonce || sealed key || tag
    created_at timestamptz NOT NULL DEFAULT now(),
    rewrapped_at timestamptz
);

CREATE TABLE kek_check (
    id integer PRIMARY KEY CHECK (id = 1),
    kek_id text NOT NULL,
    check_value bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A sealed title is longer than the title: the server checks the length of
-- what was typed (1-300 characters) before sealing it.
ALTER TABLE actions DROP CONSTRAINT IF EXISTS actions_title_check;
-- The same for a correction's reason (1-500 characters, checked as typed).
ALTER TABLE meeting_minutes_corrections DROP CONSTRAINT IF EXISTS meeting_minutes_corrections_reason_check;
