//! Access: who is acting ([`Principal`]), checking API tokens, and making them.
//!
//! Tokens are stored hashed; the application keeps the hashes in memory and compares in constant
//! time. A token it does not know triggers a reload from the store (at most once per
//! [`RELOAD_INTERVAL`]), so tokens made by `firebreak token create` while the server runs work at
//! once without letting bad tokens hammer the database.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use firebreak_store::{SYSTEM_ACTOR, Store, secret};

use crate::{App, Error, Result};

/// Shortest time between two reloads of the token list caused by unknown tokens.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// Longest token name.
const TOKEN_NAME_CHARS_MAX: usize = 100;

/// Who is acting: a person or a tool holding an API token, someone holding a signed link from a
/// page, or firebreak itself. Its name is what timelines show as the actor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    name: String,
}

impl Principal {
    /// The holder of the API token named `name`.
    pub fn token(name: &str) -> Principal {
        Principal { name: name.to_owned() }
    }

    /// Whoever used a signed acknowledge or resolve link.
    pub fn link() -> Principal {
        Principal { name: "page link".to_owned() }
    }

    /// firebreak itself.
    pub fn system() -> Principal {
        Principal { name: SYSTEM_ACTOR.to_owned() }
    }

    /// The name timelines show.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The known tokens, as `(name, hash)`.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    inner: Mutex<TokenCache>,
}

#[derive(Debug, Default)]
struct TokenCache {
    hashes: Vec<(String, String)>,
    loaded_at: Option<Instant>,
}

impl Tokens {
    async fn check(&self, store: &Store, token: &str) -> Result<Principal> {
        let invalid = || Error::Unauthorized("the API token is not valid".to_owned());
        if token.len() > secret::SECRET_CHARS_MAX {
            return Err(invalid());
        }
        let hash = secret::hash(token);
        if let Some(found) = self.find(&hash) {
            return Ok(found);
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
        self.find(&hash).ok_or_else(invalid)
    }

    fn find(&self, hash: &str) -> Option<Principal> {
        let cache = self.inner.lock().expect("token cache lock is never poisoned");
        // Every stored hash is compared, so the time taken says nothing about which one matched.
        let mut found = None;
        for (name, stored) in &cache.hashes {
            if secret::constant_time_eq(stored, hash) {
                found = Some(Principal::token(name));
            }
        }
        found
    }
}

impl App {
    /// Who holds API token `token`.
    ///
    /// Fails with [`Error::Unauthorized`] for a token that is unknown or revoked.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        self.inner.tokens.check(self.store(), token).await
    }

    /// Creates an API token named `name` and returns it; it cannot be shown again.
    ///
    /// Fails with [`Error::Invalid`] for an empty or overlong name, or one with control characters.
    pub async fn create_token(&self, name: &str) -> Result<String> {
        create_token(self.store(), name, self.now()).await
    }
}

/// The token that a web form of the holder of `token` must carry: derived from it, so another site
/// cannot know it, and compared with [`form_token_matches`].
pub fn form_token(token: &str) -> String {
    secret::hash(&format!("firebreak form token:{token}"))[..32].to_owned()
}

/// Whether `given` is the form token `expected`, compared in constant time.
pub fn form_token_matches(given: &str, expected: &str) -> bool {
    secret::constant_time_eq(given, expected)
}

/// Creates an API token named `name` directly on `store` (for `firebreak token create`, which
/// runs with or without a server).
///
/// Fails with [`Error::Invalid`] for a bad name.
pub async fn create_token(store: &Store, name: &str, now: jiff::Timestamp) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > TOKEN_NAME_CHARS_MAX || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "invalid token name {name:?}: it must be 1 to {TOKEN_NAME_CHARS_MAX} characters without control characters"
        )));
    }
    let mut tx = store.begin().await?;
    let token = tx.create_token(name, now).await?;
    tx.commit().await?;
    Ok(token)
}
