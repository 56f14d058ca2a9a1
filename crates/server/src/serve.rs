//! Serving: the accept loop (a bounded number of connections, see [`connections`]), the fast path
//! for PagerDuty events, graceful shutdown, and `firebreak serve` from configuration to a stopped
//! server.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use firebreak_app::{App, Options, ScaledClock, SystemClock};
use firebreak_domain::Clock;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower_service::Service;

use crate::api;
use crate::auth::ClientAddress;
use crate::config::{Config, LogFormat};
use crate::connections::{Admission, Admitted, Answering, Deadline, Limits, Socket};
use crate::observe::Observed;
use crate::router::router;
use crate::state::{Server, Shared};

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

impl Application {
    async fn respond(mut self, request: Request) -> Response {
        if request.method() == Method::POST && request.uri().path() == api::ingest::ENQUEUE_PATH {
            let observed = Observed::start(&self.server, &request);
            let response = api::ingest::enqueue_request(&self.server, request).await;
            return observed.finish(&self.server, api::ingest::ENQUEUE_PATH, response);
        }
        match self.router.call(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// [`Application`] on one connection: each request's body gets [`Limits::body_timeout`], and the
/// connection counts as busy from the request to the end of its response.
struct Connection {
    application: Application,
    /// The client's address, which requests carry as [`ClientAddress`] (for the audit log and the
    /// login throttle).
    peer: ClientAddress,
    admitted: Admitted,
    body_timeout: Duration,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Connection {
    type Response = hyper::Response<Answering>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let busy = self.admitted.busy();
        let mut request = request.map(|body| Body::new(Deadline::new(body, self.body_timeout)));
        request.extensions_mut().insert(self.peer);
        let application = self.application.clone();
        Box::pin(async move {
            let response = application.respond(request).await;
            Ok(response.map(|body| Answering { body, _busy: busy }))
        })
    }
}

/// Serves `server` on `listener` with the default [`Limits`] until `shutdown` completes, then lets
/// requests in flight finish for up to [`SHUTDOWN_DRAIN_TIMEOUT`].
pub async fn serve(
    listener: TcpListener,
    server: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, server, shutdown, Limits::default()).await
}

/// [`serve`] with `limits`.
pub async fn serve_with(
    listener: TcpListener,
    server: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    let application = Application { router: router(server.clone()), server };
    let admission = Admission::new(limits.connections_max);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.idle_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, ClientAddress(peer.ip())),
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %err, "accept_failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (admitted, evicted) = tokio::select! {
            admitted = admission.admit() => admitted,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = Connection {
            application: application.clone(),
            peer,
            admitted,
            body_timeout: limits.body_timeout,
        };
        let connection = graceful.watch(http.serve_connection(TokioIo::new(Socket::new(stream)), service));
        tokio::spawn(async move {
            tokio::select! {
                served = connection => {
                    if let Err(err) = served {
                        tracing::debug!(error = %err, "connection_failed");
                    }
                }
                _ = evicted => {}
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_DRAIN_TIMEOUT) => {
            tracing::warn!(timeout_secs = SHUTDOWN_DRAIN_TIMEOUT.as_secs(), "shutdown_drain_timed_out");
        }
    }
    Ok(())
}

/// Sets up logging in `format`, with the level from `RUST_LOG` (default `info`).
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: a log file or a collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
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
    let twilio_auth_token = config.twilio.as_ref().map(|twilio| twilio.auth_token.clone());
    let channels = firebreak_notify::Channels { smtp: config.smtp, twilio: config.twilio };
    let notifier = firebreak_notify::Notifier::new(channels).map_err(anyhow::Error::msg)?;
    let options = Options {
        public_url: config.public_url.clone(),
        prometheus_url: config.prometheus_url,
        transport: Arc::new(notifier),
        twilio_auth_token,
        oidc: config.oidc.clone(),
    };
    let app = App::start(store, clock, options).await?;
    let database = app.database().await?;
    tracing::info!(listen = %config.listen, backend = database.backend, "server_started");
    for status in app.channels().await? {
        if let Some(warning) = status.warning() {
            tracing::warn!(
                channel = status.channel.as_str(),
                contact_methods = status.contact_methods,
                "{}_not_configured: {warning}",
                status.channel.as_str()
            );
        }
    }
    if database.first_start {
        println!(
            "firebreak is running at {url}\n\n\
             Nobody can log in yet. Create the first administrator in the browser (this link works\n\
             until someone can log in, and only for this run of the server):\n\n    {setup}\n\n\
             or give an existing user a password on the database with\n\n    \
             firebreak user set-password NAME --admin --database '{db}'\n\n\
             or make an administrator's API token with\n\n    \
             firebreak token create --name admin --database '{db}'",
            url = config.public_url,
            setup = app.setup_url(),
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
