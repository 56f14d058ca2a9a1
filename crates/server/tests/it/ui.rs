//! Every page of the web UI, served in-process over data whose every name and text is hostile
//! markup: each page answers, shows what it should, and escapes all of it. And the forms act.

use axum::http::Method;
use serde_json::{Value, json};

use crate::support::{Answer, TestApp};

/// Text that breaks out of an element or a double-quoted attribute unless it is escaped.
const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>'&";
/// The part of [`HOSTILE`] that shows it was escaped as text.
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";

/// Checks that `page` is an HTML page with the hostile text shown escaped at least once and never
/// as markup.
#[track_caller]
fn assert_escaped(page: &Answer) {
    let html = page.text();
    assert_eq!(page.status, 200, "{html}");
    // The one script element of the shell loads the server's own file; no other is allowed.
    let html = match html.split_once(r#"<script src="/static/live.js?v="#) {
        Some((before, after)) => {
            let (_, rest) = after.split_once(r#"" defer></script>"#).expect("the script element is closed");
            format!("{before}{rest}")
        }
        None => html,
    };
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(page.header("content-security-policy").starts_with("default-src 'none'"), "one CSP everywhere");
    assert!(html.contains(ESCAPED), "the hostile text is not shown escaped: {html}");
    for raw in ["<script", "<img", "onerror=alert(1)>"] {
        assert!(!html.contains(raw), "{raw:?} reached the page: {html}");
    }
}

/// A user `name`, with a webhook contact method.
async fn user(app: &TestApp, name: &str, email: &str) -> Value {
    let (status, user) = app.post("/api/v1/users", json!({"name": name, "email": email})).await;
    assert_eq!(status, 201, "{user}");
    let methods = format!("/api/v1/users/{}/contact-methods", user["id"]);
    app.post(&methods, json!({"type": "webhook", "address": "https://hooks.example/x"})).await;
    user
}

/// A catalog, schedule, policy, incident with alerts, notes and pages, and a golden signal, all
/// named with [`HOSTILE`] text. Returns the incident's id.
async fn hostile_world(app: &TestApp) -> i64 {
    let name = |suffix: &str| format!("{HOSTILE}{suffix}");
    let (status, team) =
        app.post("/api/v1/teams", json!({"name": name(" team"), "description": HOSTILE})).await;
    assert_eq!(status, 201, "{team}");
    let bad = user(app, &name(" user"), "bad@example.com").await;
    let ana = user(app, "Ana", "ana@example.com").await;
    app.post(&format!("/api/v1/teams/{}/members", team["id"]), json!({"user_id": bad["id"]})).await;
    let (status, dependency) = app
        .post("/api/v1/services", json!({"name": name(" db"), "team": team["id"], "description": HOSTILE}))
        .await;
    assert_eq!(status, 201, "{dependency}");
    let service = json!({"name": name(" checkout"), "team": team["id"], "description": HOSTILE,
        "runbook": format!("# Runbook\n\n{HOSTILE}"), "documentation": HOSTILE,
        "links": [{"title": HOSTILE, "url": "https://grafana.example/d/1?x=\"><script>alert(1)</script>"}],
        "dependencies": [dependency["id"]]});
    let (status, service) = app.post("/api/v1/services", service).await;
    assert_eq!(status, 201, "{service}");
    let schedule = json!({"name": name(" schedule"), "time_zone": "UTC",
        "layers": [{"start": "2026-03-02T00:00:00Z", "shift_length": "1d", "users": [bad["id"], ana["id"]],
                    "restrictions": [{"type": "daily", "start_time": "00:00", "end_time": "23:00"}]}],
        "overrides": [{"user": bad["id"], "start": "2026-03-03T10:00:00Z", "end": "2026-03-03T12:00:00Z"}]});
    let (status, schedule) = app.post("/api/v1/schedules", schedule).await;
    assert_eq!(status, 201, "{schedule}");
    let levels = json!([
        {"timeout_minutes": 5, "targets": [{"type": "schedule", "id": schedule["id"]}, {"type": "team", "id": team["id"]}]},
        {"timeout_minutes": 10, "targets": [{"type": "user", "id": ana["id"]}], "wakes_management": true}]);
    let (status, policy) =
        app.post("/api/v1/escalation-policies", json!({"name": name(" policy"), "levels": levels})).await;
    assert_eq!(status, 201, "{policy}");
    let path = format!("/api/v1/services/{}", service["id"]);
    app.call(Method::PATCH, &path, Some(json!({"escalation_policy": policy["id"]}))).await;
    let signal = format!("/api/v1/services/{}/golden-signals/latency", service["id"]);
    app.call(Method::PUT, &signal, Some(json!({"step_seconds": 60, "query": HOSTILE}))).await;
    let samples: Vec<Value> = (0..30)
        .map(|i| {
            let at = app.clock_now() - jiff::SignedDuration::from_mins(30 - i);
            json!({"at": at.to_string(), "value": 0.1})
        })
        .collect();
    app.post(&format!("{signal}/samples"), json!({"samples": samples})).await;

    let key = service["integration_key"].as_str().unwrap();
    let event = json!({"routing_key": key, "event_action": "trigger", "dedup_key": HOSTILE,
        "payload": {"summary": name(" alert"), "source": HOSTILE, "severity": "critical"}});
    let answer =
        app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &event.to_string()).await;
    assert_eq!(answer.status, 202, "{}", answer.text());
    let (_, page) = app.get("/api/v1/incidents").await;
    let incident = page["incidents"][0]["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/incidents/{incident}/notes"), json!({"text": HOSTILE})).await;
    app.post(&format!("/api/v1/incidents/{incident}/assign"), json!({"user": bad["id"]})).await;
    incident
}

impl TestApp {
    fn clock_now(&self) -> jiff::Timestamp {
        firebreak_domain::Clock::now(&*self.clock)
    }
}

#[tokio::test]
async fn every_page_escapes_what_people_and_systems_wrote() {
    let app = TestApp::new().await;
    let incident = hostile_world(&app).await;
    for path in [
        "/incidents".to_owned(),
        "/incidents?status=all".to_owned(),
        format!("/incidents/{incident}"),
        "/services".to_owned(),
        "/services/2".to_owned(),
        "/oncall".to_owned(),
        "/schedules".to_owned(),
        "/schedules/1".to_owned(),
        "/escalation-policies".to_owned(),
        "/escalation-policies/1".to_owned(),
    ] {
        let page = app.page(&path).await;
        assert_escaped(&page);
        assert!(page.text().contains("<nav>"), "{path} has the navigation");
    }
    // The incident page shows the alert, the note, who is assigned, and the pages sent.
    let html = app.page(&format!("/incidents/{incident}")).await.text();
    for id in ["status", "acknowledge", "timeline", "add-note", "alerts", "pages"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no #{id}: {html}");
    }
    // The runbook's Markdown is rendered, and its markup shown as text.
    let html = app.page("/services/2").await.text();
    assert!(html.contains("<h1>Runbook</h1>"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn the_login_page_and_unknown_pages_answer() {
    let app = TestApp::new().await;
    let login = app.anonymous(Method::GET, "/login", None, "").await;
    assert_eq!(login.status, 200);
    assert!(login.text().contains("id=\"login\""));
    let away = app.anonymous(Method::GET, "/incidents", None, "").await;
    assert_eq!((away.status.as_u16(), away.header("location")), (303, "/login"));
    let bad_cookie = app
        .send(
            axum::http::Request::builder()
                .uri("/incidents")
                .header("cookie", "firebreak_session=fbs_wrong")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(bad_cookie.header("location"), "/login?expired=1");
    // An API token is not a password; logging in is tested in `access`.
    let wrong = app
        .anonymous(Method::POST, "/login", Some("application/x-www-form-urlencoded"), "token=fbt_wrong")
        .await;
    assert_eq!(wrong.status, 403, "no login form token");
    let missing = app.page(&format!("/incidents/{}", 999)).await;
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("there is no incident 999"));
    app.stop().await;
}

#[tokio::test]
async fn the_incident_forms_act_and_refuse_a_forged_form() {
    let app = TestApp::new().await;
    let incident = hostile_world(&app).await;
    let act = format!("/incidents/{incident}/act");
    let forged = app.form(&act, &[("csrf", "0123"), ("action", "acknowledge")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.get(&format!("/api/v1/incidents/{incident}")).await.1["status"], "triggered");

    let csrf = app.csrf().await;
    let done = app.form(&act, &[("csrf", &csrf), ("action", "acknowledge")]).await;
    assert_eq!(
        (done.status.as_u16(), done.header("location")),
        (303, format!("/incidents/{incident}").as_str())
    );
    let note = app.form(&act, &[("csrf", &csrf), ("action", "note"), ("text", HOSTILE)]).await;
    assert_eq!(note.status, 303);
    let (_, detail) = app.get(&format!("/api/v1/incidents/{incident}")).await;
    assert_eq!(detail["status"], "acknowledged");
    let notes = detail["timeline"].as_array().unwrap().iter().filter(|e| e["event"] == "note").count();
    assert_eq!(notes, 2);
    let page = app.page(&format!("/incidents/{incident}")).await;
    assert_escaped(&page);
    app.stop().await;
}

/// The signed links in pages: opening one shows a button (escaped), posting it acts, and a forged
/// one opens nothing.
#[tokio::test]
async fn the_link_pages_escape_and_act() {
    let app = TestApp::new().await;
    let incident = hostile_world(&app).await;
    let mut sent = Vec::new();
    for _ in 0..200 {
        sent = app.pages.sent();
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let link = sent.first().expect("the incident was paged").acknowledge_url.clone();
    let path = link.strip_prefix("https://firebreak.example").unwrap();
    let shown = app.anonymous(Method::GET, path, None, "").await;
    assert_escaped(&shown);
    assert!(shown.text().contains("noindex"));
    assert!(!shown.text().contains("<nav>"), "no navigation for someone not logged in");
    assert_eq!(app.get(&format!("/api/v1/incidents/{incident}")).await.1["status"], "triggered");
    let acted = app.anonymous(Method::POST, path, None, "").await;
    assert_escaped(&acted);
    let (_, detail) = app.get(&format!("/api/v1/incidents/{incident}")).await;
    assert_eq!(detail["status"], "acknowledged");
    // Recorded as done by the person the page was sent to.
    let acknowledged =
        detail["timeline"].as_array().unwrap().iter().rev().find(|e| e["event"] == "status_changed").unwrap();
    assert_eq!(acknowledged["actor"].as_str(), Some(sent[0].recipient.as_str()), "{acknowledged}");
    let forged = app.anonymous(Method::GET, &path.replace("ack.", "resolve."), None, "").await;
    assert_eq!(forged.status, 404);
    app.stop().await;
}

/// The incident page says where paging stands: the level paged last, and who is next and when.
#[tokio::test]
async fn the_incident_page_shows_where_paging_stands() {
    let app = TestApp::new().await;
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    let ana = user(&app, "Ana", "ana@example.com").await;
    let bo = user(&app, "Bo", "bo@example.com").await;
    let levels = json!([
        {"timeout_minutes": 5, "targets": [{"type": "user", "id": ana["id"]}]},
        {"timeout_minutes": 10, "targets": [{"type": "user", "id": bo["id"]}]}]);
    let (_, policy) =
        app.post("/api/v1/escalation-policies", json!({"name": "default", "levels": levels})).await;
    app.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": policy["id"]})))
        .await;
    let (_, incident) = app.post("/api/v1/incidents", json!({"title": "slow", "service": "checkout"})).await;
    let id = incident["id"].as_i64().unwrap();
    let mut html = String::new();
    for _ in 0..300 {
        html = app.page(&format!("/incidents/{id}")).await.text();
        if html.contains("Next: level 2") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(html.contains("Paging through <b>default</b>: pass 1 of 1, level 1 of 2 paged."), "{html}");
    assert!(html.contains("Next: level 2 at ") && html.contains("(in 5m) → Bo"), "{html}");
    app.post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({})).await;
    let mut html = String::new();
    for _ in 0..300 {
        html = app.page(&format!("/incidents/{id}")).await.text();
        if html.contains("Paging stopped") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(html.contains("Paging stopped when the incident was acknowledged"), "{html}");
    app.stop().await;
}

/// Escalating now pages the next level at once, from the API and from the incident page, and goes
/// on the timeline; an incident that is not being paged says so.
#[tokio::test]
async fn escalating_now_pages_the_next_level_at_once() {
    let app = TestApp::new().await;
    escalate_now(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn escalating_now_pages_the_next_level_at_once_on_postgres() {
    let Some(app) = TestApp::postgres("escalate_now").await else { return };
    escalate_now(&app).await;
    app.stop().await;
}

async fn escalate_now(app: &TestApp) {
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    let ana = user(app, "Ana", "ana@example.com").await;
    let bo = user(app, "Bo", "bo@example.com").await;
    let cy = user(app, "Cy", "cy@example.com").await;
    let levels = json!([
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": ana["id"]}]},
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": bo["id"]}]},
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": cy["id"]}]}]);
    let (_, policy) =
        app.post("/api/v1/escalation-policies", json!({"name": "default", "levels": levels})).await;
    app.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": policy["id"]})))
        .await;
    let (_, incident) = app.post("/api/v1/incidents", json!({"title": "slow", "service": "checkout"})).await;
    let id = incident["id"].as_i64().unwrap();
    let paged = |name: &'static str| async move {
        for _ in 0..400 {
            if app.pages.sent().iter().any(|page| page.recipient == name) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{name} was not paged: {:?}", app.pages.sent());
    };
    paged("Ana").await;

    let (status, detail) = app.post(&format!("/api/v1/incidents/{id}/escalate"), json!({})).await;
    assert_eq!(status, 200, "{detail}");
    paged("Bo").await;
    let entry =
        detail["timeline"].as_array().unwrap().iter().find(|e| e["event"] == "escalated_now").unwrap();
    assert_eq!(entry["summary"], "escalated now: the wait at level 1 was cut short");

    // From the incident page: level 3 at once.
    let csrf = app.csrf().await;
    let done = app.form(&format!("/incidents/{id}/act"), &[("csrf", &csrf), ("action", "escalate")]).await;
    assert_eq!(done.status, 303, "{}", done.text());
    paged("Cy").await;

    app.post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({})).await;
    let (status, problem) = app.post(&format!("/api/v1/incidents/{id}/escalate"), json!({})).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["detail"],
        format!("incident {id} is acknowledged: only a triggered incident escalates")
    );
}
