//! Grafana webhooks: the documented example and a legacy body in `test_data/grafana/`, and the
//! differences from Alertmanager inline.

use expect_test::{Expect, expect};
use firebreak_ingest::{alertmanager, grafana};

use crate::{check_files, render_batch};

fn check(body: &str, expected: Expect) {
    expected.assert_eq(&render_batch(&grafana::parse(body.as_bytes())));
}

#[test]
fn test_data() {
    check_files("grafana", |body| render_batch(&grafana::parse(body)));
}

#[test]
fn version_is_not_checked_and_source_falls_back_to_grafana() {
    check(
        r#"{"version": "1", "alerts": [{"status": "firing", "labels": {"alertname": "DatasourceNoData"},
            "dashboardURL": "http://grafana.local:3000/d/abc", "panelURL": null, "values": null}]}"#,
        expect![[r#"
            trigger sev3 signal dedup=bb421d2183c8fe12
              summary: DatasourceNoData
              source: grafana
              labels: alertname=DatasourceNoData
              details: {"annotations":{}}
              link: Dashboard <http://grafana.local:3000/d/abc>
        "#]],
    );
}

#[test]
fn alertmanager_bodies_parse_the_same_apart_from_grafana_fields() {
    let body =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/alertmanager/kube_prometheus.json"))
            .expect("reading test data");
    let from_grafana = grafana::parse(&body).expect("valid webhook");
    let from_alertmanager = alertmanager::parse(&body).expect("valid webhook");
    assert_eq!(from_grafana.events.len(), from_alertmanager.events.len());
    for (grafana, alertmanager) in from_grafana.events.iter().zip(&from_alertmanager.events) {
        assert_eq!(
            (&grafana.dedup_key, &grafana.labels, &grafana.details),
            (&alertmanager.dedup_key, &alertmanager.labels, &alertmanager.details)
        );
    }
}
