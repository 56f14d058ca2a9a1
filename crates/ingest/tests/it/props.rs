//! Properties of all three parsers, for arbitrary bytes, arbitrary JSON and generated near-valid
//! bodies (each field valid or deliberately broken): they never panic, they are deterministic, every
//! accepted event is within the domain's bounds, and every alert of a webhook is accounted for.

use firebreak_domain::{
    AlertAction, AlertEvent, DEDUP_KEY_CHARS_MAX, LABEL_CHARS_MAX, LABELS_MAX, SUMMARY_CHARS_MAX,
};
use firebreak_ingest::{LINKS_MAX, alertmanager, grafana, pagerduty};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Asserts what every accepted event must satisfy.
fn assert_bounds(event: &AlertEvent) {
    assert!(event.summary.chars().count() <= SUMMARY_CHARS_MAX, "summary too long");
    if event.action == AlertAction::Trigger {
        assert!(!event.summary.trim().is_empty(), "trigger without summary");
    }
    if let Some(key) = &event.dedup_key {
        assert!(
            !key.trim().is_empty() && key.chars().count() <= DEDUP_KEY_CHARS_MAX,
            "bad dedup key {key:?}"
        );
    }
    assert!(event.source.chars().count() <= LABEL_CHARS_MAX, "source too long");
    assert!(event.labels.len() <= LABELS_MAX, "{} labels", event.labels.len());
    for (name, value) in &event.labels {
        assert!(!name.is_empty() && name.chars().count() <= LABEL_CHARS_MAX, "bad label name {name:?}");
        assert!(value.chars().count() <= LABEL_CHARS_MAX, "label {name} too long");
    }
    let details: Value = serde_json::from_str(&event.details).expect("details are JSON");
    assert!(details.is_object(), "details are not an object: {details}");
    assert!(event.links.len() <= LINKS_MAX);
    for link in &event.links {
        let url = link.url.to_ascii_lowercase();
        assert!(url.starts_with("http://") || url.starts_with("https://"), "link {url}");
    }
}

fn check_pagerduty(body: &[u8]) {
    let result = pagerduty::parse(body);
    assert_eq!(result, pagerduty::parse(body), "not deterministic");
    match result {
        Ok(enqueue) => {
            assert!(!enqueue.routing_key.trim().is_empty());
            assert_bounds(&enqueue.event);
            if enqueue.event.action != AlertAction::Trigger {
                assert!(enqueue.event.dedup_key.is_some(), "acknowledge or resolve without dedup key");
            }
        }
        Err(invalid) => {
            assert_eq!(invalid.message, pagerduty::INVALID_MESSAGE);
            assert!(!invalid.errors.is_empty(), "invalid without errors");
        }
    }
}

fn check_webhook(body: &[u8], parse: fn(&[u8]) -> Result<alertmanager::Batch, String>) {
    let result = parse(body);
    assert_eq!(result, parse(body), "not deterministic");
    let Ok(batch) = result else { return };
    let alerts = serde_json::from_slice::<Value>(body).expect("accepted bodies are JSON")["alerts"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(batch.events.len() + batch.rejected.len(), alerts, "every alert is accounted for");
    for event in &batch.events {
        assert_bounds(event);
        assert!(event.dedup_key.is_some(), "webhook events always have a dedup key");
        assert!(matches!(event.action, AlertAction::Trigger | AlertAction::Resolve));
    }
}

fn check_all(body: &[u8]) {
    check_pagerduty(body);
    check_webhook(body, alertmanager::parse);
    check_webhook(body, grafana::parse);
}

/// Field names the parsers look at, so arbitrary JSON reaches past the first check.
const NAMES: &[&str] = &[
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "summary",
    "source",
    "severity",
    "timestamp",
    "component",
    "group",
    "class",
    "custom_details",
    "links",
    "href",
    "text",
    "images",
    "client",
    "version",
    "alerts",
    "status",
    "labels",
    "annotations",
    "fingerprint",
    "startsAt",
    "endsAt",
    "generatorURL",
    "externalURL",
    "groupKey",
    "alertname",
    "instance",
    "job",
    "description",
    "runbook_url",
    "dashboardURL",
    "values",
    "valueString",
];

/// Strings near the interesting ones: known words, blanks, URLs, timestamps and long runs
/// around the bounds.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "trigger",
            "acknowledge",
            "resolve",
            "firing",
            "resolved",
            "critical",
            "error",
            "warning",
            "info",
            "page",
            "4",
            "",
            " ",
            "https://example.com/x",
            "http://",
            "javascript:x",
            "2024-03-12T14:07:33Z",
            "0001-01-01T00:00:00Z",
            "2015-07-17T08:42:58.315+0000",
            "é",
        ])
        .prop_map(str::to_owned),
        prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
        any::<String>(),
        (
            prop::sample::select(vec!["x", "é", "\n"]),
            prop::sample::select(vec![127, 128, 129, 255, 256, 1023, 1024, 1025, 1100])
        )
            .prop_map(|(unit, count)| unit.repeat(count)),
    ]
}

/// A string that is usually a plain word, so generated bodies are often valid, and sometimes [`text`].
fn mostly_word() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-zA-Z0-9._:/-]{1,30}", 1 => text()]
}

/// A URL that is usually `http` or `https`.
fn mostly_url() -> impl Strategy<Value = String> {
    prop_oneof![4 => "(http|https|HTTPS|ftp)://[a-z.]{1,20}(/[a-z]{0,10})?", 1 => text()]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A value that is usually right for a string field and sometimes deliberately wrong.
fn maybe(valid: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => valid.prop_map(Some),
        1 => Just(None),
        1 => json_value().prop_map(Some),
    ]
}

fn string(valid: impl Strategy<Value = String>) -> impl Strategy<Value = Value> {
    valid.prop_map(Value::from)
}

fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
    Value::Object(fields.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))).collect())
}

fn pagerduty_event() -> impl Strategy<Value = Value> {
    let payload = (
        maybe(string(mostly_word())),
        maybe(string(mostly_word())),
        maybe(string(
            prop::sample::select(vec!["critical", "error", "warning", "info"]).prop_map(str::to_owned),
        )),
        maybe(string(text())),
        maybe(string(text())),
        maybe(json_value()),
    )
        .prop_map(|(summary, source, severity, timestamp, component, custom_details)| {
            object(vec![
                ("summary", summary),
                ("source", source),
                ("severity", severity),
                ("timestamp", timestamp),
                ("component", component),
                ("custom_details", custom_details),
            ])
        });
    let link = (maybe(string(mostly_url())), maybe(string(text())))
        .prop_map(|(href, text)| object(vec![("href", href), ("text", text)]));
    (
        maybe(string(mostly_word())),
        maybe(string(
            prop::sample::select(vec!["trigger", "acknowledge", "resolve"]).prop_map(str::to_owned),
        )),
        maybe(string(mostly_word())),
        maybe(payload),
        maybe(prop::collection::vec(link, 0..20).prop_map(Value::from)),
    )
        .prop_map(|(routing_key, action, dedup_key, payload, links)| {
            object(vec![
                ("routing_key", routing_key),
                ("event_action", action),
                ("dedup_key", dedup_key),
                ("payload", payload),
                ("links", links),
            ])
        })
}

fn webhook() -> impl Strategy<Value = Value> {
    let labels = || {
        prop::collection::btree_map(text(), text(), 0..80)
            .prop_map(|labels| Value::Object(labels.into_iter().map(|(k, v)| (k, Value::from(v))).collect()))
    };
    let alert = (
        maybe(string(prop::sample::select(vec!["firing", "resolved"]).prop_map(str::to_owned))),
        maybe(labels()),
        maybe(labels()),
        maybe(string(mostly_word())),
        maybe(string(text())),
        maybe(string(mostly_url())),
    )
        .prop_map(|(status, labels, annotations, fingerprint, starts_at, generator_url)| {
            object(vec![
                ("status", status),
                ("labels", labels),
                ("annotations", annotations),
                ("fingerprint", fingerprint),
                ("startsAt", starts_at),
                ("generatorURL", generator_url),
            ])
        });
    (
        maybe(Just(json!("4"))),
        maybe(string(text())),
        maybe(prop::collection::vec(alert, 0..6).prop_map(Value::from)),
    )
        .prop_map(|(version, external_url, alerts)| {
            object(vec![("version", version), ("externalURL", external_url), ("alerts", alerts)])
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all(&body);
    }

    #[test]
    fn arbitrary_json(value in json_value()) {
        check_all(value.to_string().as_bytes());
    }

    #[test]
    fn near_valid_pagerduty_events(value in pagerduty_event()) {
        check_pagerduty(value.to_string().as_bytes());
    }

    #[test]
    fn near_valid_webhooks(value in webhook()) {
        let body = value.to_string();
        check_webhook(body.as_bytes(), alertmanager::parse);
        check_webhook(body.as_bytes(), grafana::parse);
    }
}

#[test]
fn generated_bodies_are_often_accepted() {
    // The properties above only say something about accepted events if generated bodies are
    // accepted often enough; this keeps the generators honest.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut accepted = 0;
    for _ in 0..200 {
        let event = pagerduty_event().new_tree(&mut runner).expect("generating").current();
        accepted += usize::from(pagerduty::parse(event.to_string().as_bytes()).is_ok());
    }
    assert!(accepted >= 10, "only {accepted} of 200 generated PagerDuty events were accepted");
    let mut events = 0;
    for _ in 0..200 {
        let webhook = webhook().new_tree(&mut runner).expect("generating").current();
        events += alertmanager::parse(webhook.to_string().as_bytes()).map_or(0, |batch| batch.events.len());
    }
    assert!(events >= 50, "only {events} events from 200 generated webhooks");
}
