-- The registration gate (PostgreSQL). Same 特定個人情報 rules as 0001.
--
-- `reason`: why a commit was refused (a stable id such as NUMBER_MISMATCH); NULL for every
-- other event. Covered by the hash chain whenever it is set.
ALTER TABLE audit_events ADD COLUMN reason TEXT;

-- One row per committed number, claimed in the same transaction that appends its
-- commit.accepted event. The two UNIQUE constraints are the duplicate rule itself: per
-- insurer, one subject per number fingerprint and one number per subject. Enforced here, not
-- in the service, so that two concurrent commits — even from two replicas — cannot both win:
-- the second INSERT waits for the first transaction and then finds the conflict.
CREATE TABLE registrations (
    insurer_number TEXT NOT NULL,
    number_fp_key_id TEXT NOT NULL,
    number_fp TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    committed_at_us BIGINT NOT NULL,
    UNIQUE (insurer_number, number_fp),
    UNIQUE (insurer_number, subject_id)
);

-- Commits and their refusals are looked up by verification.
CREATE INDEX audit_events_verification_type
    ON audit_events (insurer_number, verification_id, event_type);

CREATE TRIGGER registrations_no_update BEFORE UPDATE ON registrations
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER registrations_no_delete BEFORE DELETE ON registrations
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER registrations_no_truncate BEFORE TRUNCATE ON registrations
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- One row per closed hold, claimed in the same transaction that appends its hold.resolved
-- event: the primary key is what closes a hold exactly once, even when two operators on two
-- replicas resolve it at the same moment.
CREATE TABLE hold_resolutions (
    insurer_number TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    resolved_at_us BIGINT NOT NULL,
    PRIMARY KEY (insurer_number, verification_id)
);

-- ListHolds: the held decisions of one insurer, oldest first.
CREATE INDEX audit_events_holds ON audit_events (insurer_number, id)
    WHERE event_type = 'verification.decided' AND decision = 'hold';

CREATE TRIGGER hold_resolutions_no_update BEFORE UPDATE ON hold_resolutions
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER hold_resolutions_no_delete BEFORE DELETE ON hold_resolutions
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER hold_resolutions_no_truncate BEFORE TRUNCATE ON hold_resolutions
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
