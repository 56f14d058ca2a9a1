//! Runs firebreak's anomaly detector over the Numenta Anomaly Benchmark (NAB) and scores the results the
//! way NAB does, so detector changes can be measured against published detectors.
//!
//! The rules NAB sets for a reportable score are kept: every series is replayed one sample at a time from a
//! fresh [`Detector`], the detector never sees labels, and one parameter set ([`Params::default`]) serves
//! every series. The scorer follows `SCORING.md` shipped with the dataset.
//!
//! This crate does file I/O and is meant for development and the `firebreak detect nab` command; the
//! detector itself lives in `firebreak-detect` and stays pure.

pub mod corpus;
pub mod scorer;

use std::fmt;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use firebreak_detect::{Detector, Params};

use crate::corpus::Series;
use crate::scorer::{ProfileScore, ScoredFile};

/// Name under which results files are written: `<out>/firebreak/<category>/firebreak_<name>.csv`.
pub const DETECTOR_NAME: &str = "firebreak";

/// Scores of one detector over the corpus, one entry per application profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub detector: String,
    /// Number of series scored.
    pub files: usize,
    /// Number of rows replayed.
    pub rows: usize,
    pub profiles: Vec<ProfileScore>,
}

/// Runs the detector over every series under `data_dir` (the NAB root, holding `data/`, `labels/` and
/// `config/`), writes NAB results files under `out_dir/firebreak/`, and scores them.
///
/// `progress` receives one line per series. Fails when the corpus cannot be read or a results file
/// cannot be written.
pub fn run(data_dir: &Path, out_dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Report> {
    run_with(data_dir, out_dir, &Params::default(), progress)
}

/// [`run`] with explicit detector parameters, for experiments. A reportable NAB score uses one parameter
/// set chosen without looking at per-series results, which is what [`run`] does.
pub fn run_with(
    data_dir: &Path,
    out_dir: &Path,
    params: &Params,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    let series_all = corpus::load(data_dir)?;
    let profiles = corpus::load_profiles(data_dir)?;
    let mut scores_all = Vec::with_capacity(series_all.len());
    for series in &series_all {
        let scores = detect(series, params);
        let path = corpus::results_path(out_dir, DETECTOR_NAME, series);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("creating results folder {}", parent.display()))?;
        }
        fs::write(&path, corpus::results_csv(series, &scores))
            .with_context(|| format!("writing results file {}", path.display()))?;
        progress(&format!(
            "{:<60} {:>6} rows, {} windows -> {}",
            series.key,
            series.values.len(),
            series.windows.len(),
            path.display()
        ));
        scores_all.push(scores);
    }
    Ok(report(DETECTOR_NAME, &series_all, &scores_all, &profiles))
}

/// Scores an existing results folder: `results_dir/<detector>/<category>/<detector>_<name>.csv` for every
/// series under `data_dir`.
///
/// Fails when a results file is missing, has a different number of rows than its data file, or has
/// timestamps that differ from it.
pub fn score(data_dir: &Path, results_dir: &Path, detector: &str) -> Result<Report> {
    if detector.is_empty() || detector.contains(['/', '\\']) {
        bail!("detector name {detector:?} is not a plain folder name");
    }
    let series_all = corpus::load(data_dir)?;
    let profiles = corpus::load_profiles(data_dir)?;
    let scores_all = series_all
        .iter()
        .map(|series| corpus::read_scores(&corpus::results_path(results_dir, detector, series), series))
        .collect::<Result<Vec<_>>>()?;
    Ok(report(detector, &series_all, &scores_all, &profiles))
}

/// Replays one series through a fresh detector and returns its anomaly score for every row.
pub fn detect(series: &Series, params: &Params) -> Vec<f64> {
    let mut detector = Detector::new(params);
    series
        .ts_secs
        .iter()
        .zip(&series.values)
        .map(|(&ts_secs, &value)| detector.update(ts_secs, value).score)
        .collect()
}

/// Scores per-row anomaly scores of every series (same order as `series_all`) under every profile.
pub fn report(
    detector: &str,
    series_all: &[Series],
    scores_all: &[Vec<f64>],
    profiles: &[corpus::Profile],
) -> Report {
    let files: Vec<ScoredFile<'_>> = series_all
        .iter()
        .zip(scores_all)
        .map(|(series, scores)| ScoredFile { windows: &series.windows, scores })
        .collect();
    Report {
        detector: detector.to_owned(),
        files: files.len(),
        rows: scores_all.iter().map(Vec::len).sum(),
        profiles: profiles.iter().map(|profile| scorer::score(&files, profile)).collect(),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "NAB scores of {} ({} series, {} rows)", self.detector, self.files, self.rows)?;
        writeln!(
            f,
            "{:<20} {:>10} {:>10} {:>8} {:>10} {:>9} {:>8}",
            "profile", "normalised", "raw", "null", "threshold", "windows", "fp_rows"
        )?;
        for score in &self.profiles {
            writeln!(
                f,
                "{:<20} {:>10.2} {:>10.3} {:>8.1} {:>10.4} {:>9} {:>8}",
                score.profile,
                score.normalised,
                score.raw,
                score.null,
                score.threshold,
                format!("{}/{}", score.windows_detected, score.windows),
                score.false_positives
            )?;
        }
        Ok(())
    }
}
