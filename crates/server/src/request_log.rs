//! Which requests get a line in the log.
//!
//! Every request is counted in the metrics; the log is for reading. Lines that anyone outside can
//! cause by the thousand per second are rationed, so that a sender with a wrong key, a client
//! retrying into `429`s, or a flood of bad requests cannot fill the disk or spend the CPU that
//! serving needs: client errors (4xx) get at most [`CLIENT_ERROR_LINES_PER_SEC`] lines a second,
//! and the first line written in a later second says how many were left out. Accepted ingest
//! requests and health, readiness and metrics probes are logged at `debug`. Server errors are
//! always logged.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most lines about client errors written in one second.
pub(crate) const CLIENT_ERROR_LINES_PER_SEC: u32 = 20;
const WINDOW: Duration = Duration::from_secs(1);

/// How a finished request is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    Error,
    /// With how many client errors were left out of the log before this line (non-zero only on
    /// the first client error written after some were skipped).
    Info {
        unlogged: u64,
    },
    Debug,
    /// A client error over this second's ration: counted, not written.
    Skipped,
}

/// Decides the line for each request, rationing client errors.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    client_errors: Mutex<Ration>,
}

#[derive(Debug, Default)]
struct Ration {
    /// When the current one-second window began; `None` before the first client error.
    started: Option<Instant>,
    written: u32,
    /// Client errors not written since the last one that was.
    skipped: u64,
}

impl RequestLog {
    /// The line for a request to `route` answered `status` at `now`.
    pub(crate) fn line(&self, method: &str, route: &str, status: u16, now: Instant) -> Line {
        if status >= 500 {
            return Line::Error;
        }
        if is_probe(route) || (status == 202 && method == "POST") {
            // Accepted ingest requests arrive by the thousand per second: one line each would
            // cost more than storing them. Probes come every few seconds from every load
            // balancer and scraper. The metrics count both.
            return Line::Debug;
        }
        if status < 400 {
            return Line::Info { unlogged: 0 };
        }
        let mut ration = self.client_errors.lock().expect("request log lock is never poisoned");
        if ration.started.is_none_or(|started| now.saturating_duration_since(started) >= WINDOW) {
            ration.started = Some(now);
            ration.written = 0;
        }
        if ration.written >= CLIENT_ERROR_LINES_PER_SEC {
            ration.skipped += 1;
            return Line::Skipped;
        }
        ration.written += 1;
        Line::Info { unlogged: std::mem::take(&mut ration.skipped) }
    }
}

fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/metrics")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_rationed_per_second_and_the_next_line_counts_the_rest() {
        let log = RequestLog::default();
        let start = Instant::now();
        for _ in 0..CLIENT_ERROR_LINES_PER_SEC {
            assert_eq!(log.line("POST", "/v2/enqueue", 400, start), Line::Info { unlogged: 0 });
        }
        for status in [400, 429, 404] {
            assert_eq!(log.line("POST", "/v2/enqueue", status, start), Line::Skipped);
        }
        let later = start + Duration::from_millis(999);
        assert_eq!(log.line("GET", "/api/v1/services", 401, later), Line::Skipped);
        // A new second: written again, saying how many were left out.
        let next = start + WINDOW;
        assert_eq!(log.line("GET", "/api/v1/services", 401, next), Line::Info { unlogged: 4 });
        assert_eq!(log.line("GET", "/api/v1/services", 401, next), Line::Info { unlogged: 0 });
    }

    #[test]
    fn server_errors_and_successes_are_never_rationed() {
        let log = RequestLog::default();
        let now = Instant::now();
        for _ in 0..=CLIENT_ERROR_LINES_PER_SEC {
            log.line("POST", "/v2/enqueue", 400, now);
        }
        assert_eq!(log.line("POST", "/v2/enqueue", 400, now), Line::Skipped);
        assert_eq!(log.line("POST", "/v2/enqueue", 500, now), Line::Error);
        assert_eq!(log.line("GET", "/readyz", 503, now), Line::Error);
        assert_eq!(log.line("GET", "/api/v1/incidents", 200, now), Line::Info { unlogged: 0 });
    }

    #[test]
    fn accepted_ingest_and_probes_are_debug() {
        let log = RequestLog::default();
        let now = Instant::now();
        assert_eq!(log.line("POST", "/v2/enqueue", 202, now), Line::Debug);
        assert_eq!(log.line("POST", "/api/v1/ingest/alertmanager/{key}", 202, now), Line::Debug);
        for route in ["/healthz", "/readyz", "/metrics"] {
            assert_eq!(log.line("GET", route, 200, now), Line::Debug);
        }
        // A client error on a probe's route is a probe, not a flood: still debug.
        assert_eq!(log.line("POST", "/healthz", 405, now), Line::Debug);
    }
}
