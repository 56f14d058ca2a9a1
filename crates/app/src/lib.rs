//! firebreak without HTTP: the application layer.
//!
//! An [`App`] holds what every use of the system needs (the store, the clock, the installation's
//! link-signing key, the ingest pipeline, the workers). A module per capability adds methods to
//! it that take what a person or a tool asked for, validate it, decide with the pure crates
//! (`domain`, `engine`, `detect`) and write the outcome in **one transaction**, so a request that
//! changes several things changes all of them or none. They answer with domain values or with
//! this crate's own views; turning those into a wire format is the caller's business (the
//! `server` crate for HTTP, the web UI).
//!
//! Capabilities: `catalog` (teams, users, services), `incidents`, `alerts` (the ingest pipeline),
//! `silences`, `oncall` (schedules and escalation policies), `paging` (the escalation driver and
//! contact methods), `links` (signed acknowledge and resolve links), `signals` (golden signals and
//! anomalies), `heartbeats` (checks that expect a job to ping), `outcomes` (rules over business
//! events), `feeds` (calendar feeds) and `access` (API tokens). Shared pieces: [`Error`], the
//! reference and field checks of `resolve`, and the worker registry of `workers`.
//!
//! Every machine-made signal becomes an alert event through the ingest pipeline, so dedup,
//! silences and grouping apply to it; only people declare incidents directly.

pub mod access;
pub mod alerts;
pub mod catalog;
mod clock;
mod error;
pub mod feeds;
pub mod guides;
pub mod heartbeats;
pub mod incidents;
pub mod links;
pub mod oidc;
pub mod oncall;
pub mod outcomes;
pub mod paging;
mod prometheus;
pub mod replies;
mod resolve;
pub mod signals;
pub mod silences;
pub mod testing;
mod workers;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use firebreak_domain::Clock;
use firebreak_store::Store;
use jiff::Timestamp;

pub use access::Principal;

/// How long [`App::ready`] waits for a write to go through, and for accepted alert events to
/// reach the database, before it says the process is not ready.
pub const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
pub use clock::{ScaledClock, SystemClock};
pub use error::{Error, Result};
pub use firebreak_store::secret::redact_url;
pub use resolve::{DESCRIPTION_CHARS_MAX, LIST_ITEMS_MAX, MARKDOWN_CHARS_MAX};

/// Opens the database at `url`, brings its schema up to date, closes it, and returns the names of
/// the migrations applied (for `firebreak migrate`).
///
/// Fails naming the database when it cannot be opened or migrated.
pub async fn migrate(url: &str) -> anyhow::Result<Vec<&'static str>> {
    let store = Store::connect(url).await.with_context(|| format!("opening database {}", redact_url(url)))?;
    let applied = store.migrate().await.context("migrating the database schema");
    store.close().await;
    applied
}

/// The application: cheap to clone, shared by every request and worker of a process.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    /// The URL people use to reach this server, without a trailing slash.
    public_url: String,
    links: links::Links,
    tokens: access::Tokens,
    throttle: access::Throttle,
    oidc: Option<oidc::Oidc>,
    /// What creating the first administrator takes (see `access`).
    setup_code: String,
    ingestor: Arc<alerts::Ingestor>,
    monitor: Arc<signals::Monitor>,
    heartbeats: Arc<heartbeats::Heartbeats>,
    outcomes: Arc<outcomes::Outcomes>,
    paging: Arc<paging::PagingCounters>,
    workers: workers::Workers,
    /// How pages are sent, for saying which channels are configured.
    transport: Arc<dyn paging::Transport>,
    /// Checks that replies to SMS and keys pressed during calls come from Twilio.
    twilio_auth_token: Option<String>,
}

/// What [`App::start`] needs besides the store and the clock.
pub struct Options {
    /// The URL people use to reach this server, for links in pages and feeds.
    pub public_url: String,
    /// Base URL of a Prometheus-compatible query API for golden signals.
    pub prometheus_url: Option<String>,
    /// How pages reach people: [`firebreak_notify::Notifier`] when serving, a recording
    /// transport in tests and simulations.
    pub transport: Arc<dyn paging::Transport>,
    /// The Twilio auth token, which signs the replies Twilio posts back (`X-Twilio-Signature`);
    /// without it, replies by SMS and by phone keys are refused.
    pub twilio_auth_token: Option<String>,
    /// The OpenID Connect provider people may sign in with.
    pub oidc: Option<oidc::OidcConfig>,
}

/// What the database holds at start, for the first-start message.
#[derive(Clone, Copy, Debug)]
pub struct Database {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Nobody can log in yet: no API token, no password, no administrator.
    pub first_start: bool,
}

impl App {
    /// Opens the database at `url` and brings its schema up to date.
    ///
    /// Fails naming the database (its password redacted) when it cannot be opened or migrated.
    pub async fn open_store(url: &str) -> anyhow::Result<Store> {
        let store =
            Store::connect(url).await.with_context(|| format!("opening database {}", redact_url(url)))?;
        let applied = store.migrate().await.context("migrating the database schema")?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, backend = store.backend_name(), "migrations_applied");
        }
        Ok(store)
    }

    /// The application over a migrated `store`, with its workers started (see `workers`). Must
    /// run inside a tokio runtime.
    ///
    /// Fails when the installation's keys cannot be read, or the ingest journal cannot be opened.
    pub async fn start(store: Store, clock: Arc<dyn Clock>, options: Options) -> anyhow::Result<App> {
        let key =
            store.server_key(links::KEY_NAME, clock.now()).await.context("reading the link signing key")?;
        let links = links::Links::new(key, &options.public_url);
        let public_url = options.public_url.trim_end_matches('/').to_owned();
        let pager = Arc::new(paging::Pager::new(
            store.clone(),
            clock.clone(),
            options.transport.clone(),
            links.clone(),
            &public_url,
        ));
        let (ingestor, pipeline) = alerts::Ingestor::open(store.clone(), clock.clone()).await?;
        let ingestor = Arc::new(ingestor);
        let prometheus = options.prometheus_url.as_deref().map(prometheus::Prometheus::new).transpose()?;
        let monitor = Arc::new(signals::Monitor::new(
            store.clone(),
            clock.clone(),
            ingestor.clone(),
            prometheus.clone(),
        ));
        let heartbeats =
            Arc::new(heartbeats::Heartbeats::new(store.clone(), clock.clone(), ingestor.clone()));
        let outcomes =
            Arc::new(outcomes::Outcomes::new(store.clone(), clock.clone(), ingestor.clone(), prometheus));
        let oidc = options.oidc.map(|config| oidc::Oidc::new(config, &public_url)).transpose()?;
        let paging = pager.counters();
        let mut workers = workers::Workers::new();
        workers::register(&mut workers, pipeline, &pager, &monitor, &heartbeats, &outcomes);
        let inner = Inner {
            store,
            clock,
            public_url,
            links,
            tokens: access::Tokens::default(),
            throttle: access::Throttle::default(),
            oidc,
            setup_code: firebreak_store::secret::generate("")[..24].to_owned(),
            ingestor,
            monitor,
            heartbeats,
            outcomes,
            paging,
            workers,
            transport: options.transport,
            twilio_auth_token: options.twilio_auth_token,
        };
        Ok(App { inner: Arc::new(inner) })
    }

    /// Stops the workers gracefully and waits for them: first every alert event accepted is
    /// applied (for up to `timeout`; what is left is applied at the next start), then the
    /// pollers stop, deliveries in flight get up to `timeout` to finish, and every task and thread
    /// of the application is joined. Requests should have stopped arriving. Returns the names of
    /// the workers that did not stop within `timeout` and were cut short (each is in the log too).
    pub async fn shutdown(&self, timeout: Duration) -> Vec<&'static str> {
        self.inner.ingestor.drain(timeout).await;
        // The pollers stop first, so that nothing they raise meets a closed ingest queue.
        self.inner.workers.request_stop();
        self.inner.ingestor.close().await;
        self.inner.workers.join(timeout).await
    }

    /// Closes the database connections; after [`App::shutdown`].
    pub async fn close(&self) {
        self.inner.store.close().await;
    }

    /// What the database is, and whether this is its first start.
    pub async fn database(&self) -> Result<Database> {
        let first_start = !self.inner.store.anyone_can_log_in().await?;
        Ok(Database { backend: self.inner.store.backend_name(), first_start })
    }

    /// What the pager of this process has done, for metrics.
    pub fn paging_counters(&self) -> Arc<paging::PagingCounters> {
        self.inner.paging.clone()
    }

    /// Whether this process can do its work: the database can be written (within
    /// [`READY_WAIT`]), and the alert events accepted before this call are in the database (or
    /// get there within [`READY_WAIT`]). Fails with every reason it is not.
    pub async fn ready(&self) -> std::result::Result<(), Vec<String>> {
        let writable = async {
            match tokio::time::timeout(READY_WAIT, self.inner.store.ping_write()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(err)) => Err(format!("the database cannot be written: {err}")),
                Err(_) => Err(format!(
                    "the database cannot be written: no write went through in {} s",
                    READY_WAIT.as_secs()
                )),
            }
        };
        let (writable, applied) = tokio::join!(writable, self.inner.ingestor.caught_up(READY_WAIT));
        let reasons: Vec<String> = [writable, applied].into_iter().filter_map(|check| check.err()).collect();
        if reasons.is_empty() { Ok(()) } else { Err(reasons) }
    }

    /// The time now, by the application's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The URL people use to reach this server, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }
}
