//! Golden signals, samples and anomalies on both backends.

use firebreak_domain::{Anomaly, Direction, Sample, Severity, Signal};
use firebreak_store::GoldenSignalSpec;

use crate::{at, on_both, team_and_service, write};

#[tokio::test]
async fn signals_samples_and_anomalies() {
    on_both("signals_samples_and_anomalies", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let mut spec = GoldenSignalSpec {
            query: "rate(errors_total[5m])".into(),
            bad: Direction::Up,
            step_secs: 15,
            open_incident: false,
            severity: Severity::Sev3,
            unit: "/s".into(),
        };
        let errors = write(&store, async |tx| tx.set_golden_signal(service, Signal::Errors, &spec).await)
            .await
            .unwrap();
        spec.open_incident = true;
        let again = write(&store, async |tx| tx.set_golden_signal(service, Signal::Errors, &spec).await)
            .await
            .unwrap();
        assert_eq!(again.id, errors.id, "setting a signal again replaces it");
        assert!(again.open_incident);
        assert!(
            write(&store, async |tx| tx.set_golden_signal(999, Signal::Latency, &spec).await).await.is_err()
        );
        assert_eq!(store.golden_signals(None).await.unwrap().len(), 1);

        let sample = |second: i64, value: f64| Sample {
            at: at(second),
            value,
            expected: 1.0,
            lower: 0.5,
            upper: 1.5,
            score: 0.1,
        };
        store
            .record_samples(errors.id, &[sample(0, 1.0), sample(15, f64::NAN), sample(30, 1.2)], at(0))
            .await
            .unwrap();
        store.record_samples(errors.id, &[sample(30, 3.0), sample(45, 4.0)], at(10)).await.unwrap();
        let values: Vec<(i64, f64)> = store
            .samples(errors.id, at(0), at(100))
            .await
            .unwrap()
            .iter()
            .map(|s| (s.at.as_second() - at(0).as_second(), s.value))
            .collect();
        assert_eq!(
            values,
            [(15, 0.0), (30, 3.0), (45, 4.0)],
            "older samples pruned, repeats replaced, NaN stored as 0"
        );

        let mut anomaly = store
            .start_anomaly(&Anomaly {
                id: 0,
                golden_signal_id: errors.id,
                service_id: service,
                signal: Signal::Errors,
                started_at: at(30),
                ended_at: None,
                peak_score: 0.9,
                expected: 1.0,
                lower: 0.5,
                upper: 1.5,
                observed: 3.0,
                incident_id: None,
            })
            .await
            .unwrap();
        assert!(anomaly.id > 0);
        anomaly.ended_at = Some(at(60));
        store.update_anomaly(&anomaly).await.unwrap();
        assert_eq!(store.anomalies(service, at(0), at(100)).await.unwrap(), [anomaly.clone()]);
        assert_eq!(store.anomalies(service, at(61), at(100)).await.unwrap(), []);
        assert_eq!(store.anomalies(service, at(0), at(30)).await.unwrap(), []);
    })
    .await;
}
