-- 018: retention by crypto-shredding, legal holds, tombstones
-- (docs/retention.md).
--
-- closed_at: when the case was last closed. A trigger keeps it: set when
-- the status becomes 'closed', cleared when it leaves 'closed', kept while
-- it stays closed. Cases already closed get their last update time (the
-- best date an older installation has). `mdtboard retention run` purges
-- closed cases whose closed_at + MDT_RETENTION has passed.
--
-- legal_hold: set and cleared by a supervisor of the lead agency
-- (PATCH /cases/{id}); who and when are kept on the row (and in the audit
-- trail). No free-text reason is stored: a hold's reason names a court
-- matter, which is identifying; it belongs in a (sealed) entry.
--
-- purged_at: the case is a tombstone. Its content and its data key are
-- gone; the row keeps its id, case number, dates, lead agency and
-- membership (who may read the tombstone), with an empty alias and no
-- municipality. Audit rows and events (ids and kinds only) stay.

ALTER TABLE cases
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN legal_hold boolean NOT NULL DEFAULT false,
    ADD COLUMN legal_hold_set_by bigint REFERENCES users (id),
    ADD COLUMN legal_hold_set_at timestamptz,
    ADD COLUMN purged_at timestamptz,
    ADD CONSTRAINT cases_legal_hold_who CHECK (
        legal_hold = (legal_hold_set_by IS NOT NULL AND legal_hold_set_at IS NOT NULL)),
    ADD CONSTRAINT cases_purged_closed CHECK (purged_at IS NULL OR status = 'closed');

-- A tombstone's alias is empty; a live case's is 1-100 characters.
ALTER TABLE cases DROP CONSTRAINT IF EXISTS cases_alias_check;
ALTER TABLE cases ADD CONSTRAINT cases_alias_check CHECK (
    length(alias) <= 100 AND (purged_at IS NOT NULL OR length(alias) >= 1));

UPDATE cases SET closed_at = updated_at WHERE status = 'closed';

CREATE FUNCTION cases_closed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'closed' THEN
        NEW.closed_at := NULL;
    ELSIF TG_OP = 'INSERT' OR OLD.status <> 'closed' THEN
        NEW.closed_at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cases_closed_at BEFORE INSERT OR UPDATE OF status ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_closed_at();

CREATE INDEX cases_retention ON cases (closed_at) WHERE status = 'closed' AND purged_at IS NULL;

-- The tables (other than the ones a tombstone keeps: audit, events,
-- case_agencies) that still hold a row of case p_case: a purge checks it
-- is empty before it commits, so a table added later without being added
-- to the purge stops the purge instead of being left behind.
CREATE FUNCTION mdt_case_rows_left(p_case bigint) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t text;
    found boolean;
    left_ text[] := '{}';
BEGIN
    FOR t IN SELECT c.table_name FROM information_schema.columns c
             JOIN information_schema.tables s
               ON s.table_schema = c.table_schema AND s.table_name = c.table_name
             WHERE c.table_schema = 'public' AND c.column_name = 'case_id'
               AND s.table_type = 'BASE TABLE'
               AND c.table_name NOT IN ('audit', 'events', 'case_agencies')
             ORDER BY c.table_name LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE case_id = $1)', t)
            INTO found USING p_case;
        IF found THEN
            left_ := left_ || t;
        END IF;
    END LOOP;
    RETURN left_;
END $$;
