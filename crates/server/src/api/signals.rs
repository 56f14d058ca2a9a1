//! Golden signals and their anomalies over HTTP.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use firebreak_api::{self as api, AnomalyQuery, Ref};
use firebreak_app::Principal;
use serde_json::json;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(set_golden_signal, list_golden_signals, push_samples, reset_samples, list_anomalies))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/services/{service}/golden-signals", get(list_golden_signals))
        .route("/services/{service}/golden-signals/{signal}", put(set_golden_signal))
        .route(
            "/services/{service}/golden-signals/{signal}/samples",
            post(push_samples).delete(reset_samples),
        )
        .route("/services/{service}/anomalies", get(list_anomalies))
}

/// Watch a golden signal of a service: a PromQL query polled every `step_seconds` (or samples
/// pushed), the direction that is bad, and whether a sustained anomaly opens an incident.
#[utoipa::path(put, path = "/api/v1/services/{service}/golden-signals/{signal}",
    params(("service" = String, Path, description = "id or name"), ("signal" = String, Path, description = "latency, traffic, errors or saturation")),
    request_body = api::SetGoldenSignal, responses((status = 200, body = api::GoldenSignal), (status = 422, body = api::Problem)))]
async fn set_golden_signal(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path((service, signal)): Path<(String, String)>,
    Json(body): Json<api::SetGoldenSignal>,
) -> Result<axum::Json<api::GoldenSignal>> {
    Ok(axum::Json(server.set_golden_signal(&who, &Ref::parse(&service), &signal, body).await?.into()))
}

/// The watched golden signals of a service.
#[utoipa::path(get, path = "/api/v1/services/{service}/golden-signals", params(("service" = String, Path, description = "id or name")),
    responses((status = 200, body = Vec<api::GoldenSignal>)))]
async fn list_golden_signals(
    State(server): State<Shared>,
    Path(service): Path<String>,
) -> Result<axum::Json<Vec<api::GoldenSignal>>> {
    let signals = server.golden_signals(&Ref::parse(&service)).await?;
    Ok(axum::Json(signals.into_iter().map(Into::into).collect()))
}

/// Push samples of a golden signal (for users without Prometheus), oldest first.
#[utoipa::path(post, path = "/api/v1/services/{service}/golden-signals/{signal}/samples",
    params(("service" = String, Path, description = "id or name"), ("signal" = String, Path)),
    request_body = api::PushSamples,
    responses((status = 202, description = "`{accepted, skipped: [{index, reason}]}`: how many samples were recorded, and why each of the others was not"),
        (status = 422, body = api::Problem, description = "too many samples, or one more than 5 minutes ahead of the server's clock")))]
async fn push_samples(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path((service, signal)): Path<(String, String)>,
    Json(body): Json<api::PushSamples>,
) -> Result<(StatusCode, axum::Json<serde_json::Value>)> {
    let observed = server.push_samples(&who, &Ref::parse(&service), &signal, body).await?;
    let skipped: Vec<serde_json::Value> =
        observed.skipped.iter().map(|(index, reason)| json!({"index": index, "reason": reason})).collect();
    Ok((StatusCode::ACCEPTED, axum::Json(json!({"accepted": observed.accepted, "skipped": skipped}))))
}

/// Forget a golden signal's samples and what was learned from them, to start over (after samples
/// pushed with a wrong clock, say). Its anomalies are kept.
#[utoipa::path(delete, path = "/api/v1/services/{service}/golden-signals/{signal}/samples",
    params(("service" = String, Path, description = "id or name"), ("signal" = String, Path)),
    responses((status = 204, description = "the signal starts over"), (status = 404, body = api::Problem)))]
async fn reset_samples(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path((service, signal)): Path<(String, String)>,
) -> Result<StatusCode> {
    server.reset_samples(&who, &Ref::parse(&service), &signal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Anomalies of a service's golden signals, oldest first; the last 24 hours by default.
#[utoipa::path(get, path = "/api/v1/services/{service}/anomalies", params(("service" = String, Path, description = "id or name"), AnomalyQuery),
    responses((status = 200, body = Vec<api::Anomaly>)))]
async fn list_anomalies(
    State(server): State<Shared>,
    Path(service): Path<String>,
    Query(query): Query<AnomalyQuery>,
) -> Result<axum::Json<Vec<api::Anomaly>>> {
    let anomalies =
        server.anomalies(&Ref::parse(&service), query.since.as_deref(), query.until.as_deref()).await?;
    Ok(axum::Json(anomalies.into_iter().map(Into::into).collect()))
}
