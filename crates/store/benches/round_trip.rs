//! What one call to the database costs when the statement itself costs next to nothing: the
//! floor under every batch the ingest writer commits, since each of its calls is one such round
//! trip.
//!
//! `cargo bench -p firebreak-store --bench round_trip` reads a service's alert settings (one
//! indexed row, on the SQLite write connection) `CALLS` times (default 2,000), five rounds, and
//! prints the median time per call of each round and of all five. With
//! `FIREBREAK_TEST_DATABASE_URL` set it measures PostgreSQL too.

use std::time::Instant;

use firebreak_domain::Id;
use firebreak_store::{NewService, NewTeam, Store, testing};
use jiff::Timestamp;

const ROUNDS: usize = 5;

fn main() {
    let calls: usize = std::env::var("CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sqlite = testing::fresh_sqlite(dir.path()).await.expect("a SQLite store");
        measure("sqlite", &sqlite, calls).await;
        if let Some(postgres) = testing::fresh_postgres("round_trip").await.expect("a PostgreSQL store") {
            measure("postgres", &postgres, calls).await;
        }
    });
}

async fn measure(backend: &str, store: &Store, calls: usize) {
    let service = service(store).await;
    let mut medians = Vec::with_capacity(ROUNDS);
    for round in 1..=ROUNDS {
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let started = Instant::now();
            store.alert_settings(service).await.expect("the service's settings");
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{backend} round {round}: {calls} calls, median {median:.1} µs, p99 {:.1} µs",
            times[times.len() * 99 / 100]
        );
        medians.push(median);
    }
    medians.sort_by(f64::total_cmp);
    println!("{backend}: one call to the database, median of {ROUNDS} rounds: {:.1} µs", medians[ROUNDS / 2]);
}

async fn service(store: &Store) -> Id {
    let now = Timestamp::now();
    let mut tx = store.begin().await.expect("a transaction");
    let team = tx
        .create_team(&NewTeam { name: "bench".into(), description: String::new() }, now)
        .await
        .expect("a team");
    let (service, _) = tx
        .create_service(
            &NewService {
                name: "bench".into(),
                team_id: team.id,
                description: String::new(),
                ..Default::default()
            },
            now,
        )
        .await
        .expect("a service");
    tx.commit().await.expect("a commit");
    service.id
}
