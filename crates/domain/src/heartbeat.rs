//! Heartbeats: checks that expect a job to ping on a schedule, and say when it did not.
//!
//! A check expects a ping every period, or at every run of a cron expression in a time zone; a
//! grace time later, a missing ping makes it down. A job can also say it started (`start`, paired
//! with its finish by a run id, so its run time is measured) and that it failed (`fail` or a
//! non-zero exit status). The state is a pure function of what the check has seen and `now`:
//! [`Heartbeat::state`]; [`Heartbeat::record`] folds one ping into what it has seen.

use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::{Id, Severity};

/// Shortest period: a minute, the resolution of cron and of most schedulers.
pub const PERIOD_SECONDS_MIN: i64 = 60;
/// Longest period and grace time: a year.
pub const PERIOD_SECONDS_MAX: i64 = 366 * 24 * 3600;
/// Most failures in a row a check may wait for before it alerts.
pub const FAILURES_TO_ALERT_MAX: u32 = 100;
/// Longest cron expression.
pub const CRON_CHARS_MAX: usize = 100;
/// Longest slug (`nightly-backup`).
pub const SLUG_CHARS_MAX: usize = 100;

/// When a check expects its pings.
#[derive(Clone, Debug)]
pub enum Expect {
    /// Every `period` after the last success.
    Period(SignedDuration),
    /// At every run of a cron expression, read in a time zone.
    Cron { cron: Box<croner::Cron>, text: String, zone: TimeZone },
}

impl PartialEq for Expect {
    fn eq(&self, other: &Expect) -> bool {
        match (self, other) {
            (Expect::Period(a), Expect::Period(b)) => a == b,
            (Expect::Cron { text: a, zone: za, .. }, Expect::Cron { text: b, zone: zb, .. }) => {
                a == b && za.iana_name() == zb.iana_name()
            }
            _ => false,
        }
    }
}

impl Expect {
    /// A period in seconds, within [`PERIOD_SECONDS_MIN`] and [`PERIOD_SECONDS_MAX`].
    pub fn period(seconds: i64) -> Result<Expect, String> {
        if !(PERIOD_SECONDS_MIN..=PERIOD_SECONDS_MAX).contains(&seconds) {
            return Err(format!(
                "period_seconds must be between {PERIOD_SECONDS_MIN} and {PERIOD_SECONDS_MAX}"
            ));
        }
        Ok(Expect::Period(SignedDuration::from_secs(seconds)))
    }

    /// A cron expression of five fields (minute hour day-of-month month day-of-week, with
    /// `@daily` and the like), read in the IANA time zone `zone` (`UTC` when empty).
    pub fn cron(text: &str, zone: &str) -> Result<Expect, String> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > CRON_CHARS_MAX {
            return Err(format!("cron must be 1 to {CRON_CHARS_MAX} characters, such as \"0 3 * * *\""));
        }
        let cron =
            croner::Cron::from_str(text).map_err(|err| format!("cron {text:?} is not valid: {err}"))?;
        let zone_name = if zone.is_empty() { "UTC" } else { zone };
        let zone = TimeZone::get(zone_name)
            .map_err(|_| format!("time_zone {zone_name:?} is not an IANA time zone such as Europe/Berlin"))?;
        Ok(Expect::Cron { cron: Box::new(cron), text: text.to_owned(), zone })
    }

    /// The first expected ping strictly after `after`; `None` for a cron expression that never
    /// runs again.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Expect::Period(period) => after.checked_add(*period).ok(),
            Expect::Cron { cron, zone, .. } => cron
                .find_next_occurrence(&after.to_zoned(zone.clone()), false)
                .ok()
                .map(|next| next.timestamp()),
        }
    }

    /// The seconds of a period; `None` for a cron expression.
    pub fn period_seconds(&self) -> Option<i64> {
        match self {
            Expect::Period(period) => Some(period.as_secs()),
            Expect::Cron { .. } => None,
        }
    }

    /// The cron expression and its time zone; `None` for a period.
    pub fn cron_text(&self) -> Option<(&str, &str)> {
        match self {
            Expect::Period(_) => None,
            Expect::Cron { text, zone, .. } => Some((text, zone.iana_name().unwrap_or("UTC"))),
        }
    }
}

/// What one ping says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PingKind {
    /// The job finished well (`/ping/{uuid}`, or exit status 0).
    Success,
    /// The job started (`/start`).
    Start,
    /// The job failed (`/fail`, or a non-zero exit status).
    Fail,
    /// A message that changes nothing (`/log`).
    Log,
}

impl PingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PingKind::Success => "success",
            PingKind::Start => "start",
            PingKind::Fail => "fail",
            PingKind::Log => "log",
        }
    }

    pub fn parse(text: &str) -> Option<PingKind> {
        Some(match text {
            "success" => PingKind::Success,
            "start" => PingKind::Start,
            "fail" => PingKind::Fail,
            "log" => PingKind::Log,
            _ => return None,
        })
    }

    /// The kind of a ping that gives an exit status: 0 is success, anything else a failure.
    pub fn of_exit_status(status: u8) -> PingKind {
        if status == 0 { PingKind::Success } else { PingKind::Fail }
    }
}

/// The state of a check at some instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeartbeatState {
    /// Never pinged: nothing is expected yet.
    New,
    /// Pinged when expected.
    Up,
    /// Past the expected time, within the grace time.
    Late,
    /// Past the grace time, failed (as many times in a row as the check waits for), or started
    /// and not finished within the grace time.
    Down,
    /// Paused by someone: nothing is expected until the next ping.
    Paused,
}

impl HeartbeatState {
    pub fn as_str(self) -> &'static str {
        match self {
            HeartbeatState::New => "new",
            HeartbeatState::Up => "up",
            HeartbeatState::Late => "late",
            HeartbeatState::Down => "down",
            HeartbeatState::Paused => "paused",
        }
    }
}

/// What a check has seen, the part of it that pings change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub last_ping_at: Option<Timestamp>,
    /// The last success, or the last resume (pausing forgets what was expected).
    pub last_success_at: Option<Timestamp>,
    /// The last failure, if it came after the last success.
    pub last_failure_at: Option<Timestamp>,
    /// Failures since the last success.
    pub failures_in_row: u32,
    /// A run started and not finished yet, and its run id (may be empty).
    pub started_at: Option<Timestamp>,
    pub started_rid: String,
    pub paused: bool,
}

/// A heartbeat check of a service.
#[derive(Clone, Debug, PartialEq)]
pub struct Heartbeat {
    pub id: Id,
    pub service_id: Id,
    pub name: String,
    /// The last part of the check's slug URL, `/ping/{ping_key}/{slug}`.
    pub slug: String,
    /// The check's ping URL is `/ping/{ping_id}`: a random UUID.
    pub ping_id: String,
    pub expect: Expect,
    pub grace: SignedDuration,
    /// Failures in a row that make the check down (1: the first).
    pub failures_to_alert: u32,
    pub severity: Severity,
    pub seen: Seen,
    /// Whether the check's alert is raised (kept by the watcher that raises and resolves it).
    pub alert_open: bool,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// What recording a ping measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// How long the run took, when the ping finished a run that said it started.
    pub duration: Option<SignedDuration>,
}

impl Heartbeat {
    /// The check's state at `now`.
    pub fn state(&self, now: Timestamp) -> HeartbeatState {
        let seen = &self.seen;
        if seen.paused {
            return HeartbeatState::Paused;
        }
        let Some(since) = seen.last_success_at.or(seen.last_ping_at) else {
            return HeartbeatState::New;
        };
        if seen.failures_in_row >= self.failures_to_alert.max(1) {
            return HeartbeatState::Down;
        }
        if let Some(started) = seen.started_at
            && now > started.saturating_add(self.grace).unwrap_or(Timestamp::MAX)
        {
            return HeartbeatState::Down;
        }
        match self.expect.next_after(since) {
            Some(due) if now > due.saturating_add(self.grace).unwrap_or(Timestamp::MAX) => {
                HeartbeatState::Down
            }
            Some(due) if now > due => HeartbeatState::Late,
            _ => HeartbeatState::Up,
        }
    }

    /// The next instant after `now` at which [`Heartbeat::state`] may change without a ping;
    /// `None` when only a ping can change it.
    pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        let seen = &self.seen;
        if seen.paused {
            return None;
        }
        let since = seen.last_success_at.or(seen.last_ping_at)?;
        let mut candidates = Vec::new();
        if let Some(due) = self.expect.next_after(since) {
            candidates.push(due);
            candidates.push(due.saturating_add(self.grace).unwrap_or(Timestamp::MAX));
        }
        if let Some(started) = seen.started_at {
            candidates.push(started.saturating_add(self.grace).unwrap_or(Timestamp::MAX));
        }
        candidates.into_iter().filter(|at| *at >= now).min()
    }

    /// When the next ping is expected (without the grace time); `None` before the first ping,
    /// while paused, or when a cron expression never runs again.
    pub fn next_expected(&self) -> Option<Timestamp> {
        if self.seen.paused {
            return None;
        }
        self.expect.next_after(self.seen.last_success_at.or(self.seen.last_ping_at)?)
    }

    /// Folds a ping of `kind` at `at` with run id `rid` (empty when the job gave none) into what
    /// the check has seen. A ping resumes a paused check. A finish pairs with the start of the
    /// same run id, or, without one, with the last start.
    pub fn record(&mut self, kind: PingKind, at: Timestamp, rid: &str) -> Recorded {
        let seen = &mut self.seen;
        seen.last_ping_at = Some(at);
        if kind != PingKind::Log {
            seen.paused = false;
        }
        let finishes = matches!(kind, PingKind::Success | PingKind::Fail);
        let duration = match seen.started_at {
            Some(started) if finishes && (rid.is_empty() || rid == seen.started_rid) => {
                seen.started_at = None;
                seen.started_rid.clear();
                Some(at.duration_since(started))
            }
            _ => None,
        };
        match kind {
            PingKind::Success => {
                seen.last_success_at = Some(at);
                seen.last_failure_at = None;
                seen.failures_in_row = 0;
            }
            PingKind::Fail => {
                seen.last_failure_at = Some(at);
                seen.failures_in_row = seen.failures_in_row.saturating_add(1);
            }
            PingKind::Start => {
                seen.started_at = Some(at);
                seen.started_rid = rid.to_owned();
            }
            PingKind::Log => {}
        }
        Recorded { duration }
    }

    /// Pauses the check: it stays `paused`, raising nothing, until it is resumed or pinged.
    pub fn pause(&mut self) {
        self.seen.paused = true;
        self.seen.started_at = None;
        self.seen.started_rid.clear();
    }

    /// Resumes a paused check: it expects its next ping counting from `now`, as if it had just
    /// succeeded; a check never pinged stays new.
    pub fn resume(&mut self, now: Timestamp) {
        self.seen.paused = false;
        self.seen.failures_in_row = 0;
        self.seen.last_failure_at = None;
        if self.seen.last_ping_at.is_some() {
            self.seen.last_success_at = Some(now);
        }
    }

    /// Why the check is down at `now`, in one line for the alert's summary; `None` unless it is.
    pub fn why_down(&self, now: Timestamp) -> Option<String> {
        if self.state(now) != HeartbeatState::Down {
            return None;
        }
        let seen = &self.seen;
        let grace = friendly(self.grace);
        Some(if seen.failures_in_row >= self.failures_to_alert.max(1) {
            if seen.failures_in_row == 1 {
                format!("Heartbeat {} failed", self.name)
            } else {
                format!("Heartbeat {} failed {} times in a row", self.name, seen.failures_in_row)
            }
        } else if let Some(started) = seen.started_at.filter(|started| now > *started + self.grace) {
            format!(
                "Heartbeat {} started at {} and did not finish within {grace}",
                self.name,
                minute(started)
            )
        } else {
            let due = self.next_expected().map_or_else(String::new, minute);
            let last = seen.last_success_at.or(seen.last_ping_at).map_or_else(String::new, minute);
            format!(
                "Heartbeat {} is down: no ping since {last}, expected by {due} (grace {grace})",
                self.name
            )
        })
    }
}

/// Checks a slug: 1 to [`SLUG_CHARS_MAX`] lowercase letters, digits, `-` and `_`.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    let ok = !slug.is_empty()
        && slug.len() <= SLUG_CHARS_MAX
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("slug must be 1 to {SLUG_CHARS_MAX} characters of lowercase letters, digits, - and _"))
    }
}

/// The slug a name gives: lowercase, with every run of other characters made one `-`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug.chars().take(SLUG_CHARS_MAX).collect()
}

fn minute(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn friendly(span: SignedDuration) -> String {
    let secs = span.as_secs();
    match secs {
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn check(expect: Expect, grace_secs: i64) -> Heartbeat {
        Heartbeat {
            id: 1,
            service_id: 1,
            name: "nightly-backup".to_owned(),
            slug: "nightly-backup".to_owned(),
            ping_id: "00000000-0000-4000-8000-000000000000".to_owned(),
            expect,
            grace: SignedDuration::from_secs(grace_secs),
            failures_to_alert: 1,
            severity: Severity::Sev3,
            seen: Seen::default(),
            alert_open: false,
            created_at: at("2026-01-01T00:00:00Z"),
            created_by: "test".to_owned(),
        }
    }

    #[test]
    fn a_period_check_goes_new_up_late_down_up() {
        let mut hb = check(Expect::period(3600).unwrap(), 600);
        let t0 = at("2026-06-01T00:00:00Z");
        assert_eq!(hb.state(t0), HeartbeatState::New);
        assert_eq!(hb.next_change(t0), None);
        hb.record(PingKind::Success, t0, "");
        assert_eq!(hb.state(t0 + SignedDuration::from_mins(59)), HeartbeatState::Up);
        assert_eq!(hb.next_change(t0), Some(t0 + SignedDuration::from_hours(1)));
        assert_eq!(hb.state(t0 + SignedDuration::from_mins(61)), HeartbeatState::Late);
        assert_eq!(hb.state(t0 + SignedDuration::from_mins(70)), HeartbeatState::Late);
        assert_eq!(hb.state(t0 + SignedDuration::from_secs(70 * 60 + 1)), HeartbeatState::Down);
        let why = hb.why_down(t0 + SignedDuration::from_mins(80)).unwrap();
        assert_eq!(
            why,
            "Heartbeat nightly-backup is down: no ping since 2026-06-01 00:00 UTC, expected by 2026-06-01 01:00 UTC (grace 10m)"
        );
        hb.record(PingKind::Success, t0 + SignedDuration::from_mins(90), "");
        assert_eq!(hb.state(t0 + SignedDuration::from_mins(90)), HeartbeatState::Up);
    }

    #[test]
    fn failures_in_a_row_make_it_down_and_a_success_ends_it() {
        let mut hb = check(Expect::period(3600).unwrap(), 600);
        hb.failures_to_alert = 3;
        let t0 = at("2026-06-01T00:00:00Z");
        hb.record(PingKind::Success, t0, "");
        for n in 1..=2 {
            hb.record(PingKind::Fail, t0 + SignedDuration::from_mins(n), "");
            assert_eq!(hb.state(t0 + SignedDuration::from_mins(n)), HeartbeatState::Up);
        }
        hb.record(PingKind::Fail, t0 + SignedDuration::from_mins(3), "");
        assert_eq!(hb.state(t0 + SignedDuration::from_mins(3)), HeartbeatState::Down);
        assert_eq!(
            hb.why_down(t0 + SignedDuration::from_mins(3)).unwrap(),
            "Heartbeat nightly-backup failed 3 times in a row"
        );
        hb.record(PingKind::Success, t0 + SignedDuration::from_mins(4), "");
        assert_eq!(hb.state(t0 + SignedDuration::from_mins(4)), HeartbeatState::Up);
    }

    #[test]
    fn a_start_pairs_with_its_finish_by_run_id_and_an_unfinished_run_is_down() {
        let mut hb = check(Expect::period(86_400).unwrap(), 600);
        let t0 = at("2026-06-01T00:00:00Z");
        hb.record(PingKind::Start, t0, "a");
        hb.record(PingKind::Start, t0 + SignedDuration::from_secs(1), "b");
        // A finish of another run measures nothing.
        assert_eq!(hb.record(PingKind::Log, t0 + SignedDuration::from_secs(5), "b").duration, None);
        let done = hb.record(PingKind::Success, t0 + SignedDuration::from_secs(31), "b");
        assert_eq!(done.duration, Some(SignedDuration::from_secs(30)));
        hb.record(PingKind::Start, t0 + SignedDuration::from_mins(60), "");
        assert_eq!(hb.state(t0 + SignedDuration::from_mins(70)), HeartbeatState::Up);
        assert_eq!(hb.state(t0 + SignedDuration::from_secs(70 * 60 + 1)), HeartbeatState::Down);
        assert!(
            hb.why_down(t0 + SignedDuration::from_mins(71)).unwrap().contains("did not finish within 10m")
        );
    }

    #[test]
    fn paused_checks_expect_nothing_until_resumed_or_pinged() {
        let mut hb = check(Expect::period(3600).unwrap(), 60);
        let t0 = at("2026-06-01T00:00:00Z");
        hb.record(PingKind::Success, t0, "");
        hb.pause();
        assert_eq!(hb.state(t0 + SignedDuration::from_hours(5)), HeartbeatState::Paused);
        assert_eq!(hb.next_change(t0), None);
        hb.resume(t0 + SignedDuration::from_hours(5));
        assert_eq!(hb.state(t0 + SignedDuration::from_hours(5)), HeartbeatState::Up);
        assert_eq!(hb.state(t0 + SignedDuration::from_mins(6 * 60 + 2)), HeartbeatState::Down);
        hb.pause();
        hb.record(PingKind::Log, t0 + SignedDuration::from_hours(7), "");
        assert_eq!(hb.state(t0 + SignedDuration::from_hours(7)), HeartbeatState::Paused);
        hb.record(PingKind::Success, t0 + SignedDuration::from_hours(7), "");
        assert_eq!(hb.state(t0 + SignedDuration::from_hours(7)), HeartbeatState::Up);
    }

    fn runs(expect: &Expect, from: &str, n: usize) -> Vec<String> {
        let mut at = from.parse::<Timestamp>().unwrap();
        (0..n)
            .map(|_| {
                at = expect.next_after(at).unwrap();
                at.to_string()
            })
            .collect()
    }

    #[test]
    fn a_cron_check_expects_its_runs_at_the_right_instants_across_spring_forward() {
        // Europe/Berlin moves from 02:00 CET to 03:00 CEST on 2026-03-29: 02:30 does not exist
        // that day, and the run happens at the first instant after the gap.
        let daily = Expect::cron("30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(&daily, "2026-03-27T12:00:00Z", 3),
            ["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
        );
        // A job at 09:00 local keeps 09:00 local: an hour earlier in UTC after the change.
        let morning = Expect::cron("0 9 * * 1-5", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(&morning, "2026-03-26T12:00:00Z", 3),
            ["2026-03-27T08:00:00Z", "2026-03-30T07:00:00Z", "2026-03-31T07:00:00Z"]
        );
    }

    #[test]
    fn a_cron_check_expects_its_runs_at_the_right_instants_across_fall_back() {
        // On 2026-10-25 Europe/Berlin goes from 03:00 CEST back to 02:00 CET: 02:30 happens twice,
        // and a daily job runs once, at the first.
        let daily = Expect::cron("30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(&daily, "2026-10-23T12:00:00Z", 3),
            ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
        );
        // America/New_York falls back on 2026-11-01: an hourly job runs every real hour.
        let hourly = Expect::cron("0 * * * *", "America/New_York").unwrap();
        assert_eq!(
            runs(&hourly, "2026-11-01T04:30:00Z", 4),
            ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"]
        );
    }

    #[test]
    fn a_cron_check_is_late_and_down_by_its_runs() {
        let mut hb = check(Expect::cron("0 3 * * *", "Europe/Berlin").unwrap(), 3600);
        hb.record(PingKind::Success, at("2026-10-24T01:05:00Z"), "");
        // The next run is 03:00 CET on the 25th (after the change): 02:00 UTC.
        assert_eq!(hb.next_expected(), Some(at("2026-10-25T02:00:00Z")));
        assert_eq!(hb.state(at("2026-10-25T01:59:00Z")), HeartbeatState::Up);
        assert_eq!(hb.state(at("2026-10-25T02:30:00Z")), HeartbeatState::Late);
        assert_eq!(hb.state(at("2026-10-25T03:00:01Z")), HeartbeatState::Down);
    }

    #[test]
    fn bad_schedules_are_refused_with_a_reason() {
        assert!(Expect::period(59).unwrap_err().contains("between 60"));
        assert!(Expect::cron("61 * * * *", "UTC").unwrap_err().contains("not valid"));
        assert!(Expect::cron("0 3 * * *", "Mars/Olympus").unwrap_err().contains("IANA"));
        assert!(Expect::cron("", "UTC").is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Nightly Backup (EU)!"), "nightly-backup-eu");
        assert!(validate_slug("nightly-backup_2").is_ok());
        assert!(validate_slug("Nightly").is_err());
        assert!(validate_slug("").is_err());
    }
}
