//! Paging: contact methods, persisted escalations, durable notifications and installation keys.
//!
//! The escalation driver (in the application layer) decides in two steps. It reads what it needs without
//! locks ([`Store::pending_escalations`], [`Store::due_escalations`]), decides with the engine, and
//! writes the outcome with [`Store::apply_escalations`], which succeeds only if the escalation is
//! still at the version that was read: a compare-and-set. Two replicas that decide the same step
//! therefore write it once, and the loser reads again. Pages become notification rows in the same
//! transaction, unique per page key and contact method, so a page is never sent twice because a
//! step was decided twice.
//!
//! A notification attempt is made by whoever claims it: [`Store::claim_notifications`] moves it to
//! `sending` with a lease, atomically (on PostgreSQL with `SKIP LOCKED`), and
//! [`Store::finish_notification`] records the outcome only if the claim still holds. A replica that
//! dies mid-attempt leaves a lease that expires, and another replica makes the next attempt.

use firebreak_domain::{
    Hours, Id, Incident, Kind, NotificationRule, RULES_PER_USER_MAX, Severity, Status, TimelineEvent, Urgency,
};
use firebreak_engine::{Escalation, EscalationState};
use jiff::{SignedDuration, Timestamp};

use crate::incidents::INCIDENT_COLUMNS;
use crate::rows::{self, IncidentRow, corrupt, from_millis, millis};
use crate::{Backend, Result, SYSTEM_ACTOR, Store, StoreError, Tx};

/// Contact methods one user may have.
pub const CONTACT_METHODS_PER_USER_MAX: i64 = 20;

/// A way to reach a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactMethod {
    pub id: Id,
    pub user_id: Id,
    /// `email`, `webhook` or `slack`.
    pub kind: String,
    pub address: String,
    pub created_at: Timestamp,
}

/// An escalation as stored: the engine's record, the policy it follows, and the version that
/// [`Store::apply_escalations`] compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEscalation {
    pub policy_id: Id,
    pub escalation: Escalation,
    pub version: i64,
}

/// An incident whose escalation may not match its status any more.
#[derive(Clone, Debug)]
pub struct PendingIncident {
    pub incident: Incident,
    /// The escalation policy of the incident's service now.
    pub service_policy_id: Option<Id>,
    pub escalation: Option<StoredEscalation>,
}

/// A page turned into a message for one contact method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotification {
    pub page_key: String,
    pub user_id: Id,
    pub contact_method_id: Id,
    pub channel: String,
    pub address: String,
    pub level: u32,
    pub wakes_management: bool,
    /// When the first attempt is due: the step's `now` to send at once (the notification is
    /// claimed for it), later for a person's notification rule with a delay.
    pub due: Timestamp,
    /// For a follow-up rather than a page: what became of the incident, sent whatever its status.
    pub follow_up: Option<String>,
}

/// What one step of the escalation of one incident writes. See [`Store::apply_escalations`].
#[derive(Clone, Debug)]
pub struct EscalationUpdate {
    pub incident_id: Id,
    /// The version read, or `None` when there was no escalation.
    pub expected_version: Option<i64>,
    /// The escalation to store, or `None` to leave it as it is.
    pub next: Option<(Id, Escalation)>,
    /// The incident status the step was decided for: the incident's pending mark is cleared only
    /// if its status is still this one, so a change made meanwhile is decided again.
    pub handled_status: Option<Status>,
    pub notifications: Vec<NewNotification>,
    pub timeline: Vec<TimelineEvent>,
    pub now: Timestamp,
    /// How long the new notifications are claimed for their first attempt.
    pub lease: SignedDuration,
}

/// The outcome of one update of [`Store::apply_escalations`].
#[derive(Debug)]
pub enum Applied {
    /// Written. The notifications it created, claimed for their first attempt by the caller.
    Done(Vec<ClaimedNotification>),
    /// The escalation changed since it was read (another replica decided first): nothing written.
    Conflict,
}

/// A notification claimed for one delivery attempt, with everything the message needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedNotification {
    pub id: Id,
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub page_key: String,
    pub user_id: Id,
    pub user_name: String,
    pub channel: String,
    pub address: String,
    /// The webhook signing secret of the contact method; `None` for other channels, or when the
    /// contact method was removed after the page.
    pub secret: Option<String>,
    pub contact_method_exists: bool,
    /// How many earlier attempts were claimed and never recorded, because the replica making
    /// them stopped: any of them may have reached the receiver.
    pub interrupted: u32,
    pub level: u32,
    pub wakes_management: bool,
    pub incident_id: Id,
    pub incident_title: String,
    pub severity: Severity,
    pub kind: Kind,
    pub status: Status,
    pub service_name: String,
    /// For a follow-up rather than a page: what became of the incident ("acknowledged by Bo").
    pub follow_up: Option<String>,
}

/// How a notification attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finish {
    Delivered,
    /// Failed for now; try again at `at`.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// Failed for good.
    Failed {
        error: String,
    },
    /// Not sent, because the incident no longer needs it (it was acknowledged or resolved first),
    /// and no earlier attempt may have been delivered.
    Withdrawn {
        reason: String,
    },
    /// Not sent again, and an earlier attempt was interrupted before its outcome was recorded: the
    /// page may or may not have arrived.
    Unknown {
        reason: String,
    },
}

/// How one delivery attempt ended, to be recorded with [`Store::finish_notifications`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub claim: ClaimedNotification,
    pub finish: Finish,
    /// The timeline entry that tells of it.
    pub event: TimelineEvent,
    /// When the attempt ended.
    pub at: Timestamp,
}

/// A notification as shown on the incident page and by the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: Id,
    pub incident_id: Id,
    pub user_id: Id,
    pub user_name: String,
    pub channel: String,
    pub address: String,
    pub level: u32,
    /// `pending`, `sending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// For a follow-up rather than a page: what it told ("acknowledged by Bo").
    pub follow_up: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EscalationRow {
    incident_id: i64,
    policy_id: i64,
    generation: i64,
    pass: i64,
    level: i64,
    state: String,
    next_deadline: Option<i64>,
    version: i64,
}

impl TryFrom<EscalationRow> for StoredEscalation {
    type Error = StoreError;

    fn try_from(row: EscalationRow) -> Result<StoredEscalation> {
        let what = format!("escalation of incident {}", row.incident_id);
        let small = |n: i64| u32::try_from(n).map_err(|err| corrupt(&what, err));
        let escalation = Escalation {
            incident_id: row.incident_id,
            generation: small(row.generation)?,
            pass: small(row.pass)?,
            level: small(row.level)?,
            state: EscalationState::parse(&row.state).map_err(|err| corrupt(&what, err))?,
            next_deadline: row.next_deadline.map(from_millis),
        };
        escalation.check().map_err(|err| corrupt(&what, err))?;
        Ok(StoredEscalation { policy_id: row.policy_id, escalation, version: row.version })
    }
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    attempts: i64,
    page_key: String,
    user_id: i64,
    user_name: String,
    channel: String,
    address: String,
    secret: Option<String>,
    contact_method_id: Option<i64>,
    interrupted: i64,
    level: i64,
    wakes_management: i64,
    incident_id: i64,
    title: String,
    severity: String,
    kind: String,
    status: String,
    service_name: String,
    follow_up: Option<String>,
}

impl TryFrom<ClaimedRow> for ClaimedNotification {
    type Error = StoreError;

    fn try_from(row: ClaimedRow) -> Result<ClaimedNotification> {
        let what = format!("notification {}", row.id);
        Ok(ClaimedNotification {
            id: row.id,
            attempt: u32::try_from(row.attempts).map_err(|err| corrupt(&what, err))?,
            page_key: row.page_key,
            user_id: row.user_id,
            user_name: row.user_name,
            channel: row.channel,
            address: row.address,
            secret: row.secret,
            contact_method_exists: row.contact_method_id.is_some(),
            interrupted: u32::try_from(row.interrupted).map_err(|err| corrupt(&what, err))?,
            level: u32::try_from(row.level).map_err(|err| corrupt(&what, err))?,
            wakes_management: row.wakes_management != 0,
            incident_id: row.incident_id,
            incident_title: row.title,
            severity: Severity::parse(&row.severity).map_err(|err| corrupt(&what, err))?,
            kind: Kind::parse(&row.kind).map_err(|err| corrupt(&what, err))?,
            status: Status::parse(&row.status).map_err(|err| corrupt(&what, err))?,
            service_name: row.service_name,
            follow_up: row.follow_up,
        })
    }
}

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: i64,
    incident_id: i64,
    user_id: i64,
    user_name: String,
    channel: String,
    address: String,
    level: i64,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    created_at: i64,
    next_attempt_at: i64,
    delivered_at: Option<i64>,
    follow_up: Option<String>,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Notification {
        Notification {
            id: row.id,
            incident_id: row.incident_id,
            user_id: row.user_id,
            user_name: row.user_name,
            channel: row.channel,
            address: row.address,
            level: u32::try_from(row.level).unwrap_or_default(),
            status: row.status,
            attempts: u32::try_from(row.attempts).unwrap_or_default(),
            last_error: row.last_error,
            created_at: from_millis(row.created_at),
            next_attempt_at: from_millis(row.next_attempt_at),
            delivered_at: row.delivered_at.map(from_millis),
            follow_up: row.follow_up,
        }
    }
}

const ESCALATION_COLUMNS: &str =
    "incident_id, policy_id, generation, pass, level, state, next_deadline, version";

/// The columns of a [`ClaimedRow`], over `notifications n` joined with what the message needs.
const CLAIMED_SELECT: &str = "SELECT n.id, n.attempts, n.page_key, n.user_id, u.name AS user_name, n.channel, \
     n.address, c.secret, c.id AS contact_method_id, n.interrupted, n.level, n.wakes_management, n.incident_id, i.title, \
     i.severity, i.kind, i.status, s.name AS service_name, n.follow_up \
     FROM notifications n JOIN users u ON u.id = n.user_id JOIN incidents i ON i.id = n.incident_id \
     JOIN services s ON s.id = i.service_id LEFT JOIN contact_methods c ON c.id = n.contact_method_id";

impl Store {
    /// The contact methods of user `user_id`, oldest first.
    ///
    /// Fails with [`StoreError::NotFound`] when the user does not exist.
    pub async fn contact_methods(&self, user_id: Id) -> Result<Vec<ContactMethod>> {
        self.user(user_id).await?;
        self.contact_methods_of(&[user_id]).await
    }

    /// How many contact methods are of type `kind` (`email`, `webhook`, `slack`).
    pub async fn contact_methods_of_kind(&self, kind: &str) -> Result<i64> {
        Ok(with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar("SELECT COUNT(*) FROM contact_methods WHERE type = $1").bind(kind).fetch_one(&mut *c).await?
        }))
    }

    /// Every contact method of the users `user_ids`, oldest first.
    pub async fn contact_methods_of(&self, user_ids: &[Id]) -> Result<Vec<ContactMethod>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, i64, String, String, i64)> = with_conn!(self.primary().await?.conn(), c => {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT id, user_id, type, address, created_at FROM contact_methods WHERE user_id IN (",
            );
            let mut ids = query.separated(", ");
            for id in user_ids {
                ids.push_bind(*id);
            }
            query.push(") ORDER BY id");
            query.build_query_as().fetch_all(&mut *c).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, user_id, kind, address, created_at)| ContactMethod {
                id,
                user_id,
                kind,
                address,
                created_at: from_millis(created_at),
            })
            .collect())
    }

    // ---- Installation keys ----

    /// The secret key named `name`, made from 32 random bytes the first time it is asked for. Every
    /// replica sharing the database gets the same key.
    pub async fn server_key(&self, name: &str, now: Timestamp) -> Result<Vec<u8>> {
        let fresh = crate::secret::generate("");
        let stored: String = with_pool!(self, pool => {
            sqlx::query("INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(name)
                .bind(&fresh)
                .bind(millis(now))
                .execute(pool)
                .await?;
            sqlx::query_scalar("SELECT secret FROM server_keys WHERE name = $1").bind(name).fetch_one(pool).await?
        });
        (0..stored.len())
            .step_by(2)
            .map(|i| stored.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
            .collect::<Option<Vec<u8>>>()
            .filter(|key| key.len() == 32)
            .ok_or_else(|| corrupt(&format!("server key {name:?}"), "not 64 hex digits"))
    }

    // ---- Escalations ----

    /// Up to `limit` incidents whose escalation must be brought in line with their status: every
    /// incident created, and every change of status, marks one (a database trigger does it).
    pub async fn pending_escalations(&self, limit: u32) -> Result<Vec<PendingIncident>> {
        let (incidents, policies, escalations) = with_pool!(self, pool => {
            let ids: Vec<i64> =
                sqlx::query_scalar("SELECT incident_id FROM escalation_pending ORDER BY incident_id LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut query = sqlx::QueryBuilder::new(format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id IN ("));
            let mut list = query.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            query.push(")");
            let incidents: Vec<IncidentRow> = query.build_query_as().fetch_all(pool).await?;
            let mut query = sqlx::QueryBuilder::new(
                "SELECT i.id, s.escalation_policy_id FROM incidents i JOIN services s ON s.id = i.service_id \
                 WHERE i.id IN (",
            );
            let mut list = query.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            query.push(")");
            let policies: Vec<(i64, Option<i64>)> = query.build_query_as().fetch_all(pool).await?;
            let mut query =
                sqlx::QueryBuilder::new(format!("SELECT {ESCALATION_COLUMNS} FROM escalations WHERE incident_id IN ("));
            let mut list = query.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            query.push(")");
            let escalations: Vec<EscalationRow> = query.build_query_as().fetch_all(pool).await?;
            (incidents, policies, escalations)
        });
        let mut escalations: std::collections::HashMap<Id, StoredEscalation> = escalations
            .into_iter()
            .map(|row| Ok((row.incident_id, StoredEscalation::try_from(row)?)))
            .collect::<Result<_>>()?;
        let policies: std::collections::HashMap<Id, Option<Id>> = policies.into_iter().collect();
        incidents
            .into_iter()
            .map(|row| {
                let incident = Incident::try_from(row)?;
                Ok(PendingIncident {
                    service_policy_id: policies.get(&incident.id).copied().flatten(),
                    escalation: escalations.remove(&incident.id),
                    incident,
                })
            })
            .collect()
    }

    /// Up to `limit` active escalations whose next deadline is at or before `now`, earliest first.
    pub async fn due_escalations(&self, now: Timestamp, limit: u32) -> Result<Vec<StoredEscalation>> {
        let rows: Vec<EscalationRow> = with_pool!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {ESCALATION_COLUMNS} FROM escalations WHERE next_deadline IS NOT NULL \
                 AND next_deadline <= $1 ORDER BY next_deadline LIMIT $2"
            ))
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(StoredEscalation::try_from).collect()
    }

    /// The escalation of incident `id`, if it has one.
    pub async fn escalation(&self, incident_id: Id) -> Result<Option<StoredEscalation>> {
        let row: Option<EscalationRow> = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_as(&format!("SELECT {ESCALATION_COLUMNS} FROM escalations WHERE incident_id = $1"))
                .bind(incident_id)
                .fetch_optional(&mut *c)
                .await?
        });
        row.map(StoredEscalation::try_from).transpose()
    }

    /// Up to `limit` acknowledged incidents whose snooze ran out at `now`, oldest first.
    pub async fn due_snoozes(&self, now: Timestamp, limit: u32) -> Result<Vec<Id>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM incidents WHERE status = 'acknowledged' AND snoozed_until <= $1 \
                 ORDER BY snoozed_until LIMIT $2",
            )
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// When the driver next has something to do: the earliest escalation deadline, notification
    /// attempt or end of a snooze, if any.
    pub async fn next_paging_work(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT MIN(at) FROM (SELECT MIN(next_deadline) AS at FROM escalations \
                 UNION ALL SELECT MIN(next_attempt_at) AS at FROM notifications WHERE status IN ('pending', 'sending') \
                 UNION ALL SELECT MIN(snoozed_until) AS at FROM incidents WHERE status = 'acknowledged') t",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(next.map(from_millis))
    }

    /// Writes steps of escalations in one transaction. Each step is written only if its escalation
    /// is still at `expected_version` (absent when `None`): the new escalation, the new
    /// notifications (claimed for their first attempt), the timeline entries, and the clearing of
    /// the incident's pending mark. Notifications already made for the same page and contact method
    /// are skipped. Returns one [`Applied`] per update, in order.
    pub async fn apply_escalations(&self, updates: &[EscalationUpdate]) -> Result<Vec<Applied>> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let created: Vec<Option<Vec<i64>>> = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut created = Vec::with_capacity(updates.len());
            for update in updates {
                let now = update.now;
                let lease_end = millis(now.saturating_add(update.lease).unwrap_or(now));
                if let Some((policy_id, next)) = &update.next {
                    let written = match update.expected_version {
                        None => sqlx::query(
                            "INSERT INTO escalations (incident_id, policy_id, generation, pass, level, state, \
                             next_deadline, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) \
                             ON CONFLICT (incident_id) DO NOTHING",
                        )
                        .bind(update.incident_id)
                        .bind(*policy_id)
                        .bind(i64::from(next.generation))
                        .bind(i64::from(next.pass))
                        .bind(i64::from(next.level))
                        .bind(next.state.as_str())
                        .bind(next.next_deadline.map(millis))
                        .bind(millis(now))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected(),
                        Some(version) => sqlx::query(
                            "UPDATE escalations SET policy_id = $1, generation = $2, pass = $3, level = $4, \
                             state = $5, next_deadline = $6, version = version + 1, updated_at = $7 \
                             WHERE incident_id = $8 AND version = $9",
                        )
                        .bind(*policy_id)
                        .bind(i64::from(next.generation))
                        .bind(i64::from(next.pass))
                        .bind(i64::from(next.level))
                        .bind(next.state.as_str())
                        .bind(next.next_deadline.map(millis))
                        .bind(millis(now))
                        .bind(update.incident_id)
                        .bind(version)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected(),
                    };
                    if written == 0 {
                        created.push(None);
                        continue;
                    }
                }
                if let Some(status) = update.handled_status {
                    sqlx::query(
                        "DELETE FROM escalation_pending WHERE incident_id = $1 \
                         AND EXISTS (SELECT 1 FROM incidents WHERE id = $1 AND status = $2)",
                    )
                    .bind(update.incident_id)
                    .bind(status.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                let mut ids = Vec::new();
                for new in &update.notifications {
                    // Due now: claimed for its first attempt. Due later: pending until then.
                    let later = new.due > now;
                    let (status, attempts, next_attempt_at) =
                        if later { ("pending", 0_i64, millis(new.due)) } else { ("sending", 1_i64, lease_end) };
                    let id: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO notifications (incident_id, page_key, user_id, contact_method_id, channel, \
                         address, level, wakes_management, status, attempts, next_attempt_at, created_at, follow_up) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $11, $12, $9, $10, $13) \
                         ON CONFLICT (page_key, contact_method_id) DO NOTHING RETURNING id",
                    )
                    .bind(update.incident_id)
                    .bind(&new.page_key)
                    .bind(new.user_id)
                    .bind(new.contact_method_id)
                    .bind(&new.channel)
                    .bind(&new.address)
                    .bind(i64::from(new.level))
                    .bind(i64::from(new.wakes_management))
                    .bind(next_attempt_at)
                    .bind(millis(now))
                    .bind(status)
                    .bind(attempts)
                    .bind(&new.follow_up)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if !later {
                        ids.extend(id);
                    }
                }
                for event in &update.timeline {
                    insert_timeline!(tx, update.incident_id, now, SYSTEM_ACTOR, event);
                }
                created.push(Some(ids));
            }
            tx.commit().await?;
            created
        });
        let all: Vec<i64> = created.iter().flatten().flatten().copied().collect();
        let mut claimed: std::collections::HashMap<i64, ClaimedNotification> =
            self.claimed(&all).await?.into_iter().map(|claim| (claim.id, claim)).collect();
        Ok(created
            .into_iter()
            .map(|ids| match ids {
                None => Applied::Conflict,
                Some(ids) => Applied::Done(ids.iter().filter_map(|id| claimed.remove(id)).collect()),
            })
            .collect())
    }

    /// The claimed notifications `ids`, with everything their messages need, in id order.
    async fn claimed(&self, ids: &[i64]) -> Result<Vec<ClaimedNotification>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ClaimedRow> = with_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new(format!("{CLAIMED_SELECT} WHERE n.id IN ("));
            let mut list = query.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            query.push(") ORDER BY n.id");
            query.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(ClaimedNotification::try_from).collect()
    }

    /// Claims up to `limit` notifications whose next attempt is due at `now` (including attempts
    /// whose claim expired) for one attempt each, for `lease`. Each claim is made by exactly one
    /// caller, across replicas.
    pub async fn claim_notifications(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<ClaimedNotification>> {
        let lease_end = millis(now.saturating_add(lease).unwrap_or(now));
        let skip_locked = match self.backend {
            Backend::Sqlite { .. } => "",
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let ids: Vec<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(&format!(
                "UPDATE notifications SET status = 'sending', attempts = attempts + 1, next_attempt_at = $1, \
                 interrupted = interrupted + CASE WHEN status = 'sending' THEN 1 ELSE 0 END \
                 WHERE id IN (SELECT id FROM notifications WHERE status IN ('pending', 'sending') \
                 AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3{skip_locked}) RETURNING id"
            ))
            .bind(lease_end)
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        self.claimed(&ids).await
    }

    /// Records how attempt `claim.attempt` of a notification ended, with `event` on the incident's
    /// timeline, if the claim still holds. Returns whether it did: `false` means the lease expired
    /// and someone else has claimed the notification since.
    pub async fn finish_notification(
        &self,
        claim: &ClaimedNotification,
        finish: &Finish,
        event: &TimelineEvent,
        now: Timestamp,
    ) -> Result<bool> {
        let outcome = Outcome { claim: claim.clone(), finish: finish.clone(), event: event.clone(), at: now };
        Ok(self.finish_notifications(std::slice::from_ref(&outcome)).await?.first().copied().unwrap_or(false))
    }

    /// [`Store::finish_notification`] for many attempts in one transaction: one commit for a burst
    /// of deliveries instead of one each.
    pub async fn finish_notifications(&self, outcomes: &[Outcome]) -> Result<Vec<bool>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut held = Vec::with_capacity(outcomes.len());
            for Outcome { claim, finish, event, at } in outcomes {
                let (status, next_attempt_at, error, delivered_at) = match finish {
                    Finish::Delivered => ("delivered", *at, None, Some(millis(*at))),
                    Finish::Retry { at: retry, error } => ("pending", *retry, Some(error.as_str()), None),
                    Finish::Failed { error } => ("failed", *at, Some(error.as_str()), None),
                    Finish::Withdrawn { reason } => ("withdrawn", *at, Some(reason.as_str()), None),
                    Finish::Unknown { reason } => ("unknown", *at, Some(reason.as_str()), None),
                };
                let updated = sqlx::query(
                    "UPDATE notifications SET status = $1, next_attempt_at = $2, last_error = $3, delivered_at = $4 \
                     WHERE id = $5 AND attempts = $6 AND status = 'sending'",
                )
                .bind(status)
                .bind(millis(next_attempt_at))
                .bind(error)
                .bind(delivered_at)
                .bind(claim.id)
                .bind(i64::from(claim.attempt))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 1 {
                    insert_timeline!(tx, claim.incident_id, *at, SYSTEM_ACTOR, event);
                }
                held.push(updated == 1);
            }
            tx.commit().await?;
            Ok(held)
        })
    }

    /// The notifications of incident `incident_id`, oldest first.
    pub async fn incident_notifications(&self, incident_id: Id) -> Result<Vec<Notification>> {
        let rows: Vec<NotificationRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT n.id, n.incident_id, n.user_id, u.name AS user_name, n.channel, n.address, n.level, \
                 n.status, n.attempts, n.last_error, n.created_at, n.next_attempt_at, n.delivered_at, n.follow_up \
                 FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.incident_id = $1 ORDER BY n.id",
            )
            .bind(incident_id)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows.into_iter().map(Notification::from).collect())
    }
}

impl Tx {
    /// Makes incident `incident_id`'s active escalation due now, so that the driver pages its next
    /// level at once, with `actor` on the timeline. Returns the level paged last, or `None` when
    /// the incident is not being paged (no policy, acknowledged, resolved, or every level paged).
    pub async fn escalate_now(
        &mut self,
        incident_id: Id,
        actor: &str,
        now: Timestamp,
    ) -> Result<Option<u32>> {
        let now = crate::rows::truncate(now);
        let level: Option<i64> = with_conn!(self.conn(), c => {
            let level: Option<i64> = sqlx::query_scalar(
                "UPDATE escalations SET next_deadline = $1, version = version + 1, updated_at = $1 \
                 WHERE incident_id = $2 AND state = 'active' RETURNING level",
            )
            .bind(millis(now))
            .bind(incident_id)
            .fetch_optional(&mut *c)
            .await?;
            if let Some(level) = level {
                let event = TimelineEvent::EscalatedNow { level: u32::try_from(level).unwrap_or(u32::MAX) };
                insert_timeline!(c, incident_id, now, actor, &event);
            }
            level
        });
        Ok(level.map(|level| u32::try_from(level).unwrap_or(u32::MAX)))
    }
}

impl Tx {
    /// Adds a contact method to user `user_id`. `secret` is the webhook signing secret, if any.
    ///
    /// Fails with [`StoreError::NotFound`] when the user does not exist and
    /// [`StoreError::Conflict`] when the user already has this address or too many methods.
    pub async fn create_contact_method(
        &mut self,
        user_id: Id,
        kind: &str,
        address: &str,
        secret: Option<&str>,
        now: Timestamp,
    ) -> Result<ContactMethod> {
        let now = rows::truncate(now);
        let id: i64 = with_conn!(self.conn(), c => {
            let count: Option<i64> = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM contact_methods WHERE user_id = $1) FROM users WHERE id = $1",
            )
            .bind(user_id)
            .fetch_optional(&mut *c)
            .await?;
            match count {
                None => return Err(StoreError::NotFound(format!("there is no user {user_id}"))),
                Some(n) if n >= CONTACT_METHODS_PER_USER_MAX => {
                    return Err(StoreError::Conflict(format!(
                        "user {user_id} already has {CONTACT_METHODS_PER_USER_MAX} contact methods"
                    )));
                }
                Some(_) => {}
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO contact_methods (user_id, type, address, secret, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(user_id)
            .bind(kind)
            .bind(address)
            .bind(secret)
            .bind(millis(now))
            .fetch_one(&mut *c)
            .await
            .map_err(|err| match StoreError::from(err) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("user {user_id} already has the {kind} contact {address:?}"))
                }
                other => other,
            })?;
            id
        });
        Ok(ContactMethod { id, user_id, kind: kind.to_owned(), address: address.to_owned(), created_at: now })
    }

    /// Removes contact method `id` of user `user_id`. Notifications already made keep their
    /// channel and address; attempts still due fail, since there is no secret to sign with.
    ///
    /// Fails with [`StoreError::NotFound`] when the user has no such contact method.
    pub async fn delete_contact_method(&mut self, user_id: Id, id: Id) -> Result<()> {
        let deleted = with_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM notification_rules WHERE contact_method_id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *c)
                .await?;
            sqlx::query("DELETE FROM contact_methods WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(StoreError::NotFound(format!("user {user_id} has no contact method {id}")));
        }
        Ok(())
    }
}

/// A stored rule's columns, in [`NotificationRule`] order.
type RuleRow = (i64, i64, i64, String, i64, String);

fn rule_from_row(row: RuleRow) -> Result<NotificationRule> {
    let (id, user_id, contact_method_id, urgency, delay_minutes, hours) = row;
    let what = format!("notification rule {id}");
    Ok(NotificationRule {
        id,
        user_id,
        contact_method_id,
        urgency: Urgency::parse(&urgency).map_err(|err| corrupt(&what, err))?,
        delay_minutes,
        hours: Hours::parse(&hours).map_err(|err| corrupt(&what, err))?,
    })
}

const RULE_COLUMNS: &str = "id, user_id, contact_method_id, urgency, delay_minutes, hours";

impl Store {
    /// The notification rules of user `user_id`, by delay.
    pub async fn notification_rules(&self, user_id: Id) -> Result<Vec<NotificationRule>> {
        let rows: Vec<RuleRow> = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {RULE_COLUMNS} FROM notification_rules WHERE user_id = $1 ORDER BY urgency, delay_minutes, id"
            ))
            .bind(user_id)
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(rule_from_row).collect()
    }
}

impl Tx {
    /// Adds a notification rule for user `user_id` on one of their contact methods.
    ///
    /// Fails with [`StoreError::NotFound`] when the user has no such contact method, and
    /// [`StoreError::Conflict`] when the same rule exists or the user has too many.
    pub async fn create_notification_rule(
        &mut self,
        user_id: Id,
        contact_method_id: Id,
        urgency: Urgency,
        delay_minutes: i64,
        hours: Hours,
        now: Timestamp,
    ) -> Result<NotificationRule> {
        let id: i64 = with_conn!(self.conn(), c => {
            let owner: Option<i64> = sqlx::query_scalar("SELECT user_id FROM contact_methods WHERE id = $1")
                .bind(contact_method_id)
                .fetch_optional(&mut *c)
                .await?;
            if owner != Some(user_id) {
                return Err(StoreError::NotFound(format!(
                    "user {user_id} has no contact method {contact_method_id}"
                )));
            }
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notification_rules WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&mut *c)
                .await?;
            if count >= RULES_PER_USER_MAX as i64 {
                return Err(StoreError::Conflict(format!(
                    "user {user_id} already has {RULES_PER_USER_MAX} notification rules"
                )));
            }
            sqlx::query_scalar(
                "INSERT INTO notification_rules (user_id, contact_method_id, urgency, delay_minutes, hours, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(user_id)
            .bind(contact_method_id)
            .bind(urgency.as_str())
            .bind(delay_minutes)
            .bind(hours.as_str())
            .bind(millis(now))
            .fetch_one(&mut *c)
            .await
            .map_err(|err| match StoreError::from(err) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "contact method {contact_method_id} already has a {} urgency rule after {delay_minutes} minutes",
                    urgency.as_str()
                )),
                other => other,
            })?
        });
        Ok(NotificationRule { id, user_id, contact_method_id, urgency, delay_minutes, hours })
    }

    /// Removes notification rule `id` of user `user_id`.
    ///
    /// Fails with [`StoreError::NotFound`] when the user has no such rule.
    pub async fn delete_notification_rule(&mut self, user_id: Id, id: Id) -> Result<()> {
        let deleted = with_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM notification_rules WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(StoreError::NotFound(format!("user {user_id} has no notification rule {id}")));
        }
        Ok(())
    }

    /// Changes the address of contact method `id` of user `user_id` (and its secret, when given:
    /// an ntfy access token). Notifications already made keep the address they were sent to.
    ///
    /// Fails with [`StoreError::NotFound`] when the user has no such contact method and
    /// [`StoreError::Conflict`] when they have the new address already.
    pub async fn update_contact_method(
        &mut self,
        user_id: Id,
        id: Id,
        address: &str,
        secret: Option<Option<&str>>,
    ) -> Result<ContactMethod> {
        let row: Option<(i64, i64, String, String, i64)> = with_conn!(self.conn(), c => {
            let kind: Option<String> =
                sqlx::query_scalar("SELECT type FROM contact_methods WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user_id)
                    .fetch_optional(&mut *c)
                    .await?;
            let Some(kind) = kind else {
                return Err(StoreError::NotFound(format!("user {user_id} has no contact method {id}")));
            };
            let mut query = sqlx::QueryBuilder::new("UPDATE contact_methods SET address = ");
            query.push_bind(address);
            if let Some(secret) = secret {
                query.push(", secret = ").push_bind(secret);
            }
            query.push(" WHERE id = ").push_bind(id);
            query.build().execute(&mut *c).await.map_err(|err| match StoreError::from(err) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("user {user_id} already has the {kind} contact {address:?}"))
                }
                other => other,
            })?;
            sqlx::query_as("SELECT id, user_id, type, address, created_at FROM contact_methods WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        let (id, user_id, kind, address, created_at) =
            row.ok_or_else(|| StoreError::NotFound(format!("user {user_id} has no contact method {id}")))?;
        Ok(ContactMethod { id, user_id, kind, address, created_at: from_millis(created_at) })
    }
}

impl Store {
    /// The users who have a contact method of type `kind` at `address`, by id.
    pub async fn users_with_contact(&self, kind: &str, address: &str) -> Result<Vec<Id>> {
        Ok(with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar(
                "SELECT DISTINCT c.user_id FROM contact_methods c JOIN users u ON u.id = c.user_id \
                 WHERE c.type = $1 AND c.address = $2 AND u.deleted_at IS NULL ORDER BY c.user_id",
            )
            .bind(kind)
            .bind(address)
            .fetch_all(&mut *c)
            .await?
        }))
    }

    /// The incident and person of notification `id`, if there is one.
    pub async fn notification_target(&self, id: Id) -> Result<Option<(Id, Id)>> {
        Ok(with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as("SELECT incident_id, user_id FROM notifications WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        }))
    }

    /// The incidents that paged one of `users` through a contact method of type `channel`, newest
    /// first, at most `limit`.
    pub async fn incidents_paged_to(&self, users: &[Id], channel: &str, limit: u32) -> Result<Vec<(Id, Id)>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        Ok(with_conn!(self.reader().await?.conn(), c => {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT incident_id, user_id FROM notifications WHERE channel = ",
            );
            query.push_bind(channel).push(" AND user_id IN (");
            let mut ids = query.separated(", ");
            for user in users {
                ids.push_bind(*user);
            }
            query.push(") GROUP BY incident_id, user_id ORDER BY MAX(id) DESC LIMIT ").push_bind(i64::from(limit));
            query.build_query_as().fetch_all(&mut *c).await?
        }))
    }
}

impl Tx {
    /// Pages user `user_id` about incident `incident_id` on every contact method, outside the
    /// escalation: one notification per method, due at `now` and pending, which the escalation
    /// driver claims and sends at its next round. Returns how many were made.
    pub async fn page_directly(
        &mut self,
        incident_id: Id,
        user_id: Id,
        page_key: &str,
        now: Timestamp,
    ) -> Result<u64> {
        Ok(with_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO notifications (incident_id, page_key, user_id, contact_method_id, channel, \
                 address, level, wakes_management, status, attempts, next_attempt_at, created_at) \
                 SELECT $1, $2, user_id, id, type, address, 0, 0, 'pending', 0, $3, $3 \
                 FROM contact_methods WHERE user_id = $4 \
                 ON CONFLICT (page_key, contact_method_id) DO NOTHING",
            )
            .bind(incident_id)
            .bind(page_key)
            .bind(millis(now))
            .bind(user_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        }))
    }
}

/// Someone who got a page of an incident, and where: whom a follow-up goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paged {
    pub user_id: Id,
    pub user_name: String,
    pub contact_method_id: Id,
    pub channel: String,
    pub address: String,
}

impl Store {
    /// Everyone a page of incident `incident_id` reached (delivered, or possibly delivered),
    /// once per contact method that still exists, for follow-ups.
    pub async fn paged_for(&self, incident_id: Id) -> Result<Vec<Paged>> {
        let rows: Vec<(i64, String, i64, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT DISTINCT n.user_id, u.name, n.contact_method_id, c.type, c.address FROM notifications n \
                 JOIN users u ON u.id = n.user_id JOIN contact_methods c ON c.id = n.contact_method_id \
                 WHERE n.incident_id = $1 AND n.follow_up IS NULL AND n.status IN ('delivered', 'unknown') \
                 AND u.deleted_at IS NULL ORDER BY n.user_id, n.contact_method_id",
            )
            .bind(incident_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(user_id, user_name, contact_method_id, channel, address)| Paged {
                user_id,
                user_name,
                contact_method_id,
                channel,
                address,
            })
            .collect())
    }

    /// Who last moved incident `incident_id` to `status`, as its timeline says.
    pub async fn status_actor(&self, incident_id: Id, status: Status) -> Result<Option<String>> {
        // Only the status changes, newest first: an incident's timeline can hold many alerts.
        let rows: Vec<rows::TimelineRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, incident_id, at, actor, event, data FROM timeline \
                 WHERE incident_id = $1 AND event = 'status_changed' ORDER BY id DESC",
            )
            .bind(incident_id)
            .fetch_all(pool)
            .await?
        });
        for row in rows {
            let entry = firebreak_domain::TimelineEntry::try_from(row)?;
            if matches!(entry.event, TimelineEvent::StatusChanged { to, .. } if to == status) {
                return Ok(Some(entry.actor));
            }
        }
        Ok(None)
    }
}
