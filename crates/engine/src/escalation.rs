//! The escalation of one incident as a pure state machine: [`start`], [`step`] and [`next_deadline`].
//!
//! # Lifecycle
//!
//! [`start`] pages level 1 of pass 1 and sets the deadline for level 2. Each deadline that passes
//! without an acknowledgement pages the next level; after the last level the next pass begins at
//! level 1 again, up to [`Policy::passes`]. When the last level of the last pass times out as well,
//! the escalation is [`EscalationState::Exhausted`] and reports [`Action::Exhausted`]. An
//! acknowledgement stops paging, a resolution stops everything, and a re-trigger of a resolved
//! incident starts a new *generation* at level 1 of pass 1.
//!
//! # Deadlines and late processing
//!
//! Deadlines are absolute UTC timestamps and are anchored to the plan, not to when a page was
//! actually sent: the deadline after a level is the moment that level was *due* plus its timeout.
//! A [`Input::Tick`] processes every deadline at or before `now`, in order, and pages each level
//! that came due exactly once, immediately, with [`Page::due`] telling how late it is. So the pages
//! and their order never depend on when or how often the driver ticks: after downtime the
//! escalation arrives where it would have been had the driver never stopped, nobody who was owed a
//! page misses it, and a policy's promise ("if nobody acknowledges within 15 minutes, level 3 knows")
//! holds even across a restart. The alternative, skipping to the level that is current now, would
//! silently drop the people in between and make the outcome depend on the driver's timing; restarting
//! the timeouts from the late page would delay the levels that should already know. A long outage can
//! therefore produce a burst, bounded by the policy's levels times its passes; the notifier may
//! coalesce pages of one batch that reach the same person.
//!
//! Inputs other than a tick do not catch up first: an acknowledgement that arrives after a deadline
//! the driver has not processed yet drops that late page, because a page exists to get someone to
//! acknowledge and waking someone after that is only noise.
//!
//! # Exactly once
//!
//! [`step`] is deterministic and total: the same escalation, policy, input and `now` always give the
//! same result, and no input panics. The driver saves the returned escalation and actions in one
//! transaction, so a crash before the commit repeats the step (with the same pages and keys) and a
//! crash after it does not. A duplicated input is harmless: acknowledging twice, resolving twice,
//! re-triggering an open incident or ticking twice at the same `now` changes nothing and pages no one.
//! [`Page::key`] names each page by incident, generation, pass, level and target, so a page that was
//! handed to a notifier before a crash can be recognised when it comes again.
//!
//! # Policy edits
//!
//! The escalation stores only its position, so [`step`] always uses the policy it is given: an edit
//! takes effect at the next deadline, whose time was fixed when the previous level was paged. If the
//! policy shrank below the current level, the next deadline starts the next pass (or exhausts).

use std::fmt;

use firebreak_domain::Id;
use jiff::Timestamp;

use crate::policy::{LEVELS_MAX, Policy, REPEAT_COUNT_MAX, Target};

/// The state of paging for one incident: a plain value that the store saves and loads field by
/// field. Every field is public for that reason; [`Escalation::check`] tells whether a loaded value
/// is consistent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escalation {
    pub incident_id: Id,
    /// Starts at 1 and grows by one with each re-trigger, so the pages of different triggers of the
    /// same incident have different keys.
    pub generation: u32,
    /// The pass through the policy's levels that was paged last, from 1 to [`Policy::passes`].
    pub pass: u32,
    /// The level that was paged last, counting from 1.
    pub level: u32,
    pub state: EscalationState,
    /// When the next level (or the exhaustion) is due. `Some` exactly while [`EscalationState::Active`].
    pub next_deadline: Option<Timestamp>,
}

/// Where an escalation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EscalationState {
    /// Paging: waiting for an acknowledgement until the next deadline.
    Active,
    /// Someone acknowledged or mitigated the incident; nobody more is paged.
    Acknowledged,
    /// The incident is resolved; only a re-trigger starts paging again.
    Resolved,
    /// Every level of every pass was paged and timed out without an acknowledgement.
    Exhausted,
}

/// Something that happened to the incident, or the passing of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Someone acknowledged the incident, or mitigated it while it was triggered: paging stops.
    Acknowledged,
    /// The incident was resolved: everything stops.
    Resolved,
    /// A resolved incident was triggered again, or the snooze of an acknowledged one ran out:
    /// paging restarts at level 1 with a new generation. Ignored unless the escalation is resolved
    /// or acknowledged, so a duplicated re-trigger pages no one.
    Retriggered,
    /// Time passed: process every deadline at or before `now`.
    Tick,
}

/// What the driver must do after a step, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Notify a target.
    Page(Page),
    /// The last level of the last pass timed out without an acknowledgement; worth recording on the
    /// incident's timeline. Nobody more will be paged for this generation.
    Exhausted { incident_id: Id, generation: u32, due: Timestamp },
}

/// One notification to send: level `level` of pass `pass` pages `target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub incident_id: Id,
    pub generation: u32,
    pub pass: u32,
    pub level: u32,
    pub target: Target,
    /// Whether this page may wake management or the incident commander.
    pub wakes_management: bool,
    /// When the page was due by the plan; earlier than `now` when it is sent late after downtime.
    pub due: Timestamp,
}

/// Starts the escalation of a newly triggered incident at `now`: pages every target of level 1 of
/// pass 1 and sets the deadline for the next level.
pub fn start(incident_id: Id, policy: &Policy, now: Timestamp) -> (Escalation, Vec<Action>) {
    begin(incident_id, 1, policy, now)
}

/// Applies `input` at `now` to `escalation` under `policy`, returning the new escalation and the
/// actions to carry out, in order. See the module docs for the rules.
///
/// Never panics and never fails. Given a record that fails [`Escalation::check`], it still
/// terminates and pages no more than the policy allows, but its result may be as inconsistent as its
/// input: an active record without a deadline, for instance, stays stuck until resolved.
pub fn step(
    escalation: &Escalation,
    policy: &Policy,
    input: Input,
    now: Timestamp,
) -> (Escalation, Vec<Action>) {
    let mut next = escalation.clone();
    let mut actions = Vec::new();
    match input {
        Input::Acknowledged => {
            if matches!(next.state, EscalationState::Active | EscalationState::Exhausted) {
                next.state = EscalationState::Acknowledged;
                next.next_deadline = None;
            }
        }
        Input::Resolved => {
            next.state = EscalationState::Resolved;
            next.next_deadline = None;
        }
        Input::Retriggered => {
            if matches!(next.state, EscalationState::Resolved | EscalationState::Acknowledged) {
                // Generations only grow: four billion re-triggers of one incident would be needed to
                // saturate, after which the driver's key deduplication drops the repeated pages.
                return begin(next.incident_id, next.generation.saturating_add(1), policy, now);
            }
        }
        Input::Tick => tick(&mut next, policy, now, &mut actions),
    }
    (next, actions)
}

/// When the driver should next call [`step`] with [`Input::Tick`]: the deadline of an active
/// escalation, `None` for any other (and for an inconsistent record that claims to be active without
/// one).
pub fn next_deadline(escalation: &Escalation) -> Option<Timestamp> {
    match escalation.state {
        EscalationState::Active => escalation.next_deadline,
        EscalationState::Acknowledged | EscalationState::Resolved | EscalationState::Exhausted => None,
    }
}

impl Escalation {
    /// Checks that a record is consistent, as the store should before writing one and after reading
    /// it back: generation, pass and level at least 1, pass and level within the largest policy, and
    /// a deadline exactly while active.
    ///
    /// Returns a message naming the incident and the offending field.
    pub fn check(&self) -> Result<(), String> {
        let id = self.incident_id;
        let passes_max = REPEAT_COUNT_MAX + 1;
        if self.generation == 0 {
            return Err(format!("escalation of incident {id} has generation 0; generations start at 1"));
        }
        if !(1..=passes_max).contains(&self.pass) {
            return Err(format!(
                "escalation of incident {id} is in pass {}; passes go from 1 to {passes_max}",
                self.pass
            ));
        }
        if !(1..=LEVELS_MAX).contains(&usize::try_from(self.level).unwrap_or(usize::MAX)) {
            return Err(format!(
                "escalation of incident {id} is at level {}; levels go from 1 to {LEVELS_MAX}",
                self.level
            ));
        }
        match (self.state, self.next_deadline) {
            (EscalationState::Active, None) => {
                Err(format!("escalation of incident {id} is active but has no next deadline"))
            }
            (EscalationState::Active, Some(_)) | (_, None) => Ok(()),
            (state, Some(_)) => {
                Err(format!("escalation of incident {id} is {state} but has a next deadline"))
            }
        }
    }
}

impl EscalationState {
    /// Every state, in order.
    pub const ALL: &'static [EscalationState] = &[
        EscalationState::Active,
        EscalationState::Acknowledged,
        EscalationState::Resolved,
        EscalationState::Exhausted,
    ];

    /// The canonical lowercase name, as the store and the API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationState::Active => "active",
            EscalationState::Acknowledged => "acknowledged",
            EscalationState::Resolved => "resolved",
            EscalationState::Exhausted => "exhausted",
        }
    }

    /// Parses a name in any case, or says which names are valid.
    pub fn parse(name: &str) -> Result<EscalationState, String> {
        EscalationState::ALL.iter().copied().find(|state| state.as_str().eq_ignore_ascii_case(name)).ok_or_else(
            || format!("unknown escalation state {name:?}; expected one of: active, acknowledged, resolved, exhausted"),
        )
    }
}

impl fmt::Display for EscalationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Page {
    /// The page's idempotency key: `incident-<id>/gen-<generation>/pass-<pass>/level-<level>/<kind>-<id>`,
    /// for example `incident-12/gen-1/pass-2/level-3/schedule-7`.
    ///
    /// It is unique over an incident's whole life, because a level names each target once, each
    /// (pass, level) is paged once per generation, and every re-trigger starts a new generation. The
    /// driver and notifier deduplicate on it across crashes and replicas. The format is fixed: a change
    /// would make pages sent before an upgrade look new after it.
    pub fn key(&self) -> String {
        format!(
            "incident-{}/gen-{}/pass-{}/level-{}/{}-{}",
            self.incident_id,
            self.generation,
            self.pass,
            self.level,
            self.target.kind(),
            self.target.id()
        )
    }
}

/// Most deadlines one tick processes. Far more than a valid record can have outstanding (every
/// level of every pass of the largest policy, plus one for the exhaustion, plus a pass 0 of a corrupt
/// record); it only guarantees termination on any input.
const DEADLINES_PER_TICK_MAX: usize = LEVELS_MAX * (REPEAT_COUNT_MAX as usize + 2) + 1;

/// Starts a generation at `now`: pages level 1 of pass 1.
fn begin(incident_id: Id, generation: u32, policy: &Policy, now: Timestamp) -> (Escalation, Vec<Action>) {
    let mut escalation = Escalation {
        incident_id,
        generation,
        pass: 1,
        level: 1,
        state: EscalationState::Active,
        next_deadline: None,
    };
    let mut actions = Vec::new();
    page(&mut escalation, policy, 1, 1, now, &mut actions);
    (escalation, actions)
}

/// Processes every deadline at or before `now`, in order.
fn tick(escalation: &mut Escalation, policy: &Policy, now: Timestamp, actions: &mut Vec<Action>) {
    for _ in 0..DEADLINES_PER_TICK_MAX {
        let Some(deadline) = next_deadline(escalation) else { return };
        if deadline > now {
            return;
        }
        match successor(escalation.pass, escalation.level, policy) {
            Some((pass, level)) => page(escalation, policy, pass, level, deadline, actions),
            None => exhaust(escalation, deadline, actions),
        }
    }
}

/// The (pass, level) that follows `(pass, level)` under `policy`, or `None` after the last level of
/// the last pass. A level beyond the policy's last one (the policy shrank) is followed by the next
/// pass.
fn successor(pass: u32, level: u32, policy: &Policy) -> Option<(u32, u32)> {
    let levels = u32::try_from(policy.levels().len()).unwrap_or(u32::MAX);
    if level < levels {
        Some((pass, level + 1))
    } else if pass < policy.passes() {
        Some((pass + 1, 1))
    } else {
        None
    }
}

/// Pages every target of `level` in `pass`, due at `due`, and sets the deadline for what follows.
fn page(
    escalation: &mut Escalation,
    policy: &Policy,
    pass: u32,
    level: u32,
    due: Timestamp,
    actions: &mut Vec<Action>,
) {
    let Some(paged) = policy.level(level) else {
        // Unreachable with positions from `successor`, which stay within the policy; exhausting is
        // the answer that pages no one twice.
        exhaust(escalation, due, actions);
        return;
    };
    escalation.pass = pass;
    escalation.level = level;
    escalation.state = EscalationState::Active;
    // Past the end of time there is nothing left to wait for; deadlines saturate there.
    escalation.next_deadline = Some(due.checked_add(paged.timeout).unwrap_or(Timestamp::MAX));
    actions.extend(paged.targets.iter().map(|target| {
        Action::Page(Page {
            incident_id: escalation.incident_id,
            generation: escalation.generation,
            pass,
            level,
            target: *target,
            wakes_management: paged.wakes_management,
            due,
        })
    }));
}

fn exhaust(escalation: &mut Escalation, due: Timestamp, actions: &mut Vec<Action>) {
    escalation.state = EscalationState::Exhausted;
    escalation.next_deadline = None;
    actions.push(Action::Exhausted {
        incident_id: escalation.incident_id,
        generation: escalation.generation,
        due,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for state in EscalationState::ALL {
            assert_eq!(EscalationState::parse(&state.as_str().to_uppercase()), Ok(*state));
        }
        assert_eq!(
            EscalationState::parse("paused").unwrap_err(),
            "unknown escalation state \"paused\"; expected one of: active, acknowledged, resolved, exhausted"
        );
    }

    #[test]
    fn check_names_the_offending_field() {
        let valid = Escalation {
            incident_id: 12,
            generation: 1,
            pass: 1,
            level: 1,
            state: EscalationState::Active,
            next_deadline: Some(Timestamp::UNIX_EPOCH),
        };
        assert_eq!(valid.check(), Ok(()));
        let cases = [
            (
                Escalation { generation: 0, ..valid.clone() },
                "escalation of incident 12 has generation 0; generations start at 1",
            ),
            (
                Escalation { pass: 0, ..valid.clone() },
                "escalation of incident 12 is in pass 0; passes go from 1 to 10",
            ),
            (
                Escalation { pass: 11, ..valid.clone() },
                "escalation of incident 12 is in pass 11; passes go from 1 to 10",
            ),
            (
                Escalation { level: 0, ..valid.clone() },
                "escalation of incident 12 is at level 0; levels go from 1 to 20",
            ),
            (
                Escalation { level: u32::MAX, ..valid.clone() },
                "escalation of incident 12 is at level 4294967295; levels go from 1 to 20",
            ),
            (
                Escalation { next_deadline: None, ..valid.clone() },
                "escalation of incident 12 is active but has no next deadline",
            ),
            (
                Escalation { state: EscalationState::Resolved, ..valid.clone() },
                "escalation of incident 12 is resolved but has a next deadline",
            ),
        ];
        for (escalation, expected) in cases {
            assert_eq!(escalation.check(), Err(expected.to_owned()));
        }
    }
}
