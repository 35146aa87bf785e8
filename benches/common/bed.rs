//! The test bed: a temporary embedded Postgres with a migrated database, the
//! Lever simulator and the service (`Application::build`), all in this
//! process and on loopback.

use std::path::PathBuf;
use std::time::Duration;

use arkiter_lever::config::Settings;
use arkiter_lever::db::embedded::EmbeddedPostgres;
use arkiter_lever::db::migrate;
use arkiter_lever::domain::secrets::EncryptionKey;
use arkiter_lever::lever::sim::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, LeverSim, SimConfig, SimHandle,
};
use arkiter_lever::server::Application;
use diesel::{Connection, PgConnection, RunQueryDsl};
use secrecy::SecretString;

/// How to set the bed up.
pub struct BedOptions {
    pub sim: SimConfig,
    /// Adjusts the service's settings after the bed filled in its own.
    pub settings: Box<dyn FnOnce(&mut Settings)>,
    /// A durable cluster (fsync, synchronous_commit, full_page_writes on)
    /// instead of the temporary one, which runs with them off.
    pub durable: bool,
}

impl Default for BedOptions {
    fn default() -> Self {
        Self {
            sim: SimConfig::default(),
            settings: Box::new(|_| {}),
            durable: false,
        }
    }
}

pub struct Bed {
    pub pg: Postgres,
    pub db_url: String,
    pub sim: SimHandle,
    pub api: Api,
    pub key: EncryptionKey,
}

/// The service's HTTP API, as an admin and its orgs use it.
#[derive(Clone)]
pub struct Api {
    pub address: String,
    pub admin: String,
    pub client: awc::Client,
}

/// The bench's Postgres: the temporary cluster (fsync off, as tests run),
/// or a durable one (the service's own persistent settings) in a throwaway
/// data directory, removed on drop.
pub struct Postgres {
    pub server: EmbeddedPostgres,
    data_dir: Option<PathBuf>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.server.stop();
        let Some(dir) = self.data_dir.take() else {
            return;
        };
        // As root the cluster lives where the pointer file says: remove
        // that cluster home too (only if it is one of ours: `.../<hash>/pg`).
        if let Ok(pgdata) = std::fs::read_to_string(dir.join("postgres.location")) {
            let pgdata = PathBuf::from(pgdata.trim());
            if let Some(home) = pgdata.parent().filter(|_| pgdata.ends_with("pg")) {
                let _ = std::fs::remove_dir_all(home);
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn start_server(durable: bool) -> Postgres {
    if !durable {
        let server = EmbeddedPostgres::start_temporary().expect("start a temporary Postgres");
        return Postgres {
            server,
            data_dir: None,
        };
    }
    let dir = std::env::temp_dir().join(format!("arkiter-bench-{}", uuid::Uuid::new_v4().simple()));
    let server = EmbeddedPostgres::start_persistent(&dir).expect("start a durable Postgres");
    Postgres {
        server,
        data_dir: Some(dir),
    }
}

/// A cluster and the URL of its migrated `bench` database.
pub fn start_postgres(durable: bool) -> (Postgres, String) {
    let pg = start_server(durable);
    let admin_url = pg.server.database_url("postgres");
    let mut admin = PgConnection::establish(&admin_url).expect("connect to postgres");
    exec(&mut admin, "CREATE DATABASE bench");
    let db_url = pg.server.database_url("bench");
    let mut conn = PgConnection::establish(&db_url).expect("connect to bench");
    migrate::run_pending_on(&mut conn).expect("migrate bench");
    (pg, db_url)
}

/// A new connection to `url`.
pub fn connect(url: &str) -> PgConnection {
    PgConnection::establish(url).expect("database connection")
}

pub fn exec(conn: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).expect(sql);
}

/// One setting as the server reports it (`SHOW`).
pub fn show(conn: &mut PgConnection, name: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    diesel::sql_query(format!("SELECT current_setting('{name}') AS v"))
        .get_result::<Row>(conn)
        .expect("current_setting")
        .v
}

/// Service settings for the bed: port 0, the simulator as Lever, defaults
/// for everything else (production limits and schedules).
pub fn settings_for(db_url: &str, sim: &SimHandle, key: &EncryptionKey, admin: &str) -> Settings {
    let mut s = Settings::from_lookup(|_| None).expect("default settings");
    s.database_url = Some(SecretString::from(db_url.to_owned()));
    s.encryption_key = Some(key.clone());
    s.admin_token = Some(SecretString::from(admin.to_owned()));
    s.listen = "127.0.0.1:0".parse().expect("addr");
    s.lever.client_id = Some(DEFAULT_CLIENT_ID.to_owned());
    s.lever.client_secret = Some(SecretString::from(DEFAULT_CLIENT_SECRET));
    s.lever.auth_url = sim.auth_url();
    s.lever.api_url = sim.api_url();
    s
}

impl Bed {
    /// Starts Postgres, the simulator and the service.
    pub async fn start(opts: BedOptions) -> Self {
        let (pg, db_url) = start_postgres(opts.durable);
        let sim = LeverSim::start(opts.sim)
            .await
            .expect("start the simulator");
        let key = EncryptionKey::generate();
        let admin = format!("adm-{}", uuid::Uuid::new_v4());
        let mut settings = settings_for(&db_url, &sim, &key, &admin);
        (opts.settings)(&mut settings);
        let app = Application::build(settings).expect("build the service");
        let address = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        Self {
            pg,
            db_url,
            sim,
            api: Api::new(address, admin),
            key,
        }
    }

    pub fn db(&self) -> PgConnection {
        PgConnection::establish(&self.db_url).expect("bench db connection")
    }

    /// A single number from SQL (`SELECT ... AS n`).
    pub fn count(&self, sql: &str) -> i64 {
        count(&mut self.db(), sql)
    }
}

impl Api {
    pub fn new(address: String, admin: String) -> Self {
        Self {
            address,
            admin,
            client: awc::Client::builder()
                .timeout(Duration::from_secs(30))
                .finish(),
        }
    }

    /// Sends JSON (or nothing) and returns the status and the JSON answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(b) = bearer {
            req = req.insert_header(("Authorization", format!("Bearer {b}")));
        }
        let mut res = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        }
        .expect("request to the service");
        let bytes = res.body().limit(16 << 20).await.expect("answer body");
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (res.status().as_u16(), json)
    }
}

/// A single number from SQL (`SELECT ... AS n`).
pub fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql).get_result::<N>(conn).expect(sql).n
}

/// A single text column `s` of every row.
pub fn strings(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
    }
    diesel::sql_query(sql)
        .load::<S>(conn)
        .expect(sql)
        .into_iter()
        .map(|r| r.s)
        .collect()
}
