//! What a completion writes when the connection's `results` ask for more
//! than a note (docs/contract/results.md): a Lever feedback form made from
//! the service's own template and a one-page PDF file, each exactly once,
//! also through a replay and through writes that land but answer 5xx; and
//! the note in their place, with the problem saying why, when Lever cannot
//! take them. Counted from the simulator's state and call log.

use arkiter_lever::lever::sim::{FaultAction, FaultRule, NewFeedbackField, SimHandle};
use serde_json::{Value, json};

use crate::helpers::{TestApp, poll_until};
use crate::lever_flow::{Scenario, scenario, spawn_with_sim};
use crate::lifecycle::{linked, the_interview};
use crate::one_candidate::{act, settled};
use crate::outcomes::patch;

/// Turns on `results` (and a `perform_as` user when `writer`).
async fn results_on(
    app: &TestApp,
    sim: &SimHandle,
    s: &Scenario,
    results: Value,
    writer: bool,
) -> crate::helpers::Resp {
    let mut body = json!({"results": results});
    if writer {
        let user = sim
            .add_user(&s.account, "Arkiter Bot", "bot@example.com")
            .unwrap()
            .id;
        body["perform_as"] = json!(user);
    }
    patch(app, &format!("/api/v1/orgs/{}/lever", s.org), &s.key, &body).await
}

async fn complete_and_settle(app: &TestApp, s: &Scenario, opp: &str) -> Value {
    let iv = the_interview(app, s, opp).await;
    let id = iv["id"].as_str().unwrap().to_owned();
    let result = json!({"score": 82, "recommendation": "Hire", "summary": "Clear, tested code."});
    let r = act(app, s, &id, "complete", result).await;
    assert_eq!(r.status, 202, "{}", r.body);
    poll_until(30, "the results posted", || async {
        let iv = the_interview(app, s, opp).await;
        (iv["status"] == "results_posted").then_some(iv)
    })
    .await
}

fn calls_ending(sim: &SimHandle, s: &Scenario, method: &str, end: &str) -> usize {
    sim.calls_for(&s.account)
        .iter()
        .filter(|c| c.method == method && c.path.ends_with(end))
        .count()
}

/// The health report's problems.
async fn health_problems(app: &TestApp, s: &Scenario) -> Vec<Value> {
    let h = app
        .get(
            &format!("/api/v1/orgs/{}/lever/health", s.org),
            Some(&s.key),
        )
        .await;
    h.body["problems"].as_array().cloned().unwrap_or_default()
}

/// The health report's problem of `code`, or `Null`.
pub async fn problem(app: &TestApp, s: &Scenario, code: &str) -> Value {
    health_problems(app, s)
        .await
        .into_iter()
        .find(|p| p["code"] == code)
        .unwrap_or_default()
}

async fn problems(app: &TestApp, s: &Scenario) -> Vec<String> {
    health_problems(app, s)
        .await
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_rt::test]
async fn a_completion_writes_one_note_one_feedback_form_and_one_pdf_even_through_5xx_and_a_replay()
{
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let r = results_on(
        &app,
        &sim,
        &s,
        json!({"note": true, "feedback": true, "pdf": true}),
        true,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["results"],
        json!({"note": true, "feedback": true, "pdf": true})
    );
    let opp = linked(&app, &sim, &s).await;
    // Each write lands once and answers 500: the unknown outcome is checked.
    // The paths are the candidate's own, so the form's rule cannot be used
    // up by the template create (`/feedback_templates` holds `/feedback`).
    let writes = [
        format!("{opp}/notes"),
        format!("{opp}/feedback"),
        format!("{opp}/files"),
        "/feedback_templates".to_owned(),
    ];
    for path in &writes {
        sim.add_fault(
            &s.account,
            FaultRule::always(FaultAction::ApplyThenStatus { status: 500 })
                .on("POST", path)
                .times(1),
        )
        .unwrap();
    }
    let iv = complete_and_settle(&app, &s, &opp).await;
    let results_url = iv["results_url"].as_str().unwrap().to_owned();
    // The same completion again changes nothing.
    let r = act(
        &app,
        &s,
        iv["id"].as_str().unwrap(),
        "complete",
        json!({"score": 82, "recommendation": "Hire", "summary": "Clear, tested code."}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(&app).await;

    let view = sim.opportunity(&s.account, &opp).unwrap();
    assert_eq!(view.notes.len(), 1, "{:?}", view.notes);
    let templates = sim.feedback_templates(&s.account).unwrap();
    let ours: Vec<_> = templates
        .iter()
        .filter(|t| t.text == "Arkiter Live interview")
        .collect();
    assert_eq!(ours.len(), 1, "one template made: {templates:?}");
    let forms = sim.feedback(&s.account, &opp).unwrap();
    assert_eq!(forms.len(), 1, "{forms:?}");
    let value = |text: &str| {
        forms[0]
            .fields
            .iter()
            .find(|f| f.field.text == text)
            .map(|f| f.value.clone())
            .unwrap()
    };
    assert_eq!(value("Score"), json!("82/100"));
    assert_eq!(value("Recommendation"), json!("Hire"));
    assert_eq!(value("Summary"), json!("Clear, tested code."));
    assert_eq!(value("Results link"), json!(results_url));
    assert_eq!(value("Overall rating"), json!("3 - Hire"));
    let files = sim.files(&s.account, &opp).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].name, "Arkiter Live - Backend.pdf");
    let text = results_pdf::text_of(&files[0].bytes);
    assert!(
        text.contains("82/100") && text.contains(&results_url),
        "{text}"
    );
    assert!(
        !text.contains("Candidate") && !text.contains("example.com"),
        "{text}"
    );
    // Every write was answered 500 once (the faults fired), then checked by
    // a read, not resent: one template create, one form, one file, one note.
    for path in &writes {
        let answered_500 = sim
            .calls_for(&s.account)
            .iter()
            .filter(|c| c.method == "POST" && c.path.ends_with(path.as_str()) && c.status == 500)
            .count();
        assert_eq!(answered_500, 1, "POST {path} answered 500 once");
    }
    assert_eq!(calls_ending(&sim, &s, "POST", "/feedback_templates"), 1);
    assert_eq!(
        calls_ending(&sim, &s, "POST", &format!("{opp}/feedback")),
        1
    );
    assert_eq!(calls_ending(&sim, &s, "POST", &format!("{opp}/files")), 1);
    assert_eq!(calls_ending(&sim, &s, "POST", &format!("{opp}/notes")), 1);
}

#[actix_rt::test]
async fn without_perform_as_the_note_stands_in_and_health_says_why() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let r = results_on(
        &app,
        &sim,
        &s,
        json!({"note": false, "feedback": true}),
        false,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let opp = linked(&app, &sim, &s).await;
    complete_and_settle(&app, &s, &opp).await;
    assert_eq!(sim.opportunity(&s.account, &opp).unwrap().notes.len(), 1);
    assert!(sim.feedback(&s.account, &opp).unwrap().is_empty());
    assert!(
        problems(&app, &s)
            .await
            .contains(&"perform_as_missing".to_owned())
    );
    // All three off is refused, and changes nothing.
    let r = results_on(
        &app,
        &sim,
        &s,
        json!({"note": false, "feedback": false, "pdf": false}),
        false,
    )
    .await;
    r.assert_error(422, "validation_failed");
    let view = app
        .get(&format!("/api/v1/orgs/{}/lever", s.org), Some(&s.key))
        .await;
    assert_eq!(
        view.body["results"],
        json!({"note": false, "feedback": true, "pdf": false})
    );
}

#[actix_rt::test]
async fn without_the_files_scope_no_file_is_written_and_scope_missing_says_so() {
    let (app, sim) = spawn_with_sim().await;
    let account = sim.create_account("Acme Lever");
    sim.patch_account(
        &account,
        arkiter_lever::lever::sim::AccountPatch {
            withheld_scopes: Some(vec!["files:write:admin".to_owned()]),
            ..Default::default()
        },
    )
    .unwrap();
    let s = crate::lever_flow::scenario_on(&app, &sim, account).await;
    let r = results_on(&app, &sim, &s, json!({"pdf": true}), true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let opp = linked(&app, &sim, &s).await;
    complete_and_settle(&app, &s, &opp).await;
    assert!(sim.files(&s.account, &opp).unwrap().is_empty());
    assert_eq!(calls_ending(&sim, &s, "POST", &format!("{opp}/files")), 0);
    assert_eq!(sim.opportunity(&s.account, &opp).unwrap().notes.len(), 1);
    assert!(
        problems(&app, &s)
            .await
            .contains(&"scope_missing".to_owned())
    );
}

#[actix_rt::test]
async fn a_customer_template_of_our_name_is_left_alone() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let theirs = sim
        .add_feedback_template(
            &s.account,
            "Arkiter Live interview",
            vec![
                NewFeedbackField::new("score-system", "Gut feeling"),
                NewFeedbackField::new("textarea", "Notes"),
            ],
        )
        .unwrap();
    results_on(&app, &sim, &s, json!({"feedback": true}), true).await;
    let opp = linked(&app, &sim, &s).await;
    complete_and_settle(&app, &s, &opp).await;
    let templates = sim.feedback_templates(&s.account).unwrap();
    let kept = templates.iter().find(|t| t.id == theirs.id).unwrap();
    assert_eq!(kept, &theirs, "the customer's template is unchanged");
    let api = templates
        .iter()
        .find(|t| t.text == "Arkiter Live interview (API)")
        .expect("our own template, under the other name");
    let forms = sim.feedback(&s.account, &opp).unwrap();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0].base_template_id, api.id);
}

#[actix_rt::test]
async fn a_form_lever_refuses_is_replaced_by_the_note_and_results_refused_says_why() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    results_on(
        &app,
        &sim,
        &s,
        json!({"note": false, "feedback": true}),
        true,
    )
    .await;
    let opp = linked(&app, &sim, &s).await;
    sim.add_fault(
        &s.account,
        FaultRule::always(FaultAction::Status { status: 400 })
            .on("POST", &format!("{opp}/feedback")),
    )
    .unwrap();
    complete_and_settle(&app, &s, &opp).await;
    assert!(sim.feedback(&s.account, &opp).unwrap().is_empty());
    assert_eq!(sim.opportunity(&s.account, &opp).unwrap().notes.len(), 1);
    // Refused once, never tried again for this completion.
    assert_eq!(
        calls_ending(&sim, &s, "POST", &format!("{opp}/feedback")),
        1
    );
    let refused = problem(&app, &s, "results_refused").await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("feedback form"),
        "{refused}"
    );
}

#[actix_rt::test]
async fn completions_worked_side_by_side_make_the_template_once() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    results_on(&app, &sim, &s, json!({"feedback": true}), true).await;
    let opps = s.candidates(&sim, 4);
    s.move_to(&sim, &opps, &s.stage);
    crate::lever_flow::wait_for_tag(&sim, &s.account, &opps, "Arkiter Live: Link Created", 30)
        .await;
    settled(&app).await;
    // A slow template list and a slower create, so units worked side by
    // side would each list before the first create lands.
    for (method, ms) in [("GET", 300), ("POST", 1_500)] {
        sim.add_fault(
            &s.account,
            FaultRule::always(FaultAction::Latency { ms }).on(method, "/feedback_templates"),
        )
        .unwrap();
    }
    for opp in &opps {
        let iv = the_interview(&app, &s, opp).await;
        let r = act(
            &app,
            &s,
            iv["id"].as_str().unwrap(),
            "complete",
            json!({"score": 75}),
        )
        .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    for opp in &opps {
        poll_until(30, "the results posted", || async {
            (the_interview(&app, &s, opp).await["status"] == "results_posted").then_some(())
        })
        .await;
        assert_eq!(sim.feedback(&s.account, opp).unwrap().len(), 1);
    }
    assert_eq!(calls_ending(&sim, &s, "POST", "/feedback_templates"), 1);
}
