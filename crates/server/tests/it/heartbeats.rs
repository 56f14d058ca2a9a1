//! Heartbeat checks through their Healthchecks-compatible ping URLs and the API: states, alerts of
//! kind `silent` opened and resolved, run times, slugs, bodies, and the answers Healthchecks gives.

use axum::body::Body;
use axum::http::{Method, Request};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::support::{Answer, TestApp};

async fn service(api: &TestApp) {
    api.post("/api/v1/teams", json!({"name": "ops"})).await;
    let (status, body) = api
        .post("/api/v1/services", json!({"name": "backups", "team": "ops", "description": "nightly jobs"}))
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn ping(api: &TestApp, method: Method, path: &str, body: &str) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("user-agent", "curl/8.5.0")
        .body(Body::from(body.to_owned()))
        .unwrap();
    api.send(request).await
}

fn path_of(url: &Value) -> String {
    let url = url.as_str().unwrap();
    url[url.find("/ping/").unwrap()..].to_owned()
}

async fn status(api: &TestApp, id: i64) -> String {
    api.app.watch_heartbeats().await.unwrap();
    let (_, check) = api.get(&format!("/api/v1/heartbeats/{id}")).await;
    check["status"].as_str().unwrap().to_owned()
}

async fn silent_incidents(api: &TestApp) -> Vec<(String, String)> {
    let (_, incidents) = api.get("/api/v1/incidents?status=all&kind=silent").await;
    incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|incident| incident["kind"] == "silent")
        .map(|incident| {
            (incident["status"].as_str().unwrap().to_owned(), incident["title"].as_str().unwrap().to_owned())
        })
        .collect()
}

async fn walk(api: TestApp) {
    service(&api).await;
    let (code, check) = api
        .post(
            "/api/v1/heartbeats",
            json!({"name": "Nightly backup", "service": "backups", "period_seconds": 3600, "grace_seconds": 600}),
        )
        .await;
    assert_eq!(code, 201, "{check}");
    assert_eq!((check["slug"].as_str(), check["status"].as_str()), (Some("nightly-backup"), Some("new")));
    let id = check["id"].as_i64().unwrap();
    let url = path_of(&check["ping_url"]);

    // new → up, with a run timed from its start.
    let answer = ping(&api, Method::GET, &format!("{url}/start?rid=run-1"), "").await;
    assert_eq!((answer.status.as_u16(), answer.text()), (200, "OK".to_owned()));
    assert_eq!(answer.header("ping-body-limit"), "100000");
    api.clock.advance(SignedDuration::from_secs(42));
    let answer = ping(&api, Method::POST, &format!("{url}?rid=run-1"), "backed up 12 GB").await;
    assert_eq!(answer.status, 200);
    assert_eq!(status(&api, id).await, "up");
    let (_, check) = api.get(&format!("/api/v1/heartbeats/{id}")).await;
    let pings = check["pings"].as_array().unwrap();
    assert_eq!(pings.len(), 2);
    assert_eq!(
        (&pings[0]["kind"], &pings[0]["duration_ms"], &pings[0]["body"], &pings[0]["user_agent"]),
        (&json!("success"), &json!(42_000), &json!("backed up 12 GB"), &json!("curl/8.5.0"))
    );

    // up → late → down: an alert of kind silent opens an incident.
    api.clock.advance(SignedDuration::from_mins(65));
    assert_eq!(status(&api, id).await, "late");
    assert!(silent_incidents(&api).await.is_empty());
    api.clock.advance(SignedDuration::from_mins(6));
    assert_eq!(status(&api, id).await, "down");
    let incidents = silent_incidents(&api).await;
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].0, "triggered");
    assert!(incidents[0].1.contains("Heartbeat Nightly backup is down: no ping since"), "{incidents:?}");
    // Looking again raises nothing more.
    assert_eq!(status(&api, id).await, "down");
    assert_eq!(silent_incidents(&api).await.len(), 1);

    // down → up: the next success resolves it.
    assert_eq!(ping(&api, Method::HEAD, &url, "").await.status, 200);
    assert_eq!(status(&api, id).await, "up");
    assert_eq!(silent_incidents(&api).await[0].0, "resolved");

    // An exit status: 0 is success, anything else a failure, which is down at once.
    assert_eq!(ping(&api, Method::GET, &format!("{url}/0"), "").await.status, 200);
    assert_eq!(ping(&api, Method::GET, &format!("{url}/256"), "").await.status, 400);
    assert_eq!(ping(&api, Method::GET, &format!("{url}/nope"), "").await.status, 400);
    assert_eq!(ping(&api, Method::POST, &format!("{url}/3"), "disk full").await.status, 200);
    assert_eq!(status(&api, id).await, "down");
    let incidents = silent_incidents(&api).await;
    assert_eq!(incidents.len(), 2, "{incidents:?}");
    assert!(
        incidents
            .iter()
            .any(|(status, title)| status == "triggered" && title == "Heartbeat Nightly backup failed")
    );
    assert_eq!(ping(&api, Method::GET, &format!("{url}/log"), "still failing?").await.status, 200);
    assert_eq!(status(&api, id).await, "down");
    assert_eq!(ping(&api, Method::GET, &url, "").await.status, 200);
    assert_eq!(status(&api, id).await, "up");
    assert!(silent_incidents(&api).await.iter().all(|(status, _)| status == "resolved"));

    // Pausing expects nothing; a ping resumes.
    let (code, paused) = api.post(&format!("/api/v1/heartbeats/{id}/pause"), json!({})).await;
    assert_eq!((code, paused["status"].as_str()), (200, Some("paused")));
    api.clock.advance(SignedDuration::from_hours(5));
    assert_eq!(status(&api, id).await, "paused");
    assert_eq!(ping(&api, Method::GET, &url, "").await.status, 200);
    assert_eq!(status(&api, id).await, "up");

    // The service's heartbeats page shows the check's state and a bar of its pings.
    let (_, services) = api.get("/api/v1/services").await;
    let service = services[0]["id"].as_i64().unwrap();
    let page = api.page(&format!("/services/{service}/heartbeats")).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("status hb-up") && html.contains(&url), "{html}");
    assert_eq!(html.matches(r#"<span class="ok""#).count(), 5, "{html}");
    assert_eq!(html.matches(r#"<span class="log""#).count(), 1, "{html}");
    assert_eq!(html.matches(r#"<span class="fail""#).count(), 1, "{html}");
    assert_eq!(html.matches(r#"<span class="start""#).count(), 1, "{html}");

    // Unknown checks and malformed URLs answer as Healthchecks does.
    let unknown = "/ping/5c6e2c2d-7c4c-4c1b-9d5b-1e1e1e1e1e1e";
    let answer = ping(&api, Method::GET, unknown, "").await;
    assert_eq!((answer.status.as_u16(), answer.text()), (404, "not found".to_owned()));
    assert_eq!(ping(&api, Method::GET, &format!("{url}?rid=has%20space"), "").await.status, 400);
}

#[tokio::test]
async fn a_check_goes_new_up_late_down_up_and_its_silent_incident_opens_and_resolves() {
    walk(TestApp::new().await).await;
    if let Some(api) = TestApp::postgres("heartbeats_walk").await {
        walk(api).await;
    }
}

#[tokio::test]
async fn slug_urls_find_and_create_checks_and_failures_in_a_row_wait_their_number() {
    let api = TestApp::new().await;
    service(&api).await;
    let (code, check) = api
        .post(
            "/api/v1/heartbeats",
            json!({"name": "etl", "service": "backups", "cron": "0 3 * * *", "time_zone": "Europe/Berlin",
                   "grace_seconds": 3600, "failures_to_alert": 3, "severity": "SEV2"}),
        )
        .await;
    assert_eq!(code, 201, "{check}");
    assert_eq!(
        (check["cron"].as_str(), check["time_zone"].as_str()),
        (Some("0 3 * * *"), Some("Europe/Berlin"))
    );
    let id = check["id"].as_i64().unwrap();
    let slug_url = path_of(&check["slug_url"]);
    assert!(slug_url.ends_with("/etl"), "{slug_url}");
    for n in 1..=2 {
        assert_eq!(ping(&api, Method::GET, &format!("{slug_url}/fail"), "").await.status, 200);
        assert_eq!(status(&api, id).await, "up", "after {n} failures");
    }
    assert_eq!(ping(&api, Method::GET, &format!("{slug_url}/1"), "").await.status, 200);
    assert_eq!(status(&api, id).await, "down");
    let incidents = silent_incidents(&api).await;
    assert_eq!(incidents, [("triggered".to_owned(), "Heartbeat etl failed 3 times in a row".to_owned())]);

    // An unknown slug is not found, unless the ping asks to create it.
    let key_path = slug_url.trim_end_matches("/etl");
    assert_eq!(ping(&api, Method::GET, &format!("{key_path}/reindex"), "").await.status, 404);
    assert_eq!(ping(&api, Method::GET, &format!("{key_path}/reindex?create=1"), "").await.status, 200);
    let (_, checks) = api.get("/api/v1/heartbeats?service=backups").await;
    let made = checks.as_array().unwrap().iter().find(|check| check["slug"] == "reindex").unwrap();
    assert_eq!((made["status"].as_str(), made["period_seconds"].as_i64()), (Some("up"), Some(86_400)));
    assert_eq!(ping(&api, Method::GET, "/ping/not-a-key/reindex", "").await.status, 404);

    // Deleting a down check resolves its alert; its URL is then unknown.
    let answer = api.call(Method::DELETE, &format!("/api/v1/heartbeats/{id}"), None).await;
    assert_eq!(answer.0, 204);
    assert_eq!(silent_incidents(&api).await[0].0, "resolved");
    assert_eq!(ping(&api, Method::GET, &slug_url, "").await.status, 404);
    assert_eq!(ping(&api, Method::GET, &path_of(&check["ping_url"]), "").await.status, 404);
}

#[tokio::test]
async fn old_pings_are_pruned_and_the_newest_kept() {
    let api = TestApp::new().await;
    service(&api).await;
    let body = json!({"name": "busy", "service": "backups", "period_seconds": 60, "grace_seconds": 60});
    let (_, check) = api.post("/api/v1/heartbeats", body).await;
    let url = path_of(&check["ping_url"]);
    for n in 0..260 {
        assert_eq!(ping(&api, Method::POST, &url, &format!("run {n}")).await.status, 200);
    }
    let (_, check) = api.get(&format!("/api/v1/heartbeats/{}", check["id"])).await;
    let bodies: Vec<&str> =
        check["pings"].as_array().unwrap().iter().map(|p| p["body"].as_str().unwrap()).collect();
    let newest: Vec<String> = (210..260).rev().map(|n| format!("run {n}")).collect();
    assert_eq!(bodies, newest);
}

#[tokio::test]
async fn bad_checks_are_refused_naming_the_field() {
    let api = TestApp::new().await;
    service(&api).await;
    for (body, says) in [
        (
            json!({"name": "a", "service": "backups", "grace_seconds": 600}),
            "exactly one of period_seconds and cron",
        ),
        (
            json!({"name": "a", "service": "backups", "period_seconds": 30, "grace_seconds": 600}),
            "period_seconds",
        ),
        (json!({"name": "a", "service": "backups", "cron": "61 * * * *", "grace_seconds": 600}), "cron"),
        (
            json!({"name": "a", "service": "backups", "cron": "0 3 * * *", "time_zone": "Mars/Base", "grace_seconds": 600}),
            "time_zone",
        ),
        (
            json!({"name": "a", "service": "backups", "period_seconds": 60, "grace_seconds": 1}),
            "grace_seconds",
        ),
        (
            json!({"name": "a", "service": "backups", "period_seconds": 60, "grace_seconds": 60, "failures_to_alert": 0}),
            "failures_to_alert",
        ),
        (
            json!({"name": "a", "service": "backups", "slug": "Not OK", "period_seconds": 60, "grace_seconds": 60}),
            "slug",
        ),
    ] {
        let (code, problem) = api.post("/api/v1/heartbeats", body.clone()).await;
        assert_eq!(code, 422, "{body}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(says), "{body}: {problem}");
    }
    let (code, _) = api
        .post(
            "/api/v1/heartbeats",
            json!({"name": "a", "service": "nope", "period_seconds": 60, "grace_seconds": 60}),
        )
        .await;
    assert_eq!(code, 404);
    let body = json!({"name": "a", "service": "backups", "period_seconds": 60, "grace_seconds": 60});
    assert_eq!(api.post("/api/v1/heartbeats", body.clone()).await.0, 201);
    assert_eq!(api.post("/api/v1/heartbeats", body).await.0, 409);
}
