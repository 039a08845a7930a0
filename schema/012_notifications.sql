-- 012: notifications inside the app (server/notify*.c, docs/api.md
-- "Notifications").
--
-- A notification is one row per recipient that stores ids only (kind,
-- case, object type and id, the actor): its text is rendered for the
-- reader at read time through the authorization predicate, so a
-- notification about something the reader can no longer see carries no
-- content. dedupe_key is unique per user: the daily job (due soon,
-- overdue, consents expiring) and every other source insert with
-- ON CONFLICT DO NOTHING, so nothing is ever notified twice.
--
-- Each new notification and each change of read state is an event in the
-- one log with user_id set (and no case, no meeting): the per-user
-- WebSocket stream replays and streams them with the same gapless seq as
-- the case events. mdt_notify() inserts and emits in one call.
--
-- daily_jobs claims a (job, day) for the whole node cluster: the first
-- node to insert the row runs the job in that transaction; every other
-- node's insert finds the row (ON CONFLICT DO NOTHING) and does nothing.

ALTER TABLE events ADD COLUMN user_id bigint;
CREATE INDEX events_user_seq ON events (user_id, seq) WHERE user_id IS NOT NULL;

CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    kind text NOT NULL CHECK (kind IN ('action.assigned', 'action.due_soon', 'action.overdue',
        'entry.mention', 'meeting.agenda', 'consent.expiring')),
    case_id bigint REFERENCES cases (id),
    object_type text NOT NULL,
    object_id bigint NOT NULL,
    actor_id bigint REFERENCES users (id),
    dedupe_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz
);
CREATE UNIQUE INDEX notifications_dedupe ON notifications (user_id, dedupe_key);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE daily_jobs (
    job text NOT NULL,
    day date NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now(),
    notified integer NOT NULL DEFAULT 0,
    PRIMARY KEY (job, day)
);

-- An event for one user's stream (no case, no meeting).
CREATE FUNCTION mdt_emit_user_event(p_user_id bigint, p_kind text, p_object_type text,
    p_object_id bigint, p_actor_id bigint, p_data jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
BEGIN
    UPDATE ledger SET seq = seq + 1 RETURNING seq INTO s;
    INSERT INTO events (seq, user_id, kind, object_type, object_id, actor_id, data)
        VALUES (s, p_user_id, p_kind, p_object_type, p_object_id, p_actor_id,
                coalesce(p_data, '{}'));
    PERFORM pg_notify('mdt_events', s::text);
    RETURN s;
END $$;

-- Notifies p_user once per p_key: the new notification's id, or NULL when
-- that user already had one with this key. Emits notification.created.
CREATE FUNCTION mdt_notify(p_user bigint, p_kind text, p_case bigint, p_object_type text,
    p_object_id bigint, p_actor bigint, p_key text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    nid bigint;
BEGIN
    INSERT INTO notifications (user_id, kind, case_id, object_type, object_id, actor_id,
            dedupe_key)
        VALUES (p_user, p_kind, p_case, p_object_type, p_object_id, p_actor, p_key)
        ON CONFLICT (user_id, dedupe_key) DO NOTHING
        RETURNING id INTO nid;
    IF nid IS NOT NULL THEN
        PERFORM mdt_emit_user_event(p_user, 'notification.created', 'notification', nid,
            p_actor, jsonb_build_object('id', nid));
    END IF;
    RETURN nid;
END $$;
