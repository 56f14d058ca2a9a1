//! Incidents: declaring them, moving them through their lifecycle, and reading them with their
//! timelines.
//!
//! Every change of an incident goes through [`firebreak_domain::Incident::apply`] inside one
//! transaction with its timeline entry; the store announces changes of status, which wakes the
//! escalation driver.

use firebreak_api::{self as api, IncidentQuery, Ref};
use firebreak_domain::{self as domain, Action, AssignRole, Command, Id, Incident, Severity, TimelineEntry};
use firebreak_store::{INCIDENT_PAGE_MAX, IncidentFilter};

use crate::access::Audit;
use crate::{App, Error, Principal, Result, resolve};

/// Page size of the incident list when none is asked for.
pub const INCIDENT_PAGE_DEFAULT: u32 = 50;

/// An incident with its timeline, oldest entry first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub timeline: Vec<TimelineEntry>,
}

/// One page of the incident list, and the cursor of the next page when there may be one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub next_cursor: Option<String>,
}

impl App {
    /// Declares an incident of a service; its escalation starts at once.
    ///
    /// Fails with [`Error::NotFound`] for an unknown service and [`Error::Invalid`] for a bad title.
    pub async fn declare_incident(
        &self,
        who: &Principal,
        body: api::DeclareIncident,
    ) -> Result<IncidentDetail> {
        let service_id = resolve::service_id(self.store(), &body.service).await?;
        self.authorize(who, Action::Respond, self.service_scope(service_id).await?).await?;
        let new = domain::NewIncident {
            title: domain::validate_title(&body.title).map_err(Error::Invalid)?.to_owned(),
            service_id,
            severity: body.severity.unwrap_or(api::Severity::Sev3).into(),
            kind: body.kind.unwrap_or(api::Kind::Unknown).into(),
        };
        let mut tx = self.store().begin().await?;
        let incident = tx.create_incident(&new, who.name(), self.now()).await?;
        let audit = Audit::new("incident.declare", format!("incident:{}", incident.id))
            .after(api::Incident::from(incident.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.detail_of(incident).await
    }

    /// The incidents `query` asks for, newest first, one page at a time.
    ///
    /// Fails with [`Error::BadRequest`] for a malformed filter or cursor and [`Error::NotFound`]
    /// for an unknown service or team.
    pub async fn incidents(&self, query: &IncidentQuery) -> Result<IncidentPage> {
        let limit = query.limit.unwrap_or(INCIDENT_PAGE_DEFAULT);
        if limit == 0 || limit > INCIDENT_PAGE_MAX {
            return Err(Error::BadRequest(format!("limit must be between 1 and {INCIDENT_PAGE_MAX}")));
        }
        let mut filter = IncidentFilter { limit, ..Default::default() };
        if let Some(statuses) = &query.status {
            for status in resolve::split(statuses) {
                if status.eq_ignore_ascii_case("all") {
                    filter.statuses.extend(domain::Status::ALL);
                } else if status.eq_ignore_ascii_case("open") {
                    filter.statuses.extend([
                        domain::Status::Triggered,
                        domain::Status::Acknowledged,
                        domain::Status::Mitigated,
                    ]);
                } else {
                    filter.statuses.push(domain::Status::parse(status).map_err(Error::BadRequest)?);
                }
            }
        }
        if let Some(severities) = &query.severity {
            filter.severities = resolve::split(severities)
                .map(Severity::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(Error::BadRequest)?;
        }
        if let Some(kinds) = &query.kind {
            filter.kinds = resolve::split(kinds)
                .map(domain::Kind::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(Error::BadRequest)?;
        }
        if let Some(service) = &query.service {
            filter.service_id = Some(resolve::service_id(self.store(), &Ref::parse(service)).await?);
        }
        if let Some(team) = &query.team {
            filter.team_id = Some(resolve::team_id(self.store(), &Ref::parse(team)).await?);
        }
        filter.since = query.since.as_deref().map(|s| resolve::instant("since", s)).transpose()?;
        filter.until = query.until.as_deref().map(|s| resolve::instant("until", s)).transpose()?;
        if let Some(cursor) = &query.cursor {
            let id = cursor.parse::<Id>().map_err(|_| {
                Error::BadRequest(format!(
                    "invalid cursor {cursor:?}; pass next_cursor from the previous page"
                ))
            })?;
            filter.before_id = Some(id);
        }
        let incidents = self.store().list_incidents(&filter).await?;
        let next_cursor =
            if incidents.len() == limit as usize { incidents.last().map(|i| i.id.to_string()) } else { None };
        Ok(IncidentPage { incidents, next_cursor })
    }

    /// Fails with [`Error::NotFound`] when there is no incident `id`.
    pub async fn incident(&self, id: Id) -> Result<IncidentDetail> {
        let incident = self.store().incident(id).await?;
        self.detail_of(incident).await
    }

    /// Applies `command` to incident `id` on behalf of `who`.
    ///
    /// Fails with [`Error::NotFound`] for an unknown incident (or user to assign) and
    /// [`Error::Refused`] when the incident's status does not allow the command.
    pub async fn act(&self, who: &Principal, id: Id, command: Command) -> Result<IncidentDetail> {
        self.authorize(who, Action::Respond, self.incident_scope(id).await?).await?;
        let mut tx = self.store().begin().await?;
        let (incident, _) = tx.update_incident(id, &command, who.name(), self.now()).await?;
        let audit = Audit::new(command_action(&command), format!("incident:{id}"))
            .after(serde_json::json!({ "status": incident.status.to_string() }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.detail_of(incident).await
    }

    /// Pages incident `id`'s next escalation level at once instead of waiting for the current
    /// level's timeout.
    ///
    /// Fails with [`Error::NotFound`] for an unknown incident and [`Error::Conflict`] when it is not
    /// being paged: not triggered, its service has no escalation policy, or every level was paged.
    pub async fn escalate_now(&self, who: &Principal, id: Id) -> Result<IncidentDetail> {
        self.authorize(who, Action::Respond, self.incident_scope(id).await?).await?;
        let incident = self.store().incident(id).await?;
        if incident.status != domain::Status::Triggered {
            return Err(Error::Conflict(format!(
                "incident {id} is {}: only a triggered incident escalates",
                incident.status
            )));
        }
        let mut tx = self.store().begin().await?;
        let escalated = tx.escalate_now(id, who.name(), self.now()).await?;
        self.audit_in(&mut tx, who, Audit::new("incident.escalate", format!("incident:{id}"))).await?;
        tx.commit().await?;
        if escalated.is_none() {
            return Err(Error::Conflict(format!(
                "incident {id} is not being paged: its service has no escalation policy, or every level was paged"
            )));
        }
        self.detail_of(self.store().incident(id).await?).await
    }

    /// Makes `user` the assignee of incident `id` and, while it is triggered, pages them at once on
    /// every contact method (a direct page, outside the escalation policy, shown as level 0); the
    /// escalation goes on as before until someone acknowledges.
    ///
    /// Fails with [`Error::NotFound`] for an unknown user, and as [`App::act`] (the user is the
    /// assignee already, or the incident is unknown).
    pub async fn reassign(&self, who: &Principal, id: Id, user: &Ref) -> Result<IncidentDetail> {
        let user_id = resolve::user_id(self.store(), user).await?;
        let detail =
            self.act(who, id, Command::Assign { role: AssignRole::Assignee, user_id: Some(user_id) }).await?;
        if detail.incident.status == domain::Status::Triggered {
            let now = self.now();
            let page_key = format!("direct.{id}.{user_id}.{}", now.as_millisecond());
            let mut tx = self.store().begin().await?;
            tx.page_directly(id, user_id, &page_key, now).await?;
            tx.commit().await?;
        }
        Ok(detail)
    }

    /// Keeps acknowledged incident `id` acknowledged for `minutes`, then triggers it again.
    ///
    /// Fails with [`Error::Invalid`] for minutes out of 1 to 1440, and as [`App::act`] (an incident
    /// that is not acknowledged is refused).
    pub async fn snooze(&self, who: &Principal, id: Id, minutes: i64) -> Result<IncidentDetail> {
        if !(1..=domain::SNOOZE_MINUTES_MAX).contains(&minutes) {
            return Err(Error::Invalid(format!(
                "minutes must be between 1 and {}",
                domain::SNOOZE_MINUTES_MAX
            )));
        }
        let now = self.now();
        let until = now.saturating_add(jiff::SignedDuration::from_mins(minutes)).unwrap_or(now);
        self.act(who, id, Command::Snooze { until }).await
    }

    /// Adds a note to incident `id`'s timeline.
    ///
    /// Fails with [`Error::Invalid`] for an empty or overlong note, and as [`App::act`].
    pub async fn add_note(&self, who: &Principal, id: Id, text: &str) -> Result<IncidentDetail> {
        let text = domain::validate_note(text).map_err(Error::Invalid)?.to_owned();
        self.act(who, id, Command::AddNote(text)).await
    }

    /// Assigns incident `id`, or its command, to a user (or, with `None`, to no one).
    ///
    /// Fails with [`Error::NotFound`] for an unknown user, and as [`App::act`].
    pub async fn assign(
        &self,
        who: &Principal,
        id: Id,
        role: AssignRole,
        user: Option<&Ref>,
    ) -> Result<IncidentDetail> {
        let user_id = match user {
            Some(user) => Some(resolve::user_id(self.store(), user).await?),
            None => None,
        };
        self.act(who, id, Command::Assign { role, user_id }).await
    }

    /// How many incidents there are in each status, for metrics.
    pub async fn incident_counts(&self) -> Result<Vec<(domain::Status, i64)>> {
        Ok(self.store().incident_counts().await?)
    }

    pub(crate) async fn detail_of(&self, incident: Incident) -> Result<IncidentDetail> {
        let timeline = self.store().timeline(incident.id).await?;
        Ok(IncidentDetail { incident, timeline })
    }
}

/// The audit log's name of what `command` does to an incident.
fn command_action(command: &Command) -> &'static str {
    match command {
        Command::Acknowledge => "incident.acknowledge",
        Command::Mitigate => "incident.mitigate",
        Command::Resolve => "incident.resolve",
        Command::Retrigger => "incident.retrigger",
        Command::SetSeverity(_) => "incident.set_severity",
        Command::AddNote(_) => "incident.note",
        Command::Assign { .. } => "incident.assign",
        Command::Snooze { .. } => "incident.snooze",
        Command::EndSnooze => "incident.end_snooze",
    }
}

/// Whom to page by hand about an incident.
#[derive(Clone, Debug)]
pub enum PageTarget {
    User(Ref),
    /// Whoever is on call in the schedule now.
    Schedule(Id),
    /// Everyone a level (from 1) of the incident's escalation policy pages now.
    PolicyLevel(usize),
}

impl App {
    /// Pages `target` about incident `id` now, on every contact method of each person, outside the
    /// escalation (level 0 on the timeline); for responders of the incident's team. A level that
    /// wakes management is paged by hand only for incidents as severe as its policy says
    /// (`management_from`, SEV2 by default) or worse.
    ///
    /// Fails with [`Error::Forbidden`] for anyone else, [`Error::NotFound`] for an unknown
    /// incident, user, schedule or level, and [`Error::Conflict`] when nobody is reached (a
    /// schedule with nobody on call) or the incident is resolved.
    pub async fn page_by_hand(&self, who: &Principal, id: Id, target: PageTarget) -> Result<IncidentDetail> {
        self.authorize(who, Action::Page, self.incident_scope(id).await?).await?;
        let incident = self.store().incident(id).await?;
        if incident.status == domain::Status::Resolved {
            return Err(Error::Conflict(format!(
                "incident {id} is resolved: reopen it before paging anyone"
            )));
        }
        let now = self.now();
        let (people, what): (Vec<Id>, String) = match &target {
            PageTarget::User(user) => {
                let user = resolve::user_id(self.store(), user).await?;
                (vec![user], format!("user {user}"))
            }
            PageTarget::Schedule(schedule) => {
                let stored = self.store().schedule(*schedule).await?;
                let on_call = stored.schedule.on_call(now).into_iter().collect();
                (on_call, format!("schedule {}", stored.name))
            }
            PageTarget::PolicyLevel(number) => {
                let Some(policy_id) = self.store().service_escalation_policy(incident.service_id).await?
                else {
                    return Err(Error::NotFound(format!("incident {id}'s service has no escalation policy")));
                };
                let stored = self.store().escalation_policy(policy_id).await?;
                let Some(level) = number.checked_sub(1).and_then(|index| stored.policy.levels().get(index))
                else {
                    return Err(Error::NotFound(format!(
                        "escalation policy {} has levels 1 to {}",
                        stored.name,
                        stored.policy.levels().len()
                    )));
                };
                if level.wakes_management && !stored.policy.may_wake_management(incident.severity) {
                    return Err(Error::Forbidden(format!(
                        "level {number} of escalation policy {} wakes management, which it lets be paged by hand \
                         only for incidents of {} or worse; this one is {}",
                        stored.name,
                        stored.policy.management_from(),
                        incident.severity
                    )));
                }
                let mut people = Vec::new();
                for target in &level.targets {
                    match target {
                        firebreak_engine::Target::User(user) => people.push(*user),
                        firebreak_engine::Target::Schedule(schedule) => {
                            people.extend(self.store().schedule(*schedule).await?.schedule.on_call(now));
                        }
                        firebreak_engine::Target::Team(team) => {
                            people
                                .extend(self.store().team_members(*team).await?.1.into_iter().map(|u| u.id));
                        }
                    }
                }
                people.sort_unstable();
                people.dedup();
                (people, format!("level {number} of escalation policy {}", stored.name))
            }
        };
        if people.is_empty() {
            return Err(Error::Conflict(format!("{what} reaches nobody now")));
        }
        let mut names = Vec::new();
        for person in &people {
            names.push(self.store().user(*person).await?.name);
        }
        let note = format!("Paged {} by hand ({what})", names.join(", "));
        let mut tx = self.store().begin().await?;
        for person in &people {
            let page_key = format!("hand.{id}.{person}.{}", now.as_millisecond());
            tx.page_directly(id, *person, &page_key, now).await?;
        }
        let (incident, _) = tx.update_incident(id, &Command::AddNote(note), who.name(), now).await?;
        let audit = Audit::new("incident.page", format!("incident:{id}"))
            .after(serde_json::json!({ "people": people }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.detail_of(incident).await
    }
}
