//! The streaming detector.
//!
//! Each finite sample goes through three models that are cheap to update:
//!
//! * a **sequence model**: the value is quantised into a few levels between the running minimum and
//!   maximum, and a hashed table remembers which levels followed each recent context of levels (orders 1
//!   to [`Params::orders`]) and how often the context occurred. A transition never seen before is
//!   surprising, the more so the more often its context was seen; one seen before is not.
//! * a **seasonal model**: an exponentially weighted level plus additive daily and weekly profiles keyed
//!   by the timestamp (so irregular intervals and gaps need no resampling), with an exponentially
//!   weighted scale of the residual. Its residual, in scales, is turned into a score through an anomaly
//!   likelihood: how unusual the recent average residual is compared with its own long-run distribution.
//! * a **range check**: a value clearly outside everything seen so far is anomalous on its own.
//!
//! The largest of these is the raw score. After a raw score at or above [`Params::alarm_score`] the
//! detector rests: for [`Params::rest_samples`] samples it reports 0, because one incident should raise
//! one alarm rather than a burst of them.
//!
//! # Memory
//!
//! A [`Detector`] is one fixed-size value with no heap allocation: 5,952 bytes on 64-bit targets (the test
//! `memory_per_series` pins the exact size), far under the 64 KiB budget per series. Most of it is the
//! sequence table (1,024 × 4 bytes) and the weekly profile (168 × 8 bytes).
//!
//! # Cost
//!
//! An update is a few dozen floating-point operations and a handful of table look-ups; the `throughput`
//! bench measures it.

/// Tuning of [`Detector`]. [`Params::default`] is the one tuned set, used for every series; the fields are
/// public for experiments (see the `tune` example of `firebreak-nab`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Samples that only train the detector; their score is 0.
    pub warmup_samples: u32,
    /// Number of value levels of the sequence model (2 to 16).
    pub levels: u32,
    /// Longest context, in samples, of the sequence model (1 to 15).
    pub orders: u32,
    /// Weight of the sequence model's score in the raw score.
    pub sequence_weight: f64,
    /// Weight of a new sample in the level of the seasonal model.
    pub level_alpha: f64,
    /// Weight of a new residual in the seasonal profiles.
    pub season_alpha: f64,
    /// Weight of a new residual in the residual scale.
    pub scale_alpha: f64,
    /// Weight of the seasonal model's score in the raw score.
    pub stat_weight: f64,
    /// Weight of a new averaged residual in its long-run mean and variance (the likelihood model).
    pub likelihood_alpha: f64,
    /// Smallest standard deviation assumed for averaged residuals.
    pub likelihood_std_min: f64,
    /// How far outside the running range (as a fraction of the range) a value must be to count as out of
    /// range.
    pub range_tolerance: f64,
    /// Samples after a raw score at or above [`Params::alarm_score`] whose score is reported as 0.
    pub rest_samples: u32,
    /// Score at or above which a sample is anomalous and the detector starts resting.
    pub alarm_score: f64,
    /// Half-width of the expected band, in residual scales.
    pub band_scales: f64,
    /// A gap longer than this many typical intervals breaks the sequence context.
    pub gap_intervals: f64,
    /// Weight of a new context in the sequence score (relative to a novel transition).
    pub new_context_weight: f64,
    /// Weight of the sequence score in the input of the likelihood, next to the residual.
    pub sequence_mix: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            warmup_samples: 30,
            levels: 5,
            orders: 2,
            sequence_weight: 0.8,
            level_alpha: 0.01,
            season_alpha: 0.02,
            scale_alpha: 0.008,
            stat_weight: 1.0,
            likelihood_alpha: 0.0015,
            likelihood_std_min: 0.06,
            range_tolerance: 0.005,
            rest_samples: 25,
            alarm_score: 0.6,
            band_scales: 4.0,
            gap_intervals: 4.0,
            new_context_weight: 1.0,
            sequence_mix: 0.3,
        }
    }
}

/// What [`Detector::update`] says about one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Output {
    /// Anomaly score in `[0, 1]`; 0 for missing (NaN or infinite) samples, during warm-up and while resting.
    pub score: f64,
    /// The value the seasonal model expected for this sample, before learning from it; NaN until it has
    /// seen a finite sample. For a missing sample, the expectation of the latest finite one.
    pub expected: f64,
    /// Lower edge of the expected band.
    pub lower: f64,
    /// Upper edge of the expected band.
    pub upper: f64,
    /// The observed value, as passed in.
    pub value: f64,
    /// Whether `score` reached [`Params::alarm_score`].
    pub anomalous: bool,
}

/// The sequence table has `2^TABLE_BITS` entries, each a bit set of the levels seen after a context (low
/// 16 bits) and a saturating count of the times the context was seen (high 16 bits).
const TABLE_BITS: u32 = 10;
const TABLE_LEN: usize = 1 << TABLE_BITS;
const LEVEL_BITS: u32 = 0xFFFF;
const COUNT_ONE: u32 = 1 << 16;
/// Times a context must have been seen for a new level after it to weigh one half: a transition that is
/// new after a context seen once is less telling than one new after a context seen a hundred times.
const CONTEXT_COUNT_HALF: f64 = 1.0;
/// Hourly slots of the daily and weekly profiles.
const DAY_SLOTS: usize = 24;
const WEEK_SLOTS: usize = 168;
/// Residual, in scales, that maps to a raw residual score of one half.
const SURPRISE_HALF: f64 = 8.0;
/// Residuals are clipped to this many scales before they update the scale, so one spike does not blind
/// the detector for long.
const SCALE_CLIP: f64 = 6.0;
/// The weekly profile learns at this fraction of [`Params::season_alpha`]: it only corrects the daily one.
const WEEK_ALPHA_SHARE: f64 = 0.5;
/// Weight of a new interval in the typical interval.
const INTERVAL_ALPHA: f64 = 0.05;
const DAY_SECS: i64 = 86_400;
const WEEK_SECS: i64 = 7 * DAY_SECS;
/// The Unix epoch fell on a Thursday; shifting by three days starts weekly slots on Monday 00:00 UTC.
const WEEK_START_SHIFT_SECS: i64 = 3 * DAY_SECS;
/// Raw residual scores averaged before the likelihood: a change that persists for a few samples weighs
/// more than one noisy sample.
const AVERAGE_LEN: usize = 10;

/// Streaming anomaly detector for one series. Fixed size, no heap allocation.
#[derive(Debug, Clone)]
pub struct Detector {
    params: Params,
    /// Finite samples seen.
    samples: u64,
    last_ts_secs: Option<i64>,
    /// Typical interval between samples, in seconds (0 until known).
    interval: f64,
    /// Running range of the values.
    min: f64,
    max: f64,
    /// Recent levels, four bits each, newest in the low bits, and how many of them are valid.
    history: u64,
    history_len: u32,
    table: [u32; TABLE_LEN],
    /// Seasonal model: level, profiles, residual scale and the likelihood's state.
    level: f64,
    day: [f64; DAY_SLOTS],
    week: [f64; WEEK_SLOTS],
    scale: f64,
    recent: [f64; AVERAGE_LEN],
    recent_next: usize,
    average_mean: f64,
    average_var: f64,
    /// Samples since the last raw score at or above the alarm score.
    since_rest: u32,
    /// How far out of range (see `out_of_range`) the alarm that started the current rest was.
    rest_excess: f64,
    /// The seasonal model's expectation for the latest finite sample, before it learned from it, and the
    /// half-width of the band around it.
    expected: f64,
    half_width: f64,
}

impl Detector {
    /// A detector that has seen nothing yet.
    pub fn new(params: &Params) -> Self {
        Self {
            params: *params,
            samples: 0,
            last_ts_secs: None,
            interval: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            history: 0,
            history_len: 0,
            table: [0; TABLE_LEN],
            level: f64::NAN,
            day: [0.0; DAY_SLOTS],
            week: [0.0; WEEK_SLOTS],
            scale: 0.0,
            recent: [0.0; AVERAGE_LEN],
            recent_next: 0,
            average_mean: 0.0,
            average_var: 0.0,
            since_rest: u32::MAX,
            rest_excess: 0.0,
            expected: f64::NAN,
            half_width: 0.0,
        }
    }

    /// Feeds one sample and returns the verdict on it. Never panics; a NaN or infinite `value` is treated
    /// as missing: it scores 0 and leaves the learned state untouched.
    pub fn update(&mut self, ts_secs: i64, value: f64) -> Output {
        if !value.is_finite() {
            return self.output(value, 0.0);
        }
        let p = self.params;
        self.samples += 1;
        self.track_time(ts_secs);
        let excess = self.out_of_range(value);
        let out_of_range = excess > 0.0;
        let sequence = self.sequence(value);
        let stat = self.seasonal(ts_secs, value, p.sequence_mix * sequence);
        if self.samples <= u64::from(p.warmup_samples) {
            return self.output(value, 0.0);
        }
        let mut raw = (p.sequence_weight * sequence).max(p.stat_weight * stat);
        if out_of_range {
            raw = 1.0;
        }
        // A value far outside everything seen so far is reported even while resting, when it is
        // much farther out than the alarm that started the rest: that alarm may have been a small
        // one, and a level shift must not hide behind it.
        let resting = self.since_rest < p.rest_samples && !(out_of_range && excess > 2.0 * self.rest_excess);
        if raw >= p.alarm_score && !resting {
            self.rest_excess = excess;
        }
        self.since_rest = self.since_rest.saturating_add(1);
        if raw >= p.alarm_score {
            self.since_rest = 0;
        }
        self.output(value, if resting { 0.0 } else { raw })
    }

    /// Learns the typical interval and breaks the sequence context after a gap. Timestamps that go
    /// backwards count as no time passing.
    fn track_time(&mut self, ts_secs: i64) {
        if let Some(last) = self.last_ts_secs {
            let dt = ts_secs.saturating_sub(last).max(0) as f64;
            if self.interval > 0.0 && dt > self.params.gap_intervals * self.interval {
                self.history_len = 0;
            }
            if dt > 0.0 {
                self.interval = if self.interval == 0.0 {
                    dt
                } else {
                    self.interval + INTERVAL_ALPHA * (dt - self.interval)
                };
            }
        }
        self.last_ts_secs = Some(ts_secs);
    }

    /// Whether `value` lies clearly outside the range seen so far; then widens the range.
    /// How far outside everything seen so far `value` is, in widths of that range (0 when inside
    /// it or within the tolerance). Then widens the range to take `value` in.
    fn out_of_range(&mut self, value: f64) -> f64 {
        let range = self.max - self.min;
        let margin = self.params.range_tolerance * range;
        let excess = if range > 0.0 && (value > self.max + margin || value < self.min - margin) {
            (value - self.max).max(self.min - value) / range
        } else {
            0.0
        };
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        excess
    }

    /// Sequence-model score: the weighted fraction of context orders for which this transition is new
    /// (a context never seen weighs [`Params::new_context_weight`], a known context seen `n` times
    /// followed by a new level weighs `n / (n + CONTEXT_COUNT_HALF)`). Then records the transition.
    fn sequence(&mut self, value: f64) -> f64 {
        let levels = self.params.levels.clamp(2, 16);
        let range = self.max - self.min;
        let level = if range > 0.0 {
            (((value - self.min) / range * f64::from(levels)) as u32).min(levels - 1)
        } else {
            0
        };
        let orders = self.params.orders.clamp(1, 15);
        let usable = orders.min(self.history_len);
        let mut surprise = 0.0;
        for order in 1..=usable {
            let context = self.history & ((1u64 << (4 * order)) - 1);
            let key = context | (u64::from(order) << 60);
            let index = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - TABLE_BITS)) as usize;
            let entry = self.table[index];
            let seen = entry & LEVEL_BITS;
            let bit = 1u32 << level;
            if seen == 0 {
                surprise += self.params.new_context_weight;
            } else if seen & bit == 0 {
                let count = f64::from(entry >> 16);
                surprise += count / (count + CONTEXT_COUNT_HALF);
            }
            let counted = if entry < LEVEL_BITS << 16 { entry + COUNT_ONE } else { entry };
            self.table[index] = counted | bit;
        }
        self.history = (self.history << 4) | u64::from(level);
        self.history_len = (self.history_len + 1).min(15);
        if usable == 0 { 0.0 } else { surprise / f64::from(orders) }
    }

    /// Seasonal-model score: the anomaly likelihood of the recent average of raw scores, where a raw
    /// score is the larger of the saturated residual and `extra` (the weighted sequence score). Then
    /// learns from the sample.
    fn seasonal(&mut self, ts_secs: i64, value: f64, extra: f64) -> f64 {
        let p = &self.params;
        let day = Slot::at(ts_secs.rem_euclid(DAY_SECS), DAY_SECS, DAY_SLOTS);
        let week_offset = (ts_secs.rem_euclid(WEEK_SECS) + WEEK_START_SHIFT_SECS) % WEEK_SECS;
        let week = Slot::at(week_offset, WEEK_SECS, WEEK_SLOTS);
        if self.level.is_nan() {
            self.level = value;
            self.expected = value;
            return 0.0;
        }
        let seasonal_part = day.read(&self.day) + week.read(&self.week);
        let expected = self.level + seasonal_part;
        self.expected = expected;
        self.half_width = p.band_scales * self.scale;
        let residual = value - expected;
        let tiny = 1e-9 * (1.0 + self.level.abs());
        let surprise = residual.abs() / (self.scale + tiny);
        let clipped = residual.abs().min(SCALE_CLIP * self.scale + tiny);
        self.scale = if self.samples <= 2 {
            residual.abs()
        } else {
            self.scale + p.scale_alpha * (clipped - self.scale)
        };
        self.level += p.level_alpha * (value - seasonal_part - self.level);
        let seasonal = value - self.level;
        let day_error = seasonal - week.read(&self.week) - day.read(&self.day);
        day.learn(&mut self.day, p.season_alpha * day_error);
        let week_error = seasonal - day.read(&self.day) - week.read(&self.week);
        week.learn(&mut self.week, p.season_alpha * WEEK_ALPHA_SHARE * week_error);

        let raw = (surprise / (surprise + SURPRISE_HALF)).max(extra);
        self.recent[self.recent_next] = raw;
        self.recent_next = (self.recent_next + 1) % AVERAGE_LEN;
        let average = self.recent.iter().sum::<f64>() / AVERAGE_LEN as f64;
        let std = self.average_var.sqrt().max(p.likelihood_std_min);
        let z = (average - self.average_mean) / std;
        let deviation = average - self.average_mean;
        self.average_mean += p.likelihood_alpha * deviation;
        self.average_var += p.likelihood_alpha * (deviation * deviation - self.average_var);
        log_tail_score(z)
    }

    fn output(&self, value: f64, score: f64) -> Output {
        let half_width = self.half_width;
        let score = if score.is_finite() { score.clamp(0.0, 1.0) } else { 0.0 };
        Output {
            score,
            expected: self.expected,
            lower: self.expected - half_width,
            upper: self.expected + half_width,
            value,
            anomalous: score >= self.params.alarm_score,
        }
    }
}

/// A position in a cyclic profile of `N` slots, between the centres of two neighbouring slots: reads
/// interpolate linearly between them and updates are shared in the same proportions, so the profile is a
/// smooth curve and a sample's exact time counts, whatever the sampling interval.
struct Slot {
    below: usize,
    above: usize,
    /// Weight of `above`, in `[0, 1)`.
    share: f64,
}

impl Slot {
    /// The position of `offset_secs` (in `0..period_secs`) in a profile of `slots` slots over the period.
    fn at(offset_secs: i64, period_secs: i64, slots: usize) -> Self {
        let position = offset_secs as f64 / period_secs as f64 * slots as f64 - 0.5;
        let floor = position.floor();
        let below = (floor as i64).rem_euclid(slots as i64) as usize;
        Self { below, above: (below + 1) % slots, share: position - floor }
    }

    fn read(&self, profile: &[f64]) -> f64 {
        profile[self.below] * (1.0 - self.share) + profile[self.above] * self.share
    }

    fn learn(&self, profile: &mut [f64], step: f64) {
        profile[self.below] += step * (1.0 - self.share);
        profile[self.above] += step * self.share;
    }
}

/// Maps a z-score to `log(tail probability) / log(1e-10)`, clamped to `[0, 1]`: 0 at or below the mean,
/// 1 at one-in-ten-billion. Working with the logarithm keeps the far tail distinguishable.
fn log_tail_score(z: f64) -> f64 {
    if z.is_nan() || z <= 0.0 {
        return 0.0;
    }
    let tail = 0.5 * erfc(z / std::f64::consts::SQRT_2);
    ((tail + 1e-10).ln() / 1e-10_f64.ln()).clamp(0.0, 1.0)
}

/// Complementary error function for `x ≥ 0` with relative error below 1.2e-7 (Numerical Recipes'
/// Chebyshev fit), good enough for tail probabilities down to the 1e-10 this crate cares about.
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    t * (-x * x + poly).exp()
}
