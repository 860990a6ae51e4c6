//! One CSV record → one `VerifyRequest`.
//!
//! # Request ids
//!
//! A row without its own `request_id` gets `bulk-` and 32 hex digits of
//! SHA-256(namespace ‖ line), where the namespace is SHA-256 of the whole file's bytes and of
//! every parameter that shapes its requests (kind, encoding, column mapping, `--insurer`,
//! `--subject-kind`). So an interrupted run started again on the same file with the same
//! options asks with the same ids, and every row already decided comes back as it was decided
//! (an idempotent replay, no new audit event).
//!
//! An edited file is a new batch: every row gets a new id and is decided again (the earlier
//! decisions stay in the audit log under the earlier ids). The alternatives were rejected:
//!
//! - a hash of the row's own content would keep unchanged rows across edits, but the id is
//!   stored and printed in the clear, and a hash of a row that holds an individual number is
//!   itself 個人番号 in law (and a 12-digit number is easily guessed back from its hash once
//!   the other fields are known);
//! - the line number alone would make an edited row collide with its earlier decision
//!   (ALREADY_EXISTS), and an inserted row shift every id after it.
//!
//! To keep ids across edits, give each row a `request_id` of your own. The ids carry nothing
//! of a row's content: the file hash only enters through a second hash with the line number.

use std::time::{Duration, SystemTime};

use csv::ByteRecord;
use sha2::{Digest, Sha256};

use crate::{
    contract::{parse::FieldViolation, pb, respond},
    domain::ids,
    roster::{
        columns::Layout,
        decode::{self, TextEncoding},
    },
};

/// Values given by flags for every row.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// `--insurer`.
    pub insurer: Option<String>,
    /// `--subject-kind`.
    pub subject_kind: Option<pb::SubjectKind>,
}

/// One problem of one row: the column and what is wrong, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// What sort of problem: how a run's errors are counted and explained.
    pub kind: RowErrorKind,
    /// The column's header name (or `column N`, or the flag that gave the value).
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// The sorts of row problems. A run whose rows mostly fail usually fails one way for every
/// row (a wrong encoding, a wrong delimiter), and the sort says what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowErrorKind {
    /// A cell's bytes are not valid in the roster's encoding.
    Encoding,
    /// The row has another number of columns than the header.
    Shape,
    /// A value the service refuses (a malformed number, an unknown subject kind, a bad date …).
    Value,
    /// The request id was used before for other content.
    RequestId,
    /// The caller may not act for the row's insurer.
    Permission,
    /// A value the result file's encoding cannot hold.
    OutputEncoding,
}

impl RowErrorKind {
    /// Every kind, in the order summaries list them.
    pub const ALL: [RowErrorKind; 6] = [
        RowErrorKind::Encoding,
        RowErrorKind::Shape,
        RowErrorKind::Value,
        RowErrorKind::RequestId,
        RowErrorKind::Permission,
        RowErrorKind::OutputEncoding,
    ];

    /// The stable id, in summaries and reports.
    pub const fn id(self) -> &'static str {
        match self {
            RowErrorKind::Encoding => "encoding",
            RowErrorKind::Shape => "columns",
            RowErrorKind::Value => "value",
            RowErrorKind::RequestId => "request_id_reused",
            RowErrorKind::Permission => "insurer_not_permitted",
            RowErrorKind::OutputEncoding => "output_encoding",
        }
    }
}

/// A row ready to be decided.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The line the record starts on (the header is line 1).
    pub line: u64,
    /// The insurer's id for the person, as in the file (goes into the result file).
    pub subject_id: String,
    /// The request.
    pub request: pb::VerifyRequest,
    /// For each candidate of the request, its group in the layout (empty groups are absent),
    /// as [`column_of_path`](crate::roster::columns::column_of_path) reads it.
    pub group_of: Vec<usize>,
}

/// Everything a row needs besides its bytes.
#[derive(Debug, Clone)]
pub struct RowContext {
    /// The columns.
    pub layout: Layout,
    /// The file's encoding.
    pub encoding: TextEncoding,
    /// The result file's encoding: the subject id must be writable in it.
    pub output_encoding: TextEncoding,
    /// Flag values.
    pub defaults: Defaults,
    /// The namespace of derived request ids; `None` in a dry run (nothing is stored).
    pub namespace: Option<[u8; 32]>,
}

/// The request id namespace of a file: its bytes' hash and the parameters that shape its
/// requests.
pub fn namespace(file_sha256: &[u8; 32], parameters: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"verify-identity bulk request ids v1\0");
    h.update(file_sha256);
    h.update(parameters.as_bytes());
    h.finalize().into()
}

/// The derived request id of the row at `line`.
pub fn derived_request_id(namespace: &[u8; 32], line: u64) -> String {
    let mut h = Sha256::new();
    h.update(namespace);
    h.update(line.to_be_bytes());
    let digest = h.finalize();
    format!("bulk-{}", hex::encode(&digest[..16]))
}

/// The placeholder request id of a dry run, where nothing is stored.
pub const DRY_RUN_REQUEST_ID: &str = "bulk-dry-run";

impl RowContext {
    /// Builds the request of the record starting at `line`.
    pub fn prepare(&self, line: u64, record: &ByteRecord) -> Result<Prepared, Vec<RowError>> {
        let layout = &self.layout;
        let mut errors = Vec::new();
        if record.len() != layout.width {
            errors.push(RowError {
                kind: RowErrorKind::Shape,
                column: "(row)".into(),
                message: format!(
                    "has {} columns; the header has {}",
                    record.len(),
                    layout.width
                ),
            });
            return Err(errors);
        }
        let fields = decode::RecordFields::new(self.encoding, record);
        let mut text = |index: Option<usize>| -> String {
            let Some(i) = index else {
                return String::new();
            };
            match fields.get(i) {
                Some(s) => without_bom(&s).to_owned(),
                None => {
                    errors.push(RowError {
                        kind: RowErrorKind::Encoding,
                        column: layout.name(i).to_owned(),
                        message: format!("is not valid {}", self.encoding.name()),
                    });
                    String::new()
                }
            }
        };
        let five = |text: &mut dyn FnMut(Option<usize>) -> String, cols: &[Option<usize>; 5]| {
            pb::FiveFields {
                kanji_name: text(cols[0]),
                kana_name: text(cols[1]),
                birth_date: text(cols[2]),
                sex: text(cols[3]),
                address: text(cols[4]),
            }
        };
        let request_id = text(layout.request_id).trim().to_owned();
        let insurer_number = match &self.defaults.insurer {
            Some(flag) => flag.clone(),
            None => text(layout.insurer_number).trim().to_owned(),
        };
        let subject_id = text(layout.subject_id).trim().to_owned();
        let kind_text = text(layout.subject_kind);
        let received_text = text(layout.received_at);
        let declared_number = text(layout.declared_number);
        let declared = five(&mut text, &layout.declared);
        let query = layout.query.as_ref().map(|q| five(&mut text, q));
        let mut candidates = Vec::new();
        let mut group_of = Vec::new();
        for (g, group) in layout.candidates.iter().enumerate() {
            let fields = five(&mut text, &group.fields);
            let mut number = text(group.number);
            let empty = [
                &fields.kanji_name,
                &fields.kana_name,
                &fields.birth_date,
                &fields.sex,
                &fields.address,
                &number,
            ]
            .iter()
            .all(|s| s.trim().is_empty());
            if empty {
                // A group left wholly empty is absent (all empty: J-LIS returned nobody).
                continue;
            }
            let mut entry = g;
            if number.trim().is_empty() && group.number_defaults_to_registered {
                number.clone_from(&declared_number);
                entry += layout.candidates.len();
            }
            candidates.push(pb::Candidate {
                fields: Some(fields),
                individual_number: number,
            });
            group_of.push(entry);
        }
        let subject_kind = match self.defaults.subject_kind {
            Some(kind) => kind,
            None => match kind_text.trim() {
                "" => pb::SubjectKind::Unspecified,
                "member" | "組合員" | "被保険者" => pb::SubjectKind::Member,
                "dependent" | "被扶養者" => pb::SubjectKind::Dependent,
                _ => {
                    errors.push(RowError {
                        kind: RowErrorKind::Value,
                        column: column_name(layout, layout.subject_kind),
                        message: "must be member or dependent".into(),
                    });
                    pb::SubjectKind::Unspecified
                }
            },
        };
        let received_at = match received_text.trim() {
            "" => None,
            date => match received_at(date) {
                Some(t) => Some(respond::timestamp(t)),
                None => {
                    errors.push(RowError {
                        kind: RowErrorKind::Value,
                        column: column_name(layout, layout.received_at),
                        message: "must be a date YYYY-MM-DD".into(),
                    });
                    None
                }
            },
        };
        if decode::encode(self.output_encoding, &subject_id).is_none() {
            errors.push(RowError {
                kind: RowErrorKind::OutputEncoding,
                column: column_name(layout, layout.subject_id),
                message: format!(
                    "has a character that {} cannot hold (the result file's encoding)",
                    self.output_encoding.name()
                ),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let request_id = match (request_id.is_empty(), &self.namespace) {
            (false, _) => request_id,
            (true, Some(ns)) => derived_request_id(ns, line),
            (true, None) => DRY_RUN_REQUEST_ID.to_owned(),
        };
        let request = pb::VerifyRequest {
            request_id,
            insurer_number,
            subject_id: subject_id.clone(),
            subject_kind: subject_kind.into(),
            declared: Some(declared),
            query,
            candidates,
            declared_individual_number: declared_number,
            received_at,
        };
        Ok(Prepared {
            line,
            subject_id,
            request,
            group_of,
        })
    }

    /// The row errors of request field violations, each under the column it came from.
    pub fn errors_from_violations<'a>(
        &self,
        group_of: &[usize],
        violations: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<RowError> {
        violations
            .into_iter()
            .map(|(field, description)| {
                let column = match field {
                    "insurer_number" if self.defaults.insurer.is_some() => "--insurer".to_owned(),
                    _ => {
                        match crate::roster::columns::column_of_path(&self.layout, field, group_of)
                        {
                            Some(i) => self.layout.name(i).to_owned(),
                            None => field.to_owned(),
                        }
                    }
                };
                RowError {
                    kind: RowErrorKind::Value,
                    column,
                    message: description.to_owned(),
                }
            })
            .collect()
    }

    /// Row errors from the core's field violations.
    pub fn errors_from(&self, group_of: &[usize], violations: &[FieldViolation]) -> Vec<RowError> {
        self.errors_from_violations(
            group_of,
            violations
                .iter()
                .map(|v| (v.field.as_str(), v.description.as_str())),
        )
    }
}

/// `s` without byte order marks at either end (a BOM that an editor left inside a cell or at
/// the start of a spliced file). Almost no cell has one: its first and last bytes tell.
fn without_bom(s: &str) -> &str {
    let (first, last) = (s.as_bytes().first(), s.as_bytes().last());
    if first == Some(&0xEF) || last == Some(&0xBF) {
        s.trim_matches('\u{FEFF}')
    } else {
        s
    }
}

fn column_name(layout: &Layout, index: Option<usize>) -> String {
    index.map_or_else(|| "?".to_owned(), |i| layout.name(i).to_owned())
}

/// Midnight in Japan (UTC+9) of the date `YYYY-MM-DD`: when a form received that day started
/// its registration clock.
pub fn received_at(date: &str) -> Option<SystemTime> {
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    if d > days_in_month[(m - 1) as usize] {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = u64::try_from(days * 86_400 - 9 * 3_600).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Whether `id` is acceptable as a request id (the rules of [`ids::canonical`]).
pub fn is_valid_request_id(id: &str) -> bool {
    ids::canonical(id).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_date_is_midnight_in_japan() {
        let t = received_at("2026-11-20").unwrap();
        let s = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        // 2026-11-20T00:00+09:00 = 2026-11-19T15:00Z
        assert_eq!(s, 1_795_100_400);
        for bad in ["2026-02-29", "2026-13-01", "20261120", "2026-1-1", ""] {
            assert!(received_at(bad).is_none(), "{bad}");
        }
        assert!(received_at("2024-02-29").is_some());
    }

    #[test]
    fn a_roster_date_has_the_deadline_of_a_verify_received_at_any_hour_that_day() {
        use crate::domain::deadline::register_by;
        let day = received_at("2026-11-20").unwrap();
        // 2026-11-26T00:00+09:00: the end of the fifth day after the 20th.
        let due = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_446_000 + 2 * 86_400);
        assert_eq!(register_by(day), Some(due));
        let last_minute = day + Duration::from_secs(86_400 - 60);
        assert_eq!(register_by(last_minute), Some(due));
    }

    #[test]
    fn byte_order_marks_at_either_end_of_a_cell_are_dropped() {
        for (cell, bare) in [
            ("\u{FEFF}山田", "山田"),
            ("山田\u{FEFF}", "山田"),
            ("\u{FEFF}\u{FEFF}山田\u{FEFF}", "山田"),
            ("山\u{FEFF}田", "山\u{FEFF}田"),
            ("山田", "山田"),
            ("", ""),
            ("\u{FEFF}", ""),
        ] {
            assert_eq!(without_bom(cell), bare, "{cell:?}");
        }
    }

    #[test]
    fn derived_ids_are_stable_bounded_and_differ_by_line() {
        let ns = namespace(&[7; 32], "kind=reverse");
        let a = derived_request_id(&ns, 2);
        assert_eq!(a, derived_request_id(&ns, 2));
        assert_ne!(a, derived_request_id(&ns, 3));
        assert_ne!(
            a,
            derived_request_id(&namespace(&[8; 32], "kind=reverse"), 2)
        );
        assert!(is_valid_request_id(&a));
        assert_eq!(a.len(), 37);
    }
}
