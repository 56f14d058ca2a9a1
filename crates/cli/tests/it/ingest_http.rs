//! Ingest over real HTTP, against a server process whose database another process holds locked:
//! push-back when the database cannot keep up, and nothing lost. The answers themselves are tested
//! in-process, in the server's tests.

use std::time::{Duration, Instant};

use firebreak_app::alerts::{BACKLOG_EVENTS_MAX, RETRY_AFTER_SECS};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::{Server, create_token};

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

/// While another process holds the database's write lock, `/readyz` says the process is not
/// ready, and why, within a few seconds; events are still accepted (into the journal), a read
/// answers after a bounded wait, and once the lock is gone the process is ready again and the
/// accepted event can be read.
#[tokio::test]
async fn a_locked_database_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ready.db").display());
    let token = create_token(dir.path(), &database, "ana");
    let server = Server::start(dir.path(), &database).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let url = &server.url;
    let key = &ledger_integration_key(&http, url, &token).await;
    let ready = async || {
        let started = Instant::now();
        let response = http.get(format!("{url}/readyz")).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap(), started.elapsed())
    };
    assert_eq!(ready().await.0, 200);

    let mut lock = sqlx::SqliteConnection::connect(&database).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut lock).await.unwrap();
    let enqueued = http
        .post(format!("{url}/v2/enqueue"))
        .json(&json!({"routing_key": key, "event_action": "trigger", "dedup_key": "lag",
            "payload": {"summary": "replication lag 40s", "source": "db-2", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(enqueued.status().as_u16(), 202, "the journal takes events while the database is locked");
    let (status, body, took) = ready().await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("the database cannot be written"), "{body}");
    assert!(body.contains("1 accepted alert events behind"), "{body}");
    assert!(took < Duration::from_secs(4), "readiness answered in {took:?}");

    // A read after the 202 waits a bounded time for the event, then answers what is stored.
    let started = Instant::now();
    let listed = http.get(format!("{url}/api/v1/incidents")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(listed.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(8), "the read answered in {:?}", started.elapsed());

    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    lock.close().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready().await.0 != 200 {
        assert!(Instant::now() < deadline, "not ready again after the lock went");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let incidents: Value = http
        .get(format!("{url}/api/v1/incidents"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(incidents["incidents"].as_array().map(Vec::len), Some(1), "{incidents}");
}
