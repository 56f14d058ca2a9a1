//! [`Error`]: why the application refused or failed to do what was asked, in kinds a caller
//! answers differently. The HTTP server maps each kind to a status; the cause of an
//! [`Error::Internal`] or [`Error::Unavailable`] is logged there, once, where it becomes an answer.

use firebreak_domain::IncidentError;
use firebreak_store::StoreError;

/// Why a request was not done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter of the request is malformed (an unreadable time, an unknown status).
    #[error("{0}")]
    BadRequest(String),
    /// A field is invalid; the message names it and says what is allowed.
    #[error("{0}")]
    Invalid(String),
    /// Nothing has this id or name.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with what is stored, such as a name in use.
    #[error("{0}")]
    Conflict(String),
    /// The incident's lifecycle does not allow the command in its current status.
    #[error("{0}")]
    Refused(#[from] IncidentError),
    /// The credentials are missing, unknown or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// The credentials are good but do not allow this; the message names the role missing.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed attempts: the same request is refused for this long.
    #[error("too many failed attempts; try again in {} s", .0.as_secs().max(1))]
    TooMany(jiff::SignedDuration),
    /// The database cannot be reached or is overloaded; the same request may work later.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or corrupt data; the message is for the log, not for the person who asked.
    #[error("{0}")]
    Internal(String),
}

/// What the application's methods return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Error {
        match err {
            StoreError::NotFound(message) => Error::NotFound(message),
            StoreError::Conflict(message) => Error::Conflict(message),
            StoreError::Refused(err) => Error::Refused(err),
            StoreError::Unavailable(_) => Error::Unavailable(err.to_string()),
            StoreError::Other(_) | StoreError::BadUrl(_) => Error::Internal(err.to_string()),
        }
    }
}
