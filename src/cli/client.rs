//! What every client command (`verify`, `loadgen`) shares: the server's URL and the
//! credentials to reach it — a bearer token, the CA that signed the server's certificate, and
//! a client certificate for mTLS.
//!
//! The token is attached by an interceptor built once per command ([`BearerAuth`]): each
//! call clones a ready header value (a reference-counted buffer), so loadgen's hot path does
//! no formatting or parsing per request.

use std::{fmt, path::PathBuf, time::Duration};

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
};

use crate::cli::error::CommandError;

/// Connection options of the client commands.
///
/// Every option is `global`, so `holds list --server URL` and `holds --server URL list` both
/// work: operators type the options after the subcommand, as they do for `verify`. (Flattening
/// the struct into each holds subcommand as well would also do, but would leave two copies to
/// merge by hand.)
#[derive(Clone, clap::Args)]
pub struct ClientArgs {
    /// The server's URL: `https://…` for TLS, `http://…` for a local plain-TCP server;
    /// `HOST:PORT` alone is `https://` with --ca-cert and `http://` without.
    #[arg(
        long,
        global = true,
        env = "VERIFY_IDENTITY_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// Bearer token of a configured caller (prefer the environment variable: command lines
    /// are visible to other local users).
    #[arg(
        long,
        global = true,
        env = "VERIFY_IDENTITY_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// PEM file of the CA that signed the server's certificate (needed for `https://`).
    #[arg(long, global = true, env = "VERIFY_IDENTITY_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate, for a server that requires one (mTLS).
    #[arg(
        long,
        global = true,
        env = "VERIFY_IDENTITY_CLIENT_CERT",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `--client-cert`.
    #[arg(
        long,
        global = true,
        env = "VERIFY_IDENTITY_CLIENT_KEY",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,
    /// Send the bearer token over plain `http://` to a host that is not this machine. Anyone
    /// on the way can read it and then call as this caller; use `https://` instead.
    #[arg(long, global = true)]
    pub insecure_plaintext_token: bool,
}

impl fmt::Debug for ClientArgs {
    /// Everything but the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientArgs")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca_cert", &self.ca_cert)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("insecure_plaintext_token", &self.insecure_plaintext_token)
            .finish()
    }
}

impl ClientArgs {
    /// The endpoint, with TLS when the URL is `https://`.
    pub fn endpoint(&self) -> Result<Endpoint, CommandError> {
        let server = &self.url()?;
        let endpoint = Endpoint::from_shared(server.clone())
            .map_err(|_| CommandError::bad_input(format!("--server {server} is not a valid URL")))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5));
        if !server.starts_with("https://") {
            if self.ca_cert.is_some() || self.client_cert.is_some() {
                return Err(CommandError::bad_input(
                    "--ca-cert and --client-cert need an https:// --server",
                ));
            }
            return Ok(endpoint);
        }
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| {
                CommandError::bad_input(format!("cannot read {}: {e}", path.display()))
            })
        };
        let Some(ca) = &self.ca_cert else {
            return Err(CommandError::bad_input(
                "an https:// --server needs --ca-cert (the CA that signed its certificate)",
            ));
        };
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        endpoint
            .tls_config(tls)
            .map_err(|e| CommandError::bad_input(format!("TLS settings of the client: {e}")))
    }

    /// `--server` as a URL. `HOST:PORT` alone (how a port is usually written) gets the scheme
    /// the other options imply: TLS when a CA certificate is given, plain TCP otherwise. Left
    /// without one, tonic takes it for a URL without a scheme and fails with a bare "transport
    /// error" at the first call.
    fn url(&self) -> Result<String, CommandError> {
        let server = self.server.trim();
        match server.split_once("://") {
            Some(("http" | "https", _)) => Ok(server.to_owned()),
            Some((scheme, _)) => Err(CommandError::bad_input(format!(
                "--server {server}: the scheme must be https:// (TLS) or http:// (plain TCP, \
                 loopback only), not {scheme}://"
            ))),
            None if self.ca_cert.is_some() => Ok(format!("https://{server}")),
            None => Ok(format!("http://{server}")),
        }
    }

    /// The interceptor that adds the bearer token to every call (none without a token).
    ///
    /// A token over plain `http://` goes only to this machine (a loopback address or
    /// `localhost`): elsewhere it would cross the network in the clear, and whoever reads it can
    /// call as this caller. `--insecure-plaintext-token` says that is intended.
    pub fn auth(&self) -> Result<BearerAuth, CommandError> {
        if self.token.is_some() && !self.insecure_plaintext_token {
            let url = self.url()?;
            if let Some(rest) = url.strip_prefix("http://") {
                let authority = rest.split('/').next().unwrap_or_default();
                if !is_loopback_authority(authority) {
                    return Err(CommandError::bad_input(format!(
                        "refusing to send the token over plain http:// to {authority}: anyone on \
                         the way could read it; use an https:// --server with --ca-cert, or give \
                         --insecure-plaintext-token if this network is trusted"
                    )));
                }
            }
        }
        let header = self
            .token
            .as_deref()
            .map(|token| {
                format!("Bearer {}", token.trim())
                    .parse::<MetadataValue<Ascii>>()
                    // The message must not quote the token.
                    .map_err(|_| CommandError::bad_input("the token must be printable ASCII"))
            })
            .transpose()?;
        Ok(BearerAuth { header })
    }
}

/// Adds `authorization: Bearer <token>` to each request.
#[derive(Clone, Default)]
pub struct BearerAuth {
    /// The whole header value, built once.
    header: Option<MetadataValue<Ascii>>,
}

impl fmt::Debug for BearerAuth {
    /// Whether there is a token, never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("token", &self.header.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}

/// Whether `host[:port]` names this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(server: &str, token: Option<&str>) -> ClientArgs {
        ClientArgs {
            server: server.into(),
            token: token.map(Into::into),
            ca_cert: None,
            client_cert: None,
            client_key: None,
            insecure_plaintext_token: false,
        }
    }

    #[test]
    fn the_token_becomes_a_bearer_header_and_never_shows_in_debug() {
        let a = args("http://127.0.0.1:50051", Some("s3cret"));
        let request = a.auth().unwrap().call(Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer s3cret"
        );
        assert!(!format!("{a:?}").contains("s3cret"));
    }

    #[test]
    fn connection_options_are_accepted_before_or_after_the_subcommand() {
        use clap::Parser as _;
        /// The binary's `holds` command as `main.rs` mounts it.
        #[derive(clap::Parser)]
        struct TestCli {
            #[command(subcommand)]
            command: TestCommand,
        }
        #[derive(clap::Subcommand)]
        enum TestCommand {
            Holds(crate::cli::holds::HoldsArgs),
        }
        let server = |argv: &[&str]| match TestCli::try_parse_from(argv)
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
            .command
        {
            TestCommand::Holds(h) => (h.client.server, h.client.token),
        };
        let url = "http://127.0.0.1:1";
        let before = [
            "vi",
            "holds",
            "--server",
            url,
            "--token",
            "t",
            "list",
            "--insurer",
            "1",
        ];
        let after = [
            "vi",
            "holds",
            "list",
            "--insurer",
            "1",
            "--server",
            url,
            "--token",
            "t",
        ];
        for argv in [&before[..], &after[..]] {
            assert_eq!(server(argv), (url.to_owned(), Some("t".to_owned())));
        }
    }

    #[test]
    fn a_server_without_a_scheme_is_plain_tcp_or_tls_with_a_ca_certificate() {
        let plain = args("127.0.0.1:50051", None).endpoint().unwrap();
        assert_eq!(plain.uri().to_string(), "http://127.0.0.1:50051/");
        let with_ca = ClientArgs {
            ca_cert: Some("ca.pem".into()),
            ..args("verify.example:50051", None)
        };
        assert_eq!(with_ca.url().unwrap(), "https://verify.example:50051");
        let err = args("grpc://127.0.0.1:50051", None)
            .endpoint()
            .unwrap_err()
            .to_string();
        assert!(err.contains("https://") && err.contains("grpc://"), "{err}");
    }

    #[test]
    fn https_without_a_ca_certificate_is_refused_with_a_hint() {
        let err = args("https://verify.example:50051", None)
            .endpoint()
            .unwrap_err();
        assert!(err.to_string().contains("--ca-cert"));
    }

    #[test]
    fn a_token_goes_over_plain_http_only_to_this_machine_unless_said() {
        for local in [
            "http://127.0.0.1:50051",
            "127.0.0.2:50051",
            "http://localhost:50051",
            "http://[::1]:50051",
        ] {
            assert!(args(local, Some("t0ken")).auth().is_ok(), "{local}");
        }
        for remote in [
            "http://10.0.0.5:50051",
            "verify.internal:50051",
            "http://[2001:db8::1]:1",
        ] {
            let err = args(remote, Some("t0ken"))
                .auth()
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains("--insecure-plaintext-token"),
                "{remote}: {err}"
            );
            assert!(!err.contains("t0ken"), "the token is never quoted: {err}");
            let said = ClientArgs {
                insecure_plaintext_token: true,
                ..args(remote, Some("t0ken"))
            };
            assert!(said.auth().is_ok());
            assert!(
                args(remote, None).auth().is_ok(),
                "no token, nothing to leak"
            );
        }
    }
}
