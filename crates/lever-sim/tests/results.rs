//! The simulator's endpoints for writing interview results back to Lever,
//! over plain HTTP with seeded tokens: posting tags, feedback templates,
//! feedback forms, file uploads (multipart) and downloads, the stage move's
//! scope, and apply-then-fail faults on the new writes. The handle reads
//! back what was written.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lever_sim::{
    FaultAction, FaultRule, LeverSim, NewFeedbackField, NewOpportunity, SeededGrant, SimConfig,
    SimHandle,
};
use serde_json::{Value, json};

const ALL_SCOPES: &str = "offline_access opportunities:write:admin postings:read:admin \
feedback:write:admin feedback_templates:write:admin files:write:admin";

/// A simulator with one account, a stage, a candidate, a user and a token
/// with every scope the results need.
struct World {
    sim: SimHandle,
    account: String,
    stage: String,
    opp: String,
    user: String,
    token: String,
}

async fn world() -> World {
    let sim = LeverSim::start(SimConfig {
        rate_per_sec: 1000.0,
        rate_capacity: 1000.0,
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let account = sim.create_account("Acme");
    let stage = sim.add_stage(&account, "Arkiter Live").unwrap().id;
    let new = NewOpportunity {
        stage_id: stage.clone(),
        ..NewOpportunity::default()
    };
    let opp = sim.add_opportunity(&account, new).unwrap().id;
    let user = sim
        .add_user(&account, "Rachel", "rachel@example.com")
        .unwrap()
        .id;
    let token = token(&sim, &account, ALL_SCOPES);
    World {
        sim,
        account,
        stage,
        opp,
        user,
        token,
    }
}

/// A fresh access token of `account` granted `scope`.
fn token(sim: &SimHandle, account: &str, scope: &str) -> String {
    let access = format!("tok-{}", uuid::Uuid::new_v4());
    sim.grant_tokens(
        account,
        &SeededGrant {
            client_id: "c".into(),
            scope: scope.into(),
            access_token: access.clone(),
            access_ttl_ms: 600_000,
            refresh_token: format!("r-{access}"),
        },
    )
    .unwrap();
    access
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.bytes))
        })
    }
}

async fn send(
    method: &str,
    url: &str,
    token: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(120))
        .finish();
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(ct) = content_type {
        req = req.insert_header(("Content-Type", ct));
    }
    let mut res = req.send_body(body).await.unwrap();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.body().limit(64 * 1024 * 1024).await.unwrap().to_vec();
    Answer {
        status: res.status().as_u16(),
        content_type,
        bytes,
    }
}

async fn get(url: &str, token: &str) -> Answer {
    send("GET", url, token, None, Vec::new()).await
}

async fn post_json(url: &str, token: &str, body: &Value) -> Answer {
    let bytes = serde_json::to_vec(body).unwrap();
    send("POST", url, token, Some("application/json"), bytes).await
}

/// A `multipart/form-data` body with one file part.
fn multipart(name: &str, filename: &str, content_type: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--sim-boundary\r\nContent-Disposition: form-data; name=\"{name}\"; \
         filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--sim-boundary--\r\n");
    body
}

const MULTIPART: &str = "multipart/form-data; boundary=sim-boundary";

async fn upload(w: &World, url: &str, body: Vec<u8>) -> Answer {
    send("POST", url, &w.token, Some(MULTIPART), body).await
}

fn files_url(w: &World) -> String {
    format!(
        "{}/opportunities/{}/files?perform_as={}",
        w.sim.api_url(),
        w.opp,
        w.user
    )
}

fn feedback_url(w: &World) -> String {
    format!(
        "{}/opportunities/{}/feedback?perform_as={}",
        w.sim.api_url(),
        w.opp,
        w.user
    )
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}

/// Creates a template through the API: a score and a text field.
async fn api_template(w: &World) -> Value {
    let body = json!({
        "text": "Arkiter interview",
        "instructions": "Filled in by Arkiter",
        "fields": [
            {"type": "score-system", "text": "Overall", "required": true,
             "options": [{"text": "1"}, {"text": "2"}]},
            {"type": "textarea", "text": "Summary", "description": "What happened"},
        ],
    });
    let r = post_json(
        &format!("{}/feedback_templates", w.sim.api_url()),
        &w.token,
        &body,
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    r.json()["data"].clone()
}

#[actix_rt::test]
async fn postings_carry_tags_set_by_the_handle_and_the_control_api() {
    let w = world().await;
    let api = w.sim.api_url();
    let posting = w.sim.add_posting(&w.account, "Backend Engineer").unwrap();
    let r = get(&format!("{api}/postings/{}", posting.id), &w.token).await;
    assert_eq!(r.json()["data"]["tags"], json!([]));

    let changed = w
        .sim
        .set_posting_tags(&w.account, &posting.id, ["arkiter", "remote"])
        .unwrap();
    assert_eq!(changed.tags, ["arkiter", "remote"]);
    let r = get(&format!("{api}/postings/{}", posting.id), &w.token).await;
    assert_eq!(r.json()["data"]["tags"], json!(["arkiter", "remote"]));

    let control = format!("{}/_sim/accounts/{}/postings", w.sim.base_url(), w.account);
    let r = post_json(
        &control,
        "",
        &json!({"id": "p2", "text": "SRE", "tags": ["oncall"]}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tags"], json!(["oncall"]));
    let patched = send(
        "PATCH",
        &format!("{control}/p2"),
        "",
        Some("application/json"),
        br#"{"tags": ["sre"]}"#.to_vec(),
    )
    .await;
    assert_eq!(patched.status, 200);
    let r = get(&format!("{api}/postings"), &w.token).await;
    let tags: Vec<Value> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tags"].clone())
        .collect();
    assert_eq!(tags, [json!(["arkiter", "remote"]), json!(["sre"])]);
    let missing = send(
        "PATCH",
        &format!("{control}/nope"),
        "",
        Some("application/json"),
        br#"{"tags": []}"#.to_vec(),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(w.sim.set_posting_tags(&w.account, "nope", ["x"]).is_err());
    let without = token(&w.sim, &w.account, "opportunities:write:admin");
    let r = get(&format!("{api}/postings/{}", posting.id), &without).await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("postings:read:admin")
    );
    w.sim.stop().await;
}

#[actix_rt::test]
async fn feedback_templates_are_created_checked_and_listed() {
    let w = world().await;
    let api = w.sim.api_url();
    let url = format!("{api}/feedback_templates");
    // Every account lists Lever's default "No Feedback" template.
    let defaults = w.sim.feedback_templates(&w.account).unwrap();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].text, "No Feedback");

    let created = api_template(&w).await;
    assert_eq!(
        keys(&created),
        sorted(&[
            "id",
            "text",
            "instructions",
            "group",
            "stage",
            "fields",
            "createdAt",
            "updatedAt"
        ])
    );
    assert_eq!(created["text"], "Arkiter interview");
    assert_eq!(created["instructions"], "Filled in by Arkiter");
    assert_eq!(created["group"], Value::Null);
    let fields = created["fields"].as_array().unwrap();
    assert_eq!(
        keys(&fields[0]),
        sorted(&[
            "id",
            "type",
            "text",
            "description",
            "required",
            "prompt",
            "options"
        ])
    );
    assert_eq!(
        keys(&fields[1]),
        sorted(&["id", "type", "text", "description", "required"])
    );
    assert_eq!(fields[0]["type"], "score-system");
    assert_eq!(fields[0]["required"], true);
    assert_eq!(fields[0]["options"], json!([{"text": "1"}, {"text": "2"}]));
    assert_eq!(fields[1]["description"], "What happened");
    assert_eq!(fields[1]["required"], false);
    assert_ne!(fields[0]["id"], fields[1]["id"]);

    // A score-system field sent bare gets Lever's prompt and four ratings.
    let bare = json!({"text": "Bare", "fields": [{"type": "score-system", "text": "Rating"}]});
    let r = post_json(&url, &w.token, &bare).await;
    assert_eq!(r.status, 201);
    let rating = r.json()["data"]["fields"][0].clone();
    assert_eq!(rating["prompt"], "Select one");
    assert_eq!(rating["options"][1], json!({"text": "3 - Hire"}));

    // Customer-made ones, seeded by the handle and by the control API.
    let seeded = w
        .sim
        .add_feedback_template(
            &w.account,
            "Phone screen",
            vec![
                NewFeedbackField::new("score-system", "Rating").required(),
                NewFeedbackField::new("yes-no", "Hire?"),
            ],
        )
        .unwrap();
    assert!(!seeded.via_api);
    assert_eq!(seeded.fields[0].option_texts().len(), 4);
    let control = format!(
        "{}/_sim/accounts/{}/feedback_templates",
        w.sim.base_url(),
        w.account
    );
    let body = json!({"text": "Onsite", "group": "team-1",
                      "fields": [{"type": "score-system", "text": "Rating"}]});
    let r = post_json(&control, "", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["group"], "team-1");
    let bad = json!({"text": "Onsite", "fields": [{"type": "essay", "text": "Notes"}]});
    assert_eq!(post_json(&control, "", &bad).await.status, 400);
    let no_rating = vec![NewFeedbackField::new("text", "x")];
    assert!(
        w.sim
            .add_feedback_template(&w.account, "T", no_rating)
            .is_err()
    );
    let r = get(&control, "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 5);

    let listed = get(&format!("{url}?limit=3"), &w.token).await.json();
    assert_eq!(listed["hasNext"], true);
    assert_eq!(listed["data"][0]["text"], "No Feedback");
    assert_eq!(listed["data"][1]["id"], created["id"]);
    let next = listed["next"].as_str().unwrap();
    let rest = get(&format!("{url}?limit=3&offset={next}"), &w.token)
        .await
        .json();
    assert_eq!(rest["hasNext"], false);
    assert_eq!(rest["data"][0]["id"], seeded.id.as_str());
    assert_eq!(
        rest["data"][1]["group"],
        json!({"id": "team-1", "name": "team-1"})
    );
    let one = get(&format!("{url}/{}", seeded.id), &w.token).await;
    assert_eq!(one.json()["data"]["fields"][1]["type"], "yes-no");
    assert_eq!(get(&format!("{url}/nope"), &w.token).await.status, 404);
    let templates = w.sim.feedback_templates(&w.account).unwrap();
    assert_eq!(templates.len(), 5);
    assert!(templates[1].via_api);

    let rating = json!({"type": "score-system", "text": "R"});
    for (body, needle) in [
        (json!({"text": "", "fields": [rating]}), "text"),
        (json!({"text": "T", "fields": []}), "fields"),
        (json!({"text": "T"}), "fields"),
        (json!({"text": 3, "fields": [rating]}), "text"),
        (
            json!({"text": "T", "fields": [rating, {"type": "essay", "text": "a"}]}),
            "essay",
        ),
        (
            json!({"text": "T", "fields": [rating, {"type": "currency", "text": "a"}]}),
            "currency",
        ),
        (
            json!({"text": "T", "fields": [{"type": "text"}]}),
            "fields[0].text",
        ),
        (
            json!({"text": "T", "fields": [{"type": "text", "text": "a"}]}),
            "exactly one",
        ),
        (
            json!({"text": "T", "fields": [rating, rating]}),
            "exactly one",
        ),
        (
            json!({"text": "T", "fields": [{"type": "score-system", "text": "R",
                 "options": ["A"]}]}),
            "options",
        ),
    ] {
        let r = post_json(&url, &w.token, &body).await;
        assert_eq!(r.status, 400, "{body}");
        let answer = r.json();
        assert_eq!(answer["code"], "BadRequestError");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let r = send(
        "POST",
        &url,
        &w.token,
        Some("application/json"),
        b"{".to_vec(),
    )
    .await;
    assert_eq!(r.status, 400);

    // Scopes: read or write lists; only write creates.
    let read_only = token(&w.sim, &w.account, "feedback_templates:read:admin");
    assert_eq!(get(&url, &read_only).await.status, 200);
    let r = post_json(&url, &read_only, &json!({})).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "ForbiddenError");
    let none = token(&w.sim, &w.account, "opportunities:write:admin");
    assert_eq!(get(&url, &none).await.status, 403);
    assert_eq!(
        get(&format!("{url}/{}", seeded.id), &none).await.status,
        403
    );
    w.sim.stop().await;
}

#[actix_rt::test]
async fn feedback_forms_are_strict_and_read_back() {
    let w = world().await;
    let api = w.sim.api_url();
    let template = api_template(&w).await;
    let template_id = template["id"].as_str().unwrap().to_owned();
    let overall = template["fields"][0]["id"].as_str().unwrap().to_owned();
    let summary = template["fields"][1]["id"].as_str().unwrap().to_owned();
    let form = json!({
        "baseTemplateId": template_id,
        "fieldValues": [{"id": overall, "value": "2"}],
        "completedAt": 1_700_000_000_000_i64,
    });

    let r = post_json(&feedback_url(&w), &w.token, &form).await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    let data = r.json()["data"].clone();
    assert_eq!(
        keys(&data),
        sorted(&[
            "id",
            "type",
            "text",
            "instructions",
            "baseTemplateId",
            "user",
            "panel",
            "interview",
            "fields",
            "createdAt",
            "updatedAt",
            "completedAt",
            "deletedAt"
        ])
    );
    assert_eq!(data["type"], "interview");
    assert_eq!(data["text"], "Arkiter interview");
    assert_eq!(data["instructions"], "Filled in by Arkiter");
    assert_eq!(data["baseTemplateId"], template_id.as_str());
    assert_eq!(data["user"], w.user.as_str());
    assert_eq!(data["completedAt"], 1_700_000_000_000_i64);
    assert_eq!(data["deletedAt"], Value::Null);
    let mut rating = template["fields"][0].clone();
    rating["value"] = json!("2");
    let mut text = template["fields"][1].clone();
    text["value"] = Value::Null;
    assert_eq!(data["fields"], json!([rating, text]));
    let listed = get(&format!("{api}/opportunities/{}/feedback", w.opp), &w.token)
        .await
        .json();
    assert_eq!(listed["data"], json!([data]));
    assert_eq!(listed["hasNext"], false);
    let stored = w.sim.feedback(&w.account, &w.opp).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].user, w.user);
    assert_eq!(stored[0].fields[0].field.id, overall);
    assert_eq!(stored[0].fields[0].value, json!("2"));
    assert_eq!(stored[0].fields[1].field.id, summary);

    // Refused: each one a clear 400, 403 or 404, and nothing stored.
    let no_user = format!("{api}/opportunities/{}/feedback", w.opp);
    let stranger = format!("{no_user}?perform_as=stranger");
    let unknown_opp = format!("{api}/opportunities/nope/feedback?perform_as={}", w.user);
    let unknown_opp_no_user = format!("{api}/opportunities/nope/feedback");
    let body = |values: Value| json!({"baseTemplateId": template_id, "fieldValues": values});
    let cases = [
        (&no_user, form.clone(), 400, "perform_as is required"),
        (
            &unknown_opp_no_user,
            form.clone(),
            400,
            "perform_as is required",
        ),
        (&stranger, form.clone(), 400, "stranger"),
        (&unknown_opp, form.clone(), 404, "nope"),
        (
            &feedback_url(&w),
            json!({"baseTemplateId": "nope", "fieldValues": []}),
            400,
            "baseTemplateId",
        ),
        (
            &feedback_url(&w),
            json!({"fieldValues": []}),
            400,
            "baseTemplateId",
        ),
        (
            &feedback_url(&w),
            body(json!([{"id": "nope", "value": "1"}])),
            400,
            "nope",
        ),
        (
            &feedback_url(&w),
            body(json!([{"id": overall, "value": "1"}, {"id": overall, "value": "2"}])),
            400,
            "twice",
        ),
        (&feedback_url(&w), body(json!([])), 400, "required"),
        (
            &feedback_url(&w),
            body(json!([{"id": overall, "value": null}])),
            400,
            "required",
        ),
        (
            &feedback_url(&w),
            body(json!([{"id": overall, "value": 2}])),
            400,
            "not a valid value",
        ),
        (
            &feedback_url(&w),
            body(json!([{"id": overall, "value": "3 - Hire"}])),
            400,
            "not a valid value",
        ),
        (
            &feedback_url(&w),
            body(json!([{"id": overall, "value": "1"}, {"id": summary, "value": 5}])),
            400,
            "not a valid value",
        ),
        (&feedback_url(&w), body(json!({})), 400, "fieldValues"),
        (
            &feedback_url(&w),
            json!({"baseTemplateId": template_id, "panel": "p"}),
            400,
            "together",
        ),
        (
            &feedback_url(&w),
            json!({"baseTemplateId": template_id, "completedAt": "now"}),
            400,
            "completedAt",
        ),
    ];
    for (url, body, status, needle) in cases {
        let r = post_json(url, &w.token, &body).await;
        assert_eq!(r.status, status, "{url} {body}");
        let message = r.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let read_only = token(&w.sim, &w.account, "feedback:read:admin");
    let r = post_json(&feedback_url(&w), &read_only, &form).await;
    assert_eq!(r.status, 403);
    let url = format!("{api}/opportunities/{}/feedback", w.opp);
    assert_eq!(get(&url, &read_only).await.status, 200);
    let none = token(&w.sim, &w.account, "opportunities:write:admin");
    assert_eq!(get(&url, &none).await.status, 403);
    assert_eq!(
        get(&format!("{api}/opportunities/nope/feedback"), &w.token)
            .await
            .status,
        404
    );
    assert_eq!(w.sim.feedback(&w.account, &w.opp).unwrap().len(), 1);

    let control = format!(
        "{}/_sim/accounts/{}/opportunities/{}/feedback",
        w.sim.base_url(),
        w.account,
        w.opp
    );
    let r = get(&control, "").await;
    assert_eq!(r.json()[0]["base_template_id"], template_id.as_str());
    assert!(w.sim.feedback(&w.account, "nope").is_err());
    w.sim.stop().await;
}

#[actix_rt::test]
async fn files_upload_as_multipart_and_download_byte_for_byte() {
    let w = world().await;
    let api = w.sim.api_url();
    // Over the old 1 MB body limit, with every byte value.
    let content: Vec<u8> = (0..2 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let body = multipart("file", "Result Rachel.pdf", "application/pdf", &content);
    let r = upload(&w, &files_url(&w), body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let data = r.json()["data"].clone();
    assert_eq!(
        keys(&data),
        sorted(&[
            "id",
            "downloadUrl",
            "ext",
            "name",
            "uploadedAt",
            "status",
            "size"
        ])
    );
    assert_eq!(data["name"], "Result Rachel.pdf");
    assert_eq!(data["ext"], ".pdf");
    assert_eq!(data["status"], "processed");
    assert_eq!(data["size"], content.len().to_string());
    let uploaded_at: i64 = data["uploadedAt"].as_str().unwrap().parse().unwrap();
    let id = data["id"].as_str().unwrap();
    let download = data["downloadUrl"].as_str().unwrap();
    assert_eq!(
        download,
        format!("{api}/opportunities/{}/files/{id}/download", w.opp)
    );

    let stored = w.sim.files(&w.account, &w.opp).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].bytes, content);
    assert_eq!(stored[0].content_type, "application/pdf");
    assert_eq!(stored[0].user, w.user);
    let r = get(download, &w.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type.as_deref(), Some("application/pdf"));
    assert!(r.bytes == content, "the download is the upload");
    let list = format!("{api}/opportunities/{}/files", w.opp);
    let listed = get(&list, &w.token).await.json();
    assert_eq!(listed, json!({"data": [data]}));
    let one = get(&format!("{list}/{id}"), &w.token).await;
    assert_eq!(one.json()["data"], data);
    let missing = format!("{list}/nope/download");
    assert_eq!(get(&missing, &w.token).await.status, 404);

    // The list's filters, and no paging.
    let after = format!("{list}?uploaded_at_start={}", uploaded_at + 1);
    assert_eq!(get(&after, &w.token).await.json(), json!({"data": []}));
    let until = format!("{list}?uploaded_at_end={uploaded_at}");
    assert_eq!(get(&until, &w.token).await.json()["data"][0]["id"], id);
    let bad = get(&format!("{list}?uploaded_at_end=today"), &w.token).await;
    assert_eq!(bad.status, 400);
    let paged = get(&format!("{list}?limit=10"), &w.token).await;
    assert_eq!(paged.status, 400);
    assert!(
        paged.json()["message"]
            .as_str()
            .unwrap()
            .contains("pagination is not supported")
    );

    let control = format!(
        "{}/_sim/accounts/{}/opportunities/{}/files",
        w.sim.base_url(),
        w.account,
        w.opp
    );
    let r = get(&control, "").await;
    assert_eq!(r.json()[0]["name"], "Result Rachel.pdf");
    assert!(r.json()[0]["bytes"].is_string(), "bytes in base64");

    // Delete: perform_as required, then gone.
    let one = format!("{list}/{id}");
    let r = send("DELETE", &one, &w.token, None, Vec::new()).await;
    assert_eq!(r.status, 400);
    let as_user = format!("{one}?perform_as={}", w.user);
    let r = send("DELETE", &as_user, &w.token, None, Vec::new()).await;
    assert_eq!(r.status, 204);
    let r = send("DELETE", &as_user, &w.token, None, Vec::new()).await;
    assert_eq!(r.status, 404);
    assert!(w.sim.files(&w.account, &w.opp).unwrap().is_empty());
    w.sim.stop().await;
}

/// One refused upload: where, with which Content-Type and body, and what
/// the answer must be.
struct Refused<'a> {
    url: &'a str,
    content_type: Option<&'a str>,
    body: Vec<u8>,
    status: u16,
    needle: &'a str,
}

#[actix_rt::test]
async fn file_uploads_are_strict() {
    let w = world().await;
    let api = w.sim.api_url();
    let good = multipart("file", "r.pdf", "application/pdf", b"%PDF");
    let no_user = format!("{api}/opportunities/{}/files", w.opp);
    let unknown_opp = format!("{api}/opportunities/nope/files?perform_as={}", w.user);
    let no_filename = b"--sim-boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\
        Content-Type: application/pdf\r\n\r\nx\r\n--sim-boundary--\r\n"
        .to_vec();
    let no_type = b"--sim-boundary\r\nContent-Disposition: form-data; name=\"file\"; \
        filename=\"r.pdf\"\r\n\r\nx\r\n--sim-boundary--\r\n"
        .to_vec();
    let part = "Content-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\
        Content-Type: application/pdf\r\n\r\nx\r\n";
    let two =
        format!("--sim-boundary\r\n{part}--sim-boundary\r\n{part}--sim-boundary--").into_bytes();
    let url = files_url(&w);
    let refused = |content_type, body, status, needle| Refused {
        url: &url,
        content_type,
        body,
        status,
        needle,
    };
    let cases = vec![
        refused(None, good.clone(), 400, "multipart/form-data"),
        refused(
            Some("application/pdf"),
            good.clone(),
            400,
            "multipart/form-data",
        ),
        refused(Some("multipart/form-data"), good.clone(), 400, "boundary"),
        refused(Some(MULTIPART), b"not multipart".to_vec(), 400, "boundary"),
        refused(
            Some(MULTIPART),
            multipart("doc", "r.pdf", "application/pdf", b"x"),
            400,
            "named file",
        ),
        refused(Some(MULTIPART), two, 400, "exactly one"),
        refused(Some(MULTIPART), no_filename, 400, "filename"),
        refused(Some(MULTIPART), no_type, 400, "Content-Type"),
        Refused {
            url: &no_user,
            ..refused(Some(MULTIPART), good.clone(), 400, "perform_as is required")
        },
        Refused {
            url: &unknown_opp,
            ..refused(Some(MULTIPART), good.clone(), 404, "nope")
        },
    ];
    for case in cases {
        let r = send("POST", case.url, &w.token, case.content_type, case.body).await;
        assert_eq!(
            r.status, case.status,
            "{} {:?}",
            case.url, case.content_type
        );
        let message = r.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(case.needle), "{}: {message}", case.needle);
    }
    let read_only = token(&w.sim, &w.account, "files:read:admin");
    let r = send("POST", &url, &read_only, Some(MULTIPART), good.clone()).await;
    assert_eq!(r.status, 403);
    let list = format!("{api}/opportunities/{}/files", w.opp);
    assert_eq!(get(&list, &read_only).await.status, 200);
    let none = token(&w.sim, &w.account, "opportunities:write:admin");
    assert_eq!(get(&list, &none).await.status, 403);
    assert!(w.sim.files(&w.account, &w.opp).unwrap().is_empty());

    // A file over 30,000,000 bytes is a 413, as is a body over 30 MiB
    // (refused before it is parsed), and both are in the call log.
    let content = vec![b'x'; 30_000_001];
    let r = upload(
        &w,
        &url,
        multipart("file", "big.pdf", "application/pdf", &content),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], "RequestEntityTooLarge");
    let r = upload(
        &w,
        &url,
        multipart("file", "ok.pdf", "application/pdf", &content[1..]),
    )
    .await;
    assert_eq!(r.status, 200, "exactly 30,000,000 bytes is allowed");
    let big = vec![b'x'; 30 * 1024 * 1024 + 1];
    let r = send("POST", &url, &w.token, Some(MULTIPART), big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], "RequestEntityTooLarge");
    let statuses: Vec<u16> = w
        .sim
        .calls_for(&w.account)
        .iter()
        .rev()
        .take(3)
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [413, 200, 413]);
    let at_limit = vec![b'x'; 30 * 1024 * 1024];
    let r = send("POST", &url, &w.token, Some(MULTIPART), at_limit).await;
    assert_eq!(r.status, 400, "read, then refused as not multipart");
    assert_eq!(w.sim.files(&w.account, &w.opp).unwrap().len(), 1);
    w.sim.stop().await;
}

#[actix_rt::test]
async fn the_stage_move_needs_its_scope_and_shows_in_stage_changes() {
    let w = world().await;
    let api = w.sim.api_url();
    let next = w.sim.add_stage(&w.account, "Interviewed").unwrap().id;
    let url = format!("{api}/opportunities/{}/stage?perform_as={}", w.opp, w.user);
    let body = serde_json::to_vec(&json!({"stage": next})).unwrap();
    let without = token(&w.sim, &w.account, "feedback:write:admin");
    let r = send(
        "PUT",
        &url,
        &without,
        Some("application/json"),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 403);
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("opportunities:write:admin"), "{message}");
    assert_eq!(
        w.sim.opportunity(&w.account, &w.opp).unwrap().stage,
        w.stage
    );

    let r = send("PUT", &url, &w.token, Some("application/json"), body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let read = get(&format!("{api}/opportunities/{}", w.opp), &w.token)
        .await
        .json();
    assert_eq!(read["data"]["stage"], next.as_str());
    let change = &read["data"]["stageChanges"][0];
    assert_eq!(change["toStageId"], next.as_str());
    assert_eq!(change["userId"], w.user.as_str());
    assert_eq!(read["data"]["lastAdvancedAt"], change["updatedAt"]);
    w.sim.stop().await;
}

#[actix_rt::test]
async fn apply_then_fail_faults_land_the_new_writes() {
    let w = world().await;
    let template = api_template(&w).await;
    let field = template["fields"][0]["id"].clone();
    let form = json!({"baseTemplateId": template["id"],
                      "fieldValues": [{"id": field, "value": "1"}]});
    for path in ["/feedback", "/files"] {
        w.sim
            .add_fault(
                &w.account,
                FaultRule::always(FaultAction::ApplyThenStatus { status: 500 })
                    .on("POST", path)
                    .times(1),
            )
            .unwrap();
    }
    let r = post_json(&feedback_url(&w), &w.token, &form).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["code"], "InternalServerError");
    let body = multipart("file", "r.pdf", "application/pdf", b"%PDF");
    let r = upload(&w, &files_url(&w), body.clone()).await;
    assert_eq!(r.status, 500);
    assert_eq!(w.sim.feedback(&w.account, &w.opp).unwrap().len(), 1);
    assert_eq!(w.sim.files(&w.account, &w.opp).unwrap().len(), 1);
    let statuses: Vec<(String, u16)> = w
        .sim
        .calls_for(&w.account)
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.starts_with("/v1/opportunities/"))
        .map(|c| (c.path, c.status))
        .collect();
    let fb = format!("/v1/opportunities/{}/feedback", w.opp);
    let files = format!("/v1/opportunities/{}/files", w.opp);
    assert_eq!(statuses, [(fb, 500), (files, 500)]);

    // The rules are used up: a retry answers normally and writes again, as
    // Lever would (the client must list before it retries such a write).
    let r = upload(&w, &files_url(&w), body).await;
    assert_eq!(r.status, 200);
    assert_eq!(w.sim.files(&w.account, &w.opp).unwrap().len(), 2);
    w.sim.stop().await;
}
