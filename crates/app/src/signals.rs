//! Golden signals: watching each service's latency, traffic, errors and saturation, saying what
//! moved and when, and raising an alert on a sustained anomaly.
//!
//! A signal is polled from a Prometheus-compatible API (or its samples are pushed); one streaming
//! detector per signal (`firebreak-detect`) scores each sample, and the detector's
//! [`AnomalyTracker`] decides, by its one rule, when an anomaly starts, is sustained and ends.
//! Samples and anomalies are recorded for charts. Where the signal asks for it, a sustained
//! anomaly that is still going on becomes an **alert event** (dedup key `anomaly:{signal}`, kind
//! `signal`, labels `alertname=GoldenSignalAnomaly`, `signal`, `source=firebreak`) through the
//! ingest pipeline, so that silences, grouping and dedup apply to it as to any alert: a repeated
//! anomaly on a signal is a repeat of its alert, not a second incident. An anomaly's end does not
//! resolve the alert: a flapping outage stays one incident, which a person resolves; an anomaly
//! after that opens a new one.
//!
//! Detector state lives in memory and is rebuilt on start by backfilling from the metrics
//! backend's history, so a restart does not forget what normal looks like.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use firebreak_api::{self as api, Ref};
use firebreak_detect::{AnomalyEvent, AnomalyTracker, Detector, Params};
use firebreak_domain::{AlertAction, AlertEvent, Anomaly, Clock, GoldenSignal, Id, Kind, Sample, Signal};
use firebreak_store::{GoldenSignalSpec, Store};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::alerts::{Ingestor, Refusal};
use crate::prometheus::Prometheus;
use crate::resolve::{self, DESCRIPTION_CHARS_MAX};
use crate::workers::Stop;
use crate::{App, Error, Result};

/// How far back a signal is backfilled when firebreak starts watching it.
pub const BACKFILL: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Most points asked for in one query (Prometheus refuses more than 11,000).
pub const POINTS_PER_QUERY_MAX: i64 = 10_000;
/// How long samples are kept for charts.
pub const SAMPLES_KEPT: SignedDuration = SignedDuration::from_hours(8 * 24);
pub use crate::prometheus::QUERY_TIMEOUT;
/// Most samples accepted in one push.
pub const PUSH_SAMPLES_MAX: usize = 10_000;
/// How far ahead of the server's clock a pushed sample may be (clocks disagree a little): a sample
/// from the future would hold back every later one, since samples are taken in order.
pub const PUSH_AHEAD_MAX: SignedDuration = SignedDuration::from_mins(5);
/// How often the poller looks for signals that are due.
const POLL_TICK: Duration = Duration::from_millis(250);
/// Seconds between samples when a signal does not say: Prometheus's usual scrape interval.
const STEP_SECS_DEFAULT: i64 = 15;
/// Longest step between samples.
const STEP_SECS_MAX: i64 = 3600;
/// The `alertname` label of anomaly alerts, for silences.
pub const ANOMALY_ALERT_NAME: &str = "GoldenSignalAnomaly";

/// The golden-signal watcher shared by the poller and the push endpoint.
pub(crate) struct Monitor {
    store: Store,
    clock: Arc<dyn Clock>,
    ingestor: Arc<Ingestor>,
    prometheus: Option<Prometheus>,
    series: Mutex<HashMap<Id, Series>>,
}

/// What is known of one golden signal: its detector and tracker, the last sample seen, and the
/// record of the anomaly going on.
/// What came of samples given to the monitor: how many it took, and why it left the others out
/// (by their index).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub accepted: usize,
    pub skipped: Vec<(usize, String)>,
}

struct Series {
    detector: Detector,
    tracker: AnomalyTracker,
    last_secs: Option<i64>,
    open: Option<OpenAnomaly>,
}

/// An anomaly going on: its stored record, and whether its alert was raised for it.
struct OpenAnomaly {
    record: Anomaly,
    alerted: bool,
}

impl Series {
    fn new() -> Series {
        Series {
            detector: Detector::new(&Params::default()),
            tracker: AnomalyTracker::new(),
            last_secs: None,
            open: None,
        }
    }
}

impl Monitor {
    /// A monitor; `prometheus` is the client of a Prometheus-compatible API, if any.
    pub(crate) fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        ingestor: Arc<Ingestor>,
        prometheus: Option<Prometheus>,
    ) -> Monitor {
        Monitor { store, clock, ingestor, prometheus, series: Mutex::default() }
    }

    /// Polls every signal with a query when it is due, until `stop` is raised. Errors are logged
    /// and retried at the next poll. Without a Prometheus URL there is nothing to poll.
    pub(crate) async fn run(self: Arc<Self>, mut stop: Stop) {
        if self.prometheus.is_none() {
            return;
        }
        let mut due: HashMap<Id, Timestamp> = HashMap::new();
        let mut ticker = tokio::time::interval(POLL_TICK);
        loop {
            tokio::select! {
                () = stop.requested() => return,
                _ = ticker.tick() => {}
            }
            let signals = match self.store.golden_signals(None).await {
                Ok(signals) => signals,
                Err(err) => {
                    tracing::warn!(error = %err, "golden_signals_unavailable");
                    continue;
                }
            };
            let now = self.clock.now();
            for signal in signals.iter().filter(|s| !s.query.is_empty()) {
                if stop.is_requested() {
                    return;
                }
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
        let body = prometheus
            .get(
                "/api/v1/query_range",
                &[
                    ("query", signal.query.as_str()),
                    ("start", &start.to_string()),
                    ("end", &end.to_string()),
                    ("step", &step.to_string()),
                ],
            )
            .await?;
        let points = parse_matrix(&body);
        self.observe(signal, &points, now).await?;
        Ok(())
    }

    /// Feeds `points` (seconds, value), oldest first, to the detector of `signal`; points at or
    /// before the last one seen, and values that are not numbers, are ignored. Records samples
    /// and anomalies, and raises the signal's alert on a sustained anomaly still going on at `now`
    /// if the signal asks for it. Returns how many samples were recorded.
    async fn observe(
        &self,
        signal: &GoldenSignal,
        points: &[(i64, f64)],
        now: Timestamp,
    ) -> anyhow::Result<Observed> {
        let mut all = self.series.lock().await;
        let series = all.entry(signal.id).or_insert_with(Series::new);
        let recent_secs = now.as_second() - 2 * signal.step_secs.max(1) - 1;
        let mut samples = Vec::new();
        let mut skipped = Vec::new();
        for (index, &(secs, value)) in points.iter().enumerate() {
            if let Some(last) = series.last_secs.filter(|last| secs <= *last) {
                let last =
                    Timestamp::from_second(last).map_or_else(|_| last.to_string(), |at| at.to_string());
                skipped.push((index, format!("not after the signal's last sample, at {last}: samples are taken oldest first, once each")));
                continue;
            }
            if !value.is_finite() {
                skipped.push((index, "the value is not a finite number".to_owned()));
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
            match series.tracker.observe(secs, &output, bad) {
                Some(AnomalyEvent::Started(started)) => {
                    let record = anomaly_record(signal, &started, None)?;
                    let record = self.store.start_anomaly(&record).await?;
                    series.open = Some(OpenAnomaly { record, alerted: false });
                    tracing::info!(service_id = signal.service_id, signal = %signal.signal, value, "anomaly_started");
                }
                Some(AnomalyEvent::Ended(ended)) => {
                    if let Some(open) = series.open.take() {
                        let record = anomaly_record(signal, &ended, Some(ended.end_secs))?;
                        let record =
                            Anomaly { id: open.record.id, incident_id: open.record.incident_id, ..record };
                        self.store.update_anomaly(&record).await?;
                    }
                }
                Some(AnomalyEvent::Sustained(_)) | None => {}
            }
            // Checked at every sample, not only when the anomaly becomes sustained: one that became
            // sustained in backfilled history and is still going on raises its alert now.
            if let (Some(open), Some(anomaly)) = (series.open.as_mut(), series.tracker.open())
                && series.tracker.is_sustained()
                && secs >= recent_secs
                && signal.open_incident
                && !open.alerted
            {
                open.alerted = true;
                let summary = self.summary(signal, anomaly.observed, anomaly.expected).await?;
                open.record.incident_id = self.raise(signal, summary).await;
                self.store.update_anomaly(&open.record).await?;
            }
        }
        if let Some(last) = samples.last().map(|s| s.at) {
            self.store.record_samples(signal.id, &samples, last - SAMPLES_KEPT).await?;
        }
        Ok(Observed { accepted: samples.len(), skipped })
    }

    /// Forgets golden signal `signal_id`'s samples and what its detector learned from them: it
    /// starts over with the next sample.
    async fn reset(&self, signal_id: Id) -> anyhow::Result<()> {
        let mut all = self.series.lock().await;
        self.store.delete_samples(signal_id).await?;
        all.remove(&signal_id);
        Ok(())
    }

    /// What the alert of an anomaly says: the incident title when it opens one.
    async fn summary(&self, signal: &GoldenSignal, observed: f64, expected: f64) -> anyhow::Result<String> {
        let service = self.store.service(signal.service_id).await?;
        Ok(format!(
            "{} {} anomalous: {} (expected {})",
            service.name,
            signal.signal,
            short(observed),
            short(expected)
        ))
    }

    /// Fires the signal's alert through the ingest pipeline and waits until it is stored. Returns
    /// the incident the alert is on: `None` when it was silenced, or could not be stored (which is
    /// logged; the next anomaly tries again).
    async fn raise(&self, signal: &GoldenSignal, summary: String) -> Option<Id> {
        let dedup_key = anomaly_dedup_key(signal.signal);
        let event = AlertEvent {
            action: AlertAction::Trigger,
            dedup_key: Some(dedup_key.clone()),
            summary,
            source: "firebreak".to_owned(),
            severity: signal.severity,
            kind: Kind::Signal,
            occurred_at: Some(self.clock.now()),
            labels: BTreeMap::from([
                ("alertname".to_owned(), ANOMALY_ALERT_NAME.to_owned()),
                ("signal".to_owned(), signal.signal.as_str().to_owned()),
                ("source".to_owned(), "firebreak".to_owned()),
            ]),
            details: String::new(),
            links: Vec::new(),
        };
        match self.ingestor.submit(signal.service_id, vec![event]).await {
            Ok(()) => {}
            Err(Refusal::Busy) => {
                tracing::warn!(signal_id = signal.id, "anomaly_alert_refused");
                return None;
            }
            Err(Refusal::Failed(err)) => {
                tracing::warn!(signal_id = signal.id, error = %err, "anomaly_alert_failed");
                return None;
            }
        }
        self.ingestor.settle().await;
        match self.store.alert(signal.service_id, &dedup_key).await {
            Ok(alert) => alert.and_then(|alert| alert.incident_id),
            Err(err) => {
                tracing::warn!(signal_id = signal.id, error = %err, "anomaly_alert_unread");
                None
            }
        }
    }
}

/// The dedup key of a signal's anomaly alert: one alert per signal of a service.
pub fn anomaly_dedup_key(signal: Signal) -> String {
    format!("anomaly:{}", signal.as_str())
}

/// The stored record of a tracked anomaly; `ended_secs` once it is over.
fn anomaly_record(
    signal: &GoldenSignal,
    anomaly: &firebreak_detect::Anomaly,
    ended_secs: Option<i64>,
) -> anyhow::Result<Anomaly> {
    Ok(Anomaly {
        id: 0,
        golden_signal_id: signal.id,
        service_id: signal.service_id,
        signal: signal.signal,
        started_at: Timestamp::from_second(anomaly.start_secs)?,
        ended_at: ended_secs.map(Timestamp::from_second).transpose()?,
        peak_score: anomaly.peak_score,
        expected: anomaly.expected,
        lower: anomaly.lower,
        upper: anomaly.upper,
        observed: anomaly.observed,
        incident_id: None,
    })
}

impl App {
    /// Watches a golden signal of a service: a PromQL query polled every `step_seconds` (or
    /// samples pushed), the direction that is bad, and whether a sustained anomaly raises an alert.
    ///
    /// Fails with [`Error::NotFound`] for an unknown service or signal and [`Error::Invalid`] for
    /// a bad field.
    pub async fn set_golden_signal(
        &self,
        who: &crate::Principal,
        service: &Ref,
        signal: &str,
        body: api::SetGoldenSignal,
    ) -> Result<GoldenSignal> {
        let service_id = resolve::service_id(self.store(), service).await?;
        let scope = self.service_scope(service_id).await?;
        self.authorize(who, firebreak_domain::Action::Configure, scope).await?;
        let signal = Signal::parse(signal).map_err(Error::NotFound)?;
        let bad = match &body.bad {
            Some(bad) => firebreak_domain::Direction::parse(bad).map_err(Error::Invalid)?,
            None => signal.default_direction(),
        };
        let step_secs = body.step_seconds.unwrap_or(STEP_SECS_DEFAULT);
        if !(1..=STEP_SECS_MAX).contains(&step_secs) {
            return Err(Error::Invalid(format!("step_seconds must be between 1 and {STEP_SECS_MAX}")));
        }
        let spec = GoldenSignalSpec {
            query: resolve::text("query", &body.query, DESCRIPTION_CHARS_MAX)?,
            bad,
            step_secs,
            open_incident: body.open_incident,
            severity: body.severity.unwrap_or(api::Severity::Sev2).into(),
            unit: unit(body.unit.as_deref().unwrap_or_default())?,
        };
        let mut tx = self.store().begin().await?;
        let signal = tx.set_golden_signal(service_id, signal, &spec).await?;
        let audit = crate::access::Audit::new("golden_signal.set", format!("service:{service_id}"))
            .after(api::GoldenSignal::from(signal.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(signal)
    }

    /// The watched golden signals of a service.
    pub async fn golden_signals(&self, service: &Ref) -> Result<Vec<GoldenSignal>> {
        let service_id = resolve::service_id(self.store(), service).await?;
        self.golden_signals_of(service_id).await
    }

    /// The watched golden signals of service `service_id`.
    pub async fn golden_signals_of(&self, service_id: Id) -> Result<Vec<GoldenSignal>> {
        Ok(self.store().golden_signals(Some(service_id)).await?)
    }

    /// Takes samples of a golden signal (for users without Prometheus), oldest first, and says
    /// how many were recorded and why the others were not.
    ///
    /// Fails with [`Error::NotFound`] for an unknown service, or a signal it does not watch,
    /// [`Error::Invalid`] for too many samples or one more than [`PUSH_AHEAD_MAX`] ahead of the
    /// clock, and [`Error::Unavailable`] when they could not be recorded.
    pub async fn push_samples(
        &self,
        who: &crate::Principal,
        service: &Ref,
        signal: &str,
        body: api::PushSamples,
    ) -> Result<Observed> {
        let service_id = resolve::service_id(self.store(), service).await?;
        let scope = self.service_scope(service_id).await?;
        self.authorize(who, firebreak_domain::Action::Respond, scope).await?;
        let signal = Signal::parse(signal).map_err(Error::NotFound)?;
        if body.samples.len() > PUSH_SAMPLES_MAX {
            return Err(Error::Invalid(format!("at most {PUSH_SAMPLES_MAX} samples per request")));
        }
        let now = self.now();
        let latest = now.saturating_add(PUSH_AHEAD_MAX).unwrap_or(now);
        if let Some((index, sample)) = body.samples.iter().enumerate().find(|(_, sample)| sample.at > latest)
        {
            return Err(Error::Invalid(format!(
                "samples[{index}].at {} is more than {} minutes ahead of the server's clock ({now}): a sample from \
                 the future would hold back every later one",
                sample.at,
                PUSH_AHEAD_MAX.as_mins()
            )));
        }
        let Some(golden) = self.golden_signals_of(service_id).await?.into_iter().find(|s| s.signal == signal)
        else {
            return Err(Error::NotFound(format!(
                "service {service_id} does not watch {signal}; set it up with PUT /api/v1/services/{service_id}/golden-signals/{signal}"
            )));
        };
        let points: Vec<(i64, f64)> = body.samples.iter().map(|s| (s.at.as_second(), s.value)).collect();
        self.inner.monitor.observe(&golden, &points, now).await.map_err(|err| {
            Error::Unavailable(format!("recording samples of golden signal {}: {err:#}", golden.id))
        })
    }

    /// Forgets a golden signal's samples and what was learned from them, so that it starts over:
    /// after samples pushed with a wrong clock, say. Its anomalies are kept.
    ///
    /// Fails with [`Error::NotFound`] for an unknown service, or a signal it does not watch.
    pub async fn reset_samples(&self, who: &crate::Principal, service: &Ref, signal: &str) -> Result<()> {
        let service_id = resolve::service_id(self.store(), service).await?;
        let scope = self.service_scope(service_id).await?;
        self.authorize(who, firebreak_domain::Action::Configure, scope).await?;
        let audit = crate::access::Audit::new("golden_signal.reset", format!("service:{service_id}"))
            .before(serde_json::json!({ "signal": signal }));
        self.audit(who, audit).await?;
        let signal = Signal::parse(signal).map_err(Error::NotFound)?;
        let Some(golden) = self.golden_signals_of(service_id).await?.into_iter().find(|s| s.signal == signal)
        else {
            return Err(Error::NotFound(format!("service {service_id} does not watch {signal}")));
        };
        self.inner
            .monitor
            .reset(golden.id)
            .await
            .map_err(|err| Error::Unavailable(format!("resetting golden signal {}: {err:#}", golden.id)))
    }

    /// Anomalies of a service's golden signals that overlap `[since, until)` (RFC 3339; the last 24
    /// hours by default), oldest first.
    ///
    /// Fails with [`Error::NotFound`] for an unknown service and [`Error::BadRequest`] for a
    /// malformed instant.
    pub async fn anomalies(
        &self,
        service: &Ref,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<Vec<Anomaly>> {
        let service_id = resolve::service_id(self.store(), service).await?;
        let now = self.now();
        let since = resolve::instant_or("since", since, now - SignedDuration::from_hours(24))?;
        let until = resolve::instant_or("until", until, now + SignedDuration::from_secs(1))?;
        self.anomalies_between(service_id, since, until).await
    }

    /// Anomalies of service `service_id` that overlap `[from, to)`, oldest first.
    pub async fn anomalies_between(
        &self,
        service_id: Id,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Anomaly>> {
        Ok(self.store().anomalies(service_id, from, to).await?)
    }

    /// Samples of golden signal `id` in `[from, to)`, oldest first.
    pub async fn samples(&self, id: Id, from: Timestamp, to: Timestamp) -> Result<Vec<Sample>> {
        Ok(self.store().samples(id, from, to).await?)
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

/// A number with at most four significant digits, for titles and captions.
pub fn short(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let digits = (4 - 1 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{value:.digits$}")
}

/// Longest unit of a golden signal's values.
const UNIT_CHARS_MAX: usize = 16;

/// A golden signal's unit: short, printable, trimmed.
fn unit(text: &str) -> Result<String> {
    let text = text.trim();
    if text.chars().count() > UNIT_CHARS_MAX || text.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "unit must be at most {UNIT_CHARS_MAX} printable characters, such as s, req/s or %"
        )));
    }
    Ok(text.to_owned())
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
