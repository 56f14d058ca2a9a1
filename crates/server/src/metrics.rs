//! Prometheus metrics: requests by route and status, request latency, incidents by status.
//!
//! Kept by hand in a few maps: the set of routes is small and fixed, and the text format is
//! simple enough not to need a metrics library.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use firebreak_domain::Status;

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

#[derive(Debug, Default)]
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
        for (bucket, bound) in histogram.buckets.iter_mut().zip(LATENCY_BUCKETS_SECS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
        histogram.sum_secs += secs;
        histogram.count += 1;
    }

    /// The metrics in Prometheus text format, with `incidents` (count by status) as a gauge.
    pub fn render(&self, incidents: &[(Status, i64)]) -> String {
        let inner = self.inner.lock().expect("metrics lock is never poisoned");
        let mut out = String::new();
        out.push_str(
            "# HELP firebreak_http_requests_total HTTP requests answered, by method, route and status.\n",
        );
        out.push_str("# TYPE firebreak_http_requests_total counter\n");
        for (route, methods) in &inner.requests {
            let route = escape(route);
            for (method, statuses) in methods {
                for (status, count) in statuses {
                    let _ = writeln!(
                        out,
                        "firebreak_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}",
                    );
                }
            }
        }
        out.push_str(
            "# HELP firebreak_http_request_duration_seconds Time to answer HTTP requests, by route.\n",
        );
        out.push_str("# TYPE firebreak_http_request_duration_seconds histogram\n");
        for (route, histogram) in &inner.latency {
            let route = escape(route);
            for (bound, count) in LATENCY_BUCKETS_SECS.iter().zip(histogram.buckets) {
                let _ = writeln!(
                    out,
                    "firebreak_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "firebreak_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "firebreak_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                histogram.sum_secs
            );
            let _ = writeln!(
                out,
                "firebreak_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count
            );
        }
        out.push_str("# HELP firebreak_incidents Incidents, by status.\n");
        out.push_str("# TYPE firebreak_incidents gauge\n");
        for (status, count) in incidents {
            let _ = writeln!(out, "firebreak_incidents{{status=\"{status}\"}} {count}");
        }
        out
    }
}

/// The value of `key` in `map`, inserted as the default if missing; allocates only then.
fn entry<'a, V: Default>(map: &'a mut BTreeMap<String, V>, key: &str) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("the key was inserted above")
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.record_request("GET", "/healthz", 200, Duration::from_millis(3));
        let text = metrics.render(&[(Status::Triggered, 2)]);
        assert!(
            text.contains(
                "firebreak_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1\n"
            )
        );
        assert!(text.contains(
            "firebreak_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0025\"} 0\n"
        ));
        assert!(
            text.contains(
                "firebreak_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 1\n"
            )
        );
        assert!(text.contains("firebreak_incidents{status=\"triggered\"} 2\n"));
    }
}
