//! Incidents and their timelines.

use firebreak_domain::{
    Command, Id, Incident, Kind, NewIncident, Severity, Status, TimelineEntry, TimelineEvent,
};
use jiff::Timestamp;

use crate::rows::{self, IncidentRow, TimelineRow, millis};
use crate::{Conn, Result, Store, StoreError, Tx};

/// Default page size of [`Store::list_incidents`], and its largest.
pub const INCIDENT_PAGE_MAX: u32 = 500;

pub(crate) const INCIDENT_COLUMNS: &str = "id, title, service_id, severity, kind, status, assignee_id, \
     commander_id, created_at, acknowledged_at, mitigated_at, resolved_at, updated_at, snoozed_until";

/// Which incidents [`Store::list_incidents`] returns. Empty lists and `None` match everything.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<Status>,
    pub severities: Vec<Severity>,
    pub kinds: Vec<Kind>,
    pub service_id: Option<Id>,
    pub team_id: Option<Id>,
    /// Created at or after.
    pub since: Option<Timestamp>,
    /// Created before.
    pub until: Option<Timestamp>,
    /// Only incidents with a smaller id: the cursor of the next page.
    pub before_id: Option<Id>,
    /// At most this many, capped at [`INCIDENT_PAGE_MAX`]; 0 means the maximum.
    pub limit: u32,
}

impl Store {
    /// Fails with [`StoreError::NotFound`] when there is no incident `id`.
    pub async fn incident(&self, id: Id) -> Result<Incident> {
        self.primary().await?.conn().incident(id).await
    }

    /// The incidents matching `filter`, newest first.
    pub async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let limit = match filter.limit {
            0 => INCIDENT_PAGE_MAX,
            n => n.min(INCIDENT_PAGE_MAX),
        };
        let rows: Vec<IncidentRow> = with_conn!(self.reader().await?.conn(), c => {
            let mut query = sqlx::QueryBuilder::new(format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE 1 = 1"));
            push_in(&mut query, "status", filter.statuses.iter().map(|s| s.as_str()));
            push_in(&mut query, "severity", filter.severities.iter().map(|s| s.as_str()));
            push_in(&mut query, "kind", filter.kinds.iter().map(|s| s.as_str()));
            if let Some(service_id) = filter.service_id {
                query.push(" AND service_id = ").push_bind(service_id);
            }
            if let Some(team_id) = filter.team_id {
                query.push(" AND service_id IN (SELECT id FROM services WHERE team_id = ").push_bind(team_id).push(")");
            }
            if let Some(since) = filter.since {
                query.push(" AND created_at >= ").push_bind(millis(since));
            }
            if let Some(until) = filter.until {
                query.push(" AND created_at < ").push_bind(millis(until));
            }
            if let Some(before_id) = filter.before_id {
                query.push(" AND id < ").push_bind(before_id);
            }
            query.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            query.build_query_as().fetch_all(&mut *c).await?
        });
        rows.into_iter().map(Incident::try_from).collect()
    }

    /// The number of incidents per status, for metrics.
    pub async fn incident_counts(&self) -> Result<Vec<(Status, i64)>> {
        let rows: Vec<(String, i64)> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as("SELECT status, COUNT(*) FROM incidents GROUP BY status").fetch_all(&mut *c).await?
        });
        Ok(Status::ALL
            .iter()
            .map(|status| {
                let count = rows.iter().find(|(name, _)| name == status.as_str()).map_or(0, |(_, n)| *n);
                (*status, count)
            })
            .collect())
    }

    /// The timeline of incident `id`, oldest first.
    pub async fn timeline(&self, id: Id) -> Result<Vec<TimelineEntry>> {
        let rows: Vec<TimelineRow> = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_as("SELECT id, incident_id, at, actor, event, data FROM timeline WHERE incident_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&mut *c)
                .await?
        });
        rows.into_iter().map(TimelineEntry::try_from).collect()
    }
}

impl Tx {
    /// Declares an incident and records it on its timeline.
    ///
    /// Fails with [`StoreError::NotFound`] when the service does not exist.
    pub async fn create_incident(
        &mut self,
        new: &NewIncident,
        actor: &str,
        now: Timestamp,
    ) -> Result<Incident> {
        let event = TimelineEvent::Declared { title: new.title.clone(), severity: new.severity };
        let id: i64 = with_conn!(self.conn(), c => {
            let service: Option<i64> = sqlx::query_scalar("SELECT id FROM services WHERE id = $1")
                .bind(new.service_id)
                .fetch_optional(&mut *c)
                .await?;
            if service.is_none() {
                return Err(StoreError::NotFound(format!("there is no service {}", new.service_id)));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO incidents (title, service_id, severity, kind, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            )
            .bind(&new.title)
            .bind(new.service_id)
            .bind(new.severity.as_str())
            .bind(new.kind.as_str())
            .bind(Status::Triggered.as_str())
            .bind(millis(now))
            .fetch_one(&mut *c)
            .await?;
            insert_timeline!(c, id, now, actor, &event);
            id
        });
        self.incidents_changed = true;
        self.conn().incident(id).await
    }

    /// Applies `command` to incident `id` by `actor` at `now`, and records it on the timeline.
    /// Returns the updated incident and the new timeline entry.
    ///
    /// Fails with [`StoreError::NotFound`] when the incident (or a user to assign) does not exist,
    /// and [`StoreError::Refused`] when the domain refuses the command.
    pub async fn update_incident(
        &mut self,
        id: Id,
        command: &Command,
        actor: &str,
        now: Timestamp,
    ) -> Result<(Incident, TimelineEntry)> {
        // Stored at millisecond precision: the returned incident must equal what a read gives back.
        let now = rows::truncate(now);
        let (incident, entry) = with_conn!(self.conn(), c, for_update => {
            let incident = lock_incident!(c, id, for_update);
            if let Command::Assign { user_id: Some(user_id), .. } = command {
                let user: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *c).await?;
                if user.is_none() {
                    return Err(StoreError::NotFound(format!("there is no user {user_id}")));
                }
            }
            apply_in_tx!(c, incident, command, actor, now)
        });
        if matches!(entry.event, TimelineEvent::StatusChanged { .. }) {
            self.incidents_changed = true;
        }
        Ok((incident, entry))
    }
}

impl Conn<'_> {
    pub(crate) async fn incident(self, id: Id) -> Result<Incident> {
        let row: Option<IncidentRow> = with_conn!(self, c => {
            sqlx::query_as(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        row.ok_or_else(|| incident_not_found(id))?.try_into()
    }
}

pub(crate) fn incident_not_found(id: Id) -> StoreError {
    StoreError::NotFound(format!("there is no incident {id}"))
}

fn push_in<'a, DB>(
    query: &mut sqlx::QueryBuilder<'a, DB>,
    column: &str,
    values: impl Iterator<Item = &'static str>,
) where
    DB: sqlx::Database,
    String: sqlx::Type<DB> + sqlx::Encode<'a, DB>,
{
    let values: Vec<String> = values.map(str::to_owned).collect();
    if values.is_empty() {
        return;
    }
    query.push(format!(" AND {column} IN ("));
    let mut separated = query.separated(", ");
    for value in values {
        separated.push_bind(value);
    }
    query.push(")");
}
