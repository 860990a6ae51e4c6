//! `verify-identity verify --server URL FILE.json`: the same JSON as `check`, decided by a
//! running server (and so recorded in its audit log), printed as `check` prints it.

use std::path::PathBuf;

use crate::{
    cli::{
        check,
        client::ClientArgs,
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
pub async fn run(args: &VerifyArgs) -> u8 {
    let request = match check::read_input(&args.file).and_then(|json| check::parse_request(&json)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("verify-identity verify: {e}");
            return e.exit_code();
        }
    };
    let policy = match check::load_policy(args.policy.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("verify-identity verify: {e}");
            return e.exit_code();
        }
    };
    let server = &args.client.server;
    let (endpoint, auth) = match args
        .client
        .endpoint()
        .and_then(|e| Ok((e, args.client.auth()?)))
    {
        Ok(both) => both,
        Err(e) => {
            eprintln!("verify-identity verify: {e:#}");
            return exit::FAILURE;
        }
    };
    let mut client = match endpoint.connect().await {
        Ok(channel) => VerifyIdentityClient::with_interceptor(channel, auth),
        Err(e) => {
            eprintln!("verify-identity verify: cannot connect to {server}: {e}");
            return exit::FAILURE;
        }
    };
    match client.verify(request.clone()).await {
        Ok(response) => {
            let response = response.into_inner();
            output::print_response(&request, &response, args.format, &policy);
            match response.decision() {
                pb::Decision::Register => exit::OK,
                pb::Decision::Hold => exit::HOLD,
                pb::Decision::Return => exit::RETURN,
                pb::Decision::Unspecified => exit::FAILURE,
            }
        }
        Err(status) => {
            eprintln!(
                "verify-identity verify: {:?}: {}",
                status.code(),
                status.message()
            );
            use tonic_types::StatusExt;
            if let Some(bad) = status.get_details_bad_request() {
                for v in bad.field_violations {
                    eprintln!("  {}: {}", v.field, v.description);
                }
            }
            match status.code() {
                tonic::Code::InvalidArgument
                | tonic::Code::OutOfRange
                | tonic::Code::AlreadyExists => exit::BAD_INPUT,
                _ => exit::FAILURE,
            }
        }
    }
}
