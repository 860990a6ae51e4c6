-- Every decision of a subject, one row each, for the history of a subject (SQLite). Same
-- 特定個人情報 rules as 0001.
--
-- The clerks' case page and SubjectHistory list every verification, resolution, assignment and
-- commit of one subject at one insurer. Since format 2 (0005) a decision keeps its subject id
-- in its body, which no index can read, and the events that follow a decision (hold.assigned,
-- hold.resolved, commit.accepted, commit.refused) are found by their verification id. So this
-- table maps (insurer, subject) to the subject's decisions, and a history is the events of
-- those verifications through the verification index (`audit_events_verification`):
--
-- - `decision_id`: the row id of the decision in `audit_events` (the order of the history);
-- - `verification_id`: its verification id, the key of every later event about it.
--
-- Rejected: a `subject_id` lookup column on every format 2 decision (as commits have one),
-- indexed. The rows written before this migration would keep NULL there: `audit_events` is
-- append-only and SQL cannot read the subject out of a body, so those subjects would still
-- need a table like this one, and the lookup would then need both.
--
-- The service inserts a decision's row in the transaction that appends the decision, and
-- nothing changes or deletes it (a decision's subject never changes). Like open_holds (0008)
-- it has no append-only guard: it is derived data and no evidence. `audit verify` rebuilds it
-- from the decisions in the chain and reports every row missing, differing or unsupported, so
-- a row deleted or forged behind the service's back is found as a gate table's would be.
CREATE TABLE subject_decisions (
    insurer_number TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    decision_id INTEGER NOT NULL,
    verification_id TEXT NOT NULL,
    PRIMARY KEY (insurer_number, subject_id, decision_id)
) STRICT, WITHOUT ROWID;

-- A log written before this migration has decisions but no rows: the service fills the table
-- from the events when it opens the store and finds this row, then deletes it, in one
-- transaction (src/audit/store/subject_decisions.rs).
CREATE TABLE subject_decisions_fill (pending INTEGER PRIMARY KEY) STRICT;
INSERT INTO subject_decisions_fill (pending) VALUES (1);
