//! Watching golden signals: polling a Prometheus-compatible API (or taking pushed samples),
//! running one streaming detector per signal, recording samples and anomalies, and opening an
//! incident on a sustained anomaly where the service asks for it.
//!
//! Detector state lives in memory and is rebuilt on start by backfilling from the metrics
//! backend's history, so a restart does not forget what normal looks like. The detector itself
//! (`firebreak-detect`) is pure; this module does the I/O around it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use firebreak_detect::{Detector, Params};
use firebreak_domain::{Anomaly, Clock, GoldenSignal, Id, Kind, NewIncident, Sample};
use firebreak_store::Store;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tokio::sync::Mutex;

/// How far back a signal is backfilled when firebreak starts watching it.
pub const BACKFILL: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Most points asked for in one query (Prometheus refuses more than 11,000).
pub const POINTS_PER_QUERY_MAX: i64 = 10_000;
/// How long samples are kept for charts.
pub const SAMPLES_KEPT: SignedDuration = SignedDuration::from_hours(8 * 24);
/// Consecutive samples on the bad side of the band that make an anomaly sustained.
pub const SUSTAINED_SAMPLES: u32 = 2;
/// Consecutive samples back inside the band (or on its good side) that end an anomaly.
pub const QUIET_SAMPLES_TO_END: u32 = 5;
/// Longest wait for the metrics backend.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Most samples accepted in one push.
pub const PUSH_SAMPLES_MAX: usize = 10_000;

/// The golden-signal watcher shared by the poller and the push endpoint.
pub struct Monitor {
    store: Store,
    clock: Arc<dyn Clock>,
    prometheus: Option<Prometheus>,
    series: Mutex<HashMap<Id, Series>>,
    /// Called after an incident is opened, so that paging starts at once.
    opened: Arc<dyn Fn() + Send + Sync>,
}

struct Prometheus {
    http: reqwest::Client,
    base: String,
}

/// Detector state of one golden signal. An anomaly starts when the detector raises an alarm on
/// the bad side of its band, lasts while samples stay on that side, and ends after
/// [`QUIET_SAMPLES_TO_END`] samples that do not.
struct Series {
    detector: Detector,
    last_secs: Option<i64>,
    open: Option<Anomaly>,
    bad_run: u32,
    quiet_run: u32,
    last_bad_secs: i64,
}

impl Series {
    fn new() -> Series {
        Series {
            detector: Detector::new(&Params::default()),
            last_secs: None,
            open: None,
            bad_run: 0,
            quiet_run: 0,
            last_bad_secs: 0,
        }
    }
}

impl Monitor {
    /// A monitor; `prometheus_url` is the base URL of a Prometheus-compatible API, if any.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        prometheus_url: Option<String>,
        opened: Arc<dyn Fn() + Send + Sync>,
    ) -> anyhow::Result<Monitor> {
        let prometheus = match prometheus_url {
            Some(base) => Some(Prometheus {
                http: reqwest::Client::builder().timeout(QUERY_TIMEOUT).build()?,
                base: base.trim_end_matches('/').to_owned(),
            }),
            None => None,
        };
        Ok(Monitor { store, clock, prometheus, series: Mutex::default(), opened })
    }

    /// Polls every signal with a query when it is due, forever. Errors are logged and retried at
    /// the next poll.
    pub async fn run(self: Arc<Self>) {
        if self.prometheus.is_none() {
            return;
        }
        let mut due: HashMap<Id, Timestamp> = HashMap::new();
        let mut ticker = tokio::time::interval(Duration::from_millis(250));
        loop {
            ticker.tick().await;
            let signals = match self.store.golden_signals(None).await {
                Ok(signals) => signals,
                Err(err) => {
                    tracing::warn!(error = %err, "golden_signals_unavailable");
                    continue;
                }
            };
            let now = self.clock.now();
            for signal in signals.iter().filter(|s| !s.query.is_empty()) {
                if due.get(&signal.id).is_some_and(|at| *at > now) {
                    continue;
                }
                due.insert(signal.id, now + SignedDuration::from_secs(signal.step_secs));
                if let Err(err) = self.poll(signal, now).await {
                    tracing::warn!(signal_id = signal.id, error = %err, "golden_signal_poll_failed");
                }
            }
        }
    }

    async fn poll(&self, signal: &GoldenSignal, now: Timestamp) -> anyhow::Result<()> {
        let Some(prometheus) = &self.prometheus else { return Ok(()) };
        let step = signal.step_secs.max(1);
        let last = self.series.lock().await.get(&signal.id).and_then(|s| s.last_secs);
        let end = now.as_second();
        let start = match last {
            Some(last) => last + step,
            None => end - BACKFILL.as_secs().min(POINTS_PER_QUERY_MAX * step),
        };
        let start = start.max(end - POINTS_PER_QUERY_MAX * step);
        if start > end {
            return Ok(());
        }
        let response = prometheus
            .http
            .get(format!("{}/api/v1/query_range", prometheus.base))
            .query(&[
                ("query", signal.query.as_str()),
                ("start", &start.to_string()),
                ("end", &end.to_string()),
                ("step", &step.to_string()),
            ])
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() || body["status"] != "success" {
            anyhow::bail!(
                "query {:?} failed: {}",
                signal.query,
                body["error"].as_str().unwrap_or("unexpected answer")
            );
        }
        let points = parse_matrix(&body);
        self.observe(signal, &points, now).await?;
        Ok(())
    }

    /// Feeds `points` (seconds, value), oldest first, to the detector of `signal`; points at or
    /// before the last one seen are ignored. Records samples and anomalies, and opens an incident
    /// on a sustained anomaly that is still going on at `now` if the signal asks for it.
    pub async fn observe(
        &self,
        signal: &GoldenSignal,
        points: &[(i64, f64)],
        now: Timestamp,
    ) -> anyhow::Result<usize> {
        let mut all = self.series.lock().await;
        let series = all.entry(signal.id).or_insert_with(Series::new);
        let recent_secs = now.as_second() - 2 * signal.step_secs.max(1) - 1;
        let mut samples = Vec::new();
        for &(secs, value) in points {
            if series.last_secs.is_some_and(|last| secs <= last) || !value.is_finite() {
                continue;
            }
            series.last_secs = Some(secs);
            let mut output = series.detector.update(secs, value);
            let bad = signal.bad.is_bad(value, output.lower, output.upper);
            output.anomalous &= bad;
            let at = Timestamp::from_second(secs)?;
            samples.push(Sample {
                at,
                value,
                expected: output.expected,
                lower: output.lower,
                upper: output.upper,
                score: output.score,
            });
            if let Some(anomaly) = series.open.as_mut() {
                if bad {
                    series.bad_run += 1;
                    series.quiet_run = 0;
                    series.last_bad_secs = secs;
                    // The peak is the sample farthest from what was expected.
                    anomaly.peak_score = anomaly.peak_score.max(output.score);
                    if (value - output.expected).abs() > (anomaly.observed - anomaly.expected).abs() {
                        anomaly.observed = value;
                        anomaly.expected = output.expected;
                        anomaly.lower = output.lower;
                        anomaly.upper = output.upper;
                    }
                } else {
                    series.bad_run = 0;
                    series.quiet_run += 1;
                    if series.quiet_run >= QUIET_SAMPLES_TO_END {
                        let mut ended = series.open.take().expect("an anomaly is open here");
                        ended.ended_at = Some(Timestamp::from_second(series.last_bad_secs)?);
                        self.store.update_anomaly(&ended).await?;
                    }
                }
            } else if output.anomalous {
                let anomaly = Anomaly {
                    id: 0,
                    golden_signal_id: signal.id,
                    service_id: signal.service_id,
                    signal: signal.signal,
                    started_at: at,
                    ended_at: None,
                    peak_score: output.score,
                    expected: output.expected,
                    lower: output.lower,
                    upper: output.upper,
                    observed: value,
                    incident_id: None,
                };
                series.open = Some(self.store.start_anomaly(&anomaly).await?);
                series.bad_run = 1;
                series.quiet_run = 0;
                series.last_bad_secs = secs;
                tracing::info!(service_id = signal.service_id, signal = %signal.signal, value, "anomaly_started");
            }
            let sustained = series.bad_run >= SUSTAINED_SAMPLES && secs >= recent_secs;
            if let Some(anomaly) = series.open.as_mut()
                && sustained
                && signal.open_incident
                && anomaly.incident_id.is_none()
            {
                let incident = self.open_incident(signal, anomaly).await?;
                anomaly.incident_id = Some(incident);
                self.store.update_anomaly(anomaly).await?;
            }
        }
        if let Some(last) = samples.last().map(|s| s.at) {
            self.store.record_samples(signal.id, &samples, last - SAMPLES_KEPT).await?;
        }
        Ok(samples.len())
    }

    async fn open_incident(&self, signal: &GoldenSignal, anomaly: &Anomaly) -> anyhow::Result<Id> {
        let service = self.store.service(signal.service_id).await?;
        let title = format!(
            "{} {} anomalous: {} (expected {})",
            service.name,
            signal.signal,
            short(anomaly.observed),
            short(anomaly.expected)
        );
        let new = NewIncident {
            title,
            service_id: signal.service_id,
            severity: signal.severity,
            kind: Kind::Signal,
        };
        let incident =
            self.store.create_incident(&new, firebreak_store::SYSTEM_ACTOR, self.clock.now()).await?;
        (self.opened)();
        tracing::info!(incident_id = incident.id, service_id = signal.service_id, "anomaly_incident_opened");
        Ok(incident.id)
    }
}

/// The first series of a Prometheus range query answer, as (seconds, value) points.
fn parse_matrix(body: &Value) -> Vec<(i64, f64)> {
    let Some(series) = body["data"]["result"].as_array().and_then(|r| r.first()) else {
        return Vec::new();
    };
    series["values"]
        .as_array()
        .map(|values| {
            values
                .iter()
                .filter_map(|point| {
                    let secs = point[0].as_f64()? as i64;
                    let value: f64 = point[1].as_str()?.parse().ok()?;
                    Some((secs, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A number with at most four significant digits, for titles.
pub(crate) fn short(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let digits = (4 - 1 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{value:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_range_answers_and_shortens_numbers() {
        let body = serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1700000000, "0.25"], [1700000015.0, "NaN"], [1700000030, "x"]]}]}});
        let points = parse_matrix(&body);
        assert_eq!(points.len(), 2);
        assert_eq!(points[0], (1_700_000_000, 0.25));
        assert!(points[1].1.is_nan());
        assert_eq!(short(0.123456), "0.1235");
        assert_eq!(short(1234.6), "1235");
        assert_eq!(short(12.0), "12.00");
    }
}
