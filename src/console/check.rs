//! 照合の確認: a clerk on the phone types (or pastes) the five fields of the form and of the
//! J-LIS result and sees how each compares and which characters differ, as `check` shows them.
//!
//! The values are personal data. They are compared in memory for this one answer and dropped:
//! never stored, logged, traced or cached (the answer is `no-store` like every page, and the
//! inputs ask the browser not to remember them). The page says so.

use std::sync::Arc;

use axum::{
    Form,
    extract::State,
    response::{IntoResponse, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    domain::{
        Field, MatchClass,
        compare::{Record, compare_records},
        diff::{Segment, differing},
    },
    words::{self, Lang},
};

use super::{Console, errors, layout, layout::Signed};

/// The ten values, posted. Its `Debug` is never derived: it holds personal data.
#[derive(Default, Deserialize)]
pub(super) struct CheckForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    a_kanji_name: String,
    #[serde(default)]
    a_kana_name: String,
    #[serde(default)]
    a_birth_date: String,
    #[serde(default)]
    a_sex: String,
    #[serde(default)]
    a_address: String,
    #[serde(default)]
    b_kanji_name: String,
    #[serde(default)]
    b_kana_name: String,
    #[serde(default)]
    b_birth_date: String,
    #[serde(default)]
    b_sex: String,
    #[serde(default)]
    b_address: String,
}

impl CheckForm {
    fn records(&self) -> (Record, Record) {
        (
            Record {
                kanji_name: self.a_kanji_name.clone(),
                kana_name: self.a_kana_name.clone(),
                birth_date: self.a_birth_date.clone(),
                sex: self.a_sex.clone(),
                address: self.a_address.clone(),
            },
            Record {
                kanji_name: self.b_kanji_name.clone(),
                kana_name: self.b_kana_name.clone(),
                birth_date: self.b_birth_date.clone(),
                sex: self.b_sex.clone(),
                address: self.b_address.clone(),
            },
        )
    }
}

/// `GET /check`.
pub(super) async fn form(signed: Signed) -> Markup {
    render(signed.lang, &signed, &CheckForm::default(), false)
}

/// `POST /check`: the comparison, computed for this answer only.
pub(super) async fn submit(
    State(_console): State<Arc<Console>>,
    signed: Signed,
    Form(form): Form<CheckForm>,
) -> Response {
    if !signed.session.csrf_matches(&form.csrf) {
        return errors::csrf_refused(signed.lang);
    }
    render(signed.lang, &signed, &form, true).into_response()
}

fn segments(s: &[Segment]) -> Markup {
    html! {
        @for seg in s {
            @if seg.differs { mark { (seg.text) } } @else { (seg.text) }
        }
    }
}

fn render(lang: Lang, signed: &Signed, form: &CheckForm, compared: bool) -> Markup {
    let title = lang.pick("照合の確認", "Compare values");
    let (a, b) = form.records();
    let inputs = |side: &'static str, r: &Record| {
        html! {
            @for f in Field::ALL {
                @let id = format!("{side}_{}", f.as_str());
                label for=(id) { (words::field(f, lang)) }
                input id=(id) name=(id) type="text" value=(r.get(f)) autocomplete="off" spellcheck="false";
            }
        }
    };
    let body = html! {
        h1 { (title) }
        p.privacy {
            strong { (lang.pick("入力した値は保存しません。", "Nothing you type is kept.")) }
            " "
            (lang.pick(
                "この画面の値は比較のためにその場で使うだけで、監査ログ・ログ・ブラウザの履歴のどこにも保存・記録しません。電話で本人に確認するときに、どの文字が違うかを見るために使ってください。",
                "The values are compared for this answer only and are never stored, logged or cached. Use this to see which characters differ while you confirm with the person.",
            ))
        }
        form.check method="post" action="/check" autocomplete="off" {
            input type="hidden" name="csrf" value=(signed.session.csrf);
            fieldset {
                legend { (lang.pick("届書（または照会）", "Form (or query)")) }
                (inputs("a", &a))
            }
            fieldset {
                legend { (lang.pick("J-LISの照会結果", "J-LIS result")) }
                (inputs("b", &b))
            }
            button type="submit" { (lang.pick("比較する", "Compare")) }
        }
        @if compared {
            @let results = compare_records(&a, &b);
            table.grid {
                thead { tr {
                    th scope="col" { (lang.pick("項目", "Field")) }
                    th scope="col" { (lang.pick("結果", "Result")) }
                    th scope="col" { (lang.pick("届書", "Form")) }
                    th scope="col" { (lang.pick("照会結果", "J-LIS")) }
                } }
                tbody {
                    @for (f, c) in Field::ALL.iter().zip(results.iter()) {
                        // Marks only where the field differs: a date or a sex code that is the
                        // same in another notation is not yellow.
                        @let passes = matches!(c.class, MatchClass::Exact | MatchClass::Notation | MatchClass::Variant);
                        @let (l, r) = if passes {
                            (vec![Segment { text: a.get(*f).to_owned(), differs: false }],
                             vec![Segment { text: b.get(*f).to_owned(), differs: false }])
                        } else {
                            differing(*f, a.get(*f), b.get(*f))
                        };
                        tr {
                            th scope="row" { (words::field(*f, lang)) }
                            td class=(format!("c-{}", c.class.as_str())) {
                                strong { (words::class(c.class, lang)) } " " small.id { (c.class.as_str()) }
                                ul.rules {
                                    @for rule in c.rules.ids() {
                                        li { (words::rule(rule, lang).unwrap_or("")) " " small.id { (rule) } }
                                    }
                                }
                            }
                            td.value { (segments(&l)) }
                            td.value { (segments(&r)) }
                        }
                    }
                }
            }
        }
    };
    layout::page(lang, title, Some(signed), body)
}
