//! The front door for monitoring: PagerDuty Events API v2 (`POST /v2/enqueue`), Alertmanager and
//! Grafana webhooks. Each answers as the service it imitates answers, so existing senders keep
//! working; bodies are parsed by `firebreak-ingest` and made durable by the application's ingest
//! pipeline before the `202`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use firebreak_app::alerts::{RETRY_AFTER_SECS, Refusal};
use firebreak_ingest::{alertmanager, grafana, pagerduty};
use http_body_util::LengthLimitError;
use serde_json::json;

use utoipa::OpenApi;

use crate::connections;
use crate::error::{ApiError, body_too_large};
use crate::extract::Path;
use crate::state::Shared;

/// The ingest routes, documented: they take no bearer token (the integration key says which
/// service), and answer as the services they imitate.
#[derive(OpenApi)]
#[openapi(paths(enqueue, alertmanager_webhook, grafana_webhook))]
pub(crate) struct Doc;

/// PagerDuty's Events API v2.
pub const ENQUEUE_PATH: &str = "/v2/enqueue";
/// Largest ingest request body, in bytes.
pub const INGEST_BODY_BYTES_MAX: usize = 512 * 1024;
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/ingest/alertmanager/{key}", post(alertmanager_webhook))
        .route("/api/v1/ingest/grafana/{key}", post(grafana_webhook))
        .route_layer(axum::middleware::from_fn(webhook_headers))
        .route(ENQUEUE_PATH, post(enqueue))
        // Some PagerDuty clients (`pypd`) post with a trailing slash, which PagerDuty accepts.
        .route("/v2/enqueue/", post(enqueue))
        .layer(DefaultBodyLimit::max(INGEST_BODY_BYTES_MAX))
}

/// Refuses a webhook request on its headers alone (see [`refused_by_headers`]).
async fn webhook_headers(request: Request, next: axum::middleware::Next) -> Response {
    if let Some((status, code, detail)) = refused_by_headers(request.headers()) {
        return ApiError::new(status, code, detail).into_response();
    }
    next.run(request).await
}

/// Why an ingest request is refused on its headers alone, before its body is read: a declared
/// length over [`INGEST_BODY_BYTES_MAX`], or a body that is not JSON. A request that names no media
/// type is read as JSON.
fn refused_by_headers(headers: &HeaderMap) -> Option<(StatusCode, &'static str, String)> {
    if connections::declared_too_large(headers, INGEST_BODY_BYTES_MAX) {
        return Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            body_too_large(INGEST_BODY_BYTES_MAX),
        ));
    }
    let content_type = headers.get(header::CONTENT_TYPE)?;
    let essence = content_type.to_str().ok().and_then(|value| value.split(';').next()).map(str::trim);
    let json = essence.is_some_and(|essence| {
        essence.eq_ignore_ascii_case("application/json")
            || essence.len() > 17
                && essence[..12].eq_ignore_ascii_case("application/")
                && essence[essence.len() - 5..].eq_ignore_ascii_case("+json")
    });
    if json {
        return None;
    }
    let named = String::from_utf8_lossy(content_type.as_bytes()).into_owned();
    Some((
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        format!("the body must be JSON, sent with Content-Type: application/json, not {named:?}"),
    ))
}

/// Why an ingest request's body could not be read.
fn body_rejected(err: &(dyn std::error::Error + 'static), status: StatusCode) -> ApiError {
    if let Some(timed_out) = connections::timed_out(err) {
        return timed_out;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, "body-too-large", body_too_large(INGEST_BODY_BYTES_MAX));
    }
    ApiError::new(status, "bad-request", format!("the body could not be read: {err}"))
}

/// Send an alert event as to PagerDuty's Events API v2 (`routing_key` is a service's integration
/// key; `/v2/enqueue/` is taken too). Answered as PagerDuty answers: `202 {"status": "success",
/// "message": "Event processed", "dedup_key"}`, `400 {"status": "invalid event", "message",
/// "errors"}` naming every invalid field, `429` with `Retry-After` when overloaded.
///
/// (`POST /v2/enqueue` in the router. The server answers it ahead of the router, see `serve`; the
/// route is here too, so that other methods on the path get `405`.)
#[utoipa::path(post, path = "/v2/enqueue", security(()),
    request_body(content = Object, description = "a PagerDuty Events API v2 event"),
    responses((status = 202, description = "stored: `{status, message, dedup_key}`"),
        (status = 400, description = "`{status: \"invalid event\", message, errors}`"),
        (status = 429, description = "overloaded; retry after `Retry-After` seconds")))]
async fn enqueue(State(server): State<Shared>, request: Request) -> Response {
    enqueue_request(&server, request).await
}

/// `POST /v2/enqueue`, answered exactly as PagerDuty's Events API v2 answers: the body read with
/// the ingest limit, then [`enqueue_body`].
pub(crate) async fn enqueue_request(server: &Shared, request: Request) -> Response {
    if let Some((status, _, detail)) = refused_by_headers(request.headers()) {
        return pagerduty_invalid(status, vec![detail]);
    }
    match axum::body::to_bytes(request.into_body(), INGEST_BODY_BYTES_MAX).await {
        Ok(body) => enqueue_body(server, &body).await,
        Err(err) => {
            let too_large =
                std::error::Error::source(&err).is_some_and(|source| source.is::<LengthLimitError>());
            let status = if too_large { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
            let rejected = body_rejected(&err, status);
            pagerduty_invalid(rejected.status, vec![rejected.detail])
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

fn pagerduty_invalid(status: StatusCode, errors: Vec<String>) -> Response {
    pagerduty_response(
        status,
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}),
    )
}

fn pagerduty_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Send Alertmanager's webhook (`webhook_configs`, version 4) for the service with this integration
/// key: each alert becomes an alert event. `202 {"accepted", "rejected": [reason]}` lists the
/// alerts that could not be read; the others are stored.
#[utoipa::path(post, path = "/api/v1/ingest/alertmanager/{key}", security(()),
    params(("key" = String, Path, description = "the service's integration key")),
    request_body(content = Object, description = "Alertmanager's webhook payload, version 4"),
    responses((status = 202, description = "stored: `{accepted, rejected}`"),
        (status = 429, description = "overloaded; retry after `Retry-After` seconds")))]
async fn alertmanager_webhook(
    server: State<Shared>,
    key: Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    webhook(server, key, body, alertmanager::parse).await
}

/// Send Grafana alerting's webhook contact point for the service with this integration key: as
/// Alertmanager's, with Grafana's dashboard, panel, silence and image links.
#[utoipa::path(post, path = "/api/v1/ingest/grafana/{key}", security(()),
    params(("key" = String, Path, description = "the service's integration key")),
    request_body(content = Object, description = "Grafana's webhook payload"),
    responses((status = 202, description = "stored: `{accepted, rejected}`"),
        (status = 429, description = "overloaded; retry after `Retry-After` seconds")))]
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
        Err(rejection) => return body_rejected(&rejection, rejection.status()).into_response(),
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
