//! Expected-outcome rules and the business events they read.
//!
//! A rule is stored as its canonical sentence (`domain::OutcomeRule`'s `Display`) and read back
//! with `OutcomeRule::parse`; a sentence that no longer reads is corruption. Events are stored per
//! service, not per rule, so a rule made or changed later reads the events already there. A
//! batch of events is written in one transaction ([`Store::record_outcome_events`]); events older
//! than any rule can need are deleted in bounded batches ([`Store::prune_outcome_events`]).

use std::collections::BTreeMap;

use firebreak_domain::{Id, OutcomeEvent, OutcomeRule, Severity};
use jiff::Timestamp;

use crate::rows::{corrupt, from_millis, millis};
use crate::{Conn, Result, Store, StoreError, Tx};

/// Events written with one multi-row insert (6 parameters each, within SQLite's 32,766).
const EVENTS_PER_INSERT: usize = 1_000;

/// A rule to create, or what a rule becomes.
#[derive(Clone, Debug)]
pub struct NewOutcomeRule {
    pub service_id: Id,
    pub name: String,
    pub rule: OutcomeRule,
    pub severity: Severity,
    /// For each event read from a Prometheus-compatible API instead of posted events, the PromQL
    /// expression giving its count over `$window`.
    pub queries: BTreeMap<String, String>,
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOutcomeRule {
    pub id: Id,
    pub service_id: Id,
    pub name: String,
    pub rule: OutcomeRule,
    pub severity: Severity,
    /// For each event read from a Prometheus-compatible API, the PromQL expression giving its
    /// count over `$window`.
    pub queries: BTreeMap<String, String>,
    /// Whether its alert is raised.
    pub alert_open: bool,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// An event to record, for a service already found by its integration key.
#[derive(Clone, Debug)]
pub struct NewOutcomeEvent {
    pub service_id: Id,
    pub event: OutcomeEvent,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    service_id: i64,
    name: String,
    rule: String,
    severity: String,
    queries: String,
    alert_open: bool,
    created_at: i64,
    created_by: String,
}

const COLUMNS: &str = "id, service_id, name, rule, severity, queries, alert_open, created_at, created_by";

fn from_row(row: RuleRow) -> Result<StoredOutcomeRule> {
    let what = format!("outcome rule {}", row.id);
    Ok(StoredOutcomeRule {
        id: row.id,
        service_id: row.service_id,
        rule: OutcomeRule::parse(&row.rule).map_err(|err| corrupt(&what, err))?,
        severity: Severity::parse(&row.severity).map_err(|err| corrupt(&what, err))?,
        queries: serde_json::from_str(&row.queries).map_err(|err| corrupt(&what, err))?,
        name: row.name,
        alert_open: row.alert_open,
        created_at: from_millis(row.created_at),
        created_by: row.created_by,
    })
}

#[derive(sqlx::FromRow)]
struct EventRow {
    event: String,
    at: i64,
    count: i64,
    key: Option<String>,
}

fn event_from_row(row: EventRow) -> Result<OutcomeEvent> {
    Ok(OutcomeEvent {
        count: u32::try_from(row.count).map_err(|err| corrupt("outcome event", err))?,
        event: row.event,
        at: from_millis(row.at),
        key: row.key,
    })
}

fn queries_text(queries: &BTreeMap<String, String>) -> String {
    serde_json::to_string(queries).expect("a map of strings always serializes")
}

fn name_taken(name: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |err| match StoreError::from(err) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("the service has an outcome rule named {name:?} already"))
        }
        other => other,
    }
}

impl Store {
    /// The rules of one service, or of every service, by name; not those of deleted services.
    pub async fn outcome_rules(&self, service_id: Option<Id>) -> Result<Vec<StoredOutcomeRule>> {
        let rows: Vec<RuleRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM outcome_rules WHERE deleted_at IS NULL AND ($1 IS NULL OR service_id = $1) \
                 AND service_id IN (SELECT id FROM services WHERE deleted_at IS NULL) ORDER BY name, id"
            ))
            .bind(service_id)
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(from_row).collect()
    }

    /// Every rule the worker looks at: those not deleted, and deleted ones (or ones of a deleted
    /// service) whose alert is open, each with whether it is gone.
    pub async fn outcome_rules_to_watch(&self) -> Result<Vec<(StoredOutcomeRule, bool)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            rule: RuleRow,
            gone: bool,
        }
        let rows: Vec<Row> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT r.id, r.service_id, r.name, r.rule, r.severity, r.queries, r.alert_open, r.created_at, r.created_by, \
                 (r.deleted_at IS NOT NULL OR s.deleted_at IS NOT NULL) AS gone \
                 FROM outcome_rules r JOIN services s ON s.id = r.service_id \
                 WHERE (r.deleted_at IS NULL AND s.deleted_at IS NULL) OR r.alert_open ORDER BY r.id",
            )
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(|row| Ok((from_row(row.rule)?, row.gone))).collect()
    }

    /// Fails with [`StoreError::NotFound`] when there is no rule `id` (or it was deleted).
    pub async fn outcome_rule(&self, id: Id) -> Result<StoredOutcomeRule> {
        self.primary().await?.conn().outcome_rule(id).await
    }

    /// Records `events` in one transaction.
    pub async fn record_outcome_events(&self, events: &[NewOutcomeEvent], now: Timestamp) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for chunk in events.chunks(EVENTS_PER_INSERT) {
            with_conn!(tx.conn(), c => {
                let mut query = sqlx::QueryBuilder::new(
                    "INSERT INTO outcome_events (service_id, event, at, count, key, received_at) ",
                );
                query.push_values(chunk, |mut row, new| {
                    row.push_bind(new.service_id)
                        .push_bind(&new.event.event)
                        .push_bind(millis(new.event.at))
                        .push_bind(i64::from(new.event.count))
                        .push_bind(&new.event.key)
                        .push_bind(millis(now));
                });
                query.build().execute(&mut *c).await?;
            });
        }
        tx.commit().await
    }

    /// The events named `names` of service `service_id` after `from` and up to `to`, oldest
    /// first, at most `limit` of them.
    pub async fn outcome_events(
        &self,
        service_id: Id,
        names: &[&str],
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutcomeEvent>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<EventRow> = with_conn!(self.reader().await?.conn(), c => {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT event, at, count, key FROM outcome_events WHERE service_id = ",
            );
            query.push_bind(service_id).push(" AND event IN (");
            let mut separated = query.separated(", ");
            for name in names {
                separated.push_bind(*name);
            }
            query
                .push(") AND at > ")
                .push_bind(millis(from))
                .push(" AND at <= ")
                .push_bind(millis(to))
                .push(" ORDER BY at, id LIMIT ")
                .push_bind(limit);
            query.build_query_as().fetch_all(&mut *c).await?
        });
        rows.into_iter().map(event_from_row).collect()
    }

    /// The sum of the counts of service `service_id`'s events named `name` after `from` and up to
    /// `to`.
    pub async fn outcome_event_count(
        &self,
        service_id: Id,
        name: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<u64> {
        // PostgreSQL sums BIGINT as NUMERIC: cast back, on both backends alike.
        let count: Option<i64> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar(
                "SELECT CAST(SUM(count) AS BIGINT) FROM outcome_events \
                 WHERE service_id = $1 AND event = $2 AND at > $3 AND at <= $4",
            )
            .bind(service_id)
            .bind(name)
            .bind(millis(from))
            .bind(millis(to))
            .fetch_one(&mut *c)
            .await?
        });
        Ok(count.map_or(0, |count| u64::try_from(count).unwrap_or(0)))
    }

    /// When service `service_id`'s last event named `name` at or before `to` happened, however
    /// long ago (until pruned).
    pub async fn last_outcome_event_at(
        &self,
        service_id: Id,
        name: &str,
        to: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let last: Option<i64> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar(
                "SELECT MAX(at) FROM outcome_events WHERE service_id = $1 AND event = $2 AND at <= $3",
            )
            .bind(service_id)
            .bind(name)
            .bind(millis(to))
            .fetch_one(&mut *c)
            .await?
        });
        Ok(last.map(from_millis))
    }

    /// Deletes at most `limit` events that happened before `before`, and says how many it deleted.
    pub async fn prune_outcome_events(&self, before: Timestamp, limit: i64) -> Result<u64> {
        let deleted = with_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM outcome_events WHERE id IN \
                 (SELECT id FROM outcome_events WHERE at < $1 ORDER BY at LIMIT $2)",
            )
            .bind(millis(before))
            .bind(limit)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(deleted)
    }

    /// Marks rule `id`'s alert open or closed, if it was `from`; says whether it changed, so that
    /// of replicas deciding together one raises or resolves the alert.
    pub async fn set_outcome_alert(&self, id: Id, from: bool, to: bool) -> Result<bool> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE outcome_rules SET alert_open = $1 WHERE id = $2 AND alert_open = $3")
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
    pub(crate) async fn outcome_rule(self, id: Id) -> Result<StoredOutcomeRule> {
        let row: Option<RuleRow> = with_conn!(self, c => {
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM outcome_rules WHERE id = $1 AND deleted_at IS NULL"))
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        from_row(row.ok_or_else(|| StoreError::NotFound(format!("there is no outcome rule {id}")))?)
    }
}

impl Tx {
    /// Creates a rule. Fails with [`StoreError::NotFound`] for an unknown service and
    /// [`StoreError::Conflict`] when the service has a rule of that name.
    pub async fn create_outcome_rule(
        &mut self,
        rule: &NewOutcomeRule,
        actor: &str,
        now: Timestamp,
    ) -> Result<StoredOutcomeRule> {
        self.conn().service(rule.service_id).await?;
        let id: i64 = with_conn!(self.conn(), c => {
            sqlx::query_scalar(
                "INSERT INTO outcome_rules (service_id, name, rule, severity, queries, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(rule.service_id)
            .bind(&rule.name)
            .bind(rule.rule.to_string())
            .bind(rule.severity.as_str())
            .bind(queries_text(&rule.queries))
            .bind(millis(now))
            .bind(actor)
            .fetch_one(&mut *c)
            .await
            .map_err(name_taken(&rule.name))?
        });
        self.conn().outcome_rule(id).await
    }

    /// Changes rule `id`'s name, sentence, severity and queries (not its service). Fails with
    /// [`StoreError::NotFound`] for an unknown rule and [`StoreError::Conflict`] for a name its
    /// service has already.
    pub async fn update_outcome_rule(&mut self, id: Id, rule: &NewOutcomeRule) -> Result<StoredOutcomeRule> {
        let changed = with_conn!(self.conn(), c => {
            sqlx::query(
                "UPDATE outcome_rules SET name = $1, rule = $2, severity = $3, queries = $4 \
                 WHERE id = $5 AND deleted_at IS NULL",
            )
            .bind(&rule.name)
            .bind(rule.rule.to_string())
            .bind(rule.severity.as_str())
            .bind(queries_text(&rule.queries))
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(name_taken(&rule.name))?
            .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("there is no outcome rule {id}")));
        }
        self.conn().outcome_rule(id).await
    }

    /// Deletes rule `id`; its row stays, marked, until its alert is resolved.
    pub async fn delete_outcome_rule(&mut self, id: Id, now: Timestamp) -> Result<()> {
        let changed = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE outcome_rules SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(millis(now))
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("there is no outcome rule {id}")));
        }
        Ok(())
    }
}
