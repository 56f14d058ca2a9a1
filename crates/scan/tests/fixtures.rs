//! Every planted swallowed error in the fixtures is found, exactly where its `expect:` comment
//! says, and the clean fixtures, written in the same style with idiomatic handling, give nothing.

use std::path::Path;

use firebreak_scan::{Language, Options, RULES, scan_path};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The `(line, pattern)` pairs that the `expect: PATTERN` comments of `text` announce.
fn expectations(text: &str) -> Vec<(usize, String)> {
    let mut expected = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if let Some((_, rest)) = line.split_once("expect: ") {
            expected.push((index + 1, rest.split_whitespace().next().unwrap().to_owned()));
        }
    }
    expected
}

#[test]
fn every_planted_pattern_is_found_and_clean_code_gives_nothing() {
    let mut languages_seen = Vec::new();
    for dir in std::fs::read_dir(fixtures()).unwrap() {
        let dir = dir.unwrap().path();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let language = Language::of(&file).unwrap();
            let report = scan_path(&file, &Options::default(), &mut |_| {}).unwrap();
            assert_eq!(report.files_scanned, 1, "{}", file.display());
            let found: Vec<(usize, String)> =
                report.findings.iter().map(|f| (f.line, f.pattern.to_owned())).collect();
            let name = file.file_name().unwrap().to_string_lossy().to_lowercase();
            if name.starts_with("clean") {
                assert!(found.is_empty(), "{}: clean code has findings: {found:#?}", file.display());
                assert_eq!(report.suppressed, 0);
            } else {
                let expected = expectations(&std::fs::read_to_string(&file).unwrap());
                assert_eq!(found, expected, "{}", file.display());
                assert_eq!(report.suppressed, 1, "{}: the one suppressed case", file.display());
                let distinct: std::collections::BTreeSet<&String> = expected.iter().map(|(_, p)| p).collect();
                assert!(distinct.len() >= 5, "{}: only {} patterns", file.display(), distinct.len());
                for finding in &report.findings {
                    assert!(finding.pattern.starts_with(language.name()), "{}", finding.pattern);
                    assert!(!finding.why.is_empty() && !finding.snippet.is_empty());
                }
                languages_seen.push(language);
            }
        }
    }
    languages_seen.sort();
    assert_eq!(languages_seen.len(), 7, "a bad fixture per language: {languages_seen:?}");
    // Every rule is planted in some fixture.
    let all = fixtures();
    let report = scan_path(&all, &Options::default(), &mut |_| {}).unwrap();
    for rule in RULES {
        assert!(
            report.findings.iter().any(|f| f.pattern == rule.id),
            "{} is not planted in any fixture",
            rule.id
        );
    }
}

#[test]
fn a_tree_is_walked_with_progress_and_oversized_or_binary_files_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::create_dir_all(dir.path().join("node_modules/dep")).unwrap();
    std::fs::write(dir.path().join("src/a.py"), "try:\n    f()\nexcept:\n    pass\n").unwrap();
    std::fs::write(dir.path().join("node_modules/dep/b.js"), "try { f() } catch (e) {}\n").unwrap();
    std::fs::write(dir.path().join("big.js"), "try { f() } catch (e) {}\n".repeat(100)).unwrap();
    std::fs::write(dir.path().join("binary.go"), b"package x\x00\xff\xfe").unwrap();
    std::fs::write(dir.path().join("broken.rs"), "fn main( { let _ = f(; ").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "catch (e) {}").unwrap();
    let mut ticks = Vec::new();
    let options = Options { max_file_size: 1000 };
    let report = scan_path(dir.path(), &options, &mut |p| ticks.push((p.done, p.total))).unwrap();
    assert_eq!(ticks, vec![(1, 4), (2, 4), (3, 4), (4, 4)]);
    assert_eq!(report.files_scanned, 2);
    assert_eq!(report.skipped, 2);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    assert_eq!(report.findings[0].file, Path::new("src/a.py"));
    assert_eq!((report.findings[0].line, report.findings[0].column), (3, 1));
}

#[test]
fn tsx_files_are_read_with_the_tsx_grammar() {
    let source = "export function View() {\n  load().catch(() => {});\n  return <div>{name}</div>;\n}\n";
    let (findings, suppressed) =
        firebreak_scan::scan_source(Language::TypeScript, source, Path::new("view.tsx"));
    assert_eq!(suppressed, 0);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!((findings[0].line, findings[0].pattern), (2, "typescript.promise-catch-empty"));
}
