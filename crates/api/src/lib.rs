//! Request and response types of firebreak's HTTP API v1, shared by the server, the CLI and the
//! web UI, with their OpenAPI schemas.
//!
//! These types are the wire format: field names here are a public contract. They convert from the
//! domain types explicitly; the domain types themselves know nothing of JSON.

mod guides;
mod heartbeats;
mod outcomes;

use firebreak_domain as domain;

pub use guides::{Assess, Assessment, GuideQuestion, GuideRule, SeverityGuide};
pub use heartbeats::{CreateHeartbeat, Heartbeat, HeartbeatPing, UpdateHeartbeat};
use jiff::Timestamp;
pub use outcomes::{
    CreateOutcomeRule, OutcomeEvent, OutcomeEventCount, OutcomeEventsAccepted, OutcomeRule, OutcomeRuleQuery,
    UpdateOutcomeRule,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A reference to a team, user or service: its numeric id or its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Ref {
    Id(i64),
    Name(String),
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ref::Id(id) => write!(f, "{id}"),
            Ref::Name(name) => write!(f, "{name:?}"),
        }
    }
}

impl Ref {
    /// Reads a reference typed by a person: digits are an id, anything else a name.
    pub fn parse(text: &str) -> Ref {
        match text.parse() {
            Ok(id) => Ref::Id(id),
            Err(_) => Ref::Name(text.to_owned()),
        }
    }
}

/// How bad an incident is; `SEV1` is the most severe. Lowercase is accepted on input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Severity {
    #[serde(rename = "SEV1", alias = "sev1")]
    Sev1,
    #[serde(rename = "SEV2", alias = "sev2")]
    Sev2,
    #[serde(rename = "SEV3", alias = "sev3")]
    Sev3,
    #[serde(rename = "SEV4", alias = "sev4")]
    Sev4,
}

/// The kind of underlying issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Signal,
    Exception,
    Silent,
    Kingpin,
    Unknown,
}

/// Where an incident is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Triggered,
    Acknowledged,
    Mitigated,
    Resolved,
}

/// Which responsibility an assignment gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Assignee,
    Commander,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub description: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// IANA time zone, such as `Europe/Lisbon`.
    pub time_zone: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    #[schema(
        max_length = 254,
        pattern = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub email: String,
    /// IANA time zone; `UTC` when left out.
    #[schema(min_length = 1)]
    pub time_zone: Option<String>,
}

/// Make a user a member of a team; an escalation level that targets the team pages every member.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTeamMember {
    pub user_id: i64,
    /// `owner`, `responder` (the default), `viewer` or `stakeholder`. Adding a member again sets it.
    pub role: Option<String>,
}

/// A member of a team, with their role in it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamMember {
    #[serde(flatten)]
    pub user: User,
    /// `owner`, `responder`, `viewer` or `stakeholder`.
    pub role: String,
}

/// A way to reach a user: an email address, a webhook URL, or a Slack-compatible incoming webhook.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContactMethod {
    /// `email`, `webhook`, `slack`, `sms`, `voice` or `ntfy`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The email address; the webhook, Slack or ntfy topic URL; or the phone number in E.164
    /// form (`+15551230001`) for `sms` and `voice`.
    pub address: String,
    /// For `ntfy`: an access token for a protected topic. Stored, never shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactMethod {
    pub id: i64,
    pub user_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub address: String,
    /// A webhook's signing secret (see `X-Firebreak-Signature`). Only in the response that creates
    /// the contact method: it is not shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A change to a contact method. Its type stays; a webhook keeps its signing secret.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContactMethod {
    /// The new email address, URL or phone number.
    pub address: Option<String>,
}

/// A notification rule to add: pages of one urgency reach one contact method a delay after the
/// page, at any hour or by day only (08:00 to 20:00 in the person's time zone). A person without
/// rules gets every contact method at once; without rules for low urgency, the high-urgency rules
/// apply to both.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNotificationRule {
    /// One of the person's contact methods.
    pub contact_method_id: i64,
    /// `high` (SEV1 and SEV2; the default) or `low` (SEV3 and SEV4).
    pub urgency: Option<String>,
    /// Minutes after the page, 0 (the default) to 1440.
    #[schema(minimum = 0, maximum = 1440)]
    pub delay_minutes: Option<i64>,
    /// `any` (the default) or `day`.
    pub hours: Option<String>,
}

/// How a person wants to be paged, one contact method at a time.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationRule {
    pub id: i64,
    pub user_id: i64,
    pub contact_method_id: i64,
    /// `high` or `low`.
    pub urgency: String,
    pub delay_minutes: i64,
    /// `any` or `day`.
    pub hours: String,
}

impl From<domain::NotificationRule> for NotificationRule {
    fn from(rule: domain::NotificationRule) -> NotificationRule {
        NotificationRule {
            id: rule.id,
            user_id: rule.user_id,
            contact_method_id: rule.contact_method_id,
            urgency: rule.urgency.as_str().to_owned(),
            delay_minutes: rule.delay_minutes,
            hours: rule.hours.as_str().to_owned(),
        }
    }
}

/// Where the paging of an incident stands.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Escalation {
    pub incident_id: i64,
    pub escalation_policy_id: i64,
    /// `active`, `acknowledged`, `resolved` or `exhausted`.
    pub state: String,
    /// Grows with each re-trigger of the incident.
    pub generation: u32,
    /// The pass through the policy's levels, from 1.
    pub pass: u32,
    /// The level paged last, from 1.
    pub level: u32,
    /// When the next level is paged if nobody acknowledges; only while active.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_deadline: Option<Timestamp>,
}

/// One page to one contact method, and how its delivery went.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    pub incident_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub channel: String,
    pub address: String,
    /// The escalation level that paged.
    pub level: u32,
    /// `pending`, `sending`, `delivered`, `failed`, `withdrawn` (not sent: the incident was
    /// acknowledged or resolved first) or `unknown` (not sent again after an attempt that was
    /// interrupted before its outcome was recorded: it may have arrived).
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    /// For a follow-up rather than a page: what it told someone who had been paged
    /// (`acknowledged by Bo`, `resolved by Ana`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(
        max_length = 254,
        pattern = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub email: Option<String>,
    /// IANA time zone.
    #[schema(min_length = 1)]
    pub time_zone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub title: String,
    pub url: String,
}

/// A service of the catalog.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Service {
    pub id: i64,
    pub name: String,
    /// Id of the owner team.
    pub team_id: i64,
    pub description: String,
    /// Markdown.
    pub documentation: String,
    /// Markdown.
    pub runbook: String,
    pub links: Vec<Link>,
    /// Ids of the services this one depends on.
    pub dependencies: Vec<i64>,
    /// How alerts become incidents.
    pub alert_settings: AlertSettings,
    /// Who gets paged, and in what order.
    pub escalation_policy_id: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// How a service turns alerts into incidents.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct AlertSettings {
    /// Labels that must be equal for alerts to share an incident; empty: one open incident per
    /// service. PagerDuty's `group` and `class` are labels.
    pub group_by: Vec<String>,
    /// A new alert joins an open incident only if it was opened at most this many minutes ago;
    /// `null`: as long as it is open.
    pub group_window_minutes: Option<i64>,
    /// Resolve the incident once all its alerts have resolved.
    pub auto_resolve: bool,
}

/// A service just created, with its integration key: shown this once, stored only hashed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedService {
    #[serde(flatten)]
    pub service: Service,
    /// The secret that ingest requests for this service carry (`routing_key` in PagerDuty terms).
    pub integration_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateService {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// The owner team, by id or name.
    pub team: Ref,
    /// What the service does, in a sentence or two.
    pub description: String,
    #[serde(default)]
    pub documentation: String,
    #[serde(default)]
    pub runbook: String,
    #[serde(default)]
    pub links: Vec<Link>,
    /// Services this one depends on, by id or name.
    #[serde(default)]
    pub dependencies: Vec<Ref>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateService {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    pub team: Option<Ref>,
    pub description: Option<String>,
    pub documentation: Option<String>,
    pub runbook: Option<String>,
    pub links: Option<Vec<Link>>,
    /// Replaces the whole list.
    pub dependencies: Option<Vec<Ref>>,
    pub group_by: Option<Vec<String>>,
    /// 0 removes the window.
    pub group_window_minutes: Option<i64>,
    pub auto_resolve: Option<bool>,
    /// The escalation policy's id; `null` removes it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub escalation_policy: Option<Option<i64>>,
}

/// Tells a field given as `null` (`Some(None)`) from a field left out (`None`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// An alert: what monitoring sent, identified by service and dedup key.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    pub service_id: i64,
    pub dedup_key: String,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    pub summary: String,
    pub source: String,
    pub severity: Severity,
    pub kind: Kind,
    pub labels: std::collections::BTreeMap<String, String>,
    /// What else the sender said, as it said it: PagerDuty's `custom_details`, `client`,
    /// `client_url` and `images`; Alertmanager's and Grafana's `annotations`, `generatorURL` and
    /// `groupKey`; labels too long to keep, under `labels_truncated`.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// Links its last trigger carried: PagerDuty's `links`, Alertmanager's `generatorURL` and
    /// runbook, Grafana's rule, dashboard, panel and silence.
    pub links: Vec<Link>,
    /// When the sender says its last trigger happened (PagerDuty's `payload.timestamp`,
    /// Alertmanager's `startsAt`), if it said.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<Timestamp>,
    /// How many trigger events it received.
    pub event_count: i64,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    pub incident_id: Option<i64>,
    /// The silence that kept it from opening an incident.
    pub silence_id: Option<i64>,
}

/// A silence: matching alerts are stored but open no incident and page no one.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Silence {
    pub id: i64,
    /// `null`: every service.
    pub service_id: Option<i64>,
    /// Alertmanager-style matchers: `name=value`, `name!=value`, `name=~regex`, `name!~regex`.
    pub matchers: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    pub comment: String,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSilence {
    /// Only this service (id or name); every service when left out.
    pub service: Option<Ref>,
    /// All must match: `name=value`, `name!=value`, `name=~regex`, `name!~regex`.
    #[schema(min_items = 1, max_items = 100)]
    pub matchers: Vec<String>,
    /// Now when left out.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Timestamp>,
    /// Give `ends_at` or `duration_minutes`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Timestamp>,
    pub duration_minutes: Option<i64>,
    #[serde(default)]
    pub comment: String,
}

/// An incident.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    /// Also the incident's number.
    pub id: i64,
    pub title: String,
    pub service_id: i64,
    pub severity: Severity,
    pub kind: Kind,
    pub status: Status,
    pub assignee_id: Option<i64>,
    pub commander_id: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub mitigated_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// While acknowledged and snoozed: when it is triggered again, paging from the first level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<Timestamp>,
}

/// An incident with its timeline, oldest entry first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub timeline: Vec<TimelineEntry>,
}

/// One page of incidents, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One entry of an incident's timeline.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who did it: an API token's name, or `firebreak`.
    pub actor: String,
    /// `declared`, `status_changed`, `severity_changed`, `assigned`, `note`, `alert` or `alerts_joined`.
    pub event: String,
    /// The entry in words.
    pub summary: String,
    /// The fields of the event, such as `from` and `to` of a status change.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareIncident {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: String,
    /// The affected service, by id or name.
    pub service: Ref,
    /// `SEV3` when left out.
    pub severity: Option<Severity>,
    /// `unknown` when left out.
    pub kind: Option<Kind>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNote {
    #[schema(min_length = 1, max_length = 20000, pattern = r"\S")]
    pub text: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeSeverity {
    pub severity: Severity,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// `assignee` when left out.
    #[serde(default)]
    pub role: Role,
    /// The user, by id or name; `null` removes whoever holds the role.
    pub user: Option<Ref>,
}

/// Who an incident goes to now.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    /// The user, by id or name.
    pub user: Ref,
}

/// How long to keep an acknowledged incident acknowledged before it is triggered again.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Snooze {
    /// 1 to 1440.
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: i64,
}

/// An error, as RFC 7807 `application/problem+json`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, for programs to match on.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, for a person to act on.
    pub detail: String,
}

macro_rules! enum_conversions {
    ($ty:ident, $($variant:ident),+) => {
        impl From<domain::$ty> for $ty {
            fn from(value: domain::$ty) -> $ty {
                match value { $(domain::$ty::$variant => $ty::$variant),+ }
            }
        }
        impl From<$ty> for domain::$ty {
            fn from(value: $ty) -> domain::$ty {
                match value { $($ty::$variant => domain::$ty::$variant),+ }
            }
        }
        impl $ty {
            /// The name used on the wire.
            pub fn as_str(self) -> &'static str {
                domain::$ty::from(self).as_str()
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

enum_conversions!(Severity, Sev1, Sev2, Sev3, Sev4);
enum_conversions!(Kind, Signal, Exception, Silent, Kingpin, Unknown);
enum_conversions!(Status, Triggered, Acknowledged, Mitigated, Resolved);

impl From<Role> for domain::AssignRole {
    fn from(role: Role) -> domain::AssignRole {
        match role {
            Role::Assignee => domain::AssignRole::Assignee,
            Role::Commander => domain::AssignRole::Commander,
        }
    }
}

impl From<domain::Team> for Team {
    fn from(team: domain::Team) -> Team {
        Team { id: team.id, name: team.name, description: team.description, created_at: team.created_at }
    }
}

impl From<domain::User> for User {
    fn from(user: domain::User) -> User {
        User {
            id: user.id,
            name: user.name,
            email: user.email,
            time_zone: user.time_zone,
            created_at: user.created_at,
        }
    }
}

impl From<Link> for domain::Link {
    fn from(link: Link) -> domain::Link {
        domain::Link { title: link.title, url: link.url }
    }
}

impl From<domain::Service> for Service {
    fn from(service: domain::Service) -> Service {
        Service {
            id: service.id,
            name: service.name,
            team_id: service.team_id,
            description: service.description,
            documentation: service.documentation,
            runbook: service.runbook,
            links: service.links.into_iter().map(|link| Link { title: link.title, url: link.url }).collect(),
            dependencies: service.dependencies,
            alert_settings: AlertSettings::default(),
            escalation_policy_id: None,
            created_at: service.created_at,
        }
    }
}

impl From<domain::Incident> for Incident {
    fn from(incident: domain::Incident) -> Incident {
        Incident {
            id: incident.id,
            title: incident.title,
            service_id: incident.service_id,
            severity: incident.severity.into(),
            kind: incident.kind.into(),
            status: incident.status.into(),
            assignee_id: incident.assignee_id,
            commander_id: incident.commander_id,
            created_at: incident.created_at,
            acknowledged_at: incident.acknowledged_at,
            mitigated_at: incident.mitigated_at,
            resolved_at: incident.resolved_at,
            updated_at: incident.updated_at,
            snoozed_until: incident.snoozed_until,
        }
    }
}

impl From<domain::TimelineEntry> for TimelineEntry {
    fn from(entry: domain::TimelineEntry) -> TimelineEntry {
        use domain::TimelineEvent as E;
        use serde_json::json;
        let (event, summary, details) = match &entry.event {
            E::Declared { title, severity } => (
                "declared",
                format!("declared {severity}: {title}"),
                json!({"title": title, "severity": severity.as_str()}),
            ),
            E::StatusChanged { from, to } => {
                ("status_changed", format!("{to}"), json!({"from": from.as_str(), "to": to.as_str()}))
            }
            E::SeverityChanged { from, to } => (
                "severity_changed",
                format!("severity {from} → {to}"),
                json!({"from": from.as_str(), "to": to.as_str()}),
            ),
            E::Assigned { role, user_id } => (
                "assigned",
                match user_id {
                    Some(id) => format!("{role} set to user {id}"),
                    None => format!("{role} removed"),
                },
                json!({"role": role.as_str(), "user_id": user_id}),
            ),
            E::Note { text } => ("note", text.clone(), json!({"text": text})),
            E::Alert { action, alert_id, dedup_key, summary } => (
                "alert",
                match action {
                    domain::AlertAction::Trigger => format!("alert fired: {summary}"),
                    domain::AlertAction::Acknowledge => {
                        format!("alert acknowledged at its source: {summary}")
                    }
                    domain::AlertAction::Resolve => format!("alert resolved: {summary}"),
                },
                json!({"action": action.as_str(), "alert_id": alert_id, "dedup_key": dedup_key, "summary": summary}),
            ),
            E::AlertsJoined { count } => {
                ("alerts_joined", format!("{count} more alerts joined"), json!({"count": count}))
            }
            E::Notified { user_id, user, channel, level, attempt, outcome, detail } => (
                "notified",
                match outcome {
                    domain::NotifyOutcome::Delivered => {
                        format!("paged {user} by {channel} (level {level}), delivered")
                    }
                    domain::NotifyOutcome::Retrying => {
                        format!("paging {user} by {channel} (level {level}) failed, retrying: {detail}")
                    }
                    domain::NotifyOutcome::Failed if *attempt <= 1 => {
                        format!("paging {user} by {channel} (level {level}) failed: {detail}")
                    }
                    domain::NotifyOutcome::Failed => format!(
                        "paging {user} by {channel} (level {level}) failed after {attempt} attempts: {detail}"
                    ),
                    domain::NotifyOutcome::Withdrawn => {
                        format!("page to {user} by {channel} (level {level}) withdrawn: {detail}")
                    }
                    domain::NotifyOutcome::Unknown => {
                        format!("page to {user} by {channel} (level {level}) may have arrived: {detail}")
                    }
                },
                json!({"user_id": user_id, "user": user, "channel": channel, "level": level,
                    "attempt": attempt, "outcome": outcome.as_str(), "detail": detail}),
            ),
            E::Unreachable { level, reason } => (
                "unreachable",
                format!("level {level} reached nobody: {reason}"),
                json!({"level": level, "reason": reason}),
            ),
            E::EscalationExhausted { generation } => (
                "escalation_exhausted",
                "every level was paged and nobody acknowledged".to_owned(),
                json!({"generation": generation}),
            ),
            E::EscalatedNow { level } => (
                "escalated_now",
                format!("escalated now: the wait at level {level} was cut short"),
                json!({"level": level}),
            ),
            E::Snoozed { until } => (
                "snoozed",
                format!(
                    "snoozed: triggers again at {} unless resolved",
                    until.strftime("%Y-%m-%d %H:%M UTC")
                ),
                json!({"until": until.to_string()}),
            ),
        };
        TimelineEntry {
            id: entry.id,
            at: entry.at,
            actor: entry.actor,
            event: event.to_owned(),
            summary,
            details,
        }
    }
}

impl From<domain::Alert> for Alert {
    fn from(alert: domain::Alert) -> Alert {
        Alert {
            id: alert.id,
            service_id: alert.service_id,
            dedup_key: alert.dedup_key,
            status: alert.status.as_str().to_owned(),
            summary: alert.summary,
            source: alert.source,
            severity: alert.severity.into(),
            kind: alert.kind.into(),
            labels: alert.labels,
            details: serde_json::from_str(&alert.details)
                .unwrap_or_else(|_| serde_json::Value::String(alert.details.clone())),
            links: alert.links.into_iter().map(|link| Link { title: link.title, url: link.url }).collect(),
            occurred_at: alert.occurred_at,
            event_count: alert.event_count,
            first_seen_at: alert.first_seen_at,
            last_seen_at: alert.last_seen_at,
            resolved_at: alert.resolved_at,
            incident_id: alert.incident_id,
            silence_id: alert.silence_id,
        }
    }
}

impl From<domain::Silence> for Silence {
    fn from(silence: domain::Silence) -> Silence {
        Silence {
            id: silence.id,
            service_id: silence.service_id,
            matchers: silence.matchers.iter().map(ToString::to_string).collect(),
            starts_at: silence.starts_at,
            ends_at: silence.ends_at,
            comment: silence.comment,
            created_by: silence.created_by,
            created_at: silence.created_at,
        }
    }
}

/// How one golden signal of a service is watched.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GoldenSignal {
    pub id: i64,
    pub service_id: i64,
    /// `latency`, `traffic`, `errors` or `saturation`.
    pub signal: String,
    /// PromQL; empty when samples are pushed.
    pub query: String,
    /// Which way is bad: `up`, `down` or `both`.
    pub bad: String,
    pub step_seconds: i64,
    /// Open an incident (kind `signal`) on a sustained anomaly.
    pub open_incident: bool,
    pub severity: Severity,
    /// The unit of the values (`s`, `req/s`, `%`), shown on charts; empty when unsaid.
    pub unit: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetGoldenSignal {
    /// PromQL evaluated with `query_range` against the configured Prometheus-compatible API;
    /// leave out to push samples instead.
    #[serde(default)]
    pub query: String,
    /// `up`, `down` or `both`; by default up, except traffic (both).
    pub bad: Option<String>,
    /// Seconds between samples and polls; 15 when left out.
    pub step_seconds: Option<i64>,
    #[serde(default)]
    pub open_incident: bool,
    /// Severity of incidents it opens; SEV2 when left out.
    pub severity: Option<Severity>,
    /// The unit of the values, shown on charts: `s`, `req/s`, `%`, … (at most 16 characters).
    #[schema(max_length = 16)]
    pub unit: Option<String>,
}

/// Samples pushed for a golden signal, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSamples {
    pub samples: Vec<PushSample>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSample {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub value: f64,
}

/// A stretch of time during which a golden signal was anomalous.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Anomaly {
    pub id: i64,
    pub service_id: i64,
    pub signal: String,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Timestamp>,
    pub peak_score: f64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    pub observed: f64,
    pub incident_id: Option<i64>,
}

impl From<domain::GoldenSignal> for GoldenSignal {
    fn from(signal: domain::GoldenSignal) -> GoldenSignal {
        GoldenSignal {
            id: signal.id,
            service_id: signal.service_id,
            signal: signal.signal.as_str().to_owned(),
            query: signal.query,
            bad: signal.bad.as_str().to_owned(),
            step_seconds: signal.step_secs,
            open_incident: signal.open_incident,
            severity: signal.severity.into(),
            unit: signal.unit,
        }
    }
}

impl From<domain::Anomaly> for Anomaly {
    fn from(anomaly: domain::Anomaly) -> Anomaly {
        Anomaly {
            id: anomaly.id,
            service_id: anomaly.service_id,
            signal: anomaly.signal.as_str().to_owned(),
            started_at: anomaly.started_at,
            ended_at: anomaly.ended_at,
            peak_score: anomaly.peak_score,
            expected: anomaly.expected,
            lower: anomaly.lower,
            upper: anomaly.upper,
            observed: anomaly.observed,
            incident_id: anomaly.incident_id,
        }
    }
}

/// An on-call schedule: layers of rotations (higher layers override lower ones) and overrides.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    /// IANA time zone that hand-offs and restrictions are in.
    pub time_zone: String,
    pub layers: Vec<Layer>,
    pub overrides: Vec<Override>,
    /// The team whose owners edit it; `null`: administrators edit it.
    pub team_id: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSchedule {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// IANA time zone, such as `Europe/Lisbon`.
    #[schema(min_length = 1)]
    pub time_zone: String,
    /// Lowest first; a higher layer overrides lower ones wherever it has someone on call.
    pub layers: Vec<Layer>,
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// The team (id or name) whose owners edit it; without one, administrators do.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub team: Option<Ref>,
}

/// Changes to a schedule: each field given replaces what the schedule has.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSchedule {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub layers: Option<Vec<Layer>>,
    pub overrides: Option<Vec<Override>>,
    /// Gives the schedule to another team (its owners, and this one's, must agree: owning both).
    #[schema(value_type = Option<String>)]
    pub team: Option<Ref>,
}

/// One rotation of a schedule.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// The first hand-off; later ones keep its local wall-clock time.
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// `12h`, `1d`, `1w` and the like.
    pub shift_length: String,
    /// The rotation, in order, by id or name.
    pub users: Vec<Ref>,
    /// When given, the layer has someone on call only inside these windows.
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
}

/// A window of a layer, in the schedule's time zone: daily (`09:00`–`17:00` every day) or weekly
/// (`monday 09:00` – `friday 17:00`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    /// `daily` or `weekly`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Weekly windows only: `monday` … `sunday`.
    pub start_day: Option<String>,
    /// `HH:MM`.
    pub start_time: String,
    pub end_day: Option<String>,
    pub end_time: String,
}

/// Someone covering a schedule from `start` to `end`, over every layer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub user: Ref,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

/// Who is on call at an instant.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OnCall {
    pub schedule_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `null` when nobody is.
    pub user: Option<User>,
}

/// A stretch of time with one person on call.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Shift {
    pub user_id: i64,
    pub user_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

/// An escalation policy: ordered levels, each paging its targets and waiting before the next.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EscalationPolicy {
    pub id: i64,
    pub name: String,
    /// Extra passes through the levels after the first.
    pub repeat: u32,
    pub levels: Vec<EscalationLevel>,
    /// The least severe incident for which the level that wakes management may be paged by hand.
    pub management_from: Severity,
    /// The team whose owners edit it; `null`: administrators edit it.
    pub team_id: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEscalationPolicy {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Extra passes through the levels after the first.
    #[serde(default)]
    #[schema(maximum = 9)]
    pub repeat: u32,
    #[schema(min_items = 1, max_items = 20)]
    pub levels: Vec<EscalationLevel>,
    /// The least severe incident for which the level that wakes management may be paged by hand
    /// (`POST /incidents/{id}/page`); `SEV2` when left out.
    #[serde(default)]
    pub management_from: Option<Severity>,
    /// The team (id or name) whose owners edit it; without one, administrators do.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub team: Option<Ref>,
}

/// Changes to an escalation policy: each field given replaces what the policy has. Incidents
/// paging through it follow the new levels from their next step.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEscalationPolicy {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^0-9\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(maximum = 9)]
    pub repeat: Option<u32>,
    #[schema(min_items = 1, max_items = 20)]
    pub levels: Option<Vec<EscalationLevel>>,
    pub management_from: Option<Severity>,
    /// Gives the policy to another team (owning both).
    #[schema(value_type = Option<String>)]
    pub team: Option<Ref>,
}

/// A service's new integration key, shown this once.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RotatedKey {
    pub service_id: i64,
    /// The key to send alerts with from now on; the old one no longer works.
    pub integration_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevel {
    /// Minutes to wait for an acknowledgement before the next level.
    pub timeout_minutes: i64,
    pub targets: Vec<EscalationTarget>,
    /// The one level allowed to wake management or the incident commander.
    #[serde(default)]
    pub wakes_management: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationTarget {
    /// `user`, `schedule` or `team`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: i64,
}

/// Who the escalation policy of a service would page now, level by level.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ServiceOnCall {
    pub service_id: i64,
    /// `null` when the service has no escalation policy.
    pub escalation_policy_id: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub levels: Vec<LevelOnCall>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LevelOnCall {
    /// From 1.
    pub level: u32,
    pub timeout_minutes: i64,
    /// The people its targets resolve to now.
    pub users: Vec<User>,
}

/// The secret address of an iCalendar feed. Anyone with it can read the feed, without a token;
/// asking for a new one makes the previous address stop working.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FeedUrl {
    /// Such as `https://firebreak.example.com/feeds/fbc_….ics`.
    pub url: String,
}

/// Filters of the incident list. Lists are comma-separated; a filter left out matches everything.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// Statuses, such as `triggered,acknowledged`; `open` means all but `resolved`, `all` every one.
    pub status: Option<String>,
    /// Service id or name.
    pub service: Option<String>,
    /// Owner team id or name.
    pub team: Option<String>,
    /// Severities, such as `SEV1,SEV2`.
    pub severity: Option<String>,
    /// Kinds, such as `signal,exception`.
    pub kind: Option<String>,
    /// Declared at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Declared before this instant (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, at most 500; 50 when left out.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// Time range of the anomaly list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnomalyQuery {
    /// RFC 3339; 24 hours ago when left out.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339; now when left out.
    #[param(format = DateTime)]
    pub until: Option<String>,
}

/// An instant, now when left out.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// RFC 3339; now when left out.
    #[param(format = DateTime)]
    pub at: Option<String>,
}

/// A time range.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// RFC 3339.
    #[param(format = DateTime)]
    pub from: String,
    /// RFC 3339; at most 400 days after `from`.
    #[param(format = DateTime)]
    pub to: String,
}

/// Whose on-call is asked for.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OnCallQuery {
    /// Service id or name.
    pub service: String,
    /// RFC 3339; now when left out.
    #[param(format = DateTime)]
    pub at: Option<String>,
}

/// A token to create: for yourself by default; an administrator may name another person, a team's
/// owner the team.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// The person (id or name) the token acts as.
    #[schema(value_type = Option<String>)]
    pub user: Option<Ref>,
    /// The most it may do: `admin`, `owner`, `responder`, `viewer` or `stakeholder`; never more
    /// than its owner. By default, its owner's highest.
    pub role: Option<String>,
    /// The team (id or name) the token acts for, instead of a person.
    #[schema(value_type = Option<String>)]
    pub team: Option<Ref>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

/// An API token, without its secret.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub user_id: Option<i64>,
    pub team_id: Option<i64>,
    pub role: String,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

/// A token just made, with its secret, shown this once.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: Token,
    pub token: String,
}

/// Who the caller is and what they may do.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The name timelines show.
    pub name: String,
    pub user_id: Option<i64>,
    pub admin: bool,
    /// Role per team id.
    pub roles: Vec<MemberRole>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberRole {
    pub team_id: i64,
    pub role: String,
}

/// A new password.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    #[schema(min_length = 12, max_length = 200)]
    pub password: String,
}

/// Whether a person administers the installation.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAdmin {
    pub admin: bool,
}

/// Whom to page by hand: exactly one of a user, a schedule (whoever is on call) or a level of the
/// incident's escalation policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageSomeone {
    #[schema(value_type = Option<String>)]
    pub user: Option<Ref>,
    pub schedule: Option<i64>,
    /// From 1.
    pub policy_level: Option<usize>,
}

/// One entry of the audit log.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who: a person's name, or a token's.
    pub actor: String,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    /// From where: the client's address, when known.
    pub address: String,
    /// Such as `service.update` or `incident.acknowledge`.
    pub action: String,
    /// Such as `service:12`.
    pub object: String,
    /// The object before and after a change of configuration.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// Which audit entries to list.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries by this actor (their name).
    pub actor: Option<String>,
    /// Entries about this object (`service:12`) or kind of object (`service`).
    pub object: Option<String>,
    /// Entries at or after this instant (RFC 3339).
    pub since: Option<String>,
    /// Entries older than this id, for the next page.
    pub before: Option<i64>,
    /// At most this many (1 to 500; 100 by default).
    pub limit: Option<u32>,
}
