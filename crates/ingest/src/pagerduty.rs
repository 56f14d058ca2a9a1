//! PagerDuty Events API v2 (`POST /v2/enqueue`): one alert event per request.
//!
//! Wire-compatible with PagerDuty, so senders that speak it (Alertmanager's `pagerduty_configs`,
//! Grafana, Datadog, scripts) work unchanged. Invalid events are answered the way PagerDuty answers:
//! a message and one error per invalid field, all of them rather than the first.
//!
//! What differs from PagerDuty, deliberately: a routing key may be any non-blank string of up to
//! [`ROUTING_KEY_CHARS_MAX`] characters (firebreak's keys are longer than PagerDuty's 32), and only
//! `http`/`https` links are kept. Unknown top-level fields are ignored, as PagerDuty ignores them.
//! The `payload` of an acknowledge or resolve event is optional and never makes the event invalid;
//! whatever of it is valid is used.
//!
//! Translation: the summary is made one line (its lines trimmed and joined by spaces); `trigger`,
//! `acknowledge` and `resolve` become [`AlertAction`]s; severities `critical`, `error`, `warning` and
//! `info` become `Sev1` to `Sev4` (`Sev3` when an acknowledge or resolve event carries none). Labels
//! are `source`, `severity` (PagerDuty's word) and `component`, `group` and `class` when given.
//! `details` is a JSON object with whichever of `custom_details`, `client`, `client_url` and `images`
//! the event has.

use std::collections::BTreeMap;
use std::fmt;

use firebreak_domain::{AlertAction, AlertEvent, DEDUP_KEY_CHARS_MAX, Kind, SUMMARY_CHARS_MAX, Severity};
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::common::{BoundedLabels, details_text, push_link, summary_line, truncate};

/// Longest routing key accepted.
pub const ROUTING_KEY_CHARS_MAX: usize = 128;

/// The message of every [`Invalid`], as PagerDuty words it.
pub const INVALID_MESSAGE: &str = "Event object is invalid";

/// A valid event, and the routing key that says which integration it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enqueue {
    /// The integration key the sender used; the server looks up the service with it.
    pub routing_key: String,
    /// The event, in firebreak's terms.
    pub event: AlertEvent,
}

/// Why an event was refused, as PagerDuty reports it in a `400 Bad Request`:
/// `{"status": "invalid event", "message": ..., "errors": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// Always [`INVALID_MESSAGE`].
    pub message: String,
    /// One entry per invalid field, such as `'payload.summary' is missing or blank`; for a body
    /// that is not JSON, one entry saying where the JSON went wrong.
    pub errors: Vec<String>,
}

impl Invalid {
    fn new(errors: Vec<String>) -> Invalid {
        Invalid { message: INVALID_MESSAGE.to_owned(), errors }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.message, self.errors.join("; "))
    }
}

impl std::error::Error for Invalid {}

/// Parses one Events API v2 alert event.
///
/// Returns [`Invalid`] listing every invalid field when the body is not a valid event. Never panics.
pub fn parse(body: &[u8]) -> Result<Enqueue, Invalid> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| Invalid::new(vec![format!("body is not valid JSON: {error}")]))?;
    let Value::Object(object) = value else {
        return Err(Invalid::new(vec!["body is not a JSON object".to_owned()]));
    };
    let mut errors = Vec::new();

    let routing_key = string_field(&object, "routing_key", "routing_key", &mut errors);
    let routing_key = match routing_key.filter(|key| !key.trim().is_empty()) {
        None => {
            errors.push("'routing_key' is missing or blank".to_owned());
            None
        }
        Some(key) if key.chars().count() > ROUTING_KEY_CHARS_MAX => {
            errors.push(format!("'routing_key' is too long (maximum is {ROUTING_KEY_CHARS_MAX} characters)"));
            None
        }
        Some(key) => Some(key),
    };

    let errors_before = errors.len();
    let action = match string_field(&object, "event_action", "event_action", &mut errors) {
        Some("trigger") => Some(AlertAction::Trigger),
        Some("acknowledge") => Some(AlertAction::Acknowledge),
        Some("resolve") => Some(AlertAction::Resolve),
        Some(word) if !word.trim().is_empty() => {
            errors
                .push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)".to_owned());
            None
        }
        _ => {
            if errors.len() == errors_before {
                errors.push("'event_action' is missing or blank".to_owned());
            }
            None
        }
    };

    let dedup_key = string_field(&object, "dedup_key", "dedup_key", &mut errors)
        .filter(|key| !key.trim().is_empty())
        .map(str::to_owned);
    if dedup_key.is_none() && matches!(action, Some(AlertAction::Acknowledge | AlertAction::Resolve)) {
        errors.push("'dedup_key' is missing or blank".to_owned());
    }
    if dedup_key.as_ref().is_some_and(|key| key.chars().count() > DEDUP_KEY_CHARS_MAX) {
        errors.push(format!("'dedup_key' is too long (maximum is {DEDUP_KEY_CHARS_MAX} characters)"));
    }

    // A trigger needs a valid payload; for acknowledge and resolve PagerDuty ignores it, so its
    // errors are dropped and only its valid fields are used.
    let is_trigger = action == Some(AlertAction::Trigger);
    let mut payload_errors = Vec::new();
    let payload = match object.get("payload") {
        Some(Value::Object(payload)) => Payload::read(payload, &mut payload_errors),
        None | Some(Value::Null) => {
            payload_errors.push("'payload' is missing".to_owned());
            Payload::default()
        }
        Some(_) => {
            payload_errors.push("'payload' must be an object".to_owned());
            Payload::default()
        }
    };
    if is_trigger {
        errors.append(&mut payload_errors);
    }

    let mut links = Vec::new();
    match object.get("links") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match item.get("href").and_then(Value::as_str).filter(|href| !href.trim().is_empty()) {
                    Some(href) => {
                        let text = item.get("text").and_then(Value::as_str).unwrap_or("");
                        push_link(&mut links, text, href);
                    }
                    None => {
                        // One error is enough to fix the sender; a list of a thousand is not.
                        errors.push(format!("'links[{index}].href' is missing or blank"));
                        break;
                    }
                }
            }
        }
        Some(_) => errors.push("'links' must be an array".to_owned()),
    }
    if object.get("images").is_some_and(|images| !images.is_null() && !images.is_array()) {
        errors.push("'images' must be an array".to_owned());
    }

    let (Some(routing_key), Some(action), true) = (routing_key, action, errors.is_empty()) else {
        return Err(Invalid::new(errors));
    };

    let mut details = Map::new();
    if let Some(custom_details) = payload.custom_details.filter(|value| !value.is_null()) {
        details.insert("custom_details".to_owned(), custom_details.clone());
    }
    for key in ["client", "client_url", "images"] {
        if let Some(value) = object.get(key).filter(|value| !value.is_null()) {
            details.insert(key.to_owned(), value.clone());
        }
    }

    let mut labels = BTreeMap::new();
    let severity = payload.severity.map(|(severity, word)| {
        labels.insert("severity".to_owned(), word.to_owned());
        severity
    });
    for (name, value) in [
        ("source", payload.source),
        ("component", payload.component),
        ("group", payload.group),
        ("class", payload.class),
    ] {
        if let Some(value) = value.filter(|value| !value.trim().is_empty()) {
            labels.insert(name.to_owned(), value.to_owned());
        }
    }
    let labels = BoundedLabels::new(labels);
    labels.add_to(&mut details);

    let event = AlertEvent {
        action,
        dedup_key,
        summary: payload.summary.map(summary_line).unwrap_or_default(),
        source: payload
            .source
            .map(|source| truncate(source.trim(), firebreak_domain::LABEL_CHARS_MAX))
            .unwrap_or_default(),
        severity: severity.unwrap_or(Severity::Sev3),
        kind: Kind::Signal,
        occurred_at: payload.timestamp,
        labels: labels.labels,
        details: details_text(details),
        links,
    };
    Ok(Enqueue { routing_key: routing_key.to_owned(), event })
}

/// The fields of a `payload` that are valid; the invalid ones are `None` and have an error.
#[derive(Debug, Default)]
struct Payload<'a> {
    summary: Option<&'a str>,
    source: Option<&'a str>,
    severity: Option<(Severity, &'static str)>,
    timestamp: Option<Timestamp>,
    component: Option<&'a str>,
    group: Option<&'a str>,
    class: Option<&'a str>,
    custom_details: Option<&'a Value>,
}

impl<'a> Payload<'a> {
    fn read(payload: &'a Map<String, Value>, errors: &mut Vec<String>) -> Payload<'a> {
        let mut required = |key: &str, path: &str| {
            let errors_before = errors.len();
            let value = string_field(payload, key, path, errors).filter(|value| !value.trim().is_empty());
            // A value of the wrong type already has its error.
            if value.is_none() && errors.len() == errors_before {
                errors.push(format!("'{path}' is missing or blank"));
            }
            value
        };
        let summary = required("summary", "payload.summary");
        let source = required("source", "payload.source");
        let severity_word = required("severity", "payload.severity");

        let summary = summary.filter(|summary| {
            let fits = summary.trim().chars().count() <= SUMMARY_CHARS_MAX;
            if !fits {
                errors.push(format!(
                    "'payload.summary' is too long (maximum is {SUMMARY_CHARS_MAX} characters)"
                ));
            }
            fits
        });
        let severity = severity_word.and_then(|word| {
            let severity = match word {
                "critical" => Some((Severity::Sev1, "critical")),
                "error" => Some((Severity::Sev2, "error")),
                "warning" => Some((Severity::Sev3, "warning")),
                "info" => Some((Severity::Sev4, "info")),
                _ => None,
            };
            if severity.is_none() {
                errors.push(
                    "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
                        .to_owned(),
                );
            }
            severity
        });
        let timestamp = string_field(payload, "timestamp", "payload.timestamp", errors).and_then(|text| {
            let timestamp = parse_timestamp(text);
            if timestamp.is_none() {
                errors.push("'payload.timestamp' is invalid (must be an ISO 8601 timestamp)".to_owned());
            }
            timestamp
        });
        Payload {
            summary,
            source,
            severity,
            timestamp,
            component: string_field(payload, "component", "payload.component", errors),
            group: string_field(payload, "group", "payload.group", errors),
            class: string_field(payload, "class", "payload.class", errors),
            custom_details: payload.get("custom_details"),
        }
    }
}

/// The string at `key`, or `None` when it is absent or null. Any other value is an error naming `path`.
fn string_field<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<&'a str> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(_) => {
            errors.push(format!("'{path}' must be a string"));
            None
        }
    }
}

/// Parses an ISO 8601 timestamp with an offset, such as `2015-07-17T08:42:58.315+00:00` or
/// PagerDuty's own example `2015-07-17T08:42:58.315+0000`.
fn parse_timestamp(text: &str) -> Option<Timestamp> {
    text.trim().parse().ok()
}
