//! Traces over OTLP/HTTP (docs/contract/tracing.md). A service started with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointed at a receiver in the test: one
//! delivery yields its `delivery.receive` and `delivery.store` spans, and
//! the link step it caused is a trace of its own, linked to the delivery's
//! store span, holding the Lever client spans of its calls. No exported
//! attribute holds a token, a candidate's name or email, or a candidate id
//! inside a URL.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use arkiter_lever::domain::secrets::EncryptionKey;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;

use crate::helpers::{TestApp, poll_until, test_db};
use crate::lever_flow::{scenario, wait_for_tag};
use crate::lever_support::start_sim;
use crate::log_secrets::known_secrets;
use crate::support::child::{ServiceChild, env_for_sim};

/// An OTLP/HTTP receiver: every span of every export request, with the
/// service name its resource gave.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

impl Receiver {
    /// Serves `POST /v1/traces` on a loopback port; its base URL.
    fn start(&self) -> String {
        let me = self.clone();
        let server = HttpServer::new(move || {
            let me = me.clone();
            App::new().route(
                "/v1/traces",
                web::post().to(move |body: web::Bytes| {
                    let me = me.clone();
                    async move {
                        let request = ExportTraceServiceRequest::decode(body.as_ref())
                            .expect("an OTLP/HTTP protobuf export request");
                        me.take(request);
                        HttpResponse::Ok()
                            .content_type("application/x-protobuf")
                            .finish()
                    }
                }),
            )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        format!("http://127.0.0.1:{port}")
    }

    fn take(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .map(|a| text(a.value.as_ref()))
                .unwrap_or_default();
            for scope in resource.scope_spans {
                spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
    }

    fn spans(&self) -> Vec<(String, Span)> {
        self.spans.lock().unwrap().clone()
    }
}

fn text(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| text(a.value.as_ref()))
}

/// Every text a span exports: its name, and its attributes', its
/// events' and its links' keys and values.
fn texts(span: &Span) -> Vec<String> {
    let pairs = |kvs: &[KeyValue]| -> Vec<String> {
        kvs.iter()
            .flat_map(|a| [a.key.clone(), text(a.value.as_ref())])
            .collect()
    };
    let mut all = vec![span.name.clone()];
    all.extend(pairs(&span.attributes));
    for e in &span.events {
        all.push(e.name.clone());
        all.extend(pairs(&e.attributes));
    }
    for l in &span.links {
        all.extend(pairs(&l.attributes));
    }
    all
}

#[actix_web::test]
async fn a_delivery_and_the_link_step_it_caused_are_linked_traces_with_lever_client_spans() {
    let receiver = Receiver::default();
    let endpoint = receiver.start();
    let sim = start_sim().await;
    let db = test_db();
    let name = db.create_database();
    let url = db.url(&name);
    let enc = EncryptionKey::generate();
    let admin = "trace-test-admin-token";
    let mut env = env_for_sim(&sim, &url, admin, &enc);
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
    env.push(("OTEL_SERVICE_NAME", "arkiter-traced".to_owned()));
    // Exports every 100 ms instead of every 5 s: the test waits less.
    env.push(("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()));
    let child = ServiceChild::start(&env).await;
    child.wait_ready().await;
    let app = TestApp::attached(&child.address(), admin, &name, &url, enc.clone());
    let s = scenario(&app, &sim).await;
    let opps = s.candidates(&sim, 1);
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, "Arkiter Live: Link Created", 30).await;

    // The link step's span ends after its last write: poll until exported.
    let link = poll_until(30, "the link step's span exported", || async {
        receiver
            .spans()
            .into_iter()
            .map(|(_, s)| s)
            .find(|s| s.name == "link" && !s.links.is_empty())
    })
    .await;
    let spans = receiver.spans();
    assert!(
        spans.iter().all(|(service, _)| service == "arkiter-traced"),
        "OTEL_SERVICE_NAME names the service"
    );
    let spans: Vec<Span> = spans.into_iter().map(|(_, s)| s).collect();

    // The link step links to the delivery's store span, whose parent is the
    // delivery's receive span, in the delivery's own trace.
    let linked = &link.links[0];
    let store = spans
        .iter()
        .find(|s| s.span_id == linked.span_id)
        .expect("the linked span is exported");
    assert_eq!(store.name, "delivery.store");
    assert_eq!(store.trace_id, linked.trace_id);
    assert_ne!(
        store.trace_id, link.trace_id,
        "the unit is a trace of its own"
    );
    let receive = spans
        .iter()
        .find(|s| s.span_id == store.parent_span_id)
        .expect("the store span's parent is exported");
    assert_eq!(receive.name, "delivery.receive");
    assert_eq!(receive.kind, SpanKind::Server as i32);
    assert_eq!(
        attribute(receive, "http.route").as_deref(),
        Some("/webhooks/lever/{connection_id}")
    );
    assert_eq!(
        attribute(receive, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attribute(store, "arkiter.event_status").as_deref(),
        Some("pending")
    );

    // The link step's trace holds its Lever calls as client spans under it,
    // each named by its route (ids masked), with Lever's status.
    let clients: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace_id == link.trace_id && s.name != "link")
        .collect();
    assert!(
        clients
            .iter()
            .all(|s| s.kind == SpanKind::Client as i32 && s.parent_span_id == link.span_id),
        "{clients:#?}"
    );
    let routes: Vec<String> = clients
        .iter()
        .map(|s| attribute(s, "http.route").unwrap_or_default())
        .collect();
    for wanted in [
        "/opportunities/{id}",
        "/opportunities/{id}/addLinks",
        "/opportunities/{id}/addTags",
    ] {
        assert!(routes.iter().any(|r| r == wanted), "{routes:?}");
    }
    assert!(
        clients.iter().all(|s| {
            attribute(s, "http.response.status_code").is_some_and(|c| c.starts_with('2'))
                && attribute(s, "lever.attempt").is_some()
        }),
        "{clients:#?}"
    );

    // Nothing exported holds a secret, a candidate's name or email, or the
    // candidate's id inside a path.
    let secrets = known_secrets(&app, &sim, &s, &enc, admin, 1);
    let in_a_path = format!("/{}", opps[0]);
    for span in &spans {
        for t in texts(span) {
            assert!(
                !t.contains(&in_a_path),
                "a span holds the candidate id in a URL: {t}"
            );
            for secret in &secrets {
                assert!(
                    !t.contains(secret.as_str()),
                    "span {} holds a secret or personal datum ({} chars)",
                    span.name,
                    secret.len()
                );
            }
        }
    }
    drop(child);
}
