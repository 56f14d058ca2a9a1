//! An application over a fresh database, a manual clock and a recording transport.

use std::sync::Arc;

use firebreak_app::testing::{self, Recording};
use firebreak_app::{App, Options};
use firebreak_domain::ManualClock;
use serde_json::Value;

/// How long a test lets the application stop.
pub(crate) const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A started application and what drives it.
pub(crate) struct Fixture {
    pub(crate) app: App,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) pages: Recording,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    /// On a new SQLite file (so with the ingest journal, as served).
    pub(crate) async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = testing::fresh_sqlite(dir.path()).await.unwrap();
        Fixture::start(store, Some(dir)).await
    }

    /// On a new PostgreSQL schema, when `FIREBREAK_TEST_DATABASE_URL` is set.
    pub(crate) async fn postgres(test: &str) -> Option<Fixture> {
        let store = testing::fresh_postgres(test).await.unwrap()?;
        Some(Fixture::start(store, None).await)
    }

    /// Over `store`, which the caller keeps the directory of.
    pub(crate) async fn over(store: firebreak_store::Store) -> Fixture {
        Fixture::start(store, None).await
    }

    async fn start(store: firebreak_store::Store, dir: Option<tempfile::TempDir>) -> Fixture {
        let clock = Arc::new(ManualClock::new("2026-03-02T08:00:00Z".parse().unwrap()));
        let pages = Recording::default();
        let options = Options {
            public_url: "https://firebreak.example".into(),
            prometheus_url: None,
            transport: Arc::new(pages.clone()),
            twilio_auth_token: None,
            oidc: None,
        };
        let app = App::start(store, clock.clone(), options).await.unwrap();
        Fixture { app, clock, pages, _dir: dir }
    }

    /// Stops the application and closes its database.
    pub(crate) async fn stop(self) {
        self.app.shutdown(STOP_TIMEOUT).await;
        self.app.close().await;
    }
}

/// Runs `behaviour` on a fresh SQLite fixture and, if configured, a fresh PostgreSQL one.
pub(crate) async fn on_both<F, Fut>(test: &str, behaviour: F)
where
    F: Fn(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    behaviour(Fixture::sqlite().await).await;
    if let Some(fixture) = Fixture::postgres(test).await {
        behaviour(fixture).await;
    }
}

/// `value` read as the API request type `T`.
pub(crate) fn body<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a valid request body")
}
