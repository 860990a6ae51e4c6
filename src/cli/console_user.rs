//! `verify-identity console-user add`: a clerk for the console, written to the settings file
//! with the password's argon2id hash (never the password), and the client certificate the
//! clerk may sign in with, if any.

use std::{
    io::{BufRead, Write},
    path::PathBuf,
};

use crate::{
    cli::{
        error::{CommandError, CommandResult},
        exit,
    },
    config::{ConsoleUserConfig, Role, hash_password},
};

/// Flags of `console-user`.
#[derive(Debug, clap::Args)]
pub struct ConsoleUserArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ConsoleUserCommand,
}

/// The subcommands of `console-user`.
#[derive(Debug, clap::Subcommand)]
pub enum ConsoleUserCommand {
    /// Add a clerk to the settings file's `[[console_users]]` (the password is asked for
    /// twice without echo, or read from one line of stdin with --password-stdin).
    Add(AddArgs),
}

/// Flags of `console-user add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The settings file (created, mode 0600, if absent).
    #[arg(long, env = "VERIFY_IDENTITY_CONFIG")]
    pub config: PathBuf,
    /// The clerk's sign-in name, recorded in the audit events the clerk causes.
    #[arg(long)]
    pub name: String,
    /// An insurer number (保険者番号) the clerk works for (repeat for each).
    #[arg(long = "insurer", required = true)]
    pub insurers: Vec<String>,
    /// `operator` (works the holds) or `auditor` (reads only).
    #[arg(long, value_parser = ["operator", "auditor"])]
    pub role: String,
    /// Read the password from the first line of stdin instead of asking.
    #[arg(long, conflicts_with = "no_password")]
    pub password_stdin: bool,
    /// Hex SHA-256 of the DER of the clerk's client certificate: the clerk may also sign in
    /// with it under mutual TLS (`tls_client_ca`).
    #[arg(long, value_name = "HEX")]
    pub client_cert_sha256: Option<String>,
    /// The subject common name of the clerk's client certificate (weaker than a pin: it trusts
    /// the CA to give each name to one person).
    #[arg(long, value_name = "NAME")]
    pub client_cert_cn: Option<String>,
    /// No password: the clerk signs in by client certificate only (needs
    /// --client-cert-sha256 or --client-cert-cn).
    #[arg(long)]
    pub no_password: bool,
}

/// Runs `console-user`.
pub fn run(args: &ConsoleUserArgs) -> CommandResult {
    match &args.command {
        ConsoleUserCommand::Add(add) => match self::add(add) {
            Ok(()) => Ok(exit::OK),
            Err((exit::BAD_INPUT, message)) => {
                Err(CommandError::BadInput(format!("add: {message}")))
            }
            Err((_, message)) => Err(CommandError::Failed(format!("add: {message}"))),
        },
    }
}

fn add(args: &AddArgs) -> Result<(), (u8, String)> {
    let bad = |m: String| (exit::BAD_INPUT, m);
    let existing = match std::fs::read_to_string(&args.config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err((exit::FAILURE, format!("{}: {e}", args.config.display()))),
    };
    let parsed: toml::Table = toml::from_str(&existing)
        .map_err(|e| bad(format!("{} is not valid TOML: {e}", args.config.display())))?;
    let taken = parsed
        .get("console_users")
        .and_then(|v| v.as_array())
        .is_some_and(|users| {
            users
                .iter()
                .any(|u| u.get("name").and_then(|n| n.as_str()) == Some(args.name.as_str()))
        });
    if taken {
        return Err(bad(format!(
            "a console user named {} exists already",
            args.name
        )));
    }
    let by_certificate = args.client_cert_sha256.is_some() || args.client_cert_cn.is_some();
    if args.no_password && !by_certificate {
        return Err(bad(
            "--no-password needs --client-cert-sha256 or --client-cert-cn".into(),
        ));
    }
    let password = if args.no_password {
        String::new()
    } else if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| (exit::FAILURE, format!("reading the password: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("password: ")
            .map_err(|e| (exit::FAILURE, format!("reading the password: {e}")))?;
        let again = rpassword::prompt_password("again: ")
            .map_err(|e| (exit::FAILURE, format!("reading the password: {e}")))?;
        if first != again {
            return Err(bad("the two passwords differ".into()));
        }
        first
    };
    if !args.no_password && password.chars().count() < 12 {
        return Err(bad("the password must have at least 12 characters".into()));
    }
    let entry = ConsoleUserConfig {
        name: args.name.clone(),
        password_argon2id: if args.no_password {
            String::new()
        } else {
            hash_password(&password)
        },
        client_cert_sha256: args.client_cert_sha256.clone(),
        client_cert_cn: args.client_cert_cn.clone(),
        insurers: args.insurers.clone(),
        roles: vec![if args.role == "operator" {
            Role::Operator
        } else {
            Role::Auditor
        }],
    };
    // Checked as the server will check it before it is written.
    entry.check().map_err(bad)?;
    #[derive(serde::Serialize)]
    struct Block<'a> {
        console_users: [&'a ConsoleUserConfig; 1],
    }
    let block = toml::to_string(&Block {
        console_users: [&entry],
    })
    .map_err(|e| (exit::FAILURE, e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&args.config)
        .map_err(|e| (exit::FAILURE, format!("{}: {e}", args.config.display())))?;
    let sep = if existing.is_empty() || existing.ends_with("\n\n") {
        ""
    } else if existing.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    file.write_all(format!("{sep}{block}").as_bytes())
        .map_err(|e| (exit::FAILURE, format!("{}: {e}", args.config.display())))?;
    eprintln!(
        "added console user {} ({}) to {}",
        args.name,
        args.role,
        args.config.display()
    );
    Ok(())
}
