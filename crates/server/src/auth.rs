//! Bearer-token authentication of API requests: the `Authorization` header read here, the token
//! checked by the application ([`firebreak_app::App::authenticate`]), and the [`Principal`] put in
//! the request for handlers to take with `Extension<Principal>`.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use firebreak_app::Principal;

use crate::error::ApiError;
use crate::state::Shared;

/// Lets a request with a valid bearer token through, with its [`Principal`]; answers `401`
/// otherwise.
pub(crate) async fn require_token(
    State(server): State<Shared>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).map(|value| value.to_str().unwrap_or(""));
    let principal = match bearer(header) {
        Ok(token) => server.authenticate(token).await.map_err(ApiError::from),
        Err(err) => Err(err),
    };
    match principal {
        Ok(principal) => {
            request.extensions_mut().insert::<Principal>(principal);
            next.run(request).await
        }
        Err(err) => err.into_response(),
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
