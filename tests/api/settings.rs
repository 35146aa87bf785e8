//! Settings errors end start-up with one line naming the variable, exit code 2.

use std::process::Command;

fn run_with(vars: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arkiter-lever"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    // A scratch working dir: no .env from the project is picked up.
    let dir = std::env::temp_dir().join(format!("ak-settings-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    cmd.current_dir(&dir);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_bad_setting_fails_with_one_line_and_exit_2() {
    let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let db = ("DATABASE_URL", "postgres://u:hunter2@127.0.0.1:1/x");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
        (vec![("DATABASE_URL", "::::")], "DATABASE_URL"),
        (vec![db], "ARKITER_ENCRYPTION_KEY"),
        (
            vec![db, ("ARKITER_ENCRYPTION_KEY", "short")],
            "ARKITER_ENCRYPTION_KEY",
        ),
        (
            vec![db, ("ARKITER_ENCRYPTION_KEY", "c2hvcnQ=")],
            "ARKITER_ENCRYPTION_KEY",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_LISTEN", "nowhere"),
            ],
            "ARKITER_LISTEN",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_PUBLIC_URL", "ftp://x"),
            ],
            "ARKITER_PUBLIC_URL",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("LEVER_API_URL", "not a url"),
            ],
            "LEVER_API_URL",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_RETENTION_DAYS", "15"),
            ],
            "ARKITER_RETENTION_DAYS",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_RETENTION_DAYS", "a month"),
            ],
            "ARKITER_RETENTION_DAYS",
        ),
        (
            vec![db, ("ARKITER_ENCRYPTION_KEY", key), ("LEVER_AUTH_URL", "x")],
            "LEVER_AUTH_URL",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("LEVER_RATE_PER_SEC", "0"),
            ],
            "LEVER_RATE_PER_SEC",
        ),
        (
            vec![db, ("ARKITER_ENCRYPTION_KEY", key), ("LEVER_BURST", "many")],
            "LEVER_BURST",
        ),
        (
            // A core scope left out: no candidate could be linked.
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("LEVER_SCOPES", "offline_access opportunities:write:admin"),
            ],
            "LEVER_SCOPES",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("LEVER_SCOPES", "offline_access; DROP TABLE"),
            ],
            "LEVER_SCOPES",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_LIVE_URL", "/live"),
            ],
            "ARKITER_LIVE_URL",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_RESULTS_URL", "results"),
            ],
            "ARKITER_RESULTS_URL",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_LOG_FORMAT", "xml"),
            ],
            "ARKITER_LOG_FORMAT",
        ),
        (
            // The exporter speaks plain HTTP to a collector beside it.
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    "https://collector.example:4318",
                ),
            ],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
    ];
    for (vars, var) in cases {
        let (code, stderr) = run_with(&vars);
        assert_eq!(code, 2, "{vars:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{vars:?}: {stderr}");
        assert!(lines[0].contains(var), "{vars:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "secret echoed: {stderr}");
    }
}

#[test]
fn settings_defaults_follow_the_spec() {
    let s = arkiter_lever::config::Settings::from_lookup(|_| None).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.data_dir, std::path::PathBuf::from("./data"));
    assert_eq!(s.lever.api_url, "https://api.lever.co/v1");
    assert_eq!(s.lever.auth_url, "https://auth.lever.co");
    assert_eq!((s.lever.rate_per_sec.get(), s.lever.burst.get()), (10, 15));
    assert_eq!(s.retention_days, 30);
    assert_eq!(s.traces, None, "no trace export unless the endpoint is set");
    let traced = arkiter_lever::config::Settings::from_lookup(|k| {
        (k == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://127.0.0.1:4318/".to_owned())
    })
    .unwrap();
    let traces = traced.traces.unwrap();
    assert_eq!(
        (traces.endpoint.as_str(), traces.service_name.as_str()),
        ("http://127.0.0.1:4318", "arkiter-lever")
    );
    let at_least = arkiter_lever::config::Settings::from_lookup(|k| {
        (k == "ARKITER_RETENTION_DAYS").then(|| "16".to_owned())
    });
    assert_eq!(at_least.unwrap().retention_days, 16);
    assert!(s.admin_token.is_none() && s.database_url.is_none());
    assert!(s.insecure_public_url_for_production("http://127.0.0.1:8080"));
    assert!(!s.insecure_public_url_for_production("https://x.example"));
}

#[test]
fn scale_out_settings_are_checked() {
    let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let db = ("DATABASE_URL", "postgres://u:p@127.0.0.1:1/x");
    let long_id = "i".repeat(101);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_OAUTH_STATE_TTL_SECS", "-1"),
            ],
            "ARKITER_OAUTH_STATE_TTL_SECS",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_LEASE_SECS", "0"),
            ],
            "ARKITER_LEASE_SECS",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_LEASE_SECS", "4"),
                ("ARKITER_LEASE_RENEW_SECS", "3"),
            ],
            "ARKITER_LEASE_RENEW_SECS",
        ),
        (
            vec![
                db,
                ("ARKITER_ENCRYPTION_KEY", key),
                ("ARKITER_INSTANCE_ID", &long_id),
            ],
            "ARKITER_INSTANCE_ID",
        ),
    ];
    for (vars, var) in cases {
        let (code, stderr) = run_with(&vars);
        assert_eq!(code, 2, "{vars:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
}
