//! Helpers shared by the parsers: bounding text, labels and links to the domain's limits, and the
//! label fingerprint Alertmanager uses.

use std::collections::BTreeMap;

use firebreak_domain::{LABEL_CHARS_MAX, LABELS_MAX, Link, SUMMARY_CHARS_MAX};
use serde_json::{Map, Value};

use crate::{LABELS_KEPT_FIRST, LINK_CHARS_MAX, LINKS_MAX};

/// Labels within the domain's bounds, and the originals of those that had to be shortened or dropped.
#[derive(Debug, Default)]
pub(crate) struct BoundedLabels {
    pub(crate) labels: BTreeMap<String, String>,
    /// Original name and value of each label that was shortened or dropped; empty when none was.
    pub(crate) truncated: BTreeMap<String, String>,
}

impl BoundedLabels {
    /// Bounds `labels` as described in the crate documentation.
    pub(crate) fn new(labels: BTreeMap<String, String>) -> BoundedLabels {
        let mut bounded = BoundedLabels::default();
        let (first, rest): (Vec<_>, Vec<_>) =
            labels.into_iter().partition(|(name, _)| LABELS_KEPT_FIRST.contains(&name.as_str()));
        for (name, value) in first.into_iter().chain(rest) {
            let name_fits = !name.is_empty() && name.chars().count() <= LABEL_CHARS_MAX;
            if !name_fits || bounded.labels.len() >= LABELS_MAX {
                bounded.truncated.insert(name, value);
                continue;
            }
            if value.chars().count() > LABEL_CHARS_MAX {
                bounded.labels.insert(name.clone(), truncate(&value, LABEL_CHARS_MAX));
                bounded.truncated.insert(name, value);
            } else {
                bounded.labels.insert(name, value);
            }
        }
        bounded
    }

    /// Adds the originals of shortened or dropped labels to `details`, if there are any.
    pub(crate) fn add_to(&self, details: &mut Map<String, Value>) {
        if !self.truncated.is_empty() {
            let truncated =
                self.truncated.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
            details.insert("labels_truncated".to_owned(), Value::Object(truncated));
        }
    }
}

/// The first `chars_max` characters of `text`.
pub(crate) fn truncate(text: &str, chars_max: usize) -> String {
    match text.char_indices().nth(chars_max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// `text` as a one-line summary: its non-blank lines trimmed and joined by spaces, and shortened to
/// [`SUMMARY_CHARS_MAX`] characters with a trailing ellipsis when too long.
pub(crate) fn summary_line(text: &str) -> String {
    let line = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ");
    if line.chars().count() <= SUMMARY_CHARS_MAX {
        return line;
    }
    let mut short = truncate(&line, SUMMARY_CHARS_MAX - 1);
    short.push('…');
    short
}

/// Appends a link to `links` if `url` is an `http` or `https` URL that fits, and there is room.
pub(crate) fn push_link(links: &mut Vec<Link>, title: &str, url: &str) {
    let url = url.trim();
    let scheme_end = url.find("://").unwrap_or(0);
    let scheme = &url[..scheme_end];
    let is_http = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let has_host = url.len() > scheme_end + 3;
    if !is_http || !has_host || url.chars().count() > LINK_CHARS_MAX || links.len() >= LINKS_MAX {
        return;
    }
    let title = if title.trim().is_empty() { url } else { title.trim() };
    links.push(Link { title: truncate(title, LINK_CHARS_MAX), url: url.to_owned() });
}

/// The fingerprint Alertmanager gives an alert with these labels (Prometheus' label set
/// fingerprint): FNV-1a 64 over the labels sorted by name, each name and value followed by the
/// byte 0xff, printed as 16 hex digits.
pub(crate) fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    const SEPARATOR: u8 = 0xff;
    let mut hash = OFFSET_BASIS;
    let mut add = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    };
    for (name, value) in labels {
        name.bytes().for_each(&mut add);
        add(SEPARATOR);
        value.bytes().for_each(&mut add);
        add(SEPARATOR);
    }
    format!("{hash:016x}")
}

/// Renders details as JSON text. Keys come out sorted at every level (whatever serde_json's
/// `preserve_order` feature says), so equal details give equal text.
pub(crate) fn details_text(details: Map<String, Value>) -> String {
    let details = Value::Object(details);
    // Without `preserve_order` the keys are sorted already, and nothing need be rebuilt.
    if keys_sorted(&details) { details.to_string() } else { sorted(details).to_string() }
}

fn keys_sorted(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.keys().is_sorted() && map.values().all(keys_sorted),
        Value::Array(items) => items.iter().all(keys_sorted),
        _ => true,
    }
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        scalar => scalar,
    }
}

/// A JSON string's contents, or `None` for anything else.
pub(crate) fn as_str(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn details_come_out_with_keys_sorted_at_every_level() {
        let Value::Object(details) = json!({"z": {"b": 1, "a": [{"d": 2, "c": 3}]}, "m": null}) else {
            unreachable!("an object literal")
        };
        assert_eq!(details_text(details), r#"{"m":null,"z":{"a":[{"c":3,"d":2}],"b":1}}"#);
    }
}
