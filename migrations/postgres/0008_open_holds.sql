-- The open holds, one row each, for the clerks' queue (PostgreSQL). Same 特定個人情報 rules as
-- 0001.
--
-- ListHolds in triage order (overdue first, then risk class, then oldest) needs each open
-- hold's deadline and risk class. Both are derived from the decision's body (the risk class
-- from its comparisons and reasons), which no index can read, so without this table every
-- page decoded every open hold of the insurer (1.7 s at ~10k holds, BENCHMARKS.md). Each row
-- is what the events say about one held decision that no resolution has closed:
--
-- - `hold_id`: the row id of the held decision in `audit_events` (older decisions have
--   smaller ids: "oldest first" is this order);
-- - `register_by_us`: the registration deadline, whole microseconds; NULL when none;
-- - `risk_rank`: the position of its risk class in the service's list of classes, most urgent
--   first (`RiskClass::ALL`); the length of that list when it has none;
-- - `reasons`: its hold reasons as a bit set (bit n = `HoldReason::ALL[n]`);
-- - `assignee`: who works it (the last hold.assigned event); '' for nobody.
--
-- NOT append-only, unlike the other tables: the service inserts a row in the transaction that
-- appends a hold decision, updates it in the one that appends its hold.assigned event, and
-- deletes it in the one that appends its hold.resolved event. Only the service writes it. It
-- is derived data and no evidence: a hold is closed by its resolution in the chain, and
-- `audit verify` rebuilds this table from the events and reports every difference.
CREATE TABLE open_holds (
    hold_id BIGINT PRIMARY KEY,
    insurer_number TEXT NOT NULL,
    verification_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    register_by_us BIGINT,
    risk_rank BIGINT NOT NULL,
    reasons BIGINT NOT NULL,
    assignee TEXT NOT NULL,
    UNIQUE (insurer_number, verification_id)
);

-- Triage order: one index range per (risk class, overdue or not), read in row order. The
-- columns the filters and the counts look at are in the index, so neither reads the table.
CREATE INDEX open_holds_triage ON open_holds
    (insurer_number, risk_rank, hold_id, register_by_us, reasons, assignee);
-- Oldest first.
CREATE INDEX open_holds_oldest ON open_holds (insurer_number, hold_id);

-- A log written before this migration has open holds but no rows: the service fills the table
-- from the events when it opens the store and finds this row, then deletes it, in one
-- transaction (src/audit/store/open_holds.rs).
CREATE TABLE open_holds_fill (pending INTEGER PRIMARY KEY);
INSERT INTO open_holds_fill (pending) VALUES (1);
