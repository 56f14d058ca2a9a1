//! Paging over HTTP: people's contact methods, an incident's pages and where its escalation stands.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Extension, Router};
use firebreak_api::{self as api, Ref};
use firebreak_app::Principal;
use firebreak_app::paging::{ContactMethod, shown_address};
use firebreak_domain::Id;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(
    create_contact_method,
    list_contact_methods,
    update_contact_method,
    delete_contact_method,
    create_notification_rule,
    list_notification_rules,
    delete_notification_rule,
    incident_notifications,
    incident_escalation,
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/users/{id}/contact-methods", get(list_contact_methods).post(create_contact_method))
        .route(
            "/users/{id}/contact-methods/{method}",
            delete(delete_contact_method).patch(update_contact_method),
        )
        .route("/users/{id}/notification-rules", get(list_notification_rules).post(create_notification_rule))
        .route("/users/{id}/notification-rules/{rule}", delete(delete_notification_rule))
        .route("/incidents/{id}/notifications", get(incident_notifications))
        .route("/incidents/{id}/escalation", get(incident_escalation))
}

fn contact_method_view(method: ContactMethod, secret: Option<String>) -> api::ContactMethod {
    api::ContactMethod {
        id: method.id,
        user_id: method.user_id,
        kind: method.kind,
        address: method.address,
        secret,
        created_at: method.created_at,
    }
}

/// Where the paging of an incident stands; 404 when its service had no escalation policy.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/escalation", params(("id" = i64, Path)),
    responses((status = 200, body = api::Escalation), (status = 404, body = api::Problem)))]
async fn incident_escalation(
    State(server): State<Shared>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::Escalation>> {
    let view = server.incident_escalation(id).await?;
    let escalation = view.escalation;
    Ok(axum::Json(api::Escalation {
        incident_id: view.incident_id,
        escalation_policy_id: view.escalation_policy_id,
        state: escalation.state.as_str().to_owned(),
        generation: escalation.generation,
        pass: escalation.pass,
        level: escalation.level,
        next_deadline: escalation.next_deadline,
    }))
}

/// Add a contact method to a user. A webhook's response carries its signing secret, once.
#[utoipa::path(post, path = "/api/v1/users/{id}/contact-methods", params(("id" = String, Path, description = "User id or name")),
    request_body = api::CreateContactMethod,
    responses((status = 201, body = api::ContactMethod), (status = 404, body = api::Problem), (status = 422, body = api::Problem)))]
async fn create_contact_method(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(user): Path<String>,
    Json(body): Json<api::CreateContactMethod>,
) -> Result<(StatusCode, axum::Json<api::ContactMethod>)> {
    let (method, secret) = server.create_contact_method(&who, &Ref::parse(&user), body).await?;
    Ok((StatusCode::CREATED, axum::Json(contact_method_view(method, secret))))
}

/// List a user's contact methods (without secrets).
#[utoipa::path(get, path = "/api/v1/users/{id}/contact-methods", params(("id" = String, Path, description = "User id or name")),
    responses((status = 200, body = Vec<api::ContactMethod>), (status = 404, body = api::Problem)))]
async fn list_contact_methods(
    State(server): State<Shared>,
    Path(user): Path<String>,
) -> Result<axum::Json<Vec<api::ContactMethod>>> {
    let methods = server.contact_methods(&Ref::parse(&user)).await?;
    Ok(axum::Json(methods.into_iter().map(|method| contact_method_view(method, None)).collect()))
}

/// Remove a contact method.
#[utoipa::path(delete, path = "/api/v1/users/{id}/contact-methods/{method}",
    params(("id" = String, Path, description = "User id or name"), ("method" = i64, Path)),
    responses((status = 204), (status = 404, body = api::Problem)))]
async fn delete_contact_method(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path((user, method)): Path<(String, Id)>,
) -> Result<StatusCode> {
    server.delete_contact_method(&who, &Ref::parse(&user), method).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a contact method's address. Its type stays; a webhook keeps its signing secret.
#[utoipa::path(patch, path = "/api/v1/users/{id}/contact-methods/{method}",
    params(("id" = String, Path, description = "User id or name"), ("method" = i64, Path)),
    request_body = api::UpdateContactMethod,
    responses((status = 200, body = api::ContactMethod), (status = 404, body = api::Problem),
        (status = 422, body = api::Problem, description = "invalid address")))]
async fn update_contact_method(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path((user, method)): Path<(String, Id)>,
    Json(body): Json<api::UpdateContactMethod>,
) -> Result<axum::Json<api::ContactMethod>> {
    let method = server.update_contact_method(&who, &Ref::parse(&user), method, body).await?;
    Ok(axum::Json(contact_method_view(method, None)))
}

/// Add a notification rule: pages of one urgency (`high`: SEV1 and SEV2, `low`: SEV3 and SEV4)
/// reach one contact method a delay after the page, at any hour or by day only. A person without
/// rules gets every contact method at once.
#[utoipa::path(post, path = "/api/v1/users/{id}/notification-rules", params(("id" = String, Path, description = "User id or name")),
    request_body = api::CreateNotificationRule,
    responses((status = 201, body = api::NotificationRule), (status = 404, body = api::Problem),
        (status = 409, body = api::Problem, description = "the same rule exists"), (status = 422, body = api::Problem)))]
async fn create_notification_rule(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(user): Path<String>,
    Json(body): Json<api::CreateNotificationRule>,
) -> Result<(StatusCode, axum::Json<api::NotificationRule>)> {
    let rule = server.create_notification_rule(&who, &Ref::parse(&user), body).await?;
    Ok((StatusCode::CREATED, axum::Json(rule.into())))
}

/// A person's notification rules, by urgency and delay.
#[utoipa::path(get, path = "/api/v1/users/{id}/notification-rules", params(("id" = String, Path, description = "User id or name")),
    responses((status = 200, body = Vec<api::NotificationRule>), (status = 404, body = api::Problem)))]
async fn list_notification_rules(
    State(server): State<Shared>,
    Path(user): Path<String>,
) -> Result<axum::Json<Vec<api::NotificationRule>>> {
    let rules = server.notification_rules(&Ref::parse(&user)).await?;
    Ok(axum::Json(rules.into_iter().map(Into::into).collect()))
}

/// Remove a notification rule.
#[utoipa::path(delete, path = "/api/v1/users/{id}/notification-rules/{rule}",
    params(("id" = String, Path, description = "User id or name"), ("rule" = i64, Path)),
    responses((status = 204), (status = 404, body = api::Problem)))]
async fn delete_notification_rule(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path((user, rule)): Path<(String, Id)>,
) -> Result<StatusCode> {
    server.delete_notification_rule(&who, &Ref::parse(&user), rule).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The pages of an incident: who was notified how, and how delivery went.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/notifications", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<api::Notification>), (status = 404, body = api::Problem)))]
async fn incident_notifications(
    State(server): State<Shared>,
    Path(id): Path<Id>,
) -> Result<axum::Json<Vec<api::Notification>>> {
    let notifications = server.incident_notifications(id).await?;
    Ok(axum::Json(
        notifications
            .into_iter()
            .map(|n| api::Notification {
                id: n.id,
                incident_id: n.incident_id,
                user_id: n.user_id,
                user_name: n.user_name,
                address: shown_address(&n.channel, &n.address),
                channel: n.channel,
                level: n.level,
                status: n.status,
                attempts: n.attempts,
                last_error: n.last_error,
                created_at: n.created_at,
                delivered_at: n.delivered_at,
                follow_up: n.follow_up,
            })
            .collect(),
    ))
}
