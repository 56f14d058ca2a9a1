//! The severity guide: the built-in guide, a team's own guide checked whole, and assessing an
//! incident, which sets its severity, writes the answers and the result on its timeline, and wakes
//! whoever the guide says (the next level now, the incident commander, the levels that wake
//! management).

use axum::http::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

async fn user(app: &TestApp, name: &str) -> Value {
    let (status, user) = app
        .post("/api/v1/users", json!({"name": name, "email": format!("{}@example.com", name.to_lowercase())}))
        .await;
    assert_eq!(status, 201, "{user}");
    let methods = format!("/api/v1/users/{}/contact-methods", user["id"]);
    app.post(&methods, json!({"type": "webhook", "address": "https://hooks.example/x"})).await;
    user
}

async fn paged(app: &TestApp, name: &str) {
    for _ in 0..400 {
        if app.pages.sent().iter().any(|page| page.recipient == name) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{name} was not paged: {:?}", app.pages.sent());
}

#[tokio::test]
async fn the_built_in_guide_and_a_teams_own_are_served_and_checked() {
    let app = TestApp::new().await;
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    let (status, guide) = app.get("/api/v1/severity-guides/payments").await;
    assert_eq!((status, guide["source"].as_str()), (200, Some("built-in")));
    let ids: Vec<&str> =
        guide["questions"].as_array().unwrap().iter().map(|q| q["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["customers_affected", "data_at_risk", "money_lost", "workaround_exists", "security"]);
    assert_eq!(guide["questions"][0]["answers"], json!(["none", "some", "many", "all"]));

    let mut bad = guide.clone();
    bad.as_object_mut().unwrap().remove("source");
    bad["rules"][2]["when"] = json!({"weather": ["stormy"]});
    let (status, problem) = app.call(Method::PUT, "/api/v1/severity-guides/payments", Some(bad)).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["detail"], "rule 3: there is no question \"weather\"");

    let own = json!({
    "questions": [{"id": "checkout_down", "text": "Can customers pay?", "answers": ["yes", "no"]}],
    "rules": [
        {"when": {"checkout_down": ["no"]}, "severity": "SEV1", "wake": ["next_level"], "reason": "nobody can pay"},
        {"when": {"checkout_down": ["no"]}, "severity": "SEV4", "reason": "shadowed by rule 1"}
    ]});
    let (status, problem) =
        app.call(Method::PUT, "/api/v1/severity-guides/payments", Some(own.clone())).await;
    assert_eq!(status, 422);
    assert!(problem["detail"].as_str().unwrap().starts_with("rule 2: SEV4 is unreachable"), "{problem}");
    let mut own = own;
    own["rules"][1]["when"] = json!({"checkout_down": ["yes"]});
    let (status, stored) = app.call(Method::PUT, "/api/v1/severity-guides/payments", Some(own)).await;
    assert_eq!((status, stored["source"].as_str()), (200, Some("payments")), "{stored}");
    assert_eq!(app.get("/api/v1/severity-guides/payments").await.1["questions"][0]["id"], "checkout_down");
    assert_eq!(app.call(Method::DELETE, "/api/v1/severity-guides/payments", None).await.0, 204);
    assert_eq!(app.get("/api/v1/severity-guides/payments").await.1["source"], "built-in");
    assert_eq!(app.get("/api/v1/severity-guides/nobody").await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn assessing_sets_the_severity_writes_the_timeline_and_wakes_whom_the_guide_says() {
    let app = TestApp::new().await;
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    let ana = user(&app, "Ana").await;
    let bo = user(&app, "Bo").await;
    let cy = user(&app, "Cy").await;
    let boss = user(&app, "Boss").await;
    let levels = json!([
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": ana["id"]}]},
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": bo["id"]}]},
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": boss["id"]}], "wakes_management": true}]);
    let (_, policy) =
        app.post("/api/v1/escalation-policies", json!({"name": "default", "levels": levels})).await;
    app.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": policy["id"]})))
        .await;
    let (_, incident) = app
        .post("/api/v1/incidents", json!({"title": "cards fail", "service": "checkout", "severity": "SEV3"}))
        .await;
    let id = incident["id"].as_i64().unwrap();
    paged(&app, "Ana").await;
    let (status, _) = app
        .post(&format!("/api/v1/incidents/{id}/assign"), json!({"role": "commander", "user": cy["id"]}))
        .await;
    assert!(status == 200, "assigning a commander: {status}");

    let (status, problem) =
        app.post(&format!("/api/v1/incidents/{id}/assess"), json!({"answers": {"security": "maybe"}})).await;
    assert_eq!(status, 422);
    assert_eq!(problem["detail"], "security has no answer \"maybe\"; it offers yes, no");

    let answers = json!({"customers_affected": "all", "data_at_risk": "no", "money_lost": "yes",
                         "workaround_exists": "no", "security": "no"});
    let (status, assessed) =
        app.post(&format!("/api/v1/incidents/{id}/assess"), json!({"answers": answers})).await;
    assert_eq!(status, 200, "{assessed}");
    assert_eq!(assessed["severity"], "SEV1");
    assert_eq!(assessed["wake"], json!(["next_level", "incident_commander", "management"]));
    assert_eq!(assessed["reasons"][0], "SEV1: every customer is affected");
    paged(&app, "Bo").await;
    paged(&app, "Cy").await;
    paged(&app, "Boss").await;
    let (_, detail) = app.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(detail["severity"], "SEV1");
    let notes: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["summary"].as_str())
        .filter(|summary| summary.contains("severity guide"))
        .collect();
    assert_eq!(notes.len(), 1, "{detail}");
    assert!(
        notes[0].contains("customers_affected: all") && notes[0].contains("wakes next_level"),
        "{}",
        notes[0]
    );

    // The incident page asks the guide's questions; its form assesses too.
    let page = app.page(&format!("/incidents/{id}")).await;
    assert!(
        page.text().contains(r#"name="answer.customers_affected""#),
        "the page asks the guide's questions"
    );
    let csrf = app.csrf().await;
    let posted = app
        .form(
            &format!("/incidents/{id}/assess"),
            &[
                ("csrf", &csrf),
                ("answer.customers_affected", "some"),
                ("answer.workaround_exists", "yes"),
                ("answer.security", ""),
            ],
        )
        .await;
    assert_eq!(posted.status, 303);
    assert_eq!(app.get(&format!("/api/v1/incidents/{id}")).await.1["severity"], "SEV3");
    let forged =
        app.form(&format!("/incidents/{id}/assess"), &[("csrf", "0123"), ("answer.security", "yes")]).await;
    assert_eq!(forged.status, 403);

    // Harmless answers give SEV4 and wake no one.
    let calm = json!({"customers_affected": "none", "data_at_risk": "no", "money_lost": "no",
                      "workaround_exists": "yes", "security": "no"});
    let (_, assessed) = app.post(&format!("/api/v1/incidents/{id}/assess"), json!({"answers": calm})).await;
    assert_eq!(
        (assessed["severity"].as_str(), assessed["wake"].as_array().map(Vec::len)),
        (Some("SEV4"), Some(0))
    );
    app.stop().await;
}
