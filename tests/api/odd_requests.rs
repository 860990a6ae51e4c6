//! Oversized and odd requests over a real socket: messages at and over the size limit, the most
//! candidates allowed and one more, deep Unicode, and bytes that are not protobuf. Each is either
//! decided or refused with `INVALID_ARGUMENT` naming the field (the size limit with the
//! transport's `OUT_OF_RANGE`), nothing refused is stored, and the server answers the next call.

use prost::Message;
use tonic::{
    Code, Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};
use tonic_types::StatusExt;
use verify_identity::{
    config::DEFAULT_MAX_MESSAGE_BYTES,
    contract::{parse::MAX_CANDIDATES, pb},
};

use crate::helpers::{
    Backend, TestApp, hold_request, register_request, spawn_app, violated_fields,
};

/// After the refusals, the server still decides, and the audit log holds exactly the decisions.
async fn still_serving_and_stored(mut app: TestApp, decided: u64) {
    let ok = app
        .client
        .verify(register_request("after-the-odd-ones"))
        .await
        .expect("the server still answers");
    assert_eq!(ok.into_inner().decision(), pb::Decision::Register);
    app.stop().await;
    let report = crate::audit_report(&app.db.url).await;
    assert!(report.is_intact());
    assert_eq!(
        report.events_checked,
        decided + 1,
        "a refused request was stored"
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_most_candidates_allowed_are_decided_and_one_more_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut client = app.client.clone();
    let with_candidates = |id: &str, n: usize| {
        let mut r = register_request(id);
        let one = r.candidates[0].clone();
        r.candidates = vec![one; n];
        r
    };

    let most = client
        .verify(with_candidates("most", MAX_CANDIDATES))
        .await
        .expect("the most candidates allowed are decided")
        .into_inner();
    assert_eq!(most.decision(), pb::Decision::Hold);
    assert!(
        most.hold_reasons()
            .any(|r| r == pb::HoldReason::MultipleCandidates)
    );
    assert_eq!(most.risk_class(), pb::RiskClass::Structural);
    // Every candidate was compared, at both candidate stages, on all five fields.
    assert_eq!(most.comparisons.len(), 5 * (1 + 2 * MAX_CANDIDATES));

    let status = client
        .verify(with_candidates("one-more", MAX_CANDIDATES + 1))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["candidates"]);
    assert!(status.message().len() < 1_000);

    still_serving_and_stored(app, 1).await;
}

/// A register request grown with ASCII padding in the declared address to exactly `len`
/// encoded bytes.
fn request_of_len(len: usize) -> pb::VerifyRequest {
    let mut r = register_request("padded");
    let base = r.declared.as_ref().unwrap().address.clone();
    let mut pad = len.saturating_sub(r.encoded_len());
    loop {
        r.declared.as_mut().unwrap().address = format!("{base}{}", "1".repeat(pad));
        match r.encoded_len().cmp(&len) {
            std::cmp::Ordering::Equal => return r,
            std::cmp::Ordering::Greater => pad -= 1,
            std::cmp::Ordering::Less => pad += 1,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_at_the_limit_is_read_and_one_byte_over_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut client = app.client.clone();

    let at = request_of_len(DEFAULT_MAX_MESSAGE_BYTES);
    assert_eq!(at.encoded_len(), DEFAULT_MAX_MESSAGE_BYTES);
    let status = client.verify(at).await.unwrap_err();
    // Read whole, then refused for what it holds: an address of a quarter of a megabyte.
    assert_eq!(violated_fields(&status), ["declared.address"]);

    let over = request_of_len(DEFAULT_MAX_MESSAGE_BYTES + 1);
    let status = client.verify(over).await.unwrap_err();
    // tonic refuses it from the length prefix, before reading or allocating the body.
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    let huge = request_of_len(16 * DEFAULT_MAX_MESSAGE_BYTES);
    let status = client.verify(huge).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    still_serving_and_stored(app, 0).await;
}

/// One row of the deep-Unicode table: what to put where, and what must come back.
struct Odd {
    what: &'static str,
    edit: fn(&mut pb::VerifyRequest),
    /// `Err(field)`: refused naming this field; `Ok(class)`: decided, with this class for the
    /// kanji name (or the address) at declared_vs_candidate.
    expect: Result<(pb::Field, pb::MatchClass), &'static str>,
}

fn declared(r: &mut pb::VerifyRequest) -> &mut pb::FiveFields {
    r.declared.as_mut().unwrap()
}

fn candidate(r: &mut pb::VerifyRequest) -> &mut pb::FiveFields {
    r.candidates[0].fields.as_mut().unwrap()
}

const ODD: &[Odd] = &[
    Odd {
        what: "a right-to-left override inside a name",
        edit: |r| declared(r).kanji_name = "高橋\u{202E}一郎".into(),
        expect: Err("declared.kanji_name"),
    },
    Odd {
        what: "an isolate in a candidate's address",
        edit: |r| candidate(r).address = "東京都新宿区\u{2067}西新宿2-8-1\u{2069}".into(),
        expect: Err("candidates[0].fields.address"),
    },
    Odd {
        what: "a right-to-left mark in the kana name of the query",
        edit: |r| r.query.as_mut().unwrap().kana_name = "タカハシ\u{200F} イチロウ".into(),
        expect: Err("query.kana_name"),
    },
    Odd {
        what: "a combining accent stacked two hundred deep",
        edit: |r| declared(r).kanji_name = format!("高{}橋一郎", "\u{0301}".repeat(200)),
        expect: Err("declared.kanji_name"),
    },
    Odd {
        what: "a few combining accents in a name: a different name, decided",
        edit: |r| declared(r).kanji_name = "高\u{0301}\u{0300}\u{0302}橋一郎".into(),
        expect: Ok((pb::Field::KanjiName, pb::MatchClass::Mismatch)),
    },
    Odd {
        what: "a four-byte kanji (𠮷, U+20BB7) against 吉",
        edit: |r| {
            declared(r).kanji_name = "𠮷田一郎".into();
            candidate(r).kanji_name = "吉田一郎".into();
        },
        expect: Ok((pb::Field::KanjiName, pb::MatchClass::Variant)),
    },
    Odd {
        what: "an ideographic variation selector (葛 + U+E0100)",
        edit: |r| {
            declared(r).kanji_name = "葛\u{E0100}城一郎".into();
            candidate(r).kanji_name = "葛城一郎".into();
        },
        expect: Ok((pb::Field::KanjiName, pb::MatchClass::Variant)),
    },
    Odd {
        what: "a variation selector with nothing before it: dropped, as a variant",
        edit: |r| declared(r).kanji_name = "\u{FE00}髙橋一郎".into(),
        expect: Ok((pb::Field::KanjiName, pb::MatchClass::Variant)),
    },
    Odd {
        what: "zero-width and no-break spaces pasted into an address",
        edit: |r| {
            candidate(r).address = "東京都新宿区\u{200B}西新宿\u{00A0}二丁目８番１号".into();
        },
        expect: Ok((pb::Field::Address, pb::MatchClass::Notation)),
    },
    Odd {
        what: "a NUL byte in a birth date",
        edit: |r| declared(r).birth_date = "S50.1.1\u{0}".into(),
        expect: Err("declared.birth_date"),
    },
    Odd {
        what: "a non-character and a private-use character in a name",
        edit: |r| declared(r).kanji_name = "\u{FFFF}高橋\u{E000}郎".into(),
        expect: Ok((pb::Field::KanjiName, pb::MatchClass::Mismatch)),
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_unicode_is_decided_or_refused_naming_the_field() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut client = app.client.clone();
    let mut decided = 0;
    for (i, odd) in ODD.iter().enumerate() {
        let mut request = register_request(&format!("odd-{i}"));
        (odd.edit)(&mut request);
        let result = client.verify(request).await;
        match (&odd.expect, result) {
            (Err(field), Err(status)) => {
                assert_eq!(violated_fields(&status), [*field], "{}", odd.what);
            }
            (Ok((field, class)), Ok(response)) => {
                decided += 1;
                let response = response.into_inner();
                let got = response
                    .comparisons
                    .iter()
                    .find(|c| c.stage() == pb::Stage::DeclaredVsCandidate && c.field() == *field)
                    .map(|c| c.match_class());
                assert_eq!(got, Some(*class), "{}", odd.what);
            }
            (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", odd.what),
        }
    }
    still_serving_and_stored(app, decided).await;
}

// ---- bytes that are not protobuf ----

/// A codec that sends raw bytes and discards the response body: the test writes the wire
/// format itself.
#[derive(Default)]
struct Raw;

struct RawEncoder;
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        bytes::BufMut::put_slice(buf, &item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = ();
    type Error = Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        bytes::Buf::advance(buf, bytes::Buf::remaining(buf));
        Ok(Some(()))
    }
    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// Sends `bytes` as the body of a Verify call.
async fn verify_raw(app: &TestApp, bytes: Vec<u8>) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready().await.expect("channel ready");
    let path = http::uri::PathAndQuery::from_static("/verifyidentity.v1.VerifyIdentity/Verify");
    grpc.unary(tonic::Request::new(bytes), path, Raw)
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_protobuf_are_refused_naming_the_field() {
    let app = spawn_app(Backend::Sqlite).await;
    let valid = hold_request("raw").encode_to_vec();

    // A lone surrogate as CESU-8 (ED A0 80) in declared.kanji_name: protobuf merges a repeated
    // sub-message, so appending `declared { kanji_name: <bytes> }` replaces the name.
    let mut lone_surrogate = valid.clone();
    let inner = [&[0x0A, 0x03][..], &[0xED, 0xA0, 0x80]].concat();
    lone_surrogate.extend([0x2A, inner.len() as u8]);
    lone_surrogate.extend(&inner);
    let status = verify_raw(&app, lone_surrogate).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["declared.kanji_name"]);

    // Shift_JIS bytes copied into a candidate's address unconverted (東京 = 93 8C 8B 9E).
    let mut shift_jis = valid.clone();
    let address = [&[0x2A, 0x04][..], &[0x93, 0x8C, 0x8B, 0x9E]].concat();
    let fields = [&[0x0A, address.len() as u8][..], &address].concat();
    shift_jis.extend([0x3A, fields.len() as u8]);
    shift_jis.extend(&fields);
    let status = verify_raw(&app, shift_jis).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["candidates.fields.address"]);

    // A message cut in the middle of a field.
    let cut = valid[..valid.len() - 3].to_vec();
    let status = verify_raw(&app, cut).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // Not protobuf at all.
    let status = verify_raw(&app, vec![0xFF; 64]).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let bad = details.bad_request().expect("a BadRequest detail");
    assert!(
        bad.field_violations
            .iter()
            .all(|v| !v.description.contains('\u{FFFD}')),
        "{bad:?}"
    );

    still_serving_and_stored(app, 0).await;
}

#[test]
fn the_padding_helper_hits_the_length_exactly() {
    for len in [1_000, 4_096, DEFAULT_MAX_MESSAGE_BYTES] {
        assert_eq!(request_of_len(len).encoded_len(), len);
    }
}
