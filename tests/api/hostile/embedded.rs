//! The embedded cluster supervised: its postmaster killed with SIGKILL, the
//! service starts it again by itself (a new postmaster) and is ready again
//! (how long it took is printed), with every org created before the kill
//! still there.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::helpers::poll_until;
use crate::support::child::ServiceChild;

const ADMIN: &str = "embedded-supervision-admin";

/// The postgres process whose parent is `parent`.
fn postmaster_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        let (comm, rest) = stat.split_once(") ")?;
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && comm.ends_with("(postgres")).then_some(pid)
    })
}

/// The cluster's home outside the data directory (root runs it elsewhere).
fn cluster_home(data_dir: &Path) -> Option<PathBuf> {
    let pgdata = std::fs::read_to_string(data_dir.join("postgres.location")).ok()?;
    Path::new(pgdata.trim()).parent().map(Path::to_owned)
}

async fn status(client: &awc::Client, url: &str) -> Option<u16> {
    let r = client.get(url).send().await.ok()?;
    Some(r.status().as_u16())
}

#[actix_web::test]
async fn a_killed_postmaster_is_restarted_and_nothing_is_lost() {
    let data_dir = std::env::temp_dir().join(format!("ak-sup-{}", uuid::Uuid::new_v4()));
    let env = [
        ("ARKITER_DATA_DIR", data_dir.display().to_string()),
        ("ARKITER_ADMIN_TOKEN", ADMIN.to_owned()),
    ];
    let child = ServiceChild::start(&env).await;
    let base = child.address();
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    child.wait_ready().await;
    let app = crate::helpers::TestApp::attached(
        &base,
        ADMIN,
        "no_such_db_on_the_shared_cluster",
        "postgres://unused",
        arkiter_lever::domain::secrets::EncryptionKey::generate(),
    );
    for i in 0..5 {
        assert_eq!(app.create_org(&format!("Org {i}")).await.status, 201);
    }
    let old = postmaster_of(child.pid()).expect("the service's postmaster");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let killed = Instant::now();
    poll_until(
        30,
        "ready again after the postmaster was killed",
        || async {
            let ready = status(&client, &format!("{base}/readyz")).await == Some(200);
            let new = postmaster_of(child.pid()).is_some_and(|p| p != old);
            (ready && new).then_some(())
        },
    )
    .await;
    let recovered = killed.elapsed();
    assert_eq!(app.create_org("After").await.status, 201);
    let orgs = app.list_orgs("?limit=200", Some(ADMIN)).await;
    assert_eq!(
        orgs.body["items"].as_array().unwrap().len(),
        6,
        "{}",
        orgs.body
    );
    eprintln!("ready again {recovered:?} after the postmaster was killed");
    child.signal(nix::sys::signal::Signal::SIGTERM);
    let child = std::cell::RefCell::new(child);
    poll_until(30, "the service to stop", || async {
        child.borrow_mut().child.try_wait().unwrap().map(|_| ())
    })
    .await;
    if let Some(home) = cluster_home(&data_dir) {
        let _ = std::fs::remove_dir_all(home);
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
