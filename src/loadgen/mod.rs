//! `verify-identity loadgen`: offer realistic load to a running server and report throughput
//! and latency.
//!
//! Two ways to offer load:
//!
//! - **closed loop** (default): `--concurrency` workers, each sending a request and awaiting the
//!   response before the next, spread round-robin over `--connections` HTTP/2 connections. This
//!   finds the server's capacity.
//! - **fixed rate** (`--rate R`): requests fall due at R per second on a fixed timeline whatever
//!   the server does, at most `--concurrency` in flight. Latency counts from when a request was
//!   due, not when it went out, so a stalled server is charged for the requests it delayed
//!   (coordinated omission); a request due while every slot is busy is counted as dropped.
//!
//! `--compare-health` runs the same shape against the server's own `grpc.health.v1.Health/Check`
//! and prints Verify rps ÷ health rps. On a shared machine absolute rates swing with the
//! neighbours; the ratio of two runs made back to back on the same connections cancels most of
//! that out, which is why it is the project's figure of merit (in closed-loop mode, where both
//! rates are capacities; at a fixed rate both usually just reach R).
//!
//! Every request is a newly invented person (`loadgen/generate.rs`, drawn from
//! [`crate::synthetic`]): about 70% register, 25% hold and 5% return, each with a unique
//! request id so that the server's idempotency never answers from a stored decision. Contents look like personal data and are never
//! printed; only counts, codes and timings are.

mod disk_probe;
mod drive;
mod generate;
mod report;

use std::{
    io::Write as _,
    time::{Duration, SystemTime},
};

use serde_json::json;
use tonic::transport::Channel;

use crate::cli::{
    client::{BearerAuth, ClientArgs},
    error::{CommandError, CommandResult},
    exit,
};

use drive::{Caller, Mode, Plan};
use generate::{Generator, RequestIds};
use report::{PhaseReport, Target};

/// Arguments of `verify-identity loadgen`.
#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// The server and the credentials to reach it.
    #[command(flatten)]
    pub client: ClientArgs,
    /// HTTP/2 connections to open; workers are spread over them round-robin.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub connections: u32,
    /// Closed loop: the number of workers. Fixed rate: the most requests in flight.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,
    /// How long to measure (10, 10s, 1m30s, 500ms).
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub duration: Duration,
    /// Load offered before measuring, not recorded.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Fixed-arrival-rate mode: requests per second on a fixed timeline (default: closed loop).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// 保険者番号 (8 digits) on every request.
    #[arg(long, default_value = "32130011", value_parser = parse_insurer)]
    pub insurer: String,
    /// Also load the server's health Check the same way and print Verify rps ÷ health rps.
    #[arg(long)]
    pub compare_health: bool,
    /// Seed for the generated data; printed when not given, so any run can be repeated.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The longest one call may take before it counts as DEADLINE_EXCEEDED.
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Print the summary as one JSON object (for scripts and BENCHMARKS.md).
    #[arg(long)]
    pub json: bool,
    /// Measure the disk beside the load: 16 KiB + fdatasync every 10 ms in a file in this
    /// directory (give the database's), reporting per window the share of time spent in syncs
    /// over 5 ms. A window's p99 is judged only when that share is under 0.5 %.
    #[arg(long, value_name = "DIR")]
    pub disk_probe: Option<std::path::PathBuf>,
    /// Run the Verify phase this many times back to back (each with its own warmup) and report
    /// every window, with its disk share under --disk-probe.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub windows: u32,
}

/// Runs `loadgen`: connects, runs the Verify phase (and the health phase with
/// `--compare-health`), prints the summary. Fails when the server cannot be reached or when
/// every request of a phase failed.
pub async fn run(args: &LoadgenArgs) -> CommandResult {
    let seed = args.seed.unwrap_or_else(rand::random);
    let plan = Plan {
        mode: args.rate.map_or(Mode::ClosedLoop, Mode::FixedRate),
        concurrency: args.concurrency as usize,
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
    };
    let channels = connect(&args.client, args.connections as usize).await?;
    let auth = args.client.auth()?;
    if !args.json {
        crate::outln!("loadgen → {}", args.client.server);
        crate::outln!("{}", describe(args, seed));
    }

    let ids = RequestIds::new();
    let received_before = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let probe = match &args.disk_probe {
        Some(dir) => Some(disk_probe::DiskProbe::start(dir).map_err(|e| {
            CommandError::failed(format!(
                "cannot probe the disk in {} (--disk-probe): {e}",
                dir.display()
            ))
        })?),
        None => None,
    };
    let mut windows = Vec::new();
    for window in 0..args.windows {
        let begun = probe.as_ref().map(disk_probe::DiskProbe::elapsed);
        let report = phase(
            Target::Verify,
            &channels,
            &auth,
            &plan,
            args.json,
            |worker| {
                Generator::new(
                    worker_seed(seed, worker + (window as usize) * plan.concurrency),
                    ids.clone(),
                    args.insurer.clone(),
                    received_before,
                )
            },
        )
        .await?;
        // The measured part of the phase: after its warmup, for its duration.
        let measured = begun.map(|b| (b + plan.warmup, b + plan.warmup + plan.duration));
        windows.push((report, measured));
    }
    let syncs = match probe {
        Some(p) => Some(
            p.stop()
                .map_err(|e| CommandError::failed(format!("the disk probe failed: {e}")))?,
        ),
        None => None,
    };
    let disk: Vec<Option<disk_probe::DiskWindow>> = windows
        .iter()
        .map(|(_, measured)| {
            syncs
                .as_ref()
                .zip(*measured)
                .map(|(s, (from, to))| s.window(from, to))
        })
        .collect();
    if !args.json && (args.windows > 1 || syncs.is_some()) {
        crate::outln!("windows (Verify latency, then the disk in the same window):");
        for (i, ((report, _), disk)) in windows.iter().zip(&disk).enumerate() {
            crate::outln!("  window {}: {}", i + 1, report.latency_line());
            if let Some(d) = disk {
                crate::outln!("  {}", d.human());
            }
        }
    }
    let windows_json: Vec<serde_json::Value> = windows
        .iter()
        .zip(&disk)
        .map(|((report, _), disk)| {
            json!({ "verify": report.json(), "disk": disk.as_ref().map(disk_probe::DiskWindow::json) })
        })
        .collect();
    let verify = windows.swap_remove(0).0;
    let verify_failed = all_failed(&verify, &args.client.server);
    let health = match (&verify_failed, args.compare_health) {
        (None, true) => Some(
            phase(Target::Health, &channels, &auth, &plan, args.json, |_| {
                unreachable!("health needs no data")
            })
            .await?,
        ),
        _ => None,
    };
    let ratio = health
        .as_ref()
        .filter(|h| h.rps() > 0.0)
        .map(|h| verify.rps() / h.rps());

    if args.json {
        let summary = json!({
            "server": args.client.server,
            "mode": if args.rate.is_some() { "fixed_rate" } else { "closed_loop" },
            "rate": args.rate,
            "connections": args.connections,
            "concurrency": args.concurrency,
            "warmup_s": args.warmup.as_secs_f64(),
            "duration_s": args.duration.as_secs_f64(),
            "seed": seed,
            "verify": verify.json(),
            "health": health.as_ref().map(PhaseReport::json),
            "verify_health_ratio": ratio,
            "windows": windows_json,
        });
        crate::outln!("{summary}");
    } else if let Some(ratio) = ratio {
        let note = if args.rate.is_some() {
            " (both at a fixed rate: achieved rates, not capacities)"
        } else {
            ""
        };
        crate::outln!("verify/health ratio: {ratio:.2}{note}");
    }
    if let Some(message) = verify_failed.or_else(|| {
        health
            .as_ref()
            .and_then(|h| all_failed(h, &args.client.server))
    }) {
        return Err(CommandError::failed(message));
    }
    Ok(exit::OK)
}

/// Runs one phase with one caller per worker, round-robin over the connections.
async fn phase(
    target: Target,
    channels: &[Channel],
    auth: &BearerAuth,
    plan: &Plan,
    quiet: bool,
    mut generator: impl FnMut(usize) -> Generator,
) -> Result<PhaseReport, CommandError> {
    if !quiet {
        // Progress goes to stderr so that stdout holds only the summary.
        eprintln!(
            "running {}: {} warmup + {} measured …",
            target.name(),
            human_duration(plan.warmup),
            human_duration(plan.duration)
        );
    }
    let callers = (0..plan.concurrency)
        .map(|worker| {
            Caller::new(
                target,
                channels[worker % channels.len()].clone(),
                auth,
                || generator(worker),
            )
        })
        .collect();
    let report = drive::run_phase(target, callers, plan)
        .await
        .map_err(|e| CommandError::failed(format!("a load generator task failed: {e}")))?;
    if !quiet {
        crate::out!("{}", report.human());
        let _ = std::io::stdout().flush();
    }
    Ok(report)
}

/// Opens `n` separate connections: one `Channel` multiplexes every call on one HTTP/2
/// connection, so a single one would measure one TCP stream and one server I/O task, not the
/// server.
async fn connect(client: &ClientArgs, n: usize) -> Result<Vec<Channel>, CommandError> {
    let server = &client.server;
    let endpoint = client.endpoint()?;
    let connections = (0..n).map(|_| endpoint.connect());
    futures::future::try_join_all(connections)
        .await
        .map_err(|e| {
            CommandError::failed(format!(
                "cannot connect to {server} (is `verify-identity serve` running there?): {e}"
            ))
        })
}

/// `Some(message)` when no call of the phase succeeded.
fn all_failed(report: &PhaseReport, server: &str) -> Option<String> {
    let stats = &report.stats;
    if stats.completed > 0 {
        return None;
    }
    let name = report.target.name();
    Some(if stats.failed() == 0 {
        format!("no {name} request was sent in the measured window; raise --duration or --rate")
    } else {
        format!(
            "every {name} request failed ({}); is {server} a healthy verify-identity server?",
            stats.errors_line()
        )
    })
}

/// The run's shape in one line.
fn describe(args: &LoadgenArgs, seed: u64) -> String {
    let mode = match args.rate {
        Some(rate) => format!(
            "fixed rate {rate}/s, at most {} in flight",
            args.concurrency
        ),
        None => format!("closed loop, {} workers", args.concurrency),
    };
    format!(
        "mode: {mode} over {} connections; warmup {}, duration {}; seed {seed}",
        args.connections,
        human_duration(args.warmup),
        human_duration(args.duration)
    )
}

/// Each worker's own seed: splitmix64 of the run seed and the worker index, so that workers
/// draw unrelated sequences and a run is reproducible worker by worker.
fn worker_seed(seed: u64, worker: usize) -> u64 {
    let mut z = seed.wrapping_add((worker as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn human_duration(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// Parses `10`, `10s`, `1.5s`, `500ms`, `2m`, `1m30s`, `1h`: a bare number is seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    const HINT: &str = "expected a duration such as 10, 10s, 1m30s or 500ms";
    let text = text.trim();
    if text.is_empty() {
        return Err(HINT.to_owned());
    }
    let mut total = 0.0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().map_err(|_| HINT.to_owned())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "" if number_len == text.len() => 1.0,
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(HINT.to_owned()),
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).map_err(|_| HINT.to_owned())
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err("must be longer than zero".to_owned()),
        d => Ok(d),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err("expected a positive number of requests per second".to_owned()),
    }
}

fn parse_insurer(text: &str) -> Result<String, String> {
    if crate::contract::parse::is_insurer_number(text) {
        Ok(text.to_owned())
    } else {
        Err("a 保険者番号 is 8 digits".to_owned())
    }
}

#[cfg(test)]
mod tests;
