//! Golden signals of services: their configuration, recent samples and anomalies.

use firebreak_domain::{Anomaly, Direction, GoldenSignal, Id, Sample, Severity, Signal};
use jiff::Timestamp;

use crate::rows::{self, millis};
use crate::{Result, Store, StoreError, Tx};

/// Samples per multi-row insert.
const SAMPLES_PER_INSERT: usize = 100;

/// How a golden signal should be watched, as set by a person.
#[derive(Clone, Debug)]
pub struct GoldenSignalSpec {
    pub query: String,
    pub bad: Direction,
    pub step_secs: i64,
    pub open_incident: bool,
    pub severity: Severity,
}

#[derive(sqlx::FromRow)]
struct GoldenSignalRow {
    id: i64,
    service_id: i64,
    signal: String,
    query: String,
    bad_direction: String,
    step_secs: i64,
    open_incident: i64,
    severity: String,
}

#[derive(sqlx::FromRow)]
struct SampleRow {
    at: i64,
    value: f64,
    expected: f64,
    lower: f64,
    upper: f64,
    score: f64,
}

#[derive(sqlx::FromRow)]
struct AnomalyRow {
    id: i64,
    golden_signal_id: i64,
    service_id: i64,
    signal: String,
    started_at: i64,
    ended_at: Option<i64>,
    peak_score: f64,
    expected: f64,
    lower: f64,
    upper: f64,
    observed: f64,
    incident_id: Option<i64>,
}

const SIGNAL_COLUMNS: &str =
    "id, service_id, signal, query, bad_direction, step_secs, open_incident, severity";
const ANOMALY_COLUMNS: &str = "id, golden_signal_id, service_id, signal, started_at, ended_at, peak_score, expected, \
     lower, upper, observed, incident_id";

impl Store {
    /// The golden signals of one service, or of every service.
    pub async fn golden_signals(&self, service_id: Option<Id>) -> Result<Vec<GoldenSignal>> {
        self.primary().await?.conn().golden_signals(service_id).await
    }

    /// Forgets every sample of golden signal `id`.
    pub async fn delete_samples(&self, id: Id) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM signal_samples WHERE golden_signal_id = $1").bind(id).execute(pool).await?;
        });
        Ok(())
    }

    /// Records samples of golden signal `id` (a sample at an instant already recorded replaces it),
    /// and forgets those older than `keep_after`.
    pub async fn record_samples(&self, id: Id, samples: &[Sample], keep_after: Timestamp) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in samples.chunks(SAMPLES_PER_INSERT) {
                let mut query = sqlx::QueryBuilder::new(
                    "INSERT INTO signal_samples (golden_signal_id, at, value, expected, lower, upper, score) ",
                );
                query.push_values(chunk, |mut row, sample| {
                    row.push_bind(id)
                        .push_bind(millis(sample.at))
                        .push_bind(finite(sample.value))
                        .push_bind(finite(sample.expected))
                        .push_bind(finite(sample.lower))
                        .push_bind(finite(sample.upper))
                        .push_bind(finite(sample.score));
                });
                query.push(
                    " ON CONFLICT (golden_signal_id, at) DO UPDATE SET value = excluded.value, \
                     expected = excluded.expected, lower = excluded.lower, upper = excluded.upper, score = excluded.score",
                );
                query.build().execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM signal_samples WHERE golden_signal_id = $1 AND at < $2")
                .bind(id)
                .bind(millis(keep_after))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Samples of golden signal `id` in `[from, to)`, oldest first.
    pub async fn samples(&self, id: Id, from: Timestamp, to: Timestamp) -> Result<Vec<Sample>> {
        let rows: Vec<SampleRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT at, value, expected, lower, upper, score FROM signal_samples \
                 WHERE golden_signal_id = $1 AND at >= $2 AND at < $3 ORDER BY at",
            )
            .bind(id)
            .bind(millis(from))
            .bind(millis(to))
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| Sample {
                at: rows::from_millis(row.at),
                value: row.value,
                expected: row.expected,
                lower: row.lower,
                upper: row.upper,
                score: row.score,
            })
            .collect())
    }

    /// Records the start of an anomaly and returns it with its id.
    pub async fn start_anomaly(&self, anomaly: &Anomaly) -> Result<Anomaly> {
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO anomalies (golden_signal_id, service_id, signal, started_at, ended_at, peak_score, expected, \
                 lower, upper, observed, incident_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(anomaly.golden_signal_id)
            .bind(anomaly.service_id)
            .bind(anomaly.signal.as_str())
            .bind(millis(anomaly.started_at))
            .bind(anomaly.ended_at.map(millis))
            .bind(finite(anomaly.peak_score))
            .bind(finite(anomaly.expected))
            .bind(finite(anomaly.lower))
            .bind(finite(anomaly.upper))
            .bind(finite(anomaly.observed))
            .bind(anomaly.incident_id)
            .fetch_one(pool)
            .await?
        });
        Ok(Anomaly { id, ..anomaly.clone() })
    }

    /// Updates an anomaly's peak, end and incident.
    pub async fn update_anomaly(&self, anomaly: &Anomaly) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE anomalies SET ended_at = $1, peak_score = $2, expected = $3, lower = $4, upper = $5, \
                 observed = $6, incident_id = $7 WHERE id = $8",
            )
            .bind(anomaly.ended_at.map(millis))
            .bind(finite(anomaly.peak_score))
            .bind(finite(anomaly.expected))
            .bind(finite(anomaly.lower))
            .bind(finite(anomaly.upper))
            .bind(finite(anomaly.observed))
            .bind(anomaly.incident_id)
            .bind(anomaly.id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Anomalies of service `service_id` that overlap `[from, to)`, oldest first.
    pub async fn anomalies(&self, service_id: Id, from: Timestamp, to: Timestamp) -> Result<Vec<Anomaly>> {
        let rows: Vec<AnomalyRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {ANOMALY_COLUMNS} FROM anomalies WHERE service_id = $1 AND started_at < $2 \
                 AND (ended_at IS NULL OR ended_at >= $3) ORDER BY started_at, id"
            ))
            .bind(service_id)
            .bind(millis(to))
            .bind(millis(from))
            .fetch_all(&mut *c)
            .await?
        });
        rows.into_iter().map(anomaly_from_row).collect()
    }
}

impl Tx {
    /// Creates or replaces how `signal` of service `service_id` is watched.
    ///
    /// Fails with [`StoreError::NotFound`] when the service does not exist.
    pub async fn set_golden_signal(
        &mut self,
        service_id: Id,
        signal: Signal,
        spec: &GoldenSignalSpec,
    ) -> Result<GoldenSignal> {
        with_conn!(self.conn(), c => {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM services WHERE id = $1").bind(service_id).fetch_optional(&mut *c).await?;
            if found.is_none() {
                return Err(StoreError::NotFound(format!("there is no service {service_id}")));
            }
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM golden_signals WHERE service_id = $1 AND signal = $2")
                    .bind(service_id)
                    .bind(signal.as_str())
                    .fetch_optional(&mut *c)
                    .await?;
            match existing {
                Some(id) => {
                    sqlx::query(
                        "UPDATE golden_signals SET query = $1, bad_direction = $2, step_secs = $3, open_incident = $4, \
                         severity = $5 WHERE id = $6",
                    )
                    .bind(&spec.query)
                    .bind(spec.bad.as_str())
                    .bind(spec.step_secs)
                    .bind(i64::from(spec.open_incident))
                    .bind(spec.severity.as_str())
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO golden_signals (service_id, signal, query, bad_direction, step_secs, open_incident, \
                         severity) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(service_id)
                    .bind(signal.as_str())
                    .bind(&spec.query)
                    .bind(spec.bad.as_str())
                    .bind(spec.step_secs)
                    .bind(i64::from(spec.open_incident))
                    .bind(spec.severity.as_str())
                    .execute(&mut *c)
                    .await?;
                }
            }
        });
        let signals = self.conn().golden_signals(Some(service_id)).await?;
        signals.into_iter().find(|s| s.signal == signal).ok_or_else(|| {
            StoreError::NotFound(format!("golden signal {signal} of service {service_id} vanished"))
        })
    }
}

impl crate::Conn<'_> {
    async fn golden_signals(self, service_id: Option<Id>) -> Result<Vec<GoldenSignal>> {
        let rows: Vec<GoldenSignalRow> = with_conn!(self, c => {
            match service_id {
                Some(id) => sqlx::query_as(&format!(
                    "SELECT {SIGNAL_COLUMNS} FROM golden_signals WHERE service_id = $1 ORDER BY id"
                ))
                .bind(id)
                .fetch_all(&mut *c)
                .await?,
                None => sqlx::query_as(&format!(
                    "SELECT {SIGNAL_COLUMNS} FROM golden_signals WHERE service_id IN \
                     (SELECT id FROM services WHERE deleted_at IS NULL) ORDER BY id"
                ))
                    .fetch_all(&mut *c)
                    .await?,
            }
        });
        rows.into_iter().map(signal_from_row).collect()
    }
}

/// SQLite stores NaN as NULL, which the NOT NULL columns refuse: store 0 for what is not a number.
fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

fn signal_from_row(row: GoldenSignalRow) -> Result<GoldenSignal> {
    let what = format!("golden signal {}", row.id);
    Ok(GoldenSignal {
        id: row.id,
        service_id: row.service_id,
        signal: Signal::parse(&row.signal).map_err(|err| rows::corrupt(&what, err))?,
        query: row.query,
        bad: Direction::parse(&row.bad_direction).map_err(|err| rows::corrupt(&what, err))?,
        step_secs: row.step_secs,
        open_incident: row.open_incident != 0,
        severity: Severity::parse(&row.severity).map_err(|err| rows::corrupt(&what, err))?,
    })
}

fn anomaly_from_row(row: AnomalyRow) -> Result<Anomaly> {
    Ok(Anomaly {
        id: row.id,
        golden_signal_id: row.golden_signal_id,
        service_id: row.service_id,
        signal: Signal::parse(&row.signal).map_err(|err| rows::corrupt("anomaly", err))?,
        started_at: rows::from_millis(row.started_at),
        ended_at: row.ended_at.map(rows::from_millis),
        peak_score: row.peak_score,
        expected: row.expected,
        lower: row.lower,
        upper: row.upper,
        observed: row.observed,
        incident_id: row.incident_id,
    })
}
