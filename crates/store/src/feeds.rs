//! Calendar feed tokens of schedules and users.
//!
//! A feed is reached by a secret URL that calendar applications fetch without any other
//! credential, so the secret in it is treated like an API token: generated here, shown once, and
//! stored only as its SHA-256. Each schedule and each user has at most one; setting a new one
//! replaces the old, which is how a leaked URL is revoked.

use firebreak_domain::Id;

use crate::{Result, Store, StoreError, Tx, secret};

/// Prefix of calendar feed tokens.
pub const FEED_TOKEN_PREFIX: &str = "fbc_";

/// What a calendar feed token opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// The shifts of one schedule.
    Schedule(Id),
    /// One user's shifts across every schedule.
    User(Id),
}

impl Store {
    /// The feed that `token` opens, or `None` when it opens none, including when it is not even
    /// shaped like a feed token (then the database is not asked).
    pub async fn feed_by_token(&self, token: &str) -> Result<Option<Feed>> {
        if !token.starts_with(FEED_TOKEN_PREFIX) || token.len() > secret::SECRET_CHARS_MAX {
            return Ok(None);
        }
        let hash = secret::hash(token);
        // The lookup is by hash, so timing reveals nothing about the token; the comparison below
        // is only a check that the database returned what was asked for.
        let row: Option<(String, i64, String)> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT 'schedule', id, feed_token_hash FROM schedules WHERE feed_token_hash = $1 \
                 UNION ALL SELECT 'user', id, feed_token_hash FROM users WHERE feed_token_hash = $1",
            )
            .bind(&hash)
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(match row {
            Some((kind, id, stored)) if secret::constant_time_eq(&stored, &hash) => match kind.as_str() {
                "schedule" => Some(Feed::Schedule(id)),
                _ => Some(Feed::User(id)),
            },
            _ => None,
        })
    }
}

impl Tx {
    /// Gives schedule `id` a new feed token and returns it; the previous one stops working.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no schedule `id`.
    pub async fn set_schedule_feed_token(&mut self, id: Id) -> Result<String> {
        self.set_feed_token(Feed::Schedule(id)).await
    }

    /// Gives user `id` a new feed token and returns it; the previous one stops working.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no user `id`.
    pub async fn set_user_feed_token(&mut self, id: Id) -> Result<String> {
        self.set_feed_token(Feed::User(id)).await
    }

    async fn set_feed_token(&mut self, feed: Feed) -> Result<String> {
        let (table, what, id) = match feed {
            Feed::Schedule(id) => ("schedules", "schedule", id),
            Feed::User(id) => ("users", "user", id),
        };
        let token = secret::generate(FEED_TOKEN_PREFIX);
        let hash = secret::hash(&token);
        let done = with_conn!(self.conn(), c => {
            sqlx::query(&format!("UPDATE {table} SET feed_token_hash = $1 WHERE id = $2"))
                .bind(&hash)
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("there is no {what} {id}")));
        }
        Ok(token)
    }
}
