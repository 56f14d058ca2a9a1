//! API tokens: who may use the API and the web UI.

use jiff::Timestamp;

use crate::rows::millis;
use crate::{Result, Store, Tx, secret};

impl Store {
    /// Every token as `(name, hash)`, for the server to check bearer tokens against.
    pub async fn token_hashes(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as("SELECT name, token_hash FROM api_tokens ORDER BY id").fetch_all(&mut *c).await?
        });
        Ok(rows)
    }
}

impl Tx {
    /// Creates an API token named `name` and returns it. Only its hash is stored, so this is the
    /// one moment the token can be seen.
    pub async fn create_token(&mut self, name: &str, now: Timestamp) -> Result<String> {
        let token = secret::generate(secret::TOKEN_PREFIX);
        let hash = secret::hash(&token);
        with_conn!(self.conn(), c => {
            sqlx::query("INSERT INTO api_tokens (name, token_hash, created_at) VALUES ($1, $2, $3)")
                .bind(name)
                .bind(&hash)
                .bind(millis(now))
                .execute(&mut *c)
                .await?;
        });
        Ok(token)
    }
}
