//! Alerts: what monitoring sends, after `ingest` has translated it from the sender's vocabulary.
//!
//! An alert is identified by its service and dedup key. [`AlertEvent`] is one thing a sender said
//! about it (it fires, someone acknowledged it at the source, it resolved).

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::{Kind, Link, Severity};

/// Longest dedup key accepted (PagerDuty's own limit).
pub const DEDUP_KEY_CHARS_MAX: usize = 255;
/// Longest alert summary accepted (PagerDuty's own limit).
pub const SUMMARY_CHARS_MAX: usize = 1024;
/// Most labels an alert may carry.
pub const LABELS_MAX: usize = 64;
/// Longest label name or value accepted.
pub const LABEL_CHARS_MAX: usize = 1024;

/// What a sender says happened to an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertAction {
    /// The condition holds (again): open the alert or count a repeat.
    Trigger,
    /// Someone acknowledged it at the source.
    Acknowledge,
    /// The condition no longer holds.
    Resolve,
}

/// One event about an alert, in firebreak's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertEvent {
    pub action: AlertAction,
    /// Identifies the alert within its service. `None` only for triggers whose sender gave none;
    /// the server then makes one up and returns it.
    pub dedup_key: Option<String>,
    /// One line saying what is wrong. Empty only for acknowledge and resolve events.
    pub summary: String,
    /// The host, job or system where it happened.
    pub source: String,
    pub severity: Severity,
    /// Alerts from monitoring are signals; rules may say otherwise later.
    pub kind: Kind,
    /// When the sender says it happened, if it says.
    pub occurred_at: Option<Timestamp>,
    /// Labels to match silences and grouping rules on: an Alertmanager or Grafana alert's own
    /// labels; for PagerDuty events `source`, `severity`, and `component`, `group` and `class`
    /// when given.
    pub labels: BTreeMap<String, String>,
    /// The sender's extra details (custom details, annotations), as JSON text, opaque.
    pub details: String,
    pub links: Vec<Link>,
}

impl AlertEvent {
    /// Replaces every NUL character in the event's text with U+FFFD. PostgreSQL cannot store a
    /// NUL in text, and an alert is never refused for its text: both backends store the same.
    pub fn replace_nul(&mut self) {
        fn clean(text: &mut String) {
            if text.contains('\0') {
                *text = text.replace('\0', "\u{fffd}");
            }
        }
        if let Some(key) = &mut self.dedup_key {
            clean(key);
        }
        clean(&mut self.summary);
        clean(&mut self.source);
        clean(&mut self.details);
        if self.labels.iter().any(|(key, value)| key.contains('\0') || value.contains('\0')) {
            self.labels = std::mem::take(&mut self.labels)
                .into_iter()
                .map(|(mut key, mut value)| {
                    clean(&mut key);
                    clean(&mut value);
                    (key, value)
                })
                .collect();
        }
        for link in &mut self.links {
            clean(&mut link.title);
            clean(&mut link.url);
        }
    }
}

/// Where an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

/// An alert as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub id: crate::Id,
    pub service_id: crate::Id,
    pub dedup_key: String,
    pub status: AlertStatus,
    pub summary: String,
    pub source: String,
    pub severity: Severity,
    pub kind: Kind,
    pub labels: BTreeMap<String, String>,
    /// The sender's extra details (custom details, annotations), as JSON text.
    pub details: String,
    /// The links its last trigger carried.
    pub links: Vec<Link>,
    /// When the sender says its last trigger happened, if it said.
    pub occurred_at: Option<Timestamp>,
    /// How many trigger events it received.
    pub event_count: i64,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// The incident it belongs to; `None` while silenced.
    pub incident_id: Option<crate::Id>,
    /// The silence that kept it from opening an incident, if any.
    pub silence_id: Option<crate::Id>,
}

/// How a service groups new alerts into incidents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupingRule {
    /// What must be equal for two alerts to share an incident. Empty: one open incident per
    /// service.
    pub by: Vec<GroupBy>,
    /// An alert joins an open incident only if that incident was opened at most this long ago.
    pub window: Option<jiff::SignedDuration>,
}

/// How a service turns alerts into incidents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSettings {
    pub grouping: GroupingRule,
    /// Resolve an incident when all its alerts have resolved.
    pub auto_resolve: bool,
}

/// A property alerts are grouped by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// The value of a label (PagerDuty's `group` and `class` are labels too).
    Label(String),
}

impl GroupingRule {
    /// The key shared by alerts that belong in one incident under this rule.
    pub fn key(&self, labels: &BTreeMap<String, String>) -> String {
        let mut key = String::new();
        for GroupBy::Label(name) in &self.by {
            if !key.is_empty() {
                key.push('\u{1f}');
            }
            key.push_str(name);
            key.push('=');
            key.push_str(labels.get(name).map_or("", String::as_str));
        }
        key
    }

    /// Whether an incident opened at `opened_at` may still take new alerts at `now`.
    pub fn accepts(&self, opened_at: Timestamp, now: Timestamp) -> bool {
        match self.window {
            Some(window) => now.duration_since(opened_at) <= window,
            None => true,
        }
    }
}

/// How a [`Matcher`] compares a label with its value, as in Alertmanager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// One condition on a label. A missing label matches as the empty string, as in Alertmanager.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

/// Longest regular expression accepted in a matcher.
pub const MATCHER_REGEX_CHARS_MAX: usize = 1024;

impl Matcher {
    /// A matcher, or a message saying what is wrong with it. Regular expressions are anchored at
    /// both ends, as in Alertmanager.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Matcher, String> {
        if name.is_empty() || name.len() > LABEL_CHARS_MAX {
            return Err(format!("matcher label name must be 1 to {LABEL_CHARS_MAX} characters"));
        }
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                if value.len() > MATCHER_REGEX_CHARS_MAX {
                    return Err(format!("matcher regex is longer than {MATCHER_REGEX_CHARS_MAX} characters"));
                }
                let regex = regex::RegexBuilder::new(&format!("^(?:{value})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|err| format!("invalid regex in matcher for {name:?}: {err}"))?;
                Some(regex)
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher { name: name.to_owned(), op, value: value.to_owned(), regex })
    }

    /// Parses `name=value`, `name!=value`, `name=~regex` or `name!~regex` (the value optionally
    /// in double quotes). As in Alertmanager, a label name is ASCII letters, digits and
    /// underscores, not starting with a digit, unless it is in double quotes (UTF-8 names).
    pub fn parse(text: &str) -> Result<Matcher, String> {
        let ops = [
            ("!=", MatchOp::NotEqual),
            ("=~", MatchOp::Regex),
            ("!~", MatchOp::NotRegex),
            ("=", MatchOp::Equal),
        ];
        let (position, token, op) = ops
            .iter()
            .filter_map(|(token, op)| text.find(token).map(|position| (position, *token, *op)))
            .min_by_key(|(position, token, _)| (*position, std::cmp::Reverse(token.len())))
            .ok_or_else(|| {
                format!(
                    "invalid matcher {text:?}; expected name=value, name!=value, name=~regex or name!~regex"
                )
            })?;
        let name = text[..position].trim();
        let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(quoted) => quoted,
            None if is_label_name(name) => name,
            None => {
                let hint = if name.ends_with('~') { "; did you mean =~ (a regex match)?" } else { "" };
                return Err(format!(
                    "invalid label name {name:?} in matcher {text:?}: a label name is letters, digits and \
                     underscores, not starting with a digit (or any text in double quotes){hint}"
                ));
            }
        };
        let value = text[position + token.len()..].trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        Matcher::new(name, op, value)
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let actual = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => actual == self.value,
            (MatchOp::NotEqual, _) => actual != self.value,
            (MatchOp::Regex, Some(regex)) => regex.is_match(actual),
            (MatchOp::NotRegex, Some(regex)) => !regex.is_match(actual),
            (MatchOp::Regex | MatchOp::NotRegex, None) => {
                unreachable!("regex matchers are built with a regex")
            }
        }
    }
}

/// Whether `name` is a classic Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        if is_label_name(&self.name) {
            write!(f, "{}{op}{:?}", self.name, self.value)
        } else {
            write!(f, "{:?}{op}{:?}", self.name, self.value)
        }
    }
}

/// A silence (maintenance window): alerts matching all its matchers between `starts_at` and
/// `ends_at` are stored but open no incident and page no one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    pub id: crate::Id,
    /// `None`: every service.
    pub service_id: Option<crate::Id>,
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub comment: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

impl Silence {
    /// Whether this silence covers an alert of `service_id` with `labels` at `now`.
    pub fn silences(&self, service_id: crate::Id, labels: &BTreeMap<String, String>, now: Timestamp) -> bool {
        self.starts_at <= now
            && now < self.ends_at
            && self.service_id.is_none_or(|id| id == service_id)
            && self.matchers.iter().all(|matcher| matcher.matches(labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn matchers() {
        let alert = labels(&[("alertname", "DiskFull"), ("instance", "db-1:9100")]);
        let check = |text: &str, expected: bool| {
            let matcher = Matcher::parse(text).unwrap();
            assert_eq!(matcher.matches(&alert), expected, "{text}");
        };
        check("alertname=DiskFull", true);
        check("alertname=\"DiskFull\"", true);
        check("alertname!=DiskFull", false);
        check("instance=~db-.*", true);
        check("instance=~db", false);
        check("instance!~web-.*", true);
        check("team=", true);
        check("team!=", false);
        assert_eq!(
            Matcher::parse("nothing").unwrap_err(),
            "invalid matcher \"nothing\"; expected name=value, name!=value, name=~regex or name!~regex"
        );
        assert!(Matcher::parse("x=~(").unwrap_err().starts_with("invalid regex in matcher for \"x\""));
        assert_eq!(
            Matcher::parse("alertname~=x").unwrap_err(),
            "invalid label name \"alertname~\" in matcher \"alertname~=x\": a label name is letters, digits and \
             underscores, not starting with a digit (or any text in double quotes); did you mean =~ (a regex match)?"
        );
        for bad in ["1x=a", "a-b=c", "a.b=c", " =c", "é=c"] {
            assert!(Matcher::parse(bad).unwrap_err().starts_with("invalid label name"), "{bad}");
        }
        check("_x=", true);
        let quoted = Matcher::parse("\"service.name\"=checkout").unwrap();
        assert!(quoted.matches(&labels(&[("service.name", "checkout")])));
        assert_eq!(quoted.to_string(), "\"service.name\"=\"checkout\"");
        assert_eq!(Matcher::parse(&quoted.to_string()).unwrap(), quoted, "shown as it is parsed");
    }

    #[test]
    fn silences_and_grouping() {
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        let silence = Silence {
            id: 1,
            service_id: Some(7),
            matchers: vec![Matcher::parse("severity=warning").unwrap()],
            starts_at: t(100),
            ends_at: t(200),
            comment: String::new(),
            created_by: "ana".into(),
            created_at: t(0),
        };
        let warning = labels(&[("severity", "warning")]);
        assert!(silence.silences(7, &warning, t(100)));
        assert!(!silence.silences(7, &warning, t(200)), "the end is exclusive");
        assert!(!silence.silences(8, &warning, t(150)), "other services are not silenced");
        assert!(!silence.silences(7, &labels(&[("severity", "critical")]), t(150)));

        let rule = GroupingRule {
            by: vec![GroupBy::Label("class".into())],
            window: Some(jiff::SignedDuration::from_mins(10)),
        };
        assert_eq!(rule.key(&labels(&[("class", "disk")])), "class=disk");
        assert_eq!(GroupingRule::default().key(&labels(&[("class", "disk")])), "");
        assert!(rule.accepts(t(0), t(600)));
        assert!(!rule.accepts(t(0), t(601)));
    }
}
