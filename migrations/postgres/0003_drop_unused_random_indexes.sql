-- Two indexes no query of this service uses (duplicate checks read the `registrations`
-- table), dropped for write throughput.
--
-- Both are keyed on values with no order in time (the insurer's subject id, an HMAC), so every
-- event inserts into a different leaf page of each: with group commit, each transaction dirtied
-- one page per event per index, about 80% of the pages a commit writes (and that a checkpoint
-- writes again). Recreate them (or a narrower form) together with the query that needs them.
DROP INDEX audit_events_subject;
DROP INDEX audit_events_number_fp;
