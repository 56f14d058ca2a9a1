//! The ingest endpoints over real HTTP: PagerDuty-compatible answers, webhook batches with a bad
//! alert, wrong keys, oversized bodies.

use serde_json::{Value, json};

use crate::support::{Server, create_token};

#[tokio::test]
async fn pagerduty_and_webhooks_answer_like_their_originals() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let token = create_token(dir.path(), &database, "ana");
    let server = Server::start(dir.path(), &database).await;
    let http = reqwest::Client::new();
    let url = &server.url;
    http.post(format!("{url}/api/v1/teams"))
        .bearer_auth(&token)
        .json(&json!({"name": "db"}))
        .send()
        .await
        .unwrap();
    let service: Value = http
        .post(format!("{url}/api/v1/services"))
        .bearer_auth(&token)
        .json(&json!({"name": "ledger", "team": "db", "description": "the ledger"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = service["integration_key"].as_str().unwrap();

    let enqueue = |body: Value| http.post(format!("{url}/v2/enqueue")).json(&body).send();
    let trigger = json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": "replication lag 40s", "source": "db-2", "severity": "error", "class": "replication"}});
    let response = enqueue(trigger.clone()).await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
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
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "invalid event");
    assert_eq!(answer["errors"][0], "the body is larger than the limit of 524288 bytes");

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
