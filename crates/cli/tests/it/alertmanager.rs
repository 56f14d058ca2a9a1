//! A real Prometheus Alertmanager sending to firebreak through both of its receivers that
//! firebreak imitates: `pagerduty_configs` (Events API v2 at `/v2/enqueue`) for one service and
//! `webhook_configs` (at `/api/v1/ingest/alertmanager/{key}`) for another. Alerts fire, open one
//! incident per service, resolve, and resolve the incidents; dedup keys and timelines are checked.
//!
//! Needs Debian's `prometheus-alertmanager`. Without it the test says it was skipped, unless
//! `FIREBREAK_ALERTMANAGER_TESTS=required` (as in CI), where its absence fails it.

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Fresh, free_port, skipped};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
/// Longest wait for Alertmanager to start, or for what it sends to arrive.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a wait looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A running Alertmanager, killed when dropped.
struct Alertmanager {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Alertmanager {
    fn start(dir: &Path, config: &str) -> Alertmanager {
        let config_file = dir.join("alertmanager.yml");
        std::fs::write(&config_file, config).unwrap();
        let storage = dir.join("alertmanager-data");
        std::fs::create_dir_all(&storage).unwrap();
        let log = dir.join("alertmanager.log");
        let port = free_port();
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // An empty address disables clustering, so notifications go out without waiting for peers.
            .arg("--cluster.listen-address=")
            .arg("--log.level=debug")
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Alertmanager { child, url: format!("http://127.0.0.1:{port}"), log }
    }

    /// What Alertmanager logged so far, for failure messages.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it gives a value, failing with `what` and Alertmanager's log after
/// [`WAIT_TIMEOUT`].
async fn wait_for<T, F: Future<Output = Option<T>>>(
    alertmanager: &Alertmanager,
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < WAIT_TIMEOUT,
            "{what}: not within {WAIT_TIMEOUT:?}; Alertmanager's log:\n{}",
            alertmanager.log()
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        let response =
            self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "{path}");
        response.json().await.unwrap()
    }

    /// The open incidents of `service_id`.
    async fn open_incidents(&self, service_id: &Value) -> Vec<Value> {
        let page = self.get(&format!("/api/v1/incidents?status=open&service={service_id}")).await;
        let incidents = page["incidents"].as_array().unwrap().clone();
        assert!(incidents.iter().all(|incident| incident["service_id"] == *service_id), "{page}");
        incidents
    }

    /// The only open incident of `service_id` once it has `alert_count` alerts.
    async fn incident_with_alerts(&self, service_id: &Value, alert_count: usize) -> Option<i64> {
        let incidents = self.open_incidents(service_id).await;
        assert!(incidents.len() <= 1, "one open incident per service: {incidents:?}");
        let id = incidents.first()?["id"].as_i64().unwrap();
        let alerts = self.get(&format!("/api/v1/incidents/{id}/alerts")).await;
        (alerts.as_array().unwrap().len() == alert_count).then_some(id)
    }
}

/// Sends `alerts` to Alertmanager's API, as Prometheus does.
async fn post_alerts(http: &reqwest::Client, alertmanager: &Alertmanager, alerts: &Value) {
    let response =
        http.post(format!("{}/api/v2/alerts", alertmanager.url)).json(alerts).send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
}

/// Timeline entries as `event action dedup_key` (alerts) or `event summary` (the rest).
fn timeline(detail: &Value) -> Vec<String> {
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            assert_eq!(entry["actor"], "firebreak", "{entry}");
            let event = entry["event"].as_str().unwrap();
            if event == "alert" {
                let details = &entry["details"];
                format!(
                    "alert {} {}",
                    details["action"].as_str().unwrap(),
                    details["dedup_key"].as_str().unwrap()
                )
            } else if event == "declared" {
                event.to_owned()
            } else {
                format!("{event} {}", entry["summary"].as_str().unwrap())
            }
        })
        .collect()
}

#[tokio::test]
async fn alertmanager_pages_and_resolves_through_both_receivers() {
    if !Path::new(ALERTMANAGER).exists() {
        assert_ne!(
            std::env::var("FIREBREAK_ALERTMANAGER_TESTS").as_deref(),
            Ok("required"),
            "Alertmanager is required (apt-get install prometheus-alertmanager)"
        );
        skipped(
            "alertmanager_pages_and_resolves_through_both_receivers: skipped: prometheus-alertmanager is not installed",
        );
        return;
    }

    let Fresh { dir, token, server, .. } = Fresh::start("alertmanager.db", "ana").await;
    let http = reqwest::Client::new();
    let api = Api { http: http.clone(), url: server.url.clone(), token };
    api.post("/api/v1/teams", json!({"name": "payments"})).await;
    let checkout = api
        .post(
            "/api/v1/services",
            json!({"name": "checkout", "team": "payments", "description": "takes money"}),
        )
        .await;
    let ledger = api
        .post(
            "/api/v1/services",
            json!({"name": "ledger", "team": "payments", "description": "keeps the books"}),
        )
        .await;

    // `checkout` alerts go to the PagerDuty receiver, `ledger` alerts to the webhook.
    let config = format!(
        r#"global:
  resolve_timeout: 5m
route:
  receiver: pagerduty
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: webhook
      matchers: ['service="ledger"']
receivers:
  - name: pagerduty
    pagerduty_configs:
      - routing_key: {checkout_key}
        url: {url}/v2/enqueue
  - name: webhook
    webhook_configs:
      - url: {url}/api/v1/ingest/alertmanager/{ledger_key}
        send_resolved: true
"#,
        checkout_key = checkout["integration_key"].as_str().unwrap(),
        ledger_key = ledger["integration_key"].as_str().unwrap(),
        url = server.url,
    );
    let alertmanager = Alertmanager::start(dir.path(), &config);
    let http = &http;
    let ready_url = format!("{}/-/ready", alertmanager.url);
    let ready_url = &ready_url;
    wait_for(&alertmanager, "Alertmanager ready", || async move {
        let response = http.get(ready_url).send().await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;

    let starts_at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let alert = |service: &str, instance: &str| {
        json!({
            "labels": {"alertname": "HighLatency", "service": service, "instance": instance, "severity": "critical"},
            "annotations": {"summary": format!("p99 latency above 2s on {instance}")},
            "startsAt": starts_at.to_string(),
        })
    };
    let firing = json!([
        alert("checkout", "web-1"),
        alert("checkout", "web-2"),
        alert("ledger", "db-1"),
        alert("ledger", "db-2"),
    ]);
    post_alerts(http, &alertmanager, &firing).await;

    // The PagerDuty receiver sends one event per group: both checkout alerts become one alert.
    // The webhook sends each alert of the group: both ledger alerts become alerts of one incident.
    let checkout_incident = wait_for(&alertmanager, "an incident of checkout with one alert", || {
        api.incident_with_alerts(&checkout["id"], 1)
    })
    .await;
    let ledger_incident = wait_for(&alertmanager, "an incident of ledger with two alerts", || {
        api.incident_with_alerts(&ledger["id"], 2)
    })
    .await;
    assert_ne!(checkout_incident, ledger_incident);

    // Alertmanager's fingerprints of the ledger alerts, which the webhook carries; it lists
    // only alerts that have not ended.
    let known: Value =
        http.get(format!("{}/api/v2/alerts", alertmanager.url)).send().await.unwrap().json().await.unwrap();
    let mut fingerprints: Vec<String> = known
        .as_array()
        .unwrap()
        .iter()
        .filter(|alert| alert["labels"]["service"] == "ledger")
        .map(|alert| alert["fingerprint"].as_str().unwrap().to_owned())
        .collect();
    fingerprints.sort();
    assert_eq!(fingerprints.len(), 2, "{known}");

    // Resolved: the same alerts, ended a moment ago.
    let ends_at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let mut resolved = firing.clone();
    for alert in resolved.as_array_mut().unwrap() {
        alert["endsAt"] = json!(ends_at.to_string());
    }
    post_alerts(http, &alertmanager, &resolved).await;
    let api = &api;
    for (name, id) in [("checkout", checkout_incident), ("ledger", ledger_incident)] {
        wait_for(&alertmanager, &format!("the incident of {name} resolved"), || async move {
            let detail = api.get(&format!("/api/v1/incidents/{id}")).await;
            (detail["status"] == "resolved").then_some(())
        })
        .await;
    }
    assert!(api.open_incidents(&checkout["id"]).await.is_empty());
    assert!(api.open_incidents(&ledger["id"]).await.is_empty());

    // PagerDuty receiver: the dedup key is the SHA-256 of Alertmanager's group key, for the
    // trigger and the resolve alike, so one alert was made, however often the group was sent.
    let group_key = r#"{}:{alertname="HighLatency", service="checkout"}"#;
    let checkout_key = firebreak_store::secret::hash(group_key);
    let alerts = api.get(&format!("/api/v1/services/{}/alerts", checkout["id"])).await;
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["dedup_key"], checkout_key.as_str());
    assert_eq!(alerts[0]["status"], "resolved");
    assert_eq!(alerts[0]["incident_id"], checkout_incident);
    assert!(alerts[0]["event_count"].as_i64().unwrap() >= 1);
    // The resolve carries a description too, which PagerDuty ignores, and so does firebreak: the
    // alert keeps what its trigger said.
    assert!(
        alerts[0]["summary"].as_str().unwrap().starts_with("[FIRING:")
            && alerts[0]["summary"].as_str().unwrap().contains("] HighLatency checkout"),
        "{}",
        alerts[0]
    );
    let detail = api.get(&format!("/api/v1/incidents/{checkout_incident}")).await;
    assert_eq!(detail["severity"], "SEV2", "Alertmanager's PagerDuty severity is error by default");
    assert_eq!(
        timeline(&detail),
        [
            "declared".to_owned(),
            format!("alert trigger {checkout_key}"),
            format!("alert resolve {checkout_key}"),
            "status_changed resolved".to_owned(),
        ]
    );

    // Webhook receiver: one alert per Alertmanager alert, keyed by its fingerprint.
    let alerts = api.get(&format!("/api/v1/services/{}/alerts", ledger["id"])).await;
    let mut keys: Vec<String> = Vec::new();
    for alert in alerts.as_array().unwrap() {
        assert_eq!(alert["status"], "resolved", "{alert}");
        assert_eq!(alert["incident_id"], ledger_incident, "{alert}");
        assert_eq!(alert["severity"], "SEV1", "{alert}");
        assert_eq!(alert["labels"]["service"], "ledger", "{alert}");
        assert!(alert["summary"].as_str().unwrap().starts_with("p99 latency above 2s on db-"), "{alert}");
        keys.push(alert["dedup_key"].as_str().unwrap().to_owned());
    }
    keys.sort();
    assert_eq!(keys, fingerprints);
    let detail = api.get(&format!("/api/v1/incidents/{ledger_incident}")).await;
    assert_eq!(detail["severity"], "SEV1");
    let mut entries = timeline(&detail);
    assert_eq!(entries.len(), 6, "{entries:?}");
    // The two alerts may have arrived in one webhook or in two; within each phase, order by key.
    entries[1..3].sort();
    entries[3..5].sort();
    assert_eq!(
        entries,
        [
            "declared".to_owned(),
            format!("alert trigger {}", fingerprints[0]),
            format!("alert trigger {}", fingerprints[1]),
            format!("alert resolve {}", fingerprints[0]),
            format!("alert resolve {}", fingerprints[1]),
            "status_changed resolved".to_owned(),
        ]
    );

    drop(alertmanager);
    server.stop();
}

/// The `receivers:` block of the README's `alertmanager.yml`, as a user would copy it: both
/// receivers, with the integration keys of `webhook_service` and `pagerduty_service` and the
/// server's URL put in.
fn readme_receivers(url: &str, webhook_key: &str, pagerduty_key: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let start = readme.find("# alertmanager.yml: receivers").expect("the README shows alertmanager.yml");
    let block = &readme[start..];
    let block = &block[..block.find("```").expect("the block ends")];
    let receivers = &block[block.find("receivers:").unwrap()..];
    let keys = [webhook_key, pagerduty_key];
    let mut filled = String::new();
    for (i, part) in receivers.split("fbk_…").enumerate() {
        if i > 0 {
            filled.push_str(keys[i - 1]);
        }
        filled.push_str(part);
    }
    assert_eq!(receivers.matches("fbk_…").count(), 2, "one key per receiver: {receivers}");
    filled.replace("http://firebreak:8080", url)
}

/// With the README's configuration, both receivers group by `alertname` (a service's `group_by`),
/// are silenced by an `alertname` matcher, and a `critical` alert opens a SEV1 incident.
#[tokio::test]
async fn alertmanager_with_the_readme_configuration_groups_silences_and_ranks() {
    if !Path::new(ALERTMANAGER).exists() {
        assert_ne!(
            std::env::var("FIREBREAK_ALERTMANAGER_TESTS").as_deref(),
            Ok("required"),
            "Alertmanager is required (apt-get install prometheus-alertmanager)"
        );
        skipped(
            "alertmanager_with_the_readme_configuration: skipped: prometheus-alertmanager is not installed",
        );
        return;
    }
    let Fresh { dir, token, server, .. } = Fresh::start("alertmanager-readme.db", "ana").await;
    let http = reqwest::Client::new();
    let api = Api { http: http.clone(), url: server.url.clone(), token };
    api.post("/api/v1/teams", json!({"name": "payments"})).await;
    let mut services = Vec::new();
    for name in ["ledger", "checkout"] {
        let service = api
            .post("/api/v1/services", json!({"name": name, "team": "payments", "description": name}))
            .await;
        let patched = http
            .patch(format!("{}/api/v1/services/{}", server.url, service["id"]))
            .bearer_auth(&api.token)
            .json(&json!({"group_by": ["alertname"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status().as_u16(), 200);
        services.push(service);
    }
    let (ledger, checkout) = (&services[0], &services[1]);
    api.post("/api/v1/silences", json!({"matchers": ["alertname=Noisy"], "duration_minutes": 60})).await;

    // `ledger` alerts go to the webhook receiver, the others to the PagerDuty one.
    let config = format!(
        r#"route:
  receiver: firebreak-pagerduty
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: firebreak
      matchers: ['service="ledger"']
{}"#,
        readme_receivers(
            &server.url,
            ledger["integration_key"].as_str().unwrap(),
            checkout["integration_key"].as_str().unwrap()
        )
    );
    let alertmanager = Alertmanager::start(dir.path(), &config);
    let http = &http;
    let ready_url = format!("{}/-/ready", alertmanager.url);
    let ready_url = &ready_url;
    wait_for(&alertmanager, "Alertmanager ready", || async move {
        let response = http.get(ready_url).send().await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;

    let starts_at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let alert = |name: &str, service: &str, instance: &str, severity: &str| {
        json!({"labels": {"alertname": name, "service": service, "instance": instance, "severity": severity},
               "annotations": {"summary": format!("{name} on {instance}")}, "startsAt": starts_at.to_string()})
    };
    let mut firing = Vec::new();
    for service in ["ledger", "checkout"] {
        firing.push(alert("HighLatency", service, "web-1", "critical"));
        firing.push(alert("HighLatency", service, "web-2", "critical"));
        firing.push(alert("DiskFull", service, "db-1", "warning"));
        firing.push(alert("Noisy", service, "web-1", "critical"));
    }
    post_alerts(http, &alertmanager, &Value::Array(firing)).await;

    // Per service: the Noisy alert is stored, silenced; HighLatency and DiskFull are an
    // incident each, SEV1 and SEV3.
    let api = &api;
    for service in [ledger, checkout] {
        let id = &service["id"];
        let alerts = wait_for(&alertmanager, &format!("every alert of {}", service["name"]), || async move {
            let alerts = api.get(&format!("/api/v1/services/{id}/alerts")).await;
            let alerts = alerts.as_array().unwrap().clone();
            let names: std::collections::BTreeSet<String> = alerts
                .iter()
                .map(|alert| alert["labels"]["alertname"].as_str().unwrap_or("").to_owned())
                .collect();
            (names.len() == 3).then_some(alerts)
        })
        .await;
        let noisy: Vec<&Value> =
            alerts.iter().filter(|alert| alert["labels"]["alertname"] == "Noisy").collect();
        assert!(!noisy.is_empty() && noisy.iter().all(|alert| alert["incident_id"].is_null()), "{alerts:?}");
        let mut incidents: Vec<(String, String)> = api
            .open_incidents(id)
            .await
            .iter()
            .map(|incident| {
                (
                    incident["title"].as_str().unwrap().to_owned(),
                    incident["severity"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        incidents.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(incidents.len(), 2, "{} incidents: {incidents:?}", service["name"]);
        assert_eq!(incidents[0].1, "SEV1", "{incidents:?}");
        assert!(incidents[0].0.contains("HighLatency"), "{incidents:?}");
        assert_eq!(incidents[1].1, "SEV3", "{incidents:?}");
        assert!(incidents[1].0.contains("DiskFull"), "{incidents:?}");
    }
}
