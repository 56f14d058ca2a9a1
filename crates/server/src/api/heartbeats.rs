//! Heartbeat checks over HTTP: the Healthchecks-compatible ping URLs (`/ping/…`, no token: the
//! URL says which check) and the checks' API under `/api/v1/heartbeats`.
//!
//! A job that pings Healthchecks works by changing the base URL: `/ping/{uuid}` (success),
//! `/ping/{uuid}/start`, `/fail`, `/log`, `/{exit_status}` (0–255; 0 is success), the same after
//! `/ping/{ping_key}/{slug}` (with `?create=1` to make the check), by `GET`, `HEAD` or `POST`,
//! `?rid=` pairing a start with its finish. Answers are plain text as Healthchecks gives them:
//! `OK`, `not found` (`404`), `invalid url format` (`400`), and every answer says
//! `Ping-Body-Limit`.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use firebreak_api::{self as api, Ref};
use firebreak_app::heartbeats::{PING_BODY_LIMIT, PingRequest, PingTarget, is_uuid};
use firebreak_app::{Error, Principal};
use firebreak_domain::{Id, PingKind};
use serde::Deserialize;
use utoipa::OpenApi;

use crate::auth::ClientAddress;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(
    create_heartbeat,
    list_heartbeats,
    get_heartbeat,
    update_heartbeat,
    delete_heartbeat,
    pause_heartbeat,
    resume_heartbeat
))]
pub(crate) struct Doc;

/// The ping URL, documented with the ingest routes: it takes no token and answers as Healthchecks.
#[derive(OpenApi)]
#[openapi(paths(ping_one))]
pub(crate) struct PingDoc;

/// The checks' API, behind the bearer token.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/heartbeats", post(create_heartbeat).get(list_heartbeats))
        .route("/heartbeats/{id}", get(get_heartbeat).patch(update_heartbeat).delete(delete_heartbeat))
        .route("/heartbeats/{id}/pause", post(pause_heartbeat))
        .route("/heartbeats/{id}/resume", post(resume_heartbeat))
}

/// The ping URLs, which take no token.
pub(crate) fn ping_routes() -> Router<Shared> {
    Router::new()
        .route("/ping/{first}", any(ping_one))
        .route("/ping/{first}/{second}", any(ping_two))
        .route("/ping/{first}/{second}/{third}", any(ping_three))
}

#[derive(Debug, Default, Deserialize)]
struct PingQuery {
    #[serde(default)]
    rid: String,
    #[serde(default)]
    create: String,
}

/// Ping a heartbeat check (Healthchecks-compatible). `/ping/{uuid}` reports a success; add
/// `/start`, `/fail`, `/log` or an exit status (`/0`–`/255`). `/ping/{ping_key}/{slug}` names the
/// check by its service's ping key and its slug (`?create=1` makes it). `GET`, `HEAD` and `POST`
/// are alike; a `POST` body is kept up to `Ping-Body-Limit` bytes.
#[utoipa::path(post, path = "/ping/{uuid}", params(("uuid" = String, Path), ("rid" = Option<String>, Query)),
    responses((status = 200, description = "OK"), (status = 404, description = "not found"),
        (status = 400, description = "invalid url format")))]
async fn ping_one(
    State(server): State<Shared>,
    method: Method,
    headers: HeaderMap,
    address: Option<Extension<ClientAddress>>,
    Query(query): Query<PingQuery>,
    axum::extract::Path(first): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    answer(&server, &method, &headers, &address, query, Parsed::target(&first, None, None), body).await
}

async fn ping_two(
    State(server): State<Shared>,
    method: Method,
    headers: HeaderMap,
    address: Option<Extension<ClientAddress>>,
    Query(query): Query<PingQuery>,
    axum::extract::Path((first, second)): axum::extract::Path<(String, String)>,
    body: Bytes,
) -> Response {
    answer(&server, &method, &headers, &address, query, Parsed::target(&first, Some(&second), None), body)
        .await
}

async fn ping_three(
    State(server): State<Shared>,
    method: Method,
    headers: HeaderMap,
    address: Option<Extension<ClientAddress>>,
    Query(query): Query<PingQuery>,
    axum::extract::Path((first, second, third)): axum::extract::Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let parsed = Parsed::target(&first, Some(&second), Some(&third));
    answer(&server, &method, &headers, &address, query, parsed, body).await
}

/// What a ping URL says, or why it says nothing.
enum Parsed {
    Ping { target: PingTarget, kind: PingKind, exit_status: Option<u8> },
    BadFormat,
    NotFound,
}

impl Parsed {
    /// Reads `/ping/{first}[/{second}[/{third}]]`: a UUID and an optional action, or a ping key, a
    /// slug and an optional action.
    fn target(first: &str, second: Option<&str>, third: Option<&str>) -> Parsed {
        if is_uuid(first) {
            if third.is_some() {
                return Parsed::NotFound;
            }
            return match action(second) {
                Some((kind, exit_status)) => {
                    Parsed::Ping { target: PingTarget::Id(first.to_owned()), kind, exit_status }
                }
                None => Parsed::BadFormat,
            };
        }
        let Some(slug) = second else { return Parsed::NotFound };
        match action(third) {
            Some((kind, exit_status)) => Parsed::Ping {
                target: PingTarget::Slug { key: first.to_owned(), slug: slug.to_owned(), create: false },
                kind,
                exit_status,
            },
            None => Parsed::BadFormat,
        }
    }
}

/// The kind of ping an action names (none: success), and its exit status; `None` for an action
/// that is neither a word Healthchecks knows nor an exit status from 0 to 255.
fn action(action: Option<&str>) -> Option<(PingKind, Option<u8>)> {
    match action {
        None => Some((PingKind::Success, None)),
        Some("start") => Some((PingKind::Start, None)),
        Some("fail") => Some((PingKind::Fail, None)),
        Some("log") => Some((PingKind::Log, None)),
        Some(code) if !code.is_empty() && code.len() <= 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            let status: u8 = code.parse().ok()?;
            Some((PingKind::of_exit_status(status), Some(status)))
        }
        Some(_) => None,
    }
}

async fn answer(
    server: &Shared,
    method: &Method,
    headers: &HeaderMap,
    address: &Option<Extension<ClientAddress>>,
    query: PingQuery,
    parsed: Parsed,
    body: Bytes,
) -> Response {
    let (target, kind, exit_status) = match parsed {
        Parsed::Ping { target, kind, exit_status } => (target, kind, exit_status),
        Parsed::BadFormat => return text(StatusCode::BAD_REQUEST, "invalid url format"),
        Parsed::NotFound => return text(StatusCode::NOT_FOUND, "not found"),
    };
    let target = match target {
        PingTarget::Slug { key, slug, .. } => PingTarget::Slug { key, slug, create: query.create == "1" },
        target => target,
    };
    let request = PingRequest {
        target,
        kind,
        exit_status,
        rid: query.rid,
        method: method.as_str().to_owned(),
        address: address.as_ref().map_or_else(String::new, |Extension(address)| address.0.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .map(|agent| String::from_utf8_lossy(agent.as_bytes()).into_owned())
            .unwrap_or_default(),
        body: body.to_vec(),
    };
    match server.ping(request).await {
        Ok(()) => text(StatusCode::OK, "OK"),
        Err(Error::NotFound(_)) => text(StatusCode::NOT_FOUND, "not found"),
        Err(Error::BadRequest(detail)) => text(StatusCode::BAD_REQUEST, &detail),
        Err(err) => ApiError::from(err).into_response(),
    }
}

fn text(status: StatusCode, body: &str) -> Response {
    let mut response = (status, body.to_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert("ping-body-limit", HeaderValue::from(PING_BODY_LIMIT));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// Create a heartbeat check; its `ping_url` is what the job pings.
#[utoipa::path(post, path = "/api/v1/heartbeats", request_body = api::CreateHeartbeat,
    responses((status = 201, body = api::Heartbeat), (status = 422, body = api::Problem),
        (status = 409, body = api::Problem, description = "the service has a check of that slug")))]
async fn create_heartbeat(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateHeartbeat>,
) -> Result<(StatusCode, axum::Json<api::Heartbeat>)> {
    Ok((StatusCode::CREATED, axum::Json(server.create_heartbeat(&who, body).await?.into())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ListQuery {
    /// Only this service's checks (id or name).
    service: Option<String>,
}

/// Heartbeat checks, of one service or of every service.
#[utoipa::path(get, path = "/api/v1/heartbeats", params(ListQuery),
    responses((status = 200, body = Vec<api::Heartbeat>), (status = 404, body = api::Problem)))]
async fn list_heartbeats(
    State(server): State<Shared>,
    crate::extract::Query(query): crate::extract::Query<ListQuery>,
) -> Result<axum::Json<Vec<api::Heartbeat>>> {
    let service = query.service.as_deref().map(Ref::parse);
    Ok(axum::Json(server.heartbeats(service.as_ref()).await?.into_iter().map(Into::into).collect()))
}

/// Get a heartbeat check with its last pings.
#[utoipa::path(get, path = "/api/v1/heartbeats/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::Heartbeat), (status = 404, body = api::Problem)))]
async fn get_heartbeat(
    State(server): State<Shared>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::Heartbeat>> {
    Ok(axum::Json(server.heartbeat(id).await?.into()))
}

/// Change a heartbeat check.
#[utoipa::path(patch, path = "/api/v1/heartbeats/{id}", params(("id" = i64, Path)), request_body = api::UpdateHeartbeat,
    responses((status = 200, body = api::Heartbeat), (status = 404, body = api::Problem), (status = 422, body = api::Problem)))]
async fn update_heartbeat(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::UpdateHeartbeat>,
) -> Result<axum::Json<api::Heartbeat>> {
    Ok(axum::Json(server.update_heartbeat(&who, id, body).await?.into()))
}

/// Delete a heartbeat check and its pings; its alert, if raised, is resolved.
#[utoipa::path(delete, path = "/api/v1/heartbeats/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = api::Problem)))]
async fn delete_heartbeat(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<StatusCode> {
    server.delete_heartbeat(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pause a heartbeat check: it expects nothing, and its alert is resolved, until it is resumed or
/// pinged.
#[utoipa::path(post, path = "/api/v1/heartbeats/{id}/pause", params(("id" = i64, Path)),
    responses((status = 200, body = api::Heartbeat), (status = 404, body = api::Problem)))]
async fn pause_heartbeat(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::Heartbeat>> {
    Ok(axum::Json(server.pause_heartbeat(&who, id, true).await?.into()))
}

/// Resume a paused heartbeat check: its next ping is expected a period (or the next cron run) from
/// now.
#[utoipa::path(post, path = "/api/v1/heartbeats/{id}/resume", params(("id" = i64, Path)),
    responses((status = 200, body = api::Heartbeat), (status = 404, body = api::Problem)))]
async fn resume_heartbeat(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::Heartbeat>> {
    Ok(axum::Json(server.pause_heartbeat(&who, id, false).await?.into()))
}
