//! A second, independent load generator for the ingest benchmark: `wrk`
//! (Debian's package), as a process of its own, sending the same kind of
//! pre-signed deliveries. It checks that the in-process generator's
//! figures are not an artefact of the generator. Skipped, with a line
//! saying so, when `wrk` is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// What a `wrk` run reported.
#[derive(Debug)]
pub struct WrkResult {
    pub requests: usize,
    /// Answers other than 2xx or 3xx, and socket errors.
    pub failed: usize,
    pub elapsed: Duration,
    pub p99: String,
}

impl WrkResult {
    pub fn ok(&self) -> usize {
        self.requests - self.failed
    }

    pub fn rate(&self) -> f64 {
        self.ok() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Hands each `wrk` thread its own file of raw requests (so no request is
/// sent twice), and sends them in order; a thread that runs out starts
/// over, which shows as rows short of the 2xx count.
const SCRIPT: &str = r#"
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  local f = assert(io.open(args[1] .. "." .. id, "rb"))
  local data = f:read("*a")
  f:close()
  reqs = {}
  local pos = 1
  while true do
    local stop = data:find("\0", pos, true)
    if not stop then break end
    reqs[#reqs + 1] = data:sub(pos, stop - 1)
    pos = stop + 1
  end
  n = 0
  pause = tonumber(args[2]) or 0
end
function request()
  n = n + 1
  if n > #reqs then n = 1 end
  return reqs[n]
end
function delay()
  return pause
end
"#;

/// Whether `wrk` is on the PATH.
pub fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// Runs `wrk` against `addr` for `secs` seconds with `threads` threads and
/// `conns` connections; thread `i` sends `requests[i]` in order.
pub fn run(addr: &str, requests: &[Arc<Vec<Vec<u8>>>], conns: usize, secs: u64) -> WrkResult {
    run_paced(addr, requests, conns, secs, 0)
}

/// [`run`], each connection pausing `pause_ms` after every answer: at most
/// `conns * 1000 / pause_ms` requests a second.
pub fn run_paced(
    addr: &str,
    requests: &[Arc<Vec<Vec<u8>>>],
    conns: usize,
    secs: u64,
    pause_ms: u32,
) -> WrkResult {
    let dir = std::env::temp_dir().join(format!("p1-wrk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("wrk directory");
    let prefix = dir.join("requests");
    for (i, part) in requests.iter().enumerate() {
        write_requests(&prefix, i, part);
    }
    let script = dir.join("deliveries.lua");
    std::fs::write(&script, SCRIPT).expect("write the wrk script");
    let out = Command::new("wrk")
        .arg(format!("-t{}", requests.len()))
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .arg("--latency")
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}/"))
        .arg("--")
        .arg(&prefix)
        .arg(pause_ms.to_string())
        .output()
        .expect("run wrk");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    print!("wrk:\n{text}");
    parse(&text)
}

fn write_requests(prefix: &Path, i: usize, part: &[Vec<u8>]) {
    let mut bytes = Vec::with_capacity(part.iter().map(|r| r.len() + 1).sum());
    for r in part {
        bytes.extend_from_slice(r);
        bytes.push(0);
    }
    let path = PathBuf::from(format!("{}.{i}", prefix.display()));
    std::fs::write(path, bytes).expect("write wrk requests");
}

/// The figures from `wrk`'s report.
fn parse(text: &str) -> WrkResult {
    let total = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .expect("wrk's request count");
    let mut words = total.split_whitespace();
    let requests = words.next().and_then(|n| n.parse().ok()).expect("count");
    let secs = words
        .nth(2)
        .map(|s| s.trim_end_matches(','))
        .and_then(parse_duration)
        .expect("wrk's duration");
    let counted = |prefix: &str| -> usize {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map_or(0, |rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse::<usize>().ok())
                    .sum()
            })
    };
    let failed = counted("Non-2xx or 3xx responses:") + counted("Socket errors:");
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map_or_else(|| "?".into(), |v| v.trim().to_owned());
    WrkResult {
        requests,
        failed,
        elapsed: secs,
        p99,
    }
}

/// `5.00s`, `300.12ms` or `1.00m` as `wrk` prints a duration.
fn parse_duration(s: &str) -> Option<Duration> {
    let (number, scale) = if let Some(ms) = s.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(sec) = s.strip_suffix('s') {
        (sec, 1.0)
    } else if let Some(min) = s.strip_suffix('m') {
        (min, 60.0)
    } else {
        return None;
    };
    number
        .parse::<f64>()
        .ok()
        .map(|v| Duration::from_secs_f64(v * scale))
}
