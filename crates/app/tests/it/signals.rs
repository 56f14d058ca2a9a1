//! Golden-signal anomalies go through the alert path: silences, dedup and grouping apply to them.

use firebreak_api::Ref;
use firebreak_app::Principal;
use firebreak_app::signals::{ANOMALY_ALERT_NAME, anomaly_dedup_key};
use firebreak_app::testing::wobble;
use firebreak_domain::{AlertStatus, Signal};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::support::{Fixture, body};

/// Seconds between samples.
const STEP_SECS: i64 = 15;
/// Samples of normal latency before anything happens: enough for the detector to learn it.
const NORMAL_SAMPLES: usize = 1000;

/// Normal latency of sample `i`: about 120 ms.
fn normal(i: usize) -> f64 {
    0.120 + 0.01 * wobble(i as u64)
}

/// A service `checkout` whose latency raises an alert on a sustained anomaly.
async fn watched(fixture: &Fixture) {
    let app = &fixture.app;
    app.create_team(&firebreak_app::Principal::system(), body(json!({"name": "payments"}))).await.unwrap();
    app.create_service(
        &firebreak_app::Principal::system(),
        body(json!({"name": "checkout", "team": "payments", "description": "pays"})),
    )
    .await
    .unwrap();
    let spec = json!({"step_seconds": STEP_SECS, "open_incident": true, "severity": "SEV2"});
    app.set_golden_signal(&firebreak_app::Principal::system(), &checkout(), "latency", body(spec))
        .await
        .unwrap();
}

fn checkout() -> Ref {
    Ref::Name("checkout".into())
}

/// Pushes `values` as the latency samples from number `first` on, 15 s apart from the fixture
/// clock's start, with the clock at the last of them, as if they had just been scraped.
async fn push(fixture: &Fixture, first: usize, values: &[f64]) {
    let origin: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
    let at = |i: usize| origin + jiff::SignedDuration::from_secs(i as i64 * STEP_SECS);
    fixture.clock.set(at(first + values.len() - 1));
    let samples: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(n, value)| json!({"at": at(first + n).to_string(), "value": value}))
        .collect();
    let accepted = fixture
        .app
        .push_samples(
            &firebreak_app::Principal::system(),
            &checkout(),
            "latency",
            body(json!({"samples": samples})),
        )
        .await
        .unwrap();
    assert_eq!(accepted.accepted, values.len());
}

/// Normal samples from number `first`, `count` of them.
fn normals(first: usize, count: usize) -> Vec<f64> {
    (first..first + count).map(normal).collect()
}

/// An anomaly that a silence matches is recorded, and its alert is kept, but it opens no incident.
#[tokio::test]
async fn a_silenced_anomaly_opens_no_incident() {
    let fixture = Fixture::sqlite().await;
    watched(&fixture).await;
    push(&fixture, 0, &normals(0, NORMAL_SAMPLES)).await;
    let silence = json!({"matchers": [format!("alertname={ANOMALY_ALERT_NAME}"), "signal=latency"],
        "duration_minutes": 60, "comment": "load test"});
    let silence = fixture.app.create_silence(&Principal::admin("ana"), body(silence)).await.unwrap();

    push(&fixture, NORMAL_SAMPLES, &[0.6, 0.6, 0.6]).await;
    let anomalies = fixture.app.anomalies(&checkout(), None, None).await.unwrap();
    let shift = anomalies.last().unwrap_or_else(|| panic!("no anomaly in {anomalies:?}"));
    assert_eq!((shift.signal, shift.observed, shift.incident_id), (Signal::Latency, 0.6, None));
    let alerts = fixture.app.service_alerts(&checkout(), 10).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].dedup_key, anomaly_dedup_key(Signal::Latency));
    assert_eq!((alerts[0].silence_id, alerts[0].incident_id), (Some(silence.id), None));
    let incidents = fixture.app.incidents(&Default::default()).await.unwrap().incidents;
    assert!(incidents.is_empty(), "{incidents:?}");
    fixture.stop().await;
}

/// A flapping outage: the same signal anomalous again while its incident is open is a repeat of
/// the one alert on that incident, not a second incident.
#[tokio::test]
async fn a_repeated_anomaly_is_a_repeat_of_one_alert() {
    let fixture = Fixture::sqlite().await;
    watched(&fixture).await;
    push(&fixture, 0, &normals(0, NORMAL_SAMPLES)).await;
    push(&fixture, NORMAL_SAMPLES, &[0.6, 0.6, 0.6]).await;
    let first = fixture.app.anomalies(&checkout(), None, None).await.unwrap();
    let incident =
        first.last().and_then(|a| a.incident_id).unwrap_or_else(|| panic!("no incident: {first:?}"));

    // Back to normal long enough for the anomaly to end, then anomalous again.
    let back = NORMAL_SAMPLES + 3;
    push(&fixture, back, &normals(back, 400)).await;
    let again = back + 400;
    push(&fixture, again, &[2.0, 2.0, 2.0]).await;
    let anomalies = fixture.app.anomalies(&checkout(), None, None).await.unwrap();
    assert!(anomalies.len() >= 2, "two anomalies: {anomalies:?}");
    assert!(anomalies.iter().all(|a| a.incident_id == Some(incident)), "{anomalies:?}");
    let alerts = fixture.app.incident_alerts(incident, 10).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!((alerts[0].status, alerts[0].event_count), (AlertStatus::Triggered, 2));
    let incidents = fixture.app.incidents(&Default::default()).await.unwrap().incidents;
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(incidents[0].title.starts_with("checkout latency anomalous: 0.6"), "{}", incidents[0].title);
    fixture.stop().await;
}
