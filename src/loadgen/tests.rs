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

type Responses = Pin<Box<dyn futures::Stream<Item = Result<pb::VerifyResponse, Status>> + Send>>;

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
    async fn assign_hold(
        &self,
        _: Request<pb::AssignHoldRequest>,
    ) -> Result<Response<pb::AssignHoldResponse>, Status> {
        Err(Status::unimplemented("not in the stand-in"))
    }
    async fn subject_history(
        &self,
        _: Request<pb::SubjectHistoryRequest>,
    ) -> Result<Response<pb::SubjectHistoryResponse>, Status> {
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
