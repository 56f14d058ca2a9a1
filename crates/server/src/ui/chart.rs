//! Small inline SVG charts of golden signals, for the service page and the "What moved" section of
//! an incident's page.

use firebreak_domain::{Anomaly, GoldenSignal, Id, Sample};
use jiff::Timestamp;
use maud::{Markup, html};

/// One golden signal with what its chart shows: its samples and the stretches when it was
/// anomalous.
pub(super) struct SignalChart {
    pub(super) signal: GoldenSignal,
    pub(super) samples: Vec<Sample>,
    pub(super) spans: Vec<(Timestamp, Timestamp)>,
}

/// Width of a chart, in SVG units (and CSS pixels).
const WIDTH: f64 = 320.0;
/// Height of a chart's plot, in SVG units (and CSS pixels).
const HEIGHT: f64 = 80.0;
/// Height of the time axis under the plot.
const AXIS: f64 = 14.0;

/// The stretches of time during which golden signal `signal_id` was anomalous; one still going on
/// ends at `to`.
pub(super) fn anomaly_spans(
    anomalies: &[Anomaly],
    signal_id: Id,
    to: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    anomalies
        .iter()
        .filter(|a| a.golden_signal_id == signal_id)
        .map(|a| (a.started_at, a.ended_at.unwrap_or(to)))
        .collect()
}

/// An SVG chart of `samples` over `[from, to]`: the value as a line, the expected band shaded,
/// anomalies highlighted, a mark at `mark` (the incident's start), the highest and lowest values
/// shown with `unit`, and a time axis in UTC.
pub(super) fn chart(
    samples: &[Sample],
    anomalies: &[(Timestamp, Timestamp)],
    from: Timestamp,
    to: Timestamp,
    mark: Timestamp,
    unit: &str,
) -> Markup {
    let banded: Vec<&Sample> = samples.iter().filter(|s| s.upper > s.lower).collect();
    let mut low = samples.iter().map(|s| s.value).fold(f64::INFINITY, f64::min);
    let mut high = samples.iter().map(|s| s.value).fold(f64::NEG_INFINITY, f64::max);
    for sample in &banded {
        low = low.min(sample.lower);
        high = high.max(sample.upper);
    }
    if high - low < 1e-9 {
        high += 1.0;
        low -= 1.0;
    }
    let span_secs = (to.as_second() - from.as_second()).max(1) as f64;
    let x =
        |at: Timestamp| ((at.as_second() - from.as_second()) as f64 / span_secs * WIDTH).clamp(0.0, WIDTH);
    let y = |v: f64| (HEIGHT - 4.0 - (v - low) / (high - low) * (HEIGHT - 8.0)).clamp(0.0, HEIGHT);
    let point = |at: Timestamp, v: f64| format!("{:.1},{:.1}", x(at), y(v));
    let band = (banded.len() > 1).then(|| {
        let upper = banded.iter().map(|s| point(s.at, s.upper));
        let lower = banded.iter().rev().map(|s| point(s.at, s.lower));
        upper.chain(lower).collect::<Vec<_>>().join(" ")
    });
    let line = samples.iter().map(|s| point(s.at, s.value)).collect::<Vec<_>>().join(" ");
    let mark = format!("{:.1}", x(mark));
    let middle = from
        .saturating_add(jiff::SignedDuration::from_secs((to.as_second() - from.as_second()) / 2))
        .unwrap_or(from);
    let clock = |at: Timestamp| at.strftime("%H:%M").to_string();
    let value = |v: f64| if unit.is_empty() { compact(v) } else { format!("{} {unit}", compact(v)) };
    let total = HEIGHT + AXIS;
    // Elements inside an SVG are closed explicitly: in HTML, only void HTML elements close themselves.
    html! {
        svg viewBox={ "0 0 " (WIDTH) " " (total) } width=(WIDTH) height=(total) role="img" {
            @for (start, end) in anomalies {
                rect class="anomaly" x=(format!("{:.1}", x(*start))) y="0"
                    width=(format!("{:.1}", (x(*end) - x(*start)).max(2.0))) height=(HEIGHT) {}
            }
            @if let Some(band) = band {
                polygon class="band" points=(band) {}
            }
            polyline class="value" points=(line) {}
            line class="mark" x1=(mark) x2=(mark) y1="0" y2=(HEIGHT) {}
            @if !samples.is_empty() {
                text class="tick" x="3" y="10" { (value(high)) }
                text class="tick" x="3" y=(HEIGHT - 3.0) { (value(low)) }
            }
            line class="axis" x1="0" x2=(WIDTH) y1=(HEIGHT) y2=(HEIGHT) {}
            text class="tick" x="1" y=(total - 2.0) { (clock(from)) }
            text class="tick" x=(WIDTH / 2.0) y=(total - 2.0) text-anchor="middle" { (clock(middle)) }
            text class="tick" x=(WIDTH - 1.0) y=(total - 2.0) text-anchor="end" { (clock(to)) " UTC" }
        }
    }
}

/// A value in a few characters: `0.123`, `12.3`, `4.5k`, `1.2M`.
fn compact(value: f64) -> String {
    let magnitude = value.abs();
    if !value.is_finite() {
        return value.to_string();
    }
    if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.1}k", value / 1e3)
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}").trim_end_matches('0').trim_end_matches('.').to_owned()
    } else if magnitude == 0.0 {
        "0".to_owned()
    } else {
        format!("{value:.3}").trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_compact() {
        let cases = [
            (0.0, "0"),
            (0.1234, "0.123"),
            (0.5, "0.5"),
            (12.345, "12.35"),
            (1.0, "1"),
            (250.4, "250"),
            (12_345.0, "12.3k"),
            (2_500_000.0, "2.5M"),
            (-0.02, "-0.02"),
        ];
        for (value, expected) in cases {
            assert_eq!(compact(value), expected, "{value}");
        }
    }
}
