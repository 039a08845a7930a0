-- create_entry.sql - the SQL transaction MDT Board runs for one
-- POST /api/v1/cases/{id}/entries (a note, visibility mdt), for pgbench:
-- taken from the PostgreSQL log (log_statement=all) of a create against the
-- server and from server/entries.c, statement for statement, in order
-- (last taken at schema 019: 10 round trips, BEGIN and COMMIT included).
-- What the server does outside the database (Markdown rendering, sealing
-- the bodies, the audit row's HMAC) is not here: the sealed bodies are
-- literals of the same length, and the audit hash is computed by SQL.
-- The first create of a case also stores its data key (INSERT INTO
-- data_keys): once per case, left out. Since schema 019 the audit row and
-- the event are one statement (mdt_audit_insert_emit) and the mention scan
-- reads no row (the server parses the body it has; a body without mentions
-- sends nothing): the ledger row is locked by mdt_audit_prepare and held
-- through one more statement and COMMIT. The server sends that statement
-- and COMMIT in one pipeline (mdt_db_defer): 9 round trips to this
-- script's 10, since pgbench pipelines only in extended mode and these
-- \gset values are spliced into JSON literals (docs/performance.md, "The
-- create path"). Run by tests/bench/lib/pgbench.mjs:
--   pgbench -n -M simple -f create_entry.sql -D case_id=C -D user_id=U -D agency_id=A
BEGIN;
SELECT lead_agency_id, pii_owner_identity, pii_owner_contact, pii_owner_immigration, pii_owner_health, version, (SELECT array_agg(agency_id ORDER BY agency_id) FROM case_agencies WHERE case_id = :case_id), purged_at IS NOT NULL FROM cases WHERE id = :case_id;
SELECT agency_id, categories::text, extract(epoch FROM expires_at)::bigint FROM consents WHERE case_id = :case_id AND revoked_at IS NULL AND expires_at > now() ORDER BY expires_at LIMIT 256;
SELECT nextval('entries_id_seq'::regclass) AS eid \gset
SELECT kek_id, encode(wrapped, 'hex'), coalesce(xmin = xid(pg_current_xact_id_if_assigned()), false) FROM data_keys WHERE owner = :case_id;
WITH e AS (INSERT INTO entries (id, case_id, kind, author_id, agency_id, body_md, body_html, visibility, visible_to, interview, meeting_id) VALUES (:eid, :case_id, 'note', :user_id, :agency_id, 'mdtenc1:YsqKs33HUkqhCxve8iM48WgIpL63dATAPE7v+rP+kM9Dp7zbGSqWOqb77Heo5VkOB5K5laUYsqKs33HUkqhCxve8iM48WgIpL63dATAPE7v+rP+kM9Dp7zbGSqWOqb77Heo5VkOB5K5laUYsqKs33HUkqhCxve8iM48WgIpL63dATAPE7v+rP+kM9Dp7zbGSqW', 'mdtenc1:l2Ng8YhHhuAYPM75Yn/kdpLxjlWS22e0qmeXu8i3XnDpTCQSAO3jdw5vMkmcrW053PCAjKQWJ3iXM9YhlsYKggHHp9cWJEMIjyQl2Ng8YhHhuAYPM75Yn/kdpLxjlWS22e0qmeXu8i3XnDpTCQSAO3jdw5vMkmcrW053PCAjKQWJ3iXM9YhlsYKggHHp9cWJEMIjyQl2Ng8YhHhuAYPM75Yn/kdpLxjlWS22e0qmeXu8i3XnDpTCQSAO3jdw5vMkmcrW053PCAjKQWJ3iXM9Yhls', 'mdt', '{}'::bigint[], NULL::jsonb, NULL) RETURNING *) INSERT INTO entry_versions (entry_id, version, body_md, body_html, visibility, visible_to, interview, edited_by, edited_at) SELECT id, version, body_md, body_html, visibility, visible_to, interview, author_id, created_at FROM e RETURNING entry_id;
SELECT e.id, e.case_id, e.kind, e.author_id, e.agency_id, e.body_md, e.body_html, e.visibility, e.visible_to::text, e.interview::text, e.version, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), to_char(e.edited_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), to_char(e.retracted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), e.retracted_by, u.display_name, e.meeting_id FROM entries e JOIN users u ON u.id = e.author_id WHERE e.case_id = :case_id AND (:eid::bigint = 0 OR e.id = :eid) ORDER BY e.id;
SELECT row_id - 1 AS after, encode(sha256(convert_to(chain_head || row_canonical, 'UTF8')), 'hex') AS hash FROM mdt_audit_prepare('[{"action": "entry.create", "detail": {"kind": "note", "visibility": "mdt"}, "address": "127.0.0.1", "case_id": :case_id, "outcome": "ok", "user_id": :user_id, "username": "pgbench", "agency_id": :agency_id, "object_id": :eid, "object_type": "entry"}]'::jsonb) \gset
SELECT mdt_audit_insert_emit('[{"action": "entry.create", "detail": {"kind": "note", "visibility": "mdt"}, "address": "127.0.0.1", "case_id": :case_id, "outcome": "ok", "user_id": :user_id, "username": "pgbench", "agency_id": :agency_id, "object_id": :eid, "object_type": "entry"}]'::jsonb, '[":hash"]'::jsonb, :after, '{"data": {"id": :eid, "object_type": "entry"}, "kind": "entry.created", "case_id": :case_id, "actor_id": :user_id, "object_id": :eid, "object_type": "entry"}'::jsonb);
COMMIT;
