//! The catalog: teams and their members, users, and services with how they treat alerts and
//! whom they page.
//!
//! Deleting a team, user or service keeps the history that names it (the store marks the row
//! deleted and renames it) and is refused, naming them, while other things still use it.
//!
//! Each change is validated completely (every field, every reference) before its transaction
//! begins, and written in one transaction: a service's name, settings and escalation policy change
//! together or not at all.

use firebreak_api::{self as api, Ref};
use firebreak_domain::{self as domain, Action, AlertSettings, Id, Role, Scope, Service, Team, User};
use firebreak_engine as engine;
use firebreak_store::{NewService, NewTeam, NewUser, ServicePatch, TeamPatch, UserPatch};

use crate::access::Audit;
use crate::resolve::{self, DESCRIPTION_CHARS_MAX, LIST_ITEMS_MAX, MARKDOWN_CHARS_MAX};
use crate::{App, Error, Principal, Result};

/// Longest group window, in minutes: a year.
const GROUP_WINDOW_MINUTES_MAX: i64 = 525_600;

/// A service with how it turns alerts into incidents and which escalation policy it follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceDetail {
    pub service: Service,
    pub settings: AlertSettings,
    pub escalation_policy_id: Option<Id>,
}

impl App {
    /// Creates a team; for administrators.
    ///
    /// Fails with [`Error::Invalid`] for a bad field and [`Error::Conflict`] when the name is taken.
    pub async fn create_team(&self, who: &Principal, body: api::CreateTeam) -> Result<Team> {
        self.authorize(who, Action::Administer, Scope::Installation).await?;
        let team = NewTeam {
            name: resolve::name(&body.name)?,
            description: resolve::text("description", &body.description, DESCRIPTION_CHARS_MAX)?,
        };
        let mut tx = self.store().begin().await?;
        let team = tx.create_team(&team, self.now()).await?;
        let audit =
            Audit::new("team.create", format!("team:{}", team.id)).after(api::Team::from(team.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(team)
    }

    /// Every team, by name.
    pub async fn teams(&self) -> Result<Vec<Team>> {
        Ok(self.store().teams().await?)
    }

    /// Fails with [`Error::NotFound`] when no team has this id or name.
    pub async fn team(&self, team: &Ref) -> Result<Team> {
        let id = resolve::team_id(self.store(), team).await?;
        Ok(self.store().team(id).await?)
    }

    /// Fails with [`Error::NotFound`], [`Error::Invalid`] or [`Error::Conflict`] (name taken).
    pub async fn update_team(&self, who: &Principal, team: &Ref, body: api::UpdateTeam) -> Result<Team> {
        let id = resolve::team_id(self.store(), team).await?;
        self.authorize(who, Action::Configure, Scope::Team(id)).await?;
        let before = self.store().team(id).await?;
        let patch = TeamPatch {
            name: body.name.as_deref().map(resolve::name).transpose()?,
            description: body
                .description
                .as_deref()
                .map(|d| resolve::text("description", d, DESCRIPTION_CHARS_MAX))
                .transpose()?,
        };
        let mut tx = self.store().begin().await?;
        let team = tx.update_team(id, &patch).await?;
        let audit = Audit::new("team.update", format!("team:{id}"))
            .before(api::Team::from(before))
            .after(api::Team::from(team.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(team)
    }

    /// The members of a team, by name.
    pub async fn team_members(&self, team: &Ref) -> Result<Vec<User>> {
        let id = resolve::team_id(self.store(), team).await?;
        Ok(self.store().team_members(id).await?.1)
    }

    /// The members of a team with their roles, by name.
    pub async fn team_roles(&self, team: &Ref) -> Result<Vec<(User, Role)>> {
        let id = resolve::team_id(self.store(), team).await?;
        let roles: std::collections::HashMap<Id, Role> = self
            .store()
            .member_roles(id)
            .await?
            .into_iter()
            .filter_map(|(user, role)| Some((user, Role::parse(&role)?)))
            .collect();
        let members = self.store().team_members(id).await?.1;
        Ok(members
            .into_iter()
            .map(|user| {
                let role = roles.get(&user.id).copied().unwrap_or(Role::Responder);
                (user, role)
            })
            .collect())
    }

    /// Makes user `user_id` a member of a team with `role` (a member again: their role changes)
    /// and returns the user; for the team's owners.
    pub async fn add_team_member(
        &self,
        who: &Principal,
        team: &Ref,
        user_id: Id,
        role: Role,
    ) -> Result<User> {
        let id = resolve::team_id(self.store(), team).await?;
        self.authorize(who, Action::Configure, Scope::Team(id)).await?;
        let mut tx = self.store().begin().await?;
        tx.add_team_member(id, user_id, role.as_str(), self.now()).await?;
        let audit = Audit::new("team.add_member", format!("team:{id}"))
            .after(serde_json::json!({ "user_id": user_id, "role": role.as_str() }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.inner.tokens.forget();
        Ok(self.store().user(user_id).await?)
    }

    /// Fails with [`Error::NotFound`] when the user is not a member of the team.
    pub async fn remove_team_member(&self, who: &Principal, team: &Ref, user: &Ref) -> Result<()> {
        let team = resolve::team_id(self.store(), team).await?;
        self.authorize(who, Action::Configure, Scope::Team(team)).await?;
        let user = resolve::user_id(self.store(), user).await?;
        let mut tx = self.store().begin().await?;
        tx.remove_team_member(team, user).await?;
        let audit = Audit::new("team.remove_member", format!("team:{team}"))
            .before(serde_json::json!({ "user_id": user }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.inner.tokens.forget();
        Ok(())
    }

    /// Creates a user; for administrators.
    ///
    /// Fails with [`Error::Invalid`] for a bad field and [`Error::Conflict`] when the name or the
    /// email is taken.
    pub async fn create_user(&self, who: &Principal, body: api::CreateUser) -> Result<User> {
        self.authorize(who, Action::Administer, Scope::Installation).await?;
        let time_zone = body.time_zone.as_deref().unwrap_or("UTC");
        resolve::time_zone(time_zone)?;
        let user = NewUser {
            name: resolve::name(&body.name)?,
            email: resolve::email(&body.email)?,
            time_zone: time_zone.to_owned(),
        };
        let mut tx = self.store().begin().await?;
        let user = tx.create_user(&user, self.now()).await?;
        let audit =
            Audit::new("user.create", format!("user:{}", user.id)).after(api::User::from(user.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        Ok(self.store().users().await?)
    }

    /// Fails with [`Error::NotFound`] when no user has this id or name.
    pub async fn user(&self, user: &Ref) -> Result<User> {
        let id = resolve::user_id(self.store(), user).await?;
        Ok(self.store().user(id).await?)
    }

    /// Fails with [`Error::NotFound`], [`Error::Invalid`] or [`Error::Conflict`] (name or email
    /// taken).
    pub async fn update_user(&self, who: &Principal, user: &Ref, body: api::UpdateUser) -> Result<User> {
        let id = resolve::user_id(self.store(), user).await?;
        self.authorize(who, Action::Configure, Scope::Person(id)).await?;
        let before = self.store().user(id).await?;
        if let Some(time_zone) = &body.time_zone {
            resolve::time_zone(time_zone)?;
        }
        let patch = UserPatch {
            name: body.name.as_deref().map(resolve::name).transpose()?,
            email: body.email.as_deref().map(resolve::email).transpose()?,
            time_zone: body.time_zone,
        };
        let mut tx = self.store().begin().await?;
        let user = tx.update_user(id, &patch).await?;
        let audit = Audit::new("user.update", format!("user:{id}"))
            .before(api::User::from(before))
            .after(api::User::from(user.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Creates a service and returns it with its integration key, which is not shown again.
    ///
    /// Fails with [`Error::NotFound`] for an unknown team or dependency, [`Error::Invalid`] for a
    /// bad field and [`Error::Conflict`] when the name is taken.
    pub async fn create_service(
        &self,
        who: &Principal,
        body: api::CreateService,
    ) -> Result<(ServiceDetail, String)> {
        let team_id = resolve::team_id(self.store(), &body.team).await?;
        self.authorize(who, Action::Configure, Scope::Team(team_id)).await?;
        let service = NewService {
            name: resolve::name(&body.name)?,
            team_id,
            description: resolve::text("description", &body.description, DESCRIPTION_CHARS_MAX)?,
            documentation: resolve::text("documentation", &body.documentation, MARKDOWN_CHARS_MAX)?,
            runbook: resolve::text("runbook", &body.runbook, MARKDOWN_CHARS_MAX)?,
            links: resolve::links(body.links)?,
            dependencies: resolve::dependency_ids(self.store(), &body.dependencies).await?,
        };
        let mut tx = self.store().begin().await?;
        let (service, key) = tx.create_service(&service, self.now()).await?;
        let audit = Audit::new("service.create", format!("service:{}", service.id))
            .after(api::Service::from(service.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok((self.service_detail(service).await?, key))
    }

    /// Every service, by name, with its settings.
    pub async fn services(&self) -> Result<Vec<ServiceDetail>> {
        let services = self.store().services().await?;
        let mut settings = self.store().services_settings().await?;
        let mut details = Vec::with_capacity(services.len());
        for service in services {
            details.push(match settings.remove(&service.id) {
                Some((settings, escalation_policy_id)) => {
                    ServiceDetail { service, settings, escalation_policy_id }
                }
                // Created between the two reads.
                None => self.service_detail(service).await?,
            });
        }
        Ok(details)
    }

    /// Fails with [`Error::NotFound`] when no service has this id or name.
    pub async fn service(&self, service: &Ref) -> Result<ServiceDetail> {
        let id = resolve::service_id(self.store(), service).await?;
        let service = self.store().service(id).await?;
        self.service_detail(service).await
    }

    /// Gives a service a new integration key, shown this once; the old key stops working (here at
    /// once, on other replicas within 30 s).
    ///
    /// Fails with [`Error::NotFound`] for an unknown service.
    pub async fn rotate_integration_key(&self, who: &Principal, service: &Ref) -> Result<(Id, String)> {
        let id = resolve::service_id(self.store(), service).await?;
        self.authorize(who, Action::Configure, self.service_scope(id).await?).await?;
        let mut tx = self.store().begin().await?;
        let key = tx.rotate_integration_key(id).await?;
        self.audit_in(&mut tx, who, Audit::new("service.rotate_key", format!("service:{id}"))).await?;
        tx.commit().await?;
        self.inner.ingestor.forget_keys_of(id);
        Ok((id, key))
    }

    /// Changes a service: its catalog fields, how it groups alerts, and its escalation policy, all
    /// in one transaction.
    ///
    /// Fails with [`Error::NotFound`] for an unknown service, team, dependency or policy,
    /// [`Error::Invalid`] for a bad field and [`Error::Conflict`] when the new name is taken or the
    /// service would depend on itself; then nothing has changed.
    pub async fn update_service(
        &self,
        who: &Principal,
        service: &Ref,
        body: api::UpdateService,
    ) -> Result<ServiceDetail> {
        let id = resolve::service_id(self.store(), service).await?;
        let before = self.store().service(id).await?;
        self.authorize(who, Action::Configure, Scope::Team(before.team_id)).await?;
        let patch = ServicePatch {
            name: body.name.as_deref().map(resolve::name).transpose()?,
            team_id: match &body.team {
                // Moving a service takes owning both teams.
                Some(team) => {
                    let team = resolve::team_id(self.store(), team).await?;
                    self.authorize(who, Action::Configure, Scope::Team(team)).await?;
                    Some(team)
                }
                None => None,
            },
            description: body
                .description
                .as_deref()
                .map(|d| resolve::text("description", d, DESCRIPTION_CHARS_MAX))
                .transpose()?,
            documentation: body
                .documentation
                .as_deref()
                .map(|d| resolve::text("documentation", d, MARKDOWN_CHARS_MAX))
                .transpose()?,
            runbook: body
                .runbook
                .as_deref()
                .map(|d| resolve::text("runbook", d, MARKDOWN_CHARS_MAX))
                .transpose()?,
            links: body.links.map(resolve::links).transpose()?,
            dependencies: match &body.dependencies {
                Some(refs) => Some(resolve::dependency_ids(self.store(), refs).await?),
                None => None,
            },
        };
        let settings_change =
            body.group_by.is_some() || body.group_window_minutes.is_some() || body.auto_resolve.is_some();
        let mut settings = self.store().alert_settings(id).await?;
        if let Some(labels) = body.group_by {
            if labels.len() > LIST_ITEMS_MAX
                || labels.iter().any(|l| l.is_empty() || l.len() > domain::LABEL_CHARS_MAX)
            {
                return Err(Error::Invalid(format!(
                    "group_by takes at most {LIST_ITEMS_MAX} label names, each 1 to {} characters",
                    domain::LABEL_CHARS_MAX
                )));
            }
            settings.grouping.by = labels.into_iter().map(domain::GroupBy::Label).collect();
        }
        if let Some(minutes) = body.group_window_minutes {
            if !(0..=GROUP_WINDOW_MINUTES_MAX).contains(&minutes) {
                return Err(Error::Invalid(format!(
                    "group_window_minutes must be between 0 (no window) and {GROUP_WINDOW_MINUTES_MAX}"
                )));
            }
            settings.grouping.window = (minutes > 0).then(|| jiff::SignedDuration::from_mins(minutes));
        }
        if let Some(auto_resolve) = body.auto_resolve {
            settings.auto_resolve = auto_resolve;
        }
        let mut tx = self.store().begin().await?;
        if let Some(policy) = body.escalation_policy {
            tx.set_service_escalation_policy(id, policy).await?;
        }
        let service = tx.update_service(id, &patch).await?;
        if settings_change {
            tx.set_alert_settings(id, &settings).await?;
        }
        let audit = Audit::new("service.update", format!("service:{id}"))
            .before(api::Service::from(before))
            .after(api::Service::from(service.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.service_detail(service).await
    }

    /// Deletes a team. Its memberships go; the incidents of its (deleted) services keep naming it.
    ///
    /// Fails with [`Error::NotFound`] for an unknown team and [`Error::Conflict`], naming them,
    /// while services belong to it or escalation policies page it.
    pub async fn delete_team(&self, who: &Principal, team: &Ref) -> Result<()> {
        self.authorize(who, Action::Administer, Scope::Installation).await?;
        let id = resolve::team_id(self.store(), team).await?;
        let before = self.store().team(id).await?;
        let name = before.name.clone();
        let policies = self.policies_naming(engine::Target::Team(id)).await?;
        let mut tx = self.store().begin().await?;
        let in_use = tx.team_in_use(id).await?;
        let mut uses = Vec::new();
        if !in_use.services.is_empty() {
            uses.push(format!("services {} belong to it", in_use.services.join(", ")));
        }
        if !policies.is_empty() {
            uses.push(format!("escalation policies {} page it", policies.join(", ")));
        }
        if !uses.is_empty() {
            return Err(Error::Conflict(format!(
                "team {name} is in use: {}; move or delete them first",
                uses.join("; ")
            )));
        }
        tx.delete_team(id, self.now()).await?;
        let audit = Audit::new("team.delete", format!("team:{id}")).before(api::Team::from(before));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.inner.tokens.forget();
        Ok(())
    }

    /// Deletes a user: their contact methods, notification rules, team memberships and calendar
    /// feed go; incidents and timelines keep their name, marked deleted.
    ///
    /// Fails with [`Error::NotFound`] for an unknown user and [`Error::Conflict`], naming them,
    /// while on-call schedules or escalation policies name the user.
    pub async fn delete_user(&self, who: &Principal, user: &Ref) -> Result<()> {
        self.authorize(who, Action::Administer, Scope::Installation).await?;
        let id = resolve::user_id(self.store(), user).await?;
        let before = self.store().user(id).await?;
        let name = before.name.clone();
        let schedules: Vec<String> = self
            .store()
            .schedules()
            .await?
            .into_iter()
            .filter(|stored| {
                let schedule = &stored.schedule;
                schedule.layers.iter().any(|layer| layer.users.contains(&id))
                    || schedule.overrides.iter().any(|o| o.user == id)
            })
            .map(|stored| format!("{} ({})", stored.name, stored.id))
            .collect();
        let policies = self.policies_naming(engine::Target::User(id)).await?;
        let mut uses = Vec::new();
        if !schedules.is_empty() {
            uses.push(format!("on-call schedules {} include them", schedules.join(", ")));
        }
        if !policies.is_empty() {
            uses.push(format!("escalation policies {} page them", policies.join(", ")));
        }
        if !uses.is_empty() {
            return Err(Error::Conflict(format!(
                "user {name} is in use: {}; take them out first, so that no page falls through",
                uses.join("; ")
            )));
        }
        let mut tx = self.store().begin().await?;
        tx.delete_user(id, self.now()).await?;
        tx.revoke_everything_of(id, self.now()).await?;
        let audit = Audit::new("user.delete", format!("user:{id}")).before(api::User::from(before));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.inner.tokens.forget();
        Ok(())
    }

    /// Deletes a service: its integration key stops working at once (on other replicas within
    /// 30 s), its golden signals are no longer watched, and its name is free again; its incidents,
    /// alerts and anomalies stay, for history.
    ///
    /// Fails with [`Error::NotFound`] for an unknown service and [`Error::Conflict`], naming them,
    /// while other services depend on it or its incidents are not all resolved.
    pub async fn delete_service(&self, who: &Principal, service: &Ref) -> Result<()> {
        let id = resolve::service_id(self.store(), service).await?;
        let before = self.store().service(id).await?;
        self.authorize(who, Action::Configure, Scope::Team(before.team_id)).await?;
        let name = before.name.clone();
        let mut tx = self.store().begin().await?;
        let in_use = tx.service_in_use(id).await?;
        if !in_use.is_empty() {
            let mut uses = Vec::new();
            if !in_use.services.is_empty() {
                uses.push(format!("services {} depend on it", in_use.services.join(", ")));
            }
            if !in_use.open_incidents.is_empty() {
                let numbers: Vec<String> = in_use.open_incidents.iter().map(|id| format!("#{id}")).collect();
                uses.push(format!("incidents {} are not resolved", numbers.join(", ")));
            }
            return Err(Error::Conflict(format!(
                "service {name} is in use: {}; resolve or change them first",
                uses.join("; ")
            )));
        }
        tx.delete_service(id, self.now()).await?;
        let audit = Audit::new("service.delete", format!("service:{id}")).before(api::Service::from(before));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.inner.ingestor.forget_keys_of(id);
        Ok(())
    }

    /// The escalation policies, as `name (id)`, that page `target` at some level.
    pub(crate) async fn policies_naming(&self, target: engine::Target) -> Result<Vec<String>> {
        Ok(self
            .store()
            .escalation_policies()
            .await?
            .into_iter()
            .filter(|policy| {
                policy.policy.levels().iter().flat_map(|level| &level.targets).any(|t| *t == target)
            })
            .map(|policy| format!("{} ({})", policy.name, policy.id))
            .collect())
    }

    async fn service_detail(&self, service: Service) -> Result<ServiceDetail> {
        let settings = self.store().alert_settings(service.id).await?;
        let escalation_policy_id = self.store().service_escalation_policy(service.id).await?;
        Ok(ServiceDetail { service, settings, escalation_policy_id })
    }
}
