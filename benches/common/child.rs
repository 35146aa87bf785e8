//! The service as a child process of the release binary, so its resident
//! memory is its own and it can be stopped and started again.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arkiter_lever::domain::secrets::EncryptionKey;
use arkiter_lever::lever::sim::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SimHandle};

use super::bed::{Postgres, start_postgres};

/// What a child-process bench stands on: a temporary Postgres, the
/// simulator in this process, a fresh encryption key, and the environment
/// to start the service with.
pub struct ChildBed {
    /// Kept for its lifetime: dropping it stops the cluster.
    pub pg: Postgres,
    pub db_url: String,
    pub sim: SimHandle,
    pub key: EncryptionKey,
    pub env: ServiceEnv,
}

impl ChildBed {
    /// Starts the cluster and the simulator; `admin` is the service's admin
    /// token.
    pub async fn start(admin: &str) -> Self {
        let (pg, db_url) = start_postgres(false);
        let sim = arkiter_lever::lever::sim::LeverSim::start(Default::default())
            .await
            .expect("simulator");
        let key = EncryptionKey::generate();
        let env = ServiceEnv::new(&db_url, &key, admin, &sim);
        Self {
            pg,
            db_url,
            sim,
            key,
            env,
        }
    }
}

/// What the child is started with.
pub struct ServiceEnv {
    pub db_url: String,
    pub key: EncryptionKey,
    pub admin: String,
    pub port: u16,
    pub api_url: String,
    pub auth_url: String,
}

impl ServiceEnv {
    pub fn new(db_url: &str, key: &EncryptionKey, admin: &str, sim: &SimHandle) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self {
            db_url: db_url.to_owned(),
            key: key.clone(),
            admin: admin.to_owned(),
            port,
            api_url: sim.api_url(),
            auth_url: sim.auth_url(),
        }
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

pub struct Service {
    child: Child,
}

impl Service {
    /// `arkiter-lever serve` with only the given environment.
    pub fn spawn(env: &ServiceEnv) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_arkiter-lever"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &env.db_url)
            .env("ARKITER_ENCRYPTION_KEY", env.key.to_base64())
            .env("ARKITER_ADMIN_TOKEN", &env.admin)
            .env("ARKITER_LISTEN", format!("127.0.0.1:{}", env.port))
            .env("ARKITER_PUBLIC_URL", env.address())
            .env("ARKITER_INSTANCE_ID", "bench-instance")
            .env("LEVER_CLIENT_ID", DEFAULT_CLIENT_ID)
            .env("LEVER_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
            .env("LEVER_AUTH_URL", &env.auth_url)
            .env("LEVER_API_URL", &env.api_url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .current_dir(std::env::temp_dir())
            .spawn()
            .expect("start the service");
        Self { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `/readyz` every 10 ms; the time until it answered 200.
    pub async fn wait_ready(&self, env: &ServiceEnv, since: Instant) -> Duration {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(2))
            .finish();
        let url = format!("{}/readyz", env.address());
        loop {
            if let Ok(r) = client.get(&url).send().await
                && r.status().as_u16() == 200
            {
                return since.elapsed();
            }
            assert!(
                since.elapsed() < Duration::from_secs(120),
                "the service never became ready"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    }

    /// CPU time used so far (user + system), from /proc.
    pub fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("read /proc stat");
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<u64> = after
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        // utime and stime are fields 14 and 15 (11 and 12 after the name).
        let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }

    /// SIGTERM (graceful), then waits for the exit; the time it took.
    pub fn stop(mut self) -> Duration {
        let t = Instant::now();
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
        t.elapsed()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
