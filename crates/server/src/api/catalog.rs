//! The catalog over HTTP: teams and their members, users, services.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use firebreak_api::{self as api, Ref};
use firebreak_app::Principal;
use firebreak_app::catalog::ServiceDetail;
use firebreak_domain::Role;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(
    create_team,
    list_teams,
    get_team,
    update_team,
    delete_team,
    list_team_members,
    add_team_member,
    remove_team_member,
    create_user,
    list_users,
    get_user,
    update_user,
    delete_user,
    create_service,
    list_services,
    get_service,
    update_service,
    delete_service,
    rotate_integration_key,
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/teams", post(create_team).get(list_teams))
        .route("/teams/{team}", get(get_team).patch(update_team).delete(delete_team))
        .route("/teams/{team}/members", get(list_team_members).post(add_team_member))
        .route("/teams/{team}/members/{user}", delete(remove_team_member))
        .route("/users", post(create_user).get(list_users))
        .route("/users/{user}", get(get_user).patch(update_user).delete(delete_user))
        .route("/services", post(create_service).get(list_services))
        .route("/services/{service}", get(get_service).patch(update_service).delete(delete_service))
        .route("/services/{service}/integration-key", post(rotate_integration_key))
}

/// A service as the API shows it, with its alert settings and escalation policy.
fn service_view(detail: ServiceDetail) -> api::Service {
    let mut view = api::Service::from(detail.service);
    view.escalation_policy_id = detail.escalation_policy_id;
    view.alert_settings = api::AlertSettings {
        group_by: detail
            .settings
            .grouping
            .by
            .iter()
            .map(|firebreak_domain::GroupBy::Label(name)| name.clone())
            .collect(),
        group_window_minutes: detail.settings.grouping.window.map(|w| w.as_secs() / 60),
        auto_resolve: detail.settings.auto_resolve,
    };
    view
}

/// Create a team.
#[utoipa::path(post, path = "/api/v1/teams", request_body = api::CreateTeam,
    responses((status = 201, body = api::Team), (status = 409, body = api::Problem, description = "name taken")))]
async fn create_team(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateTeam>,
) -> Result<(StatusCode, axum::Json<api::Team>)> {
    Ok((StatusCode::CREATED, axum::Json(server.create_team(&who, body).await?.into())))
}

/// List teams.
#[utoipa::path(get, path = "/api/v1/teams", responses((status = 200, body = Vec<api::Team>)))]
async fn list_teams(State(server): State<Shared>) -> Result<axum::Json<Vec<api::Team>>> {
    Ok(axum::Json(server.teams().await?.into_iter().map(Into::into).collect()))
}

/// Get a team by id or name.
#[utoipa::path(get, path = "/api/v1/teams/{team}", params(("team" = String, Path, description = "id or name")),
    responses((status = 200, body = api::Team), (status = 404, body = api::Problem)))]
async fn get_team(State(server): State<Shared>, Path(team): Path<String>) -> Result<axum::Json<api::Team>> {
    Ok(axum::Json(server.team(&Ref::parse(&team)).await?.into()))
}

/// Change a team.
#[utoipa::path(patch, path = "/api/v1/teams/{team}", params(("team" = String, Path, description = "id or name")),
    request_body = api::UpdateTeam,
    responses((status = 200, body = api::Team), (status = 409, body = api::Problem, description = "name taken")))]
async fn update_team(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(team): Path<String>,
    Json(body): Json<api::UpdateTeam>,
) -> Result<axum::Json<api::Team>> {
    Ok(axum::Json(server.update_team(&who, &Ref::parse(&team), body).await?.into()))
}

/// The members of a team with their roles, by name.
#[utoipa::path(get, path = "/api/v1/teams/{team}/members", params(("team" = String, Path, description = "id or name")),
    responses((status = 200, body = Vec<api::TeamMember>), (status = 404, body = api::Problem)))]
async fn list_team_members(
    State(server): State<Shared>,
    Path(team): Path<String>,
) -> Result<axum::Json<Vec<api::TeamMember>>> {
    let members = server.team_roles(&Ref::parse(&team)).await?;
    Ok(axum::Json(members.into_iter().map(|(user, role)| member_view(user, role)).collect()))
}

fn member_view(user: firebreak_domain::User, role: Role) -> api::TeamMember {
    api::TeamMember { user: user.into(), role: role.as_str().to_owned() }
}

/// Delete a team. Refused, naming them, while services belong to it or escalation policies page
/// it; its memberships go with it.
#[utoipa::path(delete, path = "/api/v1/teams/{team}", params(("team" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = api::Problem), (status = 409, body = api::Problem, description = "in use")))]
async fn delete_team(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(team): Path<String>,
) -> Result<StatusCode> {
    server.delete_team(&who, &Ref::parse(&team)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a user a member of a team with a role (`responder` by default); for the team's owners.
/// Adding a member again sets their role.
#[utoipa::path(post, path = "/api/v1/teams/{team}/members", params(("team" = String, Path, description = "id or name")),
    request_body = api::AddTeamMember,
    responses((status = 201, body = api::TeamMember), (status = 403, body = api::Problem), (status = 404, body = api::Problem),
        (status = 422, body = api::Problem)))]
async fn add_team_member(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(team): Path<String>,
    Json(body): Json<api::AddTeamMember>,
) -> Result<(StatusCode, axum::Json<api::TeamMember>)> {
    let role = match body.role.as_deref() {
        None => Role::Responder,
        Some(text) => Role::parse(text).ok_or_else(|| {
            ApiError::invalid(format!("invalid role {text:?}: use owner, responder, viewer or stakeholder"))
        })?,
    };
    let user = server.add_team_member(&who, &Ref::parse(&team), body.user_id, role).await?;
    Ok((StatusCode::CREATED, axum::Json(member_view(user, role))))
}

/// Remove a user from a team.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/members/{user}",
    params(("team" = String, Path, description = "id or name"), ("user" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = api::Problem)))]
async fn remove_team_member(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path((team, user)): Path<(String, String)>,
) -> Result<StatusCode> {
    server.remove_team_member(&who, &Ref::parse(&team), &Ref::parse(&user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", request_body = api::CreateUser,
    responses((status = 201, body = api::User), (status = 409, body = api::Problem)))]
async fn create_user(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateUser>,
) -> Result<(StatusCode, axum::Json<api::User>)> {
    Ok((StatusCode::CREATED, axum::Json(server.create_user(&who, body).await?.into())))
}

/// List users.
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<api::User>)))]
async fn list_users(State(server): State<Shared>) -> Result<axum::Json<Vec<api::User>>> {
    Ok(axum::Json(server.users().await?.into_iter().map(Into::into).collect()))
}

/// Get a user by id or name.
#[utoipa::path(get, path = "/api/v1/users/{user}", params(("user" = String, Path, description = "id or name")),
    responses((status = 200, body = api::User), (status = 404, body = api::Problem)))]
async fn get_user(State(server): State<Shared>, Path(user): Path<String>) -> Result<axum::Json<api::User>> {
    Ok(axum::Json(server.user(&Ref::parse(&user)).await?.into()))
}

/// Change a user.
#[utoipa::path(patch, path = "/api/v1/users/{user}", params(("user" = String, Path, description = "id or name")),
    request_body = api::UpdateUser,
    responses((status = 200, body = api::User), (status = 409, body = api::Problem, description = "name or email taken")))]
async fn update_user(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(user): Path<String>,
    Json(body): Json<api::UpdateUser>,
) -> Result<axum::Json<api::User>> {
    Ok(axum::Json(server.update_user(&who, &Ref::parse(&user), body).await?.into()))
}

/// Delete a user. Refused, naming them, while on-call schedules or escalation policies include
/// the user. Their contact methods, notification rules, memberships and calendar feed go;
/// incidents and timelines keep their name, marked deleted.
#[utoipa::path(delete, path = "/api/v1/users/{user}", params(("user" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = api::Problem), (status = 409, body = api::Problem, description = "in use")))]
async fn delete_user(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(user): Path<String>,
) -> Result<StatusCode> {
    server.delete_user(&who, &Ref::parse(&user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a service. The response carries its integration key, shown only this once.
#[utoipa::path(post, path = "/api/v1/services", request_body = api::CreateService,
    responses((status = 201, body = api::CreatedService), (status = 404, body = api::Problem, description = "unknown team or dependency"),
        (status = 409, body = api::Problem, description = "name taken")))]
async fn create_service(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateService>,
) -> Result<(StatusCode, axum::Json<api::CreatedService>)> {
    let (detail, integration_key) = server.create_service(&who, body).await?;
    let created = api::CreatedService { service: service_view(detail), integration_key };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// List services.
#[utoipa::path(get, path = "/api/v1/services", responses((status = 200, body = Vec<api::Service>)))]
async fn list_services(State(server): State<Shared>) -> Result<axum::Json<Vec<api::Service>>> {
    Ok(axum::Json(server.services().await?.into_iter().map(service_view).collect()))
}

/// Get a service by id or name.
#[utoipa::path(get, path = "/api/v1/services/{service}", params(("service" = String, Path, description = "id or name")),
    responses((status = 200, body = api::Service), (status = 404, body = api::Problem)))]
async fn get_service(
    State(server): State<Shared>,
    Path(service): Path<String>,
) -> Result<axum::Json<api::Service>> {
    Ok(axum::Json(service_view(server.service(&Ref::parse(&service)).await?)))
}

/// Change a service: its catalog fields, how it groups alerts and its escalation policy, all or
/// nothing.
#[utoipa::path(patch, path = "/api/v1/services/{service}", params(("service" = String, Path, description = "id or name")),
    request_body = api::UpdateService,
    responses((status = 200, body = api::Service),
        (status = 409, body = api::Problem, description = "name taken, or a dependency on the service itself")))]
async fn update_service(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(service): Path<String>,
    Json(body): Json<api::UpdateService>,
) -> Result<axum::Json<api::Service>> {
    Ok(axum::Json(service_view(server.update_service(&who, &Ref::parse(&service), body).await?)))
}

/// Delete a service. Refused, naming them, while other services depend on it or its incidents
/// are not all resolved. Its integration key stops working; its incidents, alerts and anomalies
/// stay, for history, and its name is free again.
#[utoipa::path(delete, path = "/api/v1/services/{service}", params(("service" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = api::Problem), (status = 409, body = api::Problem, description = "in use")))]
async fn delete_service(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(service): Path<String>,
) -> Result<StatusCode> {
    server.delete_service(&who, &Ref::parse(&service)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a service a new integration key, shown this once. The old key stops working: senders
/// using it are refused until they are given the new one.
#[utoipa::path(post, path = "/api/v1/services/{service}/integration-key",
    params(("service" = String, Path, description = "id or name")),
    responses((status = 201, body = api::RotatedKey)))]
async fn rotate_integration_key(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(service): Path<String>,
) -> Result<(StatusCode, axum::Json<api::RotatedKey>)> {
    let (service_id, integration_key) = server.rotate_integration_key(&who, &Ref::parse(&service)).await?;
    Ok((StatusCode::CREATED, axum::Json(api::RotatedKey { service_id, integration_key })))
}
