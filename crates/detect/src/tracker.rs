//! Turning per-sample outputs into anomalies: the one rule for when an anomaly starts, when it is
//! sustained, and when it ends.
//!
//! - An anomaly **starts** with a sample the detector flags as anomalous and that lies on the bad
//!   side of the expected band (the caller says which side is bad: a latency drop is good news).
//! - It goes on while samples stay on the bad side of the band, whatever their score: the detector
//!   rests after an alarm, and a value that stays out of the band is the same outage.
//! - It is **sustained** once [`SUSTAINED_SAMPLES`] samples in a row were on the bad side; that is
//!   what may open an incident, so a single wild sample does not wake anyone.
//! - It **ends** after [`QUIET_SAMPLES_TO_END`] samples in a row that are not on the bad side; its
//!   end is the last sample that was.
//!
//! Missing samples (NaN or infinite values) are skipped: they neither extend nor end an anomaly.
//! The peak is the sample farthest from what the detector expected: its value, expectation and band
//! are what an anomaly reports; its score is the highest seen.

use crate::Output;

/// Samples in a row on the bad side of the band that make an anomaly sustained.
pub const SUSTAINED_SAMPLES: u32 = 2;
/// Samples in a row back inside the band (or on its good side) that end an anomaly.
pub const QUIET_SAMPLES_TO_END: u32 = 5;

/// One anomaly as reported by [`AnomalyTracker`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anomaly {
    /// Timestamp of the first anomalous sample.
    pub start_secs: i64,
    /// Timestamp of the last sample on the bad side (the anomaly may still be going on while it is open).
    pub end_secs: i64,
    /// Timestamp, band and observed value of the sample farthest from what was expected.
    pub peak_secs: i64,
    /// The highest score of the anomaly's samples.
    pub peak_score: f64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    pub observed: f64,
}

/// What [`AnomalyTracker::observe`] reports about a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnomalyEvent {
    /// The first anomalous sample after a quiet stretch; `end_secs` equals `start_secs`.
    Started(Anomaly),
    /// The anomaly has been on the bad side for [`SUSTAINED_SAMPLES`] samples in a row; reported
    /// once per anomaly.
    Sustained(Anomaly),
    /// The anomaly is over: its last bad sample was followed by [`QUIET_SAMPLES_TO_END`] others.
    Ended(Anomaly),
}

/// Groups the outputs of one [`crate::Detector`] into anomalies by the rule in this module's docs.
/// Constant memory.
#[derive(Debug, Clone, Default)]
pub struct AnomalyTracker {
    open: Option<Anomaly>,
    bad_run: u32,
    quiet_run: u32,
    sustained: bool,
}

impl AnomalyTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The anomaly currently open, if any.
    pub fn open(&self) -> Option<&Anomaly> {
        self.open.as_ref()
    }

    /// Whether the open anomaly, if any, is sustained.
    pub fn is_sustained(&self) -> bool {
        self.open.is_some() && self.sustained
    }

    /// Records the output for the sample at `ts_secs`. `bad` says whether the sample lies outside
    /// the band on the side the caller cares about. Reports an anomaly that starts, becomes
    /// sustained or ends with this sample.
    pub fn observe(&mut self, ts_secs: i64, output: &Output, bad: bool) -> Option<AnomalyEvent> {
        if !output.value.is_finite() {
            // A missing sample says nothing about whether the anomaly goes on.
            return None;
        }
        let Some(anomaly) = self.open.as_mut() else {
            if !(output.anomalous && bad) {
                return None;
            }
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
            self.bad_run = 1;
            self.quiet_run = 0;
            self.sustained = false;
            return Some(AnomalyEvent::Started(anomaly));
        };
        if bad {
            anomaly.end_secs = ts_secs;
            anomaly.peak_score = anomaly.peak_score.max(output.score);
            if (output.value - output.expected).abs() > (anomaly.observed - anomaly.expected).abs() {
                anomaly.peak_secs = ts_secs;
                anomaly.expected = output.expected;
                anomaly.lower = output.lower;
                anomaly.upper = output.upper;
                anomaly.observed = output.value;
            }
            self.bad_run = self.bad_run.saturating_add(1);
            self.quiet_run = 0;
            if !self.sustained && self.bad_run >= SUSTAINED_SAMPLES {
                self.sustained = true;
                return Some(AnomalyEvent::Sustained(*anomaly));
            }
            return None;
        }
        self.bad_run = 0;
        self.quiet_run += 1;
        if self.quiet_run < QUIET_SAMPLES_TO_END {
            return None;
        }
        self.quiet_run = 0;
        self.open.take().map(AnomalyEvent::Ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(value: f64, anomalous: bool) -> Output {
        Output {
            score: if anomalous { 0.9 } else { 0.1 },
            expected: 1.0,
            lower: 0.5,
            upper: 1.5,
            value,
            anomalous,
        }
    }

    /// Feeds `(value, anomalous)` samples one second apart and renders what the tracker reports.
    fn check(samples: &[(f64, bool)], expected: &str) {
        let mut tracker = AnomalyTracker::new();
        let mut seen = Vec::new();
        for (secs, &(value, anomalous)) in samples.iter().enumerate() {
            let out = output(value, anomalous);
            let bad = value > out.upper;
            match tracker.observe(secs as i64, &out, bad) {
                Some(AnomalyEvent::Started(a)) => seen.push(format!("{secs}:started@{}", a.start_secs)),
                Some(AnomalyEvent::Sustained(a)) => seen.push(format!("{secs}:sustained@{}", a.start_secs)),
                Some(AnomalyEvent::Ended(a)) => {
                    seen.push(format!("{secs}:ended {}..{} peak@{}", a.start_secs, a.end_secs, a.peak_secs))
                }
                None => {}
            }
        }
        assert_eq!(seen.join(" "), expected);
    }

    #[test]
    fn one_rule_for_start_sustain_and_end() {
        // A bad sample the detector does not flag starts nothing; a flagged one on the good side neither.
        check(&[(2.0, false), (0.0, true), (1.0, false)], "");
        // One wild sample is an anomaly that is never sustained and ends after five quiet ones.
        check(
            &[(2.0, true), (1.0, false), (1.0, false), (1.0, false), (1.0, false), (1.0, false)],
            "0:started@0 5:ended 0..0 peak@0",
        );
        // Bad samples keep it going whatever their score; the peak is the one farthest out.
        check(
            &[
                (2.0, true),
                (3.0, false),
                (2.5, false),
                (1.0, false),
                (1.0, false),
                (1.0, false),
                (1.0, false),
                (1.0, false),
            ],
            "0:started@0 1:sustained@0 7:ended 0..2 peak@1",
        );
        // A dip back inside the band shorter than five samples does not split it, nor sustain it again.
        check(
            &[(2.0, true), (2.0, false), (1.0, false), (2.0, false), (2.0, false)],
            "0:started@0 1:sustained@0",
        );
    }
}
