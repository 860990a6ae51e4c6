//! The run's report: one self-contained HTML page — no scripts, fonts or network, the charts
//! as inline SVG — with the summary's figures, the run's parameters, timing and the audit
//! chain position reached. Holds no personal data: only counts, ids and parameters.

use std::fmt::Write as _;

use crate::{
    domain::{
        Field,
        gate::{DecisionKind, HoldReason},
        risk::RiskClass,
    },
    roster::{Kind, outcome::stages, summary::Summary},
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
    /// `dry run`, `embedded` or `server`.
    pub mode: String,
    /// The database or server (without credentials).
    pub target: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// Seconds it took.
    pub seconds: f64,
    /// `None` when the run completed; else why it stopped.
    pub stopped: Option<String>,
    /// The audit chain position reached (writer, seq, hash), when known.
    pub chain: Option<String>,
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of labelled counts, as inline SVG.
fn bars(rows: &[(&str, u64)], colour: &str) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (290.0, 360.0, 24.0);
    let height = row_h * rows.len() as f64 + 8.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\">",
        label_w + bar_w + 90.0
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let w = bar_w * (*n as f64) / (max as f64);
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{}\">{n}</text>",
            label_w - 8.0,
            y + 16.0,
            esc(label),
            row_h - 6.0,
            label_w + w + 6.0,
            y + 16.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// The stage × field heat map of comparisons that cannot pass.
fn heat_map(summary: &Summary, kind: Kind) -> String {
    let stages = stages(kind);
    let max = stages
        .iter()
        .flat_map(|s| Field::ALL.map(|f| summary.cell(*s, f)))
        .max()
        .unwrap_or(0)
        .max(1);
    let (left, top, cw, ch) = (190.0, 28.0, 110.0, 40.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\">",
        left + cw * 5.0 + 10.0,
        top + ch * stages.len() as f64 + 10.0
    );
    for (j, f) in Field::ALL.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"18\" text-anchor=\"middle\">{}</text>",
            left + cw * j as f64 + cw / 2.0,
            f.as_str()
        );
    }
    for (i, stage) in stages.iter().enumerate() {
        let y = top + ch * i as f64;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + ch / 2.0 + 5.0,
            stage.as_str()
        );
        for (j, f) in Field::ALL.iter().enumerate() {
            let n = summary.cell(*stage, *f);
            let t = n as f64 / max as f64;
            // White to deep red; the figure is printed in every cell.
            let g = (255.0 - 190.0 * t) as u8;
            let text = if t > 0.55 { "#fff" } else { "#222" };
            let x = left + cw * j as f64;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{}\" height=\"{}\" fill=\"rgb(230,{g},{g})\" stroke=\"#fff\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{text}\" class=\"n\">{n}</text>",
                cw - 2.0,
                ch - 2.0,
                x + cw / 2.0,
                y + ch / 2.0 + 5.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The report page.
pub fn html(summary: &Summary, run: &RunInfo) -> String {
    let decisions: Vec<(&str, u64)> = DecisionKind::ALL
        .iter()
        .map(|k| k.id())
        .zip(summary.decisions)
        .collect();
    let reasons: Vec<(&str, u64)> = HoldReason::ALL
        .iter()
        .map(|r| r.id())
        .zip(summary.hold_reasons)
        .collect();
    let risk: Vec<(&str, u64)> = RiskClass::ALL
        .iter()
        .map(|r| r.id())
        .zip(summary.risk)
        .collect();
    let status = match &run.stopped {
        None => {
            "<p class=\"ok\">Complete: every row was decided or reported in the errors file.</p>"
                .to_owned()
        }
        Some(why) => format!(
            "<p class=\"bad\">Incomplete: the run stopped ({}). Start it again with the same file and options: rows already decided come back unchanged.</p>",
            esc(why)
        ),
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
        ("mode", run.mode.clone()),
        ("audit / server", run.target.clone()),
        ("started (UTC)", run.started.clone()),
        (
            "duration",
            format!("{:.1} s ({rate:.0} rows/s)", run.seconds),
        ),
        (
            "audit chain position reached",
            run.chain.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            "rows",
            format!(
                "{} in = {} decided + {} in the errors file ({} decided by an earlier run)",
                summary.rows_in, summary.decided, summary.error_rows, summary.earlier
            ),
        ),
    ];
    let mut table = String::new();
    for (k, v) in params {
        let _ = write!(table, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    let held = summary.decisions[DecisionKind::Hold as usize];
    let tiles = format!(
        "<div class=\"tiles\"><div><b>{}</b>rows</div><div class=\"reg\"><b>{}</b>register</div>\
         <div class=\"hold\"><b>{held}</b>hold</div><div class=\"ret\"><b>{}</b>return</div>\
         <div class=\"err\"><b>{}</b>errors</div></div>",
        summary.rows_in,
        summary.decisions[DecisionKind::Register as usize],
        summary.decisions[DecisionKind::Return as usize],
        summary.error_rows
    );
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>verify-identity bulk: {title}</title>\
<style>body{{font-family:sans-serif;margin:2em;color:#222;max-width:60em}}\
h1{{font-size:1.4em}}h2{{font-size:1.1em;margin-top:1.6em}}\
table{{border-collapse:collapse}}th,td{{text-align:left;padding:.2em .8em;border-bottom:1px solid #ddd}}\
svg text{{font-size:13px;font-family:sans-serif}}svg text.n{{font-weight:bold}}\
.ok{{color:#176b2c;font-weight:bold}}.bad{{color:#a11;font-weight:bold}}\
.tiles{{display:flex;gap:1em}}.tiles div{{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;min-width:7em}}\
.tiles b{{display:block;font-size:1.6em}}.reg b{{color:#176b2c}}.hold b{{color:#b35c00}}.ret b{{color:#2a5d9f}}.err b{{color:#a11}}</style>\
</head><body>\
<h1>Roster check: {title}</h1>{status}{tiles}\
<h2>Decisions</h2>{d}\
<h2>Hold reasons</h2><p>A held case may have several reasons.</p>{r}\
<h2>Risk class of held cases</h2><p>Most urgent first (the 2023 nationwide check's classes).</p>{k}\
<h2>Comparisons that cannot pass, by stage and field</h2>\
<p>Rows whose class at that stage and field is mismatch, missing or unparseable.</p>{h}\
<h2>Run</h2><table>{table}</table>\
<p>This page holds counts and ids only: no names, birth dates, addresses or numbers.</p>\
</body></html>\n",
        title = esc(&run.file_name),
        d = bars(&decisions, "#4a7fb5"),
        r = bars(&reasons, "#d08a2e"),
        k = bars(&risk, "#b54a4a"),
        h = heat_map(summary, run.kind),
    )
}
