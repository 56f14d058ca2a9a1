//! Bearer-token authentication of API requests.
//!
//! Tokens are stored hashed; the server keeps the hashes in memory and compares in constant time.
//! A token it does not know triggers a reload from the store (at most once per
//! [`RELOAD_INTERVAL`]), so tokens made by `firebreak token create` while the server runs work at
//! once without letting bad tokens hammer the database.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use firebreak_store::{Store, secret};

use crate::error::ApiError;

/// Shortest time between two reloads of the token list caused by unknown tokens.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Who made a request: the name of the token it carried.
#[derive(Clone, Debug)]
pub struct Actor(pub String);

/// The known tokens, as `(name, hash)`.
#[derive(Debug, Default)]
pub struct Tokens {
    inner: Mutex<TokenCache>,
}

#[derive(Debug, Default)]
struct TokenCache {
    hashes: Vec<(String, String)>,
    loaded_at: Option<Instant>,
}

impl Tokens {
    /// The actor whose token is `token`, or an error saying why the request is refused.
    pub async fn check(&self, store: &Store, token: &str) -> Result<Actor, ApiError> {
        if token.len() > secret::SECRET_CHARS_MAX {
            return Err(ApiError::unauthorized("the API token is not valid"));
        }
        let hash = secret::hash(token);
        if let Some(actor) = self.find(&hash) {
            return Ok(actor);
        }
        let reload = {
            let cache = self.inner.lock().expect("token cache lock is never poisoned");
            cache.loaded_at.is_none_or(|at| at.elapsed() >= RELOAD_INTERVAL)
        };
        if reload {
            let hashes = store.token_hashes().await?;
            let mut cache = self.inner.lock().expect("token cache lock is never poisoned");
            cache.hashes = hashes;
            cache.loaded_at = Some(Instant::now());
        }
        self.find(&hash).ok_or_else(|| ApiError::unauthorized("the API token is not valid"))
    }

    fn find(&self, hash: &str) -> Option<Actor> {
        let cache = self.inner.lock().expect("token cache lock is never poisoned");
        // Every stored hash is compared, so the time taken says nothing about which one matched.
        let mut found = None;
        for (name, stored) in &cache.hashes {
            if secret::constant_time_eq(stored, hash) {
                found = Some(Actor(name.clone()));
            }
        }
        found
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
