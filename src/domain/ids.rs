//! The identifiers every request carries, validated once at the edge: a handler that holds one
//! of these never checks it again. Parsing errors describe the problem, never the value.

use std::fmt;

use crate::domain::text::chars;

/// The longest idempotency key or subject id accepted, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// Why an identifier was refused. The message never quotes the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty (or only spaces).
    #[error("is required")]
    Missing,
    /// Not 8 ASCII digits.
    #[error("must be 8 digits (保険者番号)")]
    NotAnInsurerNumber,
    /// Longer than [`MAX_ID_CHARS`].
    #[error("is longer than 128 characters")]
    TooLong,
    /// Holds a control character or a bidirectional formatting character.
    #[error("contains a control or bidirectional formatting character")]
    ControlCharacter,
    /// Holds an invisible or formatting character (zero-width, soft hyphen, BOM, tag …).
    #[error(
        "contains an invisible or formatting character (a zero-width space or joiner, a soft \
         hyphen, a byte order mark, a tag or variation selector): remove it"
    )]
    InvisibleCharacter,
    /// A note longer than [`MAX_NOTE_CHARS`].
    #[error("is longer than 2000 characters")]
    NoteTooLong,
    /// A note holding a control character other than a newline, or a bidirectional formatting
    /// character.
    #[error(
        "contains a control character other than a newline, or a bidirectional formatting character"
    )]
    NoteControlCharacter,
}

/// The longest operator's note accepted, in characters: a few paragraphs.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A 保険者番号: 8 ASCII digits. Every lookup is scoped by one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InsurerNumber(String);

impl InsurerNumber {
    /// Whether `s` is an insurer number.
    pub fn is_valid(s: &str) -> bool {
        s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit())
    }

    /// The insurer number `s`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if Self::is_valid(s) {
            Ok(InsurerNumber(s.to_owned()))
        } else {
            Err(IdError::NotAnInsurerNumber)
        }
    }

    /// The 8 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The service's id for one verification (its decision and what followed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerificationId(String);

impl VerificationId {
    /// A verification id: not blank, at most [`MAX_ID_CHARS`] characters, no control
    /// characters (an unknown one is then simply not found). Unbounded, a refused call would
    /// carry whatever a caller sent into the audit log.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        // The service writes them in lower case (UUID v7); one pasted in upper case is the
        // same id.
        Ok(VerificationId(canonical(s)?.to_ascii_lowercase()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The caller's idempotency key for a Verify.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// A request id in its [`canonical`] form. Case matters: an idempotency key is the
    /// caller's own string (a base64 key may differ only in case).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Ok(RequestId(canonical(s)?))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The insurer's own id for the person. Linkable to a person, so its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SubjectId(String);

impl SubjectId {
    /// A subject id in its [`canonical`] form, Latin letters in upper case.
    ///
    /// Case does not matter in a subject id: `s10` and `S10` are one person. The alternative,
    /// two people whose insurer ids differ only in case, would take an insurer that numbers its
    /// members that way; one person with two numbers (a fresh number committed for `s10`
    /// beside `S10`'s) is the harm this service exists to prevent. Folding errs on the side of
    /// a hold (`subject_has_another_number`), never of a second registration.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Ok(SubjectId(canonical(s)?.to_ascii_uppercase()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectId(<redacted>)")
    }
}

/// Who closed a hold, as the operators' desk names its staff. Recorded in the audit log and
/// shown to other operators, so bounded and without control characters (a newline could forge
/// a line in a log or a table).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OperatorId(String);

impl OperatorId {
    /// An operator id in its [`canonical`] form.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Ok(OperatorId(canonical(s)?))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An operator's note on a resolution: free text, possibly empty, kept in the audit log.
/// Newlines are allowed; other control characters (carriage returns, escapes) and
/// bidirectional formatting characters are not, as in ids.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Note(String);

impl Note {
    /// A note: at most [`MAX_NOTE_CHARS`] characters, no control character but `\n`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.chars().count() > MAX_NOTE_CHARS {
            Err(IdError::NoteTooLong)
        } else if s.chars().any(|c| {
            (c.is_control() && c != '\n') || crate::domain::text::chars::is_bidi_control(c)
        }) {
            Err(IdError::NoteControlCharacter)
        } else {
            Ok(Note(s.to_owned()))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Note {
    /// Free text an operator wrote: left out, as audit events leave it out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Note({} chars)", self.0.chars().count())
    }
}

/// The one form of an id, however it was typed or pasted: compatibility forms unified
/// (NFKC: `Ｓ１０` is `S10`, half-width katakana full-width), whitespace at either end removed
/// (U+3000 too), then the checks of [`bounded`]; invisible and formatting characters anywhere
/// are refused ([`chars::is_invisible`]), as control and bidirectional characters are.
///
/// Without it `"S10 "`, `" S10"` and `"Ｓ10"` were three more people beside `S10`, each of whom
/// could have a fresh number committed.
pub fn canonical(s: &str) -> Result<String, IdError> {
    use unicode_normalization::UnicodeNormalization as _;
    if s.chars().any(chars::is_invisible) {
        return Err(IdError::InvisibleCharacter);
    }
    if s.chars()
        .any(|c| c.is_control() || chars::is_bidi_control(c))
    {
        return Err(IdError::ControlCharacter);
    }
    let folded: String = s.nfkc().collect();
    let trimmed = folded.trim_matches(chars::is_space);
    bounded(trimmed)?;
    Ok(trimmed.to_owned())
}

/// The checks of an id a caller chooses freely.
pub fn bounded(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        Err(IdError::Missing)
    } else if s.chars().count() > MAX_ID_CHARS {
        Err(IdError::TooLong)
    } else if s
        .chars()
        .any(|c| c.is_control() || crate::domain::text::chars::is_bidi_control(c))
    {
        Err(IdError::ControlCharacter)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insurer_number_is_exactly_eight_ascii_digits() {
        assert!(InsurerNumber::parse("32130011").is_ok());
        for bad in ["", "3213001", "321300111", "3213001a", "３２１３００１１"] {
            assert_eq!(
                InsurerNumber::parse(bad),
                Err(IdError::NotAnInsurerNumber),
                "{bad}"
            );
        }
    }

    #[test]
    fn ids_refuse_blank_long_and_control_values_without_quoting_them() {
        assert_eq!(VerificationId::parse("  "), Err(IdError::Missing));
        assert_eq!(SubjectId::parse(""), Err(IdError::Missing));
        assert_eq!(RequestId::parse(&"x".repeat(129)), Err(IdError::TooLong));
        assert_eq!(RequestId::parse("a\nb"), Err(IdError::ControlCharacter));
        assert_eq!(
            format!("{:?}", SubjectId::parse("1234-567-01").unwrap()),
            "SubjectId(<redacted>)"
        );
    }

    #[test]
    fn verification_and_subject_ids_are_bounded_and_free_of_control_characters() {
        let long = "x".repeat(MAX_ID_CHARS + 1);
        for parse in [
            |s: &str| VerificationId::parse(s).map(|_| ()),
            |s: &str| SubjectId::parse(s).map(|_| ()),
        ] {
            assert_eq!(parse(&long), Err(IdError::TooLong));
            assert_eq!(parse("S-1\u{7}"), Err(IdError::ControlCharacter));
            assert_eq!(parse("  "), Err(IdError::Missing));
            assert_eq!(parse("1234-567-01"), Ok(()));
            assert_eq!(parse(&"x".repeat(MAX_ID_CHARS)), Ok(()));
        }
    }

    #[test]
    fn one_subject_has_one_id_however_it_is_spaced_cased_or_widened() {
        for variant in [
            "S10",
            "S10 ",
            " S10",
            "\u{3000}S10",
            "Ｓ10",
            "Ｓ１０",
            "s10",
        ] {
            assert_eq!(
                SubjectId::parse(variant).unwrap().as_str(),
                "S10",
                "{variant:?}"
            );
        }
        for hidden in [
            "S10\u{200B}",
            "S\u{00AD}10",
            "\u{FEFF}S10",
            "S10\u{E0041}",
            "S1\u{2060}0",
            "S10\u{FE0F}",
        ] {
            assert_eq!(
                SubjectId::parse(hidden),
                Err(IdError::InvisibleCharacter),
                "{hidden:?}"
            );
        }
        assert_eq!(SubjectId::parse("\u{3000}"), Err(IdError::Missing));
    }

    #[test]
    fn request_and_operator_ids_are_canonical_but_keep_their_case() {
        assert_eq!(RequestId::parse(" Req-1 ").unwrap().as_str(), "Req-1");
        assert_eq!(RequestId::parse("ｒｅｑ-1").unwrap().as_str(), "req-1");
        assert_eq!(
            RequestId::parse("req\u{200B}-1"),
            Err(IdError::InvisibleCharacter)
        );
        assert_eq!(
            OperatorId::parse("op-Tanaka ").unwrap().as_str(),
            "op-Tanaka"
        );
        assert_eq!(
            VerificationId::parse(" 0193A0B1-0000-7000-8000-000000000001")
                .unwrap()
                .as_str(),
            "0193a0b1-0000-7000-8000-000000000001"
        );
    }

    #[test]
    fn an_operator_id_is_a_bounded_single_line() {
        assert!(OperatorId::parse("op-7").is_ok());
        assert_eq!(OperatorId::parse(" "), Err(IdError::Missing));
        assert_eq!(OperatorId::parse("op\n7"), Err(IdError::ControlCharacter));
        assert_eq!(
            OperatorId::parse(&"o".repeat(MAX_ID_CHARS + 1)),
            Err(IdError::TooLong)
        );
    }

    #[test]
    fn a_note_may_have_newlines_but_no_other_control_characters_and_is_bounded() {
        assert!(Note::parse("").is_ok());
        assert!(Note::parse("called back\nconfirmed").is_ok());
        assert!(Note::parse(&"あ".repeat(MAX_NOTE_CHARS)).is_ok());
        assert_eq!(
            Note::parse(&"あ".repeat(MAX_NOTE_CHARS + 1)),
            Err(IdError::NoteTooLong)
        );
        for bad in ["a\rb", "a\u{1b}[2Jb", "a\tb", "a\u{0}b", "a\u{202E}b"] {
            assert_eq!(
                Note::parse(bad),
                Err(IdError::NoteControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(
            format!("{:?}", Note::parse("secret").unwrap()),
            "Note(6 chars)"
        );
    }
}
