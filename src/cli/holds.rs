//! `verify-identity holds list`, `show`, `history` and `resolve`: the operators' queue of held
//! cases on the command line, through the server (so every resolution is authorized and
//! audited there).

use std::{
    fmt::Write as _,
    time::{SystemTime, UNIX_EPOCH},
};

use jiff::tz::TimeZone;

use crate::{
    cli::error::CommandResult,
    cli::{
        client::{BearerAuth, ClientArgs},
        exit, hold_stats, output,
    },
    contract::pb::{self, verify_identity_client::VerifyIdentityClient},
    domain::hold_cause::HoldCause,
    words::Lang,
};

/// The client type of the holds commands: the channel with the bearer token attached.
type Client =
    VerifyIdentityClient<tonic::codegen::InterceptedService<tonic::transport::Channel, BearerAuth>>;

/// Arguments of `holds`.
#[derive(Debug, clap::Args)]
pub struct HoldsArgs {
    /// The server and the credentials to reach it (as for `verify`).
    #[command(flatten)]
    pub client: ClientArgs,
    /// The language of the text output: `ja` or `en`. Default: Japanese when `LC_ALL`,
    /// `LC_MESSAGES` or `LANG` (the first one set) starts with `ja`, English otherwise. JSON
    /// and CSV keep the stable ids whatever the language.
    #[arg(long, global = true, value_parser = parse_lang)]
    pub lang: Option<Lang>,
    /// What to do.
    #[command(subcommand)]
    pub command: HoldsCommand,
}

/// Holds subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HoldsCommand {
    /// Open holds of an insurer: overdue first, then by risk class, then oldest first.
    List {
        /// 保険者番号.
        #[arg(long)]
        insurer: String,
        /// Only holds past their register_by deadline.
        #[arg(long)]
        overdue: bool,
        /// Only holds with this reason (e.g. FIELD_DIFFERS, NO_CANDIDATE); repeatable.
        #[arg(long = "reason")]
        reasons: Vec<String>,
        /// Only holds of this risk class (e.g. birth_or_sex, structural, address_only);
        /// repeatable.
        #[arg(long = "risk")]
        risks: Vec<String>,
        /// `triage`: overdue first, then by risk class (most urgent first), then oldest;
        /// `oldest`: oldest first.
        #[arg(long, value_enum, default_value_t = OrderArg::Triage)]
        order: OrderArg,
        /// At most this many holds (all pages are read up to it).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// One JSON object per hold (VerificationRecord, proto3 JSON) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One stored case, as `verify` prints a decision: its state, decision, deadline and the
    /// stage × field table (the audit log keeps no values, so none are shown).
    Show {
        /// 保険者番号 of the insurer that made it.
        #[arg(long)]
        insurer: String,
        /// The verification.
        verification_id: String,
        /// The VerificationRecord as proto3 JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The policy that marks rows of the table as passing (as for `verify`: the server
        /// decided with its own; the built-in default when omitted).
        #[arg(long, env = "VERIFY_IDENTITY_POLICY")]
        policy: Option<std::path::PathBuf>,
    },
    /// How the holds of a period ended, per what held them (stage × field × class × reason ×
    /// risk class), and where the policy held the same person almost every time. Prints an
    /// aligned table on a terminal, JSON when piped, CSV with --csv.
    Stats {
        /// 保険者番号; repeatable. None: every insurer you may act for.
        #[arg(long = "insurer")]
        insurers: Vec<String>,
        /// Holds decided from this time on (RFC 3339, or a date in UTC: 2026-11-01); without
        /// it, the last 90 days, as the console's 統計 page shows them.
        #[arg(long)]
        from: Option<String>,
        /// Holds decided before this time (default: now).
        #[arg(long)]
        to: Option<String>,
        /// Closed holds a comparison needs before it is suggested (0: the server's 50).
        #[arg(long, default_value_t = 0)]
        min_closed: u32,
        /// CSV, one line per row.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// JSON (HoldStatsResponse), also on a terminal.
        #[arg(long, conflicts_with = "table")]
        json: bool,
        /// The aligned table, also in a pipe.
        #[arg(long, conflicts_with = "csv")]
        table: bool,
    },
    /// A subject's history at an insurer (SubjectHistory): every decision about the subject
    /// and every claim, resolution and commit that followed, oldest first.
    History {
        /// 保険者番号.
        #[arg(long)]
        insurer: String,
        /// The insurer's id for the person (記号番号).
        #[arg(long)]
        subject: String,
        /// The SubjectHistoryResponse as proto3 JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Close a hold.
    Resolve {
        /// 保険者番号.
        #[arg(long)]
        insurer: String,
        /// The held verification.
        #[arg(long)]
        verification_id: String,
        /// How it was resolved.
        #[arg(long, value_enum)]
        resolution: ResolutionArg,
        /// Who resolves it.
        #[arg(long)]
        operator: String,
        /// A note for the file (no personal data).
        #[arg(long, default_value = "")]
        note: String,
        /// For `requeried` (and required with it): the verification of the new J-LIS query
        /// that replaces this one.
        #[arg(long, required_if_eq("resolution", "requeried"))]
        replaced_by: Option<String>,
        /// Why the case was held, in your judgement (optional): its id or its words —
        /// notation_or_variant (表記ゆれ・異体字), form_error (届書の誤記), registry_differs
        /// (J-LIS側の相違), different_person (別人), not_confirmed (本人確認できず), other (その他).
        #[arg(long, value_parser = parse_cause)]
        cause: Option<HoldCause>,
    },
}

/// Listing orders as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderArg {
    /// Overdue first, then by risk class, then oldest first: the order to work the queue in.
    Triage,
    /// Oldest first.
    Oldest,
}

impl From<OrderArg> for pb::HoldsOrder {
    fn from(o: OrderArg) -> Self {
        match o {
            OrderArg::Triage => pb::HoldsOrder::Triage,
            OrderArg::Oldest => pb::HoldsOrder::OldestFirst,
        }
    }
}

/// Resolutions as typed on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ResolutionArg {
    /// Re-queried J-LIS; name the new verification with --replaced-by.
    Requeried,
    /// The number was obtained from the person (it still needs its own verification).
    NumberFromPerson,
    /// The case was withdrawn.
    Withdrawn,
}

impl From<ResolutionArg> for pb::Resolution {
    fn from(r: ResolutionArg) -> Self {
        match r {
            ResolutionArg::Requeried => pb::Resolution::Requeried,
            ResolutionArg::NumberFromPerson => pb::Resolution::NumberFromPerson,
            ResolutionArg::Withdrawn => pb::Resolution::Withdrawn,
        }
    }
}

/// Parses `--lang`: `ja` or `en` (a region such as `ja-JP` or `en_US` is accepted).
pub fn parse_lang(text: &str) -> Result<Lang, String> {
    Lang::from_tag(text).ok_or_else(|| "the language is `ja` (日本語) or `en` (English)".to_owned())
}

/// The language of the command line's text: `--lang` when given, else the locale.
///
/// English unless the locale says Japanese, unlike the console (Japanese unless the browser
/// says English): a terminal's locale is a deliberate choice of its user, and one that is unset
/// or `C` (servers, CI, cron) says nothing about who reads the output, while a clerk's Japanese
/// desktop sets `ja_JP.UTF-8`. POSIX order: `LC_ALL`, then `LC_MESSAGES`, then `LANG`; the
/// first that is set and not empty decides.
pub fn text_lang(flag: Option<Lang>) -> Lang {
    flag.unwrap_or_else(|| {
        lang_of_locale(["LC_ALL", "LC_MESSAGES", "LANG"].map(|v| std::env::var(v).ok()))
    })
}

/// [`text_lang`]'s rule over the values of `LC_ALL`, `LC_MESSAGES` and `LANG`, in that order
/// (taken as values so the rule is tested without touching the process environment).
fn lang_of_locale(values: [Option<String>; 3]) -> Lang {
    let locale = values.into_iter().flatten().find(|v| !v.is_empty());
    match locale {
        Some(l) if l.starts_with("ja") => Lang::Ja,
        _ => Lang::En,
    }
}

/// Parses a hold cause given by its stable id (`form_error`, any case, `-` for `_`), its contract
/// name (`HOLD_CAUSE_FORM_ERROR`) or its Japanese words (`届書の誤記`).
pub fn parse_cause(text: &str) -> Result<HoldCause, String> {
    let t = text.trim();
    let id = t.to_ascii_lowercase().replace('-', "_");
    let id = id.strip_prefix("hold_cause_").unwrap_or(&id);
    HoldCause::ALL
        .into_iter()
        .find(|c| c.id() == id || c.label_ja() == t)
        .ok_or_else(|| {
            let known: Vec<String> = HoldCause::ALL
                .iter()
                .map(|c| format!("{} ({})", c.id(), c.label_ja()))
                .collect();
            format!("not a hold cause; one of: {}", known.join(", "))
        })
}

/// Parses a hold reason given as `FIELD_DIFFERS` or `HOLD_REASON_FIELD_DIFFERS` (any case).
pub fn parse_reason(text: &str) -> Option<pb::HoldReason> {
    let upper = text.trim().to_ascii_uppercase().replace('-', "_");
    let full = if upper.starts_with("HOLD_REASON_") {
        upper
    } else {
        format!("HOLD_REASON_{upper}")
    };
    pb::HoldReason::from_str_name(&full).filter(|r| *r != pb::HoldReason::Unspecified)
}

/// Parses a risk class given by its stable id (`birth_or_sex`) or its contract name
/// (`BIRTH_OR_SEX`, `RISK_CLASS_BIRTH_OR_SEX`), in any case.
pub fn parse_risk(text: &str) -> Option<pb::RiskClass> {
    let upper = text.trim().to_ascii_uppercase().replace('-', "_");
    let full = if upper.starts_with("RISK_CLASS_") {
        upper
    } else {
        format!("RISK_CLASS_{upper}")
    };
    pb::RiskClass::from_str_name(&full).filter(|r| *r != pb::RiskClass::Unspecified)
}

/// What `holds list` asks for.
struct ListQuery<'a> {
    insurer: &'a str,
    overdue_only: bool,
    reasons: Vec<i32>,
    risks: Vec<i32>,
    order: OrderArg,
}

/// Runs the command. It reports each failure itself, on lines with the context only it has
/// (the case, the row, the finding), so it always ends with a status (see `cli::error`).
pub async fn run(args: &HoldsArgs) -> CommandResult {
    Ok(run_and_report(args).await)
}

/// Runs the subcommand; returns the exit status.
async fn run_and_report(args: &HoldsArgs) -> u8 {
    let server = &args.client.server;
    let connection = args
        .client
        .endpoint()
        .and_then(|e| Ok((e, args.client.auth()?)));
    let (endpoint, auth) = match connection {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("verify-identity holds: {e:#}");
            return exit::BAD_INPUT;
        }
    };
    let mut client: Client = match endpoint.connect().await {
        Ok(channel) => VerifyIdentityClient::with_interceptor(channel, auth),
        Err(e) => {
            eprintln!("verify-identity holds: cannot connect to {server}: {e}");
            return exit::FAILURE;
        }
    };
    let result = match &args.command {
        HoldsCommand::List {
            insurer,
            overdue,
            reasons,
            risks,
            order,
            limit,
            json,
        } => match list_query(insurer, *overdue, reasons, risks, *order) {
            Ok(query) => list(&mut client, &query, *limit, *json, text_lang(args.lang)).await,
            Err(status) => Err(status),
        },
        HoldsCommand::Show {
            insurer,
            verification_id,
            json,
            policy,
        } => {
            let policy = match crate::cli::check::load_policy(policy.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("verify-identity holds show: {e}");
                    return e.exit_code();
                }
            };
            client
                .get_verification(pb::GetVerificationRequest {
                    verification_id: verification_id.clone(),
                    insurer_number: insurer.clone(),
                })
                .await
                .map(|r| {
                    let record = r.into_inner();
                    if *json {
                        crate::outln!(
                            "{}",
                            serde_json::to_string_pretty(&record).expect("records serialize")
                        );
                    } else {
                        use std::io::IsTerminal as _;
                        let colour =
                            crate::terminal::colour_from_env(std::io::stdout().is_terminal());
                        crate::out!(
                            "{}",
                            crate::cli::explain::render_stored(&record, &policy, colour)
                        );
                    }
                })
        }
        HoldsCommand::Stats {
            insurers,
            from,
            to,
            min_closed,
            csv,
            json,
            table,
        } => match hold_stats::request(insurers, from.as_deref(), to.as_deref(), *min_closed) {
            Err(message) => {
                eprintln!("verify-identity holds stats: {message}");
                return exit::BAD_INPUT;
            }
            Ok(request) => client.hold_stats(request).await.map(|r| {
                use std::io::IsTerminal as _;
                let format = if *csv {
                    hold_stats::StatsFormat::Csv
                } else if *json || (!*table && !std::io::stdout().is_terminal()) {
                    hold_stats::StatsFormat::Json
                } else {
                    hold_stats::StatsFormat::Table
                };
                crate::out!(
                    "{}",
                    hold_stats::render(&r.into_inner(), format, text_lang(args.lang))
                );
            }),
        },
        HoldsCommand::History {
            insurer,
            subject,
            json,
        } => client
            .subject_history(pb::SubjectHistoryRequest {
                insurer_number: insurer.clone(),
                subject_id: subject.clone(),
            })
            .await
            .map(|r| {
                let history = r.into_inner();
                if *json {
                    let text = serde_json::to_string_pretty(&history).expect("answers serialize");
                    crate::outln!("{text}");
                } else {
                    let zone = TimeZone::system();
                    let text = history::render(&history, &zone, text_lang(args.lang));
                    crate::out!("{text}");
                }
            }),
        HoldsCommand::Resolve {
            insurer,
            verification_id,
            resolution,
            operator,
            note,
            replaced_by,
            cause,
        } => {
            let request = pb::ResolveHoldRequest {
                verification_id: verification_id.clone(),
                insurer_number: insurer.clone(),
                resolution: pb::Resolution::from(*resolution).into(),
                operator_id: operator.clone(),
                note: note.clone(),
                replaced_by_verification_id: replaced_by.clone().unwrap_or_default(),
                cause: cause
                    .map_or(pb::HoldCause::Unspecified, pb::HoldCause::from)
                    .into(),
            };
            client.resolve_hold(request).await.map(|r| {
                let record = r.into_inner().record.unwrap_or_default();
                crate::outln!(
                    "{}",
                    resolved_line(verification_id, record.state, text_lang(args.lang))
                );
            })
        }
    };
    match result {
        Ok(()) => exit::OK,
        Err(status) => {
            eprintln!(
                "verify-identity holds: {:?}: {}",
                status.code(),
                status.message()
            );
            use tonic_types::StatusExt;
            if let Some(info) = status.get_details_error_info() {
                eprintln!("  reason: {}", info.reason);
            }
            if let Some(bad) = status.get_details_bad_request() {
                for v in bad.field_violations {
                    eprintln!("  {}: {}", flag_of(&v.field), v.description);
                }
            }
            match status.code() {
                tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => exit::BAD_INPUT,
                _ => exit::FAILURE,
            }
        }
    }
}

/// The flag a person typed for a request field the server names in a refusal: the contract's
/// words (`replaced_by_verification_id`) mean nothing to whoever typed `--replaced-by`.
fn flag_of(field: &str) -> &str {
    match field {
        "insurer_number" => "--insurer",
        "verification_id" => "--verification-id (or the id after `show`)",
        "operator_id" => "--operator",
        "note" => "--note",
        "resolution" => "--resolution",
        "replaced_by_verification_id" => "--replaced-by",
        "cause" => "--cause",
        "from" => "--from",
        "to" => "--to",
        other if other.starts_with("insurer_numbers") => "--insurer",
        "reasons" => "--reason",
        "risk_classes" => "--risk",
        "page_token" => "(the listing's page token: start the listing again)",
        "subject_id" => "--subject",
        other => other,
    }
}

/// The listing the options ask for; an unknown reason or risk class is refused here.
fn list_query<'a>(
    insurer: &'a str,
    overdue_only: bool,
    reasons: &[String],
    risks: &[String],
    order: OrderArg,
) -> Result<ListQuery<'a>, tonic::Status> {
    let reasons = reasons
        .iter()
        .map(|r| {
            parse_reason(r).map(|reason| reason as i32).ok_or_else(|| {
                tonic::Status::invalid_argument(format!("unknown hold reason `{r}`"))
            })
        })
        .collect::<Result<_, _>>()?;
    let risks = risks
        .iter()
        .map(|r| {
            parse_risk(r)
                .map(|class| class as i32)
                .ok_or_else(|| tonic::Status::invalid_argument(format!("unknown risk class `{r}`")))
        })
        .collect::<Result<_, _>>()?;
    Ok(ListQuery {
        insurer,
        overdue_only,
        reasons,
        risks,
        order,
    })
}

async fn list(
    client: &mut Client,
    query: &ListQuery<'_>,
    limit: usize,
    json: bool,
    lang: Lang,
) -> Result<(), tonic::Status> {
    let mut holds = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_holds(pb::ListHoldsRequest {
                insurer_number: query.insurer.to_owned(),
                overdue_only: query.overdue_only,
                reasons: query.reasons.clone(),
                page_size: 500,
                page_token: page_token.clone(),
                risk_classes: query.risks.clone(),
                order: pb::HoldsOrder::from(query.order).into(),
                // The command lists everyone's holds (the console's filters are a clerk's).
                assignee: String::new(),
                unassigned_only: false,
            })
            .await?
            .into_inner();
        holds.extend(page.holds);
        if page.next_page_token.is_empty() || holds.len() >= limit {
            break;
        }
        page_token = page.next_page_token;
    }
    holds.truncate(limit);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    // In the server's order: in triage order the server put the overdue first.
    // Written whole at the end, so that a reader that stops early (`| head`) ends the output
    // quietly instead of making `println!` panic.
    let mut text = String::new();
    if json {
        for r in &holds {
            let _ = writeln!(
                text,
                "{}",
                serde_json::to_string(r).expect("records serialize")
            );
        }
        return Ok(output::write_stdout(&text)?);
    }
    // `TZ` (an IANA name such as Asia/Tokyo) or else the system zone (/etc/localtime).
    let zone = TimeZone::system();
    text.push_str(&render_list(
        &holds,
        now,
        &zone,
        lang,
        crate::terminal::stdout_width(),
    ));
    Ok(output::write_stdout(&text)?)
}

mod history;
mod text;

use text::{render_list, resolved_line};

#[cfg(test)]
mod tests;
