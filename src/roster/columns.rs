//! Which column of a roster holds what.
//!
//! Every value has a logical name (`form_kanji_name`, `candidate2_number`, `jlis_sex` …). By
//! default the header names are the logical names; a `--columns` file maps them to a user's
//! own header names, or to 1-based column positions for files without a header:
//!
//! ```toml
//! kind = "reverse"        # optional; else --kind, else detected from the header
//! header = true           # false: the file has no header row, every column is a position
//! [columns]
//! subject_id = "記号番号"  # a header name
//! kanji_name = 4          # a position (1-based)
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{
    contract::parse::MAX_CANDIDATES,
    domain::{
        Field,
        fields::{
            birth_date::{BirthDate, Precision},
            sex::Sex,
        },
    },
    roster::Kind,
};

/// How many candidate groups a registration roster has by default.
pub const DEFAULT_CANDIDATE_GROUPS: usize = 3;

/// The header of a registration roster.
pub const REGISTRATION_COLUMNS: [&str; 34] = [
    "request_id",
    "insurer_number",
    "subject_id",
    "subject_kind",
    "received_at",
    "form_number",
    "form_kanji_name",
    "form_kana_name",
    "form_birth_date",
    "form_sex",
    "form_address",
    "query_kanji_name",
    "query_kana_name",
    "query_birth_date",
    "query_sex",
    "query_address",
    "candidate1_kanji_name",
    "candidate1_kana_name",
    "candidate1_birth_date",
    "candidate1_sex",
    "candidate1_address",
    "candidate1_number",
    "candidate2_kanji_name",
    "candidate2_kana_name",
    "candidate2_birth_date",
    "candidate2_sex",
    "candidate2_address",
    "candidate2_number",
    "candidate3_kanji_name",
    "candidate3_kana_name",
    "candidate3_birth_date",
    "candidate3_sex",
    "candidate3_address",
    "candidate3_number",
];

/// The header of a reverse roster.
pub const REVERSE_COLUMNS: [&str; 16] = [
    "request_id",
    "insurer_number",
    "subject_id",
    "subject_kind",
    "registered_number",
    "kanji_name",
    "kana_name",
    "birth_date",
    "sex",
    "address",
    "jlis_kanji_name",
    "jlis_kana_name",
    "jlis_birth_date",
    "jlis_sex",
    "jlis_address",
    "jlis_number",
];

impl Kind {
    /// The default header row of this kind: the logical column names, in the order
    /// `gen-roster` writes them.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Registration => &REGISTRATION_COLUMNS,
            Kind::Reverse => &REVERSE_COLUMNS,
        }
    }
}

/// A column named by its header or by its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ColumnRef {
    /// The header name.
    Name(String),
    /// The 1-based position.
    Position(usize),
}

/// A `--columns` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsFile {
    /// The roster's kind, if the file says.
    pub kind: Option<Kind>,
    /// Whether the file has a header row (default true).
    pub header: Option<bool>,
    /// Logical name → column.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRef>,
}

impl ColumnsFile {
    /// Parses a mapping file; the error says what is wrong, never a value of the roster.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: ColumnsFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        for name in file.columns.keys() {
            if !is_logical_name(name) {
                return Err(format!("unknown column name `{name}` in [columns]"));
            }
        }
        Ok(file)
    }

    /// Whether the file has a header row.
    pub fn has_header(&self) -> bool {
        self.header.unwrap_or(true)
    }
}

/// The suffixes of the five fields in column names, in [`Field::ALL`] order.
pub const FIELD_SUFFIXES: [&str; 5] = ["kanji_name", "kana_name", "birth_date", "sex", "address"];

const COMMON: [&str; 4] = ["request_id", "insurer_number", "subject_id", "subject_kind"];

fn is_logical_name(name: &str) -> bool {
    if COMMON.contains(&name)
        || [
            "received_at",
            "form_number",
            "registered_number",
            "jlis_number",
        ]
        .contains(&name)
    {
        return true;
    }
    let field_of = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| FIELD_SUFFIXES.contains(&rest))
    };
    if field_of("form_")
        || field_of("query_")
        || field_of("jlis_")
        || FIELD_SUFFIXES.contains(&name)
    {
        return true;
    }
    candidate_group(name).is_some()
}

/// `candidate{k}_…` → k (1-based), for k up to the contract's limit.
fn candidate_group(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("candidate")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let k: usize = rest[..digits].parse().ok()?;
    let suffix = rest[digits..].strip_prefix('_')?;
    ((1..=MAX_CANDIDATES).contains(&k) && (suffix == "number" || FIELD_SUFFIXES.contains(&suffix)))
        .then_some(k)
}

/// The columns of one candidate group.
#[derive(Debug, Clone, Default)]
pub struct CandidateColumns {
    /// The five fields.
    pub fields: [Option<usize>; 5],
    /// The candidate's number.
    pub number: Option<usize>,
    /// For reverse rosters: the registered number stands in when this column is empty.
    pub number_defaults_to_registered: bool,
}

/// The columns of a roster, resolved against its header: indices into each record.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Which kind.
    pub kind: Kind,
    /// The caller's request id (may be empty per row).
    pub request_id: Option<usize>,
    /// 保険者番号.
    pub insurer_number: Option<usize>,
    /// The insurer's id for the person.
    pub subject_id: Option<usize>,
    /// member | dependent.
    pub subject_kind: Option<usize>,
    /// When the form was received (registration).
    pub received_at: Option<usize>,
    /// The number on the form (registration) or the registered number (reverse).
    pub declared_number: Option<usize>,
    /// The form (registration) or the insurer's record (reverse).
    pub declared: [Option<usize>; 5],
    /// The J-LIS query (registration only).
    pub query: Option<[Option<usize>; 5]>,
    /// The candidate groups.
    pub candidates: Vec<CandidateColumns>,
    /// A name for each column, for error messages: its header, or `column N`.
    pub names: Vec<String>,
    /// How many columns a record must have.
    pub width: usize,
}

impl Layout {
    /// The display name of column `index`.
    pub fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("?", String::as_str)
    }

    /// Whether column `index` is read for anything.
    fn reads(&self, index: usize) -> bool {
        let one = |c: Option<usize>| c == Some(index);
        let five = |cols: &[Option<usize>; 5]| cols.iter().any(|c| one(*c));
        one(self.request_id)
            || one(self.insurer_number)
            || one(self.subject_id)
            || one(self.subject_kind)
            || one(self.received_at)
            || one(self.declared_number)
            || five(&self.declared)
            || self.query.as_ref().is_some_and(five)
            || self
                .candidates
                .iter()
                .any(|g| five(&g.fields) || one(g.number))
    }
}

/// Refuses a header column that nothing reads (a misspelled `recieved_at` would otherwise lose
/// every deadline without a word), suggesting the nearest known name; unless the caller said
/// extra columns are expected (`--ignore-extra-columns`).
pub fn refuse_unread_columns(layout: &Layout, header: &[String]) -> Result<(), String> {
    let here = logical_names(layout.kind, layout.candidates.len());
    let mut known = here.clone();
    let other = match layout.kind {
        Kind::Registration => Kind::Reverse,
        Kind::Reverse => Kind::Registration,
    };
    known.extend(logical_names(other, DEFAULT_CANDIDATE_GROUPS));
    let unread: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !layout.reads(*i))
        .map(|(i, name)| {
            let shown = if name.is_empty() {
                format!("column {} (no name)", i + 1)
            } else {
                format!("`{name}`")
            };
            let elsewhere = format!("a {} roster does not read it", layout.kind.id());
            match nearest(name, &known) {
                Some(near) if here.iter().any(|h| h == near) => {
                    format!("{shown} (did you mean `{near}`?)")
                }
                Some(near) => format!("{shown} (did you mean `{near}`? {elsewhere})"),
                None if is_logical_name(name) => format!("{shown} ({elsewhere})"),
                None => shown,
            }
        })
        .collect();
    if unread.is_empty() {
        return Ok(());
    }
    let more = if unread.len() > 5 {
        format!(" and {} more", unread.len() - 5)
    } else {
        String::new()
    };
    Err(format!(
        "the header has columns that nothing reads: {}{more}. Rename them, map them in a \
         --columns file, or give --ignore-extra-columns if the file has columns of its own",
        unread[..unread.len().min(5)].join(", ")
    ))
}

/// Every logical column name of a roster of `kind` with `groups` candidate groups.
fn logical_names(kind: Kind, groups: usize) -> Vec<String> {
    let mut names: Vec<String> = COMMON.iter().map(|s| (*s).to_owned()).collect();
    let with = |prefix: &str| -> Vec<String> {
        FIELD_SUFFIXES
            .iter()
            .map(|f| format!("{prefix}{f}"))
            .collect()
    };
    match kind {
        Kind::Registration => {
            names.extend(["received_at", "form_number"].map(str::to_owned));
            names.extend(with("form_"));
            names.extend(with("query_"));
            for k in 1..=groups.max(DEFAULT_CANDIDATE_GROUPS) {
                names.extend(with(&format!("candidate{k}_")));
                names.push(format!("candidate{k}_number"));
            }
        }
        Kind::Reverse => {
            names.push("registered_number".into());
            names.extend(with(""));
            names.extend(with("jlis_"));
            names.push("jlis_number".into());
        }
    }
    names
}

/// The known name nearest to `name` when it is close enough to be a misspelling of it: at
/// most a third of its length in edits (`recieved_at` → `received_at`, `requestid` →
/// `request_id`), case and `-`/space for `_` not counted.
fn nearest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let plain = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    known
        .iter()
        .filter(|k| k.as_str() != name)
        .map(|k| (edit_distance(&plain, k), k))
        .filter(|(d, k)| *d * 3 <= k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// Refuses a header row that looks like data: a cell made of digits and date or number
/// separators (an individual number, a birth date, an insurer number) or a sex code. A file
/// without a header, mapped by positions with `header` left at its default, would otherwise
/// lose its first person to the header and name columns by their values. The message names
/// the column, never the value.
pub fn refuse_data_as_header(header: &[String]) -> Result<(), String> {
    let looks_like_a_value = |cell: &str| {
        let digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
        let number_like = cell.chars().any(digit)
            && cell
                .chars()
                .all(|c| digit(c) || "-/.:_ 　－‐−ー".contains(c));
        number_like
            || BirthDate::parse(cell).precision() != Precision::Unparseable
                && !cell.trim().is_empty()
            || Sex::parse(cell).code().is_some()
    };
    match header.iter().position(|h| looks_like_a_value(h)) {
        None => Ok(()),
        Some(i) => Err(format!(
            "the first row looks like data, not a header (column {} holds a number, a date or a \
             sex code): if the file has no header row, set header = false in the --columns file \
             and map the columns by position",
            i + 1
        )),
    }
}

/// The kind a header's names imply, when they imply exactly one.
pub fn detect_kind(header: &[String], mapping: &ColumnsFile) -> Option<Kind> {
    let has = |n: &str| header.iter().any(|h| h == n) || mapping.columns.contains_key(n);
    let registration = has("form_kanji_name") || has("query_kanji_name");
    let reverse = has("jlis_kanji_name") || has("registered_number");
    match (registration, reverse) {
        (true, false) => Some(Kind::Registration),
        (false, true) => Some(Kind::Reverse),
        _ => None,
    }
}

/// Resolves the logical columns of `kind` against `header` (empty for a file without one,
/// then `width` is the first record's length) and the mapping.
pub fn resolve(
    kind: Kind,
    header: Option<&[String]>,
    width: usize,
    mapping: &ColumnsFile,
    optional_flags: &[&str],
) -> Result<Layout, String> {
    let names: Vec<String> = match header {
        Some(h) => h.to_vec(),
        None => (1..=width).map(|i| format!("column {i}")).collect(),
    };
    let find = |logical: &str| -> Result<Option<usize>, String> {
        match mapping.columns.get(logical) {
            Some(ColumnRef::Position(p)) => {
                if *p == 0 || *p > width {
                    Err(format!(
                        "--columns puts {logical} at position {p}, but rows have {width} columns"
                    ))
                } else {
                    Ok(Some(p - 1))
                }
            }
            Some(ColumnRef::Name(n)) => {
                match header {
                    None => Err(format!(
                        "--columns names a header for {logical}, but the file has no header \
                     (header = false): give a position"
                    )),
                    Some(h) => h.iter().position(|x| x == n).map(Some).ok_or_else(|| {
                        format!("--columns maps {logical} to a header the file lacks")
                    }),
                }
            }
            None => Ok(header.and_then(|h| h.iter().position(|x| x == logical))),
        }
    };
    let required = |logical: &str| -> Result<Option<usize>, String> {
        match find(logical)? {
            Some(i) => Ok(Some(i)),
            None if optional_flags.contains(&logical) => Ok(None),
            None => Err(format!(
                "the roster has no {logical} column (name it in the header or in --columns)"
            )),
        }
    };
    let five = |prefix: &str| -> Result<[Option<usize>; 5], String> {
        let mut out = [None; 5];
        for (slot, suffix) in out.iter_mut().zip(FIELD_SUFFIXES) {
            *slot = required(&format!("{prefix}{suffix}"))?;
        }
        Ok(out)
    };
    let mut layout = Layout {
        kind,
        request_id: find("request_id")?,
        insurer_number: required("insurer_number")?,
        subject_id: required("subject_id")?,
        subject_kind: required("subject_kind")?,
        received_at: None,
        declared_number: None,
        declared: [None; 5],
        query: None,
        candidates: Vec::new(),
        names,
        width,
    };
    match kind {
        Kind::Registration => {
            layout.received_at = find("received_at")?;
            layout.declared_number = find("form_number")?;
            layout.declared = five("form_")?;
            layout.query = Some(five("query_")?);
            let mut groups = DEFAULT_CANDIDATE_GROUPS;
            for name in mapping
                .columns
                .keys()
                .map(String::as_str)
                .chain(header.into_iter().flatten().map(String::as_str))
            {
                if let Some(k) = candidate_group(name) {
                    groups = groups.max(k);
                }
            }
            for k in 1..=groups {
                let mut group = CandidateColumns::default();
                for (slot, suffix) in group.fields.iter_mut().zip(FIELD_SUFFIXES) {
                    *slot = find(&format!("candidate{k}_{suffix}"))?;
                }
                group.number = find(&format!("candidate{k}_number"))?;
                let present = group.fields.iter().filter(|f| f.is_some()).count()
                    + usize::from(group.number.is_some());
                match present {
                    0 => {}
                    6 => layout.candidates.push(group),
                    _ => {
                        return Err(format!(
                            "candidate group {k} has only some of its six columns \
                             (candidate{k}_kanji_name … candidate{k}_number)"
                        ));
                    }
                }
            }
        }
        Kind::Reverse => {
            layout.declared_number = required("registered_number")?;
            layout.declared = five("")?;
            let fields = five("jlis_")?;
            layout.candidates.push(CandidateColumns {
                fields,
                number: find("jlis_number")?,
                number_defaults_to_registered: true,
            });
        }
    }
    Ok(layout)
}

/// The column of a request field path (`declared.kanji_name`, `candidates[1].fields.sex`,
/// `candidates[0].individual_number` …), as the row layer names it. `group_of` maps a
/// request's candidate index back to its group in the layout (empty groups are skipped); an
/// entry of `groups + g` is group `g` whose empty number column was filled from the registered
/// number, so a bad number is reported where it was written.
pub fn column_of_path(layout: &Layout, path: &str, group_of: &[usize]) -> Option<usize> {
    let field = |suffix: &str| Field::from_id(suffix).map(|f| f as usize);
    match path {
        "request_id" => return layout.request_id,
        "insurer_number" => return layout.insurer_number,
        "subject_id" => return layout.subject_id,
        "subject_kind" => return layout.subject_kind,
        "received_at" => return layout.received_at,
        "declared_individual_number" => return layout.declared_number,
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("declared.") {
        return layout.declared[field(rest)?];
    }
    if let Some(rest) = path.strip_prefix("query.") {
        return layout.query?[field(rest)?];
    }
    let rest = path.strip_prefix("candidates[")?;
    let (index, rest) = rest.split_once(']')?;
    let entry = *group_of.get(index.parse::<usize>().ok()?)?;
    let groups = layout.candidates.len();
    let (group, from_registered) = if entry >= groups {
        (layout.candidates.get(entry - groups)?, true)
    } else {
        (&layout.candidates[entry], false)
    };
    if rest == ".individual_number" {
        return if from_registered {
            layout.declared_number
        } else {
            group.number
        };
    }
    group.fields[field(rest.strip_prefix(".fields.")?)?]
}

#[cfg(test)]
mod tests;
