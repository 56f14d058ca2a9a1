//! On-call schedules and escalation policies, stored as their validated specifications.

use firebreak_domain::Id;
use jiff::Timestamp;

use crate::rows::{self, millis};
use crate::{Backend, Result, Store, StoreError};

/// A stored schedule or escalation policy: its name and specification (JSON text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub id: Id,
    pub name: String,
    /// The schedule's time zone; empty for escalation policies.
    pub time_zone: String,
    pub spec: String,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct StoredRow {
    id: i64,
    name: String,
    time_zone: String,
    spec: String,
    created_at: i64,
}

impl From<StoredRow> for Stored {
    fn from(row: StoredRow) -> Stored {
        Stored {
            id: row.id,
            name: row.name,
            time_zone: row.time_zone,
            spec: row.spec,
            created_at: rows::from_millis(row.created_at),
        }
    }
}

impl Store {
    /// Fails with [`StoreError::Conflict`] when the name is taken.
    pub async fn create_schedule(
        &self,
        name: &str,
        time_zone: &str,
        spec: &str,
        now: Timestamp,
    ) -> Result<Stored> {
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("INSERT INTO schedules (name, time_zone, spec, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(name)
                .bind(time_zone)
                .bind(spec)
                .bind(millis(now))
                .fetch_one(pool)
                .await
                .map_err(|err| crate::name_conflict(err, "schedule", name))?
        });
        self.schedule(id).await
    }

    /// Fails with [`StoreError::NotFound`] when there is no schedule `id`.
    pub async fn schedule(&self, id: Id) -> Result<Stored> {
        let row: Option<StoredRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, name, time_zone, spec, created_at FROM schedules WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Stored::from).ok_or_else(|| StoreError::NotFound(format!("there is no schedule {id}")))
    }

    pub async fn schedules(&self) -> Result<Vec<Stored>> {
        let rows: Vec<StoredRow> = with_read_pool!(self, pool => {
            sqlx::query_as("SELECT id, name, time_zone, spec, created_at FROM schedules ORDER BY name").fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Stored::from).collect())
    }

    /// Replaces the specification of schedule `id`.
    pub async fn update_schedule_spec(&self, id: Id, spec: &str) -> Result<Stored> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE schedules SET spec = $1 WHERE id = $2").bind(spec).bind(id).execute(pool).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no schedule {id}")));
        }
        self.schedule(id).await
    }

    /// Fails with [`StoreError::Conflict`] when the name is taken.
    pub async fn create_escalation_policy(&self, name: &str, spec: &str, now: Timestamp) -> Result<Stored> {
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("INSERT INTO escalation_policies (name, spec, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(name)
                .bind(spec)
                .bind(millis(now))
                .fetch_one(pool)
                .await
                .map_err(|err| crate::name_conflict(err, "escalation policy", name))?
        });
        self.escalation_policy(id).await
    }

    /// Fails with [`StoreError::NotFound`] when there is no escalation policy `id`.
    pub async fn escalation_policy(&self, id: Id) -> Result<Stored> {
        let row: Option<StoredRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, name, '' AS time_zone, spec, created_at FROM escalation_policies WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Stored::from)
            .ok_or_else(|| StoreError::NotFound(format!("there is no escalation policy {id}")))
    }

    pub async fn escalation_policies(&self) -> Result<Vec<Stored>> {
        let rows: Vec<StoredRow> = with_read_pool!(self, pool => {
            sqlx::query_as("SELECT id, name, '' AS time_zone, spec, created_at FROM escalation_policies ORDER BY name")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(Stored::from).collect())
    }

    /// The escalation policy of service `id`, if it has one.
    pub async fn service_escalation_policy(&self, id: Id) -> Result<Option<Id>> {
        let row: Option<Option<i64>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT escalation_policy_id FROM services WHERE id = $1").bind(id).fetch_optional(pool).await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("there is no service {id}")))
    }

    /// Sets (or, with `None`, removes) the escalation policy of service `id`.
    pub async fn set_service_escalation_policy(&self, id: Id, policy: Option<Id>) -> Result<()> {
        if let Some(policy) = policy {
            self.escalation_policy(policy).await?;
        }
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE services SET escalation_policy_id = $1 WHERE id = $2")
                .bind(policy)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no service {id}")));
        }
        Ok(())
    }
}
