-- 007: what the serving role may do (docs/operations.md).
--
-- Two database roles run an installation: the owner, which runs
-- `mdtboard migrate` and owns every table, and the serving login role that
-- `mdtboard serve` connects as. The serving role gets its rights only
-- through the NOLOGIN group role mdtboard_app, to which mdt_grant_serving()
-- grants: SELECT, INSERT, UPDATE, DELETE on every table, except the audit
-- log (SELECT and INSERT only) and the tables only migrations write
-- (audit_chain, schema_migrations: SELECT). Never TRUNCATE, never
-- ownership, so it can neither rewrite the log nor disable its triggers.
-- `mdtboard migrate` calls mdt_grant_serving() after every run, so new
-- tables get these grants without each migration repeating them; a
-- migration that adds another append-only or migration-only table
-- replaces the function with that table in its lists.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mdtboard_app') THEN
        CREATE ROLE mdtboard_app NOLOGIN;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'the group role mdtboard_app does not exist and this role may not '
            'create it: CREATE ROLE mdtboard_app NOLOGIN as a superuser first (scripts/pg.sh '
            'does), then GRANT mdtboard_app TO the serving role';
END $$;

CREATE FUNCTION mdt_grant_serving() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('REVOKE ALL ON %I FROM mdtboard_app', t);
        IF t IN ('audit') THEN
            EXECUTE format('GRANT SELECT, INSERT ON %I TO mdtboard_app', t);
        ELSIF t IN ('audit_chain', 'schema_migrations') THEN
            EXECUTE format('GRANT SELECT ON %I TO mdtboard_app', t);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO mdtboard_app', t);
        END IF;
    END LOOP;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO mdtboard_app;
    GRANT USAGE ON SCHEMA public TO mdtboard_app;
END $$;
