//! Paging latency: from the `202` of a trigger event to its first notification arriving at a webhook
//! receiver, with an idle engine and while 10,000 escalation timers fall due in the same second.
//!
//! `cargo bench -p firebreak-server --bench paging` runs firebreak in-process on a fresh SQLite file
//! (durable mode, as served), a webhook receiver on loopback, and an HTTP client sending PagerDuty
//! events. The clock is a manual one for the burst: 10,000 incidents are paged at level 1, then the
//! clock moves one minute so that all their level-2 timers are due at once, and triggers for other
//! services are sent while the driver works through them. Settings: `IDLE_TRIGGERS` (default 300),
//! `BURST_ESCALATIONS` (10000), `BURST_TRIGGERS` (100).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use firebreak_api as api;
use firebreak_app::{App, Options, Principal, SystemClock};
use firebreak_domain::{Clock, ManualClock};
use firebreak_server::Server;
use serde_json::{Value, json};
use tokio::sync::Notify;

type Arrivals = Arc<(Mutex<HashMap<String, Instant>>, Notify)>;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let idle = setting("IDLE_TRIGGERS", 300);
    let escalations = setting("BURST_ESCALATIONS", 10_000);
    let burst = setting("BURST_TRIGGERS", 100);

    let receiver = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let latencies = run(dir.path(), Arc::new(SystemClock), None, &receiver, idle, 0).await;
    report("idle engine", &latencies);

    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let latencies = run(dir.path(), clock.clone(), Some(clock), &receiver, burst, escalations).await;
    report(&format!("{escalations} escalation timers due in the same second"), &latencies);
}

/// `value` read as the API type `T`.
fn body<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the bench's bodies are valid")
}

/// A webhook receiver that notes when each incident's first page arrived.
async fn receiver() -> (String, Arrivals) {
    async fn record(State(arrivals): State<Arrivals>, body: axum::body::Bytes) -> &'static str {
        let at = Instant::now();
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let title = page["incident"]["title"].as_str().unwrap_or_default().to_owned();
        arrivals.0.lock().unwrap().entry(title).or_insert(at);
        arrivals.1.notify_waiters();
        "ok"
    }
    let arrivals: Arrivals = Default::default();
    let app = axum::Router::new().fallback(axum::routing::post(record)).with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, arrivals)
}

/// Serves firebreak on a new SQLite database in `dir` with `clock`, pages `escalations` incidents
/// and moves `manual` one minute on (so that their next level is due), then sends `triggers` events
/// and returns the latency of each one's first page.
async fn run(
    dir: &std::path::Path,
    clock: Arc<dyn Clock>,
    manual: Option<Arc<ManualClock>>,
    (hook, arrivals): &(String, Arrivals),
    triggers: usize,
    escalations: usize,
) -> Vec<Duration> {
    let store = App::open_store(&format!("sqlite:{}", dir.join("firebreak.db").display())).await.unwrap();
    let transport = Arc::new(firebreak_notify::Notifier::new(firebreak_notify::Channels::default()).unwrap());
    let options = Options {
        public_url: "http://127.0.0.1".into(),
        prometheus_url: None,
        transport,
        twilio_auth_token: None,
        oidc: None,
    };
    let app = App::start(store, clock.clone(), options).await.unwrap();
    app.create_team(&firebreak_app::Principal::system(), body(json!({"name": "bench"}))).await.unwrap();
    let user = app
        .create_user(
            &firebreak_app::Principal::system(),
            body(json!({"name": "ana", "email": "ana@example.com"})),
        )
        .await
        .unwrap();
    let ana = api::Ref::Id(user.id);
    app.create_contact_method(
        &firebreak_app::Principal::system(),
        &ana,
        body(json!({"type": "webhook", "address": hook})),
    )
    .await
    .unwrap();
    let levels = json!([{"timeout_minutes": 1, "targets": [{"type": "user", "id": user.id}]},
                        {"timeout_minutes": 1, "targets": [{"type": "user", "id": user.id}]}]);
    let policy = app
        .create_policy(
            &firebreak_app::Principal::system(),
            body(json!({"name": "bench", "repeat": 0, "levels": levels})),
        )
        .await
        .unwrap();
    app.create_service(
        &firebreak_app::Principal::system(),
        body(json!({"name": "quiet", "team": "bench", "description": ""})),
    )
    .await
    .unwrap();
    let mut keys = Vec::new();
    for n in 0..=triggers {
        let new = json!({"name": format!("svc-{n}"), "team": "bench", "description": ""});
        let (service, key) =
            app.create_service(&firebreak_app::Principal::system(), body(new)).await.unwrap();
        let patch = body(json!({"escalation_policy": policy.id}));
        app.update_service(&firebreak_app::Principal::system(), &api::Ref::Id(service.service.id), patch)
            .await
            .unwrap();
        keys.push(key);
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(firebreak_server::serve(listener, Server::new(app.clone()), async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    if escalations > 0 {
        // The last service gets every background incident; its level-1 pages must be out first.
        let started = Instant::now();
        let bench = Principal::admin("bench");
        for n in 0..escalations {
            let declare = json!({"title": format!("background-{n}"), "service": format!("svc-{triggers}"), "severity": "SEV2"});
            app.declare_incident(&bench, body(declare)).await.unwrap();
        }
        wait_for(arrivals, |got| got >= escalations, Duration::from_secs(600)).await;
        eprintln!(
            "{escalations} background incidents paged at level 1 in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(manual) = &manual {
        manual.advance(jiff::SignedDuration::from_mins(1));
        // Nothing announces a move of the clock, and the driver would find the due timers at its
        // next poll. An incident of a service that pages nobody is announced, and so starts the
        // burst at once, before the triggers below.
        let wake = json!({"title": "clock moved", "service": "quiet"});
        app.declare_incident(&Principal::admin("bench"), body(wake)).await.unwrap();
    }

    let mut latencies = Vec::with_capacity(triggers);
    let burst_started = Instant::now();
    for (n, key) in keys.iter().take(triggers).enumerate() {
        let title = format!("trigger-{n}");
        let response = http
            .post(format!("{url}/v2/enqueue"))
            .json(&json!({"routing_key": key, "event_action": "trigger", "dedup_key": title,
                "payload": {"summary": title, "source": "bench", "severity": "critical"}}))
            .send()
            .await
            .unwrap();
        let accepted = Instant::now();
        assert_eq!(response.status(), 202);
        let arrived = wait_for_title(arrivals, &title, Duration::from_secs(30)).await;
        latencies.push(arrived.saturating_duration_since(accepted));
        if escalations == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    if escalations > 0 {
        let background = arrivals.0.lock().unwrap().len();
        eprintln!(
            "triggers sent over {:.2}s while the burst ran ({} first pages arrived so far)",
            burst_started.elapsed().as_secs_f64(),
            background
        );
    }
    let _ = stop.send(());
    let _ = server.await;
    app.shutdown(firebreak_server::SHUTDOWN_DRAIN_TIMEOUT).await;
    app.close().await;
    arrivals.0.lock().unwrap().clear();
    latencies
}

async fn wait_for(arrivals: &Arrivals, done: impl Fn(usize) -> bool, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let notified = arrivals.1.notified();
        if done(arrivals.0.lock().unwrap().len()) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for pages");
        let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
    }
}

async fn wait_for_title(arrivals: &Arrivals, title: &str, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    loop {
        let notified = arrivals.1.notified();
        if let Some(at) = arrivals.0.lock().unwrap().get(title) {
            return *at;
        }
        assert!(Instant::now() < deadline, "no page for {title}");
        let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
    }
}

fn report(what: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{what}: {} triggers, 202 → first page median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        sorted.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
