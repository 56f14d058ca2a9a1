//! Golden signals: the four numbers that say whether a service is healthy, and their anomalies.

use jiff::Timestamp;

use crate::{Id, Severity};

/// One of a service's four golden signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Latency,
    Traffic,
    Errors,
    Saturation,
}

/// Which way a signal moving is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Up,
    Down,
    Both,
}

impl Signal {
    /// The direction that is bad unless configured otherwise: latency, errors and saturation up;
    /// traffic either way.
    pub fn default_direction(self) -> Direction {
        match self {
            Signal::Traffic => Direction::Both,
            Signal::Latency | Signal::Errors | Signal::Saturation => Direction::Up,
        }
    }
}

impl Direction {
    /// Whether `value` is outside `[lower, upper]` on the bad side.
    pub fn is_bad(self, value: f64, lower: f64, upper: f64) -> bool {
        match self {
            Direction::Up => value > upper,
            Direction::Down => value < lower,
            Direction::Both => value > upper || value < lower,
        }
    }
}

/// How one golden signal of a service is watched.
#[derive(Clone, Debug, PartialEq)]
pub struct GoldenSignal {
    pub id: Id,
    pub service_id: Id,
    pub signal: Signal,
    /// PromQL evaluated against the configured Prometheus-compatible API; empty when samples
    /// are pushed instead.
    pub query: String,
    pub bad: Direction,
    /// Seconds between samples (and between polls).
    pub step_secs: i64,
    /// Open an incident (kind `signal`) on a sustained anomaly.
    pub open_incident: bool,
    pub severity: Severity,
    /// The unit of the values, as people read it on charts (`s`, `req/s`, `%`); empty when unsaid.
    pub unit: String,
}

/// A stretch of time during which a golden signal was anomalous.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    pub id: Id,
    pub golden_signal_id: Id,
    pub service_id: Id,
    pub signal: Signal,
    pub started_at: Timestamp,
    /// `None` while it goes on.
    pub ended_at: Option<Timestamp>,
    pub peak_score: f64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    pub observed: f64,
    pub incident_id: Option<Id>,
}

/// One sample of a golden signal with what the detector made of it, kept for charts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    pub value: f64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    pub score: f64,
}
