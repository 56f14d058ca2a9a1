//! Domain types and rules of firebreak.
//!
//! This crate decides; it does no I/O, reads no clock (every rule takes `now`) and knows no wire
//! format. The types here are deliberately not `Serialize`: the crates that own a format (`api`,
//! `store`, `ingest`) convert to and from it explicitly.

mod access;
mod alert;
mod catalog;
mod golden;
mod guide;
mod heartbeat;
mod incident;
mod notification;
mod outcome;
mod schedule;

pub use access::{Action, Cap, Grants, Missing, Role, Scope, decide};
pub use alert::{
    Alert, AlertAction, AlertEvent, AlertSettings, AlertStatus, DEDUP_KEY_CHARS_MAX, GroupBy, GroupingRule,
    LABEL_CHARS_MAX, LABELS_MAX, MATCHER_REGEX_CHARS_MAX, MatchOp, Matcher, SUMMARY_CHARS_MAX, Silence,
};
pub use catalog::{Link, NAME_CHARS_MAX, Service, Team, User, validate_name};
pub use golden::{Anomaly, Direction, GoldenSignal, Sample, Signal};
pub use guide::{
    Assessment, GUIDE_ANSWERS_MAX, GUIDE_ID_CHARS_MAX, GUIDE_QUESTIONS_MAX, GUIDE_RULES_MAX,
    GUIDE_TEXT_CHARS_MAX, Question, Rule as GuideRule, SeverityGuide, Wake,
};
pub use heartbeat::{
    CRON_CHARS_MAX, Expect, FAILURES_TO_ALERT_MAX, Heartbeat, HeartbeatState, PERIOD_SECONDS_MAX,
    PERIOD_SECONDS_MIN, PingKind, Recorded, SLUG_CHARS_MAX, Seen, slugify, validate_slug,
};
pub use incident::{
    AssignRole, Command, Incident, IncidentError, Kind, NOTE_CHARS_MAX, NewIncident, NotifyOutcome,
    SNOOZE_MINUTES_MAX, Severity, Status, TITLE_CHARS_MAX, TimelineEntry, TimelineEvent, validate_note,
    validate_title,
};
pub use notification::{
    DAY_END, DAY_START, Hours, NotificationRule, RULE_DELAY_MINUTES_MAX, RULES_PER_USER_MAX, Urgency,
    plan as plan_notifications,
};
pub use outcome::{
    ABSENT_DURATION_MAX, AT_LEAST_COUNT_MAX, ActiveHours, DaysOfWeek, EVENT_NAME_CHARS_MAX,
    OUTCOME_DURATION_MAX, OUTCOME_DURATION_MIN, OUTCOME_RULE_CHARS_MAX, OutcomeEvent, OutcomeRule,
    OutcomeRuleError, RATIO_WINDOW_DEFAULT, Verdict, parse_event_name,
};
pub use schedule::{
    LAYER_RESTRICTIONS_MAX, LAYER_USERS_MAX, Layer, Override, Restriction, RestrictionKind,
    SCHEDULE_LAYERS_MAX, SCHEDULE_OVERRIDES_MAX, SHIFTS_RANGE_DAYS_MAX, Schedule, Shift, ShiftLength,
    time_text, weekday_name,
};

/// Identifier of a team, user, service or incident: a positive integer assigned by the store.
pub type Id = i64;

/// A source of the current time. Everything that decides by time takes one, so tests can move
/// time by hand; the domain itself only ever receives `now` as an argument.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> jiff::Timestamp;

    /// How much of this clock's time passes in `real` wall-clock time: `real` itself, except on a
    /// clock sped up for rehearsals. A lease that covers real I/O (an HTTP request with a real
    /// timeout) is measured with it, so that it never ends before the I/O can.
    fn over(&self, real: std::time::Duration) -> jiff::SignedDuration {
        jiff::SignedDuration::try_from(real).unwrap_or(jiff::SignedDuration::MAX)
    }
}

/// A clock that only moves when told to, for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<jiff::Timestamp>,
}

impl ManualClock {
    pub fn new(start: jiff::Timestamp) -> ManualClock {
        ManualClock { now: std::sync::Mutex::new(start) }
    }

    /// Moves the clock forward by `by` (or back, when negative).
    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut now = self.now.lock().expect("clock lock is never poisoned: nothing panics while holding it");
        *now = now.saturating_add(by).expect("a signed duration always adds to a timestamp");
    }

    pub fn set(&self, to: jiff::Timestamp) {
        *self.now.lock().expect("clock lock is never poisoned: nothing panics while holding it") = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> jiff::Timestamp {
        *self.now.lock().expect("clock lock is never poisoned: nothing panics while holding it")
    }
}
