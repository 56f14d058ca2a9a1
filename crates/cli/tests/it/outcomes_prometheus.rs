//! An expected-outcome rule reading its event from a real Prometheus: a test target serves a
//! counter that Prometheus scrapes every second, and the rule `at least 5 payment_captured per 1m`
//! counts it by `sum(increase(payments_captured_total[$window]))`. While the counter rises the rule
//! is met; a minute after it stops, the rule is breached and a `silent` incident opens; a query
//! that fails leaves the alert as it is; when the counter rises again the incident resolves.
//! Prometheus's data is in real time, so the server's clock is too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Api, Server, create_token, skipped};

const QUERY: &str = "sum(increase(payments_captured_total[$window]))";

/// Serves `payments_captured_total COUNT` in the Prometheus text format.
async fn target(count: Arc<AtomicU64>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let current = count.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let body =
                    format!("# TYPE payments_captured_total counter\npayments_captured_total {current}\n");
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

/// Waits up to `wait` until `done` holds of the rule, and returns it.
async fn rule_until(api: &Api, id: i64, wait: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (status, rule) = api.get(&format!("/api/v1/outcome-rules/{id}")).await;
        assert_eq!(status, 200, "{rule}");
        if done(&rule) {
            return rule;
        }
        assert!(started.elapsed() < wait, "not so after {wait:?}: {rule}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits up to `wait` until the silent incidents are, by status, `statuses`.
async fn incidents(api: &Api, statuses: &[&str], wait: Duration) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (_, page) = api.get("/api/v1/incidents?status=all&kind=silent").await;
        let list = page["incidents"].as_array().unwrap().clone();
        let seen: Vec<&str> = list.iter().map(|i| i["status"].as_str().unwrap()).collect();
        if seen == statuses {
            return list;
        }
        assert!(started.elapsed() < wait, "silent incidents are {seen:?}, not {statuses:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_rule_counting_a_prometheus_counter_opens_and_resolves_a_silent_incident() {
    let name = "a_rule_counting_a_prometheus_counter_opens_and_resolves_a_silent_incident";
    let prometheus = std::path::Path::new("/usr/bin/prometheus");
    if !prometheus.exists() {
        assert_ne!(
            std::env::var("FIREBREAK_PROMETHEUS_TESTS").as_deref(),
            Ok("required"),
            "prometheus is required (apt-get install prometheus)"
        );
        skipped(&format!("{name}: skipped: prometheus is not installed"));
        return;
    }
    // Ten payments a second while `rising`.
    let (count, rising) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(true)));
    {
        let (count, rising) = (count.clone(), rising.clone());
        tokio::spawn(async move {
            loop {
                if rising.load(Ordering::SeqCst) {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    let target_port = target(count.clone()).await;
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
    let database = format!("sqlite:{}", dir.path().join("outcomes.db").display());
    let token = create_token(dir.path(), &database, "ana");
    let server = Server::start_with(dir.path(), &database, &["--prometheus-url", &prometheus_url]).await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token };
    api.post("/api/v1/teams", json!({"name": "payments"})).await;
    let (status, _) = api
        .post(
            "/api/v1/services",
            json!({"name": "cards", "team": "payments", "description": "takes card payments"}),
        )
        .await;
    assert_eq!(status, 201);

    // A query must name an event of the rule.
    let rule = "at least 5 payment_captured per 1m";
    let (status, problem) = api
        .post(
            "/api/v1/outcome-rules",
            json!({"name": "captures", "service": "cards", "rule": rule, "queries": {"payment_settled": QUERY}}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem.to_string().contains("payment_settled"), "{problem}");
    let (status, created) = api
        .post(
            "/api/v1/outcome-rules",
            json!({"name": "captures", "service": "cards", "rule": rule, "queries": {"payment_captured": QUERY}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["queries"], json!({"payment_captured": QUERY}));
    let id = created["id"].as_i64().unwrap();

    // Judged once the rule is a minute old, from what Prometheus counted.
    let met = rule_until(&api, id, Duration::from_secs(75), |rule| rule["status"] == "met").await;
    assert!(met["seen"].as_str().unwrap().contains(" in the 1m to "), "{met}");

    rising.store(false, Ordering::SeqCst);
    let stopped = Instant::now();
    let breached = rule_until(&api, id, Duration::from_secs(80), |rule| {
        rule["status"] == "breached" && rule["alerting"] == true
    })
    .await;
    // Fewer than 5 once all but the last moments of rising have left the window.
    let seen: u64 = breached["seen"].as_str().unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(seen < 5, "{breached}");
    let open = incidents(&api, &["triggered"], Duration::from_secs(10)).await;
    assert!(
        open[0]["title"]
            .as_str()
            .unwrap()
            .starts_with("captures: expected at least 5 payment_captured per 1m"),
        "{open:?}"
    );
    let breached_after = stopped.elapsed();
    assert!(
        breached_after >= Duration::from_secs(55),
        "breached {breached_after:?} after the counter stopped"
    );

    // A query Prometheus refuses leaves the rule unjudged and its alert open.
    let (status, changed) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/outcome-rules/{id}"),
            Some(json!({"queries": {"payment_captured": "sum(increase(payments_captured_total[$window])"}})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert!(changed["why"].as_str().unwrap().starts_with("the Prometheus query failed: "), "{changed}");
    rising.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let unjudged = rule_until(&api, id, Duration::from_secs(1), |_| true).await;
    assert_eq!((&unjudged["status"], &unjudged["alerting"]), (&json!("quiet"), &json!(true)), "{unjudged}");
    incidents(&api, &["triggered"], Duration::from_secs(1)).await;

    // Counted again, the rule is met and its incident resolves.
    let (status, changed) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/outcome-rules/{id}"),
            Some(json!({"queries": {"payment_captured": QUERY}})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let resumed = Instant::now();
    rule_until(&api, id, Duration::from_secs(20), |rule| {
        rule["status"] == "met" && rule["alerting"] == false
    })
    .await;
    incidents(&api, &["resolved"], Duration::from_secs(10)).await;
    crate::support::note(&format!(
        "{name}: breached {breached_after:?} after the counter stopped (1m window), met {:?} after a fixed query",
        resumed.elapsed()
    ));
    let _ = child.kill();
    let _ = child.wait();
    server.stop();
}
