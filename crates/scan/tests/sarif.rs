//! The SARIF output validates against the official SARIF 2.1.0 JSON schema (vendored from the
//! OASIS `sarif-spec` repository), and the JSON output carries every field of a finding.

use std::path::Path;

use firebreak_scan::{Options, render, scan_path};

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("tests/sarif-schema-2.1.0.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let report = scan_path(&root.join("tests/fixtures"), &Options::default(), &mut |_| {}).unwrap();
    assert!(report.findings.len() > 40);
    let sarif = render::sarif(&report);
    let errors: Vec<String> =
        validator.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(run["tool"]["driver"]["name"], "firebreak");
    let result = &run["results"][0];
    assert_eq!(result["level"], "warning");
    let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert!(uri.contains('/') && !uri.starts_with('/') && !uri.contains('\\'), "{uri}");
    // An invalid log is refused: the validation is not vacuous.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "loud".into();
    assert!(!validator.is_valid(&broken));

    let empty = render::sarif(&Default::default());
    assert!(validator.is_valid(&empty));
}

#[test]
fn json_output_has_every_field() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/go");
    let report = scan_path(&root, &Options::default(), &mut |_| {}).unwrap();
    let json = render::json(&report);
    let first = &json["findings"][0];
    for field in ["file", "line", "column", "language", "pattern", "snippet", "why"] {
        assert!(!first[field].is_null(), "{field} missing in {first}");
    }
    assert_eq!(first["file"], "bad.go");
    assert_eq!(json["suppressed"], 1);
    assert_eq!(json["files_scanned"], 2);
    let table = render::table(&report);
    assert!(
        table.contains("bad.go:9:2") && table.contains("go.blank-assign-call") && table.contains("why: "),
        "{table}"
    );
}
