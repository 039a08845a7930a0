-- 013: content-free notifications outside the app (docs/api.md
-- "Email digest" and "Calendar feed"; docs/operations.md "Email").
--
-- notification_settings: a user's digest address and period (no row: off).
-- job_claims: one row per (job, day) a node of the cluster ran; the
-- scheduled digest claims ('digest', local day) with INSERT ... ON CONFLICT
-- DO NOTHING, so the day's run happens once per cluster.
-- digest_outbox: one row per (user, day) the run must mail; a node takes a
-- row by setting attempt_at (rows taken less than 5 minutes ago are left
-- alone), sets sent_at once the SMTP server accepted it, and a failed send
-- is taken again on a later run (at most 5 attempts, the same or next day).
-- calendar_tokens: the SHA-256 of a user's one calendar feed token; a new
-- token replaces it, and a password change (by the user or an
-- administrator, whatever path) deletes it (trigger below).

CREATE TABLE notification_settings (
    user_id bigint PRIMARY KEY REFERENCES users (id),
    email text CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254),
    digest text NOT NULL DEFAULT 'off' CHECK (digest IN ('off', 'daily', 'weekly')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (digest = 'off' OR email IS NOT NULL)
);

CREATE TABLE job_claims (
    job text NOT NULL,
    day date NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, day)
);

CREATE TABLE digest_outbox (
    user_id bigint NOT NULL REFERENCES users (id),
    day date NOT NULL,
    period text NOT NULL CHECK (period IN ('daily', 'weekly')),
    attempts integer NOT NULL DEFAULT 0,
    attempt_at timestamptz,
    sent_at timestamptz,
    PRIMARY KEY (user_id, day)
);
CREATE INDEX digest_outbox_pending ON digest_outbox (day) WHERE sent_at IS NULL;

CREATE TABLE calendar_tokens (
    user_id bigint PRIMARY KEY REFERENCES users (id),
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION calendar_tokens_revoke() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM calendar_tokens WHERE user_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER calendar_tokens_revoke AFTER UPDATE OF password_hash ON users
    FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION calendar_tokens_revoke();
