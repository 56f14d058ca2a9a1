//! Silences (maintenance windows): Alertmanager's matchers over a time window, for one service or
//! all; a matching alert is stored but opens no incident and pages no one.

use firebreak_api as api;
use firebreak_domain::{Action, Id, Matcher, Scope, Silence};
use firebreak_store::NewSilence;

use crate::access::Audit;
use crate::resolve::{self, DESCRIPTION_CHARS_MAX, LIST_ITEMS_MAX};
use crate::{App, Error, Principal, Result};

/// Longest silence given by its duration, in minutes: a year.
const DURATION_MINUTES_MAX: i64 = 525_600;

impl App {
    /// Creates a silence on behalf of `who`: a responder of the service's team, or, for a silence of
    /// every service, an administrator.
    ///
    /// Fails with [`Error::Invalid`] for bad matchers or a window that does not end after it
    /// starts and after now, and [`Error::NotFound`] for an unknown service.
    pub async fn create_silence(&self, who: &Principal, body: api::CreateSilence) -> Result<Silence> {
        let scope = match &body.service {
            Some(service) => self.service_scope(resolve::service_id(self.store(), service).await?).await?,
            None => Scope::Installation,
        };
        self.authorize(who, Action::Respond, scope).await?;
        if body.matchers.is_empty() || body.matchers.len() > LIST_ITEMS_MAX {
            return Err(Error::Invalid(format!(
                "a silence needs 1 to {LIST_ITEMS_MAX} matchers, such as alertname=DiskFull"
            )));
        }
        let matchers = body
            .matchers
            .iter()
            .map(|m| Matcher::parse(m))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::Invalid)?;
        let now = self.now();
        let starts_at = body.starts_at.unwrap_or(now);
        let ends_at = match (body.ends_at, body.duration_minutes) {
            (Some(ends_at), None) => ends_at,
            (None, Some(minutes)) if (1..=DURATION_MINUTES_MAX).contains(&minutes) => {
                starts_at + jiff::SignedDuration::from_mins(minutes)
            }
            (None, Some(_)) => {
                return Err(Error::Invalid(format!(
                    "duration_minutes must be between 1 and {DURATION_MINUTES_MAX}"
                )));
            }
            _ => return Err(Error::Invalid("give exactly one of ends_at and duration_minutes".to_owned())),
        };
        if ends_at <= starts_at || ends_at <= now {
            return Err(Error::Invalid("a silence must end after it starts and after now".to_owned()));
        }
        let service_id = match &body.service {
            Some(service) => Some(resolve::service_id(self.store(), service).await?),
            None => None,
        };
        let silence = NewSilence {
            service_id,
            matchers,
            starts_at,
            ends_at,
            comment: resolve::text("comment", &body.comment, DESCRIPTION_CHARS_MAX)?,
        };
        let mut tx = self.store().begin().await?;
        let silence = tx.create_silence(&silence, who.name(), now).await?;
        let audit = Audit::new("silence.create", format!("silence:{}", silence.id))
            .after(api::Silence::from(silence.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(silence)
    }

    /// Silences that have not ended yet, soonest ending first.
    pub async fn silences(&self) -> Result<Vec<Silence>> {
        Ok(self.store().silences(self.now()).await?)
    }

    /// Fails with [`Error::NotFound`] when there is no silence `id`.
    pub async fn silence(&self, id: Id) -> Result<Silence> {
        Ok(self.store().silence(id).await?)
    }

    /// Ends silence `id` now.
    ///
    /// Fails with [`Error::NotFound`] for an unknown silence and [`Error::Conflict`] when it has
    /// ended already.
    pub async fn expire_silence(&self, who: &Principal, id: Id) -> Result<Silence> {
        let scope = match self.store().silence(id).await?.service_id {
            Some(service) => self.service_scope(service).await?,
            None => Scope::Installation,
        };
        self.authorize(who, Action::Respond, scope).await?;
        let mut tx = self.store().begin().await?;
        let silence = tx.expire_silence(id, self.now()).await?;
        self.audit_in(&mut tx, who, Audit::new("silence.expire", format!("silence:{id}"))).await?;
        tx.commit().await?;
        Ok(silence)
    }
}
