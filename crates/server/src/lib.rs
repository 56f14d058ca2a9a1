//! firebreak's HTTP server: the API v1, the ingest endpoints, the web UI, health and metrics,
//! authentication, configuration, startup and graceful shutdown.
//!
//! HTTP only: handlers parse a request, call the application layer (`firebreak-app`), and render
//! its answer as JSON ([`api`]) or HTML ([`ui`]). A module per capability on each side; capability
//! modules do not import each other, and what they share lives in small modules ([`error`],
//! [`extract`], [`auth`]). [`router`] builds the whole application as an axum `Router` over a
//! [`Server`], so tests call it in-process; [`serve`] runs it on a bound listener until a shutdown
//! future completes; [`run`] is what `firebreak serve` does.

mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
mod markdown;
pub mod metrics;
mod observe;
mod openapi;
mod request_log;
mod serve;
mod ui;

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use firebreak_app::App;

use crate::metrics::Metrics;
use crate::request_log::RequestLog;

pub use api::ingest::{ENQUEUE_PATH, INGEST_BODY_BYTES_MAX};
pub use openapi::ApiDoc;
pub use serve::{CONNECTIONS_MAX, SHUTDOWN_DRAIN_TIMEOUT, init_logging, run, serve, shutdown_signal};

/// Largest request body accepted, in bytes.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;

/// What every handler reaches: the application, and this server's own bookkeeping (metrics, the
/// request log, request ids). Dereferences to the [`App`].
pub struct Server {
    app: App,
    metrics: Metrics,
    request_log: RequestLog,
    request_ids: AtomicU64,
}

/// The server, shared by every request.
pub type Shared = Arc<Server>;

impl Server {
    /// The HTTP server of `app`.
    pub fn new(app: App) -> Shared {
        Arc::new(Server {
            app,
            metrics: Metrics::default(),
            request_log: RequestLog::default(),
            request_ids: AtomicU64::new(1),
        })
    }

    /// The application the server serves.
    pub fn app(&self) -> &App {
        &self.app
    }
}

impl Deref for Server {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The whole application: API, ingest, web UI, health, readiness, metrics. Each capability adds
/// its routes in its module; this only assembles them.
pub fn router(server: Shared) -> Router {
    Router::new()
        .route("/healthz", get(observe::healthz))
        .route("/readyz", get(observe::readyz))
        .route("/metrics", get(observe::metrics))
        .merge(
            // Whatever reads or changes stored state sees every event answered before it.
            Router::new()
                .nest("/api/v1", api::routes(server.clone()))
                .merge(api::public_routes())
                .merge(ui::routes())
                .layer(middleware::from_fn_with_state(server.clone(), observe::settled)),
        )
        .merge(api::ingest::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn_with_state(server.clone(), observe::observe))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(server)
}
