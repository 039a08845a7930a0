-- 006: the audit chain keyed with HMAC-SHA-256 (docs/security.md).
--
-- From here on each audit row's hash is
--   HMAC-SHA-256(K, prev_hash || E'\n' || mdt_audit_canonical(row))
-- with K derived from the installation key file (server/keys.h), which the
-- database never holds: the server computes the hashes. Appending takes two
-- statements in one transaction: mdt_audit_prepare() locks the ledger row
-- and answers each new row's id and canonical text, the server computes the
-- chain, and mdt_audit_insert() stores the rows with those hashes.
--
-- Rows already written keep their plain SHA-256 hashes (the log is
-- append-only; nothing is rewritten). audit_chain.keyed_from is the first
-- keyed row; an installation that already had rows gets one last plain row,
-- action 'audit.keyed', recording the switch-over. The serving role may only
-- read audit_chain (007), so it cannot move the switch-over point.

CREATE TABLE audit_chain (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    keyed_from bigint NOT NULL
);

DO $$
DECLARE
    head bigint;
BEGIN
    SELECT audit_id INTO head FROM ledger;
    IF head > 0 THEN
        PERFORM mdt_audit_append(jsonb_build_array(jsonb_build_object(
            'username', 'migrate', 'address', 'local', 'action', 'audit.keyed',
            'detail', jsonb_build_object('keyed_from', head + 2))));
        head := head + 1;
    END IF;
    INSERT INTO audit_chain (keyed_from) VALUES (head + 1);
END $$;

-- Nobody appends unkeyed rows any more.
DROP FUNCTION mdt_audit_append(jsonb);

-- One row of the JSON that mdt_audit_prepare/insert take, as an audit row
-- with id p_id (at defaults to now(): the same in both calls of one
-- transaction). The hashes are left empty.
CREATE FUNCTION mdt_audit_compose(r jsonb, p_id bigint) RETURNS audit
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a audit;
BEGIN
    a.id := p_id;
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
    RETURN a;
END $$;

-- Locks the ledger row until commit and answers, for each element of rows
-- in order, the id it will get and its canonical text, with the chain head
-- (the ledger's audit_hash) the first of them follows.
CREATE FUNCTION mdt_audit_prepare(rows jsonb)
RETURNS TABLE (row_id bigint, row_canonical text, chain_head text)
LANGUAGE plpgsql AS $$
DECLARE
    head_id bigint;
    r record;
BEGIN
    SELECT l.audit_id, l.audit_hash INTO head_id, chain_head FROM ledger l FOR UPDATE;
    FOR r IN SELECT e.value FROM jsonb_array_elements(rows) WITH ORDINALITY e ORDER BY e.ordinality
    LOOP
        head_id := head_id + 1;
        row_id := head_id;
        row_canonical := mdt_audit_canonical(mdt_audit_compose(r.value, head_id));
        RETURN NEXT;
    END LOOP;
END $$;

-- Stores rows (the same JSON given to mdt_audit_prepare in this
-- transaction) with hashes (a JSON array of hex strings, one per row) and
-- moves the ledger's head. p_after is the head id prepare saw: anything
-- else means the lock was not held and nothing is stored.
CREATE FUNCTION mdt_audit_insert(rows jsonb, hashes jsonb, p_after bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    head_id bigint;
    head_hash text;
    r record;
    a audit;
BEGIN
    SELECT audit_id, audit_hash INTO head_id, head_hash FROM ledger FOR UPDATE;
    IF head_id <> p_after OR jsonb_array_length(rows) <> jsonb_array_length(hashes) THEN
        RAISE EXCEPTION 'audit chain head moved or hashes missing';
    END IF;
    FOR r IN SELECT e.value, e.ordinality FROM jsonb_array_elements(rows) WITH ORDINALITY e
             ORDER BY e.ordinality
    LOOP
        a := mdt_audit_compose(r.value, head_id + 1);
        a.prev_hash := head_hash;
        a.hash := hashes->>(r.ordinality::int - 1);
        IF a.hash !~ '^[0-9a-f]{64}$' THEN
            RAISE EXCEPTION 'not an audit hash';
        END IF;
        INSERT INTO audit VALUES (a.*);
        head_id := a.id;
        head_hash := a.hash;
    END LOOP;
    UPDATE ledger SET audit_id = head_id, audit_hash = head_hash;
    RETURN head_id;
END $$;
