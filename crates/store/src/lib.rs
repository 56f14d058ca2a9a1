//! Storage of firebreak: one [`Store`] with two backends, embedded SQLite and PostgreSQL.
//!
//! Both backends run the same SQL text (with `$n` placeholders, which SQLite accepts too); each
//! method body is written once and expanded per backend by the `with_conn!` and `with_pool!`
//! macros, so the two cannot drift apart. The schema lives in per-backend migrations embedded in
//! the binary ([`Store::migrate`]). Timestamps are stored as milliseconds since the Unix epoch.
//!
//! Reads are methods of [`Store`]. Changes made by people are methods of [`Tx`], a transaction
//! that the caller begins with [`Store::begin`] and ends with [`Tx::commit`], so that a request
//! changing several things (a service's name and its escalation policy, say) changes all of them
//! or none. The workers' own high-volume writes (ingest, escalation steps, deliveries, samples)
//! are methods of [`Store`] that run one transaction each, shaped for their load.
//!
//! A module per capability (`catalog`, `incidents`, `alerts`, `silences`, `oncall`, `paging`,
//! `signals`, `feeds`, `access`, `heartbeats`, `outcomes`) owns its persisted shapes and converts
//! them explicitly to and from the domain's types: the storage format belongs here, not to the
//! HTTP API.
//!
//! Only this crate knows SQL. Domain rules are not decided here: [`Tx::update_incident`] loads an
//! incident, asks [`firebreak_domain::Incident::apply`], and records what it returns.

pub mod journal;
mod migrations;
mod rows;
pub mod secret;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use firebreak_domain::IncidentError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::watch;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with what is stored, such as a duplicate name.
    #[error("{0}")]
    Conflict(String),
    /// A domain rule refused the change.
    #[error(transparent)]
    Refused(#[from] IncidentError),
    /// The database cannot be reached or is overloaded; retrying later may work. (The
    /// message includes the cause's, so the cause is not also reported as a source.)
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Anything else: a bug or a corrupt database.
    #[error("database error: {0}")]
    Other(sqlx::Error),
    /// The URL does not name a supported database.
    #[error("{0}")]
    BadUrl(String),
}

impl StoreError {
    /// The database could not be reached, read or written: the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Other(sqlx::Error::Io(_)))
    }

    /// Syncing to disk failed: what was written may not survive a crash.
    pub fn sync_failed(err: &std::io::Error) -> StoreError {
        StoreError::Other(sqlx::Error::Io(std::io::Error::new(err.kind(), err.to_string())))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound("not found".to_owned()),
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => {
                    StoreError::Conflict(format!("already exists: {}", db.message()))
                }
                ErrorKind::ForeignKeyViolation => {
                    StoreError::NotFound(format!("a referenced record does not exist: {}", db.message()))
                }
                _ if is_busy(db.as_ref()) => StoreError::Unavailable(err),
                _ => StoreError::Other(err),
            },
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StoreError::Unavailable(err),
            _ => StoreError::Other(err),
        }
    }
}

fn is_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    // SQLITE_BUSY and SQLITE_LOCKED, PostgreSQL's "too many connections" and serialization failures.
    matches!(db.code().as_deref(), Some("5" | "6" | "517" | "53300" | "40001" | "40P01"))
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The one storage interface. Cheap to clone: it holds connection pools.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    announcer: Arc<Announcer>,
}

#[derive(Clone, Debug)]
enum Backend {
    /// One writer connection serialises writes (SQLite allows one writer at a time anyway);
    /// readers use their own pool and, in WAL mode, never wait for the writer.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        /// The database file; `None` for an in-memory database.
        file: Option<PathBuf>,
    },
    Postgres(PgPool),
}

/// What the store tells the workers of this process when a transaction it committed changed
/// something they act on. Replicas sharing a PostgreSQL database learn of each other's changes by
/// polling; announcements only spare this process the wait.
#[derive(Debug)]
struct Announcer {
    /// Bumped after every commit that created an incident or changed an incident's status.
    incidents: watch::Sender<u64>,
}

impl Announcer {
    fn incidents_changed(&self) {
        self.incidents.send_modify(|count| *count = count.wrapping_add(1));
    }
}

/// A transaction on the database, for changes made together: nothing is visible to other
/// connections until [`Tx::commit`], and a `Tx` dropped without committing rolls back.
///
/// On SQLite a transaction holds the one writer connection until it ends, so a caller keeps it
/// short: read and validate first, then begin, write, and commit.
pub struct Tx {
    inner: TxInner,
    announcer: Arc<Announcer>,
    /// An incident was created or changed status: the escalation driver must look.
    incidents_changed: bool,
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A connection that statements run on: one taken from a pool for a read, or the connection of
/// the caller's transaction. Reads are written once, on `Conn`, for both.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut sqlx::SqliteConnection),
    Postgres(&'c mut sqlx::PgConnection),
}

/// A connection taken from a pool for one read; it goes back to the pool when dropped.
enum Pooled {
    Sqlite(PoolConnection<sqlx::Sqlite>),
    Postgres(PoolConnection<sqlx::Postgres>),
}

impl Pooled {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(conn) => Conn::Sqlite(conn),
            Pooled::Postgres(conn) => Conn::Postgres(conn),
        }
    }
}

/// Runs `$body` with `$c` bound to the backend's connection of `$conn` (a [`Conn`]), and
/// `$for_update` to the row-locking suffix of a `SELECT` (PostgreSQL needs it; SQLite's single
/// writer makes it moot). Statements use `&mut *$c`.
macro_rules! with_conn {
    ($conn:expr, $c:ident, $for_update:ident => $body:expr) => {
        match $conn {
            crate::Conn::Sqlite($c) => {
                let $for_update = "";
                let _ = $for_update;
                $body
            }
            crate::Conn::Postgres($c) => {
                let $for_update = " FOR UPDATE";
                let _ = $for_update;
                $body
            }
        }
    };
    ($conn:expr, $c:ident => $body:expr) => {
        with_conn!($conn, $c, _unused => $body)
    };
}

/// Runs `$body` with `$pool` bound to the writer pool of the current backend, and `$for_update`
/// as in `with_conn!`. For the workers' own transactions, which manage their connection.
macro_rules! with_pool {
    ($self:expr, $pool:ident, $for_update:ident => $body:expr) => {
        match &$self.backend {
            crate::Backend::Sqlite { write: $pool, .. } => {
                let $for_update = "";
                let _ = $for_update;
                $body
            }
            crate::Backend::Postgres($pool) => {
                let $for_update = " FOR UPDATE";
                let _ = $for_update;
                $body
            }
        }
    };
    ($self:expr, $pool:ident => $body:expr) => {
        with_pool!($self, $pool, _unused => $body)
    };
}

/// Records that `service_id` depends on `depends_on_id`, inside transaction `tx`, after checking
/// that the dependency exists and is not the service itself. A macro because it runs on either
/// backend's transaction type.
macro_rules! insert_dependency {
    ($tx:expr, $service_id:expr, $depends_on_id:expr) => {{
        let (service_id, depends_on_id): (Id, Id) = ($service_id, $depends_on_id);
        if service_id == depends_on_id {
            return Err(StoreError::Conflict("a service cannot depend on itself".to_owned()));
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM services WHERE id = $1")
            .bind(depends_on_id)
            .fetch_optional(&mut *$tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("there is no service {depends_on_id} to depend on")));
        }
        sqlx::query("INSERT INTO service_dependencies (service_id, depends_on_id) VALUES ($1, $2)")
            .bind(service_id)
            .bind(depends_on_id)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Appends `$event` to the timeline of incident `$incident_id` inside transaction `$tx`, returning
/// the new entry's id.
macro_rules! insert_timeline {
    ($tx:expr, $incident_id:expr, $now:expr, $actor:expr, $event:expr) => {{
        let (name, data) = crate::rows::event_to_row($event);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO timeline (incident_id, at, actor, event, data) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind($incident_id)
        .bind(crate::rows::millis($now))
        .bind($actor)
        .bind(name)
        .bind(&data)
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}

/// Reads incident `$id` inside transaction `$tx`, locking its row where the backend needs it.
macro_rules! lock_incident {
    ($tx:expr, $id:expr, $for_update:expr) => {{
        let id: Id = $id;
        let row: Option<crate::rows::IncidentRow> = sqlx::query_as(&format!(
            "SELECT {} FROM incidents WHERE id = $1{}",
            crate::incidents::INCIDENT_COLUMNS,
            $for_update
        ))
        .bind(id)
        .fetch_optional(&mut *$tx)
        .await?;
        Incident::try_from(row.ok_or_else(|| crate::incidents::incident_not_found(id))?)?
    }};
}

/// Writes what the incident lifecycle changes of `$incident` (its status, times, severity and
/// people) inside transaction `$tx`.
macro_rules! update_incident_row {
    ($tx:expr, $incident:expr) => {{
        let incident: &Incident = &$incident;
        sqlx::query(
            "UPDATE incidents SET severity = $1, status = $2, assignee_id = $3, commander_id = $4, \
             acknowledged_at = $5, mitigated_at = $6, resolved_at = $7, updated_at = $8, snoozed_until = $10 \
             WHERE id = $9",
        )
        .bind(incident.severity.as_str())
        .bind(incident.status.as_str())
        .bind(incident.assignee_id)
        .bind(incident.commander_id)
        .bind(incident.acknowledged_at.map(crate::rows::millis))
        .bind(incident.mitigated_at.map(crate::rows::millis))
        .bind(incident.resolved_at.map(crate::rows::millis))
        .bind(crate::rows::millis(incident.updated_at))
        .bind(incident.id)
        .bind(incident.snoozed_until.map(crate::rows::millis))
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Applies `$command` to `$incident` (read with `lock_incident!`) inside transaction `$tx`: asks
/// the domain, writes the new state and the timeline entry. Evaluates to `(Incident, TimelineEntry)`.
macro_rules! apply_in_tx {
    ($tx:expr, $incident:expr, $command:expr, $actor:expr, $now:expr) => {{
        let mut incident: Incident = $incident;
        let now: Timestamp = $now;
        let event = incident.apply($command, now)?;
        update_incident_row!($tx, incident);
        let entry_id = insert_timeline!($tx, incident.id, now, $actor, &event);
        let entry = TimelineEntry {
            id: entry_id,
            incident_id: incident.id,
            at: now,
            actor: $actor.to_owned(),
            event,
        };
        (incident, entry)
    }};
}

mod access;
mod alerts;
mod catalog;
mod feeds;
mod guides;
mod heartbeats;
mod incidents;
mod oncall;
mod outcomes;
mod paging;
mod signals;
mod silences;
pub mod testing;

pub use access::{AuditEntry, AuditFilter, Login, NewToken, SessionRecord, TokenInfo, TokenRecord};
pub use alerts::{IngestItem, IngestSummary, SYSTEM_ACTOR, TIMELINE_ALERTS_PER_BATCH_MAX};
pub use catalog::{InUse, NewService, NewTeam, NewUser, ServicePatch, TeamPatch, UserPatch};
pub use feeds::{FEED_TOKEN_PREFIX, Feed};
pub use heartbeats::{NewHeartbeat, NewPing, PINGS_KEPT, Ping};
pub use incidents::{INCIDENT_PAGE_MAX, IncidentFilter};
pub use oncall::{StoredPolicy, StoredSchedule};
pub use outcomes::{NewOutcomeEvent, NewOutcomeRule, StoredOutcomeRule};
pub use paging::{
    Applied, CONTACT_METHODS_PER_USER_MAX, ClaimedNotification, ContactMethod, EscalationUpdate, Finish,
    NewNotification, Notification, Outcome, Paged, PendingIncident, StoredEscalation,
};
pub use signals::GoldenSignalSpec;
pub use silences::NewSilence;

/// Rows an SQLite connection's thread hands back to the caller without waiting for it to take
/// them. Each wait is a thread wake-up on both sides; reading a batch's stored alerts returns a
/// row per alert (a few hundred per query), so a buffer larger than that lets the thread send
/// them all in one go.
const ROW_BUFFER: usize = 1024;

impl Store {
    /// Opens the database named by `url`: `sqlite:PATH` (the file is created if missing) or
    /// `postgres://…`. Does not run migrations; call [`Store::migrate`].
    ///
    /// Fails with [`StoreError::BadUrl`] for another scheme, or when the database cannot be reached.
    pub async fn connect(url: &str) -> Result<Store> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|err| bad_url(url, err))?;
            Self::connect_postgres(options).await?
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url).map_err(|err| bad_url(url, err))?;
            Self::connect_sqlite(options).await?
        } else {
            return Err(StoreError::BadUrl(format!(
                "unsupported database URL {:?}; expected sqlite:PATH or postgres://USER@HOST/DATABASE",
                secret::redact_url(url)
            )));
        };
        let announcer = Arc::new(Announcer { incidents: watch::channel(0).0 });
        Ok(Store { backend, announcer })
    }

    async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Backend> {
        let database = options.get_filename().to_owned();
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL on every commit: an answered write survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // A multi-row insert inside a transaction keeps a statement journal (to undo that
            // statement alone); in memory it is never written to a temporary file.
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(5))
            .row_buffer_size(ROW_BUFFER);
        // A local file does not drop connections: no test query before every use.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        let file = database.is_file().then_some(database);
        Ok(Backend::Sqlite { write, read, file })
    }

    async fn connect_postgres(options: PgConnectOptions) -> Result<Backend> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Backend::Postgres(pool))
    }

    /// Where the ingest journal of an SQLite database file lives: the directory `{file}.ingest`
    /// beside it. `None` for an in-memory database and for PostgreSQL, whose commits are what
    /// makes ingest durable there.
    pub fn journal_dir(&self) -> Option<PathBuf> {
        match &self.backend {
            Backend::Sqlite { file: Some(file), .. } => {
                Some(PathBuf::from(format!("{}.ingest", file.display())))
            }
            _ => None,
        }
    }

    /// Which backend this is: `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Brings the schema up to date. Returns the names of the migrations it applied.
    pub async fn migrate(&self) -> Result<Vec<&'static str>> {
        match &self.backend {
            Backend::Sqlite { write, .. } => migrations::run_sqlite(write).await,
            Backend::Postgres(pool) => migrations::run_postgres(pool).await,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        with_conn!(self.reader().await?.conn(), c => {
            sqlx::query("SELECT 1").execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Checks that the database can be written: a write transaction that changes nothing. On
    /// SQLite it takes the write lock (waiting as long as any write would); on PostgreSQL it fails
    /// at once on a read-only server.
    pub async fn ping_write(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        with_conn!(tx.conn(), c => {
            sqlx::query("UPDATE firebreak_migrations SET name = name WHERE version < 0").execute(&mut *c).await?;
        });
        tx.commit().await
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { write, read, .. } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    /// Begins a transaction for changes that must happen together.
    ///
    /// Fails with [`StoreError::Unavailable`] when no connection can be had in time (on SQLite,
    /// the one writer connection is busy for longer than its acquire timeout).
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.backend {
            Backend::Sqlite { write, .. } => TxInner::Sqlite(write.begin().await?),
            Backend::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner, announcer: self.announcer.clone(), incidents_changed: false })
    }

    /// A receiver that sees a new value after every commit that created an incident or changed
    /// an incident's status, in this process. The escalation driver waits on it instead of being
    /// woken by hand wherever incidents change.
    pub fn incident_changes(&self) -> watch::Receiver<u64> {
        self.announcer.incidents.subscribe()
    }

    /// A connection for the single-row reads that the workers make as they decide (a policy, a
    /// person, their contact methods): SQLite's one writer connection, or PostgreSQL's pool. On
    /// SQLite these go through the writer, in turn with the commits around them: under a flood of
    /// commits (the outcomes of thousands of pages) they were slower through the read-only pool,
    /// and paging's tail latency with them (`cargo bench -p firebreak-server --bench paging`).
    async fn primary(&self) -> Result<Pooled> {
        Ok(match &self.backend {
            Backend::Sqlite { write, .. } => Pooled::Sqlite(write.acquire().await?),
            Backend::Postgres(pool) => Pooled::Postgres(pool.acquire().await?),
        })
    }

    /// A connection for lists and other reads that may take a while: from SQLite's read-only pool,
    /// which never waits for the writer, or from PostgreSQL's pool.
    async fn reader(&self) -> Result<Pooled> {
        Ok(match &self.backend {
            Backend::Sqlite { read, .. } => Pooled::Sqlite(read.acquire().await?),
            Backend::Postgres(pool) => Pooled::Postgres(pool.acquire().await?),
        })
    }
}

impl Tx {
    /// Makes the transaction's changes durable and visible, then announces them to the workers.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        if self.incidents_changed {
            self.announcer.incidents_changed();
        }
        Ok(())
    }

    /// Undoes the transaction's changes. Dropping a `Tx` does the same without waiting.
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.rollback().await?,
            TxInner::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Conn::Sqlite(tx),
            TxInner::Postgres(tx) => Conn::Postgres(tx),
        }
    }
}

fn bad_url(url: &str, err: sqlx::Error) -> StoreError {
    StoreError::BadUrl(format!("invalid database URL {:?}: {err}", secret::redact_url(url)))
}

fn name_conflict(err: sqlx::Error, what: &str, name: &str) -> StoreError {
    match StoreError::from(err) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("a {what} named {name:?} already exists")),
        other => other,
    }
}
