//! Development harness for tuning [`Params`]: replays the corpus once per parameter variant, in memory,
//! and prints the normalised score and threshold of every profile.
//!
//! `cargo run --release -p firebreak-nab --example tune -- <nab root> [variant ...]`
//!
//! A variant is a comma-separated list of `field=value` overrides of [`Params::default`], or `-` for the
//! defaults (the only variant when none is given). With `VERBOSE=1`, each variant is followed by one line
//! per series: false alarms at the standard profile's threshold, where in each window the first alarm
//! fell (as a fraction of the window, or MISS), each window's highest score and the highest scores
//! outside windows. Those details read the labels and exist to understand the detector; the detector
//! itself never sees them.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use firebreak_detect::Params;
use firebreak_nab::corpus::{self, Series};
use firebreak_nab::{detect, report, scorer};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let data_dir = PathBuf::from(args.next().context("usage: tune <nab root> [variant ...]")?);
    let mut variants: Vec<String> = args.collect();
    if variants.is_empty() {
        variants.push("-".to_owned());
    }
    let verbose = std::env::var_os("VERBOSE").is_some();
    let series_all = corpus::load(&data_dir)?;
    let profiles = corpus::load_profiles(&data_dir)?;
    for variant in &variants {
        let params = parse_variant(variant)?;
        let scores_all: Vec<Vec<f64>> = series_all.iter().map(|series| detect(series, &params)).collect();
        let report = report("tune", &series_all, &scores_all, &profiles);
        let summary: Vec<String> = report
            .profiles
            .iter()
            .map(|score| format!("{:.2}@{:.3}", score.normalised, score.threshold))
            .collect();
        println!("{variant:<60} {}", summary.join("  "));
        if verbose {
            let threshold = report.profiles[0].threshold;
            for (series, scores) in series_all.iter().zip(&scores_all) {
                println!("  {}", describe(series, scores, threshold));
            }
        }
    }
    Ok(())
}

fn parse_variant(variant: &str) -> Result<Params> {
    let mut params = Params::default();
    for pair in variant.split(',').filter(|pair| *pair != "-") {
        let (key, text) = pair.split_once('=').with_context(|| format!("{pair:?} is not key=value"))?;
        let value: f64 = text.parse().with_context(|| format!("{text:?} is not a number"))?;
        let count = value as u32;
        match key {
            "warmup_samples" => params.warmup_samples = count,
            "levels" => params.levels = count,
            "orders" => params.orders = count,
            "rest_samples" => params.rest_samples = count,
            "level_alpha" => params.level_alpha = value,
            "season_alpha" => params.season_alpha = value,
            "scale_alpha" => params.scale_alpha = value,
            "stat_weight" => params.stat_weight = value,
            "sequence_weight" => params.sequence_weight = value,
            "likelihood_alpha" => params.likelihood_alpha = value,
            "likelihood_std_min" => params.likelihood_std_min = value,
            "range_tolerance" => params.range_tolerance = value,
            "alarm_score" => params.alarm_score = value,
            "band_scales" => params.band_scales = value,
            "gap_intervals" => params.gap_intervals = value,
            "new_context_weight" => params.new_context_weight = value,
            "sequence_mix" => params.sequence_mix = value,
            _ => bail!("unknown parameter {key:?}"),
        }
    }
    Ok(params)
}

/// One line about one series at `threshold`: see the module documentation.
fn describe(series: &Series, scores: &[f64], threshold: f64) -> String {
    let probation = scorer::probation_rows(scores.len());
    let in_window = |row: usize| series.windows.iter().any(|&(start, end)| start <= row && row <= end);
    let mut outside: Vec<f64> =
        (probation..scores.len()).filter(|&row| !in_window(row)).map(|row| scores[row]).collect();
    let false_alarms = outside.iter().filter(|&&score| score >= threshold).count();
    outside.sort_by(|a, b| b.total_cmp(a));
    outside.truncate(4);
    let windows: Vec<String> = series
        .windows
        .iter()
        .map(|&(start, end)| {
            let first = (start.max(probation)..=end).find(|&row| scores[row] >= threshold);
            let peak = scores[start.max(probation)..=end].iter().copied().fold(0.0, f64::max);
            match first {
                Some(row) => format!("{:.2}/{peak:.3}", (row - start) as f64 / (end - start + 1) as f64),
                None => format!("MISS/{peak:.3}"),
            }
        })
        .collect();
    format!(
        "{:<58} n={:<6} fp={:<3} windows [{}] outside {outside:.3?}",
        series.key,
        scores.len(),
        false_alarms,
        windows.join(" ")
    )
}
