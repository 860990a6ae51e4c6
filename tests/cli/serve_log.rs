//! `serve`'s log when it goes to a file: plain text, no terminal escape codes.

use crate::server::Server;

#[test]
fn serve_logging_to_a_file_writes_no_escape_codes() {
    let server = Server::start(&[]);
    let log = server.log();
    assert!(log.contains("serving"), "the log was captured: {log}");
    assert!(!log.contains('\x1b'), "escape codes in the log: {log:?}");
}
