//! Throughput of one [`Detector`] replaying a long series, one sample at a time.
//!
//! Run with `CARGO_BUILD_JOBS=1 cargo bench -p firebreak-detect --bench throughput`; criterion reports
//! the time per replay and, through [`Throughput::Elements`], samples per second.
//!
//! Target: at least 5 million samples per second on one core. Cost model: 50,000 series sampled every
//! 15 s produce 50,000 / 15 ≈ 3,333 samples per second, which must stay under 5 % of one core, i.e. the
//! detector must sustain at least 3,333 / 0.05 ≈ 66,667 samples per second. Meeting the throughput target
//! meets this budget with a margin of 75×: at 5 million samples per second the 50,000 series cost about
//! 0.07 % of one core.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firebreak_detect::{Detector, Params};

/// Samples in the replayed series: two weeks at one sample per 15 s.
const SAMPLES: usize = 80_640;

/// A daily cycle with deterministic noise, a spike, a level shift and a few missing samples, so every
/// branch of the detector is exercised.
fn series() -> Vec<(i64, f64)> {
    let mut noise_state: u64 = 0x2545_F491_4F6C_DD1D;
    (0..SAMPLES)
        .map(|i| {
            noise_state ^= noise_state << 13;
            noise_state ^= noise_state >> 7;
            noise_state ^= noise_state << 17;
            let noise = (noise_state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let ts_secs = 1_700_000_000 + 15 * i as i64;
            let daily = (ts_secs as f64 * std::f64::consts::TAU / 86_400.0).sin();
            let mut value = 100.0 + 20.0 * daily + 3.0 * noise;
            if i == SAMPLES / 3 {
                value += 80.0;
            }
            if i > 2 * SAMPLES / 3 {
                value += 25.0;
            }
            if i % 1_000 == 999 {
                value = f64::NAN;
            }
            (ts_secs, value)
        })
        .collect()
}

fn replay(c: &mut Criterion) {
    let samples = series();
    let params = Params::default();
    let mut group = c.benchmark_group("detector");
    group.throughput(Throughput::Elements(samples.len() as u64));
    group.bench_function("replay", |b| {
        b.iter(|| {
            let mut detector = Detector::new(&params);
            let mut total = 0.0;
            for &(ts_secs, value) in &samples {
                total += detector.update(ts_secs, value).score;
            }
            black_box(total)
        });
    });
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
