//! Streaming anomaly detection over metric series.
//!
//! A [`Detector`] takes one sample at a time (a timestamp in seconds and a value) and returns an
//! [`Output`]: an anomaly score in `[0, 1]`, the value it expected with a band around it, and whether the
//! sample is anomalous. It learns online without labels, keeps a fixed amount of memory per series and
//! never reads a clock: time is whatever the caller passes. An [`AnomalyTracker`] turns the stream of
//! outputs into anomalies with a start, an end and a peak.
//!
//! The crate is pure numerics with no dependencies: no I/O, no async, no allocation after construction.

mod detector;
mod tracker;

pub use detector::{Detector, Output, Params};
pub use tracker::{Anomaly, AnomalyEvent, AnomalyTracker, QUIET_SAMPLES_TO_END, SUSTAINED_SAMPLES};
