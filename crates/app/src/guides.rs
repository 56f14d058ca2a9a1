//! The severity guide: each team's guide (its own, or the built-in one), and assessing an incident
//! with it: the answers and what they make of the incident go on its timeline, set its severity,
//! and wake whoever the guide says must be woken, through the escalation (the next level now,
//! the incident commander, the policy's levels that wake management).

use std::collections::BTreeMap;

use firebreak_api::{self as api, Ref};
use firebreak_domain::{Action, Command, Id, Scope, SeverityGuide, Wake};

use crate::access::Audit;
use crate::incidents::PageTarget;
use crate::resolve;
use crate::{App, Error, Principal, Result};

/// What a guide in force is called when a team has none of its own.
pub const BUILT_IN: &str = "built-in";

impl App {
    /// The guide in force for `team` (id or name): its own, or the built-in one, with which.
    pub async fn severity_guide(&self, team: &Ref) -> Result<(SeverityGuide, String)> {
        let team_id = resolve::team_id(self.store(), team).await?;
        self.guide_of_team(team_id).await
    }

    async fn guide_of_team(&self, team_id: Id) -> Result<(SeverityGuide, String)> {
        let Some(document) = self.store().severity_guide(team_id).await? else {
            return Ok((SeverityGuide::built_in(), BUILT_IN.to_owned()));
        };
        let team = self.store().team(team_id).await?;
        let guide: api::SeverityGuide = serde_json::from_str(&document).map_err(|err| {
            Error::Internal(format!("team {team_id}'s severity guide is unreadable: {err}"))
        })?;
        let guide = guide
            .to_domain()
            .map_err(|err| Error::Internal(format!("team {team_id}'s severity guide is invalid: {err}")))?;
        Ok((guide, team.name))
    }

    /// Makes `guide` team `team`'s own, on behalf of `who`, an owner of the team. Fails with
    /// [`Error::Invalid`] naming the first question or rule that is wrong.
    pub async fn put_severity_guide(
        &self,
        who: &Principal,
        team: &Ref,
        mut guide: api::SeverityGuide,
    ) -> Result<(SeverityGuide, String)> {
        let team_id = resolve::team_id(self.store(), team).await?;
        self.authorize(who, Action::Configure, Scope::Team(team_id)).await?;
        let checked = guide.to_domain().map_err(Error::Invalid)?;
        guide.source = None;
        let document = serde_json::to_string(&guide).map_err(|err| Error::Internal(err.to_string()))?;
        let mut tx = self.store().begin().await?;
        tx.put_severity_guide(team_id, &document, who.name(), self.now()).await?;
        let audit = Audit::new("severity_guide.put", format!("team:{team_id}")).after(&guide);
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok((checked, self.store().team(team_id).await?.name))
    }

    /// Forgets team `team`'s own guide, on behalf of `who`, an owner of the team: the built-in one
    /// is in force again.
    pub async fn delete_severity_guide(&self, who: &Principal, team: &Ref) -> Result<()> {
        let team_id = resolve::team_id(self.store(), team).await?;
        self.authorize(who, Action::Configure, Scope::Team(team_id)).await?;
        let mut tx = self.store().begin().await?;
        if !tx.delete_severity_guide(team_id).await? {
            return Err(Error::NotFound(format!("team {team} has no severity guide of its own")));
        }
        self.audit_in(&mut tx, who, Audit::new("severity_guide.delete", format!("team:{team_id}"))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Assesses incident `id` with its team's guide on behalf of `who`, a responder: records the
    /// answers and the result on the timeline, sets the severity, and wakes whoever the result
    /// says. Someone who cannot be woken (no next level, no commander assigned) is said in the
    /// reasons rather than failing the assessment.
    pub async fn assess(
        &self,
        who: &Principal,
        id: Id,
        answers: BTreeMap<String, String>,
    ) -> Result<api::Assessment> {
        self.authorize(who, Action::Respond, self.incident_scope(id).await?).await?;
        let incident = self.store().incident(id).await?;
        let team_id = self.store().service(incident.service_id).await?.team_id;
        let (guide, source) = self.guide_of_team(team_id).await?;
        guide.check_answers(&answers).map_err(Error::Invalid)?;
        let assessment = guide.assess(&answers);
        let now = self.now();
        let answered: Vec<String> =
            answers.iter().map(|(question, answer)| format!("{question}: {answer}")).collect();
        let woken: Vec<&str> = assessment.wake.iter().map(|wake| wake.as_str()).collect();
        let note = format!(
            "Assessed with the {source} severity guide ({}): {}{}",
            answered.join(", "),
            assessment.reasons.join("; "),
            if woken.is_empty() { String::new() } else { format!("; wakes {}", woken.join(", ")) }
        );
        let mut tx = self.store().begin().await?;
        if incident.severity != assessment.severity {
            tx.update_incident(id, &Command::SetSeverity(assessment.severity), who.name(), now).await?;
        }
        tx.update_incident(id, &Command::AddNote(note), who.name(), now).await?;
        let audit = Audit::new("incident.assess", format!("incident:{id}"))
            .after(serde_json::json!({"answers": answers, "severity": assessment.severity.to_string()}));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;

        let mut reasons = assessment.reasons.clone();
        for wake in &assessment.wake {
            if let Err(err) = self.wake(who, id, *wake).await {
                reasons.push(format!("could not wake {}: {err}", wake.as_str()));
            }
        }
        let mut answer = api::Assessment::from(assessment);
        answer.reasons = reasons;
        Ok(answer)
    }

    /// Wakes whom `wake` names for incident `id`.
    async fn wake(&self, who: &Principal, id: Id, wake: Wake) -> Result<()> {
        match wake {
            Wake::NextLevel => self.escalate_now(who, id).await.map(drop),
            Wake::IncidentCommander => {
                let incident = self.store().incident(id).await?;
                let Some(commander) = incident.commander_id else {
                    return Err(Error::Conflict("no incident commander is assigned".to_owned()));
                };
                self.page_by_hand(who, id, PageTarget::User(Ref::Id(commander))).await.map(drop)
            }
            Wake::Management => {
                let incident = self.store().incident(id).await?;
                let Some(policy_id) = self.store().service_escalation_policy(incident.service_id).await?
                else {
                    return Err(Error::Conflict("the service has no escalation policy".to_owned()));
                };
                let policy = self.store().escalation_policy(policy_id).await?.policy;
                let levels: Vec<usize> = policy
                    .levels()
                    .iter()
                    .enumerate()
                    .filter(|(_, level)| level.wakes_management)
                    .map(|(index, _)| index + 1)
                    .collect();
                if levels.is_empty() {
                    return Err(Error::Conflict(
                        "no level of the escalation policy wakes management".to_owned(),
                    ));
                }
                for level in levels {
                    self.page_by_hand(who, id, PageTarget::PolicyLevel(level)).await?;
                }
                Ok(())
            }
        }
    }
}
