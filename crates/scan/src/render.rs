//! The report as a table for people, as JSON, and as SARIF 2.1.0 for code scanning and editors.

use serde_json::{Value, json};

use crate::{Finding, RULES, Report};

/// The URL of the SARIF 2.1.0 schema, as SARIF files name it.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// A table: one row per finding (location, language, pattern, snippet), the reason under it, and
/// a summary line.
pub fn table(report: &Report) -> String {
    let locations: Vec<String> =
        report.findings.iter().map(|f| format!("{}:{}:{}", slashed(f), f.line, f.column)).collect();
    let width = |values: &mut dyn Iterator<Item = usize>| values.max().unwrap_or(0);
    let w_location = width(&mut locations.iter().map(|l| l.chars().count())).max("LOCATION".len());
    let w_language =
        width(&mut report.findings.iter().map(|f| f.language.name().len())).max("LANGUAGE".len());
    let w_pattern = width(&mut report.findings.iter().map(|f| f.pattern.len())).max("PATTERN".len());
    let mut out = String::new();
    if !report.findings.is_empty() {
        out.push_str(&format!(
            "{:w_location$}  {:w_language$}  {:w_pattern$}  SNIPPET\n",
            "LOCATION", "LANGUAGE", "PATTERN"
        ));
        for (finding, location) in report.findings.iter().zip(&locations) {
            out.push_str(&format!(
                "{location:w_location$}  {:w_language$}  {:w_pattern$}  {}\n",
                finding.language.name(),
                finding.pattern,
                finding.snippet
            ));
            out.push_str(&format!("{:w_location$}  why: {}\n", "", finding.why));
        }
        out.push('\n');
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// One line: findings, files scanned, suppressed and skipped.
pub fn summary(report: &Report) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} in {} scanned ({} suppressed, {} skipped)",
        plural(report.findings.len(), "swallowed error"),
        plural(report.files_scanned, "file"),
        report.suppressed,
        report.skipped
    )
}

/// The report as a JSON object: `findings`, `suppressed`, `files_scanned`, `skipped`.
pub fn json(report: &Report) -> Value {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "file": uri(f),
                "line": f.line,
                "column": f.column,
                "language": f.language.name(),
                "pattern": f.pattern,
                "snippet": f.snippet,
                "why": f.why,
            })
        })
        .collect();
    json!({
        "findings": findings,
        "suppressed": report.suppressed,
        "files_scanned": report.files_scanned,
        "skipped": report.skipped,
    })
}

/// The report as a SARIF 2.1.0 log with one run; every pattern is a rule of the driver.
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.id.replace(['.', '-'], "_"),
                "shortDescription": {"text": rule.name},
                "fullDescription": {"text": rule.why},
                "help": {"text": rule.help},
                "defaultConfiguration": {"level": "warning"},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.pattern,
                "ruleIndex": RULES.iter().position(|r| r.id == f.pattern),
                "level": "warning",
                "message": {"text": f.why},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(f), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "snippet": {"text": f.snippet},
                        },
                    },
                }],
            })
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "firebreak",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                },
            },
            "results": results,
        }],
    })
}

/// The finding's file as a relative URI: forward slashes, anything else than unreserved
/// characters percent-encoded.
fn uri(finding: &Finding) -> String {
    let path = slashed(finding);
    let mut out = String::new();
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The finding's file with forward slashes.
fn slashed(finding: &Finding) -> String {
    finding.file.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
