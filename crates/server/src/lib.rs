//! firebreak's HTTP server: the API v1, the ingest endpoints, the web UI, health and metrics,
//! authentication, configuration, startup and graceful shutdown.
//!
//! HTTP only: handlers parse a request, call the application layer (`firebreak-app`), and render
//! its answer as JSON ([`api`]) or HTML ([`ui`]). A module per capability on each side; capability
//! modules do not import each other, and what they share lives in small modules ([`error`],
//! [`extract`], [`auth`]). [`router()`] builds the whole application as an axum `Router` over a
//! [`Server`], so tests call it in-process; [`serve`] runs it on a bound listener until a shutdown
//! future completes; [`run`] is what `firebreak serve` does.

mod api;
pub mod auth;
pub mod config;
mod connections;
pub mod error;
pub mod extract;
mod markdown;
pub mod metrics;
mod observe;
mod openapi;
mod request_log;
mod router;
mod serve;
mod state;
mod ui;

pub use api::ApiDoc;
pub use api::ingest::{ENQUEUE_PATH, INGEST_BODY_BYTES_MAX};
pub use connections::{CONNECTIONS_MAX, Limits};
pub use router::router;
pub use serve::{SHUTDOWN_DRAIN_TIMEOUT, init_logging, run, serve, serve_with, shutdown_signal};
pub use state::{Server, Shared};

/// Largest request body accepted, in bytes.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;
