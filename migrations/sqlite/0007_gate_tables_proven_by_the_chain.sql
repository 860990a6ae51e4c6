-- The gate's tables, proven by the chain (SQLite). Same 特定個人情報 rules as 0001.
--
-- 1. Lookup columns. `verification_requests`, `registrations` and `hold_resolutions` decide
-- what the service admits, but only the chain is evidence: a row deleted behind the service's
-- back (its triggers dropped) would let a second decision of one request id, a second commit of
-- one number or a second resolution of one hold through. So every claim also asks the chain
-- (store.rs, sql.rs). A hold's resolution is found by (insurer, verification), columns the hash
-- covers. A decision's request id and a commit's subject and number fingerprint are in `body`,
-- which no index can read: format 2 rows now also keep them in the format 1 columns of the same
-- name (`request_id` for verification.decided; `subject_id`, `number_fp_key_id`, `number_fp`
-- for commit.accepted), and the partial indexes below find them. The hash does not cover these
-- copies; `audit verify` checks each against its event. Format 1 rows already hold them as
-- their content. Format 2 rows written before this migration have them NULL: their claims are
-- guarded by the tables alone, and `audit verify` still rebuilds every table from every body.
--
-- Partial indexes, NULLs left out: a decision costs one more index entry (~50 bytes), a
-- commit two; no other event pays anything (BENCHMARKS.md).
CREATE INDEX audit_events_decision_by_request ON audit_events (insurer_number, request_id)
    WHERE event_type = 'verification.decided' AND request_id IS NOT NULL;
CREATE INDEX audit_events_commit_by_number ON audit_events (insurer_number, number_fp)
    WHERE event_type = 'commit.accepted' AND number_fp IS NOT NULL;
CREATE INDEX audit_events_commit_by_subject ON audit_events (insurer_number, subject_id)
    WHERE event_type = 'commit.accepted' AND subject_id IS NOT NULL;

-- 2. No row replaced. `INSERT OR REPLACE` and `REPLACE` delete the conflicting row and insert
-- the new one; the DELETE triggers fire for that only under `recursive_triggers`, which the
-- service sets but the sqlite3 shell does not, so a number could be re-pointed to another
-- subject with every trigger in place. A BEFORE INSERT trigger runs whatever the conflict
-- clause. On the claim tables it skips a row whose key exists (RAISE(IGNORE)): exactly what the
-- service's `ON CONFLICT DO NOTHING` claims do anyway, and under OR REPLACE, REPLACE, OR IGNORE
-- or ON CONFLICT DO UPDATE the existing row stays as it was. Raising an error instead would
-- fail the service's own claims, which rely on a conflict inserting nothing. The event table
-- has no conflicting inserts of its own, so there the trigger refuses with an error.
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id)
    OR EXISTS (SELECT 1 FROM audit_events WHERE writer_id = NEW.writer_id AND seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER verification_requests_no_replace BEFORE INSERT ON verification_requests
WHEN EXISTS (SELECT 1 FROM verification_requests
    WHERE insurer_number = NEW.insurer_number AND request_id = NEW.request_id)
BEGIN
    SELECT RAISE(IGNORE);
END;

CREATE TRIGGER registrations_no_replace BEFORE INSERT ON registrations
WHEN EXISTS (SELECT 1 FROM registrations
        WHERE insurer_number = NEW.insurer_number AND number_fp = NEW.number_fp)
    OR EXISTS (SELECT 1 FROM registrations
        WHERE insurer_number = NEW.insurer_number AND subject_id = NEW.subject_id)
BEGIN
    SELECT RAISE(IGNORE);
END;

CREATE TRIGGER hold_resolutions_no_replace BEFORE INSERT ON hold_resolutions
WHEN EXISTS (SELECT 1 FROM hold_resolutions
    WHERE insurer_number = NEW.insurer_number AND verification_id = NEW.verification_id)
BEGIN
    SELECT RAISE(IGNORE);
END;
