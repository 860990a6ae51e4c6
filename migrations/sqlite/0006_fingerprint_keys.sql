-- The fingerprint keys of this store (SQLite). Same 特定個人情報 rules as 0001.
--
-- One row per key this store holds fingerprints under, in the order the keys were adopted:
-- the newest row is the current key, the others the keys it replaced. Every process that writes
-- (serve, bulk --database) reads this table at start and refuses to start without every key
-- named here, so that a number registered under one key is never registered again for someone
-- else under another (a fingerprint matches only under the key that made it). Reading it costs
-- the same on a store of any size; the rejected alternative, a DISTINCT over the key ids of the
-- events, cannot be indexed (format 2 events keep their fingerprints inside `body`).
--
-- `key_check` recognises the secret behind an id without revealing it: a MAC of a constant
-- label under the key (see `FingerprintKey::check`). It tells a swapped key file apart even
-- when the operator configured the id.
CREATE TABLE fingerprint_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL UNIQUE,
    key_check TEXT NOT NULL,
    adopted_at_us INTEGER NOT NULL
) STRICT;

CREATE TRIGGER fingerprint_keys_no_update BEFORE UPDATE ON fingerprint_keys
BEGIN
    SELECT RAISE(ABORT, 'fingerprint_keys is append-only');
END;

CREATE TRIGGER fingerprint_keys_no_delete BEFORE DELETE ON fingerprint_keys
BEGIN
    SELECT RAISE(ABORT, 'fingerprint_keys is append-only');
END;

-- A number is registered under the current key only. A process started before another adopted
-- a newer key still has the old one as its current key and does not know the new one, so it
-- would miss every registration made under it: its commits are refused here, in the commit's
-- own transaction, until it is restarted with the new keyring. (SQLite runs one write
-- transaction at a time, so no adoption can slip between this check and the commit.)
CREATE TRIGGER registrations_under_the_current_key BEFORE INSERT ON registrations
WHEN EXISTS (SELECT 1 FROM fingerprint_keys)
    AND NEW.number_fp_key_id IS NOT
        (SELECT key_id FROM fingerprint_keys ORDER BY seq DESC LIMIT 1)
BEGIN
    SELECT RAISE(ABORT, 'registrations: the fingerprint key is not the current key of this store');
END;
