//! Heartbeat checks and their pings.
//!
//! A check's schedule is stored as `period_seconds`, or `cron` with `time_zone`; what its pings
//! said so far (`domain::Seen`) is kept on its row, and only its last [`PINGS_KEPT`] pings are
//! kept. Pings arrive in batches ([`Store::record_pings`]): each check touched is read once,
//! every ping folded into it in order by `domain::Heartbeat::record`, and the check and the pings
//! are written in one transaction.

use std::collections::HashMap;

use firebreak_domain::{Expect, Heartbeat, Id, PingKind, Seen, Severity};
use jiff::{SignedDuration, Timestamp};

use crate::rows::{corrupt, from_millis, millis};
use crate::{Conn, Result, Store, StoreError, Tx};

/// Pings kept per check, newest first; older ones are pruned as new ones arrive.
pub const PINGS_KEPT: i64 = 100;
/// Pings written with one multi-row insert (9 parameters each, within SQLite's 32,766).
const PINGS_PER_INSERT: usize = 500;

/// A check to create.
#[derive(Clone, Debug)]
pub struct NewHeartbeat {
    pub service_id: Id,
    pub name: String,
    pub slug: String,
    pub expect: Expect,
    pub grace: SignedDuration,
    pub failures_to_alert: u32,
    pub severity: Severity,
}

/// A ping to record, for a check already found by its ping id or slug.
#[derive(Clone, Debug)]
pub struct NewPing {
    pub heartbeat_id: Id,
    pub at: Timestamp,
    pub kind: PingKind,
    pub exit_status: Option<u8>,
    pub rid: String,
    pub method: String,
    pub address: String,
    pub user_agent: String,
    pub body: String,
}

/// A recorded ping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    pub id: Id,
    pub heartbeat_id: Id,
    pub at: Timestamp,
    pub kind: PingKind,
    pub exit_status: Option<u8>,
    pub rid: String,
    /// The run time, for a finish paired with its start.
    pub duration: Option<SignedDuration>,
    pub method: String,
    pub address: String,
    pub user_agent: String,
    pub body: String,
}

#[derive(sqlx::FromRow)]
struct HeartbeatRow {
    id: i64,
    service_id: i64,
    name: String,
    slug: String,
    ping_id: String,
    period_seconds: Option<i64>,
    cron: Option<String>,
    time_zone: String,
    grace_seconds: i64,
    failures_to_alert: i64,
    severity: String,
    paused: bool,
    last_ping_at: Option<i64>,
    last_success_at: Option<i64>,
    last_failure_at: Option<i64>,
    failures_in_row: i64,
    started_at: Option<i64>,
    started_rid: String,
    alert_open: bool,
    created_at: i64,
    created_by: String,
}

const COLUMNS: &str = "id, service_id, name, slug, ping_id, period_seconds, cron, time_zone, grace_seconds, \
     failures_to_alert, severity, paused, last_ping_at, last_success_at, last_failure_at, failures_in_row, \
     started_at, started_rid, alert_open, created_at, created_by";

#[derive(sqlx::FromRow)]
struct PingRow {
    id: i64,
    heartbeat_id: i64,
    at: i64,
    kind: String,
    exit_status: Option<i64>,
    rid: String,
    duration_ms: Option<i64>,
    method: String,
    address: String,
    user_agent: String,
    body: String,
}

const PING_COLUMNS: &str =
    "id, heartbeat_id, at, kind, exit_status, rid, duration_ms, method, address, user_agent, body";

fn from_row(row: HeartbeatRow) -> Result<Heartbeat> {
    let what = format!("heartbeat {}", row.id);
    let expect = match (row.period_seconds, &row.cron) {
        (Some(seconds), None) => Expect::period(seconds),
        (None, Some(cron)) => Expect::cron(cron, &row.time_zone),
        _ => Err("neither a period nor a cron expression".to_owned()),
    }
    .map_err(|err| corrupt(&what, err))?;
    Ok(Heartbeat {
        id: row.id,
        service_id: row.service_id,
        name: row.name,
        slug: row.slug,
        ping_id: row.ping_id,
        expect,
        grace: SignedDuration::from_secs(row.grace_seconds),
        failures_to_alert: u32::try_from(row.failures_to_alert).map_err(|err| corrupt(&what, err))?,
        severity: Severity::parse(&row.severity).map_err(|err| corrupt(&what, err))?,
        seen: Seen {
            last_ping_at: row.last_ping_at.map(from_millis),
            last_success_at: row.last_success_at.map(from_millis),
            last_failure_at: row.last_failure_at.map(from_millis),
            failures_in_row: u32::try_from(row.failures_in_row).unwrap_or(u32::MAX),
            started_at: row.started_at.map(from_millis),
            started_rid: row.started_rid,
            paused: row.paused,
        },
        alert_open: row.alert_open,
        created_at: from_millis(row.created_at),
        created_by: row.created_by,
    })
}

fn ping_from_row(row: PingRow) -> Result<Ping> {
    let kind = PingKind::parse(&row.kind).ok_or_else(|| corrupt("ping", &row.kind))?;
    Ok(Ping {
        id: row.id,
        heartbeat_id: row.heartbeat_id,
        at: from_millis(row.at),
        kind,
        exit_status: row.exit_status.and_then(|status| u8::try_from(status).ok()),
        rid: row.rid,
        duration: row.duration_ms.map(SignedDuration::from_millis),
        method: row.method,
        address: row.address,
        user_agent: row.user_agent,
        body: row.body,
    })
}

impl Store {
    /// The checks of one service, or of every service, by name.
    pub async fn heartbeats(&self, service_id: Option<Id>) -> Result<Vec<Heartbeat>> {
        let rows: Vec<HeartbeatRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM heartbeats WHERE deleted_at IS NULL AND ($1 IS NULL OR service_id = $1) \
                 ORDER BY name, id"
            ))
            .bind(service_id)
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(from_row).collect()
    }

    /// Every check the watcher looks at: those not deleted, and deleted ones whose alert is open.
    pub async fn heartbeats_to_watch(&self) -> Result<Vec<(Heartbeat, bool)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            heartbeat: HeartbeatRow,
            deleted: bool,
        }
        let rows: Vec<Row> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS}, deleted_at IS NOT NULL AS deleted FROM heartbeats \
                 WHERE deleted_at IS NULL OR alert_open"
            ))
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(|row| Ok((from_row(row.heartbeat)?, row.deleted))).collect()
    }

    /// Fails with [`StoreError::NotFound`] when there is no check `id`.
    pub async fn heartbeat(&self, id: Id) -> Result<Heartbeat> {
        self.primary().await?.conn().heartbeat(id).await
    }

    /// The check with ping id `ping_id`, if any.
    pub async fn heartbeat_by_ping_id(&self, ping_id: &str) -> Result<Option<Heartbeat>> {
        let row: Option<HeartbeatRow> = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM heartbeats WHERE ping_id = $1 AND deleted_at IS NULL"))
                .bind(ping_id)
                .fetch_optional(&mut *c)
                .await?
        });
        row.map(from_row).transpose()
    }

    /// The service whose slug URLs use `ping_key`, and its check `slug` if it has one.
    pub async fn heartbeat_by_slug(
        &self,
        ping_key: &str,
        slug: &str,
    ) -> Result<Option<(Id, Option<Heartbeat>)>> {
        let service: Option<i64> = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_scalar("SELECT id FROM services WHERE ping_key = $1 AND deleted_at IS NULL")
                .bind(ping_key)
                .fetch_optional(&mut *c)
                .await?
        });
        let Some(service_id) = service else { return Ok(None) };
        let row: Option<HeartbeatRow> = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM heartbeats WHERE service_id = $1 AND slug = $2 AND deleted_at IS NULL"
            ))
            .bind(service_id)
            .bind(slug)
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(Some((service_id, row.map(from_row).transpose()?)))
    }

    /// The key of service `service_id`'s slug ping URLs, if it has one yet.
    pub async fn service_ping_key(&self, service_id: Id) -> Result<Option<String>> {
        let key: Option<Option<String>> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar("SELECT ping_key FROM services WHERE id = $1")
                .bind(service_id)
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(key.flatten())
    }

    /// The last `limit` pings of check `id`, newest first.
    pub async fn heartbeat_pings(&self, id: Id, limit: i64) -> Result<Vec<Ping>> {
        let rows: Vec<PingRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {PING_COLUMNS} FROM heartbeat_pings WHERE heartbeat_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(ping_from_row).collect()
    }

    /// Records a batch of pings in one transaction, in order, and returns for each the check it
    /// changed (with what the check has seen after it and the run time it measured), or `None`
    /// for a check that no longer exists.
    ///
    /// The checks in `prune` lose their pings beyond the last [`PINGS_KEPT`] in the same
    /// transaction; the caller chooses them so that pruning costs a statement per [`PINGS_KEPT`]
    /// pings of a check, not one per batch.
    pub async fn record_pings(
        &self,
        pings: &[NewPing],
        prune: &[Id],
    ) -> Result<Vec<Option<(Heartbeat, Option<SignedDuration>)>>> {
        let mut tx = self.begin().await?;
        let mut checks: HashMap<Id, Option<Heartbeat>> = HashMap::new();
        for ping in pings {
            if let std::collections::hash_map::Entry::Vacant(entry) = checks.entry(ping.heartbeat_id) {
                let check = match tx.conn().heartbeat_for_update(ping.heartbeat_id).await {
                    Ok(check) => Some(check),
                    Err(StoreError::NotFound(_)) => None,
                    Err(err) => return Err(err),
                };
                entry.insert(check);
            }
        }
        let mut outcomes = Vec::with_capacity(pings.len());
        let mut durations = Vec::with_capacity(pings.len());
        for ping in pings {
            match checks.get_mut(&ping.heartbeat_id).and_then(Option::as_mut) {
                Some(check) => {
                    let recorded = check.record(ping.kind, ping.at, &ping.rid);
                    durations.push(recorded.duration);
                    outcomes.push(Some((check.clone(), recorded.duration)));
                }
                None => {
                    durations.push(None);
                    outcomes.push(None);
                }
            }
        }
        for check in checks.values().flatten() {
            tx.save_seen(check.id, &check.seen).await?;
        }
        let kept: Vec<(&NewPing, Option<SignedDuration>)> = pings
            .iter()
            .zip(durations)
            .filter(|(ping, _)| checks.get(&ping.heartbeat_id).is_some_and(Option::is_some))
            .collect();
        for chunk in kept.chunks(PINGS_PER_INSERT) {
            with_conn!(tx.conn(), c => {
                let mut query = sqlx::QueryBuilder::new(
                    "INSERT INTO heartbeat_pings (heartbeat_id, at, kind, exit_status, rid, duration_ms, method, \
                     address, user_agent, body) ",
                );
                query.push_values(chunk, |mut row, (ping, duration)| {
                    row.push_bind(ping.heartbeat_id)
                        .push_bind(millis(ping.at))
                        .push_bind(ping.kind.as_str())
                        .push_bind(ping.exit_status.map(i64::from))
                        .push_bind(&ping.rid)
                        .push_bind(duration.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
                        .push_bind(&ping.method)
                        .push_bind(&ping.address)
                        .push_bind(&ping.user_agent)
                        .push_bind(&ping.body);
                });
                query.build().execute(&mut *c).await?;
            });
        }
        for &id in prune {
            with_conn!(tx.conn(), c => {
                sqlx::query(
                    "DELETE FROM heartbeat_pings WHERE heartbeat_id = $1 AND id <= \
                     (SELECT id FROM heartbeat_pings WHERE heartbeat_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
                )
                .bind(id)
                .bind(PINGS_KEPT)
                .execute(&mut *c)
                .await?;
            });
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Marks check `id`'s alert open or closed, if it was `from`; says whether it changed, so that
    /// of replicas deciding together one raises or resolves the alert.
    pub async fn set_heartbeat_alert(&self, id: Id, from: bool, to: bool) -> Result<bool> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE heartbeats SET alert_open = $1 WHERE id = $2 AND alert_open = $3")
                .bind(to)
                .bind(id)
                .bind(from)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }
}

impl Conn<'_> {
    pub(crate) async fn heartbeat(self, id: Id) -> Result<Heartbeat> {
        let row: Option<HeartbeatRow> = with_conn!(self, c => {
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM heartbeats WHERE id = $1 AND deleted_at IS NULL"))
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        from_row(row.ok_or_else(|| StoreError::NotFound(format!("there is no heartbeat {id}")))?)
    }

    async fn heartbeat_for_update(self, id: Id) -> Result<Heartbeat> {
        let row: Option<HeartbeatRow> = with_conn!(self, c, for_update => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM heartbeats WHERE id = $1 AND deleted_at IS NULL{for_update}"
            ))
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
        });
        from_row(row.ok_or_else(|| StoreError::NotFound(format!("there is no heartbeat {id}")))?)
    }
}

impl Tx {
    /// Creates a check with ping id `ping_id`, giving its service the slug key `ping_key` if it
    /// has none yet. Fails with [`StoreError::Conflict`] when the service has a check of that slug.
    pub async fn create_heartbeat(
        &mut self,
        check: &NewHeartbeat,
        ping_id: &str,
        ping_key: &str,
        actor: &str,
        now: Timestamp,
    ) -> Result<Heartbeat> {
        self.conn().service(check.service_id).await?;
        let (cron, zone) = check.expect.cron_text().map_or((None, "UTC"), |(cron, zone)| (Some(cron), zone));
        let id: i64 = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE services SET ping_key = $1 WHERE id = $2 AND ping_key IS NULL")
                .bind(ping_key)
                .bind(check.service_id)
                .execute(&mut *c)
                .await?;
            sqlx::query_scalar(
                "INSERT INTO heartbeats (service_id, name, slug, ping_id, period_seconds, cron, time_zone, \
                 grace_seconds, failures_to_alert, severity, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(check.service_id)
            .bind(&check.name)
            .bind(&check.slug)
            .bind(ping_id)
            .bind(check.expect.period_seconds())
            .bind(cron)
            .bind(zone)
            .bind(check.grace.as_secs())
            .bind(i64::from(check.failures_to_alert))
            .bind(check.severity.as_str())
            .bind(millis(now))
            .bind(actor)
            .fetch_one(&mut *c)
            .await
            .map_err(|err| match StoreError::from(err) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "the service has a heartbeat with slug {:?} already", check.slug
                )),
                other => other,
            })?
        });
        self.conn().heartbeat(id).await
    }

    /// Changes check `id`'s settings. Fails with [`StoreError::NotFound`] for an unknown check and
    /// [`StoreError::Conflict`] for a slug its service has already.
    pub async fn update_heartbeat(&mut self, id: Id, check: &NewHeartbeat) -> Result<Heartbeat> {
        let (cron, zone) = check.expect.cron_text().map_or((None, "UTC"), |(cron, zone)| (Some(cron), zone));
        let changed = with_conn!(self.conn(), c => {
            sqlx::query(
                "UPDATE heartbeats SET name = $1, slug = $2, period_seconds = $3, cron = $4, time_zone = $5, \
                 grace_seconds = $6, failures_to_alert = $7, severity = $8 WHERE id = $9 AND deleted_at IS NULL",
            )
            .bind(&check.name)
            .bind(&check.slug)
            .bind(check.expect.period_seconds())
            .bind(cron)
            .bind(zone)
            .bind(check.grace.as_secs())
            .bind(i64::from(check.failures_to_alert))
            .bind(check.severity.as_str())
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(|err| match StoreError::from(err) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "the service has a heartbeat with slug {:?} already", check.slug
                )),
                other => other,
            })?
            .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("there is no heartbeat {id}")));
        }
        self.conn().heartbeat(id).await
    }

    /// Check `id`, its row locked until the transaction ends.
    pub async fn heartbeat_for_update(&mut self, id: Id) -> Result<Heartbeat> {
        self.conn().heartbeat_for_update(id).await
    }

    /// Writes what check `id` has seen (after a pause, a resume, or pings).
    pub async fn save_seen(&mut self, id: Id, seen: &Seen) -> Result<()> {
        with_conn!(self.conn(), c => {
            sqlx::query(
                "UPDATE heartbeats SET paused = $1, last_ping_at = $2, last_success_at = $3, last_failure_at = $4, \
                 failures_in_row = $5, started_at = $6, started_rid = $7 WHERE id = $8",
            )
            .bind(seen.paused)
            .bind(seen.last_ping_at.map(millis))
            .bind(seen.last_success_at.map(millis))
            .bind(seen.last_failure_at.map(millis))
            .bind(i64::from(seen.failures_in_row))
            .bind(seen.started_at.map(millis))
            .bind(&seen.started_rid)
            .bind(id)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Deletes check `id` and its pings; its row stays, marked, until its alert is resolved.
    pub async fn delete_heartbeat(&mut self, id: Id, now: Timestamp) -> Result<()> {
        let changed = with_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM heartbeat_pings WHERE heartbeat_id = $1").bind(id).execute(&mut *c).await?;
            sqlx::query("UPDATE heartbeats SET deleted_at = $1, ping_id = ping_id || ':deleted' WHERE id = $2 AND deleted_at IS NULL")
                .bind(millis(now))
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("there is no heartbeat {id}")));
        }
        Ok(())
    }
}
