-- 019: a change's audit rows and its event in one statement (issue 17,
-- docs/performance.md "The create path").
--
-- Every change takes the ledger row lock in mdt_audit_prepare() and holds
-- it to COMMIT, so changes are serial across the installation and their
-- rate is 1 / (the time the lock is held). Before this migration the lock
-- was held through four round trips (prepare, mdt_audit_insert,
-- mdt_emit_event, COMMIT); mdt_audit_insert_emit() stores the keyed rows
-- and emits the event in one, so the lock spans prepare, this statement
-- and COMMIT. The audit key still never reaches the database: the server
-- computes the hashes between the two statements, as before.

-- Stores rows with hashes and moves the chain head (mdt_audit_insert: the
-- same checks), then, when ev is not NULL, emits the event it describes
-- under the same ledger lock: a JSON object with kind, object_type and
-- the optional case_id, meeting_id, user_id (a user's stream, schema/012),
-- object_id, actor_id and data. Returns the event's seq, 0 without one.
CREATE FUNCTION mdt_audit_insert_emit(rows jsonb, hashes jsonb, p_after bigint, ev jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mdt_audit_insert(rows, hashes, p_after);
    IF ev IS NULL THEN
        RETURN 0;
    END IF;
    IF ev ? 'user_id' THEN
        RETURN mdt_emit_user_event((ev->>'user_id')::bigint, ev->>'kind', ev->>'object_type',
            (ev->>'object_id')::bigint, (ev->>'actor_id')::bigint, ev->'data');
    END IF;
    RETURN mdt_emit_event((ev->>'case_id')::bigint, (ev->>'meeting_id')::bigint, ev->>'kind',
        ev->>'object_type', (ev->>'object_id')::bigint, (ev->>'actor_id')::bigint, ev->'data');
END $$;
