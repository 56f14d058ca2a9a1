//! Incidents: what people respond to, their lifecycle and their timeline.
//!
//! [`Incident::apply`] is the one place that decides whether a change is allowed; the store runs it
//! inside a transaction and records the [`TimelineEvent`] it returns.

use std::fmt;

use jiff::Timestamp;

use crate::{AlertAction, AlertStatus, Direction, Id, Signal};

/// Longest incident title accepted.
pub const TITLE_CHARS_MAX: usize = 500;
/// Longest note accepted on a timeline.
pub const NOTE_CHARS_MAX: usize = 20_000;

/// How bad an incident is. `Sev1` is the most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

/// The kind of underlying issue, as described in the product: monitoring signals, exceptions,
/// silent assassins (something stopped happening) and fake kingpins (a dependency made it look
/// like our fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Signal,
    Exception,
    Silent,
    Kingpin,
    Unknown,
}

/// Where an incident is in its lifecycle: `triggered → acknowledged → mitigated → resolved`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Triggered,
    Acknowledged,
    Mitigated,
    Resolved,
}

/// Which responsibility an assignment gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignRole {
    /// The person working on it.
    Assignee,
    /// The incident commander, who coordinates.
    Commander,
}

/// An incident as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    /// Also the incident's number, shown to people as `#id`.
    pub id: Id,
    pub title: String,
    pub service_id: Id,
    pub severity: Severity,
    pub kind: Kind,
    pub status: Status,
    pub assignee_id: Option<Id>,
    pub commander_id: Option<Id>,
    pub created_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub mitigated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// While acknowledged: when the acknowledgement runs out and the incident is triggered again,
    /// paging from the first level, unless it was resolved or mitigated by then.
    pub snoozed_until: Option<Timestamp>,
}

/// The longest snooze: a day. A longer one is better written as a silence or a lower severity.
pub const SNOOZE_MINUTES_MAX: i64 = 24 * 60;

/// What is needed to declare an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub service_id: Id,
    pub severity: Severity,
    pub kind: Kind,
}

/// A change someone asks for on an open incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Acknowledge,
    Mitigate,
    Resolve,
    /// Opens a resolved incident again. Used by alerts that fire again.
    Retrigger,
    SetSeverity(Severity),
    Assign {
        role: AssignRole,
        user_id: Option<Id>,
    },
    AddNote(String),
    /// Keeps an acknowledged incident acknowledged until `until`, then triggers it again.
    Snooze {
        until: Timestamp,
    },
    /// The snooze ran out: the acknowledged incident is triggered again. Given by the system.
    EndSnooze,
}

/// One entry of an incident's append-only timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub id: Id,
    pub incident_id: Id,
    pub at: Timestamp,
    /// Who did it: the name of the API token, or `firebreak` for the system itself.
    pub actor: String,
    pub event: TimelineEvent,
}

/// What happened, as recorded on the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimelineEvent {
    Declared {
        title: String,
        severity: Severity,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
    },
    Assigned {
        role: AssignRole,
        user_id: Option<Id>,
    },
    Note {
        text: String,
    },
    /// An alert of the incident fired, was acknowledged at its source, or resolved.
    Alert {
        action: AlertAction,
        alert_id: Id,
        dedup_key: String,
        summary: String,
    },
    /// More alerts joined than the timeline lists one by one.
    AlertsJoined {
        count: i64,
    },
    /// One attempt to deliver a page to one contact method, and what came of it.
    Notified {
        user_id: Id,
        user: String,
        channel: String,
        level: u32,
        attempt: u32,
        outcome: NotifyOutcome,
        detail: String,
    },
    /// A level of the escalation policy came due but could not reach someone, and why.
    Unreachable {
        level: u32,
        reason: String,
    },
    /// Every level of every pass was paged and nobody acknowledged.
    EscalationExhausted {
        generation: u32,
    },
    /// Someone cut short the wait at level `level`: the next level is paged at once.
    EscalatedNow {
        level: u32,
    },
    /// The acknowledgement was snoozed: the incident triggers again at `until`.
    Snoozed {
        until: Timestamp,
    },
}

/// What came of one attempt to deliver a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyOutcome {
    Delivered,
    /// Failed for now; another attempt follows.
    Retrying,
    /// Failed for good: permanently, or after the last attempt.
    Failed,
    /// Not sent: the incident no longer needed it.
    Withdrawn,
    /// Not sent again, after an attempt whose outcome went unrecorded: it may have arrived.
    Unknown,
}

/// Why a change to an incident was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentError {
    /// The change does not apply to the incident's current status.
    IllegalTransition { command: &'static str, status: Status },
    /// The change would not change anything.
    Unchanged(String),
    /// A field of the change is invalid.
    Invalid(String),
}

impl fmt::Display for IncidentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IncidentError::IllegalTransition { command, status } => {
                let hint = match status {
                    Status::Resolved => "; it is already resolved",
                    Status::Mitigated => "; it is already mitigated",
                    Status::Acknowledged => "; it is already acknowledged",
                    Status::Triggered => "; it is triggered and not resolved",
                };
                write!(f, "cannot {command} an incident that is {status}{hint}")
            }
            IncidentError::Unchanged(msg) | IncidentError::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for IncidentError {}

impl Incident {
    /// Whether the incident still needs attention.
    pub fn is_open(&self) -> bool {
        self.status != Status::Resolved
    }

    /// Applies `command` at `now`, returning the timeline event to record.
    ///
    /// Fails without changing anything when the command does not apply: acknowledging is only
    /// possible while triggered, mitigating while triggered or acknowledged, resolving while open,
    /// re-triggering only once resolved, and a severity or assignment must actually change.
    pub fn apply(&mut self, command: &Command, now: Timestamp) -> Result<TimelineEvent, IncidentError> {
        let from = self.status;
        let illegal = |command| Err(IncidentError::IllegalTransition { command, status: from });
        let event = match command {
            Command::Acknowledge => {
                if from != Status::Triggered {
                    return illegal("acknowledge");
                }
                self.status = Status::Acknowledged;
                self.acknowledged_at = Some(now);
                self.snoozed_until = None;
                TimelineEvent::StatusChanged { from, to: self.status }
            }
            Command::Mitigate => {
                if !matches!(from, Status::Triggered | Status::Acknowledged) {
                    return illegal("mitigate");
                }
                self.status = Status::Mitigated;
                self.mitigated_at = Some(now);
                self.snoozed_until = None;
                TimelineEvent::StatusChanged { from, to: self.status }
            }
            Command::Resolve => {
                if from == Status::Resolved {
                    return illegal("resolve");
                }
                self.status = Status::Resolved;
                self.resolved_at = Some(now);
                self.snoozed_until = None;
                TimelineEvent::StatusChanged { from, to: self.status }
            }
            Command::Retrigger => {
                if from != Status::Resolved {
                    return illegal("re-trigger");
                }
                self.status = Status::Triggered;
                self.acknowledged_at = None;
                self.mitigated_at = None;
                self.resolved_at = None;
                TimelineEvent::StatusChanged { from, to: self.status }
            }
            Command::SetSeverity(severity) => {
                if *severity == self.severity {
                    return Err(IncidentError::Unchanged(format!("severity is already {severity}")));
                }
                let from = self.severity;
                self.severity = *severity;
                TimelineEvent::SeverityChanged { from, to: *severity }
            }
            Command::Assign { role, user_id } => {
                let slot = match role {
                    AssignRole::Assignee => &mut self.assignee_id,
                    AssignRole::Commander => &mut self.commander_id,
                };
                if slot == user_id {
                    return Err(IncidentError::Unchanged(match user_id {
                        Some(id) => format!("user {id} is already the {role}"),
                        None => format!("there is no {role} to remove"),
                    }));
                }
                *slot = *user_id;
                TimelineEvent::Assigned { role: *role, user_id: *user_id }
            }
            Command::AddNote(text) => {
                let text = validate_note(text).map_err(IncidentError::Invalid)?;
                TimelineEvent::Note { text: text.to_owned() }
            }
            Command::Snooze { until } => {
                if from != Status::Acknowledged {
                    return Err(IncidentError::IllegalTransition { command: "snooze", status: from });
                }
                let minutes = now.duration_until(*until).as_mins();
                if *until <= now || minutes > SNOOZE_MINUTES_MAX {
                    return Err(IncidentError::Invalid(format!(
                        "a snooze lasts from 1 to {SNOOZE_MINUTES_MAX} minutes"
                    )));
                }
                self.snoozed_until = Some(*until);
                TimelineEvent::Snoozed { until: *until }
            }
            Command::EndSnooze => {
                if from != Status::Acknowledged || self.snoozed_until.is_none_or(|until| until > now) {
                    return Err(IncidentError::Unchanged("the incident is not snoozed until now".to_owned()));
                }
                self.status = Status::Triggered;
                self.acknowledged_at = None;
                self.snoozed_until = None;
                TimelineEvent::StatusChanged { from, to: self.status }
            }
        };
        self.updated_at = now;
        Ok(event)
    }
}

/// Checks an incident title: not blank, at most [`TITLE_CHARS_MAX`] characters. Returns it trimmed.
pub fn validate_title(title: &str) -> Result<&str, String> {
    let title = title.trim();
    if title.is_empty() {
        return Err("title must not be empty".to_owned());
    }
    if title.chars().count() > TITLE_CHARS_MAX {
        return Err(format!("title is longer than {TITLE_CHARS_MAX} characters"));
    }
    Ok(title)
}

/// Checks a note: not blank, at most [`NOTE_CHARS_MAX`] characters. Returns it trimmed.
pub fn validate_note(text: &str) -> Result<&str, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("note text must not be empty".to_owned());
    }
    if text.chars().count() > NOTE_CHARS_MAX {
        return Err(format!("note text is longer than {NOTE_CHARS_MAX} characters"));
    }
    Ok(text)
}

/// Names shared by the wire formats and the database, one per variant. `parse` accepts any case.
macro_rules! named_enum {
    ($ty:ident, $what:literal, $($variant:ident => $name:literal),+ $(,)?) => {
        impl $ty {
            /// Every value, in order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The canonical name.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// Parses a name in any case, or says which names are valid.
            pub fn parse(s: &str) -> Result<Self, String> {
                $(if s.eq_ignore_ascii_case($name) { return Ok($ty::$variant); })+
                Err(format!(
                    concat!("unknown ", $what, " {:?}; expected one of: {}"),
                    s,
                    [$($name),+].join(", ")
                ))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

named_enum!(Severity, "severity", Sev1 => "SEV1", Sev2 => "SEV2", Sev3 => "SEV3", Sev4 => "SEV4");
named_enum!(Kind, "kind", Signal => "signal", Exception => "exception", Silent => "silent",
    Kingpin => "kingpin", Unknown => "unknown");
named_enum!(Status, "status", Triggered => "triggered", Acknowledged => "acknowledged",
    Mitigated => "mitigated", Resolved => "resolved");
named_enum!(AlertStatus, "alert status", Triggered => "triggered", Acknowledged => "acknowledged",
    Resolved => "resolved");
named_enum!(AlertAction, "event action", Trigger => "trigger", Acknowledge => "acknowledge", Resolve => "resolve");
named_enum!(Signal, "golden signal", Latency => "latency", Traffic => "traffic", Errors => "errors",
    Saturation => "saturation");
named_enum!(Direction, "direction", Up => "up", Down => "down", Both => "both");
named_enum!(NotifyOutcome, "notification outcome", Delivered => "delivered", Retrying => "retrying",
    Failed => "failed", Withdrawn => "withdrawn", Unknown => "unknown");
named_enum!(AssignRole, "role", Assignee => "assignee", Commander => "commander");

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn incident(status: Status) -> Incident {
        let t0 = Timestamp::UNIX_EPOCH;
        Incident {
            id: 1,
            title: "checkout is slow".to_owned(),
            service_id: 1,
            severity: Severity::Sev2,
            kind: Kind::Unknown,
            status,
            assignee_id: None,
            commander_id: None,
            created_at: t0,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            updated_at: t0,
            snoozed_until: None,
        }
    }

    /// Applies `command` to an incident in every status and prints the outcome per status.
    fn check(command: Command, expected: Expect) {
        let now = Timestamp::from_second(60).unwrap();
        let mut out = String::new();
        for status in Status::ALL {
            let mut incident = incident(*status);
            let before = incident.clone();
            let line = match incident.apply(&command, now) {
                Ok(event) => {
                    assert_eq!(incident.updated_at, now);
                    format!("{status:<12} -> {:<12} {event:?}", incident.status.as_str())
                }
                Err(err) => {
                    assert_eq!(incident, before, "a refused command changes nothing");
                    format!("{status:<12} refused: {err}")
                }
            };
            out.push_str(line.trim_end());
            out.push('\n');
        }
        expected.assert_eq(&out);
    }

    #[test]
    fn acknowledge() {
        check(
            Command::Acknowledge,
            expect![[r#"
            triggered    -> acknowledged StatusChanged { from: Triggered, to: Acknowledged }
            acknowledged refused: cannot acknowledge an incident that is acknowledged; it is already acknowledged
            mitigated    refused: cannot acknowledge an incident that is mitigated; it is already mitigated
            resolved     refused: cannot acknowledge an incident that is resolved; it is already resolved
        "#]],
        );
    }

    #[test]
    fn mitigate() {
        check(
            Command::Mitigate,
            expect![[r#"
            triggered    -> mitigated    StatusChanged { from: Triggered, to: Mitigated }
            acknowledged -> mitigated    StatusChanged { from: Acknowledged, to: Mitigated }
            mitigated    refused: cannot mitigate an incident that is mitigated; it is already mitigated
            resolved     refused: cannot mitigate an incident that is resolved; it is already resolved
        "#]],
        );
    }

    #[test]
    fn resolve() {
        check(
            Command::Resolve,
            expect![[r#"
            triggered    -> resolved     StatusChanged { from: Triggered, to: Resolved }
            acknowledged -> resolved     StatusChanged { from: Acknowledged, to: Resolved }
            mitigated    -> resolved     StatusChanged { from: Mitigated, to: Resolved }
            resolved     refused: cannot resolve an incident that is resolved; it is already resolved
        "#]],
        );
    }

    #[test]
    fn retrigger() {
        check(
            Command::Retrigger,
            expect![[r#"
            triggered    refused: cannot re-trigger an incident that is triggered; it is triggered and not resolved
            acknowledged refused: cannot re-trigger an incident that is acknowledged; it is already acknowledged
            mitigated    refused: cannot re-trigger an incident that is mitigated; it is already mitigated
            resolved     -> triggered    StatusChanged { from: Resolved, to: Triggered }
        "#]],
        );
    }

    #[test]
    fn snooze() {
        // The check's clock is at 60 s: a snooze to 1 h 1 min is an hour.
        check(
            Command::Snooze { until: Timestamp::from_second(3660).unwrap() },
            expect![[r#"
            triggered    refused: cannot snooze an incident that is triggered; it is triggered and not resolved
            acknowledged -> acknowledged Snoozed { until: 1970-01-01T01:01:00Z }
            mitigated    refused: cannot snooze an incident that is mitigated; it is already mitigated
            resolved     refused: cannot snooze an incident that is resolved; it is already resolved
        "#]],
        );
        let mut acknowledged = incident(Status::Acknowledged);
        let now = Timestamp::from_second(60).unwrap();
        for until in [now, Timestamp::from_second(60 + 24 * 3600 + 60).unwrap()] {
            let refused = acknowledged.apply(&Command::Snooze { until }, now).unwrap_err();
            assert_eq!(refused.to_string(), "a snooze lasts from 1 to 1440 minutes");
        }
        // It ends when its time comes, not before; acknowledging again or resolving clears it.
        let until = Timestamp::from_second(660).unwrap();
        acknowledged.apply(&Command::Snooze { until }, now).unwrap();
        assert_eq!(acknowledged.snoozed_until, Some(until));
        assert!(acknowledged.apply(&Command::EndSnooze, Timestamp::from_second(659).unwrap()).is_err());
        let event = acknowledged.apply(&Command::EndSnooze, until).unwrap();
        assert_eq!(event, TimelineEvent::StatusChanged { from: Status::Acknowledged, to: Status::Triggered });
        assert_eq!(
            (acknowledged.status, acknowledged.snoozed_until, acknowledged.acknowledged_at),
            (Status::Triggered, None, None)
        );
        acknowledged.apply(&Command::Acknowledge, until).unwrap();
        acknowledged.apply(&Command::Snooze { until: Timestamp::from_second(9000).unwrap() }, until).unwrap();
        acknowledged.apply(&Command::Resolve, until).unwrap();
        assert_eq!(acknowledged.snoozed_until, None);
        assert!(acknowledged.apply(&Command::EndSnooze, Timestamp::from_second(9000).unwrap()).is_err());
    }

    #[test]
    fn severity_and_assignment() {
        check(
            Command::SetSeverity(Severity::Sev2),
            expect![[r#"
            triggered    refused: severity is already SEV2
            acknowledged refused: severity is already SEV2
            mitigated    refused: severity is already SEV2
            resolved     refused: severity is already SEV2
        "#]],
        );
        let mut incident = incident(Status::Triggered);
        let now = Timestamp::UNIX_EPOCH;
        let assign = Command::Assign { role: AssignRole::Commander, user_id: Some(7) };
        assert_eq!(
            incident.apply(&assign, now),
            Ok(TimelineEvent::Assigned { role: AssignRole::Commander, user_id: Some(7) })
        );
        assert_eq!(incident.commander_id, Some(7));
        assert_eq!(incident.apply(&assign, now).unwrap_err().to_string(), "user 7 is already the commander");
        assert_eq!(
            incident.apply(&Command::AddNote("  ".into()), now).unwrap_err().to_string(),
            "note text must not be empty"
        );
    }

    #[test]
    fn names_round_trip() {
        for severity in Severity::ALL {
            assert_eq!(Severity::parse(&severity.as_str().to_lowercase()), Ok(*severity));
        }
        assert_eq!(
            Kind::parse("bug").unwrap_err(),
            "unknown kind \"bug\"; expected one of: signal, exception, silent, kingpin, unknown"
        );
    }
}
