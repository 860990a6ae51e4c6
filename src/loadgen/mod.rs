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

use anyhow::{Context as _, bail};
use serde_json::json;
use tonic::transport::Channel;

use crate::cli::client::{BearerAuth, ClientArgs};

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
pub async fn run(args: &LoadgenArgs) -> anyhow::Result<()> {
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
        Some(dir) => Some(
            disk_probe::DiskProbe::start(dir)
                .with_context(|| format!("cannot probe the disk in {}", dir.display()))?,
        ),
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
        Some(p) => Some(p.stop().context("the disk probe failed")?),
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
        bail!(message);
    }
    Ok(())
}

/// Runs one phase with one caller per worker, round-robin over the connections.
async fn phase(
    target: Target,
    channels: &[Channel],
    auth: &BearerAuth,
    plan: &Plan,
    quiet: bool,
    mut generator: impl FnMut(usize) -> Generator,
) -> anyhow::Result<PhaseReport> {
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
    let report = drive::run_phase(target, callers, plan).await?;
    if !quiet {
        crate::out!("{}", report.human());
        let _ = std::io::stdout().flush();
    }
    Ok(report)
}

/// Opens `n` separate connections: one `Channel` multiplexes every call on one HTTP/2
/// connection, so a single one would measure one TCP stream and one server I/O task, not the
/// server.
async fn connect(client: &ClientArgs, n: usize) -> anyhow::Result<Vec<Channel>> {
    let server = &client.server;
    let endpoint = client.endpoint()?;
    let connections = (0..n).map(|_| endpoint.connect());
    futures::future::try_join_all(connections)
        .await
        .with_context(|| {
            format!("cannot connect to {server} (is `verify-identity serve` running there?)")
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
mod tests {
    use super::*;
    use crate::contract::pb::{
        self,
        verify_identity_server::{VerifyIdentity, VerifyIdentityServer},
    };
    use clap::Parser;
    use std::{net::SocketAddr, pin::Pin};
    use tonic::{Request, Response, Status};

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        args: LoadgenArgs,
    }

    fn args(line: &[&str]) -> LoadgenArgs {
        TestCli::try_parse_from(std::iter::once("loadgen").chain(line.iter().copied()))
            .expect("valid arguments")
            .args
    }

    /// A stand-in server: Verify decides with the real core, the other RPCs are unimplemented.
    struct CoreOnly;

    type Responses =
        Pin<Box<dyn futures::Stream<Item = Result<pb::VerifyResponse, Status>> + Send>>;

    #[tonic::async_trait]
    impl VerifyIdentity for CoreOnly {
        async fn verify(
            &self,
            request: Request<pb::VerifyRequest>,
        ) -> Result<Response<pb::VerifyResponse>, Status> {
            let policy = crate::domain::policy::Policy::default();
            crate::cli::check::decide(request.get_ref(), &policy)
                .map(Response::new)
                .map_err(|_| Status::invalid_argument("invalid request"))
        }
        type VerifyBatchStream = Responses;
        async fn verify_batch(
            &self,
            _: Request<tonic::Streaming<pb::VerifyRequest>>,
        ) -> Result<Response<Responses>, Status> {
            Err(Status::unimplemented("not in the stand-in"))
        }
        async fn get_verification(
            &self,
            _: Request<pb::GetVerificationRequest>,
        ) -> Result<Response<pb::VerificationRecord>, Status> {
            Err(Status::unimplemented("not in the stand-in"))
        }
        async fn commit_registration(
            &self,
            _: Request<pb::CommitRegistrationRequest>,
        ) -> Result<Response<pb::CommitRegistrationResponse>, Status> {
            Err(Status::unimplemented("not in the stand-in"))
        }
        async fn resolve_hold(
            &self,
            _: Request<pb::ResolveHoldRequest>,
        ) -> Result<Response<pb::ResolveHoldResponse>, Status> {
            Err(Status::unimplemented("not in the stand-in"))
        }
        async fn list_holds(
            &self,
            _: Request<pb::ListHoldsRequest>,
        ) -> Result<Response<pb::ListHoldsResponse>, Status> {
            Err(Status::unimplemented("not in the stand-in"))
        }

        async fn hold_stats(
            &self,
            _: Request<pb::HoldStatsRequest>,
        ) -> Result<Response<pb::HoldStatsResponse>, Status> {
            Err(Status::unimplemented("not in the stand-in"))
        }
    }

    /// Serves health (and Verify when `with_verify`) on a free port; returns its URL.
    async fn stand_in_server(with_verify: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let (_reporter, health) = tonic_health::server::health_reporter();
        let router = tonic::transport::Server::builder()
            .add_service(health)
            .add_optional_service(with_verify.then(|| VerifyIdentityServer::new(CoreOnly)));
        tokio::spawn(
            router.serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        format!("http://{address}")
    }

    fn short(mut args: LoadgenArgs) -> LoadgenArgs {
        args.warmup = Duration::from_millis(100);
        args.duration = Duration::from_millis(500);
        args
    }

    #[test]
    fn durations_are_read_in_seconds_or_with_units() {
        let cases = [
            ("10", 10_000),
            ("10s", 10_000),
            ("1.5s", 1_500),
            ("500ms", 500),
            ("2m", 120_000),
            ("1m30s", 90_000),
            ("1h", 3_600_000),
            ("0", 0),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for bad in ["", "s", "10x", "-1", "1..5s", "10 s s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_positive_duration("0s").is_err());
    }

    #[test]
    fn the_defaults_are_a_closed_loop_of_64_over_4_connections_for_10_seconds() {
        let a = args(&[]);
        assert_eq!((a.connections, a.concurrency), (4, 64));
        assert_eq!(
            (a.duration, a.warmup),
            (Duration::from_secs(10), Duration::from_secs(2))
        );
        assert_eq!(
            (a.rate, a.insurer.as_str(), a.compare_health, a.json),
            (None, "32130011", false, false)
        );
        let a = args(&[
            "--rate",
            "500",
            "--duration",
            "1m",
            "--seed",
            "7",
            "--compare-health",
            "--json",
        ]);
        assert_eq!(
            (a.rate, a.duration, a.seed),
            (Some(500.0), Duration::from_secs(60), Some(7))
        );
    }

    #[test]
    fn nonsense_options_are_refused_before_anything_is_sent() {
        for line in [
            &["--connections", "0"][..],
            &["--concurrency", "0"],
            &["--rate", "0"],
            &["--rate", "NaN"],
            &["--insurer", "1234"],
            &["--duration", "0"],
        ] {
            assert!(
                TestCli::try_parse_from(std::iter::once("loadgen").chain(line.iter().copied()))
                    .is_err(),
                "{line:?}"
            );
        }
    }

    #[test]
    fn worker_seeds_differ_per_worker_and_repeat_per_run_seed() {
        assert_eq!(worker_seed(1, 0), worker_seed(1, 0));
        assert_ne!(worker_seed(1, 0), worker_seed(1, 1));
        assert_ne!(worker_seed(1, 0), worker_seed(2, 0));
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_reported_as_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let mut a = short(args(&[]));
        a.client.server = url;
        let error = format!("{:#}", run(&a).await.unwrap_err());
        assert!(
            error.contains("cannot connect to http://127.0.0.1:"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_closed_loop_against_the_core_gets_the_decisions_the_generator_intended() {
        let mut a = short(args(&[
            "--connections",
            "2",
            "--concurrency",
            "8",
            "--seed",
            "11",
        ]));
        a.client.server = stand_in_server(true).await;
        let channels = connect(&a.client, 2).await.unwrap();
        let plan = Plan {
            mode: Mode::ClosedLoop,
            concurrency: 8,
            warmup: a.warmup,
            duration: a.duration,
            timeout: a.timeout,
        };
        let ids = RequestIds::new();
        let report = phase(
            Target::Verify,
            &channels,
            &BearerAuth::default(),
            &plan,
            true,
            |w| {
                Generator::new(
                    worker_seed(11, w),
                    ids.clone(),
                    a.insurer.clone(),
                    1_800_000_000,
                )
            },
        )
        .await
        .unwrap();
        let s = &report.stats;
        assert!(s.completed > 0);
        assert_eq!(
            (s.failed(), s.unexpected, s.outcomes[3]),
            (0, 0, 0),
            "{}",
            report.human()
        );
        assert!(s.outcomes[0] > s.outcomes[1] && s.outcomes[1] > s.outcomes[2]);
        assert_eq!(s.latency.len(), s.completed);
    }

    #[tokio::test]
    async fn a_fixed_rate_issues_exactly_the_timeline_and_charges_latency_from_it() {
        let mut a = short(args(&["--rate", "200", "--concurrency", "8"]));
        a.client.server = stand_in_server(true).await;
        let channels = connect(&a.client, 4).await.unwrap();
        let plan = Plan {
            mode: Mode::FixedRate(200.0),
            concurrency: 8,
            warmup: a.warmup,
            duration: a.duration,
            timeout: a.timeout,
        };
        let report = drive::run_phase(
            Target::Health,
            (0..8)
                .map(|w| {
                    Caller::new(
                        Target::Health,
                        channels[w % 4].clone(),
                        &BearerAuth::default(),
                        || unreachable!(),
                    )
                })
                .collect(),
            &plan,
        )
        .await
        .unwrap();
        let s = &report.stats;
        // 200/s over a 0.5 s window: 100 requests fall due, each either answered or dropped.
        let due = s.completed + s.failed() + s.dropped;
        assert!((99..=101).contains(&due), "{due} due: {}", report.human());
        assert_eq!(s.service_time.len(), s.completed);
        assert!(s.latency.max() >= s.service_time.max());
        assert!(report.json().get("dropped").is_some());
    }

    #[tokio::test]
    async fn compare_health_runs_both_phases_and_succeeds() {
        let mut a = short(args(&["--concurrency", "4", "--compare-health", "--json"]));
        a.client.server = stand_in_server(true).await;
        run(&a).await.unwrap();
    }

    #[tokio::test]
    async fn a_run_where_every_request_fails_is_an_error_naming_the_code() {
        let mut a = short(args(&["--concurrency", "2", "--compare-health"]));
        a.client.server = stand_in_server(false).await;
        let error = run(&a).await.unwrap_err().to_string();
        assert!(
            error.starts_with("every Verify request failed (UNIMPLEMENTED "),
            "{error}"
        );
    }
}
