-- Format 2 (SQLite): events in their canonical binary encoding
-- (proto/verifyidentity/audit/v1/event.proto). Same 特定個人情報 rules as 0001.
--
-- A format 2 row keeps in columns only what queries look up (chain position, kind, time,
-- insurer, verification, decision) and the rest of the event in `body`; its link to the
-- previous event is covered by its hash and not stored again (`prev_hash` is NULL). Rows
-- written before (format 1) keep every column as they were written and verify as before.
-- Hashes become bytes: the hex text of format 1 rows is decoded, which loses nothing (it was
-- lowercase hex of the same 32 bytes).
--
-- SQLite cannot drop NOT NULL or change a column's type in place, so the table is rebuilt:
-- every row is copied with its id, then the old table (with its triggers) is dropped. Dropping
-- a table does not fire its DELETE triggers.
CREATE TABLE audit_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    format INTEGER NOT NULL,
    writer_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    event_type TEXT NOT NULL,
    occurred_at_us INTEGER NOT NULL,
    insurer_number TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    decision TEXT,
    hash BLOB NOT NULL,
    -- Format 2: the encoding of the event's fields numbered 16 and up.
    body BLOB,
    -- Format 1 only.
    caller TEXT,
    subject_id TEXT,
    subject_kind TEXT,
    request_id TEXT,
    policy_version TEXT,
    comparisons TEXT,
    hold_reasons TEXT,
    number_fp_key_id TEXT,
    number_fp TEXT,
    request_fp_key_id TEXT,
    request_fp TEXT,
    response BLOB,
    prev_hash BLOB,
    reason TEXT,
    UNIQUE (writer_id, seq),
    CHECK (
        (format = 1 AND body IS NULL AND prev_hash IS NOT NULL AND caller IS NOT NULL
            AND response IS NOT NULL)
        OR (format = 2 AND body IS NOT NULL AND prev_hash IS NULL AND caller IS NULL
            AND response IS NULL))
) STRICT;

INSERT INTO audit_events_new (id, format, writer_id, seq, event_type, occurred_at_us,
    insurer_number, verification_id, decision, hash, body, caller, subject_id, subject_kind,
    request_id, policy_version, comparisons, hold_reasons, number_fp_key_id, number_fp,
    request_fp_key_id, request_fp, response, prev_hash, reason)
SELECT id, 1, writer_id, seq, event_type, occurred_at_us, insurer_number, verification_id,
    decision, unhex(hash), NULL, caller, subject_id, subject_kind, request_id, policy_version,
    comparisons, hold_reasons, number_fp_key_id, number_fp, request_fp_key_id, request_fp,
    response, unhex(prev_hash), reason
FROM audit_events ORDER BY id;

DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;

-- A verification has a handful of events at most, so the kind is filtered from the rows: an
-- index without it is 20 bytes per event smaller.
CREATE INDEX audit_events_verification ON audit_events (insurer_number, verification_id);
-- ListHolds: the held decisions of one insurer, oldest first.
CREATE INDEX audit_events_holds ON audit_events (insurer_number, id)
    WHERE event_type = 'verification.decided' AND decision = 'hold';

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
