//! Persistence: the connection, migrations and the tenant-scoped query functions, one module per
//! aggregate. Every function that touches customer data takes a [`TenantId`](crate::ids::TenantId)
//! and filters by it, so a handler cannot reach another tenant's rows.

pub mod api_tokens;
pub mod assessments;
pub mod audit;
pub mod entities;
pub mod jobs;
pub mod metrics;
pub mod questionnaires;
pub mod risks;
pub mod schedule;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod tenants;
pub mod users;
pub mod vendors;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, SqlErr, SqlxSqliteConnector};
use sea_orm_migration::MigratorTrait;

use crate::config::Secret;
use crate::migrations::Migrator;

/// How long a SQLite connection waits for another writer before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The database handles.
///
/// On SQLite, writes go through one connection (`writer`) and reads through a pool of read-only
/// connections (`reader`). One writer means a transaction that reads and then writes never meets
/// another writer's commit in between, which SQLite would reject with "database is locked"
/// regardless of the busy timeout. On PostgreSQL both handles are the same pool.
#[derive(Clone, Debug)]
pub struct Db {
    reader: DatabaseConnection,
    writer: DatabaseConnection,
    backend: Backend,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Db {
    /// Connects to the database at `url` (`sqlite://…` or `postgres://…`).
    ///
    /// # Errors
    /// Fails when the URL is invalid or the database does not respond.
    pub async fn connect(url: &Secret) -> anyhow::Result<Self> {
        let url = url.expose();
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut options = ConnectOptions::new(url.to_owned());
            options
                .max_connections(20)
                .min_connections(1)
                .connect_timeout(Duration::from_secs(10))
                .acquire_timeout(Duration::from_secs(30))
                .sqlx_logging(false);
            let pool = Database::connect(options)
                .await
                .context("Failed to connect to PostgreSQL; check DATABASE_URL and that the server is running")?;
            Ok(Self {
                reader: pool.clone(),
                writer: pool,
                backend: Backend::Postgres,
            })
        } else {
            anyhow::bail!(
                "DATABASE_URL must start with sqlite:// or postgres://; leave it unset to use SQLite in the data directory"
            )
        }
    }

    async fn connect_sqlite(url: &str) -> anyhow::Result<Self> {
        let base = SqliteConnectOptions::from_str(url)
            .with_context(|| "DATABASE_URL is not a valid SQLite URL")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true)
            .disable_statement_logging();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(SQLITE_BUSY_TIMEOUT)
            .connect_with(base.clone())
            .await
            .context("Failed to open the SQLite database")?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(SQLITE_BUSY_TIMEOUT)
            .connect_with(base.read_only(true))
            .await
            .context("Failed to open the SQLite database for reading")?;
        Ok(Self {
            reader: SqlxSqliteConnector::from_sqlx_sqlite_pool(reader),
            writer: SqlxSqliteConnector::from_sqlx_sqlite_pool(writer),
            backend: Backend::Sqlite,
        })
    }

    /// Returns the handle for queries that only read.
    pub fn reader(&self) -> &DatabaseConnection {
        &self.reader
    }

    /// Returns the handle for writes and for every transaction.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// Fails when a migration fails; the failed migration's changes are rolled back where the
    /// database supports transactional schema changes.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.writer, None)
            .await
            .context("Failed to apply database migrations")
    }

    /// Runs a trivial query, for the health check.
    ///
    /// # Errors
    /// Fails when the database does not respond.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.reader.ping().await
    }

    /// Closes both pools, so that SQLite checkpoints its write-ahead log.
    pub async fn close(self) {
        let _ = self.reader.close().await;
        let _ = self.writer.close().await;
    }
}

/// Errors of the store's units of work.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The change would break a uniqueness rule. The message names the rule and the fix.
    #[error("{0}")]
    Conflict(String),
    /// A stored value no longer parses, which only a manual edit of the database can cause.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<StoreError> for crate::error::AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::Corrupt(message) => Self::Internal(anyhow::anyhow!(message)),
            StoreError::Db(error) => error.into(),
        }
    }
}

/// Returns whether `error` is a unique-constraint violation, which callers turn into a field error.
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
