//! Expected outcomes: rules over a service's business events that raise an alert of kind `silent`
//! when something that should happen does not, and the events themselves, which a business system
//! posts with its service's integration key.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{Ref, Severity};

/// An expected-outcome rule, with what it makes of the events now.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OutcomeRule {
    pub id: i64,
    pub name: String,
    pub service_id: i64,
    /// The rule's sentence, in its canonical form, such as `at least 10 payment_captured per 1h
    /// between 08:00 and 20:00 on weekdays in Europe/Berlin`.
    pub rule: String,
    /// `at_least`, `ratio` or `absent`.
    pub shape: String,
    /// The severity of the rule's alert.
    pub severity: Severity,
    /// `met`, `breached`, or `quiet` (not judged now: outside its active hours, too new, or nothing
    /// to judge).
    pub status: String,
    /// What the rule expects, in words.
    pub expected: Option<String>,
    /// What was seen, when judged (met or breached).
    pub seen: Option<String>,
    /// Why the rule is not judged now (quiet).
    pub why: Option<String>,
    /// For each event read from a Prometheus-compatible API instead of posted events, the PromQL
    /// expression giving its count over `$window`.
    #[serde(default)]
    pub queries: BTreeMap<String, String>,
    /// Whether its alert is raised.
    pub alerting: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    /// How many of each event the rule reads arrived lately (only when one rule is asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<OutcomeEventCount>>,
}

/// What a service saw of one event lately.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OutcomeEventCount {
    pub event: String,
    /// The sum of the counts of the events of the last hour.
    pub last_hour: u64,
    /// The sum of the counts of the events of the last 24 hours.
    pub last_day: u64,
    /// When the last one happened, if any is kept.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_at: Option<Timestamp>,
}

/// An expected-outcome rule to create.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOutcomeRule {
    #[schema(max_length = 100)]
    pub name: String,
    /// The service (id or name) whose events the rule reads; its alert opens incidents there.
    pub service: Ref,
    /// The rule's sentence: `at least COUNT EVENT per DURATION [between HH:MM and HH:MM] [on DAYS]
    /// [in ZONE]`, `EVENT >= PERCENT% of EVENT within DURATION [over DURATION]` or `no EVENT for
    /// DURATION`.
    #[schema(max_length = 1000)]
    pub rule: String,
    /// SEV3 when left out.
    pub severity: Option<Severity>,
    /// Events to read from the Prometheus-compatible API firebreak was started with
    /// (`--prometheus-url`) instead of from posted events: for each (one of the rule's events, at
    /// most 2), a PromQL expression of at most 2,000 characters that gives the event's count over
    /// a window written `$window`, such as `sum(increase(payments_captured_total[$window]))`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queries: BTreeMap<String, String>,
}

/// Changes to an expected-outcome rule; what is left out stays.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOutcomeRule {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub rule: Option<String>,
    pub severity: Option<Severity>,
    /// Events to read from the Prometheus-compatible API firebreak was started with
    /// (`--prometheus-url`) instead of from posted events: for each (one of the rule's events, at
    /// most 2), a PromQL expression of at most 2,000 characters that gives the event's count over
    /// a window written `$window`, such as `sum(increase(payments_captured_total[$window]))`. An empty object
    /// reads every event from posted events again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<BTreeMap<String, String>>,
}

/// A business event, posted to `POST /api/v1/outcome-events` alone or in a JSON array.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeEvent {
    /// Its name, such as `payment_captured`: a-z, 0-9, `_ . : -`, read in lowercase.
    #[schema(max_length = 100)]
    pub event: String,
    /// The service (id or name) it is for; when given, it must be the one whose integration key
    /// authenticates the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Ref>,
    /// How many identical events this one stands for; 1 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub count: Option<i64>,
    /// When it happened; now when left out. At most 5 minutes ahead and 35 days ago.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    /// What ties a ratio rule's events together, such as a payout id: 1 to 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200)]
    pub key: Option<String>,
}

/// What `POST /api/v1/outcome-events` stored.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OutcomeEventsAccepted {
    /// How many events were stored: all that were sent.
    pub accepted: usize,
}

/// Which rules to list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutcomeRuleQuery {
    /// Only this service's rules (id or name).
    pub service: Option<String>,
}
