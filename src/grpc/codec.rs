//! The protobuf codec of the service: prost's, except that a request which is not valid
//! protobuf is the caller's mistake, answered `INVALID_ARGUMENT` with the field named.
//!
//! tonic's prost codec answers every decode failure `INTERNAL`, which tells an integrator that
//! the service is broken when it was their request: a string field holding bytes that are not
//! UTF-8 (a lone surrogate written as CESU-8, a Shift_JIS value copied in unconverted), a field
//! sent with the wrong wire type, a message cut short. prost's error names the path of the
//! failing field (`FiveFields.kanji_name: VerifyRequest.declared: invalid string value …`);
//! this codec turns it into a `google.rpc.BadRequest` violation for `declared.kanji_name`, like
//! every other bad field. The bytes themselves are never echoed.
//!
//! Responses decoded by the generated clients (the command line, tests) keep prost's `INTERNAL`:
//! a response that does not decode is the peer's fault, not the caller's.

use std::marker::PhantomData;

use tonic::{
    Code, Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstDecoder, ProstEncoder};
use tonic_types::{ErrorDetails, StatusExt};

/// The codec the generated service and client code use (`codec_path` in `build.rs`).
#[derive(Debug, Clone)]
pub struct ServiceCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for ServiceCodec<T, U> {
    fn default() -> Self {
        ServiceCodec {
            _types: PhantomData,
        }
    }
}

impl<T, U> Codec for ServiceCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = RequestDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder {
            inner: ProstDecoder::new(BufferSettings::default()),
        }
    }
}

/// prost's decoder, with decode failures of request messages mapped to `INVALID_ARGUMENT`.
#[derive(Debug)]
pub struct RequestDecoder<U> {
    inner: ProstDecoder<U>,
}

impl<U: prost::Message + Default> Decoder for RequestDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.inner.decode(buf).map_err(|status| {
            if status.code() == Code::Internal && is_request::<U>() {
                invalid_request(status.message())
            } else {
                status
            }
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

/// Whether `U` is one of the contract's request messages (every one is named `…Request`).
fn is_request<U>() -> bool {
    std::any::type_name::<U>().ends_with("Request")
}

/// The `INVALID_ARGUMENT` status for a prost decode error message.
fn invalid_request(prost_message: &str) -> Status {
    let (field, what) = field_path(prost_message);
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(field.clone(), format!("is not valid protobuf: {what}"));
    Status::with_error_details(
        Code::InvalidArgument,
        format!("the request could not be decoded at {field}"),
        details,
    )
}

/// The request field path and the failure in a prost decode error message.
///
/// prost writes `failed to decode Protobuf message: ` then one `Message.field: ` per level,
/// innermost first, then the description. The path is the fields outermost first
/// (`declared.kanji_name`); repeated fields carry no index, prost does not record it. A message
/// that does not have this shape is reported for the whole request.
fn field_path(prost_message: &str) -> (String, String) {
    let rest = prost_message
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(prost_message);
    let mut fields = Vec::new();
    let mut description = rest;
    for segment in rest.split(": ") {
        match segment.split_once('.') {
            Some((message, field))
                if is_identifier(message) && is_identifier(field) && rest.len() > segment.len() =>
            {
                fields.push(field);
                description = &description[segment.len() + 2..];
            }
            _ => break,
        }
    }
    fields.reverse();
    let path = if fields.is_empty() {
        "request".to_owned()
    } else {
        fields.join(".")
    };
    (path, description.to_owned())
}

/// A protobuf message or field name.
fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_outermost_first() {
        let (path, what) = field_path(
            "failed to decode Protobuf message: FiveFields.kanji_name: VerifyRequest.declared: \
             invalid string value: data is not UTF-8 encoded",
        );
        assert_eq!(path, "declared.kanji_name");
        assert_eq!(what, "invalid string value: data is not UTF-8 encoded");

        let (path, _) = field_path(
            "failed to decode Protobuf message: FiveFields.address: Candidate.fields: \
             VerifyRequest.candidates: buffer underflow",
        );
        assert_eq!(path, "candidates.fields.address");
    }

    #[test]
    fn a_failure_without_a_field_is_the_whole_request() {
        let (path, what) =
            field_path("failed to decode Protobuf message: invalid wire type value: 7");
        assert_eq!(path, "request");
        assert_eq!(what, "invalid wire type value: 7");
    }

    #[test]
    fn only_requests_are_the_callers_fault() {
        assert!(is_request::<crate::contract::pb::VerifyRequest>());
        assert!(!is_request::<crate::contract::pb::VerifyResponse>());
    }
}
