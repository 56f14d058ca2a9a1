//! Expected outcomes over HTTP: the rules, behind the API token like all configuration, and the
//! business events, which a batch job or a service posts with its service's integration key
//! (`Authorization: Bearer <integration key>`), needing no API token.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Extension, Router};
use firebreak_api::{self as api, OutcomeRuleQuery, Ref};
use firebreak_app::Principal;
use firebreak_app::outcomes::EVENTS_PER_REQUEST_MAX;
use firebreak_domain::Id;
use serde_json::Value;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(
    create_outcome_rule,
    list_outcome_rules,
    get_outcome_rule,
    update_outcome_rule,
    delete_outcome_rule,
    record_outcome_events
))]
pub(crate) struct Doc;

/// The rules' routes, behind the API token.
pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/outcome-rules", post(create_outcome_rule).get(list_outcome_rules)).route(
        "/outcome-rules/{id}",
        get(get_outcome_rule).patch(update_outcome_rule).delete(delete_outcome_rule),
    )
}

/// The events' route, authenticated by a service's integration key instead of an API token.
pub(crate) fn key_routes() -> Router<Shared> {
    Router::new().route("/outcome-events", post(record_outcome_events))
}

/// Create an expected-outcome rule: when the service's events do not show what it says, an alert
/// of kind `silent` is raised, and resolved once they do again.
#[utoipa::path(post, path = "/api/v1/outcome-rules", request_body = api::CreateOutcomeRule,
    responses((status = 201, body = api::OutcomeRule),
        (status = 409, body = api::Problem, description = "the service has a rule of that name"),
        (status = 422, body = api::Problem, description = "a field is invalid; for the rule, the word where it goes wrong")))]
async fn create_outcome_rule(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateOutcomeRule>,
) -> Result<(StatusCode, axum::Json<api::OutcomeRule>)> {
    Ok((StatusCode::CREATED, axum::Json(server.create_outcome_rule(&who, body).await?.into())))
}

/// Expected-outcome rules, of one service or of all, with their verdicts now.
#[utoipa::path(get, path = "/api/v1/outcome-rules", params(OutcomeRuleQuery),
    responses((status = 200, body = Vec<api::OutcomeRule>), (status = 404, body = api::Problem, description = "no such service")))]
async fn list_outcome_rules(
    State(server): State<Shared>,
    Query(query): Query<OutcomeRuleQuery>,
) -> Result<axum::Json<Vec<api::OutcomeRule>>> {
    let service = query.service.as_deref().map(Ref::parse);
    let rules = server.outcome_rules(service.as_ref()).await?;
    Ok(axum::Json(rules.into_iter().map(Into::into).collect()))
}

/// Get an expected-outcome rule, with its verdict now and what arrived of its events lately.
#[utoipa::path(get, path = "/api/v1/outcome-rules/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = api::OutcomeRule), (status = 404, body = api::Problem)))]
async fn get_outcome_rule(
    State(server): State<Shared>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::OutcomeRule>> {
    Ok(axum::Json(server.outcome_rule(id).await?.into()))
}

/// Change an expected-outcome rule; what is left out stays.
#[utoipa::path(patch, path = "/api/v1/outcome-rules/{id}", params(("id" = i64, Path)),
    request_body = api::UpdateOutcomeRule,
    responses((status = 200, body = api::OutcomeRule),
        (status = 409, body = api::Problem, description = "the service has a rule of that name")))]
async fn update_outcome_rule(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
    Json(body): Json<api::UpdateOutcomeRule>,
) -> Result<axum::Json<api::OutcomeRule>> {
    Ok(axum::Json(server.update_outcome_rule(&who, id, body).await?.into()))
}

/// Delete an expected-outcome rule; its alert, if raised, is resolved.
#[utoipa::path(delete, path = "/api/v1/outcome-rules/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = api::Problem)))]
async fn delete_outcome_rule(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<Id>,
) -> Result<StatusCode> {
    server.delete_outcome_rule(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Post business events, one object or an array of at most 1000, authenticated by the service's
/// integration key as the bearer token (`Authorization: Bearer <integration key>`), not an API
/// token. The events of a request are stored together or, when one is invalid, none is.
#[utoipa::path(post, path = "/api/v1/outcome-events",
    request_body(content = Vec<api::OutcomeEvent>, description = "an event, or an array of events"),
    responses((status = 202, body = api::OutcomeEventsAccepted),
        (status = 401, body = api::Problem, description = "no integration key, or one no service has"),
        (status = 422, body = api::Problem, description = "an event is invalid; `detail` names it (counted from 0) and its field")))]
async fn record_outcome_events(
    State(server): State<Shared>,
    headers: HeaderMap,
    body: std::result::Result<Json<Value>, ApiError>,
) -> Result<(StatusCode, axum::Json<api::OutcomeEventsAccepted>)> {
    let key = integration_key(&headers)?;
    let service_id = server.service_for_integration_key(key).await?.ok_or_else(|| {
        ApiError::unauthorized(
            "no service has this integration key; send the integration key of the service the events are for",
        )
    })?;
    let Json(body) = body?;
    let events = match body {
        Value::Array(items) => {
            if items.len() > EVENTS_PER_REQUEST_MAX {
                return Err(ApiError::invalid(format!(
                    "{} events in one request; send at most {EVENTS_PER_REQUEST_MAX}",
                    items.len()
                )));
            }
            items.into_iter().enumerate().map(|(index, item)| event_of(index, item)).collect::<Result<_>>()?
        }
        item => vec![event_of(0, item)?],
    };
    let accepted = server.record_outcome_events(service_id, events).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(api::OutcomeEventsAccepted { accepted })))
}

/// Event `index` of a request, read from its JSON.
fn event_of(index: usize, item: Value) -> Result<api::OutcomeEvent> {
    serde_json::from_value(item).map_err(|err| ApiError::bad_request(format!("event {index}: {err}")))
}

/// The integration key of an `Authorization: Bearer …` header.
fn integration_key(headers: &HeaderMap) -> Result<&str> {
    const FORM: &str = "send Authorization: Bearer <the integration key of the service the events are for>";
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(format!("missing Authorization header; {FORM}")));
    };
    let value = value.to_str().unwrap_or("");
    let (scheme, key) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || key.trim().is_empty() {
        return Err(ApiError::unauthorized(format!("the Authorization header is malformed; {FORM}")));
    }
    Ok(key.trim())
}
