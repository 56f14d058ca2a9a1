//! Who is asking, and whether they may read what they ask for.
//!
//! API requests carry `Authorization: Bearer …`, checked by the application
//! ([`firebreak_app::App::authenticate`]); the [`Principal`] goes into the request for handlers to
//! take with `Extension<Principal>`. Every change is authorized by the application, which is where
//! the decision table is asked; reading is authorized here, once for the API and the web UI, by
//! [`read_action`]: configuration takes the viewer role in some team, the rest (incidents, the
//! catalog, who is on call) any role.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use firebreak_app::Principal;
use firebreak_domain::{Action, Scope};

use crate::error::ApiError;
use crate::state::Shared;

/// The address of the client a request came from (the TCP peer), put in every request by the
/// server; absent in requests made in-process (tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The client address of a request, as text; empty when unknown.
pub(crate) fn client_address(extensions: &axum::http::Extensions) -> String {
    extensions.get::<ClientAddress>().map_or_else(String::new, |address| address.0.to_string())
}

/// Lets a request with a valid bearer token through, with its [`Principal`], if they may read
/// what a `GET` asks for; answers `401` or `403` otherwise.
pub(crate) async fn require_token(
    State(server): State<Shared>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).map(|value| value.to_str().unwrap_or(""));
    let address = client_address(request.extensions());
    let principal = match bearer(header) {
        Ok(token) => server.authenticate(token, &address).await.map_err(ApiError::from),
        Err(err) => Err(err),
    };
    let principal = match principal {
        Ok(principal) => principal,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = may_read(&server, &principal, request.method(), request.uri().path()).await {
        return err.into_response();
    }
    request.extensions_mut().insert::<Principal>(principal);
    next.run(request).await
}

/// Refuses a read that `who` may not make, naming the role it takes.
pub(crate) async fn may_read(
    server: &Shared,
    who: &Principal,
    method: &Method,
    path: &str,
) -> Result<(), ApiError> {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    match read_action(path) {
        Some(action) => Ok(server.authorize(who, action, Scope::Installation).await?),
        None => Ok(()),
    }
}

/// What reading `path` (of the API or the web UI) takes: `None` for what is anyone's own (their
/// tokens, their account, the login pages); configuration takes [`Action::ReadConfiguration`];
/// the rest [`Action::ReadIncidents`].
pub(crate) fn read_action(path: &str) -> Option<Action> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "tokens" | "me" | "account" | "login" | "logout" | "auth" | "static" | "act" | "openapi.json" => None,
        // The audit log is for administrators, who are asked when it is read.
        "audit" => None,
        "schedules"
        | "escalation-policies"
        | "silences"
        | "heartbeats"
        | "people"
        | "status"
        | "oncall"
        | "outcome-rules" => Some(Action::ReadConfiguration),
        "users" if path.contains("/contact-methods") || path.contains("/notification-rules") => {
            Some(Action::ReadConfiguration)
        }
        _ => Some(Action::ReadIncidents),
    }
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, ApiError> {
    let header = header.ok_or_else(|| {
        ApiError::unauthorized("missing Authorization header; send Authorization: Bearer <token> (create one with `firebreak token create --name NAME`)")
    })?;
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized("the Authorization header must be of the form: Bearer <token>"));
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_of_configuration_are_told_from_reads_of_incidents() {
        for (path, action) in [
            ("/api/v1/incidents", Some(Action::ReadIncidents)),
            ("/api/v1/services/payments", Some(Action::ReadIncidents)),
            ("/api/v1/schedules/3/shifts", Some(Action::ReadConfiguration)),
            ("/api/v1/escalation-policies", Some(Action::ReadConfiguration)),
            ("/api/v1/outcome-rules/4", Some(Action::ReadConfiguration)),
            ("/api/v1/users/3/contact-methods", Some(Action::ReadConfiguration)),
            ("/api/v1/users/3", Some(Action::ReadIncidents)),
            ("/api/v1/tokens", None),
            ("/api/v1/me", None),
            ("/incidents/4", Some(Action::ReadIncidents)),
            ("/people", Some(Action::ReadConfiguration)),
            ("/account", None),
        ] {
            assert_eq!(read_action(path), action, "{path}");
        }
    }
}
