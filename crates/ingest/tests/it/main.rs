//! Tests of the ingest parsers: one module per format, each driven by a `check` helper over inline
//! bodies and by the cases in `test_data/<format>/`, plus properties that hold for every input.
//!
//! Each `test_data/<format>/<case>.json` is parsed and printed next to it as `<case>.txt`; refresh
//! the printouts with `UPDATE_EXPECT=1 cargo test -p firebreak-ingest` and review the diff.

mod alertmanager;
mod grafana;
mod pagerduty;
mod props;

use std::fmt::Write as _;
use std::path::PathBuf;

use firebreak_domain::{AlertAction, AlertEvent, Severity};
use firebreak_ingest::alertmanager::Batch;
use firebreak_ingest::pagerduty::{Enqueue, Invalid};

/// Prints one event compactly: a headline, then one line per non-empty field.
pub(crate) fn render_event(event: &AlertEvent) -> String {
    let action = match event.action {
        AlertAction::Trigger => "trigger",
        AlertAction::Acknowledge => "acknowledge",
        AlertAction::Resolve => "resolve",
    };
    let severity = match event.severity {
        Severity::Sev1 => "sev1",
        Severity::Sev2 => "sev2",
        Severity::Sev3 => "sev3",
        Severity::Sev4 => "sev4",
    };
    let mut out = format!("{action} {severity} {:?}", event.kind).to_lowercase();
    write!(out, " dedup={}", event.dedup_key.as_deref().unwrap_or("-")).unwrap();
    if let Some(at) = event.occurred_at {
        write!(out, " at={at}").unwrap();
    }
    writeln!(out).unwrap();
    writeln!(out, "  summary: {}", elide(&event.summary, 200)).unwrap();
    writeln!(out, "  source: {}", elide(&event.source, 100)).unwrap();
    if !event.labels.is_empty() {
        let labels: Vec<String> = event
            .labels
            .iter()
            .map(|(name, value)| format!("{}={}", elide(name, 100), elide(value, 100)))
            .collect();
        writeln!(out, "  labels: {}", labels.join(" ")).unwrap();
    }
    writeln!(out, "  details: {}", elide(&event.details, 1000)).unwrap();
    for link in &event.links {
        writeln!(out, "  link: {} <{}>", link.title, link.url).unwrap();
    }
    out
}

/// Prints what the PagerDuty parser made of a body.
pub(crate) fn render_enqueue(result: &Result<Enqueue, Invalid>) -> String {
    match result {
        Ok(enqueue) => format!("routing_key={}\n{}", enqueue.routing_key, render_event(&enqueue.event)),
        Err(invalid) => {
            let mut out = format!("invalid: {}\n", invalid.message);
            for error in &invalid.errors {
                writeln!(out, "  - {error}").unwrap();
            }
            out
        }
    }
}

/// Prints what an Alertmanager-shaped parser made of a body.
pub(crate) fn render_batch(result: &Result<Batch, String>) -> String {
    match result {
        Ok(batch) => {
            let mut out = String::new();
            for event in &batch.events {
                out.push_str(&render_event(event));
            }
            for reason in &batch.rejected {
                writeln!(out, "rejected: {reason}").unwrap();
            }
            if out.is_empty() { "no alerts\n".to_owned() } else { out }
        }
        Err(error) => format!("error: {error}\n"),
    }
}

/// Checks every `test_data/<format>/*.json` against its `.txt` printout.
pub(crate) fn check_files(format: &str, render: impl Fn(&[u8]) -> String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_data").join(format);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.expect("listing test data").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    for case in cases {
        let body = std::fs::read(&case).unwrap_or_else(|error| panic!("reading {}: {error}", case.display()));
        expect_test::expect_file![case.with_extension("txt")].assert_eq(&render(&body));
    }
}

/// `text`, or its start and its length when longer than `chars_max`, so printouts stay readable.
fn elide(text: &str, chars_max: usize) -> String {
    let count = text.chars().count();
    if count <= chars_max {
        return text.to_owned();
    }
    let start: String = text.chars().take(chars_max / 2).collect();
    format!("{start}…({count} chars)")
}
