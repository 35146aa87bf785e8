//! Every console form refuses what the API refuses, as the API's NUL test
//! walks every route: the test signs in, reads every page a user can reach,
//! finds every form that posts, and submits each one once per text field
//! with that field poisoned (a NUL, text that is not UTF-8, a value longer
//! than any rule allows), the other fields as the page filled them. Every
//! answer must be a 4xx (the form page shown again with its message, or an
//! error page), never a 5xx, and the database must hold exactly what it held
//! before. Checkboxes are left out: their value is never stored, only
//! whether they are ticked.

use std::collections::BTreeMap;

use arkiter_lever::lever::sim::AccountPatch;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::json;

use crate::console::Browser;
use crate::helpers::{TestApp, poll_until};
use crate::lever_flow::{seed_account, spawn_with_sim};

/// One form as a page carries it.
#[derive(Debug, Clone)]
struct Form {
    action: String,
    /// Field name, its value on the page, and whether it is a checkbox.
    fields: Vec<(String, String, bool)>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let end = tag[at..].find('"')? + at;
    Some(unescape(&tag[at..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The forms of a page that post, with their fields.
fn forms(html: &str) -> Vec<Form> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<form") {
        let form = &rest[at..];
        let end = form.find("</form>").unwrap_or(form.len());
        let (open_end, body) = (form.find('>').unwrap(), &form[..end]);
        let tag = &form[..open_end];
        rest = &form[end..];
        if attr(tag, "method").as_deref() != Some("post") {
            continue;
        }
        let mut fields = Vec::new();
        for (el, _) in body.match_indices('<') {
            let t = &body[el..];
            let t = &t[..t.find('>').unwrap_or(t.len())];
            let Some(name) = attr(t, "name") else {
                continue;
            };
            if t.starts_with("<input") {
                let checkbox = attr(t, "type").as_deref() == Some("checkbox");
                fields.push((name, attr(t, "value").unwrap_or_default(), checkbox));
            } else if t.starts_with("<textarea") {
                let content = &body[el + t.len() + 1..];
                let content = &content[..content.find("</textarea>").unwrap_or(0)];
                fields.push((name, unescape(content), false));
            } else if t.starts_with("<select") {
                let options = &body[el..];
                let value = options
                    .find("<option")
                    .and_then(|o| attr(&options[o..options[o..].find('>').unwrap() + o], "value"))
                    .unwrap_or_default();
                fields.push((name, value, false));
            }
        }
        out.push(Form {
            action: attr(tag, "action").unwrap_or_default(),
            fields,
        });
    }
    out
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The form's body with `field` replaced by `poison` (already encoded).
fn body(form: &Form, field: &str, poison: &str) -> String {
    form.fields
        .iter()
        .filter(|(_, _, checkbox)| !checkbox)
        .map(|(name, value, _)| {
            let v = if name == field {
                poison.to_owned()
            } else {
                encode(value)
            };
            format!("{}={v}", encode(name))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// What the service stores, table by table (the pipeline's own bookkeeping,
/// sessions and instance heartbeats left out: they move by themselves).
fn snapshot(app: &TestApp) -> BTreeMap<String, String> {
    #[derive(diesel::QueryableByName)]
    struct Digest {
        #[diesel(sql_type = diesel::sql_types::Text)]
        digest: String,
    }
    let mut c = PgConnection::establish(&app.db_url).unwrap();
    [
        "orgs",
        "api_keys",
        "roles",
        "role_ats_jobs",
        "connections",
        "lever_webhooks",
        "oauth_states",
        "interviews",
        "jobs",
        "lever_events",
    ]
    .into_iter()
    .map(|t| {
        // `last_used_at` moves whenever a key is used, which is not a change.
        let row = if t == "api_keys" {
            "(t.id, t.org_id, t.role, t.label, t.secret_sha256)::text".to_owned()
        } else {
            "t::text".to_owned()
        };
        let d: Digest = diesel::sql_query(format!(
            "SELECT coalesce(md5(string_agg({row}, ',' ORDER BY {row})), '') AS digest FROM {t} t"
        ))
        .get_result(&mut c)
        .unwrap();
        (t.to_owned(), d.digest)
    })
    .collect()
}

/// Poisons for a text field: a NUL, bytes that are not UTF-8, and a value
/// longer than any field's rule.
fn poisons() -> Vec<(&'static str, String)> {
    vec![
        ("a NUL", format!("x{}y", encode("\0"))),
        ("invalid UTF-8", "%FF%FEab".to_owned()),
        ("an over-long value", "x".repeat(5000)),
    ]
}

#[actix_web::test]
async fn every_console_form_refuses_bad_text_in_every_field_and_stores_nothing() {
    let (app, sim) = spawn_with_sim().await;
    let s = crate::lever_flow::scenario(&app, &sim).await;
    // An org in manual webhook mode, for the signature-token form.
    let (manual_account, _) = seed_account(&sim, "Manual Lever");
    sim.patch_account(
        &manual_account,
        AccountPatch {
            webhooks_api: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    let (manual_org, manual_key) = app.new_org("Manual").await;
    let done = app.connect_lever(&manual_org, &manual_key).await;
    assert_eq!(done.status, 200, "{}", done.body);
    // A posting no role maps, delivered: the roles page offers to add it.
    let unmapped = sim.add_posting(&s.account, "Data Engineer").unwrap().id;
    let opp = sim
        .add_opportunity(
            &s.account,
            arkiter_lever::lever::sim::NewOpportunity {
                id: None,
                name: Some("Dana".into()),
                contact: None,
                emails: vec![],
                stage_id: s.start_stage.clone(),
                posting_id: Some(unmapped),
                tags: vec![],
            },
        )
        .unwrap()
        .id;
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    let org = s.org.clone();
    poll_until(30, "the unmapped posting on the roles page", || async {
        let h = app
            .get(&format!("/api/v1/orgs/{org}/lever/health"), Some(&s.key))
            .await;
        (h.body["unmapped_postings"].as_array()?.len() == 1).then_some(())
    })
    .await;
    let role = app
        .get(&format!("/api/v1/orgs/{org}/roles"), Some(&s.key))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut admin = Browser::new(&app);
    assert_eq!(admin.sign_in(&s.key).await.status, 303);
    let mut manual = Browser::new(&app);
    assert_eq!(manual.sign_in(&manual_key).await.status, 303);
    let mut operator = Browser::new(&app);
    assert_eq!(operator.sign_in(&app.admin()).await.status, 303);
    let base = format!("/console/orgs/{org}");
    let visits = [
        (0, format!("{base}/lever")),
        (0, format!("{base}/roles")),
        (0, format!("{base}/roles/{role}")),
        (0, format!("{base}/keys")),
        (0, format!("{base}/interviews")),
        (0, format!("{base}/events")),
        (0, format!("{base}/lever/disconnect")),
        (1, format!("/console/orgs/{manual_org}/lever")),
        (2, "/console/orgs".to_owned()),
    ];
    let mut seen: Vec<(usize, Form)> = Vec::new();
    for (who, path) in &visits {
        let b = match who {
            0 => &mut admin,
            1 => &mut manual,
            _ => &mut operator,
        };
        let page = b.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        for f in forms(&page.body) {
            if !seen.iter().any(|(w, s)| *w == *who && s.action == f.action) {
                seen.push((*who, f));
            }
        }
    }
    // Every form a user types text into is there.
    for action in [
        format!("{base}/lever/connect"),
        format!("{base}/lever/settings"),
        format!("/console/orgs/{manual_org}/lever/webhook-secret"),
        format!("{base}/roles"),
        format!("{base}/roles/add-job"),
        format!("{base}/roles/{role}"),
        format!("{base}/keys"),
        "/console/orgs".to_owned(),
    ] {
        assert!(
            seen.iter().any(|(_, f)| f.action == action),
            "no form posts to {action}: {seen:?}"
        );
    }

    let before = snapshot(&app);
    let mut tried = 0;
    for (who, form) in &seen {
        let b = match who {
            0 => &mut admin,
            1 => &mut manual,
            _ => &mut operator,
        };
        for (field, _, checkbox) in &form.fields {
            if field == "csrf" || *checkbox {
                continue;
            }
            for (what, poison) in poisons() {
                let page = b.post_raw(&form.action, body(form, field, &poison)).await;
                assert!(
                    (400..500).contains(&page.status),
                    "{} with {what} in `{field}` answered {}: {}",
                    form.action,
                    page.status,
                    page.body
                );
                if page.status == 422 {
                    assert!(
                        page.body.contains("role=\"alert\""),
                        "{} with {what} in `{field}`: no message on the page: {}",
                        form.action,
                        page.body
                    );
                }
                tried += 1;
            }
        }
    }
    assert!(tried >= 30, "only {tried} poisoned submissions");
    assert_eq!(snapshot(&app), before, "a refused form stored something");

    // The sign-in form, before any session: refused, never a 500.
    for (what, poison) in poisons() {
        let mut b = Browser::new(&app);
        let page = b.get("/console/sign-in").await;
        let csrf = page.csrf();
        let p = b
            .post_raw("/console/sign-in", format!("csrf={csrf}&key={poison}"))
            .await;
        assert!(
            (400..500).contains(&p.status),
            "sign-in with {what}: {}",
            p.status
        );
    }
}

#[actix_web::test]
async fn a_key_role_other_than_admin_or_member_is_refused() {
    let (app, _sim) = spawn_with_sim().await;
    let (org, key) = app.new_org("Acme").await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&key).await.status, 303);
    let keys = format!("/console/orgs/{org}/keys");
    let before = app
        .get(&format!("/api/v1/orgs/{org}/keys"), Some(&key))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    for role in ["owner", "", "Admin", "admin "] {
        let page = b.get(&keys).await;
        let csrf = page.csrf();
        let p = b
            .post(&keys, &[("csrf", &csrf), ("role", role), ("label", "x")])
            .await;
        if role == "admin " {
            // Trimmed, it is a role: an admin key.
            assert_eq!(p.status, 201, "{}", p.body);
            continue;
        }
        assert_eq!(p.status, 422, "role `{role}`: {}", p.body);
        assert!(p.body.contains("id=\"role-error\""), "{}", p.body);
    }
    let after = app
        .get(&format!("/api/v1/orgs/{org}/keys"), Some(&key))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(after.len(), before + 1);
    assert!(
        after
            .iter()
            .any(|k| k["role"] == json!("admin") && k["label"] == "x")
    );
}
