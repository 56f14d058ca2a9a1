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
/// Height of a chart, in SVG units (and CSS pixels).
const HEIGHT: f64 = 80.0;

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
/// anomalies highlighted, and a mark at `mark` (the incident's start).
pub(super) fn chart(
    samples: &[Sample],
    anomalies: &[(Timestamp, Timestamp)],
    from: Timestamp,
    to: Timestamp,
    mark: Timestamp,
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
    // Elements inside an SVG are closed explicitly: in HTML, only void HTML elements close themselves.
    html! {
        svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width=(WIDTH) height=(HEIGHT) role="img" {
            @for (start, end) in anomalies {
                rect class="anomaly" x=(format!("{:.1}", x(*start))) y="0"
                    width=(format!("{:.1}", (x(*end) - x(*start)).max(2.0))) height=(HEIGHT) {}
            }
            @if let Some(band) = band {
                polygon class="band" points=(band) {}
            }
            polyline class="value" points=(line) {}
            line class="mark" x1=(mark) x2=(mark) y1="0" y2=(HEIGHT) {}
        }
    }
}
