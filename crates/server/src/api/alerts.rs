//! Alerts over HTTP: the alerts of an incident and of a service. What monitoring sends arrives
//! through the ingest endpoints ([`super::ingest`]).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use firebreak_api::{self as api, Ref};
use firebreak_app::alerts::ALERTS_LISTED_MAX;
use firebreak_domain::Id;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::Path;
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(incident_alerts, service_alerts))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/incidents/{id}/alerts", get(incident_alerts))
        .route("/services/{service}/alerts", get(service_alerts))
}

/// The alerts of an incident, oldest first.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/alerts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<api::Alert>), (status = 404, body = api::Problem)))]
async fn incident_alerts(
    State(server): State<Shared>,
    Path(id): Path<Id>,
) -> Result<axum::Json<Vec<api::Alert>>> {
    Ok(axum::Json(server.incident_alerts(id, ALERTS_LISTED_MAX).await?.into_iter().map(Into::into).collect()))
}

/// The alerts of a service, newest first, silenced ones included.
#[utoipa::path(get, path = "/api/v1/services/{service}/alerts", params(("service" = String, Path, description = "id or name")),
    responses((status = 200, body = Vec<api::Alert>), (status = 404, body = api::Problem)))]
async fn service_alerts(
    State(server): State<Shared>,
    Path(service): Path<String>,
) -> Result<axum::Json<Vec<api::Alert>>> {
    let alerts = server.service_alerts(&Ref::parse(&service), ALERTS_LISTED_MAX).await?;
    Ok(axum::Json(alerts.into_iter().map(Into::into).collect()))
}
