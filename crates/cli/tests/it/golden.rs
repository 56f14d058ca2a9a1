//! Golden signals end to end with a real Prometheus: polled samples go through the detector; a
//! sustained shift is recorded as an anomaly and opens an incident whose page shows "What moved".
//! Pushed samples are tested in-process, in the server's tests.

use std::time::{Duration, Instant};

use firebreak_app::testing::wobble;
use serde_json::json;

use crate::support::{Api, Server, create_token, skipped};

async fn setup(dir: &std::path::Path, extra: &[&str]) -> (Server, Api) {
    let database = format!("sqlite:{}", dir.join("golden.db").display());
    let token = create_token(dir, &database, "ana");
    let server = Server::start_with(dir, &database, extra).await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token };
    api.call(reqwest::Method::POST, "/api/v1/teams", Some(json!({"name": "web"}))).await;
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/services",
            Some(json!({"name": "checkout", "team": "web", "description": "pays"})),
        )
        .await;
    assert_eq!(status, 201);
    (server, api)
}

/// Serves `latency_seconds VALUE` in the Prometheus text format; the value is what the test sets.
async fn target(value: std::sync::Arc<std::sync::Mutex<f64>>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut count = 0u64;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            count += 1;
            let current = *value.lock().unwrap() + 0.002 * wobble(count);
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let body = format!("# TYPE latency_seconds gauge\nlatency_seconds {current}\n");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn prometheus_backed_latency_shift_opens_an_incident() {
    let prometheus = std::path::Path::new("/usr/bin/prometheus");
    if !prometheus.exists() {
        assert_ne!(
            std::env::var("FIREBREAK_PROMETHEUS_TESTS").as_deref(),
            Ok("required"),
            "prometheus is required (apt-get install prometheus)"
        );
        skipped("prometheus_backed_latency_shift_opens_an_incident: skipped: prometheus is not installed");
        return;
    }
    let value = std::sync::Arc::new(std::sync::Mutex::new(0.1));
    let target_port = target(value.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let prometheus_port = crate::support::free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: target\n    \
             static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let prometheus_url = format!("http://127.0.0.1:{prometheus_port}");
    let (server, api) = setup(dir.path(), &["--prometheus-url", &prometheus_url]).await;
    let (status, _) = api
        .call(
            reqwest::Method::PUT,
            "/api/v1/services/checkout/golden-signals/latency",
            Some(json!({"query": "latency_seconds", "step_seconds": 1, "open_incident": true})),
        )
        .await;
    assert_eq!(status, 200);

    // Let the detector learn normal latency from what Prometheus scraped, then shift it.
    let learn = Duration::from_secs(45);
    tokio::time::sleep(learn).await;
    let (_, anomalies) = api.call(reqwest::Method::GET, "/api/v1/services/checkout/anomalies", None).await;
    let before = anomalies.as_array().map_or(0, Vec::len);
    *value.lock().unwrap() = 0.5;
    let shifted = Instant::now();
    let mut recorded = None;
    let found = loop {
        let (_, anomalies) =
            api.call(reqwest::Method::GET, "/api/v1/services/checkout/anomalies", None).await;
        let list = anomalies.as_array().cloned().unwrap_or_default();
        if list.len() > before && recorded.is_none() {
            recorded = Some(shifted.elapsed());
        }
        if list.len() > before && list.last().unwrap()["incident_id"].is_number() {
            break list.last().unwrap().clone();
        }
        if shifted.elapsed() > Duration::from_secs(20) {
            let targets =
                reqwest::get(format!("{prometheus_url}/api/v1/targets")).await.unwrap().text().await.unwrap();
            panic!("no anomaly incident 20 s after the shift: {anomalies}; Prometheus targets: {targets}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let latency = shifted.elapsed();
    crate::support::note(&format!(
        "prometheus_backed_latency_shift_opens_an_incident: anomaly recorded {recorded:?}, incident opened {latency:?} \
         after the target shifted (1 s scrape and poll intervals)"
    ));
    assert!(found["observed"].as_f64().unwrap() > 0.4, "{found}");
    // Two poll intervals (1 s each) plus Prometheus's own scrape interval and staleness.
    assert!(latency < Duration::from_secs(6), "found after {latency:?}");
    let _ = child.kill();
    let _ = child.wait();
    server.stop();
}

/// A real Prometheus scrapes firebreak's own `/metrics` and reads its series.
#[tokio::test]
async fn prometheus_scrapes_firebreaks_metrics() {
    let prometheus = std::path::Path::new("/usr/bin/prometheus");
    if !prometheus.exists() {
        assert_ne!(
            std::env::var("FIREBREAK_PROMETHEUS_TESTS").as_deref(),
            Ok("required"),
            "prometheus is required (apt-get install prometheus)"
        );
        skipped("prometheus_scrapes_firebreaks_metrics: skipped: prometheus is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (server, _api) = setup(dir.path(), &[]).await;
    let target = server.url.trim_start_matches("http://").to_owned();
    let prometheus_port = crate::support::free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: firebreak\n    \
             static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let query = |expr: &str| {
        let url = format!("http://127.0.0.1:{prometheus_port}/api/v1/query");
        let expr = expr.to_owned();
        async move {
            let answer = reqwest::Client::new().get(url).query(&[("query", expr)]).send().await.ok()?;
            let body: serde_json::Value = answer.json().await.ok()?;
            body["data"]["result"].as_array().cloned().filter(|result| !result.is_empty())
        }
    };
    let started = Instant::now();
    let series = loop {
        if let Some(series) = query("firebreak_http_requests_total").await {
            break series;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let targets = reqwest::get(format!("http://127.0.0.1:{prometheus_port}/api/v1/targets"))
                .await
                .map(|r| r.status().to_string())
                .unwrap_or_default();
            panic!("Prometheus read no firebreak_http_requests_total in 30 s; targets: {targets}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(series.iter().any(|s| s["metric"]["route"] == "/api/v1/services"), "{series:?}");
    let up = query("up{job=\"firebreak\"}").await.unwrap();
    assert_eq!(up[0]["value"][1], "1", "{up:?}");
    for name in [
        "firebreak_incidents",
        "firebreak_ingest_backlog_events",
        "firebreak_http_request_duration_seconds_bucket",
    ] {
        assert!(query(name).await.is_some(), "Prometheus has no {name}");
    }
    let _ = child.kill();
    let _ = child.wait();
    server.stop();
}
