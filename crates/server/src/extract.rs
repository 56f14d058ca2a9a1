//! Extractors that answer a bad request with a problem document instead of axum's plain text.
//!
//! # NUL characters
//!
//! PostgreSQL cannot store a NUL character in text, and SQLite can: firebreak refuses one
//! everywhere, on both backends alike, with a `400` naming where it was: in the path or a query
//! parameter ([`nul_in_uri`], for every route), a JSON field ([`Json`]) or a form field
//! ([`Form`]). Ingest is the exception: an alert is never refused for its text, so a NUL in an
//! alert becomes U+FFFD (`firebreak_domain::AlertEvent::replace_nul`).

use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A JSON body. Malformed JSON, a missing `Content-Type`, wrong fields, a NUL character in any
/// string and an oversized body become a 4xx problem naming what was wrong.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|err| ApiError::from(JsonRejection::from(err)))?;
        // Only the escape `\u0000` puts a NUL in a JSON string (a raw one is not JSON): look
        // closer only when it is there.
        if memchr_escape(&bytes)
            && let Ok(value) = serde_json::from_slice::<Value>(&bytes)
            && let Some(pointer) = nul_in_json(&value, &mut String::new())
        {
            return Err(ApiError::bad_request(format!(
                "{} contains a NUL character (\\u0000), which firebreak does not store",
                if pointer.is_empty() { "the body".to_owned() } else { format!("field {pointer}") }
            )));
        }
        let axum::Json(value) =
            axum::Json::<T>::from_request(Request::from_parts(parts, Body::from(bytes)), state).await?;
        Ok(Json(value))
    }
}

/// Whether `bytes` hold the JSON escape of a NUL character.
fn memchr_escape(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|window| window == b"\\u0000")
}

/// The JSON pointer of the first string or key in `value` that holds a NUL character.
fn nul_in_json(value: &Value, at: &mut String) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then(|| at.clone()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = at.len();
            at.push_str(&format!("/{i}"));
            let found = nul_in_json(item, at);
            at.truncate(len);
            found
        }),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let len = at.len();
            at.push('/');
            at.push_str(&key.replace('~', "~0").replace('/', "~1").replace('\0', "\\u0000"));
            let found = if key.contains('\0') { Some(at.clone()) } else { nul_in_json(item, at) };
            at.truncate(len);
            found
        }),
        _ => None,
    }
}

/// A URL-encoded form body, as the web UI posts. A NUL character in a field is refused, naming it.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|err| ApiError::from(JsonRejection::from(err)).into_response())?;
        if let Some(field) = nul_in_pairs(&bytes) {
            let detail =
                format!("form field {field:?} contains a NUL character, which firebreak does not store");
            return Err(ApiError::bad_request(detail).into_response());
        }
        let request = Request::from_parts(parts, Body::from(bytes));
        let axum::Form(value) =
            axum::Form::<T>::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        Ok(Form(value))
    }
}

/// The name of the first `name=value` pair in URL-encoded `text` (a query string or form body)
/// that holds a NUL character (`%00`, or the byte itself).
fn nul_in_pairs(text: &[u8]) -> Option<String> {
    text.split(|byte| *byte == b'&').find_map(|pair| {
        let nul = pair.contains(&0) || pair.windows(3).any(|window| window == b"%00");
        nul.then(|| {
            let name = pair.split(|byte| *byte == b'=').next().unwrap_or_default();
            String::from_utf8_lossy(name).replace("%00", "\\u0000").replace('\0', "\\u0000")
        })
    })
}

/// Why a request whose path or query holds a NUL character (`%00`) is refused, for every route
/// (`observe` asks before it passes a request on): no name, id or key holds one.
pub(crate) fn nul_in_uri(uri: &axum::http::Uri) -> Option<ApiError> {
    if uri.path().contains("%00") {
        let detail = "the path contains a NUL character (%00), which no name, id or key holds";
        return Some(ApiError::bad_request(detail));
    }
    let name = uri.query().and_then(|query| nul_in_pairs(query.as_bytes()))?;
    Some(ApiError::bad_request(format!("query parameter {name:?} contains a NUL character (%00)")))
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// Query parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_where_a_nul_is() {
        let value: Value = serde_json::from_str(r#"{"a": "x", "b": [1, {"c/d": "y\u0000"}]}"#).unwrap();
        assert_eq!(nul_in_json(&value, &mut String::new()).as_deref(), Some("/b/1/c~1d"));
        let value: Value = serde_json::from_str(r#"{"a": {"k\u0000": 1}}"#).unwrap();
        assert_eq!(nul_in_json(&value, &mut String::new()).as_deref(), Some("/a/k\\u0000"));
        let value: Value = serde_json::from_str(r#"{"a": "\\u0000"}"#).unwrap();
        assert_eq!(nul_in_json(&value, &mut String::new()), None, "an escaped backslash is not a NUL");
        assert_eq!(nul_in_pairs(b"csrf=1&text=a%00b"), Some("text".to_owned()));
        assert_eq!(nul_in_pairs(b"csrf=1&text=a%2500b"), None);
        assert_eq!(nul_in_pairs(b"service=checkout"), None);
    }
}
