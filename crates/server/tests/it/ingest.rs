//! The ingest endpoints: PagerDuty-compatible answers, webhook batches with a bad alert, wrong
//! keys, oversized bodies, and what the metrics count of them.

use axum::http::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

/// Creates the team `db` and its service `ledger`, and returns the service's integration key.
async fn ledger_integration_key(app: &TestApp) -> String {
    assert_eq!(app.post("/api/v1/teams", json!({"name": "db"})).await.0, 201);
    let (status, service) = app
        .post("/api/v1/services", json!({"name": "ledger", "team": "db", "description": "the ledger"}))
        .await;
    assert_eq!(status, 201, "{service}");
    service["integration_key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pagerduty_and_webhooks_answer_like_their_originals() {
    let app = TestApp::new().await;
    let key = &ledger_integration_key(&app).await;
    let enqueue = |body: Value| {
        let app = &app;
        async move {
            app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &body.to_string()).await
        }
    };

    let trigger = json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": "replication lag 40s", "source": "db-2", "severity": "error", "class": "replication"}});
    let answer = enqueue(trigger.clone()).await;
    assert_eq!(answer.status, 202);
    assert!(!answer.header("x-request-id").is_empty(), "ingest answers carry a request id too");
    let body = answer.json();
    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "Event processed");
    let dedup_key = body["dedup_key"].as_str().unwrap().to_owned();
    assert!(!dedup_key.is_empty(), "a dedup key is made up when none is given");

    let answer =
        enqueue(json!({"routing_key": key, "event_action": "trigger", "payload": {"severity": "bad"}})).await;
    assert_eq!(answer.status, 400);
    let body = answer.json();
    assert_eq!(body["status"], "invalid event");
    assert!(body["errors"].as_array().unwrap().len() >= 2, "every invalid field is named: {body}");

    let answer = enqueue(json!({"routing_key": "fbk_wrong", "event_action": "trigger",
        "payload": {"summary": "x", "source": "y", "severity": "info"}}))
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["errors"][0], "'routing_key' is invalid: no service has this integration key");

    let big = format!("{{\"routing_key\":\"{key}\",\"padding\":\"{}\"}}", "x".repeat(600 * 1024));
    let answer = app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &big).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.header("connection"), "close", "the unread body leaves the connection unusable");
    let body = answer.json();
    assert_eq!(body["status"], "invalid event");
    assert_eq!(body["errors"][0], "the body is larger than the limit of 524288 bytes");

    // Only POST is served there; a GET is told so, as on any other route.
    let answer = app.anonymous(Method::GET, "/v2/enqueue", None, "").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.json()["detail"], "GET is not allowed on /v2/enqueue");
    // Every answer above is counted under its route.
    let metrics = app.anonymous(Method::GET, "/metrics", None, "").await.text();
    for (status, count) in [(202, 1), (400, 2), (413, 1)] {
        let line = format!(
            "firebreak_http_requests_total{{method=\"POST\",route=\"/v2/enqueue\",status=\"{status}\"}} {count}\n"
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    assert!(
        metrics.contains(
            "firebreak_http_requests_total{method=\"GET\",route=\"/v2/enqueue\",status=\"405\"} 1\n"
        )
    );

    let webhook = json!({"version": "4", "status": "firing", "receiver": "firebreak", "groupKey": "{}:{}",
    "alerts": [
        {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "db-1"},
         "annotations": {"summary": "disk 97% full"}, "startsAt": "2026-11-23T10:00:00Z", "fingerprint": "f1"},
        "not an alert",
    ]});
    let alertmanager = format!("/api/v1/ingest/alertmanager/{key}");
    let answer =
        app.anonymous(Method::POST, &alertmanager, Some("application/json"), &webhook.to_string()).await;
    assert_eq!(answer.status, 202);
    let body = answer.json();
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["rejected"].as_array().unwrap().len(), 1);

    let answer = app
        .anonymous(
            Method::POST,
            "/api/v1/ingest/grafana/fbk_wrong",
            Some("application/json"),
            &webhook.to_string(),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("content-type"), "application/problem+json");
    let answer = app.anonymous(Method::POST, &alertmanager, Some("application/json"), "{\"alerts\": [").await;
    assert_eq!(answer.status, 400);

    // Both alerts joined one incident of the service; the PagerDuty one kept its class label.
    let (_, page) = app.get("/api/v1/incidents?status=open").await;
    let incidents = page["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{page}");
    assert_eq!(incidents[0]["kind"], "signal");
    assert_eq!(incidents[0]["severity"], "SEV2");
    let id = incidents[0]["id"].as_i64().unwrap();
    let (_, alerts) = app.get(&format!("/api/v1/incidents/{id}/alerts")).await;
    let keys: Vec<&str> =
        alerts.as_array().unwrap().iter().map(|a| a["dedup_key"].as_str().unwrap()).collect();
    assert_eq!(keys, [dedup_key.as_str(), "f1"]);
    assert_eq!(alerts[0]["labels"]["class"], "replication");

    // Resolving both resolves the incident.
    enqueue(json!({"routing_key": key, "event_action": "resolve", "dedup_key": dedup_key})).await;
    let mut resolved = webhook.clone();
    resolved["alerts"] = json!([{"status": "resolved", "labels": {"alertname": "DiskFull", "instance": "db-1"},
        "annotations": {}, "startsAt": "2026-11-23T10:00:00Z", "endsAt": "2026-11-23T10:05:00Z", "fingerprint": "f1"}]);
    app.anonymous(Method::POST, &alertmanager, Some("application/json"), &resolved.to_string()).await;
    let (_, detail) = app.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(detail["status"], "resolved", "{detail}");
    app.stop().await;
}

/// An alert that fires again after a person resolved its incident opens a new incident and pages
/// (it was counted as a repeat on the resolved incident, and paged nobody).
#[tokio::test]
async fn a_re_fire_after_a_manual_resolve_pages_again() {
    let app = TestApp::new().await;
    let key = ledger_integration_key(&app).await;
    let (_, user) = app.post("/api/v1/users", json!({"name": "ana", "email": "ana@example.com"})).await;
    let methods = format!("/api/v1/users/{}/contact-methods", user["id"]);
    app.post(&methods, json!({"type": "webhook", "address": "https://hooks.example/ana"})).await;
    let levels = json!([{"timeout_minutes": 5, "targets": [{"type": "user", "id": user["id"]}]}]);
    let (_, policy) =
        app.post("/api/v1/escalation-policies", json!({"name": "default", "levels": levels})).await;
    app.call(Method::PATCH, "/api/v1/services/ledger", Some(json!({"escalation_policy": policy["id"]})))
        .await;
    let fire = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "disk",
        "payload": {"summary": "disk full", "source": "db-1", "severity": "critical"}})
    .to_string();

    let pages_for = |incident: i64| {
        let app = &app;
        async move {
            for _ in 0..200 {
                let (_, notifications) =
                    app.get(&format!("/api/v1/incidents/{incident}/notifications")).await;
                if notifications.as_array().is_some_and(|n| n.iter().any(|n| n["status"] == "delivered")) {
                    return notifications;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("incident {incident} was not paged");
        }
    };
    assert_eq!(app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &fire).await.status, 202);
    let (_, page) = app.get("/api/v1/incidents").await;
    let first = page["incidents"][0]["id"].as_i64().unwrap();
    pages_for(first).await;
    assert_eq!(app.post(&format!("/api/v1/incidents/{first}/resolve"), json!({})).await.0, 200);

    assert_eq!(app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &fire).await.status, 202);
    let (_, page) = app.get("/api/v1/incidents?status=open").await;
    let incidents = page["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "the re-fire opened an incident: {page}");
    let second = incidents[0]["id"].as_i64().unwrap();
    assert_ne!(second, first);
    assert_eq!(incidents[0]["severity"], "SEV1");
    pages_for(second).await;
    app.stop().await;
}

/// PagerDuty accepts `/v2/enqueue/` too, and some clients (`pypd`) post there.
#[tokio::test]
async fn enqueue_takes_a_trailing_slash() {
    let app = TestApp::new().await;
    let key = ledger_integration_key(&app).await;
    let event = serde_json::json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": "disk full", "source": "db-1", "severity": "warning"}});
    let answer =
        app.anonymous(Method::POST, "/v2/enqueue/", Some("application/json"), &event.to_string()).await;
    assert_eq!(answer.status, 202, "{}", answer.text());
    assert_eq!(answer.json()["status"], "success");
    app.stop().await;
}

/// What a sender says besides the summary reaches the responder: links, custom details and the
/// sender's time, in the API and on the incident page.
#[tokio::test]
async fn an_alerts_links_details_and_time_are_shown() {
    let app = TestApp::new().await;
    let key = ledger_integration_key(&app).await;
    let event = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "disk",
        "payload": {"summary": "disk 95% full", "source": "db-1", "severity": "critical",
            "timestamp": "2026-03-02T07:55:00Z", "custom_details": {"free": "2 GB", "mount": "/var"}},
        "links": [{"href": "https://grafana.example/d/disk", "text": "Disk dashboard"}]});
    let answer =
        app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &event.to_string()).await;
    assert_eq!(answer.status, 202, "{}", answer.text());
    let (_, incidents) = app.get("/api/v1/incidents").await;
    let incident = incidents["incidents"][0]["id"].as_i64().unwrap();
    let (status, alerts) = app.get(&format!("/api/v1/incidents/{incident}/alerts")).await;
    assert_eq!(status, 200);
    let alert = &alerts[0];
    assert_eq!(alert["links"], json!([{"title": "Disk dashboard", "url": "https://grafana.example/d/disk"}]));
    assert_eq!(alert["details"]["custom_details"], json!({"free": "2 GB", "mount": "/var"}));
    assert_eq!(alert["occurred_at"], "2026-03-02T07:55:00Z");
    assert_eq!(alert["labels"]["mount"], "/var", "one-line custom details are labels");

    let html = app.page(&format!("/incidents/{incident}")).await.text();
    assert!(
        html.contains(
            r#"<a href="https://grafana.example/d/disk" rel="noopener noreferrer">Disk dashboard</a>"#
        ),
        "{html}"
    );
    assert!(
        html.contains("&quot;free&quot;: &quot;2 GB&quot;") || html.contains("\"free\": \"2 GB\""),
        "{html}"
    );
    assert!(html.contains("mount=/var"), "{html}");
    app.stop().await;
}
