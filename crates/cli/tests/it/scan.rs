//! `firebreak scan`: exit status 1 with findings, 0 without, 2 on error; `--format json` and
//! `--output`.

use crate::support::run;

#[test]
fn scan_exits_by_what_it_finds_and_speaks_json() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("src/ok.py"),
        "try:\n    f()\nexcept OSError as err:\n    raise Failed() from err\n",
    )
    .unwrap();

    let clean = run(dir, &["scan", "src"], &[]);
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stderr));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("0 swallowed errors in 1 file scanned"));

    std::fs::write(
        dir.join("src/bad.go"),
        "package x\n\nimport \"os\"\n\nfunc f() {\n\t_ = os.Remove(\"x\")\n}\n",
    )
    .unwrap();
    let found = run(dir, &["scan", "src", "--format", "json"], &[]);
    assert_eq!(found.status.code(), Some(1), "{}", String::from_utf8_lossy(&found.stderr));
    let json: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(json["files_scanned"], 2);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json:#}");
    assert_eq!(findings[0]["file"], "bad.go");
    assert_eq!(findings[0]["line"], 6);
    assert_eq!(findings[0]["pattern"], "go.blank-assign-call");

    let table = run(dir, &["scan", "src"], &[]);
    assert_eq!(table.status.code(), Some(1));
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("bad.go:6:2") && table.contains("why: "), "{table}");

    let sarif = run(dir, &["scan", "src", "--format", "sarif", "--output", "out.sarif"], &[]);
    assert_eq!(sarif.status.code(), Some(1));
    assert!(sarif.stdout.is_empty());
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out.sarif")).unwrap()).unwrap();
    assert_eq!(written["version"], "2.1.0");
    assert_eq!(written["runs"][0]["results"][0]["ruleId"], "go.blank-assign-call");

    let missing = run(dir, &["scan", "no-such-dir"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-dir"));
}
