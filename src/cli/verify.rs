//! `verify-identity verify --server URL FILE.json`: the same JSON as `check`, decided by a
//! running server (and so recorded in its audit log), printed as `check` prints it.

use std::path::PathBuf;

use crate::{
    cli::{
        check,
        client::ClientArgs,
        error::{CommandError, CommandResult},
        exit,
        output::{self, Format},
    },
    contract::pb::{self, verify_identity_client::VerifyIdentityClient},
};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The server and the credentials to reach it.
    #[command(flatten)]
    pub client: ClientArgs,
    /// A VerifyRequest as proto3 JSON; `-` reads standard input.
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// `text` (the default on a terminal) or `json` (the default in a pipe).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The policy that marks rows of the text table as passing: the server decides with its
    /// own, so give the same file here (the built-in default when omitted).
    #[arg(long, env = "VERIFY_IDENTITY_POLICY")]
    pub policy: Option<PathBuf>,
}

/// Sends the request, prints the response; returns the exit status (as `check`).
pub async fn run(args: &VerifyArgs) -> CommandResult {
    let request = check::parse_request(&check::read_input(&args.file)?)?;
    let policy = check::load_policy(args.policy.as_deref())?;
    let server = &args.client.server;
    let endpoint = args.client.endpoint()?;
    let auth = args.client.auth()?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| CommandError::failed(format!("cannot connect to {server}: {e}")))?;
    let mut client = VerifyIdentityClient::with_interceptor(channel, auth);
    let response = client
        .verify(request.clone())
        .await
        .map_err(|status| refused(&status))?
        .into_inner();
    output::print_response(&request, &response, args.format, &policy);
    Ok(match response.decision() {
        pb::Decision::Register => exit::OK,
        pb::Decision::Hold => exit::HOLD,
        pb::Decision::Return => exit::RETURN,
        pb::Decision::Unspecified => exit::FAILURE,
    })
}

/// The server's refusal: its code and message, then each field it names on a line of its own.
/// A request the server calls invalid is bad input (2); anything else a failure (1).
fn refused(status: &tonic::Status) -> CommandError {
    use tonic_types::StatusExt;
    let mut message = format!("{:?}: {}", status.code(), status.message());
    if let Some(bad) = status.get_details_bad_request() {
        for v in bad.field_violations {
            message.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    match status.code() {
        tonic::Code::InvalidArgument | tonic::Code::OutOfRange | tonic::Code::AlreadyExists => {
            CommandError::BadInput(message)
        }
        _ => CommandError::Failed(message),
    }
}
