//! One full verification: form, query and one candidate, all three stages, five fields each.
//!
//! Run: `cargo bench --bench verify`. Results go in BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use verify_identity::domain::{
    compare::Record,
    gate::{Candidate, Case, decide},
    number::IndividualNumber,
    policy::Policy,
};

fn record(kanji: &str, kana: &str, birth: &str, sex: &str, address: &str) -> Record {
    Record {
        kanji_name: kanji.into(),
        kana_name: kana.into(),
        birth_date: birth.into(),
        sex: sex.into(),
        address: address.into(),
    }
}

fn typical_case() -> Case {
    Case {
        declared: record(
            "髙橋 一郎",
            "ﾀｶﾊｼ ｲﾁﾛｳ",
            "昭和50年1月1日",
            "男",
            "東京都新宿区西新宿二丁目8番1号",
        ),
        query: Some(record(
            "高橋　一郎",
            "タカハシ イチロウ",
            "S50.1.1",
            "1",
            "東京都新宿区西新宿2-8-1",
        )),
        candidates: vec![Candidate {
            record: record(
                "髙橋一郎",
                "タカハシ イチロウ",
                "3500101",
                "1",
                "東京都新宿区西新宿二丁目8番1号",
            ),
            number: IndividualNumber::parse("123456789018"),
        }],
        declared_number: None,
    }
}

fn bench(c: &mut Criterion) {
    let policy = Policy::default();
    let case = typical_case();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("full_verification_one_candidate", |b| {
        b.iter(|| decide(black_box(&case), black_box(&policy)))
    });
    group.finish();
}

#[allow(missing_docs)]
mod harness {
    use super::*;
    criterion_group!(benches, bench);
}
criterion_main!(harness::benches);
