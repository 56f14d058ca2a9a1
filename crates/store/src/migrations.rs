//! Schema migrations, embedded in the binary, one list per backend.
//!
//! Each migration runs in its own transaction together with the row that records it, so a crash
//! leaves the schema either before or after it. On PostgreSQL an advisory lock keeps replicas that
//! start together from migrating twice.

use jiff::Timestamp;
use sqlx::{PgPool, SqlitePool};

use crate::Result;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_foundation",
        sql: include_str!("../migrations/sqlite/0001_foundation.sql"),
    },
    Migration { version: 2, name: "0002_alerts", sql: include_str!("../migrations/sqlite/0002_alerts.sql") },
    Migration {
        version: 3,
        name: "0003_golden_signals",
        sql: include_str!("../migrations/sqlite/0003_golden_signals.sql"),
    },
    Migration { version: 4, name: "0004_oncall", sql: include_str!("../migrations/sqlite/0004_oncall.sql") },
    Migration { version: 5, name: "0005_paging", sql: include_str!("../migrations/sqlite/0005_paging.sql") },
    Migration {
        version: 6,
        name: "0006_team_members",
        sql: include_str!("../migrations/sqlite/0006_team_members.sql"),
    },
    Migration {
        version: 7,
        name: "0007_ingest_journal",
        sql: include_str!("../migrations/sqlite/0007_ingest_journal.sql"),
    },
    Migration {
        version: 8,
        name: "0008_interrupted_attempts",
        sql: include_str!("../migrations/sqlite/0008_interrupted_attempts.sql"),
    },
    Migration {
        version: 9,
        name: "0009_alert_links",
        sql: include_str!("../migrations/sqlite/0009_alert_links.sql"),
    },
    Migration {
        version: 10,
        name: "0010_deletion_and_rules",
        sql: include_str!("../migrations/sqlite/0010_deletion_and_rules.sql"),
    },
    Migration { version: 11, name: "0011_access", sql: include_str!("../migrations/sqlite/0011_access.sql") },
    Migration {
        version: 12,
        name: "0012_heartbeats",
        sql: include_str!("../migrations/sqlite/0012_heartbeats.sql"),
    },
    Migration {
        version: 13,
        name: "0013_outcomes",
        sql: include_str!("../migrations/sqlite/0013_outcomes.sql"),
    },
    Migration {
        version: 14,
        name: "0014_outcome_queries",
        sql: include_str!("../migrations/sqlite/0014_outcome_queries.sql"),
    },
    Migration {
        version: 15,
        name: "0015_severity_guides",
        sql: include_str!("../migrations/sqlite/0015_severity_guides.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_foundation",
        sql: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "0002_alerts",
        sql: include_str!("../migrations/postgres/0002_alerts.sql"),
    },
    Migration {
        version: 3,
        name: "0003_golden_signals",
        sql: include_str!("../migrations/postgres/0003_golden_signals.sql"),
    },
    Migration {
        version: 4,
        name: "0004_oncall",
        sql: include_str!("../migrations/postgres/0004_oncall.sql"),
    },
    Migration {
        version: 5,
        name: "0005_paging",
        sql: include_str!("../migrations/postgres/0005_paging.sql"),
    },
    Migration {
        version: 6,
        name: "0006_team_members",
        sql: include_str!("../migrations/postgres/0006_team_members.sql"),
    },
    Migration {
        version: 7,
        name: "0007_ingest_journal",
        sql: include_str!("../migrations/postgres/0007_ingest_journal.sql"),
    },
    Migration {
        version: 8,
        name: "0008_interrupted_attempts",
        sql: include_str!("../migrations/postgres/0008_interrupted_attempts.sql"),
    },
    Migration {
        version: 9,
        name: "0009_alert_links",
        sql: include_str!("../migrations/postgres/0009_alert_links.sql"),
    },
    Migration {
        version: 10,
        name: "0010_deletion_and_rules",
        sql: include_str!("../migrations/postgres/0010_deletion_and_rules.sql"),
    },
    Migration {
        version: 11,
        name: "0011_access",
        sql: include_str!("../migrations/postgres/0011_access.sql"),
    },
    Migration {
        version: 12,
        name: "0012_heartbeats",
        sql: include_str!("../migrations/postgres/0012_heartbeats.sql"),
    },
    Migration {
        version: 13,
        name: "0013_outcomes",
        sql: include_str!("../migrations/postgres/0013_outcomes.sql"),
    },
    Migration {
        version: 14,
        name: "0014_outcome_queries",
        sql: include_str!("../migrations/postgres/0014_outcome_queries.sql"),
    },
    Migration {
        version: 15,
        name: "0015_severity_guides",
        sql: include_str!("../migrations/postgres/0015_severity_guides.sql"),
    },
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS firebreak_migrations \
     (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Arbitrary constant naming firebreak's migration lock among PostgreSQL advisory locks.
const PG_LOCK_KEY: i64 = 0x6669_7265_6272_6b00;

pub(crate) async fn run_sqlite(pool: &SqlitePool) -> Result<Vec<&'static str>> {
    sqlx::query(CREATE_TABLE).execute(pool).await?;
    let mut applied = Vec::new();
    for migration in SQLITE {
        let mut tx = pool.begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM firebreak_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO firebreak_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(Timestamp::now().as_millisecond())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        applied.push(migration.name);
    }
    Ok(applied)
}

pub(crate) async fn run_postgres(pool: &PgPool) -> Result<Vec<&'static str>> {
    let mut applied = Vec::new();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PG_LOCK_KEY).execute(&mut *tx).await?;
    sqlx::query(CREATE_TABLE).execute(&mut *tx).await?;
    for migration in POSTGRES {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM firebreak_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO firebreak_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(Timestamp::now().as_millisecond())
            .execute(&mut *tx)
            .await?;
        applied.push(migration.name);
    }
    // PostgreSQL DDL is transactional: all pending migrations land together or not at all.
    tx.commit().await?;
    Ok(applied)
}
