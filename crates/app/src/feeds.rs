//! Calendar feeds: a schedule's shifts, or one person's across every schedule, as iCalendar behind
//! a secret URL.
//!
//! Calendar applications subscribe to a URL and fetch it on their own schedule, with no way to
//! send a bearer token, so the secret travels in the URL itself: `/feeds/{token}.ics`. Making a
//! feed URL needs an API token; fetching one needs only the URL. An unknown URL opens nothing,
//! whatever it names, so a feed URL reveals nothing about which schedules or users exist.

mod ical;

use firebreak_api::Ref;
use firebreak_domain::{Id, Schedule, Shift};
use firebreak_store::{Feed, StoreError};
use jiff::Timestamp;

use crate::{App, Error, Result, resolve};

/// The media type of a feed.
pub const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

impl App {
    /// A new secret feed URL for schedule `id`; the previous one stops working.
    ///
    /// Fails with [`Error::NotFound`] when there is no schedule `id`.
    pub async fn create_schedule_feed(&self, who: &crate::Principal, id: Id) -> Result<String> {
        self.authorize(
            who,
            firebreak_domain::Action::ReadConfiguration,
            firebreak_domain::Scope::Installation,
        )
        .await?;
        let mut tx = self.store().begin().await?;
        let token = tx.set_schedule_feed_token(id).await?;
        self.audit_in(&mut tx, who, crate::access::Audit::new("feed.create", format!("schedule:{id}")))
            .await?;
        tx.commit().await?;
        Ok(self.feed_url(&token))
    }

    /// A new secret feed URL for one user's shifts on every schedule; the previous one stops
    /// working.
    ///
    /// Fails with [`Error::NotFound`] when no user has this id or name.
    pub async fn create_user_feed(&self, who: &crate::Principal, user: &Ref) -> Result<String> {
        let id = resolve::user_id(self.store(), user).await?;
        self.authorize(who, firebreak_domain::Action::Configure, firebreak_domain::Scope::Person(id)).await?;
        let mut tx = self.store().begin().await?;
        let token = tx.set_user_feed_token(id).await?;
        self.audit_in(&mut tx, who, crate::access::Audit::new("feed.create", format!("user:{id}"))).await?;
        tx.commit().await?;
        Ok(self.feed_url(&token))
    }

    /// The iCalendar text the feed file `file` (`{token}.ics`) opens, or `None` when it opens
    /// nothing: malformed, replaced, never issued, or whose schedule is gone.
    pub async fn feed(&self, file: &str) -> Result<Option<String>> {
        let Some(token) = file.strip_suffix(".ics") else { return Ok(None) };
        let Some(feed) = self.store().feed_by_token(token).await? else { return Ok(None) };
        let now = self.now();
        let (from, to) = ical::feed_window(now);
        let users = self.user_names().await?;
        let user_name = |id: Id| users.get(&id).cloned().unwrap_or_else(|| format!("user {id}"));
        let (name, events) = match feed {
            Feed::Schedule(id) => {
                let stored = match self.store().schedule(id).await {
                    Ok(stored) => stored,
                    Err(StoreError::NotFound(_)) => return Ok(None),
                    Err(err) => return Err(err.into()),
                };
                let schedule = &stored.schedule;
                let events = shifts(schedule, from, to)?
                    .iter()
                    .map(|shift| {
                        ical::Event::on_call(
                            id,
                            &stored.name,
                            &schedule.time_zone,
                            &user_name(shift.user),
                            shift,
                        )
                    })
                    .collect();
                (format!("On call: {}", stored.name), events)
            }
            Feed::User(user) => {
                let mut events = Vec::new();
                for stored in self.store().schedules().await? {
                    let schedule = &stored.schedule;
                    events.extend(shifts(schedule, from, to)?.iter().filter(|shift| shift.user == user).map(
                        |shift| {
                            ical::Event::on_call(
                                stored.id,
                                &stored.name,
                                &schedule.time_zone,
                                &user_name(user),
                                shift,
                            )
                        },
                    ));
                }
                events.sort_by_key(|event| event.start);
                (format!("On call: {}", user_name(user)), events)
            }
        };
        Ok(Some(ical::calendar(&name, &events, now)))
    }

    fn feed_url(&self, token: &str) -> String {
        format!("{}/feeds/{token}.ics", self.public_url())
    }
}

/// The shifts of `schedule` in the feed window. The window is always shorter than the longest
/// range `shifts` computes, so a failure here is a bug.
fn shifts(schedule: &Schedule, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>> {
    schedule.shifts(from, to).map_err(|err| Error::Internal(format!("feed shifts failed: {err}")))
}
