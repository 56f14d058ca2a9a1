//! Who would be paged, as the web UI shows it wherever it says so (the on-call pages, a service's
//! page): the names of people and schedules, escalation policies with their targets resolved, and
//! how each target reads at an instant.

use std::collections::HashMap;

use firebreak_app::oncall::{StoredPolicy, Target};
use firebreak_domain::{self as domain, Id};
use firebreak_engine as engine;
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};

use super::format::{format_time, join, local_time, minutes_text, muted, person, time_until};
use crate::error::ApiError;
use crate::state::Shared;

/// How far ahead the end of a current shift is looked for; a longer shift is shown as "for N+ days".
pub(super) const SHIFT_END_HORIZON_DAYS: i64 = 35;

/// The escalation-policy facts of a service's page, as loaded: its policy and the names it needs.
pub(super) struct ServiceOnCall {
    pub(super) policy: PolicyNow,
    pub(super) directory: Directory,
}

/// Names of the people and schedules that the on-call pages mention.
pub(super) struct Directory {
    pub(super) users: HashMap<Id, String>,
    pub(super) schedules: HashMap<Id, String>,
}

/// An escalation policy with its targets resolved, ready to say who it pages now.
pub(super) struct PolicyNow {
    pub(super) id: Id,
    pub(super) name: String,
    pub(super) policy: engine::Policy,
    pub(super) targets: Vec<Vec<Target>>,
}

/// One level of an escalation policy as the on-call pages show it.
pub(super) struct LevelView {
    /// The level's number, and whether it may wake management.
    pub(super) number: Markup,
    /// When the level is paged, counted from the incident's start when nobody acknowledges.
    pub(super) after: String,
    /// How long the level waits for an acknowledgement.
    pub(super) wait: String,
    /// Who the level pages now, target by target.
    pub(super) pages: Markup,
}

/// The escalation-policy facts of a service's page: which policy, and who its first level pages
/// at `now`.
pub(super) fn service_on_call(on_call: Option<&ServiceOnCall>, now: Timestamp) -> Markup {
    let Some(ServiceOnCall { policy, directory }) = on_call else {
        return html! {
            dt { "Escalation policy" }
            dd.muted { "none: incidents of this service page nobody" }
        };
    };
    html! {
        dt { "Escalation policy" }
        dd { (policy.link()) }
        dt { "On call now" }
        dd #on-call {
            @match policy.targets.first() {
                Some(targets) if !targets.is_empty() => {
                    @for target in targets {
                        div { (target_now(directory, target, now)) }
                    }
                }
                _ => (muted("nobody")),
            }
        }
    }
}

impl ServiceOnCall {
    /// The escalation policy `policy_id` of a service, if it has one.
    pub(super) async fn load(
        server: &Shared,
        policy_id: Option<Id>,
    ) -> Result<Option<ServiceOnCall>, ApiError> {
        let Some(policy_id) = policy_id else {
            return Ok(None);
        };
        let policy = PolicyNow::load(server, policy_id).await?;
        let directory = Directory::load(server).await?;
        Ok(Some(ServiceOnCall { policy, directory }))
    }
}

impl Directory {
    pub(super) async fn load(server: &Shared) -> Result<Directory, ApiError> {
        let users = server.user_names().await?;
        let schedules = server.schedules().await?.into_iter().map(|s| (s.id, s.name)).collect();
        Ok(Directory { users, schedules })
    }

    pub(super) fn user(&self, id: Id) -> String {
        self.users.get(&id).map_or_else(|| format!("user {id}"), Clone::clone)
    }

    pub(super) fn schedule_link(&self, id: Id) -> Markup {
        let name = self.schedules.get(&id).map_or_else(|| format!("schedule {id}"), Clone::clone);
        html! { a href={ "/schedules/" (id) } { (name) } }
    }
}

impl PolicyNow {
    pub(super) async fn load(server: &Shared, id: Id) -> Result<PolicyNow, ApiError> {
        PolicyNow::of(server, server.policy(id).await?).await
    }

    /// `stored` with its targets resolved.
    pub(super) async fn of(server: &Shared, stored: StoredPolicy) -> Result<PolicyNow, ApiError> {
        let targets = server.policy_targets(&stored.policy).await?;
        Ok(PolicyNow { id: stored.id, name: stored.name, policy: stored.policy, targets })
    }

    pub(super) fn link(&self) -> Markup {
        html! { a href={ "/escalation-policies/" (self.id) } { (self.name) } }
    }

    /// The people the first level pages at `now`, each once, in target order.
    pub(super) fn first_paged(&self, now: Timestamp) -> Vec<Id> {
        let mut users = Vec::new();
        for user in self.targets.first().into_iter().flatten().flat_map(|target| target.on_call(now)) {
            if !users.contains(&user) {
                users.push(user);
            }
        }
        users
    }

    /// One view per level, in order.
    pub(super) fn levels(&self, directory: &Directory, now: Timestamp) -> Vec<LevelView> {
        let mut after_minutes = 0;
        let mut views = Vec::with_capacity(self.policy.levels().len());
        for (index, (level, targets)) in self.policy.levels().iter().zip(&self.targets).enumerate() {
            let timeout_minutes = level.timeout.as_secs() / 60;
            let number = html! {
                span.level { (index + 1) }
                @if level.wakes_management {
                    " "
                    span.tag.wakes title="the one level allowed to wake management" { "wakes management" }
                }
            };
            let pages = if targets.is_empty() {
                muted("nobody")
            } else {
                html! {
                    @for target in targets {
                        div { (target_now(directory, target, now)) }
                    }
                }
            };
            views.push(LevelView {
                number,
                after: if after_minutes == 0 { "at once".to_owned() } else { minutes_text(after_minutes) },
                wait: minutes_text(timeout_minutes),
                pages,
            });
            after_minutes = after_minutes.saturating_add(timeout_minutes);
        }
        views
    }
}

/// Who `schedule` has on call at `now`, and until when: the end of their shift or, in a gap, the
/// start of the next one. The end is `None` when it lies more than [`SHIFT_END_HORIZON_DAYS`] ahead.
pub(super) fn stretch(schedule: &domain::Schedule, now: Timestamp) -> (Option<Id>, Option<Timestamp>) {
    let Ok(horizon) = now.checked_add(SignedDuration::from_hours(24 * SHIFT_END_HORIZON_DAYS)) else {
        return (schedule.on_call(now), None);
    };
    let first = schedule.shifts(now, horizon).ok().and_then(|shifts| shifts.first().copied());
    match first {
        Some(shift) if shift.start == now => (Some(shift.user), (shift.end < horizon).then_some(shift.end)),
        Some(shift) => (None, Some(shift.start)),
        None => (None, None),
    }
}

/// Who a schedule has on call now, and until when.
pub(super) fn on_call_now(directory: &Directory, schedule: &domain::Schedule, now: Timestamp) -> Markup {
    let (user, until) = stretch(schedule, now);
    html! {
        @match user {
            Some(user) => (person(&directory.user(user))),
            None => (muted("nobody")),
        }
        @if let Some(end) = until {
            " "
            span.muted title=(format_time(end)) {
                "until " (local_time(end, &schedule.time_zone, "%a %d %b %H:%M %Z"))
                " (" (time_until(now, end)) ")"
            }
        } @else if user.is_some() {
            " "
            span.muted { "for " (SHIFT_END_HORIZON_DAYS) "+ days" }
        }
    }
}

/// A target of an escalation level: a person, a linked schedule with who it has on call, or a team
/// with its members.
pub(super) fn target_now(directory: &Directory, target: &Target, now: Timestamp) -> Markup {
    let arrow = html! { " " span.muted { "→" } " " };
    match target {
        Target::User(id) => person(&directory.user(*id)),
        Target::Schedule { id, schedule } => html! {
            (directory.schedule_link(*id)) (arrow) (on_call_now(directory, schedule, now))
        },
        Target::Team { name, members, .. } => html! {
            "team " (name) (arrow)
            @if members.is_empty() {
                (muted("no members"))
            } @else {
                (join(members.iter().map(|id| person(&directory.user(*id))), ", "))
            }
        },
    }
}
