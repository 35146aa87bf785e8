//! A NUL (`\u0000`) anywhere a request carries text is a 4xx with the
//! contract's error shape, never a 500. Walks the OpenAPI document so every route
//! and every string field is covered, including routes added later.

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};
use crate::webhooks::{KEY, STAGE, footprint, new_token, now_ms, setup, signed};

/// `schema` with its `$ref` followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let target = doc.pointer(r.trim_start_matches('#')).expect("$ref target");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// The schema's main type (`["string","null"]` is a string).
fn type_of(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "null",
    }
}

/// A valid-looking value of `schema`, with every optional field present.
fn sample(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(v) = schema["enum"].as_array().and_then(|e| e.first()) {
        return v.clone();
    }
    for combo in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema[combo]
            .as_array()
            .and_then(|a| a.iter().find(|s| type_of(resolve(doc, s)) != "null"))
        {
            return sample(doc, first);
        }
    }
    match type_of(schema) {
        "object" => {
            let props = schema["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            Value::Object(
                props
                    .iter()
                    .map(|(k, s)| (k.clone(), sample(doc, s)))
                    .collect(),
            )
        }
        "array" => json!([sample(doc, &schema["items"])]),
        "string" => json!("sample text"),
        "integer" => json!(1),
        "number" => json!(50),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

/// JSON pointers of every string in `v`.
fn string_leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_leaves(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                string_leaves(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// The concrete path of a templated one: the org is real, other ids random.
fn concrete(path: &str, org: &str) -> String {
    let mut out = path.replace("{org}", org);
    while let (Some(a), Some(b)) = (out.find('{'), out.find('}')) {
        out.replace_range(a..=b, &uuid::Uuid::new_v4().to_string());
    }
    out
}

fn assert_refused(r: &Resp, what: &str) {
    assert!(
        [400, 404, 422].contains(&r.status),
        "{what}: {} {}",
        r.status,
        r.body
    );
    let code = r.body["error"]["code"].as_str();
    assert!(code.is_some_and(|c| !c.is_empty()), "{what}: {}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: {}", r.body);
}

async fn send(app: &TestApp, method: &str, path: &str, body: &Value) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap();
    app.request(
        method,
        path,
        Some(&app.admin()),
        Some(("application/json", bytes)),
    )
    .await
}

#[actix_web::test]
async fn a_nul_in_any_string_field_of_any_route_is_a_4xx() {
    let app = spawn_app().await;
    let (org, _) = app.new_org("Acme").await;
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    let (mut bodies, mut fields) = (0, 0);
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
                continue;
            };
            bodies += 1;
            let target = concrete(path, &org);
            let base = sample(&doc, schema);
            let mut leaves = Vec::new();
            string_leaves(&base, String::new(), &mut leaves);
            for leaf in &leaves {
                let mut body = base.clone();
                *body.pointer_mut(leaf).unwrap() = json!("a\u{0}b");
                let r = send(&app, &method.to_uppercase(), &target, &body).await;
                assert_refused(&r, &format!("{method} {path} {leaf}"));
                assert_eq!(r.status, 422, "{method} {path} {leaf}: {}", r.body);
                let field = leaf.trim_start_matches('/').replace('/', ".");
                let message = r.body["error"]["message"].as_str().unwrap();
                assert!(message.contains("NUL"), "{message}");
                assert!(
                    message.contains(field.split('.').next().unwrap()),
                    "{message}"
                );
                fields += 1;
            }
            let mut key = base.clone();
            if let Some(map) = key.as_object_mut() {
                map.insert("unknown\u{0}key".into(), json!(1));
                let r = send(&app, &method.to_uppercase(), &target, &key).await;
                assert_refused(&r, &format!("{method} {path} a NUL in a key"));
            }
        }
    }
    assert!(
        bodies >= 8 && fields >= 15,
        "{bodies} bodies, {fields} fields"
    );
}

#[actix_web::test]
async fn a_nul_in_any_query_or_path_parameter_is_a_4xx() {
    let app = spawn_app().await;
    let (org, _) = app.new_org("Acme").await;
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in params {
                let name = p["name"].as_str().unwrap();
                let target = match p["in"].as_str() {
                    Some("query") => format!("{}?{name}=a%00b", concrete(path, &org)),
                    Some("path") => concrete(&path.replace(&format!("{{{name}}}"), "a%00b"), &org),
                    _ => continue,
                };
                let r = app
                    .request(&method.to_uppercase(), &target, Some(&app.admin()), None)
                    .await;
                assert_refused(&r, &format!("{method} {target}"));
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "{checked} parameters");
    for page in [
        "/live/a%00b",
        "/results/a%00b",
        "/oauth/lever/callback?code=a%00&state=b%00",
    ] {
        assert_refused(&app.get(page, None).await, page);
    }
    let r = app
        .get(
            &format!("/api/v1/orgs/{org}/interviews?opportunity_id=%00"),
            Some(&app.admin()),
        )
        .await;
    r.assert_error(400, "invalid_query");
}

#[actix_web::test]
async fn a_signed_delivery_with_a_nul_is_400_and_stores_nothing() {
    let s = setup("active").await;
    let data = json!({"opportunityId": "opp-1", "toStageId": STAGE});
    let nul_token = format!("{}\u{0}", new_token());
    let mut unknown_field = signed(
        KEY,
        &new_token(),
        now_ms(),
        "candidateStageChange",
        data.clone(),
    );
    unknown_field["extra"] = json!("x\u{0}y");
    let mut in_data = signed(
        KEY,
        &new_token(),
        now_ms(),
        "candidateStageChange",
        data.clone(),
    );
    in_data["data"]["opportunityId"] = json!("opp\u{0}1");
    let cases = [
        signed(KEY, &nul_token, now_ms(), "candidateStageChange", data),
        unknown_field,
        in_data,
    ];
    for body in &cases {
        let r = s.app.post_webhook(&s.conn, body).await;
        r.assert_error(400, "invalid_json");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("NUL"));
    }
    let r = s
        .app
        .request(
            "POST",
            &format!("/webhooks/lever/{}?x=%00", s.conn),
            None,
            None,
        )
        .await;
    assert_refused(&r, "webhook query");
    assert_eq!(footprint(&s.app, &s.conn), (0, 0, 0));
}
