-- 002: agencies, users, sessions, the hash-chained audit log, and the two
-- functions every change uses: mdt_audit_append() and mdt_emit_event().

CREATE TABLE agencies (
    id bigserial PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind IN ('cac', 'child_welfare', 'law_enforcement', 'prosecution',
        'medical', 'mental_health', 'victim_advocacy', 'immigration_legal', 'other')),
    active boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agencies_name ON agencies (lower(name));

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    username text NOT NULL CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    agency_id bigint NOT NULL REFERENCES agencies (id),
    role text NOT NULL CHECK (role IN ('member', 'interviewer', 'supervisor', 'admin')),
    active boolean NOT NULL DEFAULT true,
    password_hash text NOT NULL,
    must_change_password boolean NOT NULL DEFAULT false,
    mfa_enabled boolean NOT NULL DEFAULT false,
    mfa_secret text,          -- base32 TOTP secret once enrolled
    mfa_pending_secret text,  -- during enrolment, until a code confirms it
    mfa_last_step bigint NOT NULL DEFAULT 0, -- the last TOTP step used: no code twice
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint REFERENCES users (id)
);
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE INDEX users_agency ON users (agency_id);

-- A user's agency never changes: make a new account instead.
CREATE FUNCTION users_agency_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.agency_id <> OLD.agency_id THEN
        RAISE EXCEPTION 'a user''s agency never changes' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_agency_fixed BEFORE UPDATE OF agency_id ON users
    FOR EACH ROW EXECUTE FUNCTION users_agency_fixed();

CREATE TABLE sessions (
    id_hash text PRIMARY KEY,       -- SHA-256 of the cookie token; the token is never stored
    user_id bigint NOT NULL REFERENCES users (id),
    csrf_token text NOT NULL,
    address text,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,  -- absolute lifetime
    revoked_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- The audit log: append-only and hash-chained. Each row's hash is
-- SHA-256(prev_hash || E'\n' || mdt_audit_canonical(row)); the chain head
-- lives in the ledger row, so appending is serialized by its row lock.
CREATE TABLE audit (
    id bigint PRIMARY KEY,
    at timestamptz NOT NULL,
    user_id bigint,
    username text,
    agency_id bigint,
    address text,
    action text NOT NULL,
    object_type text,
    object_id bigint,
    case_id bigint,
    outcome text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    prev_hash text NOT NULL,
    hash text NOT NULL
);
CREATE INDEX audit_case ON audit (case_id, id) WHERE case_id IS NOT NULL;
CREATE INDEX audit_user ON audit (user_id, id);
CREATE INDEX audit_agency_action ON audit (agency_id, action, id);

CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM PUBLIC;

-- The canonical text of a row that its hash covers (everything but the hashes).
CREATE FUNCTION mdt_audit_canonical(a audit) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_array(a.id,
        to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.user_id, a.username, a.agency_id, a.address, a.action, a.object_type,
        a.object_id, a.case_id, a.outcome, a.detail)::text
$$;

-- Appends rows given as a JSON array of objects with the audit columns
-- (at defaults to now()). Locks the ledger row until commit. Returns the
-- last id appended.
CREATE FUNCTION mdt_audit_append(rows jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    a audit;
    head_id bigint;
    head_hash text;
BEGIN
    SELECT audit_id, audit_hash INTO head_id, head_hash FROM ledger FOR UPDATE;
    FOR r IN SELECT * FROM jsonb_array_elements(rows) LOOP
        a := NULL;
        a.id := head_id + 1;
        a.at := coalesce((r->>'at')::timestamptz, now());
        a.user_id := (r->>'user_id')::bigint;
        a.username := r->>'username';
        a.agency_id := (r->>'agency_id')::bigint;
        a.address := r->>'address';
        a.action := r->>'action';
        a.object_type := r->>'object_type';
        a.object_id := (r->>'object_id')::bigint;
        a.case_id := (r->>'case_id')::bigint;
        a.outcome := coalesce(r->>'outcome', 'ok');
        a.detail := coalesce(r->'detail', '{}');
        a.prev_hash := head_hash;
        a.hash := encode(sha256(convert_to(head_hash || E'\n' || mdt_audit_canonical(a), 'UTF8')), 'hex');
        INSERT INTO audit VALUES (a.*);
        head_id := a.id;
        head_hash := a.hash;
    END LOOP;
    UPDATE ledger SET audit_id = head_id, audit_hash = head_hash;
    RETURN head_id;
END $$;

-- Writes an event with the next seq and notifies every node. Call it as
-- the last statement before COMMIT: the ledger row lock it takes is held
-- until then, which makes seq gapless and in commit order.
CREATE FUNCTION mdt_emit_event(p_case_id bigint, p_meeting_id bigint, p_kind text,
    p_object_type text, p_object_id bigint, p_actor_id bigint, p_data jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
BEGIN
    UPDATE ledger SET seq = seq + 1 RETURNING seq INTO s;
    INSERT INTO events (seq, case_id, meeting_id, kind, object_type, object_id, actor_id, data)
        VALUES (s, p_case_id, p_meeting_id, p_kind, p_object_type, p_object_id, p_actor_id,
                coalesce(p_data, '{}'));
    PERFORM pg_notify('mdt_events', s::text);
    RETURN s;
END $$;

-- Idempotency keys: a POST retried with the same key by the same user
-- within 24 h gets the first answer.
CREATE TABLE idempotency (
    user_id bigint NOT NULL,
    key text NOT NULL,
    route text NOT NULL,
    status integer NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
