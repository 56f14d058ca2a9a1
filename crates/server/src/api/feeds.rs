//! Calendar feeds over HTTP: making a secret feed URL (with an API token), and fetching a feed
//! (with nothing but the URL).
//!
//! Request logs and metrics name the matched route (`/feeds/{token}`), never the path itself, so
//! the secret does not end up in logs.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use firebreak_api::{self as api, Ref};
use firebreak_app::Principal;
use firebreak_domain::Id;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::Path;
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

/// How long calendar applications and proxies may reuse a feed. Private, because the URL is a
/// secret that shared caches should not keep.
const CACHE_CONTROL: &str = "private, max-age=300";

#[derive(OpenApi)]
#[openapi(paths(create_schedule_feed, create_user_feed))]
pub(crate) struct Doc;

/// Routes under `/api/v1`, which need a token.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/schedules/{id}/feed", post(create_schedule_feed))
        .route("/users/{user}/feed", post(create_user_feed))
}

/// Routes outside `/api/v1`, authenticated by the secret in their URL.
pub(crate) fn public_routes() -> Router<Shared> {
    // The router cannot match a parameter followed by a fixed suffix, so `.ics` is part of the
    // parameter and checked by the application.
    Router::new().route("/feeds/{token}", get(feed))
}

/// Create or replace the secret iCalendar feed URL of a schedule. The previous URL stops working.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/feed", params(("id" = i64, Path)),
    responses((status = 201, body = api::FeedUrl), (status = 404, body = api::Problem)))]
async fn create_schedule_feed(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<(StatusCode, axum::Json<api::FeedUrl>)> {
    let url = server.create_schedule_feed(&who, id).await?;
    Ok((StatusCode::CREATED, axum::Json(api::FeedUrl { url })))
}

/// Create or replace the secret iCalendar feed URL of a user's shifts on every schedule. The
/// previous URL stops working.
#[utoipa::path(post, path = "/api/v1/users/{user}/feed", params(("user" = String, Path, description = "id or name")),
    responses((status = 201, body = api::FeedUrl), (status = 404, body = api::Problem)))]
async fn create_user_feed(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(user): Path<String>,
) -> Result<(StatusCode, axum::Json<api::FeedUrl>)> {
    let url = server.create_user_feed(&who, &Ref::parse(&user)).await?;
    Ok((StatusCode::CREATED, axum::Json(api::FeedUrl { url })))
}

/// `GET /feeds/{token}.ics`: the calendar a feed token opens. One answer for every URL that opens
/// no feed (malformed, replaced or never issued), so a URL says nothing about what exists.
async fn feed(State(server): State<Shared>, Path(file): Path<String>) -> Result<Response> {
    let calendar = server.feed(&file).await?.ok_or_else(|| {
        ApiError::not_found(
            "there is no calendar feed at this address; it may have been replaced by a new one",
        )
    })?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(firebreak_app::feeds::CONTENT_TYPE)),
        (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL)),
    ];
    Ok((headers, calendar).into_response())
}
