//! Serving: the listener (a bounded number of connections), the fast path for PagerDuty events,
//! graceful shutdown, and `firebreak serve` from configuration to a stopped server.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use axum::{Router, ServiceExt};
use firebreak_app::{App, Options, ScaledClock, SystemClock, alerts};
use firebreak_domain::Clock;
use tokio::net::TcpListener;

use crate::api;
use crate::config::{Config, LogFormat};
use crate::observe::Observed;
use crate::router::router;
use crate::state::{Server, Shared};

/// Most connections served at once; more wait in the kernel's accept queue, costing no memory here.
/// One request of each may wait for the ingest writer, which queues exactly this many.
pub const CONNECTIONS_MAX: usize = alerts::QUEUE_REQUESTS_MAX;
/// Longest time shutdown waits for requests in flight before closing anyway, and then for the
/// application's workers.
pub const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What [`serve`] answers with: [`router`], except that `POST /v2/enqueue`, which monitoring
/// sends thousands of times a second, goes straight to its handler instead of through the
/// router's layers (each of which clones and boxes per request). It is observed as every other
/// request is.
#[derive(Clone)]
struct Application {
    server: Shared,
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
        if request.method() == Method::POST && request.uri().path() == api::ingest::ENQUEUE_PATH {
            let server = self.server.clone();
            return Box::pin(async move {
                let observed = Observed::start(&server, &request);
                let response = api::ingest::enqueue_request(&server, request).await;
                Ok(observed.finish(&server, api::ingest::ENQUEUE_PATH, response))
            });
        }
        Box::pin(self.router.call(request))
    }
}

/// Serves `server` on `listener` until `shutdown` completes, then lets requests in flight finish
/// for up to [`SHUTDOWN_DRAIN_TIMEOUT`].
pub async fn serve(
    listener: TcpListener,
    server: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let listener = LimitedListener::new(listener, CONNECTIONS_MAX);
    let application = Application { router: router(server.clone()), server };
    let serving = axum::serve(listener, application.into_make_service()).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let drain_deadline = async move {
        let mut stop_rx = stop_rx;
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(SHUTDOWN_DRAIN_TIMEOUT).await;
    };
    tokio::select! {
        result = serving => result,
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
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
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
/// first start, serves until SIGINT or SIGTERM, then stops the application's workers.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = App::open_store(&config.database_url).await?;
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
    let clock: Arc<dyn Clock> = match ScaledClock::from_env()? {
        Some(scaled) => {
            tracing::warn!(?scaled, "clock_scaled");
            Arc::new(scaled)
        }
        None => Arc::new(SystemClock),
    };
    let notifier = firebreak_notify::Notifier::new(config.smtp).map_err(anyhow::Error::msg)?;
    let options = Options {
        public_url: config.public_url.clone(),
        prometheus_url: config.prometheus_url,
        transport: Arc::new(notifier),
    };
    let app = App::start(store, clock, options).await?;
    let database = app.database().await?;
    tracing::info!(listen = %config.listen, backend = database.backend, "server_started");
    if database.first_start {
        println!(
            "firebreak is running at {url}\n\n\
             No API tokens exist yet. Create one (the server may keep running) with:\n\n    \
             firebreak token create --name admin --database '{db}'\n\n\
             then open {url} and log in with it, or call the API with Authorization: Bearer <token>.",
            url = config.public_url,
            db = firebreak_app::redact_url(&config.database_url),
        );
    }
    serve(listener, Server::new(app.clone()), shutdown_signal()).await.context("serving HTTP")?;
    // What was accepted should be in the database when the server has stopped (for a backup, say);
    // what is not yet is applied at the next start.
    app.shutdown(SHUTDOWN_DRAIN_TIMEOUT).await;
    app.close().await;
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
