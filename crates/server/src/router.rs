//! The whole application as one axum `Router`: each capability adds its routes in its module; this
//! only assembles them, with what wraps every request.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;

use crate::state::Shared;
use crate::{BODY_BYTES_MAX, api, connections, error, observe, ui};

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
        .merge(api::twilio::routes())
        .merge(api::heartbeats::ping_routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn_with_state(BODY_BYTES_MAX, connections::refuse_declared_too_large))
        .layer(middleware::from_fn_with_state(server.clone(), observe::observe))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(server)
}
