//! Alerts, their grouping into incidents, and silences.
//!
//! [`Store::ingest`] takes a batch of alert events (from many requests at once: the server commits
//! them together) and applies them in one transaction with a fixed number of statements per batch
//! wherever it can: repeats of one dedup key inside a batch are folded before touching the
//! database, existing alerts are read with one query per few hundred keys, and new alerts are
//! written with multi-row inserts.

use std::collections::{BTreeMap, HashMap};

use firebreak_domain::{
    Alert, AlertAction, AlertEvent, AlertSettings, AlertStatus, Command, GroupBy, GroupingRule, Id, Incident,
    Kind, Severity, Status, TimelineEvent,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::rows::{self, millis};
use crate::silences::{SILENCE_COLUMNS, SilenceRow, silence_from_row};
use crate::{Backend, Result, Store, StoreError, Tx};

/// The actor recorded for what firebreak does on its own.
pub const SYSTEM_ACTOR: &str = "firebreak";
/// Alerts listed one by one on an incident's timeline per batch; the rest are counted.
pub const TIMELINE_ALERTS_PER_BATCH_MAX: usize = 20;
/// Keys per query when reading existing alerts, and rows per multi-row insert (both powers of
/// two: see [`shaped_chunks`]).
const KEYS_PER_QUERY: usize = 256;
const ROWS_PER_INSERT: usize = 128;

/// One event to ingest for a service. Its dedup key must be set.
#[derive(Clone, Debug)]
pub struct IngestItem {
    pub service_id: Id,
    pub event: AlertEvent,
}

/// What a batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestSummary {
    pub alerts_created: usize,
    pub incidents_opened: Vec<Id>,
    pub alerts_silenced: usize,
    /// Events left out because their service no longer exists (journaled ingest only).
    pub events_dropped: usize,
    /// Incidents acknowledged or resolved because their alerts were.
    pub incidents_changed: usize,
}

/// An alert of a batch, as the batch's events so far have left it.
struct Folded<'a> {
    /// Its id: read with it, or returned by its insert when a timeline names it.
    existing_id: Option<Id>,
    service_id: Id,
    dedup_key: String,
    /// Stored, or triggered in this batch: acknowledging or resolving an alert that does not
    /// exist does nothing.
    exists: bool,
    status: AlertStatus,
    /// The batch's last trigger of the alert, whose description it takes.
    last: Option<&'a AlertEvent>,
    count_delta: i64,
    first_seen_at: Timestamp,
    resolved_at: Option<Timestamp>,
    incident_id: Option<Id>,
    silence_id: Option<Id>,
    changed: bool,
    /// The summary stored before this batch, for what is said of it before its first trigger.
    stored_summary: String,
}

impl<'a> Folded<'a> {
    fn new(key: &(Id, String), now: Timestamp) -> Folded<'a> {
        Folded {
            existing_id: None,
            service_id: key.0,
            dedup_key: key.1.clone(),
            exists: false,
            status: AlertStatus::Resolved,
            last: None,
            count_delta: 0,
            first_seen_at: now,
            resolved_at: None,
            incident_id: None,
            silence_id: None,
            changed: false,
            stored_summary: String::new(),
        }
    }

    fn stored(row: ExistingAlert) -> Result<Folded<'a>> {
        Ok(Folded {
            existing_id: Some(row.id),
            service_id: row.service_id,
            dedup_key: row.dedup_key,
            exists: true,
            status: AlertStatus::parse(&row.status).map_err(|err| rows::corrupt("alert", err))?,
            last: None,
            count_delta: 0,
            first_seen_at: rows::from_millis(row.first_seen_at),
            resolved_at: row.resolved_at.map(rows::from_millis),
            incident_id: row.incident_id,
            silence_id: row.silence_id,
            changed: false,
            stored_summary: row.summary,
        })
    }

    fn is_open(&self) -> bool {
        self.status != AlertStatus::Resolved
    }

    /// Sets the alert's status and incident, keeping the incidents' counts of open alerts.
    fn put(&mut self, status: AlertStatus, incident_id: Option<Id>, touched: &mut HashMap<Id, Touched>) {
        if self.is_open()
            && let Some(incident) = self.incident_id.and_then(|id| touched.get_mut(&id))
        {
            incident.open_delta -= 1;
        }
        self.status = status;
        self.incident_id = incident_id;
        if self.is_open()
            && let Some(incident) = self.incident_id.and_then(|id| touched.get_mut(&id))
        {
            incident.open_delta += 1;
        }
    }
}

/// An incident that a batch's alerts are on, as the batch's events so far have left it.
struct Touched {
    status: Status,
    severity: Severity,
    /// The group the batch found or opened it in, to look for another open incident in once it
    /// resolves.
    slot: Option<(Id, String)>,
    /// Its open alerts before the batch, read when first needed.
    stored_open: Option<i64>,
    /// The batch's alerts open on it now, less those open on it before the batch.
    open_delta: i64,
}

impl Touched {
    fn stored(status: &str, severity: &str, id: Id) -> Result<Touched> {
        let what = format!("incident {id}");
        Ok(Touched {
            status: Status::parse(status).map_err(|err| rows::corrupt(&what, err))?,
            severity: Severity::parse(severity).map_err(|err| rows::corrupt(&what, err))?,
            slot: None,
            stored_open: None,
            open_delta: 0,
        })
    }
}

struct ExistingAlert {
    id: i64,
    service_id: i64,
    dedup_key: String,
    status: String,
    summary: String,
    first_seen_at: i64,
    resolved_at: Option<i64>,
    incident_id: Option<i64>,
    silence_id: Option<i64>,
}

/// A service's settings and open incident (default grouping), with one of its stored alerts
/// from the batch and that alert's incident, if any.
#[derive(sqlx::FromRow)]
struct ServiceAlertRow {
    service_id: i64,
    auto_resolve: i64,
    group_by: String,
    group_window_secs: Option<i64>,
    open_id: Option<i64>,
    open_created_at: Option<i64>,
    open_status: Option<String>,
    open_severity: Option<String>,
    id: Option<i64>,
    dedup_key: Option<String>,
    status: Option<String>,
    summary: Option<String>,
    first_seen_at: Option<i64>,
    resolved_at: Option<i64>,
    incident_id: Option<i64>,
    silence_id: Option<i64>,
    incident_status: Option<String>,
    incident_severity: Option<String>,
}

impl ServiceAlertRow {
    fn settings(&self) -> AlertSettings {
        settings_from_row(&SettingsRow {
            auto_resolve: self.auto_resolve,
            group_by: self.group_by.clone(),
            group_window_secs: self.group_window_secs,
        })
    }

    fn alert(self) -> Option<ExistingAlert> {
        Some(ExistingAlert {
            id: self.id?,
            service_id: self.service_id,
            dedup_key: self.dedup_key?,
            status: self.status?,
            summary: self.summary?,
            first_seen_at: self.first_seen_at?,
            resolved_at: self.resolved_at,
            incident_id: self.incident_id,
            silence_id: self.silence_id,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    service_id: i64,
    dedup_key: String,
    status: String,
    summary: String,
    source: String,
    severity: String,
    kind: String,
    labels: String,
    details: String,
    links: String,
    occurred_at: Option<i64>,
    event_count: i64,
    first_seen_at: i64,
    last_seen_at: i64,
    resolved_at: Option<i64>,
    incident_id: Option<i64>,
    silence_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    auto_resolve: i64,
    group_by: String,
    group_window_secs: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ServiceSettingsRow {
    id: i64,
    escalation_policy_id: Option<i64>,
    #[sqlx(flatten)]
    settings: SettingsRow,
}

const ALERT_COLUMNS: &str = "id, service_id, dedup_key, status, summary, source, severity, kind, labels, details, \
     links, occurred_at, event_count, first_seen_at, last_seen_at, resolved_at, incident_id, silence_id";

impl Store {
    /// Applies a batch of alert events in one transaction: creates, counts, acknowledges and
    /// resolves alerts, opens or joins incidents by each service's grouping rule, keeps silenced
    /// alerts out of incidents, and resolves incidents whose alerts have all resolved.
    ///
    /// Either the whole batch is stored or none of it, and it is on disk when this returns.
    /// An event for a service that does not exist fails the batch with [`StoreError::NotFound`].
    pub async fn ingest(&self, items: &[IngestItem], now: Timestamp) -> Result<IngestSummary> {
        self.ingest_with(items, now, None).await
    }

    /// Applies the events of ingest journal records up to `seq` (see [`crate::journal`]), like
    /// [`Store::ingest`], and records `seq` as applied in the same transaction. Events of services
    /// removed since they were accepted are left out and counted in
    /// [`IngestSummary::events_dropped`]: they were accepted, so they must not stop the records
    /// after them.
    pub async fn ingest_journaled(
        &self,
        items: &[IngestItem],
        now: Timestamp,
        seq: u64,
    ) -> Result<IngestSummary> {
        self.ingest_with(items, now, Some(seq)).await
    }

    /// The last ingest journal record applied.
    pub async fn journal_applied(&self) -> Result<u64> {
        let seq: i64 = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_scalar("SELECT applied_seq FROM ingest_journal WHERE id = 1").fetch_one(&mut *c).await?
        });
        Ok(seq.max(0) as u64)
    }

    /// [`Store::ingest_once`], announcing the incidents it opened or changed.
    async fn ingest_with(
        &self,
        items: &[IngestItem],
        now: Timestamp,
        journal_seq: Option<u64>,
    ) -> Result<IngestSummary> {
        let summary = self.ingest_once(items, now, journal_seq).await?;
        if !summary.incidents_opened.is_empty() || summary.incidents_changed > 0 {
            self.announcer.incidents_changed();
        }
        Ok(summary)
    }

    async fn ingest_once(
        &self,
        items: &[IngestItem],
        now: Timestamp,
        journal_seq: Option<u64>,
    ) -> Result<IngestSummary> {
        let now = rows::truncate(now);
        // The batch's alerts in first-seen order, and each event's alert.
        let mut order: Vec<(Id, String)> = Vec::new();
        let mut positions: HashMap<(Id, String), usize> = HashMap::new();
        let mut alert_of: Vec<usize> = Vec::with_capacity(items.len());
        for item in items {
            let Some(key) = &item.event.dedup_key else {
                return Err(StoreError::Conflict(
                    "an alert event without a dedup key reached the store".to_owned(),
                ));
            };
            let position = *positions.entry((item.service_id, key.clone())).or_insert_with(|| {
                order.push((item.service_id, key.clone()));
                order.len() - 1
            });
            alert_of.push(position);
        }
        drop(positions);

        // A journal record with nothing left to store still records its sequence number.
        if order.is_empty() && journal_seq.is_none() {
            return Ok(IngestSummary::default());
        }
        let sqlite = matches!(self.backend, Backend::Sqlite { .. });
        // Every statement is a round trip to the database, which costs far more than the
        // statement itself. So on SQLite, which runs several statements in one call, the
        // transaction begins with the first query and commits with the last write.
        let begin = if sqlite { "BEGIN; " } else { "" };
        with_pool!(self, pool, for_update => {
            let mut tx = WriteConnection { conn: pool.acquire().await?, finished: false };
            if !sqlite {
                sqlx::query("BEGIN").execute(&mut *tx).await?;
            }
            let silences = {
                let rows: Vec<SilenceRow> = sqlx::query_as(&format!(
                    "{begin}SELECT {SILENCE_COLUMNS} FROM silences WHERE starts_at <= $1 AND ends_at > $1"
                ))
                .bind(millis(now))
                .fetch_all(&mut *tx)
                .await?;
                rows.into_iter().filter_map(|row| silence_from_row(row).ok()).collect::<Vec<_>>()
            };

            // Each service's settings and open incident (for the default grouping), and the
            // stored alerts with their incidents, in one query per few hundred keys.
            let mut settings: HashMap<Id, AlertSettings> = HashMap::new();
            let mut open_incidents: HashMap<(Id, String), Option<(Id, Timestamp)>> = HashMap::new();
            let mut touched: HashMap<Id, Touched> = HashMap::new();
            let mut existing: HashMap<(Id, String), ExistingAlert> = HashMap::new();
            for chunk in shaped_chunks(&order, KEYS_PER_QUERY) {
                // Each lookup is an index search: the open incident by (service, group key,
                // status), the alerts by (service, dedup key). An alert of another service of the
                // chunk with a key of this one comes along too and is not looked at.
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT s.id AS service_id, s.auto_resolve, s.group_by, s.group_window_secs, \
                     o.id AS open_id, o.created_at AS open_created_at, o.status AS open_status, \
                     o.severity AS open_severity, \
                     a.id, a.dedup_key, a.status, a.summary, a.first_seen_at, a.resolved_at, a.incident_id, \
                     a.silence_id, ai.status AS incident_status, ai.severity AS incident_severity \
                     FROM services s \
                     LEFT JOIN incidents o ON o.id = (SELECT MAX(i.id) FROM incidents i WHERE i.service_id = s.id \
                      AND i.group_key = '' AND i.status IN ('triggered', 'acknowledged', 'mitigated')) \
                     LEFT JOIN alerts a ON a.service_id = s.id AND a.dedup_key IN (",
                );
                let mut keys = query.separated(", ");
                for (_, key) in chunk {
                    keys.push_bind(key.clone());
                }
                query.push(") LEFT JOIN incidents ai ON ai.id = a.incident_id WHERE s.id IN (");
                let mut chunk_services: Vec<Id> = chunk.iter().map(|(service_id, _)| *service_id).collect();
                chunk_services.sort_unstable();
                chunk_services.dedup();
                let mut list = query.separated(", ");
                for id in chunk_services {
                    list.push_bind(id);
                }
                query.push(")");
                let rows: Vec<ServiceAlertRow> = query.build_query_as().fetch_all(&mut *tx).await?;
                for row in rows {
                    let service = settings.entry(row.service_id).or_insert_with(|| row.settings());
                    if service.grouping.by.is_empty() {
                        let slot = (row.service_id, String::new());
                        let open = row.open_id.zip(row.open_created_at).map(|(id, at)| (id, rows::from_millis(at)));
                        if let (Some((id, _)), Some(status), Some(severity)) = (open, &row.open_status, &row.open_severity) {
                            touched.entry(id).or_insert(Touched::stored(status, severity, id)?).slot = Some(slot.clone());
                        }
                        open_incidents.insert(slot, open);
                    }
                    if let (Some(id), Some(status), Some(severity)) =
                        (row.incident_id, &row.incident_status, &row.incident_severity)
                    {
                        touched.entry(id).or_insert(Touched::stored(status, severity, id)?);
                    }
                    if let Some(alert) = row.alert() {
                        existing.insert((alert.service_id, alert.dedup_key.clone()), alert);
                    }
                }
            }
            let mut folded: Vec<Folded> = order
                .iter()
                .map(|key| match existing.remove(key) {
                    Some(row) => Folded::stored(row),
                    None => Ok(Folded::new(key, now)),
                })
                .collect::<Result<_>>()?;
            drop(existing);

            // The events in the order they came, as if each were a batch of its own: alerts
            // change in memory; incidents open at once, and what else happens to them is
            // written after the alerts.
            let mut summary = IngestSummary::default();
            let mut mentions: Vec<(Id, Mention)> = Vec::new();
            let mut joined: BTreeMap<Id, usize> = BTreeMap::new();
            let mut changes: Vec<(Id, Command)> = Vec::new();
            for (item, &index) in items.iter().zip(&alert_of) {
                let event = &item.event;
                let Some(service) = settings.get(&item.service_id) else {
                    if journal_seq.is_some() {
                        summary.events_dropped += 1;
                        continue;
                    }
                    return Err(StoreError::NotFound(format!("there is no service {}", item.service_id)));
                };
                let alert = &mut folded[index];
                match event.action {
                    AlertAction::Trigger => {
                        // An alert that is new, resolved, or still firing off an open incident
                        // (its incident was resolved by hand, or a silence kept it out) needs an
                        // incident and is looked at by the silences; a repeat only counts.
                        let on_open_incident = alert
                            .incident_id
                            .and_then(|id| touched.get(&id))
                            .is_some_and(|incident| incident.status != Status::Resolved);
                        let placed = !alert.exists || !alert.is_open() || !on_open_incident;
                        alert.exists = true;
                        alert.count_delta += 1;
                        alert.last = Some(event);
                        alert.changed = true;
                        if !placed {
                            continue;
                        }
                        alert.resolved_at = None;
                        if let Some(silence) = silences.iter().find(|s| s.silences(item.service_id, &event.labels, now)) {
                            alert.silence_id = Some(silence.id);
                            alert.put(AlertStatus::Triggered, None, &mut touched);
                            summary.alerts_silenced += 1;
                            continue;
                        }
                        alert.silence_id = None;
                        let rule = &service.grouping;
                        let slot = (item.service_id, rule.key(&event.labels));
                        if !open_incidents.contains_key(&slot) {
                            // The newest open incident of the group that this batch has not
                            // resolved.
                            let mut below = i64::MAX;
                            let found = loop {
                                let found: Option<(i64, i64, String, String)> = sqlx::query_as(
                                    "SELECT id, created_at, status, severity FROM incidents WHERE id = \
                                     (SELECT MAX(id) FROM incidents WHERE service_id = $1 AND group_key = $2 \
                                     AND status IN ('triggered', 'acknowledged', 'mitigated') AND id < $3)",
                                )
                                .bind(slot.0)
                                .bind(&slot.1)
                                .bind(below)
                                .fetch_optional(&mut *tx)
                                .await?;
                                match found {
                                    Some((id, ..)) if touched.get(&id).is_some_and(|t| t.status == Status::Resolved) => {
                                        below = id;
                                    }
                                    found => break found,
                                }
                            };
                            if let Some((id, _, status, severity)) = &found {
                                touched.entry(*id).or_insert(Touched::stored(status, severity, *id)?).slot =
                                    Some(slot.clone());
                            }
                            open_incidents.insert(slot.clone(), found.map(|(id, at, ..)| (id, rows::from_millis(at))));
                        }
                        let mut raised = false;
                        let incident_id = match open_incidents[&slot] {
                            Some((id, opened_at)) if rule.accepts(opened_at, now) => {
                                // A more severe alert raises the incident's severity.
                                let incident = touched.get_mut(&id).expect("an open incident found is touched");
                                if event.severity < incident.severity {
                                    incident.severity = event.severity;
                                    changes.push((id, Command::SetSeverity(event.severity)));
                                    raised = true;
                                }
                                id
                            }
                            _ => {
                                // The incident takes its title and severity from the trigger
                                // that opens it.
                                let id: i64 = sqlx::query_scalar(
                                    "INSERT INTO incidents (title, service_id, severity, kind, status, created_at, \
                                     updated_at, group_key) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id",
                                )
                                .bind(&event.summary)
                                .bind(item.service_id)
                                .bind(event.severity.as_str())
                                .bind(event.kind.as_str())
                                .bind(Status::Triggered.as_str())
                                .bind(millis(now))
                                .bind(&slot.1)
                                .fetch_one(&mut *tx)
                                .await?;
                                let declared =
                                    TimelineEvent::Declared { title: event.summary.clone(), severity: event.severity };
                                mentions.push((id, Mention::Entry(declared)));
                                touched.insert(
                                    id,
                                    Touched {
                                        status: Status::Triggered,
                                        severity: event.severity,
                                        slot: Some(slot.clone()),
                                        stored_open: Some(0),
                                        open_delta: 0,
                                    },
                                );
                                open_incidents.insert(slot, Some((id, now)));
                                summary.incidents_opened.push(id);
                                id
                            }
                        };
                        alert.put(AlertStatus::Triggered, Some(incident_id), &mut touched);
                        let count = joined.entry(incident_id).or_default();
                        *count += 1;
                        if *count <= TIMELINE_ALERTS_PER_BATCH_MAX {
                            let mention = Mention::Alert { index, action: AlertAction::Trigger, described_by: Some(event) };
                            mentions.push((incident_id, mention));
                        }
                        if raised {
                            mentions.push((incident_id, Mention::Changed(changes.len() - 1)));
                        }
                    }
                    AlertAction::Acknowledge => {
                        if !alert.exists || alert.status != AlertStatus::Triggered {
                            continue;
                        }
                        alert.status = AlertStatus::Acknowledged;
                        alert.changed = true;
                        let Some(incident_id) = alert.incident_id else { continue };
                        let mention = Mention::Alert { index, action: AlertAction::Acknowledge, described_by: alert.last };
                        mentions.push((incident_id, mention));
                        if let Some(incident) = touched.get_mut(&incident_id)
                            && incident.status == Status::Triggered
                        {
                            incident.status = Status::Acknowledged;
                            changes.push((incident_id, Command::Acknowledge));
                            mentions.push((incident_id, Mention::Changed(changes.len() - 1)));
                        }
                    }
                    AlertAction::Resolve => {
                        if !alert.exists || !alert.is_open() {
                            continue;
                        }
                        let incident_id = alert.incident_id;
                        alert.put(AlertStatus::Resolved, incident_id, &mut touched);
                        alert.resolved_at = Some(now);
                        alert.changed = true;
                        let Some(incident_id) = incident_id else { continue };
                        let mention = Mention::Alert { index, action: AlertAction::Resolve, described_by: alert.last };
                        mentions.push((incident_id, mention));
                        // The incident resolves with its last open alert, if the service says so.
                        let Some(incident) = touched.get_mut(&incident_id) else { continue };
                        if !service.auto_resolve || incident.status == Status::Resolved {
                            continue;
                        }
                        let stored_open = match incident.stored_open {
                            Some(count) => count,
                            None => {
                                let count: i64 = sqlx::query_scalar(
                                    "SELECT COUNT(*) FROM alerts WHERE incident_id = $1 AND status <> 'resolved'",
                                )
                                .bind(incident_id)
                                .fetch_one(&mut *tx)
                                .await?;
                                *incident.stored_open.insert(count)
                            }
                        };
                        if stored_open + incident.open_delta > 0 {
                            continue;
                        }
                        incident.status = Status::Resolved;
                        changes.push((incident_id, Command::Resolve));
                        mentions.push((incident_id, Mention::Changed(changes.len() - 1)));
                        // Alerts of its group that fire from now on go elsewhere.
                        if let Some(slot) = incident.slot.take()
                            && open_incidents.get(&slot).is_some_and(|open| open.is_some_and(|(id, _)| id == incident_id))
                        {
                            open_incidents.remove(&slot);
                        }
                    }
                }
            }
            for (incident_id, count) in &joined {
                if *count > TIMELINE_ALERTS_PER_BATCH_MAX {
                    let more = (*count - TIMELINE_ALERTS_PER_BATCH_MAX) as i64;
                    mentions.push((*incident_id, Mention::Entry(TimelineEvent::AlertsJoined { count: more })));
                }
            }

            // Write alerts: new ones in multi-row inserts, changed ones one by one. Only the new
            // alerts a timeline names need their ids back (a row returned per alert costs more
            // than the insert), so inserts return ids only for those, in runs that keep the
            // alerts' first-seen order.
            let new: Vec<usize> = (0..folded.len())
                .filter(|index| folded[*index].existing_id.is_none() && folded[*index].exists)
                .collect();
            summary.alerts_created = new.len();
            let mut on_timeline = vec![false; folded.len()];
            for (_, mention) in &mentions {
                if let Mention::Alert { index, .. } = mention {
                    on_timeline[*index] = true;
                }
            }
            for run in new.chunk_by(|a, b| on_timeline[*a] == on_timeline[*b]) {
                let returning = on_timeline[run[0]];
                for chunk in shaped_chunks(run, ROWS_PER_INSERT) {
                    let mut query = sqlx::QueryBuilder::new(
                        "INSERT INTO alerts (service_id, dedup_key, status, summary, source, severity, kind, labels, \
                         details, links, occurred_at, event_count, first_seen_at, last_seen_at, resolved_at, incident_id, silence_id) ",
                    );
                    query.push_values(chunk, |mut row, index| {
                        let alert = &folded[*index];
                        let event = alert.last.expect("an alert is new by a trigger");
                        let summary = if event.summary.is_empty() { &alert.dedup_key } else { &event.summary };
                        row.push_bind(alert.service_id)
                            .push_bind(alert.dedup_key.clone())
                            .push_bind(alert.status.as_str())
                            .push_bind(summary.clone())
                            .push_bind(event.source.clone())
                            .push_bind(event.severity.as_str())
                            .push_bind(event.kind.as_str())
                            .push_bind(labels_to_json(&event.labels))
                            .push_bind(event.details.clone())
                            .push_bind(rows::links_to_json(&event.links))
                            .push_bind(event.occurred_at.map(millis))
                            .push_bind(alert.count_delta)
                            .push_bind(millis(alert.first_seen_at))
                            .push_bind(millis(now))
                            .push_bind(alert.resolved_at.map(millis))
                            .push_bind(alert.incident_id)
                            .push_bind(alert.silence_id);
                    });
                    if !returning {
                        query.build().execute(&mut *tx).await?;
                        continue;
                    }
                    query.push(" RETURNING id, dedup_key, service_id");
                    let ids: Vec<(i64, String, i64)> = query.build_query_as().fetch_all(&mut *tx).await?;
                    let positions: HashMap<(Id, &str), usize> = chunk
                        .iter()
                        .map(|index| ((folded[*index].service_id, folded[*index].dedup_key.as_str()), *index))
                        .collect();
                    let found: Vec<(usize, Id)> = ids
                        .iter()
                        .filter_map(|(id, dedup_key, service_id)| {
                            positions.get(&(*service_id, dedup_key.as_str())).map(|index| (*index, *id))
                        })
                        .collect();
                    for (index, id) in found {
                        folded[index].existing_id = Some(id);
                    }
                }
            }
            // Statements whose results are not needed: on SQLite they run together, with the
            // commit, in one call at the end; elsewhere each runs at once.
            let mut writes = sqlx::QueryBuilder::new("");
            for (index, alert) in folded.iter().enumerate() {
                if new.binary_search(&index).is_ok() || !alert.changed {
                    continue;
                }
                let id = alert.existing_id.expect("an alert that is not new was read with its id");
                write_statement!(tx, writes, sqlite, |query| {
                    query
                        .push("UPDATE alerts SET status = ")
                        .push_bind(alert.status.as_str())
                        .push(", event_count = event_count + ")
                        .push_bind(alert.count_delta)
                        .push(", last_seen_at = ")
                        .push_bind(millis(now))
                        .push(", resolved_at = ")
                        .push_bind(alert.resolved_at.map(millis))
                        .push(", incident_id = ")
                        .push_bind(alert.incident_id)
                        .push(", silence_id = ")
                        .push_bind(alert.silence_id);
                    // The description is the last trigger's: acknowledgements and resolutions
                    // leave it as it is.
                    if let Some(event) = alert.last
                        && !event.summary.is_empty()
                    {
                        query
                            .push(", summary = ")
                            .push_bind(event.summary.clone())
                            .push(", source = ")
                            .push_bind(event.source.clone())
                            .push(", severity = ")
                            .push_bind(event.severity.as_str())
                            .push(", kind = ")
                            .push_bind(event.kind.as_str())
                            .push(", labels = ")
                            .push_bind(labels_to_json(&event.labels))
                            .push(", details = ")
                            .push_bind(event.details.clone())
                            .push(", links = ")
                            .push_bind(rows::links_to_json(&event.links))
                            .push(", occurred_at = ")
                            .push_bind(event.occurred_at.map(millis));
                    }
                    query.push(" WHERE id = ").push_bind(id);
                });
            }

            // What happened to incidents, each applied by the incident lifecycle to the incident
            // as it is now: another replica, or a person, may have changed it since it was read.
            let mut outcomes: Vec<Option<TimelineEvent>> = vec![None; changes.len()];
            let mut by_incident: Vec<usize> = (0..changes.len()).collect();
            by_incident.sort_by_key(|position| changes[*position].0);
            for run in by_incident.chunk_by(|a, b| changes[*a].0 == changes[*b].0) {
                let mut incident = lock_incident!(tx, changes[run[0]].0, for_update);
                for position in run {
                    let command = &changes[*position].1;
                    if let Command::SetSeverity(severity) = command
                        && *severity >= incident.severity
                    {
                        continue;
                    }
                    if let Ok(event) = incident.apply(command, now) {
                        outcomes[*position] = Some(event);
                        summary.incidents_changed += 1;
                    }
                }
                if run.iter().any(|position| outcomes[*position].is_some()) {
                    update_incident_row!(tx, incident);
                }
            }

            // Timelines, in the order things happened, written with multi-row inserts (so that
            // their ids keep that order).
            let entries: Vec<(Id, TimelineEvent)> = mentions
                .into_iter()
                .filter_map(|(incident_id, mention)| {
                    let event = match mention {
                        Mention::Alert { index, action, described_by } => {
                            alert_event(&folded[index], action, described_by)
                        }
                        Mention::Entry(event) => event,
                        Mention::Changed(position) => outcomes[position].take()?,
                    };
                    Some((incident_id, event))
                })
                .collect();
            for chunk in entries.chunks(ROWS_PER_INSERT) {
                write_statement!(tx, writes, sqlite, |query| {
                    query.push("INSERT INTO timeline (incident_id, at, actor, event, data) ");
                    query.push_values(chunk, |mut row, (incident_id, event)| {
                        let (name, data) = rows::event_to_row(event);
                        row.push_bind(*incident_id)
                            .push_bind(millis(now))
                            .push_bind(SYSTEM_ACTOR)
                            .push_bind(name)
                            .push_bind(data);
                    });
                });
            }
            if let Some(seq) = journal_seq {
                write_statement!(tx, writes, sqlite, |query| {
                    query.push("UPDATE ingest_journal SET applied_seq = ").push_bind(seq as i64).push(" WHERE id = 1");
                });
            }
            write_statement!(tx, writes, sqlite, |query| {
                query.push("COMMIT");
            });
            if !writes.sql().is_empty() {
                writes.build().persistent(false).execute(&mut *tx).await?;
            }
            tx.finished = true;
            Ok(summary)
        })
    }

    /// The alerts of incident `id`, oldest first, at most `limit`.
    pub async fn incident_alerts(&self, id: Id, limit: u32) -> Result<Vec<Alert>> {
        let rows: Vec<AlertRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE incident_id = $1 ORDER BY id LIMIT $2"))
                .bind(id)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await?
        });
        rows.into_iter().map(alert_from_row).collect()
    }

    /// The alerts of service `id`, newest first, at most `limit`; silenced ones included.
    pub async fn service_alerts(&self, id: Id, limit: u32) -> Result<Vec<Alert>> {
        let rows: Vec<AlertRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE service_id = $1 ORDER BY id DESC LIMIT $2"))
                .bind(id)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await?
        });
        rows.into_iter().map(alert_from_row).collect()
    }

    /// The alert of service `service_id` with `dedup_key`, if any.
    pub async fn alert(&self, service_id: Id, dedup_key: &str) -> Result<Option<Alert>> {
        let row: Option<AlertRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE service_id = $1 AND dedup_key = $2"))
                .bind(service_id)
                .bind(dedup_key)
                .fetch_optional(&mut *c)
                .await?
        });
        row.map(alert_from_row).transpose()
    }

    /// The number of alerts stored, for metrics.
    pub async fn alert_count(&self) -> Result<i64> {
        Ok(with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar("SELECT COUNT(*) FROM alerts").fetch_one(&mut *c).await?
        }))
    }

    /// Every service's alert settings and escalation policy, by service id, in one query: what
    /// [`Store::alert_settings`] and [`Store::service_escalation_policy`] give for one service.
    pub async fn services_settings(&self) -> Result<HashMap<Id, (AlertSettings, Option<Id>)>> {
        let rows: Vec<ServiceSettingsRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as("SELECT id, escalation_policy_id, auto_resolve, group_by, group_window_secs FROM services")
                .fetch_all(&mut *c)
                .await?
        });
        Ok(rows
            .iter()
            .map(|row| (row.id, (settings_from_row(&row.settings), row.escalation_policy_id)))
            .collect())
    }

    /// How service `id` turns alerts into incidents.
    pub async fn alert_settings(&self, id: Id) -> Result<AlertSettings> {
        let row: Option<SettingsRow> = with_conn!(self.primary().await?.conn(), c => {
            sqlx::query_as("SELECT auto_resolve, group_by, group_window_secs FROM services WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        let row = row.ok_or_else(|| StoreError::NotFound(format!("there is no service {id}")))?;
        Ok(settings_from_row(&row))
    }
}

impl Tx {
    /// Sets how service `id` turns alerts into incidents.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no service `id`.
    pub async fn set_alert_settings(&mut self, id: Id, settings: &AlertSettings) -> Result<()> {
        let group_by: Vec<&str> =
            settings.grouping.by.iter().map(|GroupBy::Label(name)| name.as_str()).collect();
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE services SET auto_resolve = $1, group_by = $2, group_window_secs = $3 WHERE id = $4")
                .bind(i64::from(settings.auto_resolve))
                .bind(json!(group_by).to_string())
                .bind(settings.grouping.window.map(|w| w.as_secs()))
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

/// The write connection during an ingest transaction, begun and committed by hand so that both
/// can share a call with other statements. Unless the transaction finished, the connection is
/// closed rather than handed back to the pool: closing rolls back what it began.
struct WriteConnection<DB: sqlx::Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    finished: bool,
}

impl<DB: sqlx::Database> std::ops::Deref for WriteConnection<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteConnection<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

impl<DB: sqlx::Database> Drop for WriteConnection<DB> {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

/// Adds the statement that `$build` writes into `$query` to `$writes` on SQLite, or runs it at
/// once on `$tx` elsewhere.
macro_rules! write_statement {
    ($tx:expr, $writes:ident, $sqlite:expr, |$query:ident| $build:block) => {{
        if $sqlite {
            if !$writes.sql().is_empty() {
                $writes.push("; ");
            }
            let $query = &mut $writes;
            $build
        } else {
            let mut statement = sqlx::QueryBuilder::new("");
            {
                let $query = &mut statement;
                $build
            }
            statement.build().persistent(false).execute(&mut *$tx).await?;
        }
    }};
}
use write_statement;

/// An entry an ingest batch adds to an incident's timeline.
enum Mention<'a> {
    /// The alert at this index of the batch's alerts did this; the trigger that last described
    /// it by then, if any.
    Alert { index: usize, action: AlertAction, described_by: Option<&'a AlertEvent> },
    /// An entry as it is.
    Entry(TimelineEvent),
    /// What the change at this position of the batch's incident changes did, if the incident
    /// took it.
    Changed(usize),
}

fn alert_event(alert: &Folded<'_>, action: AlertAction, described_by: Option<&AlertEvent>) -> TimelineEvent {
    let summary = match described_by {
        Some(event) if !event.summary.is_empty() => event.summary.clone(),
        _ => alert.stored_summary.clone(),
    };
    TimelineEvent::Alert {
        action,
        alert_id: alert.existing_id.unwrap_or_default(),
        dedup_key: alert.dedup_key.clone(),
        summary,
    }
}

/// `items` in chunks of `max` (a power of two) and then of the powers of two that make up the rest,
/// largest first. A statement for a chunk has one placeholder per value, so its text depends on
/// the chunk's length: with a few lengths only, every such statement stays in the connection's
/// cache of prepared statements instead of being parsed again for each batch.
fn shaped_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    debug_assert!(max.is_power_of_two());
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let length = if rest.len() >= max { max } else { 1 << rest.len().ilog2() };
        let (chunk, after) = rest.split_at(length);
        rest = after;
        Some(chunk)
    })
}

fn labels_to_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).expect("a string map always serializes")
}

fn settings_from_row(row: &SettingsRow) -> AlertSettings {
    let by: Vec<String> = serde_json::from_str(&row.group_by).unwrap_or_default();
    AlertSettings {
        grouping: GroupingRule {
            by: by.into_iter().map(GroupBy::Label).collect(),
            window: row.group_window_secs.map(SignedDuration::from_secs),
        },
        auto_resolve: row.auto_resolve != 0,
    }
}

fn alert_from_row(row: AlertRow) -> Result<Alert> {
    let what = format!("alert {}", row.id);
    Ok(Alert {
        id: row.id,
        service_id: row.service_id,
        dedup_key: row.dedup_key,
        status: AlertStatus::parse(&row.status).map_err(|err| rows::corrupt(&what, err))?,
        summary: row.summary,
        source: row.source,
        severity: Severity::parse(&row.severity).map_err(|err| rows::corrupt(&what, err))?,
        kind: Kind::parse(&row.kind).map_err(|err| rows::corrupt(&what, err))?,
        labels: serde_json::from_str(&row.labels).map_err(|err| rows::corrupt(&what, err))?,
        details: row.details,
        links: rows::links_from_json(&row.links).map_err(|err| rows::corrupt(&what, err))?,
        occurred_at: row.occurred_at.map(rows::from_millis),
        event_count: row.event_count,
        first_seen_at: rows::from_millis(row.first_seen_at),
        last_seen_at: rows::from_millis(row.last_seen_at),
        resolved_at: row.resolved_at.map(rows::from_millis),
        incident_id: row.incident_id,
        silence_id: row.silence_id,
    })
}

#[cfg(test)]
mod tests {
    use super::shaped_chunks;

    #[test]
    fn shaped_chunks_are_the_maximum_then_falling_powers_of_two() {
        let items: Vec<u32> = (0..300).collect();
        let lengths: Vec<usize> = shaped_chunks(&items, 128).map(<[u32]>::len).collect();
        assert_eq!(lengths, [128, 128, 32, 8, 4]);
        let joined: Vec<u32> = shaped_chunks(&items, 128).flatten().copied().collect();
        assert_eq!(joined, items);
        assert_eq!(shaped_chunks(&items[..1], 128).count(), 1);
        assert_eq!(shaped_chunks(&items[..0], 128).count(), 0);
    }
}
