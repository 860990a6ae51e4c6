-- What the hold statistics count of each held decision, one row each (PostgreSQL). Same 特定個人情報
-- rules as 0001: `back_mac` and `hold_candidates.mac` are number fingerprints.
--
-- HoldStats counts every hold of a period by the comparisons that held it, its reasons and risk
-- class, against how it ended. All of that is in the bodies of the decision, its resolution and
-- the decision that replaced it, which no index can read: without this table one call decoded
-- ~400,000 events at a million decisions (9 s, BENCHMARKS.md). With it the statistics are one
-- GROUP BY over these rows. Each row is what the events say about one held decision:
--
-- - `hold_id`: the row id of the held decision in `audit_events`;
-- - `decided_at_us`: its time, whole microseconds (as `audit_events.occurred_at_us`);
-- - `register_by_ns`: its registration deadline, nanoseconds since the epoch, as exact as the
--   event keeps it (whole microseconds would move a deadline across the time it is judged at);
-- - `comparisons`: its distinct (stage, field, class) comparisons that were not exact (no
--   policy refuses an exact one), each as the positions of the three in `Stage::ALL`,
--   `Field::ALL` and `MatchClass::ALL` ("s.f.c"), sorted, joined by ","; which of them the
--   policy refuses is decided when the statistics are read, by the policy running then;
-- - `reasons`, `risk_rank`: as in `open_holds` (0008);
-- - `resolution`, `cause`, `resolved_at_us`: the ids and time of its first resolution; NULL
--   while open;
-- - `back_key_id`, `back_mac`: for a hold resolved as re-queried, the number fingerprint of the
--   decision that replaced it (the first decision of that verification id); NULL otherwise.
--
-- `hold_candidates` holds its candidates' number fingerprints, one row each, so that SQL can
-- tell whether the number that came back was one of them.
--
-- NOT append-only: the service inserts a row (and its candidates) in the transaction that
-- appends a hold decision and fills in the resolution in the one that appends its first
-- hold.resolved event. Only the service writes them. Derived data and no evidence: `audit
-- verify` rebuilds both tables from the events and reports every difference.
CREATE TABLE hold_facts (
    insurer_number TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    hold_id BIGINT NOT NULL,
    subject_id TEXT NOT NULL,
    decided_at_us BIGINT NOT NULL,
    register_by_ns BIGINT,
    comparisons TEXT NOT NULL,
    reasons BIGINT NOT NULL,
    risk_rank BIGINT NOT NULL,
    resolution TEXT,
    cause TEXT,
    resolved_at_us BIGINT,
    back_key_id TEXT,
    back_mac TEXT,
    PRIMARY KEY (insurer_number, verification_id, hold_id)
);

CREATE TABLE hold_candidates (
    hold_id BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    mac TEXT NOT NULL,
    PRIMARY KEY (hold_id, key_id, mac)
);

-- A log written before this migration has holds but no rows: the service fills both tables
-- from the events when it opens the store and finds this row, then deletes it, in one
-- transaction (src/audit/store/hold_facts.rs).
CREATE TABLE hold_facts_fill (pending INTEGER PRIMARY KEY);
INSERT INTO hold_facts_fill (pending) VALUES (1);
