//! Fresh stores for tests of this crate and of the crates above it.
//!
//! SQLite gets a new file in a temporary directory. PostgreSQL, when `FIREBREAK_TEST_DATABASE_URL`
//! is set, gets a new schema in that database, so tests run in parallel without seeing each other.

use std::io::Write;
use std::path::Path;

use firebreak_domain::Id;

use crate::{Result, Store, StoreError};

/// Environment variable naming the PostgreSQL database that tests may use.
pub const TEST_DATABASE_URL_VAR: &str = "FIREBREAK_TEST_DATABASE_URL";

/// A migrated SQLite store in a new file under `dir`.
pub async fn fresh_sqlite(dir: &Path) -> Result<Store> {
    let url = format!("sqlite:{}", dir.join("firebreak.db").display());
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    Ok(store)
}

/// The URL of a new, empty schema in the test PostgreSQL database, or `None` (after saying that
/// PostgreSQL tests are skipped) when `FIREBREAK_TEST_DATABASE_URL` is not set.
pub async fn fresh_postgres_url(test: &str) -> Result<Option<String>> {
    let Ok(base) = std::env::var(TEST_DATABASE_URL_VAR) else {
        // Written to stderr directly rather than with `eprintln!`, which the test harness captures:
        // a skipped suite should be visible in every run.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: PostgreSQL part skipped: {TEST_DATABASE_URL_VAR} is not set"
        );
        return Ok(None);
    };
    let schema = format!("t_{}", &crate::secret::generate("")[..16]);
    let admin = Store::connect(&base).await?;
    match &admin.backend {
        crate::Backend::Postgres(pool) => {
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(pool).await?;
        }
        crate::Backend::Sqlite { .. } => {
            return Err(StoreError::BadUrl(format!("{TEST_DATABASE_URL_VAR} must be a postgres:// URL")));
        }
    }
    admin.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok(Some(format!("{base}{separator}options=-c%20search_path%3D{schema}")))
}

/// A migrated PostgreSQL store on a new schema, or `None` when PostgreSQL tests are skipped.
pub async fn fresh_postgres(test: &str) -> Result<Option<Store>> {
    let Some(url) = fresh_postgres_url(test).await? else {
        return Ok(None);
    };
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    Ok(Some(store))
}

/// Replaces the stored document (`spec`) of row `id` of `table` (`schedules` or
/// `escalation_policies`) with `text` as it is, to test what a build reads of documents that
/// another build wrote.
///
/// # Panics
/// When `table` is neither of the two.
pub async fn set_document(store: &Store, table: &str, id: Id, text: &str) -> Result<()> {
    assert!(matches!(table, "schedules" | "escalation_policies"), "no documents in {table}");
    with_pool!(store, pool => {
        sqlx::query(&format!("UPDATE {table} SET spec = $1 WHERE id = $2")).bind(text).bind(id).execute(pool).await?;
    });
    Ok(())
}
