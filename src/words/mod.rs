//! The one table of words for the stable ids that people read: decisions, hold reasons, risk
//! classes, match classes, fields, stages, resolutions, states and folding rules, in Japanese and
//! in English. The clerks' console, the HTML report of `bulk` and the command line's text all
//! take their words from here, so that the three never call one id two things.
//!
//! Each function takes a [`Lang`]; the stable id itself is never translated and is shown small
//! beside the words wherever a person may need to quote it. Nothing here reads input values:
//! the words describe ids, never a person's data.

mod history;
mod rules;
mod stats;
mod time;

pub use history::{HistoryWord, commit_refusal, history, replacement_refusal};
pub use rules::rule;
pub use stats::{Figure, by_hand, duration, figure, suggestion};
pub use time::{date_jst, deadline_jst, deadline_note, jst, minutes_jst};

use crate::domain::{
    Field, MatchClass, Stage,
    gate::{DecisionKind, HoldReason, Resolution},
    hold_cause::HoldCause,
    risk::RiskClass,
};

/// The language of a page or a line of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// 日本語: the clerks' language, the default.
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 tag (`ja`, `en`), for `<html lang>` and the switch.
    pub const fn tag(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The language of a tag (`ja`, `en`, `en-US` …); `None` for any other.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().trim();
        if primary.eq_ignore_ascii_case("ja") {
            Some(Lang::Ja)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The first language of an `Accept-Language` header this table has words in (quality
    /// weights honoured); Japanese when none is.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_tag(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Ja, |(_, l)| l)
    }

    /// Picks the Japanese or the English of a pair.
    pub const fn pick(self, ja: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

/// A decision in words.
pub const fn decision(d: DecisionKind, lang: Lang) -> &'static str {
    match d {
        DecisionKind::Register => lang.pick(
            "登録可：この番号を登録してよい",
            "Register: the number may be registered",
        ),
        DecisionKind::Hold => lang.pick(
            "保留：担当者の確認が必要",
            "Hold: an operator must look at the case",
        ),
        DecisionKind::Return => lang.pick("返戻：届書に記入漏れ", "Return: the form is incomplete"),
    }
}

/// A hold reason in words.
pub const fn reason(r: HoldReason, lang: Lang) -> &'static str {
    match r {
        HoldReason::FieldDiffers => lang.pick("項目がJ-LISと相違", "A field differs from J-LIS"),
        HoldReason::NoCandidate => lang.pick("J-LISの該当者なし", "J-LIS returned nobody"),
        HoldReason::MultipleCandidates => {
            lang.pick("J-LISの該当者が複数", "J-LIS returned several people")
        }
        HoldReason::InvalidCheckDigit => lang.pick(
            "個人番号のチェックデジット誤り",
            "The number's check digit is wrong",
        ),
        HoldReason::DeclaredNumberDiffers => lang.pick(
            "届書の個人番号がJ-LISと相違",
            "The form's number differs from J-LIS's",
        ),
        HoldReason::QueryIncomplete => {
            lang.pick("照会に項目の欠落", "The J-LIS query lacks a field")
        }
        HoldReason::NumberRegisteredToAnotherSubject => lang.pick(
            "番号が別の加入者に登録済",
            "Number already registered to another",
        ),
        HoldReason::SubjectHasAnotherNumber => lang.pick(
            "この加入者に別の番号が登録済",
            "Person already has another number",
        ),
        HoldReason::KanaNotRecorded => {
            lang.pick("J-LISにフリガナが未記載", "J-LIS has no reading (kana) yet")
        }
    }
}

/// What the clerk does next for a hold reason: one sentence.
pub const fn next_step(r: HoldReason, lang: Lang) -> &'static str {
    match r {
        HoldReason::FieldDiffers => lang.pick(
            "相違のある項目を届書の原本で確かめ、本人に確認してください。誤記なら照会をやり直し、別人なら番号を取得しないでください。",
            "Check the differing fields against the original form and confirm with the person. Re-query if it was a typing error; never take the number of another person.",
        ),
        HoldReason::NoCandidate => lang.pick(
            "届書の5情報を本人に確認し、正しい内容で照会し直してください。",
            "Confirm the five fields with the person and query J-LIS again with the right values.",
        ),
        HoldReason::MultipleCandidates => lang.pick(
            "候補から選ばないでください。住所を含む5情報で照会し直すか、本人から番号を取得してください。",
            "Never pick one of the candidates: query again with all five fields (address included), or obtain the number from the person.",
        ),
        HoldReason::InvalidCheckDigit => lang.pick(
            "番号の転記誤りです。本人から番号を取得し直してください。",
            "The number was mistyped: obtain it from the person again.",
        ),
        HoldReason::DeclaredNumberDiffers => lang.pick(
            "届書の番号とJ-LISの番号が違います。本人に確認し、どちらも登録しないでください。",
            "The form's number and J-LIS's differ: confirm with the person and register neither until then.",
        ),
        HoldReason::QueryIncomplete => lang.pick(
            "照会に項目が欠けています。5情報すべてで照会し直してください。",
            "The query lacked a field: query again with all five fields.",
        ),
        HoldReason::NumberRegisteredToAnotherSubject => lang.pick(
            "この番号は別の加入者に登録されています。両方の記録を確認し、本人に確認してください。",
            "This number is registered to another subject: check both records and confirm with the person.",
        ),
        HoldReason::SubjectHasAnotherNumber => lang.pick(
            "この加入者には別の番号が登録されています。登録済の番号が正しいか確認してください。",
            "This subject already has another number: check which one is right.",
        ),
        HoldReason::KanaNotRecorded => lang.pick(
            "J-LISの記録にまだフリガナがありません。ほかの4情報が一致していれば同じ人です。届書のフリガナを本人に確かめ、方針に従って登録してください。",
            "J-LIS has no reading recorded yet. The other four fields agree: confirm the form's reading with the person and register as your policy says.",
        ),
    }
}

/// A risk class in words, with the 2023 nationwide check's class (①②③) where it has one.
pub const fn risk(c: RiskClass, lang: Lang) -> &'static str {
    match c {
        RiskClass::BirthOrSex => lang.pick("① 生年月日・性別の相違", "① Birth date or sex differs"),
        RiskClass::Structural => lang.pick(
            "判定不能（該当なし・複数・番号）",
            "Cannot tell (nobody, several, number)",
        ),
        RiskClass::Names => lang.pick("② 氏名（漢字・カナ）の相違", "② Both names differ"),
        RiskClass::NameAndAddress => {
            lang.pick("② 氏名と住所の相違", "② A name and the address differ")
        }
        RiskClass::AddressOnly => lang.pick("③ 住所のみの相違", "③ Only the address differs"),
        RiskClass::OneNameOnly => lang.pick("氏名の一方のみの相違", "Only one name field differs"),
        RiskClass::NotationOrVariantOnly => lang.pick(
            "表記・異体字のみ（方針による保留）",
            "Only notation or variant (policy)",
        ),
        RiskClass::KanaNotRecorded => {
            lang.pick("フリガナ未記載のみ", "Only the kana is not recorded yet")
        }
    }
}

/// A match class in words.
pub const fn class(c: MatchClass, lang: Lang) -> &'static str {
    match c {
        MatchClass::Exact => lang.pick("一致", "exact"),
        MatchClass::Notation => lang.pick("表記ゆれ", "notation"),
        MatchClass::Variant => lang.pick("異体字等", "variant"),
        MatchClass::Mismatch => lang.pick("不一致", "mismatch"),
        MatchClass::Missing => lang.pick("欠落", "missing"),
        MatchClass::Unparseable => lang.pick("読取不能", "unparseable"),
        MatchClass::NotRecorded => lang.pick("未記載", "not recorded"),
    }
}

/// A match class explained in a sentence.
pub const fn class_meaning(c: MatchClass, lang: Lang) -> &'static str {
    match c {
        MatchClass::Exact => lang.pick("同じ文字列です。", "The same string."),
        MatchClass::Notation => lang.pick(
            "全角半角・空白・和暦西暦など書き方の違いだけで、同じ内容です。",
            "Equal after typographic folding only (width, spaces, era notation …).",
        ),
        MatchClass::Variant => lang.pick(
            "異体字・小書きカナ・外字など、情報が少し失われる読み替えで一致します。",
            "Equal only after folding that loses information (variant kanji, small kana, gaiji …).",
        ),
        MatchClass::Mismatch => lang.pick("内容が違います。", "Different."),
        MatchClass::Missing => lang.pick("一方が空欄です。", "Empty on one side."),
        MatchClass::Unparseable => lang.pick(
            "日付や性別が読み取れません（不詳を含む）。",
            "A date or sex code that cannot be read (unknown parts included).",
        ),
        MatchClass::NotRecorded => lang.pick(
            "J-LISの記録にフリガナがまだ記載されていません（不一致ではありません）。",
            "J-LIS has no reading recorded yet (not a mismatch).",
        ),
    }
}

/// A field in words.
pub const fn field(f: Field, lang: Lang) -> &'static str {
    match f {
        Field::KanjiName => lang.pick("漢字氏名", "Name (kanji)"),
        Field::KanaName => lang.pick("カナ氏名", "Name (kana)"),
        Field::BirthDate => lang.pick("生年月日", "Birth date"),
        Field::Sex => lang.pick("性別", "Sex"),
        Field::Address => lang.pick("住所", "Address"),
    }
}

/// A comparison stage in words: what was compared with what.
pub const fn stage(s: Stage, lang: Lang) -> &'static str {
    match s {
        Stage::DeclaredVsQuery => lang.pick("届出↔照会", "Form vs J-LIS query"),
        Stage::QueryVsCandidate => lang.pick("照会↔候補", "Query vs J-LIS record"),
        Stage::DeclaredVsCandidate => lang.pick("届出↔候補", "Form vs J-LIS record"),
    }
}

/// The clerk's cause of a hold, in words (the Japanese ones are the domain's own).
pub const fn cause(c: HoldCause, lang: Lang) -> &'static str {
    let en = match c {
        HoldCause::NotationOrVariant => "Notation or variant kanji",
        HoldCause::FormError => "A mistake on the form",
        HoldCause::RegistryDiffers => "J-LIS differed (e.g. a move not yet recorded)",
        HoldCause::DifferentPerson => "A different person",
        HoldCause::NotConfirmed => "Identity could not be confirmed",
        HoldCause::Other => "Other",
    };
    lang.pick(c.label_ja(), en)
}

/// How a hold was closed, in words.
pub const fn resolution(r: Resolution, lang: Lang) -> &'static str {
    match r {
        Resolution::Requeried => lang.pick("再照会済", "Re-queried"),
        Resolution::NumberFromPerson => lang.pick("本人から番号取得", "Number from the person"),
        Resolution::Withdrawn => lang.pick("取下げ", "Withdrawn"),
    }
}

/// Where a verification stands (`held`, `hold_resolved` …), in words; the id itself when it is
/// not one of the known states.
pub fn state(id: &str, lang: Lang) -> &'static str {
    match id {
        "decided" => lang.pick("判定済", "decided"),
        "held" => lang.pick("保留中", "held"),
        "hold_resolved" => lang.pick("解決済", "resolved"),
        "committed" => lang.pick("登録済", "committed"),
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_words_in_both_languages_and_they_differ() {
        for r in HoldReason::ALL {
            assert_ne!(reason(r, Lang::Ja), reason(r, Lang::En));
            assert!(!next_step(r, Lang::Ja).is_empty());
        }
        for c in RiskClass::ALL {
            assert_ne!(risk(c, Lang::Ja), risk(c, Lang::En));
        }
        for c in MatchClass::ALL {
            assert_ne!(class(c, Lang::Ja), class(c, Lang::En));
        }
        for f in Field::ALL {
            assert_ne!(field(f, Lang::Ja), field(f, Lang::En));
        }
        for s in Stage::ALL {
            assert_ne!(stage(s, Lang::Ja), stage(s, Lang::En));
        }
        for r in Resolution::ALL {
            assert_ne!(resolution(r, Lang::Ja), resolution(r, Lang::En));
        }
    }

    #[test]
    fn accept_language_picks_the_best_known_language_and_defaults_to_japanese() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, ja;q=0.8"),
            Lang::Ja
        );
        assert_eq!(Lang::from_accept_language("fr"), Lang::Ja);
        assert_eq!(Lang::from_accept_language(""), Lang::Ja);
    }
}
