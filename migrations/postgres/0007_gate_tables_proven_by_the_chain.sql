-- The gate's tables, proven by the chain (PostgreSQL). Same 特定個人情報 rules as 0001.
--
-- `verification_requests`, `registrations` and `hold_resolutions` decide what the service
-- admits, but only the chain is evidence: a row deleted behind the service's back (its
-- triggers disabled) would let a second decision of one request id, a second commit of one
-- number or a second resolution of one hold through. So every claim also asks the chain
-- (store.rs, sql.rs). A hold's resolution is found by (insurer, verification), columns the hash
-- covers. A decision's request id and a commit's subject and number fingerprint are in `body`,
-- which no index can read: format 2 rows now also keep them in the format 1 columns of the same
-- name (`request_id` for verification.decided; `subject_id`, `number_fp_key_id`, `number_fp`
-- for commit.accepted), and the partial indexes below find them. The hash does not cover these
-- copies; `audit verify` checks each against its event. Format 1 rows already hold them as
-- their content. Format 2 rows written before this migration have them NULL: their claims are
-- guarded by the tables alone, and `audit verify` still rebuilds every table from every body.
--
-- PostgreSQL has no INSERT OR REPLACE, and ON CONFLICT DO UPDATE fires the UPDATE triggers of
-- 0001/0002, so nothing here needs the BEFORE INSERT triggers SQLite gets.
CREATE INDEX audit_events_decision_by_request ON audit_events (insurer_number, request_id)
    WHERE event_type = 'verification.decided' AND request_id IS NOT NULL;
CREATE INDEX audit_events_commit_by_number ON audit_events (insurer_number, number_fp)
    WHERE event_type = 'commit.accepted' AND number_fp IS NOT NULL;
CREATE INDEX audit_events_commit_by_subject ON audit_events (insurer_number, subject_id)
    WHERE event_type = 'commit.accepted' AND subject_id IS NOT NULL;
