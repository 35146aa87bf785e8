//! Typed settings, read once from the environment (and `.env`) and validated at start.
//!
//! Every variable of docs/contract/settings.md is read here and nowhere else:
//! `DATABASE_URL`, `ARKITER_DATA_DIR`, `ARKITER_LISTEN`, `ARKITER_PUBLIC_URL`,
//! `ARKITER_ADMIN_TOKEN`, `ARKITER_ENCRYPTION_KEY`, `LEVER_CLIENT_ID`,
//! `LEVER_CLIENT_SECRET`, `LEVER_AUTH_URL`, `LEVER_API_URL`, `LEVER_RATE_PER_SEC`,
//! `LEVER_BURST`, `ARKITER_LIVE_URL`, `ARKITER_RESULTS_URL`,
//! `ARKITER_SWEEP_INTERVAL` (see [`Settings::sweep_interval`]),
//! `ARKITER_SHUTDOWN_GRACE` (see [`Settings::shutdown_grace`]), `RUST_LOG`,
//! `ARKITER_LOG_FORMAT`; plus the operational knobs `ARKITER_OAUTH_STATE_TTL_SECS`
//! (default 600) and `ARKITER_NO_DELIVERIES_AFTER_SECS` (default 86400), and for
//! scale-out `ARKITER_INSTANCE_ID`, `ARKITER_LEASE_SECS` and
//! `ARKITER_LEASE_RENEW_SECS` (see [`InstanceSettings`]).
//!
//! A bad value is a [`ConfigError`] naming the variable; `main` prints it as one
//! line and exits with code 2. Secret values are wrapped in [`SecretString`] so
//! they never reach a log line or a `Debug` print, and errors never echo them.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::domain::secrets::EncryptionKey;
use crate::lever::RetryPolicy;

/// The production Lever Data API: the only one that insists on HTTPS webhook URLs.
pub const PRODUCTION_LEVER_API: &str = "https://api.lever.co/v1";

/// A setting that is missing or malformed: `{var}: {problem}`.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where and how the service reaches Lever.
#[derive(Debug, Clone)]
pub struct LeverSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// `{auth_url}/authorize` and `{auth_url}/oauth/token`; no trailing slash.
    pub auth_url: String,
    /// The Data API base, no trailing slash; the OAuth audience is this plus `/`.
    pub api_url: String,
    pub rate_per_sec: NonZeroU32,
    pub burst: NonZeroU32,
    /// `LEVER_SCOPES`: the scopes connect asks for, space-separated (the
    /// whole default list unless the registered Lever app has fewer).
    pub scopes: String,
    /// Not from the environment: production backoff, shortened by tests.
    pub retry: RetryPolicy,
}

/// Sizes and timeouts of one pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// The pool's name in metrics (`pool` label).
    pub label: &'static str,
    pub max_size: u32,
    pub checkout_timeout: Duration,
    pub statement_timeout: Duration,
    /// How long a statement may wait for a lock (`None`: as long as its
    /// statement timeout allows).
    pub lock_timeout: Option<Duration>,
    /// Whether a connection is checked (`SELECT 1`) each time it is handed
    /// out. Without it, a connection is checked only when it has not proved
    /// itself lately or the pool lost another one meanwhile (`db::conn`); a
    /// connection the database dropped is discarded either way.
    pub test_on_check_out: bool,
}

/// All settings of the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: run the embedded cluster from the local Postgres binaries.
    pub database_url: Option<SecretString>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `None`: derived from the bound listen address (default `http://127.0.0.1:8080`).
    pub public_url: Option<String>,
    pub admin_token: Option<SecretString>,
    /// `None`: generated into the data dir (embedded mode only).
    pub encryption_key: Option<EncryptionKey>,
    pub lever: LeverSettings,
    /// `None`: `{public_url}/live`.
    pub live_url: Option<String>,
    /// `None`: `{public_url}/results`.
    pub results_url: Option<String>,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` set: traces are exported
    /// (docs/contract/tracing.md). `None`: nothing is exported.
    pub traces: Option<TraceSettings>,
    pub oauth_state_ttl: Duration,
    pub no_deliveries_after: Duration,
    /// `ARKITER_SWEEP_INTERVAL` (seconds, default 900): the gap between two
    /// periodic sweeps of a connection (docs/contract/sweep.md). `None` (`0`): no periodic sweep; sweeps after (re)connect
    /// and on demand still run.
    pub sweep_interval: Option<Duration>,
    /// `ARKITER_SHUTDOWN_GRACE` (seconds, default 20): how long a stopping
    /// instance gives requests and units in flight to finish.
    pub shutdown_grace: Duration,
    /// `ARKITER_RETENTION_DAYS` (default 30, at least [`MIN_RETENTION_DAYS`]):
    /// how long finished rows are kept (the `retention` module).
    pub retention_days: u32,
    /// Not from the environment: fixed production values, shortened by tests.
    pub pipeline: PipelineSettings,
    /// This process among several sharing one database.
    pub instance: InstanceSettings,
    /// Not from the environment: the database pools' sizes and timeouts.
    pub pools: PoolSettings,
    /// `ARKITER_ALERTS_ALLOW_PRIVATE`, and the alert timings (fixed
    /// production values, shortened by tests).
    pub alerts: AlertSettings,
}

/// Trace export over OTLP/HTTP. The exporter itself reads the standard
/// `OTEL_EXPORTER_OTLP_*` variables (endpoint, headers, timeout); these are
/// what the service checks and decides at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSettings {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL (`/v1/traces`
    /// is added to it).
    pub endpoint: String,
    /// `OTEL_SERVICE_NAME` (default `arkiter-lever`).
    pub service_name: String,
}

/// How alerts are evaluated and sent (docs/contract/alerts.md).
#[derive(Debug, Clone, Copy)]
pub struct AlertSettings {
    /// `ARKITER_ALERTS_ALLOW_PRIVATE=1`: destinations may be `http://`, on
    /// any host (Slack's too), at any address, for tests and private
    /// networks.
    pub allow_private: bool,
    /// A problem opens once it has held this long.
    pub open_after: Duration,
    /// An open problem resolves once it has been clear this long.
    pub resolve_after: Duration,
    /// At most one `problem.opened` per problem code and connection this often.
    pub renotify_after: Duration,
    /// How often the evaluator runs.
    pub evaluate_every: Duration,
    /// The operator's summary of a problem code, at most this often.
    pub summary_every: Duration,
    /// A notification is retried for this long.
    pub retry_for: Duration,
    /// The first retry's wait; each next one doubles, up to an hour.
    pub retry_base: Duration,
    /// A destination refusing for this long is the problem `alert_failing`.
    pub failing_after: Duration,
    /// Each send's time limit.
    pub send_timeout: Duration,
    /// How often the sender looks for due notifications (it is also woken
    /// when the evaluator writes some).
    pub send_poll: Duration,
    /// `ARKITER_NO_DELIVERIES_AFTER_SECS`, as health applies it
    /// (`no_deliveries_yet`).
    pub no_deliveries_after: Duration,
}

/// How long a notification is retried (a day): the setting's production
/// value, also used where the instance's own notifications are queued.
pub const ALERT_RETRY_FOR: Duration = Duration::from_secs(24 * 3600);

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            open_after: Duration::from_secs(60),
            resolve_after: Duration::from_secs(300),
            renotify_after: Duration::from_secs(900),
            evaluate_every: Duration::from_secs(15),
            summary_every: Duration::from_secs(300),
            retry_for: ALERT_RETRY_FOR,
            retry_base: Duration::from_secs(5),
            failing_after: Duration::from_secs(3600),
            send_timeout: Duration::from_secs(5),
            send_poll: Duration::from_secs(1),
            no_deliveries_after: Duration::from_secs(86_400),
        }
    }
}

/// The three database pools: what each is for decides its size and how long
/// a caller may wait.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// The admin API, the pipeline and the pages.
    pub main: PoolOptions,
    /// Webhook ingest's batch writes.
    pub ingest: PoolOptions,
    /// Lease cycles, apart so that a saturated main pool never costs this
    /// instance its leases.
    pub lease: PoolOptions,
}

impl PoolSettings {
    /// How many threads a runtime may start for blocking work. Database
    /// calls are synchronous (diesel) and run there; more threads than
    /// connections only wait for a checkout, while each idle one keeps its
    /// stack and allocator cache. Tokio's default of 512 per runtime grew a
    /// service with 10,000 accounts to about 530 threads. The margin is for
    /// blocking work that is not the database's (password hashing, files).
    pub fn blocking_threads(&self) -> usize {
        (self.main.max_size + self.lease.max_size) as usize + 8
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            main: PoolOptions {
                label: "main",
                max_size: 16,
                checkout_timeout: Duration::from_secs(5),
                statement_timeout: Duration::from_secs(30),
                lock_timeout: None,
                test_on_check_out: true,
            },
            ingest: PoolOptions {
                label: "ingest",
                // The writer lanes' connections (`ingest::inbox::LANES`),
                // opened only while a lane writes, and 8 for the requests'
                // own calls (signature tokens on a cache miss, counters).
                max_size: 12,
                // Short: when the database cannot take the write, answer 503
                // and let Lever retry rather than hang.
                checkout_timeout: Duration::from_secs(2),
                statement_timeout: Duration::from_secs(10),
                // A batch waiting on a table lock (a migration, an operator's
                // LOCK TABLE) answers 503 within about a second, and Lever
                // retries, instead of every delivery hanging behind it.
                lock_timeout: Some(Duration::from_secs(1)),
                // No round trip per batch: a dropped connection fails one
                // batch with 503 (Lever retries it) and is discarded.
                test_on_check_out: false,
            },
            lease: PoolOptions {
                label: "lease",
                max_size: 2,
                checkout_timeout: Duration::from_secs(2),
                statement_timeout: Duration::from_secs(5),
                lock_timeout: None,
                test_on_check_out: true,
            },
        }
    }
}

/// Scale-out settings: `ARKITER_INSTANCE_ID` (default: host name + process
/// id), `ARKITER_LEASE_SECS` (default 6: how long a connection's lease lasts
/// without renewal, so a dead instance's accounts are taken over within about
/// that plus one renewal period) and `ARKITER_LEASE_RENEW_SECS` (default 2).
#[derive(Debug, Clone)]
pub struct InstanceSettings {
    pub id: String,
    pub lease: Duration,
    pub renew_every: Duration,
}

/// How the pipeline paces itself.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Gaps between attempts of a job that failed on its own account
    /// (a 404, no role yet): long enough for an admin to fix the cause.
    pub job_retry_delays: Vec<Duration>,
    /// The gap after `job_retry_delays` run out.
    pub job_retry_every: Duration,
    /// Attempts before a job goes `dead` (about 24 hours with the defaults).
    pub job_max_attempts: i32,
    /// Longest pause of an account when Lever is down or throttling.
    pub account_pause_max: Duration,
    /// Jobs of one account running at once.
    pub per_account_concurrency: usize,
    /// How often the registry re-checks the database for work and accounts.
    pub poll_interval: Duration,
    /// How long after a Lever write was cut (a timeout, a dropped connection)
    /// its checking read waits: the write may still land meanwhile.
    pub late_landing: Duration,
    /// Token refreshes of idle connections running at once on one instance.
    pub refresh_concurrency: usize,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            job_retry_delays: [10, 60, 300, 1800, 7200]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            job_retry_every: Duration::from_secs(3600),
            job_max_attempts: 27,
            account_pause_max: Duration::from_secs(60),
            per_account_concurrency: 8,
            poll_interval: Duration::from_secs(2),
            late_landing: crate::lever::LATE_LANDING,
            refresh_concurrency: 4,
        }
    }
}

impl PipelineSettings {
    /// The wait after the `attempt`-th failure (1-based) of a job.
    pub fn retry_delay(&self, attempt: i32) -> Duration {
        let i = usize::try_from(attempt.max(1) - 1).unwrap_or(0);
        self.job_retry_delays
            .get(i)
            .copied()
            .unwrap_or(self.job_retry_every)
    }
}

impl Settings {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is worth failing on.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError::new(".env", e.to_string())),
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let database_url = get("DATABASE_URL")
            .map(|v| parse_database_url(&v))
            .transpose()?;
        let encryption_key = get("ARKITER_ENCRYPTION_KEY")
            .map(|v| {
                EncryptionKey::from_base64(v.trim()).map_err(|problem| {
                    ConfigError::new("ARKITER_ENCRYPTION_KEY", problem.to_string())
                })
            })
            .transpose()?;
        // Health and the alerts that watch its problems apply the same value.
        let no_deliveries_after = parse_secs(&get, "ARKITER_NO_DELIVERIES_AFTER_SECS", 86_400)?;
        if database_url.is_some() && encryption_key.is_none() {
            return Err(ConfigError::new(
                "ARKITER_ENCRYPTION_KEY",
                "required when DATABASE_URL is set (32 random bytes, base64; e.g. `openssl rand -base64 32`)",
            ));
        }
        Ok(Self {
            database_url,
            data_dir: PathBuf::from(get("ARKITER_DATA_DIR").unwrap_or_else(|| "./data".into())),
            listen: parse_listen(get("ARKITER_LISTEN").as_deref())?,
            public_url: get("ARKITER_PUBLIC_URL")
                .map(|v| parse_http_url("ARKITER_PUBLIC_URL", &v))
                .transpose()?,
            admin_token: get("ARKITER_ADMIN_TOKEN").map(SecretString::from),
            encryption_key,
            lever: parse_lever(&get)?,
            live_url: get("ARKITER_LIVE_URL")
                .map(|v| parse_http_url("ARKITER_LIVE_URL", &v))
                .transpose()?,
            results_url: get("ARKITER_RESULTS_URL")
                .map(|v| parse_http_url("ARKITER_RESULTS_URL", &v))
                .transpose()?,
            log_filter: get("RUST_LOG").unwrap_or_else(|| "info".into()),
            log_format: parse_log_format(get("ARKITER_LOG_FORMAT").as_deref())?,
            traces: parse_traces(&get)?,
            oauth_state_ttl: parse_secs(&get, "ARKITER_OAUTH_STATE_TTL_SECS", 600)?,
            no_deliveries_after,
            sweep_interval: parse_sweep_interval(get("ARKITER_SWEEP_INTERVAL").as_deref())?,
            shutdown_grace: parse_secs(&get, "ARKITER_SHUTDOWN_GRACE", 20)?,
            retention_days: parse_retention_days(get("ARKITER_RETENTION_DAYS").as_deref())?,
            pipeline: PipelineSettings::default(),
            pools: PoolSettings::default(),
            instance: parse_instance(&get)?,
            alerts: AlertSettings {
                allow_private: parse_flag(
                    "ARKITER_ALERTS_ALLOW_PRIVATE",
                    get("ARKITER_ALERTS_ALLOW_PRIVATE").as_deref(),
                )?,
                no_deliveries_after,
                ..AlertSettings::default()
            },
        })
    }

    /// True when webhooks would go to a non-HTTPS URL while talking to production Lever,
    /// which only delivers to HTTPS URLs with a CA-signed certificate.
    pub fn insecure_public_url_for_production(&self, public_url: &str) -> bool {
        self.lever.api_url == PRODUCTION_LEVER_API && !public_url.starts_with("https://")
    }
}

/// `1`/`true` or `0`/`false` (unset: false).
fn parse_flag(name: &'static str, v: Option<&str>) -> Result<bool, ConfigError> {
    match v.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => Err(ConfigError::new(
            name,
            format!("must be 1 or 0 (true or false); got `{other}`"),
        )),
    }
}

fn parse_database_url(v: &str) -> Result<SecretString, ConfigError> {
    // Never echo the value: it usually carries a password.
    let url =
        Url::parse(v.trim()).map_err(|_| ConfigError::new("DATABASE_URL", "not a valid URL"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(ConfigError::new(
            "DATABASE_URL",
            "must be a postgres:// or postgresql:// URL",
        ));
    }
    Ok(SecretString::from(v.trim().to_owned()))
}

fn parse_listen(v: Option<&str>) -> Result<SocketAddr, ConfigError> {
    let v = v.unwrap_or("127.0.0.1:8080").trim();
    v.parse().map_err(|_| {
        ConfigError::new(
            "ARKITER_LISTEN",
            format!("`{v}` is not an address like 127.0.0.1:8080"),
        )
    })
}

/// An absolute http(s) URL, returned without a trailing slash.
fn parse_http_url(var: &'static str, v: &str) -> Result<String, ConfigError> {
    let v = v.trim();
    let url = Url::parse(v)
        .map_err(|e| ConfigError::new(var, format!("`{v}` is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::new(
            var,
            format!("`{v}` must be an http:// or https:// URL with a host"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            var,
            format!("`{v}` must not have a query or fragment"),
        ));
    }
    Ok(v.trim_end_matches('/').to_owned())
}

fn parse_lever(get: &impl Fn(&str) -> Option<String>) -> Result<LeverSettings, ConfigError> {
    let rate_per_sec = parse_nonzero(get, "LEVER_RATE_PER_SEC", 10)?;
    let burst = parse_nonzero(get, "LEVER_BURST", 15)?;
    Ok(LeverSettings {
        client_id: get("LEVER_CLIENT_ID").map(|v| v.trim().to_owned()),
        client_secret: get("LEVER_CLIENT_SECRET").map(SecretString::from),
        auth_url: get("LEVER_AUTH_URL")
            .map(|v| parse_http_url("LEVER_AUTH_URL", &v))
            .transpose()?
            .unwrap_or_else(|| "https://auth.lever.co".into()),
        api_url: get("LEVER_API_URL")
            .map(|v| parse_http_url("LEVER_API_URL", &v))
            .transpose()?
            .unwrap_or_else(|| PRODUCTION_LEVER_API.into()),
        rate_per_sec,
        burst,
        scopes: parse_scopes(get)?,
        retry: RetryPolicy::default(),
    })
}

/// `LEVER_SCOPES`: space-separated scope names; each of the core seven
/// must be there, since without one no candidate can be linked.
fn parse_scopes(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    const VAR: &str = "LEVER_SCOPES";
    let Some(v) = get(VAR) else {
        return Ok(crate::lever::SCOPES.to_owned());
    };
    let scopes: Vec<&str> = v.split_whitespace().collect();
    if let Some(bad) = scopes.iter().find(|s| {
        !s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:.".contains(c))
    }) {
        return Err(ConfigError::new(
            VAR,
            format!("`{bad}` is not a scope name"),
        ));
    }
    let missing: Vec<&str> = crate::lever::CORE_SCOPES
        .into_iter()
        .filter(|core| !scopes.contains(core))
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError::new(
            VAR,
            format!(
                "must include the core scopes; missing: {}",
                missing.join(" ")
            ),
        ));
    }
    Ok(scopes.join(" "))
}

fn parse_nonzero(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u32,
) -> Result<NonZeroU32, ConfigError> {
    let Some(v) = get(var) else {
        return NonZeroU32::new(default).ok_or_else(|| ConfigError::new(var, "zero default"));
    };
    v.trim()
        .parse::<u32>()
        .ok()
        .and_then(NonZeroU32::new)
        .filter(|n| n.get() <= 10_000)
        .ok_or_else(|| {
            ConfigError::new(
                var,
                format!("`{}` is not a whole number from 1 to 10000", v.trim()),
            )
        })
}

/// The shortest `ARKITER_RETENTION_DAYS`: a day more than Lever's 15-day
/// Rerun window, so a rerun delivery always finds the row that dedupes it.
pub const MIN_RETENTION_DAYS: u32 = 16;

fn parse_retention_days(v: Option<&str>) -> Result<u32, ConfigError> {
    let Some(v) = v else { return Ok(30) };
    match v.trim().parse::<u32>() {
        Ok(n) if n >= MIN_RETENTION_DAYS => Ok(n),
        _ => Err(ConfigError::new(
            "ARKITER_RETENTION_DAYS",
            format!(
                "`{}` is not a whole number of days of at least {MIN_RETENTION_DAYS} (deliveries are deduplicated across Lever's 15-day Rerun window)",
                v.trim()
            ),
        )),
    }
}

fn parse_secs(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    let Some(v) = get(var) else {
        return Ok(Duration::from_secs(default));
    };
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| {
            ConfigError::new(
                var,
                format!("`{}` is not a positive number of seconds", v.trim()),
            )
        })
}

/// Longest `ARKITER_SWEEP_INTERVAL`: a week. A connection swept less often
/// than that would leave a missed candidate waiting longer than Lever keeps
/// its delivery history (two weeks) for an admin to notice.
pub const MAX_SWEEP_INTERVAL_SECS: u64 = 7 * 86_400;

/// `ARKITER_SWEEP_INTERVAL`: whole seconds, `0` = periodic sweep off.
fn parse_sweep_interval(v: Option<&str>) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = v.map(str::trim) else {
        return Ok(Some(Duration::from_secs(900)));
    };
    match v.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(n) if n <= MAX_SWEEP_INTERVAL_SECS => Ok(Some(Duration::from_secs(n))),
        _ => Err(ConfigError::new(
            "ARKITER_SWEEP_INTERVAL",
            format!(
                "`{v}` is not a whole number of seconds from 0 (periodic sweep off) to \
                 {MAX_SWEEP_INTERVAL_SECS}"
            ),
        )),
    }
}

fn parse_instance(get: &impl Fn(&str) -> Option<String>) -> Result<InstanceSettings, ConfigError> {
    let id = match get("ARKITER_INSTANCE_ID") {
        Some(v) if v.trim().len() <= 100 => v.trim().to_owned(),
        Some(_) => {
            return Err(ConfigError::new(
                "ARKITER_INSTANCE_ID",
                "must be at most 100 characters",
            ));
        }
        None => {
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            let host = host.trim();
            format!(
                "{}-{}",
                if host.is_empty() { "host" } else { host },
                std::process::id()
            )
        }
    };
    let lease = parse_secs(get, "ARKITER_LEASE_SECS", 6)?;
    let renew_every = parse_secs(get, "ARKITER_LEASE_RENEW_SECS", 2)?;
    if renew_every * 2 > lease {
        return Err(ConfigError::new(
            "ARKITER_LEASE_RENEW_SECS",
            "must be at most half of ARKITER_LEASE_SECS, so a live instance never loses its leases",
        ));
    }
    Ok(InstanceSettings {
        id,
        lease,
        renew_every,
    })
}

fn parse_traces(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<TraceSettings>, ConfigError> {
    const VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    let Some(endpoint) = get(VAR).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let endpoint = parse_http_url(VAR, &endpoint)?;
    // The exporter's client speaks plain HTTP: traces go to a collector
    // beside the service (an agent or sidecar), which forwards them on.
    if !endpoint.starts_with("http://") {
        return Err(ConfigError::new(
            VAR,
            format!(
                "`{endpoint}` must be an http:// URL (a collector beside the service); https is not supported"
            ),
        ));
    }
    let service_name = get("OTEL_SERVICE_NAME")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "arkiter-lever".to_owned());
    Ok(Some(TraceSettings {
        endpoint,
        service_name,
    }))
}

fn parse_log_format(v: Option<&str>) -> Result<LogFormat, ConfigError> {
    match v.map(str::trim) {
        None | Some("pretty") => Ok(LogFormat::Pretty),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(ConfigError::new(
            "ARKITER_LOG_FORMAT",
            format!("`{other}` is not `pretty` or `json`"),
        )),
    }
}
