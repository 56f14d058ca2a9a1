//! Escalation policies: who is paged, in which order, and how long each level waits.
//!
//! A [`Policy`] can only be built through [`Policy::parse`], so every policy the state machine sees
//! is bounded: at least one level, at most [`LEVELS_MAX`], each with a timeout between
//! [`TIMEOUT_MIN`] and [`TIMEOUT_MAX`] and one to [`TARGETS_PER_LEVEL_MAX`] distinct targets, and at
//! most [`REPEAT_COUNT_MAX`] repeats. Those bounds are what keep one step's work, and so one
//! transaction of the driver, small.

use std::fmt;

use firebreak_domain::{Id, Severity};
use jiff::SignedDuration;

/// Most levels one policy may have.
pub const LEVELS_MAX: usize = 20;
/// Most targets one level may page.
pub const TARGETS_PER_LEVEL_MAX: usize = 20;
/// Most extra passes through the levels after the first, so a policy pages each level at most
/// `REPEAT_COUNT_MAX + 1` times per trigger.
pub const REPEAT_COUNT_MAX: u32 = 9;
/// Shortest wait of a level: shorter ones would page the next level before anyone could react.
pub const TIMEOUT_MIN: SignedDuration = SignedDuration::from_secs(60);
/// Longest wait of a level.
pub const TIMEOUT_MAX: SignedDuration = SignedDuration::from_hours(24);

/// An escalation policy: ordered levels, paged one after the other until someone acknowledges,
/// repeated [`Policy::repeat`] more times when nobody does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    levels: Vec<Level>,
    repeat: u32,
    /// The least severe incident for which the level that wakes management may be paged by hand.
    management_from: Severity,
}

/// Which incidents may wake management by hand when a policy does not say: SEV1 and SEV2.
pub(crate) const MANAGEMENT_FROM_DEFAULT: Severity = Severity::Sev2;

/// One level of a policy: whom to page, and how long to wait for an acknowledgement before the
/// next level is paged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// How long after this level's page the next level is due.
    pub timeout: SignedDuration,
    /// Who is paged, all at once. Distinct within a level.
    pub targets: Vec<Target>,
    /// Whether pages of this level may wake management or the incident commander. At most one level
    /// of a policy has it, so that whoever edits a policy sees exactly where that line is crossed.
    pub wakes_management: bool,
}

/// Whom a level pages. A schedule or a team is resolved to people by the driver when it sends
/// the page, so a schedule edit between two levels is honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    User(Id),
    /// Whoever is on call in the schedule when the page is sent.
    Schedule(Id),
    Team(Id),
}

impl Policy {
    /// Checks `levels` and `repeat` against the bounds in this module's docs.
    ///
    /// Returns a message naming the first offending level or value when a bound is violated, when a
    /// level repeats a target, or when more than one level wakes management.
    pub fn parse(levels: Vec<Level>, repeat: u32) -> Result<Policy, String> {
        if levels.is_empty() {
            return Err("an escalation policy needs at least one level".to_owned());
        }
        if levels.len() > LEVELS_MAX {
            return Err(format!(
                "an escalation policy has {} levels; at most {LEVELS_MAX} are allowed",
                levels.len()
            ));
        }
        if repeat > REPEAT_COUNT_MAX {
            return Err(format!(
                "an escalation policy repeats {repeat} times; at most {REPEAT_COUNT_MAX} are allowed"
            ));
        }
        for (index, level) in levels.iter().enumerate() {
            let number = index + 1;
            if level.timeout < TIMEOUT_MIN || level.timeout > TIMEOUT_MAX {
                // The friendly format prints a negative duration as "5m ago", which misreads here.
                // `checked_neg` fails only for the most negative duration, which is close enough.
                let (sign, magnitude) = if level.timeout.is_negative() {
                    ("-", level.timeout.checked_neg().unwrap_or(SignedDuration::MAX))
                } else {
                    ("", level.timeout)
                };
                return Err(format!(
                    "level {number} waits {sign}{magnitude:#}; the timeout must be between {:#} and {:#}",
                    TIMEOUT_MIN, TIMEOUT_MAX
                ));
            }
            if level.targets.is_empty() {
                return Err(format!("level {number} has no targets"));
            }
            if level.targets.len() > TARGETS_PER_LEVEL_MAX {
                return Err(format!(
                    "level {number} has {} targets; at most {TARGETS_PER_LEVEL_MAX} are allowed",
                    level.targets.len()
                ));
            }
            for (at, target) in level.targets.iter().enumerate() {
                if level.targets[..at].contains(target) {
                    return Err(format!("level {number} names {target} twice"));
                }
            }
        }
        let waking: Vec<usize> = levels
            .iter()
            .enumerate()
            .filter(|(_, level)| level.wakes_management)
            .map(|(i, _)| i + 1)
            .collect();
        if let [first, second, ..] = waking[..] {
            return Err(format!(
                "levels {first} and {second} both wake management; at most one level of a policy may"
            ));
        }
        Ok(Policy { levels, repeat, management_from: MANAGEMENT_FROM_DEFAULT })
    }

    /// This policy, whose management level may be paged by hand for incidents of `severity` or
    /// worse.
    #[must_use]
    pub fn with_management_from(mut self, severity: Severity) -> Policy {
        self.management_from = severity;
        self
    }

    /// The least severe incident for which the level that wakes management may be paged by hand.
    pub fn management_from(&self) -> Severity {
        self.management_from
    }

    /// Whether a level that wakes management may be paged by hand for an incident of `severity`.
    pub fn may_wake_management(&self, severity: Severity) -> bool {
        severity <= self.management_from
    }

    /// The levels, in paging order; never empty.
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Level `number`, counting from 1 as people do; `None` outside `1..=levels().len()`.
    pub fn level(&self, number: u32) -> Option<&Level> {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        self.levels.get(index)
    }

    /// How many extra passes follow the first; at most [`REPEAT_COUNT_MAX`].
    pub fn repeat(&self) -> u32 {
        self.repeat
    }

    /// How many passes through the levels there are in all: `repeat() + 1`.
    pub fn passes(&self) -> u32 {
        self.repeat + 1
    }
}

impl Target {
    /// The kind of target as a lowercase word: `user`, `schedule` or `team`.
    pub fn kind(self) -> &'static str {
        match self {
            Target::User(_) => "user",
            Target::Schedule(_) => "schedule",
            Target::Team(_) => "team",
        }
    }

    /// The id of the user, schedule or team.
    pub fn id(self) -> Id {
        match self {
            Target::User(id) | Target::Schedule(id) | Target::Team(id) => id,
        }
    }
}

/// Prints `user=7`, `schedule=3` or `team=2`.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind(), self.id())
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn level(timeout_mins: i64, targets: &[Target]) -> Level {
        Level {
            timeout: SignedDuration::from_mins(timeout_mins),
            targets: targets.to_vec(),
            wakes_management: false,
        }
    }

    /// Parses each case and prints `ok` or the refusal, one line per case.
    fn check(cases: Vec<(Vec<Level>, u32)>, expected: Expect) {
        let mut out = String::new();
        for (levels, repeat) in cases {
            match Policy::parse(levels, repeat) {
                Ok(policy) => {
                    assert!(!policy.levels().is_empty());
                    out.push_str(&format!(
                        "ok: {} levels, {} passes\n",
                        policy.levels().len(),
                        policy.passes()
                    ));
                }
                Err(err) => out.push_str(&format!("refused: {err}\n")),
            }
        }
        expected.assert_eq(&out);
    }

    #[test]
    fn parse() {
        let user = Target::User(1);
        let waking = Level { wakes_management: true, ..level(5, &[Target::Team(4)]) };
        check(
            vec![
                (vec![level(5, &[user]), level(10, &[Target::Schedule(7), Target::Team(2)])], 2),
                (vec![level(5, &[user]), waking.clone()], 0),
                (vec![level(1, &[user]); LEVELS_MAX], REPEAT_COUNT_MAX),
                (vec![], 0),
                (vec![level(1, &[user]); LEVELS_MAX + 1], 0),
                (vec![level(5, &[user])], REPEAT_COUNT_MAX + 1),
                (vec![level(5, &[user]), level(0, &[user])], 0),
                (vec![Level { timeout: SignedDuration::from_secs(59), ..level(5, &[user]) }], 0),
                (vec![level(24 * 60 + 1, &[user])], 0),
                (vec![level(-5, &[user])], 0),
                (vec![Level { timeout: SignedDuration::MIN, ..level(5, &[user]) }], 0),
                (vec![level(5, &[])], 0),
                (vec![level(5, &[user]), level(5, &[Target::User(2), Target::User(2)])], 0),
                (vec![level(5, &(1..=21).map(Target::User).collect::<Vec<_>>())], 0),
                (vec![waking.clone(), level(5, &[user]), waking], 0),
            ],
            expect![[r#"
                ok: 2 levels, 3 passes
                ok: 2 levels, 1 passes
                ok: 20 levels, 10 passes
                refused: an escalation policy needs at least one level
                refused: an escalation policy has 21 levels; at most 20 are allowed
                refused: an escalation policy repeats 10 times; at most 9 are allowed
                refused: level 2 waits 0s; the timeout must be between 1m and 24h
                refused: level 1 waits 59s; the timeout must be between 1m and 24h
                refused: level 1 waits 24h 1m; the timeout must be between 1m and 24h
                refused: level 1 waits -5m; the timeout must be between 1m and 24h
                refused: level 1 waits -2562047788015215h 30m 7s 999ms 999µs 999ns; the timeout must be between 1m and 24h
                refused: level 1 has no targets
                refused: level 2 names user=2 twice
                refused: level 1 has 21 targets; at most 20 are allowed
                refused: levels 1 and 3 both wake management; at most one level of a policy may
            "#]],
        );
    }

    #[test]
    fn level_numbers_count_from_one() {
        let policy = Policy::parse(vec![level(5, &[Target::User(1)])], 0).unwrap();
        assert_eq!(policy.level(0), None);
        assert_eq!(policy.level(1).map(|level| level.targets.clone()), Some(vec![Target::User(1)]));
        assert_eq!(policy.level(2), None);
        assert_eq!(policy.level(u32::MAX), None);
    }
}
