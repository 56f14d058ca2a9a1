//! firebreak's HTTP server: the API v1, the web UI, health and metrics endpoints, authentication,
//! configuration, startup and graceful shutdown.
//!
//! [`router`] builds the whole application as an axum `Router` over an [`App`], so tests call it
//! in-process; [`serve`] runs it on a bound listener until a shutdown future completes; [`run`] is
//! what `firebreak serve` does. This is the only crate that serves HTTP and the only one (with the
//! engine later) that reads the system clock, through [`SystemClock`].

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
mod feeds;
mod ical;
pub mod ingest;
pub mod links;
mod markdown;
pub mod metrics;
pub mod monitor;
mod oncall;
pub mod paging;
mod request_log;
mod ui;
mod v1;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, ServiceExt};
use firebreak_domain::Clock;
use firebreak_store::Store;
use jiff::Timestamp;
use tokio::net::TcpListener;

use crate::auth::Tokens;
use crate::config::{Config, LogFormat};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::request_log::{Line, RequestLog};

pub use v1::ApiDoc;

/// Largest request body accepted, in bytes.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;
/// Most connections served at once; more wait in the kernel's accept queue, costing no memory here.
pub const CONNECTIONS_MAX: usize = 1024;
/// Longest time shutdown waits for requests in flight before closing anyway.
pub const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The wall clock sped up `scale` times from `origin`: one real second is `scale` seconds here.
/// Several processes given the same origin and scale agree on the time, so a test can run replicas
/// through hours of escalations in a minute, and a game day can rehearse a night in minutes. Set by
/// `FIREBREAK_TIME_SCALE` (and `FIREBREAK_TIME_ORIGIN`, RFC 3339, default the start of the process).
#[derive(Clone, Copy, Debug)]
pub struct ScaledClock {
    origin: Timestamp,
    scale: f64,
}

impl ScaledClock {
    /// The clock that `FIREBREAK_TIME_SCALE` and `FIREBREAK_TIME_ORIGIN` ask for, if any.
    pub fn from_env() -> anyhow::Result<Option<ScaledClock>> {
        let Ok(scale) = std::env::var("FIREBREAK_TIME_SCALE") else { return Ok(None) };
        let scale: f64 = scale
            .parse()
            .ok()
            .filter(|scale: &f64| scale.is_finite() && (1.0..=100_000.0).contains(scale))
            .with_context(|| {
                format!("invalid FIREBREAK_TIME_SCALE {scale:?}; expected a number from 1 to 100000")
            })?;
        let origin = match std::env::var("FIREBREAK_TIME_ORIGIN") {
            Ok(origin) => origin
                .parse()
                .with_context(|| format!("invalid FIREBREAK_TIME_ORIGIN {origin:?}; expected RFC 3339"))?,
            Err(_) => Timestamp::now(),
        };
        Ok(Some(ScaledClock { origin, scale }))
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let real = Timestamp::now().duration_since(self.origin);
        let scaled = jiff::SignedDuration::from_secs_f64(real.as_secs_f64() * self.scale);
        self.origin.saturating_add(scaled).unwrap_or(self.origin)
    }
}

/// Everything a request handler needs. Shared by all requests.
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// The URL people use to reach this server, without a trailing slash.
    pub public_url: String,
    tokens: Tokens,
    metrics: Metrics,
    request_log: RequestLog,
    request_ids: AtomicU64,
    ingestor: ingest::Ingestor,
    monitor: Arc<monitor::Monitor>,
    pub pager: Arc<paging::Pager>,
    links: links::Links,
}

/// What [`AppState::new`] needs besides the store and the clock.
#[derive(Debug, Default)]
pub struct Options {
    /// The URL people use to reach this server, for links in pages.
    pub public_url: String,
    /// Base URL of a Prometheus-compatible query API for golden signals.
    pub prometheus_url: Option<String>,
    /// The mail server for email pages.
    pub smtp: Option<firebreak_notify::SmtpConfig>,
}

pub type App = Arc<AppState>;

impl AppState {
    /// The shared state, with the ingest writer, the escalation driver and the golden-signal poller
    /// (when `prometheus_url` is given) started. Must run inside a tokio runtime.
    pub async fn new(store: Store, clock: Arc<dyn Clock>, options: Options) -> anyhow::Result<App> {
        let key =
            store.server_key(links::KEY_NAME, clock.now()).await.context("reading the link signing key")?;
        let links = links::Links::new(key, &options.public_url);
        let notifier = firebreak_notify::Notifier::new(options.smtp).map_err(anyhow::Error::msg)?;
        let pager = Arc::new(paging::Pager::new(
            store.clone(),
            clock.clone(),
            notifier,
            links.clone(),
            &options.public_url,
        ));
        tokio::spawn(pager.clone().run());
        let waker = pager.clone();
        let opened: Arc<dyn Fn() + Send + Sync> = Arc::new(move || waker.wake());
        let ingestor = ingest::Ingestor::start(store.clone(), clock.clone(), opened.clone()).await?;
        let monitor =
            Arc::new(monitor::Monitor::new(store.clone(), clock.clone(), options.prometheus_url, opened)?);
        tokio::spawn(monitor.clone().run());
        Ok(Arc::new(AppState {
            ingestor,
            monitor,
            pager,
            links,
            store,
            clock,
            public_url: options.public_url,
            tokens: Tokens::default(),
            metrics: Metrics::default(),
            request_log: RequestLog::default(),
            request_ids: AtomicU64::new(1),
        }))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The whole application: API, web UI, health, readiness, metrics.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(
            // Whatever reads or changes stored state sees every event answered before it.
            Router::new()
                .nest("/api/v1", v1::routes(app.clone()))
                .merge(feeds::public_routes())
                .merge(links::routes())
                .merge(ui::routes())
                .layer(middleware::from_fn_with_state(app.clone(), settled)),
        )
        .merge(ingest::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(app)
}

/// What [`serve`] answers with: [`router`], except that `POST /v2/enqueue`, which monitoring
/// sends thousands of times a second, goes straight to its handler instead of through the
/// router's layers (each of which clones and boxes per request). It is observed as every other
/// request is.
#[derive(Clone)]
struct Application {
    app: App,
    router: Router,
}

impl tower_service::Service<Request> for Application {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() == Method::POST && request.uri().path() == ingest::ENQUEUE_PATH {
            let app = self.app.clone();
            return Box::pin(async move {
                let observed = Observed::start(&app, &request);
                let response = ingest::enqueue_request(&app, request).await;
                Ok(observed.finish(&app, ingest::ENQUEUE_PATH, response))
            });
        }
        Box::pin(self.router.call(request))
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in flight finish
/// for up to [`SHUTDOWN_DRAIN_TIMEOUT`].
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let listener = LimitedListener::new(listener, CONNECTIONS_MAX);
    let application = Application { router: router(app.clone()), app };
    let server = axum::serve(listener, application.into_make_service()).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let drain_deadline = async move {
        let mut stop_rx = stop_rx;
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(SHUTDOWN_DRAIN_TIMEOUT).await;
    };
    tokio::select! {
        result = server => result,
        () = drain_deadline => {
            tracing::warn!(timeout_secs = SHUTDOWN_DRAIN_TIMEOUT.as_secs(), "shutdown_drain_timed_out");
            Ok(())
        }
    }
}

/// A TCP listener that serves at most a fixed number of connections at once: each accepted
/// connection holds a permit until it closes, and accepting waits for a free one. Under a flood of
/// connections memory stays bounded and the excess waits (or times out) in the kernel's queue.
struct LimitedListener {
    inner: TcpListener,
    permits: Arc<tokio::sync::Semaphore>,
}

impl LimitedListener {
    fn new(inner: TcpListener, connections_max: usize) -> LimitedListener {
        LimitedListener { inner, permits: Arc::new(tokio::sync::Semaphore::new(connections_max)) }
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = self.permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (LimitedStream { inner: stream, _permit: permit }, addr);
                }
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %err, "accept_failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection and the permit it holds while open.
struct LimitedStream {
    inner: tokio::net::TcpStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl tokio::io::AsyncRead for LimitedStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Sets up logging in `format`, with the level from `RUST_LOG` (default `info`).
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// `firebreak serve`: opens and migrates the database, binds, prints how to get started on a
/// first start, and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = Store::connect(&config.database_url).await.with_context(|| {
        format!("opening database {}", firebreak_store::secret::redact_url(&config.database_url))
    })?;
    let applied = store.migrate().await.context("migrating the database schema")?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, backend = store.backend_name(), "migrations_applied");
    }
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
    let first_start = store.token_hashes().await?.is_empty();
    tracing::info!(listen = %config.listen, backend = store.backend_name(), "server_started");
    if first_start {
        println!(
            "firebreak is running at {url}\n\n\
             No API tokens exist yet. Create one (the server may keep running) with:\n\n    \
             firebreak token create --name admin --database '{db}'\n\n\
             then open {url} and log in with it, or call the API with Authorization: Bearer <token>.",
            url = config.public_url,
            db = firebreak_store::secret::redact_url(&config.database_url),
        );
    }
    let options =
        Options { public_url: config.public_url, prometheus_url: config.prometheus_url, smtp: config.smtp };
    let clock: Arc<dyn Clock> = match ScaledClock::from_env()? {
        Some(scaled) => {
            tracing::warn!(?scaled, "clock_scaled");
            Arc::new(scaled)
        }
        None => Arc::new(SystemClock),
    };
    let app = AppState::new(store.clone(), clock, options).await?;
    serve(listener, app.clone(), shutdown_signal()).await.context("serving HTTP")?;
    // What was accepted should be in the database when the server has stopped (for a backup, say);
    // what is not yet is applied at the next start.
    app.ingestor.drain(SHUTDOWN_DRAIN_TIMEOUT).await;
    store.close().await;
    tracing::info!("server_stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown_requested");
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(app): State<App>) -> Response {
    match app.store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness_failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

async fn metrics(State(app): State<App>) -> Result<Response, ApiError> {
    let incidents = app.store.incident_counts().await?;
    let mut body = app.metrics.render(&incidents);
    let ingestor = &app.ingestor.counters;
    let counters = [
        (
            "firebreak_alert_events_accepted_total",
            "Alert events stored and answered 202.",
            &ingestor.events_accepted,
        ),
        (
            "firebreak_ingest_requests_throttled_total",
            "Ingest requests answered 429.",
            &ingestor.requests_throttled,
        ),
        (
            "firebreak_ingest_batches_committed_total",
            "Transactions that stored alert events.",
            &ingestor.batches_committed,
        ),
        (
            "firebreak_ingest_journal_records_total",
            "Records synced to the ingest journal (each answers every request waiting for it).",
            &ingestor.journal_records,
        ),
        (
            "firebreak_ingest_events_dropped_total",
            "Accepted alert events left out when applied, because their service had been removed.",
            &ingestor.events_dropped,
        ),
    ];
    for (name, help, counter) in counters {
        body.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            counter.load(Ordering::Relaxed)
        ));
    }
    body.push_str(&format!(
        "# HELP firebreak_ingest_backlog_events Alert events accepted and journaled, not yet in the database.\n\
         # TYPE firebreak_ingest_backlog_events gauge\nfirebreak_ingest_backlog_events {}\n",
        app.ingestor.backlog()
    ));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response())
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("there is nothing at {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Lets a request through once the events answered before it arrived are applied.
async fn settled(State(app): State<App>, request: Request, next: Next) -> Response {
    app.ingestor.settle().await;
    next.run(request).await
}

/// Records metrics and a log line for every request, and gives each one an id.
async fn observe(State(app): State<App>, request: Request, next: Next) -> Response {
    // The matched path is shared, not copied: this runs for every request.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let observed = Observed::start(&app, &request);
    let response = next.run(request).await;
    observed.finish(&app, matched.as_ref().map_or("unmatched", MatchedPath::as_str), response)
}

/// A request being answered, as [`observe`] records it.
struct Observed {
    started: Instant,
    method: Method,
    request_id: String,
}

impl Observed {
    fn start(app: &App, request: &Request) -> Observed {
        Observed {
            started: Instant::now(),
            method: request.method().clone(),
            request_id: format!("{:x}", app.request_ids.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// Counts the answer to the request, logs it, and gives it the request's id.
    fn finish(self, app: &App, route: &str, mut response: Response) -> Response {
        let Observed { started, method, request_id } = self;
        let elapsed = started.elapsed();
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was never read, so the connection cannot carry another
            // request: say so, or a client that reuses it fails writing its next request.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let status = response.status().as_u16();
        app.metrics.record_request(method.as_str(), route, status, elapsed);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        match app.request_log.line(method.as_str(), route, status, started + elapsed) {
            Line::Error => {
                tracing::error!(%method, %route, status, duration_ms, request_id, "request_finished");
            }
            Line::Info { unlogged: 0 } => {
                tracing::info!(%method, %route, status, duration_ms, request_id, "request_finished");
            }
            Line::Info { unlogged } => tracing::info!(
                %method, %route, status, duration_ms, request_id, client_errors_unlogged = unlogged,
                "request_finished"
            ),
            Line::Debug => {
                tracing::debug!(%method, %route, status, duration_ms, request_id, "request_finished");
            }
            Line::Skipped => {}
        }
        response
    }
}
