//! The disk's own latency, measured beside the load: 16 KiB written and `fdatasync`ed about
//! every 10 ms in a file of the database's file system.
//!
//! A durable service cannot answer faster than its disk syncs. On a shared or virtual disk a
//! sync that usually takes a fraction of a millisecond sometimes takes hundreds, and in a window
//! where that happens no code holds a 5 ms p99. The probe reports, for the measured window, the
//! share of wall time spent in syncs slower than 5 ms ([`SLOW_SYNC`]); the p99 of a window is
//! judged only when that share is under 0.5 % ([`JUDGED_BELOW`]), and every window's pair is
//! printed, never only the best one.
//!
//! One sync every 10 ms barely loads the disk (1.6 MB/s), so the probe does not itself make the
//! service slower to any measurable degree; it writes to its own file, never the database's.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::{FileExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Bytes written before each sync: a typical WAL append of a few decision events.
const WRITE_BYTES: usize = 16 * 1024;
/// The probe file cycles through this many bytes, so that it does not grow.
const FILE_BYTES: u64 = 1024 * 1024;
/// Time between the starts of two syncs.
const INTERVAL: Duration = Duration::from_millis(10);
/// A sync slower than this is time during which a 5 ms p99 cannot be held.
pub(super) const SLOW_SYNC: Duration = Duration::from_millis(5);
/// A window whose share of wall time in slow syncs is below this has its p99 judged.
pub(super) const JUDGED_BELOW: f64 = 0.005;

/// One sync: when it started (from the probe's start) and how long it took.
#[derive(Debug, Clone, Copy)]
struct Sync {
    at: Duration,
    took: Duration,
}

/// A probe running on its own thread until [`DiskProbe::stop`].
pub(super) struct DiskProbe {
    started: Instant,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<io::Result<Vec<Sync>>>,
    path: PathBuf,
}

impl DiskProbe {
    /// Starts probing the file system of `dir` (the database's directory).
    pub(super) fn start(dir: &Path) -> io::Result<Self> {
        let path = dir.join(format!(
            ".verify-identity-disk-probe-{}",
            std::process::id()
        ));
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("disk-probe".into())
                .spawn(move || probe(&file, started, &stop))?
        };
        Ok(DiskProbe {
            started,
            stop,
            thread,
            path,
        })
    }

    /// The time since the probe started: windows are given as offsets from it.
    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stops the probe, removes its file, and returns every sync it made.
    pub(super) fn stop(self) -> io::Result<Syncs> {
        self.stop.store(true, Ordering::Relaxed);
        let syncs = self
            .thread
            .join()
            .map_err(|_| io::Error::other("the disk probe panicked"))?;
        let _ = std::fs::remove_file(&self.path);
        Ok(Syncs(syncs?))
    }
}

/// The probe loop: write, sync, time it, wait for the next tick.
fn probe(file: &File, started: Instant, stop: &AtomicBool) -> io::Result<Vec<Sync>> {
    let block = vec![0x5Au8; WRITE_BYTES];
    let mut syncs = Vec::new();
    let mut offset = 0;
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let at = started.elapsed();
        let begun = Instant::now();
        file.write_all_at(&block, offset)?;
        file.sync_data()?;
        syncs.push(Sync {
            at,
            took: begun.elapsed(),
        });
        offset = (offset + WRITE_BYTES as u64) % FILE_BYTES;
        next += INTERVAL;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            // A slow sync: start the next one now, on a timeline that does not try to catch up.
            next = now;
        }
    }
    Ok(syncs)
}

/// Every sync of a probe run.
pub(super) struct Syncs(Vec<Sync>);

impl Syncs {
    /// What the disk did in the window `[from, to)` (offsets from the probe's start).
    pub(super) fn window(&self, from: Duration, to: Duration) -> DiskWindow {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
            .expect("static histogram bounds are valid");
        let mut slow = Duration::ZERO;
        let mut count = 0;
        for s in self.0.iter().filter(|s| s.at >= from && s.at < to) {
            count += 1;
            let micros = u64::try_from(s.took.as_micros()).unwrap_or(u64::MAX);
            histogram.saturating_record(micros.max(1));
            if s.took > SLOW_SYNC {
                slow += s.took;
            }
        }
        let wall = to.saturating_sub(from);
        DiskWindow {
            syncs: count,
            p50: histogram.value_at_quantile(0.5),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
            slow_share: if wall.is_zero() {
                0.0
            } else {
                slow.as_secs_f64() / wall.as_secs_f64()
            },
        }
    }
}

/// The disk in one measured window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct DiskWindow {
    /// Syncs made in the window.
    pub(super) syncs: u64,
    /// Sync latency percentiles and maximum, in microseconds.
    pub(super) p50: u64,
    pub(super) p99: u64,
    pub(super) p999: u64,
    pub(super) max: u64,
    /// The share of the window's wall time spent in syncs slower than [`SLOW_SYNC`].
    pub(super) slow_share: f64,
}

impl DiskWindow {
    /// Whether the disk stayed fast enough in this window for its p99 to be judged.
    pub(super) fn p99_judged(&self) -> bool {
        self.syncs > 0 && self.slow_share < JUDGED_BELOW
    }

    /// One line of text.
    pub(super) fn human(&self) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        format!(
            "  disk        {} syncs of 16 KiB: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms; \
             {:.2} % of the window in syncs over 5 ms → p99 {}",
            self.syncs,
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            ms(self.max),
            100.0 * self.slow_share,
            if self.p99_judged() {
                "judged"
            } else {
                "not judged (the disk was slow)"
            }
        )
    }

    /// The window as JSON (milliseconds and a share).
    pub(super) fn json(&self) -> Value {
        let ms = |us: u64| us as f64 / 1000.0;
        json!({
            "syncs": self.syncs,
            "p50_ms": ms(self.p50),
            "p99_ms": ms(self.p99),
            "p999_ms": ms(self.p999),
            "max_ms": ms(self.max),
            "slow_sync_share": self.slow_share,
            "p99_judged": self.p99_judged(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syncs(list: &[(u64, u64)]) -> Syncs {
        Syncs(
            list.iter()
                .map(|&(at_ms, took_us)| Sync {
                    at: Duration::from_millis(at_ms),
                    took: Duration::from_micros(took_us),
                })
                .collect(),
        )
    }

    #[test]
    fn only_syncs_over_5_ms_count_and_only_inside_the_window() {
        // 1 s window: two fast syncs, one of 4 ms (not slow), one of 20 ms (slow), and a 300 ms
        // one outside the window.
        let s = syncs(&[
            (0, 200),
            (10, 300),
            (20, 4_000),
            (30, 20_000),
            (1_500, 300_000),
        ]);
        let w = s.window(Duration::ZERO, Duration::from_secs(1));
        assert_eq!(w.syncs, 4);
        assert!((w.slow_share - 0.020).abs() < 1e-9, "{}", w.slow_share);
        assert!(!w.p99_judged());

        let calm = syncs(&[(0, 200), (10, 300), (20, 4_000)]);
        let w = calm.window(Duration::ZERO, Duration::from_secs(1));
        assert_eq!(w.slow_share, 0.0);
        assert!(w.p99_judged());
    }

    #[test]
    fn an_empty_window_is_not_judged() {
        let w = syncs(&[]).window(Duration::ZERO, Duration::from_secs(1));
        assert_eq!(w.syncs, 0);
        assert!(!w.p99_judged());
    }

    #[test]
    fn the_probe_syncs_a_real_file_and_removes_it() {
        let dir = std::env::temp_dir();
        let probe = DiskProbe::start(&dir).unwrap();
        let path = probe.path.clone();
        // Long enough for two syncs on a machine busy with builds (60 ms was not: one sync
        // can take longer than that there); this is not a measure of the disk.
        std::thread::sleep(Duration::from_secs(1));
        let end = probe.elapsed();
        let syncs = probe.stop().unwrap();
        let w = syncs.window(Duration::ZERO, end);
        assert!(w.syncs >= 2, "{w:?}");
        assert!(!path.exists());
    }
}
