//! `ApiError`: every failure of an API handler, answered as RFC 7807 `application/problem+json`.
//!
//! Client mistakes get a 4xx with a message naming the problem. Server faults get a 500 or 503
//! with a generic message and the request id; their cause is logged here, once, where the
//! application's [`firebreak_app::Error`] becomes an answer.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use firebreak_api::Problem;

/// The media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A failed request: an HTTP status, a stable problem code and a message for a person.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Short stable name of the kind of problem, such as `not-found`; becomes the problem `type`.
    pub code: &'static str,
    pub detail: String,
    /// Seconds to wait before asking again (`429`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), retry_after: None }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn invalid(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl From<firebreak_app::Error> for ApiError {
    fn from(err: firebreak_app::Error) -> ApiError {
        use firebreak_app::Error;
        match err {
            Error::BadRequest(detail) => ApiError::bad_request(detail),
            Error::Invalid(detail) => ApiError::invalid(detail),
            Error::NotFound(detail) => ApiError::not_found(detail),
            Error::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, "conflict", detail),
            Error::Refused(err) => ApiError::new(StatusCode::CONFLICT, "illegal-transition", err.to_string()),
            Error::Unauthorized(detail) => ApiError::unauthorized(detail),
            Error::Forbidden(detail) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail),
            Error::TooMany(wait) => {
                let seconds = u64::try_from(wait.as_secs()).unwrap_or(0).max(1);
                ApiError {
                    retry_after: Some(seconds),
                    ..ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too-many-attempts",
                        format!("too many failed attempts; try again in {seconds} s"),
                    )
                }
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database_unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry later",
                )
            }
            Error::Internal(cause) => {
                tracing::error!(error = %cause, "request_failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log",
                )
            }
        }
    }
}

/// What a `413` says: the limit the body went over, in bytes.
pub(crate) fn body_too_large(limit: usize) -> String {
    format!("the body is larger than the limit of {limit} bytes")
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        if let Some(timed_out) = crate::connections::timed_out(&rejection) {
            return timed_out;
        }
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            _ => "malformed-json",
        };
        let detail = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "the body must be JSON, sent with the header Content-Type: application/json".to_owned()
            }
            JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
                body_too_large(crate::BODY_BYTES_MAX)
            }
            _ => rejection.body_text(),
        };
        // Malformed and mistyped JSON alike are the client's to fix: one status for both.
        let status =
            if status == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { status };
        ApiError::new(status, code, detail)
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::bad_request(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::bad_request(rejection.body_text())
    }
}

impl ApiError {
    /// The problem document, as sent.
    pub(crate) fn problem_body(&self) -> Vec<u8> {
        let problem = Problem {
            type_: format!("https://firebreak.dev/problems/{}", self.code),
            title: self.title().to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
        };
        serde_json::to_vec(&problem).expect("a problem always serializes")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.problem_body();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The answer to a path that no route serves.
pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("there is nothing at {}", uri.path()))
}

/// The answer to a method that the path's routes do not take.
pub(crate) async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
