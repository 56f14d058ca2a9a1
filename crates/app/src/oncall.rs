//! On call: schedules (who is on call when) and escalation policies (whom an incident pages, in
//! which order), and who a service's policy would page now.
//!
//! Schedules and policies arrive as the API's specifications, with people by id or by name; they
//! are validated into a [`domain::Schedule`] or an [`engine::Policy`] with every person by id, and
//! stored as such (the store owns the stored format).

use std::collections::HashMap;

use firebreak_api::{self as api, Ref};
use firebreak_domain::{self as domain, Action, Id, Scope, Shift, User};
use firebreak_engine as engine;
use jiff::Timestamp;

pub use firebreak_store::{StoredPolicy, StoredSchedule};

use crate::access::Audit;
use crate::{App, Error, Principal, Result, resolve};

/// Longest wait of a level, in minutes (the engine's bound).
const TIMEOUT_MINUTES_MAX: i64 = 24 * 60;

/// What one target of an escalation level stands for now: a person, a schedule that decides who,
/// or a team whose members are all paged.
#[derive(Clone, Debug)]
pub enum Target {
    User(Id),
    Schedule { id: Id, schedule: domain::Schedule },
    Team { id: Id, name: String, members: Vec<Id> },
}

impl Target {
    /// Who this target pages at `at`: nobody when it is a schedule with nobody on call then, or a
    /// team without members.
    pub fn on_call(&self, at: Timestamp) -> Vec<Id> {
        match self {
            Target::User(id) => vec![*id],
            Target::Schedule { schedule, .. } => schedule.on_call(at).into_iter().collect(),
            Target::Team { members, .. } => members.clone(),
        }
    }
}

/// Who a service's escalation policy would page at an instant, level by level.
#[derive(Clone, Debug)]
pub struct ServiceOnCall {
    pub service_id: Id,
    pub escalation_policy_id: Option<Id>,
    pub at: Timestamp,
    /// In level order: the level's timeout and the people its targets resolve to, each once.
    pub levels: Vec<(jiff::SignedDuration, Vec<User>)>,
}

impl App {
    /// The team `team` names, which `who` must own, or none (then `who` must be an administrator).
    async fn owner_scope(&self, who: &Principal, team: Option<&Ref>) -> Result<Option<Id>> {
        let team = match team {
            Some(team) => Some(resolve::team_id(self.store(), team).await?),
            None => None,
        };
        self.authorize(who, Action::Configure, owned_by(team)).await?;
        Ok(team)
    }

    /// Creates an on-call schedule.
    ///
    /// Fails with [`Error::Invalid`] for a bad field or layer, [`Error::NotFound`] for a user that
    /// does not exist, and [`Error::Conflict`] when the name is taken.
    pub async fn create_schedule(
        &self,
        who: &Principal,
        body: api::CreateSchedule,
    ) -> Result<StoredSchedule> {
        let team = self.owner_scope(who, body.team.as_ref()).await?;
        let name = resolve::name(&body.name)?;
        let time_zone = resolve::time_zone(&body.time_zone)?;
        let schedule = self.schedule_of(time_zone, &body.layers, &body.overrides).await?;
        let mut tx = self.store().begin().await?;
        let mut stored = tx.create_schedule(&name, &schedule, self.now()).await?;
        if team.is_some() {
            tx.set_schedule_team(stored.id, team).await?;
            stored.team_id = team;
        }
        let audit = Audit::new("schedule.create", format!("schedule:{}", stored.id))
            .after(schedule_view(stored.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<StoredSchedule>> {
        Ok(self.store().schedules().await?)
    }

    /// Fails with [`Error::NotFound`] when there is no schedule `id`.
    pub async fn schedule(&self, id: Id) -> Result<StoredSchedule> {
        Ok(self.store().schedule(id).await?)
    }

    /// Adds an override: someone covers schedule `id` from `start` to `end`.
    ///
    /// Fails with [`Error::NotFound`] for an unknown schedule or user and [`Error::Invalid`] for
    /// a cover that does not end after it starts, or one too many.
    pub async fn add_override(&self, who: &Principal, id: Id, body: api::Override) -> Result<StoredSchedule> {
        let stored = self.store().schedule(id).await?;
        self.authorize(who, Action::Configure, owned_by(stored.team_id)).await?;
        let before = schedule_view(stored.clone());
        let user = resolve::user_id(self.store(), &body.user).await?;
        let mut schedule = stored.schedule;
        schedule.overrides.push(domain::Override { user, start: body.start, end: body.end });
        let schedule = domain::Schedule::new(schedule.time_zone, schedule.layers, schedule.overrides)
            .map_err(Error::Invalid)?;
        let mut tx = self.store().begin().await?;
        let stored = tx.update_schedule(id, &schedule).await?;
        let audit = Audit::new("schedule.add_override", format!("schedule:{id}"))
            .before(before)
            .after(schedule_view(stored.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Changes schedule `id`: each field given replaces what it has.
    ///
    /// Fails as [`App::create_schedule`] does, and with [`Error::NotFound`] for an unknown
    /// schedule.
    pub async fn update_schedule(
        &self,
        who: &Principal,
        id: Id,
        body: api::UpdateSchedule,
    ) -> Result<StoredSchedule> {
        let stored = self.store().schedule(id).await?;
        self.authorize(who, Action::Configure, owned_by(stored.team_id)).await?;
        let team = match &body.team {
            Some(team) => Some(self.owner_scope(who, Some(team)).await?),
            None => None,
        };
        let name = match &body.name {
            Some(name) => resolve::name(name)?,
            None => stored.name.clone(),
        };
        let time_zone = match &body.time_zone {
            Some(zone) => resolve::time_zone(zone)?,
            None => stored.schedule.time_zone.clone(),
        };
        let current = schedule_spec(&stored);
        let layers = body.layers.as_ref().unwrap_or(&current.layers);
        let overrides = body.overrides.as_ref().unwrap_or(&current.overrides);
        let schedule = self.schedule_of(time_zone, layers, overrides).await?;
        let mut tx = self.store().begin().await?;
        let mut after = tx.replace_schedule(id, &name, &schedule).await?;
        if let Some(team) = team {
            tx.set_schedule_team(id, team).await?;
            after.team_id = team;
        }
        let audit = Audit::new("schedule.update", format!("schedule:{id}"))
            .before(schedule_view(stored))
            .after(schedule_view(after.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes override number `index` (from 0, in the order the schedule lists them).
    ///
    /// Fails with [`Error::NotFound`] for an unknown schedule or override.
    pub async fn remove_override(&self, who: &Principal, id: Id, index: usize) -> Result<StoredSchedule> {
        let stored = self.store().schedule(id).await?;
        self.authorize(who, Action::Configure, owned_by(stored.team_id)).await?;
        let before = schedule_view(stored.clone());
        let mut schedule = stored.schedule;
        if index >= schedule.overrides.len() {
            return Err(Error::NotFound(format!(
                "schedule {} has no override {index}; it has {} (numbered from 0)",
                stored.name,
                schedule.overrides.len()
            )));
        }
        schedule.overrides.remove(index);
        let mut tx = self.store().begin().await?;
        let stored = tx.update_schedule(id, &schedule).await?;
        let audit = Audit::new("schedule.remove_override", format!("schedule:{id}"))
            .before(before)
            .after(schedule_view(stored.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Deletes schedule `id`.
    ///
    /// Fails with [`Error::NotFound`] for an unknown schedule and [`Error::Conflict`], naming
    /// them, when escalation policies target it.
    pub async fn delete_schedule(&self, who: &Principal, id: Id) -> Result<()> {
        let stored = self.store().schedule(id).await?;
        self.authorize(who, Action::Configure, owned_by(stored.team_id)).await?;
        let users = self.policies_naming(engine::Target::Schedule(id)).await?;
        if !users.is_empty() {
            return Err(Error::Conflict(format!(
                "schedule {} is a target of escalation policies {}: take it out of them first",
                stored.name,
                users.join(", ")
            )));
        }
        let mut tx = self.store().begin().await?;
        tx.delete_schedule(id).await?;
        let audit = Audit::new("schedule.delete", format!("schedule:{id}")).before(schedule_view(stored));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Who schedule `id` has on call at `at` (now when `None`, else RFC 3339).
    ///
    /// Fails with [`Error::BadRequest`] for a malformed instant and [`Error::NotFound`] for an
    /// unknown schedule.
    pub async fn on_call(&self, id: Id, at: Option<&str>) -> Result<(Timestamp, Option<User>)> {
        let at = resolve::instant_or("at", at, self.now())?;
        let schedule = self.store().schedule(id).await?.schedule;
        let user = match schedule.on_call(at) {
            Some(user) => Some(self.store().user(user).await?),
            None => None,
        };
        Ok((at, user))
    }

    /// The final shifts of schedule `id` between two instants (RFC 3339), after layers and
    /// overrides, each with its person's name.
    ///
    /// Fails with [`Error::BadRequest`] for a malformed or too long range and [`Error::NotFound`]
    /// for an unknown schedule.
    pub async fn shifts(&self, id: Id, from: &str, to: &str) -> Result<Vec<(Shift, String)>> {
        let from = resolve::instant("from", from)?;
        let to = resolve::instant("to", to)?;
        let schedule = self.store().schedule(id).await?.schedule;
        let shifts = schedule.shifts(from, to).map_err(Error::BadRequest)?;
        let names = self.user_names().await?;
        Ok(shifts
            .into_iter()
            .map(|shift| {
                let name = names.get(&shift.user).cloned().unwrap_or_default();
                (shift, name)
            })
            .collect())
    }

    /// Creates an escalation policy.
    ///
    /// Fails with [`Error::Invalid`] for a bad level or target type, [`Error::NotFound`] for a
    /// target that does not exist, and [`Error::Conflict`] when the name is taken.
    pub async fn create_policy(
        &self,
        who: &Principal,
        body: api::CreateEscalationPolicy,
    ) -> Result<StoredPolicy> {
        let team = self.owner_scope(who, body.team.as_ref()).await?;
        let name = resolve::name(&body.name)?;
        self.check_targets(&body).await?;
        let policy = policy_of_spec(&body)?;
        let mut tx = self.store().begin().await?;
        let mut stored = tx.create_escalation_policy(&name, &policy, self.now()).await?;
        if team.is_some() {
            tx.set_policy_team(stored.id, team).await?;
            stored.team_id = team;
        }
        let audit =
            Audit::new("policy.create", format!("policy:{}", stored.id)).after(policy_view(stored.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Changes escalation policy `id`: each field given replaces what it has. Incidents paging
    /// through it follow the new levels from their next step.
    ///
    /// Fails as [`App::create_policy`] does, and with [`Error::NotFound`] for an unknown policy.
    pub async fn update_policy(
        &self,
        who: &Principal,
        id: Id,
        body: api::UpdateEscalationPolicy,
    ) -> Result<StoredPolicy> {
        let stored = self.store().escalation_policy(id).await?;
        self.authorize(who, Action::Configure, owned_by(stored.team_id)).await?;
        let team = match &body.team {
            Some(team) => Some(self.owner_scope(who, Some(team)).await?),
            None => None,
        };
        let current = policy_spec(&stored);
        let spec = api::CreateEscalationPolicy {
            name: body.name.unwrap_or(current.name),
            repeat: body.repeat.unwrap_or(current.repeat),
            levels: body.levels.unwrap_or(current.levels),
            management_from: body.management_from.or(current.management_from),
            team: None,
        };
        let name = resolve::name(&spec.name)?;
        self.check_targets(&spec).await?;
        let policy = policy_of_spec(&spec)?;
        let mut tx = self.store().begin().await?;
        let mut after = tx.replace_escalation_policy(id, &name, &policy).await?;
        if let Some(team) = team {
            tx.set_policy_team(id, team).await?;
            after.team_id = team;
        }
        let audit = Audit::new("policy.update", format!("policy:{id}"))
            .before(policy_view(stored))
            .after(policy_view(after.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes escalation policy `id`.
    ///
    /// Fails with [`Error::NotFound`] for an unknown policy and [`Error::Conflict`], naming them,
    /// when services use it or incidents that are not resolved are paging through it.
    pub async fn delete_policy(&self, who: &Principal, id: Id) -> Result<()> {
        let stored = self.store().escalation_policy(id).await?;
        self.authorize(who, Action::Configure, owned_by(stored.team_id)).await?;
        let mut tx = self.store().begin().await?;
        tx.delete_escalation_policy(id).await?;
        let audit = Audit::new("policy.delete", format!("policy:{id}")).before(policy_view(stored));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every escalation policy, by name.
    pub async fn policies(&self) -> Result<Vec<StoredPolicy>> {
        Ok(self.store().escalation_policies().await?)
    }

    /// Fails with [`Error::NotFound`] when there is no escalation policy `id`.
    pub async fn policy(&self, id: Id) -> Result<StoredPolicy> {
        Ok(self.store().escalation_policy(id).await?)
    }

    /// The escalation policy of a service, if it has one.
    pub async fn service_policy(&self, service_id: Id) -> Result<Option<Id>> {
        Ok(self.store().service_escalation_policy(service_id).await?)
    }

    /// Who a service's escalation policy would page at `at` (now when `None`), level by level.
    ///
    /// Fails with [`Error::NotFound`] for an unknown service and [`Error::BadRequest`] for a
    /// malformed instant.
    pub async fn service_on_call(&self, service: &Ref, at: Option<&str>) -> Result<ServiceOnCall> {
        let service_id = resolve::service_id(self.store(), service).await?;
        let at = resolve::instant_or("at", at, self.now())?;
        let policy_id = self.store().service_escalation_policy(service_id).await?;
        let mut levels = Vec::new();
        if let Some(policy_id) = policy_id {
            let policy = self.store().escalation_policy(policy_id).await?.policy;
            let targets = self.policy_targets(&policy).await?;
            for (level, targets) in policy.levels().iter().zip(&targets) {
                let mut users: Vec<User> = Vec::new();
                for user in targets.iter().flat_map(|target| target.on_call(at)) {
                    if !users.iter().any(|u| u.id == user) {
                        users.push(self.store().user(user).await?);
                    }
                }
                levels.push((level.timeout, users));
            }
        }
        Ok(ServiceOnCall { service_id, escalation_policy_id: policy_id, at, levels })
    }

    /// The targets of every level of `policy`, in level order, with their schedules and team
    /// members loaded. The API's on-call answer and the web UI both go through here, so they cannot
    /// disagree about who would be paged.
    ///
    /// Fails when a schedule or team the policy names cannot be read.
    pub async fn policy_targets(&self, policy: &engine::Policy) -> Result<Vec<Vec<Target>>> {
        let mut levels = Vec::with_capacity(policy.levels().len());
        for level in policy.levels() {
            let mut targets = Vec::with_capacity(level.targets.len());
            for target in &level.targets {
                targets.push(match *target {
                    engine::Target::User(id) => Target::User(id),
                    engine::Target::Team(id) => {
                        let (team, members) = self.store().team_members(id).await?;
                        Target::Team {
                            id,
                            name: team.name,
                            members: members.iter().map(|user| user.id).collect(),
                        }
                    }
                    engine::Target::Schedule(id) => {
                        Target::Schedule { id, schedule: self.store().schedule(id).await?.schedule }
                    }
                });
            }
            levels.push(targets);
        }
        Ok(levels)
    }

    /// The name of every user, by id.
    pub async fn user_names(&self) -> Result<HashMap<Id, String>> {
        Ok(self.store().user_names_with_deleted().await?.into_iter().collect())
    }

    /// The domain schedule of the API's layers and overrides, with people resolved to ids.
    /// Fails with [`Error::NotFound`] for a target that does not exist and [`Error::Invalid`] for
    /// an unknown type of target.
    async fn check_targets(&self, spec: &api::CreateEscalationPolicy) -> Result<()> {
        for target in spec.levels.iter().flat_map(|level| &level.targets) {
            match target.kind.as_str() {
                "user" => drop(self.store().user(target.id).await?),
                "schedule" => drop(self.store().schedule(target.id).await?),
                "team" => drop(self.store().team(target.id).await?),
                other => return Err(unknown_target(other)),
            }
        }
        Ok(())
    }

    async fn schedule_of(
        &self,
        time_zone: jiff::tz::TimeZone,
        layers: &[api::Layer],
        overrides: &[api::Override],
    ) -> Result<domain::Schedule> {
        let mut users: HashMap<&Ref, Id> = HashMap::new();
        for user in
            layers.iter().flat_map(|layer| &layer.users).chain(overrides.iter().map(|cover| &cover.user))
        {
            if !users.contains_key(user) {
                users.insert(user, resolve::user_id(self.store(), user).await?);
            }
        }
        build_schedule(time_zone, layers, overrides, &|user| Ok(users[user]))
    }
}

/// Where a schedule or policy owned by `team` (or by nobody) belongs.
fn owned_by(team: Option<Id>) -> Scope {
    team.map_or(Scope::Installation, Scope::Team)
}

/// A schedule as the API shows it: people by id.
pub fn schedule_view(stored: StoredSchedule) -> api::Schedule {
    let schedule = stored.schedule;
    api::Schedule {
        id: stored.id,
        name: stored.name,
        time_zone: schedule.time_zone.iana_name().unwrap_or("UTC").to_owned(),
        layers: schedule
            .layers
            .iter()
            .map(|layer| api::Layer {
                start: layer.start,
                shift_length: layer.shift.to_string(),
                users: layer.users.iter().map(|user| Ref::Id(*user)).collect(),
                restrictions: layer
                    .restrictions
                    .iter()
                    .map(|restriction| api::Restriction {
                        kind: restriction.kind_name().to_owned(),
                        start_day: restriction.start_day.map(|day| domain::weekday_name(day).to_owned()),
                        start_time: domain::time_text(restriction.start_time),
                        end_day: restriction.end_day.map(|day| domain::weekday_name(day).to_owned()),
                        end_time: domain::time_text(restriction.end_time),
                    })
                    .collect(),
            })
            .collect(),
        overrides: schedule
            .overrides
            .iter()
            .map(|cover| api::Override { user: Ref::Id(cover.user), start: cover.start, end: cover.end })
            .collect(),
        team_id: stored.team_id,
        created_at: stored.created_at,
    }
}

/// An escalation policy as the API shows it.
pub fn policy_view(stored: StoredPolicy) -> api::EscalationPolicy {
    api::EscalationPolicy {
        id: stored.id,
        name: stored.name,
        repeat: stored.policy.repeat(),
        levels: stored
            .policy
            .levels()
            .iter()
            .map(|level| api::EscalationLevel {
                timeout_minutes: level.timeout.as_secs() / 60,
                targets: level
                    .targets
                    .iter()
                    .map(|target| api::EscalationTarget { kind: target.kind().to_owned(), id: target.id() })
                    .collect(),
                wakes_management: level.wakes_management,
            })
            .collect(),
        management_from: stored.policy.management_from().into(),
        team_id: stored.team_id,
        created_at: stored.created_at,
    }
}

/// What would create `stored` again: its view, as a specification.
fn schedule_spec(stored: &StoredSchedule) -> api::CreateSchedule {
    let view = schedule_view(stored.clone());
    api::CreateSchedule {
        name: view.name,
        time_zone: view.time_zone,
        layers: view.layers,
        overrides: view.overrides,
        team: view.team_id.map(Ref::Id),
    }
}

/// What would create `stored` again: its view, as a specification.
fn policy_spec(stored: &StoredPolicy) -> api::CreateEscalationPolicy {
    let view = policy_view(stored.clone());
    api::CreateEscalationPolicy {
        name: view.name,
        repeat: view.repeat,
        levels: view.levels,
        management_from: Some(view.management_from),
        team: view.team_id.map(Ref::Id),
    }
}

/// The domain schedule of the API's specification of one, with every person given by id (for
/// simulations and imports that know the ids; the API resolves names first).
///
/// Fails with [`Error::Invalid`] for a person given by name, and for anything
/// [`App::create_schedule`] refuses.
pub fn schedule_of_spec(spec: &api::CreateSchedule) -> Result<domain::Schedule> {
    let time_zone = resolve::time_zone(&spec.time_zone)?;
    build_schedule(time_zone, &spec.layers, &spec.overrides, &|user| match user {
        Ref::Id(id) => Ok(*id),
        Ref::Name(name) => Err(Error::Invalid(format!("give user {name:?} by id"))),
    })
}

/// The domain schedule of `layers` and `overrides`, with `user_id` saying who each person is.
fn build_schedule(
    time_zone: jiff::tz::TimeZone,
    layers: &[api::Layer],
    overrides: &[api::Override],
    user_id: &dyn Fn(&Ref) -> Result<Id>,
) -> Result<domain::Schedule> {
    let layers = layers
        .iter()
        .map(|layer| {
            Ok(domain::Layer {
                start: layer.start,
                shift: domain::ShiftLength::parse(&layer.shift_length).map_err(Error::Invalid)?,
                users: layer.users.iter().map(user_id).collect::<Result<_>>()?,
                restrictions: layer
                    .restrictions
                    .iter()
                    .map(|r| {
                        domain::Restriction::parse(
                            &r.kind,
                            r.start_day.as_deref(),
                            &r.start_time,
                            r.end_day.as_deref(),
                            &r.end_time,
                        )
                        .map_err(Error::Invalid)
                    })
                    .collect::<Result<_>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let overrides = overrides
        .iter()
        .map(|cover| Ok(domain::Override { user: user_id(&cover.user)?, start: cover.start, end: cover.end }))
        .collect::<Result<_>>()?;
    domain::Schedule::new(time_zone, layers, overrides).map_err(Error::Invalid)
}

/// The engine's policy for the API's specification of one, or why it is not valid (without
/// checking that its targets exist, which [`App::create_policy`] does).
///
/// Fails with [`Error::Invalid`] naming the first bad level or target.
pub fn policy_of_spec(body: &api::CreateEscalationPolicy) -> Result<engine::Policy> {
    let levels = body
        .levels
        .iter()
        .map(|level| {
            if !(1..=TIMEOUT_MINUTES_MAX).contains(&level.timeout_minutes) {
                return Err(Error::Invalid(format!(
                    "timeout_minutes must be between 1 and {TIMEOUT_MINUTES_MAX}"
                )));
            }
            let targets = level
                .targets
                .iter()
                .map(|target| match target.kind.as_str() {
                    "user" => Ok(engine::Target::User(target.id)),
                    "schedule" => Ok(engine::Target::Schedule(target.id)),
                    "team" => Ok(engine::Target::Team(target.id)),
                    other => Err(unknown_target(other)),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(engine::Level {
                timeout: jiff::SignedDuration::from_mins(level.timeout_minutes),
                targets,
                wakes_management: level.wakes_management,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let policy = engine::Policy::parse(levels, body.repeat).map_err(Error::Invalid)?;
    Ok(match body.management_from {
        Some(severity) => policy.with_management_from(severity.into()),
        None => policy,
    })
}

fn unknown_target(kind: &str) -> Error {
    Error::Invalid(format!("unknown target type {kind:?}; expected user, schedule or team"))
}
