//! PagerDuty Events API v2: the real payloads in `test_data/pagerduty/` and one rule per inline case.

use expect_test::{Expect, expect};
use firebreak_ingest::pagerduty;

use crate::{check_files, render_enqueue};

fn check(body: &str, expected: Expect) {
    expected.assert_eq(&render_enqueue(&pagerduty::parse(body.as_bytes())));
}

#[test]
fn test_data() {
    check_files("pagerduty", |body| render_enqueue(&pagerduty::parse(body)));
}

#[test]
fn malformed_json_names_line_and_column() {
    check(
        "{\"routing_key\": \"k\",\n \"event_action\": trigger}",
        expect![[r#"
            invalid: Event object is invalid
              - body is not valid JSON: expected ident at line 2 column 20
        "#]],
    );
    check(
        "",
        expect![[r#"
            invalid: Event object is invalid
              - body is not valid JSON: EOF while parsing a value at line 1 column 0
        "#]],
    );
}

#[test]
fn body_must_be_an_object() {
    check(
        r#"["trigger"]"#,
        expect![[r#"
            invalid: Event object is invalid
              - body is not a JSON object
        "#]],
    );
}

#[test]
fn empty_object_reports_every_missing_field() {
    check(
        "{}",
        expect![[r#"
            invalid: Event object is invalid
              - 'routing_key' is missing or blank
              - 'event_action' is missing or blank
        "#]],
    );
    check(
        r#"{"routing_key": "k", "event_action": "trigger"}"#,
        expect![[r#"
            invalid: Event object is invalid
              - 'payload' is missing
        "#]],
    );
    check(
        r#"{"routing_key": "k", "event_action": "trigger", "payload": {}}"#,
        expect![[r#"
            invalid: Event object is invalid
              - 'payload.summary' is missing or blank
              - 'payload.source' is missing or blank
              - 'payload.severity' is missing or blank
        "#]],
    );
}

#[test]
fn event_action_must_be_known() {
    check(
        r#"{"routing_key": "k", "event_action": "Trigger", "dedup_key": "d"}"#,
        expect![[r#"
            invalid: Event object is invalid
              - 'event_action' is invalid (must be one of: trigger, acknowledge, resolve)
        "#]],
    );
    check(
        r#"{"routing_key": "k", "event_action": 1}"#,
        expect![[r#"
            invalid: Event object is invalid
              - 'event_action' must be a string
        "#]],
    );
}

#[test]
fn acknowledge_and_resolve_need_a_dedup_key_but_no_payload() {
    check(
        r#"{"routing_key": "routingkeyhere", "dedup_key": "dedupkeyhere", "event_action": "acknowledge"}"#,
        expect![[r#"
            routing_key=routingkeyhere
            acknowledge sev3 signal dedup=dedupkeyhere
              summary: 
              source: 
              details: {}
        "#]],
    );
    check(
        r#"{"routing_key": "k", "event_action": "resolve", "dedup_key": " "}"#,
        expect![[r#"
            invalid: Event object is invalid
              - 'dedup_key' is missing or blank
        "#]],
    );
    // A resolve's payload is used where valid and never makes the event invalid.
    check(
        r#"{"routing_key": "k", "event_action": "resolve", "dedup_key": "d",
            "payload": {"summary": "Disk full", "severity": "bogus", "source": 3}}"#,
        expect![[r#"
            routing_key=k
            resolve sev3 signal dedup=d
              summary: Disk full
              source: 
              details: {}
        "#]],
    );
}

#[test]
fn trigger_without_dedup_key_leaves_it_to_the_server() {
    check(
        r#"{"routing_key": "k", "event_action": "trigger", "dedup_key": "",
            "payload": {"summary": "CPU high", "source": "web-1", "severity": "critical"}}"#,
        expect![[r#"
            routing_key=k
            trigger sev1 signal dedup=-
              summary: CPU high
              source: web-1
              labels: severity=critical source=web-1
              details: {}
        "#]],
    );
}

#[test]
fn severities_map_in_order() {
    for (word, expected) in [("critical", "sev1"), ("error", "sev2"), ("warning", "sev3"), ("info", "sev4")] {
        let body = format!(
            r#"{{"routing_key": "k", "event_action": "trigger", "payload": {{"summary": "s", "source": "h", "severity": "{word}"}}}}"#
        );
        let enqueue = pagerduty::parse(body.as_bytes()).expect("valid event");
        let rendered = crate::render_event(&enqueue.event);
        assert!(rendered.starts_with(&format!("trigger {expected} ")), "{word}: {rendered}");
    }
}

#[test]
fn each_link_is_an_object_whose_href_and_text_are_strings() {
    let event = |links: &str| {
        format!(
            r#"{{"routing_key": "k", "event_action": "trigger", "links": {links},
                "payload": {{"summary": "s", "source": "h", "severity": "info"}}}}"#
        )
    };
    check(
        &event(r#"[{"href": "https://a.example"}, "https://b.example"]"#),
        expect![[r#"
            invalid: Event object is invalid
              - 'links[1]' must be an object with an 'href'
        "#]],
    );
    check(
        &event(r#"[{"href": 5, "text": ["x"]}]"#),
        expect![[r#"
            invalid: Event object is invalid
              - 'links[0].href' must be a string
              - 'links[0].text' must be a string
        "#]],
    );
    check(
        &event(r#"[{"href": " ", "text": "x"}, {"href": 5}]"#),
        expect![[r#"
            invalid: Event object is invalid
              - 'links[0].href' is missing or blank
        "#]],
    );
    assert!(pagerduty::parse(event(r#"[{"href": "https://a.example", "text": null}]"#).as_bytes()).is_ok());
}

#[test]
fn lengths_are_checked_against_pagerduty_limits() {
    let body = format!(
        r#"{{"routing_key": "{}", "event_action": "trigger", "dedup_key": "{}",
            "payload": {{"summary": "{}", "source": "h", "severity": "info"}}}}"#,
        "k".repeat(129),
        "d".repeat(256),
        "s".repeat(1025),
    );
    check(
        &body,
        expect![[r#"
            invalid: Event object is invalid
              - 'routing_key' is too long (maximum is 128 characters)
              - 'dedup_key' is too long (maximum is 255 characters)
              - 'payload.summary' is too long (maximum is 1024 characters)
        "#]],
    );
    // Limits count characters, not bytes.
    let body = format!(
        r#"{{"routing_key": "{}", "event_action": "trigger", "dedup_key": "{}",
            "payload": {{"summary": "{}", "source": "h", "severity": "info"}}}}"#,
        "é".repeat(128),
        "é".repeat(255),
        "é".repeat(1024),
    );
    assert!(pagerduty::parse(body.as_bytes()).is_ok());
}

#[test]
fn timestamps_are_iso_8601_with_an_offset() {
    let parse = |timestamp: &str| {
        let body = format!(
            r#"{{"routing_key": "k", "event_action": "trigger",
                "payload": {{"summary": "s", "source": "h", "severity": "info", "timestamp": "{timestamp}"}}}}"#
        );
        match pagerduty::parse(body.as_bytes()) {
            Ok(enqueue) => enqueue.event.occurred_at.map_or("none".to_owned(), |at| at.to_string()),
            Err(invalid) => invalid.errors.join("; "),
        }
    };
    let results: Vec<String> = [
        "2015-07-17T08:42:58.315+0000",
        "2015-07-17T08:42:58+02:00",
        "2015-07-17T08:42:58Z",
        "2015-07-17 08:42:58Z",
        "2015-07-17T08:42:58",
        "2015-07-17",
        "1437122578",
    ]
    .iter()
    .map(|timestamp| format!("{timestamp} -> {}", parse(timestamp)))
    .collect();
    expect![[r#"
        2015-07-17T08:42:58.315+0000 -> 2015-07-17T08:42:58.315Z
        2015-07-17T08:42:58+02:00 -> 2015-07-17T06:42:58Z
        2015-07-17T08:42:58Z -> 2015-07-17T08:42:58Z
        2015-07-17 08:42:58Z -> 2015-07-17T08:42:58Z
        2015-07-17T08:42:58 -> 'payload.timestamp' is invalid (must be an ISO 8601 timestamp)
        2015-07-17 -> 'payload.timestamp' is invalid (must be an ISO 8601 timestamp)
        1437122578 -> 'payload.timestamp' is invalid (must be an ISO 8601 timestamp)"#]]
    .assert_eq(&results.join("\n"));
}

#[test]
fn invalid_displays_message_and_errors() {
    let invalid = pagerduty::parse(b"{}").expect_err("empty object is invalid");
    expect!["Event object is invalid: 'routing_key' is missing or blank; 'event_action' is missing or blank"]
        .assert_eq(&invalid.to_string());
}
