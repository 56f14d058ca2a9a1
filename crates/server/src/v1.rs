//! The HTTP API v1: teams, users, services and incidents, and its OpenAPI document.
//!
//! Handlers validate input, resolve references (an id or a name) and call the store; they hold no
//! domain rules of their own. Every route except the OpenAPI document needs a bearer token.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use firebreak_api as api;
use firebreak_api::Ref;
use firebreak_domain::{self as domain, Command, Id};
use firebreak_store::{IncidentFilter, NewService, NewTeam, NewUser, ServicePatch, TeamPatch, UserPatch};
use serde::Deserialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};

use crate::App;
use crate::auth::{Actor, bearer};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};

/// Longest service or team description accepted.
pub(crate) const DESCRIPTION_CHARS_MAX: usize = 2_000;
/// Longest documentation or runbook accepted.
pub(crate) const MARKDOWN_CHARS_MAX: usize = 200_000;
/// Most links and dependencies a service may have.
pub(crate) const LIST_ITEMS_MAX: usize = 100;

#[derive(OpenApi)]
#[openapi(
    info(title = "firebreak API", description = "Incident response: services, incidents and their timelines."),
    paths(
        create_team, list_teams, get_team, update_team, list_team_members, add_team_member,
        remove_team_member,
        create_user, list_users, get_user, update_user,
        create_service, list_services, get_service, update_service, service_alerts,
        declare_incident, list_incidents, get_incident, incident_alerts,
        create_silence, list_silences, get_silence, expire_silence,
        set_golden_signal, list_golden_signals, push_samples, list_anomalies,
        crate::oncall::create_schedule, crate::oncall::list_schedules, crate::oncall::get_schedule,
        crate::oncall::add_override, crate::oncall::schedule_on_call, crate::oncall::schedule_shifts,
        crate::oncall::create_policy, crate::oncall::list_policies, crate::oncall::get_policy,
        crate::oncall::service_on_call,
        crate::feeds::create_schedule_feed, crate::feeds::create_user_feed,
        crate::paging::create_contact_method, crate::paging::list_contact_methods,
        crate::paging::delete_contact_method, crate::paging::incident_notifications,
        crate::paging::incident_escalation,
        acknowledge, mitigate, resolve, add_note, change_severity, assign,
    ),
    modifiers(&BearerAuth, &Problems),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Documents the problems any operation may answer with besides its own responses (a missing token,
/// a malformed parameter or body, an unknown id, an unavailable database), and gives every error
/// response the content type it is sent with, `application/problem+json`.
struct Problems;

impl Problems {
    /// Answers every operation may give.
    const ALWAYS: [(u16, &str); 3] = [
        (400, "A path or query parameter, or the JSON body, is malformed; `detail` says which."),
        (401, "No bearer token, or one that is unknown or revoked."),
        (503, "The database is unavailable; retry later."),
    ];
    /// Answers of operations with a path parameter.
    const WITH_PATH: [(u16, &str); 1] = [(404, "Nothing has this id or name.")];
    /// Answers of operations that take a body.
    const WITH_BODY: [(u16, &str); 3] = [
        (413, "The body is larger than the limit; `detail` gives it."),
        (415, "The body is not sent with `Content-Type: application/json`."),
        (422, "A field is invalid; `detail` names it and says what is allowed."),
    ];
}

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let has_path = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|parameter| parameter.parameter_in == ParameterIn::Path);
                let mut answers = Problems::ALWAYS.to_vec();
                if has_path {
                    answers.extend(Problems::WITH_PATH);
                }
                if operation.request_body.is_some() {
                    answers.extend(Problems::WITH_BODY);
                }
                let responses = &mut operation.responses.responses;
                for (status, description) in answers {
                    responses.entry(status.to_string()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                crate::error::PROBLEM_JSON,
                                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                            )
                            .into()
                    });
                }
                for (status, response) in responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    if !status.starts_with(['4', '5']) {
                        continue;
                    }
                    if let Some(content) = response.content.shift_remove("application/json") {
                        response.content.insert(crate::error::PROBLEM_JSON.to_owned(), content);
                    }
                }
            }
        }
    }
}

pub(crate) fn routes(app: App) -> Router<App> {
    Router::new()
        .route("/teams", post(create_team).get(list_teams))
        .route("/teams/{team}", get(get_team).patch(update_team))
        .route("/teams/{team}/members", get(list_team_members).post(add_team_member))
        .route("/teams/{team}/members/{user}", axum::routing::delete(remove_team_member))
        .route("/users", post(create_user).get(list_users))
        .route("/users/{user}", get(get_user).patch(update_user))
        .route("/services", post(create_service).get(list_services))
        .route("/services/{service}", get(get_service).patch(update_service))
        .route("/incidents", post(declare_incident).get(list_incidents))
        .route("/incidents/{id}", get(get_incident))
        .route("/incidents/{id}/acknowledge", post(acknowledge))
        .route("/incidents/{id}/mitigate", post(mitigate))
        .route("/incidents/{id}/resolve", post(resolve))
        .route("/incidents/{id}/notes", post(add_note))
        .route("/incidents/{id}/severity", post(change_severity))
        .route("/incidents/{id}/assign", post(assign))
        .route("/incidents/{id}/alerts", get(incident_alerts))
        .route("/services/{service}/alerts", get(service_alerts))
        .route("/silences", post(create_silence).get(list_silences))
        .route("/silences/{id}", get(get_silence).delete(expire_silence))
        .route("/services/{service}/golden-signals", get(list_golden_signals))
        .route("/services/{service}/golden-signals/{signal}", axum::routing::put(set_golden_signal))
        .route("/services/{service}/golden-signals/{signal}/samples", post(push_samples))
        .route("/services/{service}/anomalies", get(list_anomalies))
        .merge(crate::oncall::routes())
        .merge(crate::feeds::routes())
        .merge(crate::paging::routes())
        .route_layer(middleware::from_fn_with_state(app, require_token))
        .route("/openapi.json", get(openapi))
}

async fn require_token(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).map(|value| value.to_str().unwrap_or(""));
    let actor = match bearer(header) {
        Ok(token) => app.tokens.check(&app.store, token).await,
        Err(err) => Err(err),
    };
    match actor {
        Ok(actor) => {
            request.extensions_mut().insert(actor);
            next.run(request).await
        }
        Err(err) => err.into_response(),
    }
}

async fn openapi() -> Response {
    // The document never changes while the server runs: built and serialized once.
    static JSON: std::sync::LazyLock<axum::body::Bytes> = std::sync::LazyLock::new(|| {
        ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document always serializes").into()
    });
    ([(header::CONTENT_TYPE, "application/json")], JSON.clone()).into_response()
}

type Result<T> = std::result::Result<T, ApiError>;

// ---- Teams ----

/// Create a team.
#[utoipa::path(post, path = "/api/v1/teams", request_body = api::CreateTeam,
    responses((status = 201, body = api::Team), (status = 409, body = api::Problem, description = "name taken")))]
async fn create_team(
    State(app): State<App>,
    Json(body): Json<api::CreateTeam>,
) -> Result<(StatusCode, axum::Json<api::Team>)> {
    let team = NewTeam {
        name: name(&body.name)?,
        description: text("description", &body.description, DESCRIPTION_CHARS_MAX)?,
    };
    let team = app.store.create_team(&team, app.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(team.into())))
}

/// List teams.
#[utoipa::path(get, path = "/api/v1/teams", responses((status = 200, body = Vec<api::Team>)))]
async fn list_teams(State(app): State<App>) -> Result<axum::Json<Vec<api::Team>>> {
    Ok(axum::Json(app.store.teams().await?.into_iter().map(Into::into).collect()))
}

/// Get a team by id or name.
#[utoipa::path(get, path = "/api/v1/teams/{team}", params(("team" = String, Path, description = "id or name")),
    responses((status = 200, body = api::Team), (status = 404, body = api::Problem)))]
async fn get_team(State(app): State<App>, Path(team): Path<String>) -> Result<axum::Json<api::Team>> {
    let id = team_id(&app, &Ref::parse(&team)).await?;
    Ok(axum::Json(app.store.team(id).await?.into()))
}

/// Change a team.
#[utoipa::path(patch, path = "/api/v1/teams/{team}", params(("team" = String, Path, description = "id or name")),
    request_body = api::UpdateTeam,
    responses((status = 200, body = api::Team), (status = 409, body = api::Problem, description = "name taken")))]
async fn update_team(
    State(app): State<App>,
    Path(team): Path<String>,
    Json(body): Json<api::UpdateTeam>,
) -> Result<axum::Json<api::Team>> {
    let id = team_id(&app, &Ref::parse(&team)).await?;
    let patch = TeamPatch {
        name: body.name.as_deref().map(name).transpose()?,
        description: body
            .description
            .as_deref()
            .map(|d| text("description", d, DESCRIPTION_CHARS_MAX))
            .transpose()?,
    };
    Ok(axum::Json(app.store.update_team(id, &patch).await?.into()))
}

/// The members of a team, by name.
#[utoipa::path(get, path = "/api/v1/teams/{team}/members", params(("team" = String, Path, description = "id or name")),
    responses((status = 200, body = Vec<api::User>), (status = 404, body = api::Problem)))]
async fn list_team_members(
    State(app): State<App>,
    Path(team): Path<String>,
) -> Result<axum::Json<Vec<api::User>>> {
    let id = team_id(&app, &Ref::parse(&team)).await?;
    Ok(axum::Json(app.store.team_members(id).await?.1.into_iter().map(Into::into).collect()))
}

/// Make a user a member of a team. Adding a member again changes nothing.
#[utoipa::path(post, path = "/api/v1/teams/{team}/members", params(("team" = String, Path, description = "id or name")),
    request_body = api::AddTeamMember,
    responses((status = 201, body = api::User), (status = 404, body = api::Problem)))]
async fn add_team_member(
    State(app): State<App>,
    Path(team): Path<String>,
    Json(body): Json<api::AddTeamMember>,
) -> Result<(StatusCode, axum::Json<api::User>)> {
    let id = team_id(&app, &Ref::parse(&team)).await?;
    app.store.add_team_member(id, body.user_id, app.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(app.store.user(body.user_id).await?.into())))
}

/// Remove a user from a team.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/members/{user}",
    params(("team" = String, Path, description = "id or name"), ("user" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = api::Problem)))]
async fn remove_team_member(
    State(app): State<App>,
    Path((team, user)): Path<(String, String)>,
) -> Result<StatusCode> {
    let team = team_id(&app, &Ref::parse(&team)).await?;
    let user = user_id(&app, &Ref::parse(&user)).await?;
    app.store.remove_team_member(team, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- Users ----

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", request_body = api::CreateUser,
    responses((status = 201, body = api::User), (status = 409, body = api::Problem)))]
async fn create_user(
    State(app): State<App>,
    Json(body): Json<api::CreateUser>,
) -> Result<(StatusCode, axum::Json<api::User>)> {
    let user = NewUser {
        name: name(&body.name)?,
        email: email(&body.email)?,
        time_zone: time_zone(body.time_zone.as_deref().unwrap_or("UTC"))?,
    };
    let user = app.store.create_user(&user, app.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// List users.
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<api::User>)))]
async fn list_users(State(app): State<App>) -> Result<axum::Json<Vec<api::User>>> {
    Ok(axum::Json(app.store.users().await?.into_iter().map(Into::into).collect()))
}

/// Get a user by id or name.
#[utoipa::path(get, path = "/api/v1/users/{user}", params(("user" = String, Path, description = "id or name")),
    responses((status = 200, body = api::User), (status = 404, body = api::Problem)))]
async fn get_user(State(app): State<App>, Path(user): Path<String>) -> Result<axum::Json<api::User>> {
    let id = user_id(&app, &Ref::parse(&user)).await?;
    Ok(axum::Json(app.store.user(id).await?.into()))
}

/// Change a user.
#[utoipa::path(patch, path = "/api/v1/users/{user}", params(("user" = String, Path, description = "id or name")),
    request_body = api::UpdateUser,
    responses((status = 200, body = api::User), (status = 409, body = api::Problem, description = "name or email taken")))]
async fn update_user(
    State(app): State<App>,
    Path(user): Path<String>,
    Json(body): Json<api::UpdateUser>,
) -> Result<axum::Json<api::User>> {
    let id = user_id(&app, &Ref::parse(&user)).await?;
    let patch = UserPatch {
        name: body.name.as_deref().map(name).transpose()?,
        email: body.email.as_deref().map(email).transpose()?,
        time_zone: body.time_zone.as_deref().map(time_zone).transpose()?,
    };
    Ok(axum::Json(app.store.update_user(id, &patch).await?.into()))
}

// ---- Services ----

/// Create a service. The response carries its integration key, shown only this once.
#[utoipa::path(post, path = "/api/v1/services", request_body = api::CreateService,
    responses((status = 201, body = api::CreatedService), (status = 404, body = api::Problem, description = "unknown team or dependency"),
        (status = 409, body = api::Problem, description = "name taken")))]
async fn create_service(
    State(app): State<App>,
    Json(body): Json<api::CreateService>,
) -> Result<(StatusCode, axum::Json<api::CreatedService>)> {
    let service = NewService {
        name: name(&body.name)?,
        team_id: team_id(&app, &body.team).await?,
        description: text("description", &body.description, DESCRIPTION_CHARS_MAX)?,
        documentation: text("documentation", &body.documentation, MARKDOWN_CHARS_MAX)?,
        runbook: text("runbook", &body.runbook, MARKDOWN_CHARS_MAX)?,
        links: links(body.links)?,
        dependencies: service_ids(&app, &body.dependencies).await?,
    };
    let (service, integration_key) = app.store.create_service(&service, app.now()).await?;
    let service = service_view(&app, service).await?;
    Ok((StatusCode::CREATED, axum::Json(api::CreatedService { service, integration_key })))
}

/// List services.
#[utoipa::path(get, path = "/api/v1/services", responses((status = 200, body = Vec<api::Service>)))]
async fn list_services(State(app): State<App>) -> Result<axum::Json<Vec<api::Service>>> {
    let services = app.store.services().await?;
    let mut settings = app.store.services_settings().await?;
    let mut views = Vec::with_capacity(services.len());
    for service in services {
        views.push(match settings.remove(&service.id) {
            Some((alert_settings, policy)) => view_of(service, &alert_settings, policy),
            // Created between the two reads.
            None => service_view(&app, service).await?,
        });
    }
    Ok(axum::Json(views))
}

/// Get a service by id or name.
#[utoipa::path(get, path = "/api/v1/services/{service}", params(("service" = String, Path, description = "id or name")),
    responses((status = 200, body = api::Service), (status = 404, body = api::Problem)))]
async fn get_service(
    State(app): State<App>,
    Path(service): Path<String>,
) -> Result<axum::Json<api::Service>> {
    let id = service_id(&app, &Ref::parse(&service)).await?;
    Ok(axum::Json(service_view(&app, app.store.service(id).await?).await?))
}

/// Change a service.
#[utoipa::path(patch, path = "/api/v1/services/{service}", params(("service" = String, Path, description = "id or name")),
    request_body = api::UpdateService,
    responses((status = 200, body = api::Service),
        (status = 409, body = api::Problem, description = "name taken, or a dependency on the service itself")))]
async fn update_service(
    State(app): State<App>,
    Path(service): Path<String>,
    Json(body): Json<api::UpdateService>,
) -> Result<axum::Json<api::Service>> {
    let id = service_id(&app, &Ref::parse(&service)).await?;
    let patch = ServicePatch {
        name: body.name.as_deref().map(name).transpose()?,
        team_id: match &body.team {
            Some(team) => Some(team_id(&app, team).await?),
            None => None,
        },
        description: body
            .description
            .as_deref()
            .map(|d| text("description", d, DESCRIPTION_CHARS_MAX))
            .transpose()?,
        documentation: body
            .documentation
            .as_deref()
            .map(|d| text("documentation", d, MARKDOWN_CHARS_MAX))
            .transpose()?,
        runbook: body.runbook.as_deref().map(|d| text("runbook", d, MARKDOWN_CHARS_MAX)).transpose()?,
        links: body.links.map(links).transpose()?,
        dependencies: match &body.dependencies {
            Some(refs) => Some(service_ids(&app, refs).await?),
            None => None,
        },
    };
    let alert_changes =
        body.group_by.is_some() || body.group_window_minutes.is_some() || body.auto_resolve.is_some();
    let mut settings = app.store.alert_settings(id).await?;
    if let Some(labels) = body.group_by {
        if labels.len() > LIST_ITEMS_MAX
            || labels.iter().any(|l| l.is_empty() || l.len() > domain::LABEL_CHARS_MAX)
        {
            return Err(ApiError::invalid(format!(
                "group_by takes at most {LIST_ITEMS_MAX} label names, each 1 to {} characters",
                domain::LABEL_CHARS_MAX
            )));
        }
        settings.grouping.by = labels.into_iter().map(domain::GroupBy::Label).collect();
    }
    if let Some(minutes) = body.group_window_minutes {
        if !(0..=525_600).contains(&minutes) {
            return Err(ApiError::invalid("group_window_minutes must be between 0 (no window) and 525600"));
        }
        settings.grouping.window = (minutes > 0).then(|| jiff::SignedDuration::from_mins(minutes));
    }
    if let Some(auto_resolve) = body.auto_resolve {
        settings.auto_resolve = auto_resolve;
    }
    if let Some(policy) = body.escalation_policy {
        app.store.set_service_escalation_policy(id, policy).await?;
    }
    let service = app.store.update_service(id, &patch).await?;
    if alert_changes {
        app.store.set_alert_settings(id, &settings).await?;
    }
    Ok(axum::Json(service_view(&app, service).await?))
}

// ---- Incidents ----

/// Declare an incident.
#[utoipa::path(post, path = "/api/v1/incidents", request_body = api::DeclareIncident,
    responses((status = 201, body = api::IncidentDetail), (status = 404, body = api::Problem, description = "unknown service")))]
async fn declare_incident(
    State(app): State<App>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<api::DeclareIncident>,
) -> Result<(StatusCode, axum::Json<api::IncidentDetail>)> {
    let new = domain::NewIncident {
        title: domain::validate_title(&body.title).map_err(ApiError::invalid)?.to_owned(),
        service_id: service_id(&app, &body.service).await?,
        severity: body.severity.unwrap_or(api::Severity::Sev3).into(),
        kind: body.kind.unwrap_or(api::Kind::Unknown).into(),
    };
    let incident = app.store.create_incident(&new, &actor.0, app.now()).await?;
    app.pager.wake();
    Ok((StatusCode::CREATED, axum::Json(detail(&app, incident).await?)))
}

/// Filters of the incident list. Lists are comma-separated; a filter left out matches everything.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct IncidentQuery {
    /// Statuses, such as `triggered,acknowledged`; `open` means all but `resolved`, `all` every one.
    pub(crate) status: Option<String>,
    /// Service id or name.
    pub(crate) service: Option<String>,
    /// Owner team id or name.
    pub(crate) team: Option<String>,
    /// Severities, such as `SEV1,SEV2`.
    pub(crate) severity: Option<String>,
    /// Kinds, such as `signal,exception`.
    pub(crate) kind: Option<String>,
    /// Declared at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub(crate) since: Option<String>,
    /// Declared before this instant (RFC 3339).
    #[param(format = DateTime)]
    pub(crate) until: Option<String>,
    /// `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
    /// Page size, at most 500; 50 when left out.
    #[param(minimum = 1, maximum = 500)]
    pub(crate) limit: Option<u32>,
}

/// List incidents, newest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/incidents", params(IncidentQuery),
    responses((status = 200, body = api::IncidentPage), (status = 400, body = api::Problem),
        (status = 404, body = api::Problem, description = "unknown service or team")))]
async fn list_incidents(
    State(app): State<App>,
    Query(query): Query<IncidentQuery>,
) -> Result<axum::Json<api::IncidentPage>> {
    let (incidents, next_cursor) = list(&app, &query).await?;
    Ok(axum::Json(api::IncidentPage {
        incidents: incidents.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Get an incident with its timeline.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail), (status = 404, body = api::Problem)))]
async fn get_incident(State(app): State<App>, Path(id): Path<Id>) -> Result<axum::Json<api::IncidentDetail>> {
    let incident = app.store.incident(id).await?;
    Ok(axum::Json(detail(&app, incident).await?))
}

/// Acknowledge a triggered incident: someone is on it.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/acknowledge", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail), (status = 409, body = api::Problem, description = "not triggered")))]
async fn acknowledge(
    app: State<App>,
    actor: Extension<Actor>,
    id: Path<Id>,
) -> Result<axum::Json<api::IncidentDetail>> {
    act(app, actor, id, Command::Acknowledge).await
}

/// Mark an incident mitigated: the impact has stopped.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/mitigate", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail), (status = 409, body = api::Problem)))]
async fn mitigate(
    app: State<App>,
    actor: Extension<Actor>,
    id: Path<Id>,
) -> Result<axum::Json<api::IncidentDetail>> {
    act(app, actor, id, Command::Mitigate).await
}

/// Resolve an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", params(("id" = i64, Path)),
    responses((status = 200, body = api::IncidentDetail), (status = 409, body = api::Problem, description = "already resolved")))]
async fn resolve(
    app: State<App>,
    actor: Extension<Actor>,
    id: Path<Id>,
) -> Result<axum::Json<api::IncidentDetail>> {
    act(app, actor, id, Command::Resolve).await
}

/// Add a note to an incident's timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", params(("id" = i64, Path)), request_body = api::AddNote,
    responses((status = 201, body = api::IncidentDetail)))]
async fn add_note(
    app: State<App>,
    actor: Extension<Actor>,
    id: Path<Id>,
    Json(body): Json<api::AddNote>,
) -> Result<(StatusCode, axum::Json<api::IncidentDetail>)> {
    let text = domain::validate_note(&body.text).map_err(ApiError::invalid)?.to_owned();
    Ok((StatusCode::CREATED, act(app, actor, id, Command::AddNote(text)).await?))
}

/// Change an incident's severity.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/severity", params(("id" = i64, Path)), request_body = api::ChangeSeverity,
    responses((status = 200, body = api::IncidentDetail),
        (status = 409, body = api::Problem, description = "already at that severity")))]
async fn change_severity(
    app: State<App>,
    actor: Extension<Actor>,
    id: Path<Id>,
    Json(body): Json<api::ChangeSeverity>,
) -> Result<axum::Json<api::IncidentDetail>> {
    act(app, actor, id, Command::SetSeverity(body.severity.into())).await
}

/// Assign an incident, or its command, to a user (or to no one).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/assign", params(("id" = i64, Path)), request_body = api::Assign,
    responses((status = 200, body = api::IncidentDetail),
        (status = 409, body = api::Problem, description = "no change: already assigned so, or no one to unassign")))]
async fn assign(
    State(app): State<App>,
    actor: Extension<Actor>,
    id: Path<Id>,
    Json(body): Json<api::Assign>,
) -> Result<axum::Json<api::IncidentDetail>> {
    let user_id = match &body.user {
        Some(user) => Some(user_id(&app, user).await?),
        None => None,
    };
    act(State(app), actor, id, Command::Assign { role: body.role.into(), user_id }).await
}

/// The alerts of an incident, oldest first.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/alerts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<api::Alert>), (status = 404, body = api::Problem)))]
async fn incident_alerts(State(app): State<App>, Path(id): Path<Id>) -> Result<axum::Json<Vec<api::Alert>>> {
    app.store.incident(id).await?;
    let alerts = app.store.incident_alerts(id, ALERTS_LISTED_MAX).await?;
    Ok(axum::Json(alerts.into_iter().map(Into::into).collect()))
}

/// The alerts of a service, newest first, silenced ones included.
#[utoipa::path(get, path = "/api/v1/services/{service}/alerts", params(("service" = String, Path, description = "id or name")),
    responses((status = 200, body = Vec<api::Alert>), (status = 404, body = api::Problem)))]
async fn service_alerts(
    State(app): State<App>,
    Path(service): Path<String>,
) -> Result<axum::Json<Vec<api::Alert>>> {
    let id = service_id(&app, &Ref::parse(&service)).await?;
    let alerts = app.store.service_alerts(id, ALERTS_LISTED_MAX).await?;
    Ok(axum::Json(alerts.into_iter().map(Into::into).collect()))
}

/// Create a silence (maintenance window): matching alerts are kept but open no incident.
#[utoipa::path(post, path = "/api/v1/silences", request_body = api::CreateSilence,
    responses((status = 201, body = api::Silence), (status = 422, body = api::Problem)))]
async fn create_silence(
    State(app): State<App>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<api::CreateSilence>,
) -> Result<(StatusCode, axum::Json<api::Silence>)> {
    let silence = new_silence(&app, body).await?;
    let silence = app.store.create_silence(&silence, &actor.0, app.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(silence.into())))
}

/// Silences that have not ended yet.
#[utoipa::path(get, path = "/api/v1/silences", responses((status = 200, body = Vec<api::Silence>)))]
async fn list_silences(State(app): State<App>) -> Result<axum::Json<Vec<api::Silence>>> {
    Ok(axum::Json(app.store.silences(app.now()).await?.into_iter().map(Into::into).collect()))
}

/// Get a silence.
#[utoipa::path(get, path = "/api/v1/silences/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::Silence), (status = 404, body = api::Problem)))]
async fn get_silence(State(app): State<App>, Path(id): Path<Id>) -> Result<axum::Json<api::Silence>> {
    Ok(axum::Json(app.store.silence(id).await?.into()))
}

/// End a silence now.
#[utoipa::path(delete, path = "/api/v1/silences/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::Silence), (status = 409, body = api::Problem, description = "already ended")))]
async fn expire_silence(State(app): State<App>, Path(id): Path<Id>) -> Result<axum::Json<api::Silence>> {
    Ok(axum::Json(app.store.expire_silence(id, app.now()).await?.into()))
}

async fn new_silence(app: &App, body: api::CreateSilence) -> Result<firebreak_store::NewSilence> {
    if body.matchers.is_empty() || body.matchers.len() > LIST_ITEMS_MAX {
        return Err(ApiError::invalid(format!(
            "a silence needs 1 to {LIST_ITEMS_MAX} matchers, such as alertname=DiskFull"
        )));
    }
    let matchers = body
        .matchers
        .iter()
        .map(|m| domain::Matcher::parse(m))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(ApiError::invalid)?;
    let now = app.now();
    let starts_at = body.starts_at.unwrap_or(now);
    let ends_at = match (body.ends_at, body.duration_minutes) {
        (Some(ends_at), None) => ends_at,
        (None, Some(minutes)) if (1..=525_600).contains(&minutes) => {
            starts_at + jiff::SignedDuration::from_mins(minutes)
        }
        (None, Some(_)) => return Err(ApiError::invalid("duration_minutes must be between 1 and 525600")),
        _ => return Err(ApiError::invalid("give exactly one of ends_at and duration_minutes")),
    };
    if ends_at <= starts_at || ends_at <= now {
        return Err(ApiError::invalid("a silence must end after it starts and after now"));
    }
    let service_id = match &body.service {
        Some(service) => Some(service_id(app, service).await?),
        None => None,
    };
    Ok(firebreak_store::NewSilence {
        service_id,
        matchers,
        starts_at,
        ends_at,
        comment: text("comment", &body.comment, DESCRIPTION_CHARS_MAX)?,
    })
}

/// Watch a golden signal of a service: a PromQL query polled every `step_seconds` (or samples
/// pushed), the direction that is bad, and whether a sustained anomaly opens an incident.
#[utoipa::path(put, path = "/api/v1/services/{service}/golden-signals/{signal}",
    params(("service" = String, Path, description = "id or name"), ("signal" = String, Path, description = "latency, traffic, errors or saturation")),
    request_body = api::SetGoldenSignal, responses((status = 200, body = api::GoldenSignal), (status = 422, body = api::Problem)))]
async fn set_golden_signal(
    State(app): State<App>,
    Path((service, signal)): Path<(String, String)>,
    Json(body): Json<api::SetGoldenSignal>,
) -> Result<axum::Json<api::GoldenSignal>> {
    let service_id = service_id(&app, &Ref::parse(&service)).await?;
    let signal = domain::Signal::parse(&signal).map_err(ApiError::not_found)?;
    let bad = match &body.bad {
        Some(bad) => domain::Direction::parse(bad).map_err(ApiError::invalid)?,
        None => signal.default_direction(),
    };
    let step_secs = body.step_seconds.unwrap_or(15);
    if !(1..=3600).contains(&step_secs) {
        return Err(ApiError::invalid("step_seconds must be between 1 and 3600"));
    }
    let spec = firebreak_store::GoldenSignalSpec {
        query: text("query", &body.query, DESCRIPTION_CHARS_MAX)?,
        bad,
        step_secs,
        open_incident: body.open_incident,
        severity: body.severity.unwrap_or(api::Severity::Sev2).into(),
    };
    Ok(axum::Json(app.store.set_golden_signal(service_id, signal, &spec).await?.into()))
}

/// The watched golden signals of a service.
#[utoipa::path(get, path = "/api/v1/services/{service}/golden-signals", params(("service" = String, Path, description = "id or name")),
    responses((status = 200, body = Vec<api::GoldenSignal>)))]
async fn list_golden_signals(
    State(app): State<App>,
    Path(service): Path<String>,
) -> Result<axum::Json<Vec<api::GoldenSignal>>> {
    let service_id = service_id(&app, &Ref::parse(&service)).await?;
    Ok(axum::Json(app.store.golden_signals(Some(service_id)).await?.into_iter().map(Into::into).collect()))
}

/// Push samples of a golden signal (for users without Prometheus), oldest first.
#[utoipa::path(post, path = "/api/v1/services/{service}/golden-signals/{signal}/samples",
    params(("service" = String, Path, description = "id or name"), ("signal" = String, Path)),
    request_body = api::PushSamples, responses((status = 202, description = "the samples were recorded")))]
async fn push_samples(
    State(app): State<App>,
    Path((service, signal)): Path<(String, String)>,
    Json(body): Json<api::PushSamples>,
) -> Result<(StatusCode, axum::Json<serde_json::Value>)> {
    let service_id = service_id(&app, &Ref::parse(&service)).await?;
    let signal = domain::Signal::parse(&signal).map_err(ApiError::not_found)?;
    if body.samples.len() > crate::monitor::PUSH_SAMPLES_MAX {
        return Err(ApiError::invalid(format!(
            "at most {} samples per request",
            crate::monitor::PUSH_SAMPLES_MAX
        )));
    }
    let Some(golden) =
        app.store.golden_signals(Some(service_id)).await?.into_iter().find(|s| s.signal == signal)
    else {
        return Err(ApiError::not_found(format!(
            "service {service_id} does not watch {signal}; set it up with PUT /api/v1/services/{service_id}/golden-signals/{signal}"
        )));
    };
    let points: Vec<(i64, f64)> = body.samples.iter().map(|s| (s.at.as_second(), s.value)).collect();
    let accepted = app.monitor.observe(&golden, &points, app.now()).await.map_err(|err| {
        tracing::error!(error = %err, "samples_not_recorded");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the samples could not be recorded; retry later",
        )
    })?;
    Ok((StatusCode::ACCEPTED, axum::Json(serde_json::json!({"accepted": accepted}))))
}

/// Anomalies of a service's golden signals, oldest first; the last 24 hours by default.
#[utoipa::path(get, path = "/api/v1/services/{service}/anomalies", params(("service" = String, Path, description = "id or name"), AnomalyQuery),
    responses((status = 200, body = Vec<api::Anomaly>)))]
async fn list_anomalies(
    State(app): State<App>,
    Path(service): Path<String>,
    Query(query): Query<AnomalyQuery>,
) -> Result<axum::Json<Vec<api::Anomaly>>> {
    let service_id = service_id(&app, &Ref::parse(&service)).await?;
    let now = app.now();
    let since = query
        .since
        .as_deref()
        .map(|s| instant("since", s))
        .transpose()?
        .unwrap_or(now - jiff::SignedDuration::from_hours(24));
    let until = query
        .until
        .as_deref()
        .map(|s| instant("until", s))
        .transpose()?
        .unwrap_or(now + jiff::SignedDuration::from_secs(1));
    Ok(axum::Json(app.store.anomalies(service_id, since, until).await?.into_iter().map(Into::into).collect()))
}

/// Time range of the anomaly list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AnomalyQuery {
    /// RFC 3339; 24 hours ago when left out.
    #[param(format = DateTime)]
    since: Option<String>,
    /// RFC 3339; now when left out.
    #[param(format = DateTime)]
    until: Option<String>,
}

async fn act(
    State(app): State<App>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Id>,
    command: Command,
) -> Result<axum::Json<api::IncidentDetail>> {
    let (incident, _) = app.store.update_incident(id, &command, &actor.0, app.now()).await?;
    app.pager.wake();
    Ok(axum::Json(detail(&app, incident).await?))
}

// ---- Shared with the web UI ----

/// Most alerts listed at once.
pub(crate) const ALERTS_LISTED_MAX: u32 = 500;

/// A service as the API shows it, with its alert settings.
pub(crate) async fn service_view(app: &App, service: domain::Service) -> Result<api::Service> {
    let settings = app.store.alert_settings(service.id).await?;
    let escalation_policy_id = app.store.service_escalation_policy(service.id).await?;
    Ok(view_of(service, &settings, escalation_policy_id))
}

/// A service as the API returns it, given its alert settings and escalation policy.
fn view_of(
    service: domain::Service,
    settings: &firebreak_store::AlertSettings,
    escalation_policy_id: Option<Id>,
) -> api::Service {
    let mut view = api::Service::from(service);
    view.escalation_policy_id = escalation_policy_id;
    view.alert_settings = api::AlertSettings {
        group_by: settings.grouping.by.iter().map(|domain::GroupBy::Label(name)| name.clone()).collect(),
        group_window_minutes: settings.grouping.window.map(|w| w.as_secs() / 60),
        auto_resolve: settings.auto_resolve,
    };
    view
}

/// An incident with its timeline, as the API returns it.
pub(crate) async fn detail(app: &App, incident: domain::Incident) -> Result<api::IncidentDetail> {
    let timeline = app.store.timeline(incident.id).await?;
    Ok(api::IncidentDetail {
        incident: incident.into(),
        timeline: timeline.into_iter().map(Into::into).collect(),
    })
}

/// The incidents `query` asks for, and the cursor of the next page.
pub(crate) async fn list(
    app: &App,
    query: &IncidentQuery,
) -> Result<(Vec<domain::Incident>, Option<String>)> {
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > firebreak_store::INCIDENT_PAGE_MAX {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {}",
            firebreak_store::INCIDENT_PAGE_MAX
        )));
    }
    let mut filter = IncidentFilter { limit, ..Default::default() };
    if let Some(statuses) = &query.status {
        for status in split(statuses) {
            if status.eq_ignore_ascii_case("all") {
                filter.statuses.extend(domain::Status::ALL);
            } else if status.eq_ignore_ascii_case("open") {
                filter.statuses.extend([
                    domain::Status::Triggered,
                    domain::Status::Acknowledged,
                    domain::Status::Mitigated,
                ]);
            } else {
                filter.statuses.push(domain::Status::parse(status).map_err(ApiError::bad_request)?);
            }
        }
    }
    if let Some(severities) = &query.severity {
        filter.severities = split(severities)
            .map(domain::Severity::parse)
            .collect::<std::result::Result<_, _>>()
            .map_err(ApiError::bad_request)?;
    }
    if let Some(kinds) = &query.kind {
        filter.kinds = split(kinds)
            .map(domain::Kind::parse)
            .collect::<std::result::Result<_, _>>()
            .map_err(ApiError::bad_request)?;
    }
    if let Some(service) = &query.service {
        filter.service_id = Some(service_id(app, &Ref::parse(service)).await?);
    }
    if let Some(team) = &query.team {
        filter.team_id = Some(team_id(app, &Ref::parse(team)).await?);
    }
    filter.since = query.since.as_deref().map(|s| instant("since", s)).transpose()?;
    filter.until = query.until.as_deref().map(|s| instant("until", s)).transpose()?;
    if let Some(cursor) = &query.cursor {
        let id = cursor.parse::<Id>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid cursor {cursor:?}; pass next_cursor from the previous page"
            ))
        })?;
        filter.before_id = Some(id);
    }
    let incidents = app.store.list_incidents(&filter).await?;
    let next_cursor =
        if incidents.len() == limit as usize { incidents.last().map(|i| i.id.to_string()) } else { None };
    Ok((incidents, next_cursor))
}

fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|item| !item.is_empty())
}

pub(crate) fn instant(field: &str, text: &str) -> Result<jiff::Timestamp> {
    text.parse().map_err(|err| {
        ApiError::bad_request(format!(
            "invalid {field} {text:?}: {err}; expected RFC 3339 such as 2026-01-31T12:00:00Z"
        ))
    })
}

pub(crate) async fn service_id(app: &App, service: &Ref) -> Result<Id> {
    let found = match service {
        Ref::Id(id) => app.store.service(*id).await.map(|s| Some(s.id)).or_else(not_found_is_none)?,
        Ref::Name(name) => app.store.service_id_by_name(name).await?,
    };
    found.ok_or_else(|| ApiError::not_found(format!("there is no service {service}")))
}

async fn service_ids(app: &App, services: &[Ref]) -> Result<Vec<Id>> {
    if services.len() > LIST_ITEMS_MAX {
        return Err(ApiError::invalid(format!("a service can have at most {LIST_ITEMS_MAX} dependencies")));
    }
    let mut ids = Vec::with_capacity(services.len());
    for service in services {
        let id = service_id(app, service).await?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

async fn team_id(app: &App, team: &Ref) -> Result<Id> {
    let found = match team {
        Ref::Id(id) => app.store.team(*id).await.map(|t| Some(t.id)).or_else(not_found_is_none)?,
        Ref::Name(name) => app.store.team_id_by_name(name).await?,
    };
    found.ok_or_else(|| ApiError::not_found(format!("there is no team {team}")))
}

pub(crate) async fn user_id(app: &App, user: &Ref) -> Result<Id> {
    let found = match user {
        Ref::Id(id) => app.store.user(*id).await.map(|u| Some(u.id)).or_else(not_found_is_none)?,
        Ref::Name(name) => app.store.user_id_by_name(name).await?,
    };
    found.ok_or_else(|| ApiError::not_found(format!("there is no user {user}")))
}

fn not_found_is_none(
    err: firebreak_store::StoreError,
) -> std::result::Result<Option<Id>, firebreak_store::StoreError> {
    match err {
        firebreak_store::StoreError::NotFound(_) => Ok(None),
        other => Err(other),
    }
}

pub(crate) fn name(name: &str) -> Result<String> {
    domain::validate_name(name).map(str::to_owned).map_err(ApiError::invalid)
}

fn text(field: &str, value: &str, chars_max: usize) -> Result<String> {
    if value.chars().count() > chars_max {
        return Err(ApiError::invalid(format!("{field} is longer than {chars_max} characters")));
    }
    Ok(value.trim().to_owned())
}

fn email(email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(ApiError::invalid(format!("invalid email address {email:?}")));
    }
    Ok(email.to_owned())
}

fn time_zone(name: &str) -> Result<String> {
    jiff::tz::TimeZone::get(name).map(|_| name.to_owned()).map_err(|_| {
        ApiError::invalid(format!(
            "unknown time zone {name:?}; expected an IANA name such as Europe/Lisbon or UTC"
        ))
    })
}

fn links(links: Vec<api::Link>) -> Result<Vec<domain::Link>> {
    if links.len() > LIST_ITEMS_MAX {
        return Err(ApiError::invalid(format!("a service can have at most {LIST_ITEMS_MAX} links")));
    }
    links
        .into_iter()
        .map(|link| {
            if !(link.url.starts_with("https://") || link.url.starts_with("http://")) || link.url.len() > 2048
            {
                return Err(ApiError::invalid(format!(
                    "invalid link URL {:?}; expected http:// or https://",
                    link.url
                )));
            }
            let title = text("link title", &link.title, 200)?;
            Ok(domain::Link { title, url: link.url })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::OpenApi;

    use super::{ApiDoc, domain};

    /// Every operation documents the problems it can answer with, as `application/problem+json`.
    #[test]
    fn every_operation_documents_its_problems() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                operations += 1;
                let responses = operation["responses"].as_object().unwrap();
                let mut expected = vec!["400", "401", "503"];
                if path.contains('{') {
                    expected.push("404");
                }
                if operation.get("requestBody").is_some() {
                    expected.extend(["413", "415", "422"]);
                }
                for status in expected {
                    assert!(responses.contains_key(status), "{method} {path} documents {status}");
                }
                for (status, response) in responses {
                    let content = response["content"].as_object();
                    if status.starts_with(['4', '5']) {
                        let types: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
                        assert_eq!(types, ["application/problem+json"], "{method} {path} {status}");
                        assert_eq!(
                            response["content"]["application/problem+json"]["schema"]["$ref"],
                            Value::from("#/components/schemas/Problem"),
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
        assert!(operations > 40, "{operations} operations");
    }

    /// The limits in the request schemas are written as literals (the schema attributes take no
    /// constants): they must stay the limits the server checks.
    #[test]
    fn schema_limits_are_the_checked_limits() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let named = [
            "CreateTeam",
            "UpdateTeam",
            "CreateUser",
            "UpdateUser",
            "CreateService",
            "UpdateService",
            "CreateSchedule",
            "CreateEscalationPolicy",
        ];
        for schema in named {
            let name = &schemas[schema]["properties"]["name"];
            let name = if name["oneOf"].is_array() { &name["oneOf"][0] } else { name };
            assert_eq!(name["maxLength"], domain::NAME_CHARS_MAX, "{schema}");
        }
        let title = &schemas["DeclareIncident"]["properties"]["title"];
        assert_eq!(title["maxLength"], domain::TITLE_CHARS_MAX);
        assert_eq!(schemas["AddNote"]["properties"]["text"]["maxLength"], domain::NOTE_CHARS_MAX);
        assert_eq!(schemas["CreateSilence"]["properties"]["matchers"]["maxItems"], super::LIST_ITEMS_MAX);
        let policy = &schemas["CreateEscalationPolicy"]["properties"];
        assert_eq!(policy["levels"]["maxItems"], firebreak_engine::LEVELS_MAX);
        assert_eq!(policy["repeat"]["maximum"], firebreak_engine::REPEAT_COUNT_MAX);
    }
}
