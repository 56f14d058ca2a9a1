//! The NAB scorer, written from `SCORING.md` of the dataset: window weights through the scaled sigmoid,
//! one corpus-wide threshold per profile found by an exact sweep, and normalisation between the null and
//! the perfect detector.
//!
//! It works on row indices and scores only; reading files is `corpus`'s job.

use crate::corpus::Profile;

/// One file as the scorer sees it: its windows (inclusive row ranges, sorted, disjoint) and one
/// anomaly score per row.
#[derive(Debug, Clone, Copy)]
pub struct ScoredFile<'a> {
    pub windows: &'a [(usize, usize)],
    pub scores: &'a [f64],
}

/// The outcome of one profile over the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileScore {
    pub profile: String,
    /// Threshold that maximised the raw score (1.1 means "flag nothing").
    pub threshold: f64,
    /// Corpus raw score `S(θ*)`.
    pub raw: f64,
    /// Raw score of the detector that never fires.
    pub null: f64,
    /// Raw score of the detector that fires once on the first row of every window.
    pub perfect: f64,
    /// `100 (raw − null) / (perfect − null)`.
    pub normalised: f64,
    /// Row counts at the chosen threshold, non-probationary rows only (informative).
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
    /// Windows with at least one flagged row at the chosen threshold, and all windows.
    pub windows_detected: usize,
    pub windows: usize,
}

/// Number of leading rows of an `n`-row file that are not scored.
pub fn probation_rows(n: usize) -> usize {
    (n * 15 / 100).min(750)
}

/// NAB's scaled sigmoid `2 / (1 + e^(5y)) − 1`, and −1 past `y = 3`.
pub fn scaled_sigmoid(y: f64) -> f64 {
    if y > 3.0 { -1.0 } else { 2.0 / (1.0 + (5.0 * y).exp()) - 1.0 }
}

/// Scores `files` under `profile`, optimising the threshold over the whole corpus.
///
/// Files whose score count differs from their row count are scored on their common prefix; callers that
/// read files check the counts first, so this only guards against misuse.
pub fn score(files: &[ScoredFile<'_>], profile: &Profile) -> ProfileScore {
    // Every non-probationary row becomes a candidate alarm carrying its weight and its window, if any.
    struct Row {
        score: f64,
        weight: f64,
        window: Option<usize>,
    }
    let mut rows = Vec::new();
    let mut window_count = 0;
    let mut scorable_windows = 0;
    for file in files {
        let n = file.scores.len();
        let probation = probation_rows(n);
        let first_window = window_count;
        window_count += file.windows.len();
        scorable_windows += file.windows.iter().filter(|&&(_, end)| end >= probation).count();
        for (row, &score) in file.scores.iter().enumerate().skip(probation) {
            let (weight, window) = row_weight(file.windows, row, profile);
            rows.push(Row {
                score: if score.is_nan() { f64::NEG_INFINITY } else { score },
                weight,
                window: window.map(|index| first_window + index),
            });
        }
    }
    rows.sort_by(|a, b| b.score.total_cmp(&a.score));

    let null = -profile.fn_weight * scorable_windows as f64;
    let mut best_window = vec![-profile.fn_weight; window_count];
    let mut window_total = null;
    let mut false_positive_sum = 0.0;
    let mut best = (1.1, null, 0);
    let mut previous_score = None;
    for (applied, row) in rows.iter().enumerate() {
        if previous_score.is_some_and(|previous: f64| previous != row.score) {
            let total = window_total + false_positive_sum;
            if total > best.1 {
                best = (previous_score.unwrap_or(1.1), total, applied);
            }
        }
        match row.window {
            Some(window) => {
                if row.weight > best_window[window] {
                    window_total += row.weight - best_window[window];
                    best_window[window] = row.weight;
                }
            }
            None => false_positive_sum += row.weight,
        }
        previous_score = Some(row.score);
    }
    if let Some(last) = previous_score {
        let total = window_total + false_positive_sum;
        if total > best.1 {
            best = (last, total, rows.len());
        }
    }

    let (threshold, raw, flagged) = best;
    let inside_total = rows.iter().filter(|row| row.window.is_some()).count();
    let true_positives = rows[..flagged].iter().filter(|row| row.window.is_some()).count();
    let false_positives = flagged - true_positives;
    let mut detected = vec![false; window_count];
    for row in &rows[..flagged] {
        if let Some(window) = row.window {
            detected[window] = true;
        }
    }
    let perfect = profile.tp_weight * window_count as f64;
    ProfileScore {
        profile: profile.name.clone(),
        threshold,
        raw,
        null,
        perfect,
        normalised: 100.0 * (raw - null) / (perfect - null),
        true_positives,
        false_positives,
        false_negatives: inside_total - true_positives,
        true_negatives: rows.len() - inside_total - false_positives,
        windows_detected: detected.iter().filter(|&&hit| hit).count(),
        windows: window_count,
    }
}

/// The value a flagged `row` contributes and the index of the window it lies in (SCORING.md section 5).
fn row_weight(windows: &[(usize, usize)], row: usize, profile: &Profile) -> (f64, Option<usize>) {
    // Windows are sorted, so the first window not ending before `row` either contains it or lies after it.
    let index = windows.partition_point(|&(_, end)| end < row);
    if let Some(&(start, end)) = windows.get(index)
        && start <= row
    {
        let width = (end - start + 1) as f64;
        let y = -((end - row + 1) as f64) / width;
        return (profile.tp_weight * scaled_sigmoid(y) / scaled_sigmoid(-1.0), Some(index));
    }
    match index.checked_sub(1).map(|previous| windows[previous]) {
        Some((start, end)) => {
            let width = (end - start + 1) as f64;
            let y = (row - end) as f64 / (width - 1.0);
            (profile.fp_weight * scaled_sigmoid(y), None)
        }
        None => (-profile.fp_weight, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> Profile {
        Profile { name: "standard".into(), tp_weight: 1.0, fp_weight: 0.11, fn_weight: 1.0 }
    }

    /// Scores one 100-row file (probation 15 rows) with one window at rows 40..=59, flagging `alarms`,
    /// and renders threshold, raw and normalised score.
    fn check(alarms: &[usize], expected: expect_test::Expect) {
        let mut scores = vec![0.0; 100];
        for &row in alarms {
            scores[row] = 1.0;
        }
        let windows = [(40, 59)];
        let result = score(&[ScoredFile { windows: &windows, scores: &scores }], &standard());
        expected.assert_eq(&format!(
            "threshold={} raw={:.6} normalised={:.4} tp={} fp={}",
            result.threshold, result.raw, result.normalised, result.true_positives, result.false_positives
        ));
    }

    #[test]
    fn sigmoid() {
        assert_eq!(scaled_sigmoid(0.0), 0.0);
        assert!((scaled_sigmoid(-1.0) - 0.986_614_298_151_430_3).abs() < 1e-15);
        assert!((scaled_sigmoid(0.5) + 0.848_283_639_957_512_9).abs() < 1e-15);
        assert_eq!(scaled_sigmoid(3.5), -1.0);
    }

    #[test]
    fn windows_and_thresholds() {
        use expect_test::expect;
        check(&[], expect!["threshold=1.1 raw=-1.000000 normalised=0.0000 tp=0 fp=0"]);
        check(&[40], expect!["threshold=1 raw=1.000000 normalised=100.0000 tp=1 fp=0"]);
        // A late alarm earns less; further alarms in the same window add nothing.
        check(&[59], expect!["threshold=1 raw=0.126040 normalised=56.3020 tp=1 fp=0"]);
        check(&[50, 51, 52], expect!["threshold=1 raw=0.859793 normalised=92.9896 tp=3 fp=0"]);
        // Alarms in probation are ignored; alarms before the first window cost the full FP weight.
        check(&[5, 40], expect!["threshold=1 raw=1.000000 normalised=100.0000 tp=1 fp=0"]);
        check(&[20, 40], expect!["threshold=1 raw=0.890000 normalised=94.5000 tp=1 fp=1"]);
        // Just after a window an alarm costs almost nothing, far after it the full weight.
        check(&[40, 60], expect!["threshold=1 raw=0.985609 normalised=99.2805 tp=1 fp=1"]);
        check(&[40, 99], expect!["threshold=1 raw=0.890006 normalised=94.5003 tp=1 fp=1"]);
        // Ten false alarms outweigh one detection, so the best threshold flags nothing.
        check(
            &[20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 59],
            expect!["threshold=1 raw=-0.973960 normalised=1.3020 tp=1 fp=10"],
        );
    }

    #[test]
    fn sweep_prefers_the_best_threshold() {
        let mut scores = vec![0.0; 100];
        scores[40] = 0.6;
        scores[20] = 0.7;
        scores[30] = 0.5;
        let windows = [(40, 59)];
        let result = score(&[ScoredFile { windows: &windows, scores: &scores }], &standard());
        // Flagging at 0.6 catches the window and pays for row 20; going down to 0.5 pays again.
        assert_eq!(result.threshold, 0.6);
        assert!((result.raw - 0.89).abs() < 1e-12);
    }
}
