//! Prometheus Alertmanager webhooks (`webhook_configs`, payload version 4): a group of alerts per
//! request, each of which becomes one event.
//!
//! Alertmanager resends the whole group on every change, so each alert in it is translated on its
//! own: `firing` becomes a trigger, `resolved` a resolve. An alert with a problem (not an object, an
//! unknown status, labels or annotations that are not maps of strings, a fingerprint that is not a
//! string or too long) is rejected with its index and reason while the others are accepted. Optional
//! informational fields of the wrong type (`startsAt`, `endsAt`, `generatorURL`) are ignored instead.
//!
//! Translation, per alert:
//! - dedup key: the alert's `fingerprint`; without one, the same fingerprint computed from its
//!   labels, so the key does not depend on whether the sender included it;
//! - summary: the `summary` annotation, else `message`, else `description`, else `alertname` (and
//!   `instance`);
//! - source: the `instance` label, else `job`, else the host of `externalURL`, else the sender's name;
//! - severity: from the `severity` label (`critical`/`page` to `Sev1`, `error`/`high` to `Sev2`,
//!   `warning`/`warn` to `Sev3`, `info`/`low`/`none` to `Sev4`, anything else `Sev3`);
//! - occurred at: `startsAt` when firing, `endsAt` when resolved, unless invalid or Go's zero time;
//! - labels: the alert's labels; details: its annotations, `generatorURL` and the group's `groupKey`;
//! - links: `generatorURL` and the `runbook_url` annotation.
//!
//! The Grafana parser ([`crate::grafana`]) is this one with Grafana's extra fields.

use std::collections::BTreeMap;

use firebreak_domain::{AlertAction, AlertEvent, DEDUP_KEY_CHARS_MAX, Kind, LABEL_CHARS_MAX, Link, Severity};
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::common::{BoundedLabels, as_str, details_text, fingerprint, push_link, summary_line, truncate};

/// Most alerts accepted in one webhook. Alertmanager's own `max_alerts` is unlimited by default,
/// but a group this large is a runaway rule; the body is refused rather than half-processed.
pub const ALERTS_MAX: usize = 1000;

/// What a webhook carried: the events of the alerts that could be read, and why the others could not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// One event per accepted alert, in the webhook's order.
    pub events: Vec<AlertEvent>,
    /// One reason per rejected alert, starting with its index: `alert 3: status "pending" is not
    /// firing or resolved`.
    pub rejected: Vec<String>,
}

/// Parses an Alertmanager webhook body.
///
/// Returns an error naming the problem when the body as a whole is unusable: not JSON, not an
/// object, a `version` other than `"4"`, `alerts` missing or not an array, or more than
/// [`ALERTS_MAX`] alerts. Problems with single alerts go to [`Batch::rejected`]. Never panics.
pub fn parse(body: &[u8]) -> Result<Batch, String> {
    parse_webhook(body, Sender::Alertmanager)
}

/// Which product sent an Alertmanager-shaped webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sender {
    Alertmanager,
    Grafana,
}

/// Parses an Alertmanager-shaped webhook from `sender`; see [`parse`].
pub(crate) fn parse_webhook(body: &[u8], sender: Sender) -> Result<Batch, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("body is not valid JSON: {error}"))?;
    let Value::Object(webhook) = value else {
        return Err("body is not a JSON object".to_owned());
    };
    // Grafana's webhooks say version "1"; only Alertmanager's version says something about the shape.
    if sender == Sender::Alertmanager {
        match webhook.get("version") {
            None | Some(Value::Null) => {}
            Some(Value::String(version)) if version == "4" => {}
            Some(other) => return Err(format!("'version' is {}; only \"4\" is supported", shown(other))),
        }
    }
    let alerts = match webhook.get("alerts") {
        Some(Value::Array(alerts)) => alerts,
        None | Some(Value::Null) if sender == Sender::Grafana && webhook.contains_key("ruleId") => {
            return Err("'alerts' is missing: this looks like a legacy Grafana alerting webhook, \
                        which is not supported; use Grafana's unified alerting"
                .to_owned());
        }
        None | Some(Value::Null) => return Err("'alerts' is missing".to_owned()),
        Some(_) => return Err("'alerts' is not an array".to_owned()),
    };
    if alerts.len() > ALERTS_MAX {
        return Err(format!("'alerts' has {} entries; at most {ALERTS_MAX} are accepted", alerts.len()));
    }

    let group = Group {
        sender,
        group_key: webhook.get("groupKey").filter(|key| key.is_string()),
        external_host: as_str(webhook.get("externalURL")).and_then(url_host),
    };
    let mut batch = Batch::default();
    for (index, alert) in alerts.iter().enumerate() {
        match group.read_alert(alert) {
            Ok(event) => batch.events.push(event),
            Err(reason) => batch.rejected.push(format!("alert {index}: {reason}")),
        }
    }
    Ok(batch)
}

/// What the alerts of one webhook share.
struct Group<'a> {
    sender: Sender,
    group_key: Option<&'a Value>,
    external_host: Option<&'a str>,
}

/// Go's zero `time.Time`, which Alertmanager sends for times it does not know.
const GO_ZERO_TIME_SECS: i64 = -62_135_596_800;

/// How much of an offending value a rejection reason quotes.
const SHOWN_CHARS_MAX: usize = 64;

impl Group<'_> {
    fn read_alert(&self, alert: &Value) -> Result<AlertEvent, String> {
        let Value::Object(alert) = alert else {
            return Err("not a JSON object".to_owned());
        };
        let action = match alert.get("status") {
            Some(Value::String(status)) if status == "firing" => AlertAction::Trigger,
            Some(Value::String(status)) if status == "resolved" => AlertAction::Resolve,
            None | Some(Value::Null) => return Err("status is missing".to_owned()),
            Some(other) => return Err(format!("status {} is not firing or resolved", shown(other))),
        };
        let labels = string_map(alert.get("labels"), "labels")?;
        let annotations = string_map(alert.get("annotations"), "annotations")?;
        let dedup_key = match alert.get("fingerprint") {
            Some(Value::String(key)) if key.chars().count() > DEDUP_KEY_CHARS_MAX => {
                return Err(format!("fingerprint is longer than {DEDUP_KEY_CHARS_MAX} characters"));
            }
            Some(Value::String(key)) if !key.trim().is_empty() => key.clone(),
            None | Some(Value::Null | Value::String(_)) => fingerprint(&labels),
            Some(other) => return Err(format!("fingerprint {} is not a string", shown(other))),
        };

        let summary = ["summary", "message", "description"]
            .iter()
            .filter_map(|name| annotations.get(*name))
            .find(|text| !text.trim().is_empty())
            .map(|text| summary_line(text))
            .unwrap_or_else(|| {
                let name = nonblank(&labels, "alertname").unwrap_or("unnamed alert");
                match nonblank(&labels, "instance") {
                    Some(instance) => summary_line(&format!("{name} on {instance}")),
                    None => summary_line(name),
                }
            });
        let source = nonblank(&labels, "instance")
            .or_else(|| nonblank(&labels, "job"))
            .or(self.external_host)
            .unwrap_or(match self.sender {
                Sender::Alertmanager => "alertmanager",
                Sender::Grafana => "grafana",
            });
        let source = truncate(source.trim(), LABEL_CHARS_MAX);
        let severity = match labels.get("severity").map(|word| word.trim().to_ascii_lowercase()).as_deref() {
            Some("critical" | "page") => Severity::Sev1,
            Some("error" | "high") => Severity::Sev2,
            Some("info" | "low" | "none") => Severity::Sev4,
            _ => Severity::Sev3,
        };
        let time_field = if action == AlertAction::Trigger { "startsAt" } else { "endsAt" };
        let occurred_at = as_str(alert.get(time_field))
            .and_then(|text| text.trim().parse::<Timestamp>().ok())
            .filter(|at| at.as_second() != GO_ZERO_TIME_SECS);

        let generator_url = as_str(alert.get("generatorURL")).filter(|url| !url.trim().is_empty());
        let mut details = Map::new();
        details.insert("annotations".to_owned(), Value::Object(to_object(&annotations)));
        if let Some(url) = generator_url {
            details.insert("generatorURL".to_owned(), Value::from(url));
        }
        if let Some(group_key) = self.group_key {
            details.insert("groupKey".to_owned(), group_key.clone());
        }
        let mut links: Vec<Link> = Vec::new();
        match self.sender {
            Sender::Alertmanager => push_link(&mut links, "Source", generator_url.unwrap_or("")),
            Sender::Grafana => {
                push_link(&mut links, "Alert rule", generator_url.unwrap_or(""));
                for (field, title) in [
                    ("dashboardURL", "Dashboard"),
                    ("panelURL", "Panel"),
                    ("silenceURL", "Silence"),
                    ("imageURL", "Image"),
                ] {
                    push_link(&mut links, title, as_str(alert.get(field)).unwrap_or(""));
                }
                for field in ["values", "valueString"] {
                    if let Some(value) = alert.get(field).filter(|value| !value.is_null()) {
                        details.insert(field.to_owned(), value.clone());
                    }
                }
            }
        }
        push_link(&mut links, "Runbook", annotations.get("runbook_url").map_or("", String::as_str));

        let labels = BoundedLabels::new(labels);
        labels.add_to(&mut details);
        Ok(AlertEvent {
            action,
            dedup_key: Some(dedup_key),
            summary,
            source,
            severity,
            kind: Kind::Signal,
            occurred_at,
            labels: labels.labels,
            details: details_text(details),
            links,
        })
    }
}

/// The member `what` (labels or annotations) as a map of strings, absent meaning empty; else why
/// not, naming the first value that is not a string.
fn string_map(value: Option<&Value>, what: &str) -> Result<BTreeMap<String, String>, String> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(object)) => object
            .iter()
            .map(|(name, value)| match value {
                Value::String(text) => Ok((name.clone(), text.clone())),
                other => Err(format!(
                    "{what} must be an object of strings, and {} is {}",
                    shown(&Value::from(name.as_str())),
                    shown(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!("{what} must be an object of strings, not {}", shown(other))),
    }
}

fn to_object(map: &BTreeMap<String, String>) -> Map<String, Value> {
    map.iter().map(|(name, value)| (name.clone(), Value::from(value.as_str()))).collect()
}

fn nonblank<'a>(labels: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    labels.get(name).map(String::as_str).filter(|value| !value.trim().is_empty())
}

/// The host (and port) of a URL such as `http://alertmanager.example.com:9093/am`.
fn url_host(url: &str) -> Option<&str> {
    let (_, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    Some(host).filter(|host| !host.is_empty())
}

/// An offending value as JSON text, shortened for an error message.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= SHOWN_CHARS_MAX {
        text
    } else {
        format!("{}…", truncate(&text, SHOWN_CHARS_MAX))
    }
}
