//! The escalation state machine of firebreak.
//!
//! An [`Escalation`] is the state of paging for one incident: which pass and level of its
//! [`Policy`] were paged last, and the absolute UTC deadline at which the next level is due.
//! [`start`] begins one when an incident is declared, [`step`] applies an [`Input`] at a given
//! `now`, and both return the new state together with the [`Action`]s to carry out.
//!
//! This crate is pure: it does no I/O, reads no clock (every function takes `now`), knows no store
//! and no notification channel, and has no async code. The driver that runs it loads the escalation
//! and the policy, calls [`step`], and saves the new escalation together with the actions to send in
//! one transaction; it wakes up at [`next_deadline`]. Because the state is a plain value with
//! absolute deadlines, a restart or a replica taking over continues exactly where the last
//! committed step left off, and every page carries a stable [`Page::key`] for deduplication.
//!
//! Schedules and teams are targets here, not people: resolving who is on call for a
//! [`Target::Schedule`] at the moment of a page is the driver's job, so this crate stays
//! independent of how schedules are modelled.

mod escalation;
mod policy;

pub use escalation::{Action, Escalation, EscalationState, Input, Page, next_deadline, start, step};
pub use policy::{
    LEVELS_MAX, Level, Policy, REPEAT_COUNT_MAX, TARGETS_PER_LEVEL_MAX, TIMEOUT_MAX, TIMEOUT_MIN, Target,
};
