//! `verify-identity check`: run the core on one request without a server.
//!
//! Operators use it to see why a case was held; integrators use it to try the core. The input
//! is the JSON that grpcurl sends (proto3 JSON; snake_case and lowerCamelCase keys both work);
//! the output is the JSON grpcurl would print or, on a terminal or with `--format text`, the
//! explanation of [`crate::cli::explain`].

use std::{
    io::Read,
    path::{Path, PathBuf},
    time::SystemTime,
};

use crate::{
    cli::{
        error::{CommandError, CommandResult},
        exit,
        output::{self, Format},
    },
    contract::pb,
    contract::{
        parse::{self, Identifiers},
        respond,
    },
    domain::{gate, gate::DecisionKind, policy::Policy},
};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A VerifyRequest as proto3 JSON; `-` reads standard input.
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// A policy file (TOML); the built-in default policy when omitted.
    #[arg(long, env = "VERIFY_IDENTITY_POLICY")]
    pub policy: Option<PathBuf>,
    /// `text` (the default on a terminal) or `json` (the default in a pipe).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Why `check` could not decide. Messages name the file or field, never a value.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The input could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The input is not a VerifyRequest.
    #[error("{0}")]
    BadInput(String),
    /// The policy file is unusable.
    #[error("policy {path}: {message}")]
    Policy {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl CheckError {
    /// The exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CheckError::Read { .. } | CheckError::BadInput(_) => exit::BAD_INPUT,
            CheckError::Policy { .. } => exit::FAILURE,
        }
    }
}

/// Reads the policy at `path`, or the default.
pub fn load_policy(path: Option<&Path>) -> Result<Policy, CheckError> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| CheckError::Policy {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Policy::from_toml(&text).map_err(|e| CheckError::Policy {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Parses a VerifyRequest from proto3 JSON, naming the path of the first bad value.
pub fn parse_request(json: &str) -> Result<pb::VerifyRequest, CheckError> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        // serde_json's messages can quote the offending value; keep only its category.
        let inner = e.into_inner();
        let what = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!(
                    "not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                )
            }
            _ if is_timestamp_field(&path) => TIMESTAMP_FORM.to_owned(),
            _ => redact(&inner.to_string()),
        };
        if path == "." || path.is_empty() {
            CheckError::BadInput(format!("request: {what}"))
        } else {
            CheckError::BadInput(format!("{path}: {what}"))
        }
    })
}

/// What a Timestamp field of a request must look like. The parser's own message ("premature
/// end of input" for a date alone) does not say it.
const TIMESTAMP_FORM: &str = "not a timestamp: proto3 JSON takes RFC 3339 with a time and an \
     offset, e.g. \"2026-11-20T09:00:00+09:00\" or \"2026-11-20T00:00:00Z\" (a date alone is \
     not enough)";

/// Whether the JSON path (`received_at`, `receivedAt`) ends at a Timestamp field of a request.
fn is_timestamp_field(path: &str) -> bool {
    let field = path.rsplit('.').next().unwrap_or(path);
    matches!(field, "received_at" | "receivedAt")
}

/// Drops anything quoted from a serde message (values may be personal data); field and enum
/// names are quoted with backticks and kept.
fn redact(message: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    for c in message.chars() {
        if c == '"' {
            if !in_quote {
                out.push_str("\"…");
            }
            in_quote = !in_quote;
            if !in_quote {
                out.push('"');
            }
        } else if !in_quote {
            out.push(c);
        }
    }
    let mut out = match out.find(" at line ") {
        Some(i) => out[..i].to_owned(),
        None => out,
    };
    // "invalid type: integer `5`" and "invalid value: `…`" quote the value between backticks.
    if out.starts_with("invalid")
        && let (Some(open), Some(close)) = (out.find('`'), out.match_indices('`').nth(1))
    {
        out.replace_range(open + 1..close.0, "…");
    }
    out
}

/// Runs `check`: prints the response and returns the exit status.
pub fn run(args: &CheckArgs) -> CommandResult {
    let policy = load_policy(args.policy.as_deref())?;
    let json = read_input(&args.file)?;
    let request = parse_request(&json)?;
    let response = decide(&request, &policy)?;
    output::print_response(&request, &response, args.format, &policy);
    Ok(match response.decision() {
        pb::Decision::Register => exit::OK,
        pb::Decision::Hold => exit::HOLD,
        pb::Decision::Return => exit::RETURN,
        pb::Decision::Unspecified => exit::FAILURE,
    })
}

/// Validates and decides one request locally.
pub fn decide(
    request: &pb::VerifyRequest,
    policy: &Policy,
) -> Result<pb::VerifyResponse, CheckError> {
    let case = parse::case_from_request(request, Identifiers::Optional).map_err(|violations| {
        let lines: Vec<String> = violations.iter().map(ToString::to_string).collect();
        CheckError::BadInput(lines.join("\n"))
    })?;
    let decision = gate::decide(&case, policy);
    debug_assert!(decision.kind != DecisionKind::Register || decision.selected_candidate.is_some());
    Ok(respond::response_from_decision(
        &decision,
        String::new(),
        SystemTime::now(),
        request,
    ))
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<String, CheckError> {
    let read_err = |source| CheckError::Read {
        path: path.display().to_string(),
        source,
    };
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(read_err)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(read_err)
    }
}

/// How `main` reports a failed check: its exit status and message, kept.
impl From<CheckError> for CommandError {
    fn from(e: CheckError) -> Self {
        match e.exit_code() {
            exit::BAD_INPUT => CommandError::BadInput(e.to_string()),
            _ => CommandError::Failed(e.to_string()),
        }
    }
}

#[cfg(test)]
mod command_error_tests {
    use super::*;
    use crate::cli::{error::CommandError, exit};

    #[test]
    fn a_check_error_keeps_its_status_and_its_message() {
        let policy = CheckError::Policy {
            path: "p.toml".into(),
            message: "unknown field".into(),
        };
        let e = CommandError::from(policy);
        assert_eq!(e.exit_code(), exit::FAILURE);
        assert_eq!(e.to_string(), "policy p.toml: unknown field");
        let e = CommandError::from(CheckError::BadInput("request: five_fields".into()));
        assert_eq!(e.exit_code(), exit::BAD_INPUT);
    }
}
