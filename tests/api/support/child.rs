//! `arkiter-lever serve` as a child process. It binds `127.0.0.1:0` itself
//! and the test reads the port from its "serving" log line, so no port is
//! guessed (a port probed free and closed can be taken before the child
//! binds it). Killed (and its log removed) when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arkiter_lever::domain::secrets::EncryptionKey;
use arkiter_lever::lever::sim::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SimHandle};
use serde_json::Value;

use crate::helpers::poll_until;

pub struct ServiceChild {
    pub child: Child,
    port: u16,
    log: PathBuf,
}

impl ServiceChild {
    /// Starts `serve` with a clean environment but `PATH` and `env`, JSON
    /// logs in a file of its own (`RUST_LOG` from `env`, `warn` when unset,
    /// plus the line naming the port), and waits until it is bound.
    pub async fn start(env: &[(&str, String)]) -> Self {
        let log = std::env::temp_dir().join(format!("ak-serve-{}.log", uuid::Uuid::new_v4()));
        let file = std::fs::File::create(&log).expect("log file");
        let rust_log = env
            .iter()
            .find(|(k, _)| *k == "RUST_LOG")
            .map_or("warn", |(_, v)| v.as_str());
        let child = Command::new(env!("CARGO_BIN_EXE_arkiter-lever"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_BACKTRACE", "0")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", format!("{rust_log},arkiter_lever::cli=info"))
            .env("ARKITER_LOG_FORMAT", "json")
            .env("ARKITER_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(file)
            .current_dir(std::env::temp_dir())
            .spawn()
            .expect("spawn the service");
        let mut me = Self {
            child,
            port: 0,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        me.port = loop {
            if let Some(port) = serving_port(&me.log_text()) {
                break port;
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("the service exited ({status}): {}", me.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "no serving line: {}",
                me.log_text()
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        };
        me
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `/readyz` until 200.
    pub async fn wait_ready(&self) {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(5))
            .finish();
        let url = format!("{}/readyz", self.address());
        poll_until(90, "the child ready", || async {
            let r = client.get(&url).send().await.ok()?;
            (r.status().as_u16() == 200).then_some(())
        })
        .await;
    }

    /// Sends `sig` to the process.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        nix::sys::signal::kill(pid, sig).expect("signal the child");
    }

    /// SIGKILL, and reaped.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment of a service talking to `sim` on `database_url`, with
/// `admin` as its admin token and `key` as its encryption key.
pub fn env_for_sim(
    sim: &SimHandle,
    database_url: &str,
    admin: &str,
    key: &EncryptionKey,
) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("ARKITER_ENCRYPTION_KEY", key.to_base64()),
        ("ARKITER_ADMIN_TOKEN", admin.to_owned()),
        ("LEVER_CLIENT_ID", DEFAULT_CLIENT_ID.to_owned()),
        ("LEVER_CLIENT_SECRET", DEFAULT_CLIENT_SECRET.to_owned()),
        ("LEVER_AUTH_URL", sim.auth_url()),
        ("LEVER_API_URL", sim.api_url()),
    ]
}

/// The port of the `serving` line in JSON logs.
fn serving_port(log: &str) -> Option<u16> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "serving")
        .and_then(|l| l["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

impl Drop for ServiceChild {
    fn drop(&mut self) {
        // Signals only a child not reaped yet (its pid is still its own); a
        // stopped (SIGSTOP) one must go on to die.
        if let Ok(None) = self.child.try_wait() {
            let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
            self.kill();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
