//! The test harness: one Postgres for the whole run (the local binaries, or
//! `DATABASE_URL` when set), a migrated template database, and `spawn_app()`
//! giving each test its own database cloned from the template and the service
//! on port 0 (on a thread of its own, see `support::server`), with one typed
//! method per endpoint.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, OnceLock, mpsc};

use arkiter_lever::config::Settings;
use arkiter_lever::db::embedded::{self, EmbeddedPostgres};
use arkiter_lever::db::migrate;
use arkiter_lever::domain::secrets::EncryptionKey;
use arkiter_lever::pipeline::hooks::Hooks;
use diesel::{Connection, PgConnection, RunQueryDsl};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::proxy::TcpProxy;
use crate::support::server::InProcess;

pub struct TestDb {
    /// Server URL with the database name left to fill in.
    base: url::Url,
    template: String,
}

impl TestDb {
    pub fn url(&self, db: &str) -> String {
        let mut u = self.base.clone();
        u.set_path(&format!("/{db}"));
        u.to_string()
    }

    pub fn server_addr(&self) -> (String, u16) {
        (
            self.base.host_str().unwrap_or("127.0.0.1").to_owned(),
            self.base.port().unwrap_or(5432),
        )
    }

    /// A fresh database cloned from the migrated template (made ahead of
    /// use, see [`Janitor`]).
    pub fn create_database(&self) -> String {
        let janitor = self.janitor();
        let name = janitor
            .spares
            .lock()
            .expect("spares")
            .recv()
            .expect("the clone thread runs");
        janitor.shared.made.lock().expect("made").remove(&name);
        name
    }

    /// An empty database (no migrations), for migration tests.
    pub fn create_empty_database(&self) -> String {
        let name = format!("e_{}", uuid::Uuid::new_v4().simple());
        self.admin_exec(&format!("CREATE DATABASE {name}"));
        name
    }

    /// Drops `name` on the janitor's thread (the caller does not wait).
    pub fn drop_database(&self, name: &str) {
        let shared = &self.janitor().shared;
        shared.doomed.lock().expect("doomed").push(name.to_owned());
        shared.wake.notify_one();
    }

    fn admin_exec(&self, sql: &str) {
        admin_exec(&self.url("postgres"), sql);
    }

    fn janitor(&self) -> &'static Janitor {
        JANITOR.get_or_init(|| Janitor::start(self.url("postgres"), self.template.clone()))
    }
}

fn admin_exec(admin_url: &str, sql: &str) {
    let mut conn = PgConnection::establish(admin_url).expect("admin connection");
    diesel::sql_query(sql).execute(&mut conn).expect(sql);
}

/// Clones of the template made ahead of use, and databases handed back
/// dropped, each on a thread of its own: a test waits neither for its
/// `CREATE DATABASE` nor for the `DROP` of the one before. What is left at
/// exit (made but not taken, handed back but not dropped) is dropped then.
struct Janitor {
    spares: Mutex<mpsc::Receiver<String>>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    admin_url: String,
    /// Made and not yet taken.
    made: Mutex<HashSet<String>>,
    doomed: Mutex<Vec<String>>,
    wake: Condvar,
}

static JANITOR: OnceLock<Janitor> = OnceLock::new();

impl Janitor {
    fn start(admin_url: String, template: String) -> Self {
        let shared = Arc::new(Shared {
            admin_url,
            ..Shared::default()
        });
        // One clone waits in the channel, one more in the hand of the thread.
        let (ready, spares) = mpsc::sync_channel(1);
        let clones = shared.clone();
        std::thread::Builder::new()
            .name("db-clones".into())
            .spawn(move || {
                loop {
                    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
                    clones.made.lock().expect("made").insert(name.clone());
                    admin_exec(
                        &clones.admin_url,
                        &format!("CREATE DATABASE {name} TEMPLATE {template}"),
                    );
                    if ready.send(name).is_err() {
                        return;
                    }
                }
            })
            .expect("clone thread");
        let drops = shared.clone();
        std::thread::Builder::new()
            .name("db-drops".into())
            .spawn(move || {
                loop {
                    let name = {
                        let mut doomed = drops.doomed.lock().expect("doomed");
                        while doomed.is_empty() {
                            doomed = drops.wake.wait(doomed).expect("doomed");
                        }
                        doomed.remove(0)
                    };
                    drop_quietly(&drops.admin_url, &name);
                }
            })
            .expect("drop thread");
        Self {
            spares: Mutex::new(spares),
            shared,
        }
    }

    /// Drops what is left: made and not taken, handed back and not dropped.
    fn finish(&self) {
        let s = &self.shared;
        let made: Vec<String> = s
            .made
            .lock()
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default();
        let doomed = s.doomed.lock().map(|d| d.clone()).unwrap_or_default();
        for name in made.iter().chain(&doomed) {
            drop_quietly(&s.admin_url, name);
        }
    }
}

fn drop_quietly(admin_url: &str, name: &str) {
    if let Ok(mut conn) = PgConnection::establish(admin_url) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn);
    }
}

static TEST_DB: OnceLock<TestDb> = OnceLock::new();

/// The run's Postgres and template, set up on first use.
pub fn test_db() -> &'static TestDb {
    TEST_DB.get_or_init(|| {
        let base = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => url,
            None => {
                let pg = EmbeddedPostgres::start_temporary().expect("start a test Postgres");
                let url = pg.database_url("postgres");
                embedded::stop_at_process_exit(pg);
                url
            }
        };
        let base = url::Url::parse(&base).expect("DATABASE_URL is a URL");
        let template = format!("tpl_{}", uuid::Uuid::new_v4().simple());
        let db = TestDb { base, template };
        db.admin_exec(&format!("CREATE DATABASE {}", db.template));
        let mut conn = PgConnection::establish(&db.url(&db.template)).expect("template");
        migrate::run_pending_on(&mut conn).expect("migrate template");
        drop(conn);
        register_template_cleanup();
        db
    })
}

extern "C" fn drop_template_at_exit() {
    if let Some(janitor) = JANITOR.get() {
        janitor.finish();
    }
    if let Some(db) = TEST_DB.get()
        && let Ok(mut conn) = PgConnection::establish(&db.url("postgres"))
    {
        let _ = diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            db.template
        ))
        .execute(&mut conn);
    }
}

fn register_template_cleanup() {
    // Runs before the embedded cluster's own exit hook (atexit is LIFO), and
    // matters when DATABASE_URL points at a shared server.
    unsafe {
        libc::atexit(drop_template_at_exit);
    }
}

/// Settings for a test app: port 0, a random admin token and key, its own database.
pub fn test_settings(database_url: &str) -> Settings {
    let mut s = Settings::from_lookup(|_| None).expect("default settings");
    s.database_url = Some(SecretString::from(database_url.to_owned()));
    s.encryption_key = Some(EncryptionKey::generate());
    s.admin_token = Some(SecretString::from(format!("adm-{}", uuid::Uuid::new_v4())));
    s.listen = "127.0.0.1:0".parse().expect("addr");
    s
}

pub struct TestApp {
    pub address: String,
    pub admin_token: Option<String>,
    pub db_name: String,
    pub db_url: String,
    pub client: awc::Client,
    pub proxy: Option<TcpProxy>,
    /// The app's `ARKITER_ENCRYPTION_KEY`, to seal secrets written directly.
    pub encryption_key: EncryptionKey,
    /// The pipeline registry of an app spawned in-process.
    pub registry: Option<actix::Addr<arkiter_lever::pipeline::Registry>>,
    /// The app spawned in-process, stopped on drop (before its database goes).
    server: Option<InProcess>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.server.take());
        test_db().drop_database(&self.db_name);
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `customize` adjusted its settings.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(customize, false, Hooks::none()).await
}

/// Spawns the app after `customize` adjusted its settings, with `hooks` in
/// its pipeline.
pub async fn spawn_app_with_hooks(customize: impl FnOnce(&mut Settings), hooks: Hooks) -> TestApp {
    spawn(customize, false, hooks).await
}

/// Spawns the app with its pipeline stopped, for tests that write the
/// pipeline's tables themselves (seeded connections, events, interviews,
/// health rows, sweep schedules) and read them back: no supervisor takes a
/// seeded connection and works or rewrites what was seeded. (The app runs
/// on a thread of its own, so its pipeline would race the seeding.)
pub async fn spawn_app_without_pipeline() -> TestApp {
    spawn_app_without_pipeline_with(|_| {}).await
}

/// Like [`spawn_app_without_pipeline`], after `customize` adjusted the settings.
pub async fn spawn_app_without_pipeline_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let app = spawn_app_with(customize).await;
    app.registry
        .as_ref()
        .expect("an in-process app")
        .send(arkiter_lever::pipeline::registry::StopRegistry)
        .await
        .expect("the registry stops");
    app
}

/// Spawns the app with its database behind a TCP proxy the test can cut.
pub async fn spawn_app_behind_proxy() -> TestApp {
    spawn(|_| {}, true, Hooks::none()).await
}

/// Like [`spawn_app_behind_proxy`], after `customize` adjusted the settings.
pub async fn spawn_app_behind_proxy_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(customize, true, Hooks::none()).await
}

async fn spawn(customize: impl FnOnce(&mut Settings), behind_proxy: bool, hooks: Hooks) -> TestApp {
    let tdb = test_db();
    let db_name = tdb.create_database();
    let db_url = tdb.url(&db_name);
    let proxy = behind_proxy.then(|| TcpProxy::start(tdb.server_addr()));
    let app_db_url = match &proxy {
        Some(p) => {
            let mut u = url::Url::parse(&db_url).expect("url");
            u.set_port(Some(p.port())).expect("port");
            u.to_string()
        }
        None => db_url.clone(),
    };
    let mut settings = test_settings(&app_db_url);
    customize(&mut settings);
    let admin_token = settings
        .admin_token
        .as_ref()
        .map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned());
    let encryption_key = settings.encryption_key.clone().expect("encryption key");
    let server = InProcess::start_with_hooks(settings, hooks);
    TestApp {
        address: server.address(),
        admin_token,
        db_name,
        db_url,
        client: http_client(),
        proxy,
        encryption_key,
        registry: Some(server.registry()),
        server: Some(server),
    }
}

/// The tests' HTTP client. It keeps an idle connection less long than the
/// server does (5 s), so it never reuses one just as the server closes it.
fn http_client() -> awc::Client {
    let connector = awc::Connector::new().conn_keep_alive(std::time::Duration::from_secs(2));
    awc::Client::builder()
        .connector(connector)
        .timeout(std::time::Duration::from_secs(30))
        .finish()
}

/// A response, read whole: status and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    /// Asserts the status and the docs/contract/http-api.md error shape with `code`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "message missing: {}",
            self.body
        );
    }
}

impl TestApp {
    /// A handle on a service started elsewhere (a child process) on `db_name`.
    pub fn attached(
        address: &str,
        admin: &str,
        db_name: &str,
        db_url: &str,
        encryption_key: EncryptionKey,
    ) -> Self {
        Self {
            address: address.to_owned(),
            admin_token: Some(admin.to_owned()),
            db_name: db_name.to_owned(),
            db_url: db_url.to_owned(),
            client: http_client(),
            proxy: None,
            encryption_key,
            registry: None,
            server: None,
        }
    }

    /// Like [`TestApp::attached`], for an app this test runs in-process on
    /// `db_name` (stopped when the handle is dropped).
    pub fn serving(
        server: InProcess,
        admin: &str,
        db_name: &str,
        db_url: &str,
        key: EncryptionKey,
    ) -> Self {
        let mut app = Self::attached(&server.address(), admin, db_name, db_url, key);
        app.registry = Some(server.registry());
        app.server = Some(server);
        app
    }

    pub fn admin(&self) -> String {
        self.admin_token.clone().expect("admin token set")
    }

    pub fn db(&self) -> PgConnection {
        PgConnection::establish(&self.db_url).expect("test db connection")
    }

    /// `GET path` as text (for `/metrics`).
    pub async fn get_text(&self, path: &str) -> String {
        let mut res = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 200, "GET {path}");
        let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    /// Sends a request with an optional bearer and raw body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(b) = bearer {
            req = req.insert_header(("Authorization", format!("Bearer {b}")));
        }
        let mut res = match body {
            Some((ct, bytes)) => req
                .insert_header(("Content-Type", ct))
                .send_body(bytes)
                .await
                .expect("send"),
            None => req.send().await.expect("send"),
        };
        let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body");
        Resp {
            status: res.status().as_u16(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Resp {
        self.request("GET", path, bearer, None).await
    }

    pub async fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("json");
        self.request("POST", path, bearer, Some(("application/json", bytes)))
            .await
    }

    pub async fn delete(&self, path: &str, bearer: Option<&str>) -> Resp {
        self.request("DELETE", path, bearer, None).await
    }

    pub async fn create_org(&self, name: &str) -> Resp {
        self.post_json(
            "/api/v1/orgs",
            Some(&self.admin()),
            &json!({ "name": name }),
        )
        .await
    }

    /// Creates an org and returns `(org_id, admin_key)`.
    pub async fn new_org(&self, name: &str) -> (String, String) {
        let r = self.create_org(name).await;
        assert_eq!(r.status, 201, "{}", r.body);
        (
            r.body["id"].as_str().expect("id").to_owned(),
            r.body["admin_key"].as_str().expect("key").to_owned(),
        )
    }

    pub async fn list_orgs(&self, query: &str, bearer: Option<&str>) -> Resp {
        self.get(&format!("/api/v1/orgs{query}"), bearer).await
    }

    pub async fn get_org(&self, org: &str, bearer: Option<&str>) -> Resp {
        self.get(&format!("/api/v1/orgs/{org}"), bearer).await
    }

    pub async fn list_keys(&self, org: &str, bearer: Option<&str>) -> Resp {
        self.get(&format!("/api/v1/orgs/{org}/keys"), bearer).await
    }

    pub async fn create_key(&self, org: &str, bearer: Option<&str>, body: &Value) -> Resp {
        self.post_json(&format!("/api/v1/orgs/{org}/keys"), bearer, body)
            .await
    }

    /// Creates a key of `role` labelled `label` (asserting 201); returns
    /// `(key, id)`.
    pub async fn new_key(
        &self,
        org: &str,
        bearer: &str,
        role: &str,
        label: &str,
    ) -> (String, String) {
        let body = json!({ "role": role, "label": label });
        let r = self.create_key(org, Some(bearer), &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let field = |f: &str| r.body[f].as_str().expect(f).to_owned();
        (field("key"), field("id"))
    }

    pub async fn delete_key(&self, org: &str, key_id: &str, bearer: Option<&str>) -> Resp {
        self.delete(&format!("/api/v1/orgs/{org}/keys/{key_id}"), bearer)
            .await
    }

    pub async fn readyz(&self) -> Resp {
        self.get("/readyz", None).await
    }
}

/// The shortest deadline a poll may have: a deadline is there to end a test
/// that would otherwise hang, not to claim a speed.
pub const LEAST_DEADLINE_SECS: u64 = 30;

/// Polls `f` until it returns `Some`, or panics after `secs` seconds (at
/// least [`LEAST_DEADLINE_SECS`]).
pub async fn poll_until<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    assert!(
        secs >= LEAST_DEADLINE_SECS,
        "a {secs} s deadline for {what} is a speed claim"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

// ---- The pipeline's lists: events and interviews, read and waited for ----

impl TestApp {
    /// The items of `GET /api/v1/orgs/{org}/{list}{query}`, asserting 200.
    async fn items(&self, org: &str, key: &str, list: &str, query: &str) -> Vec<Value> {
        let r = self
            .get(&format!("/api/v1/orgs/{org}/{list}{query}"), Some(key))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["items"].as_array().expect("items").clone()
    }

    /// The org's events (`query` starts with `?` or is empty).
    pub async fn events(&self, org: &str, key: &str, query: &str) -> Vec<Value> {
        self.items(org, key, "events", query).await
    }

    /// The org's interviews (`query` starts with `?` or is empty).
    pub async fn interviews(&self, org: &str, key: &str, query: &str) -> Vec<Value> {
        self.items(org, key, "interviews", query).await
    }

    /// Polls the org's `list` until `until` holds for it; returns it.
    async fn wait_for_items(
        &self,
        list: &str,
        (org, key): (&str, &str),
        query: &str,
        what: &str,
        until: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        poll_until(LEAST_DEADLINE_SECS, what, || async {
            let items = self.items(org, key, list, query).await;
            until(&items).then_some(items)
        })
        .await
    }

    /// Polls the org's events until `until` holds for the list; returns it.
    pub async fn wait_for_events(
        &self,
        who: (&str, &str),
        query: &str,
        what: &str,
        until: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        self.wait_for_items("events", who, query, what, until).await
    }

    /// Polls the org's interviews until `until` holds for the list; returns it.
    pub async fn wait_for_interviews(
        &self,
        who: (&str, &str),
        query: &str,
        what: &str,
        until: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        self.wait_for_items("interviews", who, query, what, until)
            .await
    }
}

/// `until` for the waits above: exactly `n` items.
pub fn count_is(n: usize) -> impl Fn(&[Value]) -> bool {
    move |items| items.len() == n
}

// ---- Webhook ingest and the events list (tests/api/webhooks.rs) ----

impl TestApp {
    /// POSTs a raw delivery body to a connection's webhook URL.
    pub async fn post_webhook_as(
        &self,
        connection: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        self.request(
            "POST",
            &format!("/webhooks/lever/{connection}"),
            None,
            Some((content_type, body)),
        )
        .await
    }

    pub async fn post_webhook(&self, connection: &str, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("json");
        self.post_webhook_as(connection, "application/json", bytes)
            .await
    }

    /// `GET /api/v1/orgs/{org}/events{query}` (query starts with `?` or is empty).
    pub async fn list_events(&self, org: &str, query: &str, bearer: Option<&str>) -> Resp {
        self.get(&format!("/api/v1/orgs/{org}/events{query}"), bearer)
            .await
    }

    /// Writes a connection row for `org` straight into the database, with one
    /// webhook per signature token (sealed with the app's key), as the connect
    /// flow would. Returns the connection id.
    pub fn insert_connection(
        &self,
        org: &str,
        status: &str,
        stage_id: Option<&str>,
        signature_tokens: &[&str],
    ) -> String {
        let id = uuid::Uuid::new_v4();
        let org = uuid::Uuid::parse_str(org).expect("org id");
        diesel::sql_query(
            "INSERT INTO connections (id, org_id, status, stage_id, stage_found) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Uuid, _>(org)
        .bind::<diesel::sql_types::Text, _>(status)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(stage_id)
        .bind::<diesel::sql_types::Bool, _>(stage_id.is_some())
        .execute(&mut self.db())
        .expect("insert connection");
        for token in signature_tokens {
            self.add_signature_token(&id.to_string(), token, false);
        }
        // As the connect flow does: this instance accepts deliveries to it at
        // once (an app in another process hears of it from the insert trigger).
        if let Some(server) = &self.server {
            server.roster().add(id);
        }
        id.to_string()
    }

    /// Adds a webhook with `token` to a connection (`deleted`: soft-deleted,
    /// as a replaced webhook is), and drops the app's cached copy.
    pub fn add_signature_token(&self, connection: &str, token: &str, deleted: bool) {
        self.insert_webhook(connection, token, deleted);
        let id = uuid::Uuid::parse_str(connection).expect("connection id");
        arkiter_lever::ingest::invalidate(id.into());
    }

    /// Adds a webhook with `token` as another instance would: only the
    /// table's trigger tells this app.
    pub fn insert_webhook(&self, connection: &str, token: &str, deleted: bool) {
        let id = uuid::Uuid::parse_str(connection).expect("connection id");
        let sealed =
            arkiter_lever::domain::secrets::SecretBox::new(&self.encryption_key).seal(token);
        diesel::sql_query(
            "INSERT INTO lever_webhooks (id, connection_id, url, managed, signature_token_enc, deleted_at) \
             VALUES ($1, $2, 'https://example.test/hook', true, $3, CASE WHEN $4 THEN now() END)",
        )
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::new_v4())
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Bytea, _>(sealed)
        .bind::<diesel::sql_types::Bool, _>(deleted)
        .execute(&mut self.db())
        .expect("insert webhook");
    }

    /// A single number from SQL (`SELECT ... AS n`).
    pub fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<N>(&mut self.db())
            .expect(sql)
            .n
    }
}
