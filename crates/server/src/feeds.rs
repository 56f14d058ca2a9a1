//! iCalendar feeds of schedules and users, behind secret URLs.
//!
//! Calendar applications subscribe to a URL and fetch it on their own schedule, with no way to
//! send a bearer token, so the secret travels in the URL itself: `/feeds/{token}.ics`. Creating a
//! feed URL needs an API token; fetching one needs only the URL. An unknown URL answers the same
//! 404 whatever it names, so a feed URL reveals nothing about which schedules or users exist.
//!
//! Request logs and metrics name the matched route (`/feeds/{token}`), never the path itself, so
//! the secret does not end up in logs.

use std::collections::HashMap;

use crate::ical::{self, Event};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use firebreak_api as api;
use firebreak_api::Ref;
use firebreak_domain::{Id, Schedule, Shift};
use firebreak_store::{Feed, StoreError};
use jiff::Timestamp;

use crate::App;
use crate::error::ApiError;
use crate::extract::Path;
use crate::oncall::load;
use crate::v1::user_id;

type Result<T> = std::result::Result<T, ApiError>;

/// How long calendar applications and proxies may reuse a feed. Private, because the URL is a
/// secret that shared caches should not keep.
const CACHE_CONTROL: &str = "private, max-age=300";

/// Routes under `/api/v1` that need a token.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/schedules/{id}/feed", post(create_schedule_feed))
        .route("/users/{user}/feed", post(create_user_feed))
}

/// Routes outside `/api/v1`, authenticated by the secret in their URL.
pub(crate) fn public_routes() -> Router<App> {
    // The router cannot match a parameter followed by a fixed suffix, so `.ics` is part of the
    // parameter and checked by the handler.
    Router::new().route("/feeds/{token}", get(feed))
}

/// Create or replace the secret iCalendar feed URL of a schedule. The previous URL stops working.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/feed", params(("id" = i64, Path)),
    responses((status = 201, body = api::FeedUrl), (status = 404, body = api::Problem)))]
pub(crate) async fn create_schedule_feed(
    State(app): State<App>,
    Path(id): Path<Id>,
) -> Result<(StatusCode, axum::Json<api::FeedUrl>)> {
    let token = app.store.set_schedule_feed_token(id).await?;
    Ok((StatusCode::CREATED, axum::Json(feed_url(&app, &token))))
}

/// Create or replace the secret iCalendar feed URL of a user's shifts on every schedule. The
/// previous URL stops working.
#[utoipa::path(post, path = "/api/v1/users/{user}/feed", params(("user" = String, Path, description = "id or name")),
    responses((status = 201, body = api::FeedUrl), (status = 404, body = api::Problem)))]
pub(crate) async fn create_user_feed(
    State(app): State<App>,
    Path(user): Path<String>,
) -> Result<(StatusCode, axum::Json<api::FeedUrl>)> {
    let id = user_id(&app, &Ref::parse(&user)).await?;
    let token = app.store.set_user_feed_token(id).await?;
    Ok((StatusCode::CREATED, axum::Json(feed_url(&app, &token))))
}

/// `GET /feeds/{token}.ics`: the calendar a feed token opens.
async fn feed(State(app): State<App>, Path(file): Path<String>) -> Result<Response> {
    let token = file.strip_suffix(".ics").ok_or_else(unknown_feed)?;
    let feed = app.store.feed_by_token(token).await?.ok_or_else(unknown_feed)?;
    let now = app.now();
    let (from, to) = ical::feed_window(now);
    let users: HashMap<Id, String> = app.store.users().await?.into_iter().map(|u| (u.id, u.name)).collect();
    let user_name = |id: Id| users.get(&id).cloned().unwrap_or_else(|| format!("user {id}"));
    let (name, events) = match feed {
        Feed::Schedule(id) => {
            let stored = app.store.schedule(id).await.map_err(|err| match err {
                StoreError::NotFound(_) => unknown_feed(),
                other => other.into(),
            })?;
            let schedule = load(&app, id).await?;
            let events = shifts(&schedule, from, to)?
                .iter()
                .map(|shift| {
                    Event::on_call(id, &stored.name, &schedule.time_zone, &user_name(shift.user), shift)
                })
                .collect();
            (format!("On call: {}", stored.name), events)
        }
        Feed::User(user) => {
            let mut events = Vec::new();
            for stored in app.store.schedules().await? {
                let schedule = load(&app, stored.id).await?;
                events.extend(shifts(&schedule, from, to)?.iter().filter(|shift| shift.user == user).map(
                    |shift| {
                        Event::on_call(stored.id, &stored.name, &schedule.time_zone, &user_name(user), shift)
                    },
                ));
            }
            events.sort_by_key(|event| event.start);
            (format!("On call: {}", user_name(user)), events)
        }
    };
    let body = ical::calendar(&name, &events, now);
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL)),
    ];
    Ok((headers, body).into_response())
}

fn feed_url(app: &App, token: &str) -> api::FeedUrl {
    api::FeedUrl { url: format!("{}/feeds/{token}.ics", app.public_url) }
}

/// The shifts of `schedule` in the feed window. The window is always shorter than the longest
/// range `shifts` computes, so a failure here is a bug, answered as one.
fn shifts(schedule: &Schedule, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>> {
    schedule.shifts(from, to).map_err(|err| {
        tracing::error!(error = %err, "feed_shifts_failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
    })
}

/// One answer for every URL that opens no feed: malformed, replaced, or never issued.
fn unknown_feed() -> ApiError {
    ApiError::not_found("there is no calendar feed at this address; it may have been replaced by a new one")
}
