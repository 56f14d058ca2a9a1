//! Incidents over HTTP: declaring, listing, reading with the timeline, and moving them through
//! their lifecycle.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use firebreak_api::{self as api, IncidentQuery};
use firebreak_app::Principal;
use firebreak_app::incidents::IncidentDetail;
use firebreak_domain::{Command, Id};
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;
type Detail = axum::Json<api::IncidentDetail>;

#[derive(OpenApi)]
#[openapi(paths(
    declare_incident,
    list_incidents,
    get_incident,
    acknowledge,
    escalate,
    snooze,
    reassign,
    mitigate,
    resolve,
    add_note,
    change_severity,
    assign,
    page,
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/incidents", post(declare_incident).get(list_incidents))
        .route("/incidents/{id}", get(get_incident))
        .route("/incidents/{id}/acknowledge", post(acknowledge))
        .route("/incidents/{id}/escalate", post(escalate))
        .route("/incidents/{id}/snooze", post(snooze))
        .route("/incidents/{id}/reassign", post(reassign))
        .route("/incidents/{id}/mitigate", post(mitigate))
        .route("/incidents/{id}/resolve", post(resolve))
        .route("/incidents/{id}/notes", post(add_note))
        .route("/incidents/{id}/severity", post(change_severity))
        .route("/incidents/{id}/assign", post(assign))
        .route("/incidents/{id}/page", post(page))
}

/// Page someone by hand about an incident, now, on every contact method: a user, whoever is on
/// call in a schedule, or a level of the incident's escalation policy (a level that wakes
/// management only for SEV1 and SEV2 incidents). For responders of the incident's team.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/page", params(("id" = i64, Path)), request_body = api::PageSomeone,
    responses((status = 200, body = api::IncidentDetail), (status = 403, body = api::Problem),
        (status = 404, body = api::Problem), (status = 409, body = api::Problem, description = "nobody reached, or resolved")))]
async fn page(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::PageSomeone>,
) -> Result<Detail> {
    use firebreak_app::incidents::PageTarget;
    let target = match (body.user, body.schedule, body.policy_level) {
        (Some(user), None, None) => PageTarget::User(user),
        (None, Some(schedule), None) => PageTarget::Schedule(schedule),
        (None, None, Some(level)) => PageTarget::PolicyLevel(level),
        _ => {
            return Err(ApiError::invalid("give exactly one of user, schedule and policy_level"));
        }
    };
    Ok(detail(server.page_by_hand(&who, id, target).await?))
}

fn detail(detail: IncidentDetail) -> Detail {
    axum::Json(api::IncidentDetail {
        incident: detail.incident.into(),
        timeline: detail.timeline.into_iter().map(Into::into).collect(),
    })
}

/// Declare an incident.
#[utoipa::path(post, path = "/api/v1/incidents", request_body = api::DeclareIncident,
    responses((status = 201, body = api::IncidentDetail), (status = 404, body = api::Problem, description = "unknown service")))]
async fn declare_incident(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::DeclareIncident>,
) -> Result<(StatusCode, Detail)> {
    Ok((StatusCode::CREATED, detail(server.declare_incident(&who, body).await?)))
}

/// List incidents, newest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/incidents", params(IncidentQuery),
    responses((status = 200, body = api::IncidentPage), (status = 400, body = api::Problem),
        (status = 404, body = api::Problem, description = "unknown service or team")))]
async fn list_incidents(
    State(server): State<Shared>,
    Query(query): Query<IncidentQuery>,
) -> Result<axum::Json<api::IncidentPage>> {
    let page = server.incidents(&query).await?;
    Ok(axum::Json(api::IncidentPage {
        incidents: page.incidents.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Get an incident with its timeline.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail), (status = 404, body = api::Problem)))]
async fn get_incident(State(server): State<Shared>, Path(id): Path<Id>) -> Result<Detail> {
    Ok(detail(server.incident(id).await?))
}

/// Acknowledge a triggered incident: someone is on it.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/acknowledge", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail), (status = 409, body = api::Problem, description = "not triggered")))]
async fn acknowledge(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<Detail> {
    Ok(detail(server.act(&who, id, Command::Acknowledge).await?))
}

/// Page the next escalation level now instead of waiting for the current level's timeout.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalate", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail),
        (status = 409, body = api::Problem, description = "the incident is not being paged")))]
async fn escalate(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<Detail> {
    Ok(detail(server.escalate_now(&who, id).await?))
}

/// Snooze an acknowledged incident: it stays acknowledged for `minutes`, then is triggered again
/// and pages from the first level, unless it was resolved or mitigated by then.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/snooze", params(("id" = i64, Path)), request_body = api::Snooze,
    responses((status = 200, body = api::IncidentDetail),
        (status = 409, body = api::Problem, description = "the incident is not acknowledged"),
        (status = 422, body = api::Problem, description = "minutes out of range")))]
async fn snooze(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::Snooze>,
) -> Result<Detail> {
    Ok(detail(server.snooze(&who, id, body.minutes).await?))
}

/// Reassign an incident: the user becomes its assignee and, while it is triggered, is paged at once
/// on every contact method (a direct page, outside the escalation policy).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/reassign", params(("id" = i64, Path)), request_body = api::Reassign,
    responses((status = 200, body = api::IncidentDetail), (status = 404, body = api::Problem, description = "unknown user"),
        (status = 409, body = api::Problem, description = "the user is the assignee already")))]
async fn reassign(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::Reassign>,
) -> Result<Detail> {
    Ok(detail(server.reassign(&who, id, &body.user).await?))
}

/// Mark an incident mitigated: the impact has stopped.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/mitigate", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail), (status = 409, body = api::Problem)))]
async fn mitigate(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<Detail> {
    Ok(detail(server.act(&who, id, Command::Mitigate).await?))
}

/// Resolve an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail), (status = 409, body = api::Problem, description = "already resolved")))]
async fn resolve(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<Detail> {
    Ok(detail(server.act(&who, id, Command::Resolve).await?))
}

/// Add a note to an incident's timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", params(("id" = i64, Path)), request_body = api::AddNote,
    responses((status = 201, body = api::IncidentDetail)))]
async fn add_note(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::AddNote>,
) -> Result<(StatusCode, Detail)> {
    Ok((StatusCode::CREATED, detail(server.add_note(&who, id, &body.text).await?)))
}

/// Change an incident's severity.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/severity", params(("id" = i64, Path)), request_body = api::ChangeSeverity,
    responses((status = 200, body = api::IncidentDetail),
        (status = 409, body = api::Problem, description = "already at that severity")))]
async fn change_severity(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::ChangeSeverity>,
) -> Result<Detail> {
    Ok(detail(server.act(&who, id, Command::SetSeverity(body.severity.into())).await?))
}

/// Assign an incident, or its command, to a user (or to no one).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/assign", params(("id" = i64, Path)), request_body = api::Assign,
    responses((status = 200, body = api::IncidentDetail),
        (status = 409, body = api::Problem, description = "no change: already assigned so, or no one to unassign")))]
async fn assign(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::Assign>,
) -> Result<Detail> {
    Ok(detail(server.assign(&who, id, body.role.into(), body.user.as_ref()).await?))
}
