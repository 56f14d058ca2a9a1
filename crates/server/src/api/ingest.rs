//! The front door for monitoring: PagerDuty Events API v2 (`POST /v2/enqueue`), Alertmanager and
//! Grafana webhooks. Each answers as the service it imitates answers, so existing senders keep
//! working; bodies are parsed by `firebreak-ingest` and made durable by the application's ingest
//! pipeline before the `202`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use firebreak_app::alerts::{RETRY_AFTER_SECS, Refusal};
use firebreak_ingest::{alertmanager, grafana, pagerduty};
use http_body_util::LengthLimitError;
use serde_json::json;

use crate::error::{ApiError, body_too_large};
use crate::extract::Path;
use crate::state::Shared;

/// PagerDuty's Events API v2.
pub const ENQUEUE_PATH: &str = "/v2/enqueue";
/// Largest ingest request body, in bytes.
pub const INGEST_BODY_BYTES_MAX: usize = 512 * 1024;
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(ENQUEUE_PATH, post(enqueue))
        .route("/api/v1/ingest/alertmanager/{key}", post(alertmanager_webhook))
        .route("/api/v1/ingest/grafana/{key}", post(grafana_webhook))
        .layer(DefaultBodyLimit::max(INGEST_BODY_BYTES_MAX))
}

/// `POST /v2/enqueue` in the router. The server answers it ahead of the router (see `serve`);
/// the route is here too, so that other methods on the path get `405`.
async fn enqueue(State(server): State<Shared>, request: Request) -> Response {
    enqueue_request(&server, request).await
}

/// `POST /v2/enqueue`, answered exactly as PagerDuty's Events API v2 answers: the body read with
/// the ingest limit, then [`enqueue_body`].
pub(crate) async fn enqueue_request(server: &Shared, request: Request) -> Response {
    match axum::body::to_bytes(request.into_body(), INGEST_BODY_BYTES_MAX).await {
        Ok(body) => enqueue_body(server, &body).await,
        Err(err) => {
            let too_large =
                std::error::Error::source(&err).is_some_and(|source| source.is::<LengthLimitError>());
            if too_large {
                pagerduty_invalid(StatusCode::PAYLOAD_TOO_LARGE, vec![body_too_large(INGEST_BODY_BYTES_MAX)])
            } else {
                pagerduty_invalid(
                    StatusCode::BAD_REQUEST,
                    vec![format!("Failed to buffer the request body: {err}")],
                )
            }
        }
    }
}

/// A PagerDuty event's body: parsed, its routing key resolved, and made durable.
async fn enqueue_body(server: &Shared, body: &[u8]) -> Response {
    let enqueue = match pagerduty::parse(body) {
        Ok(enqueue) => enqueue,
        Err(invalid) => {
            return pagerduty_response(
                StatusCode::BAD_REQUEST,
                json!({"status": "invalid event", "message": invalid.message, "errors": invalid.errors}),
            );
        }
    };
    let service_id = match server.service_for_integration_key(&enqueue.routing_key).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return pagerduty_invalid(
                StatusCode::BAD_REQUEST,
                vec!["'routing_key' is invalid: no service has this integration key".to_owned()],
            );
        }
        Err(err) => return ApiError::from(err).into_response(),
    };
    let mut event = enqueue.event;
    let dedup_key = event.dedup_key.get_or_insert_with(firebreak_app::alerts::new_dedup_key).clone();
    match server.submit_alerts(service_id, vec![event]).await {
        Ok(()) => {
            let processed =
                Processed { status: "success", message: "Event processed", dedup_key: &dedup_key };
            (StatusCode::ACCEPTED, axum::Json(processed)).into_response()
        }
        Err(Refusal::Busy) => {
            let mut response = pagerduty_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later."}),
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            response
        }
        Err(Refusal::Failed(err)) => ApiError::from(err).into_response(),
    }
}

/// PagerDuty's answer to an accepted event, in its field order.
#[derive(serde::Serialize)]
struct Processed<'a> {
    status: &'static str,
    message: &'static str,
    dedup_key: &'a str,
}

/// Why an ingest request's body could not be read.
fn body_rejected(rejection: &axum::extract::rejection::BytesRejection) -> String {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        body_too_large(INGEST_BODY_BYTES_MAX)
    } else {
        rejection.body_text()
    }
}

fn pagerduty_invalid(status: StatusCode, errors: Vec<String>) -> Response {
    pagerduty_response(
        status,
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}),
    )
}

fn pagerduty_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn alertmanager_webhook(
    server: State<Shared>,
    key: Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    webhook(server, key, body, alertmanager::parse).await
}

async fn grafana_webhook(
    server: State<Shared>,
    key: Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    webhook(server, key, body, grafana::parse).await
}

/// A webhook carrying many alerts: each valid one is stored, each invalid one is listed with its
/// reason in the answer.
async fn webhook(
    State(server): State<Shared>,
    Path(key): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    parse: fn(&[u8]) -> Result<alertmanager::Batch, String>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return ApiError::new(rejection.status(), "bad-request", body_rejected(&rejection))
                .into_response();
        }
    };
    let service_id = match server.service_for_integration_key(&key).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown-integration-key",
                "no service has this integration key; use the integration_key returned when the service was created",
            )
            .into_response();
        }
        Err(err) => return ApiError::from(err).into_response(),
    };
    let batch = match parse(&body) {
        Ok(batch) => batch,
        Err(message) => return ApiError::bad_request(message).into_response(),
    };
    let accepted = batch.events.len();
    match server.submit_alerts(service_id, batch.events).await {
        Ok(()) => {
            (StatusCode::ACCEPTED, axum::Json(json!({"accepted": accepted, "rejected": batch.rejected})))
                .into_response()
        }
        Err(Refusal::Busy) => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                format!("too many alerts are waiting to be stored; retry in {RETRY_AFTER_SECS} s"),
            )
            .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            response
        }
        Err(Refusal::Failed(err)) => ApiError::from(err).into_response(),
    }
}
