-- 006: Idempotency-Key on the POSTs that create (server/idem.c). The table
-- of 002 was never written by any handler; it is replaced by one that also
-- keeps the request's fingerprint (SHA-256 hex of method, path and the
-- canonical JSON body), so that the same key with another body is told
-- apart (422). A row is written in the create's own transaction, only for
-- an answer that succeeded, and purged 24 h after it was written.

DROP TABLE idempotency;

CREATE TABLE idempotency (
    user_id bigint NOT NULL REFERENCES users (id),
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    route text NOT NULL,
    fingerprint text NOT NULL,
    status integer NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_created_at ON idempotency (created_at);
