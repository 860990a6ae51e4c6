//! Hostile input for the parsers and folds: proptest at volume, on stable Rust.
//!
//! cargo-fuzz needs a nightly toolchain these machines cannot install, so each target here is a
//! proptest strategy that mixes structured Japanese input (era names, 丁目/番地, kana with voicing
//! marks, variant kanji, iteration marks, variation selectors) with hostile Unicode (combining
//! marks, bidi controls, zero-width characters, private use, astral kanji, random code points),
//! run for a number of inputs or a time budget:
//!
//! ```sh
//! cargo test --release --test fuzz                                   # 2,000 inputs per target (300 for whole requests)
//! VERIFY_IDENTITY_FUZZ_SECONDS=30 cargo test --release --test fuzz   # 30 s per target (.ci/run)
//! VERIFY_IDENTITY_FUZZ_INPUTS=10000000 cargo test --release --test fuzz -- --test-threads 1
//! ```
//!
//! Checked on every input: no panic; bounded time (each call under 50 ms of CPU in a release build) and
//! bounded memory (the peak heap growth of one call, measured by a counting allocator); folding
//! idempotent; comparison symmetric; a value compared with itself exact; never a class better than
//! mismatch for two different complete birth dates or sexes. Each target prints how many inputs it
//! ran. A failure prints the input (it is synthetic, never personal data) and proptest's seed.
//!
//! Whole requests — the proto3 JSON reader of `check` and the validation at the gRPC edge — are
//! fuzzed in [`requests`].

mod requests;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    time::{Duration, Instant},
};

use proptest::{
    prelude::*,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use verify_identity::domain::{
    MatchClass, Rule, RuleSet,
    fields::{address, birth_date, kana_name, kanji_name, sex},
    number::IndividualNumber,
};

// ---- bounded memory: a counting allocator ----

/// The system allocator, counting each thread's live bytes and their peak, so that a target can
/// assert how much one call allocated at most while other targets run on other threads.
struct Counting;

thread_local! {
    // Const-initialised and without a destructor: reading them never allocates, which an
    // allocator needs.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let live = LIVE.get() + delta;
    LIVE.set(live);
    if live > PEAK.get() {
        PEAK.set(live);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The CPU time this thread has used: unlike the wall clock, not inflated when other processes
/// on a busy machine take the core away.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f`, returning its result, the CPU time it took and how many bytes above this thread's
/// live heap at the start it held at its peak.
fn measured<T>(f: impl FnOnce() -> T) -> (T, Duration, usize) {
    let start_live = LIVE.get();
    PEAK.set(start_live);
    let started = thread_cpu_time();
    let out = f();
    let elapsed = thread_cpu_time().saturating_sub(started);
    let peak = (PEAK.get() - start_live).max(0) as usize;
    (out, elapsed, peak)
}

/// The limits of one call on inputs of `chars` characters. Generous enough for a debug build
/// and for other threads allocating meanwhile; a quadratic blow-up or a runaway loop still fails.
fn within_limits(chars: usize, elapsed: Duration, peak: usize) -> Result<(), TestCaseError> {
    let time = if cfg!(debug_assertions) { 500 } else { 50 };
    prop_assert!(
        elapsed < Duration::from_millis(time),
        "took {elapsed:?} on {chars} characters"
    );
    // A few copies of the input in keys and atoms, never a square of it.
    let bound = 64 * 1024 + 512 * chars;
    prop_assert!(
        peak < bound,
        "allocated {peak} bytes at its peak on {chars} characters"
    );
    Ok(())
}

// ---- running a target for a count or a time ----

/// How long each target runs: `VERIFY_IDENTITY_FUZZ_INPUTS` inputs, or
/// `VERIFY_IDENTITY_FUZZ_SECONDS` seconds, or the target's default number of inputs (2,000
/// for one field; fewer for whole requests, each of which folds up to a hundred fields).
enum Budget {
    Inputs(u64),
    Time(Duration),
}

fn budget(default_inputs: u64) -> Budget {
    let var = |name| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = var("VERIFY_IDENTITY_FUZZ_INPUTS") {
        Budget::Inputs(n)
    } else if let Some(s) = var("VERIFY_IDENTITY_FUZZ_SECONDS") {
        Budget::Time(Duration::from_secs(s))
    } else {
        Budget::Inputs(default_inputs)
    }
}

/// Runs `test` on inputs from `strategy` until the budget is spent, in chunks of fresh seeds.
fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    fuzz_for(name, 2_000, strategy, test);
}

/// [`fuzz`] with its own default number of inputs.
fn fuzz_for<S: Strategy>(
    name: &str,
    default_inputs: u64,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    const CHUNK: u32 = 20_000;
    let budget = budget(default_inputs);
    let started = Instant::now();
    let mut done: u64 = 0;
    // A long run can be split over several processes, each starting where the last one ended
    // (chunks of 20,000 inputs), so that no two of them repeat a seed.
    let mut chunk: u64 = std::env::var("VERIFY_IDENTITY_FUZZ_FIRST_CHUNK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    loop {
        let cases = match budget {
            Budget::Inputs(n) if done >= n => break,
            Budget::Inputs(n) => CHUNK.min((n - done) as u32),
            Budget::Time(t) if started.elapsed() >= t => break,
            Budget::Time(_) => CHUNK,
        };
        let config = Config {
            cases,
            failure_persistence: None,
            // Shrinking a string of hostile Unicode takes long and rarely helps: print it whole.
            max_shrink_iters: 64,
            ..Config::default()
        };
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&chunk.to_le_bytes());
        seed[8..16].copy_from_slice(&(name.len() as u64).to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
        let mut runner = TestRunner::new_with_rng(config, rng);
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: chunk {chunk} (seed as above): {e}");
        }
        done += u64::from(cases);
        chunk += 1;
    }
    eprintln!(
        "fuzz {name}: {done} inputs in {:.1} s (chunks up to {chunk})",
        started.elapsed().as_secs_f64()
    );
}

// ---- generators ----

/// Hostile characters: combining marks, bidi and zero-width controls, variation selectors, private
/// use, non-characters, astral ideographs, look-alike hyphens and digits.
const HOSTILE: &[char] = &[
    '\u{0300}',
    '\u{0301}',
    '\u{3099}',
    '\u{309A}',
    '\u{309B}',
    '\u{309C}',
    '\u{FF9E}',
    '\u{FF9F}',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{2060}',
    '\u{FEFF}',
    '\u{202A}',
    '\u{202B}',
    '\u{202E}',
    '\u{2066}',
    '\u{2069}',
    '\u{061C}',
    '\u{FE00}',
    '\u{FE0F}',
    '\u{E0100}',
    '\u{E01EF}',
    '\u{E000}',
    '\u{F8FF}',
    '\u{F0000}',
    '\u{10FFFD}',
    '\u{FFFD}',
    '\u{FFFF}',
    '\u{20BB7}',
    '\u{2A6D6}',
    '\u{3134A}',
    '\u{FA11}',
    '\u{2F800}',
    '\t',
    '\n',
    '\r',
    '\u{85}',
    '\u{2028}',
    '\u{3000}',
    '\u{00A0}',
    '－',
    'ｰ',
    '‐',
    '−',
    '―',
    '〜',
    '～',
    '０',
    '９',
    '٣',
    '߃',
    '𝟘',
];

/// Pieces of real-looking Japanese identity data, mixed with single hostile characters and any
/// code point at all.
fn piece() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "山",
        "田",
        "髙",
        "高",
        "﨑",
        "崎",
        "邊",
        "辺",
        "齋",
        "斎",
        "齊",
        "斉",
        "𠮷",
        "吉",
        "澤",
        "々",
        "〻",
        "佐",
        "木",
        "智",
        "知",
        "子",
        "●",
        "〓",
        "・",
        " ",
        "　",
        "SMITH",
        "ｽﾐｽ",
        "ヤ",
        "ャ",
        "ヨ",
        "ョ",
        "ツ",
        "ッ",
        "ヂ",
        "ヅ",
        "ヲ",
        "ヴ",
        "ー",
        "ｰ",
        "ﾀﾞ",
        "ﾊﾟ",
        "か",
        "が",
        "ゝ",
        "ゞ",
        "ヽ",
        "ヾ",
        "す",
        "ス",
        "明治",
        "大正",
        "昭和",
        "平成",
        "令和",
        "元",
        "年",
        "月",
        "日",
        "S",
        "H",
        "R",
        "M",
        "T",
        "昭",
        "平",
        "令",
        ".",
        "/",
        "-",
        "生",
        "頃",
        "上旬",
        "不詳",
        "推定",
        "年月日不詳",
        "1",
        "2",
        "3",
        "12",
        "29",
        "31",
        "64",
        "1989",
        "3500101",
        "男",
        "女",
        "男性",
        "女性",
        "F",
        "東京都",
        "北海道",
        "千代田区",
        "札幌市",
        "郡",
        "町",
        "村",
        "大字",
        "字",
        "霞が関",
        "霞ヶ関",
        "一",
        "二",
        "十",
        "百",
        "丁目",
        "番地",
        "番",
        "号",
        "号室",
        "の",
        "ノ",
        "之",
        "条",
        "地割",
        "ビル",
        "101",
        "〒100-0013",
        "上ル",
        "る",
        "西入",
        "ッ",
        "條",
    ];
    prop_oneof![
        6 => prop::sample::select(PIECES).prop_map(str::to_owned),
        2 => prop::sample::select(HOSTILE).prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// A field value: up to 40 pieces, or sometimes a long run (to catch super-linear work).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        20 => prop::collection::vec(piece(), 0..40).prop_map(|v| v.concat()),
        1 => (piece(), 100usize..2_000).prop_map(|(p, n)| p.repeat(n)),
        2 => "\\PC{0,64}",
    ]
}

/// A day as (year, month, day).
type Ymd = (i32, u8, u8);

/// Each era's name, letter, first year (year 1 of the era), and first and last day that this
/// generator writes in it (the boundary days carry two labels; Meiji from 1873, when the
/// Gregorian calendar began).
const ERAS: [(&str, &str, i32, Ymd, Ymd); 5] = [
    ("明治", "M", 1868, (1873, 1, 1), (1912, 7, 30)),
    ("大正", "T", 1912, (1912, 7, 30), (1926, 12, 25)),
    ("昭和", "S", 1926, (1926, 12, 25), (1989, 1, 7)),
    ("平成", "H", 1989, (1989, 1, 8), (2019, 4, 30)),
    ("令和", "R", 2019, (2019, 5, 1), (2099, 12, 31)),
];

fn days_in(y: i32, m: u8) -> u8 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A calendar day between 1873 and 2099.
fn day() -> impl Strategy<Value = Ymd> {
    (1873i32..2100, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| (y, m, d.min(days_in(y, m))))
}

/// `day` written in one of the notations forms and registries use.
fn written((y, m, d): Ymd, style: u8) -> String {
    let era = ERAS
        .iter()
        .enumerate()
        .find(|(_, (_, _, _, first, last))| (y, m, d) >= *first && (y, m, d) <= *last);
    match (style % 7, era) {
        (0, _) => format!("{y}-{m:02}-{d:02}"),
        (1, _) => format!("{y}/{m}/{d}"),
        (2, _) => format!("{y}年{m}月{d}日"),
        (3, _) => format!("{y:04}{m:02}{d:02}"),
        (4, Some((_, (name, _, base, _, _)))) => {
            let n = y - base + 1;
            if n == 1 {
                format!("{name}元年{m}月{d}日")
            } else {
                format!("{name}{n}年{m}月{d}日")
            }
        }
        (5, Some((_, (_, letter, base, _, _)))) => format!("{letter}{}.{m}.{d}", y - base + 1),
        (6, Some((i, (_, _, base, _, _)))) => format!("{}{:02}{m:02}{d:02}", i + 1, y - base + 1),
        _ => format!("{y}年{m:02}月{d:02}日"),
    }
}

fn fold_all(fold: fn(&str, RuleSet, &mut String) -> RuleSet, s: &str) -> String {
    let all = RuleSet::from_iter(Rule::ALL.iter().copied());
    let mut out = String::new();
    fold(s, all, &mut out);
    out
}

// ---- targets ----

#[test]
fn fuzz_birth_date_parser() {
    fuzz("birth_date", (text(), text()), |(a, b)| {
        let chars = a.chars().count() + b.chars().count();
        let (got, elapsed, peak) = measured(|| birth_date::compare(&a, &b));
        within_limits(chars, elapsed, peak)?;
        prop_assert_eq!(got, birth_date::compare(&b, &a), "symmetry");
        let own = birth_date::compare(&a, &a).class;
        prop_assert!(
            matches!(
                own,
                MatchClass::Exact | MatchClass::Missing | MatchClass::Unparseable
            ),
            "{own:?}"
        );
        Ok(())
    });
}

#[test]
fn fuzz_two_different_birth_dates_never_pass() {
    fuzz(
        "birth_date.different_days",
        (day(), day(), any::<u8>(), any::<u8>()),
        |(x, y, sx, sy)| {
            let (a, b) = (written(x, sx), written(y, sy));
            let got = birth_date::compare(&a, &b).class;
            if x == y {
                prop_assert!(got <= MatchClass::Notation, "{a} / {b}: {got:?}");
            } else {
                prop_assert!(got >= MatchClass::Mismatch, "{a} / {b}: {got:?}");
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_sex_codes() {
    const MALE: &[&str] = &["1", "男", "男性", "M", "male", "１", " 男 ", "Ｍ"];
    const FEMALE: &[&str] = &["2", "女", "女性", "F", "female", "２", "\t女", "ｆ"];
    fuzz(
        "sex",
        (
            text(),
            prop::sample::select(MALE),
            prop::sample::select(FEMALE),
        ),
        |(a, m, f)| {
            let (got, elapsed, peak) = measured(|| sex::compare(&a, m));
            within_limits(a.chars().count(), elapsed, peak)?;
            prop_assert_eq!(got, sex::compare(m, &a), "symmetry");
            prop_assert!(sex::compare(m, f).class >= MatchClass::Mismatch);
            // Whatever the other value is, it cannot be a notation of both codes.
            let (to_m, to_f) = (sex::compare(&a, m).class, sex::compare(&a, f).class);
            prop_assert!(!(to_m <= MatchClass::Notation && to_f <= MatchClass::Notation));
            Ok(())
        },
    );
}

#[test]
fn fuzz_kanji_name_folding() {
    fuzz("kanji_name", (text(), text()), |(a, b)| {
        let chars = a.chars().count() + b.chars().count();
        let (got, elapsed, peak) = measured(|| kanji_name::compare(&a, &b));
        within_limits(chars, elapsed, peak)?;
        prop_assert_eq!(got, kanji_name::compare(&b, &a), "symmetry");
        let once = fold_all(kanji_name::fold, &a);
        prop_assert_eq!(fold_all(kanji_name::fold, &once), once, "idempotence");
        let own = kanji_name::compare(&a, &a).class;
        prop_assert!(matches!(own, MatchClass::Exact | MatchClass::Missing));
        Ok(())
    });
}

#[test]
fn fuzz_kana_name_folding() {
    fuzz("kana_name", (text(), text()), |(a, b)| {
        let chars = a.chars().count() + b.chars().count();
        let (got, elapsed, peak) = measured(|| kana_name::compare(&a, &b));
        within_limits(chars, elapsed, peak)?;
        prop_assert_eq!(got, kana_name::compare(&b, &a), "symmetry");
        let once = fold_all(kana_name::fold, &a);
        prop_assert_eq!(fold_all(kana_name::fold, &once), once, "idempotence");
        let own = kana_name::compare(&a, &a).class;
        prop_assert!(matches!(own, MatchClass::Exact | MatchClass::Missing));
        Ok(())
    });
}

#[test]
fn fuzz_address_parser() {
    fuzz("address", (text(), text()), |(a, b)| {
        let chars = a.chars().count() + b.chars().count();
        let (got, elapsed, peak) = measured(|| address::compare(&a, &b));
        within_limits(chars, elapsed, peak)?;
        prop_assert_eq!(got, address::compare(&b, &a), "symmetry");
        let (pa, pb) = (address::Address::parse(&a), address::Address::parse(&b));
        prop_assert_eq!(pa.compare(&pb), got, "parsed once");
        let own = address::compare(&a, &a).class;
        prop_assert!(matches!(own, MatchClass::Exact | MatchClass::Missing));
        Ok(())
    });
}

#[test]
fn fuzz_individual_number_parser() {
    let digits = prop::collection::vec(
        prop_oneof![
            8 => (0u8..10).prop_map(|d| char::from(b'0' + d).to_string()),
            1 => prop::sample::select(&["０", "９", "-", " ", "－", "　", "٣", "x"][..]).prop_map(str::to_owned),
        ],
        0..20,
    )
    .prop_map(|v| v.concat());
    fuzz(
        "individual_number",
        prop_oneof![3 => digits, 1 => text()],
        |raw| {
            let (parsed, elapsed, peak) = measured(|| IndividualNumber::parse(&raw));
            within_limits(raw.chars().count(), elapsed, peak)?;
            match parsed {
                Ok(number) => {
                    // Valid: 12 digits whose check digit matches; Debug never shows them.
                    let d = number.expose_digits().map(|ascii| ascii - b'0');
                    let base: [u8; 11] = d[..11].try_into().unwrap();
                    prop_assert_eq!(verify_identity::domain::number::check_digit(&base), d[11]);
                    let shown = format!("{number:?} {number}");
                    prop_assert!(!shown.chars().any(|c| c.is_ascii_digit()), "{shown}");
                }
                Err(e) => {
                    // The message never quotes the input.
                    let message = e.to_string();
                    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
                    prop_assert!(digits.len() < 4 || !message.contains(&digits), "{message}");
                }
            }
            Ok(())
        },
    );
}
