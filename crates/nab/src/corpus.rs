//! Reading the NAB corpus from disk: data files, anomaly windows, profiles and results files.
//!
//! The files are small and regular (`timestamp,value` with no quoting), so a hand-written reader does;
//! it rejects anything it does not understand with an error naming the file and line rather than guessing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// One series of the corpus with its ground truth.
#[derive(Debug, Clone)]
pub struct Series {
    /// Key used by the label files: `<category>/<name>.csv`.
    pub key: String,
    /// Folder under `data/`, e.g. `realKnownCause`.
    pub category: String,
    /// File name without `.csv`, e.g. `nyc_taxi`.
    pub name: String,
    /// Timestamps exactly as written in the data file.
    pub timestamps: Vec<String>,
    /// Timestamps as seconds since the Unix epoch (the corpus has no time zone; it is read as UTC).
    pub ts_secs: Vec<i64>,
    /// Values exactly as written in the data file, copied verbatim into results files.
    pub values_text: Vec<String>,
    /// Values parsed as numbers; unparsable cells become NaN, which the detector treats as missing.
    pub values: Vec<f64>,
    /// Anomaly windows as inclusive row ranges, sorted and disjoint.
    pub windows: Vec<(usize, usize)>,
}

/// Cost weights of one application profile (SCORING.md section 4).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub tp_weight: f64,
    pub fp_weight: f64,
    pub fn_weight: f64,
}

/// Reads every `data/<category>/<name>.csv` under `data_dir` with its windows from
/// `labels/combined_windows.json`, sorted by key so runs are reproducible.
///
/// Fails when a file cannot be read or parsed, when a data file has no entry in the windows file,
/// or when a window boundary is not a timestamp of its series.
pub fn load(data_dir: &Path) -> Result<Vec<Series>> {
    let windows_path = data_dir.join("labels/combined_windows.json");
    let windows_text = fs::read_to_string(&windows_path)
        .with_context(|| format!("reading windows file {}", windows_path.display()))?;
    let windows_json: serde_json::Value = serde_json::from_str(&windows_text)
        .with_context(|| format!("parsing windows file {}", windows_path.display()))?;
    let windows_map = windows_json
        .as_object()
        .with_context(|| format!("windows file {} is not a JSON object", windows_path.display()))?;

    let mut series_all = Vec::new();
    for (category, path) in data_files(&data_dir.join("data"))? {
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .with_context(|| format!("data file name {} is not UTF-8", path.display()))?
            .to_owned();
        let key = format!("{category}/{name}.csv");
        let mut series = read_data_file(&path, key, category, name)?;
        let windows = windows_map
            .get(&series.key)
            .with_context(|| format!("no windows for {} in {}", series.key, windows_path.display()))?;
        series.windows =
            parse_windows(windows, &series).with_context(|| format!("reading windows of {}", series.key))?;
        series_all.push(series);
    }
    if series_all.is_empty() {
        bail!("no data files under {}", data_dir.join("data").display());
    }
    Ok(series_all)
}

/// Reads the application profiles from `config/profiles.json`, in the order standard,
/// reward_low_FP_rate, reward_low_FN_rate when present, then any others by name.
pub fn load_profiles(data_dir: &Path) -> Result<Vec<Profile>> {
    let path = data_dir.join("config/profiles.json");
    let text =
        fs::read_to_string(&path).with_context(|| format!("reading profiles file {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing profiles file {}", path.display()))?;
    let map =
        json.as_object().with_context(|| format!("profiles file {} is not a JSON object", path.display()))?;
    let mut profiles = Vec::new();
    for (name, body) in map {
        let weight = |key: &str| -> Result<f64> {
            body.get("CostMatrix")
                .and_then(|matrix| matrix.get(key))
                .and_then(serde_json::Value::as_f64)
                .with_context(|| format!("profile {name} in {} has no {key}", path.display()))
        };
        profiles.push(Profile {
            name: name.clone(),
            tp_weight: weight("tpWeight")?,
            fp_weight: weight("fpWeight")?,
            fn_weight: weight("fnWeight")?,
        });
    }
    let rank = |name: &str| match name {
        "standard" => 0,
        "reward_low_FP_rate" => 1,
        "reward_low_FN_rate" => 2,
        _ => 3,
    };
    profiles.sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
    Ok(profiles)
}

/// Path of the results file NAB expects for `series` and `detector` under `results_dir`.
pub fn results_path(results_dir: &Path, detector: &str, series: &Series) -> PathBuf {
    results_dir.join(detector).join(&series.category).join(format!("{detector}_{}.csv", series.name))
}

/// Renders a results file: `timestamp,value,anomaly_score,label`, one row per data row.
pub fn results_csv(series: &Series, scores: &[f64]) -> String {
    let mut out = String::with_capacity(series.timestamps.len() * 48);
    out.push_str("timestamp,value,anomaly_score,label\n");
    let mut window_iter = series.windows.iter().peekable();
    for (row, ((timestamp, value), score)) in
        series.timestamps.iter().zip(&series.values_text).zip(scores).enumerate()
    {
        while window_iter.peek().is_some_and(|&&(_, end)| end < row) {
            window_iter.next();
        }
        let label = u8::from(window_iter.peek().is_some_and(|&&(start, _)| start <= row));
        out.push_str(&format!("{timestamp},{value},{score},{label}\n"));
    }
    out
}

/// Reads the `anomaly_score` column of the results file of `series`, checking that it has one row
/// per data row with the same timestamps.
pub fn read_scores(path: &Path, series: &Series) -> Result<Vec<f64>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("reading results file {}", path.display()))?;
    let mut lines = text.lines();
    let header = lines.next().with_context(|| format!("results file {} is empty", path.display()))?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let column_of = |name: &str| {
        columns
            .iter()
            .position(|column| *column == name)
            .with_context(|| format!("results file {} has no {name} column", path.display()))
    };
    let score_column = column_of("anomaly_score")?;
    let timestamp_column = column_of("timestamp")?;
    let mut scores = Vec::with_capacity(series.timestamps.len());
    for (line_index, line) in lines.enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let line_number = line_index + 2;
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |column: usize| {
            cells
                .get(column)
                .map(|cell| cell.trim())
                .with_context(|| format!("{}:{line_number}: missing column {column}", path.display()))
        };
        let row = scores.len();
        let timestamp = cell(timestamp_column)?;
        match series.timestamps.get(row) {
            Some(expected) if parse_timestamp(expected) == parse_timestamp(timestamp) => {}
            _ => bail!(
                "{}:{line_number}: timestamp {timestamp} does not match row {row} of {}",
                path.display(),
                series.key
            ),
        }
        let score_text = cell(score_column)?;
        let score: f64 = score_text.parse().with_context(|| {
            format!("{}:{line_number}: anomaly_score {score_text:?} is not a number", path.display())
        })?;
        scores.push(score);
    }
    if scores.len() != series.timestamps.len() {
        bail!(
            "results file {} has {} rows but {} has {}",
            path.display(),
            scores.len(),
            series.key,
            series.timestamps.len()
        );
    }
    Ok(scores)
}

/// Parses `YYYY-MM-DD HH:MM:SS` with an optional fraction of up to six digits into microseconds since
/// the Unix epoch. Returns `None` for anything else, including impossible dates such as February 30.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let (main, fraction) = match text.split_once('.') {
        Some((main, fraction)) => (main, fraction),
        None => (text, ""),
    };
    let bytes = main.as_bytes();
    if bytes.len() != 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !(bytes[10] == b' ' || bytes[10] == b'T')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = main.get(range)?;
        if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    if fraction.len() > 6 || !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let micros: i64 = if fraction.is_empty() {
        0
    } else {
        let digits: i64 = fraction.parse().ok()?;
        digits * 10_i64.pow(6 - fraction.len() as u32)
    };
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros)
}

fn data_files(data_root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let categories =
        fs::read_dir(data_root).with_context(|| format!("listing data folder {}", data_root.display()))?;
    for category in categories {
        let category = category.with_context(|| format!("listing {}", data_root.display()))?;
        if !category.file_type().is_ok_and(|kind| kind.is_dir()) {
            continue;
        }
        let category_name = category.file_name().to_string_lossy().into_owned();
        let entries = fs::read_dir(category.path())
            .with_context(|| format!("listing {}", category.path().display()))?;
        for entry in entries {
            let path = entry.with_context(|| format!("listing {}", category.path().display()))?.path();
            if path.extension().is_some_and(|extension| extension == "csv") {
                files.push((category_name.clone(), path));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn read_data_file(path: &Path, key: String, category: String, name: String) -> Result<Series> {
    let text = fs::read_to_string(path).with_context(|| format!("reading data file {}", path.display()))?;
    let mut lines = text.lines();
    let header = lines.next().with_context(|| format!("data file {} is empty", path.display()))?;
    if header.trim() != "timestamp,value" {
        bail!("data file {} has header {header:?}, expected \"timestamp,value\"", path.display());
    }
    let mut series = Series {
        key,
        category,
        name,
        timestamps: Vec::new(),
        ts_secs: Vec::new(),
        values_text: Vec::new(),
        values: Vec::new(),
        windows: Vec::new(),
    };
    for (line_index, line) in lines.enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let line_number = line_index + 2;
        let (timestamp, value) = line
            .split_once(',')
            .with_context(|| format!("{}:{line_number}: expected timestamp,value", path.display()))?;
        let micros = parse_timestamp(timestamp)
            .with_context(|| format!("{}:{line_number}: bad timestamp {timestamp:?}", path.display()))?;
        series.timestamps.push(timestamp.trim().to_owned());
        series.ts_secs.push(micros.div_euclid(1_000_000));
        series.values_text.push(value.trim().to_owned());
        series.values.push(value.trim().parse().unwrap_or(f64::NAN));
    }
    Ok(series)
}

fn parse_windows(json: &serde_json::Value, series: &Series) -> Result<Vec<(usize, usize)>> {
    let list = json.as_array().context("windows are not a list")?;
    let micros: Vec<Option<i64>> = series.timestamps.iter().map(|text| parse_timestamp(text)).collect();
    let row_of = |boundary: &serde_json::Value| -> Result<usize> {
        let text = boundary.as_str().context("window boundary is not a string")?;
        let wanted = parse_timestamp(text).with_context(|| format!("bad window boundary {text:?}"))?;
        micros
            .iter()
            .position(|&row| row == Some(wanted))
            .with_context(|| format!("window boundary {text} is not a timestamp of the series"))
    };
    let mut windows = Vec::with_capacity(list.len());
    for window in list {
        let pair = window.as_array().filter(|pair| pair.len() == 2).context("window is not a pair")?;
        let (start, end) = (row_of(&pair[0])?, row_of(&pair[1])?);
        if end < start {
            bail!("window ends (row {end}) before it starts (row {start})");
        }
        windows.push((start, end));
    }
    windows.sort_unstable();
    if windows.windows(2).any(|pair| pair[1].0 <= pair[0].1) {
        bail!("windows overlap");
    }
    Ok(windows)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<i64>) {
        assert_eq!(parse_timestamp(text), expected, "{text}");
    }

    #[test]
    fn timestamps() {
        check("1970-01-01 00:00:00", Some(0));
        check("1970-01-02 00:00:01", Some(86_401_000_000));
        check("2014-07-01 00:30:00", Some(1_404_174_600_000_000));
        check("2014-07-01 00:30:00.000000", Some(1_404_174_600_000_000));
        check("2014-07-01 00:30:00.5", Some(1_404_174_600_500_000));
        check("2016-02-29 12:00:00", Some(1_456_747_200_000_000));
        check("2015-02-29 12:00:00", None);
        check("2014-13-01 00:00:00", None);
        check("2014-07-01", None);
        check("2014-07-01 00:30:0x", None);
        check("", None);
    }
}
