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
//! are the sender's: each of `custom_details`' one-line string values that fits a label, under its
//! key, and the labels shared by every alert that Alertmanager's default details list (so that its
//! `pagerduty_configs` can be grouped and silenced on its labels); then `source`, `severity`
//! (PagerDuty's word) and `component`, `group` and `class`, where the sender's labels have no such
//! name.
//! `details` is a JSON object with whichever of `custom_details`, `client`, `client_url` and `images`
//! the event has.

use std::borrow::Cow;
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
    // Most bodies are well-formed events: read straight into their members, borrowing the strings.
    // A body that this cannot read (a member of the wrong type, a member twice, not an object,
    // not JSON) is read again as a whole JSON value, which finds every problem and names it.
    match serde_json::from_slice::<Object<Members>>(body) {
        Ok(Object(members)) => members.event(),
        Err(_) => parse_value(body),
    }
}

/// Parses `body` as a JSON value, then reads the event's members from it.
fn parse_value(body: &[u8]) -> Result<Enqueue, Invalid> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| Invalid::new(vec![format!("body is not valid JSON: {error}")]))?;
    let Value::Object(object) = value else {
        return Err(Invalid::new(vec!["body is not a JSON object".to_owned()]));
    };
    Members::from_object(&object).event()
}

/// A member that should be a string. Absent and `null` are the same.
#[derive(Default)]
enum Text<'a> {
    #[default]
    Absent,
    Given(Cow<'a, str>),
    NotAString,
}

/// Serde's reading: a string, borrowed from the body unless it has escapes, or `null`. Anything
/// else fails the reading, and the reading as a value names it.
impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or null")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text::Given(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text::Given(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text::Given(Cow::Owned(text)))
            }

            fn visit_unit<E>(self) -> Result<Text<'de>, E> {
                Ok(Text::Absent)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl<'a> Text<'a> {
    fn from_value(value: Option<&'a Value>) -> Text<'a> {
        match value {
            None | Some(Value::Null) => Text::Absent,
            Some(Value::String(text)) => Text::Given(Cow::Borrowed(text)),
            Some(_) => Text::NotAString,
        }
    }

    /// The string, if given; one that is not a string is an error naming `path`.
    /// `path` is formatted only for an error (a `&str`, or `format_args!` for an indexed one).
    fn read(self, path: impl fmt::Display, errors: &mut Vec<String>) -> Option<Cow<'a, str>> {
        match self {
            Text::Absent => None,
            Text::Given(text) => Some(text),
            Text::NotAString => {
                errors.push(format!("'{path}' must be a string"));
                None
            }
        }
    }

    /// The string, which must be given and not blank; else an error naming `path`.
    fn require(self, path: impl fmt::Display + Copy, errors: &mut Vec<String>) -> Option<Cow<'a, str>> {
        let errors_before = errors.len();
        let value = self.read(path, errors).filter(|value| !value.trim().is_empty());
        // A value of the wrong type already has its error.
        if value.is_none() && errors.len() == errors_before {
            errors.push(format!("'{path}' is missing or blank"));
        }
        value
    }
}

/// An event's members, in the order their errors are reported: read by serde straight from the
/// body, or from a JSON value ([`Members::from_object`]).
#[derive(serde::Deserialize)]
struct Members<'a> {
    #[serde(borrow, default)]
    routing_key: Text<'a>,
    #[serde(borrow, default)]
    event_action: Text<'a>,
    #[serde(borrow, default)]
    dedup_key: Text<'a>,
    /// `None` when absent or `null`; `Err` when not an object (only in the reading as a value).
    #[serde(borrow, default, deserialize_with = "payload_object")]
    payload: Option<Result<PayloadMembers<'a>, ()>>,
    /// The rest, absent when `null`.
    links: Option<Cow<'a, Value>>,
    images: Option<Cow<'a, Value>>,
    client: Option<Cow<'a, Value>>,
    client_url: Option<Cow<'a, Value>>,
}

/// The members of a `payload` object.
#[derive(serde::Deserialize)]
struct PayloadMembers<'a> {
    #[serde(borrow, default)]
    summary: Text<'a>,
    #[serde(borrow, default)]
    source: Text<'a>,
    #[serde(borrow, default)]
    severity: Text<'a>,
    #[serde(borrow, default)]
    timestamp: Text<'a>,
    #[serde(borrow, default)]
    component: Text<'a>,
    #[serde(borrow, default)]
    group: Text<'a>,
    #[serde(borrow, default)]
    class: Text<'a>,
    custom_details: Option<Cow<'a, Value>>,
}

/// Serde's reading of `payload`: an object or `null`; anything else fails the reading.
fn payload_object<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Result<PayloadMembers<'a>, ()>>, D::Error> {
    let payload = <Option<Object<PayloadMembers<'a>>> as serde::Deserialize>::deserialize(deserializer)?;
    Ok(payload.map(|Object(payload)| Ok(payload)))
}

/// A struct that serde reads only from a JSON object. A derived struct also takes an array of its
/// members in order, which is not an event.
struct Object<T>(T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Object<T>, D::Error> {
        T::deserialize(StructAsMap(deserializer)).map(Object)
    }
}

/// Asks for a map where a derived struct asks for a struct (an object or an array).
struct StructAsMap<D>(D);

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for StructAsMap<D> {
    type Error = D::Error;

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// The member `key` of `object`, borrowed; absent when `null`.
fn non_null<'a>(object: &'a Map<String, Value>, key: &str) -> Option<Cow<'a, Value>> {
    object.get(key).filter(|value| !value.is_null()).map(Cow::Borrowed)
}

impl<'a> Members<'a> {
    fn from_object(object: &'a Map<String, Value>) -> Members<'a> {
        let text = |key: &str| Text::from_value(object.get(key));
        let value = |key: &str| non_null(object, key);
        Members {
            routing_key: text("routing_key"),
            event_action: text("event_action"),
            dedup_key: text("dedup_key"),
            payload: match object.get("payload") {
                None | Some(Value::Null) => None,
                Some(Value::Object(payload)) => {
                    let text = |key: &str| Text::from_value(payload.get(key));
                    Some(Ok(PayloadMembers {
                        summary: text("summary"),
                        source: text("source"),
                        severity: text("severity"),
                        timestamp: text("timestamp"),
                        component: text("component"),
                        group: text("group"),
                        class: text("class"),
                        custom_details: non_null(payload, "custom_details"),
                    }))
                }
                Some(_) => Some(Err(())),
            },
            links: value("links"),
            images: value("images"),
            client: value("client"),
            client_url: value("client_url"),
        }
    }

    /// The event these members make, or every problem with them.
    fn event(self) -> Result<Enqueue, Invalid> {
        let mut errors = Vec::new();
        let routing_key = self.routing_key.read("routing_key", &mut errors);
        let routing_key = match routing_key.filter(|key| !key.trim().is_empty()) {
            None => {
                errors.push("'routing_key' is missing or blank".to_owned());
                None
            }
            Some(key) if key.chars().count() > ROUTING_KEY_CHARS_MAX => {
                errors.push(format!(
                    "'routing_key' is too long (maximum is {ROUTING_KEY_CHARS_MAX} characters)"
                ));
                None
            }
            Some(key) => Some(key),
        };

        let errors_before = errors.len();
        let action = match self.event_action.read("event_action", &mut errors).as_deref() {
            Some("trigger") => Some(AlertAction::Trigger),
            Some("acknowledge") => Some(AlertAction::Acknowledge),
            Some("resolve") => Some(AlertAction::Resolve),
            Some(word) if !word.trim().is_empty() => {
                errors.push(
                    "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)".to_owned(),
                );
                None
            }
            _ => {
                if errors.len() == errors_before {
                    errors.push("'event_action' is missing or blank".to_owned());
                }
                None
            }
        };

        let dedup_key = self
            .dedup_key
            .read("dedup_key", &mut errors)
            .filter(|key| !key.trim().is_empty())
            .map(Cow::into_owned);
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
        let payload = match self.payload {
            Some(Ok(payload)) => Payload::read(payload, &mut payload_errors),
            None => {
                payload_errors.push("'payload' is missing".to_owned());
                Payload::default()
            }
            Some(Err(())) => {
                payload_errors.push("'payload' must be an object".to_owned());
                Payload::default()
            }
        };
        if is_trigger {
            errors.append(&mut payload_errors);
        }

        let mut links = Vec::new();
        match self.links.as_deref() {
            None => {}
            Some(Value::Array(items)) => {
                // One error is enough to fix the sender; a list of a thousand is not.
                for (index, item) in items.iter().enumerate() {
                    let Value::Object(link) = item else {
                        errors.push(format!("'links[{index}]' must be an object with an 'href'"));
                        break;
                    };
                    let errors_before = errors.len();
                    let href = Text::from_value(link.get("href"))
                        .require(format_args!("links[{index}].href"), &mut errors);
                    let text = Text::from_value(link.get("text"))
                        .read(format_args!("links[{index}].text"), &mut errors);
                    if errors.len() > errors_before {
                        break;
                    }
                    if let Some(href) = href {
                        push_link(&mut links, text.as_deref().unwrap_or(""), &href);
                    }
                }
            }
            Some(_) => errors.push("'links' must be an array".to_owned()),
        }
        if self.images.as_deref().is_some_and(|images| !images.is_array()) {
            errors.push("'images' must be an array".to_owned());
        }

        let (Some(routing_key), Some(action), true) = (routing_key, action, errors.is_empty()) else {
            return Err(Invalid::new(errors));
        };

        // The sender's labels, for grouping and silences: custom details that read as labels
        // (one-line strings that fit one), and the labels that all the alerts listed in
        // Alertmanager's default details share. Fields of the event fill in the rest.
        let mut labels = BTreeMap::new();
        if let Some(Value::Object(custom)) = payload.custom_details.as_deref() {
            let listed = ["firing", "resolved"]
                .iter()
                .filter_map(|key| custom.get(*key).and_then(Value::as_str))
                .find(|text| text.starts_with("Labels:\n"));
            if let Some(listed) = listed {
                labels.extend(alertmanager_common_labels(listed));
            }
            for (name, value) in custom {
                if let Value::String(value) = value
                    && !value.contains('\n')
                    && value.chars().count() <= firebreak_domain::LABEL_CHARS_MAX
                    && !value.trim().is_empty()
                {
                    labels.insert(name.clone(), value.clone());
                }
            }
        }
        let mut details = Map::new();
        for (key, value) in [
            ("custom_details", payload.custom_details),
            ("client", self.client),
            ("client_url", self.client_url),
            ("images", self.images),
        ] {
            if let Some(value) = value {
                details.insert(key.to_owned(), value.into_owned());
            }
        }

        let severity = payload.severity.map(|(severity, word)| {
            labels.entry("severity".to_owned()).or_insert_with(|| word.to_owned());
            severity
        });
        for (name, value) in [
            ("source", &payload.source),
            ("component", &payload.component),
            ("group", &payload.group),
            ("class", &payload.class),
        ] {
            if let Some(value) = value.as_deref().filter(|value| !value.trim().is_empty()) {
                labels.entry(name.to_owned()).or_insert_with(|| value.to_owned());
            }
        }
        let labels = BoundedLabels::new(labels);
        labels.add_to(&mut details);

        let event = AlertEvent {
            action,
            dedup_key,
            summary: payload.summary.as_deref().map(summary_line).unwrap_or_default(),
            source: payload
                .source
                .as_deref()
                .map(|source| truncate(source.trim(), firebreak_domain::LABEL_CHARS_MAX))
                .unwrap_or_default(),
            severity: severity.unwrap_or(Severity::Sev3),
            kind: Kind::Signal,
            occurred_at: payload.timestamp,
            labels: labels.labels,
            details: details_text(details),
            links,
        };
        Ok(Enqueue { routing_key: routing_key.into_owned(), event })
    }
}

/// The labels that every alert listed in `text` has, with the same value, where `text` is
/// Alertmanager's default PagerDuty details (its `__text_alert_list` template): per alert, a line
/// `Labels:`, then ` - name = value` lines, then `Annotations:` and more.
fn alertmanager_common_labels(text: &str) -> BTreeMap<String, String> {
    let mut common: Option<BTreeMap<String, String>> = None;
    let mut current = BTreeMap::new();
    let mut in_labels = false;
    let finish = |current: &mut BTreeMap<String, String>, common: &mut Option<BTreeMap<String, String>>| {
        let alert = std::mem::take(current);
        *common = Some(match common.take() {
            None => alert,
            Some(mut shared) => {
                shared.retain(|name, value| alert.get(name) == Some(value));
                shared
            }
        });
    };
    for line in text.lines() {
        if line == "Labels:" {
            if in_labels || !current.is_empty() {
                finish(&mut current, &mut common);
            }
            in_labels = true;
        } else if let Some(pair) = line.strip_prefix(" - ").filter(|_| in_labels) {
            if let Some((name, value)) = pair.split_once(" = ") {
                current.insert(name.to_owned(), value.to_owned());
            }
        } else {
            if in_labels {
                finish(&mut current, &mut common);
            }
            in_labels = false;
        }
    }
    if in_labels {
        finish(&mut current, &mut common);
    }
    let mut common = common.unwrap_or_default();
    common
        .retain(|name, value| !name.is_empty() && value.chars().count() <= firebreak_domain::LABEL_CHARS_MAX);
    common
}

/// The fields of a `payload` that are valid; the invalid ones are `None` and have an error.
#[derive(Debug, Default)]
struct Payload<'a> {
    summary: Option<Cow<'a, str>>,
    source: Option<Cow<'a, str>>,
    severity: Option<(Severity, &'static str)>,
    timestamp: Option<Timestamp>,
    component: Option<Cow<'a, str>>,
    group: Option<Cow<'a, str>>,
    class: Option<Cow<'a, str>>,
    custom_details: Option<Cow<'a, Value>>,
}

impl<'a> Payload<'a> {
    fn read(payload: PayloadMembers<'a>, errors: &mut Vec<String>) -> Payload<'a> {
        let summary = payload.summary.require("payload.summary", errors);
        let source = payload.source.require("payload.source", errors);
        let severity_word = payload.severity.require("payload.severity", errors);

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
            let severity = match &*word {
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
        let timestamp = payload.timestamp.read("payload.timestamp", errors).and_then(|text| {
            let timestamp = parse_timestamp(&text);
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
            component: payload.component.read("payload.component", errors),
            group: payload.group.read("payload.group", errors),
            class: payload.class.read("payload.class", errors),
            custom_details: payload.custom_details,
        }
    }
}

/// Parses an ISO 8601 timestamp with an offset, such as `2015-07-17T08:42:58.315+00:00` or
/// PagerDuty's own example `2015-07-17T08:42:58.315+0000`.
fn parse_timestamp(text: &str) -> Option<Timestamp> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A member's value: mostly strings that make a valid event, some with escapes, and now and
    /// then null, a number, an object or an array.
    fn member(valid: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop_oneof![
            6 => prop::sample::select(valid).prop_map(|text| format!("{text:?}")),
            1 => prop::sample::select(valid).prop_map(|text| format!("\"\\u{:04x}{}\"", 'x' as u32, &text[..text.len().min(8)])),
            1 => "[a-z\"\\\\\n ]{0,6}".prop_map(|text| serde_json::to_string(&text).unwrap()),
            1 => prop::sample::select(&["null", "7", "{\"a\": 1}", "[1, {\"b\": null}]", "\"\""][..]).prop_map(str::to_owned),
        ]
    }

    fn object(members: Vec<(&'static str, Option<String>)>, repeat: Option<usize>) -> String {
        let mut members: Vec<String> = members
            .into_iter()
            .filter_map(|(key, value)| value.map(|value| format!("{key:?}: {value}")))
            .collect();
        if let Some(index) = repeat.filter(|_| !members.is_empty()) {
            let again = members[index % members.len()].clone();
            members.push(again);
        }
        format!("{{{}}}", members.join(", "))
    }

    fn body() -> impl Strategy<Value = String> {
        let payload = (
            prop::option::weighted(0.9, member(&["Disk full on web-1", "CPU\nhigh", " "])),
            prop::option::weighted(0.9, member(&["web-1", "db"])),
            prop::option::weighted(0.9, member(&["critical", "error", "warning", "info", "bogus"])),
            prop::option::weighted(0.3, member(&["2015-07-17T08:42:58.315+00:00", "yesterday"])),
            prop::option::weighted(0.3, member(&["mysql", "web"])),
            prop::option::weighted(
                0.3,
                prop::sample::select(&["{\"z\": 1, \"a\": [2]}", "null", "3"][..]).prop_map(str::to_owned),
            ),
            prop::option::weighted(0.05, any::<usize>()),
        )
            .prop_map(|(summary, source, severity, timestamp, class, custom_details, repeat)| {
                object(
                    vec![
                        ("summary", summary),
                        ("source", source),
                        ("severity", severity),
                        ("timestamp", timestamp),
                        ("class", class),
                        ("custom_details", custom_details),
                    ],
                    repeat,
                )
            });
        (
            prop::option::weighted(0.95, member(&["fbk_0123", "k"])),
            prop::option::weighted(0.95, member(&["trigger", "acknowledge", "resolve", "bogus"])),
            prop::option::weighted(0.7, member(&["disk-web-1", "a"])),
            prop::option::weighted(
                0.9,
                prop_oneof![
                    8 => payload,
                    1 => Just("[]".to_owned()),
                    1 => Just("[\"s\", \"h\", \"info\", null, null, null, null, null]".to_owned()),
                    1 => Just("null".to_owned()),
                ],
            ),
            prop::option::weighted(
                0.2,
                prop::sample::select(
                    &["[{\"href\": \"https://x.example\", \"text\": \"x\"}]", "[{}]", "{}", "null"][..],
                )
                .prop_map(str::to_owned),
            ),
            prop::option::weighted(
                0.2,
                prop::sample::select(&["[]", "{}", "null"][..]).prop_map(str::to_owned),
            ),
            prop::option::weighted(0.2, member(&["Zabbix", "https://zabbix.example"])),
            prop::option::weighted(0.05, any::<usize>()),
        )
            .prop_map(
                |(routing_key, event_action, dedup_key, payload, links, images, client, repeat)| {
                    object(
                        vec![
                            ("routing_key", routing_key),
                            ("event_action", event_action),
                            ("dedup_key", dedup_key),
                            ("payload", payload),
                            ("links", links),
                            ("images", images),
                            ("client", client),
                            ("unknown", Some("{\"deep\": [[[1]]]}".to_owned())),
                        ],
                        repeat,
                    )
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Reading straight into the members gives what reading a JSON value first gives.
        #[test]
        fn both_readings_agree(body in body()) {
            prop_assert_eq!(parse(body.as_bytes()), parse_value(body.as_bytes()), "{}", body);
        }
    }

    #[test]
    fn members_in_an_array_are_not_an_event() {
        for body in [
            r#"["k", "trigger", null, {"summary": "s", "source": "h", "severity": "info"}, null, null, null, null]"#,
            r#"{"routing_key": "k", "event_action": "trigger",
                "payload": ["s", "h", "info", null, null, null, null, null]}"#,
        ] {
            let invalid = parse(body.as_bytes()).unwrap_err();
            assert_eq!(Err(invalid), parse_value(body.as_bytes()), "{body}");
        }
    }

    #[test]
    fn members_that_are_ignored_are_skipped_however_deep() {
        // serde_json refuses to build a value nested over 128 deep; a member nobody reads is
        // skipped without being built, so its depth costs nothing and is not held against it.
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let body = format!(
            r#"{{"routing_key": "k", "event_action": "trigger", "unknown": {deep},
                "payload": {{"summary": "s", "source": "h", "severity": "info"}}}}"#
        );
        assert!(parse(body.as_bytes()).is_ok());
        // Where it is read, the limit holds and is named.
        let body = body
            .replace(r#""severity": "info""#, &format!(r#""severity": "info", "custom_details": {deep}"#));
        let invalid = parse(body.as_bytes()).unwrap_err();
        assert!(invalid.errors[0].contains("recursion limit exceeded"), "{invalid}");
    }
}
