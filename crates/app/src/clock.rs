//! The clocks a process runs on: the wall clock, and the wall clock sped up for rehearsals.
//!
//! Everything that decides by time takes a [`firebreak_domain::Clock`]; these two are the only
//! places that read the system's time. Tests use [`firebreak_domain::ManualClock`].

use anyhow::Context;
use firebreak_domain::Clock;
use jiff::Timestamp;

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The wall clock sped up `scale` times from `origin`: one real second is `scale` seconds here.
/// Several processes given the same origin and scale agree on the time, so a test can run replicas
/// through hours of escalations in a minute, and a game day can rehearse a night in minutes. Set by
/// `FIREBREAK_TIME_SCALE` (and `FIREBREAK_TIME_ORIGIN`, RFC 3339, default the start of the process).
#[derive(Clone, Copy, Debug)]
pub struct ScaledClock {
    origin: Timestamp,
    scale: f64,
}

impl ScaledClock {
    /// The wall clock sped up `scale` times from `origin`.
    pub fn new(origin: Timestamp, scale: f64) -> ScaledClock {
        ScaledClock { origin, scale }
    }

    /// The clock that `FIREBREAK_TIME_SCALE` and `FIREBREAK_TIME_ORIGIN` ask for, if any.
    ///
    /// Fails naming the variable whose value cannot be read.
    pub fn from_env() -> anyhow::Result<Option<ScaledClock>> {
        let Ok(scale) = std::env::var("FIREBREAK_TIME_SCALE") else { return Ok(None) };
        let scale: f64 = scale
            .parse()
            .ok()
            .filter(|scale: &f64| scale.is_finite() && (1.0..=100_000.0).contains(scale))
            .with_context(|| {
                format!("invalid FIREBREAK_TIME_SCALE {scale:?}; expected a number from 1 to 100000")
            })?;
        let origin = match std::env::var("FIREBREAK_TIME_ORIGIN") {
            Ok(origin) => origin
                .parse()
                .with_context(|| format!("invalid FIREBREAK_TIME_ORIGIN {origin:?}; expected RFC 3339"))?,
            Err(_) => Timestamp::now(),
        };
        Ok(Some(ScaledClock { origin, scale }))
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let real = Timestamp::now().duration_since(self.origin);
        let scaled = jiff::SignedDuration::from_secs_f64(real.as_secs_f64() * self.scale);
        self.origin.saturating_add(scaled).unwrap_or(self.origin)
    }

    fn over(&self, real: std::time::Duration) -> jiff::SignedDuration {
        jiff::SignedDuration::try_from_secs_f64(real.as_secs_f64() * self.scale)
            .unwrap_or(jiff::SignedDuration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sped_up_clock_measures_real_time_in_its_own() {
        let origin: Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
        let clock = ScaledClock::new(origin, 60.0);
        assert_eq!(clock.over(std::time::Duration::from_secs(60)), jiff::SignedDuration::from_hours(1));
        assert_eq!(SystemClock.over(std::time::Duration::from_secs(60)), jiff::SignedDuration::from_mins(1));
    }
}
