//! What grpcurl does with a refusal it has no proto for: asks the reflection service for the
//! file that defines each detail's type, by the type's name, then for every file that file
//! imports, and decodes the detail with what it got.

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage as _, Value};
use tonic::transport::Channel;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::helpers::{Backend, register_request, spawn_app};

/// One reflection request; the encoded file descriptors of the answer.
async fn ask(channel: &Channel, request: MessageRequest) -> Vec<Vec<u8>> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut stream = ServerReflectionClient::new(channel.clone())
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match stream.message().await.unwrap().unwrap().message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => files.file_descriptor_proto,
        other => panic!("no file descriptor: {other:?}"),
    }
}

/// The descriptors of `symbol`'s file and everything it imports, through reflection only.
async fn pool_for(channel: &Channel, symbol: &str) -> DescriptorPool {
    let mut files = Vec::new();
    let mut pending = ask(channel, MessageRequest::FileContainingSymbol(symbol.into())).await;
    let mut seen = std::collections::HashSet::new();
    while let Some(encoded) = pending.pop() {
        let file = prost_types::FileDescriptorProto::decode(encoded.as_slice()).unwrap();
        if !seen.insert(file.name().to_owned()) {
            continue;
        }
        for import in &file.dependency {
            if !seen.contains(import) {
                let answer = ask(channel, MessageRequest::FileByFilename(import.clone())).await;
                pending.extend(answer);
            }
        }
        files.push(file);
    }
    // Dependencies first, as a descriptor pool wants them.
    files.reverse();
    DescriptorPool::from_file_descriptor_set(prost_types::FileDescriptorSet { file: files })
        .unwrap_or_else(|e| panic!("the files reflection served for {symbol} do not link: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusals_details_decode_by_name_through_reflection_alone() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut bad = register_request("reflect-1");
    bad.insurer_number = "1234".into();
    let status = app.client.clone().verify(bad).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::pb::Status::decode(status.details()).unwrap();
    assert!(!details.details.is_empty(), "{status:?}");

    let mut decoded = Vec::new();
    for any in &details.details {
        let name = any.type_url.rsplit('/').next().unwrap();
        let pool = pool_for(&app.channel, name).await;
        let descriptor = pool
            .get_message_by_name(name)
            .unwrap_or_else(|| panic!("reflection does not know {name}"));
        let message = DynamicMessage::decode(descriptor, any.value.as_slice()).unwrap();
        decoded.push(message);
    }
    let bad_request = decoded
        .iter()
        .find(|m| m.descriptor().full_name() == "google.rpc.BadRequest")
        .expect("a google.rpc.BadRequest detail");
    let violations = bad_request.get_field_by_name("field_violations").unwrap();
    let Value::List(violations) = violations.as_ref() else {
        panic!("{violations:?}");
    };
    let fields: Vec<String> = violations
        .iter()
        .map(|v| {
            let v = v.as_message().unwrap();
            v.get_field_by_name("field")
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(fields, ["insurer_number"]);
    app.finish().await;
}
