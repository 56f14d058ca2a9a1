//! Prometheus metrics: requests by route and status, request latency, incidents by status, the
//! ingest pipeline, and the pages sent.
//!
//! Requests are counted in a few maps, which a request updates without allocating once its route
//! was seen; a scrape copies them and has `prometheus-client` write them out, with what the
//! application says at that moment.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use firebreak_app::alerts::IngestMetrics;
use firebreak_domain::Status;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet, text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// Upper bounds, in seconds, of the latency histogram's buckets.
const LATENCY_BUCKETS_SECS: [f64; 12] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By route, method and status.
    requests: BTreeMap<String, BTreeMap<String, BTreeMap<u16, u64>>>,
    /// By route: bucket counts, sum of seconds, count.
    latency: BTreeMap<String, Histogram>,
}

#[derive(Clone, Debug, Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS_SECS.len()],
    sum_secs: f64,
    count: u64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut inner = self.inner.lock().expect("metrics lock is never poisoned");
        // Looked up by reference: a request allocates nothing here once its route was seen.
        *entry(entry(&mut inner.requests, route), method).entry(status).or_default() += 1;
        let histogram = entry(&mut inner.latency, route);
        let secs = elapsed.as_secs_f64();
        // Each request in the one bucket it falls in (the encoder adds them up); beyond the last
        // bound, only in the count.
        if let Some(bucket) = LATENCY_BUCKETS_SECS.iter().position(|bound| secs <= *bound) {
            histogram.buckets[bucket] += 1;
        }
        histogram.sum_secs += secs;
        histogram.count += 1;
    }

    /// The metrics in the OpenMetrics text format (which Prometheus reads): the requests counted
    /// here, and what the application says at this moment.
    pub fn render(&self, now: Scraped) -> String {
        let snapshot = {
            let inner = self.inner.lock().expect("metrics lock is never poisoned");
            Snapshot { requests: inner.requests.clone(), latency: inner.latency.clone(), now }
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(snapshot));
        let mut out = String::new();
        text::encode(&mut out, &registry).expect("writing to a String does not fail");
        out
    }
}

/// What the application says at a scrape.
#[derive(Debug)]
pub struct Scraped {
    /// Incidents by status.
    pub incidents: Vec<(Status, i64)>,
    pub ingest: IngestMetrics,
    /// Delivery attempts by (channel, outcome).
    pub attempts: Vec<((String, &'static str), u64)>,
    pub escalations_exhausted: u64,
}

/// Everything one scrape shows.
#[derive(Debug)]
struct Snapshot {
    requests: BTreeMap<String, BTreeMap<String, BTreeMap<u16, u64>>>,
    latency: BTreeMap<String, Histogram>,
    now: Scraped,
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let help = "HTTP requests answered, by method, route and status.";
        let mut metric =
            encoder.encode_descriptor("firebreak_http_requests", help, None, MetricType::Counter)?;
        for (route, methods) in &self.requests {
            for (method, statuses) in methods {
                for (status, count) in statuses {
                    let status = status.to_string();
                    let labels =
                        [("method", method.as_str()), ("route", route.as_str()), ("status", status.as_str())];
                    ConstCounter::new(*count).encode(metric.encode_family(&labels)?)?;
                }
            }
        }
        let help = "Time to answer HTTP requests, by route.";
        let mut metric = encoder.encode_descriptor(
            "firebreak_http_request_duration_seconds",
            help,
            None,
            MetricType::Histogram,
        )?;
        for (route, histogram) in &self.latency {
            // The encoder adds the buckets up, and reads `f64::MAX` as `+Inf`.
            let beyond = histogram.count - histogram.buckets.iter().sum::<u64>();
            let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS_SECS
                .iter()
                .copied()
                .zip(histogram.buckets)
                .chain([(f64::MAX, beyond)])
                .collect();
            metric.encode_family(&[("route", route.as_str())])?.encode_histogram::<NoLabelSet>(
                histogram.sum_secs,
                histogram.count,
                &buckets,
                None,
            )?;
        }
        let mut metric = encoder.encode_descriptor(
            "firebreak_incidents",
            "Incidents, by status.",
            None,
            MetricType::Gauge,
        )?;
        for (status, count) in &self.now.incidents {
            ConstGauge::new(*count).encode(metric.encode_family(&[("status", status.as_str())])?)?;
        }
        let ingest = &self.now.ingest;
        for (name, help, value) in [
            (
                "firebreak_alert_events_accepted",
                "Alert events stored and answered 202.",
                ingest.events_accepted,
            ),
            (
                "firebreak_ingest_requests_throttled",
                "Ingest requests answered 429.",
                ingest.requests_throttled,
            ),
            (
                "firebreak_ingest_batches_committed",
                "Transactions that stored alert events.",
                ingest.batches_committed,
            ),
            (
                "firebreak_ingest_journal_records",
                "Records synced to the ingest journal (each answers every request waiting for it).",
                ingest.journal_records,
            ),
            (
                "firebreak_ingest_events_dropped",
                "Accepted alert events left out when applied, because their service was gone.",
                ingest.events_dropped,
            ),
            (
                "firebreak_escalations_exhausted",
                "Escalations that paged every level of every pass without an acknowledgement.",
                self.now.escalations_exhausted,
            ),
        ] {
            ConstCounter::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        let help = "Alert events accepted and journaled, not yet in the database.";
        let metric =
            encoder.encode_descriptor("firebreak_ingest_backlog_events", help, None, MetricType::Gauge)?;
        ConstGauge::new(i64::try_from(ingest.backlog_events).unwrap_or(i64::MAX)).encode(metric)?;
        let help = "Page delivery attempts, by channel and outcome: delivered, retrying, failed, withdrawn (no longer \
                    needed) or unknown (an interrupted attempt may have arrived).";
        let mut metric =
            encoder.encode_descriptor("firebreak_page_attempts", help, None, MetricType::Counter)?;
        for ((channel, outcome), count) in &self.now.attempts {
            let labels = [("channel", channel.as_str()), ("outcome", *outcome)];
            ConstCounter::new(*count).encode(metric.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The value of `key` in `map`, inserted as the default if missing; allocates only then.
fn entry<'a, V: Default>(map: &'a mut BTreeMap<String, V>, key: &str) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("the key was inserted above")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.record_request("GET", "/healthz", 200, Duration::from_millis(3));
        let text = metrics.render(Scraped {
            incidents: vec![(Status::Triggered, 2)],
            ingest: IngestMetrics::default(),
            attempts: vec![(("webhook".to_owned(), "delivered"), 3)],
            escalations_exhausted: 1,
        });
        assert!(
            text.contains(
                "firebreak_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1\n"
            )
        );
        assert!(text.contains(
            "firebreak_http_request_duration_seconds_bucket{le=\"0.0025\",route=\"/healthz\"} 0\n"
        ));
        assert!(
            text.contains(
                "firebreak_http_request_duration_seconds_bucket{le=\"0.005\",route=\"/healthz\"} 1\n"
            )
        );
        assert!(text.contains("firebreak_incidents{status=\"triggered\"} 2\n"));
        assert!(
            text.contains("firebreak_page_attempts_total{channel=\"webhook\",outcome=\"delivered\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("firebreak_escalations_exhausted_total 1\n"), "{text}");
        assert!(
            text.contains(
                "firebreak_http_request_duration_seconds_bucket{le=\"5.0\",route=\"/healthz\"} 1\n"
            )
        );
        assert!(
            text.contains(
                "firebreak_http_request_duration_seconds_bucket{le=\"+Inf\",route=\"/healthz\"} 1\n"
            )
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
