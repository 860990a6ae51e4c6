-- `audit_events_verification (insurer_number, verification_id)` is a prefix of
-- `audit_events_verification_type (insurer_number, verification_id, event_type)` (0002): every
-- query that used the first can use the second. Each index is one more B-tree insert per event.
DROP INDEX audit_events_verification;
