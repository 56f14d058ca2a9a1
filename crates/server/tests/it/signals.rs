//! Golden signals with pushed samples: a sustained shift is recorded as an anomaly, and its alert
//! opens an incident.

use axum::http::Method;
use firebreak_app::testing::wobble;
use firebreak_domain::Clock;
use serde_json::{Value, json};

use crate::support::TestApp;

#[tokio::test]
async fn pushed_samples_find_a_latency_shift() {
    let api = TestApp::new().await;
    api.post("/api/v1/teams", json!({"name": "web"})).await;
    let (status, _) =
        api.post("/api/v1/services", json!({"name": "checkout", "team": "web", "description": "pays"})).await;
    assert_eq!(status, 201);
    let (status, signal) = api
        .call(
            Method::PUT,
            "/api/v1/services/checkout/golden-signals/latency",
            Some(json!({"step_seconds": 15, "open_incident": true, "severity": "SEV2"})),
        )
        .await;
    assert_eq!(status, 200, "{signal}");
    assert_eq!(signal["bad"], "up");

    // A day of normal latency at one sample per 15 s, ending now, then a shift to five times it.
    let now = api.clock.now().as_second();
    let normal = 5760;
    let start = now - (normal + 3) * 15;
    let mut samples: Vec<Value> = (0..normal)
        .map(|i| {
            json!({"at": jiff::Timestamp::from_second(start + i * 15).unwrap().to_string(),
                        "value": 0.120 + 0.01 * wobble(i as u64)})
        })
        .collect();
    let (status, answer) = api
        .call(
            Method::POST,
            "/api/v1/services/checkout/golden-signals/latency/samples",
            Some(json!({"samples": samples})),
        )
        .await;
    assert_eq!((status, answer["accepted"].as_i64()), (202, Some(normal)));
    let (_, anomalies) = api.call(Method::GET, "/api/v1/services/checkout/anomalies", None).await;
    let quiet = anomalies.as_array().unwrap().iter().filter(|a| a["incident_id"].is_number()).count();
    assert_eq!(quiet, 0, "normal latency opens no incident: {anomalies}");

    samples = (normal..normal + 3)
        .map(|i| json!({"at": jiff::Timestamp::from_second(start + i * 15).unwrap().to_string(), "value": 0.6}))
        .collect();
    let (status, _) = api
        .call(
            Method::POST,
            "/api/v1/services/checkout/golden-signals/latency/samples",
            Some(json!({"samples": samples})),
        )
        .await;
    assert_eq!(status, 202);
    let (_, anomalies) = api.call(Method::GET, "/api/v1/services/checkout/anomalies", None).await;
    let shift = anomalies.as_array().unwrap().last().unwrap_or_else(|| panic!("no anomaly: {anomalies}"));
    assert_eq!(shift["signal"], "latency");
    assert_eq!(shift["observed"], 0.6);
    assert!(shift["expected"].as_f64().unwrap() < 0.2, "{shift}");
    let incident_id = shift["incident_id"].as_i64().unwrap_or_else(|| panic!("no incident: {shift}"));
    let (_, incident) = api.call(Method::GET, &format!("/api/v1/incidents/{incident_id}"), None).await;
    assert_eq!(incident["kind"], "signal");
    assert_eq!(incident["severity"], "SEV2");
    assert!(incident["title"].as_str().unwrap().starts_with("checkout latency anomalous: 0.6"), "{incident}");

    let (status, problem) = api
        .call(
            Method::POST,
            "/api/v1/services/checkout/golden-signals/errors/samples",
            Some(json!({"samples": []})),
        )
        .await;
    assert_eq!(status, 404, "{problem}");
    api.stop().await;
}

/// A sample from the future is refused, naming the limit, where it used to be taken and to hold
/// back every later one; a sample that is left out says why; and a signal can start over.
#[tokio::test]
async fn samples_from_the_future_are_refused_and_a_signal_can_start_over() {
    let api = TestApp::new().await;
    api.post("/api/v1/teams", json!({"name": "web"})).await;
    api.post("/api/v1/services", json!({"name": "checkout", "team": "web", "description": "pays"})).await;
    let signal = "/api/v1/services/checkout/golden-signals/latency";
    let (status, _) = api.call(Method::PUT, signal, Some(json!({"step_seconds": 15}))).await;
    assert_eq!(status, 200);
    let samples = format!("{signal}/samples");
    let push = |at: String| {
        let api = &api;
        let samples = &samples;
        async move { api.post(samples, json!({"samples": [{"at": at, "value": 0.1}]})).await }
    };

    let (status, problem) = push("2030-01-01T00:00:00Z".to_owned()).await;
    assert_eq!(status, 422, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("samples[0].at 2030-01-01T00:00:00Z is more than 5 minutes ahead"),
        "{detail}"
    );

    let now = api.clock.now();
    let (status, answer) = push((now - jiff::SignedDuration::from_secs(15)).to_string()).await;
    assert_eq!((status, answer["accepted"].as_i64()), (202, Some(1)), "{answer}");
    let (_, answer) = push((now - jiff::SignedDuration::from_secs(30)).to_string()).await;
    assert_eq!(answer["accepted"], 0);
    let reason = answer["skipped"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("not after the signal's last sample"), "{answer}");

    let (status, _) = api.call(Method::DELETE, &samples, None).await;
    assert_eq!(status, 204);
    let (_, answer) = push((now - jiff::SignedDuration::from_secs(30)).to_string()).await;
    assert_eq!(answer["accepted"], 1, "the signal started over: {answer}");
    api.stop().await;
}
