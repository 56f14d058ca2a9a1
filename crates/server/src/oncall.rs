//! On-call schedules and escalation policies over HTTP: creating them, asking who is on call, and
//! listing shifts.
//!
//! Schedules and policies are validated into domain (`domain::Schedule`) and engine
//! (`engine::Policy`) types before they are stored, and stored as the API's specification with
//! every user given by id; reading one back rebuilds the domain type from it.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use firebreak_api as api;
use firebreak_api::Ref;
use firebreak_domain::{self as domain, Id};
use firebreak_engine as engine;
use firebreak_store::Stored;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::App;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::v1::{instant, name, user_id};

type Result<T> = std::result::Result<T, ApiError>;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/schedules", post(create_schedule).get(list_schedules))
        .route("/schedules/{id}", get(get_schedule))
        .route("/schedules/{id}/overrides", post(add_override))
        .route("/schedules/{id}/oncall", get(schedule_on_call))
        .route("/schedules/{id}/shifts", get(schedule_shifts))
        .route("/escalation-policies", post(create_policy).get(list_policies))
        .route("/escalation-policies/{id}", get(get_policy))
        .route("/oncall", get(service_on_call))
}

/// Create an on-call schedule.
#[utoipa::path(post, path = "/api/v1/schedules", request_body = api::CreateSchedule,
    responses((status = 201, body = api::Schedule), (status = 422, body = api::Problem),
        (status = 404, body = api::Problem, description = "a user named in a layer or override does not exist"),
        (status = 409, body = api::Problem, description = "name taken")))]
pub(crate) async fn create_schedule(
    State(app): State<App>,
    Json(body): Json<api::CreateSchedule>,
) -> Result<(StatusCode, axum::Json<api::Schedule>)> {
    let name = name(&body.name)?;
    let time_zone = time_zone(&body.time_zone)?;
    let mut spec = api::CreateSchedule {
        name: name.clone(),
        time_zone: body.time_zone.clone(),
        layers: body.layers,
        overrides: body.overrides,
    };
    resolve_users(&app, &mut spec).await?;
    to_domain(&spec, time_zone)?;
    let text = serde_json::to_string(&spec).expect("a schedule always serializes");
    let stored = app.store.create_schedule(&name, &spec.time_zone, &text, app.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(view(&stored)?)))
}

/// List schedules.
#[utoipa::path(get, path = "/api/v1/schedules", responses((status = 200, body = Vec<api::Schedule>)))]
pub(crate) async fn list_schedules(State(app): State<App>) -> Result<axum::Json<Vec<api::Schedule>>> {
    let schedules = app.store.schedules().await?;
    Ok(axum::Json(schedules.iter().map(view).collect::<Result<_>>()?))
}

/// Get a schedule.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::Schedule), (status = 404, body = api::Problem)))]
pub(crate) async fn get_schedule(
    State(app): State<App>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::Schedule>> {
    Ok(axum::Json(view(&app.store.schedule(id).await?)?))
}

/// Add an override: someone covers the schedule from `start` to `end`.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/overrides", params(("id" = i64, Path)), request_body = api::Override,
    responses((status = 201, body = api::Schedule), (status = 422, body = api::Problem)))]
pub(crate) async fn add_override(
    State(app): State<App>,
    Path(id): Path<Id>,
    Json(body): Json<api::Override>,
) -> Result<(StatusCode, axum::Json<api::Schedule>)> {
    let stored = app.store.schedule(id).await?;
    let mut spec = spec(&stored)?;
    spec.overrides.push(body);
    resolve_users(&app, &mut spec).await?;
    to_domain(&spec, time_zone(&spec.time_zone)?)?;
    let text = serde_json::to_string(&spec).expect("a schedule always serializes");
    let stored = app.store.update_schedule_spec(id, &text).await?;
    Ok((StatusCode::CREATED, axum::Json(view(&stored)?)))
}

/// An instant, now when left out.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AtQuery {
    /// RFC 3339; now when left out.
    #[param(format = DateTime)]
    at: Option<String>,
}

/// Who is on call for a schedule at an instant.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/oncall", params(("id" = i64, Path), AtQuery),
    responses((status = 200, body = api::OnCall), (status = 404, body = api::Problem)))]
pub(crate) async fn schedule_on_call(
    State(app): State<App>,
    Path(id): Path<Id>,
    Query(query): Query<AtQuery>,
) -> Result<axum::Json<api::OnCall>> {
    let at = query.at.as_deref().map(|at| instant("at", at)).transpose()?.unwrap_or_else(|| app.now());
    let schedule = load(&app, id).await?;
    let user = match schedule.on_call(at) {
        Some(user) => Some(app.store.user(user).await?.into()),
        None => None,
    };
    Ok(axum::Json(api::OnCall { schedule_id: id, at, user }))
}

/// A time range.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RangeQuery {
    /// RFC 3339.
    #[param(format = DateTime)]
    from: String,
    /// RFC 3339; at most 400 days after `from`.
    #[param(format = DateTime)]
    to: String,
}

/// The final shifts of a schedule between two instants, after layers and overrides.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/shifts", params(("id" = i64, Path), RangeQuery),
    responses((status = 200, body = Vec<api::Shift>), (status = 400, body = api::Problem)))]
pub(crate) async fn schedule_shifts(
    State(app): State<App>,
    Path(id): Path<Id>,
    Query(query): Query<RangeQuery>,
) -> Result<axum::Json<Vec<api::Shift>>> {
    let from = instant("from", &query.from)?;
    let to = instant("to", &query.to)?;
    let schedule = load(&app, id).await?;
    let shifts = schedule.shifts(from, to).map_err(ApiError::bad_request)?;
    let users: std::collections::HashMap<Id, String> =
        app.store.users().await?.into_iter().map(|u| (u.id, u.name)).collect();
    Ok(axum::Json(
        shifts
            .into_iter()
            .map(|shift| api::Shift {
                user_id: shift.user,
                user_name: users.get(&shift.user).cloned().unwrap_or_default(),
                start: shift.start,
                end: shift.end,
            })
            .collect(),
    ))
}

/// Create an escalation policy.
#[utoipa::path(post, path = "/api/v1/escalation-policies", request_body = api::CreateEscalationPolicy,
    responses((status = 201, body = api::EscalationPolicy), (status = 422, body = api::Problem)))]
pub(crate) async fn create_policy(
    State(app): State<App>,
    Json(body): Json<api::CreateEscalationPolicy>,
) -> Result<(StatusCode, axum::Json<api::EscalationPolicy>)> {
    let name = name(&body.name)?;
    let spec = api::CreateEscalationPolicy { name: name.clone(), repeat: body.repeat, levels: body.levels };
    for level in &spec.levels {
        for target in &level.targets {
            match target.kind.as_str() {
                "user" => drop(app.store.user(target.id).await?),
                "schedule" => drop(app.store.schedule(target.id).await?),
                "team" => drop(app.store.team(target.id).await?),
                other => {
                    return Err(ApiError::invalid(format!(
                        "unknown target type {other:?}; expected user, schedule or team"
                    )));
                }
            }
        }
    }
    policy(&spec)?;
    let text = serde_json::to_string(&spec).expect("a policy always serializes");
    let stored = app.store.create_escalation_policy(&name, &text, app.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(policy_view(&stored)?)))
}

/// List escalation policies.
#[utoipa::path(get, path = "/api/v1/escalation-policies", responses((status = 200, body = Vec<api::EscalationPolicy>)))]
pub(crate) async fn list_policies(State(app): State<App>) -> Result<axum::Json<Vec<api::EscalationPolicy>>> {
    let policies = app.store.escalation_policies().await?;
    Ok(axum::Json(policies.iter().map(policy_view).collect::<Result<_>>()?))
}

/// Get an escalation policy.
#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::EscalationPolicy), (status = 404, body = api::Problem)))]
pub(crate) async fn get_policy(
    State(app): State<App>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::EscalationPolicy>> {
    Ok(axum::Json(policy_view(&app.store.escalation_policy(id).await?)?))
}

/// Whose on-call is asked for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OnCallQuery {
    /// Service id or name.
    service: String,
    /// RFC 3339; now when left out.
    #[param(format = DateTime)]
    at: Option<String>,
}

/// Who a service's escalation policy would page, level by level, at an instant.
#[utoipa::path(get, path = "/api/v1/oncall", params(OnCallQuery),
    responses((status = 200, body = api::ServiceOnCall), (status = 404, body = api::Problem)))]
pub(crate) async fn service_on_call(
    State(app): State<App>,
    Query(query): Query<OnCallQuery>,
) -> Result<axum::Json<api::ServiceOnCall>> {
    let service_id = crate::v1::service_id(&app, &Ref::parse(&query.service)).await?;
    let at = query.at.as_deref().map(|at| instant("at", at)).transpose()?.unwrap_or_else(|| app.now());
    let policy_id = app.store.service_escalation_policy(service_id).await?;
    let mut levels = Vec::new();
    if let Some(policy_id) = policy_id {
        let spec = policy_spec(&app.store.escalation_policy(policy_id).await?)?;
        let targets = policy_targets(&app, &spec).await?;
        for (index, (level, targets)) in spec.levels.iter().zip(&targets).enumerate() {
            let mut users: Vec<api::User> = Vec::new();
            for user in targets.iter().flat_map(|target| target.on_call(at)) {
                if !users.iter().any(|u| u.id == user) {
                    users.push(app.store.user(user).await?.into());
                }
            }
            levels.push(api::LevelOnCall {
                level: index as u32 + 1,
                timeout_minutes: level.timeout_minutes,
                users,
            });
        }
    }
    Ok(axum::Json(api::ServiceOnCall { service_id, escalation_policy_id: policy_id, at, levels }))
}

/// The engine's policy for a specification, or why it is not valid.
pub(crate) fn policy(spec: &api::CreateEscalationPolicy) -> Result<engine::Policy> {
    let levels = spec
        .levels
        .iter()
        .map(|level| {
            if !(1..=24 * 60).contains(&level.timeout_minutes) {
                return Err(ApiError::invalid("timeout_minutes must be between 1 and 1440"));
            }
            let targets = level
                .targets
                .iter()
                .map(|target| match target.kind.as_str() {
                    "user" => Ok(engine::Target::User(target.id)),
                    "schedule" => Ok(engine::Target::Schedule(target.id)),
                    "team" => Ok(engine::Target::Team(target.id)),
                    other => Err(ApiError::invalid(format!(
                        "unknown target type {other:?}; expected user, schedule or team"
                    ))),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(engine::Level {
                timeout: jiff::SignedDuration::from_mins(level.timeout_minutes),
                targets,
                wakes_management: level.wakes_management,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    engine::Policy::parse(levels, spec.repeat).map_err(ApiError::invalid)
}

/// What one target of an escalation level stands for: a person, a schedule that decides who, or a
/// team whose members are all paged.
pub(crate) enum Target {
    User(Id),
    Schedule { id: Id, schedule: domain::Schedule },
    Team { name: String, members: Vec<Id> },
}

impl Target {
    /// Who this target pages at `at`: nobody when it is a schedule with nobody on call then, or a
    /// team without members.
    pub(crate) fn on_call(&self, at: jiff::Timestamp) -> Vec<Id> {
        match self {
            Target::User(id) => vec![*id],
            Target::Schedule { schedule, .. } => schedule.on_call(at).into_iter().collect(),
            Target::Team { members, .. } => members.clone(),
        }
    }
}

/// The targets of every level of `spec`, in level order, with their schedules loaded. The API's
/// `/oncall` and the web UI both go through here, so they cannot disagree about who would be paged.
///
/// Fails when a schedule the policy names cannot be read.
pub(crate) async fn policy_targets(
    app: &App,
    spec: &api::CreateEscalationPolicy,
) -> Result<Vec<Vec<Target>>> {
    let mut levels = Vec::with_capacity(spec.levels.len());
    for level in &spec.levels {
        let mut targets = Vec::with_capacity(level.targets.len());
        for target in &level.targets {
            targets.push(match target.kind.as_str() {
                "user" => Target::User(target.id),
                "team" => {
                    let (team, members) = app.store.team_members(target.id).await?;
                    Target::Team { name: team.name, members: members.iter().map(|user| user.id).collect() }
                }
                _ => Target::Schedule { id: target.id, schedule: load(app, target.id).await? },
            });
        }
        levels.push(targets);
    }
    Ok(levels)
}

/// The stored specification of an escalation policy.
pub(crate) fn policy_spec(stored: &Stored) -> Result<api::CreateEscalationPolicy> {
    serde_json::from_str(&stored.spec).map_err(|err| corrupt("escalation policy", err))
}

/// Fails with not found when there is no schedule `id`.
pub(crate) async fn load(app: &App, id: Id) -> Result<domain::Schedule> {
    schedule_of(&app.store.schedule(id).await?)
}

/// The domain schedule of a stored one.
pub(crate) fn schedule_of(stored: &Stored) -> Result<domain::Schedule> {
    let spec = spec(stored)?;
    to_domain(&spec, time_zone(&spec.time_zone)?)
}

/// The engine policy of a stored escalation policy.
pub(crate) fn policy_of(stored: &Stored) -> Result<engine::Policy> {
    let spec: api::CreateEscalationPolicy =
        serde_json::from_str(&stored.spec).map_err(|err| corrupt("escalation policy", err))?;
    policy(&spec)
}

/// The stored specification of a schedule, with every user given by id.
pub(crate) fn spec(stored: &Stored) -> Result<api::CreateSchedule> {
    serde_json::from_str(&stored.spec).map_err(|err| corrupt("schedule", err))
}

fn view(stored: &Stored) -> Result<api::Schedule> {
    let spec = spec(stored)?;
    Ok(api::Schedule {
        id: stored.id,
        name: stored.name.clone(),
        time_zone: stored.time_zone.clone(),
        layers: spec.layers,
        overrides: spec.overrides,
        created_at: stored.created_at,
    })
}

fn policy_view(stored: &Stored) -> Result<api::EscalationPolicy> {
    let spec = policy_spec(stored)?;
    Ok(api::EscalationPolicy {
        id: stored.id,
        name: stored.name.clone(),
        repeat: spec.repeat,
        levels: spec.levels,
        created_at: stored.created_at,
    })
}

fn corrupt(what: &str, err: serde_json::Error) -> ApiError {
    tracing::error!(error = %err, what, "stored_specification_unreadable");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
}

fn time_zone(name: &str) -> Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).map_err(|_| {
        ApiError::invalid(format!("unknown time zone {name:?}; expected an IANA name such as Europe/Lisbon"))
    })
}

/// Replaces user names in `spec` by ids, failing on users that do not exist.
async fn resolve_users(app: &App, spec: &mut api::CreateSchedule) -> Result<()> {
    for layer in &mut spec.layers {
        for user in &mut layer.users {
            *user = Ref::Id(user_id(app, user).await?);
        }
    }
    for cover in &mut spec.overrides {
        cover.user = Ref::Id(user_id(app, &cover.user).await?);
    }
    Ok(())
}

fn ref_id(user: &Ref) -> Id {
    match user {
        Ref::Id(id) => *id,
        Ref::Name(_) => 0,
    }
}

/// The domain schedule of a specification whose users are ids, or why it is not valid.
fn to_domain(spec: &api::CreateSchedule, time_zone: jiff::tz::TimeZone) -> Result<domain::Schedule> {
    let layers = spec
        .layers
        .iter()
        .map(|layer| {
            Ok(domain::Layer {
                start: layer.start,
                shift: domain::ShiftLength::parse(&layer.shift_length).map_err(ApiError::invalid)?,
                users: layer.users.iter().map(ref_id).collect(),
                restrictions: layer.restrictions.iter().map(restriction).collect::<Result<_>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let overrides = spec
        .overrides
        .iter()
        .map(|cover| domain::Override { user: ref_id(&cover.user), start: cover.start, end: cover.end })
        .collect();
    domain::Schedule::new(time_zone, layers, overrides).map_err(ApiError::invalid)
}

fn restriction(spec: &api::Restriction) -> Result<domain::Restriction> {
    let time = |text: &str| -> Result<jiff::civil::Time> {
        text.parse().map_err(|_| ApiError::invalid(format!("invalid time {text:?}; expected HH:MM")))
    };
    let start_time = time(&spec.start_time)?;
    let end_time = time(&spec.end_time)?;
    match spec.kind.as_str() {
        "daily" => Ok(domain::Restriction::daily(start_time, end_time)),
        "weekly" => {
            let day = |day: &Option<String>| -> Result<jiff::civil::Weekday> {
                weekday(day.as_deref().unwrap_or_default())
            };
            Ok(domain::Restriction::weekly(day(&spec.start_day)?, start_time, day(&spec.end_day)?, end_time))
        }
        other => {
            Err(ApiError::invalid(format!("unknown restriction type {other:?}; expected daily or weekly")))
        }
    }
}

fn weekday(name: &str) -> Result<jiff::civil::Weekday> {
    use jiff::civil::Weekday::*;
    let days = [
        ("monday", Monday),
        ("tuesday", Tuesday),
        ("wednesday", Wednesday),
        ("thursday", Thursday),
        ("friday", Friday),
        ("saturday", Saturday),
        ("sunday", Sunday),
    ];
    days.iter()
        .find(|(day, _)| day.eq_ignore_ascii_case(name) || day[..3].eq_ignore_ascii_case(name))
        .map(|(_, day)| *day)
        .ok_or_else(|| ApiError::invalid(format!("invalid day {name:?}; expected monday … sunday")))
}
