//! API v1 over HTTP: JSON in, JSON out, a module per capability. Each module has its routes and
//! the OpenAPI description of its operations; this file only puts them together: the routes behind
//! the bearer-token check, and the document ([`ApiDoc`], finished by [`crate::openapi`]).

pub(crate) mod access;
pub(crate) mod alerts;
pub(crate) mod catalog;
pub(crate) mod feeds;
pub(crate) mod guides;
pub(crate) mod heartbeats;
pub(crate) mod incidents;
pub(crate) mod ingest;
pub(crate) mod oncall;
pub(crate) mod outcomes;
pub(crate) mod paging;
pub(crate) mod signals;
pub(crate) mod silences;
pub(crate) mod twilio;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use crate::auth;
use crate::openapi;
use crate::state::Shared;

/// The OpenAPI document of API v1: `ApiDoc::openapi()`.
pub struct ApiDoc;

impl OpenApi for ApiDoc {
    fn openapi() -> utoipa::openapi::OpenApi {
        let mut doc = openapi::base();
        for (tag, part) in [
            ("access", access::Doc::openapi()),
            ("catalog", catalog::Doc::openapi()),
            ("incidents", incidents::Doc::openapi()),
            ("incidents", guides::Doc::openapi()),
            ("alerts", alerts::Doc::openapi()),
            ("silences", silences::Doc::openapi()),
            ("signals", signals::Doc::openapi()),
            ("oncall", oncall::Doc::openapi()),
            ("paging", paging::Doc::openapi()),
            ("feeds", feeds::Doc::openapi()),
            ("heartbeats", heartbeats::Doc::openapi()),
            ("outcomes", outcomes::Doc::openapi()),
            ("ingest", ingest::Doc::openapi()),
            ("ingest", heartbeats::PingDoc::openapi()),
        ] {
            doc.merge(openapi::tagged(part, tag));
        }
        openapi::finish(&mut doc);
        doc
    }
}

/// The routes under `/api/v1`: every one but the OpenAPI document needs an API token, except
/// posting outcome events, which takes the service's integration key as its bearer token.
pub(crate) fn routes(server: Shared) -> Router<Shared> {
    Router::new()
        .merge(access::routes())
        .merge(catalog::routes())
        .merge(incidents::routes())
        .merge(alerts::routes())
        .merge(silences::routes())
        .merge(signals::routes())
        .merge(oncall::routes())
        .merge(paging::routes())
        .merge(feeds::routes())
        .merge(heartbeats::routes())
        .merge(guides::routes())
        .merge(outcomes::routes())
        .route_layer(middleware::from_fn_with_state(server, auth::require_token))
        // Authenticated by a service's integration key, not an API token.
        .merge(outcomes::key_routes())
        .route("/openapi.json", get(openapi))
}

/// Routes outside `/api/v1` that are authenticated by a secret in their URL.
pub(crate) fn public_routes() -> Router<Shared> {
    feeds::public_routes()
}

async fn openapi() -> Response {
    // The document never changes while the server runs: built and serialized once.
    static JSON: std::sync::LazyLock<axum::body::Bytes> = std::sync::LazyLock::new(|| {
        ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document always serializes").into()
    });
    ([(header::CONTENT_TYPE, "application/json")], JSON.clone()).into_response()
}
