//! `verify-identity holds list` and `holds resolve`: the operators' queue of held cases on the
//! command line, through the server (so every resolution is authorized and audited there).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{
    cli::{
        client::{BearerAuth, ClientArgs},
        exit,
    },
    grpc::pb::{self, verify_identity_client::VerifyIdentityClient},
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
    /// What to do.
    #[command(subcommand)]
    pub command: HoldsCommand,
}

/// Holds subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HoldsCommand {
    /// Open holds of an insurer: overdue first, then oldest first.
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
        /// At most this many holds (all pages are read up to it).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// One JSON object per hold (VerificationRecord, proto3 JSON) instead of a table.
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
        /// For `requeried`: the verification that replaces this one.
        #[arg(long)]
        replaced_by: Option<String>,
    },
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

/// Runs the subcommand; returns the exit status.
pub async fn run(args: &HoldsArgs) -> u8 {
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
            limit,
            json,
        } => list(&mut client, insurer, *overdue, reasons, *limit, *json).await,
        HoldsCommand::Resolve {
            insurer,
            verification_id,
            resolution,
            operator,
            note,
            replaced_by,
        } => {
            let request = pb::ResolveHoldRequest {
                verification_id: verification_id.clone(),
                insurer_number: insurer.clone(),
                resolution: pb::Resolution::from(*resolution).into(),
                operator_id: operator.clone(),
                note: note.clone(),
                replaced_by_verification_id: replaced_by.clone().unwrap_or_default(),
            };
            client.resolve_hold(request).await.map(|r| {
                let record = r.into_inner().record.unwrap_or_default();
                println!(
                    "{} {}",
                    verification_id,
                    pb::VerificationState::try_from(record.state).map_or("?", |s| s.as_str_name())
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
                    eprintln!("  {}: {}", v.field, v.description);
                }
            }
            match status.code() {
                tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => exit::BAD_INPUT,
                _ => exit::FAILURE,
            }
        }
    }
}

async fn list(
    client: &mut Client,
    insurer: &str,
    overdue_only: bool,
    reasons: &[String],
    limit: usize,
    json: bool,
) -> Result<(), tonic::Status> {
    let mut parsed = Vec::new();
    for r in reasons {
        match parse_reason(r) {
            Some(reason) => parsed.push(reason as i32),
            None => {
                return Err(tonic::Status::invalid_argument(format!(
                    "unknown hold reason `{r}`"
                )));
            }
        }
    }
    let mut holds = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_holds(pb::ListHoldsRequest {
                insurer_number: insurer.to_owned(),
                overdue_only,
                reasons: parsed.clone(),
                page_size: 500,
                page_token: page_token.clone(),
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
    let deadline = |r: &pb::VerificationRecord| {
        r.verification
            .as_ref()
            .and_then(|v| v.register_by.as_ref())
            .map(|t| t.seconds)
    };
    let is_overdue = |r: &pb::VerificationRecord| deadline(r).is_some_and(|d| d < now);
    // Overdue first; the server's order (oldest first) within each group.
    holds.sort_by_key(|r| !is_overdue(r));
    if json {
        for r in &holds {
            println!("{}", serde_json::to_string(r).expect("records serialize"));
        }
        return Ok(());
    }
    println!(
        "{:<36}  {:<20}  {:<16}  {:<16}  {:<7}  reasons",
        "verification_id", "subject_id", "decided", "register_by", "overdue"
    );
    for r in &holds {
        let v = r.verification.clone().unwrap_or_default();
        let reasons: Vec<&str> = v
            .hold_reasons()
            .map(|h| h.as_str_name().trim_start_matches("HOLD_REASON_"))
            .collect();
        println!(
            "{:<36}  {:<20}  {:<16}  {:<16}  {:<7}  {}",
            v.verification_id,
            r.subject_id,
            v.decided_at
                .as_ref()
                .map_or("-".into(), |t| minutes(t.seconds)),
            deadline(r).map_or("-".into(), minutes),
            if is_overdue(r) { "OVERDUE" } else { "" },
            reasons.join(",")
        );
    }
    println!("{} open hold(s)", holds.len());
    Ok(())
}

/// A UTC time to the minute, `2026-11-24 18:05`.
fn minutes(epoch_seconds: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(epoch_seconds.max(0) as u64);
    let ts = crate::grpc::convert::timestamp(t);
    let json = serde_json::to_value(ts).unwrap_or_default();
    let text = json.as_str().unwrap_or_default();
    // RFC 3339 → "YYYY-MM-DD HH:MM".
    text.get(..16)
        .map_or_else(|| text.to_owned(), |s| s.replacen('T', " ", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_reasons_are_accepted_with_or_without_their_prefix() {
        assert_eq!(
            parse_reason("field_differs"),
            Some(pb::HoldReason::FieldDiffers)
        );
        assert_eq!(
            parse_reason("HOLD_REASON_NO_CANDIDATE"),
            Some(pb::HoldReason::NoCandidate)
        );
        assert_eq!(
            parse_reason("multiple-candidates"),
            Some(pb::HoldReason::MultipleCandidates)
        );
        assert_eq!(parse_reason("unspecified"), None);
        assert_eq!(parse_reason("nonsense"), None);
    }

    #[test]
    fn times_are_shown_to_the_minute_in_utc() {
        assert_eq!(minutes(1_795_000_000), "2026-11-18 11:06");
    }
}
