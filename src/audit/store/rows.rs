//! Rows as both databases return them, and what turns them back into events; the checks an
//! event passes before it is written; database errors described without their content.

use crate::audit::{
    AuditError, EventType, Fingerprint, NewEvent, Registration, StoredEvent,
    chain::ChainHead,
    event::comparisons,
    event::encoding::{self, Columns},
    event::legacy::{self, LegacyEvent, LegacyRow},
    store::sql,
    time_from_micros,
};

/// An event row as both databases return it: the columns of both formats.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    format: i32,
    writer_id: String,
    seq: i64,
    event_type: String,
    occurred_at_us: i64,
    insurer_number: String,
    verification_id: String,
    decision: Option<String>,
    hash: Vec<u8>,
    /// Format 2: the encoding of the event's body fields.
    body: Option<Vec<u8>>,
    // Format 1 only, NULL in format 2 rows.
    caller: Option<String>,
    subject_id: Option<String>,
    subject_kind: Option<String>,
    request_id: Option<String>,
    policy_version: Option<String>,
    comparisons: Option<String>,
    hold_reasons: Option<String>,
    number_fp_key_id: Option<String>,
    number_fp: Option<String>,
    request_fp_key_id: Option<String>,
    request_fp: Option<String>,
    response: Option<Vec<u8>>,
    prev_hash: Option<Vec<u8>>,
    reason: Option<String>,
}

impl EventRow {
    /// The stored event, or `Corrupt` naming the row (by id only) when a column cannot be read
    /// back — which only tampering or a bug can cause.
    pub(crate) fn into_stored(mut self) -> Result<StoredEvent, AuditError> {
        let (id, seq) = (self.id, self.seq);
        let writer_id = std::mem::take(&mut self.writer_id);
        let corrupt = |what: &str| AuditError::Corrupt(format!("audit event {id}: {what}"));
        let hash: crate::audit::Hash = self
            .hash
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("the hash is not 32 bytes"))?;
        let (event, legacy) = match self.format {
            encoding::FORMAT => {
                let columns = Columns {
                    kind: &self.event_type,
                    occurred_at_us: self.occurred_at_us,
                    insurer_number: &self.insurer_number,
                    verification_id: &self.verification_id,
                    decision: self.decision.as_deref().unwrap_or(""),
                };
                let body = self.body.as_deref().ok_or_else(|| corrupt("no body"))?;
                (encoding::decode(&columns, body).map_err(corrupt)?, None)
            }
            1 => {
                let row = self.into_legacy().map_err(corrupt)?;
                let at = time_from_micros(row.event.occurred_at_us);
                let event = legacy::to_event(&row.event, at).map_err(corrupt)?;
                (event, Some(Box::new(row)))
            }
            _ => return Err(corrupt("unknown format")),
        };
        Ok(StoredEvent {
            id,
            writer_id,
            seq,
            hash,
            event,
            legacy,
        })
    }

    /// The format 1 row, column by column.
    fn into_legacy(self) -> Result<LegacyRow, &'static str> {
        let event_type = EventType::parse(&self.event_type).ok_or("unknown event type")?;
        let comparisons = comparisons::decode(self.comparisons.as_deref().unwrap_or(""))
            .map_err(|_| "the comparisons are not valid JSON")?;
        let hold_reasons: Vec<String> =
            serde_json::from_str(self.hold_reasons.as_deref().unwrap_or(""))
                .map_err(|_| "the hold reasons are not valid JSON")?;
        let fingerprint = |key_id: Option<String>, mac: Option<String>| match (key_id, mac) {
            (Some(key_id), Some(mac_hex)) => Ok(Some(Fingerprint { key_id, mac_hex })),
            (None, None) => Ok(None),
            _ => Err("half a fingerprint"),
        };
        let prev_hash = self
            .prev_hash
            .as_deref()
            .and_then(|h| h.try_into().ok())
            .ok_or("the prev_hash is not 32 bytes")?;
        let missing = "a format 1 column is NULL";
        Ok(LegacyRow {
            prev_hash,
            event: LegacyEvent {
                event_type,
                occurred_at_us: self.occurred_at_us,
                caller: self.caller.ok_or(missing)?,
                insurer_number: self.insurer_number,
                subject_id: self.subject_id.ok_or(missing)?,
                subject_kind: self.subject_kind.ok_or(missing)?,
                request_id: self.request_id.ok_or(missing)?,
                verification_id: self.verification_id,
                decision: self.decision,
                policy_version: self.policy_version.ok_or(missing)?,
                comparisons,
                hold_reasons,
                number_fingerprint: fingerprint(self.number_fp_key_id, self.number_fp)?,
                request_fingerprint: fingerprint(self.request_fp_key_id, self.request_fp)?,
                response: self.response.ok_or(missing)?,
                reason: self.reason,
            },
        })
    }
}

/// A registration row as both databases return it.
#[derive(sqlx::FromRow)]
pub(crate) struct RegistrationRow {
    pub(crate) insurer_number: String,
    pub(crate) number_fp_key_id: String,
    pub(crate) number_fp: String,
    pub(crate) subject_id: String,
    pub(crate) verification_id: String,
    pub(crate) committed_at_us: i64,
}

impl From<RegistrationRow> for Registration {
    fn from(r: RegistrationRow) -> Self {
        Registration {
            insurer_number: r.insurer_number,
            number_fingerprint: Fingerprint {
                key_id: r.number_fp_key_id,
                mac_hex: r.number_fp,
            },
            subject_id: r.subject_id,
            verification_id: r.verification_id,
            committed_at: time_from_micros(r.committed_at_us),
        }
    }
}

/// Refuses events no database would store alike, or that the canonical encoding cannot hold:
/// a NUL character (PostgreSQL rejects it in text, SQLite keeps it), a MAC that is not
/// lowercase hex, a comparison the stream cannot encode. Checked before a batch is formed so
/// one bad event never fails its batch-mates.
pub fn validate(e: &NewEvent) -> Result<(), AuditError> {
    if let NewEvent::Decided(d) = e {
        if !d.comparisons.iter().all(encoding::comparison_fits) {
            return Err(AuditError::Invalid(
                "a comparison has too many rules or too large a candidate index".into(),
            ));
        }
        // Stored as MACs under one key id (event.proto, `candidate_numbers`).
        let key = encoding::candidate_key_id(d);
        for fp in d.candidate_fingerprints.iter().flatten() {
            if !is_lowercase_hex(&fp.mac_hex) || fp.mac_hex.is_empty() {
                return Err(AuditError::Invalid(
                    "candidate_fingerprints is not lowercase hex".into(),
                ));
            }
            if Some(fp.key_id.as_str()) != key {
                return Err(AuditError::Invalid(
                    "candidate_fingerprints are under more than one key".into(),
                ));
            }
        }
        if key.is_some_and(|k| k.contains('\0')) {
            return Err(AuditError::Invalid(
                "candidate_fingerprints contains a NUL character".into(),
            ));
        }
    }
    for (what, fp) in fingerprints(e) {
        if fp.is_some_and(|fp| !is_lowercase_hex(&fp.mac_hex)) {
            return Err(AuditError::Invalid(format!("{what} is not lowercase hex")));
        }
    }
    // Every text, in a fixed order, without collecting them (this runs once per decision).
    let mut with_nul = None;
    for_each_text(e, &mut |what, text| {
        if with_nul.is_none() && text.contains('\0') {
            with_nul = Some(what);
        }
    });
    match with_nul {
        Some(what) => Err(AuditError::Invalid(format!(
            "{what} contains a NUL character"
        ))),
        None => Ok(()),
    }
}

/// The event's fingerprints, named.
fn fingerprints(e: &NewEvent) -> [(&'static str, Option<&Fingerprint>); 2] {
    [
        ("number_fingerprint", e.number_fingerprint()),
        ("request_fingerprint", e.request_fingerprint()),
    ]
}

/// Whether `s` is what `hex::encode` writes: lowercase hex digits, two per byte.
fn is_lowercase_hex(s: &str) -> bool {
    s.len().is_multiple_of(2) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Calls `f` with every text field of `e` and its name.
fn for_each_text<'e>(e: &'e NewEvent, f: &mut dyn FnMut(&'static str, &'e str)) {
    f("caller", e.caller());
    f("insurer_number", e.insurer_number());
    f("subject_id", e.subject_id());
    f("request_id", e.request_id());
    f("verification_id", e.verification_id());
    match e {
        NewEvent::Decided(d) => {
            f("policy_version", &d.policy_version);
            for c in &d.comparisons {
                for r in &c.rules {
                    f("comparisons", r.as_str());
                }
            }
        }
        NewEvent::CommitAccepted(c) => f("commit_id", &c.commit_id),
        NewEvent::CommitRefused(_) => {}
        NewEvent::HoldResolved(r) => {
            f("operator_id", r.operator_id.as_str());
            f("note", &r.note);
            f(
                "replaced_by_verification_id",
                &r.replaced_by_verification_id,
            );
        }
        NewEvent::HoldAssigned(a) => f("assignee", a.assignee.as_str()),
        NewEvent::AccessDenied(a) => {
            f("rpc", a.rpc.as_str());
            f("reason", &a.reason);
            f("peer", &a.peer);
        }
    }
    for (what, fp) in fingerprints(e) {
        if let Some(fp) = fp {
            f(what, fp.key_id.as_str());
        }
    }
}

/// A description of a database error that carries no event content: the error's kind and,
/// for errors the database raised, its SQLSTATE code and constraint name — never its message
/// or detail, which can quote values (PostgreSQL's "Key (…)=(…) already exists").
pub(crate) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let code = db
                .code()
                .map_or_else(|| "none".to_string(), |c| c.into_owned());
            match db.constraint() {
                Some(constraint) => {
                    format!("database error (code {code}, constraint {constraint})")
                }
                None => format!("database error (code {code})"),
            }
        }
        sqlx::Error::Io(io) => format!("i/o error ({})", io.kind()),
        sqlx::Error::Tls(_) => "TLS error".into(),
        sqlx::Error::Protocol(_) => "protocol error".into(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection".into(),
        sqlx::Error::PoolClosed => "the connection pool is closed".into(),
        sqlx::Error::WorkerCrashed => "the database worker crashed".into(),
        sqlx::Error::RowNotFound => "an expected row is missing".into(),
        sqlx::Error::Configuration(_) => "configuration error".into(),
        sqlx::Error::ColumnDecode { index, .. } => format!("cannot decode column {index}"),
        sqlx::Error::Encode(_) => "cannot encode a value".into(),
        sqlx::Error::Decode(_) => "cannot decode a value".into(),
        _ => "database error".into(),
    }
}

/// `Unavailable` with a content-free description of `e`.
pub(crate) fn unavailable(e: &sqlx::Error) -> AuditError {
    let refused_key = e
        .as_database_error()
        .is_some_and(|db| db.message().contains(sql::KEY_NOT_CURRENT));
    if refused_key {
        return key_not_current();
    }
    AuditError::Unavailable(describe(e))
}

/// The registrations trigger refused a fingerprint under a retired key.
pub(crate) fn key_not_current() -> AuditError {
    AuditError::Unavailable(
        "this process's fingerprint key is no longer the current key of the audit store \
         (another process adopted a newer one): restart it with the new keyring"
            .into(),
    )
}

/// A chain's newest event as [`sql::SELECT_CHAIN_HEADS`](crate::audit::store::sql) returns it.
#[derive(sqlx::FromRow)]
pub(crate) struct HeadRow {
    writer_id: String,
    seq: i64,
    hash: Vec<u8>,
    occurred_at_us: i64,
}

impl HeadRow {
    /// The head, or `Corrupt` naming the chain and position when its hash cannot be read.
    pub(crate) fn into_head(self) -> Result<ChainHead, AuditError> {
        let hash = self.hash.as_slice().try_into().map_err(|_| {
            AuditError::Corrupt(format!(
                "chain {} seq {}: the hash is not 32 bytes",
                self.writer_id, self.seq
            ))
        })?;
        Ok(ChainHead {
            writer_id: self.writer_id,
            seq: self.seq,
            hash,
            occurred_at_us: self.occurred_at_us,
        })
    }
}

/// Reads and decodes rows, mapping failures the way every read path does.
pub(crate) fn decode_rows(
    rows: Result<Vec<EventRow>, sqlx::Error>,
) -> Result<Vec<StoredEvent>, AuditError> {
    rows.map_err(|e| unavailable(&e))?
        .into_iter()
        .map(EventRow::into_stored)
        .collect()
}

/// A migration failure: `Config` (the schema does not match this build), described without
/// database messages.
pub(crate) fn migration_error(e: sqlx::migrate::MigrateError) -> AuditError {
    match e {
        sqlx::migrate::MigrateError::Execute(e) => {
            AuditError::Unavailable(format!("running the migrations failed: {}", describe(&e)))
        }
        other => AuditError::Config(format!("the audit schema does not match: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Decided, tests_support};

    #[test]
    fn lowercase_hex_is_what_a_hex_round_trip_keeps() {
        for s in [
            "",
            "00",
            "0a",
            "ff",
            "0A",
            "f",
            "fg",
            "abc",
            "0123456789abcdef",
            "ＡＢ",
            "é1",
        ] {
            let round_trip = hex::decode(s).is_ok_and(|b| hex::encode(b) == s);
            assert_eq!(is_lowercase_hex(s), round_trip, "{s:?}");
        }
    }

    #[test]
    fn an_event_with_a_nul_character_is_invalid_and_the_error_names_only_the_field() {
        let mut d = Decided {
            subject_id: "secret\0subject".into(),
            ..tests_support::decided()
        };
        let err = validate(&NewEvent::Decided(d.clone())).unwrap_err();
        assert_eq!(
            err,
            AuditError::Invalid("subject_id contains a NUL character".into())
        );
        d.subject_id = "fine".into();
        assert_eq!(validate(&NewEvent::Decided(d.clone())), Ok(()));
        d.request_fingerprint.as_mut().unwrap().key_id = "k\0".into();
        assert!(validate(&NewEvent::Decided(d.clone())).is_err());
        d.request_fingerprint = Some(Fingerprint {
            key_id: "k".into(),
            mac_hex: "ABCD".into(),
        });
        assert!(validate(&NewEvent::Decided(d)).is_err(), "not lowercase");
        for e in tests_support::one_of_each() {
            assert_eq!(validate(&e), Ok(()), "{e:?}");
        }
    }
}
