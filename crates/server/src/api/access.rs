//! Access over HTTP: API tokens, who the caller is, passwords, administrators, and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
use axum::{Extension, Router};
use firebreak_api::{self as api, Ref};
use firebreak_app::Principal;
use firebreak_app::access::TokenRequest;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(paths(create_token, list_tokens, revoke_token, me, set_password, set_admin, audit))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/me", get(me))
        .route("/users/{user}/password", put(set_password))
        .route("/users/{user}/admin", put(set_admin))
        .route("/audit", get(audit))
}

pub(crate) fn token_view(token: firebreak_app::access::TokenInfo) -> api::Token {
    api::Token {
        id: token.id,
        name: token.name,
        user_id: token.user_id,
        team_id: token.team_id,
        role: token.role,
        created_by: token.created_by,
        created_at: token.created_at,
        expires_at: token.expires_at,
        last_used_at: token.last_used_at,
    }
}

/// Create an API token, shown this once. It acts as its person (by default the caller; an
/// administrator may name another) or for its team, with at most its role, never more than its
/// owner may do.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = api::CreateToken,
    responses((status = 201, body = api::CreatedToken), (status = 403, body = api::Problem), (status = 422, body = api::Problem)))]
async fn create_token(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Json(body): Json<api::CreateToken>,
) -> Result<(StatusCode, axum::Json<api::CreatedToken>)> {
    let request = TokenRequest {
        name: body.name,
        user: body.user,
        team: body.team,
        role: body.role,
        expires_at: body.expires_at,
    };
    let (info, token) = server.create_api_token(&who, request).await?;
    Ok((StatusCode::CREATED, axum::Json(api::CreatedToken { info: token_view(info), token })))
}

/// The caller's tokens (every token, for an administrator), newest first; never their secrets.
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = Vec<api::Token>)))]
async fn list_tokens(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
) -> Result<axum::Json<Vec<api::Token>>> {
    Ok(axum::Json(server.api_tokens(&who).await?.into_iter().map(token_view).collect()))
}

/// Revoke a token: it stops working at once (within 5 s on other replicas).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = api::Problem), (status = 404, body = api::Problem)))]
async fn revoke_token(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    server.revoke_api_token(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the caller is: their name, whether they administer the installation, their roles.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = api::Me)))]
async fn me(Extension(who): Extension<Principal>) -> axum::Json<api::Me> {
    let grants = who.grants();
    axum::Json(api::Me {
        name: who.name().to_owned(),
        user_id: who.user_id(),
        admin: who.is_admin(),
        roles: grants
            .teams
            .iter()
            .map(|(team, role)| api::MemberRole { team_id: *team, role: role.as_str().to_owned() })
            .collect(),
    })
}

/// Set a person's password (your own, or anyone's as an administrator); their sessions end.
#[utoipa::path(put, path = "/api/v1/users/{user}/password", params(("user" = String, Path, description = "id or name")),
    request_body = api::SetPassword,
    responses((status = 204), (status = 403, body = api::Problem), (status = 422, body = api::Problem)))]
async fn set_password(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(user): Path<String>,
    Json(body): Json<api::SetPassword>,
) -> Result<StatusCode> {
    server.set_password(&who, &Ref::parse(&user), &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a person an administrator of the installation, or not; for administrators.
#[utoipa::path(put, path = "/api/v1/users/{user}/admin", params(("user" = String, Path, description = "id or name")),
    request_body = api::SetAdmin, responses((status = 204), (status = 403, body = api::Problem)))]
async fn set_admin(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Path(user): Path<String>,
    Json(body): Json<api::SetAdmin>,
) -> Result<StatusCode> {
    server.set_admin(&who, &Ref::parse(&user), body.admin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first: who changed what, when, from where; for administrators.
#[utoipa::path(get, path = "/api/v1/audit", params(api::AuditQuery),
    responses((status = 200, body = Vec<api::AuditEntry>), (status = 403, body = api::Problem)))]
async fn audit(
    State(server): State<Shared>,
    Extension(who): Extension<Principal>,
    Query(query): Query<api::AuditQuery>,
) -> Result<axum::Json<Vec<api::AuditEntry>>> {
    let entries = server.audit_entries(&who, &query).await?;
    Ok(axum::Json(entries))
}
