-- The clerks' console sessions (PostgreSQL). Not part of the audit log: no chain covers these
-- rows and they are deleted when a session ends, so none of the append-only triggers of 0001
-- apply. The service's role needs SELECT, INSERT, UPDATE and DELETE on this table only.
--
-- A session lives here, not in a process's memory, so that every replica on this database
-- accepts it and a restart keeps it; deleting its row is a sign-out that every replica sees at
-- the clerk's next request. Sign-in and sign-out themselves are audit events
-- (`console.signed_in`, `console.signed_out`); this table only says which sessions are open.
--
-- No secret is stored. `token_hash` is the SHA-256 of the random 32-byte token in the clerk's
-- cookie: someone who reads this table cannot present a session. The CSRF token of the
-- session's forms is derived from the cookie's token (another SHA-256, under its own label), so
-- it is not stored either. `user_name` names a `[[console_users]]` entry of the settings: the
-- clerk's roles and insurers are read from the settings at each request, so an entry removed
-- from the settings ends its sessions at the next request. `method` is how the clerk signed in
-- (`password`, `client_certificate`). Times are microseconds since the Unix epoch, from the
-- clock of the replica that wrote them.
--
-- `last_seen_us` is rewritten at most once a minute per session (`console::sessions`), not at
-- every request: the idle timeout is then exact to within that minute. The index finds expired
-- sessions for their removal.
CREATE TABLE console_sessions (
    token_hash BYTEA PRIMARY KEY,
    user_name TEXT NOT NULL,
    method TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    last_seen_us BIGINT NOT NULL
);

CREATE INDEX console_sessions_by_last_seen ON console_sessions (last_seen_us);
