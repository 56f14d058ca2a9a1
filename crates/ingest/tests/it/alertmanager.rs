//! Alertmanager webhooks: a real kube-prometheus body and a batch of broken alerts in
//! `test_data/alertmanager/`, and one rule per inline case.

use expect_test::{Expect, expect};
use firebreak_ingest::alertmanager;

use crate::{check_files, render_batch};

fn check(body: &str, expected: Expect) {
    expected.assert_eq(&render_batch(&alertmanager::parse(body.as_bytes())));
}

/// A webhook with the given alerts and nothing else.
fn webhook(alerts: &str) -> String {
    format!(r#"{{"version": "4", "status": "firing", "alerts": [{alerts}]}}"#)
}

#[test]
fn test_data() {
    check_files("alertmanager", |body| render_batch(&alertmanager::parse(body)));
}

#[test]
fn whole_body_problems_are_errors() {
    check(
        "{\"alerts\": [\n{]}",
        expect![[r#"
            error: body is not valid JSON: key must be a string at line 2 column 2
        "#]],
    );
    check(
        "[]",
        expect![[r#"
            error: body is not a JSON object
        "#]],
    );
    check(
        r#"{"version": "4"}"#,
        expect![[r#"
            error: 'alerts' is missing
        "#]],
    );
    check(
        r#"{"alerts": {"0": {}}}"#,
        expect![[r#"
            error: 'alerts' is not an array
        "#]],
    );
    check(
        r#"{"version": "5", "alerts": []}"#,
        expect![[r#"
            error: 'version' is "5"; only "4" is supported
        "#]],
    );
    check(
        &webhook("{}"),
        expect![[r#"
            rejected: alert 0: status is missing
        "#]],
    );
    check(
        &webhook(""),
        expect![[r#"
            no alerts
        "#]],
    );
}

#[test]
fn at_most_alerts_max_alerts() {
    let alert = r#"{"status": "firing", "labels": {"alertname": "A"}}"#;
    let body = webhook(&vec![alert; alertmanager::ALERTS_MAX].join(","));
    let batch = alertmanager::parse(body.as_bytes()).expect("at the bound is accepted");
    assert_eq!(batch.events.len(), alertmanager::ALERTS_MAX);
    let body = webhook(&vec![alert; alertmanager::ALERTS_MAX + 1].join(","));
    check(
        &body,
        expect![[r#"
            error: 'alerts' has 1001 entries; at most 1000 are accepted
        "#]],
    );
}

#[test]
fn missing_fingerprint_is_computed_as_alertmanager_does() {
    // Prometheus' own test vector for this label set (prometheus/common, model/signature_test.go):
    // 5799056148416392346, which is 0x507a62d79ee76c9a.
    check(
        &webhook(
            r#"{"status": "firing", "labels": {"name": "garland, briggs", "fear": "love is not enough"}}"#,
        ),
        expect![[r#"
            trigger sev3 signal dedup=507a62d79ee76c9a
              summary: unnamed alert
              source: alertmanager
              labels: fear=love is not enough name=garland, briggs
              details: {"annotations":{}}
        "#]],
    );
    // No labels at all gives the fingerprint of the empty set, FNV-1a's offset basis.
    check(
        &webhook(r#"{"status": "resolved", "fingerprint": ""}"#),
        expect![[r#"
            resolve sev3 signal dedup=cbf29ce484222325
              summary: unnamed alert
              source: alertmanager
              details: {"annotations":{}}
        "#]],
    );
}

#[test]
fn summary_falls_back_from_annotations_to_labels() {
    check(
        &webhook(
            r#"{"status": "firing", "labels": {"alertname": "A"}, "annotations": {"summary": " ", "description": "from description"}},
               {"status": "firing", "labels": {"alertname": "B", "instance": "db-1:9100"}},
               {"status": "firing", "labels": {"job": "node"}}"#,
        ),
        expect![[r#"
            trigger sev3 signal dedup=d2c6efc389df0927
              summary: from description
              source: alertmanager
              labels: alertname=A
              details: {"annotations":{"description":"from description","summary":" "}}
            trigger sev3 signal dedup=77bee990730a6021
              summary: B on db-1:9100
              source: db-1:9100
              labels: alertname=B instance=db-1:9100
              details: {"annotations":{}}
            trigger sev3 signal dedup=a3706118e550845a
              summary: unnamed alert
              source: node
              labels: job=node
              details: {"annotations":{}}
        "#]],
    );
}

#[test]
fn severity_words() {
    let words = ["critical", "page", "error", "high", "warning", "warn", "info", "low", "none", "P1", ""];
    let alerts: Vec<String> = words
        .iter()
        .map(|word| {
            format!(r#"{{"status": "firing", "labels": {{"alertname": "{word}", "severity": "{word}"}}}}"#)
        })
        .collect();
    let batch = alertmanager::parse(webhook(&alerts.join(",")).as_bytes()).expect("valid webhook");
    let severities: Vec<String> = words
        .iter()
        .zip(&batch.events)
        .map(|(word, event)| format!("{word:?} -> {:?}", event.severity))
        .collect();
    expect![[r#"
        "critical" -> Sev1
        "page" -> Sev1
        "error" -> Sev2
        "high" -> Sev2
        "warning" -> Sev3
        "warn" -> Sev3
        "info" -> Sev4
        "low" -> Sev4
        "none" -> Sev4
        "P1" -> Sev3
        "" -> Sev3"#]]
    .assert_eq(&severities.join("\n"));
}

#[test]
fn labels_beyond_the_bounds_are_kept_in_details() {
    let mut labels: Vec<String> = (0..70).map(|i| format!(r#""label{i:02}": "v""#)).collect();
    labels.push(format!(r#""severity": "{}""#, "x".repeat(1100)));
    labels.push(r#""alertname": "TooManyLabels""#.to_owned());
    labels.push(r#""": "empty name""#.to_owned());
    let body = webhook(&format!(r#"{{"status": "firing", "labels": {{{}}}}}"#, labels.join(",")));
    let batch = alertmanager::parse(body.as_bytes()).expect("valid webhook");
    let event = &batch.events[0];
    assert_eq!(event.labels.len(), firebreak_domain::LABELS_MAX);
    assert_eq!(event.labels["alertname"], "TooManyLabels");
    assert_eq!(event.labels["severity"].chars().count(), firebreak_domain::LABEL_CHARS_MAX);
    let details: serde_json::Value = serde_json::from_str(&event.details).expect("details are JSON");
    let truncated = details["labels_truncated"].as_object().expect("labels_truncated is an object");
    let names: Vec<&str> = truncated.keys().map(String::as_str).collect();
    expect![" label62 label63 label64 label65 label66 label67 label68 label69 severity"]
        .assert_eq(&names.join(" "));
    assert_eq!(truncated["severity"].as_str().map(str::len), Some(1100));
}

#[test]
fn the_message_annotation_is_a_summary_too() {
    check(
        &webhook(
            r#"{"status": "firing", "labels": {"alertname": "KubeJobFailed"},
                "annotations": {"message": "Job batch/report failed to complete.", "description": "longer"}}"#,
        ),
        expect![[r#"
            trigger sev3 signal dedup=708896d74e042691
              summary: Job batch/report failed to complete.
              source: alertmanager
              labels: alertname=KubeJobFailed
              details: {"annotations":{"description":"longer","message":"Job batch/report failed to complete."}}
        "#]],
    );
}
