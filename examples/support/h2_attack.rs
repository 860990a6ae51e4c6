//! The connection-layer attacks of the second security probe, on raw sockets: connections that
//! never speak, and HTTP/2 connections that open streams with headers and no body. Shared by
//! `tests/api/connections.rs` and `examples/connection_attacks.rs` (RELIABILITY.md).
//!
//! The frames are written by hand rather than with the `h2` crate, because an attacker does not
//! respect the server's `SETTINGS_MAX_CONCURRENT_STREAMS`: `h2` as a client would queue the
//! streams beyond it instead of sending them.

#![allow(dead_code)] // each includer uses its part

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    sync::mpsc,
    task::JoinHandle,
};

/// A TCP connection to `server` from the loopback address `local` (127.0.0.2 …), as another
/// host would connect.
pub(crate) async fn connect_from(local: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local, 0))?;
    socket.connect(server).await
}

/// Connections that never send a byte, each watched for being closed by the server.
pub(crate) struct IdleConnections {
    /// How many were opened.
    pub(crate) opened: usize,
    /// How many the server has closed so far.
    pub(crate) closed: Arc<AtomicU64>,
    /// The watchers, which hold the sockets.
    tasks: Vec<JoinHandle<()>>,
}

impl IdleConnections {
    /// Opens `n` connections from each of `locals` to `server` and holds them.
    pub(crate) async fn open(
        server: SocketAddr,
        locals: &[IpAddr],
        n: usize,
    ) -> std::io::Result<Self> {
        let closed = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for local in locals {
            for _ in 0..n {
                let mut stream = connect_from(*local, server).await?;
                let closed = closed.clone();
                tasks.push(tokio::spawn(async move {
                    let mut buf = [0u8; 256];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                    }
                    closed.fetch_add(1, Ordering::Relaxed);
                    // Keep the socket until the test lets go, as an attacker holding it would.
                    std::future::pending::<()>().await;
                }));
            }
        }
        Ok(IdleConnections {
            opened: tasks.len(),
            closed,
            tasks,
        })
    }

    /// How many are still open.
    pub(crate) fn open_now(&self) -> u64 {
        self.opened as u64 - self.closed.load(Ordering::Relaxed)
    }
}

impl Drop for IdleConnections {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The client connection preface and an empty SETTINGS frame.
pub(crate) fn preface() -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    frame(&mut out, 0x4, 0, 0, &[]);
    out
}

/// Appends one frame.
fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("a small frame");
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Appends an HPACK string literal (no Huffman coding; short strings only).
fn hpack_string(out: &mut Vec<u8>, s: &str) {
    let len = u8::try_from(s.len()).expect("a short header");
    assert!(len < 127, "a short header");
    out.push(len);
    out.extend_from_slice(s.as_bytes());
}

/// A HEADERS frame opening a gRPC call to `path` on stream `id`, with END_HEADERS and without
/// END_STREAM: the server's handler starts and waits for a body that never comes.
pub(crate) fn headers_only(out: &mut Vec<u8>, id: u32, path: &str) {
    let mut block = vec![0x83, 0x86]; // :method POST, :scheme http (static table)
    block.push(0x04); // :path, literal without indexing, name from the static table
    hpack_string(&mut block, path);
    block.push(0x01); // :authority
    hpack_string(&mut block, "localhost");
    block.extend_from_slice(&[0x0f, 0x10]); // content-type (static index 31)
    hpack_string(&mut block, "application/grpc");
    block.push(0x00); // te: trailers, a literal name
    hpack_string(&mut block, "te");
    hpack_string(&mut block, "trailers");
    frame(out, 0x1, 0x4, id, &block);
}

/// A DATA frame on stream `id` holding an empty gRPC message (flag 0, length 0), ending the
/// stream.
pub(crate) fn empty_message(out: &mut Vec<u8>, id: u32) {
    frame(out, 0x0, 0x1, id, &[0, 0, 0, 0, 0]);
}

/// What the server sent back on one attack connection.
#[derive(Default)]
pub(crate) struct Tally {
    /// The `SETTINGS_MAX_CONCURRENT_STREAMS` the server advertised (0: none seen yet; u32::MAX:
    /// a SETTINGS frame without it).
    pub(crate) max_concurrent_streams: AtomicU32,
    /// Streams refused (`RST_STREAM` with `REFUSED_STREAM`).
    pub(crate) refused: AtomicU64,
    /// Streams reset with another code.
    pub(crate) reset: AtomicU64,
    /// Streams answered (a HEADERS frame from the server).
    pub(crate) answered: AtomicU64,
    /// The error code of a GOAWAY, plus one (0: none).
    pub(crate) goaway: AtomicU32,
    /// Whether the server closed the connection.
    pub(crate) closed: AtomicBool,
}

/// Streams with headers and no body on one connection, held open (PINGs are answered, as an
/// attacker that wants to keep its streams would).
pub(crate) struct HeldStreams {
    /// What the server sent back.
    pub(crate) tally: Arc<Tally>,
    /// Frames for the writer to send after the first ones.
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    /// Holds the socket.
    tasks: Vec<JoinHandle<()>>,
}

impl HeldStreams {
    /// Opens a connection from `local` and sends `streams` HEADERS-only calls to `path` at once.
    /// With `answer_pings` false the connection acts as a peer that went away would, after its
    /// first frames.
    pub(crate) async fn open(
        server: SocketAddr,
        local: IpAddr,
        streams: u32,
        path: &str,
        answer_pings: bool,
    ) -> std::io::Result<Self> {
        let stream = connect_from(local, server).await?;
        let (mut read, mut write) = stream.into_split();
        let tally = Arc::new(Tally::default());
        let (acks, mut to_send) = mpsc::unbounded_channel::<Vec<u8>>();
        let outgoing = acks.clone();
        let mut first = preface();
        for i in 0..streams {
            headers_only(&mut first, 1 + 2 * i, path);
        }
        let writer = tokio::spawn(async move {
            if write.write_all(&first).await.is_err() {
                return;
            }
            while let Some(bytes) = to_send.recv().await {
                if write.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            std::future::pending::<()>().await;
        });
        let seen = tally.clone();
        let reader = tokio::spawn(async move {
            let mut header = [0u8; 9];
            loop {
                if read.read_exact(&mut header).await.is_err() {
                    break;
                }
                let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
                let (kind, flags) = (header[3], header[4]);
                let mut payload = vec![0u8; len];
                if read.read_exact(&mut payload).await.is_err() {
                    break;
                }
                let code = |p: &[u8], at: usize| {
                    p.get(at..at + 4)
                        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                };
                match kind {
                    0x1 => {
                        seen.answered.fetch_add(1, Ordering::Relaxed);
                    }
                    0x3 if code(&payload, 0) == 0x7 => {
                        seen.refused.fetch_add(1, Ordering::Relaxed);
                    }
                    0x3 => {
                        seen.reset.fetch_add(1, Ordering::Relaxed);
                    }
                    0x4 if flags & 0x1 == 0 => {
                        let advertised = payload
                            .chunks_exact(6)
                            .find(|s| s[..2] == [0, 3])
                            .map_or(u32::MAX, |s| u32::from_be_bytes([s[2], s[3], s[4], s[5]]));
                        seen.max_concurrent_streams
                            .store(advertised, Ordering::Relaxed);
                        let mut ack = Vec::new();
                        frame(&mut ack, 0x4, 0x1, 0, &[]);
                        let _ = acks.send(ack);
                    }
                    0x6 if flags & 0x1 == 0 && answer_pings => {
                        let mut pong = Vec::new();
                        frame(&mut pong, 0x6, 0x1, 0, &payload);
                        let _ = acks.send(pong);
                    }
                    0x7 => {
                        seen.goaway.store(code(&payload, 4) + 1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            seen.closed.store(true, Ordering::Relaxed);
        });
        Ok(HeldStreams {
            tally,
            outgoing,
            tasks: vec![writer, reader],
        })
    }
}

impl HeldStreams {
    /// Sends more frames on the connection.
    pub(crate) fn send(&self, frames: Vec<u8>) {
        let _ = self.outgoing.send(frames);
    }
}

impl Drop for HeldStreams {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The resident size of process `pid` in kB (`VmRSS` of `/proc/PID/status`).
pub(crate) fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
