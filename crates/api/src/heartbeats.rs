//! Heartbeat checks: a job pings its check's URL when it runs; a missing ping, a failure, or a run
//! that never finishes raises an alert of kind `silent`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Ref, Severity};

/// A heartbeat check.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Heartbeat {
    pub id: i64,
    pub name: String,
    pub service_id: i64,
    /// Ping this URL when the job succeeds; add `/start`, `/fail`, `/log` or `/{exit_status}`.
    pub ping_url: String,
    /// The same check by its service's ping key and its slug.
    pub slug_url: String,
    pub slug: String,
    /// `new`, `up`, `late`, `down` or `paused`.
    pub status: String,
    /// Expect a ping every this many seconds; `null` for a cron check.
    pub period_seconds: Option<i64>,
    /// Expect a ping at every run of this cron expression; `null` for a period check.
    pub cron: Option<String>,
    /// The IANA time zone the cron expression is read in.
    pub time_zone: String,
    /// How long after the expected time a missing ping makes the check down.
    pub grace_seconds: i64,
    /// Failures in a row that make the check down.
    pub failures_to_alert: u32,
    /// The severity of the check's alert.
    pub severity: Severity,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_ping_at: Option<Timestamp>,
    /// When the next ping is expected (the check is late after it, down a grace time later).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_expected_at: Option<Timestamp>,
    /// A run started and not finished yet.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    /// Failures since the last success.
    pub failures_in_row: u32,
    /// Whether its alert is raised.
    pub alerting: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    /// The last pings, newest first (only when one check is asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pings: Option<Vec<HeartbeatPing>>,
}

/// One ping a check received.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatPing {
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `success`, `start`, `fail` or `log`.
    pub kind: String,
    pub exit_status: Option<u8>,
    /// The run id that pairs a start with its finish; empty when none was given.
    pub rid: String,
    /// How long the run took, for a finish paired with its start.
    pub duration_ms: Option<i64>,
    pub method: String,
    pub address: String,
    pub user_agent: String,
    /// The request body, up to the ping body limit.
    pub body: String,
}

/// A heartbeat check to create: give `period_seconds`, or `cron` (and `time_zone`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHeartbeat {
    pub name: String,
    /// The service (id or name) the check belongs to; its alert opens incidents there.
    pub service: Ref,
    /// The last part of the slug URL; made from the name when left out.
    pub slug: Option<String>,
    #[schema(minimum = 60, maximum = 31_622_400)]
    pub period_seconds: Option<i64>,
    /// Five fields (`0 3 * * *`), or `@daily` and the like.
    pub cron: Option<String>,
    /// IANA time zone for `cron`; UTC when left out.
    pub time_zone: Option<String>,
    #[schema(minimum = 60, maximum = 31_622_400)]
    pub grace_seconds: i64,
    /// Failures in a row that make the check down; 1 when left out.
    #[schema(minimum = 1, maximum = 100)]
    pub failures_to_alert: Option<u32>,
    /// SEV3 when left out.
    pub severity: Option<Severity>,
}

/// Changes to a heartbeat check; what is left out stays. Give `period_seconds` or `cron` to
/// change its schedule (one replaces the other).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHeartbeat {
    pub name: Option<String>,
    pub slug: Option<String>,
    #[schema(minimum = 60, maximum = 31_622_400)]
    pub period_seconds: Option<i64>,
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    #[schema(minimum = 60, maximum = 31_622_400)]
    pub grace_seconds: Option<i64>,
    #[schema(minimum = 1, maximum = 100)]
    pub failures_to_alert: Option<u32>,
    pub severity: Option<Severity>,
}
