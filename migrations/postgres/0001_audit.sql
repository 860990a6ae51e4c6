-- The audit log of verify-identity (PostgreSQL).
--
-- THIS DATABASE HOLDS 特定個人情報. It stores keyed fingerprints (HMAC-SHA256) of individual
-- numbers, and under 番号法 §2-8 any stand-in for a number is itself 個人番号. Restrict access
-- to it (and to the fingerprint key, which must be backed up with it), back it up, and retain
-- and dispose of it as 特定個人情報. Run the service as a role that may only SELECT and INSERT
-- these tables (and USAGE their sequence): the triggers stop mistakes, privileges stop people.
--
-- Append-only: the triggers below refuse UPDATE, DELETE and TRUNCATE on both tables.
-- Tamper-evident: each event carries the hash of the previous event of its writer's chain
-- and a hash over its own content (`verify-identity audit verify`).

-- One row per event. `id` is the row's name for auditors; `(writer_id, seq)` its place in
-- its writer's hash chain (one chain per replica process, so replicas never wait on a
-- shared "last hash" row).
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    writer_id TEXT NOT NULL,
    seq BIGINT NOT NULL CHECK (seq >= 1),
    event_type TEXT NOT NULL,
    occurred_at_us BIGINT NOT NULL,
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
    response BYTEA NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (writer_id, seq)
);

-- GetVerification and commits look decisions up by insurer and verification id.
CREATE INDEX audit_events_verification ON audit_events (insurer_number, verification_id);
-- Every event about one person.
CREATE INDEX audit_events_subject ON audit_events (insurer_number, subject_id);
-- Whether a number is already registered (to someone else).
CREATE INDEX audit_events_number_fp ON audit_events (number_fp) WHERE number_fp IS NOT NULL;

-- Idempotency keys: one decision per (insurer, request id), claimed inside the append
-- transaction, so two replicas cannot both decide the same request.
CREATE TABLE verification_requests (
    insurer_number TEXT NOT NULL,
    request_id TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    request_fp_key_id TEXT,
    request_fp TEXT,
    PRIMARY KEY (insurer_number, request_id)
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE TRIGGER verification_requests_no_update BEFORE UPDATE ON verification_requests
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER verification_requests_no_delete BEFORE DELETE ON verification_requests
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER verification_requests_no_truncate BEFORE TRUNCATE ON verification_requests
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
