//! The ingest endpoints over real HTTP: PagerDuty-compatible answers, webhook batches with a bad
//! alert, wrong keys, oversized bodies, and push-back when the database cannot keep up.

use std::time::{Duration, Instant};

use firebreak_app::alerts::{BACKLOG_EVENTS_MAX, RETRY_AFTER_SECS};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::{Fresh, Server, create_token};

/// Creates the team `db` and its service `ledger`, and returns the service's integration key.
async fn ledger_integration_key(http: &reqwest::Client, url: &str, token: &str) -> String {
    let team =
        http.post(format!("{url}/api/v1/teams")).bearer_auth(token).json(&json!({"name": "db"})).send();
    assert_eq!(team.await.unwrap().status().as_u16(), 201);
    let service: Value = http
        .post(format!("{url}/api/v1/services"))
        .bearer_auth(token)
        .json(&json!({"name": "ledger", "team": "db", "description": "the ledger"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    service["integration_key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pagerduty_and_webhooks_answer_like_their_originals() {
    let Fresh { dir: _dir, token, server } = Fresh::start("ingest.db", "ana").await;
    let http = reqwest::Client::new();
    let url = &server.url;
    let key = &ledger_integration_key(&http, url, &token).await;

    let enqueue = |body: Value| http.post(format!("{url}/v2/enqueue")).json(&body).send();
    let trigger = json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": "replication lag 40s", "source": "db-2", "severity": "error", "class": "replication"}});
    let response = enqueue(trigger.clone()).await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    assert!(!response.headers()["x-request-id"].is_empty(), "ingest answers carry a request id too");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["message"], "Event processed");
    let dedup_key = answer["dedup_key"].as_str().unwrap().to_owned();
    assert!(!dedup_key.is_empty(), "a dedup key is made up when none is given");

    let response =
        enqueue(json!({"routing_key": key, "event_action": "trigger", "payload": {"severity": "bad"}}))
            .await
            .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "invalid event");
    assert!(answer["errors"].as_array().unwrap().len() >= 2, "every invalid field is named: {answer}");

    let response = enqueue(json!({"routing_key": "fbk_wrong", "event_action": "trigger",
        "payload": {"summary": "x", "source": "y", "severity": "info"}}))
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["errors"][0], "'routing_key' is invalid: no service has this integration key");

    let big = format!("{{\"routing_key\":\"{key}\",\"padding\":\"{}\"}}", "x".repeat(600 * 1024));
    let response = http
        .post(format!("{url}/v2/enqueue"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert_eq!(response.headers()["connection"], "close", "the unread body leaves the connection unusable");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "invalid event");
    assert_eq!(answer["errors"][0], "the body is larger than the limit of 524288 bytes");

    // Only POST is served there; a GET is told so, as on any other route.
    let response = http.get(format!("{url}/v2/enqueue")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["detail"], "GET is not allowed on /v2/enqueue");
    // Every answer above is counted under its route.
    let metrics = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
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
    let response =
        http.post(format!("{url}/api/v1/ingest/alertmanager/{key}")).json(&webhook).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["rejected"].as_array().unwrap().len(), 1);

    let response =
        http.post(format!("{url}/api/v1/ingest/grafana/fbk_wrong")).json(&webhook).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let response = http
        .post(format!("{url}/api/v1/ingest/alertmanager/{key}"))
        .header("content-type", "application/json")
        .body("{\"alerts\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // Both alerts joined one incident of the service; the PagerDuty one kept its class label.
    let page: Value = http
        .get(format!("{url}/api/v1/incidents?status=open"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let incidents = page["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{page}");
    assert_eq!(incidents[0]["kind"], "signal");
    assert_eq!(incidents[0]["severity"], "SEV2");
    let id = incidents[0]["id"].as_i64().unwrap();
    let alerts: Value = http
        .get(format!("{url}/api/v1/incidents/{id}/alerts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: Vec<&str> =
        alerts.as_array().unwrap().iter().map(|a| a["dedup_key"].as_str().unwrap()).collect();
    assert_eq!(keys, [dedup_key.as_str(), "f1"]);
    assert_eq!(alerts[0]["labels"]["class"], "replication");

    // Resolving both resolves the incident.
    enqueue(json!({"routing_key": key, "event_action": "resolve", "dedup_key": dedup_key})).await.unwrap();
    let mut resolved = webhook.clone();
    resolved["alerts"] = json!([{"status": "resolved", "labels": {"alertname": "DiskFull", "instance": "db-1"},
        "annotations": {}, "startsAt": "2026-11-23T10:00:00Z", "endsAt": "2026-11-23T10:05:00Z", "fingerprint": "f1"}]);
    http.post(format!("{url}/api/v1/ingest/alertmanager/{key}")).json(&resolved).send().await.unwrap();
    let detail: Value = http
        .get(format!("{url}/api/v1/incidents/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["status"], "resolved", "{detail}");
    server.stop();
}

/// When the database cannot take writes (here another process holds its write lock, as a long
/// backup might), accepted events pile up in the journal until `BACKLOG_EVENTS_MAX`; then ingest
/// answers `429` with `Retry-After` after a bounded wait, on both formats, instead of making
/// senders wait for good. Once the database is writable, every event answered `202` is stored and
/// ingest accepts again.
#[tokio::test]
async fn a_database_that_cannot_keep_up_gets_429s_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ingest.db");
    let database = format!("sqlite:{}", file.display());
    let token = create_token(dir.path(), &database, "ana");
    let server = Server::start(dir.path(), &database).await;
    // Without push-back a request would wait for the database: fail instead of hanging.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let url = &server.url;
    let key = &ledger_integration_key(&http, url, &token).await;

    let mut lock = sqlx::SqliteConnection::connect(&database).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut lock).await.unwrap();

    let webhook = |batch: usize| {
        let alerts: Vec<Value> = (0..1000)
            .map(|n| {
                json!({"status": "firing", "labels": {"alertname": "Lag", "n": format!("{batch}-{n}")},
                "startsAt": "2026-11-23T10:00:00Z", "fingerprint": format!("{batch}-{n}")})
            })
            .collect();
        http.post(format!("{url}/api/v1/ingest/alertmanager/{key}"))
            .json(&json!({"version": "4", "status": "firing", "alerts": alerts}))
            .send()
    };
    let mut accepted = 0;
    let refused = loop {
        let response = webhook(accepted / 1000).await.unwrap();
        match response.status().as_u16() {
            202 => accepted += 1000,
            429 => break response,
            other => panic!("webhook answered {other}: {}", response.text().await.unwrap()),
        }
        assert!(accepted <= 2 * BACKLOG_EVENTS_MAX, "no push-back after {accepted} events");
    };
    assert_eq!(
        accepted, BACKLOG_EVENTS_MAX,
        "the journal takes events until the database is this far behind"
    );
    assert_eq!(refused.headers()["retry-after"], RETRY_AFTER_SECS.to_string().as_str());
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let problem: Value = refused.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("retry"), "{problem}");

    let enqueue = |dedup_key: &str| {
        http.post(format!("{url}/v2/enqueue"))
            .json(&json!({"routing_key": key, "event_action": "trigger", "dedup_key": dedup_key,
                "payload": {"summary": "replication lag 40s", "source": "db-2", "severity": "error"}}))
            .send()
    };
    let started = Instant::now();
    let refused = enqueue("late").await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(started.elapsed() < Duration::from_secs(5), "push-back comes after a bounded wait");
    assert_eq!(refused.headers()["retry-after"], RETRY_AFTER_SECS.to_string().as_str());
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["status"], "throttle event");

    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    lock.close().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.lines().any(|line| line == "firebreak_ingest_backlog_events 0") {
            break;
        }
        assert!(Instant::now() < deadline, "the database did not catch up:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(enqueue("in time").await.unwrap().status().as_u16(), 202);
    server.stop();

    let mut check = sqlx::SqliteConnection::connect(&database).await.unwrap();
    let (stored,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM alerts").fetch_one(&mut check).await.unwrap();
    assert_eq!(stored as usize, BACKLOG_EVENTS_MAX + 1, "every event answered 202 is stored, once");
    let (late,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM alerts WHERE dedup_key = 'late'")
        .fetch_one(&mut check)
        .await
        .unwrap();
    assert_eq!(late, 0, "an event answered 429 is not stored");
}
