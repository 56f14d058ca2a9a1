//! End-to-end checks on the real NAB corpus: the scorer reproduces figures published in the dataset's
//! `SCORING.md`, and the detector's score is pinned so a change to it is a visible decision.
//!
//! The corpus is looked up in `FIREBREAK_NAB_DIR`, else in `shared/datasets/nab` beside the repository.
//! When it is absent the tests say so and pass: they need data that is not part of the repository.

use std::fs;
use std::path::{Path, PathBuf};

use expect_test::expect;
use firebreak_nab::corpus::{self, Series};

fn nab_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FIREBREAK_NAB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/nab"));
    if dir.join("labels/combined_windows.json").is_file() {
        Some(dir)
    } else {
        eprintln!("NAB corpus not found at {}; skipping", dir.display());
        None
    }
}

/// A fresh, empty folder under the system temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("firebreak-nab-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes results files for `detector` whose score is 1 on the rows `pick` chooses and 0 elsewhere,
/// scores them through the public API and renders the normalised score of every profile.
fn score_synthetic(data_dir: &Path, detector: &str, pick: impl Fn(&Series, usize) -> bool) -> String {
    let out_dir = scratch(detector);
    for series in corpus::load(data_dir).unwrap() {
        let scores: Vec<f64> =
            (0..series.values.len()).map(|row| f64::from(u8::from(pick(&series, row)))).collect();
        let path = corpus::results_path(&out_dir, detector, &series);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, corpus::results_csv(&series, &scores)).unwrap();
    }
    let report = firebreak_nab::score(data_dir, &out_dir, detector).unwrap();
    fs::remove_dir_all(&out_dir).unwrap();
    report
        .profiles
        .iter()
        .map(|profile| format!("{} {:.2}", profile.profile, profile.normalised))
        .collect::<Vec<_>>()
        .join("\n")
}

/// SCORING.md section 8: the null detector scores 0, the perfect one 100, and a detector that fires
/// once on the last row of every window "scores 50.90 / 50.90 / 67.27".
#[test]
fn scorer_matches_published_reference_detectors() {
    let Some(data_dir) = nab_dir() else { return };
    let null = score_synthetic(&data_dir, "null", |_, _| false);
    expect![[r#"
        standard 0.00
        reward_low_FP_rate 0.00
        reward_low_FN_rate 0.00"#]]
    .assert_eq(&null);
    let perfect = score_synthetic(&data_dir, "perfect", |series, row| {
        series.windows.iter().any(|&(start, _)| start == row)
    });
    expect![[r#"
        standard 100.00
        reward_low_FP_rate 100.00
        reward_low_FN_rate 100.00"#]]
    .assert_eq(&perfect);
    let last_row = score_synthetic(&data_dir, "lastrow", |series, row| {
        series.windows.iter().any(|&(_, end)| end == row)
    });
    expect![[r#"
        standard 50.90
        reward_low_FP_rate 50.90
        reward_low_FN_rate 67.27"#]]
    .assert_eq(&last_row);
}

/// The shipped detector's scores with the default parameters, and the results files it writes score
/// the same when read back.
#[test]
fn detector_scores() {
    let Some(data_dir) = nab_dir() else { return };
    let out_dir = scratch("run");
    let report = firebreak_nab::run(&data_dir, &out_dir, &mut |_| {}).unwrap();
    let reread = firebreak_nab::score(&data_dir, &out_dir, firebreak_nab::DETECTOR_NAME).unwrap();
    fs::remove_dir_all(&out_dir).unwrap();
    assert_eq!(report, reread);
    expect![[r#"
        NAB scores of firebreak (58 series, 365558 rows)
        profile              normalised        raw     null  threshold   windows  fp_rows
        standard                  71.12     48.999   -116.0     0.5997    97/116      138
        reward_low_FP_rate        64.73     34.171   -116.0     0.5997    97/116      138
        reward_low_FN_rate        75.29     29.999   -232.0     0.5997    97/116      138
    "#]]
    .assert_eq(&report.to_string());
}
