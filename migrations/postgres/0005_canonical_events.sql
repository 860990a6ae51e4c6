-- Format 2 (PostgreSQL): events in their canonical binary encoding
-- (proto/verifyidentity/audit/v1/event.proto). Same 特定個人情報 rules as 0001.
--
-- A format 2 row keeps in columns only what queries look up (chain position, kind, time,
-- insurer, verification, decision) and the rest of the event in `body`; its link to the
-- previous event is covered by its hash and not stored again (`prev_hash` is NULL). Rows
-- written before (format 1) keep every column as they were written and verify as before:
-- the columns only they use become nullable. Hashes become bytes: the hex text of format 1
-- rows is decoded, which loses nothing (it was lowercase hex of the same 32 bytes).
ALTER TABLE audit_events
    ADD COLUMN format INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN body BYTEA,
    ALTER COLUMN caller DROP NOT NULL,
    ALTER COLUMN subject_id DROP NOT NULL,
    ALTER COLUMN subject_kind DROP NOT NULL,
    ALTER COLUMN request_id DROP NOT NULL,
    ALTER COLUMN policy_version DROP NOT NULL,
    ALTER COLUMN comparisons DROP NOT NULL,
    ALTER COLUMN hold_reasons DROP NOT NULL,
    ALTER COLUMN response DROP NOT NULL,
    ALTER COLUMN prev_hash DROP NOT NULL,
    ALTER COLUMN prev_hash TYPE BYTEA USING decode(prev_hash, 'hex'),
    ALTER COLUMN hash TYPE BYTEA USING decode(hash, 'hex');
ALTER TABLE audit_events
    ALTER COLUMN format DROP DEFAULT,
    ADD CONSTRAINT audit_events_format CHECK (
        (format = 1 AND body IS NULL AND prev_hash IS NOT NULL AND caller IS NOT NULL
            AND response IS NOT NULL)
        OR (format = 2 AND body IS NOT NULL AND prev_hash IS NULL AND caller IS NULL
            AND response IS NULL));

-- A verification has a handful of events at most, so the kind is filtered from the rows: an
-- index without it is 20 bytes per event smaller.
DROP INDEX audit_events_verification_type;
CREATE INDEX audit_events_verification ON audit_events (insurer_number, verification_id);
