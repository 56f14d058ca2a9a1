//! Severity guides over HTTP, and assessing an incident with its team's guide.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use firebreak_api::{self as api, Ref};
use firebreak_app::Principal;
use firebreak_domain::Id;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(get_guide, put_guide, delete_guide, assess))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/severity-guides/{team}", get(get_guide).put(put_guide).delete(delete_guide))
        .route("/incidents/{id}/assess", post(assess))
}

/// The severity guide in force for a team: its own, or the built-in one (`source` says which).
#[utoipa::path(get, path = "/api/v1/severity-guides/{team}", params(("team" = String, Path, description = "id or name")),
    responses((status = 200, body = api::SeverityGuide), (status = 404, body = api::Problem)))]
async fn get_guide(
    State(server): State<Shared>,
    Path(team): Path<String>,
) -> Result<axum::Json<api::SeverityGuide>> {
    let (guide, source) = server.severity_guide(&Ref::parse(&team)).await?;
    Ok(axum::Json(api::SeverityGuide::from_domain(&guide, &source)))
}

/// Replace a team's severity guide; it is checked whole, and a problem names the first question or
/// rule that is wrong (an unknown question or answer, a rule that can never match, a severity no
/// answers reach).
#[utoipa::path(put, path = "/api/v1/severity-guides/{team}", params(("team" = String, Path, description = "id or name")),
    request_body = api::SeverityGuide,
    responses((status = 200, body = api::SeverityGuide), (status = 404, body = api::Problem), (status = 422, body = api::Problem)))]
async fn put_guide(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(team): Path<String>,
    Json(body): Json<api::SeverityGuide>,
) -> Result<axum::Json<api::SeverityGuide>> {
    let (guide, source) = server.put_severity_guide(&who, &Ref::parse(&team), body).await?;
    Ok(axum::Json(api::SeverityGuide::from_domain(&guide, &source)))
}

/// Forget a team's own severity guide: the built-in one is in force again.
#[utoipa::path(delete, path = "/api/v1/severity-guides/{team}", params(("team" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = api::Problem)))]
async fn delete_guide(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(team): Path<String>,
) -> Result<StatusCode> {
    server.delete_severity_guide(&who, &Ref::parse(&team)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assess an incident with its team's severity guide: the answers and the result go on the
/// timeline, set the severity, and wake whoever the result says.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/assess", params(("id" = i64, Path)), request_body = api::Assess,
    responses((status = 200, body = api::Assessment), (status = 404, body = api::Problem), (status = 422, body = api::Problem)))]
async fn assess(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::Assess>,
) -> Result<axum::Json<api::Assessment>> {
    Ok(axum::Json(server.assess(&who, id, body.answers).await?))
}
