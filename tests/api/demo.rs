//! `arkiter-lever demo`'s scenario, the same code the command runs, on a test
//! database with fewer candidates: the printed table matches the simulator's
//! own state, and the commands `--keep-running` prints work as printed.

use arkiter_lever::demo::{self, Database, DemoEnv, ProgressMode, Report, ScenarioOptions, Tour};
use arkiter_lever::domain::secrets::EncryptionKey;
use secrecy::SecretString;

use crate::helpers::{poll_until, test_db};

/// A running demo environment on its own database.
struct Running {
    env: DemoEnv,
    db_name: String,
}

impl Running {
    async fn start() -> Self {
        let tdb = test_db();
        let db_name = tdb.create_database();
        let db = Database {
            url: SecretString::from(tdb.url(&db_name)),
            key: EncryptionKey::generate(),
        };
        let env = DemoEnv::start(&db).await.unwrap();
        Self { env, db_name }
    }

    async fn scenario(&self, candidates: usize, spare_candidate: bool) -> Report {
        let opts = ScenarioOptions {
            candidates,
            spare_candidate,
            progress: ProgressMode::Quiet,
        };
        demo::run_scenario(&self.env, &opts).await.unwrap()
    }

    async fn stop(self) {
        self.env.stop().await;
        test_db().drop_database(&self.db_name);
    }
}

/// The table's line for a candidate, cut into its columns.
fn columns<'a>(table: &'a str, candidate: &str) -> Vec<&'a str> {
    let line = table
        .lines()
        .find(|l| l.trim_start_matches(['✗', ' ']).starts_with(candidate))
        .unwrap_or_else(|| panic!("no line for {candidate} in\n{table}"));
    line.trim_start_matches(['✗', ' '])
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[actix_web::test]
async fn the_printed_table_matches_the_simulator() {
    let run = Running::start().await;
    let report = run.scenario(4, false).await;
    let table = demo::render(&report);
    assert!(report.ok(), "{table}");
    assert!(table.contains("\nOK: all 4 candidates"), "{table}");
    let account = &report.lever.account;
    let rules = ["(title)", "(posting_id)", "(fallback)"];
    for (i, row) in report.rows.iter().enumerate() {
        let lever = run
            .env
            .sim
            .opportunity(account, &row.opportunity_id)
            .unwrap();
        assert_eq!(
            (&row.tags, &row.links, row.notes),
            (&lever.tags, &lever.links, lever.notes.len())
        );
        let cols = columns(&table, &row.candidate);
        assert_eq!(cols.len(), 6, "{cols:?}");
        assert_eq!(cols[1], demo::LIVE_STAGE);
        assert_eq!(lever.stage, report.lever.live_stage);
        let completed = i % 2 == 1;
        let (tag, kind, note) = if completed {
            ("Completed", "/results/", "yes")
        } else {
            ("Link Created", "/live/", "no")
        };
        assert_eq!(lever.tags, [format!("Arkiter Live: {tag}")]);
        assert_eq!(cols[2], tag);
        assert_eq!(lever.links.len(), 1);
        let path = url::Url::parse(&lever.links[0]).unwrap().path().to_owned();
        assert!(path.starts_with(kind), "{path}");
        let shown = cols[3].trim_end_matches('…');
        assert!(
            path.starts_with(shown) && shown.len() > kind.len(),
            "{cols:?}"
        );
        assert_eq!((cols[4], lever.notes.len()), (note, usize::from(completed)));
        assert!(cols[5].ends_with(rules[i % 3]), "{cols:?}");
    }
    let calls = run.env.sim.calls_for(account);
    assert_eq!(report.lever_calls, calls.len());
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    assert!(table.contains(&format!(
        "{} by the service, {throttled} answered 429",
        calls.len()
    )));
    // The unmapped posting shows in the health summary.
    assert!(table.contains("Health         degraded"), "{table}");
    assert!(table.contains("unmapped_postings") && table.contains("Office Manager"));
    assert!(report.latency.p50_ms.is_some() && report.latency.p95_ms.is_some());
    run.stop().await;
}

#[actix_web::test]
async fn the_keep_running_commands_work_as_printed() {
    let run = Running::start().await;
    let report = run.scenario(2, true).await;
    assert!(report.ok(), "{}", demo::render(&report));
    let tour = Tour::new(&run.env, &report);
    let printed = tour.render();
    for value in [
        &run.env.service_url,
        &run.env.sim_url,
        &report.org.id,
        &report.org.admin_key,
    ] {
        assert!(
            printed.contains(value.as_str()),
            "{value} missing from\n{printed}"
        );
    }
    assert!(tour.tryouts.len() >= 5, "{printed}");
    let have_curl = curl_available();
    for t in &tour.tryouts {
        let command = t.curl();
        assert!(printed.contains(&command), "{printed}");
        // The very text printed, through a shell, as a user would paste it.
        let status = if have_curl {
            run_in_shell(&tour.exports(), &command).await
        } else {
            tour.send(t, &run.env.http).await.unwrap().status
        };
        assert_eq!(status, 200, "{command}");
    }
    // The spare candidate the tour moved got its link.
    let spare = report.lever.spare.clone().unwrap();
    poll_until(30, "the spare candidate's link", || async {
        let v = run
            .env
            .sim
            .opportunity(&report.lever.account, &spare.opportunity_id)
            .unwrap();
        (v.links.len() == 1 && v.tags.len() == 1).then_some(())
    })
    .await;
    run.stop().await;
}

fn curl_available() -> bool {
    std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the printed `export` lines and a printed command with curl's status
/// code appended, without blocking the test's runtime (the service answers
/// on the same thread).
async fn run_in_shell(exports: &str, command: &str) -> u16 {
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{exports}{command} -o /dev/null -w '%{{http_code}}'"
        ))
        .output()
        .await
        .unwrap();
    let code = String::from_utf8_lossy(&out.stdout);
    code.trim().parse().unwrap_or(0)
}
