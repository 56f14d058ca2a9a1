//! Silences over HTTP.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use firebreak_api as api;
use firebreak_app::Principal;
use firebreak_domain::Id;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(create_silence, list_silences, get_silence, expire_silence))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/silences", post(create_silence).get(list_silences))
        .route("/silences/{id}", get(get_silence).delete(expire_silence))
}

/// Create a silence (maintenance window): matching alerts are kept but open no incident.
#[utoipa::path(post, path = "/api/v1/silences", request_body = api::CreateSilence,
    responses((status = 201, body = api::Silence), (status = 422, body = api::Problem)))]
async fn create_silence(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateSilence>,
) -> Result<(StatusCode, axum::Json<api::Silence>)> {
    Ok((StatusCode::CREATED, axum::Json(server.create_silence(&who, body).await?.into())))
}

/// Silences that have not ended yet.
#[utoipa::path(get, path = "/api/v1/silences", responses((status = 200, body = Vec<api::Silence>)))]
async fn list_silences(State(server): State<Shared>) -> Result<axum::Json<Vec<api::Silence>>> {
    Ok(axum::Json(server.silences().await?.into_iter().map(Into::into).collect()))
}

/// Get a silence.
#[utoipa::path(get, path = "/api/v1/silences/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::Silence), (status = 404, body = api::Problem)))]
async fn get_silence(State(server): State<Shared>, Path(id): Path<Id>) -> Result<axum::Json<api::Silence>> {
    Ok(axum::Json(server.silence(id).await?.into()))
}

/// End a silence now.
#[utoipa::path(delete, path = "/api/v1/silences/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::Silence), (status = 409, body = api::Problem, description = "already ended")))]
async fn expire_silence(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::Silence>> {
    Ok(axum::Json(server.expire_silence(&who, id).await?.into()))
}
