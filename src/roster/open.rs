//! Opening a roster: what `bulk` works out before the first row is read — the encoding (a BOM,
//! valid UTF-8 or CP932), the line ends, the header or its absence, the kind, the columns, the
//! flags that stand in for columns, and the namespace of the request ids derived for rows
//! without one.
//!
//! Everything here refuses with a sentence that names the flag, the file or the column, never a
//! value: a roster is personal data.

use std::{
    fs::File,
    io::{BufReader, Read, Seek, SeekFrom},
    path::Path,
    sync::Arc,
};

use csv::ByteRecord;
use sha2::{Digest, Sha256};

use crate::{
    contract::pb,
    domain::ids::InsurerNumber,
    roster::{
        Kind,
        columns::{self, ColumnRef, ColumnsFile, Layout},
        decode::{self, EncodingArg, TextEncoding},
        row::{self, Defaults, RowContext},
    },
};

/// What opening a roster takes: the file and the flags that shape how it is read.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions<'a> {
    /// The roster.
    pub roster: &'a Path,
    /// `--encoding`.
    pub encoding: EncodingArg,
    /// `--output-encoding` (default: the roster's).
    pub output_encoding: Option<EncodingArg>,
    /// `--kind` (default: the mapping file's, else detected from the header).
    pub kind: Option<Kind>,
    /// `--columns`.
    pub columns: Option<&'a Path>,
    /// `--subject-id-column`.
    pub subject_id_column: Option<&'a str>,
    /// `--insurer`.
    pub insurer: Option<&'a str>,
    /// `--subject-kind`.
    pub subject_kind: Option<pb::SubjectKind>,
    /// `--ignore-extra-columns`.
    pub ignore_extra_columns: bool,
    /// Whether the run stores its decisions (embedded or through a server): only then do rows
    /// without a request id need derived ones.
    pub stores: bool,
}

/// A roster opened: how to read its rows, and the reader positioned at the first data row.
pub struct Opened {
    /// How each row becomes a request.
    pub ctx: Arc<RowContext>,
    /// Whether the result and errors files start with a UTF-8 BOM (the roster did).
    pub bom_out: bool,
    /// The records after the header.
    pub reader: csv::Reader<BufReader<File>>,
    /// The first data row, when the file has no header (it was read to count the columns).
    pub first: Option<ByteRecord>,
    /// The file's size, for progress.
    pub file_len: u64,
    /// Whether lines end in CRLF (the first line does).
    pub crlf: bool,
}

/// Why a roster cannot be read: a sentence naming the flag, file or column.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(pub String);

impl From<String> for OpenError {
    fn from(s: String) -> Self {
        OpenError(s)
    }
}

impl From<&str> for OpenError {
    fn from(s: &str) -> Self {
        OpenError(s.to_owned())
    }
}

/// Opens the roster as `args` say.
pub fn open(args: &OpenOptions<'_>) -> Result<Opened, OpenError> {
    let path = args.roster;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut file = File::open(path).map_err(cannot)?;
    let file_len = file.metadata().map_err(cannot)?.len();
    let mut head = vec![0; 1 << 20];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]).map_err(cannot)? {
            0 => break,
            n => filled += n,
        }
    }
    head.truncate(filled);
    let crlf = head
        .iter()
        .position(|b| *b == b'\n')
        .is_some_and(|i| i > 0 && head[i - 1] == b'\r');
    let (encoding, bom) = decode::detect(args.encoding, &head, (filled as u64) == file_len);
    let output_encoding = match args.output_encoding {
        None | Some(EncodingArg::Auto) => encoding,
        Some(EncodingArg::Utf8) => TextEncoding::Utf8,
        Some(EncodingArg::Cp932) => TextEncoding::Cp932,
    };
    let mut mapping = match args.columns {
        None => ColumnsFile::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            ColumnsFile::from_toml(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
    };
    if let Some(name) = args.subject_id_column {
        mapping
            .columns
            .insert("subject_id".into(), ColumnRef::Name(name.to_owned()));
    }
    if let Some(insurer) = args.insurer
        && !InsurerNumber::is_valid(insurer)
    {
        return Err("--insurer must be 8 digits (保険者番号)".into());
    }
    file.seek(SeekFrom::Start(if bom { 3 } else { 0 }))
        .map_err(cannot)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(BufReader::with_capacity(1 << 20, file));
    let mut first = ByteRecord::new();
    let has_first = reader
        .read_byte_record(&mut first)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let header: Option<Vec<String>> = if mapping.has_header() {
        if !has_first {
            return Err(format!("{} is empty: no header row", path.display()).into());
        }
        let names = first
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                decode::decode(encoding, bytes)
                    .map(|s| s.trim().to_owned())
                    .ok_or_else(|| {
                        format!("header column {}: is not valid {}", i + 1, encoding.name())
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        columns::refuse_data_as_header(&names)?;
        Some(names)
    } else {
        None
    };
    let first = match (&header, has_first) {
        (None, true) => Some(first),
        _ => None,
    };
    let width = header
        .as_ref()
        .map(Vec::len)
        .or_else(|| first.as_ref().map(ByteRecord::len))
        .unwrap_or(0);
    let kind = args
        .kind
        .or(mapping.kind)
        .or_else(|| {
            header
                .as_deref()
                .and_then(|h| columns::detect_kind(h, &mapping))
        })
        .ok_or("cannot tell the roster's kind from its header: give --kind registration|reverse")?;
    let mut optional = vec!["subject_kind"];
    if args.insurer.is_some() {
        optional.push("insurer_number");
    }
    let layout = columns::resolve(kind, header.as_deref(), width, &mapping, &optional)?;
    if let Some(header) = &header
        && !args.ignore_extra_columns
    {
        columns::refuse_unread_columns(&layout, header)?;
    }
    if args.insurer.is_some() && layout.insurer_number.is_some() {
        return Err(
            "the roster has an insurer_number column and --insurer was given: use one".into(),
        );
    }
    if args.subject_kind.is_none() && layout.subject_kind.is_none() {
        return Err(
            "the roster has no subject_kind column: give --subject-kind member|dependent (every \
             decision is about a member or a dependent)"
                .into(),
        );
    }
    if args.subject_kind.is_some() && layout.subject_kind.is_some() {
        return Err(
            "the roster has a subject_kind column and --subject-kind was given: use one".into(),
        );
    }
    let defaults = Defaults {
        insurer: args.insurer.map(str::to_owned),
        subject_kind: args.subject_kind,
    };
    let namespace = if args.stores {
        let parameters = namespace_parameters(&layout, encoding, &defaults);
        Some(row::namespace(&file_sha256(path)?, &parameters))
    } else {
        None
    };
    Ok(Opened {
        ctx: Arc::new(RowContext {
            layout,
            encoding,
            output_encoding,
            defaults,
            namespace,
        }),
        bom_out: bom && output_encoding == TextEncoding::Utf8,
        reader,
        first,
        file_len,
        crlf,
    })
}

/// SHA-256 of the whole file: the identity its derived request ids hang on.
fn file_sha256(path: &Path) -> Result<[u8; 32], OpenError> {
    let cannot = |e: std::io::Error| OpenError(format!("cannot read {}: {e}", path.display()));
    let mut file = File::open(path).map_err(cannot)?;
    let mut h = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display()).into()),
        }
    }
    Ok(h.finalize().into())
}

/// Which rows a derived request id names: the version of this encoding, then every parameter
/// that shapes a row's request (the columns each value is read from, the encoding, the flags
/// that stand in for columns), spelled out field by field.
///
/// Derived ids hang on it: a change of any input's spelling changes every derived id and breaks
/// "rows already decided come back unchanged". So it is written by hand (not a `Debug` of the
/// layout, which a renamed field would change silently) and pinned by a test. Version 1 was the
/// `Debug` form; ids derived under it are not derived again (a run started under version 1 and
/// resumed under version 2 decides its rows again, as new requests).
pub fn namespace_parameters(
    layout: &Layout,
    encoding: TextEncoding,
    defaults: &Defaults,
) -> String {
    use std::fmt::Write as _;
    let col = |c: Option<usize>| c.map_or_else(|| "-".to_owned(), |i| i.to_string());
    let five = |cols: &[Option<usize>; 5]| cols.map(col).join(",");
    let mut s = String::from("v2");
    let _ = write!(
        s,
        "|kind={}|encoding={}|width={}|request_id={}|insurer_number={}|subject_id={}\
         |subject_kind={}|received_at={}|declared_number={}|declared={}|query={}",
        layout.kind.id(),
        encoding.name(),
        layout.width,
        col(layout.request_id),
        col(layout.insurer_number),
        col(layout.subject_id),
        col(layout.subject_kind),
        col(layout.received_at),
        col(layout.declared_number),
        five(&layout.declared),
        layout.query.as_ref().map_or_else(|| "-".to_owned(), five),
    );
    for (k, group) in layout.candidates.iter().enumerate() {
        let _ = write!(
            s,
            "|candidate{}={};{};{}",
            k + 1,
            five(&group.fields),
            col(group.number),
            u8::from(group.number_defaults_to_registered)
        );
    }
    let _ = write!(
        s,
        "|insurer={}|subject_kind_flag={}",
        defaults.insurer.as_deref().unwrap_or("-"),
        defaults.subject_kind.map_or("-", |k| k.as_str_name())
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header `gen-roster` writes for a reverse roster.
    const REVERSE: [&str; 16] = columns::REVERSE_COLUMNS;

    #[test]
    fn the_request_id_namespace_is_pinned_to_its_inputs() {
        let header: Vec<String> = REVERSE.iter().map(|s| (*s).to_owned()).collect();
        let layout = columns::resolve(
            Kind::Reverse,
            Some(&header),
            header.len(),
            &ColumnsFile::default(),
            &[],
        )
        .unwrap();
        let defaults = Defaults {
            insurer: Some("32130011".into()),
            subject_kind: None,
        };
        let parameters = namespace_parameters(&layout, TextEncoding::Cp932, &defaults);
        assert_eq!(
            parameters,
            "v2|kind=reverse|encoding=CP932|width=16|request_id=0|insurer_number=1|subject_id=2\
             |subject_kind=3|received_at=-|declared_number=4|declared=5,6,7,8,9|query=-\
             |candidate1=10,11,12,13,14;15;1|insurer=32130011|subject_kind_flag=-"
        );
        // And the namespace itself, so that a change of the hashing is seen too.
        let ns = row::namespace(&[7; 32], &parameters);
        assert_eq!(
            hex::encode(ns),
            PINNED_NAMESPACE,
            "derived request ids would change: every run resumed after this change decides its \
             rows again"
        );
    }

    /// A roster file in a fresh directory, removed when dropped.
    struct Roster(std::path::PathBuf);

    impl Roster {
        fn new(bytes: &[u8]) -> Roster {
            let dir = std::env::temp_dir().join(format!("vi-open-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("roster.csv");
            std::fs::write(&path, bytes).unwrap();
            Roster(path)
        }
    }

    impl Drop for Roster {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
        }
    }

    fn options(path: &Path) -> OpenOptions<'_> {
        OpenOptions {
            roster: path,
            encoding: EncodingArg::Auto,
            output_encoding: None,
            kind: None,
            columns: None,
            subject_id_column: None,
            insurer: None,
            subject_kind: None,
            ignore_extra_columns: false,
            stores: true,
        }
    }

    const ROW: &str = ",32130011,S-1,member,123456789018,山田 太郎,ヤマダ タロウ,1975-01-01,1,東京都千代田区霞が関2-1-1,山田 太郎,ヤマダ タロウ,1975-01-01,1,東京都千代田区霞が関2-1-1,";

    #[test]
    fn a_bom_crlf_and_the_kind_are_found_from_the_file_itself() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(format!("{}\r\n{ROW}\r\n", REVERSE.join(",")).as_bytes());
        let roster = Roster::new(&bytes);
        let opened = open(&options(&roster.0)).unwrap();
        assert!(opened.crlf && opened.bom_out);
        assert_eq!(opened.ctx.encoding, TextEncoding::Utf8);
        assert_eq!(opened.ctx.layout.kind, Kind::Reverse);
        assert!(opened.first.is_none(), "the first row was the header");
        assert!(opened.ctx.namespace.is_some());
        let dry = open(&OpenOptions {
            stores: false,
            ..options(&roster.0)
        })
        .unwrap();
        assert!(
            dry.ctx.namespace.is_none(),
            "a dry run derives no request ids"
        );
    }

    #[test]
    fn a_roster_that_is_not_utf8_is_read_as_cp932() {
        let text = format!("{}\r\n{ROW}\r\n", REVERSE.join(","));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        let roster = Roster::new(&sjis);
        let opened = open(&options(&roster.0)).unwrap();
        assert_eq!(opened.ctx.encoding, TextEncoding::Cp932);
        assert!(!opened.bom_out);
    }

    #[test]
    fn flags_that_stand_in_for_columns_are_refused_beside_the_column() {
        let roster = Roster::new(format!("{}\n{ROW}\n", REVERSE.join(",")).as_bytes());
        let with = |o: OpenOptions<'_>| open(&o).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            with(OpenOptions {
                insurer: Some("32130011"),
                ..options(&roster.0)
            })
            .contains("use one")
        );
        assert!(
            with(OpenOptions {
                insurer: Some("3213"),
                ..options(&roster.0)
            })
            .contains("--insurer must be 8 digits")
        );
        assert!(
            with(OpenOptions {
                subject_kind: Some(pb::SubjectKind::Member),
                ..options(&roster.0)
            })
            .contains("use one")
        );
        let empty = Roster::new(b"");
        assert!(
            open(&options(&empty.0))
                .err()
                .unwrap()
                .to_string()
                .contains("is empty")
        );
    }

    /// The namespace of the test above.
    const PINNED_NAMESPACE: &str =
        "9e69b0cde0302ae617803c7c5e7e3ed5089b0af7749395f0962f401880730d94";
}
