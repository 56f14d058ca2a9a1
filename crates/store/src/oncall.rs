//! On-call schedules and escalation policies, and which policy each service follows.
//!
//! A schedule is stored as its time zone (a column) and a JSON document of its layers and
//! overrides; a policy as a JSON document of its levels. The documents are this module's own
//! format, converted explicitly from and to [`domain::Schedule`] and [`engine::Policy`], so that
//! the HTTP API's shapes can change without touching what is stored, and the escalation driver
//! never reads API types. Each document carries its format version, `v`; documents without one
//! are version 1, whose layout they share.

use firebreak_domain::{self as domain, Id};
use firebreak_engine as engine;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::rows::{self, millis};
use crate::{Conn, Result, Store, StoreError, Tx, name_conflict};

/// The version of the documents this build writes.
const FORMAT_VERSION: u32 = 1;

/// A stored on-call schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSchedule {
    pub id: Id,
    pub name: String,
    pub schedule: domain::Schedule,
    /// The team that owns it; `None`: administrators edit it.
    pub team_id: Option<Id>,
    pub created_at: Timestamp,
}

/// A stored escalation policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPolicy {
    pub id: Id,
    pub name: String,
    pub policy: engine::Policy,
    /// The team that owns it; `None`: administrators edit it.
    pub team_id: Option<Id>,
    pub created_at: Timestamp,
}

/// The stored document of a schedule.
#[derive(Serialize, Deserialize)]
struct ScheduleDoc {
    #[serde(default = "version_one")]
    v: u32,
    layers: Vec<LayerDoc>,
    #[serde(default)]
    overrides: Vec<OverrideDoc>,
}

#[derive(Serialize, Deserialize)]
struct LayerDoc {
    start: Timestamp,
    shift_length: String,
    users: Vec<Id>,
    #[serde(default)]
    restrictions: Vec<RestrictionDoc>,
}

#[derive(Serialize, Deserialize)]
struct RestrictionDoc {
    #[serde(rename = "type")]
    kind: String,
    start_day: Option<String>,
    start_time: String,
    end_day: Option<String>,
    end_time: String,
}

#[derive(Serialize, Deserialize)]
struct OverrideDoc {
    user: Id,
    start: Timestamp,
    end: Timestamp,
}

/// The stored document of an escalation policy.
#[derive(Serialize, Deserialize)]
struct PolicyDoc {
    #[serde(default = "version_one")]
    v: u32,
    #[serde(default)]
    repeat: u32,
    levels: Vec<LevelDoc>,
    /// `SEV1`…`SEV4`: the least severe incident that may wake management by hand; absent in
    /// documents of earlier builds (then the engine's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    management_from: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct LevelDoc {
    timeout_minutes: i64,
    targets: Vec<TargetDoc>,
    #[serde(default)]
    wakes_management: bool,
}

#[derive(Serialize, Deserialize)]
struct TargetDoc {
    #[serde(rename = "type")]
    kind: String,
    id: Id,
}

#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: i64,
    name: String,
    time_zone: String,
    spec: String,
    team_id: Option<i64>,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: i64,
    name: String,
    spec: String,
    team_id: Option<i64>,
    created_at: i64,
}

fn version_one() -> u32 {
    1
}

impl Store {
    /// Fails with [`StoreError::NotFound`] when there is no schedule `id`.
    pub async fn schedule(&self, id: Id) -> Result<StoredSchedule> {
        self.primary().await?.conn().schedule(id).await
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<StoredSchedule>> {
        let rows: Vec<ScheduleRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as("SELECT id, name, time_zone, spec, team_id, created_at FROM schedules ORDER BY name")
                .fetch_all(&mut *c)
                .await?
        });
        rows.into_iter().map(schedule_from_row).collect()
    }

    /// Fails with [`StoreError::NotFound`] when there is no escalation policy `id`.
    pub async fn escalation_policy(&self, id: Id) -> Result<StoredPolicy> {
        self.primary().await?.conn().escalation_policy(id).await
    }

    /// Every escalation policy, by name.
    pub async fn escalation_policies(&self) -> Result<Vec<StoredPolicy>> {
        let rows: Vec<PolicyRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as("SELECT id, name, spec, team_id, created_at FROM escalation_policies ORDER BY name")
                .fetch_all(&mut *c)
                .await?
        });
        rows.into_iter().map(policy_from_row).collect()
    }

    /// The escalation policy of service `id`, if it has one.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no service `id`.
    pub async fn service_escalation_policy(&self, id: Id) -> Result<Option<Id>> {
        let row: Option<Option<i64>> = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_scalar("SELECT escalation_policy_id FROM services WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("there is no service {id}")))
    }
}

impl Tx {
    /// Fails with [`StoreError::Conflict`] when the name is taken.
    pub async fn create_schedule(
        &mut self,
        name: &str,
        schedule: &domain::Schedule,
        now: Timestamp,
    ) -> Result<StoredSchedule> {
        let time_zone = time_zone_name(schedule);
        let spec = schedule_doc(schedule);
        let id: i64 = with_conn!(self.conn(), c => {
            sqlx::query_scalar("INSERT INTO schedules (name, time_zone, spec, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(name)
                .bind(time_zone)
                .bind(&spec)
                .bind(millis(now))
                .fetch_one(&mut *c)
                .await
                .map_err(|err| name_conflict(err, "schedule", name))?
        });
        self.conn().schedule(id).await
    }

    /// Replaces schedule `id` (its time zone, layers and overrides; not its name).
    ///
    /// Fails with [`StoreError::NotFound`] when there is no schedule `id`.
    pub async fn update_schedule(&mut self, id: Id, schedule: &domain::Schedule) -> Result<StoredSchedule> {
        let time_zone = time_zone_name(schedule);
        let spec = schedule_doc(schedule);
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE schedules SET time_zone = $1, spec = $2 WHERE id = $3")
                .bind(time_zone)
                .bind(&spec)
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no schedule {id}")));
        }
        self.conn().schedule(id).await
    }

    /// Replaces schedule `id`: its name, time zone, layers and overrides.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no schedule `id` and
    /// [`StoreError::Conflict`] when the name is another schedule's.
    pub async fn replace_schedule(
        &mut self,
        id: Id,
        name: &str,
        schedule: &domain::Schedule,
    ) -> Result<StoredSchedule> {
        let time_zone = time_zone_name(schedule);
        let spec = schedule_doc(schedule);
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE schedules SET name = $1, time_zone = $2, spec = $3 WHERE id = $4")
                .bind(name)
                .bind(time_zone)
                .bind(&spec)
                .bind(id)
                .execute(&mut *c)
                .await
                .map_err(|err| name_conflict(err, "schedule", name))?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no schedule {id}")));
        }
        self.conn().schedule(id).await
    }

    /// Deletes schedule `id`. The caller checks first that no escalation policy targets it.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no schedule `id`.
    pub async fn delete_schedule(&mut self, id: Id) -> Result<()> {
        let done = with_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM schedules WHERE id = $1").bind(id).execute(&mut *c).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no schedule {id}")));
        }
        Ok(())
    }

    /// Replaces escalation policy `id`: its name, repeats and levels. Escalations under way follow
    /// the new levels from their next step.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no escalation policy `id` and
    /// [`StoreError::Conflict`] when the name is another policy's.
    pub async fn replace_escalation_policy(
        &mut self,
        id: Id,
        name: &str,
        policy: &engine::Policy,
    ) -> Result<StoredPolicy> {
        let spec = policy_doc(policy);
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE escalation_policies SET name = $1, spec = $2 WHERE id = $3")
                .bind(name)
                .bind(&spec)
                .bind(id)
                .execute(&mut *c)
                .await
                .map_err(|err| name_conflict(err, "escalation policy", name))?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no escalation policy {id}")));
        }
        self.conn().escalation_policy(id).await
    }

    /// Deletes escalation policy `id`, with the finished escalations of resolved incidents that
    /// went through it (their timelines keep what was paged).
    ///
    /// Fails with [`StoreError::NotFound`] when there is no escalation policy `id`, and
    /// [`StoreError::Conflict`], naming them, when services page through it or incidents that are
    /// not resolved are paging through it.
    pub async fn delete_escalation_policy(&mut self, id: Id) -> Result<()> {
        let policy = self.conn().escalation_policy(id).await?;
        let (services, incidents): (Vec<(i64, String)>, Vec<i64>) = with_conn!(self.conn(), c => {
            let services = sqlx::query_as("SELECT id, name FROM services WHERE escalation_policy_id = $1 ORDER BY name")
                .bind(id)
                .fetch_all(&mut *c)
                .await?;
            let incidents = sqlx::query_scalar(
                "SELECT e.incident_id FROM escalations e JOIN incidents i ON i.id = e.incident_id \
                 WHERE e.policy_id = $1 AND i.status <> 'resolved' ORDER BY e.incident_id",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
            (services, incidents)
        });
        if !services.is_empty() {
            let names: Vec<String> = services.iter().map(|(id, name)| format!("{name} ({id})")).collect();
            return Err(StoreError::Conflict(format!(
                "escalation policy {} is used by services {}: give them another policy (or none) first",
                policy.name,
                names.join(", ")
            )));
        }
        if !incidents.is_empty() {
            let ids: Vec<String> = incidents.iter().map(i64::to_string).collect();
            return Err(StoreError::Conflict(format!(
                "incidents {} are paging through escalation policy {}: resolve them first",
                ids.join(", "),
                policy.name
            )));
        }
        with_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM escalations WHERE policy_id = $1").bind(id).execute(&mut *c).await?;
            sqlx::query("DELETE FROM escalation_policies WHERE id = $1").bind(id).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Fails with [`StoreError::Conflict`] when the name is taken.
    pub async fn create_escalation_policy(
        &mut self,
        name: &str,
        policy: &engine::Policy,
        now: Timestamp,
    ) -> Result<StoredPolicy> {
        let spec = policy_doc(policy);
        let id: i64 = with_conn!(self.conn(), c => {
            sqlx::query_scalar("INSERT INTO escalation_policies (name, spec, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(name)
                .bind(&spec)
                .bind(millis(now))
                .fetch_one(&mut *c)
                .await
                .map_err(|err| name_conflict(err, "escalation policy", name))?
        });
        self.conn().escalation_policy(id).await
    }

    /// Gives schedule `id` to `team` (or, with `None`, to the administrators).
    ///
    /// Fails with [`StoreError::NotFound`] when there is no schedule `id`.
    pub async fn set_schedule_team(&mut self, id: Id, team: Option<Id>) -> Result<()> {
        self.set_owner("UPDATE schedules SET team_id = $1 WHERE id = $2", "schedule", id, team).await
    }

    /// Gives escalation policy `id` to `team` (or, with `None`, to the administrators).
    ///
    /// Fails with [`StoreError::NotFound`] when there is no escalation policy `id`.
    pub async fn set_policy_team(&mut self, id: Id, team: Option<Id>) -> Result<()> {
        self.set_owner(
            "UPDATE escalation_policies SET team_id = $1 WHERE id = $2",
            "escalation policy",
            id,
            team,
        )
        .await
    }

    async fn set_owner(&mut self, update: &'static str, what: &str, id: Id, team: Option<Id>) -> Result<()> {
        let done = with_conn!(self.conn(), c => {
            sqlx::query(update).bind(team).bind(id).execute(&mut *c).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no {what} {id}")));
        }
        Ok(())
    }

    /// Sets (or, with `None`, removes) the escalation policy of service `id`.
    ///
    /// Fails with [`StoreError::NotFound`] when the service or the policy does not exist.
    pub async fn set_service_escalation_policy(&mut self, id: Id, policy: Option<Id>) -> Result<()> {
        if let Some(policy) = policy {
            self.conn().escalation_policy(policy).await?;
        }
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE services SET escalation_policy_id = $1 WHERE id = $2")
                .bind(policy)
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no service {id}")));
        }
        Ok(())
    }
}

impl Conn<'_> {
    pub(crate) async fn schedule(self, id: Id) -> Result<StoredSchedule> {
        let row: Option<ScheduleRow> = with_conn!(self, c => {
            sqlx::query_as("SELECT id, name, time_zone, spec, team_id, created_at FROM schedules WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        schedule_from_row(row.ok_or_else(|| StoreError::NotFound(format!("there is no schedule {id}")))?)
    }

    pub(crate) async fn escalation_policy(self, id: Id) -> Result<StoredPolicy> {
        let row: Option<PolicyRow> = with_conn!(self, c => {
            sqlx::query_as("SELECT id, name, spec, team_id, created_at FROM escalation_policies WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        policy_from_row(
            row.ok_or_else(|| StoreError::NotFound(format!("there is no escalation policy {id}")))?,
        )
    }
}

/// The IANA name of a schedule's time zone; [`domain::Schedule::new`] makes sure it has one.
fn time_zone_name(schedule: &domain::Schedule) -> &str {
    schedule.time_zone.iana_name().unwrap_or("UTC")
}

fn schedule_doc(schedule: &domain::Schedule) -> String {
    let doc = ScheduleDoc {
        v: FORMAT_VERSION,
        layers: schedule
            .layers
            .iter()
            .map(|layer| LayerDoc {
                start: layer.start,
                shift_length: layer.shift.to_string(),
                users: layer.users.clone(),
                restrictions: layer
                    .restrictions
                    .iter()
                    .map(|restriction| RestrictionDoc {
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
            .map(|cover| OverrideDoc { user: cover.user, start: cover.start, end: cover.end })
            .collect(),
    };
    serde_json::to_string(&doc).expect("a schedule document always serializes")
}

fn schedule_from_row(row: ScheduleRow) -> Result<StoredSchedule> {
    let what = format!("schedule {}", row.id);
    let doc: ScheduleDoc = serde_json::from_str(&row.spec).map_err(|err| rows::corrupt(&what, err))?;
    if doc.v > FORMAT_VERSION {
        return Err(rows::corrupt(&what, format!("format version {} is newer than this build reads", doc.v)));
    }
    let time_zone = jiff::tz::TimeZone::get(&row.time_zone).map_err(|err| rows::corrupt(&what, err))?;
    let layers = doc
        .layers
        .into_iter()
        .map(|layer| {
            Ok(domain::Layer {
                start: layer.start,
                shift: domain::ShiftLength::parse(&layer.shift_length)?,
                users: layer.users,
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
                    })
                    .collect::<std::result::Result<_, String>>()?,
            })
        })
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(|err| rows::corrupt(&what, err))?;
    let overrides = doc
        .overrides
        .into_iter()
        .map(|cover| domain::Override { user: cover.user, start: cover.start, end: cover.end })
        .collect();
    // Not `Schedule::new`: what was stored was valid when it was written, and a bound tightened
    // since must not make a schedule unreadable.
    let schedule = domain::Schedule { time_zone, layers, overrides };
    Ok(StoredSchedule {
        id: row.id,
        name: row.name,
        schedule,
        team_id: row.team_id,
        created_at: rows::from_millis(row.created_at),
    })
}

fn policy_doc(policy: &engine::Policy) -> String {
    let doc = PolicyDoc {
        v: FORMAT_VERSION,
        repeat: policy.repeat(),
        levels: policy
            .levels()
            .iter()
            .map(|level| LevelDoc {
                timeout_minutes: level.timeout.as_secs() / 60,
                targets: level
                    .targets
                    .iter()
                    .map(|target| TargetDoc { kind: target.kind().to_owned(), id: target.id() })
                    .collect(),
                wakes_management: level.wakes_management,
            })
            .collect(),
        management_from: Some(policy.management_from().as_str().to_owned()),
    };
    serde_json::to_string(&doc).expect("a policy document always serializes")
}

fn policy_from_row(row: PolicyRow) -> Result<StoredPolicy> {
    let what = format!("escalation policy {}", row.id);
    let doc: PolicyDoc = serde_json::from_str(&row.spec).map_err(|err| rows::corrupt(&what, err))?;
    if doc.v > FORMAT_VERSION {
        return Err(rows::corrupt(&what, format!("format version {} is newer than this build reads", doc.v)));
    }
    let levels = doc
        .levels
        .into_iter()
        .map(|level| {
            let targets = level
                .targets
                .iter()
                .map(|target| match target.kind.as_str() {
                    "user" => Ok(engine::Target::User(target.id)),
                    "schedule" => Ok(engine::Target::Schedule(target.id)),
                    "team" => Ok(engine::Target::Team(target.id)),
                    other => Err(format!("unknown target type {other:?}")),
                })
                .collect::<std::result::Result<Vec<_>, String>>()?;
            Ok(engine::Level {
                timeout: SignedDuration::from_mins(level.timeout_minutes),
                targets,
                wakes_management: level.wakes_management,
            })
        })
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(|err| rows::corrupt(&what, err))?;
    let mut policy = engine::Policy::parse(levels, doc.repeat).map_err(|err| rows::corrupt(&what, err))?;
    if let Some(severity) = doc.management_from {
        let severity =
            firebreak_domain::Severity::parse(&severity).map_err(|err| rows::corrupt(&what, err))?;
        policy = policy.with_management_from(severity);
    }
    Ok(StoredPolicy {
        id: row.id,
        name: row.name,
        policy,
        team_id: row.team_id,
        created_at: rows::from_millis(row.created_at),
    })
}
