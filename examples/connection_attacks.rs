//! The connection-layer attacks of the second security probe against a `serve` binary, with
//! the figures RELIABILITY.md records: connections and streams held, the server's memory
//! before, during and after, a real caller's latency under each attack, and how long SIGTERM
//! takes with a silent connection open.
//!
//! ```sh
//! cargo build --release && cargo run --release --example connection_attacks -- target/release/verify-identity
//! ```
//!
//! The server runs with the settings' defaults (so that a build from before the connection
//! limits runs the same attacks) under `ulimit -n 1024` (soft and hard), on a fresh SQLite file
//! in a temporary directory. The attackers connect from 127.0.0.2 … 127.0.0.29, the real
//! caller from 127.0.0.1: one Verify every 50 ms on the connection it had before the attack
//! and on one it opens during it; a call not answered within 5 s counts as a timeout.

#[path = "support/h2_attack.rs"]
mod h2_attack;

use std::{
    io::{BufRead, BufReader},
    net::{IpAddr, SocketAddr},
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use h2_attack::{HeldStreams, IdleConnections, rss_kb};
use tonic::transport::Channel;
use verify_identity::contract::pb::{self, verify_identity_client::VerifyIdentityClient};

const VERIFY: &str = "/verifyidentity.v1.VerifyIdentity/Verify";

fn main() -> anyhow::Result<()> {
    let binary = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: connection_attacks PATH-TO-verify-identity"))?;
    raise_own_open_file_limit();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(&binary))
}

async fn run(binary: &str) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("vi-attacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (mut child, addr) = serve(binary, &dir)?;
    let pid = child.id();
    let server: SocketAddr = addr.parse()?;
    let mut old = client(&addr).await?;
    for i in 0..200 {
        old.verify(request(&format!("warm-{i}"))).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("server pid {pid}, VmRSS at rest {} kB", rss_kb(pid));
    let quiet = caller_latency(&mut old, &addr, "quiet", Duration::from_secs(5)).await;
    println!("no attack: {quiet}");

    // Idle connections from one address: more than its share and than the descriptors.
    let before = rss_kb(pid);
    let one = IdleConnections::open(server, &[local(2)], 1100).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = one.open_now();
    let during = rss_kb(pid);
    let (cpu, measured) = (cpu_time(pid), Instant::now());
    let latency = caller_latency(&mut old, &addr, "one", Duration::from_secs(5)).await;
    let cpu = (cpu_time(pid) - cpu).as_secs_f64() / measured.elapsed().as_secs_f64();
    println!(
        "1,100 idle connections from one address: {held} held 0.5 s after opening, VmRSS \
         {before} -> {during} kB, server CPU {:.0} %; {latency}",
        cpu * 100.0
    );
    let cut = wait_until(Duration::from_secs(60), || one.open_now() == 0).await;
    println!("  all closed by the server after {cut:?} of waiting");
    drop(one);

    // Idle connections from 20 addresses, each within its share, together beyond the total;
    // twice, to tell memory kept for reuse from memory that grows.
    let locals: Vec<IpAddr> = (10..30).map(local).collect();
    for round in 1..=2 {
        let before = rss_kb(pid);
        let many = IdleConnections::open(server, &locals, 55).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let held = many.open_now();
        let during = rss_kb(pid);
        let tag = format!("many-{round}");
        let latency = caller_latency(&mut old, &addr, &tag, Duration::from_secs(5)).await;
        println!(
            "1,100 idle connections from 20 addresses, round {round}: {held} held, VmRSS \
             {before} -> {during} kB; {latency}"
        );
        let cut = wait_until(Duration::from_secs(60), || many.open_now() == 0).await;
        println!("  all closed by the server after {cut:?} of waiting");
        drop(many);
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!("  VmRSS 2 s later: {} kB", rss_kb(pid));
    }

    // HEADERS-only streams ignoring the server's limit: 4 connections x 50,000 (the probe's
    // 200,000).
    let before = rss_kb(pid);
    let mut floods = Vec::new();
    let started = Instant::now();
    for _ in 0..4 {
        floods.push(HeldStreams::open(server, local(2), 50_000, VERIFY, true).await?);
    }
    let mut peak = before;
    let latency = caller_latency_sampling(&mut old, &addr, "flood", pid, &mut peak).await;
    let (refused, goaway, closed) = floods.iter().fold((0, 0, 0), |(r, g, c), f| {
        let t = &f.tally;
        (
            r + t.refused.load(Ordering::Relaxed),
            g + u64::from(t.goaway.load(Ordering::Relaxed) > 0),
            c + u64::from(t.closed.load(Ordering::Relaxed)),
        )
    });
    let advertised = floods[0]
        .tally
        .max_concurrent_streams
        .load(Ordering::Relaxed);
    println!(
        "200,000 HEADERS-only streams on 4 connections (sent in {:?}): advertised \
         MAX_CONCURRENT_STREAMS {}, {refused} refused, {goaway} GOAWAY, {closed} connections \
         closed; VmRSS {before} -> peak {peak} kB; {latency}",
        started.elapsed(),
        if advertised == u32::MAX {
            "none".to_owned()
        } else {
            advertised.to_string()
        },
    );
    drop(floods);
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("  VmRSS 5 s after the attacker left: {} kB", rss_kb(pid));

    // HEADERS-only streams within the limit (256 a connection), held until the body timeout;
    // three rounds, to tell memory kept for reuse from memory that grows.
    for round in 1..=3 {
        let before = rss_kb(pid);
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(HeldStreams::open(server, local(3), 256, VERIFY, true).await?);
        }
        let mut peak = before;
        let tag = format!("held-{round}");
        let latency = caller_latency_sampling(&mut old, &addr, &tag, pid, &mut peak).await;
        let answered = || -> u64 {
            held.iter()
                .map(|h| h.tally.answered.load(Ordering::Relaxed))
                .sum()
        };
        let cut = wait_until(Duration::from_secs(60), || answered() >= 1024).await;
        println!(
            "1,024 HEADERS-only streams within the limit, round {round}: VmRSS {before} -> peak \
             {peak} kB; {latency}; {} answered by the server after {cut:?} more",
            answered()
        );
        drop(held);
        tokio::time::sleep(Duration::from_secs(5)).await;
        println!("  VmRSS 5 s after the attacker left: {} kB", rss_kb(pid));
    }

    // SIGTERM with a silent connection and a call waiting for its body.
    let _silent = IdleConnections::open(server, &[local(2)], 1).await?;
    let _waiting = HeldStreams::open(server, local(3), 1, VERIFY, true).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(old);
    let what = "SIGTERM with a silent connection and a call waiting for its body";
    println!("{what}: {}", stop(&mut child).await?);

    // SIGTERM with only a silent connection open, on a fresh server.
    let (mut child, addr) = serve(binary, &dir)?;
    let _silent = IdleConnections::open(addr.parse()?, &[local(2)], 1).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "SIGTERM with one silent connection: {}",
        stop(&mut child).await?
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Sends SIGTERM and waits up to 90 s (then SIGKILL): what happened.
async fn stop(child: &mut Child) -> anyhow::Result<String> {
    let stopping = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    while stopping.elapsed() < Duration::from_secs(90) {
        if let Some(status) = child.try_wait()? {
            return Ok(format!("exited ({status}) after {:?}", stopping.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill()?;
    Ok("still running after 90 s; killed".to_owned())
}

/// CPU time of `pid` so far (user and system), from `/proc/PID/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / per_second)
}

fn local(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// Starts `binary serve` in `dir` under `ulimit -n 1024`; the child and its address.
fn serve(binary: &str, dir: &std::path::Path) -> anyhow::Result<(Child, String)> {
    let mut command = Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(["--database", "sqlite:audit.sqlite"])
        .env("VERIFY_IDENTITY_LOG", "warn,verify_identity::server=info")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child being started.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 1024,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"] == "serving"
            {
                let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
                continue;
            }
            eprintln!("server: {line}");
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30))?;
    Ok((child, addr))
}

fn raise_own_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads and writes this process's limit through the struct passed.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

async fn client(addr: &str) -> anyhow::Result<VerifyIdentityClient<Channel>> {
    let channel = tokio::time::timeout(
        Duration::from_secs(5),
        Channel::from_shared(format!("http://{addr}"))?.connect(),
    )
    .await??;
    Ok(VerifyIdentityClient::new(channel))
}

fn request(id: &str) -> pb::VerifyRequest {
    let text = include_str!("register.json");
    let mut request: pb::VerifyRequest = serde_json::from_str(text).expect("the example parses");
    request.request_id = id.to_owned();
    request
}

/// Waits up to `within` for `done`; how long it took (or `within` if it never came).
async fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within && !done() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// A real caller's Verify latency over `period`, one call every 50 ms on its old connection
/// and one on a connection opened now.
async fn caller_latency(
    old: &mut VerifyIdentityClient<Channel>,
    addr: &str,
    tag: &str,
    period: Duration,
) -> String {
    let mut peak = 0;
    sample(old, addr, tag, period, None, &mut peak).await
}

/// [`caller_latency`] over 5 s while recording the peak VmRSS of `pid`.
async fn caller_latency_sampling(
    old: &mut VerifyIdentityClient<Channel>,
    addr: &str,
    tag: &str,
    pid: u32,
    peak: &mut u64,
) -> String {
    sample(old, addr, tag, Duration::from_secs(5), Some(pid), peak).await
}

async fn sample(
    old: &mut VerifyIdentityClient<Channel>,
    addr: &str,
    tag: &str,
    period: Duration,
    pid: Option<u32>,
    peak: &mut u64,
) -> String {
    let mut new = client(addr).await.ok();
    let mut latencies = Vec::new();
    let (mut timeouts, mut failed) = (0, 0);
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < period {
        for c in [Some(&mut *old), new.as_mut()].into_iter().flatten() {
            i += 1;
            let sent = Instant::now();
            let call = c.verify(request(&format!("{tag}-{i}")));
            match tokio::time::timeout(Duration::from_secs(5), call).await {
                Ok(Ok(_)) => latencies.push(sent.elapsed()),
                Ok(Err(_)) => failed += 1,
                Err(_) => timeouts += 1,
            }
        }
        if let Some(pid) = pid {
            *peak = (*peak).max(rss_kb(pid));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or("-".to_owned(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1e3)
            })
    };
    format!(
        "real caller{}: {} answered, p50 {}, p99 {}, max {}, {failed} failed, {timeouts} not \
         answered within 5 s",
        if new.is_some() {
            ""
        } else {
            " (no new connection within 5 s)"
        },
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0),
    )
}
