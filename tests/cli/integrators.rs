//! What an integrator types first: a server address without a scheme, and a receipt time
//! written as a date.

use std::process::Command;

use crate::server::Server;

#[test]
fn verify_takes_a_server_address_without_a_scheme() {
    let server = Server::start(&[]);
    let address = server.url.trim_start_matches("http://");
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["verify", "--server", address, "examples/register.json"])
        .env_remove("VERIFY_IDENTITY_SERVER")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_received_at_written_as_a_date_is_bad_input_saying_what_form_is_expected() {
    for key in ["received_at", "receivedAt"] {
        let out = super::check(&["-"], Some(&format!(r#"{{"{key}": "2026-11-20"}}"#)));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(key), "{stderr}");
        assert!(stderr.contains("2026-11-20T09:00:00+09:00"), "{stderr}");
        assert!(!stderr.contains("premature"), "{stderr}");
    }
}
