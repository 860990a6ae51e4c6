//! The stored form of an event's comparisons: a JSON array with one array per comparison,
//! `[stage, field, class, [rules…], candidate_index]`.
//!
//! Every decision stores 15 or more comparisons, so their spelling is most of an audit row.
//! The first release wrote one object per comparison (`{"stage": …, "field": …}`), about
//! 110 bytes each; the positional form holds the same ids in about 60, which shrinks every
//! row by a third and the bytes each durable commit writes with it. Both forms are read, so
//! rows written by the first release still load and still verify: the hash chain covers the
//! comparisons' values, never their JSON spelling.

use serde::Deserialize;

use crate::audit::event::legacy::LegacyComparison as ComparisonRow;

/// One comparison as written: borrowed, so encoding allocates only the output.
#[derive(serde::Serialize)]
#[cfg(test)]
struct Written<'a>(&'a str, &'a str, &'a str, &'a [String], u32);

/// One comparison as read: either spelling.
#[derive(Deserialize)]
#[serde(untagged)]
enum Read {
    /// `[stage, field, class, rules, candidate_index]`.
    Positional(String, String, String, Vec<String>, u32),
    /// The first release's `{"stage": …, "field": …, "class": …, "rules": …, "candidate_index": …}`.
    Named(ComparisonRow),
}

/// The column value for `comparisons`.
#[cfg(test)]
pub(crate) fn encode(comparisons: &[ComparisonRow]) -> Result<String, serde_json::Error> {
    let written: Vec<Written<'_>> = comparisons
        .iter()
        .map(|c| Written(&c.stage, &c.field, &c.class, &c.rules, c.candidate_index))
        .collect();
    serde_json::to_string(&written)
}

/// The comparisons in a stored column value, in either spelling.
pub(crate) fn decode(column: &str) -> Result<Vec<ComparisonRow>, serde_json::Error> {
    let read: Vec<Read> = serde_json::from_str(column)?;
    Ok(read
        .into_iter()
        .map(|r| match r {
            Read::Positional(stage, field, class, rules, candidate_index) => ComparisonRow {
                stage,
                field,
                class,
                rules,
                candidate_index,
            },
            Read::Named(row) => row,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<ComparisonRow> {
        vec![
            ComparisonRow {
                stage: "declared_vs_query".into(),
                field: "kanji_name".into(),
                class: "variant".into(),
                rules: vec!["kanji.variant".into(), "space".into()],
                candidate_index: 0,
            },
            ComparisonRow {
                stage: "query_vs_candidate".into(),
                field: "address".into(),
                class: "exact".into(),
                rules: vec![],
                candidate_index: 2,
            },
        ]
    }

    #[test]
    fn comparisons_are_written_positionally_and_read_back_unchanged() {
        let column = encode(&rows()).unwrap();
        assert_eq!(
            column,
            r#"[["declared_vs_query","kanji_name","variant",["kanji.variant","space"],0],["query_vs_candidate","address","exact",[],2]]"#
        );
        assert_eq!(decode(&column).unwrap(), rows());
        assert_eq!(decode("[]").unwrap(), []);
    }

    #[test]
    fn rows_written_by_the_first_release_still_read() {
        let first_release = serde_json::to_string(&rows()).unwrap();
        assert!(first_release.contains(r#""stage":"declared_vs_query""#));
        assert_eq!(decode(&first_release).unwrap(), rows());
    }

    #[test]
    fn the_positional_form_is_much_shorter_for_a_typical_decision() {
        let typical: Vec<ComparisonRow> = (0..15).flat_map(|_| rows()).collect();
        let named = serde_json::to_string(&typical).unwrap().len();
        let positional = encode(&typical).unwrap().len();
        assert!(positional * 3 < named * 2, "{positional} vs {named}");
    }

    #[test]
    fn anything_else_is_an_error() {
        for bad in [
            "",
            "{}",
            r#"[["a","b"]]"#,
            r#"[{"stage":"a"}]"#,
            r#"[[1,2,3,[],0]]"#,
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
