//! The run's report: one self-contained HTML page — no scripts, fonts or network, the charts
//! as inline SVG — with the summary's figures, the run's parameters, timing and the audit
//! chain position reached. Holds no personal data: only counts, ids and parameters.

use std::fmt::Write as _;

use crate::{
    chart::{Bar, bars, esc, share},
    domain::{
        Field, Stage,
        gate::{DecisionKind, HoldReason},
        risk::RiskClass,
    },
    roster::{
        Kind,
        outcome::stages,
        summary::{Summary, thousands},
    },
    words::{self, Lang},
};

/// What the report says about the run besides its counts.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The roster's file name (without its directory).
    pub file_name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its encoding.
    pub encoding: String,
    /// How the rows were decided.
    pub mode: RunMode,
    /// The database or server (without credentials).
    pub target: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// Seconds it took.
    pub seconds: f64,
    /// How the run ended.
    pub outcome: RunOutcome,
    /// The audit chain position reached (writer, seq, hash), when known.
    pub chain: Option<String>,
}

/// How a run decided its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Decided here, nothing stored: no verification ids, nothing can be committed.
    Dry,
    /// The service's decide-and-append path on the audit database, without a server.
    Embedded,
    /// Through a server, with VerifyBatch.
    Server,
}

impl RunMode {
    /// The mode in words, as the report's table shows it.
    pub const fn words(self) -> &'static str {
        match self {
            RunMode::Dry => "dry run",
            RunMode::Embedded => "embedded",
            RunMode::Server => "server",
        }
    }
}

/// How a run ended: what its summary line, its report's banner and its exit status say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every row was decided or reported in the errors file, and most were decided.
    Complete,
    /// Most rows could not be decided (more than half, or the first 1,000 all failed): the
    /// roster was most likely read the wrong way. Never shown as a success.
    MostlyFailed {
        /// What went wrong most often, and what to do about it.
        headline: String,
    },
    /// The run stopped before the end of the file (the store or server failed); why.
    Stopped(String),
}

impl RunOutcome {
    /// Judges a run from its counts: `stopped` is why it ended early, if it did, and
    /// `gave_up` whether it stopped because its first rows all failed.
    pub fn judge(
        summary: &Summary,
        stopped: Option<String>,
        gave_up: bool,
        encoding: &str,
    ) -> Self {
        if gave_up || (stopped.is_none() && summary.mostly_failed()) {
            let what = summary.headline(encoding).unwrap_or_default();
            let headline = if gave_up {
                format!(
                    "the first {} rows all failed, so the run stopped there: {what}",
                    thousands(summary.error_rows)
                )
            } else {
                format!(
                    "{} of {} rows could not be decided: {what}",
                    thousands(summary.error_rows),
                    thousands(summary.rows_in)
                )
            };
            return RunOutcome::MostlyFailed { headline };
        }
        match stopped {
            Some(why) => RunOutcome::Stopped(why),
            None => RunOutcome::Complete,
        }
    }
}

/// A decision in words ([`crate::words`]), as the roster's kind names the insurer's side (a
/// form to register from, or the insurer's own record of a registered number).
fn decision_label(d: DecisionKind, kind: Kind) -> &'static str {
    match (d, kind) {
        (DecisionKind::Register, Kind::Reverse) => "Confirmed: the record matches J-LIS",
        (DecisionKind::Return, Kind::Reverse) => "Return: the insurer's record is incomplete",
        _ => words::decision(d, Lang::En),
    }
}

/// The colour of a decision, as in the tiles at the top.
fn decision_colour(d: DecisionKind) -> &'static str {
    match d {
        DecisionKind::Register => "#2e8540",
        DecisionKind::Hold => "#c46a00",
        DecisionKind::Return => "#2a5d9f",
    }
}

/// A hold reason in words ([`crate::words`]), as the roster's kind names the insurer's side.
fn reason_label(r: HoldReason, kind: Kind) -> &'static str {
    if let (HoldReason::DeclaredNumberDiffers, Kind::Reverse) = (r, kind) {
        return "The registered number differs from J-LIS's";
    }
    words::reason(r, Lang::En)
}

/// A risk class in words ([`crate::words`]).
fn risk_label(c: RiskClass) -> &'static str {
    words::risk(c, Lang::En)
}

/// A comparison stage in words: what was compared with what, as the roster's kind names them.
fn stage_label(stage: Stage, kind: Kind) -> &'static str {
    match (stage, kind) {
        (Stage::DeclaredVsCandidate, Kind::Reverse) => "Insurer's vs J-LIS record",
        _ => words::stage(stage, Lang::En),
    }
}

/// A field in words ([`crate::words`]).
fn field_label(f: Field) -> &'static str {
    words::field(f, Lang::En)
}

/// The heat map's colour of a cell that holds no row: a neutral grey, unlike any step.
const HEAT_NONE: &str = "#f2f2f2";
/// Light to dark red in steps the eye tells apart (ColorBrewer's Reds), each a sixth of the
/// largest cell.
const HEAT_STEPS: [&str; 6] = [
    "#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15",
];

/// The heat map's colour for `n` rows, a share `t` (0..=1) of its largest cell.
fn heat_colour(n: u64, t: f64) -> &'static str {
    if n == 0 {
        return HEAT_NONE;
    }
    let i = ((t * HEAT_STEPS.len() as f64).ceil() as usize).clamp(1, HEAT_STEPS.len()) - 1;
    HEAT_STEPS[i]
}

/// The stage × field heat map of comparisons that cannot pass, with a legend of its scale.
fn heat_map(summary: &Summary, kind: Kind) -> String {
    let stages = stages(kind);
    let max = stages
        .iter()
        .flat_map(|s| Field::ALL.map(|f| summary.cell(*s, f)))
        .max()
        .unwrap_or(0)
        .max(1);
    let (left, top, cw, ch) = (210.0, 44.0, 120.0, 44.0);
    let width = left + cw * 5.0 + 10.0;
    let height = top + ch * stages.len() as f64 + 44.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    for (j, f) in Field::ALL.iter().enumerate() {
        let x = left + cw * j as f64 + cw / 2.0;
        let _ = write!(
            s,
            "<text x=\"{x:.1}\" y=\"18\" text-anchor=\"middle\">{}</text>\
             <text x=\"{x:.1}\" y=\"34\" text-anchor=\"middle\" class=\"id\">{}</text>",
            field_label(*f),
            f.as_str()
        );
    }
    for (i, stage) in stages.iter().enumerate() {
        let y = top + ch * i as f64;
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <text x=\"{lx}\" y=\"{:.1}\" text-anchor=\"end\" class=\"id\">{}</text>",
            y + ch / 2.0 - 2.0,
            stage_label(*stage, kind),
            y + ch / 2.0 + 12.0,
            stage.as_str(),
            lx = left - 10.0,
        );
        for (j, f) in Field::ALL.iter().enumerate() {
            let n = summary.cell(*stage, *f);
            let t = n as f64 / max as f64;
            let text = if t > 0.5 { "#fff" } else { "#222" };
            let x = left + cw * j as f64;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{text}\" class=\"n\">{}</text>",
                cw - 2.0,
                ch - 2.0,
                heat_colour(n, t),
                x + cw / 2.0,
                y + ch / 2.0 + 5.0,
                thousands(n)
            );
        }
    }
    // The legend: none, then each step of the scale, up to the largest cell.
    let ly = top + ch * stages.len() as f64 + 16.0;
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"id\">0 rows</text>",
        left - 6.0,
        ly + 13.0
    );
    let swatches = std::iter::once(HEAT_NONE).chain(HEAT_STEPS);
    for (k, colour) in swatches.enumerate() {
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{ly:.1}\" width=\"28\" height=\"18\" fill=\"{colour}\"/>",
            left + 30.0 * k as f64
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"id\">{} rows (the largest cell)</text>",
        left + 30.0 * (HEAT_STEPS.len() + 1) as f64 + 4.0,
        ly + 13.0,
        thousands(max)
    );
    s.push_str("</svg>");
    s
}

/// The report page.
pub fn html(summary: &Summary, run: &RunInfo) -> String {
    let held = summary.decisions[DecisionKind::Hold as usize];
    let decisions: Vec<Bar<'_>> = DecisionKind::ALL
        .iter()
        .zip(summary.decisions)
        .map(|(k, n)| Bar {
            label: decision_label(*k, run.kind),
            id: k.id(),
            n,
            colour: decision_colour(*k),
        })
        .collect();
    let reasons: Vec<Bar<'_>> = HoldReason::ALL
        .iter()
        .zip(summary.hold_reasons)
        .map(|(r, n)| Bar {
            label: reason_label(*r, run.kind),
            id: r.id(),
            n,
            colour: "#d08a2e",
        })
        .collect();
    let risk: Vec<Bar<'_>> = RiskClass::ALL
        .iter()
        .zip(summary.risk)
        .map(|(c, n)| Bar {
            label: risk_label(*c),
            id: c.id(),
            n,
            colour: "#b54a4a",
        })
        .collect();
    let status = match &run.outcome {
        RunOutcome::Complete => {
            "<p class=\"ok\">Complete: every row was decided or reported in the errors file.</p>"
                .to_owned()
        }
        RunOutcome::MostlyFailed { headline } => format!(
            "<p class=\"bad\">Failed: {}. Do not use this run's results; the errors below say \
             what to fix.</p>",
            esc(headline)
        ),
        RunOutcome::Stopped(why) => format!(
            "<p class=\"bad\">Incomplete: the run stopped ({}). Start it again with the same file and options: rows already decided come back unchanged.</p>",
            esc(why)
        ),
    };
    let status = if run.mode == RunMode::Dry {
        // Said at the top: a reader of a forwarded page must not take it for a registration run.
        format!(
            "{status}<p class=\"bad\">Dry run: nothing was stored in the audit log and no row has \
             a verification id, so nothing decided here can be registered.</p>"
        )
    } else {
        status
    };
    let rate = if run.seconds > 0.0 {
        summary.rows_in as f64 / run.seconds
    } else {
        0.0
    };
    let params: [(&str, String); 9] = [
        ("roster", run.file_name.clone()),
        ("kind", run.kind.id().to_owned()),
        ("encoding", run.encoding.clone()),
        ("mode", run.mode.words().to_owned()),
        ("audit / server", run.target.clone()),
        ("started (UTC)", run.started.clone()),
        (
            "duration",
            format!("{:.1} s ({} rows/s)", run.seconds, thousands(rate as u64)),
        ),
        (
            "audit chain position reached",
            run.chain.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            "rows",
            format!(
                "{} in = {} decided + {} in the errors file ({} decided by an earlier run)",
                thousands(summary.rows_in),
                thousands(summary.decided),
                thousands(summary.error_rows),
                thousands(summary.earlier)
            ),
        ),
    ];
    let mut table = String::new();
    for (k, v) in params {
        // The file name may be Japanese: lang picks Japanese glyphs for it, not Chinese ones.
        let lang = if k == "roster" { " lang=\"ja\"" } else { "" };
        let _ = write!(
            table,
            "<tr><th>{}</th><td{lang}>{}</td></tr>",
            esc(k),
            esc(&v)
        );
    }
    let tile = |class: &str, n: u64, what: &str| {
        format!(
            "<div class=\"{class}\"><b>{}</b>{what}<i>{}</i></div>",
            thousands(n),
            share(n, summary.rows_in)
        )
    };
    let tiles = format!(
        "<div class=\"tiles\"><div><b>{}</b>rows<i>in the roster</i></div>{}{}{}{}</div>",
        thousands(summary.rows_in),
        tile(
            "reg",
            summary.decisions[DecisionKind::Register as usize],
            "register"
        ),
        tile("hold", held, "hold"),
        tile(
            "ret",
            summary.decisions[DecisionKind::Return as usize],
            "return"
        ),
        tile("err", summary.error_rows, "errors"),
    );
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>verify-identity bulk: {title}</title>\
<style>body{{font-family:{fonts};margin:2em;color:#222;max-width:62em}}\
h1{{font-size:1.4em}}h2{{font-size:1.1em;margin-top:1.6em}}p.note{{color:#555;margin:.2em 0 .6em}}\
table{{border-collapse:collapse}}th,td{{text-align:left;vertical-align:baseline;padding:.2em .8em;border-bottom:1px solid #ddd}}\
svg{{max-width:100%;height:auto}}svg text{{font-size:13px;font-family:{fonts}}}\
svg text.n{{font-weight:bold}}svg text.id{{font-size:11px;fill:#777}}\
.ok{{color:#176b2c;font-weight:bold}}.bad{{color:#a11;font-weight:bold}}\
.tiles{{display:flex;flex-wrap:wrap;gap:1em}}.tiles div{{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;min-width:7em}}\
.tiles b{{display:block;font-size:1.6em}}.tiles i{{display:block;font-style:normal;color:#666;font-size:.85em}}\
.reg b{{color:#2e8540}}.hold b{{color:#c46a00}}.ret b{{color:#2a5d9f}}.err b{{color:#a11}}</style>\
</head><body>\
<h1>Roster check: <span lang=\"ja\">{title}</span></h1>{status}{tiles}\
<h2>Decisions</h2><p class=\"note\">Share of all rows in the roster.</p>{d}\
<h2>Why cases were held</h2><p class=\"note\">Share of the {held_n} held cases; a case may have several reasons.</p>{r}\
<h2>Held cases by risk, most urgent first</h2>\
<p class=\"note\">Work the holds in this order. ① ② ③ are the classes of the 2023 nationwide check \
(全件照会): ① stopped both 資格情報 and 医療情報 viewing, ③ 医療情報 viewing.</p>{k}\
<h2>Fields that cannot pass, by comparison</h2>\
<p class=\"note\">Rows whose field, in that comparison, differs, is missing or cannot be read. \
The darker the cell, the more rows.</p>{h}\
{errors}<h2>Run</h2><table>{table}</table>\
<p class=\"note\">This page holds counts and ids only: no names, birth dates, addresses or numbers.</p>\
</body></html>\n",
        title = esc(&run.file_name),
        fonts = FONTS,
        held_n = thousands(held),
        d = bars("Decisions", &decisions, summary.rows_in),
        r = bars("Why cases were held", &reasons, held),
        k = bars("Held cases by risk", &risk, held),
        h = heat_map(summary, run.kind),
        errors = errors_table(summary),
    )
}

/// The rows that went to the errors file, by kind of problem and column, most frequent first.
/// Empty when no row failed.
fn errors_table(summary: &Summary) -> String {
    if summary.error_rows == 0 {
        return String::new();
    }
    let mut cells: Vec<_> = summary.error_cells.iter().collect();
    cells.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut rows = String::new();
    for ((kind, column, message), n) in cells.iter().take(ERROR_TABLE_ROWS) {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td lang=\"ja\">{}</td><td>{}</td><td>{}</td></tr>",
            kind.id(),
            esc(column),
            esc(message),
            thousands(**n)
        );
    }
    let more = cells.len().saturating_sub(ERROR_TABLE_ROWS);
    let more = if more > 0 {
        format!("<p class=\"note\">… and {more} more kinds of problem: see the errors file.</p>")
    } else {
        String::new()
    };
    format!(
        "<h2>Rows in the errors file, by problem</h2>\
<p class=\"note\">{} rows could not be decided ({} problems). The errors file names each by line \
and column.</p><table><tr><th>kind</th><th>column</th><th>problem</th><th>count</th></tr>{rows}\
</table>{more}",
        thousands(summary.error_rows),
        thousands(summary.problems)
    )
}

/// The most problems the report's errors table lists (the errors file has them all).
const ERROR_TABLE_ROWS: usize = 30;

/// The page's fonts: Latin first, then the Japanese fonts of Windows, macOS and Linux, all
/// installed ones (the page loads none), so that Japanese text is drawn in a Japanese face.
const FONTS: &str = "Arial,Helvetica,'Noto Sans','Yu Gothic','Meiryo','Hiragino Sans',\
'Hiragino Kaku Gothic ProN','Noto Sans CJK JP','Noto Sans JP',sans-serif";

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mode: RunMode) -> RunInfo {
        RunInfo {
            file_name: "名簿<1>.csv".into(),
            kind: Kind::Registration,
            encoding: "CP932".into(),
            mode,
            target: "sqlite:audit.sqlite".into(),
            started: "2026-12-02T04:00:00Z".into(),
            seconds: 2.0,
            outcome: RunOutcome::Complete,
            chain: Some("chain X at seq 10000".into()),
        }
    }

    fn summary() -> Summary {
        Summary {
            rows_in: 12_345,
            decided: 12_345,
            decisions: [12_000, 300, 45],
            hold_reasons: [250, 50, 0, 0, 0, 0, 0, 0, 0],
            risk: [30, 50, 20, 0, 200, 0, 0, 0],
            grid: [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 20, 30, 40, 60]],
            ..Summary::default()
        }
    }

    #[test]
    fn every_bar_says_in_words_what_it_counts_with_its_id_count_and_share() {
        let html = html(&summary(), &run(RunMode::Embedded));
        for (label, id, figure) in [
            (
                "Register: the number may be registered",
                "register",
                "12,000 (97.2%)",
            ),
            ("J-LIS returned nobody", "no_candidate", "50 (16.7%)"),
            ("① Birth date or sex differs", "birth_or_sex", "30 (10.0%)"),
            ("③ Only the address differs", "address_only", "200 (66.7%)"),
        ] {
            let label = format!(">{label}</text>");
            let at = html.find(&label).unwrap_or_else(|| panic!("{label}"));
            let bar = &html[at..];
            let id_at = bar.find("class=\"id\">").unwrap() + "class=\"id\">".len();
            assert!(
                bar[id_at..].starts_with(&format!("{id}</text>")),
                "{label}: {id}"
            );
            let figure_at = bar.find("class=\"n\">").unwrap() + "class=\"n\">".len();
            assert!(bar[figure_at..].starts_with(figure), "{id}: {figure}");
        }
        assert!(html.contains("<b>12,345</b>rows"));
        assert!(html.contains("<div class=\"hold\"><b>300</b>hold<i>2.4%</i></div>"));
    }

    #[test]
    fn a_reverse_roster_names_the_insurers_record_not_a_form() {
        assert_eq!(
            reason_label(HoldReason::DeclaredNumberDiffers, Kind::Reverse),
            "The registered number differs from J-LIS's"
        );
        assert_eq!(
            reason_label(HoldReason::DeclaredNumberDiffers, Kind::Registration),
            "The form's number differs from J-LIS's"
        );
        for d in DecisionKind::ALL {
            assert!(!decision_label(d, Kind::Reverse).contains("form"));
            assert_ne!(decision_label(d, Kind::Registration), "");
        }
    }

    #[test]
    fn the_heat_map_labels_its_rows_and_columns_in_words_and_has_a_legend() {
        let html = html(&summary(), &run(RunMode::Embedded));
        for words in [
            "Form vs J-LIS query",
            "Query vs J-LIS record",
            "Form vs J-LIS record",
            "Name (kanji)",
            "Birth date",
            "60 rows (the largest cell)",
        ] {
            assert!(html.contains(words), "{words}");
        }
        // No row: grey, not the palest red; the largest cell: the darkest.
        assert!(html.contains(&format!("fill=\"{HEAT_NONE}\"")));
        assert_eq!(heat_colour(0, 0.0), HEAT_NONE);
        assert_eq!(heat_colour(1, 0.01), HEAT_STEPS[0]);
        assert_eq!(heat_colour(60, 1.0), HEAT_STEPS[5]);
        let reverse = heat_map(&summary(), Kind::Reverse);
        assert!(reverse.contains("Insurer's vs J-LIS record"));
        assert!(!reverse.contains("Form vs J-LIS query"));
    }

    #[test]
    fn the_page_is_self_contained_escapes_the_file_name_and_marks_a_dry_run() {
        let html = html(&summary(), &run(RunMode::Embedded));
        for external in ["<script", "src=", "href=", "@import", "url(", "@font-face"] {
            assert!(!html.contains(external), "{external}");
        }
        assert!(html.contains("<span lang=\"ja\">名簿&lt;1&gt;.csv</span>"));
        assert!(!html.contains("Dry run"));
        assert!(
            super::html(&summary(), &run(RunMode::Dry)).contains("Dry run: nothing was stored")
        );
    }
}
