//! Rows as the database returns them, and their conversion to and from domain types.
//!
//! Enumerations are stored by their canonical names and timestamps as milliseconds since the
//! epoch; reading back something else is corruption and fails loudly instead of guessing.

use firebreak_domain::{
    AlertAction, AssignRole, Id, Incident, Kind, Link, NotifyOutcome, Service, Severity, Status, Team,
    TimelineEntry, TimelineEvent, User,
};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::StoreError;

/// `at` as stored: milliseconds since the Unix epoch.
pub(crate) fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

/// `at` at the precision it is stored with.
pub(crate) fn truncate(at: Timestamp) -> Timestamp {
    from_millis(millis(at))
}

pub(crate) fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Other(sqlx::Error::Decode(format!("corrupt {what}: {detail}").into()))
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamRow {
    id: i64,
    name: String,
    description: String,
    created_at: i64,
}

impl From<TeamRow> for Team {
    fn from(row: TeamRow) -> Team {
        Team {
            id: row.id,
            name: row.name,
            description: row.description,
            created_at: from_millis(row.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    name: String,
    email: String,
    time_zone: String,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: row.id,
            name: row.name,
            email: row.email,
            time_zone: row.time_zone,
            created_at: from_millis(row.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ServiceRow {
    pub(crate) id: i64,
    name: String,
    team_id: i64,
    description: String,
    documentation: String,
    runbook: String,
    links: String,
    created_at: i64,
}

impl ServiceRow {
    pub(crate) fn into_service(self, dependencies: Vec<Id>) -> Service {
        Service {
            id: self.id,
            name: self.name,
            team_id: self.team_id,
            description: self.description,
            documentation: self.documentation,
            runbook: self.runbook,
            links: links_from_json(&self.links).unwrap_or_default(),
            dependencies,
            created_at: from_millis(self.created_at),
        }
    }
}

/// `links` as stored: a JSON array of `{"title", "url"}`.
pub(crate) fn links_to_json(links: &[Link]) -> String {
    if links.is_empty() {
        // Most alerts carry none: no JSON to build on the ingest path.
        return "[]".to_owned();
    }
    Value::Array(links.iter().map(|link| json!({"title": link.title, "url": link.url})).collect()).to_string()
}

/// Links as [`links_to_json`] stores them; an error message for anything else.
pub(crate) fn links_from_json(text: &str) -> Result<Vec<Link>, String> {
    let Value::Array(items) = serde_json::from_str::<Value>(text).map_err(|err| err.to_string())? else {
        return Err(format!("links are not a JSON array: {text:?}"));
    };
    Ok(items
        .iter()
        .map(|item| Link {
            title: item["title"].as_str().unwrap_or_default().to_owned(),
            url: item["url"].as_str().unwrap_or_default().to_owned(),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
pub(crate) struct IncidentRow {
    id: i64,
    title: String,
    service_id: i64,
    severity: String,
    kind: String,
    status: String,
    assignee_id: Option<i64>,
    commander_id: Option<i64>,
    created_at: i64,
    acknowledged_at: Option<i64>,
    mitigated_at: Option<i64>,
    resolved_at: Option<i64>,
    updated_at: i64,
    snoozed_until: Option<i64>,
}

impl TryFrom<IncidentRow> for Incident {
    type Error = StoreError;

    fn try_from(row: IncidentRow) -> Result<Incident, StoreError> {
        let what = || format!("incident {}", row.id);
        Ok(Incident {
            id: row.id,
            title: row.title.clone(),
            service_id: row.service_id,
            severity: Severity::parse(&row.severity).map_err(|err| corrupt(&what(), err))?,
            kind: Kind::parse(&row.kind).map_err(|err| corrupt(&what(), err))?,
            status: Status::parse(&row.status).map_err(|err| corrupt(&what(), err))?,
            assignee_id: row.assignee_id,
            commander_id: row.commander_id,
            created_at: from_millis(row.created_at),
            acknowledged_at: row.acknowledged_at.map(from_millis),
            mitigated_at: row.mitigated_at.map(from_millis),
            resolved_at: row.resolved_at.map(from_millis),
            updated_at: from_millis(row.updated_at),
            snoozed_until: row.snoozed_until.map(from_millis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TimelineRow {
    id: i64,
    incident_id: i64,
    at: i64,
    actor: String,
    event: String,
    data: String,
}

/// A small count stored as JSON, 0 when missing or out of range.
fn number(value: &Value) -> u32 {
    value.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or_default()
}

/// The stored name and JSON data of a timeline event.
pub(crate) fn event_to_row(event: &TimelineEvent) -> (&'static str, String) {
    let (name, data) = match event {
        TimelineEvent::Declared { title, severity } => {
            ("declared", json!({"title": title, "severity": severity.as_str()}))
        }
        TimelineEvent::StatusChanged { from, to } => {
            ("status_changed", json!({"from": from.as_str(), "to": to.as_str()}))
        }
        TimelineEvent::SeverityChanged { from, to } => {
            ("severity_changed", json!({"from": from.as_str(), "to": to.as_str()}))
        }
        TimelineEvent::Assigned { role, user_id } => {
            ("assigned", json!({"role": role.as_str(), "user_id": user_id}))
        }
        TimelineEvent::Note { text } => ("note", json!({"text": text})),
        TimelineEvent::Alert { action, alert_id, dedup_key, summary } => (
            "alert",
            json!({"action": action.as_str(), "alert_id": alert_id, "dedup_key": dedup_key, "summary": summary}),
        ),
        TimelineEvent::AlertsJoined { count } => ("alerts_joined", json!({"count": count})),
        TimelineEvent::Notified { user_id, user, channel, level, attempt, outcome, detail } => (
            "notified",
            json!({"user_id": user_id, "user": user, "channel": channel, "level": level, "attempt": attempt,
                "outcome": outcome.as_str(), "detail": detail}),
        ),
        TimelineEvent::Unreachable { level, reason } => {
            ("unreachable", json!({"level": level, "reason": reason}))
        }
        TimelineEvent::EscalationExhausted { generation } => {
            ("escalation_exhausted", json!({"generation": generation}))
        }
        TimelineEvent::EscalatedNow { level } => ("escalated_now", json!({"level": level})),
        TimelineEvent::Snoozed { until } => ("snoozed", json!({"until": millis(*until)})),
    };
    (name, data.to_string())
}

impl TryFrom<TimelineRow> for TimelineEntry {
    type Error = StoreError;

    fn try_from(row: TimelineRow) -> Result<TimelineEntry, StoreError> {
        let what = format!("timeline entry {}", row.id);
        let data: Value = serde_json::from_str(&row.data).map_err(|err| corrupt(&what, err))?;
        let text = |key: &str| -> Result<String, StoreError> {
            data[key].as_str().map(str::to_owned).ok_or_else(|| corrupt(&what, format!("missing {key}")))
        };
        let event = match row.event.as_str() {
            "declared" => TimelineEvent::Declared {
                title: text("title")?,
                severity: Severity::parse(&text("severity")?).map_err(|err| corrupt(&what, err))?,
            },
            "status_changed" => TimelineEvent::StatusChanged {
                from: Status::parse(&text("from")?).map_err(|err| corrupt(&what, err))?,
                to: Status::parse(&text("to")?).map_err(|err| corrupt(&what, err))?,
            },
            "severity_changed" => TimelineEvent::SeverityChanged {
                from: Severity::parse(&text("from")?).map_err(|err| corrupt(&what, err))?,
                to: Severity::parse(&text("to")?).map_err(|err| corrupt(&what, err))?,
            },
            "assigned" => TimelineEvent::Assigned {
                role: AssignRole::parse(&text("role")?).map_err(|err| corrupt(&what, err))?,
                user_id: data["user_id"].as_i64(),
            },
            "note" => TimelineEvent::Note { text: text("text")? },
            "alert" => TimelineEvent::Alert {
                action: AlertAction::parse(&text("action")?).map_err(|err| corrupt(&what, err))?,
                alert_id: data["alert_id"].as_i64().unwrap_or_default(),
                dedup_key: text("dedup_key")?,
                summary: text("summary")?,
            },
            "alerts_joined" => {
                TimelineEvent::AlertsJoined { count: data["count"].as_i64().unwrap_or_default() }
            }
            "notified" => TimelineEvent::Notified {
                user_id: data["user_id"].as_i64().unwrap_or_default(),
                user: text("user")?,
                channel: text("channel")?,
                level: number(&data["level"]),
                attempt: number(&data["attempt"]),
                outcome: NotifyOutcome::parse(&text("outcome")?).map_err(|err| corrupt(&what, err))?,
                detail: text("detail")?,
            },
            "unreachable" => {
                TimelineEvent::Unreachable { level: number(&data["level"]), reason: text("reason")? }
            }
            "escalation_exhausted" => {
                TimelineEvent::EscalationExhausted { generation: number(&data["generation"]) }
            }
            "escalated_now" => TimelineEvent::EscalatedNow { level: number(&data["level"]) },
            "snoozed" => TimelineEvent::Snoozed {
                until: from_millis(
                    data["until"].as_i64().ok_or_else(|| corrupt(&what, "snoozed without until"))?,
                ),
            },
            other => return Err(corrupt(&what, format!("unknown event {other:?}"))),
        };
        Ok(TimelineEntry {
            id: row.id,
            incident_id: row.incident_id,
            at: from_millis(row.at),
            actor: row.actor,
            event,
        })
    }
}
