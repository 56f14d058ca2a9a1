//! What the fuzz targets assert about every parse, beyond "does not panic": parsing is
//! deterministic, accepted events satisfy the domain's bounds, rejections say why, and every
//! alert of an accepted webhook is either an event or a rejection.
//!
//! The same checks run as property tests in `crates/ingest/tests/it/props.rs`, so ordinary
//! `cargo test` covers them too; keep the two in step.

use firebreak_domain::{
    AlertAction, AlertEvent, DEDUP_KEY_CHARS_MAX, LABEL_CHARS_MAX, LABELS_MAX, SUMMARY_CHARS_MAX,
};
use firebreak_ingest::{LINKS_MAX, alertmanager, pagerduty};
use serde_json::Value;

/// Parses `body` as a PagerDuty event twice and checks the result.
///
/// Panics when an invariant does not hold.
pub fn check_pagerduty(body: &[u8]) {
    let result = pagerduty::parse(body);
    assert_eq!(result, pagerduty::parse(body), "parsing is not deterministic");
    match result {
        Ok(enqueue) => {
            assert!(!enqueue.routing_key.trim().is_empty(), "blank routing key accepted");
            assert_event(&enqueue.event);
            if enqueue.event.action != AlertAction::Trigger {
                assert!(enqueue.event.dedup_key.is_some(), "acknowledge or resolve without dedup key");
            }
        }
        Err(invalid) => {
            assert_eq!(invalid.message, pagerduty::INVALID_MESSAGE);
            assert!(!invalid.errors.is_empty(), "invalid event without errors");
        }
    }
}

/// Parses `body` as an Alertmanager-shaped webhook with `parse` twice and checks the result.
///
/// Panics when an invariant does not hold.
pub fn check_webhook(body: &[u8], parse: fn(&[u8]) -> Result<alertmanager::Batch, String>) {
    let result = parse(body);
    assert_eq!(result, parse(body), "parsing is not deterministic");
    let batch = match result {
        Ok(batch) => batch,
        Err(error) => {
            assert!(!error.is_empty(), "error without a message");
            return;
        }
    };
    let body: Value = serde_json::from_slice(body).expect("an accepted body is JSON");
    let alerts = body["alerts"].as_array().map_or(0, Vec::len);
    assert!(alerts <= alertmanager::ALERTS_MAX, "{alerts} alerts accepted");
    assert_eq!(batch.events.len() + batch.rejected.len(), alerts, "an alert is unaccounted for");
    for reason in &batch.rejected {
        assert!(reason.starts_with("alert "), "rejection without index: {reason}");
    }
    for event in &batch.events {
        assert_event(event);
        assert!(event.dedup_key.is_some(), "webhook event without dedup key");
        assert_ne!(event.action, AlertAction::Acknowledge, "webhooks cannot acknowledge");
    }
}

/// Checks one accepted event against the domain's bounds.
///
/// Panics when it is out of bounds.
pub fn assert_event(event: &AlertEvent) {
    assert!(event.summary.chars().count() <= SUMMARY_CHARS_MAX, "summary too long");
    if event.action == AlertAction::Trigger {
        assert!(!event.summary.trim().is_empty(), "trigger without summary");
    }
    if let Some(key) = &event.dedup_key {
        assert!(!key.trim().is_empty(), "blank dedup key");
        assert!(key.chars().count() <= DEDUP_KEY_CHARS_MAX, "dedup key too long");
    }
    assert!(event.source.chars().count() <= LABEL_CHARS_MAX, "source too long");
    assert!(event.labels.len() <= LABELS_MAX, "{} labels", event.labels.len());
    for (name, value) in &event.labels {
        assert!(!name.is_empty(), "empty label name");
        assert!(name.chars().count() <= LABEL_CHARS_MAX, "label name too long");
        assert!(value.chars().count() <= LABEL_CHARS_MAX, "label value too long");
    }
    let details: Value = serde_json::from_str(&event.details).expect("details are JSON");
    assert!(details.is_object(), "details are not a JSON object");
    assert!(event.links.len() <= LINKS_MAX, "{} links", event.links.len());
    for link in &event.links {
        let url = link.url.to_ascii_lowercase();
        assert!(url.starts_with("http://") || url.starts_with("https://"), "link to {url}");
    }
}
