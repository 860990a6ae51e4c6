-- The fingerprint keys of this store (PostgreSQL). Same 特定個人情報 rules as 0001.
--
-- One row per key this store holds fingerprints under, in the order the keys were adopted:
-- the newest row is the current key, the others the keys it replaced. Every process that writes
-- (each replica, bulk --database) reads this table at start and refuses to start without every
-- key named here, so that a number registered under one key is never registered again for
-- someone else under another (a fingerprint matches only under the key that made it). Reading
-- it costs the same on a store of any size; the rejected alternative, a DISTINCT over the key
-- ids of the events, cannot be indexed (format 2 events keep their fingerprints inside `body`).
--
-- `key_check` recognises the secret behind an id without revealing it: a MAC of a constant
-- label under the key (see `FingerprintKey::check`). It tells a swapped key file apart even
-- when the operator configured the id.
CREATE TABLE fingerprint_keys (
    seq BIGSERIAL PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    key_check TEXT NOT NULL,
    adopted_at_us BIGINT NOT NULL
);

CREATE TRIGGER fingerprint_keys_no_update BEFORE UPDATE ON fingerprint_keys
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER fingerprint_keys_no_delete BEFORE DELETE ON fingerprint_keys
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER fingerprint_keys_no_truncate BEFORE TRUNCATE ON fingerprint_keys
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The advisory lock that orders adoptions against commits: a process adopting a key holds it
-- exclusively (`sql::LOCK_FINGERPRINT_KEYS`), every registration shares it until its
-- transaction ends. One per schema (the table's oid), so stores in two schemas of one database
-- never wait on each other. An advisory lock needs no privilege beyond the service's SELECT and
-- INSERT; LOCK TABLE in a mode that conflicts with writers would.
CREATE FUNCTION fingerprint_keys_lock_id() RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT (22089::BIGINT << 32) | 'fingerprint_keys'::regclass::oid::BIGINT
$$;

-- A number is registered under the current key only. A replica started before another adopted
-- a newer key still has the old one as its current key and does not know the new one, so it
-- would miss every registration made under it: its commits are refused here, in the commit's
-- own transaction, until it is restarted with the new keyring. The shared lock makes an
-- adoption wait for the registrations in flight (which it then sees) and every later one wait
-- for the adoption (which it then sees).
CREATE FUNCTION registrations_under_the_current_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    newest TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(fingerprint_keys_lock_id());
    SELECT key_id INTO newest FROM fingerprint_keys ORDER BY seq DESC LIMIT 1;
    IF newest IS NOT NULL AND newest <> NEW.number_fp_key_id THEN
        RAISE EXCEPTION 'registrations: the fingerprint key is not the current key of this store'
            USING ERRCODE = 'VI001';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER registrations_under_the_current_key BEFORE INSERT ON registrations
    FOR EACH ROW EXECUTE FUNCTION registrations_under_the_current_key();
