//! Notification rules: how a person wants to be paged. "Push at once, SMS after 2 minutes, call
//! after 5" for pages that matter now; email by day only for those that can wait.
//!
//! A page of an incident is high urgency for SEV1 and SEV2 and low urgency for SEV3 and SEV4. Each
//! rule names one of the person's contact methods, the urgency it serves, a delay after the page,
//! and whether it may fire at any hour or only by day ([`DAY_START`] to [`DAY_END`] in the person's
//! time zone; a rule by day that falls due at night waits for the morning). A person without rules
//! for the page's urgency gets the high-urgency rules; a person without any rules gets every
//! contact method at once. [`plan`] decides; the escalation driver writes what it decided as
//! notifications due at those times, and a notification that falls due after the incident was
//! acknowledged or resolved is withdrawn, not sent.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::{Id, Severity};

/// The longest delay a rule may have: a day.
pub const RULE_DELAY_MINUTES_MAX: i64 = 24 * 60;
/// The most rules one person may have.
pub const RULES_PER_USER_MAX: usize = 50;
/// When "by day" begins, in the person's time zone.
pub const DAY_START: Time = Time::constant(8, 0, 0, 0);
/// When "by day" ends, in the person's time zone.
pub const DAY_END: Time = Time::constant(20, 0, 0, 0);

/// How soon a page needs someone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Urgency {
    /// SEV1 and SEV2: someone must act now.
    High,
    /// SEV3 and SEV4: someone must act, not necessarily tonight.
    Low,
}

/// When a rule may fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hours {
    /// At any hour.
    Any,
    /// From [`DAY_START`] to [`DAY_END`] in the person's time zone.
    Day,
}

/// One rule of one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRule {
    pub id: Id,
    pub user_id: Id,
    pub contact_method_id: Id,
    pub urgency: Urgency,
    /// Minutes after the page, from 0 to [`RULE_DELAY_MINUTES_MAX`].
    pub delay_minutes: i64,
    pub hours: Hours,
}

impl Urgency {
    /// The urgency of a page of an incident of `severity`.
    pub fn of(severity: Severity) -> Urgency {
        match severity {
            Severity::Sev1 | Severity::Sev2 => Urgency::High,
            Severity::Sev3 | Severity::Sev4 => Urgency::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::High => "high",
            Urgency::Low => "low",
        }
    }

    /// Reads a name written by [`Urgency::as_str`], or says what is accepted.
    pub fn parse(text: &str) -> Result<Urgency, String> {
        match text {
            "high" => Ok(Urgency::High),
            "low" => Ok(Urgency::Low),
            other => Err(format!("unknown urgency {other:?}: expected \"high\" or \"low\"")),
        }
    }
}

impl Hours {
    pub fn as_str(self) -> &'static str {
        match self {
            Hours::Any => "any",
            Hours::Day => "day",
        }
    }

    /// Reads a name written by [`Hours::as_str`], or says what is accepted.
    pub fn parse(text: &str) -> Result<Hours, String> {
        match text {
            "any" => Ok(Hours::Any),
            "day" => Ok(Hours::Day),
            other => Err(format!("unknown hours {other:?}: expected \"any\" or \"day\" (08:00 to 20:00)")),
        }
    }

    /// The first instant at or after `at` when a rule with these hours may fire, for a person in
    /// `time_zone`.
    pub fn next_allowed(self, at: Timestamp, time_zone: &TimeZone) -> Timestamp {
        if self == Hours::Any {
            return at;
        }
        let local = at.to_zoned(time_zone.clone());
        let time = local.time();
        if time >= DAY_START && time < DAY_END {
            return at;
        }
        let date =
            if time >= DAY_END { local.date().tomorrow().unwrap_or(local.date()) } else { local.date() };
        // A morning that does not exist (a time-zone jump over 08:00) resolves to the instant after
        // the gap, as jiff's compatible disambiguation does.
        date.to_datetime(DAY_START).to_zoned(time_zone.clone()).map(|zoned| zoned.timestamp()).unwrap_or(at)
    }
}

/// When to send the page to each contact method: `(contact method, due)` in the order they fall
/// due (ties in the order of `methods`), one entry per contact method at its earliest time.
///
/// `methods` are the person's contact methods, oldest first; rules naming other methods are left
/// out. See the module documentation for which rules apply.
pub fn plan(
    rules: &[NotificationRule],
    methods: &[Id],
    severity: Severity,
    time_zone: &TimeZone,
    now: Timestamp,
) -> Vec<(Id, Timestamp)> {
    let usable: Vec<&NotificationRule> =
        rules.iter().filter(|rule| methods.contains(&rule.contact_method_id)).collect();
    let urgency = Urgency::of(severity);
    let mut chosen: Vec<&NotificationRule> =
        usable.iter().copied().filter(|rule| rule.urgency == urgency).collect();
    if chosen.is_empty() {
        chosen = usable.iter().copied().filter(|rule| rule.urgency == Urgency::High).collect();
    }
    let mut due: Vec<(Id, Timestamp)> = if chosen.is_empty() {
        methods.iter().map(|&method| (method, now)).collect()
    } else {
        chosen
            .iter()
            .map(|rule| {
                let delay = SignedDuration::from_mins(rule.delay_minutes.clamp(0, RULE_DELAY_MINUTES_MAX));
                let at = now.saturating_add(delay).unwrap_or(now);
                (rule.contact_method_id, rule.hours.next_allowed(at, time_zone))
            })
            .collect()
    };
    // Earliest first; for the same method keep the earliest only.
    let position = |method: Id| methods.iter().position(|&m| m == method).unwrap_or(usize::MAX);
    due.sort_by_key(|&(method, at)| (at, position(method)));
    let mut seen = Vec::with_capacity(due.len());
    due.retain(|&(method, _)| {
        let first = !seen.contains(&method);
        seen.push(method);
        first
    });
    due
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: Id, method: Id, urgency: Urgency, delay_minutes: i64, hours: Hours) -> NotificationRule {
        NotificationRule { id, user_id: 1, contact_method_id: method, urgency, delay_minutes, hours }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn without_rules_every_method_is_paged_at_once() {
        let now = at("2026-03-02T03:00:00Z");
        assert_eq!(plan(&[], &[4, 7], Severity::Sev3, &TimeZone::UTC, now), vec![(4, now), (7, now)]);
    }

    #[test]
    fn high_urgency_rules_page_in_delay_order() {
        let now = at("2026-03-02T03:00:00Z");
        let rules = [
            rule(1, 9, Urgency::High, 5, Hours::Any),
            rule(2, 7, Urgency::High, 0, Hours::Any),
            rule(3, 8, Urgency::High, 2, Hours::Any),
            rule(4, 8, Urgency::High, 10, Hours::Any),
            rule(5, 6, Urgency::Low, 0, Hours::Day),
        ];
        let due = plan(&rules, &[6, 7, 8, 9], Severity::Sev1, &TimeZone::UTC, now);
        assert_eq!(due, vec![(7, now), (8, at("2026-03-02T03:02:00Z")), (9, at("2026-03-02T03:05:00Z"))]);
    }

    #[test]
    fn low_urgency_by_day_waits_for_the_morning_in_the_persons_time_zone() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let rules = [rule(1, 7, Urgency::High, 0, Hours::Any), rule(2, 8, Urgency::Low, 0, Hours::Day)];
        // 03:00 UTC is 04:00 in Berlin: the low-urgency email waits for 08:00 Berlin, 07:00 UTC.
        let night = at("2026-03-02T03:00:00Z");
        assert_eq!(
            plan(&rules, &[7, 8], Severity::Sev4, &berlin, night),
            vec![(8, at("2026-03-02T07:00:00Z"))]
        );
        // 21:00 Berlin waits for the next morning; 10:00 Berlin goes now.
        let evening = at("2026-03-02T20:00:00Z");
        assert_eq!(
            plan(&rules, &[7, 8], Severity::Sev3, &berlin, evening),
            vec![(8, at("2026-03-03T07:00:00Z"))]
        );
        let day = at("2026-03-02T09:00:00Z");
        assert_eq!(plan(&rules, &[7, 8], Severity::Sev3, &berlin, day), vec![(8, day)]);
        // The same person's SEV1 at night follows the high-urgency rule.
        assert_eq!(plan(&rules, &[7, 8], Severity::Sev1, &berlin, night), vec![(7, night)]);
    }

    #[test]
    fn low_urgency_without_its_own_rules_follows_the_high_urgency_ones() {
        let now = at("2026-03-02T03:00:00Z");
        let rules = [rule(1, 7, Urgency::High, 3, Hours::Any)];
        assert_eq!(
            plan(&rules, &[7, 8], Severity::Sev4, &TimeZone::UTC, now),
            vec![(7, at("2026-03-02T03:03:00Z"))]
        );
    }

    #[test]
    fn rules_of_removed_methods_are_ignored() {
        let now = at("2026-03-02T03:00:00Z");
        let rules = [rule(1, 99, Urgency::High, 0, Hours::Any)];
        // The only rule names a method that is gone: as if there were no rules.
        assert_eq!(plan(&rules, &[7], Severity::Sev1, &TimeZone::UTC, now), vec![(7, now)]);
    }

    #[test]
    fn names_round_trip() {
        for urgency in [Urgency::High, Urgency::Low] {
            assert_eq!(Urgency::parse(urgency.as_str()), Ok(urgency));
        }
        for hours in [Hours::Any, Hours::Day] {
            assert_eq!(Hours::parse(hours.as_str()), Ok(hours));
        }
        assert!(Urgency::parse("High").is_err());
        assert!(Hours::parse("night").is_err());
    }
}
