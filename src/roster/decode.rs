//! Text encodings of roster files: UTF-8 (with or without BOM) and CP932 (Shift_JIS with the
//! Microsoft extensions, as older municipal and insurer systems write it).
//!
//! Records are split on raw bytes — CP932 never uses the bytes of `,` `"` CR or LF inside a
//! character — and each field is decoded on its own, so a byte sequence that does not decode
//! is reported for its row and column. Nothing is ever replaced: a replacement character would
//! reach the comparison as a 外字 substitute mark, which matches any character.

use std::borrow::Cow;

/// What `--encoding` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EncodingArg {
    /// A UTF-8 BOM, or a head of the file that is valid UTF-8, means UTF-8; else CP932.
    Auto,
    /// UTF-8, with or without a BOM.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// CP932 (Windows-31J, Shift_JIS).
    #[value(name = "cp932", alias = "shift_jis", alias = "sjis")]
    Cp932,
}

/// A file's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8.
    Utf8,
    /// CP932.
    Cp932,
}

impl TextEncoding {
    /// The name shown in summaries and reports.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Cp932 => "CP932",
        }
    }
}

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The encoding of a file whose first bytes are `head`, and whether it starts with a BOM.
pub fn detect(arg: EncodingArg, head: &[u8], head_is_whole_file: bool) -> (TextEncoding, bool) {
    let bom = head.starts_with(BOM);
    let encoding = match arg {
        EncodingArg::Utf8 => TextEncoding::Utf8,
        EncodingArg::Cp932 => TextEncoding::Cp932,
        EncodingArg::Auto if bom => TextEncoding::Utf8,
        EncodingArg::Auto => match std::str::from_utf8(head) {
            Ok(_) => TextEncoding::Utf8,
            // A multi-byte character cut by the end of the head is still UTF-8.
            Err(e) if e.error_len().is_none() && !head_is_whole_file => TextEncoding::Utf8,
            Err(_) => TextEncoding::Cp932,
        },
    };
    (encoding, bom && encoding == TextEncoding::Utf8)
}

/// One field's text; `None` when its bytes are not valid in `encoding`.
pub fn decode(encoding: TextEncoding, bytes: &[u8]) -> Option<Cow<'_, str>> {
    match encoding {
        TextEncoding::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        TextEncoding::Cp932 => {
            if bytes.is_ascii() {
                // ASCII is the same in CP932 except 0x5C, which Windows shows as ¥ but
                // encoding_rs (like Windows' own converter) decodes as a backslash too.
                return std::str::from_utf8(bytes).ok().map(Cow::Borrowed);
            }
            encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes)
        }
    }
}

/// The fields of one record, decoded one by one.
///
/// With UTF-8 the whole record is validated once, where SIMD pays (a cell is shorter than the
/// block that SIMD validation works on, and shorter inputs fall back to scalar code); a field
/// of a valid record is then valid exactly when it starts and ends on character boundaries,
/// which slicing checks. Anything else is decoded field by field, so an invalid byte is still
/// reported for its own column.
pub struct RecordFields<'r> {
    encoding: TextEncoding,
    record: &'r csv::ByteRecord,
    whole: Option<&'r str>,
}

impl<'r> RecordFields<'r> {
    /// The fields of `record` in `encoding`.
    pub fn new(encoding: TextEncoding, record: &'r csv::ByteRecord) -> Self {
        let whole = match encoding {
            TextEncoding::Utf8 => simdutf8::basic::from_utf8(record.as_slice()).ok(),
            TextEncoding::Cp932 => None,
        };
        RecordFields {
            encoding,
            record,
            whole,
        }
    }

    /// Field `i`'s text (empty when the record has no such field); `None` when its bytes are
    /// not valid in the encoding.
    pub fn get(&self, i: usize) -> Option<Cow<'r, str>> {
        let Some(range) = self.record.range(i) else {
            return Some(Cow::Borrowed(""));
        };
        if let Some(text) = self.whole.and_then(|w| w.get(range.clone())) {
            return Some(Cow::Borrowed(text));
        }
        decode(self.encoding, &self.record.as_slice()[range])
    }
}

/// `text` in `encoding`; `None` when CP932 cannot hold one of its characters.
pub fn encode(encoding: TextEncoding, text: &str) -> Option<Cow<'_, [u8]>> {
    match encoding {
        TextEncoding::Utf8 => Some(Cow::Borrowed(text.as_bytes())),
        TextEncoding::Cp932 if text.is_ascii() => Some(Cow::Borrowed(text.as_bytes())),
        TextEncoding::Cp932 => {
            let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
            (!unmappable).then_some(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp932_round_trips_names_and_refuses_what_it_cannot_hold() {
        let name = "髙橋 ｼﾖｳｲﾁ ①";
        let bytes = encode(TextEncoding::Cp932, name).unwrap();
        assert_eq!(decode(TextEncoding::Cp932, &bytes).unwrap(), name);
        assert!(encode(TextEncoding::Cp932, "𠮷野").is_none());
        assert!(
            decode(TextEncoding::Cp932, b"\x82").is_none(),
            "a lone lead byte"
        );
    }

    #[test]
    fn a_record_decodes_field_by_field_whether_or_not_it_is_valid_as_a_whole() {
        let mut record = csv::ByteRecord::new();
        record.push_field("山田".as_bytes());
        record.push_field(b"");
        // One character split across two fields: the whole record is valid UTF-8, neither
        // field is.
        let kana = "ア".as_bytes();
        record.push_field(&kana[..1]);
        record.push_field(&kana[1..]);
        record.push_field(b"\xff");
        record.push_field("花子".as_bytes());
        for utf8_whole in [false, true] {
            let mut r = record.clone();
            if utf8_whole {
                r.truncate(4);
            }
            let fields = RecordFields::new(TextEncoding::Utf8, &r);
            assert_eq!(fields.get(0).as_deref(), Some("山田"));
            assert_eq!(fields.get(1).as_deref(), Some(""));
            assert_eq!(fields.get(2), None);
            assert_eq!(fields.get(3), None);
            if !utf8_whole {
                assert_eq!(fields.get(4), None);
                assert_eq!(fields.get(5).as_deref(), Some("花子"));
            }
            assert_eq!(fields.get(9).as_deref(), Some(""), "no such field");
        }
    }

    #[test]
    fn a_bom_or_valid_utf8_means_utf8() {
        assert_eq!(
            detect(EncodingArg::Auto, b"\xEF\xBB\xBFa,b", true),
            (TextEncoding::Utf8, true)
        );
        assert_eq!(
            detect(EncodingArg::Auto, "氏名".as_bytes(), true).0,
            TextEncoding::Utf8
        );
        let sjis = encode(TextEncoding::Cp932, "氏名").unwrap().into_owned();
        assert_eq!(
            detect(EncodingArg::Auto, &sjis, true).0,
            TextEncoding::Cp932
        );
        assert!(decode(TextEncoding::Utf8, &sjis).is_none());
    }
}
