//! Turning per-sample outputs into anomalies: a stretch of anomalous samples becomes one anomaly with a
//! start, an end, its peak score and the band and value at the peak.
//!
//! Short dips back to normal inside an anomaly do not split it: an anomaly ends only after a run of normal
//! samples longer than the detector's rest period (see [`crate::Params::rest_samples`]), so one incident
//! that keeps the detector alarmed is not reported twice.

use crate::{Output, Params};

/// One anomaly as reported by [`AnomalyTracker`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anomaly {
    /// Timestamp of the first anomalous sample.
    pub start_secs: i64,
    /// Timestamp of the last anomalous sample (the anomaly may still be going on while it is open).
    pub end_secs: i64,
    /// Timestamp, score, band and observed value of the sample with the highest score.
    pub peak_secs: i64,
    pub peak_score: f64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    pub observed: f64,
}

/// What [`AnomalyTracker::observe`] reports when an anomaly opens or closes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnomalyEvent {
    /// The first anomalous sample after a quiet stretch; `end_secs` equals `start_secs`.
    Started(Anomaly),
    /// The anomaly is over: the last anomalous sample was followed by enough normal ones.
    Ended(Anomaly),
}

/// Groups anomalous outputs into anomalies. Constant memory; feed it the outputs of one [`crate::Detector`].
#[derive(Debug, Clone)]
pub struct AnomalyTracker {
    open: Option<Anomaly>,
    quiet_samples: u32,
    quiet_samples_min: u32,
}

impl AnomalyTracker {
    /// A tracker for the outputs of a detector built with `params`: an anomaly closes after twice the
    /// rest period of normal samples in a row (at least one sample).
    pub fn new(params: &Params) -> Self {
        Self { open: None, quiet_samples: 0, quiet_samples_min: params.rest_samples.saturating_mul(2).max(1) }
    }

    /// The anomaly currently open, if any.
    pub fn open(&self) -> Option<&Anomaly> {
        self.open.as_ref()
    }

    /// Records the output for the sample at `ts_secs` and reports an anomaly that starts or ends with it.
    pub fn observe(&mut self, ts_secs: i64, output: &Output) -> Option<AnomalyEvent> {
        match (&mut self.open, output.anomalous) {
            (None, false) => None,
            (None, true) => {
                let anomaly = Anomaly {
                    start_secs: ts_secs,
                    end_secs: ts_secs,
                    peak_secs: ts_secs,
                    peak_score: output.score,
                    expected: output.expected,
                    lower: output.lower,
                    upper: output.upper,
                    observed: output.value,
                };
                self.open = Some(anomaly);
                self.quiet_samples = 0;
                Some(AnomalyEvent::Started(anomaly))
            }
            (Some(anomaly), true) => {
                anomaly.end_secs = ts_secs;
                if output.score > anomaly.peak_score {
                    anomaly.peak_secs = ts_secs;
                    anomaly.peak_score = output.score;
                    anomaly.expected = output.expected;
                    anomaly.lower = output.lower;
                    anomaly.upper = output.upper;
                    anomaly.observed = output.value;
                }
                self.quiet_samples = 0;
                None
            }
            (Some(_), false) => {
                self.quiet_samples += 1;
                if self.quiet_samples < self.quiet_samples_min {
                    return None;
                }
                self.quiet_samples = 0;
                self.open.take().map(AnomalyEvent::Ended)
            }
        }
    }
}
