-- 001: the foundation: the event log and its one-row ledger.
--
-- seq comes from the one-row ledger (UPDATE ledger SET seq = seq + 1
-- RETURNING seq, taken as the last statement before COMMIT): the row lock
-- serializes writers through their commit, so seq is gapless and in commit
-- order. A bigserial is neither. The ledger also holds the head of the audit
-- hash chain, so the chain is extended under the same lock.

CREATE TABLE ledger (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq bigint NOT NULL DEFAULT 0,
    audit_id bigint NOT NULL DEFAULT 0,
    audit_hash text NOT NULL DEFAULT repeat('0', 64)
);
INSERT INTO ledger DEFAULT VALUES;

CREATE TABLE events (
    seq bigint PRIMARY KEY,
    case_id bigint,
    meeting_id bigint,
    kind text NOT NULL,
    object_type text,
    object_id bigint,
    actor_id bigint,
    data jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_case_seq ON events (case_id, seq) WHERE case_id IS NOT NULL;
CREATE INDEX events_meeting_seq ON events (meeting_id, seq) WHERE meeting_id IS NOT NULL;
