//! A real `serve` process for the client commands: SQLite in a fresh directory, 127.0.0.1:0,
//! its text log written to a file (as a service manager or `> serve.log` would).

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A running server; killed (by its own pid) and its directory removed when dropped.
pub(crate) struct Server {
    /// The `serve` process.
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The temporary directory: audit database, fingerprint key, `serve.log`.
    pub(crate) dir: PathBuf,
}

impl Server {
    /// Starts `serve` with `extra` environment variables and waits until it logs its address.
    pub(crate) fn start(env: &[(&str, &str)]) -> Server {
        let dir = std::env::temp_dir().join(format!("vi-cli-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("serve.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "text"])
            .arg("--database")
            .arg(format!("sqlite:{}", dir.join("audit.sqlite").display()))
            .arg("--hmac-key-file")
            .arg(dir.join("hmac.key"))
            .envs(env.iter().copied())
            .env_remove("NO_COLOR")
            .current_dir(&dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let mut server = Server {
            child,
            url: String::new(),
            dir,
        };
        let started = Instant::now();
        while server.url.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "serve did not report its address: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
            if let Some(addr) = server
                .log()
                .lines()
                .filter(|l| l.contains(" serving "))
                .find_map(|l| l.split("addr=").nth(1))
            {
                server.url = format!("http://{}", addr.trim());
            }
        }
        server
    }

    /// Everything the server wrote so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
