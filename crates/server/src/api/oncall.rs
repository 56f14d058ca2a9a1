//! On call over HTTP: schedules and their overrides, who is on call, shifts, escalation policies,
//! and who a service's policy would page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use firebreak_api::{self as api, AtQuery, OnCallQuery, RangeQuery, Ref};
use firebreak_app::Principal;
use firebreak_app::oncall::{policy_view, schedule_view};
use firebreak_domain::Id;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(
    create_schedule,
    list_schedules,
    get_schedule,
    update_schedule,
    delete_schedule,
    add_override,
    remove_override,
    schedule_on_call,
    schedule_shifts,
    create_policy,
    list_policies,
    get_policy,
    update_policy,
    delete_policy,
    service_on_call,
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/schedules", post(create_schedule).get(list_schedules))
        .route("/schedules/{id}", get(get_schedule).patch(update_schedule).delete(delete_schedule))
        .route("/schedules/{id}/overrides", post(add_override))
        .route("/schedules/{id}/overrides/{index}", delete(remove_override))
        .route("/schedules/{id}/oncall", get(schedule_on_call))
        .route("/schedules/{id}/shifts", get(schedule_shifts))
        .route("/escalation-policies", post(create_policy).get(list_policies))
        .route("/escalation-policies/{id}", get(get_policy).patch(update_policy).delete(delete_policy))
        .route("/oncall", get(service_on_call))
}

/// Create an on-call schedule.
#[utoipa::path(post, path = "/api/v1/schedules", request_body = api::CreateSchedule,
    responses((status = 201, body = api::Schedule), (status = 422, body = api::Problem),
        (status = 404, body = api::Problem, description = "a user named in a layer or override does not exist"),
        (status = 409, body = api::Problem, description = "name taken")))]
async fn create_schedule(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateSchedule>,
) -> Result<(StatusCode, axum::Json<api::Schedule>)> {
    Ok((StatusCode::CREATED, axum::Json(schedule_view(server.create_schedule(&who, body).await?))))
}

/// List schedules.
#[utoipa::path(get, path = "/api/v1/schedules", responses((status = 200, body = Vec<api::Schedule>)))]
async fn list_schedules(State(server): State<Shared>) -> Result<axum::Json<Vec<api::Schedule>>> {
    Ok(axum::Json(server.schedules().await?.into_iter().map(schedule_view).collect()))
}

/// Get a schedule.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::Schedule), (status = 404, body = api::Problem)))]
async fn get_schedule(State(server): State<Shared>, Path(id): Path<Id>) -> Result<axum::Json<api::Schedule>> {
    Ok(axum::Json(schedule_view(server.schedule(id).await?)))
}

/// Change a schedule: each field given (name, time zone, layers, overrides) replaces what it has.
#[utoipa::path(patch, path = "/api/v1/schedules/{id}", params(("id" = i64, Path)), request_body = api::UpdateSchedule,
    responses((status = 200, body = api::Schedule), (status = 409, body = api::Problem, description = "name taken")))]
async fn update_schedule(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::UpdateSchedule>,
) -> Result<axum::Json<api::Schedule>> {
    Ok(axum::Json(schedule_view(server.update_schedule(&who, id, body).await?)))
}

/// Delete a schedule that no escalation policy targets.
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"),
        (status = 409, body = api::Problem, description = "escalation policies target it; `detail` names them")))]
async fn delete_schedule(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<StatusCode> {
    server.delete_schedule(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove an override, by its position in the schedule's `overrides` (from 0).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}/overrides/{index}",
    params(("id" = i64, Path), ("index" = usize, Path, description = "position in `overrides`, from 0")),
    responses((status = 200, body = api::Schedule)))]
async fn remove_override(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path((id, index)): Path<(Id, usize)>,
) -> Result<axum::Json<api::Schedule>> {
    Ok(axum::Json(schedule_view(server.remove_override(&who, id, index).await?)))
}

/// Add an override: someone covers the schedule from `start` to `end`.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/overrides", params(("id" = i64, Path)), request_body = api::Override,
    responses((status = 201, body = api::Schedule), (status = 422, body = api::Problem)))]
async fn add_override(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::Override>,
) -> Result<(StatusCode, axum::Json<api::Schedule>)> {
    Ok((StatusCode::CREATED, axum::Json(schedule_view(server.add_override(&who, id, body).await?))))
}

/// Who is on call for a schedule at an instant.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/oncall", params(("id" = i64, Path), AtQuery),
    responses((status = 200, body = api::OnCall), (status = 404, body = api::Problem)))]
async fn schedule_on_call(
    State(server): State<Shared>,
    Path(id): Path<Id>,
    Query(query): Query<AtQuery>,
) -> Result<axum::Json<api::OnCall>> {
    let (at, user) = server.on_call(id, query.at.as_deref()).await?;
    Ok(axum::Json(api::OnCall { schedule_id: id, at, user: user.map(Into::into) }))
}

/// The final shifts of a schedule between two instants, after layers and overrides.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/shifts", params(("id" = i64, Path), RangeQuery),
    responses((status = 200, body = Vec<api::Shift>), (status = 400, body = api::Problem)))]
async fn schedule_shifts(
    State(server): State<Shared>,
    Path(id): Path<Id>,
    Query(query): Query<RangeQuery>,
) -> Result<axum::Json<Vec<api::Shift>>> {
    let shifts = server.shifts(id, &query.from, &query.to).await?;
    Ok(axum::Json(
        shifts
            .into_iter()
            .map(|(shift, user_name)| api::Shift {
                user_id: shift.user,
                user_name,
                start: shift.start,
                end: shift.end,
            })
            .collect(),
    ))
}

/// Create an escalation policy.
#[utoipa::path(post, path = "/api/v1/escalation-policies", request_body = api::CreateEscalationPolicy,
    responses((status = 201, body = api::EscalationPolicy), (status = 422, body = api::Problem)))]
async fn create_policy(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateEscalationPolicy>,
) -> Result<(StatusCode, axum::Json<api::EscalationPolicy>)> {
    Ok((StatusCode::CREATED, axum::Json(policy_view(server.create_policy(&who, body).await?))))
}

/// List escalation policies.
#[utoipa::path(get, path = "/api/v1/escalation-policies", responses((status = 200, body = Vec<api::EscalationPolicy>)))]
async fn list_policies(State(server): State<Shared>) -> Result<axum::Json<Vec<api::EscalationPolicy>>> {
    Ok(axum::Json(server.policies().await?.into_iter().map(policy_view).collect()))
}

/// Get an escalation policy.
#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::EscalationPolicy), (status = 404, body = api::Problem)))]
async fn get_policy(
    State(server): State<Shared>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::EscalationPolicy>> {
    Ok(axum::Json(policy_view(server.policy(id).await?)))
}

/// Change an escalation policy: each field given replaces what it has. Incidents paging through it
/// follow the new levels from their next step.
#[utoipa::path(patch, path = "/api/v1/escalation-policies/{id}", params(("id" = i64, Path)),
    request_body = api::UpdateEscalationPolicy,
    responses((status = 200, body = api::EscalationPolicy), (status = 409, body = api::Problem, description = "name taken")))]
async fn update_policy(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::UpdateEscalationPolicy>,
) -> Result<axum::Json<api::EscalationPolicy>> {
    Ok(axum::Json(policy_view(server.update_policy(&who, id, body).await?)))
}

/// Delete an escalation policy that no service uses and no unresolved incident is paging through.
#[utoipa::path(delete, path = "/api/v1/escalation-policies/{id}", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"),
        (status = 409, body = api::Problem, description = "services use it, or incidents are paging through it; `detail` names them")))]
async fn delete_policy(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<StatusCode> {
    server.delete_policy(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who a service's escalation policy would page, level by level, at an instant.
#[utoipa::path(get, path = "/api/v1/oncall", params(OnCallQuery),
    responses((status = 200, body = api::ServiceOnCall), (status = 404, body = api::Problem)))]
async fn service_on_call(
    State(server): State<Shared>,
    Query(query): Query<OnCallQuery>,
) -> Result<axum::Json<api::ServiceOnCall>> {
    let on_call = server.service_on_call(&Ref::parse(&query.service), query.at.as_deref()).await?;
    Ok(axum::Json(api::ServiceOnCall {
        service_id: on_call.service_id,
        escalation_policy_id: on_call.escalation_policy_id,
        at: on_call.at,
        levels: on_call
            .levels
            .into_iter()
            .enumerate()
            .map(|(index, (timeout, users))| api::LevelOnCall {
                level: index as u32 + 1,
                timeout_minutes: timeout.as_secs() / 60,
                users: users.into_iter().map(Into::into).collect(),
            })
            .collect(),
    }))
}
