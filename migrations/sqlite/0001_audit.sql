-- The audit log of verify-identity (SQLite).
--
-- THIS DATABASE HOLDS 特定個人情報. It stores keyed fingerprints (HMAC-SHA256) of individual
-- numbers, and under 番号法 §2-8 any stand-in for a number is itself 個人番号. Restrict access
-- to the file (and to the fingerprint key, which must be backed up with it), back it up, and
-- retain and dispose of it as 特定個人情報.
--
-- Append-only: the triggers below refuse UPDATE and DELETE on both tables; the application
-- also sets `recursive_triggers` so that INSERT OR REPLACE cannot delete a row around them.
-- Tamper-evident: each event carries the hash of the previous event of its writer's chain
-- and a hash over its own content (`verify-identity audit verify`).

-- One row per event. `id` is the row's name for auditors; `(writer_id, seq)` its place in
-- its writer's hash chain.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    writer_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    event_type TEXT NOT NULL,
    occurred_at_us INTEGER NOT NULL,
    caller TEXT NOT NULL,
    insurer_number TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    request_id TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    decision TEXT,
    policy_version TEXT NOT NULL,
    comparisons TEXT NOT NULL,
    hold_reasons TEXT NOT NULL,
    number_fp_key_id TEXT,
    number_fp TEXT,
    request_fp_key_id TEXT,
    request_fp TEXT,
    response BLOB NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (writer_id, seq)
) STRICT;

-- GetVerification and commits look decisions up by insurer and verification id.
CREATE INDEX audit_events_verification ON audit_events (insurer_number, verification_id);
-- Every event about one person.
CREATE INDEX audit_events_subject ON audit_events (insurer_number, subject_id);
-- Whether a number is already registered (to someone else).
CREATE INDEX audit_events_number_fp ON audit_events (number_fp) WHERE number_fp IS NOT NULL;

-- Idempotency keys: one decision per (insurer, request id), claimed inside the append
-- transaction, so two concurrent writers cannot both decide the same request.
CREATE TABLE verification_requests (
    insurer_number TEXT NOT NULL,
    request_id TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    request_fp_key_id TEXT,
    request_fp TEXT,
    PRIMARY KEY (insurer_number, request_id)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER verification_requests_no_update BEFORE UPDATE ON verification_requests
BEGIN
    SELECT RAISE(ABORT, 'verification_requests is append-only');
END;

CREATE TRIGGER verification_requests_no_delete BEFORE DELETE ON verification_requests
BEGIN
    SELECT RAISE(ABORT, 'verification_requests is append-only');
END;
